// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bstack: table construction and validation, target lookup,
 * split points, the ioctl header checks, and how an original bio ends when
 * its pieces and clones end in any order.
 *
 * Built as bstack_test.ko against a kernel with CONFIG_KUNIT; the suites run
 * when it is loaded, after bstack.ko.
 */
#include <kunit/test.h>
#include <linux/bio.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "../../src/bstack.h"

BSTACK_IMPORT_KUNIT_NS();

/* A target that needs no device: "fail" as its first argument refuses. */
static int null_ctr(struct bstack_target *ti, unsigned int argc, char **argv)
{
	if (argc && !strcmp(argv[0], "fail"))
		return bstack_ti_error(ti, "asked to fail with %u arguments",
				       argc);
	return 0;
}

static enum bstack_map_result null_map(struct bstack_target *ti,
				       struct bio *clone)
{
	return BSTACK_MAP_REMAPPED;
}

static struct bstack_target_type null_target = {
	.name	= "kunit-null",
	.module	= THIS_MODULE,
	.ctr	= null_ctr,
	.map	= null_map,
};

struct table_ctx {
	struct bstack_table *t;
	char err[BSTACK_ERROR_LEN];
};

static int table_init(struct kunit *test)
{
	struct table_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	return 0;
}

static void table_exit(struct kunit *test)
{
	struct table_ctx *ctx = test->priv;

	if (!IS_ERR_OR_NULL(ctx->t))
		bstack_table_destroy(ctx->t);
}

static struct bstack_table *new_table(struct kunit *test, unsigned int max)
{
	struct table_ctx *ctx = test->priv;

	ctx->t = bstack_table_alloc(NULL, max, BLK_OPEN_READ, ctx->err);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->t));
	return ctx->t;
}

static int add(struct bstack_table *t, sector_t start, sector_t len,
	       const char *type, const char *params)
{
	unsigned int line = t->num_targets + 1;

	return bstack_table_add_target(t, type, start, len, params, line);
}

static void table_single_target(struct kunit *test)
{
	struct bstack_table *t = new_table(test, 1);

	KUNIT_EXPECT_EQ(test, add(t, 0, 100, "kunit-null", ""), 0);
	KUNIT_EXPECT_EQ(test, bstack_table_complete(t), 0);
	KUNIT_EXPECT_EQ(test, t->size, 100);
	KUNIT_EXPECT_PTR_EQ(test, bstack_table_find_target(t, 0), &t->targets[0]);
	KUNIT_EXPECT_PTR_EQ(test, bstack_table_find_target(t, 99), &t->targets[0]);
	KUNIT_EXPECT_NULL(test, bstack_table_find_target(t, 100));
}

/* A table line that must be refused, and the message it must get. */
struct bad_table_case {
	const char *desc;
	sector_t start[3];
	sector_t len[3];
	const char *type[3];
	const char *params[3];
	unsigned int lines;
	unsigned int max;
	const char *err;
};

