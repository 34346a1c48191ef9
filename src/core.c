// SPDX-License-Identifier: GPL-2.0
/*
 * bstack core: mapped devices and the bio path.
 *
 * A bio that enters bstack_submit_bio() is served piece by piece, as dm
 * does: the piece that fits in the target under its first sector is cut
 * off (bio_split() from the device's bio_set, or a whole clone when the bio
 * fits), remapped and submitted, and the rest of the bio is submitted again
 * to this device. Cutting and cloning are one allocation from the bio_set,
 * whose front_pad holds a struct bstack_io. submit_bio_noacct() only queues
 * bios on current->bio_list, so the piece reaches the lower device before
 * the remainder comes back here; and a piece is always submitted before the
 * next allocation from the same bio_set, which with BIOSET_NEED_RESCUER is
 * what keeps forward progress under memory pressure.
 */
#include <linux/idr.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "bstack.h"

static LIST_HEAD(bstack_devices);
static DEFINE_IDA(bstack_minors);
static int bstack_major;
/* The held bios go down from here: WQ_MEM_RECLAIM. */
static struct workqueue_struct *bstack_wq;
/* Deferred removals, apart: they wait for a device's ctl_lock. */
static struct workqueue_struct *bstack_remove_wq;

/*
 * bstack_devices_lock guards bstack_devices and the names and uuids on
 * it, and, with each device's ctl_lock, the table slots: the commands
 * that only read (list, info, table, status, deps) hold it alone, so they
 * answer while a suspend waits under the device's ctl_lock. It is held
 * only for a short walk or update, never across a wait for I/O, and never
 * on the I/O path. Lock order: bd->ctl_lock, then bstack_devices_lock,
 * then bd->lock.
 */
DEFINE_MUTEX(bstack_devices_lock);
EXPORT_SYMBOL_IF_KUNIT(bstack_devices_lock);

/*
 * Every device event, and every removal, also moves bstack_event_seq and
 * wakes bstack_event_wq: WAIT_EVENT sleeps there without holding a device,
 * which may go away meanwhile, and looks its device up again on waking.
 */
atomic_t bstack_event_seq;
DECLARE_WAIT_QUEUE_HEAD(bstack_event_wq);

void bstack_device_event(struct bstack_device *bd)
{
	atomic_inc(&bd->event_nr);
	atomic_inc(&bstack_event_seq);
	/* From bio completion too: wake only when somebody waits. */
	if (wq_has_sleeper(&bstack_event_wq))
		wake_up_all(&bstack_event_wq);
}

void bstack_device_stats(struct bstack_device *bd, struct bstack_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct bstack_stats *s = per_cpu_ptr(bd->stats, cpu);

		sum->ios[READ] += READ_ONCE(s->ios[READ]);
		sum->ios[WRITE] += READ_ONCE(s->ios[WRITE]);
		sum->bytes[READ] += READ_ONCE(s->bytes[READ]);
		sum->bytes[WRITE] += READ_ONCE(s->bytes[WRITE]);
		sum->discards += READ_ONCE(s->discards);
		sum->flushes += READ_ONCE(s->flushes);
		sum->splits += READ_ONCE(s->splits);
		sum->errors += READ_ONCE(s->errors);
		sum->in_flight += READ_ONCE(s->in_flight);
	}
	if (sum->in_flight < 0)
		sum->in_flight = 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_stats);

/*
 * The holder of every lower device, as dm has one for all its devices:
 * bstack devices may share a lower device, nobody else may claim it.
 */
static int bstack_claim;

void *bstack_holder(void)
{
	return &bstack_claim;
}

int bstack_bioset_init(struct bio_set *bs)
{
	/*
	 * The per-cpu cache serves clones of bios that ask for it
	 * (REQ_ALLOC_CACHE: io_uring and block device direct I/O) without
	 * the mempool and the slab, and takes them back when they end in
	 * task or hard irq context. The mempool stays the reserve that
	 * guarantees forward progress: bio_alloc_bioset() falls back to it.
	 */
	return bioset_init(bs, BIO_POOL_SIZE, BSTACK_FRONT_PAD,
			   BIOSET_NEED_RESCUER | BIOSET_PERCPU_CACHE);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_bioset_init);

/*
 * Keep the first error of all the pieces of @bio: pieces end in any order,
 * and a later success or error must not overwrite an earlier error.
 */
static void bstack_bio_keep_error(struct bio *bio, blk_status_t status)
{
	cmpxchg(&bio->bi_status, BLK_STS_OK, status);
}

static void bstack_requeue(struct bstack_device *bd, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&bd->lock, flags);
	bio_list_add(&bd->requeue, bio);
	spin_unlock_irqrestore(&bd->lock, flags);
	queue_work(bstack_wq, &bd->requeue_work);
}

static void bstack_requeue_work(struct work_struct *work)
{
	struct bstack_device *bd =
		container_of(work, struct bstack_device, requeue_work);
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&bd->lock);
	list = bd->requeue;
	bio_list_init(&bd->requeue);
	spin_unlock_irq(&bd->lock);

	while ((bio = bio_list_pop(&list)))
		submit_bio_noacct(bio);
}

/*
 * The last clone of @io is in. End the original bio, or, for the flush in
 * front of a write with data, send the data on without REQ_PREFLUSH.
 */
static void bstack_io_complete(struct bstack_io *io)
{
	struct bstack_table *t = io->table;
	struct bio *orig = io->orig;
	blk_status_t status = io->status;

	if (io->acct)
		bdev_end_io_acct(orig->bi_bdev, bio_op(orig), io->sectors,
				 io->start_time);
	/* The io lives in its first clone: this frees it. */
	bio_put(&io->clone.bio);
	this_cpu_dec(t->bd->stats->in_flight);
	/*
	 * AGAIN is a NOWAIT bio that would have had to wait (here or in a
	 * lower device), which io_uring retries: no error, and no event to
	 * wake waiters for at the rate such bios can come.
	 */
	if (unlikely(status) && status != BLK_STS_AGAIN) {
		this_cpu_inc(t->bd->stats->errors);
		bstack_device_event(t->bd);
	}

	if (unlikely(orig->bi_opf & REQ_PREFLUSH) && bio_sectors(orig) &&
	    !status) {
		orig->bi_opf &= ~REQ_PREFLUSH;
		bstack_requeue(t->bd, orig);
	} else {
		if (unlikely(status))
			bstack_bio_keep_error(orig, status);
		bio_endio(orig);
	}
	/* Last: once the table is released, the device may go away. */
	percpu_ref_put(&t->ref);
}

/**
 * bstack_io_put - one clone of @io is in, or its mapping is done
 * @io:		the io
 * @status:	how it ended; the first error is kept for the original bio
 */
void bstack_io_put(struct bstack_io *io, blk_status_t status)
{
	if (unlikely(status))
		cmpxchg(&io->status, BLK_STS_OK, status);
	if (atomic_dec_and_test(&io->pending))
		bstack_io_complete(io);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_io_put);

