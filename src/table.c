// SPDX-License-Identifier: GPL-2.0
/*
 * bstack tables: target types, table construction and validation, and the
 * lower devices a table opens.
 *
 * Every refusal leaves one line in t->err that says which line of the
 * user's table is wrong and why; the control ioctl hands it back.
 */
#include <linux/file.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bstack.h"

/* bstack_types_lock guards bstack_types; never taken on the I/O path. */
static DEFINE_MUTEX(bstack_types_lock);
static LIST_HEAD(bstack_types);

int bstack_register_target(struct bstack_target_type *type)
{
	struct bstack_target_type *tt;
	int r = 0;

	mutex_lock(&bstack_types_lock);
	list_for_each_entry(tt, &bstack_types, list) {
		if (!strcmp(tt->name, type->name)) {
			r = -EEXIST;
			goto out;
		}
	}
	list_add_tail(&type->list, &bstack_types);
out:
	mutex_unlock(&bstack_types_lock);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_register_target);

void bstack_unregister_target(struct bstack_target_type *type)
{
	mutex_lock(&bstack_types_lock);
	list_del(&type->list);
	mutex_unlock(&bstack_types_lock);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_unregister_target);

/* Call @fn for each registered type, in order, until it returns non-zero. */
int bstack_walk_target_types(bstack_type_fn fn, void *data)
{
	struct bstack_target_type *tt;
	int r = 0;

	mutex_lock(&bstack_types_lock);
	list_for_each_entry(tt, &bstack_types, list) {
		r = fn(tt, data);
		if (r)
			break;
	}
	mutex_unlock(&bstack_types_lock);
	return r;
}

/* Find a type by name and pin its module; put it with module_put(). */
static const struct bstack_target_type *bstack_get_target_type(const char *name)
{
	struct bstack_target_type *tt;

	mutex_lock(&bstack_types_lock);
	list_for_each_entry(tt, &bstack_types, list) {
		if (!strcmp(tt->name, name) && try_module_get(tt->module)) {
			mutex_unlock(&bstack_types_lock);
			return tt;
		}
	}
	mutex_unlock(&bstack_types_lock);
	return NULL;
}

/**
 * bstack_table_error - say why the table is refused
 * @t:		the table being built
 * @line:	the user's line, or 0 when the message concerns no line
 * @fmt:	printf format of the message, then its arguments
 *
 * Keeps the first message only: it names the cause, later ones the
 * consequences. Returns -EINVAL, so that callers can return it.
 */
int bstack_table_error(struct bstack_table *t, unsigned int line,
		       const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (t->err[0])
		return -EINVAL;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (line)
		snprintf(t->err, BSTACK_ERROR_LEN, "line %u: %pV", line, &vaf);
	else
		snprintf(t->err, BSTACK_ERROR_LEN, "%pV", &vaf);
	va_end(args);
	return -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_error);

/**
 * bstack_ti_error - a target constructor says why it refuses its line
 * @ti:		the target being constructed
 * @fmt:	printf format of the message, then its arguments
 *
 * The message is prefixed with the line and the target's name:
 * "line 2: linear: ...". Returns -EINVAL.
 */
int bstack_ti_error(struct bstack_target *ti, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	bstack_table_error(ti->table, ti->line, "%s: %pV", ti->type->name,
			   &vaf);
	va_end(args);
	return -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_ti_error);

/* Where the drains of every table wait: see bstack_table_put(). */
DECLARE_WAIT_QUEUE_HEAD(bstack_drain_wq);
EXPORT_SYMBOL_IF_KUNIT(bstack_drain_wq);

/*
 * The put of a user that saw @t dying, out of line: the drain is waiting.
 * The wake-up takes the wait queue's lock, which may sleep on PREEMPT_RT,
 * so this read section is rcu_read_lock()'s. Its grace period is the one
 * the module's unload waits for before bstack_drain_wq goes away.
 */
void bstack_table_put_dying(struct bstack_table *t)
{
	rcu_read_lock();
	this_cpu_dec(*t->users);
	wake_up_all(&bstack_drain_wq);
	rcu_read_unlock();
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_put_dying);

/**
 * bstack_table_kill - no bio gets @t from now on
 * @t:		a live table
 *
 * Those in flight keep it until they are in: bstack_table_drain() or
 * bstack_table_wait_drained() waits for them, bstack_table_revive() lets
 * bios get the table again.
 */
void bstack_table_kill(struct bstack_table *t)
{
	WRITE_ONCE(t->dying, true);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_kill);