static const struct bad_table_case bad_tables[] = {
	{ "gap", { 0, 200 }, { 100, 50 }, { "kunit-null", "kunit-null" },
	  { "", "" }, 2, 2,
	  "line 2: gap: the previous target ends at sector 100, this one starts at 200" },
	{ "overlap", { 0, 50 }, { 100, 10 }, { "kunit-null", "kunit-null" },
	  { "", "" }, 2, 2,
	  "line 2: overlap: the previous target ends at sector 100, this one starts at 50" },
	{ "not from 0", { 5 }, { 10 }, { "kunit-null" }, { "" }, 1, 1,
	  "line 1: the first target must start at sector 0, not 5" },
	{ "zero length", { 0 }, { 0 }, { "kunit-null" }, { "" }, 1, 1,
	  "line 1: length is 0" },
	{ "overflow", { 0, 100 }, { 100, U64_MAX - 50 },
	  { "kunit-null", "kunit-null" }, { "", "" }, 2, 2,
	  "line 2: start 100 + length 18446744073709551565 overflows" },
	{ "too large", { 0 }, { U64_MAX / 2 }, { "kunit-null" }, { "" }, 1, 1,
	  "line 1: the target ends past the largest device size" },
	{ "unknown type", { 0 }, { 8 }, { "nope" }, { "" }, 1, 1,
	  "line 1: unknown target type 'nope'" },
	{ "too many", { 0, 8, 16 }, { 8, 8, 8 },
	  { "kunit-null", "kunit-null", "kunit-null" }, { "", "", "" }, 3, 2,
	  "line 3: more than 2 targets" },
	{ "ctr refuses", { 0 }, { 8 }, { "kunit-null" }, { "fail a b" }, 1, 1,
	  "line 1: kunit-null: asked to fail with 3 arguments" },
	{ "error with arguments", { 0 }, { 8 }, { "error" }, { "x" }, 1, 1,
	  "line 1: error: expected no arguments, got 1" },
	{ "zero with arguments", { 0, 8 }, { 8, 8 }, { "zero", "zero" },
	  { "", "a b" }, 2, 2,
	  "line 2: zero: expected no arguments, got 2" },
	{ "striped argc", { 0 }, { 16 }, { "striped" }, { "2" }, 1, 1,
	  "line 1: striped: expected '<#stripes> <chunk_sectors> (<dev> <offset>)...', got 1 argument" },
	{ "striped 0 stripes", { 0 }, { 16 }, { "striped" }, { "0 8" }, 1, 1,
	  "line 1: striped: the stripe count '0' is not a positive number" },
	{ "striped chunk", { 0 }, { 16 }, { "striped" },
	  { "2 x /dev/a 0 /dev/b 0" }, 1, 1,
	  "line 1: striped: the chunk size 'x' is not a positive number of sectors" },
	{ "striped chunk 0", { 0 }, { 16 }, { "striped" },
	  { "2 0 /dev/a 0 /dev/b 0" }, 1, 1,
	  "line 1: striped: the chunk size '0' is not a positive number of sectors" },
	{ "striped devices", { 0 }, { 16 }, { "striped" }, { "2 8 /dev/a 0" },
	  1, 1, "line 1: striped: 2 stripes need 4 devices and offsets, got 2 arguments" },
	{ "striped length vs chunk", { 0 }, { 1000 }, { "striped" },
	  { "2 8 /dev/a 0 /dev/b 0" }, 1, 1,
	  "line 1: striped: length 1000 is not divisible by 2 stripes x 8 sectors" },
	{ "striped length vs stripes", { 0 }, { 1001 }, { "striped" },
	  { "2 1 /dev/a 0 /dev/b 0" }, 1, 1,
	  "line 1: striped: length 1001 is not divisible by 2 stripes x 1 sectors" },
	{ "striped offset", { 0 }, { 48 }, { "striped" },
	  { "3 8 /dev/a x /dev/b 0 /dev/c 0" }, 1, 1,
	  "line 1: striped: stripe 0: offset 'x' is not a number of sectors" },
	{ "striped missing device", { 0 }, { 48 }, { "striped" },
	  { "3 8 /dev/bstack-kunit-missing 0 /dev/b 1 /dev/c 0" }, 1, 1,
	  "line 1: striped: /dev/bstack-kunit-missing: no such file" },
	{ "linear argc", { 0 }, { 8 }, { "linear" }, { "/dev/x" }, 1, 1,
	  "line 1: linear: expected '<dev> <offset>', got 1 argument" },
	{ "linear offset", { 0 }, { 8 }, { "linear" }, { "/dev/x 12x" }, 1, 1,
	  "line 1: linear: offset '12x' is not a number of sectors" },
	{ "linear offset overflow", { 0 }, { 8 }, { "linear" },
	  { "/dev/x 18446744073709551615" }, 1, 1,
	  "line 1: linear: offset 18446744073709551615 + length 8 overflows" },
	{ "linear missing device", { 0 }, { 8 }, { "linear" },
	  { "/dev/bstack-kunit-missing 0" }, 1, 1,
	  "line 1: linear: /dev/bstack-kunit-missing: no such file" },
	{ "linear not a block device", { 0 }, { 8 }, { "linear" },
	  { "/dev/null 0" }, 1, 1,
	  "line 1: linear: /dev/null is not a block device" },
	{ "linear major out of range", { 0 }, { 8 }, { "linear" },
	  { "99999:0 0" }, 1, 1,
	  "line 1: linear: device number 99999:0 is out of range" },
	{ "linear no such device", { 0 }, { 8 }, { "linear" },
	  { "4095:1048575 0" }, 1, 1,
	  "line 1: linear: 4095:1048575: no such device" },
};

KUNIT_ARRAY_PARAM_DESC(bad_table, bad_tables, desc);

static void table_refused(struct kunit *test)
{
	const struct bad_table_case *c = test->param_value;
	struct table_ctx *ctx = test->priv;
	struct bstack_table *t = new_table(test, c->max);
	unsigned int i;
	int r = 0;

	for (i = 0; i < c->lines && !r; i++)
		r = add(t, c->start[i], c->len[i], c->type[i], c->params[i]);
	KUNIT_EXPECT_EQ(test, r, -EINVAL);
	KUNIT_EXPECT_STREQ(test, ctx->err, c->err);
	/* The refused line is not in the table. */
	KUNIT_EXPECT_EQ(test, t->num_targets, c->lines - 1);
}

static void table_empty(struct kunit *test)
{
	struct table_ctx *ctx = test->priv;
	struct bstack_table *t = new_table(test, 1);

	KUNIT_EXPECT_EQ(test, bstack_table_complete(t), -EINVAL);
	KUNIT_EXPECT_STREQ(test, ctx->err, "the table is empty");
}

static void table_alloc_limits(struct kunit *test)
{
	char err[BSTACK_ERROR_LEN] = "";
	struct bstack_table *t;

	t = bstack_table_alloc(NULL, 0, BLK_OPEN_READ, err);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(t), -EINVAL);
	KUNIT_EXPECT_STREQ(test, err, "a table has 1 to 1048576 targets, not 0");
	t = bstack_table_alloc(NULL, BSTACK_MAX_TARGETS + 1, BLK_OPEN_READ,
			       err);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(t), -EINVAL);
}

/* The first error wins: later lines do not overwrite the message. */
static void table_first_message_kept(struct kunit *test)
{
	struct table_ctx *ctx = test->priv;
	struct bstack_table *t = new_table(test, 3);

	KUNIT_EXPECT_EQ(test, add(t, 0, 8, "nope", ""), -EINVAL);
	KUNIT_EXPECT_EQ(test, add(t, 5, 8, "kunit-null", ""), -EINVAL);
	KUNIT_EXPECT_STREQ(test, ctx->err, "line 1: unknown target type 'nope'");
}

