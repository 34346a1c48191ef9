/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bstack: a bio-based stacking block driver.
 *
 * A bstack device maps its sectors onto lower block devices through a table
 * of targets. See Documentation/design.md for the life of a bio.
 */
#ifndef BSTACK_H
#define BSTACK_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/bstack.h>

#include "compat.h"

#define BSTACK_MAX_TARGETS	(1U << 20)
#define BSTACK_MAX_ARGS		64

struct bstack_device;
struct bstack_table;
struct bstack_target;

/* What a target's map hook did with the clone it was given. */
enum bstack_map_result {
	BSTACK_MAP_REMAPPED,	/* clone remapped: the caller submits it */
	BSTACK_MAP_SUBMITTED,	/* the target submitted or ended the clone */
};

/**
 * struct bstack_target_type - a kind of target (linear, ...)
 * @name:	as written in tables.
 * @version:	major, minor, patch, as bstackctl targets shows them.
 * @ctr:	parse @argv and set @ti->private. On failure, report why with
 *		bstack_ti_error() and return a negative errno.
 * @dtr:	undo @ctr.
 * @map:	remap @clone, which lies wholly inside @ti. Runs in
 *		submit_bio context: it must not sleep on anything but a
 *		mempool.
 * @map_range:	for a target that sets @ti->num_range_bios: remap @clone,
 *		a DISCARD, SECURE_ERASE or WRITE_ZEROES inside @ti that may
 *		cross chunks, onto the part of it that range @index takes
 *		(stripe @index, for striped), or end it if that part is
 *		empty. Same context as @map.
 * @table_line:	print the target's arguments as TABLE shows them.
 * @status:	print the target's status as STATUS shows it.
 * @flush:	optional: an empty flush comes to the device; return an
 *		error to fail it (faulty), else BLK_STS_OK. The flush itself
 *		goes to every lower device, without @map.
 * @message:	optional: act on MESSAGE's words; write an answer to
 *		@result (@maxlen bytes), or the reason of a refusal to @err
 *		(BSTACK_ERROR_LEN bytes). Runs under bstack_devices_lock,
 *		with the table live or suspended.
 * @iterate_devices: call @fn for each lower device and its offset, for
 *		queue limits.
 * @io_hints:	adjust io_min/io_opt once the limits are stacked.
 * @prepare_ioctl: optional: the one lower device that an ioctl or a
 *		persistent reservation on a one-line table goes to. Returns
 *		0 when the line maps all of it, 1 when only a part.
 * @features:	BSTACK_TYPE_* : the block features the target passes
 *		through when its lower devices have them.
 */
struct bstack_target_type {
	const char *name;
	unsigned int version[3];
	struct module *module;
	struct list_head list;
	int (*ctr)(struct bstack_target *ti, unsigned int argc, char **argv);
	void (*dtr)(struct bstack_target *ti);
	enum bstack_map_result (*map)(struct bstack_target *ti,
				      struct bio *clone);
	enum bstack_map_result (*map_range)(struct bstack_target *ti,
					    struct bio *clone,
					    unsigned int index);
	blk_status_t (*flush)(struct bstack_target *ti);
	int (*message)(struct bstack_target *ti, unsigned int argc,
		       char **argv, char *result, size_t maxlen, char *err);
	void (*table_line)(struct bstack_target *ti, char *buf, size_t len);
	void (*status)(struct bstack_target *ti, char *buf, size_t len);
	void (*iterate_devices)(struct bstack_target *ti,
				void (*fn)(struct block_device *bdev,
					   sector_t start, void *data),
				void *data);
	void (*io_hints)(struct bstack_target *ti, struct queue_limits *lim);
	int (*prepare_ioctl)(struct bstack_target *ti,
			     struct block_device **bdev);
	unsigned int features;
};

