// SPDX-License-Identifier: GPL-2.0
/*
 * bstack's bio path: submit, split, clone, remap, complete, flush.
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
 *
 * A polled bio (REQ_POLLED: io_uring IOPOLL, RWF_HIPRI) keeps its pieces
 * on a list that its bi_private holds while they are in flight, as dm
 * keeps its dm_ios (dm_queue_poll_io()); bstack_poll_bio() polls each
 * piece's clone on its lower device, and ends the pieces that are in.
 *
 * No lock is taken on this path while the device runs: the live table is
 * pinned with an RCU read and a per-cpu count of its users, the counters
 * are per cpu. bd->lock is taken only when the table is dead (a suspend
 * holds bios) and to hand bios to the requeue worker; bstack_drain_wq's
 * lock only by the puts of a table being drained, to wake the drain.
 */
#include <linux/indirect_call_wrapper.h>
#include <linux/module.h>
#include <linux/rcupdate.h>

#include "bstack.h"

/*
 * What a clone of a polled bio drops when it goes down unpolled: it ends
 * by interrupt then, where a bio of the per-cpu cache (REQ_ALLOC_CACHE,
 * which io_uring asks for polled I/O) may not be put on 6.1 (bio_put()
 * warns; its bio_clear_polled() drops both flags for that reason, and
 * 6.12 frees such a bio to the slab there anyway).
 */
#define BSTACK_REQ_POLL_ONLY	(REQ_POLLED | REQ_ALLOC_CACHE)

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
		sum->polled += READ_ONCE(s->polled);
	}
	if (sum->in_flight < 0)
		sum->in_flight = 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_device_stats);

/*
 * The slab of the devices' clones, held for the module's life. bio_sets
 * of one bio size share a slab, and the bioset_exit() of the last one
 * destroys it; kmem_cache_destroy() then waits for every kvfree_rcu() and
 * RCU callback in the system, which made the removal of a device, the
 * only one, take 95 ms of a 6.12 guest's time where dm's takes 45 (make
 * bench's devices axis). This bio_set of one bio keeps the slab there, so
 * that a device's bio_set only takes and drops a reference to it.
 */
static struct bio_set bstack_clone_slab;

int bstack_clone_slab_init(void)
{
	return bioset_init(&bstack_clone_slab, 1, BSTACK_FRONT_PAD, 0);
}

