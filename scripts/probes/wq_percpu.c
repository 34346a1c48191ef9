// SPDX-License-Identifier: GPL-2.0
/* WQ_PERCPU: a workqueue says it is per-cpu, as alloc_workqueue() wants from 6.17 (an enum: #ifdef cannot see it) */
#include <linux/workqueue.h>

unsigned int bstack_probe(void);
unsigned int bstack_probe(void)
{
	return WQ_PERCPU | WQ_MEM_RECLAIM;
}