/*
 * What a target type passes through. Each needs a target whose clones go
 * to the lower devices as they came, at once, remapped and nothing else:
 * polling a clone then polls the lower device, an atomic or zone-append
 * write reaches it whole, and the protection information stays with the
 * data. faulty delays, drops and corrupts I/O, so it passes none.
 */
#define BSTACK_TYPE_POLL	(1U << 0)
#define BSTACK_TYPE_ATOMIC	(1U << 1)
#define BSTACK_TYPE_ZONED	(1U << 2)
#define BSTACK_TYPE_INTEGRITY	(1U << 3)

/*
 * The block features a table passes through from its lower devices, each
 * on or off and, when off, why (FEATURES shows them). Their names are in
 * bstack_feature_names[].
 */
enum bstack_feature {
	BSTACK_FEAT_POLL,
	BSTACK_FEAT_ATOMIC_WRITES,
	BSTACK_FEAT_ZONED,
	BSTACK_FEAT_INTEGRITY,
	BSTACK_FEAT_DISCARD,
	BSTACK_FEAT_WRITE_ZEROES,
	BSTACK_FEAT_SECURE_ERASE,
	BSTACK_FEAT_NOWAIT,
	BSTACK_FEAT_RESERVATIONS,
	BSTACK_FEAT_PASSTHROUGH,
	BSTACK_NR_FEATURES
};

#define BSTACK_FEAT_WHY_LEN	96

/**
 * struct bstack_features - which features a table passes, and why not
 * @on:		bit BSTACK_FEAT_* set for each feature the table passes.
 * @why:	for each that is off, the first reason found.
 */
struct bstack_features {
	unsigned long on;
	char why[BSTACK_NR_FEATURES][BSTACK_FEAT_WHY_LEN];
};

/* A lower device opened by a table, once for all the targets that use it. */
struct bstack_lower {
	struct list_head list;
	struct block_device *bdev;
	struct bstack_bdev_ref ref;	/* for bstack_bdev_close() */
	dev_t dev;
	bool linked;			/* a holder link of the table's disk */
};

/**
 * struct bstack_target - one line of a table
 * @begin, @len: the sectors of the bstack device it maps.
 * @line:	the line of the user's table text, for messages.
 * @chunk:	when not 0, no piece may cross a multiple of @chunk sectors
 *		from @begin (a stripe chunk); set by the constructor.
 * @chunk_shift: log2(@chunk) when it is a power of two, else -1.
 * @num_range_bios: when not 0, a DISCARD, SECURE_ERASE or WRITE_ZEROES
 *		that crosses chunks is not cut at each chunk: it goes down
 *		as this many clones, one per range, through @type->map_range.
 */
struct bstack_target {
	struct bstack_table *table;
	const struct bstack_target_type *type;
	sector_t begin;
	sector_t len;
	unsigned int line;
	u32 chunk;
	int chunk_shift;
	unsigned int num_range_bios;
	void *private;
};

/* The arithmetic of a striped layout, precomputed by its constructor. */
struct bstack_stripe_geom {
	u32 stripes;
	int stripes_shift;	/* log2(stripes), or -1 */
	u32 chunk;
	int chunk_shift;	/* log2(chunk), or -1 */
};

/**
 * struct bstack_table - a complete, validated mapping
 * @ends:	ends[i] is one past the last sector of targets[i]; a dense
 *		array so that the lookup's binary search touches few lines.
 * @index:	with more than one target, @index[k] is the target that maps
 *		the first sector of bucket k, the sectors k << @index_shift
 *		on; one bucket per target or so, so that a lookup searches
 *		one or two targets when the lines are of like lengths, and
 *		those of one bucket when they are not (bstack_table_index()).
 *		@index[@nr_buckets] is the last target.
 * @lowers:	distinct lower devices, each opened once.
 * @users:	per cpu, the bios and calls in flight on the table: each
 *		gets it on one cpu and may put it on another, so only the
 *		sum means anything (bstack_table_tryget_live_rcu()).
 * @dying:	set when a suspend or a removal kills the table: no bio
 *		gets it after. A resume brings it back to life, or destroys
 *		it when another table takes its place.
 * @rcu:	frees the table: see bstack_table_destroy().
 * @err:	where construction writes why it failed (BSTACK_ERROR_LEN).
 * @flush_hooks: some target has a @flush hook.
 * @poll:	the device polls: BSTACK_FEAT_POLL is on in @features.
 * @features:	what the table passes through, as bstack_table_stack_limits()
 *		found it: when the table is completed, and again when it
 *		goes live (under bstack_devices_lock then, for FEATURES).
 */
