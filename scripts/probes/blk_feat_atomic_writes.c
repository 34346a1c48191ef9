// SPDX-License-Identifier: GPL-2.0
/* BLK_FEAT_ATOMIC_WRITES: blk_stack_limits() stacks the atomic write limits of a driver that sets it (6.14) */
#include <linux/blkdev.h>

void bstack_probe(struct queue_limits *lim, struct block_device *bdev);
void bstack_probe(struct queue_limits *lim, struct block_device *bdev)
{
	lim->features |= BLK_FEAT_ATOMIC_WRITES;
	lim->atomic_write_hw_max = bdev_can_atomic_write(bdev) &&
		blk_atomic_write_start_sect_aligned(8, lim) ?
		lim->atomic_write_hw_unit_max : 0;
}
