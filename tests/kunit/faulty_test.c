// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the faulty target's two pure parts: the parser of its
 * key=value words (shared by the table line and MESSAGE), and the decision
 * each I/O gets, drawn from a seeded random source.
 */
#include <kunit/test.h>
#include <linux/blk_types.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/string.h>

#include "../../src/bstack.h"

BSTACK_IMPORT_KUNIT_NS();

#define PPM	1000000U

/* Parse @words (blank-separated) into @conf; the refusal lands in @err. */
static int parse(struct kunit *test, struct bstack_faulty_conf *conf,
		 const char *words, char *err)
{
	char **argv;
	int argc, r;

	argv = argv_split(GFP_KERNEL, words, &argc);
	KUNIT_ASSERT_NOT_NULL(test, argv);
	err[0] = '\0';
	r = bstack_faulty_parse(conf, argc, argv, err);
	argv_free(argv);
	return r;
}

static void parse_good(struct kunit *test)
{
	struct bstack_faulty_conf c = { .error = EIO };
	char *err = kunit_kzalloc(test, BSTACK_ERROR_LEN, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, err);
	KUNIT_ASSERT_EQ_MSG(test, parse(test, &c,
		"read_fail=5% write_fail=250/1000 error=ENOSPC count_until_fail=9 up=2 down=3 drop_writes=1 corrupt=1/1000 delay=40 seed=77",
		err), 0, "%s", err);
	KUNIT_EXPECT_EQ(test, c.read_fail, 50000);
	KUNIT_EXPECT_EQ(test, c.write_fail, 250000);
	KUNIT_EXPECT_EQ(test, c.error, ENOSPC);
	KUNIT_EXPECT_EQ(test, c.count_until_fail, 9);
	KUNIT_EXPECT_EQ(test, c.up, 2);
	KUNIT_EXPECT_EQ(test, c.down, 3);
	KUNIT_EXPECT_TRUE(test, c.drop_writes);
	KUNIT_EXPECT_EQ(test, c.corrupt, 1000);
	KUNIT_EXPECT_EQ(test, c.delay_ms, 40);
	/* A delay without delay_prob applies to every I/O. */
	KUNIT_EXPECT_EQ(test, c.delay_prob, PPM);
	KUNIT_EXPECT_EQ(test, c.seed, 77);

	/* Later words change only what they name; reset keeps the seed. */
	KUNIT_ASSERT_EQ(test, parse(test, &c, "read_fail=0%", err), 0);
	KUNIT_EXPECT_EQ(test, c.read_fail, 0);
	KUNIT_EXPECT_EQ(test, c.write_fail, 250000);
	KUNIT_ASSERT_EQ(test, parse(test, &c, "reset", err), 0);
	KUNIT_EXPECT_EQ(test, c.write_fail, 0);
	KUNIT_EXPECT_EQ(test, c.delay_ms, 0);
	KUNIT_EXPECT_EQ(test, c.up, 0);
	KUNIT_EXPECT_EQ(test, c.error, EIO);
	KUNIT_EXPECT_EQ(test, c.seed, 77);
}

static const struct {
	const char *words;
	const char *why;	/* in the message */
} bad_words[] = {
	{ "read_fail", "is not key=value" },
	{ "nosuch=1", "unknown key 'nosuch'" },
	{ "read_fail=101%", "not a probability" },
	{ "read_fail=5", "not a probability" },
	{ "write_fail=1001/1000", "not a probability" },
	{ "write_fail=5/100", "not a probability" },
	{ "corrupt=-1%", "not a probability" },
	{ "error=EFOO", "error=EFOO: not one of" },
	{ "up=3", "give both, or neither" },
	{ "down=3", "give both, or neither" },
	{ "delay=60001", "0..60000" },
	{ "count_until_fail=x", "count_until_fail=x: not a number" },
	{ "drop_writes=maybe", "drop_writes=maybe: not 0 or 1" },
	{ "read_fail=5% nosuch=1", "unknown key 'nosuch'" },
};

