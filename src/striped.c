// SPDX-License-Identifier: GPL-2.0
/*
 * The striped target, RAID0 as dm-stripe lays it out:
 *   <start> <length> striped <#stripes> <chunk_sectors> (<dev> <offset>)...
 * Chunk i of the target lives on stripe i % #stripes, as that stripe's
 * chunk i / #stripes. Any chunk size works; powers of two take shifts and
 * masks instead of divisions.
 */
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "bstack.h"

struct stripe {
	struct bstack_lower *dev;
	sector_t start;
};

struct stripe_c {
	struct bstack_stripe_geom geom;
	struct stripe stripe[];
};

/**
 * bstack_stripe_geom_init - precompute the arithmetic of a stripe layout
 * @g:		the geometry
 * @stripes:	how many stripes, at least 1
 * @chunk:	the chunk size in sectors, at least 1
 */
void bstack_stripe_geom_init(struct bstack_stripe_geom *g, u32 stripes,
			     u32 chunk)
{
	g->stripes = stripes;
	g->stripes_shift = is_power_of_2(stripes) ? ilog2(stripes) : -1;
	g->chunk = chunk;
	g->chunk_shift = is_power_of_2(chunk) ? ilog2(chunk) : -1;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_stripe_geom_init);

/**
 * bstack_stripe_locate - where a sector of a striped target lives
 * @g:		the geometry
 * @offset:	the sector, counted from the start of the target
 * @stripe:	the stripe it is on
 * @result:	the sector on that stripe, from the stripe's offset
 */
void bstack_stripe_locate(const struct bstack_stripe_geom *g, sector_t offset,
			  u32 *stripe, sector_t *result)
{
	sector_t chunk = offset;
	u32 in_chunk;

	if (g->chunk_shift >= 0) {
		in_chunk = chunk & (g->chunk - 1);
		chunk >>= g->chunk_shift;
	} else {
		in_chunk = sector_div(chunk, g->chunk);
	}

	if (g->stripes_shift >= 0) {
		*stripe = chunk & (g->stripes - 1);
		chunk >>= g->stripes_shift;
	} else {
		*stripe = sector_div(chunk, g->stripes);
	}

	if (g->chunk_shift >= 0)
		*result = (chunk << g->chunk_shift) + in_chunk;
	else
		*result = chunk * g->chunk + in_chunk;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_stripe_locate);

/**
 * bstack_stripe_range_start - where a range of the target begins on a stripe
 * @g:		the geometry
 * @offset:	the first sector of the range, from the start of the target
 * @stripe:	the stripe
 *
 * Returns the first sector of @stripe, from the stripe's offset, that
 * holds a sector of the target at or after @offset. The sectors of a range
 * [b, e) of the target that live on @stripe are the stripe's sectors from
 * bstack_stripe_range_start(b) up to bstack_stripe_range_start(e): one
 * contiguous run, empty when the two are equal.
 */
sector_t bstack_stripe_range_start(const struct bstack_stripe_geom *g,
				   sector_t offset, u32 stripe)
{
	sector_t result, in_chunk;
	u32 s;

	bstack_stripe_locate(g, offset, &s, &result);
	if (s == stripe)
		return result;
	/* The start of the row of chunks @offset is in, on @stripe... */
	if (g->chunk_shift >= 0) {
		result &= ~(sector_t)(g->chunk - 1);
	} else {
		in_chunk = result;
		result -= sector_div(in_chunk, g->chunk);
	}
	/* ...which lies before @offset if @stripe comes first in the row. */
	if (stripe < s)
		result += g->chunk;
	return result;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_stripe_range_start);

static int stripe_get(struct bstack_target *ti, struct stripe_c *sc,
		      unsigned int i, char **argv, sector_t width)
{
	struct stripe *s = &sc->stripe[i];
	unsigned int lbs;
	sector_t size;
	u64 start;
	int r;

	if (kstrtou64(argv[1], 10, &start))
		return bstack_ti_error(ti, "stripe %u: offset '%s' is not a number of sectors",
				       i, argv[1]);
	if (start + width < start)
		return bstack_ti_error(ti, "stripe %u: offset %llu + width %llu overflows",
				       i, start, (u64)width);
	r = bstack_get_device(ti, argv[0], &s->dev);
	if (r)
		return r;
	/* A chunk or an offset that cuts a logical block would cut I/Os. */
	lbs = bdev_logical_block_size(s->dev->bdev) >> SECTOR_SHIFT;
	if ((start | sc->geom.chunk) & (lbs - 1))
		return bstack_ti_error(ti, "stripe %u: offset %llu and chunk size %u must be multiples of %u sectors, the logical block size of %s",
				       i, start, sc->geom.chunk, lbs, argv[0]);
	size = bdev_nr_sectors(s->dev->bdev);
	if (start + width > size)
		return bstack_ti_error(ti, "stripe %u: %s has %llu sectors, but offset %llu + width %llu needs %llu",
				       i, argv[0], (u64)size, start, (u64)width,
				       start + width);
	s->start = start;
	return 0;
}