struct bstack_table {
	struct bstack_device *bd;
	blk_mode_t mode;
	unsigned int num_targets;
	unsigned int max_targets;
	sector_t size;
	sector_t *ends;
	u32 *index;
	unsigned int index_shift;
	unsigned int nr_buckets;
	struct bstack_target *targets;
	struct list_head lowers;
	unsigned int num_lowers;
	unsigned long __percpu *users;
	bool dying;
	struct rcu_head rcu;
	char *err;
	bool flush_hooks;
	bool poll;
	/* Set by bstack_table_check_zoned(): */
	bool zoned;		/* maps sequential zones */
	bool conv_zones_only;	/* maps zoned devices' conventional zones alone */
	unsigned int max_open_zones;	/* of a zoned table; 0 for no limit */
	unsigned int max_active_zones;
	struct bstack_features features;
};

/*
 * Per-clone context, in the bio_set's front_pad. The first clone of an io
 * is embedded in the io itself, so a bio that needs one clone costs one
 * allocation.
 */
struct bstack_clone {
	struct bstack_io *io;
	struct bio bio;		/* must be last */
};

/**
 * struct bstack_io - one piece of an original bio, inside one target
 * @orig:	the bio being served; ended when the last clone is in.
 * @table:	the table the piece was mapped with; holds a reference.
 * @pending:	clones not yet in, plus one while the io is being mapped.
 * @status:	the first error of any clone.
 * @acct:	counted in the disk's I/O statistics, as one I/O of size
 *		@sectors that started at @start_time (jiffies).
 * @iter:	a REQ_NOWAIT piece, as it was before its target mapped it,
 *		to send again if it comes back with AGAIN (bstack_io_retry()).
 * @poll_next:	the next io of the same polled bio (bstack_poll_bio()).
 * @poll_private: that bio's own bi_private, while bi_private holds the
 *		list of its ios.
 */
struct bstack_io {
	struct bio *orig;
	struct bstack_table *table;
	atomic_t pending;
	blk_status_t status;
	bool acct;
	unsigned int sectors;
	unsigned long start_time;
	struct bvec_iter iter;
	struct bstack_io *poll_next;
	void *poll_private;
	struct bstack_clone clone;	/* first clone; must be last */
};

#define BSTACK_FRONT_PAD	offsetof(struct bstack_io, clone.bio)

/*
 * Per-cpu I/O counters of a device, summed when STATS reads them. A bio
 * counts once in @ios and its bytes once in @bytes however it is split;
 * @splits counts the extra pieces; @errors the pieces that failed, but
 * not with BLK_STS_AGAIN;
 * @in_flight pieces started less pieces ended (per cpu it may be
 * negative: only the sum means something); @polled the pieces sent down
 * to be polled.
 */
struct bstack_stats {
	u64 ios[2];		/* READ, WRITE (data) */
	u64 bytes[2];
	u64 discards;		/* DISCARD, SECURE_ERASE, WRITE_ZEROES */
	u64 flushes;
	u64 splits;
	u64 errors;
	s64 in_flight;
	u64 polled;
};

