// SPDX-License-Identifier: GPL-2.0
/*
 * Targets without a lower device:
 *   <start> <length> error	every I/O fails with EIO
 *   <start> <length> zero	reads return zeros, writes are dropped
 */
#include <linux/module.h>

#include "bstack.h"

static int no_args_ctr(struct bstack_target *ti, unsigned int argc,
		       char **argv)
{
	if (argc)
		return bstack_ti_error(ti, "expected no arguments, got %u",
				       argc);
	return 0;
}

static enum bstack_map_result error_map(struct bstack_target *ti,
					struct bio *clone)
{
	bio_io_error(clone);
	return BSTACK_MAP_SUBMITTED;
}

static enum bstack_map_result zero_map(struct bstack_target *ti,
				       struct bio *clone)
{
	/* The clone shares the original's pages: this zeroes its range. */
	if (bio_data_dir(clone) == READ)
		zero_fill_bio(clone);
	bio_endio(clone);
	return BSTACK_MAP_SUBMITTED;
}

static struct bstack_target_type error_target = {
	.name	= "error",
	.version = { 1, 0, 0 },
	.module	= THIS_MODULE,
	.ctr	= no_args_ctr,
	.map	= error_map,
};

static struct bstack_target_type zero_target = {
	.name	= "zero",
	.version = { 1, 0, 0 },
	.module	= THIS_MODULE,
	.ctr	= no_args_ctr,
	.map	= zero_map,
};

int bstack_error_zero_init(void)
{
	int r = bstack_register_target(&error_target);

	if (r)
		return r;
	r = bstack_register_target(&zero_target);
	if (r)
		bstack_unregister_target(&error_target);
	return r;
}

void bstack_error_zero_exit(void)
{
	bstack_unregister_target(&zero_target);
	bstack_unregister_target(&error_target);
}