void bstack_clone_endio(struct bio *clone)
{
	struct bstack_clone *c = container_of(clone, struct bstack_clone, bio);
	struct bstack_io *io = c->io;
	blk_status_t status = clone->bi_status;

	if (clone != &io->clone.bio)
		bio_put(clone);
	bstack_io_put(io, status);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_clone_endio);

static struct bstack_io *bstack_io_init(struct bio *clone, struct bio *orig,
					struct bstack_table *t)
{
	struct bstack_io *io = container_of(clone, struct bstack_io, clone.bio);

	io->orig = orig;
	io->table = t;
	atomic_set(&io->pending, 1);
	io->status = BLK_STS_OK;
	io->acct = false;
	io->clone.io = io;
	clone->bi_end_io = bstack_clone_endio;
	return io;
}

/**
 * bstack_io_add_clone - make @clone one more child of @io
 * @io:		the io
 * @clone:	a clone from the device's bio_set, not yet submitted
 *
 * @io must still hold a reference of its own (its mapping's, or an earlier
 * clone's that has not been submitted), so that it cannot end meanwhile.
 */
void bstack_io_add_clone(struct bstack_io *io, struct bio *clone)
{
	struct bstack_clone *c = container_of(clone, struct bstack_clone, bio);

	c->io = io;
	clone->bi_end_io = bstack_clone_endio;
	atomic_inc(&io->pending);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_io_add_clone);

/**
 * bstack_cut - a clone of the first @sectors of @bio
 * @bio:	the bio to cut from
 * @sectors:	the length of the piece, at most bio_sectors(@bio)
 * @gfp:	how the allocation may wait
 * @bs:		the bio_set to allocate from
 *
 * When the piece is shorter than @bio, @bio is advanced past it. NULL only
 * when @gfp may not wait and the bio_set's pool is empty. KUnit tests
 * redirect it to fail on demand.
 */
struct bio *bstack_cut(struct bio *bio, unsigned int sectors, gfp_t gfp,
		       struct bio_set *bs)
{
	KUNIT_STATIC_STUB_REDIRECT(bstack_cut, bio, sectors, gfp, bs);

	if (sectors < bio_sectors(bio))
		return bio_split(bio, sectors, gfp, bs);
	return bio_alloc_clone(NULL, bio, gfp, bs);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_cut);

/**
 * bstack_alloc_clone - one more whole clone of @bio
 * @bdev:	the device it goes to, or NULL to set it later
 * @bio:	the bio to clone
 * @gfp:	how the allocation may wait
 * @bs:		the bio_set to allocate from
 *
 * For the second and later clones of one io: a range split per stripe,
 * and the flush fan-out. NULL only as bstack_cut() is; KUnit tests
 * redirect it too.
 */
struct bio *bstack_alloc_clone(struct block_device *bdev, struct bio *bio,
			       gfp_t gfp, struct bio_set *bs)
{
	KUNIT_STATIC_STUB_REDIRECT(bstack_alloc_clone, bdev, bio, gfp, bs);

	return bio_alloc_clone(bdev, bio, gfp, bs);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_alloc_clone);

/**
 * bstack_io_alloc_piece - cut the first @sectors of @bio into an io
 * @bd:		the device @bio was submitted to
 * @t:		the live table; the io takes over the caller's reference
 * @bio:	the original bio, or what is left of it
 * @sectors:	how much of @bio the piece covers, at most bio_sectors(@bio)
 * @gfp:	GFP_NOIO, or GFP_NOWAIT for a REQ_NOWAIT bio
 *
 * Returns an io whose embedded clone covers the piece and still points at
 * the bstack device. When the piece is shorter than @bio, @bio is advanced
 * past it and takes one more completion (bio_inc_remaining()): the caller
 * must submit the rest of @bio again. With GFP_NOIO it never fails: the
 * allocation comes from the bio_set's mempool and may sleep, so the caller
 * must have submitted every earlier allocation from @bd's bio_set. With
 * GFP_NOWAIT it returns NULL rather than wait, and @bio is unchanged.
 */
struct bstack_io *bstack_io_alloc_piece(struct bstack_device *bd,
					struct bstack_table *t,
					struct bio *bio, unsigned int sectors,
					gfp_t gfp)
{
	bool split = sectors < bio_sectors(bio);
	struct bio *clone = bstack_cut(bio, sectors, gfp, &bd->bs);

	if (unlikely(!clone))
		return NULL;
	if (split)
		bio_inc_remaining(bio);
	/*
	 * __bio_clone() leaves bi_vcnt at 0, since a clone does not own its
	 * vector, and blk-mq then walks all of the clone to count segments
	 * (bio_may_need_split()). A clone of a bio with one segment lies in
	 * that segment: say so, and the lower queue takes it as it is.
	 */
	if (bio->bi_vcnt == 1)
		clone->bi_vcnt = 1;
	return bstack_io_init(clone, bio, t);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_io_alloc_piece);

/**
 * bstack_submit_clone - send a remapped clone to its lower device
 * @clone:	the clone, with its lower device and sector set
 *
 * KUnit tests redirect it to see the clones and end them.
 */
void bstack_submit_clone(struct bio *clone)
{
	KUNIT_STATIC_STUB_REDIRECT(bstack_submit_clone, clone);

	submit_bio_noacct(clone);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_submit_clone);

static bool bstack_op_is_range(struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
	case REQ_OP_WRITE_ZEROES:
		return true;
	default:
		return false;
	}
}

/*
 * Each piece is one I/O in the statistics, as each dm_io is in dm's: a bio
 * split in two counts twice, its sectors once.
 */
static void bstack_io_start_acct(struct bstack_device *bd,
				 struct bstack_io *io, struct bio *bio,
				 unsigned int sectors)
{
	bool last = sectors == bio_sectors(bio);

	/* bstack's own counters: per cpu, each increment preemption-safe. */
	this_cpu_inc(bd->stats->in_flight);
	if (!last)
		this_cpu_inc(bd->stats->splits);
	if (bstack_op_is_range(bio)) {
		/* A bio counts once, with its last piece. */
		if (last)
			this_cpu_inc(bd->stats->discards);
	} else {
		int dir = op_is_write(bio_op(bio)) ? WRITE : READ;

		if (last)
			this_cpu_inc(bd->stats->ios[dir]);
		this_cpu_add(bd->stats->bytes[dir], sectors << SECTOR_SHIFT);
	}

	if (blk_queue_io_stat(bd->disk->queue)) {
		io->acct = true;
		io->sectors = sectors;
		io->start_time = bdev_start_io_acct(bio->bi_bdev, bio_op(bio),
						    jiffies);
	}
}

/*
 * A REQ_NOWAIT @bio could not have the clone for its next piece without
 * waiting: end it with AGAIN. Its earlier pieces may be on their way
 * already; the submitter retries all of it from a context that may block,
 * as it does when one bio of a multi-bio NOWAIT direct I/O fails
 * (__blkdev_direct_IO()).
 */
