// SPDX-License-Identifier: GPL-2.0
/*
 * Zoned tables: linear lines over host-managed zoned devices, as
 * dm-linear maps them (dm-zone.c).
 *
 * A zoned table maps whole zones: every line begins, ends and maps its
 * device at zone boundaries, all devices have one zone size, and every
 * line is linear. A zone report walks the lines from the sector asked
 * for and reports each line's zones from its device, remapped to the
 * bstack device (dm_report_zones_cb()). Zone append goes down as any
 * write, never split; its completion moves the bio's sector to where the
 * device wrote it, at the same offset in the bstack device's zone.
 */
#include <linux/sched/mm.h>

#include "bstack.h"

struct bstack_zone_report {
	struct gendisk *disk;
	struct bstack_target *ti;
	sector_t start;		/* the line's first sector on its device */
	sector_t next;		/* the bstack device's next sector to report */
	unsigned int idx;	/* zones reported */
	unsigned int nr;	/* zones asked for */
	struct bstack_zones_up up;
	int error;
};

static int bstack_zone_remap(struct blk_zone *zone, unsigned int idx,
			     void *data)
{
	struct bstack_zone_report *rep = data;
	struct bstack_target *ti = rep->ti;

	/* The device reports on past the line's end. */
	if (zone->start >= rep->start + ti->len || rep->idx >= rep->nr)
		return 0;
	zone->start = zone->start - rep->start + ti->begin;
	if (zone->type != BLK_ZONE_TYPE_CONVENTIONAL) {
		if (zone->cond == BLK_ZONE_COND_FULL)
			zone->wp = zone->start + zone->len;
		else if (zone->cond == BLK_ZONE_COND_EMPTY)
			zone->wp = zone->start;
		else
			zone->wp = zone->wp - rep->start + ti->begin;
	}
	rep->next = zone->start + zone->len;
	return bstack_zone_up(rep->disk, zone, rep->idx++, &rep->up);
}

static void bstack_zone_report_line(struct block_device *bdev,
				    sector_t start, void *data)
{
	struct bstack_zone_report *rep = data;
	int r;

	rep->start = start;
	r = blkdev_report_zones(bdev, start + (rep->next - rep->ti->begin),
				rep->nr - rep->idx, bstack_zone_remap, rep);
	if (r < 0)
		rep->error = r;
}

/*
 * The table a zone report reads: the one being made live when its own
 * revalidation asks (the device is suspended then), else the live one,
 * held. NULL and an errno in @r when there is none.
 */
static struct bstack_table *bstack_zone_table(struct bstack_device *bd,
					      bool *held, int *r)
{
	struct bstack_table *t;

	if (READ_ONCE(bd->zone_task) == current) {
		*held = false;
		return bd->zone_table;
	}
	rcu_read_lock();
	t = rcu_dereference(bd->live);
	*held = t && bstack_table_tryget_live_rcu(t);
	rcu_read_unlock();
	if (!*held) {
		*r = t ? -EAGAIN : -EIO;
		return NULL;
	}
	return t;
}

/* The report_zones of bstack's disk. */
BSTACK_REPORT_ZONES_FN(bstack_report_zones)
{
	struct bstack_device *bd = disk->private_data;
	struct bstack_zone_report rep = {
		.disk = disk, .next = sector, .nr = nr_zones,
		.up = { BSTACK_REPORT_ZONES_UP },
	};
	struct bstack_table *t;
	bool held;
	int r;

	t = bstack_zone_table(bd, &held, &r);
	if (!t)
		return r;
	while (rep.idx < nr_zones && rep.next < t->size) {
		sector_t before = rep.next;

		rep.ti = bstack_table_find_target(t, rep.next);
		if (!(rep.ti->type->features & BSTACK_TYPE_ZONED)) {
			rep.error = -EIO;
			break;
		}
		rep.ti->type->iterate_devices(rep.ti, bstack_zone_report_line,
					      &rep);
		if (rep.error)
			break;
		if (rep.next == before) {
			/* The device reported nothing: do not spin. */
			rep.error = -EIO;
			break;
		}
	}
	if (held)
		bstack_table_put(t);
	return rep.error ?: rep.idx;
}

