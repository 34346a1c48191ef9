// SPDX-License-Identifier: GPL-2.0
/* pr_ops gains pr_read_keys() and pr_read_reservation() (6.5) */
#include <linux/blkdev.h>
#include <linux/pr.h>

int bstack_probe(const struct pr_ops *ops, struct block_device *bdev,
		 struct pr_keys *keys, struct pr_held_reservation *rsv);
int bstack_probe(const struct pr_ops *ops, struct block_device *bdev,
		 struct pr_keys *keys, struct pr_held_reservation *rsv)
{
	return ops->pr_read_keys(bdev, keys) ?:
	       ops->pr_read_reservation(bdev, rsv);
}