static void bstack_bio_wouldblock(struct bstack_table *t, struct bio *bio)
{
	percpu_ref_put(&t->ref);
	bstack_bio_keep_error(bio, BLK_STS_AGAIN);
	bio_endio(bio);
}

/*
 * A DISCARD, SECURE_ERASE or WRITE_ZEROES carries no data, so a target
 * with ranges (striped) takes the whole piece inside it as one clone per
 * range rather than one piece per chunk: dm-stripe's stripe_map_range().
 * The first clone is the io's own; each clone is submitted before the next
 * is allocated, while the io holds a reference of its own.
 */
static void bstack_map_range(struct bstack_device *bd, struct bstack_table *t,
			     struct bstack_target *ti, struct bio *bio,
			     unsigned int sectors, gfp_t gfp)
{
	bool split = sectors < bio_sectors(bio);
	blk_status_t status = BLK_STS_OK;
	struct bvec_iter piece;
	struct bstack_io *io;
	struct bio *clone;
	unsigned int i;

	io = bstack_io_alloc_piece(bd, t, bio, sectors, gfp);
	if (unlikely(!io)) {
		bstack_bio_wouldblock(t, bio);
		return;
	}
	bstack_io_start_acct(bd, io, bio, sectors);
	atomic_inc(&io->pending);	/* the mapping's reference */
	clone = &io->clone.bio;
	piece = clone->bi_iter;
	for (i = 0; i < ti->num_range_bios; i++) {
		if (i) {
			/* With GFP_NOIO this never fails. */
			clone = bstack_alloc_clone(NULL, bio, gfp, &bd->bs);
			if (unlikely(!clone)) {
				status = BLK_STS_AGAIN;
				break;
			}
			clone->bi_iter = piece;
			bstack_io_add_clone(io, clone);
		}
		if (ti->type->map_range(ti, clone, i) == BSTACK_MAP_REMAPPED)
			bstack_submit_clone(clone);
	}
	if (split)
		submit_bio_noacct(bio);
	bstack_io_put(io, status);
}

static void bstack_map_bio(struct bstack_device *bd, struct bstack_table *t,
			   struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	struct bstack_target *ti = bstack_table_find_target(t, sector);
	gfp_t gfp = GFP_NOIO;
	unsigned int sectors;
	struct bstack_io *io;
	struct bio *clone;
	bool split;

	if (unlikely(!ti)) {
		percpu_ref_put(&t->ref);
		bio_io_error(bio);
		return;
	}
	if (unlikely(bd->readonly && op_is_write(bio_op(bio)))) {
		percpu_ref_put(&t->ref);
		bio_io_error(bio);
		return;
	}
	if (unlikely(bio->bi_opf & REQ_NOWAIT))
		gfp = GFP_NOWAIT;

	sectors = bstack_target_max_io(ti, sector, bio_sectors(bio));
	if (unlikely(ti->num_range_bios && bstack_op_is_range(bio))) {
		unsigned int in_target = min_t(sector_t, bio_sectors(bio),
					       ti->begin + ti->len - sector);

		/* Worth it only when the piece would cross a chunk. */
		if (sectors < in_target) {
			bstack_map_range(bd, t, ti, bio, in_target, gfp);
			return;
		}
	}
	split = sectors < bio_sectors(bio);

	/*
	 * Each piece of a REQ_NOWAIT bio is cloned with GFP_NOWAIT, and
	 * the bio ends with AGAIN when one cannot be had.
	 */
	io = bstack_io_alloc_piece(bd, t, bio, sectors, gfp);
	if (unlikely(!io)) {
		bstack_bio_wouldblock(t, bio);
		return;
	}
	bstack_io_start_acct(bd, io, bio, sectors);
	clone = &io->clone.bio;
	/* A direct call for the built-in targets most tables use. */
	if (INDIRECT_CALL_2(ti->type->map, bstack_linear_map, bstack_stripe_map,
			    ti, clone) == BSTACK_MAP_REMAPPED)
		bstack_submit_clone(clone);
	/* The rest comes back here once the piece above is on its way. */
	if (split)
		submit_bio_noacct(bio);
}

/* Offer an empty flush to the targets that want to see it (faulty). */
static blk_status_t bstack_table_flush_hooks(struct bstack_table *t)
{
	blk_status_t status = BLK_STS_OK, r;
	unsigned int i;

	for (i = 0; i < t->num_targets; i++) {
		struct bstack_target *ti = &t->targets[i];

		if (ti->type->flush) {
			r = ti->type->flush(ti);
			if (r && !status)
				status = r;
		}
	}
	return status;
}

/*
 * An empty REQ_PREFLUSH goes to every distinct lower device; a flush with
 * data does that first, and bstack_io_complete() sends the data after.
 */
static void bstack_flush(struct bstack_device *bd, struct bstack_table *t,
			 struct bio *bio)
{
	struct bstack_io *io = NULL;
	struct bstack_lower *l;

	this_cpu_inc(bd->stats->flushes);
	if (unlikely(t->flush_hooks)) {
		blk_status_t status = bstack_table_flush_hooks(t);

		if (status) {
			this_cpu_inc(bd->stats->errors);
			bstack_device_event(bd);
			percpu_ref_put(&t->ref);
			bio->bi_status = status;
			bio_endio(bio);
			return;
		}
	}
	list_for_each_entry(l, &t->lowers, list) {
		struct bio *clone = bstack_alloc_clone(l->bdev, bio, GFP_NOIO,
						       &bd->bs);

		if (!io) {
			/* One reference for this clone, one held while mapping. */
			io = bstack_io_init(clone, bio, t);
			atomic_inc(&io->pending);
			this_cpu_inc(bd->stats->in_flight);
		} else {
			bstack_io_add_clone(io, clone);
		}
		clone->bi_iter.bi_size = 0;
		clone->bi_opf = REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC;
		/* Submitted before the next allocation: see the top of the file. */
		bstack_submit_clone(clone);
	}

	if (io) {
		bstack_io_put(io, BLK_STS_OK);	/* the mapping's reference */
		return;
	}
	/* No lower device to flush. */
	bio->bi_opf &= ~REQ_PREFLUSH;
	if (bio_sectors(bio)) {
		bstack_map_bio(bd, t, bio);
	} else {
		percpu_ref_put(&t->ref);
		bio_endio(bio);
	}
}

/*
 * The device is suspended: hold @bio until it resumes, or end it with
 * AGAIN if it may not wait. Returns false if the device is not suspended.
 */
static bool bstack_hold_bio(struct bstack_device *bd, struct bio *bio)
{
	bool nowait = bio->bi_opf & REQ_NOWAIT;
	unsigned long flags;
	bool held;

	spin_lock_irqsave(&bd->lock, flags);
	held = bd->suspended;
	if (held && !nowait)
		bio_list_add(&bd->deferred, bio);
	spin_unlock_irqrestore(&bd->lock, flags);
	if (held && nowait)
		bio_wouldblock_error(bio);
	return held;
}

