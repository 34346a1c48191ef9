/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bstack's kernel compatibility layer: every difference between the
 * kernels bstack builds for lives here, and nowhere else.
 *
 * bstack is written for the newest kernel interfaces. Where an older
 * kernel lacks one, this header supplies it, or a bstack_*() wrapper
 * hides the difference. Which interfaces a kernel has is decided by the
 * build-time probes in scripts/probes/ (scripts/probe.sh writes
 * bstack_config.h from them), never by LINUX_VERSION_CODE: distributions
 * backport features into old series. Each BSTACK_HAVE_* below names the
 * probe that sets it; the probe's first line says which change it
 * detects and the first release that has it.
 *
 * Tested on Debian's 6.1, 6.12 and unstable (7.2) kernels; see
 * Documentation/kernels.md for what each kernel gives up.
 */
#ifndef BSTACK_COMPAT_H
#define BSTACK_COMPAT_H

#if !__has_include("bstack_config.h")
#error "bstack_config.h is missing: build with make from bstack's top directory, which runs scripts/probe.sh on the kernel first"
#endif
#include "bstack_config.h"

#include <linux/blkdev.h>
#include <linux/blk-integrity.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pr.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <generated/utsrelease.h>

/* ------------------------------------------------------------- KUnit */

#ifdef BSTACK_HAVE_KUNIT_STATIC_STUB
#include <kunit/static_stub.h>
#else
/* No static stubs: the functions are never redirected. */
#define KUNIT_STATIC_STUB_REDIRECT(...) do { } while (0)
#endif

#ifdef BSTACK_HAVE_KUNIT_VISIBILITY
#include <kunit/visibility.h>
#else
#define EXPORT_SYMBOL_IF_KUNIT(...)
#endif

