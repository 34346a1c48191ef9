// SPDX-License-Identifier: GPL-2.0
/* blk_alloc_disk(lim, node) takes the queue limits and returns an ERR_PTR (6.9) */
#include <linux/blkdev.h>
#include <linux/err.h>

struct gendisk *bstack_probe(struct queue_limits *lim);
struct gendisk *bstack_probe(struct queue_limits *lim)
{
	struct gendisk *disk = blk_alloc_disk(lim, NUMA_NO_NODE);

	return IS_ERR(disk) ? NULL : disk;
}