/*
 * The live table, with a reference for @bio. NULL when @bio has been taken
 * care of instead: held because the device is suspended (or ended with
 * AGAIN if it is NOWAIT), or failed because the device has no table.
 */
static struct bstack_table *bstack_get_live_table(struct bstack_device *bd,
						  struct bio *bio)
{
	struct bstack_table *t;

	for (;;) {
		rcu_read_lock();
		t = rcu_dereference(bd->live);
		if (likely(t && percpu_ref_tryget_live_rcu(&t->ref))) {
			rcu_read_unlock();
			return t;
		}
		rcu_read_unlock();
		/*
		 * A dead table means a suspend. Checked under bd->lock, a
		 * resume has either not yet taken the held bios, so @bio
		 * goes with them, or has brought a live table back first.
		 */
		if (bstack_hold_bio(bd, bio))
			return NULL;
		if (!t) {
			bio_io_error(bio);
			return NULL;
		}
		cpu_relax();
	}
}

static void bstack_submit_bio(struct bio *bio)
{
	struct bstack_device *bd = bio->bi_bdev->bd_disk->private_data;
	struct bstack_table *t = bstack_get_live_table(bd, bio);

	if (unlikely(!t))
		return;
	if (unlikely(bio->bi_opf & REQ_PREFLUSH)) {
		/* A flush allocates one clone per device: it may block. */
		if (bio->bi_opf & REQ_NOWAIT) {
			percpu_ref_put(&t->ref);
			bio_wouldblock_error(bio);
			return;
		}
		bstack_flush(bd, t, bio);
	} else {
		bstack_map_bio(bd, t, bio);
	}
}

static void bstack_deferred_remove_fn(struct work_struct *work);

static int bstack_open(struct gendisk *disk, blk_mode_t mode)
{
	struct bstack_device *bd = disk->private_data;

	/* disk->open_mutex is held: this cannot race with the check in remove. */
	if (bd->removing)
		return -ENXIO;
	return 0;
}

static void bstack_release(struct gendisk *disk)
{
	struct bstack_device *bd = disk->private_data;

	/*
	 * disk->open_mutex is held: see bstack_device_remove(). The device
	 * is on the list, which holds a reference, so this put is not the
	 * last.
	 */
	if (bd->deferred_remove && !disk_openers(disk)) {
		kref_get(&bd->kref);
		if (!queue_work(bstack_remove_wq, &bd->remove_work))
			bstack_device_put(bd);
	}
}

static const struct block_device_operations bstack_fops = {
	.owner		= THIS_MODULE,
	.submit_bio	= bstack_submit_bio,
	.open		= bstack_open,
	.release	= bstack_release,
};

/*
 * The attributes do not take bd->ctl_lock, which would deadlock against a
 * removal: it holds the lock while del_gendisk() drains these readers. A
 * rename changes the name and uuid under bd->lock too, so they read them
 * under it; @suspended is one flag.
 */
static ssize_t bstack_show_string(struct device *dev, char *buf,
				  bool uuid)
{
	struct bstack_device *bd = dev_to_disk(dev)->private_data;
	ssize_t n;

	spin_lock_irq(&bd->lock);
	n = sysfs_emit(buf, "%s\n", uuid ? bd->uuid : bd->name);
	spin_unlock_irq(&bd->lock);
	return n;
}

static ssize_t name_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return bstack_show_string(dev, buf, false);
}
static DEVICE_ATTR_RO(name);

static ssize_t uuid_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return bstack_show_string(dev, buf, true);
}
static DEVICE_ATTR_RO(uuid);

static ssize_t suspended_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct bstack_device *bd = dev_to_disk(dev)->private_data;

	return sysfs_emit(buf, "%d\n", READ_ONCE(bd->suspended));
}
static DEVICE_ATTR_RO(suspended);

static struct attribute *bstack_attrs[] = {
	&dev_attr_name.attr,
	&dev_attr_uuid.attr,
	&dev_attr_suspended.attr,
	NULL,
};

static const struct attribute_group bstack_attr_group = {
	.name	= "bstack",
	.attrs	= bstack_attrs,
};

static const struct attribute_group *bstack_attr_groups[] = {
	&bstack_attr_group,
	NULL,
};

struct bstack_device *bstack_device_find(const char *name)
{
	struct bstack_device *bd;

	lockdep_assert_held(&bstack_devices_lock);
	list_for_each_entry(bd, &bstack_devices, list)
		if (!strcmp(bd->name, name))
			return bd;
	return NULL;
}

/* The device named @name, with a reference for bstack_device_put(). */
struct bstack_device *bstack_device_get(const char *name)
{
	struct bstack_device *bd;

	mutex_lock(&bstack_devices_lock);
	bd = bstack_device_find(name);
	if (bd)
		kref_get(&bd->kref);
	mutex_unlock(&bstack_devices_lock);
	return bd;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_get);

/* How many devices there are. */
static unsigned int bstack_device_count(void)
{
	struct bstack_device *bd;
	unsigned int n = 0;

	mutex_lock(&bstack_devices_lock);
	list_for_each_entry(bd, &bstack_devices, list)
		n++;
	mutex_unlock(&bstack_devices_lock);
	return n;
}

/* The @i-th device on the list, with a reference; NULL past its end. */
static struct bstack_device *bstack_device_get_nth(unsigned int i)
{
	struct bstack_device *bd;

	mutex_lock(&bstack_devices_lock);
	list_for_each_entry(bd, &bstack_devices, list) {
		if (!i--) {
			kref_get(&bd->kref);
			mutex_unlock(&bstack_devices_lock);
			return bd;
		}
	}
	mutex_unlock(&bstack_devices_lock);
	return NULL;
}

/*
 * The last reference is gone: bstack_device_remove() has taken the device
 * off the list and out of the block layer; free what it left.
 */
static void bstack_device_release(struct kref *kref)
{
	struct bstack_device *bd = container_of(kref, struct bstack_device,
						kref);

	put_disk(bd->disk);
	bioset_exit(&bd->bs);
	free_percpu(bd->stats);
	ida_free(&bstack_minors, bd->index);
	mutex_destroy(&bd->ctl_lock);
	kfree(bd);
}

void bstack_device_put(struct bstack_device *bd)
{
	kref_put(&bd->kref, bstack_device_release);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_put);

struct list_head *bstack_device_list(void)
{
	lockdep_assert_held(&bstack_devices_lock);
	return &bstack_devices;
}

/* Either lock keeps the slots: a writer holds both. */
#define bstack_slots_held(bd)					\
	(lockdep_is_held(&(bd)->ctl_lock) ||			\
	 lockdep_is_held(&bstack_devices_lock))

struct bstack_table *bstack_device_table(struct bstack_device *bd,
					 bool inactive)
{
	lockdep_assert(bstack_slots_held(bd));
	if (inactive)
		return bd->inactive;
	return rcu_dereference_protected(bd->live, bstack_slots_held(bd));
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_table);