void bstack_table_revive(struct bstack_table *t)
{
	WRITE_ONCE(t->dying, false);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_revive);

/**
 * bstack_table_drained - whether no user holds the killed table @t
 * @t:		the table
 *
 * After the kill's grace period no user gets @t, so the counts only go
 * down: a sum read while they do is at least the true one, and zero only
 * when it is.
 */
bool bstack_table_drained(struct bstack_table *t)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(t->users, cpu);
	return !sum;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_drained);

/**
 * bstack_table_wait_drained - wait for the users of the killed table @t
 * @t:		the table
 * @timeout:	in jiffies, or MAX_SCHEDULE_TIMEOUT
 *
 * Returns what wait_event_interruptible_timeout() does: more than 0 when
 * the last user is in, 0 when the time ran out, -ERESTARTSYS on a signal.
 */
long bstack_table_wait_drained(struct bstack_table *t, long timeout)
{
	/* Every user that got @t before the kill is counted after this. */
	synchronize_rcu_expedited();
	return wait_event_interruptible_timeout(bstack_drain_wq,
						bstack_table_drained(t),
						timeout);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_wait_drained);

/* Wait for the users of the killed table @t, however long they take. */
void bstack_table_drain(struct bstack_table *t)
{
	synchronize_rcu_expedited();
	wait_event(bstack_drain_wq, bstack_table_drained(t));
}

/**
 * bstack_mem_fits - whether @bytes more of kernel memory are reasonable
 * @bytes:	what a control call is about to allocate
 * @what:	what for, to name in @err
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * A table, or the payload it comes in, may take at most half of the
 * memory the system has available (si_mem_available(): free memory and
 * the caches it can reclaim). One that would take more is refused with
 * its size and the machine's, before any of it is allocated, rather than
 * pushing the machine into reclaim and the OOM killer while its lines are
 * built, as a plain kvmalloc() would. Returns 0 or -ENOMEM.
 */
int bstack_mem_fits(size_t bytes, const char *what, char *err)
{
	unsigned long avail = si_mem_available();

	if (bytes >> PAGE_SHIFT <= avail / 2)
		return 0;
	snprintf(err, BSTACK_ERROR_LEN,
		 "%s needs about %zu MiB of kernel memory, more than half of the %lu MiB the system has available",
		 what, bytes >> 20, avail >> (20 - PAGE_SHIFT));
	return -ENOMEM;
}

/*
 * The kernel memory of a table line, about: its target and end, two
 * buckets of the lookup's index at most, and its target's context (a
 * linear line's takes 16 bytes). 104 bytes on x86-64; make bench measures
 * 85 a line for a million linear lines.
 */
#define BSTACK_LINE_BYTES	(sizeof(struct bstack_target) + \
				 sizeof(sector_t) + 2 * sizeof(u32) + 32)

/**
 * bstack_table_alloc - start a table of at most @max_targets lines
 * @bd:		the device the table is for
 * @max_targets: how many lines the table may have
 * @mode:	how the lower devices are opened
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 */
struct bstack_table *bstack_table_alloc(struct bstack_device *bd,
					unsigned int max_targets,
					blk_mode_t mode, char *err)
{
	struct bstack_table *t;
	char what[32];

	if (!max_targets || max_targets > BSTACK_MAX_TARGETS) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "a table has 1 to %u targets, not %u",
			 BSTACK_MAX_TARGETS, max_targets);
		return ERR_PTR(-EINVAL);
	}
	snprintf(what, sizeof(what), "a table of %u line%s", max_targets,
		 max_targets == 1 ? "" : "s");
	if (bstack_mem_fits((size_t)max_targets * BSTACK_LINE_BYTES, what, err))
		return ERR_PTR(-ENOMEM);
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->ends = kvcalloc(max_targets, sizeof(*t->ends), GFP_KERNEL);
	t->targets = kvcalloc(max_targets, sizeof(*t->targets), GFP_KERNEL);
	if (!t->ends || !t->targets)
		goto out_free;
	t->users = alloc_percpu(unsigned long);
	if (!t->users)
		goto out_free;
	t->bd = bd;
	t->mode = mode;
	t->max_targets = max_targets;
	t->err = err;
	INIT_LIST_HEAD(&t->lowers);
	return t;

out_free:
	kvfree(t->targets);
	kvfree(t->ends);
	kfree(t);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_alloc);

/**
 * bstack_table_add_target - append one line to @t
 * @t:		the table being built
 * @type:	the target type's name
 * @start:	the first sector the line maps, in the bstack device
 * @len:	how many sectors it maps
 * @params:	the target's arguments, separated by blanks
 * @line:	the user's line number, for messages
 *
 * Lines must follow each other with no gap and no overlap, from sector 0.
 */