/* Lookup over many odd-sized targets agrees with a linear scan. */
/* Table layouts for the lookup: each line's length, by its number. */
enum lookup_layout {
	LOOKUP_RANDOM,		/* 1 to 5000 sectors */
	LOOKUP_EQUAL,		/* 8 sectors each */
	LOOKUP_TINY_THEN_HUGE,	/* 1 sector each, then one of 2^30 */
	LOOKUP_HUGE_THEN_TINY,	/* one of 2^30, then 1 sector each */
	LOOKUP_ALTERNATING,	/* 1 and 100000 sectors, in turn */
};

struct lookup_case {
	const char *desc;
	unsigned int lines;
	enum lookup_layout layout;
};

static const struct lookup_case lookup_cases[] = {
	{ "two lines", 2, LOOKUP_RANDOM },
	{ "1000 random lines", 1000, LOOKUP_RANDOM },
	{ "4096 equal lines", 4096, LOOKUP_EQUAL },
	{ "4097 equal lines", 4097, LOOKUP_EQUAL },
	{ "999 tiny lines, then a huge one", 1000, LOOKUP_TINY_THEN_HUGE },
	{ "a huge line, then 999 tiny ones", 1000, LOOKUP_HUGE_THEN_TINY },
	{ "alternating 1 and 100000", 1001, LOOKUP_ALTERNATING },
};

KUNIT_ARRAY_PARAM_DESC(lookup, lookup_cases, desc);

static sector_t lookup_len(const struct lookup_case *c, unsigned int i,
			   struct rnd_state *rnd)
{
	switch (c->layout) {
	case LOOKUP_RANDOM:
		return 1 + prandom_u32_state(rnd) % 5000;
	case LOOKUP_EQUAL:
		return 8;
	case LOOKUP_TINY_THEN_HUGE:
		return i == c->lines - 1 ? 1ULL << 30 : 1;
	case LOOKUP_HUGE_THEN_TINY:
		return i == 0 ? 1ULL << 30 : 1;
	case LOOKUP_ALTERNATING:
		return i % 2 ? 100000 : 1;
	}
	return 1;
}

/*
 * What the lookup must find: the first target that ends after @sector,
 * by a binary search over all the ends, without the index.
 */
static unsigned int lookup_reference(struct bstack_table *t, sector_t sector)
{
	unsigned int lo = 0, hi = t->num_targets;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (t->ends[mid] <= sector)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void lookup_expect(struct kunit *test, struct bstack_table *t,
			  sector_t sector)
{
	unsigned int want = lookup_reference(t, sector);
	struct bstack_target *got = bstack_table_find_target(t, sector);

	if (want == t->num_targets)
		KUNIT_EXPECT_NULL_MSG(test, got, "sector %llu", (u64)sector);
	else
		KUNIT_EXPECT_PTR_EQ_MSG(test, got, &t->targets[want],
					"sector %llu", (u64)sector);
}

/*
 * The lookup finds each line's first, middle and last sector, and random
 * ones, as a walk over the ends does, whatever the lengths of the lines:
 * like ones, where its index buckets hold a line or two, and skewed ones,
 * where a bucket holds hundreds of lines or a line hundreds of buckets.
 */
static void table_lookup_many(struct kunit *test)
{
	const struct lookup_case *c = test->param_value;
	struct bstack_table *t = new_table(test, c->lines);
	struct rnd_state rnd;
	sector_t start = 0;
	unsigned int i;

	prandom_seed_state(&rnd, 42);
	for (i = 0; i < c->lines; i++) {
		sector_t len = lookup_len(c, i, &rnd);

		KUNIT_ASSERT_EQ(test, add(t, start, len, "kunit-null", ""), 0);
		start += len;
	}
	KUNIT_ASSERT_EQ(test, bstack_table_complete(t), 0);
	KUNIT_EXPECT_GE(test, t->nr_buckets, 1U);

	for (i = 0; i < c->lines; i++) {
		struct bstack_target *ti = &t->targets[i];

		KUNIT_EXPECT_PTR_EQ(test, bstack_table_find_target(t, ti->begin), ti);
		KUNIT_EXPECT_PTR_EQ(test,
				    bstack_table_find_target(t, ti->begin + ti->len - 1),
				    ti);
		KUNIT_EXPECT_PTR_EQ(test,
				    bstack_table_find_target(t, ti->begin + ti->len / 2),
				    ti);
	}
	for (i = 0; i < 2000; i++) {
		u64 r = (u64)prandom_u32_state(&rnd) << 32 |
			prandom_u32_state(&rnd), sector;

		div64_u64_rem(r, start, &sector);
		lookup_expect(test, t, sector);
	}
	/* Each bucket's first sector, where the index itself points. */
	for (i = 0; i < t->nr_buckets && i < 5000; i++)
		lookup_expect(test, t, (sector_t)i << t->index_shift);
	KUNIT_EXPECT_NULL(test, bstack_table_find_target(t, start));
	KUNIT_EXPECT_NULL(test, bstack_table_find_target(t, U64_MAX));
}

/* The pieces a bio is cut into at target boundaries. */
struct split_case {
	const char *desc;
	sector_t sector;
	unsigned int sectors;
	unsigned int pieces[4];
};

/* Over a table of 1001 + 204799 + 3 + 100 sectors. */
static const struct split_case split_cases[] = {
	{ "inside the first", 0, 8, { 8 } },
	{ "up to the first end", 993, 8, { 8 } },
	{ "across the first end", 1000, 8, { 1, 7 } },
	{ "from the boundary", 1001, 512, { 512 } },
	{ "across three", 205795, 16, { 5, 3, 8 } },
	{ "the last sector", 205902, 1, { 1 } },
	{ "whole table", 0, 205903, { 1001, 204799, 3, 100 } },
};

KUNIT_ARRAY_PARAM_DESC(split, split_cases, desc);

static void table_split_points(struct kunit *test)
{
	static const sector_t lens[] = { 1001, 204799, 3, 100 };
	const struct split_case *c = test->param_value;
	struct bstack_table *t = new_table(test, ARRAY_SIZE(lens));
	sector_t sector = c->sector, start = 0;
	unsigned int left = c->sectors, i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		KUNIT_ASSERT_EQ(test, add(t, start, lens[i], "kunit-null", ""), 0);
		start += lens[i];
	}
	KUNIT_ASSERT_EQ(test, bstack_table_complete(t), 0);

	for (i = 0; left; i++) {
		struct bstack_target *ti = bstack_table_find_target(t, sector);
		unsigned int n;

		KUNIT_ASSERT_LT(test, i, ARRAY_SIZE(c->pieces));
		KUNIT_ASSERT_NOT_NULL(test, ti);
		n = bstack_target_max_io(ti, sector, left);
		KUNIT_EXPECT_EQ_MSG(test, n, c->pieces[i], "piece %u", i);
		sector += n;
		left -= n;
	}
	KUNIT_EXPECT_TRUE(test, i == ARRAY_SIZE(c->pieces) || !c->pieces[i]);
}