#ifndef BSTACK_HAVE_KUNIT_ARRAY_PARAM_DESC
/* KUNIT_ARRAY_PARAM() with a description function made for @desc_member. */
#define KUNIT_ARRAY_PARAM_DESC(name, array, desc_member)			\
	static void name##_desc(typeof(&(array)[0]) p, char *desc)		\
	{									\
		strscpy(desc, p->desc_member, KUNIT_PARAM_DESC_SIZE);		\
	}									\
	KUNIT_ARRAY_PARAM(name, array, name##_desc)
#endif

/* How a KUnit suite imports what EXPORT_SYMBOL_IF_KUNIT() exports. */
#ifdef BSTACK_HAVE_MODULE_IMPORT_NS_IDENT
#define BSTACK_IMPORT_KUNIT_NS() MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING)
#else
#define BSTACK_IMPORT_KUNIT_NS() MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING")
#endif

/*
 * The device suite (tests/kunit/dev_test.c) redirects bstack's clone
 * allocation and submission with static stubs, and gives the lower devices
 * made-up limits and features through queue_limits_start_update().
 */
#if defined(BSTACK_HAVE_KUNIT_STATIC_STUB) && defined(BSTACK_HAVE_BLK_FEAT)
#define BSTACK_KUNIT_DEV_SUITE 1
#else
#define BSTACK_KUNIT_DEV_SUITE_MISSING \
	"the kernel lacks kunit/static_stub.h (6.3) or BLK_FEAT_* queue features (6.11)"
#endif

/* -------------------------------------------------------- workqueues */

#ifndef BSTACK_HAVE_WQ_PERCPU
/* Before it had a name, per-cpu was what no WQ_UNBOUND meant. */
#define WQ_PERCPU 0
#endif

/* ------------------------------------------------------------ memory */

static inline void *bstack_kvrealloc(void *p, size_t oldsize, size_t newsize,
				     gfp_t gfp)
{
#ifdef BSTACK_HAVE_KVREALLOC_NO_OLDSIZE
	return kvrealloc(p, newsize, gfp);
#else
	return kvrealloc(p, oldsize, newsize, gfp);
#endif
}

/* ----------------------------------------------------- lower devices */

#ifndef BSTACK_HAVE_BLK_MODE_T
#define blk_mode_t fmode_t
#define BLK_OPEN_READ	FMODE_READ
#define BLK_OPEN_WRITE	FMODE_WRITE
#endif

/*
 * What it takes to close a lower device that bstack_bdev_open() opened:
 * the struct file it is open as, or, before those, the mode it was
 * opened with.
 */
struct bstack_bdev_ref {
#ifdef BSTACK_HAVE_BDEV_FILE_OPEN
	struct file *file;
#else
	blk_mode_t mode;
#endif
};

/**
 * bstack_bdev_open - open a lower device exclusively
 * @dev:	its device number
 * @mode:	BLK_OPEN_READ, and BLK_OPEN_WRITE unless read-only
 * @holder:	who claims it; another holder gets -EBUSY
 * @ref:	what bstack_bdev_close() needs
 *
 * Returns the device or an ERR_PTR.
 */
static inline struct block_device *bstack_bdev_open(dev_t dev, blk_mode_t mode,
						    void *holder,
						    struct bstack_bdev_ref *ref)
{
#if defined(BSTACK_HAVE_BDEV_FILE_OPEN)
	ref->file = bdev_file_open_by_dev(dev, mode, holder, NULL);
	if (IS_ERR(ref->file))
		return ERR_CAST(ref->file);
	return file_bdev(ref->file);
#elif defined(BSTACK_HAVE_BLKDEV_GET_BY_DEV_HOLDER)
	ref->mode = mode | FMODE_EXCL;
	return blkdev_get_by_dev(dev, ref->mode, holder);
#else
#error "bstack knows no way to open a block device on this kernel (see scripts/probes/bdev_file_open.c)"
#endif
}

/*
 * Close it now, not when the task returns to user space (fput() defers
 * the last put of a file): a removal right after, of the lower device or
 * by remove_all, must find it closed.
 */
static inline void bstack_bdev_close(struct block_device *bdev,
				     struct bstack_bdev_ref *ref)
{
#ifdef BSTACK_HAVE_BDEV_FILE_OPEN
	__fput_sync(ref->file);
#else
	blkdev_put(bdev, ref->mode);
#endif
}

/*
 * Who holds @bdev, in words for a refusal: a filesystem, another driver,
 * or NULL when nobody claimed it.
 */
static inline const char *bstack_bdev_holder_says(struct block_device *bdev)
{
	const char *who = NULL;

#if defined(BSTACK_HAVE_BD_HOLDER_OPS)
	mutex_lock(&bdev->bd_holder_lock);
	if (bdev->bd_holder_ops == &fs_holder_ops)
		who = "a filesystem is mounted on it";
	else if (bdev->bd_holder)
		who = "another driver claimed it (see its holders/ in sysfs)";
	mutex_unlock(&bdev->bd_holder_lock);
#else
	/* No lock guards them: this is a message, not a decision. */
	if (READ_ONCE(bdev->bd_holder)) {
#ifdef BSTACK_HAVE_BD_SUPER
		if (READ_ONCE(bdev->bd_super))
			who = "a filesystem is mounted on it";
		else
#endif
			who = "another driver claimed it (see its holders/ in sysfs)";
	}
#endif
	return who;
}

#ifndef BSTACK_HAVE_BDEV_FREEZE
static inline int bdev_freeze(struct block_device *bdev)
{
	return freeze_bdev(bdev);
}

static inline int bdev_thaw(struct block_device *bdev)
{
	return thaw_bdev(bdev);
}
#endif

/* ------------------------------------------------- gendisk operations */

/*
 * The parameters of block_device_operations' open and release, and the
 * disk that open is for: since 6.5 both take the gendisk.
 */
#ifdef BSTACK_HAVE_GENDISK_OPEN
#define BSTACK_OPEN_ARGS	struct gendisk *disk, blk_mode_t mode
#define BSTACK_OPEN_DISK	disk
#define BSTACK_RELEASE_ARGS	struct gendisk *disk
#else
#define BSTACK_OPEN_ARGS	struct block_device *bdev, fmode_t mode
#define BSTACK_OPEN_DISK	(bdev->bd_disk)
#define BSTACK_RELEASE_ARGS	struct gendisk *disk, fmode_t mode
#endif

/* ------------------------------------------------------ I/O accounting */

static inline unsigned long bstack_start_io_acct(struct block_device *bdev,
						 enum req_op op,
						 unsigned int sectors,
						 unsigned long start_time)
{
#ifdef BSTACK_HAVE_BDEV_IO_ACCT_NO_SECTORS
	return bdev_start_io_acct(bdev, op, start_time);
#else
	return bdev_start_io_acct(bdev, sectors, op, start_time);
#endif
}

static inline void bstack_end_io_acct(struct block_device *bdev,
				      enum req_op op, unsigned int sectors,
				      unsigned long start_time)
{
#ifdef BSTACK_HAVE_BDEV_IO_ACCT_NO_SECTORS
	bdev_end_io_acct(bdev, op, sectors, start_time);
#else
	bdev_end_io_acct(bdev, op, start_time);
#endif
}

/* ------------------------------------------------------- queue limits */

#ifndef BSTACK_HAVE_BLK_FEAT
/*
 * Before 6.11 these were queue flags that a stacking driver sets itself;
 * bstack keeps them beside the limits until bstack_limits_apply().
 */
#define blk_features_t unsigned int
#define BLK_FEAT_WRITE_CACHE	(1U << 0)
#define BLK_FEAT_FUA		(1U << 1)
#define BLK_FEAT_ROTATIONAL	(1U << 2)
#define BLK_FEAT_STABLE_WRITES	(1U << 3)
#define BLK_FEAT_NOWAIT		(1U << 4)
#define BLK_FEAT_IO_STAT	(1U << 5)
#define BLK_FEAT_ZONED		(1U << 6)
#define BLK_FEAT_POLL		(1U << 7)
#endif

/* @bdev's queue completes polled bios (it has poll queues). */
static inline bool bstack_bdev_polls(struct block_device *bdev)
{
#ifdef BSTACK_HAVE_BLK_FEAT
	return bdev_get_queue(bdev)->limits.features & BLK_FEAT_POLL;
#else
	return test_bit(QUEUE_FLAG_POLL, &bdev_get_queue(bdev)->queue_flags);
#endif
}

/**
 * struct bstack_limits - what a table asks of the bstack device's queue
 * @lim:	the limits, stacked from the lower devices
 * @features:	before 6.11, the queue flags that @lim has no room for
 * @integrity_disk: before 6.11, the lower disk whose integrity profile
 *		the bstack disk registers, or NULL for none
 */
struct bstack_limits {
	struct queue_limits lim;
#ifndef BSTACK_HAVE_BLK_FEAT
	blk_features_t features;
#endif
#ifndef BSTACK_HAVE_QUEUE_LIMITS_STACK_INTEGRITY_BDEV
	struct gendisk *integrity_disk;
#endif
#ifndef BSTACK_HAVE_QUEUE_LIMITS_ZONE_RESOURCES
	unsigned int max_open_zones;
	unsigned int max_active_zones;
#endif
};

static inline blk_features_t *bstack_features(struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_BLK_FEAT
	return &l->lim.features;
#else
	return &l->features;
#endif
}

/* The stacking defaults, before any lower device is stacked. */
static inline void bstack_limits_init(struct bstack_limits *l)
{
	blk_set_stacking_limits(&l->lim);
#ifndef BSTACK_HAVE_BLK_FEAT
	l->features = 0;
#endif
#ifndef BSTACK_HAVE_QUEUE_LIMITS_STACK_INTEGRITY_BDEV
	l->integrity_disk = NULL;
#endif
#ifndef BSTACK_HAVE_QUEUE_LIMITS_ZONE_RESOURCES
	l->max_open_zones = 0;
	l->max_active_zones = 0;
#endif
}

#ifndef BSTACK_HAVE_BLK_FEAT
/* The features of @q, as blk_stack_limits() stacks them from 6.11. */
static inline void bstack_stack_queue_flags(struct bstack_limits *l,
					    struct request_queue *q)
{
	if (test_bit(QUEUE_FLAG_WC, &q->queue_flags))
		l->features |= BLK_FEAT_WRITE_CACHE;
	if (test_bit(QUEUE_FLAG_FUA, &q->queue_flags))
		l->features |= BLK_FEAT_FUA;
	if (!blk_queue_nonrot(q))
		l->features |= BLK_FEAT_ROTATIONAL;
	if (blk_queue_stable_writes(q))
		l->features |= BLK_FEAT_STABLE_WRITES;
	if (!test_bit(QUEUE_FLAG_NOWAIT, &q->queue_flags))
		l->features &= ~BLK_FEAT_NOWAIT;
}
#endif

/* Stack the limits of @bdev, from its sector @start, into @l. */
static inline void bstack_limits_stack_bdev(struct bstack_limits *l,
					    struct block_device *bdev,
					    sector_t start)
{
#ifdef BSTACK_HAVE_QUEUE_LIMITS_STACK_BDEV
	queue_limits_stack_bdev(&l->lim, bdev, start, "bstack");
#else
	if (blk_stack_limits(&l->lim, &bdev_get_queue(bdev)->limits,
			     get_start_sect(bdev) + start) < 0)
		pr_notice("bstack: %pg is misaligned\n", bdev);
#endif
#ifndef BSTACK_HAVE_BLK_FEAT
	bstack_stack_queue_flags(l, bdev_get_queue(bdev));
#endif
}

/*
 * Stack the limits of one line, @b, into the table's @t at the table's
 * sector 0, as dm combines its targets'. A line misaligned with the others
 * leaves BLK_FLAG_MISALIGNED (or misaligned) in @t, as in dm.
 */
static inline void bstack_limits_stack_line(struct bstack_limits *t,
					    struct bstack_limits *b)
{
	blk_stack_limits(&t->lim, &b->lim, 0);
#ifndef BSTACK_HAVE_BLK_FEAT
	t->features |= b->features;
#endif
}

/* Offer no discard: no lower device limit is left to turn it on. */
static inline void bstack_limits_no_discard(struct bstack_limits *l)
{
	l->lim.max_hw_discard_sectors = 0;
	/* Computed from the above since 6.9, a limit of its own before. */
	l->lim.max_discard_sectors = 0;
	l->lim.discard_granularity = 0;
}

/* Not a zoned device, whatever the stacking defaults say. */
static inline void bstack_limits_not_zoned(struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_BLK_FEAT
	l->lim.features &= ~BLK_FEAT_ZONED;
#else
	l->lim.zoned = 0;	/* BLK_ZONED_NONE, or false */
#endif
	l->lim.max_zone_append_sectors = 0;
	l->lim.zone_write_granularity = 0;
}

/*
 * The open and active zone limits of a zoned table, 0 for none; before
 * 6.9 the disk's, not its queue's.
 */
static inline void bstack_limits_set_zone_resources(struct bstack_limits *l,
						    unsigned int open,
						    unsigned int active)
{
#ifdef BSTACK_HAVE_QUEUE_LIMITS_ZONE_RESOURCES
	l->lim.max_open_zones = open;
	l->lim.max_active_zones = active;
#else
	l->max_open_zones = open;
	l->max_active_zones = active;
#endif
}

#ifndef BSTACK_HAVE_BLK_FEAT
/* The features as queue flags, as dm_table_set_restrictions() sets them. */
static inline void bstack_queue_set_flags(struct request_queue *q,
					  blk_features_t f)
{
	bool wc = f & BLK_FEAT_WRITE_CACHE;

	/* FUA means something only with a write cache, as 6.11 has it. */
	blk_queue_write_cache(q, wc, wc && (f & BLK_FEAT_FUA));
	if (f & BLK_FEAT_ROTATIONAL)
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, q);
	else
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	if (f & BLK_FEAT_STABLE_WRITES)
		blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);
	else
		blk_queue_flag_clear(QUEUE_FLAG_STABLE_WRITES, q);
	if (f & BLK_FEAT_NOWAIT)
		blk_queue_flag_set(QUEUE_FLAG_NOWAIT, q);
	else
		blk_queue_flag_clear(QUEUE_FLAG_NOWAIT, q);
	if (f & BLK_FEAT_IO_STAT)
		blk_queue_flag_set(QUEUE_FLAG_IO_STAT, q);
	else
		blk_queue_flag_clear(QUEUE_FLAG_IO_STAT, q);
	if (f & BLK_FEAT_POLL)
		blk_queue_flag_set(QUEUE_FLAG_POLL, q);
	else
		blk_queue_flag_clear(QUEUE_FLAG_POLL, q);
}
#endif

