// SPDX-License-Identifier: GPL-2.0
/* BLK_FEAT_*: write cache, FUA, NOWAIT, rotational, I/O statistics and zoned are queue_limits features, not queue flags (6.11) */
#include <linux/blkdev.h>

void bstack_probe(struct queue_limits *lim);
void bstack_probe(struct queue_limits *lim)
{
	lim->features |= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA | BLK_FEAT_NOWAIT |
			 BLK_FEAT_ROTATIONAL | BLK_FEAT_IO_STAT;
	lim->features &= ~BLK_FEAT_ZONED;
}