/*
 * The stripe arithmetic, shifts and masks or divisions, against the
 * definition: chunk n of the target is chunk n / stripes of stripe
 * n % stripes. Every stripe count 1..8, at chunk and row edges.
 */
static const u32 chunk_sizes[] = { 1, 2, 7, 8, 24, 128, 1000 };

static void chunk_desc(const u32 *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "chunk %u", *c);
}

KUNIT_ARRAY_PARAM(chunk, chunk_sizes, chunk_desc);

static void stripe_expect(struct kunit *test, const struct bstack_stripe_geom *g,
			  u64 off)
{
	u64 n = div64_u64(off, g->chunk);
	u64 want_sector = div64_u64(n, g->stripes) * g->chunk +
			  (off - n * g->chunk);
	u32 want_stripe = n - div64_u64(n, g->stripes) * g->stripes;
	sector_t sector;
	u32 stripe;

	bstack_stripe_locate(g, off, &stripe, &sector);
	KUNIT_EXPECT_EQ_MSG(test, stripe, want_stripe, "%u x %u at %llu",
			    g->stripes, g->chunk, off);
	KUNIT_EXPECT_EQ_MSG(test, sector, want_sector, "%u x %u at %llu",
			    g->stripes, g->chunk, off);
}

static void stripe_arithmetic(struct kunit *test)
{
	const u32 chunk = *(const u32 *)test->param_value;
	struct bstack_stripe_geom g;
	u32 stripes;

	for (stripes = 1; stripes <= 8; stripes++) {
		u64 row = (u64)chunk * stripes;
		u64 off;

		bstack_stripe_geom_init(&g, stripes, chunk);
		KUNIT_EXPECT_EQ(test, g.stripes_shift >= 0,
				is_power_of_2(stripes));
		KUNIT_EXPECT_EQ(test, g.chunk_shift >= 0, is_power_of_2(chunk));
		/* Each chunk's first and last sector, for three rows. */
		for (off = 0; off < 3 * row; off += chunk) {
			stripe_expect(test, &g, off);
			stripe_expect(test, &g, off + chunk - 1);
		}
		/* Far out, where 32-bit arithmetic would wrap. */
		stripe_expect(test, &g, (1ULL << 40) + 12345);
		stripe_expect(test, &g, (1ULL << 40) / row * row - 1);
	}
}

/*
 * The per-stripe ranges of a discard, against the sectors themselves: for
 * ranges [b, e) that start and end anywhere in or between chunks, the
 * sectors of stripe s that bstack_stripe_locate() gives for b..e-1 must be
 * exactly the run bstack_stripe_range_start(b) .. (e) on stripe s.
 */
static void stripe_range_expect(struct kunit *test,
				const struct bstack_stripe_geom *g, u64 b, u64 e)
{
	sector_t lo[8], hi[8], sector;
	u64 n[8] = { }, off;
	u32 s, stripe;

	for (off = b; off < e; off++) {
		bstack_stripe_locate(g, off, &stripe, &sector);
		if (!n[stripe]++ || sector < lo[stripe])
			lo[stripe] = sector;
		if (n[stripe] == 1 || sector > hi[stripe])
			hi[stripe] = sector;
	}
	for (s = 0; s < g->stripes; s++) {
		sector_t rb = bstack_stripe_range_start(g, b, s);
		sector_t re = bstack_stripe_range_start(g, e, s);

		if (!n[s]) {
			KUNIT_EXPECT_GE_MSG(test, rb, re,
					    "%u x %u, [%llu, %llu), stripe %u",
					    g->stripes, g->chunk, b, e, s);
			continue;
		}
		/* One contiguous run, from the lowest sector to the highest. */
		KUNIT_EXPECT_EQ_MSG(test, rb, lo[s],
				    "%u x %u, [%llu, %llu), stripe %u",
				    g->stripes, g->chunk, b, e, s);
		KUNIT_EXPECT_EQ_MSG(test, re, hi[s] + 1,
				    "%u x %u, [%llu, %llu), stripe %u",
				    g->stripes, g->chunk, b, e, s);
		KUNIT_EXPECT_EQ_MSG(test, re - rb, n[s],
				    "%u x %u, [%llu, %llu), stripe %u",
				    g->stripes, g->chunk, b, e, s);
	}
}

