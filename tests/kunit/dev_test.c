// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for bstack on real devices: the flush fan-out, REQ_NOWAIT,
 * discards sent per stripe, suspend and resume, the table swap with
 * clones in flight, and queue limits stacked from lower devices with
 * made-up limits.
 *
 * Each case makes three lower bstack devices, each mapped by one "zero"
 * line (real gendisks that need no hardware), and an upper bstack device
 * whose table maps them. Bios go in through submit_bio() on the upper
 * device. bstack_submit_clone() and bstack_cut() are redirected with KUnit
 * static stubs, for the test's own thread only: the test sees each clone
 * the upper device sends down, decides when it ends, and can make a
 * clone allocation fail as an empty mempool would.
 */
#include <kunit/test.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/part_stat.h>

#include "../../src/bstack.h"

#ifdef BSTACK_KUNIT_DEV_SUITE

#define NR_LOWER	3
#define LOWER_SECTORS	8192
#define MAX_SEEN	16

struct dev_ctx {
	struct bstack_device *lower[NR_LOWER];
	struct bstack_device *upper;
	char err[BSTACK_ERROR_LEN];

	/* What the redirected bstack_submit_clone() saw, in order. */
	unsigned int submitted;
	struct bio *clones[MAX_SEEN];
	struct block_device *bdevs[MAX_SEEN];
	blk_opf_t opfs[MAX_SEEN];
	sector_t sectors[MAX_SEEN];
	unsigned int sizes[MAX_SEEN];
	unsigned short vcnts[MAX_SEEN];
	bool hold;		/* keep the clones; else end them at once */

	/*
	 * The redirected bstack_cut() and bstack_alloc_clone(): fail the
	 * clone allocation number @fail_cut (from 1).
	 */
	unsigned int cuts;
	unsigned int fail_cut;
	gfp_t cut_gfp[MAX_SEEN];

	/* The original bio. */
	struct page *page;
	int ended;
	blk_status_t status;
	struct completion done;
};

static void fake_submit_clone(struct bio *clone)
{
	struct dev_ctx *ctx = kunit_get_current_test()->priv;
	unsigned int i = ctx->submitted++;

	if (i < MAX_SEEN) {
		/* Only a held clone is left for end_held() to end. */
		ctx->clones[i] = ctx->hold ? clone : NULL;
		ctx->bdevs[i] = clone->bi_bdev;
		ctx->opfs[i] = clone->bi_opf;
		ctx->sectors[i] = clone->bi_iter.bi_sector;
		ctx->sizes[i] = clone->bi_iter.bi_size;
		ctx->vcnts[i] = clone->bi_vcnt;
		if (ctx->hold)
			return;
	}
	bio_endio(clone);
}

/* Count a clone allocation; true if the test makes it fail. */
static bool fake_alloc_fails(gfp_t gfp)
{
	struct dev_ctx *ctx = kunit_get_current_test()->priv;
	unsigned int n = ++ctx->cuts;

	if (n <= MAX_SEEN)
		ctx->cut_gfp[n - 1] = gfp;
	return n == ctx->fail_cut;
}

static struct bio *fake_cut(struct bio *bio, unsigned int sectors, gfp_t gfp,
			    struct bio_set *bs)
{
	struct bio *split;

	if (fake_alloc_fails(gfp))
		return NULL;
	/* What bstack_cut() does. */
	if (sectors == bio_sectors(bio))
		return bio_alloc_clone(NULL, bio, gfp, bs);
	split = bio_split(bio, sectors, gfp, bs);
	return IS_ERR(split) ? NULL : split;
}

static struct bio *fake_alloc_clone(struct block_device *bdev, struct bio *bio,
				    gfp_t gfp, struct bio_set *bs)
{
	if (fake_alloc_fails(gfp))
		return NULL;
	return bio_alloc_clone(bdev, bio, gfp, bs);
}

/* End the clones held so far, last first, each with @status. */
static void end_held(struct dev_ctx *ctx, blk_status_t status)
{
	unsigned int i = min_t(unsigned int, ctx->submitted, MAX_SEEN);

	while (i--) {
		if (!ctx->clones[i])
			continue;
		ctx->clones[i]->bi_status = status;
		bio_endio(ctx->clones[i]);
		ctx->clones[i] = NULL;
	}
}

/*
 * Load @text ("start length type args" lines) into @bd and make it live.
 * Returns 0, or the refusal with its reason in ctx->err.
 */
static int load(struct kunit *test, struct bstack_device *bd, const char *text)
{
	struct dev_ctx *ctx = test->priv;
	char *copy, *pos, *line, type[32];
	unsigned long long start, len;
	struct bstack_table *t;
	unsigned int nr = 0;
	int r = 0, n;

	copy = kunit_kstrdup(test, text, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, copy);
	ctx->err[0] = '\0';
	t = bstack_table_alloc(bd, 16, BLK_OPEN_READ | BLK_OPEN_WRITE,
			       ctx->err);
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	pos = copy;
	while ((line = strsep(&pos, "\n")) && !r) {
		if (!*line)
			continue;
		if (sscanf(line, "%llu %llu %31s %n", &start, &len, type,
			   &n) != 3) {
			KUNIT_FAIL(test, "cannot parse the test's line '%s'",
				   line);
			r = -EINVAL;
			break;
		}
		r = bstack_table_add_target(t, type, start, len, line + n,
					    ++nr);
	}
	if (!r)
		r = bstack_table_complete(t);
	if (r) {
		bstack_table_destroy(t);
		return r;
	}
	mutex_lock(&bd->ctl_lock);
	r = bstack_device_load(bd, t, ctx->err);
	if (r)
		bstack_table_destroy(t);
	else
		r = bstack_device_resume(bd, 0, ctx->err);
	mutex_unlock(&bd->ctl_lock);
	return r;
}

/* A string that lives as long as the test. */
static __printf(2, 3) char *tprintf(struct kunit *test, const char *fmt, ...)
{
	char *buf = kunit_kzalloc(test, 512, GFP_KERNEL);
	va_list ap;
	int n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	va_start(ap, fmt);
	n = vsnprintf(buf, 512, fmt, ap);
	va_end(ap);
	KUNIT_ASSERT_LT(test, n, 512);
	return buf;
}

/* "MAJ:MIN" of lower device @i, for tables. */
static const char *ldev(struct kunit *test, unsigned int i)
{
	struct dev_ctx *ctx = test->priv;
	dev_t dev = disk_devt(ctx->lower[i]->disk);

	return tprintf(test, "%u:%u", MAJOR(dev), MINOR(dev));
}

static struct bstack_device *make_device(struct kunit *test, const char *name)
{
	struct dev_ctx *ctx = test->priv;
	struct bstack_device *bd;
	int r;

	r = bstack_device_create(name, "", false, &bd, ctx->err);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "creating %s: %s", name, ctx->err);
	/* The test keeps the reference create gave, until remove_device(). */
	mutex_unlock(&bd->ctl_lock);
	return bd;
}

