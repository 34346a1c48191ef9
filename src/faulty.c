// SPDX-License-Identifier: GPL-2.0
/*
 * The faulty target: <start> <length> faulty <dev> <offset> [key=value...]
 *
 * A linear mapping that injects faults, after FreeBSD's gnop and dm-flakey:
 *   read_fail=P, write_fail=P	fail a read (a write: also discard and
 *				write-zeroes, and flushes) with probability
 *				P, "N%" or "N/1000"
 *   error=NAME			the error they fail with: EIO (the default),
 *				ENOSPC, ETIMEDOUT, ENOLINK, ENODATA, ...
 *   count_until_fail=N		the first N I/Os pass, then all fail
 *   up=S, down=S		faults apply only S seconds in every up+down,
 *				after S seconds of up; with no other fault,
 *				every I/O fails while down, as in dm-flakey
 *   drop_writes=1		writes complete without reaching the device
 *   corrupt=P			flip a byte of the data of a read
 *   delay=MS, delay_prob=P	hold an I/O MS milliseconds before sending
 *				it (with probability P, 100% by default)
 *   seed=N			the random source, for reproducible runs
 * MESSAGE takes the same key=value words, to change the faults of a live
 * target, and "reset", which drops them all. With no fault set, the
 * target remaps as linear does and takes no lock. STATUS shows counters:
 * reads, writes, flushes, discards, errors and bytes injected, dropped,
 * corrupted and delayed I/Os.
 */
#include <linux/mempool.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "bstack.h"

#define PPM		1000000U	/* probabilities are in parts per million */

/* A clone that faulty sees again: delayed, or read to be corrupted. */
struct faulty_io {
	struct faulty_c *fc;
	struct bio *clone;
	struct list_head list;		/* on fc->delayed */
	unsigned long due;		/* jiffies */
	struct bvec_iter iter;		/* the clone's data, for corrupt */
	bool corrupt;
};

struct faulty_c {
	struct bstack_linear lc;
	/* Guards conf, rnd and nr_ios: a MESSAGE against the I/O path. */
	spinlock_t lock;
	struct bstack_faulty_conf conf;
	struct rnd_state rnd;
	u64 nr_ios;
	bool armed;		/* some fault is set; read without the lock */
	unsigned long epoch;	/* jiffies: up/down phases count from here */
	mempool_t *pool;	/* struct faulty_io */
	/* Guards delayed; taken from submit_bio and from the worker. */
	spinlock_t delay_lock;
	struct list_head delayed;
	struct delayed_work delay_work;
	atomic64_t reads, writes, flushes, discards;
	atomic64_t errors, error_bytes, dropped, corrupted, delayed_ios;
};

/* Delayed clones go down from here: it must make progress under reclaim. */
static struct workqueue_struct *faulty_wq;

static const struct {
	const char *name;
	int err;
} faulty_errors[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "ETIMEDOUT", ETIMEDOUT },
	{ "ENOLINK", ENOLINK }, { "ENODATA", ENODATA },
	{ "EREMOTEIO", EREMOTEIO }, { "EILSEQ", EILSEQ },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "ENOMEM", ENOMEM },
	{ "EBADE", EBADE }, { "ENODEV", ENODEV },
};

static const char *faulty_error_name(int err)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(faulty_errors); i++)
		if (faulty_errors[i].err == err)
			return faulty_errors[i].name;
	return "EIO";
}

/* The seconds since @epoch fall in a down phase: faults apply. */
static bool faulty_down(const struct bstack_faulty_conf *conf,
			unsigned long secs)
{
	if (!conf->up && !conf->down)
		return true;
	return secs % ((u64)conf->up + conf->down) >= conf->up;
}

static bool faulty_roll(struct rnd_state *rnd, u32 ppm)
{
	return ppm && prandom_u32_state(rnd) % PPM < ppm;
}