static void stripe_ranges(struct kunit *test)
{
	const u32 chunk = *(const u32 *)test->param_value;
	struct bstack_stripe_geom g;
	u32 stripes;

	for (stripes = 1; stripes <= 5; stripes++) {
		u64 row = (u64)chunk * stripes;
		/* Starts and lengths at and around chunk and row edges. */
		const u64 starts[] = {
			0, 1, chunk - 1, chunk, chunk + 1, row - 1, row,
			row + chunk / 2,
		};
		const u64 lens[] = {
			1, chunk - 1 ?: 1, chunk, chunk + 1, row - 1 ?: 1, row,
			row + 1, 2 * row + 3,
		};
		unsigned int i, j;

		bstack_stripe_geom_init(&g, stripes, chunk);
		for (i = 0; i < ARRAY_SIZE(starts); i++)
			for (j = 0; j < ARRAY_SIZE(lens); j++)
				stripe_range_expect(test, &g, starts[i],
						    starts[i] + lens[j]);
	}
}

/* Pieces never cross a chunk, counted from the target's start. */
static void stripe_split_points(struct kunit *test)
{
	struct bstack_target ti = { .begin = 1000, .len = 4800 };

	ti.chunk = 24;
	ti.chunk_shift = -1;
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1000, 256), 24);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1023, 256), 1);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1024, 256), 24);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1030, 8), 8);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 5790, 256), 10);

	ti.chunk = 8;
	ti.chunk_shift = 3;
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1000, 256), 8);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1005, 256), 3);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 1008, 2), 2);
	KUNIT_EXPECT_EQ(test, bstack_target_max_io(&ti, 5799, 256), 1);
}

/* Build a LOAD payload: one spec per entry of @types. */
static void *specs(struct kunit *test, size_t *len, unsigned int n,
		   const char *const *types, const char *const *params)
{
	size_t off = 0, size = 0;
	unsigned int i;
	void *buf;

	for (i = 0; i < n; i++)
		size += ALIGN(sizeof(struct bstack_target_spec) +
			      strlen(params[i]) + 1, 8);
	buf = kunit_kzalloc(test, size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < n; i++) {
		struct bstack_target_spec *s = buf + off;
		size_t plen = strlen(params[i]) + 1;

		s->start = i * 8;
		s->length = 8;
		s->line = i + 1;
		s->next = ALIGN(sizeof(*s) + plen, 8);
		strscpy(s->type, types[i], sizeof(s->type));
		memcpy(s + 1, params[i], plen);
		off += s->next;
	}
	*len = size;
	return buf;
}

static void specs_expect_refused(struct kunit *test, const void *buf,
				 size_t len, unsigned int count,
				 const char *err)
{
	char msg[BSTACK_ERROR_LEN] = "";
	struct bstack_table *t;

	t = bstack_table_from_specs(NULL, buf, len, count, BLK_OPEN_READ, msg);
	KUNIT_EXPECT_TRUE(test, IS_ERR(t));
	if (!IS_ERR(t))
		bstack_table_destroy(t);
	KUNIT_EXPECT_STREQ(test, msg, err);
}

static void specs_valid(struct kunit *test)
{
	static const char *const types[] = { "kunit-null", "kunit-null" };
	static const char *const params[] = { "a", "bb cc" };
	char msg[BSTACK_ERROR_LEN] = "";
	struct bstack_table *t;
	size_t len;
	void *buf = specs(test, &len, 2, types, params);

	t = bstack_table_from_specs(NULL, buf, len, 2, BLK_OPEN_READ, msg);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(t), "%s", msg);
	KUNIT_EXPECT_EQ(test, t->num_targets, 2);
	KUNIT_EXPECT_EQ(test, t->size, 16);
	bstack_table_destroy(t);
}

static void specs_hostile(struct kunit *test)
{
	static const char *const types[] = { "kunit-null", "kunit-null" };
	static const char *const params[] = { "a", "b" };
	struct bstack_target_spec *s;
	size_t len;
	u8 *buf = specs(test, &len, 2, types, params);
	u8 *copy = kunit_kmalloc(test, len + 8, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, copy);
	s = (struct bstack_target_spec *)copy;

	/* More specs claimed than the payload can hold: refused up front. */
	specs_expect_refused(test, buf, len, 3,
			     "3 targets cannot fit in a payload of 96 bytes");
	specs_expect_refused(test, buf, len, BSTACK_MAX_TARGETS,
			     "1048576 targets cannot fit in a payload of 96 bytes");
	/* A header cut short. */
	specs_expect_refused(test, buf, sizeof(*s) - 1, 1,
			     "1 target cannot fit in a payload of 39 bytes");
	/* The second spec (at byte 48) says it runs past the payload's end. */
	memcpy(copy, buf, len);
	KUNIT_ASSERT_EQ(test, s->next, 48);
	((struct bstack_target_spec *)(copy + 48))->next = 56;
	specs_expect_refused(test, copy, len, 2,
			     "line 2: target 2: bad spec size 56");

	memcpy(copy, buf, len);
	s->next = 41;
	specs_expect_refused(test, copy, len, 2, "line 1: target 1: bad spec size 41");
	s->next = sizeof(*s);
	specs_expect_refused(test, copy, len, 2, "line 1: target 1: bad spec size 40");
	s->next = 0xfffffff8;
	specs_expect_refused(test, copy, len, 2,
			     "line 1: target 1: bad spec size 4294967288");

	memcpy(copy, buf, len);
	memset(s->type, 'x', sizeof(s->type));
	specs_expect_refused(test, copy, len, 2,
			     "line 1: the target type is not NUL-terminated");

	memcpy(copy, buf, len);
	memset(s + 1, 'y', s->next - sizeof(*s));
	specs_expect_refused(test, copy, len, 2,
			     "line 1: the target parameters are not NUL-terminated");

	memcpy(copy, buf, len);
	memset(copy + len, 0, 8);
	specs_expect_refused(test, copy, len + 8, 2,
			     "8 bytes of junk after the last target");

	specs_expect_refused(test, buf, len, 0,
			     "a table has 1 to 1048576 targets, not 0");
}

