// SPDX-License-Identifier: GPL-2.0
/*
 * The queue limits and block features a table gives its device.
 *
 * The limits are the block layer's stacking of every lower device at the
 * offset the table maps it from. The features (polling, discard, ...) are
 * decided here, each one on only when every line and every lower device
 * can carry it, as dm decides them; and unlike dm, bstack keeps the first
 * reason it found for each one that is off, for FEATURES to show.
 */
#include "bstack.h"

static const char * const bstack_feature_names[BSTACK_NR_FEATURES] = {
	[BSTACK_FEAT_POLL]		= "poll",
	[BSTACK_FEAT_ATOMIC_WRITES]	= "atomic_writes",
	[BSTACK_FEAT_ZONED]		= "zoned",
	[BSTACK_FEAT_INTEGRITY]		= "integrity",
	[BSTACK_FEAT_DISCARD]		= "discard",
	[BSTACK_FEAT_WRITE_ZEROES]	= "write_zeroes",
	[BSTACK_FEAT_SECURE_ERASE]	= "secure_erase",
	[BSTACK_FEAT_NOWAIT]		= "nowait",
	[BSTACK_FEAT_RESERVATIONS]	= "reservations",
	[BSTACK_FEAT_PASSTHROUGH]	= "passthrough",
};

/* Turn @feat off, and keep why if it is the first reason. */
static __printf(3, 4) void bstack_feature_off(struct bstack_features *f,
					      enum bstack_feature feat,
					      const char *fmt, ...)
{
	va_list args;

	if (!test_bit(feat, &f->on))
		return;
	__clear_bit(feat, &f->on);
	va_start(args, fmt);
	vscnprintf(f->why[feat], BSTACK_FEAT_WHY_LEN, fmt, args);
	va_end(args);
}

static bool bstack_feature_on(const struct bstack_features *f,
			      enum bstack_feature feat)
{
	return test_bit(feat, &f->on);
}

/* The features a line's type cannot pass, whatever its devices have. */
static void bstack_target_features(struct bstack_features *f,
				   struct bstack_target *ti)
{
	unsigned int has = ti->type->features;
	const char *type = ti->type->name;

	if (!(has & BSTACK_TYPE_POLL))
		bstack_feature_off(f, BSTACK_FEAT_POLL,
				   "line %u (%s) cannot be polled", ti->line, type);
	if (!(has & BSTACK_TYPE_ATOMIC))
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "line %u (%s) cannot write atomically",
				   ti->line, type);
	if (!(has & BSTACK_TYPE_INTEGRITY))
		bstack_feature_off(f, BSTACK_FEAT_INTEGRITY,
				   "line %u (%s) cannot carry protection information",
				   ti->line, type);
}

/* The features a lower device lacks. */
static void bstack_lower_features(struct bstack_features *f,
				  struct bstack_lower *l)
{
	struct block_device *bdev = l->bdev;
	unsigned int maj = MAJOR(l->dev), min = MINOR(l->dev);

	if (!bstack_bdev_polls(bdev))
		bstack_feature_off(f, BSTACK_FEAT_POLL,
				   "%pg (%u:%u) has no poll queues", bdev, maj, min);
	if (!bdev_max_discard_sectors(bdev))
		bstack_feature_off(f, BSTACK_FEAT_DISCARD,
				   "%pg (%u:%u) has no discard", bdev, maj, min);
	if (!bdev_write_zeroes_sectors(bdev))
		bstack_feature_off(f, BSTACK_FEAT_WRITE_ZEROES,
				   "%pg (%u:%u) has no write zeroes", bdev, maj, min);
	if (!bdev_max_secure_erase_sectors(bdev))
		bstack_feature_off(f, BSTACK_FEAT_SECURE_ERASE,
				   "%pg (%u:%u) has no secure erase", bdev, maj, min);
	if (!bdev_nowait(bdev))
		bstack_feature_off(f, BSTACK_FEAT_NOWAIT,
				   "%pg (%u:%u) does not take NOWAIT I/O", bdev,
				   maj, min);
}

