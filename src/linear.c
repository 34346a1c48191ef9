// SPDX-License-Identifier: GPL-2.0
/*
 * The linear target: <start> <length> linear <dev> <offset>
 * maps its sectors onto <dev>, from sector <offset> on.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "bstack.h"

/**
 * bstack_linear_ctr - parse '<dev> <offset>' into @lc
 * @ti:		the target, for its length and its error
 * @path:	the lower device
 * @offset:	its first sector, a number
 * @lc:		filled in on success
 *
 * Checks that the range fits the device and is aligned to its logical
 * block size. The device is held by the table, and dropped with it.
 */
int bstack_linear_ctr(struct bstack_target *ti, const char *path,
		      const char *offset, struct bstack_linear *lc)
{
	unsigned int lbs;
	sector_t size;
	u64 start;
	int r;

	if (kstrtou64(offset, 10, &start))
		return bstack_ti_error(ti, "offset '%s' is not a number of sectors",
				       offset);
	if (start + ti->len < start)
		return bstack_ti_error(ti, "offset %llu + length %llu overflows",
				       start, (u64)ti->len);
	r = bstack_get_device(ti, path, &lc->dev);
	if (r)
		return r;

	lbs = bdev_logical_block_size(lc->dev->bdev) >> SECTOR_SHIFT;
	if (start & (lbs - 1))
		return bstack_ti_error(ti, "offset %llu is not a multiple of %u sectors, the logical block size of %s",
				       start, lbs, path);
	size = bdev_nr_sectors(lc->dev->bdev);
	if (start + ti->len > size)
		return bstack_ti_error(ti, "%s has %llu sectors, but offset %llu + length %llu needs %llu",
				       path, (u64)size, start, (u64)ti->len,
				       start + ti->len);
	lc->start = start;
	return 0;
}

/* "MAJ:MIN OFFSET", as the table shows it; returns its length. */
int bstack_linear_print(const struct bstack_linear *lc, char *buf,
			size_t len)
{
	return scnprintf(buf, len, "%u:%u %llu", MAJOR(lc->dev->dev),
			 MINOR(lc->dev->dev), (u64)lc->start);
}

static int linear_ctr(struct bstack_target *ti, unsigned int argc,
		      char **argv)
{
	struct bstack_linear *lc;
	int r;

	if (argc != 2)
		return bstack_ti_error(ti, "expected '<dev> <offset>', got %u argument%s",
				       argc, argc == 1 ? "" : "s");
	lc = kzalloc(sizeof(*lc), GFP_KERNEL);
	if (!lc)
		return -ENOMEM;
	r = bstack_linear_ctr(ti, argv[0], argv[1], lc);
	if (r) {
		kfree(lc);
		return r;
	}
	ti->private = lc;
	return 0;
}

static void linear_dtr(struct bstack_target *ti)
{
	kfree(ti->private);
}

/*
 * bstack_submit_bio() remaps a READ or a WRITE itself, knowing that a
 * linear line has no chunk (@ti->chunk stays 0): a piece ends only where
 * the line does.
 */
enum bstack_map_result bstack_linear_map(struct bstack_target *ti,
					  struct bio *clone)
{
	bstack_linear_remap(ti, ti->private, clone);
	return BSTACK_MAP_REMAPPED;
}

static void linear_table_line(struct bstack_target *ti, char *buf,
			      size_t len)
{
	bstack_linear_print(ti->private, buf, len);
}

static void linear_iterate_devices(struct bstack_target *ti,
				   void (*fn)(struct block_device *bdev,
					      sector_t start, void *data),
				   void *data)
{
	struct bstack_linear *lc = ti->private;

	fn(lc->dev->bdev, lc->start, data);
}

/* An ioctl or a reservation goes to the lower device (dm's linear too). */
static int linear_prepare_ioctl(struct bstack_target *ti,
				struct block_device **bdev)
{
	struct bstack_linear *lc = ti->private;

	*bdev = lc->dev->bdev;
	return lc->start || ti->len != bdev_nr_sectors(*bdev);
}

static struct bstack_target_type linear_target = {
	.name		 = "linear",
	.version	 = { 1, 0, 0 },
	.module		 = THIS_MODULE,
	.ctr		 = linear_ctr,
	.dtr		 = linear_dtr,
	.map		 = bstack_linear_map,
	.table_line	 = linear_table_line,
	.iterate_devices = linear_iterate_devices,
	.prepare_ioctl	 = linear_prepare_ioctl,
	.features	 = BSTACK_TYPE_POLL | BSTACK_TYPE_ATOMIC |
			   BSTACK_TYPE_ZONED | BSTACK_TYPE_INTEGRITY,
};

int bstack_linear_init(void)
{
	return bstack_register_target(&linear_target);
}

void bstack_linear_exit(void)
{
	bstack_unregister_target(&linear_target);
}
