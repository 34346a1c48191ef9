// SPDX-License-Identifier: GPL-2.0
/* block_device_operations: open(gendisk, blk_mode_t) and release(gendisk) (6.5) */
#include <linux/blkdev.h>

static int bstack_probe_open(struct gendisk *disk, blk_mode_t mode)
{
	return 0;
}

static void bstack_probe_release(struct gendisk *disk)
{
}

const struct block_device_operations bstack_probe_fops = {
	.open		= bstack_probe_open,
	.release	= bstack_probe_release,
};