/**
 * bstack_limits_apply - give @disk's queue the limits and features of @l
 * @disk:	the bstack disk; no bio may be in flight on it
 * @l:		the limits
 *
 * Returns 0, or a negative errno when the block layer refuses the
 * limits; then nothing changed.
 */
static inline int bstack_limits_apply(struct gendisk *disk,
				      struct bstack_limits *l)
{
	struct request_queue *q = disk->queue;

#ifdef BSTACK_HAVE_QUEUE_LIMITS_SET
	int r = queue_limits_set(q, &l->lim);

	if (r)
		return r;
#else
	/* As dm_table_set_restrictions() does, with no bio in flight. */
	q->limits = l->lim;
	disk_update_readahead(disk);
#endif
#ifndef BSTACK_HAVE_QUEUE_LIMITS_STACK_INTEGRITY_BDEV
	/*
	 * As dm_table_set_integrity() does before 6.11; first, for both
	 * touch QUEUE_FLAG_STABLE_WRITES, which the features then decide.
	 */
	if (l->integrity_disk)
		blk_integrity_register(disk,
				       blk_get_integrity(l->integrity_disk));
	else
		blk_integrity_unregister(disk);
#endif
#ifndef BSTACK_HAVE_BLK_FEAT
	bstack_queue_set_flags(q, l->features);
#endif
#if !defined(BSTACK_HAVE_QUEUE_LIMITS_ZONE_RESOURCES) && \
	IS_ENABLED(CONFIG_BLK_DEV_ZONED)
	disk_set_max_open_zones(disk, l->max_open_zones);
	disk_set_max_active_zones(disk, l->max_active_zones);
#endif
	return 0;
}

