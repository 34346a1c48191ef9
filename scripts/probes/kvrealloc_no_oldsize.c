// SPDX-License-Identifier: GPL-2.0
/* kvrealloc(p, size, gfp) takes no old size (6.11) */
#include <linux/slab.h>

void *bstack_probe(void *p, size_t size);
void *bstack_probe(void *p, size_t size)
{
	return kvrealloc(p, size, GFP_KERNEL);
}