/*
 * Persistent reservations and ioctls go to the one lower device of a
 * one-line table, as dm sends them (dm_prepare_ioctl()); SG_IO and the
 * other ioctls only when the line maps all of that device, or from a
 * caller with CAP_SYS_RAWIO.
 */
static void bstack_passthrough_features(struct bstack_features *f,
					struct bstack_table *t)
{
	struct bstack_target *ti = &t->targets[0];
	struct block_device *bdev;
	int r;

	if (t->num_targets != 1) {
		bstack_feature_off(f, BSTACK_FEAT_RESERVATIONS,
				   "the table has %u lines; only a one-line table has one device to pass them to",
				   t->num_targets);
		bstack_feature_off(f, BSTACK_FEAT_PASSTHROUGH, "%s",
				   f->why[BSTACK_FEAT_RESERVATIONS]);
		return;
	}
	if (!ti->type->prepare_ioctl) {
		bstack_feature_off(f, BSTACK_FEAT_RESERVATIONS,
				   "line %u (%s) has no single lower device to pass them to",
				   ti->line, ti->type->name);
		bstack_feature_off(f, BSTACK_FEAT_PASSTHROUGH, "%s",
				   f->why[BSTACK_FEAT_RESERVATIONS]);
		return;
	}
	r = ti->type->prepare_ioctl(ti, &bdev);
	if (!bdev->bd_disk->fops->pr_ops)
		bstack_feature_off(f, BSTACK_FEAT_RESERVATIONS,
				   "%pg has no persistent reservations", bdev);
	if (!bdev->bd_disk->fops->ioctl)
		bstack_feature_off(f, BSTACK_FEAT_PASSTHROUGH,
				   "%pg takes no ioctls", bdev);
	else if (r > 0)
		bstack_feature_off(f, BSTACK_FEAT_PASSTHROUGH,
				   "line %u maps part of %pg: only CAP_SYS_RAWIO may send it ioctls",
				   ti->line, bdev);
}

/*
 * The integrity profile, as dm passes it (dm_table_verify_integrity()):
 * every lower device has one, and the same; then the block layer above
 * sees it, and a clone carries the protection information of its bio.
 */
static void bstack_integrity_features(struct bstack_features *f,
				      struct bstack_table *t,
				      struct bstack_limits *l)
{
	struct bstack_lower *lower, *first = NULL;

	if (list_empty(&t->lowers))
		bstack_feature_off(f, BSTACK_FEAT_INTEGRITY, "no lower device");
	list_for_each_entry(lower, &t->lowers, list) {
		if (!bstack_feature_on(f, BSTACK_FEAT_INTEGRITY))
			break;
		if (!bdev_get_integrity(lower->bdev)) {
			bstack_feature_off(f, BSTACK_FEAT_INTEGRITY,
					   "%pg (%u:%u) has no integrity profile",
					   lower->bdev, MAJOR(lower->dev),
					   MINOR(lower->dev));
		} else if (!bstack_limits_stack_integrity(l, lower->bdev)) {
			/* Never the first: it gives the profile. */
			bstack_feature_off(f, BSTACK_FEAT_INTEGRITY,
					   "the integrity profiles of %pg and %pg differ",
					   (first ?: lower)->bdev, lower->bdev);
		}
		first = first ?: lower;
	}
	if (!bstack_feature_on(f, BSTACK_FEAT_INTEGRITY))
		bstack_limits_no_integrity(l);
}

/* What bstack_stack_bdev() stacks a line's devices into. */
struct bstack_stacking {
	struct bstack_limits l;		/* the line's limits */
	struct bstack_features *f;
	struct bstack_target *ti;
};

/*
 * One of a line's lower devices, mapped from its sector @start. Atomic
 * writes are also checked here, where the device and its offset are known:
 * a write stays atomic below only if the device writes atomically, its
 * unit and boundary agree with the line's other devices', and @start keeps
 * a write of the line's unit aligned to its size.
 */