/**
 * struct bstack_device - a mapped device, /dev/bstackN
 * @kref:	one reference for bstack_devices, one for each control call
 *		or deferred removal that uses the device; the last put frees
 *		what removal left (see bstack_device_release()).
 * @ctl_lock:	serialises the control operations that change the device:
 *		load, clear, suspend, resume, rename and remove. Held across
 *		a suspend's freeze and drain, which may last, so it is one
 *		per device, as dm's suspend_lock: a suspend that waits for
 *		I/O held by a suspended lower device must not stop the
 *		resume of that device. Never taken on the I/O path. It
 *		nests outside bstack_devices_lock.
 * @live:	the table bios are mapped with. Read under RCU plus a
 *		reference on the table (no lock on the I/O path); written
 *		under @ctl_lock and bstack_devices_lock, so either keeps it
 *		for a reader.
 * @inactive:	the table loaded for the next resume; as @live.
 * @removing:	set under disk->open_mutex and @ctl_lock once removal has
 *		begun, so that no new opener slips in and no control call
 *		that waited for @ctl_lock touches what removal tore down.
 * @deferred_remove: remove the device at its last close; set under
 *		disk->open_mutex and @ctl_lock.
 * @suspended:	new bios are held on @deferred; written under @lock and
 *		@ctl_lock, read under @lock by the I/O path.
 * @frozen:	the suspend froze the filesystem on the device (lockfs);
 *		@ctl_lock.
 * @lock:	guards @suspended, @deferred, @requeue, @retry, and @name and @uuid
 *		for sysfs. Taken on the I/O path only when the live table
 *		is dead (suspend, resume) and when a REQ_NOWAIT bio must go
 *		on from the worker, both rare, and then from bio completion
 *		too, so irq-safe.
 * @deferred:	bios that came in while the device was suspended.
 * @stats:	I/O counters, per cpu: no shared cache line on the I/O path.
 * @event_nr:	bumped on every table change, suspend, resume, rename and
 *		I/O error; WAIT_EVENT sleeps until it moves.
 * @requeue:	bios to submit again from process context: the data part
 *		of a flush with data, @deferred once the device resumes, and
 *		what is left of a REQ_NOWAIT bio that can go on only by
 *		waiting.
 * @retry:	the first clones of ios whose REQ_NOWAIT piece came back
 *		with AGAIN, for the same worker to send again.
 * @remove_work: the deferred removal, queued at the last close.
 * @name:	unique among devices; changes under @ctl_lock,
 *		bstack_devices_lock and @lock, so any of them keeps it.
 * @uuid:	as @name.
 */
struct bstack_device {
	struct gendisk *disk;
	struct bio_set bs;
	struct kref kref;
	struct mutex ctl_lock;
	struct bstack_table __rcu *live;
	struct bstack_table *inactive;
	struct list_head list;
	int index;
	bool readonly;
	bool removing;
	bool deferred_remove;
	bool suspended;
	bool frozen;
	/* The table whose zones a revalidation by zone_task reads. */
	struct bstack_table *zone_table;
	struct task_struct *zone_task;
	atomic_t event_nr;
	struct bstack_stats __percpu *stats;
	spinlock_t lock;
	struct bio_list deferred;
	struct bio_list requeue;
	struct bio_list retry;
	struct work_struct requeue_work;
	struct work_struct remove_work;
	char name[BSTACK_NAME_LEN];
	char uuid[BSTACK_UUID_LEN];
	unsigned long walk;	/* the last cycle check that saw it */
};

/* module.c */
extern struct workqueue_struct *bstack_wq;
extern struct workqueue_struct *bstack_remove_wq;
extern int bstack_major;

/* device.c */
extern struct mutex bstack_devices_lock;
void *bstack_holder(void);
int bstack_device_create(const char *name, const char *uuid, bool readonly,
			 struct bstack_device **bdp, char *err);
struct bstack_device *bstack_device_get(const char *name);
void bstack_device_put(struct bstack_device *bd);
/* How a removal goes when the device is open. */
#define BSTACK_REMOVE_FORCE	(1U << 0)	/* swap in an error table */
#define BSTACK_REMOVE_DEFERRED	(1U << 1)	/* remove at the last close */