static int stripe_ctr(struct bstack_target *ti, unsigned int argc,
		      char **argv)
{
	struct stripe_c *sc;
	u32 stripes, chunk;
	sector_t width, rest;
	unsigned int i;
	int r;

	if (argc < 2)
		return bstack_ti_error(ti, "expected '<#stripes> <chunk_sectors> (<dev> <offset>)...', got %u argument%s",
				       argc, argc == 1 ? "" : "s");
	if (kstrtou32(argv[0], 10, &stripes) || !stripes)
		return bstack_ti_error(ti, "the stripe count '%s' is not a positive number",
				       argv[0]);
	if (kstrtou32(argv[1], 10, &chunk) || !chunk)
		return bstack_ti_error(ti, "the chunk size '%s' is not a positive number of sectors",
				       argv[1]);
	if (argc != 2 + 2 * (u64)stripes)
		return bstack_ti_error(ti, "%u stripes need %llu devices and offsets, got %u argument%s",
				       stripes, 2 * (u64)stripes, argc - 2,
				       argc == 3 ? "" : "s");
	width = ti->len;
	rest = sector_div(width, stripes);
	if (!rest) {
		sector_t chunks = width;

		rest = sector_div(chunks, chunk);
	}
	if (rest)
		return bstack_ti_error(ti, "length %llu is not divisible by %u stripe%s x %u sectors",
				       (u64)ti->len, stripes,
				       stripes == 1 ? "" : "s", chunk);

	sc = kzalloc(struct_size(sc, stripe, stripes), GFP_KERNEL);
	if (!sc)
		return -ENOMEM;
	bstack_stripe_geom_init(&sc->geom, stripes, chunk);
	for (i = 0; i < stripes; i++) {
		r = stripe_get(ti, sc, i, argv + 2 + 2 * i, width);
		if (r)
			goto out_free;
	}
	/*
	 * No read or write may cross a chunk: the core splits them at chunk
	 * boundaries. A discard, secure erase or write-zeroes that spans
	 * chunks goes down as one range per stripe instead, as in dm.
	 */
	ti->chunk = chunk;
	ti->chunk_shift = sc->geom.chunk_shift;
	ti->num_range_bios = stripes;
	ti->private = sc;
	return 0;

out_free:
	kfree(sc);
	return r;
}

static void stripe_dtr(struct bstack_target *ti)
{
	kfree(ti->private);
}

enum bstack_map_result bstack_stripe_map(struct bstack_target *ti,
					  struct bio *clone)
{
	struct stripe_c *sc = ti->private;
	sector_t sector;
	u32 stripe;

	bstack_stripe_locate(&sc->geom, clone->bi_iter.bi_sector - ti->begin,
			     &stripe, &sector);
	bio_set_dev(clone, sc->stripe[stripe].dev->bdev);
	clone->bi_iter.bi_sector = sc->stripe[stripe].start + sector;
	return BSTACK_MAP_REMAPPED;
}

static enum bstack_map_result stripe_map_range(struct bstack_target *ti,
					       struct bio *clone,
					       unsigned int stripe)
{
	struct stripe_c *sc = ti->private;
	sector_t offset = clone->bi_iter.bi_sector - ti->begin;
	sector_t begin, end;

	begin = bstack_stripe_range_start(&sc->geom, offset, stripe);
	end = bstack_stripe_range_start(&sc->geom, offset + bio_sectors(clone),
					stripe);
	if (begin >= end) {
		bio_endio(clone);
		return BSTACK_MAP_SUBMITTED;
	}
	bio_set_dev(clone, sc->stripe[stripe].dev->bdev);
	clone->bi_iter.bi_sector = sc->stripe[stripe].start + begin;
	clone->bi_iter.bi_size = (end - begin) << SECTOR_SHIFT;
	return BSTACK_MAP_REMAPPED;
}

static void stripe_table_line(struct bstack_target *ti, char *buf,
			      size_t len)
{
	struct stripe_c *sc = ti->private;
	size_t n;
	u32 i;

	n = scnprintf(buf, len, "%u %u", sc->geom.stripes, sc->geom.chunk);
	for (i = 0; i < sc->geom.stripes; i++)
		n += scnprintf(buf + n, len - n, " %u:%u %llu",
			       MAJOR(sc->stripe[i].dev->dev),
			       MINOR(sc->stripe[i].dev->dev),
			       (u64)sc->stripe[i].start);
}

static void stripe_iterate_devices(struct bstack_target *ti,
				   void (*fn)(struct block_device *bdev,
					      sector_t start, void *data),
				   void *data)
{
	struct stripe_c *sc = ti->private;
	u32 i;

	for (i = 0; i < sc->geom.stripes; i++)
		fn(sc->stripe[i].dev->bdev, sc->stripe[i].start, data);
}

static void stripe_io_hints(struct bstack_target *ti,
			    struct queue_limits *lim)
{
	struct stripe_c *sc = ti->private;
	u64 chunk_bytes = (u64)sc->geom.chunk << SECTOR_SHIFT;
	u64 width_bytes = chunk_bytes * sc->geom.stripes;

	/* Pieces never cross it; atomic writes fit in it (blk_stack_limits()). */
	lim->chunk_sectors = sc->geom.chunk;
	/* Hints only: leave them alone where they would not fit. */
	if (width_bytes <= UINT_MAX) {
		lim->io_min = chunk_bytes;
		lim->io_opt = width_bytes;
	}
}

static struct bstack_target_type striped_target = {
	.name		 = "striped",
	.version	 = { 1, 0, 0 },
	.module		 = THIS_MODULE,
	.ctr		 = stripe_ctr,
	.dtr		 = stripe_dtr,
	.map		 = bstack_stripe_map,
	.map_range	 = stripe_map_range,
	.table_line	 = stripe_table_line,
	.iterate_devices = stripe_iterate_devices,
	.io_hints	 = stripe_io_hints,
	.features	 = BSTACK_TYPE_POLL | BSTACK_TYPE_ATOMIC |
			   BSTACK_TYPE_INTEGRITY,
};

int bstack_striped_init(void)
{
	return bstack_register_target(&striped_target);
}

void bstack_striped_exit(void)
{
	bstack_unregister_target(&striped_target);
}