static void bstack_stack_bdev(struct block_device *bdev, sector_t start,
			      void *data)
{
	struct bstack_stacking *s = data;
	struct bstack_features *f = s->f;
	unsigned int maj = MAJOR(bdev->bd_dev), min = MINOR(bdev->bd_dev);
	u64 at = (u64)start;
	bool aligned;

	bstack_limits_stack_bdev(&s->l, bdev, start);
	if (!bstack_feature_on(f, BSTACK_FEAT_ATOMIC_WRITES))
		return;
	if (!bstack_bdev_writes_atomically(bdev)) {
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "%pg (%u:%u) cannot write atomically", bdev,
				   maj, min);
		return;
	}
	/* The device's own alignment counts from the whole disk's start. */
	aligned = bstack_bdev_atomic_aligned(bdev, start);
	if (aligned && !bstack_limits_atomic_max(&s->l))
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "line %u: the atomic write unit or boundary of %pg (%u:%u) does not fit the line's other devices'",
				   s->ti->line, bdev, maj, min);
	else if (!aligned ||
		 !bstack_limits_atomic_align(&s->l, get_start_sect(bdev) + start))
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "line %u maps %pg (%u:%u) from sector %llu, which is not aligned to its smallest atomic write",
				   s->ti->line, bdev, maj, min, at);
}

/*
 * Stack one line: its devices, then its hints (striped: its chunk, io_min
 * and io_opt), as dm_calculate_queue_limits() does for a target; then the
 * line into the table at its first sector, where the chunk bounds the
 * atomic write unit (blk_stack_atomic_writes_chunk_sectors()).
 */
static void bstack_stack_line(struct bstack_limits *l,
			      struct bstack_features *f,
			      struct bstack_target *ti)
{
	struct bstack_stacking s = { .f = f, .ti = ti };
	u64 begin = (u64)ti->begin;

	bstack_target_features(f, ti);
	bstack_limits_init(&s.l);
	if (bstack_feature_on(f, BSTACK_FEAT_ATOMIC_WRITES))
		bstack_limits_want_atomic(&s.l);
	if (ti->type->iterate_devices)
		ti->type->iterate_devices(ti, bstack_stack_bdev, &s);
	if (ti->type->io_hints)
		ti->type->io_hints(ti, &s.l.lim);
	bstack_limits_stack_line(l, &s.l);

	if (!bstack_feature_on(f, BSTACK_FEAT_ATOMIC_WRITES))
		return;
	if (!bstack_limits_atomic_max(l))
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "line %u: its atomic write limits do not fit the lines' before it",
				   ti->line);
	else if (!bstack_limits_atomic_align(l, ti->begin))
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "line %u begins at sector %llu, which is not aligned to its smallest atomic write",
				   ti->line, begin);
}

/**
 * bstack_table_stack_limits - the queue limits and features @t gives
 * @t:		a table whose targets are all constructed
 * @l:		the result, from the block layer's stacking defaults
 *
 * Each line stacks the limits of its lower devices at the offsets it maps
 * them from, and adds its hints; the lines are stacked into @l.
 * @t->features is filled in, and @l follows it.
 */
