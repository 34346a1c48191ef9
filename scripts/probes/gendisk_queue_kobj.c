// SPDX-License-Identifier: GPL-2.0
/* The queue/ directory is the gendisk's queue_kobj, not the request_queue's kobj (6.2) */
#include <linux/blkdev.h>

struct kobject *bstack_probe(struct gendisk *disk);
struct kobject *bstack_probe(struct gendisk *disk)
{
	return &disk->queue_kobj;
}