int bstack_table_add_target(struct bstack_table *t, const char *type,
			    sector_t start, sector_t len, const char *params,
			    unsigned int line)
{
	struct bstack_target *ti;
	char **argv;
	int argc, r;

	if (t->num_targets == t->max_targets)
		return bstack_table_error(t, line, "more than %u targets",
					  t->max_targets);
	if (!len)
		return bstack_table_error(t, line, "length is 0");
	if (start + len < start)
		return bstack_table_error(t, line,
					  "start %llu + length %llu overflows",
					  (u64)start, (u64)len);
	if (start + len - 1 > (sector_t)LLONG_MAX >> SECTOR_SHIFT)
		return bstack_table_error(t, line,
					  "the target ends past the largest device size");
	if (start != t->size) {
		if (!t->num_targets)
			return bstack_table_error(t, line,
						  "the first target must start at sector 0, not %llu",
						  (u64)start);
		if (start > t->size)
			return bstack_table_error(t, line,
						  "gap: the previous target ends at sector %llu, this one starts at %llu",
						  (u64)t->size, (u64)start);
		return bstack_table_error(t, line,
					  "overlap: the previous target ends at sector %llu, this one starts at %llu",
					  (u64)t->size, (u64)start);
	}

	ti = &t->targets[t->num_targets];
	ti->table = t;
	ti->begin = start;
	ti->len = len;
	ti->line = line;
	ti->type = bstack_get_target_type(type);
	if (!ti->type)
		return bstack_table_error(t, line, "unknown target type '%s'",
					  type);

	argv = argv_split(GFP_KERNEL, params, &argc);
	if (!argv) {
		r = -ENOMEM;
		goto out_put_type;
	}
	if (argc > BSTACK_MAX_ARGS) {
		r = bstack_ti_error(ti, "more than %u arguments",
				    BSTACK_MAX_ARGS);
		goto out_free_argv;
	}
	r = ti->type->ctr(ti, argc, argv);
	if (r) {
		if (!t->err[0])
			bstack_ti_error(ti, "refused (error %d)", r);
		goto out_free_argv;
	}
	argv_free(argv);

	t->size = start + len;
	t->ends[t->num_targets++] = t->size;
	if (ti->type->flush)
		t->flush_hooks = true;
	return 0;

out_free_argv:
	argv_free(argv);
out_put_type:
	module_put(ti->type->module);
	ti->type = NULL;
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_add_target);

/*
 * The device's logical block is the largest of its lower devices' (queue
 * limits stacking): every target must start and end on one, or an I/O
 * that the block layer deems aligned would reach a lower device cut.
 */
static int bstack_table_check_alignment(struct bstack_table *t)
{
	struct bstack_limits l;
	unsigned int i, lbs;

	bstack_table_stack_limits(t, &l);
	lbs = l.lim.logical_block_size >> SECTOR_SHIFT;
	for (i = 0; i < t->num_targets; i++) {
		struct bstack_target *ti = &t->targets[i];

		if ((ti->begin | ti->len) & (lbs - 1))
			return bstack_table_error(t, ti->line,
						  "start %llu and length %llu must be multiples of %u sectors, the lower devices' logical block size (%u bytes)",
						  (u64)ti->begin, (u64)ti->len,
						  lbs, l.lim.logical_block_size);
	}
	return 0;
}

/* All lines are in: check the table as a whole. */
/*
 * The lookup's index of @t (struct bstack_table): a power of two of
 * buckets, at least as many as the targets, each a power of two of
 * sectors; with lines of like lengths a bucket holds one or two target
 * boundaries, and the binary search in bstack_table_find_target() takes
 * a step or two, whatever the table's size. One u32 per bucket: 4 MiB
 * for a million lines, beside 72 MiB of targets and ends.
 */
static int bstack_table_index(struct bstack_table *t)
{
	unsigned int buckets, shift, k, i = 0;

	if (t->num_targets == 1)
		return 0;
	buckets = roundup_pow_of_two(t->num_targets);
	shift = max_t(int, fls64(t->size - 1) - ilog2(buckets), 0);
	t->index_shift = shift;
	t->nr_buckets = ((t->size - 1) >> shift) + 1;
	t->index = kvcalloc(t->nr_buckets + 1, sizeof(*t->index), GFP_KERNEL);
	if (!t->index) {
		bstack_table_error(t, 0, "no memory for the index of %u lines",
				   t->num_targets);
		return -ENOMEM;
	}
	for (k = 0; k < t->nr_buckets; k++) {
		sector_t first = (sector_t)k << shift;

		while (t->ends[i] <= first)
			i++;
		t->index[k] = i;
	}
	t->index[t->nr_buckets] = t->num_targets - 1;
	return 0;
}