/**
 * bstack_device_create - make /dev/bstackN, with no table yet
 * @name:	the device's name, validated by the caller
 * @uuid:	its uuid, may be empty
 * @readonly:	refuse writes
 * @bdp:	the new device
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * The device has size 0 until a table is loaded and resumed. The caller
 * has validated @name and @uuid. On success, the device is on the list
 * and the caller holds its ctl_lock and a reference: it loads the first
 * table, if any, before any other control call can touch the device, then
 * unlocks it and puts the reference.
 */
int bstack_device_create(const char *name, const char *uuid, bool readonly,
			 struct bstack_device **bdp, char *err)
{
	struct queue_limits lim = { .features = BLK_FEAT_IO_STAT };
	struct bstack_device *bd;
	struct gendisk *disk;
	int r;

	bd = kzalloc(sizeof(*bd), GFP_KERNEL);
	if (!bd)
		return -ENOMEM;
	kref_init(&bd->kref);
	mutex_init(&bd->ctl_lock);
	strscpy(bd->name, name, sizeof(bd->name));
	strscpy(bd->uuid, uuid, sizeof(bd->uuid));
	bd->readonly = readonly;
	spin_lock_init(&bd->lock);
	bio_list_init(&bd->deferred);
	bio_list_init(&bd->requeue);
	INIT_WORK(&bd->requeue_work, bstack_requeue_work);
	INIT_WORK(&bd->remove_work, bstack_deferred_remove_fn);

	r = ida_alloc_max(&bstack_minors, MINORMASK, GFP_KERNEL);
	if (r < 0)
		goto out_free_bd;
	bd->index = r;

	r = -ENOMEM;
	bd->stats = alloc_percpu(struct bstack_stats);
	if (!bd->stats)
		goto out_free_minor;

	r = bstack_bioset_init(&bd->bs);
	if (r)
		goto out_free_stats;

	disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
	if (IS_ERR(disk)) {
		r = PTR_ERR(disk);
		goto out_free_bioset;
	}
	disk->major = bstack_major;
	disk->first_minor = bd->index;
	disk->minors = 1;
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &bstack_fops;
	disk->private_data = bd;
	snprintf(disk->disk_name, DISK_NAME_LEN, "bstack%d", bd->index);
	set_disk_ro(disk, readonly);
	bd->disk = disk;

	/* Nobody else knows @bd yet: this cannot wait. */
	mutex_lock(&bd->ctl_lock);
	mutex_lock(&bstack_devices_lock);
	if (bstack_device_find(name)) {
		mutex_unlock(&bstack_devices_lock);
		mutex_unlock(&bd->ctl_lock);
		snprintf(err, BSTACK_ERROR_LEN, "name '%s' already exists", name);
		r = -EEXIST;
		goto out_put_disk;
	}
	r = device_add_disk(NULL, disk, bstack_attr_groups);
	if (r) {
		mutex_unlock(&bstack_devices_lock);
		mutex_unlock(&bd->ctl_lock);
		goto out_put_disk;
	}
	list_add_tail(&bd->list, &bstack_devices);
	kref_get(&bd->kref);	/* the caller's; kref_init() gave the list's */
	mutex_unlock(&bstack_devices_lock);
	*bdp = bd;
	return 0;

out_put_disk:
	put_disk(disk);
out_free_bioset:
	bioset_exit(&bd->bs);
out_free_stats:
	free_percpu(bd->stats);
out_free_minor:
	ida_free(&bstack_minors, bd->index);
out_free_bd:
	mutex_destroy(&bd->ctl_lock);
	kfree(bd);
	if (r != -EEXIST)
		snprintf(err, BSTACK_ERROR_LEN,
			 "cannot create device '%s': error %d", name, r);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_create);

/**
 * bstack_device_rename - give @bd a new name, or a uuid it lacks
 * @bd:		the device
 * @value:	the new name, or uuid; validated by the caller
 * @uuid:	set the uuid, which must be empty, as dmsetup rename --setuuid
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 */
int bstack_device_rename(struct bstack_device *bd, const char *value,
			 bool uuid, char *err)
{
	char *slot = uuid ? bd->uuid : bd->name;
	char *env[2];

	lockdep_assert_held(&bd->ctl_lock);
	if (uuid && bd->uuid[0]) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "the device has uuid '%s' already: a uuid is set only once",
			 bd->uuid);
		return -EINVAL;
	}
	mutex_lock(&bstack_devices_lock);
	if (!uuid && bstack_device_find(value)) {
		mutex_unlock(&bstack_devices_lock);
		snprintf(err, BSTACK_ERROR_LEN, "name '%s' already exists",
			 value);
		return -EEXIST;
	}
	spin_lock_irq(&bd->lock);
	strscpy(slot, value, BSTACK_NAME_LEN);
	spin_unlock_irq(&bd->lock);
	mutex_unlock(&bstack_devices_lock);
	env[0] = kasprintf(GFP_KERNEL, "BSTACK_%s=%s", uuid ? "UUID" : "NAME",
			   value);
	env[1] = NULL;
	if (env[0])
		kobject_uevent_env(&disk_to_dev(bd->disk)->kobj, KOBJ_CHANGE,
				   env);
	kfree(env[0]);
	bstack_device_event(bd);
	return 0;
}

/* How many bstack levels the cycle check walks under a new table. */
#define BSTACK_MAX_DEPTH	64

/* Numbers the cycle checks, so that each walks a device once. */
static unsigned long bstack_walk;

static struct bstack_device *bstack_device_by_devt(dev_t dev)
{
	struct bstack_device *bd;

	list_for_each_entry(bd, &bstack_devices, list)
		if (disk_devt(bd->disk) == dev)
			return bd;
	return NULL;
}

/*
 * Does @dev map @bd, itself or through the live and inactive tables of
 * the bstack devices under it? Devices of other drivers are not looked
 * into. Returns 1, 0, or -ELOOP when the walk goes deeper than
 * BSTACK_MAX_DEPTH. Recursive, but bounded by that depth.
 */
static int bstack_maps(dev_t dev, struct bstack_device *bd,
		       unsigned int depth)
{
	struct bstack_device *d;
	struct bstack_lower *l;
	struct bstack_table *t;
	int i, r;

	lockdep_assert_held(&bstack_devices_lock);
	if (dev == disk_devt(bd->disk))
		return 1;
	d = bstack_device_by_devt(dev);
	if (!d || d->walk == bstack_walk)
		return 0;
	if (depth >= BSTACK_MAX_DEPTH)
		return -ELOOP;
	d->walk = bstack_walk;
	for (i = 0; i < 2; i++) {
		t = bstack_device_table(d, i);
		if (!t)
			continue;
		list_for_each_entry(l, &t->lowers, list) {
			r = bstack_maps(l->dev, bd, depth + 1);
			if (r)
				return r;
		}
	}
	return 0;
}