void bstack_clone_slab_exit(void)
{
	bioset_exit(&bstack_clone_slab);
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
	int r = bioset_init(bs, BIO_POOL_SIZE, BSTACK_FRONT_PAD,
			    BIOSET_NEED_RESCUER | BIOSET_PERCPU_CACHE);

	/* Clones of bios with protection information take a payload too. */
	if (!r) {
		r = bstack_bioset_integrity_init(bs);
		if (r)
			bioset_exit(bs);
	}
	return r;
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

static void bstack_io_retry(struct bstack_io *io);

void bstack_requeue_work(struct work_struct *work)
{
	struct bstack_device *bd =
		container_of(work, struct bstack_device, requeue_work);
	struct bio_list list, retry;
	struct bio *bio;

	spin_lock_irq(&bd->lock);
	list = bd->requeue;
	bio_list_init(&bd->requeue);
	retry = bd->retry;
	bio_list_init(&bd->retry);
	spin_unlock_irq(&bd->lock);

	while ((bio = bio_list_pop(&retry)))
		bstack_io_retry(container_of(bio, struct bstack_io, clone.bio));
	while ((bio = bio_list_pop(&list)))
		submit_bio_noacct(bio);
}

/*
 * The last clone of @io is in. End the original bio, or, for the flush in
 * front of a write with data, send the data on without REQ_PREFLUSH.
 * Inline in the clones' bi_end_io, where a 4k read ends.
 */
static __always_inline void bstack_io_complete(struct bstack_io *io)
{
	struct bstack_table *t = io->table;
	struct bio *orig = io->orig;
	blk_status_t status = io->status;

	if (io->acct)
		bstack_end_io_acct(orig->bi_bdev, bio_op(orig), io->sectors,
				   io->start_time);
	/*
	 * A zone append is never split: its one clone says where the device
	 * wrote it, at the same offset in the zone as on bstack's device.
	 */
	if (unlikely(bio_op(orig) == REQ_OP_ZONE_APPEND) && !status)
		orig->bi_iter.bi_sector +=
			io->clone.bio.bi_iter.bi_sector &
			(bdev_zone_sectors(orig->bi_bdev) - 1);
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
	bstack_table_put(t);
}

static __always_inline void __bstack_io_put(struct bstack_io *io,
					    blk_status_t status)
{
	if (unlikely(status))
		cmpxchg(&io->status, BLK_STS_OK, status);
	if (atomic_dec_and_test(&io->pending))
		bstack_io_complete(io);
}

/**
 * bstack_io_put - one clone of @io is in, or its mapping is done
 * @io:		the io
 * @status:	how it ended; the first error is kept for the original bio
 */
void bstack_io_put(struct bstack_io *io, blk_status_t status)
{
	__bstack_io_put(io, status);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_io_put);

/*
 * The REQ_NOWAIT piece of @io came back with AGAIN: the device below could
 * not take it without waiting. Pass that up only where its submitter sees
 * it in time to send the bio again: the bio was not split, and this is
 * the submitter's task (io_uring sends again only from the task that
 * submitted, and only in task context; a kernel thread here is a worker
 * that sent the piece later). Anywhere else the bio would end with AGAIN
 * in a context that hands EAGAIN to the application, or after other
 * pieces went down; so bstack sends the piece again itself, waiting.
 *
 * Nor does it go up from a polled piece: that io ends only when the
 * submitter polls it, after the submission returned, and io_uring takes
 * an AGAIN then as done (6.12 flags the request for a reissue that its
 * poll loop never makes, and the data is lost).
 */
static bool bstack_io_again_goes_up(struct bstack_io *io)
{
	return !bio_flagged(io->orig, BIO_CHAIN) && in_task() &&
	       !(current->flags & PF_KTHREAD) &&
	       !(io->clone.bio.bi_opf & REQ_POLLED);
}

/*
 * Send the REQ_NOWAIT piece of @io again, from the worker, as a new clone
 * that may wait; it takes over the reference of the first clone, which
 * came back with AGAIN and stays with @io until the end.
 */
static void bstack_io_retry(struct bstack_io *io)
{
	struct bstack_table *t = io->table;
	struct bstack_target *ti = bstack_table_find_target(t, io->iter.bi_sector);
	struct bstack_clone *c;
	struct bio *clone;

	/* GFP_NOIO: from the mempool, which waits rather than fails. */
	clone = bstack_alloc_clone(NULL, &io->clone.bio, GFP_NOIO, &t->bd->bs);
	clone->bi_iter = io->iter;
	/* From the worker: it completes by interrupt, see bstack_io_poll(). */
	clone->bi_opf &= ~(REQ_NOWAIT | BSTACK_REQ_POLL_ONLY);
	clone->bi_end_io = bstack_clone_endio;
	c = container_of(clone, struct bstack_clone, bio);
	c->io = io;
	if (ti->type->map(ti, clone) == BSTACK_MAP_REMAPPED)
		bstack_submit_clone(clone);
}

void bstack_clone_endio(struct bio *clone)
{
	struct bstack_clone *c = container_of(clone, struct bstack_clone, bio);
	struct bstack_io *io = c->io;
	blk_status_t status = clone->bi_status;
	unsigned long flags;

	if (unlikely(status)) {
		if (status == BLK_STS_AGAIN && (clone->bi_opf & REQ_NOWAIT) &&
		    clone == &io->clone.bio && !bstack_io_again_goes_up(io)) {
			struct bstack_device *bd = io->table->bd;

			spin_lock_irqsave(&bd->lock, flags);
			bio_list_add(&bd->retry, clone);
			spin_unlock_irqrestore(&bd->lock, flags);
			queue_work(bstack_wq, &bd->requeue_work);
			return;
		}
		cmpxchg(&io->status, BLK_STS_OK, status);
	}
	if (clone != &io->clone.bio)
		bio_put(clone);
	if (atomic_dec_and_test(&io->pending))
		bstack_io_complete(io);
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
 * when @gfp may not wait and no bio could be had without waiting; then
 * @bio is unchanged. KUnit tests redirect it to fail on demand.
 */
struct bio *bstack_cut(struct bio *bio, unsigned int sectors, gfp_t gfp,
		       struct bio_set *bs)
{
	struct bio *split;

	KUNIT_STATIC_STUB_REDIRECT(bstack_cut, bio, sectors, gfp, bs);

	if (sectors == bio_sectors(bio))
		return bio_alloc_clone(NULL, bio, gfp, bs);
	/*
	 * A failed split is NULL until 6.13 and an ERR_PTR after: take
	 * both, without a probe, as the same answer.
	 */
	split = bio_split(bio, sectors, gfp, bs);
	return IS_ERR(split) ? NULL : split;
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

/* @clone was cut from @bio: make it the io of a piece of @bio. */
static __always_inline struct bstack_io *
bstack_io_init_piece(struct bio *clone, struct bio *bio,
		     struct bstack_table *t, bool split)
{
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

	return clone ? bstack_io_init_piece(clone, bio, t, split) : NULL;
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
 * split in two counts twice, its sectors once. @last: the piece is what
 * was left of @bio (which, once a piece is cut off, is the rest). @rw:
 * @bio is known to be a READ or a WRITE.
 */
static __always_inline void bstack_io_start_acct(struct bstack_device *bd,
						 struct bstack_io *io,
						 struct bio *bio,
						 unsigned int sectors,
						 bool last, const bool rw)
{
	struct bstack_stats __percpu *stats = bd->stats;

	/* bstack's own counters: per cpu, each increment preemption-safe. */
	this_cpu_inc(stats->in_flight);
	if (!last)
		this_cpu_inc(stats->splits);
	if (!rw && bstack_op_is_range(bio)) {
		/* A bio counts once, with its last piece. */
		if (last)
			this_cpu_inc(stats->discards);
	} else {
		int dir = op_is_write(bio_op(bio)) ? WRITE : READ;

		if (last)
			this_cpu_inc(stats->ios[dir]);
		this_cpu_add(stats->bytes[dir], sectors << SECTOR_SHIFT);
	}

	if (blk_queue_io_stat(bd->disk->queue)) {
		io->acct = true;
		io->sectors = sectors;
		io->start_time = bstack_start_io_acct(bio->bi_bdev, bio_op(bio),
						      sectors, jiffies);
	}
}

/**
 * bstack_bio_wouldblock - a REQ_NOWAIT bio cannot go on without waiting
 * @bd:		the device
 * @t:		the live table; its reference is dropped
 * @bio:	the bio, or what is left of it
 *
 * @bio needs what it may not wait for: a clone from an empty pool, or a
 * device to resume. If none of it has gone down, it ends with AGAIN, and
 * its submitter retries it from a context that may block, as it does when
 * one bio of a multi-bio NOWAIT direct I/O fails (__blkdev_direct_IO()),
 * and as io_uring does from its workers.
 *
 * But once a piece of it is on its way (@bio is chained: a piece took a
 * completion from it, here or in a driver above), AGAIN would end it only
 * when that piece is in, maybe in interrupt context, where io_uring no
 * longer retries and hands EAGAIN to the application. So the rest goes
 * on from bstack's worker instead, which may wait: REQ_NOWAIT asks that
 * the submitter not block, and it does not.
 */
static void bstack_bio_wouldblock(struct bstack_device *bd,
				  struct bstack_table *t, struct bio *bio)
{
	bstack_table_put(t);
	if (bio_flagged(bio, BIO_CHAIN)) {
		bio->bi_opf &= ~REQ_NOWAIT;
		bstack_requeue(bd, bio);
		return;
	}
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
			     unsigned int sectors)
{
	bool split = sectors < bio_sectors(bio);
	struct bvec_iter piece;
	struct bstack_io *io;
	struct bio *clone;
	unsigned int i;

	/* Not REQ_NOWAIT: GFP_NOIO allocations from the mempool never fail. */
	io = bstack_io_alloc_piece(bd, t, bio, sectors, GFP_NOIO);
	bstack_io_start_acct(bd, io, bio, sectors, !split, false);
	atomic_inc(&io->pending);	/* the mapping's reference */
	clone = &io->clone.bio;
	/* Nothing polls a range: its clones complete by interrupt. */
	clone->bi_opf &= ~BSTACK_REQ_POLL_ONLY;
	piece = clone->bi_iter;
	for (i = 0; i < ti->num_range_bios; i++) {
		if (i) {
			clone = bstack_alloc_clone(NULL, bio, GFP_NOIO, &bd->bs);
			clone->bi_iter = piece;
			bstack_io_add_clone(io, clone);
		}
		if (ti->type->map_range(ti, clone, i) == BSTACK_MAP_REMAPPED)
			bstack_submit_clone(clone);
	}
	if (split)
		submit_bio_noacct(bio);
	bstack_io_put(io, BLK_STS_OK);
}

/*
 * bi_cookie of a polled bio whose bi_private holds the list of its ios
 * (any value but BLK_QC_T_NONE makes bio_poll() call bstack_poll_bio()).
 */
#define BSTACK_POLL_LIST	0

/*
 * The piece @io of the polled bio @bio is about to go down: put it on
 * @bio's list, with a reference of its own that bstack_poll_bio() drops
 * once the clone is in, so that @io outlives its clone for the poller.
 *
 * Only the submitter's own submission may touch the list, as in dm: the
 * pieces of a bio that are mapped from a workqueue (bstack's worker, the
 * bio_set's rescuer) go down unpolled and complete by interrupt, for the
 * submitter may be polling @bio already. So may every piece when the table
 * does not poll (a bio that came in before a reload that turned polling
 * off): the poller could not reach bstack_poll_bio() then.
 */
static void bstack_io_poll(struct bstack_table *t, struct bstack_io *io,
			   struct bio *bio)
{
	struct bstack_io *head;

	if (!t->poll || (current->flags & PF_WQ_WORKER)) {
		io->clone.bio.bi_opf &= ~BSTACK_REQ_POLL_ONLY;
		/*
		 * @bio may end by interrupt too, with this piece. It keeps
		 * REQ_POLLED: pieces of it may be on the list still.
		 */
		bio->bi_opf &= ~REQ_ALLOC_CACHE;
		return;
	}
	if (bio->bi_cookie != BSTACK_POLL_LIST) {
		io->poll_private = bio->bi_private;
		io->poll_next = NULL;
		bio->bi_cookie = BSTACK_POLL_LIST;
	} else {
		/* A piece of a split bio: the list is there already. */
		head = bio->bi_private;
		io->poll_private = head->poll_private;
		io->poll_next = head;
	}
	bio->bi_private = io;
	atomic_inc(&io->pending);
	this_cpu_inc(t->bd->stats->polled);
}

/**
 * bstack_poll_bio - poll the lower devices for the pieces of @bio
 * @bio:	a bio submitted to a bstack device with REQ_POLLED
 * @iob:	the completion batch, for the lower devices' poll
 * @flags:	BLK_POLL_*
 *
 * Called by bio_poll() in the submitter's task, once @bio is submitted
 * (submit_bio_noacct() is depth first, so every piece of @bio the
 * submitter maps is on the list by then). Returns 1 when no piece is left
 * to poll, else 0.
 */
int bstack_poll_bio(struct bio *bio, struct io_comp_batch *iob,
		    unsigned int flags)
{
	struct bstack_io *io, *next, *left = NULL;

	if (bio->bi_cookie != BSTACK_POLL_LIST)
		return 0;
	/* @bio's own bi_private first: ending a piece may end @bio. */
	io = bio->bi_private;
	bio->bi_private = io->poll_private;
	WRITE_ONCE(bio->bi_cookie, BLK_QC_T_NONE);
	for (; io; io = next) {
		next = io->poll_next;
		/* The embedded clone lives as long as the io. */
		if (atomic_read(&io->pending) > 1)
			bio_poll(&io->clone.bio, iob, flags);
		if (atomic_read(&io->pending) == 1) {
			/* Only the poll's reference is left: the clone is in. */
			bstack_io_put(io, BLK_STS_OK);
		} else {
			io->poll_next = left;
			left = io;
		}
	}
	if (!left)
		return 1;
	/* The ios left hold @bio: it cannot have ended. */
	bio->bi_private = left;
	WRITE_ONCE(bio->bi_cookie, BSTACK_POLL_LIST);
	return 0;
}

/*
 * @bio must go down in one piece to a line that passes it (an atomic
 * write, a zone append), and cannot: it would be split, or @ti's type
 * does not carry it.
 */
static bool bstack_bio_refused_whole(struct bio *bio, struct bstack_target *ti,
				     bool split)
{
	unsigned int needs;

	if (bio->bi_opf & REQ_ATOMIC)
		needs = BSTACK_TYPE_ATOMIC;
	else if (bio_op(bio) == REQ_OP_ZONE_APPEND)
		needs = BSTACK_TYPE_ZONED;
	else
		return false;
	return split || !(ti->type->features & needs);
}

/*
 * @bio is one that bstack maps, but it starts beyond the table (it was sized
 * for an older, larger one) or it writes to a read-only device: end it.
 */
static __always_inline bool bstack_bio_refused(struct bstack_device *bd,
					       struct bstack_table *t,
					       struct bio *bio)
{
	if (likely(bio->bi_iter.bi_sector < t->size) &&
	    likely(!bd->readonly || !op_is_write(bio_op(bio))))
		return false;
	bstack_table_put(t);
	bio_io_error(bio);
	return true;
}

/*
 * Map the piece of @bio that @ti, the target of its first sector, takes.
 * @rw_linear: @bio is known to be a READ or a WRITE, not atomic, and @ti
 * linear, which has no chunks (bstack_submit_bio()'s common case); the
 * compiler drops every test that this decides. Otherwise anything but a
 * flush or a zone reset of the whole device.
 */
static __always_inline void __bstack_map_target(struct bstack_device *bd,
						struct bstack_table *t,
						struct bstack_target *ti,
						struct bio *bio,
						const bool rw_linear)
{
	sector_t sector = bio->bi_iter.bi_sector;
	unsigned int nr = bio_sectors(bio);
	bool nowait = bio->bi_opf & REQ_NOWAIT;
	unsigned int sectors;
	struct bstack_io *io;
	struct bio *clone;
	bool split;

	if (rw_linear) {
		sectors = min_t(sector_t, nr, ti->begin + ti->len - sector);
	} else {
		sectors = bstack_target_max_io(ti, sector, nr);
		if (unlikely(ti->num_range_bios && bstack_op_is_range(bio))) {
			unsigned int in_target = min_t(sector_t, nr,
						       ti->begin + ti->len - sector);

			/*
			 * Worth it only when the piece would cross a chunk.
			 * Its clones cannot all be had at once, and one that
			 * cannot be had without waiting could not be taken
			 * back: a REQ_NOWAIT range waits for the worker
			 * (io_uring sends none).
			 */
			if (sectors < in_target) {
				if (nowait)
					bstack_bio_wouldblock(bd, t, bio);
				else
					bstack_map_range(bd, t, ti, bio,
							 in_target);
				return;
			}
		}
	}
	split = sectors < nr;
	/*
	 * An atomic write or a zone append goes down whole or not at all:
	 * one that would cross a line or a chunk fails, as one too large for
	 * the limits does, and so does one that meets a line that cannot pass
	 * it (the table was swapped since the block layer checked the bio).
	 */
	if (!rw_linear && unlikely(bstack_bio_refused_whole(bio, ti, split))) {
		bstack_table_put(t);
		bio->bi_status = BLK_STS_INVAL;
		bio_endio(bio);
		return;
	}

	/* Each piece of a REQ_NOWAIT bio is cloned with GFP_NOWAIT. */
	clone = bstack_cut(bio, sectors, nowait ? GFP_NOWAIT : GFP_NOIO,
			   &bd->bs);
	if (unlikely(!clone)) {
		if (nowait) {
			bstack_bio_wouldblock(bd, t, bio);
			return;
		}
		/*
		 * Waiting, only a refusal fails: bio_split() takes no atomic
		 * write or zone append, which never get here split (above).
		 */
		bstack_table_put(t);
		bio_io_error(bio);
		return;
	}
	io = bstack_io_init_piece(clone, bio, t, split);
	if (unlikely(nowait))
		io->iter = clone->bi_iter;	/* for bstack_io_retry() */
	/* Before it goes down: the clone may end at once. */
	if (unlikely(bio->bi_opf & REQ_POLLED))
		bstack_io_poll(t, io, bio);
	bstack_io_start_acct(bd, io, bio, sectors, !split, rw_linear);
	/*
	 * linear's remap inline, as most tables are linear; a direct call
	 * for striped's.
	 */
	if (rw_linear || likely(ti->type->map == bstack_linear_map)) {
		bstack_linear_remap(ti, ti->private, clone);
		bstack_submit_clone(clone);
	} else if (INDIRECT_CALL_1(ti->type->map, bstack_stripe_map, ti,
				   clone) == BSTACK_MAP_REMAPPED) {
		bstack_submit_clone(clone);
	}
	/* The rest comes back here once the piece above is on its way. */
	if (split)
		submit_bio_noacct(bio);
}

static noinline void bstack_map_target(struct bstack_device *bd,
				       struct bstack_table *t,
				       struct bstack_target *ti,
				       struct bio *bio)
{
	__bstack_map_target(bd, t, ti, bio, false);
}

/* Map @bio, anything but a flush or a zone reset of the whole device. */
static noinline void bstack_map_bio(struct bstack_device *bd,
				    struct bstack_table *t, struct bio *bio)
{
	if (bstack_bio_refused(bd, t, bio))
		return;
	bstack_map_target(bd, t,
			  __bstack_table_find_target(t, bio->bi_iter.bi_sector),
			  bio);
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
			bstack_table_put(t);
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
		bstack_table_put(t);
		bio_endio(bio);
	}
}

/*
 * The device is suspended: hold @bio until it resumes, or end it with
 * AGAIN if it may not wait. Returns false if the device is not suspended.
 */
static bool bstack_hold_bio(struct bstack_device *bd, struct bio *bio)
{
	/* A chained bio has a piece on its way: see bstack_bio_wouldblock(). */
	bool again = (bio->bi_opf & REQ_NOWAIT) && !bio_flagged(bio, BIO_CHAIN);
	unsigned long flags;
	bool held;

	spin_lock_irqsave(&bd->lock, flags);
	held = bd->suspended;
	if (held && !again) {
		/* Holding it does not block its submitter. */
		bio->bi_opf &= ~REQ_NOWAIT;
		bio_list_add(&bd->deferred, bio);
	}
	spin_unlock_irqrestore(&bd->lock, flags);
	if (held && again)
		bio_wouldblock_error(bio);
	return held;
}

/*
 * The live table, with a reference for @bio, when bstack_get_live_table()
 * did not find it alive at once. NULL when @bio has been taken care of
 * instead: held because the device is suspended (or ended with AGAIN if
 * it is NOWAIT), or failed because the device has no table.
 */
static noinline struct bstack_table *
bstack_get_table_slow(struct bstack_device *bd, struct bio *bio)
{
	struct bstack_table *t;

	for (;;) {
		rcu_read_lock();
		t = rcu_dereference(bd->live);
		if (t && bstack_table_tryget_live_rcu(t)) {
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

/* See bstack_get_table_slow(); preemption off is the RCU read section. */
static __always_inline struct bstack_table *
bstack_get_live_table(struct bstack_device *bd, struct bio *bio)
{
	struct bstack_table *t;
	bool live;

	rcu_read_lock_sched();
	t = rcu_dereference_sched(bd->live);
	live = t && bstack_table_tryget_live_rcu(t);
	rcu_read_unlock_sched();
	return likely(live) ? t : bstack_get_table_slow(bd, bio);
}

/*
 * What bstack_submit_bio() does not map itself: a zone reset of the whole
 * device, and the flushes.
 */
static noinline void bstack_submit_special(struct bstack_device *bd,
					   struct bstack_table *t,
					   struct bio *bio)
{
	if (bio_op(bio) == REQ_OP_ZONE_RESET_ALL) {
		bstack_zone_reset_all(t, bio);
	} else if (t->zoned && t->num_lowers == 1 && bio_sectors(bio)) {
		/*
		 * A zoned table keeps writes in order: its one device flushes
		 * before the data, rather than bstack sending the data after
		 * the flush from the worker, where a later write could pass it.
		 */
		bstack_map_bio(bd, t, bio);
	} else if (bio->bi_opf & REQ_NOWAIT) {
		/* A flush allocates one clone per device: it may block. */
		bstack_bio_wouldblock(bd, t, bio);
	} else {
		bstack_flush(bd, t, bio);
	}
}

/*
 * What bstack_submit_bio() maps inline: a READ or a WRITE, not atomic, to
 * a linear line. Everything else takes the calls out of line.
 */
#define BSTACK_REQ_NOT_RW \
	((REQ_OP_MASK & ~REQ_OP_WRITE) | REQ_PREFLUSH | REQ_ATOMIC)

void bstack_submit_bio(struct bio *bio)
{
	struct bstack_device *bd = bio->bi_bdev->bd_disk->private_data;
	struct bstack_table *t = bstack_get_live_table(bd, bio);
	struct bstack_target *ti;

	if (unlikely(!t))
		return;
	if (unlikely(bio->bi_opf & BSTACK_REQ_NOT_RW)) {
		if ((bio->bi_opf & REQ_PREFLUSH) ||
		    bio_op(bio) == REQ_OP_ZONE_RESET_ALL)
			bstack_submit_special(bd, t, bio);
		else
			bstack_map_bio(bd, t, bio);
		return;
	}
	if (unlikely(bstack_bio_refused(bd, t, bio)))
		return;
	ti = __bstack_table_find_target(t, bio->bi_iter.bi_sector);
	if (likely(ti->type->map == bstack_linear_map))
		__bstack_map_target(bd, t, ti, bio, true);
	else
		bstack_map_target(bd, t, ti, bio);
}