/**
 * bstack_alloc_disk - a gendisk for a bio-based device
 * @features:	its first features; its limits are the block layer's defaults
 *
 * Returns the disk or an ERR_PTR.
 */
static inline struct gendisk *bstack_alloc_disk(blk_features_t features)
{
	struct gendisk *disk;
#ifdef BSTACK_HAVE_BLK_ALLOC_DISK_LIM
	struct queue_limits lim = { };

#ifdef BSTACK_HAVE_BLK_FEAT
	lim.features = features;
#endif
	disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
	if (IS_ERR(disk))
		return disk;
#else
	disk = blk_alloc_disk(NUMA_NO_NODE);
	if (!disk)
		return ERR_PTR(-ENOMEM);
#endif
#ifndef BSTACK_HAVE_BLK_FEAT
	bstack_queue_set_flags(disk->queue, features);
#endif
	return disk;
}

/* ------------------------------------------------------ atomic writes */

#ifndef BSTACK_HAVE_REQ_ATOMIC
/*
 * Before 6.11 no bio asks to be written whole or not at all, and the
 * status that refuses one (EINVAL) is not there either.
 */
#define REQ_ATOMIC	((__force blk_opf_t)0)
#define BLK_STS_INVAL	BLK_STS_IOERR
#endif

/*
 * Why bstack offers no atomic writes on this kernel, or NULL: before 6.14
 * blk_stack_limits() leaves a stacking driver's atomic write limits zero.
 */
