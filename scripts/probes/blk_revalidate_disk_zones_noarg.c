// SPDX-License-Identifier: GPL-2.0
/* blk_revalidate_disk_zones(disk), with no driver callback: zone write plugging, for bio-based disks too (6.10) */
#include <linux/blkdev.h>

int bstack_probe(struct gendisk *disk);
int bstack_probe(struct gendisk *disk)
{
	return blk_revalidate_disk_zones(disk);
}
