// SPDX-License-Identifier: GPL-2.0
/* blkdev_zone_mgmt() without a gfp_t, sending REQ_OP_ZONE_RESET_ALL for a whole device (6.9) */
#include <linux/blkdev.h>

int bstack_probe(struct block_device *bdev);
int bstack_probe(struct block_device *bdev)
{
	return blkdev_zone_mgmt(bdev, REQ_OP_ZONE_RESET, 0,
				bdev_nr_sectors(bdev));
}