static inline const char *bstack_atomic_writes_missing(void)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	return NULL;
#else
	return "the kernel does not stack atomic write limits (6.14)";
#endif
}

/* @bdev writes atomically, from its first sector on. */
static inline bool bstack_bdev_writes_atomically(struct block_device *bdev)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	return bdev_can_atomic_write(bdev);
#else
	return false;
#endif
}

/* @bdev's atomic writes stay aligned when mapped from its sector @start. */
static inline bool bstack_bdev_atomic_aligned(struct block_device *bdev,
					      sector_t start)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	return blk_atomic_write_start_sect_aligned(start,
						   &bdev_get_queue(bdev)->limits);
#else
	return false;
#endif
}

/* Have blk_stack_limits() stack atomic write limits into @l. */
static inline void bstack_limits_want_atomic(struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	l->lim.features |= BLK_FEAT_ATOMIC_WRITES;
#endif
}

/* The largest atomic write the stacking left in @l, in bytes; 0 for none. */
static inline unsigned int
bstack_limits_atomic_max(const struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	/* UINT_MAX: the stacking defaults, no device stacked. */
	if (!(l->lim.features & BLK_FEAT_ATOMIC_WRITES) ||
	    l->lim.atomic_write_hw_max == UINT_MAX)
		return 0;
	return l->lim.atomic_write_hw_max;
#else
	return 0;
#endif
}