static void remove_device(struct kunit *test, struct bstack_device *bd)
{
	struct dev_ctx *ctx = test->priv;
	int r;

	if (!bd)
		return;
	mutex_lock(&bd->ctl_lock);
	r = bstack_device_remove(bd, 0, ctx->err);
	mutex_unlock(&bd->ctl_lock);
	KUNIT_EXPECT_EQ_MSG(test, r, 0, "removing: %s", ctx->err);
	bstack_device_put(bd);
}

/*
 * Give lower device @i a write cache, discard and secure erase, as the
 * disks under it would have, so that the block layer lets them through.
 */
static void set_lower_features(struct kunit *test, unsigned int i)
{
	struct dev_ctx *ctx = test->priv;
	struct request_queue *q = ctx->lower[i]->disk->queue;
	struct queue_limits lim = queue_limits_start_update(q);

	lim.features |= BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA;
	lim.max_hw_discard_sectors = 1 << 20;
	lim.discard_granularity = SECTOR_SIZE;
	lim.max_secure_erase_sectors = 1 << 20;
	KUNIT_ASSERT_EQ(test, queue_limits_commit_update(q, &lim), 0);
}

static int dev_init(struct kunit *test)
{
	static const char * const names[NR_LOWER] = {
		"kunit-lower0", "kunit-lower1", "kunit-lower2",
	};
	struct dev_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	init_completion(&ctx->done);
	ctx->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	KUNIT_ASSERT_NOT_NULL(test, ctx->page);
	for (i = 0; i < NR_LOWER; i++) {
		ctx->lower[i] = make_device(test, names[i]);
		KUNIT_ASSERT_EQ_MSG(test, load(test, ctx->lower[i],
					       "0 8192 zero"), 0,
				    "%s", ctx->err);
		set_lower_features(test, i);
	}
	ctx->upper = make_device(test, "kunit-upper");
	return 0;
}

static void dev_exit(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	unsigned int i;

	/* Nothing may still be held: end it rather than leak it. */
	end_held(ctx, BLK_STS_IOERR);
	remove_device(test, ctx->upper);
	for (i = 0; i < NR_LOWER; i++)
		remove_device(test, ctx->lower[i]);
	if (ctx->page)
		__free_page(ctx->page);
}

/*
 * Three lower devices under five lines: lower0 twice, lower1 by a linear
 * line and as a stripe, lower2 as the other stripe.
 */
static void load_mixed(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	const char *text;

	text = tprintf(test,
		       "0 1024 linear %s 0\n"
		       "1024 1024 linear %s 0\n"
		       "2048 1024 linear %s 1024\n"
		       "3072 2048 striped 2 8 %s 1024 %s 0\n"
		       "5120 64 zero\n",
		       ldev(test, 0), ldev(test, 1), ldev(test, 0),
		       ldev(test, 1), ldev(test, 2));
	KUNIT_ASSERT_EQ_MSG(test, load(test, ctx->upper, text), 0, "%s",
			    ctx->err);
}

static void orig_endio(struct bio *bio)
{
	struct dev_ctx *ctx = bio->bi_private;

	ctx->ended++;
	ctx->status = bio->bi_status;
	complete(&ctx->done);
}

/* A bio for the upper device: @sectors of data (0 for none) at @sector. */
static struct bio *orig_bio(struct kunit *test, blk_opf_t opf,
			    sector_t sector, unsigned int sectors)
{
	struct dev_ctx *ctx = test->priv;
	struct bio *bio;

	bio = bio_alloc(ctx->upper->disk->part0, 1, opf, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bio);
	if (sectors)
		__bio_add_page(bio, ctx->page, sectors << SECTOR_SHIFT, 0);
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = orig_endio;
	bio->bi_private = ctx;
	return bio;
}

static unsigned long writes_of(struct dev_ctx *ctx, unsigned int i)
{
	return part_stat_read(ctx->lower[i]->disk->part0, ios[STAT_WRITE]);
}

/*
 * An empty flush goes to each distinct lower device exactly once, and the
 * original ends after the last of them, once.
 */
static void flush_fans_out(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	unsigned int i, j, seen[NR_LOWER] = { };
	struct bio *bio;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	ctx->hold = true;
	bio = orig_bio(test, REQ_OP_WRITE | REQ_PREFLUSH, 0, 0);
	submit_bio(bio);

	KUNIT_ASSERT_EQ(test, ctx->submitted, NR_LOWER);
	for (i = 0; i < NR_LOWER; i++) {
		KUNIT_EXPECT_EQ(test, bio_op(ctx->clones[i]), REQ_OP_WRITE);
		KUNIT_EXPECT_TRUE(test, ctx->opfs[i] & REQ_PREFLUSH);
		KUNIT_EXPECT_EQ(test, ctx->sizes[i], 0);
		for (j = 0; j < NR_LOWER; j++)
			if (ctx->bdevs[i] == ctx->lower[j]->disk->part0)
				seen[j]++;
	}
	for (j = 0; j < NR_LOWER; j++)
		KUNIT_EXPECT_EQ_MSG(test, seen[j], 1, "flushes sent to lower%u",
				    j);
	KUNIT_EXPECT_EQ(test, ctx->ended, 0);
	end_held(ctx, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_OK);
	/* An error from one device's flush is the original's error. */
	ctx->ended = 0;
	bio_reset(bio, ctx->upper->disk->part0, REQ_OP_WRITE | REQ_PREFLUSH);
	bio->bi_end_io = orig_endio;
	bio->bi_private = ctx;
	ctx->submitted = 0;
	submit_bio(bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, NR_LOWER);
	ctx->clones[1]->bi_status = BLK_STS_IOERR;
	bio_endio(ctx->clones[1]);
	ctx->clones[1] = NULL;
	end_held(ctx, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_IOERR);
	bio_put(bio);
}

/*
 * A flush with data: the flushes first, and the write only once they are
 * all in, to the one lower device that maps its sectors.
 */
static void flush_then_write(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	unsigned long before[NR_LOWER];
	unsigned int i;
	struct bio *bio;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	ctx->hold = true;
	for (i = 0; i < NR_LOWER; i++)
		before[i] = writes_of(ctx, i);
	/* Sectors 1030..1037: lower1 through the second line. */
	bio = orig_bio(test, REQ_OP_WRITE | REQ_PREFLUSH, 1030, 8);
	submit_bio(bio);

	KUNIT_ASSERT_EQ(test, ctx->submitted, NR_LOWER);
	for (i = 0; i < NR_LOWER; i++)
		KUNIT_EXPECT_EQ(test, ctx->sizes[i], 0);
	msleep(20);
	KUNIT_EXPECT_EQ(test, writes_of(ctx, 1), before[1]);
	end_held(ctx, BLK_STS_OK);
	/*
	 * The write goes down from bstack's worker, outside this test's
	 * thread, so it takes the real path to lower1.
	 */
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ctx->done, 10 * HZ));
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, writes_of(ctx, 0), before[0]);
	KUNIT_EXPECT_EQ(test, writes_of(ctx, 1), before[1] + 1);
	KUNIT_EXPECT_EQ(test, writes_of(ctx, 2), before[2]);
	bio_put(bio);
}

