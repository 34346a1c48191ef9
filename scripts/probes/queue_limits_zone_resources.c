// SPDX-License-Identifier: GPL-2.0
/* max_open_zones and max_active_zones are queue limits, moved from struct gendisk (6.9) */
#include <linux/blkdev.h>

unsigned int bstack_probe(struct queue_limits *lim);
unsigned int bstack_probe(struct queue_limits *lim)
{
	return lim->max_open_zones + lim->max_active_zones;
}
