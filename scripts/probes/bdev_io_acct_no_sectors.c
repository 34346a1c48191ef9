// SPDX-License-Identifier: GPL-2.0
/* bdev_start_io_acct(bdev, op, start) takes no sectors; bdev_end_io_acct() does (6.3) */
#include <linux/blkdev.h>
#include <linux/jiffies.h>

void bstack_probe(struct block_device *bdev);
void bstack_probe(struct block_device *bdev)
{
	unsigned long start = bdev_start_io_acct(bdev, REQ_OP_READ, jiffies);

	bdev_end_io_acct(bdev, REQ_OP_READ, 8, start);
}
