// SPDX-License-Identifier: GPL-2.0
/* queue_limits_stack_bdev(): stack a lower device's limits, warning when misaligned (6.9) */
#include <linux/blkdev.h>

void bstack_probe(struct queue_limits *lim, struct block_device *bdev);
void bstack_probe(struct queue_limits *lim, struct block_device *bdev)
{
	queue_limits_stack_bdev(lim, bdev, 0, "probe");
}