/* FUA stays on every piece of a write that is split, and on nothing else. */
static void fua_kept(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	struct bio *bio;
	unsigned int i;

	load_mixed(test);
	KUNIT_ASSERT_TRUE(test, bdev_fua(ctx->upper->disk->part0));
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	/* 1020..1027: lower0 (line 1), then lower1 (line 2). */
	bio = orig_bio(test, REQ_OP_WRITE | REQ_FUA, 1020, 8);
	submit_bio(bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, 2);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_TRUE_MSG(test, ctx->opfs[i] & REQ_FUA, "clone %u", i);
		KUNIT_EXPECT_FALSE_MSG(test, ctx->opfs[i] & REQ_PREFLUSH,
				       "clone %u", i);
	}
	KUNIT_EXPECT_PTR_EQ(test, ctx->bdevs[0], ctx->lower[0]->disk->part0);
	KUNIT_EXPECT_PTR_EQ(test, ctx->bdevs[1], ctx->lower[1]->disk->part0);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_OK);
	bio_put(bio);
}

/*
 * An atomic write is never split: one that would cross a line, or a chunk
 * of a striped line, ends with BLK_STS_INVAL and sends nothing down; one
 * inside a line goes down whole, still atomic. The block layer checks
 * REQ_ATOMIC against the upper device's limits in submit_bio(), and the
 * device has none here, so the bios go straight to bstack's submit_bio.
 */
static void atomic_never_split(struct kunit *test)
{
	static const struct {
		sector_t sector;
		unsigned int sectors;
		blk_status_t status;
	} cases[] = {
		{ 1020, 8, BLK_STS_INVAL },	/* lines 1 and 2 */
		{ 3076, 8, BLK_STS_INVAL },	/* two chunks of line 4 */
		{ 3080, 8, BLK_STS_OK },	/* one chunk */
		{ 1024, 8, BLK_STS_OK },	/* the start of line 2 */
	};
	struct dev_ctx *ctx = test->priv;
	unsigned int i, before;
	struct bio *bio;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		before = ctx->submitted;
		ctx->ended = 0;
		bio = orig_bio(test, REQ_OP_WRITE | REQ_ATOMIC,
			       cases[i].sector, cases[i].sectors);
		ctx->upper->disk->fops->submit_bio(bio);
		KUNIT_EXPECT_EQ_MSG(test, ctx->ended, 1, "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->status, cases[i].status,
				    "case %u", i);
		if (cases[i].status) {
			KUNIT_EXPECT_EQ_MSG(test, ctx->submitted, before,
					    "case %u", i);
		} else {
			KUNIT_ASSERT_EQ_MSG(test, ctx->submitted, before + 1,
					    "case %u", i);
			KUNIT_EXPECT_TRUE_MSG(test, ctx->opfs[before] & REQ_ATOMIC,
					      "case %u", i);
			KUNIT_EXPECT_EQ_MSG(test, ctx->sizes[before],
					    cases[i].sectors << SECTOR_SHIFT,
					    "case %u", i);
		}
		bio_put(bio);
	}
}

struct nowait_case {
	const char *desc;
	blk_opf_t opf;
	sector_t sector;
	unsigned int sectors;
	unsigned int fail_cut;		/* which clone allocation fails */
	unsigned int cuts;		/* clone allocations expected */
	unsigned int submitted;		/* clones expected to go down */
	blk_status_t status;
	blk_status_t lower;		/* how the clones that go down end */
};

/* Wait for the original bio to end: the worker may finish it. */
static void wait_ended(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;

	KUNIT_ASSERT_TRUE_MSG(test,
			      wait_for_completion_timeout(&ctx->done, 10 * HZ),
			      "the bio did not end within 10 s");
}

static const struct nowait_case nowait_cases[] = {
	{ "fits, pool has room", REQ_OP_READ | REQ_NOWAIT, 10, 8,
	  0, 1, 1, BLK_STS_OK },
	{ "fits, pool would block", REQ_OP_READ | REQ_NOWAIT, 10, 8,
	  1, 1, 0, BLK_STS_AGAIN },
	{ "split, first piece would block", REQ_OP_WRITE | REQ_NOWAIT,
	  1020, 8, 1, 1, 0, BLK_STS_AGAIN },
	/* The first piece is on its way: the worker sends the second. */
	{ "split, second piece would block", REQ_OP_WRITE | REQ_NOWAIT,
	  1020, 8, 2, 2, 1, BLK_STS_OK },
	{ "split over a stripe chunk, pool has room",
	  REQ_OP_READ | REQ_NOWAIT, 3076, 8, 0, 2, 2, BLK_STS_OK },
	{ "flush", REQ_OP_WRITE | REQ_PREFLUSH | REQ_NOWAIT, 0, 0,
	  0, 0, 0, BLK_STS_AGAIN },
	{ "blocking split, for contrast", REQ_OP_WRITE, 1020, 8,
	  0, 2, 2, BLK_STS_OK },
	/*
	 * The test's thread is a kernel thread, not a submitter that would
	 * retry: bstack's worker sends the piece again, and it goes through.
	 */
	{ "fits, the lower device says AGAIN", REQ_OP_READ | REQ_NOWAIT, 10, 8,
	  0, 1, 1, BLK_STS_OK, BLK_STS_AGAIN },
};

KUNIT_ARRAY_PARAM_DESC(nowait, nowait_cases, desc);

/*
 * REQ_NOWAIT: every clone allocation the submitter makes may not block.
 * When one cannot be had for the first piece, the bio ends with AGAIN at
 * once, nothing sent; when one cannot be had for a later piece, the rest
 * goes down from bstack's worker, and the bio ends once, with the status
 * of its pieces, never AGAIN after a piece went down. What goes down from
 * the submitter keeps REQ_NOWAIT.
 */