struct bstack_zone_check {
	struct bstack_target *ti;
	sector_t zone_sectors;
	unsigned int seq_zones;		/* sequential zones the table maps */
	unsigned int max_open;		/* the table's limits, 0 for none */
	unsigned int max_active;
	int r;
};

/* A line's part of a device's sequential zones. */
struct bstack_zone_count {
	sector_t start;
	sector_t len;
	unsigned int total;	/* the device's */
	unsigned int mapped;	/* those between start and start + len */
};

static int bstack_zone_count_one(struct blk_zone *zone, unsigned int idx,
				 void *data)
{
	struct bstack_zone_count *n = data;

	if (zone->type == BLK_ZONE_TYPE_CONVENTIONAL)
		return 0;
	n->total++;
	if (zone->start >= n->start && zone->start < n->start + n->len)
		n->mapped++;
	return 0;
}

/*
 * The open and active zone limits a line leaves, as dm's
 * device_get_zone_resource_limits() finds them: a device's limit binds
 * the table only if the line maps more sequential zones than it; below,
 * the line cannot reach it. A line that maps part of a device shares
 * the device's limits with whatever maps the rest, which no table can
 * account for (dm warns that they may be unreliable).
 */
static void bstack_zone_resources(struct bstack_zone_check *c,
				  struct block_device *bdev, sector_t start)
{
	struct bstack_target *ti = c->ti;
	struct bstack_zone_count n = { .start = start, .len = ti->len };
	unsigned int open, active;
	int r;

	r = blkdev_report_zones(bdev, 0, BLK_ALL_ZONES, bstack_zone_count_one,
				&n);
	if (r <= 0) {
		c->r = bstack_table_error(ti->table, ti->line,
					  "the zones of %pg cannot be reported (error %d)",
					  bdev, r ?: -EIO);
		return;
	}
	if (!n.mapped)
		return;
	c->seq_zones += n.mapped;
	open = bdev_max_open_zones(bdev);
	if (open >= n.mapped)
		open = 0;
	active = bdev_max_active_zones(bdev);
	if (active >= n.mapped)
		active = 0;
	c->max_open = min_not_zero(c->max_open, open);
	c->max_active = min_not_zero(c->max_active, active);
}

static void bstack_zone_check_line(struct block_device *bdev, sector_t start,
				   void *data)
{
	struct bstack_zone_check *c = data;
	struct bstack_target *ti = c->ti;

	if (c->r)
		return;
	if (!bdev_is_zoned(bdev))
		c->r = bstack_table_error(ti->table, ti->line,
					  "%pg is not zoned, but the table maps zoned devices",
					  bdev);
	else if (bdev_zone_sectors(bdev) != c->zone_sectors)
		c->r = bstack_table_error(ti->table, ti->line,
					  "%pg has zones of %llu sectors, the table's other devices %llu",
					  bdev, (u64)bdev_zone_sectors(bdev),
					  (u64)c->zone_sectors);
	else if ((start | ti->begin | ti->len) & (c->zone_sectors - 1))
		c->r = bstack_table_error(ti->table, ti->line,
					  "start %llu, length %llu and the offset %llu on %pg must be multiples of its zone size, %llu sectors",
					  (u64)ti->begin, (u64)ti->len,
					  (u64)start, bdev,
					  (u64)c->zone_sectors);
	else
		bstack_zone_resources(c, bdev, start);
}

/**
 * bstack_table_check_zoned - refuse a table that maps zones badly
 * @t:		a table whose lines are all constructed
 *
 * A table with a zoned lower device must map only zoned devices, of one
 * zone size, with linear lines on zone boundaries. Sets @t->zoned if it
 * maps sequential zones, and the open and active zone limits of its
 * lines; one that maps conventional zones alone is not zoned, as in dm.
 * Returns 0, or -EINVAL with the reason in the table's error.
 */
