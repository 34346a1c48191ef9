// SPDX-License-Identifier: GPL-2.0
/* REQ_ATOMIC: a write that the device does whole or not at all, refused with BLK_STS_INVAL (6.11) */
#include <linux/blkdev.h>

blk_status_t bstack_probe(struct bio *bio);
blk_status_t bstack_probe(struct bio *bio)
{
	return bio->bi_opf & REQ_ATOMIC ? BLK_STS_INVAL : BLK_STS_OK;
}