static void nowait_io(struct kunit *test)
{
	const struct nowait_case *c = test->param_value;
	struct dev_ctx *ctx = test->priv;
	bool nowait = c->opf & REQ_NOWAIT;
	struct bstack_stats sum;
	unsigned int i, events;
	struct bio *bio;

	load_mixed(test);
	events = atomic_read(&ctx->upper->event_nr);
	KUNIT_ASSERT_TRUE(test, bdev_nowait(ctx->upper->disk->part0));
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	kunit_activate_static_stub(test, bstack_cut, fake_cut);
	ctx->hold = true;
	ctx->fail_cut = c->fail_cut;
	bio = orig_bio(test, c->opf, c->sector, c->sectors);
	submit_bio(bio);

	KUNIT_EXPECT_EQ(test, ctx->cuts, c->cuts);
	KUNIT_EXPECT_EQ(test, ctx->submitted, c->submitted);
	for (i = 0; i < min_t(unsigned int, ctx->cuts, MAX_SEEN); i++)
		KUNIT_EXPECT_EQ_MSG(test, gfpflags_allow_blocking(ctx->cut_gfp[i]),
				    !nowait, "clone allocation %u", i + 1);
	for (i = 0; i < min_t(unsigned int, ctx->submitted, MAX_SEEN); i++)
		KUNIT_EXPECT_EQ_MSG(test, !!(ctx->opfs[i] & REQ_NOWAIT), nowait,
				    "clone %u", i);
	/* Nothing ends before the clones already sent are in. */
	if (c->submitted)
		KUNIT_EXPECT_EQ(test, ctx->ended, 0);
	end_held(ctx, c->lower);
	wait_ended(test);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, c->status);
	/* AGAIN is no I/O error: no error counted, no event. */
	bstack_device_stats(ctx->upper, &sum);
	KUNIT_EXPECT_EQ(test, sum.errors, 0);
	KUNIT_EXPECT_EQ(test, sum.in_flight, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->upper->event_nr), events);
	bio_put(bio);
}

struct range_clone {
	unsigned int lower;
	sector_t sector;
	unsigned int sectors;
};

struct range_case {
	const char *desc;
	enum req_op op;
	sector_t sector;
	unsigned int sectors;
	unsigned int nr;		/* clones that go down */
	struct range_clone clones[3];	/* in the order they go down */
};

/*
 * Over load_mixed()'s table. Its striped line maps 3072..5119, 2 stripes
 * of 8 sectors: lower1 from 1024 and lower2 from 0. 3077+100 is target
 * offsets 5..104: chunk 0 from its 6th sector (stripe 0), chunks 1..12,
 * and the first sector of chunk 13 (stripe 1, row 6), so stripe 0 gets
 * 5..55 and stripe 1 gets 0..48.
 */
static const struct range_case range_cases[] = {
	{ "discard over 14 chunks", REQ_OP_DISCARD, 3077, 100, 2,
	  { { 1, 1024 + 5, 51 }, { 2, 0, 49 } } },
	{ "write-zeroes over 14 chunks", REQ_OP_WRITE_ZEROES, 3077, 100, 2,
	  { { 1, 1024 + 5, 51 }, { 2, 0, 49 } } },
	{ "secure erase over 14 chunks", REQ_OP_SECURE_ERASE, 3077, 100, 2,
	  { { 1, 1024 + 5, 51 }, { 2, 0, 49 } } },
	/* linear lower0 from 1024 + (3000 - 2048), then 16 whole chunks. */
	{ "discard over linear and striped", REQ_OP_DISCARD, 3000, 200, 3,
	  { { 0, 1976, 72 }, { 1, 1024, 64 }, { 2, 0, 64 } } },
	/* Inside one chunk: one clone, the ordinary way. */
	{ "discard inside a chunk", REQ_OP_DISCARD, 3082, 5, 1,
	  { { 2, 2, 5 } } },
	/* Three chunks from row 1: stripe 1, stripe 0, stripe 1. */
	{ "discard over 3 chunks", REQ_OP_DISCARD, 3096, 24, 2,
	  { { 1, 1024 + 16, 8 }, { 2, 8, 16 } } },
};

KUNIT_ARRAY_PARAM_DESC(range, range_cases, desc);

/*
 * A DISCARD or WRITE_ZEROES that crosses chunks of a striped line goes
 * down as one clone per stripe, each covering that stripe's whole share,
 * as dm-stripe sends it; not as one clone per chunk.
 */
static void range_per_stripe(struct kunit *test)
{
	const struct range_case *c = test->param_value;
	struct dev_ctx *ctx = test->priv;
	struct bio *bio;
	unsigned int i;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	ctx->hold = true;
	bio = bio_alloc(ctx->upper->disk->part0, 0, c->op, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bio);
	bio->bi_iter.bi_sector = c->sector;
	bio->bi_iter.bi_size = c->sectors << SECTOR_SHIFT;
	bio->bi_end_io = orig_endio;
	bio->bi_private = ctx;
	submit_bio(bio);

	KUNIT_ASSERT_EQ(test, ctx->submitted, c->nr);
	for (i = 0; i < c->nr; i++) {
		const struct range_clone *w = &c->clones[i];

		KUNIT_EXPECT_EQ_MSG(test, bio_op(ctx->clones[i]), c->op,
				    "clone %u", i);
		KUNIT_EXPECT_PTR_EQ_MSG(test, ctx->bdevs[i],
					ctx->lower[w->lower]->disk->part0,
					"clone %u", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->sectors[i], w->sector,
				    "clone %u", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->sizes[i],
				    w->sectors << SECTOR_SHIFT, "clone %u", i);
	}
	KUNIT_EXPECT_EQ(test, ctx->ended, 0);
	end_held(ctx, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, ctx->ended, 1);
	KUNIT_EXPECT_EQ(test, ctx->status, BLK_STS_OK);
	bio_put(bio);
}

static int suspend(struct kunit *test, unsigned long timeout)
{
	struct dev_ctx *ctx = test->priv;
	int r;

	mutex_lock(&ctx->upper->ctl_lock);
	r = bstack_device_suspend(ctx->upper, 0, timeout, ctx->err);
	mutex_unlock(&ctx->upper->ctl_lock);
	return r;
}

static int resume(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	int r;

	mutex_lock(&ctx->upper->ctl_lock);
	r = bstack_device_resume(ctx->upper, 0, ctx->err);
	mutex_unlock(&ctx->upper->ctl_lock);
	return r;
}

/*
 * A bio that needs no split costs one allocation: the clone, with the io
 * in its front_pad, from the device's bio_set. Every allocation the I/O
 * path makes goes through bstack_cut() or bstack_alloc_clone(), which
 * the test counts (the faulty target's delays and corruptions aside).
 */
static void one_allocation_per_bio(struct kunit *test)
{
	static const struct {
		sector_t sector;
		unsigned int sectors;
	} bios[] = {
		{ 10, 8 },	/* inside line 1 */
		{ 2048, 8 },	/* the start of line 3 */
		{ 3072, 8 },	/* one stripe chunk */
		{ 3088, 4 },	/* inside another */
	};
	struct dev_ctx *ctx = test->priv;
	struct bio *bio;
	unsigned int i;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	kunit_activate_static_stub(test, bstack_cut, fake_cut);
	kunit_activate_static_stub(test, bstack_alloc_clone, fake_alloc_clone);
	for (i = 0; i < ARRAY_SIZE(bios); i++) {
		ctx->cuts = 0;
		ctx->submitted = 0;
		ctx->ended = 0;
		bio = orig_bio(test, REQ_OP_READ, bios[i].sector,
			       bios[i].sectors);
		submit_bio(bio);
		KUNIT_EXPECT_EQ_MSG(test, ctx->cuts, 1, "bio %u", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->submitted, 1, "bio %u", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->ended, 1, "bio %u", i);
		KUNIT_EXPECT_EQ_MSG(test, ctx->status, BLK_STS_OK, "bio %u", i);
		bio_put(bio);
	}
}