/**
 * bstack_device_load - make @t the inactive table of @bd
 * @bd:		the device, whose ctl_lock the caller holds
 * @t:		a complete table; the caller keeps it if this fails
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * Refuses a table under which a bstack device maps @bd already: I/O would
 * go round the cycle for ever. The check and the store are one step under
 * bstack_devices_lock, so two loads cannot each close half of a cycle.
 * What was in the inactive slot is destroyed.
 */
int bstack_device_load(struct bstack_device *bd, struct bstack_table *t,
		       char *err)
{
	struct bstack_table *old = NULL;
	struct bstack_device *d = NULL;
	struct bstack_lower *l;
	int r = 0;

	lockdep_assert_held(&bd->ctl_lock);
	mutex_lock(&bstack_devices_lock);
	bstack_walk++;
	list_for_each_entry(l, &t->lowers, list) {
		r = bstack_maps(l->dev, bd, 0);
		if (r) {
			d = bstack_device_by_devt(l->dev);
			break;
		}
	}
	if (r == -ELOOP) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "more than %u bstack devices are stacked under this table",
			 BSTACK_MAX_DEPTH);
	} else if (r) {
		/* Two names may not fit: the start of the line says most. */
		scnprintf(err, BSTACK_ERROR_LEN,
			  "%s (%u:%u) maps %s already: this table would make a cycle",
			  d ? d->name : "its lower device", MAJOR(l->dev),
			  MINOR(l->dev), bd->name);
		r = -EINVAL;
	} else {
		old = bd->inactive;
		bd->inactive = t;
	}
	mutex_unlock(&bstack_devices_lock);
	/* A reader that saw @old held bstack_devices_lock: it is done. */
	bstack_table_destroy(old);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_load);

/* Put @t, or nothing, in the inactive slot; what was there is destroyed. */
void bstack_device_set_inactive(struct bstack_device *bd,
				struct bstack_table *t)
{
	struct bstack_table *old;

	lockdep_assert_held(&bd->ctl_lock);
	mutex_lock(&bstack_devices_lock);
	old = bd->inactive;
	bd->inactive = t;
	mutex_unlock(&bstack_devices_lock);
	/* A reader that saw @old held bstack_devices_lock: it is done. */
	bstack_table_destroy(old);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_set_inactive);

/*
 * Take a live @t out of service for good: wait until the last bio mapped
 * with it is in, then close its devices. Its slot no longer points at it.
 */
static void bstack_table_retire(struct bstack_table *t)
{
	percpu_ref_kill(&t->ref);
	wait_for_completion(&t->released);
	bstack_table_destroy(t);
}

static void bstack_stack_limits_fn(struct block_device *bdev, sector_t start,
				   void *data)
{
	queue_limits_stack_bdev(data, bdev, start, "bstack");
}

void bstack_table_stack_limits(struct bstack_table *t,
			       struct queue_limits *lim)
{
	struct bstack_lower *l;
	unsigned int i;

	blk_set_stacking_limits(lim);
	lim->features |= BLK_FEAT_IO_STAT;
	/* blk_stack_limits() keeps it only if every lower device has it. */
	lim->features |= BLK_FEAT_NOWAIT;
	for (i = 0; i < t->num_targets; i++) {
		struct bstack_target *ti = &t->targets[i];

		if (ti->type->iterate_devices)
			ti->type->iterate_devices(ti, bstack_stack_limits_fn,
						  lim);
	}
	for (i = 0; i < t->num_targets; i++)
		if (t->targets[i].type->io_hints)
			t->targets[i].type->io_hints(&t->targets[i], lim);
	/*
	 * blk_stack_limits() keeps the smallest write-zeroes size, so one
	 * lower device without it turns it off; but it keeps the smallest
	 * non-zero discard and secure-erase sizes. Offer those only when
	 * every lower device takes them, as dm does.
	 */
	list_for_each_entry(l, &t->lowers, list) {
		if (!bdev_max_discard_sectors(l->bdev)) {
			lim->max_hw_discard_sectors = 0;
			lim->discard_granularity = 0;
		}
		if (!bdev_max_secure_erase_sectors(l->bdev))
			lim->max_secure_erase_sectors = 0;
	}
	/*
	 * Zoned lower devices are refused. Without any lower device (a
	 * table of zero and error lines) the zone limits would keep the
	 * stacking defaults, which a device that is not zoned may not have.
	 */
	lim->features &= ~BLK_FEAT_ZONED;
	lim->max_zone_append_sectors = 0;
	lim->zone_write_granularity = 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_stack_limits);

/*
 * Let bios through again; the live table, if there is one, is alive. The
 * held bios go to the worker, which submits them in the order they came.
 */
static void bstack_device_unsuspend(struct bstack_device *bd)
{
	spin_lock_irq(&bd->lock);
	WRITE_ONCE(bd->suspended, false);
	bio_list_merge(&bd->requeue, &bd->deferred);
	bio_list_init(&bd->deferred);
	spin_unlock_irq(&bd->lock);
	queue_work(bstack_wq, &bd->requeue_work);
	if (bd->frozen) {
		bdev_thaw(bd->disk->part0);
		bd->frozen = false;
	}
}

/* A suspended device's live table, drained, goes back to work. */
static void bstack_device_revive(struct bstack_device *bd)
{
	struct bstack_table *t = bstack_device_table(bd, false);

	if (t) {
		percpu_ref_reinit(&t->ref);
		reinit_completion(&t->released);
	}
	bstack_device_unsuspend(bd);
}

/**
 * bstack_device_suspend - hold new bios and wait for those in flight
 * @bd:		the device
 * @flags:	BSTACK_SUSPEND_LOCKFS to freeze the filesystem first
 * @timeout:	how long to wait for the bios in flight, in jiffies; 0 for
 *		as long as it takes
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a failure
 *
 * Bios that come in meanwhile are held until the device resumes; NOWAIT
 * ones end with AGAIN. If the wait times out or a signal interrupts it,
 * the device goes back to work as it was and the call fails. Suspending a
 * suspended device does nothing.
 */
int bstack_device_suspend(struct bstack_device *bd, unsigned int flags,
			  unsigned long timeout, char *err)
{
	struct bstack_table *t = bstack_device_table(bd, false);
	long left;
	int r;

	lockdep_assert_held(&bd->ctl_lock);
	if (bd->suspended)
		return 0;
	if (flags & BSTACK_SUSPEND_LOCKFS) {
		r = bdev_freeze(bd->disk->part0);
		if (r) {
			snprintf(err, BSTACK_ERROR_LEN,
				 "cannot freeze the filesystem on %s (%s): error %d",
				 bd->name, bd->disk->disk_name, r);
			return r;
		}
		bd->frozen = true;
	}
	spin_lock_irq(&bd->lock);
	WRITE_ONCE(bd->suspended, true);
	spin_unlock_irq(&bd->lock);
	if (t) {
		/* No new bio gets the table; the last one in completes this. */
		percpu_ref_kill(&t->ref);
		left = wait_for_completion_interruptible_timeout(&t->released,
				timeout ?: MAX_SCHEDULE_TIMEOUT);
		if (left <= 0) {
			/*
			 * Back to work. A bio that ended meanwhile may still be
			 * in the table's release callback: percpu_ref_put()
			 * runs it under rcu_read_lock(), so after a grace
			 * period it is gone and the completion can be reset.
			 */
			percpu_ref_resurrect(&t->ref);
			synchronize_rcu();
			reinit_completion(&t->released);
			bstack_device_unsuspend(bd);
			if (left)
				snprintf(err, BSTACK_ERROR_LEN,
					 "suspending %s was interrupted by a signal; it runs on",
					 bd->name);
			else
				snprintf(err, BSTACK_ERROR_LEN,
					 "suspending %s timed out after %u ms with I/O still in flight; it runs on",
					 bd->name, jiffies_to_msecs(timeout));
			return left ? -EINTR : -ETIMEDOUT;
		}
	}
	bstack_device_event(bd);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_suspend);

