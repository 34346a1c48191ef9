// SPDX-License-Identifier: GPL-2.0
/* kunit/visibility.h: EXPORT_SYMBOL_IF_KUNIT() (6.2) */
#include <linux/export.h>
#include <linux/module.h>
#include <kunit/visibility.h>

int bstack_probe(void);
int bstack_probe(void)
{
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_probe);
