// SPDX-License-Identifier: GPL-2.0
/* report_zones() takes struct blk_report_zones_args, and a zone goes up through disk_report_zone() (6.19) */
#include <linux/blkdev.h>

int bstack_probe(struct gendisk *disk, struct blk_zone *zone,
		 struct blk_report_zones_args *args);
int bstack_probe(struct gendisk *disk, struct blk_zone *zone,
		 struct blk_report_zones_args *args)
{
	return disk_report_zone(disk, zone, 0, args);
}
