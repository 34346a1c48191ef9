// SPDX-License-Identifier: GPL-2.0
/*
 * bstack's mapped devices: the gendisk of /dev/bstackN and its sysfs
 * attributes, creation and removal, the table slots and their swap,
 * suspend and resume, rename, and the cycle check of a new table.
 *
 * Nothing here runs on the I/O path but bstack_open() and
 * bstack_release(); the bio path itself is in io.c.
 */
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "bstack.h"

static LIST_HEAD(bstack_devices);
static DEFINE_IDA(bstack_minors);

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

/*
 * The holder of every lower device, as dm has one for all its devices:
 * bstack devices may share a lower device, nobody else may claim it.
 */
static int bstack_claim;

void *bstack_holder(void)
{
	return &bstack_claim;
}

static void bstack_deferred_remove_fn(struct work_struct *work);

static int bstack_open(BSTACK_OPEN_ARGS)
{
	struct bstack_device *bd = BSTACK_OPEN_DISK->private_data;

	/* disk->open_mutex is held: this cannot race with the check in remove. */
	if (bd->removing)
		return -ENXIO;
	return 0;
}

static void bstack_release(BSTACK_RELEASE_ARGS)
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
	.poll_bio	= bstack_poll_bio,
	.open		= bstack_open,
	.release	= bstack_release,
	.ioctl		= bstack_ioctl,
	.compat_ioctl	= blkdev_compat_ptr_ioctl,
	.pr_ops		= &bstack_pr_ops,
#ifdef CONFIG_BLK_DEV_ZONED
	.report_zones	= bstack_report_zones,
#endif
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
	bio_list_init(&bd->retry);
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

	disk = bstack_alloc_disk(BLK_FEAT_IO_STAT);
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

	if (t)
		bstack_table_revive(t);
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
		/* No new bio gets the table; the last one in wakes this. */
		bstack_table_kill(t);
		left = bstack_table_wait_drained(t,
				timeout ?: MAX_SCHEDULE_TIMEOUT);
		if (left <= 0) {
			/* Back to work. */
			bstack_table_revive(t);
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
	bool was_zoned;
	struct bstack_limits lim;
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
	/* FEATURES reads new->features under bstack_devices_lock. */
	mutex_lock(&bstack_devices_lock);
	bstack_table_stack_limits(new, &lim);
	mutex_unlock(&bstack_devices_lock);
	r = bstack_limits_apply(bd->disk, &lim);
	if (r) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "the lower devices' queue limits cannot be combined (error %d)",
			 r);
		goto keep_old;
	}
	r = bstack_zones_count(bd, new);
	if (r) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "the zones of the new table cannot be counted (error %d)",
			 r);
		goto restore_limits;
	}

	mutex_lock(&bstack_devices_lock);
	bd->inactive = NULL;
	old = rcu_replace_pointer(bd->live, new, true);
	mutex_unlock(&bstack_devices_lock);
	set_capacity_and_notify(bd->disk, new->size);
	was_zoned = old && old->zoned;
	if (was_zoned != new->zoned && bstack_disk_update_queue_sysfs(bd->disk))
		pr_warn("bstack: %s: its queue's zone attributes could not be %s\n",
			bd->name, new->zoned ? "shown" : "hidden");
	/* Suspended: its last bio is in. */
	bstack_table_destroy(old);
	bstack_device_unsuspend(bd);
resumed:
	bstack_device_event(bd);
	kobject_uevent(&disk_to_dev(bd->disk)->kobj, KOBJ_CHANGE);
	return 0;

restore_limits:
	/*
	 * The old table, if any, with the limits and zones it had: they
	 * stack and are counted again: a count that fails frees the disk's
	 * zone state (disk_free_zone_resources()).
	 */
	old = bstack_device_table(bd, false);
	if (old) {
		mutex_lock(&bstack_devices_lock);
		bstack_table_stack_limits(old, &lim);
		mutex_unlock(&bstack_devices_lock);
		if (bstack_limits_apply(bd->disk, &lim) ||
		    bstack_zones_count(bd, old))
			pr_warn("bstack: %s: its table's queue limits or zones could not be put back\n",
				bd->name);
	}
keep_old:
	if (!was_suspended)
		bstack_device_revive(bd);
	return r;
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
	who = bstack_bdev_holder_says(part0);
	if (who)
		scnprintf(err + n, BSTACK_ERROR_LEN - n, ": %s", who);
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
	/*
	 * A table that runs is killed now and drained once the disk is gone,
	 * so that its bios end while del_gendisk() freezes the queue and
	 * waits for its own grace periods. A bio that comes in
	 * meanwhile finds no table and fails; one in flight keeps the table,
	 * its devices and @bd until it ends. A suspend has drained the table.
	 */
	if (live && !bd->suspended) {
		bstack_table_kill(live);
		bstack_table_unlink_holders(live);
	} else {
		bstack_table_destroy(live);
		live = NULL;
	}
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
	del_gendisk(disk);
	if (live)
		bstack_table_drain(live);
	/*
	 * A flush with data may have handed its data to the worker, until
	 * the last bio was in; on the dead disk it fails.
	 */
	flush_work(&bd->requeue_work);
	bstack_table_destroy(live);
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

/*
 * At unload, once the control device is gone: remove every device. A
 * deferred removal may still be queued; it finds its device gone.
 */
void bstack_devices_exit(void)
{
	unsigned int removed;

	if (bstack_device_remove_all(0, &removed))
		pr_err("bstack: devices are still open at unload\n");
	flush_workqueue(bstack_remove_wq);
	ida_destroy(&bstack_minors);
}