int bstack_device_remove(struct bstack_device *bd, unsigned int flags,
			 char *err);
/* How a suspend or a resume goes. */
#define BSTACK_SUSPEND_LOCKFS	(1U << 0)	/* freeze the filesystem */

int bstack_device_suspend(struct bstack_device *bd, unsigned int flags,
			  unsigned long timeout, char *err);
int bstack_device_resume(struct bstack_device *bd, unsigned int flags,
			 char *err);
int bstack_device_load(struct bstack_device *bd, struct bstack_table *t,
		       char *err);
void bstack_device_set_inactive(struct bstack_device *bd,
				struct bstack_table *t);
int bstack_device_rename(struct bstack_device *bd, const char *value,
			 bool uuid, char *err);
struct bstack_device *bstack_device_find(const char *name);
void bstack_device_event(struct bstack_device *bd);
void bstack_device_stats(struct bstack_device *bd, struct bstack_stats *sum);
extern atomic_t bstack_event_seq;
extern struct wait_queue_head bstack_event_wq;
struct list_head *bstack_device_list(void);
struct bstack_table *bstack_device_table(struct bstack_device *bd,
					 bool inactive);
int bstack_device_remove_all(unsigned int flags, unsigned int *removed);
void bstack_devices_exit(void);

/* io.c */
void bstack_submit_bio(struct bio *bio);
int bstack_poll_bio(struct bio *bio, struct io_comp_batch *iob,
		    unsigned int flags);
void bstack_requeue_work(struct work_struct *work);
struct bio *bstack_cut(struct bio *bio, unsigned int sectors, gfp_t gfp,
		       struct bio_set *bs);
struct bio *bstack_alloc_clone(struct block_device *bdev, struct bio *bio,
			       gfp_t gfp, struct bio_set *bs);
void bstack_submit_clone(struct bio *clone);
struct bstack_io *bstack_io_alloc_piece(struct bstack_device *bd,
					struct bstack_table *t,
					struct bio *bio, unsigned int sectors,
					gfp_t gfp);
void bstack_io_add_clone(struct bstack_io *io, struct bio *clone);
void bstack_io_put(struct bstack_io *io, blk_status_t status);
void bstack_clone_endio(struct bio *clone);
int bstack_clone_slab_init(void);
void bstack_clone_slab_exit(void);
int bstack_bioset_init(struct bio_set *bs);

/* table.c */
int bstack_mem_fits(size_t bytes, const char *what, char *err);
struct bstack_table *bstack_table_alloc(struct bstack_device *bd,
					unsigned int max_targets,
					blk_mode_t mode, char *err);
int bstack_table_add_target(struct bstack_table *t, const char *type,
			    sector_t start, sector_t len, const char *params,
			    unsigned int line);
int bstack_table_complete(struct bstack_table *t);
void bstack_table_unlink_holders(struct bstack_table *t);
void bstack_table_destroy(struct bstack_table *t);
void bstack_table_kill(struct bstack_table *t);
bool bstack_table_drained(struct bstack_table *t);
long bstack_table_wait_drained(struct bstack_table *t, long timeout);
void bstack_table_drain(struct bstack_table *t);
void bstack_table_revive(struct bstack_table *t);
struct bstack_table *bstack_table_from_specs(struct bstack_device *bd,
					     const void *buf, size_t len,
					     unsigned int count,
					     blk_mode_t mode, char *err);

/* limits.c */
void bstack_table_stack_limits(struct bstack_table *t, struct bstack_limits *l);
size_t bstack_table_features(const struct bstack_table *t, char *buf,
			     size_t len);
int bstack_get_device(struct bstack_target *ti, const char *path,
		      struct bstack_lower **lowerp);
__printf(2, 3) int bstack_ti_error(struct bstack_target *ti,
				   const char *fmt, ...);