/* Each bad word is refused with its reason, and changes nothing. */
static void parse_bad(struct kunit *test)
{
	char *err = kunit_kzalloc(test, BSTACK_ERROR_LEN, GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, err);
	for (i = 0; i < ARRAY_SIZE(bad_words); i++) {
		struct bstack_faulty_conf c = { .error = EIO, .seed = 1 };
		struct bstack_faulty_conf before = c;

		KUNIT_EXPECT_EQ_MSG(test, parse(test, &c, bad_words[i].words,
						err), -EINVAL,
				    "'%s' accepted", bad_words[i].words);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(err, bad_words[i].why),
					  "'%s' says '%s'", bad_words[i].words,
					  err);
		KUNIT_EXPECT_EQ_MSG(test, memcmp(&c, &before, sizeof(c)), 0,
				    "'%s' changed the faults",
				    bad_words[i].words);
	}
}

/* How many of @n I/Os of @op, I/O numbers 1..@n at @secs, get @what. */
enum what { FAILED, DROPPED, CORRUPTED, DELAYED };

static unsigned int count(const struct bstack_faulty_conf *c, u64 seed,
			  enum req_op op, unsigned int n, unsigned long secs,
			  enum what what)
{
	struct bstack_faulty_decision d;
	struct rnd_state rnd;
	unsigned int i, hits = 0;

	prandom_seed_state(&rnd, seed);
	for (i = 1; i <= n; i++) {
		bstack_faulty_decide(c, &rnd, op, i, secs, &d);
		hits += (what == FAILED && d.fail) ||
			(what == DROPPED && d.drop) ||
			(what == CORRUPTED && d.corrupt) ||
			(what == DELAYED && d.delay_ms);
	}
	return hits;
}

static void decide_none(struct kunit *test)
{
	struct bstack_faulty_conf c = { .error = EIO };
	enum req_op ops[] = { REQ_OP_READ, REQ_OP_WRITE, REQ_OP_DISCARD,
			      REQ_OP_FLUSH };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		KUNIT_EXPECT_EQ(test, count(&c, 1, ops[i], 1000, 0, FAILED), 0);
		KUNIT_EXPECT_EQ(test, count(&c, 1, ops[i], 1000, 0, DROPPED), 0);
		KUNIT_EXPECT_EQ(test, count(&c, 1, ops[i], 1000, 0, DELAYED), 0);
	}
}

static void decide_probabilities(struct kunit *test)
{
	struct bstack_faulty_conf c = { .error = ENOSPC };
	struct bstack_faulty_decision d;
	struct rnd_state rnd;
	unsigned int n;

	/* 100% of reads, no write. */
	c.read_fail = PPM;
	KUNIT_EXPECT_EQ(test, count(&c, 3, REQ_OP_READ, 500, 0, FAILED), 500);
	KUNIT_EXPECT_EQ(test, count(&c, 3, REQ_OP_WRITE, 500, 0, FAILED), 0);
	prandom_seed_state(&rnd, 3);
	bstack_faulty_decide(&c, &rnd, REQ_OP_READ, 1, 0, &d);
	KUNIT_EXPECT_EQ(test, d.fail, BLK_STS_NOSPC);

	/* 30% of writes, discards and flushes: near 3000 of 10000. */
	c.read_fail = 0;
	c.write_fail = 300000;
	n = count(&c, 5, REQ_OP_WRITE, 10000, 0, FAILED);
	KUNIT_EXPECT_GT(test, n, 2700);
	KUNIT_EXPECT_LT(test, n, 3300);
	/* The same seed, the same faults: a run can be repeated. */
	KUNIT_EXPECT_EQ(test, count(&c, 5, REQ_OP_WRITE, 10000, 0, FAILED), n);
	KUNIT_EXPECT_NE(test, count(&c, 6, REQ_OP_WRITE, 10000, 0, FAILED), n);
	KUNIT_EXPECT_GT(test, count(&c, 5, REQ_OP_DISCARD, 1000, 0, FAILED), 0);
	KUNIT_EXPECT_GT(test, count(&c, 5, REQ_OP_FLUSH, 1000, 0, FAILED), 0);
	KUNIT_EXPECT_EQ(test, count(&c, 5, REQ_OP_READ, 1000, 0, FAILED), 0);

	/* 1/1000: rare, not never. */
	c.write_fail = 1000;
	n = count(&c, 5, REQ_OP_WRITE, 100000, 0, FAILED);
	KUNIT_EXPECT_GT(test, n, 50);
	KUNIT_EXPECT_LT(test, n, 150);
}

