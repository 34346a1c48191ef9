// SPDX-License-Identifier: GPL-2.0
/* bdev_file_open_by_dev() and file_bdev(): a block device opened as a struct file (6.9) */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>

struct block_device *bstack_probe(dev_t dev, void *holder);
struct block_device *bstack_probe(dev_t dev, void *holder)
{
	struct file *f = bdev_file_open_by_dev(dev, BLK_OPEN_READ, holder, NULL);
	struct block_device *bdev = file_bdev(f);

	__fput_sync(f);
	return bdev;
}