/**
 * bstack_faulty_decide - what happens to one I/O
 * @conf:	the faults
 * @rnd:	the random source; each call draws from it in a fixed order
 * @op:		the I/O's operation; REQ_OP_FLUSH for an empty flush
 * @nth:	which I/O this is, from 1, for count_until_fail
 * @secs:	seconds since the target was made, for up/down
 * @d:		the decision
 *
 * Pure apart from @rnd, so that KUnit can check it with a seeded source.
 */
void bstack_faulty_decide(const struct bstack_faulty_conf *conf,
			  struct rnd_state *rnd, enum req_op op, u64 nth,
			  unsigned long secs, struct bstack_faulty_decision *d)
{
	bool is_read = op == REQ_OP_READ;
	blk_status_t error = errno_to_blk_status(-conf->error);
	bool only_updown;

	memset(d, 0, sizeof(*d));
	if (!faulty_down(conf, secs))
		return;
	only_updown = !conf->read_fail && !conf->write_fail &&
		      !conf->corrupt && !conf->delay_ms &&
		      !conf->drop_writes && !conf->count_until_fail;
	if ((conf->up || conf->down) && only_updown) {
		d->fail = error;
		return;
	}
	if (conf->count_until_fail && nth > conf->count_until_fail) {
		d->fail = error;
		return;
	}
	if (faulty_roll(rnd, is_read ? conf->read_fail : conf->write_fail)) {
		d->fail = error;
		return;
	}
	if (conf->drop_writes && op_is_write(op))
		d->drop = true;
	else if (is_read && faulty_roll(rnd, conf->corrupt))
		d->corrupt = true;
	if (!d->drop && conf->delay_ms && faulty_roll(rnd, conf->delay_prob))
		d->delay_ms = conf->delay_ms;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_faulty_decide);

/* "N%" (0..100) or "N/1000" (0..1000), in parts per million. */
static int faulty_parse_prob(const char *s, u32 *ppm)
{
	char *slash = strchr(s, '/');
	size_t len = strlen(s);
	char num[12];
	u32 n;

	if (len > 1 && s[len - 1] == '%' && len - 1 < sizeof(num)) {
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		if (kstrtou32(num, 10, &n) || n > 100)
			return -EINVAL;
		*ppm = n * (PPM / 100);
		return 0;
	}
	if (slash && !strcmp(slash, "/1000") && slash - s < sizeof(num)) {
		memcpy(num, s, slash - s);
		num[slash - s] = '\0';
		if (kstrtou32(num, 10, &n) || n > 1000)
			return -EINVAL;
		*ppm = n * (PPM / 1000);
		return 0;
	}
	return -EINVAL;
}

static void faulty_print_prob(char **p, char *end, const char *key, u32 ppm)
{
	if (!ppm)
		return;
	if (ppm % (PPM / 100) == 0)
		*p += scnprintf(*p, end - *p, " %s=%u%%", key, ppm / (PPM / 100));
	else
		*p += scnprintf(*p, end - *p, " %s=%u/1000", key,
				ppm / (PPM / 1000));
}

/**
 * bstack_faulty_parse - apply key=value words to @conf
 * @conf:	the faults, changed in place only if every word is good
 * @argc:	how many words
 * @argv:	the words
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * "reset" drops every fault. Shared by the constructor and MESSAGE.
 */