int bstack_table_check_zoned(struct bstack_table *t)
{
	struct bstack_zone_check c = { };
	struct bstack_lower *l;
	unsigned int i;

	list_for_each_entry(l, &t->lowers, list) {
		if (bdev_is_zoned(l->bdev)) {
			c.zone_sectors = bdev_zone_sectors(l->bdev);
			break;
		}
	}
	if (!c.zone_sectors)
		return 0;
	for (i = 0; i < t->num_targets && !c.r; i++) {
		c.ti = &t->targets[i];
		if (!(c.ti->type->features & BSTACK_TYPE_ZONED) ||
		    !c.ti->type->iterate_devices)
			return bstack_table_error(t, c.ti->line,
						  "%s cannot map zones: a zoned table takes only linear lines",
						  c.ti->type->name);
		c.ti->type->iterate_devices(c.ti, bstack_zone_check_line, &c);
	}
	if (c.r)
		return c.r;
	t->zoned = c.seq_zones != 0;
	t->conv_zones_only = !t->zoned;
	/* No more open zones than active ones (blk_validate_zoned_limits()). */
	if (c.max_active && c.max_open > c.max_active)
		c.max_open = c.max_active;
	t->max_open_zones = c.max_open;
	t->max_active_zones = c.max_active;
	return 0;
}

/**
 * bstack_zones_count - count the zones of a table about to go live
 * @bd:		the device, suspended, with @t's limits applied
 * @t:		its new table
 *
 * As dm_revalidate_zones() does from __bind(): the block layer counts
 * the zones from bstack_report_zones(), which reads @t while this task
 * counts, at @t's size. The capacity is put back after: the caller sets
 * it, and says so, once @t is live. A table that is not zoned has no
 * zones (dm_finalize_zone_settings()). Returns 0, or the block layer's
 * error, with which the caller keeps the old table.
 */
int bstack_zones_count(struct bstack_device *bd, struct bstack_table *t)
{
	sector_t size = get_capacity(bd->disk);
	int r;

	lockdep_assert_held(&bd->ctl_lock);
	if (!t->zoned) {
#ifdef CONFIG_BLK_DEV_ZONED
		bd->disk->nr_zones = 0;
#endif
		return 0;
	}
	set_capacity(bd->disk, t->size);
	WRITE_ONCE(bd->zone_table, t);
	WRITE_ONCE(bd->zone_task, current);
	r = bstack_disk_revalidate_zones(bd->disk);
	WRITE_ONCE(bd->zone_task, NULL);
	WRITE_ONCE(bd->zone_table, NULL);
	set_capacity(bd->disk, size);
	return r;
}

/* A REQ_OP_ZONE_RESET_ALL on its way, in the worker. */
struct bstack_reset_all {
	struct work_struct work;
	struct bstack_table *t;
	struct bio *bio;
	struct bstack_target *ti;
	int r;
};

static void bstack_reset_line(struct block_device *bdev, sector_t start,
			      void *data)
{
	struct bstack_reset_all *z = data;
	int r;

	/* All of the device: the block layer sends it RESET_ALL. */
	r = bstack_zone_reset(bdev, start, z->ti->len);
	if (r && !z->r)
		z->r = r;
}

static void bstack_reset_all_work(struct work_struct *work)
{
	struct bstack_reset_all *z = container_of(work, struct bstack_reset_all,
						  work);
	struct bstack_table *t = z->t;
	unsigned int noio = memalloc_noio_save();
	unsigned int i;

	for (i = 0; i < t->num_targets; i++) {
		z->ti = &t->targets[i];
		z->ti->type->iterate_devices(z->ti, bstack_reset_line, z);
	}
	memalloc_noio_restore(noio);
	z->bio->bi_status = errno_to_blk_status(z->r);
	bio_endio(z->bio);
	/* Last: once the table is released, the device may go away. */
	bstack_table_put(t);
	kfree(z);
}

/**
 * bstack_zone_reset_all - reset every zone of a zoned table
 * @t:		the live table, held for @bio
 * @bio:	a REQ_OP_ZONE_RESET_ALL
 *
 * Each line resets the zones it maps, and only those: the whole of a
 * device it maps all of, zone by zone otherwise, from the worker, since
 * the block layer's blkdev_zone_mgmt() waits. The lines of a zoned table
 * are all linear (bstack_table_check_zoned()).
 */
void bstack_zone_reset_all(struct bstack_table *t, struct bio *bio)
{
	struct bstack_reset_all *z = kzalloc(sizeof(*z), GFP_NOIO);

	if (!z) {
		bstack_table_put(t);
		bio->bi_status = BLK_STS_RESOURCE;
		bio_endio(bio);
		return;
	}
	z->t = t;
	z->bio = bio;
	INIT_WORK(&z->work, bstack_reset_all_work);
	queue_work(bstack_wq, &z->work);
}