static void decide_count_until_fail(struct kunit *test)
{
	struct bstack_faulty_conf c = { .error = EIO, .count_until_fail = 5 };
	struct bstack_faulty_decision d;
	struct rnd_state rnd;
	u64 i;

	prandom_seed_state(&rnd, 1);
	for (i = 1; i <= 8; i++) {
		bstack_faulty_decide(&c, &rnd, i % 2 ? REQ_OP_READ : REQ_OP_WRITE,
				     i, 0, &d);
		KUNIT_EXPECT_EQ_MSG(test, !!d.fail, i > 5, "I/O %llu", i);
	}
}

/* up=2 down=3: seconds 0-1 up, 2-4 down, 5-6 up, 7-9 down. */
static void decide_up_down(struct kunit *test)
{
	struct bstack_faulty_conf c = { .error = EIO, .up = 2, .down = 3 };
	static const bool down[] = { 0, 0, 1, 1, 1, 0, 0, 1, 1, 1 };
	unsigned long s;

	/* Nothing else set: every I/O fails while down, as in dm-flakey. */
	for (s = 0; s < ARRAY_SIZE(down); s++) {
		KUNIT_EXPECT_EQ_MSG(test, count(&c, 1, REQ_OP_READ, 10, s, FAILED),
				    down[s] ? 10 : 0, "second %lu", s);
		KUNIT_EXPECT_EQ_MSG(test, count(&c, 1, REQ_OP_WRITE, 10, s, FAILED),
				    down[s] ? 10 : 0, "second %lu", s);
	}
	/* With a fault set, only that fault, and only while down. */
	c.read_fail = PPM;
	for (s = 0; s < ARRAY_SIZE(down); s++) {
		KUNIT_EXPECT_EQ_MSG(test, count(&c, 1, REQ_OP_READ, 10, s, FAILED),
				    down[s] ? 10 : 0, "second %lu", s);
		KUNIT_EXPECT_EQ_MSG(test, count(&c, 1, REQ_OP_WRITE, 10, s, FAILED),
				    0, "second %lu", s);
	}
}

static void decide_drop_corrupt_delay(struct kunit *test)
{
	struct bstack_faulty_conf c = { .error = EIO, .drop_writes = true };
	struct bstack_faulty_decision d;
	struct rnd_state rnd;

	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE, 100, 0, DROPPED), 100);
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE_ZEROES, 100, 0, DROPPED),
			100);
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_READ, 100, 0, DROPPED), 0);
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE, 100, 0, FAILED), 0);

	c.drop_writes = false;
	c.corrupt = PPM;
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_READ, 100, 0, CORRUPTED), 100);
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE, 100, 0, CORRUPTED), 0);

	c.corrupt = 0;
	c.delay_ms = 25;
	c.delay_prob = PPM;
	prandom_seed_state(&rnd, 1);
	bstack_faulty_decide(&c, &rnd, REQ_OP_WRITE, 1, 0, &d);
	KUNIT_EXPECT_EQ(test, d.delay_ms, 25);
	KUNIT_EXPECT_FALSE(test, d.fail);
	c.delay_prob = PPM / 2;
	KUNIT_EXPECT_GT(test, count(&c, 1, REQ_OP_READ, 1000, 0, DELAYED), 400);
	KUNIT_EXPECT_LT(test, count(&c, 1, REQ_OP_READ, 1000, 0, DELAYED), 600);
	/* A dropped write is not delayed: it goes nowhere. */
	c.delay_prob = PPM;
	c.drop_writes = true;
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE, 100, 0, DELAYED), 0);
	/* A failed I/O is neither dropped nor delayed. */
	c.write_fail = PPM;
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE, 100, 0, DROPPED), 0);
	KUNIT_EXPECT_EQ(test, count(&c, 1, REQ_OP_WRITE, 100, 0, DELAYED), 0);
}

static struct kunit_case faulty_cases[] = {
	KUNIT_CASE(parse_good),
	KUNIT_CASE(parse_bad),
	KUNIT_CASE(decide_none),
	KUNIT_CASE(decide_probabilities),
	KUNIT_CASE(decide_count_until_fail),
	KUNIT_CASE(decide_up_down),
	KUNIT_CASE(decide_drop_corrupt_delay),
	{}
};

static struct kunit_suite bstack_faulty_suite = {
	.name		= "bstack_faulty",
	.test_cases	= faulty_cases,
};

kunit_test_suites(&bstack_faulty_suite);
