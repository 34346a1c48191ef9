// SPDX-License-Identifier: GPL-2.0
/* bd_super: the superblock of the filesystem mounted on a block device (up to 6.5) */
#include <linux/blkdev.h>

bool bstack_probe(struct block_device *bdev);
bool bstack_probe(struct block_device *bdev)
{
	return READ_ONCE(bdev->bd_holder) && READ_ONCE(bdev->bd_super);
}
