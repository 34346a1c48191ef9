// SPDX-License-Identifier: GPL-2.0
/* The probe build itself works: the block headers compile (no feature) */
#include <linux/blkdev.h>

sector_t bstack_probe(struct block_device *bdev);
sector_t bstack_probe(struct block_device *bdev)
{
	return bdev_nr_sectors(bdev);
}