/*
 * A clone of a bio with one segment says it has one (bi_vcnt), so that
 * blk-mq below takes it without walking it (bio_may_need_split()). The
 * pieces of such a bio, split at a line, lie in that segment too. A clone
 * of a bio with two segments leaves bi_vcnt at 0, for blk-mq to count.
 */
static void clone_segments(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	struct bio *bio;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);

	bio = orig_bio(test, REQ_OP_READ, 10, 8);
	submit_bio(bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, 1);
	KUNIT_EXPECT_EQ(test, ctx->vcnts[0], 1);
	bio_put(bio);

	/* Line 1 ends at 1024. */
	ctx->submitted = 0;
	bio = orig_bio(test, REQ_OP_READ, 1020, 8);
	submit_bio(bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, 2);
	KUNIT_EXPECT_EQ(test, ctx->vcnts[0], 1);
	KUNIT_EXPECT_EQ(test, ctx->vcnts[1], 1);
	bio_put(bio);

	/* 4 sectors, then a second segment of 4 more. */
	ctx->submitted = 0;
	bio = orig_bio(test, REQ_OP_READ, 10, 4);
	KUNIT_ASSERT_GE(test, bio->bi_max_vecs, 2);
	__bio_add_page(bio, ctx->page, 2048, 2048);
	KUNIT_ASSERT_EQ(test, bio->bi_vcnt, 2);
	submit_bio(bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, 1);
	KUNIT_EXPECT_EQ(test, ctx->sizes[0], 4096);
	KUNIT_EXPECT_EQ(test, ctx->vcnts[0], 0);
	bio_put(bio);
}

struct alloc_fail_case {
	const char *desc;
	enum req_op op;
	sector_t sector;
	unsigned int sectors;
	unsigned int allocs;		/* clone allocations the submitter makes */
};

/*
 * Over load_mixed()'s table: 2048..3071 is linear, 3072..5119 striped in
 * 8-sector chunks.
 */
static const struct alloc_fail_case alloc_fail_cases[] = {
	{ "write over two lines", REQ_OP_WRITE, 1020, 8, 2 },
	/* 6 sectors of line 3, chunks at 3072, 3080 and 3088, then 2. */
	{ "read over two lines and four chunks", REQ_OP_READ, 3066, 32, 5 },
	/*
	 * Line 3's piece; the striped piece, one clone per stripe, goes
	 * down from the worker.
	 */
	{ "discard over linear and striped", REQ_OP_DISCARD, 3000, 200, 1 },
	/* Three linear pieces; the striped piece from the worker. */
	{ "write-zeroes over four lines", REQ_OP_WRITE_ZEROES, 1000, 2200, 3 },
};

KUNIT_ARRAY_PARAM_DESC(alloc_fail, alloc_fail_cases, desc);

/*
 * Every clone allocation a REQ_NOWAIT bio takes in its submitter is made
 * to fail in turn, one per run of the same bio, then none. Each run ends
 * the bio exactly once, after the clones already sent are in: with AGAIN,
 * nothing sent, if the first allocation failed; else the clones already
 * sent are the allocations before the failed one, the worker sends the
 * rest, and the bio ends OK. Nothing stays in flight and no error is
 * counted. At the end the device suspends at once: no io kept its table
 * reference. KASAN and kmemleak see any clone ended twice or never freed.
 *
 * A bio that may block never sees a failed allocation: its clones come
 * from the bio_set's mempool, which waits for one to come back. That is
 * what the memory-pressure integration test (024) shows.
 */
static void alloc_fails_one_at_a_time(struct kunit *test)
{
	const struct alloc_fail_case *c = test->param_value;
	struct dev_ctx *ctx = test->priv;
	unsigned int fail, i, nr_vecs;
	struct bstack_stats sum;
	struct bio *bio;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	kunit_activate_static_stub(test, bstack_cut, fake_cut);
	kunit_activate_static_stub(test, bstack_alloc_clone, fake_alloc_clone);
	ctx->hold = true;
	for (fail = 1; fail <= c->allocs + 1; fail++) {
		bool failed = fail <= c->allocs;

		ctx->cuts = 0;
		ctx->fail_cut = fail;
		ctx->submitted = 0;
		ctx->ended = 0;
		ctx->status = BLK_STS_OK;
		nr_vecs = c->op == REQ_OP_READ || c->op == REQ_OP_WRITE ?
			  DIV_ROUND_UP(c->sectors, PAGE_SECTORS) : 0;
		bio = bio_alloc(ctx->upper->disk->part0, nr_vecs,
				c->op | REQ_NOWAIT, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, bio);
		for (i = 0; i < nr_vecs; i++)
			__bio_add_page(bio, ctx->page,
				       min_t(unsigned int, PAGE_SIZE,
					     (c->sectors << SECTOR_SHIFT) -
					     i * PAGE_SIZE), 0);
		if (!nr_vecs)
			bio->bi_iter.bi_size = c->sectors << SECTOR_SHIFT;
		bio->bi_iter.bi_sector = c->sector;
		bio->bi_end_io = orig_endio;
		bio->bi_private = ctx;
		submit_bio(bio);

		KUNIT_EXPECT_EQ_MSG(test, ctx->cuts, failed ? fail : c->allocs,
				    "failing allocation %u", fail);
		KUNIT_EXPECT_EQ_MSG(test, ctx->submitted,
				    failed ? fail - 1 : c->allocs,
				    "failing allocation %u", fail);
		/* Held clones keep it from ending; with none, it has ended. */
		KUNIT_EXPECT_EQ_MSG(test, ctx->ended, ctx->submitted ? 0 : 1,
				    "failing allocation %u", fail);
		end_held(ctx, BLK_STS_OK);
		wait_ended(test);
		KUNIT_EXPECT_EQ_MSG(test, ctx->ended, 1,
				    "failing allocation %u", fail);
		KUNIT_EXPECT_EQ_MSG(test, ctx->status,
				    fail == 1 ? BLK_STS_AGAIN : BLK_STS_OK,
				    "failing allocation %u", fail);
		bstack_device_stats(ctx->upper, &sum);
		KUNIT_EXPECT_EQ(test, sum.in_flight, 0);
		KUNIT_EXPECT_EQ(test, sum.errors, 0);
		bio_put(bio);
	}
	KUNIT_EXPECT_EQ_MSG(test, suspend(test, HZ), 0, "%s", ctx->err);
	KUNIT_EXPECT_EQ_MSG(test, resume(test), 0, "%s", ctx->err);
}

/*
 * A table that would make a device map itself through bstack devices is
 * refused: lower0 over upper, which maps lower0; and lower2 over upper
 * once lower1 maps lower2, a cycle of three. The device keeps its tables.
 */