int bstack_faulty_parse(struct bstack_faulty_conf *conf, unsigned int argc,
			char **argv, char *err)
{
	struct bstack_faulty_conf c = *conf;
	unsigned int i, j;
	u32 *prob;

	for (i = 0; i < argc; i++) {
		char *key = argv[i], *val = strchr(key, '=');
		size_t klen = val ? val - key : strlen(key);

		if (!val) {
			if (!strcmp(key, "reset")) {
				u64 seed = c.seed;

				memset(&c, 0, sizeof(c));
				c.error = EIO;
				c.seed = seed;
				continue;
			}
			snprintf(err, BSTACK_ERROR_LEN,
				 "'%s' is not key=value (or reset)", key);
			return -EINVAL;
		}
		val++;
		prob = NULL;
		if (klen == 9 && !strncmp(key, "read_fail", klen))
			prob = &c.read_fail;
		else if (klen == 10 && !strncmp(key, "write_fail", klen))
			prob = &c.write_fail;
		else if (klen == 7 && !strncmp(key, "corrupt", klen))
			prob = &c.corrupt;
		else if (klen == 10 && !strncmp(key, "delay_prob", klen))
			prob = &c.delay_prob;
		if (prob) {
			if (faulty_parse_prob(val, prob))
				goto bad_prob;
			continue;
		}
		if (klen == 5 && !strncmp(key, "error", klen)) {
			for (j = 0; j < ARRAY_SIZE(faulty_errors); j++)
				if (!strcmp(val, faulty_errors[j].name))
					break;
			if (j == ARRAY_SIZE(faulty_errors)) {
				snprintf(err, BSTACK_ERROR_LEN,
					 "error=%s: not one of EIO, ENOSPC, ETIMEDOUT, ENOLINK, ENODATA, EREMOTEIO, EILSEQ, EOPNOTSUPP, ENOMEM, EBADE, ENODEV",
					 val);
				return -EINVAL;
			}
			c.error = faulty_errors[j].err;
		} else if (klen == 16 && !strncmp(key, "count_until_fail", klen)) {
			if (kstrtou64(val, 10, &c.count_until_fail))
				goto bad_number;
		} else if (klen == 2 && !strncmp(key, "up", klen)) {
			if (kstrtou32(val, 10, &c.up))
				goto bad_number;
		} else if (klen == 4 && !strncmp(key, "down", klen)) {
			if (kstrtou32(val, 10, &c.down))
				goto bad_number;
		} else if (klen == 5 && !strncmp(key, "delay", klen)) {
			if (kstrtou32(val, 10, &c.delay_ms) ||
			    c.delay_ms > 60000) {
				snprintf(err, BSTACK_ERROR_LEN,
					 "delay=%s: not a number of milliseconds in 0..60000",
					 val);
				return -EINVAL;
			}
		} else if (klen == 11 && !strncmp(key, "drop_writes", klen)) {
			if (kstrtobool(val, &c.drop_writes)) {
				snprintf(err, BSTACK_ERROR_LEN,
					 "%s: not 0 or 1", key);
				return -EINVAL;
			}
		} else if (klen == 4 && !strncmp(key, "seed", klen)) {
			if (kstrtou64(val, 10, &c.seed))
				goto bad_number;
		} else {
			snprintf(err, BSTACK_ERROR_LEN,
				 "unknown key '%.*s': expected read_fail, write_fail, error, count_until_fail, up, down, drop_writes, corrupt, delay, delay_prob, seed or reset",
				 (int)klen, key);
			return -EINVAL;
		}
		continue;
bad_prob:
		snprintf(err, BSTACK_ERROR_LEN,
			 "%s: not a probability, N%% (0..100) or N/1000 (0..1000)",
			 key);
		return -EINVAL;
bad_number:
		snprintf(err, BSTACK_ERROR_LEN, "%s: not a number", key);
		return -EINVAL;
	}
	if (!c.up != !c.down) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "up=%u down=%u: give both, or neither", c.up, c.down);
		return -EINVAL;
	}
	/* A delay with no probability given applies to every I/O. */
	if (c.delay_ms && !c.delay_prob)
		c.delay_prob = PPM;
	*conf = c;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_faulty_parse);

static bool faulty_conf_armed(const struct bstack_faulty_conf *c)
{
	return c->read_fail || c->write_fail || c->corrupt || c->delay_ms ||
	       c->drop_writes || c->count_until_fail || c->up || c->down;
}

static void faulty_delay_work(struct work_struct *work)
{
	struct faulty_c *fc = container_of(to_delayed_work(work),
					   struct faulty_c, delay_work);
	struct faulty_io *fio, *next;
	unsigned long now = jiffies;
	LIST_HEAD(due);

	spin_lock_irq(&fc->delay_lock);
	list_for_each_entry_safe(fio, next, &fc->delayed, list) {
		if (time_before(now, fio->due)) {
			queue_delayed_work(faulty_wq, &fc->delay_work,
					   fio->due - now);
			break;
		}
		list_move_tail(&fio->list, &due);
	}
	spin_unlock_irq(&fc->delay_lock);

	list_for_each_entry_safe(fio, next, &due, list) {
		struct bio *clone = fio->clone;

		list_del(&fio->list);
		/* A read to corrupt keeps its faulty_io until it ends. */
		if (!fio->corrupt)
			mempool_free(fio, fc->pool);
		bstack_submit_clone(clone);
	}
}

