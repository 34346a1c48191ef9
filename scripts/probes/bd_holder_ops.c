// SPDX-License-Identifier: GPL-2.0
/* bd_holder_lock and bd_holder_ops, which is fs_holder_ops under a filesystem (6.6) */
#include <linux/blkdev.h>

bool bstack_probe(struct block_device *bdev);
bool bstack_probe(struct block_device *bdev)
{
	bool fs;

	mutex_lock(&bdev->bd_holder_lock);
	fs = bdev->bd_holder && bdev->bd_holder_ops == &fs_holder_ops;
	mutex_unlock(&bdev->bd_holder_lock);
	return fs;
}