struct header_case {
	const char *desc;
	u32 major;
	u32 data_size;
	u32 data_start;
	u32 data_len;
	int ret;
};

#define HDR_SIZE ((u32)sizeof(struct bstack_ioctl))

static const struct header_case header_cases[] = {
	{ "valid, no payload", 1, HDR_SIZE, HDR_SIZE, 0, 0 },
	{ "valid with payload", 1, HDR_SIZE + 64, HDR_SIZE, 64, 0 },
	{ "valid, largest", 1, BSTACK_MAX_DATA_SIZE, HDR_SIZE,
	  BSTACK_MAX_DATA_SIZE - HDR_SIZE, 0 },
	{ "major 0", 0, HDR_SIZE, HDR_SIZE, 0, -EINVAL },
	{ "major 2", 2, HDR_SIZE, HDR_SIZE, 0, -EINVAL },
	{ "major max", U32_MAX, HDR_SIZE, HDR_SIZE, 0, -EINVAL },
	{ "size 0", 1, 0, HDR_SIZE, 0, -EINVAL },
	{ "size short", 1, HDR_SIZE - 1, HDR_SIZE, 0, -EINVAL },
	{ "size huge", 1, BSTACK_MAX_DATA_SIZE + 1, HDR_SIZE, 0, -EINVAL },
	{ "size max", 1, U32_MAX, HDR_SIZE, 0, -EINVAL },
	{ "start inside header", 1, HDR_SIZE + 64, 8, 0, -EINVAL },
	{ "start unaligned", 1, HDR_SIZE + 64, HDR_SIZE + 4, 0, -EINVAL },
	{ "start past size", 1, HDR_SIZE + 64, HDR_SIZE + 72, 0, -EINVAL },
	{ "len past size", 1, HDR_SIZE + 64, HDR_SIZE, 65, -EINVAL },
	{ "len wraps", 1, HDR_SIZE + 64, HDR_SIZE + 8, U32_MAX, -EINVAL },
	{ "start wraps", 1, HDR_SIZE + 64, U32_MAX - 7, 16, -EINVAL },
};

KUNIT_ARRAY_PARAM_DESC(header, header_cases, desc);

static void ctl_header_checks(struct kunit *test)
{
	const struct header_case *c = test->param_value;
	struct bstack_ioctl *hdr = kunit_kzalloc(test, sizeof(*hdr), GFP_KERNEL);
	char err[BSTACK_ERROR_LEN] = "";

	KUNIT_ASSERT_NOT_NULL(test, hdr);
	hdr->version[0] = c->major;
	hdr->data_size = c->data_size;
	hdr->data_start = c->data_start;
	hdr->data_len = c->data_len;
	KUNIT_EXPECT_EQ(test, bstack_ctl_check_header(hdr, err), c->ret);
	/* A refusal always says why; an acceptance says nothing. */
	KUNIT_EXPECT_EQ(test, !!err[0], !!c->ret);
}

/*
 * Completion: a fake device with a real bio_set, and an original bio whose
 * end_io counts how often it ran and what status it saw.
 */
struct io_ctx {
	struct bstack_device bd;
	struct bstack_table *t;
	struct bio *orig;
	struct page *page;
	int ended;
	blk_status_t status;
	char err[BSTACK_ERROR_LEN];
};

static void io_orig_endio(struct bio *bio)
{
	struct io_ctx *ctx = bio->bi_private;

	ctx->ended++;
	ctx->status = bio->bi_status;
}

static int io_init(struct kunit *test)
{
	struct io_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->bd.stats = alloc_percpu(struct bstack_stats);
	KUNIT_ASSERT_NOT_NULL(test, ctx->bd.stats);
	KUNIT_ASSERT_EQ(test, bstack_bioset_init(&ctx->bd.bs), 0);
	ctx->t = bstack_table_alloc(&ctx->bd, 1, BLK_OPEN_READ, ctx->err);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->t));
	ctx->page = alloc_pages(GFP_KERNEL, 4);
	KUNIT_ASSERT_NOT_NULL(test, ctx->page);
	/* 64 KiB of data in one segment: 128 sectors from sector 1000. */
	ctx->orig = bio_alloc_bioset(NULL, 1, REQ_OP_WRITE, GFP_KERNEL,
				     &fs_bio_set);
	KUNIT_ASSERT_NOT_NULL(test, ctx->orig);
	__bio_add_page(ctx->orig, ctx->page, 16 * PAGE_SIZE, 0);
	ctx->orig->bi_iter.bi_sector = 1000;
	ctx->orig->bi_end_io = io_orig_endio;
	ctx->orig->bi_private = ctx;
	test->priv = ctx;
	return 0;
}