/* Flip one byte of the data the read brought, chosen by the random source. */
static void faulty_corrupt(struct faulty_io *fio)
{
	struct faulty_c *fc = fio->fc;
	struct bio_vec bv = bio_iter_iovec(fio->clone, fio->iter);
	unsigned long flags;
	u32 off;
	char *p;

	spin_lock_irqsave(&fc->lock, flags);
	off = prandom_u32_state(&fc->rnd) % bv.bv_len;
	spin_unlock_irqrestore(&fc->lock, flags);
	p = bvec_kmap_local(&bv);
	p[off] = ~p[off];
	kunmap_local(p);
	atomic64_inc(&fc->corrupted);
}

static void faulty_endio(struct bio *clone)
{
	struct faulty_io *fio = clone->bi_private;

	if (fio->corrupt && !clone->bi_status && fio->iter.bi_size)
		faulty_corrupt(fio);
	clone->bi_end_io = bstack_clone_endio;
	mempool_free(fio, fio->fc->pool);
	bstack_clone_endio(clone);
}

static void faulty_count(struct faulty_c *fc, struct bio *clone)
{
	switch (bio_op(clone)) {
	case REQ_OP_READ:
		atomic64_inc(&fc->reads);
		break;
	case REQ_OP_WRITE:
		atomic64_inc(&fc->writes);
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
	case REQ_OP_WRITE_ZEROES:
		atomic64_inc(&fc->discards);
		break;
	default:
		break;
	}
	if (clone->bi_opf & (REQ_PREFLUSH | REQ_FUA))
		atomic64_inc(&fc->flushes);
}

static enum bstack_map_result faulty_map(struct bstack_target *ti,
					 struct bio *clone)
{
	struct faulty_c *fc = ti->private;
	struct bstack_faulty_decision d;
	struct faulty_io *fio;
	unsigned long flags;

	faulty_count(fc, clone);
	bstack_linear_remap(ti, &fc->lc, clone);
	if (!READ_ONCE(fc->armed))
		return BSTACK_MAP_REMAPPED;

	spin_lock_irqsave(&fc->lock, flags);
	bstack_faulty_decide(&fc->conf, &fc->rnd, bio_op(clone), ++fc->nr_ios,
			     (jiffies - fc->epoch) / HZ, &d);
	spin_unlock_irqrestore(&fc->lock, flags);

	if (d.fail) {
		atomic64_inc(&fc->errors);
		atomic64_add(clone->bi_iter.bi_size, &fc->error_bytes);
		clone->bi_status = d.fail;
		bio_endio(clone);
		return BSTACK_MAP_SUBMITTED;
	}
	if (d.drop) {
		atomic64_inc(&fc->dropped);
		bio_endio(clone);
		return BSTACK_MAP_SUBMITTED;
	}
	if (!d.corrupt && !d.delay_ms)
		return BSTACK_MAP_REMAPPED;

	/*
	 * Not GFP_NOIO: the clones that would give a faulty_io back may
	 * still be on current->bio_list, below this very submit_bio().
	 * Without one, the I/O goes on unharmed.
	 */
	fio = mempool_alloc(fc->pool, GFP_NOWAIT);
	if (!fio)
		return BSTACK_MAP_REMAPPED;
	fio->fc = fc;
	fio->clone = clone;
	fio->iter = clone->bi_iter;
	fio->corrupt = d.corrupt;
	if (d.corrupt) {
		clone->bi_private = fio;
		clone->bi_end_io = faulty_endio;
	}
	if (!d.delay_ms)
		return BSTACK_MAP_REMAPPED;