void bstack_table_stack_limits(struct bstack_table *t, struct bstack_limits *l)
{
	struct bstack_features *f = &t->features;
	blk_features_t *feat = bstack_features(l);
	struct bstack_lower *lower;
	unsigned int i;

	memset(f, 0, sizeof(*f));
	bitmap_fill(&f->on, BSTACK_NR_FEATURES);
	if (t->conv_zones_only)
		bstack_feature_off(f, BSTACK_FEAT_ZONED,
				   "the table maps conventional zones alone, a device that is not zoned, as dm makes it");
	else if (!t->zoned)
		bstack_feature_off(f, BSTACK_FEAT_ZONED,
				   "no lower device is zoned");
	else
		/* bstack_io_retry() would send a write after later ones. */
		bstack_feature_off(f, BSTACK_FEAT_NOWAIT,
				   "a zoned table keeps its writes in order, and a NOWAIT write that had to wait is sent again later");
	if (bstack_atomic_writes_missing())
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES, "%s",
				   bstack_atomic_writes_missing());

	bstack_limits_init(l);
	if (bstack_feature_on(f, BSTACK_FEAT_ATOMIC_WRITES))
		bstack_limits_want_atomic(l);
	for (i = 0; i < t->num_targets; i++)
		bstack_stack_line(l, f, &t->targets[i]);
	if (!t->num_targets)
		bstack_feature_off(f, BSTACK_FEAT_ATOMIC_WRITES,
				   "the table has no line");
	if (!bstack_feature_on(f, BSTACK_FEAT_ATOMIC_WRITES))
		bstack_limits_no_atomic(l);
	list_for_each_entry(lower, &t->lowers, list)
		bstack_lower_features(f, lower);
	bstack_integrity_features(f, t, l);
	bstack_passthrough_features(f, t);

	*feat |= BLK_FEAT_IO_STAT;
	if (bstack_feature_on(f, BSTACK_FEAT_NOWAIT))
		*feat |= BLK_FEAT_NOWAIT;
	else
		*feat &= ~BLK_FEAT_NOWAIT;
	t->poll = bstack_feature_on(f, BSTACK_FEAT_POLL);
	if (t->poll)
		*feat |= BLK_FEAT_POLL;
	else
		*feat &= ~BLK_FEAT_POLL;
	/*
	 * blk_stack_limits() keeps the smallest write-zeroes size, so one
	 * lower device without it turns it off; but it keeps the smallest
	 * non-zero discard and secure-erase sizes. Offer those only when
	 * every lower device takes them, as dm does.
	 */
	if (!bstack_feature_on(f, BSTACK_FEAT_DISCARD))
		bstack_limits_no_discard(l);
	if (!bstack_feature_on(f, BSTACK_FEAT_SECURE_ERASE))
		l->lim.max_secure_erase_sectors = 0;
	if (!bstack_feature_on(f, BSTACK_FEAT_WRITE_ZEROES))
		l->lim.max_write_zeroes_sectors = 0;
	/* Without a lower device, what the stacking defaults give. */
	if (!l->lim.max_hw_discard_sectors)
		bstack_feature_off(f, BSTACK_FEAT_DISCARD, "no line discards");
	if (!l->lim.max_secure_erase_sectors)
		bstack_feature_off(f, BSTACK_FEAT_SECURE_ERASE,
				   "no line erases securely");
	if (!l->lim.max_write_zeroes_sectors)
		bstack_feature_off(f, BSTACK_FEAT_WRITE_ZEROES,
				   "no line writes zeroes");
	/*
	 * A table that is not zoned (zero and error lines alone, say) would
	 * otherwise keep the stacking defaults' zone limits.
	 */
	if (!t->zoned)
		bstack_limits_not_zoned(l);
	else
		bstack_limits_set_zone_resources(l, t->max_open_zones,
						 t->max_active_zones);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_stack_limits);

/**
 * bstack_table_features - FEATURES' text for @t
 * @t:		the table
 * @buf:	where to write it, NUL-terminated
 * @len:	the size of @buf
 *
 * One line per feature: "<name>: on", or "<name>: off: <why>".
 * Returns the length of the text.
 */
size_t bstack_table_features(const struct bstack_table *t, char *buf,
			     size_t len)
{
	const struct bstack_features *f = &t->features;
	size_t n = 0;
	int i;

	for (i = 0; i < BSTACK_NR_FEATURES; i++) {
		if (bstack_feature_on(f, i))
			n += scnprintf(buf + n, len - n, "%s: on\n",
				       bstack_feature_names[i]);
		else
			n += scnprintf(buf + n, len - n, "%s: off: %s\n",
				       bstack_feature_names[i], f->why[i]);
	}
	return n;
}