__printf(3, 4) int bstack_table_error(struct bstack_table *t,
				      unsigned int line, const char *fmt, ...);
int bstack_register_target(struct bstack_target_type *type);
typedef int (*bstack_type_fn)(const struct bstack_target_type *type,
			      void *data);
int bstack_walk_target_types(bstack_type_fn fn, void *data);
void bstack_unregister_target(struct bstack_target_type *type);

/*
 * A table's users are counted per cpu, as dm counts a device's bios in
 * flight, and a suspend or a removal waits for the count to drain. A
 * percpu_ref would count them as cheaply, but its kill waits for a normal
 * RCU grace period before the count can be read (16 to 25 ms of guest
 * time, most of a reload); bstack_table_drain() waits for an expedited
 * one, as dm_sync_table() does.
 *
 * A user gets the table in an RCU read section and puts it in one too:
 * once the kill's grace period has passed, every user that saw the table
 * alive has counted itself, and every put that comes after saw it dying
 * and wakes the waiter. The I/O path's sections are those of preemption
 * disabled, which cost no call where rcu_read_lock() of a preemptible
 * RCU does two; since the RCU flavours were merged (4.20) a grace period
 * waits for those as for the others.
 */
extern struct wait_queue_head bstack_drain_wq;

static inline bool bstack_table_tryget_live_rcu(struct bstack_table *t)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_any_held(),
			 "a table is got in an RCU read section");
	if (unlikely(READ_ONCE(t->dying)))
		return false;
	this_cpu_inc(*t->users);
	return true;
}

void bstack_table_put_dying(struct bstack_table *t);

static inline void bstack_table_put(struct bstack_table *t)
{
	bool dying;

	preempt_disable();
	dying = READ_ONCE(t->dying);
	/* The last touch of @t: a drain that sees it may free the table. */
	if (likely(!dying))
		this_cpu_dec(*t->users);
	preempt_enable();
	/* Still counted, @t cannot go away before this put. */
	if (unlikely(dying))
		bstack_table_put_dying(t);
}

/* The target that maps @sector, which lies in the table. */
static inline struct bstack_target *
__bstack_table_find_target(struct bstack_table *t, sector_t sector)
{
	unsigned int lo, hi, k;

	if (likely(t->num_targets == 1))
		return &t->targets[0];
	/* The target of @sector is between those of its bucket and the next. */
	k = sector >> t->index_shift;
	lo = t->index[k];
	hi = t->index[k + 1] + 1;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (t->ends[mid] <= sector)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &t->targets[lo];
}

/**
 * bstack_table_find_target - the target that maps @sector
 *
 * Returns NULL when @sector lies beyond the table, which happens when a bio
 * sized for an older, larger table meets a smaller one.
 */
static inline struct bstack_target *
bstack_table_find_target(struct bstack_table *t, sector_t sector)
{
	if (unlikely(sector >= t->size))
		return NULL;
	return __bstack_table_find_target(t, sector);
}

/*
 * How many of @nr sectors from @sector @ti can take in one piece: up to the
 * end of the target, and of the chunk when the target has chunks.
 */
static inline unsigned int bstack_target_max_io(struct bstack_target *ti,
						sector_t sector,
						unsigned int nr)
{
	sector_t left = ti->begin + ti->len - sector;

	if (ti->chunk) {
		sector_t off = sector - ti->begin;
		u32 in_chunk;

		if (ti->chunk_shift >= 0)
			in_chunk = off & (ti->chunk - 1);
		else
			in_chunk = sector_div(off, ti->chunk);
		left = min_t(sector_t, left, ti->chunk - in_chunk);
	}
	return left < nr ? left : nr;
}

/* linear.c */

/**
 * struct bstack_linear - a range of one lower device
 * @dev:	the lower device
 * @start:	the sector of @dev that the target's first sector maps to
 *
 * What linear maps onto; faulty embeds one and uses the helpers below.
 */