	atomic64_inc(&fc->delayed_ios);
	fio->due = jiffies + msecs_to_jiffies(d.delay_ms);
	spin_lock_irqsave(&fc->delay_lock, flags);
	if (list_empty(&fc->delayed))
		queue_delayed_work(faulty_wq, &fc->delay_work,
				   msecs_to_jiffies(d.delay_ms));
	list_add_tail(&fio->list, &fc->delayed);
	spin_unlock_irqrestore(&fc->delay_lock, flags);
	return BSTACK_MAP_SUBMITTED;
}

/* An empty flush: counted, and failed like a write. */
static blk_status_t faulty_flush(struct bstack_target *ti)
{
	struct faulty_c *fc = ti->private;
	struct bstack_faulty_decision d;
	unsigned long flags;

	atomic64_inc(&fc->flushes);
	if (!READ_ONCE(fc->armed))
		return BLK_STS_OK;
	spin_lock_irqsave(&fc->lock, flags);
	bstack_faulty_decide(&fc->conf, &fc->rnd, REQ_OP_FLUSH, ++fc->nr_ios,
			     (jiffies - fc->epoch) / HZ, &d);
	spin_unlock_irqrestore(&fc->lock, flags);
	if (d.fail)
		atomic64_inc(&fc->errors);
	return d.fail;
}

static void faulty_apply(struct faulty_c *fc, struct bstack_faulty_conf *c)
{
	unsigned long flags;

	spin_lock_irqsave(&fc->lock, flags);
	if (c->seed != fc->conf.seed)
		prandom_seed_state(&fc->rnd, c->seed);
	/* A new count_until_fail counts from now. */
	if (c->count_until_fail != fc->conf.count_until_fail)
		fc->nr_ios = 0;
	fc->conf = *c;
	WRITE_ONCE(fc->armed, faulty_conf_armed(c));
	spin_unlock_irqrestore(&fc->lock, flags);
}

static int faulty_ctr(struct bstack_target *ti, unsigned int argc,
		      char **argv)
{
	struct bstack_faulty_conf conf = { .error = EIO };
	struct faulty_c *fc;
	char *err;
	int r;

	if (argc < 2)
		return bstack_ti_error(ti, "expected '<dev> <offset> [key=value...]', got %u argument%s",
				       argc, argc == 1 ? "" : "s");
	fc = kzalloc(sizeof(*fc), GFP_KERNEL);
	err = kzalloc(BSTACK_ERROR_LEN, GFP_KERNEL);
	r = -ENOMEM;
	if (!fc || !err)
		goto out_free;
	r = bstack_linear_ctr(ti, argv[0], argv[1], &fc->lc);
	if (r)
		goto out_free;
	conf.seed = get_random_u64();
	r = bstack_faulty_parse(&conf, argc - 2, argv + 2, err);
	if (r) {
		bstack_ti_error(ti, "%s", err);
		goto out_free;
	}
	fc->pool = mempool_create_kmalloc_pool(16, sizeof(struct faulty_io));
	if (!fc->pool) {
		r = -ENOMEM;
		goto out_free;
	}
	spin_lock_init(&fc->lock);
	spin_lock_init(&fc->delay_lock);
	INIT_LIST_HEAD(&fc->delayed);
	INIT_DELAYED_WORK(&fc->delay_work, faulty_delay_work);
	fc->epoch = jiffies;
	prandom_seed_state(&fc->rnd, conf.seed);
	fc->conf = conf;
	fc->armed = faulty_conf_armed(&conf);
	ti->private = fc;
	kfree(err);
	return 0;

out_free:
	kfree(err);
	kfree(fc);
	return r;
}

static void faulty_dtr(struct bstack_target *ti)
{
	struct faulty_c *fc = ti->private;

	/* The table is drained: nothing is delayed any more. */
	cancel_delayed_work_sync(&fc->delay_work);
	WARN_ON_ONCE(!list_empty(&fc->delayed));
	mempool_destroy(fc->pool);
	kfree(fc);
}