/**
 * bstack_device_resume - swap in the inactive table, let bios through
 * @bd:		the device
 * @flags:	BSTACK_SUSPEND_LOCKFS to freeze the filesystem while the
 *		tables swap, if the device is not suspended already
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * With an inactive table, the device is first suspended if it is not, as
 * dm does: no bio runs on the old table while one runs on the new. The new
 * table's queue limits are applied; if the lower devices cannot be
 * stacked, nothing changes. The new table replaces the old one, which is
 * destroyed. Then the device resumes: the held bios go down, on the new
 * table or on the old one brought back to life.
 */
int bstack_device_resume(struct bstack_device *bd, unsigned int flags,
			 char *err)
{
	struct bstack_table *new = bd->inactive, *old;
	bool was_suspended = bd->suspended;
	struct queue_limits lim;
	int r;

	lockdep_assert_held(&bd->ctl_lock);
	if (!new) {
		if (!was_suspended)
			return 0;
		bstack_device_revive(bd);
		goto resumed;
	}

	if (!was_suspended) {
		r = bstack_device_suspend(bd, flags, 0, err);
		if (r)
			return r;
	}
	bstack_table_stack_limits(new, &lim);
	r = queue_limits_set(bd->disk->queue, &lim);
	if (r) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "the lower devices' queue limits cannot be combined (error %d)",
			 r);
		if (!was_suspended)
			bstack_device_revive(bd);
		return r;
	}

	mutex_lock(&bstack_devices_lock);
	bd->inactive = NULL;
	old = rcu_replace_pointer(bd->live, new, true);
	mutex_unlock(&bstack_devices_lock);
	set_capacity_and_notify(bd->disk, new->size);
	/* Suspended: its last bio is in. */
	bstack_table_destroy(old);
	bstack_device_unsuspend(bd);
resumed:
	bstack_device_event(bd);
	kobject_uevent(&disk_to_dev(bd->disk)->kobj, KOBJ_CHANGE);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_resume);

/*
 * Say who uses @bd, for a removal that it refuses: a filesystem, another
 * bstack device that maps it, another driver that claimed it, or openers.
 */
static void bstack_device_busy(struct bstack_device *bd, unsigned int openers,
			       char *err)
{
	struct block_device *part0 = bd->disk->part0;
	struct bstack_device *other;
	const char *who = NULL;
	size_t n;

	n = scnprintf(err, BSTACK_ERROR_LEN, "%s (%s) is open by %u user%s",
		      bd->name, bd->disk->disk_name, openers,
		      openers == 1 ? "" : "s");
	mutex_lock(&bstack_devices_lock);
	list_for_each_entry(other, &bstack_devices, list) {
		struct bstack_table *t = bstack_device_table(other, false);
		struct bstack_lower *l;

		if (!t)
			continue;
		list_for_each_entry(l, &t->lowers, list) {
			if (l->bdev == part0) {
				scnprintf(err + n, BSTACK_ERROR_LEN - n,
					  ": bstack device '%s' (%s) maps it",
					  other->name, other->disk->disk_name);
				mutex_unlock(&bstack_devices_lock);
				return;
			}
		}
	}
	mutex_unlock(&bstack_devices_lock);
	mutex_lock(&part0->bd_holder_lock);
	if (part0->bd_holder_ops == &fs_holder_ops)
		who = ": a filesystem is mounted on it";
	else if (part0->bd_holder)
		who = ": another driver claimed it (see its holders/ in sysfs)";
	mutex_unlock(&part0->bd_holder_lock);
	if (who)
		strscpy(err + n, who, BSTACK_ERROR_LEN - n);
}

/* Swap in a table that fails every I/O, of the same size, for --force. */
static int bstack_device_set_error_table(struct bstack_device *bd, char *err)
{
	sector_t size = get_capacity(bd->disk);
	struct bstack_table *t;
	int r;

	if (!size)
		return 0;
	t = bstack_table_alloc(bd, 1, BLK_OPEN_READ, err);
	if (IS_ERR(t))
		return PTR_ERR(t);
	r = bstack_table_add_target(t, "error", 0, size, "", 0);
	if (!r)
		r = bstack_table_complete(t);
	if (r) {
		bstack_table_destroy(t);
		return r;
	}
	bstack_device_set_inactive(bd, t);
	return bstack_device_resume(bd, 0, err);
}

/**
 * bstack_device_remove - tear down a device
 * @bd:		the device
 * @flags:	BSTACK_REMOVE_FORCE: if it is open, replace its table with
 *		one that fails all I/O first, so that its users give up;
 *		BSTACK_REMOVE_DEFERRED: if it is open, remove it at its last
 *		close instead
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * An open device is refused with -EBUSY and a line that says who uses it,
 * unless @flags defers the removal, which then returns 0 with the device
 * still there. The caller holds @bd's ctl_lock and a reference, and has
 * checked that @bd is not being removed already. Once removed, @bd is off
 * the list and out of the block layer, and @bd->removing tells a control
 * call that waited for the lock; the caller's put frees it.
 */
