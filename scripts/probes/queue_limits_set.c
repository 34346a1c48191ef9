// SPDX-License-Identifier: GPL-2.0
/* queue_limits_set(): limits applied to a live queue in one validated step (6.9) */
#include <linux/blkdev.h>

int bstack_probe(struct request_queue *q, struct queue_limits *lim);
int bstack_probe(struct request_queue *q, struct queue_limits *lim)
{
	return queue_limits_set(q, lim);
}
