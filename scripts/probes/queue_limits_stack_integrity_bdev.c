// SPDX-License-Identifier: GPL-2.0
/* The integrity profile is a queue limit, stacked by queue_limits_stack_integrity_bdev() (6.11) */
#include <linux/blkdev.h>
#include <linux/blk-integrity.h>

bool bstack_probe(struct queue_limits *lim, struct block_device *bdev);
bool bstack_probe(struct queue_limits *lim, struct block_device *bdev)
{
	return queue_limits_stack_integrity_bdev(lim, bdev);
}