int bstack_table_complete(struct bstack_table *t)
{
	if (!t->num_targets)
		return bstack_table_error(t, 0, "the table is empty");
	return bstack_table_index(t) ?: bstack_table_check_zoned(t) ?:
		bstack_table_check_alignment(t);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_complete);

/*
 * Take down the holder links of @t's devices to the device's disk, which
 * del_gendisk() would leave in the lower devices' holders/ directories.
 */
void bstack_table_unlink_holders(struct bstack_table *t)
{
	struct bstack_lower *l;

	list_for_each_entry(l, &t->lowers, list) {
		if (l->linked)
			bd_unlink_disk_holder(l->bdev, t->bd->disk);
		l->linked = false;
	}
}

/*
 * Undo the constructors and close the lower devices; @t is not live. It
 * may have been a moment ago: a bio that read the device's live pointer
 * just before a resume or a removal replaced it may yet look at @t->dying
 * (no more: the table was killed and drained), so the table itself is
 * freed after a grace period.
 */
void bstack_table_destroy(struct bstack_table *t)
{
	struct bstack_lower *l, *next;
	unsigned int i;

	if (!t)
		return;
	bstack_table_unlink_holders(t);
	for (i = 0; i < t->num_targets; i++) {
		struct bstack_target *ti = &t->targets[i];

		if (ti->type->dtr)
			ti->type->dtr(ti);
		module_put(ti->type->module);
	}
	list_for_each_entry_safe(l, next, &t->lowers, list) {
		bstack_bdev_close(l->bdev, &l->ref);
		kfree(l);
	}
	free_percpu(t->users);
	kvfree(t->index);
	kvfree(t->targets);
	kvfree(t->ends);
	kfree_rcu(t, rcu);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_destroy);

static int bstack_lookup_devt(struct bstack_target *ti, const char *path,
			      dev_t *dev)
{
	unsigned int major, minor;
	char dummy;
	int r;

	if (sscanf(path, "%u:%u%c", &major, &minor, &dummy) == 2) {
		*dev = MKDEV(major, minor);
		if (MAJOR(*dev) != major || MINOR(*dev) != minor)
			return bstack_ti_error(ti, "device number %s is out of range",
					       path);
		return 0;
	}
	r = lookup_bdev(path, dev);
	if (r == -ENOENT)
		return bstack_ti_error(ti, "%s: no such file", path);
	if (r == -ENOTBLK)
		return bstack_ti_error(ti, "%s is not a block device", path);
	if (r)
		return bstack_ti_error(ti, "cannot look up %s (error %d)", path,
				       r);
	return 0;
}

static int bstack_open_lower(struct bstack_target *ti, const char *path,
			     dev_t dev, struct bstack_lower *l)
{
	struct bstack_table *t = ti->table;
	struct gendisk *disk = t->bd ? t->bd->disk : NULL;
	int r;

	l->bdev = bstack_bdev_open(dev, t->mode, bstack_holder(), &l->ref);
	if (IS_ERR(l->bdev)) {
		r = PTR_ERR(l->bdev);
		if (r == -EBUSY)
			return bstack_ti_error(ti, "%s is busy: it is mounted or claimed by another driver",
					       path);
		if (r == -ENXIO || r == -ENODEV)
			return bstack_ti_error(ti, "%s: no such device", path);
		if (r == -EACCES || r == -EROFS)
			return bstack_ti_error(ti, "%s is read-only", path);
		return bstack_ti_error(ti, "cannot open %s (error %d)", path, r);
	}
	l->dev = dev;

	if (bdev_is_zoned(l->bdev) &&
	    !(ti->type->features & BSTACK_TYPE_ZONED)) {
		r = bstack_ti_error(ti, "%s is zoned: only linear lines map zones",
				    path);
		goto out_put;
	}
	if (disk) {
		r = bd_link_disk_holder(l->bdev, disk);
		if (r) {
			bstack_ti_error(ti, "cannot link %s as a holder of %s (error %d)",
					disk->disk_name, path, r);
			goto out_put;
		}
		l->linked = true;
	}
	return 0;

out_put:
	bstack_bdev_close(l->bdev, &l->ref);
	return r;
}