static void io_exit(struct kunit *test)
{
	struct io_ctx *ctx = test->priv;

	/* Every io put the table: it drains at once. */
	bstack_table_kill(ctx->t);
	KUNIT_EXPECT_GT(test, bstack_table_wait_drained(ctx->t, HZ), 0);
	bstack_table_destroy(ctx->t);
	bio_put(ctx->orig);
	__free_pages(ctx->page, 4);
	bioset_exit(&ctx->bd.bs);
	free_percpu(ctx->bd.stats);
}

/* Get @t as the submit path does. */
static bool tryget(struct bstack_table *t)
{
	bool got;

	rcu_read_lock();
	got = bstack_table_tryget_live_rcu(t);
	rcu_read_unlock();
	return got;
}

/* Cut a piece off ctx->orig, as the submit path does, with a table ref. */
static struct bstack_io *piece(struct kunit *test, unsigned int sectors)
{
	struct io_ctx *ctx = test->priv;

	KUNIT_ASSERT_TRUE(test, tryget(ctx->t));
	return bstack_io_alloc_piece(&ctx->bd, ctx->t, ctx->orig, sectors,
				     GFP_NOIO);
}

static void end_clone(struct bio *clone, blk_status_t status)
{
	clone->bi_status = status;
	bio_endio(clone);
}

static void io_whole_bio(struct kunit *test)
{
	struct io_ctx *ctx = test->priv;
	struct bstack_io *io = piece(test, 128);

	KUNIT_EXPECT_EQ(test, io->clone.bio.bi_iter.bi_sector, 1000);
	KUNIT_EXPECT_EQ(test, io->clone.bio.bi_iter.bi_size, 128 << 9);
	KUNIT_EXPECT_EQ(test, ctx->ended, 0);
	end_clone(&io->clone.bio, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_OK);
}

struct order_case {
	const char *desc;
	unsigned int order[3];		/* which piece ends 1st, 2nd, 3rd */
	blk_status_t status[3];		/* how each piece ends */
	blk_status_t expect;
};

static const struct order_case order_cases[] = {
	{ "all ok, in order", { 0, 1, 2 }, { 0, 0, 0 }, BLK_STS_OK },
	{ "all ok, reversed", { 2, 1, 0 }, { 0, 0, 0 }, BLK_STS_OK },
	{ "error on the last to end", { 1, 2, 0 },
	  { BLK_STS_IOERR, 0, 0 }, BLK_STS_IOERR },
	{ "two errors, first kept", { 2, 0, 1 },
	  { BLK_STS_NOSPC, 0, BLK_STS_IOERR }, BLK_STS_IOERR },
	{ "error then success", { 1, 0, 2 },
	  { 0, BLK_STS_TRANSPORT, 0 }, BLK_STS_TRANSPORT },
};

KUNIT_ARRAY_PARAM_DESC(order, order_cases, desc);

/*
 * A bio cut into three pieces (7, 43 and 78 sectors): each piece has the
 * right sectors, and the original ends once, after the last piece, with
 * the first error of any piece.
 */
static void io_split_out_of_order(struct kunit *test)
{
	const struct order_case *c = test->param_value;
	struct io_ctx *ctx = test->priv;
	static const unsigned int lens[] = { 7, 43, 78 };
	struct bstack_io *io[3];
	sector_t sector = 1000;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		io[i] = piece(test, lens[i]);
		KUNIT_EXPECT_EQ(test, io[i]->clone.bio.bi_iter.bi_sector, sector);
		KUNIT_EXPECT_EQ(test, io[i]->clone.bio.bi_iter.bi_size,
				lens[i] << 9);
		sector += lens[i];
	}
	/* The last piece took what was left: the original is all handed out. */
	KUNIT_EXPECT_EQ(test, ctx->orig->bi_iter.bi_sector, 1050);

	for (i = 0; i < 3; i++) {
		unsigned int p = c->order[i];

		KUNIT_EXPECT_EQ(test, ctx->ended, 0);
		end_clone(&io[p]->clone.bio, c->status[p]);
	}
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, c->expect);
}

/*
 * One io with four clones, as an empty flush to four devices has: they end
 * in any order, the io ends after the last and after its mapping
 * reference, with the first error.
 */
static void io_clones_out_of_order(struct kunit *test)
{
	static const unsigned int order[] = { 2, 0, 3, 1 };
	static const blk_status_t status[] = {
		BLK_STS_OK, BLK_STS_MEDIUM, BLK_STS_IOERR, BLK_STS_OK,
	};
	struct io_ctx *ctx = test->priv;
	struct bstack_io *io = piece(test, 128);
	struct bio *clones[4];
	unsigned int i;

	atomic_inc(&io->pending);	/* the mapping's reference */
	clones[0] = &io->clone.bio;
	for (i = 1; i < 4; i++) {
		clones[i] = bio_alloc_clone(NULL, ctx->orig, GFP_KERNEL,
					    &ctx->bd.bs);
		KUNIT_ASSERT_NOT_NULL(test, clones[i]);
		bstack_io_add_clone(io, clones[i]);
	}
	for (i = 0; i < 4; i++)
		end_clone(clones[order[i]], status[order[i]]);
	KUNIT_EXPECT_EQ(test, ctx->ended, 0);
	bstack_io_put(io, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	/* Clone 2 ended first with an error: IOERR, not MEDIUM. */
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_IOERR);
}