static int faulty_message(struct bstack_target *ti, unsigned int argc,
			  char **argv, char *result, size_t maxlen, char *err)
{
	struct faulty_c *fc = ti->private;
	struct bstack_faulty_conf c;
	unsigned long flags;
	int r;

	spin_lock_irqsave(&fc->lock, flags);
	c = fc->conf;
	spin_unlock_irqrestore(&fc->lock, flags);
	r = bstack_faulty_parse(&c, argc, argv, err);
	if (r)
		return r;
	/* Only messages change conf, one at a time: bstack_devices_lock. */
	faulty_apply(fc, &c);
	return 0;
}

static void faulty_table_line(struct bstack_target *ti, char *buf,
			      size_t len)
{
	struct faulty_c *fc = ti->private;
	struct bstack_faulty_conf c;
	char *p = buf, *end = buf + len;
	unsigned long flags;

	spin_lock_irqsave(&fc->lock, flags);
	c = fc->conf;
	spin_unlock_irqrestore(&fc->lock, flags);
	p += bstack_linear_print(&fc->lc, p, end - p);
	faulty_print_prob(&p, end, "read_fail", c.read_fail);
	faulty_print_prob(&p, end, "write_fail", c.write_fail);
	if (c.error != EIO)
		p += scnprintf(p, end - p, " error=%s",
			       faulty_error_name(c.error));
	if (c.count_until_fail)
		p += scnprintf(p, end - p, " count_until_fail=%llu",
			       c.count_until_fail);
	if (c.up || c.down)
		p += scnprintf(p, end - p, " up=%u down=%u", c.up, c.down);
	if (c.drop_writes)
		p += scnprintf(p, end - p, " drop_writes=1");
	faulty_print_prob(&p, end, "corrupt", c.corrupt);
	if (c.delay_ms) {
		p += scnprintf(p, end - p, " delay=%u", c.delay_ms);
		if (c.delay_prob != PPM)
			faulty_print_prob(&p, end, "delay_prob", c.delay_prob);
	}
	if (faulty_conf_armed(&c))
		scnprintf(p, end - p, " seed=%llu", c.seed);
}

static void faulty_status(struct bstack_target *ti, char *buf, size_t len)
{
	struct faulty_c *fc = ti->private;

	snprintf(buf, len,
		 "reads %lld writes %lld flushes %lld discards %lld errors %lld error_bytes %lld dropped %lld corrupted %lld delayed %lld",
		 atomic64_read(&fc->reads), atomic64_read(&fc->writes),
		 atomic64_read(&fc->flushes), atomic64_read(&fc->discards),
		 atomic64_read(&fc->errors), atomic64_read(&fc->error_bytes),
		 atomic64_read(&fc->dropped), atomic64_read(&fc->corrupted),
		 atomic64_read(&fc->delayed_ios));
}

static void faulty_iterate_devices(struct bstack_target *ti,
				   void (*fn)(struct block_device *bdev,
					      sector_t start, void *data),
				   void *data)
{
	struct faulty_c *fc = ti->private;

	fn(fc->lc.dev->bdev, fc->lc.start, data);
}

static struct bstack_target_type faulty_target = {
	.name		 = "faulty",
	.version	 = { 1, 0, 0 },
	.module		 = THIS_MODULE,
	.ctr		 = faulty_ctr,
	.dtr		 = faulty_dtr,
	.map		 = faulty_map,
	.flush		 = faulty_flush,
	.message	 = faulty_message,
	.table_line	 = faulty_table_line,
	.status		 = faulty_status,
	.iterate_devices = faulty_iterate_devices,
};

int bstack_faulty_init(void)
{
	int r;

	faulty_wq = alloc_workqueue("bstack_faulty", WQ_MEM_RECLAIM | WQ_PERCPU, 0);
	if (!faulty_wq)
		return -ENOMEM;
	r = bstack_register_target(&faulty_target);
	if (r)
		destroy_workqueue(faulty_wq);
	return r;
}

void bstack_faulty_exit(void)
{
	bstack_unregister_target(&faulty_target);
	destroy_workqueue(faulty_wq);
}