/* No atomic writes in @l. */
static inline void bstack_limits_no_atomic(struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	l->lim.features &= ~BLK_FEAT_ATOMIC_WRITES;
	l->lim.atomic_write_hw_max = 0;
	l->lim.atomic_write_hw_unit_min = 0;
	l->lim.atomic_write_hw_unit_max = 0;
	l->lim.atomic_write_hw_boundary = 0;
#endif
}

/*
 * Shrink @l's largest atomic write unit to what @offset (in sectors) is
 * aligned to. An atomic write is aligned to its size; remapped by
 * @offset, it must stay so, and the block layer below checks only its
 * size. Returns the unit, or 0 when even the smallest unit does not fit:
 * then @l has no atomic writes.
 */
static inline unsigned int bstack_limits_atomic_align(struct bstack_limits *l,
						      sector_t offset)
{
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
	struct queue_limits *lim = &l->lim;
	u64 bytes = (u64)offset << SECTOR_SHIFT;

	if (!bstack_limits_atomic_max(l))
		return 0;
	if (bytes && lim->atomic_write_hw_unit_max > (1ULL << __ffs64(bytes)))
		lim->atomic_write_hw_unit_max = 1ULL << __ffs64(bytes);
	if (lim->atomic_write_hw_unit_min > lim->atomic_write_hw_unit_max) {
		bstack_limits_no_atomic(l);
		return 0;
	}
	return lim->atomic_write_hw_unit_max;
#else
	return 0;
#endif
}

/* --------------------------------------------------------------- zones */

/*
 * What bstack_report_zones() hands a zone to: the caller's callback and
 * its data, or since 6.19 the block layer's report arguments.
 */
#ifdef BSTACK_HAVE_REPORT_ZONES_ARGS
#define BSTACK_REPORT_ZONES_FN(name)					\
	int name(struct gendisk *disk, sector_t sector,			\
		 unsigned int nr_zones, struct blk_report_zones_args *up_args)
#define BSTACK_REPORT_ZONES_UP		.up_args = up_args
struct bstack_zones_up {
	struct blk_report_zones_args *up_args;
};
#else
#define BSTACK_REPORT_ZONES_FN(name)					\
	int name(struct gendisk *disk, sector_t sector,			\
		 unsigned int nr_zones, report_zones_cb up_cb, void *up_data)
#define BSTACK_REPORT_ZONES_UP		.up_cb = up_cb, .up_data = up_data
struct bstack_zones_up {
	report_zones_cb up_cb;
	void *up_data;
};
#endif

/* Pass @zone, remapped, to whoever asked for the report. */
static inline int bstack_zone_up(struct gendisk *disk, struct blk_zone *zone,
				 unsigned int idx, struct bstack_zones_up *up)
{
#ifdef BSTACK_HAVE_REPORT_ZONES_ARGS
	return disk_report_zone(disk, zone, idx, up->up_args);
#else
	return up->up_cb(zone, idx, up->up_data);
#endif
}

/*
 * After a zoned table's limits are applied and its capacity set: count
 * the zones. Since 6.10 blk_revalidate_disk_zones() does, reporting them
 * through bstack_report_zones(); a bio-based disk with native zone append
 * gets no zone write plugs from it. Before, as dm does on 6.1, the count
 * comes from the zone size.
 */
static inline int bstack_disk_revalidate_zones(struct gendisk *disk)
{
#ifdef BSTACK_HAVE_BLK_REVALIDATE_DISK_ZONES_NOARG
	return blk_revalidate_disk_zones(disk);
#elif IS_ENABLED(CONFIG_BLK_DEV_ZONED)
	disk->nr_zones = bdev_nr_zones(disk->part0);
	return 0;
#else
	return 0;
#endif
}

/*
 * Show or hide the queue attributes that only a zoned disk has
 * (max_open_zones, max_active_zones): the block layer decides when it adds
 * a disk, and bstack's is added before it has a table, as dm's is not.
 */
