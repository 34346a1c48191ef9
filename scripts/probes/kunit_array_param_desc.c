// SPDX-License-Identifier: GPL-2.0
/* KUNIT_ARRAY_PARAM_DESC(): parameter names taken from a struct member (6.6) */
#include <kunit/test.h>

struct bstack_probe_param {
	const char *desc;
};

static const struct bstack_probe_param bstack_probe_params[] = {
	{ "one" },
};

KUNIT_ARRAY_PARAM_DESC(bstack_probe, bstack_probe_params, desc);

const void *bstack_probe_gen(void);
const void *bstack_probe_gen(void)
{
	return bstack_probe_gen_params;
}