static void cycle_refused(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	dev_t up = disk_devt(ctx->upper->disk);
	struct bstack_table *live;
	const char *over_upper;

	load_mixed(test);
	over_upper = tprintf(test, "0 1024 linear %u:%u 0", MAJOR(up),
			     MINOR(up));
	KUNIT_EXPECT_EQ(test, load(test, ctx->lower[0], over_upper), -EINVAL);
	KUNIT_EXPECT_STREQ(test, ctx->err,
			   tprintf(test, "kunit-upper (%u:%u) maps kunit-lower0 already: this table would make a cycle",
				   MAJOR(up), MINOR(up)));

	/* Not a cycle: upper -> lower1 -> lower2. */
	KUNIT_ASSERT_EQ_MSG(test, load(test, ctx->lower[1],
				       tprintf(test, "0 8192 linear %s 0",
					       ldev(test, 2))), 0,
			    "%s", ctx->err);
	mutex_lock(&ctx->lower[2]->ctl_lock);
	live = bstack_device_table(ctx->lower[2], false);
	mutex_unlock(&ctx->lower[2]->ctl_lock);
	KUNIT_EXPECT_EQ(test, load(test, ctx->lower[2], over_upper), -EINVAL);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(ctx->err, "maps kunit-lower2 already"),
				  "%s", ctx->err);
	mutex_lock(&ctx->lower[2]->ctl_lock);
	KUNIT_EXPECT_PTR_EQ(test, bstack_device_table(ctx->lower[2], false), live);
	KUNIT_EXPECT_NULL(test, bstack_device_table(ctx->lower[2], true));
	mutex_unlock(&ctx->lower[2]->ctl_lock);
}

/* A second bio, with its own end_io bookkeeping. */
struct held_bio {
	struct bio *bio;
	int ended;
	blk_status_t status;
	struct completion done;
};

static void held_endio(struct bio *bio)
{
	struct held_bio *h = bio->bi_private;

	h->ended++;
	h->status = bio->bi_status;
	complete(&h->done);
}

static void held_init(struct kunit *test, struct held_bio *h, blk_opf_t opf,
		      sector_t sector)
{
	struct dev_ctx *ctx = test->priv;

	h->bio = bio_alloc(ctx->upper->disk->part0, 1, opf, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, h->bio);
	__bio_add_page(h->bio, ctx->page, 8 << SECTOR_SHIFT, 0);
	h->bio->bi_iter.bi_sector = sector;
	h->bio->bi_end_io = held_endio;
	h->bio->bi_private = h;
	h->ended = 0;
	init_completion(&h->done);
}

/*
 * Suspend waits for the bios in flight: with one held below, it times out
 * and leaves the device running; once that one is in, it succeeds. Then a
 * new bio is held, a NOWAIT one ends with AGAIN at once, and the held bio
 * goes down on the new table at resume.
 */
static void suspend_holds_bios(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	struct held_bio a, b, c;
	unsigned int events;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	ctx->hold = true;
	held_init(test, &a, REQ_OP_READ, 10);
	submit_bio(a.bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, 1);

	/* A is in flight: the suspend cannot drain it. */
	KUNIT_EXPECT_EQ(test, suspend(test, msecs_to_jiffies(50)), -ETIMEDOUT);
	KUNIT_EXPECT_NOT_NULL(test, strstr(ctx->err, "timed out"));
	KUNIT_EXPECT_FALSE(test, ctx->upper->suspended);
	/* ...and the device still takes bios. */
	held_init(test, &b, REQ_OP_READ, 20);
	submit_bio(b.bio);
	KUNIT_EXPECT_EQ(test, ctx->submitted, 2);
	end_held(ctx, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, a.ended, 1);
	KUNIT_EXPECT_EQ(test, b.ended, 1);

	events = atomic_read(&ctx->upper->event_nr);
	KUNIT_ASSERT_EQ_MSG(test, suspend(test, 0), 0, "%s", ctx->err);
	KUNIT_EXPECT_TRUE(test, ctx->upper->suspended);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->upper->event_nr), events + 1);
	bio_put(b.bio);
	held_init(test, &b, REQ_OP_READ, 1030);
	submit_bio(b.bio);
	held_init(test, &c, REQ_OP_READ | REQ_NOWAIT, 40);
	submit_bio(c.bio);
	KUNIT_EXPECT_EQ(test, ctx->submitted, 2);	/* nothing went down */
	KUNIT_EXPECT_EQ(test, b.ended, 0);
	KUNIT_EXPECT_EQ(test, c.ended, 1);
	KUNIT_EXPECT_EQ(test, c.status, BLK_STS_AGAIN);

	/*
	 * A new table: B goes down on it from bstack's worker, outside
	 * this thread, so it reaches the real lower device.
	 */
	KUNIT_ASSERT_EQ_MSG(test,
			    load(test, ctx->upper,
				 tprintf(test, "0 2048 linear %s 0\n",
					 ldev(test, 2))), 0, "%s", ctx->err);
	KUNIT_EXPECT_FALSE(test, ctx->upper->suspended);
	KUNIT_EXPECT_EQ(test, get_capacity(ctx->upper->disk), 2048);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&b.done, 10 * HZ));
	KUNIT_EXPECT_EQ(test, b.ended, 1);
	KUNIT_EXPECT_EQ(test, b.status, BLK_STS_OK);
	bio_put(a.bio);
	bio_put(b.bio);
	bio_put(c.bio);
}

/*
 * create -> load -> resume -> suspend -> reload -> resume -> remove, with
 * the state each step leaves, as LIST and STATUS report it.
 */