static inline int bstack_disk_update_queue_sysfs(struct gendisk *disk)
{
#ifdef BSTACK_HAVE_GENDISK_QUEUE_KOBJ
	struct kobject *kobj = &disk->queue_kobj;
#else
	struct kobject *kobj = &disk->queue->kobj;
#endif

	return sysfs_update_groups(kobj, kobj->ktype->default_groups);
}

/* Reset the zones of @nr sectors of @bdev from @sector; it may sleep. */
static inline int bstack_zone_reset(struct block_device *bdev, sector_t sector,
				    sector_t nr)
{
#ifdef BSTACK_HAVE_BLKDEV_ZONE_MGMT_NOGFP
	return blkdev_zone_mgmt(bdev, REQ_OP_ZONE_RESET, sector, nr);
#else
	return blkdev_zone_mgmt(bdev, REQ_OP_ZONE_RESET, sector, nr, GFP_NOIO);
#endif
}

/* Keep the zoned model of @l: BLK_FEAT_ZONED, or the 6.1 zoned field. */
static inline bool bstack_limits_zoned(const struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_BLK_FEAT
	return l->lim.features & BLK_FEAT_ZONED;
#else
	return l->lim.zoned != BLK_ZONED_NONE;
#endif
}

/* ----------------------------------------------------------- integrity */

/*
 * Stack @bdev's integrity profile into @l: false when it differs from the
 * one already there, and then @l has none.
 */
static inline bool bstack_limits_stack_integrity(struct bstack_limits *l,
						 struct block_device *bdev)
{
#ifdef BSTACK_HAVE_QUEUE_LIMITS_STACK_INTEGRITY_BDEV
	return queue_limits_stack_integrity_bdev(&l->lim, bdev);
#else
	/* The profile is the disk's: the first gives it, the others match. */
	if (!l->integrity_disk) {
		l->integrity_disk = bdev->bd_disk;
		return true;
	}
	if (!blk_integrity_compare(l->integrity_disk, bdev->bd_disk))
		return true;
	l->integrity_disk = NULL;
	return false;
#endif
}

/* No integrity profile in @l. */
static inline void bstack_limits_no_integrity(struct bstack_limits *l)
{
#ifdef BSTACK_HAVE_QUEUE_LIMITS_STACK_INTEGRITY_BDEV
	memset(&l->lim.integrity, 0, sizeof(l->lim.integrity));
#else
	l->integrity_disk = NULL;
#endif
}

/*
 * A reserve of integrity payloads for the clones of bios that carry one,
 * where the bio_set keeps it; later kernels allocate them from the slab.
 */
static inline int bstack_bioset_integrity_init(struct bio_set *bs)
{
#ifdef BSTACK_HAVE_BIOSET_INTEGRITY_CREATE
	if (IS_ENABLED(CONFIG_BLK_DEV_INTEGRITY))
		return bioset_integrity_create(bs, BIO_POOL_SIZE);
#endif
	return 0;
}

/* ------------------------------------------- persistent reservations */

/*
 * pr_ops' two read calls (6.5), passed on to a lower device's: the
 * members of bstack_pr_ops for bstack_pr_read_keys() and
 * bstack_pr_read_reservation(), where the kernel has them.
 */
#ifdef BSTACK_HAVE_PR_READ_KEYS
#define BSTACK_PR_READ_OPS						\
	.pr_read_keys = bstack_pr_read_keys,				\
	.pr_read_reservation = bstack_pr_read_reservation,
#else
#define BSTACK_PR_READ_OPS
struct pr_keys;
struct pr_held_reservation;
#endif

static inline int bstack_call_pr_read_keys(const struct pr_ops *ops,
					   struct block_device *bdev,
					   struct pr_keys *keys)
{
#ifdef BSTACK_HAVE_PR_READ_KEYS
	if (ops->pr_read_keys)
		return ops->pr_read_keys(bdev, keys);
#endif
	return -EOPNOTSUPP;
}

static inline int
bstack_call_pr_read_reservation(const struct pr_ops *ops,
				struct block_device *bdev,
				struct pr_held_reservation *rsv)
{
#ifdef BSTACK_HAVE_PR_READ_KEYS
	if (ops->pr_read_reservation)
		return ops->pr_read_reservation(bdev, rsv);
#endif
	return -EOPNOTSUPP;
}

