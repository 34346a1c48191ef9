// SPDX-License-Identifier: GPL-2.0
/* bdev_freeze() and bdev_thaw() replace freeze_bdev() and thaw_bdev() (6.8) */
#include <linux/blkdev.h>

int bstack_probe(struct block_device *bdev);
int bstack_probe(struct block_device *bdev)
{
	return bdev_freeze(bdev) ?: bdev_thaw(bdev);
}
