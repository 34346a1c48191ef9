// SPDX-License-Identifier: GPL-2.0
/*
 * The linear target: <start> <length> linear <dev> <offset>
 * maps its sectors onto <dev>, from sector <offset> on.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "bstack.h"

struct linear_c {
	struct bstack_lower *dev;
	sector_t start;
};

static int linear_ctr(struct bstack_target *ti, unsigned int argc,
		      char **argv)
{
	struct linear_c *lc;
	unsigned int lbs;
	sector_t size;
	u64 start;
	int r;

	if (argc != 2)
		return bstack_ti_error(ti, "expected '<dev> <offset>', got %u argument%s",
				       argc, argc == 1 ? "" : "s");
	if (kstrtou64(argv[1], 10, &start))
		return bstack_ti_error(ti, "offset '%s' is not a number of sectors",
				       argv[1]);
	if (start + ti->len < start)
		return bstack_ti_error(ti, "offset %llu + length %llu overflows",
				       start, (u64)ti->len);

	lc = kzalloc(sizeof(*lc), GFP_KERNEL);
	if (!lc)
		return -ENOMEM;
	r = bstack_get_device(ti, argv[0], &lc->dev);
	if (r)
		goto out_free;

	lbs = bdev_logical_block_size(lc->dev->bdev) >> SECTOR_SHIFT;
	if (start & (lbs - 1)) {
		r = bstack_ti_error(ti, "offset %llu is not a multiple of %u sectors, the logical block size of %s",
				    start, lbs, argv[0]);
		goto out_free;
	}
	size = bdev_nr_sectors(lc->dev->bdev);
	if (start + ti->len > size) {
		r = bstack_ti_error(ti, "%s has %llu sectors, but offset %llu + length %llu needs %llu",
				    argv[0], (u64)size, start, (u64)ti->len,
				    start + ti->len);
		goto out_free;
	}
	lc->start = start;
	ti->private = lc;
	return 0;

out_free:
	kfree(lc);
	return r;
}

static void linear_dtr(struct bstack_target *ti)
{
	kfree(ti->private);
}

static enum bstack_map_result linear_map(struct bstack_target *ti,
					 struct bio *clone)
{
	struct linear_c *lc = ti->private;

	bio_set_dev(clone, lc->dev->bdev);
	clone->bi_iter.bi_sector = lc->start +
				   (clone->bi_iter.bi_sector - ti->begin);
	return BSTACK_MAP_REMAPPED;
}

static void linear_table_line(struct bstack_target *ti, char *buf,
			      size_t len)
{
	struct linear_c *lc = ti->private;

	snprintf(buf, len, "%u:%u %llu", MAJOR(lc->dev->dev),
		 MINOR(lc->dev->dev), (u64)lc->start);
}

static void linear_iterate_devices(struct bstack_target *ti,
				   void (*fn)(struct block_device *bdev,
					      sector_t start, void *data),
				   void *data)
{
	struct linear_c *lc = ti->private;

	fn(lc->dev->bdev, lc->start, data);
}

static struct bstack_target_type linear_target = {
	.name		 = "linear",
	.version	 = { 1, 0, 0 },
	.module		 = THIS_MODULE,
	.ctr		 = linear_ctr,
	.dtr		 = linear_dtr,
	.map		 = linear_map,
	.table_line	 = linear_table_line,
	.iterate_devices = linear_iterate_devices,
};

int bstack_linear_init(void)
{
	return bstack_register_target(&linear_target);
}

void bstack_linear_exit(void)
{
	bstack_unregister_target(&linear_target);
}