struct bstack_linear {
	struct bstack_lower *dev;
	sector_t start;
};

int bstack_linear_ctr(struct bstack_target *ti, const char *path,
		      const char *offset, struct bstack_linear *lc);

/* Send @clone to the same offset in @lc's range as it had in @ti's. */
static inline void bstack_linear_remap(struct bstack_target *ti,
				       const struct bstack_linear *lc,
				       struct bio *clone)
{
	bio_set_dev(clone, lc->dev->bdev);
	clone->bi_iter.bi_sector = lc->start +
				   (clone->bi_iter.bi_sector - ti->begin);
}

int bstack_linear_print(const struct bstack_linear *lc, char *buf,
			size_t len);
enum bstack_map_result bstack_linear_map(struct bstack_target *ti,
					 struct bio *clone);
int bstack_linear_init(void);
void bstack_linear_exit(void);

/* striped.c */
enum bstack_map_result bstack_stripe_map(struct bstack_target *ti,
					 struct bio *clone);
int bstack_striped_init(void);
void bstack_striped_exit(void);
void bstack_stripe_geom_init(struct bstack_stripe_geom *g, u32 stripes,
			     u32 chunk);
void bstack_stripe_locate(const struct bstack_stripe_geom *g, sector_t offset,
			  u32 *stripe, sector_t *result);
sector_t bstack_stripe_range_start(const struct bstack_stripe_geom *g,
				   sector_t offset, u32 stripe);

/* error-zero.c */
int bstack_error_zero_init(void);
void bstack_error_zero_exit(void);

/* faulty.c */
/**
 * struct bstack_faulty_conf - the faults of a faulty target
 * @read_fail, @write_fail, @corrupt, @delay_prob: probabilities, in parts
 *		per million.
 * @error:	the errno that failed I/O ends with, positive.
 * @count_until_fail: when not 0, the I/Os after this many fail.
 * @up, @down:	seconds; both 0, or faults apply only while down.
 * @delay_ms:	how long a delayed I/O waits.
 * @drop_writes: writes end with success, unsent.
 * @seed:	of the random source.
 */
struct bstack_faulty_conf {
	u32 read_fail;
	u32 write_fail;
	u32 corrupt;
	u32 delay_prob;
	int error;
	u64 count_until_fail;
	u32 up;
	u32 down;
	u32 delay_ms;
	bool drop_writes;
	u64 seed;
};

/* What one I/O gets, decided by bstack_faulty_decide(). */
struct bstack_faulty_decision {
	blk_status_t fail;	/* end it with this, or 0 */
	bool drop;		/* end it with success, unsent */
	bool corrupt;		/* flip a byte of its data when it is read */
	u32 delay_ms;		/* send it this much later */
};

struct rnd_state;
void bstack_faulty_decide(const struct bstack_faulty_conf *conf,
			  struct rnd_state *rnd, enum req_op op, u64 nth,
			  unsigned long secs, struct bstack_faulty_decision *d);
int bstack_faulty_parse(struct bstack_faulty_conf *conf, unsigned int argc,
			char **argv, char *err);
int bstack_faulty_init(void);
void bstack_faulty_exit(void);

/* zoned.c */
BSTACK_REPORT_ZONES_FN(bstack_report_zones);
int bstack_table_check_zoned(struct bstack_table *t);
void bstack_zone_reset_all(struct bstack_table *t, struct bio *bio);
int bstack_zones_count(struct bstack_device *bd, struct bstack_table *t);

/* passthrough.c */
int bstack_ioctl(struct block_device *bdev, blk_mode_t mode, unsigned int cmd,
		 unsigned long arg);
extern const struct pr_ops bstack_pr_ops;

/* ctl.c */
int bstack_ctl_init(void);
void bstack_ctl_exit(void);
int bstack_ctl_check_header(const struct bstack_ioctl *hdr, char *err);

#endif /* BSTACK_H */
