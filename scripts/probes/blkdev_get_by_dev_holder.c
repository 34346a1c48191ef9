// SPDX-License-Identifier: GPL-2.0
/* blkdev_get_by_dev(dev, mode, holder) and blkdev_put(bdev, mode), before blk_mode_t (up to 6.4) */
#include <linux/blkdev.h>

void bstack_probe(dev_t dev, void *holder);
void bstack_probe(dev_t dev, void *holder)
{
	struct block_device *bdev = blkdev_get_by_dev(dev, FMODE_READ | FMODE_EXCL,
						      holder);

	blkdev_put(bdev, FMODE_READ | FMODE_EXCL);
}