int bstack_device_remove(struct bstack_device *bd, unsigned int flags,
			 char *err)
{
	struct gendisk *disk = bd->disk;
	struct bstack_table *live, *inactive;
	struct bio *bio, *held;
	unsigned int openers;
	int r;

	lockdep_assert_held(&bd->ctl_lock);
	/* bstack_open() and bstack_release() run under open_mutex too. */
	mutex_lock(&disk->open_mutex);
	openers = disk_openers(disk);
	if (!openers)
		bd->removing = true;
	else if (flags & BSTACK_REMOVE_DEFERRED)
		bd->deferred_remove = true;
	mutex_unlock(&disk->open_mutex);
	if (openers) {
		if (flags & BSTACK_REMOVE_FORCE) {
			r = bstack_device_set_error_table(bd, err);
			if (r)
				return r;
		}
		if (flags & BSTACK_REMOVE_DEFERRED)
			return 0;
		bstack_device_busy(bd, openers, err);
		if (flags & BSTACK_REMOVE_FORCE)
			strlcat(err, "; all its I/O fails now", BSTACK_ERROR_LEN);
		return -EBUSY;
	}

	mutex_lock(&bstack_devices_lock);
	list_del(&bd->list);
	live = rcu_replace_pointer(bd->live, NULL, true);
	inactive = bd->inactive;
	bd->inactive = NULL;
	mutex_unlock(&bstack_devices_lock);
	if (live && bd->suspended)
		bstack_table_destroy(live);	/* drained by the suspend */
	else if (live)
		bstack_table_retire(live);
	bstack_table_destroy(inactive);
	/* Bios held by a suspend have nowhere to go. */
	spin_lock_irq(&bd->lock);
	WRITE_ONCE(bd->suspended, false);
	held = bio_list_get(&bd->deferred);
	spin_unlock_irq(&bd->lock);
	while ((bio = held)) {
		held = bio->bi_next;
		bio->bi_next = NULL;
		bio_io_error(bio);
	}
	if (bd->frozen) {
		bdev_thaw(disk->part0);
		bd->frozen = false;
	}
	/* A flush with data may have handed its data to the worker. */
	flush_work(&bd->requeue_work);
	del_gendisk(disk);
	/* A WAIT_EVENT on this device wakes up to find it gone. */
	atomic_inc(&bstack_event_seq);
	wake_up_all(&bstack_event_wq);
	bstack_device_put(bd);	/* the list's */
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_remove);

/*
 * Remove the @i-th device with @flags, if it is still there. Returns 0 if
 * it went, -ENOENT if there is no @i-th device, -EINTR on a signal, or
 * the refusal; *@gone says whether the @i-th device left the list.
 */
static int bstack_device_remove_nth(unsigned int i, unsigned int flags,
				    bool *gone, char *err)
{
	struct bstack_device *bd = bstack_device_get_nth(i);
	int r;

	*gone = false;
	if (!bd)
		return -ENOENT;
	r = mutex_lock_interruptible(&bd->ctl_lock);
	if (!r) {
		/* A removal that held the lock took it off the list. */
		r = bd->removing ? -ENXIO : bstack_device_remove(bd, flags, err);
		*gone = bd->removing;
		mutex_unlock(&bd->ctl_lock);
	}
	bstack_device_put(bd);
	return r;
}

/**
 * bstack_device_remove_all - remove every device that can go
 * @flags:	BSTACK_REMOVE_* for the devices that are open
 * @removed:	how many were removed
 *
 * Devices that map one another go in as many passes as it takes: an upper
 * device first, then the lower one it held open. Each device is locked in
 * turn, so one whose suspend waits holds this up until it is done, as it
 * would a removal of that device alone; a signal ends the wait. Returns
 * how many devices are left that were not scheduled for a deferred
 * removal, or -EINTR.
 */
int bstack_device_remove_all(unsigned int flags, unsigned int *removed)
{
	char err[BSTACK_ERROR_LEN];
	unsigned int i, left = 0;
	bool progress, gone;
	int r;

	*removed = 0;
	do {
		progress = false;
		for (i = 0; ; ) {
			r = bstack_device_remove_nth(i, 0, &gone, err);
			if (r == -ENOENT)
				break;
			if (r == -EINTR)
				return r;
			if (!r) {
				(*removed)++;
				progress = true;
			}
			/* The list moved up under i if it left. */
			if (!gone)
				i++;
		}
	} while (progress);
	if (!flags)
		return bstack_device_count();
	for (i = 0; ; ) {
		r = bstack_device_remove_nth(i, flags, &gone, err);
		if (r == -ENOENT)
			break;
		if (r == -EINTR)
			return r;
		if (gone) {
			(*removed) += !r;
			continue;
		}
		/* 0 with the device there: removed at its last close. */
		if (r)
			left++;
		i++;
	}
	return left;
}

/* The deferred removal of @bd, queued by its last close; holds a reference. */
static void bstack_deferred_remove_fn(struct work_struct *work)
{
	struct bstack_device *bd = container_of(work, struct bstack_device,
						remove_work);
	char err[BSTACK_ERROR_LEN];

	mutex_lock(&bd->ctl_lock);
	/* Reopened meanwhile: its next last close queues this again. */
	if (!bd->removing && bd->deferred_remove)
		bstack_device_remove(bd, 0, err);
	mutex_unlock(&bd->ctl_lock);
	bstack_device_put(bd);
}

static int __init bstack_init(void)
{
	int r;

	bstack_wq = alloc_workqueue("bstack", WQ_MEM_RECLAIM, 0);
	if (!bstack_wq)
		return -ENOMEM;
	r = -ENOMEM;
	bstack_remove_wq = alloc_workqueue("bstack_remove", 0, 0);
	if (!bstack_remove_wq)
		goto out_destroy_wq;

	r = register_blkdev(0, "bstack");
	if (r < 0)
		goto out_destroy_remove_wq;
	bstack_major = r;

	r = bstack_linear_init();
	if (r)
		goto out_unregister_blkdev;

	r = bstack_striped_init();
	if (r)
		goto out_linear_exit;

	r = bstack_error_zero_init();
	if (r)
		goto out_striped_exit;

	r = bstack_faulty_init();
	if (r)
		goto out_error_zero_exit;

	r = bstack_ctl_init();
	if (r)
		goto out_faulty_exit;

	pr_info("bstack: version %u.%u.%u loaded, major %d\n",
		BSTACK_VERSION_MAJOR, BSTACK_VERSION_MINOR,
		BSTACK_VERSION_PATCH, bstack_major);
	return 0;

out_faulty_exit:
	bstack_faulty_exit();
out_error_zero_exit:
	bstack_error_zero_exit();
out_striped_exit:
	bstack_striped_exit();
out_linear_exit:
	bstack_linear_exit();
out_unregister_blkdev:
	unregister_blkdev(bstack_major, "bstack");
out_destroy_remove_wq:
	destroy_workqueue(bstack_remove_wq);
out_destroy_wq:
	destroy_workqueue(bstack_wq);
	return r;
}

static void __exit bstack_exit(void)
{
	unsigned int removed;

	/*
	 * No new device can be made once the control node is gone, and no
	 * control call runs: each holds the node open, which pins us. A
	 * deferred removal may still be queued; it finds its device gone.
	 */
	bstack_ctl_exit();
	if (bstack_device_remove_all(0, &removed))
		pr_err("bstack: devices are still open at unload\n");
	destroy_workqueue(bstack_remove_wq);
	bstack_faulty_exit();
	bstack_error_zero_exit();
	bstack_striped_exit();
	bstack_linear_exit();
	unregister_blkdev(bstack_major, "bstack");
	destroy_workqueue(bstack_wq);
	ida_destroy(&bstack_minors);
}

module_init(bstack_init);
module_exit(bstack_exit);

MODULE_DESCRIPTION("bstack: a bio-based stacking block driver");
MODULE_AUTHOR("The bstack developers");
MODULE_LICENSE("GPL");