/* A table put, or a clone ended, a while from now on another cpu. */
struct put_later {
	struct delayed_work work;
	struct bstack_table *t;
	struct bio *clone;	/* ended instead of a put, when set */
};

static void put_later_fn(struct work_struct *work)
{
	struct put_later *p = container_of(to_delayed_work(work),
					   struct put_later, work);

	if (p->clone)
		end_clone(p->clone, BLK_STS_OK);
	else
		bstack_table_put(p->t);
}

static void put_later_start(struct put_later *p)
{
	unsigned int cpu = cpumask_any_but(cpu_online_mask,
					   raw_smp_processor_id());

	INIT_DELAYED_WORK(&p->work, put_later_fn);
	/* Long enough for the wait to be asleep when it comes. */
	if (cpu < nr_cpu_ids)
		schedule_delayed_work_on(cpu, &p->work, msecs_to_jiffies(100));
	else
		schedule_delayed_work(&p->work, msecs_to_jiffies(100));
}

/*
 * A killed table takes no new user and drains when the last one puts it,
 * wherever it does; revived, it takes users again.
 */
static void io_table_kill(struct kunit *test)
{
	struct io_ctx *ctx = test->priv;
	struct put_later *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_TRUE(test, tryget(ctx->t));
	bstack_table_kill(ctx->t);
	KUNIT_EXPECT_FALSE(test, tryget(ctx->t));
	/* One user holds it: the wait runs out. */
	KUNIT_EXPECT_EQ(test, bstack_table_wait_drained(ctx->t, 2), 0);
	KUNIT_EXPECT_FALSE(test, bstack_table_drained(ctx->t));
	/*
	 * The put, on another cpu, wakes the wait. A wait nobody wakes
	 * would find the table drained only when it runs out, and return 1.
	 */
	p->t = ctx->t;
	put_later_start(p);
	KUNIT_EXPECT_GT(test, bstack_table_wait_drained(ctx->t, 30 * HZ),
			15 * HZ);
	flush_delayed_work(&p->work);
	KUNIT_EXPECT_TRUE(test, bstack_table_drained(ctx->t));
	bstack_table_revive(ctx->t);
	KUNIT_EXPECT_TRUE(test, tryget(ctx->t));
	KUNIT_EXPECT_FALSE(test, bstack_table_drained(ctx->t));
	bstack_table_put(ctx->t);
}

/* A drain waits for an io in flight, which ends its bio before the put. */
static void io_table_drain_waits_for_io(struct kunit *test)
{
	struct io_ctx *ctx = test->priv;
	struct put_later *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	struct bstack_io *io;

	KUNIT_ASSERT_NOT_NULL(test, p);
	io = piece(test, 128);
	KUNIT_ASSERT_NOT_NULL(test, io);
	bstack_table_kill(ctx->t);
	p->clone = &io->clone.bio;
	put_later_start(p);
	KUNIT_EXPECT_GT(test, bstack_table_wait_drained(ctx->t, 30 * HZ),
			15 * HZ);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	flush_delayed_work(&p->work);
}

static int bstack_suite_init(struct kunit_suite *suite)
{
	return bstack_register_target(&null_target);
}

static void bstack_suite_exit(struct kunit_suite *suite)
{
	bstack_unregister_target(&null_target);
}

static struct kunit_case bstack_table_cases[] = {
	KUNIT_CASE(table_single_target),
	KUNIT_CASE_PARAM(table_refused, bad_table_gen_params),
	KUNIT_CASE(table_empty),
	KUNIT_CASE(table_alloc_limits),
	KUNIT_CASE(table_first_message_kept),
	KUNIT_CASE_PARAM(table_lookup_many, lookup_gen_params),
	KUNIT_CASE_PARAM(table_split_points, split_gen_params),
	KUNIT_CASE(specs_valid),
	KUNIT_CASE(specs_hostile),
	KUNIT_CASE_PARAM(stripe_arithmetic, chunk_gen_params),
	KUNIT_CASE(stripe_split_points),
	KUNIT_CASE_PARAM(stripe_ranges, chunk_gen_params),
	{}
};

static struct kunit_suite bstack_table_suite = {
	.name		= "bstack_table",
	.suite_init	= bstack_suite_init,
	.suite_exit	= bstack_suite_exit,
	.init		= table_init,
	.exit		= table_exit,
	.test_cases	= bstack_table_cases,
};

static struct kunit_case bstack_ctl_cases[] = {
	KUNIT_CASE_PARAM(ctl_header_checks, header_gen_params),
	{}
};

static struct kunit_suite bstack_ctl_suite = {
	.name		= "bstack_ctl",
	.test_cases	= bstack_ctl_cases,
};

static struct kunit_case bstack_io_cases[] = {
	KUNIT_CASE(io_whole_bio),
	KUNIT_CASE_PARAM(io_split_out_of_order, order_gen_params),
	KUNIT_CASE(io_clones_out_of_order),
	KUNIT_CASE(io_table_kill),
	KUNIT_CASE(io_table_drain_waits_for_io),
	{}
};

static struct kunit_suite bstack_io_suite = {
	.name		= "bstack_io",
	.init		= io_init,
	.exit		= io_exit,
	.test_cases	= bstack_io_cases,
};

kunit_test_suites(&bstack_table_suite, &bstack_ctl_suite, &bstack_io_suite);

MODULE_DESCRIPTION("KUnit tests for bstack");
MODULE_LICENSE("GPL");