/* ------------------------------------------------------------ report */

/*
 * How this build of bstack uses its kernel, one "<what>: <how>" line
 * each, for VERSION (bstackctl version). A fallback names what the kernel
 * lacks and the release that brought it. Writes at most @len bytes, the
 * text NUL-terminated, and returns its length.
 */
static inline size_t bstack_compat_report(char *buf, size_t len)
{
	static const char * const lines[] = {
		"kernel: " UTS_RELEASE,
#ifdef BSTACK_HAVE_BDEV_FILE_OPEN
		"lower devices: opened as files, bdev_file_open_by_dev()",
#else
		"lower devices: blkdev_get_by_dev(); the kernel has no bdev_file_open_by_dev() (6.9)",
#endif
#ifdef BSTACK_HAVE_QUEUE_LIMITS_SET
		"queue limits: stacked with queue_limits_stack_bdev(), applied with queue_limits_set()",
#else
		"queue limits: stacked with blk_stack_limits(), copied in while no bio is in flight, as dm does; the kernel has no queue_limits_set() (6.9)",
#endif
#ifdef BSTACK_HAVE_BLK_FEAT
		"queue features: write cache, FUA, NOWAIT, rotational, stable writes stacked as BLK_FEAT_* limits",
#else
		"queue features: write cache, FUA, NOWAIT, rotational, stable writes stacked by bstack and set as queue flags; the kernel has no BLK_FEAT_* (6.11)",
#endif
#ifdef BSTACK_HAVE_BDEV_FREEZE
		"filesystem freeze on suspend: bdev_freeze()",
#else
		"filesystem freeze on suspend: freeze_bdev(); the kernel has no bdev_freeze() (6.8)",
#endif
#ifdef BSTACK_HAVE_BD_HOLDER_OPS
		"who holds a device, in refusals: bd_holder_ops, under bd_holder_lock",
#else
		"who holds a device, in refusals: bd_holder and bd_super, read unlocked; the kernel has no bd_holder_ops (6.6)",
#endif
#ifdef BSTACK_HAVE_PR_READ_KEYS
		"persistent reservations: all pr_ops, read keys and reservation too",
#else
		"persistent reservations: register, reserve, release, preempt, clear; the kernel has no pr_read_keys() (6.5)",
#endif
#ifdef BSTACK_HAVE_QUEUE_LIMITS_STACK_INTEGRITY_BDEV
		"integrity profiles: stacked as queue limits, queue_limits_stack_integrity_bdev()",
#else
		"integrity profiles: the disk's, compared with blk_integrity_compare() and registered with blk_integrity_register(), as dm does; the kernel has no queue_limits_stack_integrity_bdev() (6.11)",
#endif
#ifdef BSTACK_HAVE_BLK_FEAT_ATOMIC_WRITES
		"atomic writes: stacked by blk_stack_limits() with BLK_FEAT_ATOMIC_WRITES",
#else
		"atomic writes: not offered; the kernel does not stack atomic write limits (6.14)",
#endif
#if !IS_ENABLED(CONFIG_BLK_DEV_ZONED)
		"zones: not offered; the kernel is built without CONFIG_BLK_DEV_ZONED",
#elif defined(BSTACK_HAVE_BLK_REVALIDATE_DISK_ZONES_NOARG)
		"zones: a new table's counted and checked by blk_revalidate_disk_zones() before it goes live; native zone append",
#else
		"zones: a new table's counted from its zone size, as dm does; the kernel's blk_revalidate_disk_zones() takes a driver callback (6.10); native zone append",
#endif
#ifdef BSTACK_HAVE_REPORT_ZONES_ARGS
		"zone reports: passed up with disk_report_zone()",
#else
		"zone reports: passed up to the caller's callback; the kernel has no disk_report_zone() (6.19)",
#endif
#ifdef BSTACK_HAVE_WQ_PERCPU
		"workqueues: WQ_PERCPU",
#else
		"workqueues: per-cpu by default; the kernel has no WQ_PERCPU (6.17)",
#endif
	};
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		n += scnprintf(buf + n, len - n, "%s\n", lines[i]);
	return n;
}

#endif /* BSTACK_COMPAT_H */
