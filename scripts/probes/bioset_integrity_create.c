// SPDX-License-Identifier: GPL-2.0
/* A bio_set keeps a reserve of integrity payloads, bioset_integrity_create() (2.6.27 to 6.x; gone by 7.2) */
#include <linux/blkdev.h>
#include <linux/blk-integrity.h>

int bstack_probe(struct bio_set *bs);
int bstack_probe(struct bio_set *bs)
{
	return bioset_integrity_create(bs, BIO_POOL_SIZE);
}