/**
 * bstack_get_device - open a lower device for a target
 * @ti:		the target being constructed
 * @path:	a block device path or "major:minor"
 * @lowerp:	the device, shared with other targets of the same table
 *
 * The device is claimed with bstack's holder and linked as a holder of the
 * bstack disk. The table owns it: bstack_table_destroy() closes it, so a
 * constructor that fails after this call has nothing to undo.
 */
int bstack_get_device(struct bstack_target *ti, const char *path,
		      struct bstack_lower **lowerp)
{
	struct bstack_table *t = ti->table;
	struct bstack_lower *l;
	dev_t dev;
	int r;

	r = bstack_lookup_devt(ti, path, &dev);
	if (r)
		return r;
	if (t->bd && t->bd->disk && dev == disk_devt(t->bd->disk))
		return bstack_ti_error(ti, "%s is this device itself", path);

	list_for_each_entry(l, &t->lowers, list) {
		if (l->dev == dev) {
			*lowerp = l;
			return 0;
		}
	}

	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return -ENOMEM;
	r = bstack_open_lower(ti, path, dev, l);
	if (r) {
		kfree(l);
		return r;
	}
	list_add_tail(&l->list, &t->lowers);
	t->num_lowers++;
	*lowerp = l;
	return 0;
}

/*
 * Walk one struct bstack_target_spec at @off in a user payload of @len
 * bytes, checking that it and its NUL-terminated parameters lie inside.
 */
static const struct bstack_target_spec *
bstack_spec_at(struct bstack_table *t, const void *buf, size_t len,
	       size_t off, unsigned int index, const char **params)
{
	const struct bstack_target_spec *spec = buf + off;
	size_t plen;

	if (len - off < sizeof(*spec)) {
		bstack_table_error(t, 0, "target %u: the payload ends inside its header",
				   index + 1);
		return NULL;
	}
	if (spec->next <= sizeof(*spec) || spec->next % 8 ||
	    spec->next > len - off) {
		bstack_table_error(t, spec->line, "target %u: bad spec size %u",
				   index + 1, spec->next);
		return NULL;
	}
	if (!memchr(spec->type, 0, sizeof(spec->type))) {
		bstack_table_error(t, spec->line,
				   "the target type is not NUL-terminated");
		return NULL;
	}
	plen = spec->next - sizeof(*spec);
	*params = (const char *)(spec + 1);
	if (!memchr(*params, 0, plen)) {
		bstack_table_error(t, spec->line,
				   "the target parameters are not NUL-terminated");
		return NULL;
	}
	return spec;
}

/**
 * bstack_table_from_specs - build a table from a LOAD or CREATE payload
 * @bd:		the device the table is for
 * @buf:	the payload, already copied from user space
 * @len:	its length in bytes
 * @count:	how many specs it holds
 * @mode:	how the lower devices are opened
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * Returns the complete table, or an ERR_PTR with the reason in @err.
 */
struct bstack_table *bstack_table_from_specs(struct bstack_device *bd,
					     const void *buf, size_t len,
					     unsigned int count,
					     blk_mode_t mode, char *err)
{
	/* The smallest spec: its header, an empty string, padding to 8. */
	const size_t min_spec = ALIGN(sizeof(struct bstack_target_spec) + 1, 8);
	struct bstack_table *t;
	size_t off = 0;
	unsigned int i;
	int r;

	/* Check the count against the payload before sizing anything by it. */
	if (count > len / min_spec) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "%u target%s cannot fit in a payload of %zu bytes",
			 count, count == 1 ? "" : "s", len);
		return ERR_PTR(-EINVAL);
	}
	t = bstack_table_alloc(bd, count, mode, err);
	if (IS_ERR(t))
		return t;

	for (i = 0; i < count; i++) {
		const struct bstack_target_spec *spec;
		const char *params;

		spec = bstack_spec_at(t, buf, len, off, i, &params);
		if (!spec) {
			r = -EINVAL;
			goto out_destroy;
		}
		r = bstack_table_add_target(t, spec->type, spec->start,
					    spec->length, params, spec->line);
		if (r)
			goto out_destroy;
		off += spec->next;
	}
	if (off != len) {
		r = bstack_table_error(t, 0, "%zu bytes of junk after the last target",
				       len - off);
		goto out_destroy;
	}
	r = bstack_table_complete(t);
	if (r)
		goto out_destroy;
	return t;

out_destroy:
	bstack_table_destroy(t);
	return ERR_PTR(r);
}
EXPORT_SYMBOL_IF_KUNIT(bstack_table_from_specs);
