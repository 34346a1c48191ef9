// SPDX-License-Identifier: GPL-2.0
/* blk_mode_t and BLK_OPEN_READ/BLK_OPEN_WRITE replace fmode_t for block devices (6.5) */
#include <linux/blkdev.h>

blk_mode_t bstack_probe(void);
blk_mode_t bstack_probe(void)
{
	return BLK_OPEN_READ | BLK_OPEN_WRITE;
}