static void state_machine(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	struct bstack_device *bd = ctx->upper;
	struct bstack_table *t;
	unsigned int events = atomic_read(&bd->event_nr);

	/* Created with no table. */
	mutex_lock(&bstack_devices_lock);
	KUNIT_EXPECT_NULL(test, bstack_device_table(bd, false));
	KUNIT_EXPECT_NULL(test, bstack_device_table(bd, true));
	mutex_unlock(&bstack_devices_lock);
	KUNIT_EXPECT_EQ(test, get_capacity(bd->disk), 0);
	KUNIT_EXPECT_FALSE(test, bd->suspended);

	/* A resume with nothing loaded does nothing. */
	KUNIT_EXPECT_EQ(test, resume(test), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&bd->event_nr), events);

	/* load + resume: live. */
	KUNIT_ASSERT_EQ_MSG(test, load(test, bd, tprintf(test, "0 1024 linear %s 0\n",
							 ldev(test, 0))),
			    0, "%s", ctx->err);
	mutex_lock(&bstack_devices_lock);
	t = bstack_device_table(bd, false);
	KUNIT_EXPECT_NOT_NULL(test, t);
	KUNIT_EXPECT_NULL(test, bstack_device_table(bd, true));
	mutex_unlock(&bstack_devices_lock);
	KUNIT_EXPECT_EQ(test, get_capacity(bd->disk), 1024);
	KUNIT_EXPECT_GT(test, atomic_read(&bd->event_nr), events);

	/* suspend: the same table, dead until resume. */
	KUNIT_ASSERT_EQ_MSG(test, suspend(test, 0), 0, "%s", ctx->err);
	KUNIT_EXPECT_TRUE(test, bd->suspended);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(t->dying) && bstack_table_drained(t));
	/* Suspending again is no error and changes nothing. */
	events = atomic_read(&bd->event_nr);
	KUNIT_EXPECT_EQ(test, suspend(test, 0), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&bd->event_nr), events);

	/* resume with nothing loaded: the same table, alive. */
	KUNIT_EXPECT_EQ(test, resume(test), 0);
	KUNIT_EXPECT_FALSE(test, bd->suspended);
	mutex_lock(&bstack_devices_lock);
	KUNIT_EXPECT_PTR_EQ(test, bstack_device_table(bd, false), t);
	mutex_unlock(&bstack_devices_lock);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(t->dying));
	KUNIT_EXPECT_GT(test, atomic_read(&bd->event_nr), events);

	/* suspend, reload (a table over another device), resume. */
	KUNIT_ASSERT_EQ(test, suspend(test, 0), 0);
	KUNIT_ASSERT_EQ_MSG(test, load(test, bd, tprintf(test, "0 4096 linear %s 8\n",
							 ldev(test, 1))),
			    0, "%s", ctx->err);
	KUNIT_EXPECT_FALSE(test, bd->suspended);
	KUNIT_EXPECT_EQ(test, get_capacity(bd->disk), 4096);
	mutex_lock(&bstack_devices_lock);
	KUNIT_EXPECT_PTR_NE(test, bstack_device_table(bd, false), t);
	mutex_unlock(&bstack_devices_lock);

	/* suspended, then removed: dev_exit removes it and must succeed. */
	KUNIT_ASSERT_EQ(test, suspend(test, 0), 0);
}

/*
 * A control call that looked the device up keeps it with a reference
 * while a removal that got its lock first takes it away: the call finds
 * @removing set, the name is free for a new device, and the last put
 * frees the old one (KASAN and kmemleak watch).
 */
static void removed_while_referenced(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	struct bstack_device *bd, *other;
	int r;

	bd = bstack_device_get("kunit-upper");
	KUNIT_ASSERT_PTR_EQ(test, bd, ctx->upper);
	/* The list's, the fixture's and ours. */
	KUNIT_EXPECT_EQ(test, kref_read(&bd->kref), 3);

	mutex_lock(&bd->ctl_lock);
	r = bstack_device_remove(bd, 0, ctx->err);
	mutex_unlock(&bd->ctl_lock);
	KUNIT_ASSERT_EQ_MSG(test, r, 0, "%s", ctx->err);
	ctx->upper = NULL;	/* dev_exit() must not remove it again */
	KUNIT_EXPECT_TRUE(test, bd->removing);
	KUNIT_EXPECT_EQ(test, kref_read(&bd->kref), 2);
	KUNIT_EXPECT_NULL(test, bstack_device_get("kunit-upper"));

	other = make_device(test, "kunit-upper");
	KUNIT_EXPECT_PTR_NE(test, other, bd);
	remove_device(test, other);

	bstack_device_put(bd);		/* ours */
	KUNIT_EXPECT_EQ(test, kref_read(&bd->kref), 1);
	bstack_device_put(bd);		/* the fixture's, the last */
}

struct swap_work {
	struct work_struct work;
	struct kunit *test;
	int r;
	struct completion done;
};

static void swap_fn(struct work_struct *work)
{
	struct swap_work *w = container_of(work, struct swap_work, work);
	struct dev_ctx *ctx = w->test->priv;

	mutex_lock(&ctx->upper->ctl_lock);
	w->r = bstack_device_resume(ctx->upper, 0, ctx->err);
	mutex_unlock(&ctx->upper->ctl_lock);
	complete(&w->done);
}

/*
 * A resume that swaps tables waits for the clones in flight on the old
 * one: the old table is neither gone nor replaced while one is out.
 */
static void swap_waits_for_clones(struct kunit *test)
{
	struct dev_ctx *ctx = test->priv;
	struct bstack_table *old, *new;
	struct swap_work w = { .test = test };
	struct held_bio a;

	load_mixed(test);
	kunit_activate_static_stub(test, bstack_submit_clone,
				   fake_submit_clone);
	ctx->hold = true;
	held_init(test, &a, REQ_OP_WRITE, 3076);	/* split over a chunk */
	submit_bio(a.bio);
	KUNIT_ASSERT_EQ(test, ctx->submitted, 2);

	/* Load without resuming, then resume from another thread. */
	new = bstack_table_alloc(ctx->upper, 1, BLK_OPEN_READ | BLK_OPEN_WRITE,
				 ctx->err);
	KUNIT_ASSERT_FALSE(test, IS_ERR(new));
	KUNIT_ASSERT_EQ(test, bstack_table_add_target(new, "zero", 0, 4096, "",
						      1), 0);
	KUNIT_ASSERT_EQ(test, bstack_table_complete(new), 0);
	mutex_lock(&ctx->upper->ctl_lock);
	old = bstack_device_table(ctx->upper, false);
	bstack_device_set_inactive(ctx->upper, new);
	mutex_unlock(&ctx->upper->ctl_lock);
	INIT_WORK_ONSTACK(&w.work, swap_fn);
	init_completion(&w.done);
	queue_work(system_unbound_wq, &w.work);

	KUNIT_EXPECT_FALSE(test, wait_for_completion_timeout(&w.done,
							     msecs_to_jiffies(200)));
	KUNIT_EXPECT_TRUE(test, READ_ONCE(ctx->upper->suspended));
	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(ctx->upper->live), old);
	KUNIT_EXPECT_EQ(test, a.ended, 0);
	/* The clones come in: the swap goes through. */
	end_held(ctx, BLK_STS_OK);
	KUNIT_EXPECT_EQ(test, a.ended, 1);
	KUNIT_EXPECT_EQ(test, a.status, BLK_STS_OK);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w.done, 10 * HZ));
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_EXPECT_EQ_MSG(test, w.r, 0, "%s", ctx->err);
	KUNIT_EXPECT_PTR_EQ(test, rcu_access_pointer(ctx->upper->live), new);
	KUNIT_EXPECT_FALSE(test, ctx->upper->suspended);
	KUNIT_EXPECT_EQ(test, get_capacity(ctx->upper->disk), 4096);
	bio_put(a.bio);
}

/*
 * Made-up limits on the lower devices, and what the upper device gets:
 * the strictest of every device any line uses, the striped line's io_min
 * and io_opt, NOWAIT and discard and secure erase only when every device
 * has them, and a refusal when a line would cut the larger logical block.
 */
struct fake_limits {
	unsigned int lbs, pbs;		/* logical and physical block */
	unsigned int max_sectors;
	unsigned short max_segments;
	unsigned int discard;		/* max sectors, 0 for none */
	unsigned int discard_granularity;
	unsigned int secure_erase;	/* max sectors, 0 for none */
	bool nowait;
};

