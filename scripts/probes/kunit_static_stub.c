// SPDX-License-Identifier: GPL-2.0
/* kunit/static_stub.h: KUnit tests redirect a function to a stub (6.3) */
#include <kunit/static_stub.h>

int bstack_probe(int x);
int bstack_probe(int x)
{
	KUNIT_STATIC_STUB_REDIRECT(bstack_probe, x);
	return x;
}