static void set_limits(struct kunit *test, unsigned int i,
		       const struct fake_limits *f)
{
	struct dev_ctx *ctx = test->priv;
	struct request_queue *q = ctx->lower[i]->disk->queue;
	struct queue_limits lim = queue_limits_start_update(q);

	lim.logical_block_size = f->lbs;
	lim.physical_block_size = f->pbs;
	lim.io_min = f->pbs;
	lim.dma_alignment = f->lbs - 1;
	lim.max_hw_sectors = f->max_sectors;
	lim.max_user_sectors = 0;
	lim.max_segments = f->max_segments;
	lim.max_hw_discard_sectors = f->discard;
	lim.max_user_discard_sectors = UINT_MAX;
	lim.discard_granularity = f->discard_granularity;
	lim.max_secure_erase_sectors = f->secure_erase;
	if (f->nowait)
		lim.features |= BLK_FEAT_NOWAIT;
	else
		lim.features &= ~BLK_FEAT_NOWAIT;
	KUNIT_ASSERT_EQ(test, queue_limits_commit_update(q, &lim), 0);
}

static void limits_stacked(struct kunit *test)
{
	/* lower0: 512/4096, lower1: 4096/4096, lower2: 512/512. */
	static const struct fake_limits fake[NR_LOWER] = {
		{ 512, 4096, 256, 64, 2048, 4096, 1024, true },
		{ 4096, 4096, 1024, 32, 4096, 65536, 512, false },
		{ 512, 512, 128, 128, 0, 0, 0, true },
	};
	struct dev_ctx *ctx = test->priv;
	struct queue_limits *lim = &ctx->upper->disk->queue->limits;
	const char *text;
	unsigned int i;

	for (i = 0; i < NR_LOWER; i++)
		set_limits(test, i, &fake[i]);

	/* lower0 and lower2: no discard, no secure erase (lower2 has none). */
	text = tprintf(test, "0 1000 linear %s 0\n1000 1000 linear %s 8\n",
		       ldev(test, 0), ldev(test, 2));
	KUNIT_ASSERT_EQ_MSG(test, load(test, ctx->upper, text), 0, "%s",
			    ctx->err);
	KUNIT_EXPECT_EQ(test, lim->logical_block_size, 512);
	KUNIT_EXPECT_EQ(test, lim->physical_block_size, 4096);
	KUNIT_EXPECT_EQ(test, lim->max_hw_sectors, 128);
	KUNIT_EXPECT_EQ(test, lim->max_segments, 64);
	KUNIT_EXPECT_EQ(test, lim->dma_alignment, 511);
	KUNIT_EXPECT_EQ(test, lim->max_hw_discard_sectors, 0);
	KUNIT_EXPECT_EQ(test, lim->max_secure_erase_sectors, 0);
	KUNIT_EXPECT_TRUE(test, lim->features & BLK_FEAT_NOWAIT);
	KUNIT_EXPECT_TRUE(test, lim->features & BLK_FEAT_IO_STAT);

	/* A line ending inside one of lower1's 4096-byte blocks is refused. */
	text = tprintf(test, "0 1004 linear %s 0\n1004 1000 linear %s 8\n",
		       ldev(test, 0), ldev(test, 1));
	KUNIT_EXPECT_EQ(test, load(test, ctx->upper, text), -EINVAL);
	KUNIT_EXPECT_NOT_NULL(test, strstr(ctx->err, "multiples of 8 sectors"));
	/* The refused table changed nothing. */
	KUNIT_EXPECT_EQ(test, lim->logical_block_size, 512);
	KUNIT_EXPECT_EQ(test, get_capacity(ctx->upper->disk), 2000);

	/* lower0 linear + lower0/lower1 striped: 4096-byte blocks. */
	text = tprintf(test,
		       "0 1024 linear %s 0\n"
		       "1024 4096 striped 2 16 %s 2048 %s 8\n",
		       ldev(test, 0), ldev(test, 0), ldev(test, 1));
	KUNIT_ASSERT_EQ_MSG(test, load(test, ctx->upper, text), 0, "%s",
			    ctx->err);
	KUNIT_EXPECT_EQ(test, get_capacity(ctx->upper->disk), 5120);
	KUNIT_EXPECT_EQ(test, lim->logical_block_size, 4096);
	KUNIT_EXPECT_EQ(test, lim->physical_block_size, 4096);
	KUNIT_EXPECT_EQ(test, lim->max_hw_sectors, 256);
	KUNIT_EXPECT_EQ(test, lim->max_segments, 32);
	KUNIT_EXPECT_EQ(test, lim->dma_alignment, 4095);
	KUNIT_EXPECT_EQ(test, lim->io_min, 16 << SECTOR_SHIFT);
	KUNIT_EXPECT_EQ(test, lim->io_opt, 2 * 16 << SECTOR_SHIFT);
	KUNIT_EXPECT_EQ(test, lim->max_hw_discard_sectors, 2048);
	KUNIT_EXPECT_EQ(test, lim->discard_granularity, 65536);
	KUNIT_EXPECT_EQ(test, lim->max_secure_erase_sectors, 512);
	KUNIT_EXPECT_FALSE(test, lim->features & BLK_FEAT_NOWAIT);
	KUNIT_EXPECT_FALSE(test, bdev_nowait(ctx->upper->disk->part0));
}

static struct kunit_case bstack_dev_cases[] = {
	KUNIT_CASE(flush_fans_out),
	KUNIT_CASE(flush_then_write),
	KUNIT_CASE(fua_kept),
	KUNIT_CASE(atomic_never_split),
	KUNIT_CASE_PARAM(nowait_io, nowait_gen_params),
	KUNIT_CASE_PARAM(range_per_stripe, range_gen_params),
	KUNIT_CASE_PARAM(alloc_fails_one_at_a_time, alloc_fail_gen_params),
	KUNIT_CASE(one_allocation_per_bio),
	KUNIT_CASE(clone_segments),
	KUNIT_CASE(suspend_holds_bios),
	KUNIT_CASE(state_machine),
	KUNIT_CASE(swap_waits_for_clones),
	KUNIT_CASE(removed_while_referenced),
	KUNIT_CASE(cycle_refused),
	KUNIT_CASE(limits_stacked),
	{}
};

static struct kunit_suite bstack_dev_suite = {
	.name		= "bstack_dev",
	.init		= dev_init,
	.exit		= dev_exit,
	.test_cases	= bstack_dev_cases,
};

#else /* !BSTACK_KUNIT_DEV_SUITE */

static void dev_suite_unavailable(struct kunit *test)
{
	kunit_skip(test, "%s", BSTACK_KUNIT_DEV_SUITE_MISSING);
}

static struct kunit_case bstack_dev_cases[] = {
	KUNIT_CASE(dev_suite_unavailable),
	{}
};

static struct kunit_suite bstack_dev_suite = {
	.name		= "bstack_dev",
	.test_cases	= bstack_dev_cases,
};

#endif /* BSTACK_KUNIT_DEV_SUITE */

kunit_test_suites(&bstack_dev_suite);
