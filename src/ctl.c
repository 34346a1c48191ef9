// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/bstack-control: the ioctl interface of include/uapi/linux/bstack.h.
 *
 * Each call copies the header once and validates it, then copies the
 * payload once. A reply is built in kernel memory and copied out only if
 * it fits; if not, the caller learns the size it needs. When a call fails,
 * the header goes back with a one-line reason in @error.
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bstack.h"

/* A reply under construction. */
struct bstack_reply {
	void *data;
	size_t len;
	size_t size;
};

/* Room for @len more bytes, zeroed; NULL when the reply would be too big. */
static void *bstack_reply_reserve(struct bstack_reply *rep, size_t len)
{
	void *p;

	if (len > BSTACK_MAX_DATA_SIZE - rep->len)
		return NULL;
	if (rep->len + len > rep->size) {
		size_t size = max(rep->size * 2, rep->len + len);
		void *data = bstack_kvrealloc(rep->data, rep->size, size,
					      GFP_KERNEL);

		if (!data)
			return NULL;
		rep->data = data;
		rep->size = size;
	}
	p = rep->data + rep->len;
	memset(p, 0, len);
	rep->len += len;
	return p;
}

/*
 * One command: @bd is the device hdr->name names, for the commands that
 * name one (see struct bstack_ctl_cmd), else NULL.
 */
typedef int (*bstack_ctl_fn)(struct bstack_ioctl *hdr,
			     struct bstack_device *bd, const void *in,
			     struct bstack_reply *rep);

static int bstack_check_string(const char *s, size_t size, const char *what,
			       bool empty_ok, char *err)
{
	size_t i, len = strnlen(s, size);

	if (len == size) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "the %s is not NUL-terminated within %zu bytes", what,
			 size);
		return -EINVAL;
	}
	if (!len && !empty_ok) {
		snprintf(err, BSTACK_ERROR_LEN, "the %s is empty", what);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!isgraph(s[i])) {
			snprintf(err, BSTACK_ERROR_LEN,
				 "the %s contains a blank or control character at byte %zu",
				 what, i);
			return -EINVAL;
		}
	}
	return 0;
}

static int bstack_check_name(const char *name, char *err)
{
	int r = bstack_check_string(name, BSTACK_NAME_LEN, "name", false, err);

	if (r)
		return r;
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "name '%s' is not allowed: no '/', '.' or '..'", name);
		return -EINVAL;
	}
	return 0;
}

/*
 * A new name or uuid becomes a udev link (/dev/bstack/NAME,
 * /dev/disk/by-id/bstack-uuid-UUID), so it keeps to the characters that
 * udev carries unmangled: dm's set. Lookups only need the string checks.
 */
static bool bstack_udev_safe(char c)
{
	return isalnum(c) || strchr("#+-.:=@_", c);
}

static int bstack_check_new(const char *s, size_t size, const char *what,
			    bool empty_ok, char *err)
{
	int r = bstack_check_string(s, size, what, empty_ok, err);
	size_t i;

	if (r)
		return r;
	for (i = 0; s[i]; i++) {
		if (!bstack_udev_safe(s[i])) {
			snprintf(err, BSTACK_ERROR_LEN,
				 "the %s has '%c' at byte %zu: a %s may use 0-9 A-Z a-z and # + - . : = @ _",
				 what, s[i], i, what);
			return -EINVAL;
		}
	}
	return 0;
}

static struct bstack_device *bstack_ctl_no_device(struct bstack_ioctl *hdr)
{
	snprintf(hdr->error, BSTACK_ERROR_LEN, "no device named '%s'",
		 hdr->name);
	return ERR_PTR(-ENXIO);
}

/* The device hdr->name names; the caller holds bstack_devices_lock. */
static struct bstack_device *bstack_ctl_find(struct bstack_ioctl *hdr)
{
	struct bstack_device *bd;

	if (bstack_check_name(hdr->name, hdr->error))
		return ERR_PTR(-EINVAL);
	bd = bstack_device_find(hdr->name);
	return bd ?: bstack_ctl_no_device(hdr);
}

/*
 * The device hdr->name names, with a reference and its ctl_lock, for a
 * command that changes it; bstack_ctl_put() gives both back. Another
 * command may hold the lock for long, a suspend that waits for I/O: a
 * signal ends the wait.
 */
static struct bstack_device *bstack_ctl_get(struct bstack_ioctl *hdr)
{
	struct bstack_device *bd;

	if (bstack_check_name(hdr->name, hdr->error))
		return ERR_PTR(-EINVAL);
	bd = bstack_device_get(hdr->name);
	if (!bd)
		return bstack_ctl_no_device(hdr);
	if (mutex_lock_interruptible(&bd->ctl_lock)) {
		bstack_device_put(bd);
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "interrupted while waiting for another command on '%s' (a suspend that waits for I/O?) to finish",
			 hdr->name);
		return ERR_PTR(-EINTR);
	}
	/* Removed while this waited for the lock. */
	if (bd->removing) {
		mutex_unlock(&bd->ctl_lock);
		bstack_device_put(bd);
		return bstack_ctl_no_device(hdr);
	}
	return bd;
}

static void bstack_ctl_put(struct bstack_device *bd)
{
	mutex_unlock(&bd->ctl_lock);
	bstack_device_put(bd);
}

static u32 bstack_ctl_state_flags(struct bstack_device *bd)
{
	u32 flags = 0;

	if (bstack_device_table(bd, false))
		flags |= BSTACK_F_LIVE_TABLE;
	if (bd->inactive)
		flags |= BSTACK_F_INACTIVE_TABLE;
	if (bd->suspended)
		flags |= BSTACK_F_SUSPENDED;
	if (bd->deferred_remove)
		flags |= BSTACK_F_DEFERRED_REMOVE;
	if (bd->readonly)
		flags |= BSTACK_F_READONLY_DEV;
	return flags;
}

/* Fill the header's description of @bd, as every reply about a device has. */
static void bstack_ctl_describe(struct bstack_ioctl *hdr,
				struct bstack_device *bd)
{
	hdr->dev = new_encode_dev(disk_devt(bd->disk));
	hdr->event_nr = atomic_read(&bd->event_nr);
	hdr->open_count = disk_openers(bd->disk);
	hdr->flags |= bstack_ctl_state_flags(bd);
	strscpy(hdr->uuid, bd->uuid, sizeof(hdr->uuid));
}

/* The reply: how the module was built for its kernel (compat.h). */
static int bstack_ctl_version(struct bstack_ioctl *hdr,
			      struct bstack_device *bd, const void *in,
			      struct bstack_reply *rep)
{
	char *text, *p;
	size_t n;

	text = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	n = bstack_compat_report(text, PAGE_SIZE) + 1;
	p = bstack_reply_reserve(rep, n);
	if (p)
		memcpy(p, text, n);
	kfree(text);
	return p ? 0 : -ENOMEM;
}

static struct bstack_table *bstack_ctl_table(struct bstack_ioctl *hdr,
					     struct bstack_device *bd,
					     const void *in)
{
	blk_mode_t mode = BLK_OPEN_READ;

	if (!bd->readonly)
		mode |= BLK_OPEN_WRITE;
	return bstack_table_from_specs(bd, in, hdr->data_len, hdr->count, mode,
				       hdr->error);
}

static int bstack_ctl_create(struct bstack_ioctl *hdr,
			     struct bstack_device *bd, const void *in,
			     struct bstack_reply *rep)
{
	struct bstack_table *t;
	char err[BSTACK_ERROR_LEN];
	int r;

	r = bstack_check_name(hdr->name, hdr->error);
	if (!r)
		r = bstack_check_new(hdr->name, BSTACK_NAME_LEN, "name", false,
				     hdr->error);
	if (r)
		return r;
	r = bstack_check_new(hdr->uuid, BSTACK_UUID_LEN, "uuid", true,
			     hdr->error);
	if (r)
		return r;
	r = bstack_device_create(hdr->name, hdr->uuid,
				 hdr->flags & BSTACK_F_READONLY, &bd,
				 hdr->error);
	if (r)
		return r;

	/* No table (--notable) is count 0 and no payload; anything else is a table. */
	if (hdr->count || hdr->data_len) {
		t = bstack_ctl_table(hdr, bd, in);
		if (IS_ERR(t)) {
			r = PTR_ERR(t);
			goto out_remove;
		}
		r = bstack_device_load(bd, t, hdr->error);
		if (r) {
			bstack_table_destroy(t);
			goto out_remove;
		}
		r = bstack_device_resume(bd, 0, hdr->error);
		if (r)
			goto out_remove;
	}
	bstack_ctl_describe(hdr, bd);
	bstack_ctl_put(bd);
	return 0;

out_remove:
	/*
	 * No control call can have touched it, but udev may be probing the
	 * new disk: then it goes at its last close.
	 */
	if (bstack_device_remove(bd, BSTACK_REMOVE_DEFERRED, err))
		pr_err("bstack: cannot undo the creation of %s: %s\n",
		       hdr->name, err);
	bstack_ctl_put(bd);
	return r;
}

static unsigned int bstack_ctl_remove_flags(const struct bstack_ioctl *hdr)
{
	unsigned int flags = 0;

	if (hdr->flags & BSTACK_F_FORCE)
		flags |= BSTACK_REMOVE_FORCE;
	if (hdr->flags & BSTACK_F_DEFERRED)
		flags |= BSTACK_REMOVE_DEFERRED;
	return flags;
}

static int bstack_ctl_remove(struct bstack_ioctl *hdr,
			     struct bstack_device *bd, const void *in,
			     struct bstack_reply *rep)
{
	unsigned int flags = bstack_ctl_remove_flags(hdr);
	int r;

	/* Output flags only; a deferred removal leaves a device to describe. */
	hdr->flags = 0;
	r = bstack_device_remove(bd, flags, hdr->error);
	if (!r && !bd->removing)
		bstack_ctl_describe(hdr, bd);
	return r;
}

static int bstack_ctl_remove_all(struct bstack_ioctl *hdr,
				 struct bstack_device *unused, const void *in,
				 struct bstack_reply *rep)
{
	struct bstack_device *bd;
	unsigned int removed;
	int left;
	size_t n;

	left = bstack_device_remove_all(bstack_ctl_remove_flags(hdr),
					&removed);
	hdr->flags = 0;
	hdr->count = removed;
	if (left == -EINTR) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "interrupted after %u device%s: another command on a device (a suspend that waits for I/O?) held it",
			 removed, removed == 1 ? "" : "s");
		return left;
	}
	if (!left)
		return 0;
	n = scnprintf(hdr->error, BSTACK_ERROR_LEN, "%d device%s still open:",
		      left, left == 1 ? " is" : "s are");
	mutex_lock(&bstack_devices_lock);
	list_for_each_entry(bd, bstack_device_list(), list)
		if (!bd->deferred_remove)
			n += scnprintf(hdr->error + n, BSTACK_ERROR_LEN - n,
				       " %s", bd->name);
	mutex_unlock(&bstack_devices_lock);
	return -EBUSY;
}

static int bstack_ctl_list(struct bstack_ioctl *hdr,
			   struct bstack_device *unused, const void *in,
			   struct bstack_reply *rep)
{
	struct bstack_list_entry *e;
	struct bstack_device *bd;

	hdr->count = 0;
	list_for_each_entry(bd, bstack_device_list(), list) {
		e = bstack_reply_reserve(rep, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->dev = new_encode_dev(disk_devt(bd->disk));
		e->flags = bstack_ctl_state_flags(bd);
		e->open_count = disk_openers(bd->disk);
		strscpy(e->name, bd->name, sizeof(e->name));
		strscpy(e->uuid, bd->uuid, sizeof(e->uuid));
		hdr->count++;
	}
	return 0;
}

static int bstack_ctl_load(struct bstack_ioctl *hdr,
			   struct bstack_device *bd, const void *in,
			   struct bstack_reply *rep)
{
	struct bstack_table *t;
	int r;

	t = bstack_ctl_table(hdr, bd, in);
	if (IS_ERR(t))
		return PTR_ERR(t);
	r = bstack_device_load(bd, t, hdr->error);
	if (r) {
		bstack_table_destroy(t);
		return r;
	}
	bstack_ctl_describe(hdr, bd);
	return 0;
}

static unsigned int bstack_ctl_suspend_flags(const struct bstack_ioctl *hdr)
{
	return hdr->flags & BSTACK_F_NOLOCKFS ? 0 : BSTACK_SUSPEND_LOCKFS;
}

static int bstack_ctl_resume(struct bstack_ioctl *hdr,
			     struct bstack_device *bd, const void *in,
			     struct bstack_reply *rep)
{
	int r;

	r = bstack_device_resume(bd, bstack_ctl_suspend_flags(hdr),
				 hdr->error);
	if (!r)
		bstack_ctl_describe(hdr, bd);
	return r;
}

/*
 * BSTACK_F_NOFLUSH is dmsetup's --noflush. It matters to targets that
 * queue I/O of their own (dm-multipath); bstack's targets queue none, so
 * a suspend waits for the bios in flight either way.
 */
static int bstack_ctl_suspend(struct bstack_ioctl *hdr,
			      struct bstack_device *bd, const void *in,
			      struct bstack_reply *rep)
{
	const struct bstack_suspend *args = in;
	unsigned long timeout = 0;
	int r;

	if (hdr->data_len && hdr->data_len != sizeof(*args)) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "the suspend payload is %u bytes, not %zu",
			 hdr->data_len, sizeof(*args));
		return -EINVAL;
	}
	if (hdr->data_len) {
		if (args->reserved) {
			snprintf(hdr->error, BSTACK_ERROR_LEN,
				 "the reserved field of the suspend payload is not 0");
			return -EINVAL;
		}
		timeout = msecs_to_jiffies(args->timeout_ms);
	}
	r = bstack_device_suspend(bd, bstack_ctl_suspend_flags(hdr), timeout,
				  hdr->error);
	if (!r)
		bstack_ctl_describe(hdr, bd);
	return r;
}

/* Drop the inactive table, as dmsetup clear does. */
static int bstack_ctl_clear(struct bstack_ioctl *hdr,
			    struct bstack_device *bd, const void *in,
			    struct bstack_reply *rep)
{
	bstack_device_set_inactive(bd, NULL);
	bstack_ctl_describe(hdr, bd);
	return 0;
}

/* Reply with one spec per target, followed by its table line or status. */
static int bstack_ctl_specs(struct bstack_ioctl *hdr, struct bstack_table *t,
			    bool status, struct bstack_reply *rep)
{
	char *text;
	unsigned int i;
	int r = 0;

	text = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	hdr->count = 0;
	for (i = 0; t && i < t->num_targets; i++) {
		struct bstack_target *ti = &t->targets[i];
		struct bstack_target_spec *spec;
		size_t len, next;

		text[0] = '\0';
		if (status && ti->type->status)
			ti->type->status(ti, text, PAGE_SIZE);
		else if (!status && ti->type->table_line)
			ti->type->table_line(ti, text, PAGE_SIZE);
		len = strlen(text) + 1;
		next = ALIGN(sizeof(*spec) + len, 8);
		spec = bstack_reply_reserve(rep, next);
		if (!spec) {
			r = -ENOMEM;
			break;
		}
		spec->start = ti->begin;
		spec->length = ti->len;
		spec->line = ti->line;
		spec->next = next;
		strscpy(spec->type, ti->type->name, sizeof(spec->type));
		memcpy(spec + 1, text, len);
		hdr->count++;
	}
	kfree(text);
	return r;
}

static int bstack_ctl_table_status(struct bstack_ioctl *hdr,
				   struct bstack_device *bd, bool status,
				   struct bstack_reply *rep)
{
	bool inactive = hdr->flags & BSTACK_F_INACTIVE;

	if (status && inactive) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "an inactive table has no status");
		return -EINVAL;
	}
	bstack_ctl_describe(hdr, bd);
	return bstack_ctl_specs(hdr, bstack_device_table(bd, inactive), status,
				rep);
}

static int bstack_ctl_get_table(struct bstack_ioctl *hdr,
				struct bstack_device *bd, const void *in,
				struct bstack_reply *rep)
{
	return bstack_ctl_table_status(hdr, bd, false, rep);
}

static int bstack_ctl_status(struct bstack_ioctl *hdr,
			     struct bstack_device *bd, const void *in,
			     struct bstack_reply *rep)
{
	return bstack_ctl_table_status(hdr, bd, true, rep);
}

static int bstack_ctl_deps(struct bstack_ioctl *hdr,
			   struct bstack_device *bd, const void *in,
			   struct bstack_reply *rep)
{
	bool inactive = hdr->flags & BSTACK_F_INACTIVE;
	struct bstack_lower *l;
	struct bstack_table *t;
	__u64 *dev;

	bstack_ctl_describe(hdr, bd);
	hdr->count = 0;
	t = bstack_device_table(bd, inactive);
	if (!t)
		return 0;
	list_for_each_entry(l, &t->lowers, list) {
		dev = bstack_reply_reserve(rep, sizeof(*dev));
		if (!dev)
			return -ENOMEM;
		*dev = new_encode_dev(l->dev);
		hdr->count++;
	}
	return 0;
}

/*
 * FEATURES: what the live (or inactive) table passes through, as text;
 * @count is 0 and the reply empty without that table.
 */
static int bstack_ctl_features(struct bstack_ioctl *hdr,
			       struct bstack_device *bd, const void *in,
			       struct bstack_reply *rep)
{
	bool inactive = hdr->flags & BSTACK_F_INACTIVE;
	struct bstack_table *t;
	char *text, *p;
	size_t n;

	bstack_ctl_describe(hdr, bd);
	hdr->count = 0;
	t = bstack_device_table(bd, inactive);
	if (!t)
		return 0;
	text = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	n = bstack_table_features(t, text, PAGE_SIZE) + 1;
	p = bstack_reply_reserve(rep, n);
	if (p)
		memcpy(p, text, n);
	kfree(text);
	hdr->count = BSTACK_NR_FEATURES;
	return p ? 0 : -ENOMEM;
}

static int bstack_ctl_target_version(const struct bstack_target_type *type,
				     void *data)
{
	struct bstack_ioctl *hdr = ((void **)data)[0];
	struct bstack_reply *rep = ((void **)data)[1];
	struct bstack_target_version *v = bstack_reply_reserve(rep, sizeof(*v));

	if (!v)
		return -ENOMEM;
	strscpy(v->name, type->name, sizeof(v->name));
	memcpy(v->version, type->version, sizeof(v->version));
	hdr->count++;
	return 0;
}

static int bstack_ctl_targets(struct bstack_ioctl *hdr,
			      struct bstack_device *bd, const void *in,
			      struct bstack_reply *rep)
{
	void *data[] = { hdr, rep };

	hdr->count = 0;
	return bstack_walk_target_types(bstack_ctl_target_version, data);
}

static int bstack_ctl_rename(struct bstack_ioctl *hdr,
			     struct bstack_device *bd, const void *in,
			     struct bstack_reply *rep)
{
	const struct bstack_rename *args = in;
	bool uuid = hdr->flags & BSTACK_F_SETUUID;
	int r;

	if (hdr->data_len != sizeof(*args)) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "the rename payload is %u bytes, not %zu",
			 hdr->data_len, sizeof(*args));
		return -EINVAL;
	}
	if (uuid) {
		r = bstack_check_new(args->new, sizeof(args->new), "uuid",
				     false, hdr->error);
	} else {
		r = bstack_check_name(args->new, hdr->error);
		if (!r)
			r = bstack_check_new(args->new, sizeof(args->new),
					     "name", false, hdr->error);
	}
	if (r)
		return r;
	r = bstack_device_rename(bd, args->new, uuid, hdr->error);
	if (!r) {
		strscpy(hdr->name, bd->name, sizeof(hdr->name));
		bstack_ctl_describe(hdr, bd);
	}
	return r;
}

static int bstack_ctl_stats(struct bstack_ioctl *hdr,
			    struct bstack_device *bd, const void *in,
			    struct bstack_reply *rep)
{
	struct bstack_counters *c;
	struct bstack_stats sum;

	c = bstack_reply_reserve(rep, sizeof(*c));
	if (!c)
		return -ENOMEM;
	bstack_device_stats(bd, &sum);
	c->reads = sum.ios[READ];
	c->writes = sum.ios[WRITE];
	c->read_bytes = sum.bytes[READ];
	c->write_bytes = sum.bytes[WRITE];
	c->discards = sum.discards;
	c->flushes = sum.flushes;
	c->splits = sum.splits;
	c->errors = sum.errors;
	c->in_flight = sum.in_flight;
	c->polled = sum.polled;
	bstack_ctl_describe(hdr, bd);
	hdr->count = 1;
	return 0;
}

/*
 * Hand MESSAGE's words to the live target at the sector it names, as
 * dmsetup message does. Under bstack_devices_lock only, so that a message
 * goes through while a suspend waits: it may be what ends the wait.
 */
static int bstack_ctl_message(struct bstack_ioctl *hdr,
			      struct bstack_device *bd, const void *in,
			      struct bstack_reply *rep)
{
	struct bstack_table *t = bstack_device_table(bd, false);
	const struct bstack_message *m = in;
	size_t len = hdr->data_len, text_len;
	struct bstack_target *ti;
	char *result = NULL, *err = NULL, **argv = NULL;
	int argc, r;

	if (len <= sizeof(*m) || len > sizeof(*m) + BSTACK_MESSAGE_LEN) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "the message payload is %zu bytes, not %zu..%zu",
			 len, sizeof(*m) + 1, sizeof(*m) + BSTACK_MESSAGE_LEN);
		return -EINVAL;
	}
	text_len = len - sizeof(*m);
	if (strnlen(m->text, text_len) == text_len) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "the message text is not NUL-terminated within its %zu bytes",
			 text_len);
		return -EINVAL;
	}
	if (!t) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "%s has no live table to take a message", bd->name);
		return -ENXIO;
	}
	if (m->sector >= t->size) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "sector %llu is past the end of %s (%llu sectors)",
			 m->sector, bd->name, (u64)t->size);
		return -EINVAL;
	}
	ti = bstack_table_find_target(t, m->sector);
	if (!ti->type->message) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "line %u: target '%s' takes no messages", ti->line,
			 ti->type->name);
		return -EINVAL;
	}
	argv = argv_split(GFP_KERNEL, m->text, &argc);
	result = kzalloc(PAGE_SIZE, GFP_KERNEL);
	err = kzalloc(BSTACK_ERROR_LEN, GFP_KERNEL);
	r = -ENOMEM;
	if (!argv || !result || !err)
		goto out;
	r = -EINVAL;
	if (!argc) {
		snprintf(hdr->error, BSTACK_ERROR_LEN, "the message is empty");
		goto out;
	}
	r = ti->type->message(ti, argc, argv, result, PAGE_SIZE, err);
	if (r) {
		snprintf(hdr->error, BSTACK_ERROR_LEN, "line %u: %s: %s",
			 ti->line, ti->type->name,
			 err[0] ? err : "the message is refused");
		goto out;
	}
	bstack_device_event(bd);
	bstack_ctl_describe(hdr, bd);
	if (result[0]) {
		size_t n = strlen(result) + 1;
		char *p = bstack_reply_reserve(rep, n);

		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(p, result, n);
	}
out:
	kfree(err);
	kfree(result);
	if (argv)
		argv_free(argv);
	return r;
}

/*
 * Holds nothing while it sleeps, and takes bstack_devices_lock only to
 * look the device up: the device may go away meanwhile.
 */
static int bstack_ctl_wait_event(struct bstack_ioctl *hdr,
				 struct bstack_device *unused, const void *in,
				 struct bstack_reply *rep)
{
	u32 last = hdr->event_nr;
	struct bstack_device *bd;
	int seq;

	for (;;) {
		seq = atomic_read(&bstack_event_seq);
		mutex_lock(&bstack_devices_lock);
		bd = bstack_ctl_find(hdr);
		if (!IS_ERR(bd) && atomic_read(&bd->event_nr) != last)
			bstack_ctl_describe(hdr, bd);
		mutex_unlock(&bstack_devices_lock);
		if (IS_ERR(bd))
			return PTR_ERR(bd);
		if (hdr->event_nr != last)
			return 0;
		if (wait_event_interruptible(bstack_event_wq,
					     atomic_read(&bstack_event_seq) != seq)) {
			snprintf(hdr->error, BSTACK_ERROR_LEN,
				 "waiting for an event of %s was interrupted",
				 hdr->name);
			return -EINTR;
		}
	}
}

/*
 * How a command locks: the commands that change a device hold its
 * ctl_lock, so that two of them on one device run one after the other
 * while those on other devices go on; the ones that read hold
 * bstack_devices_lock, so that they answer while a suspend waits.
 */
enum bstack_ctl_locking {
	BSTACK_CTL_SELF,	/* @fn locks what it needs, if anything */
	BSTACK_CTL_LIST,	/* under bstack_devices_lock, no device */
	/* The named device, under bstack_devices_lock; also MESSAGE. */
	BSTACK_CTL_READ,
	BSTACK_CTL_CHANGE,	/* the named device, under its ctl_lock */
};

/**
 * struct bstack_ctl_cmd - one ioctl
 * @cmd:	its number, BSTACK_*
 * @fn:		what it does
 * @locking:	what bstack_ctl_run() looks up and locks for @fn
 * @admin:	changes state: needs CAP_SYS_ADMIN.
 * @payload:	takes a payload: a table, struct bstack_suspend,
 *		struct bstack_rename or struct bstack_message.
 * @flags:	the input flags it accepts.
 */
struct bstack_ctl_cmd {
	unsigned int cmd;
	bstack_ctl_fn fn;
	enum bstack_ctl_locking locking;
	bool admin;
	bool payload;
	u32 flags;
};

static const struct bstack_ctl_cmd bstack_ctl_cmds[] = {
	{ BSTACK_VERSION,    bstack_ctl_version,    BSTACK_CTL_SELF,
	  false, false, 0 },
	{ BSTACK_CREATE,     bstack_ctl_create,     BSTACK_CTL_SELF,
	  true,  true,  BSTACK_F_READONLY },
	{ BSTACK_REMOVE,     bstack_ctl_remove,     BSTACK_CTL_CHANGE,
	  true,  false, BSTACK_F_FORCE | BSTACK_F_DEFERRED },
	{ BSTACK_LIST,	     bstack_ctl_list,	    BSTACK_CTL_LIST,
	  false, false, 0 },
	{ BSTACK_LOAD,	     bstack_ctl_load,	    BSTACK_CTL_CHANGE,
	  true,  true,  0 },
	{ BSTACK_RESUME,     bstack_ctl_resume,     BSTACK_CTL_CHANGE,
	  true,  false, BSTACK_F_NOLOCKFS },
	{ BSTACK_TABLE,	     bstack_ctl_get_table,  BSTACK_CTL_READ,
	  false, false, BSTACK_F_INACTIVE },
	{ BSTACK_STATUS,     bstack_ctl_status,     BSTACK_CTL_READ,
	  false, false, 0 },
	{ BSTACK_SUSPEND,    bstack_ctl_suspend,    BSTACK_CTL_CHANGE,
	  true,  true,  BSTACK_F_NOFLUSH | BSTACK_F_NOLOCKFS },
	{ BSTACK_CLEAR,	     bstack_ctl_clear,	    BSTACK_CTL_CHANGE,
	  true,  false, 0 },
	{ BSTACK_REMOVE_ALL, bstack_ctl_remove_all, BSTACK_CTL_SELF,
	  true,  false, BSTACK_F_FORCE | BSTACK_F_DEFERRED },
	{ BSTACK_DEPS,	     bstack_ctl_deps,	    BSTACK_CTL_READ,
	  false, false, BSTACK_F_INACTIVE },
	{ BSTACK_TARGETS,    bstack_ctl_targets,    BSTACK_CTL_SELF,
	  false, false, 0 },
	{ BSTACK_RENAME,     bstack_ctl_rename,     BSTACK_CTL_CHANGE,
	  true,  true,  BSTACK_F_SETUUID },
	{ BSTACK_STATS,	     bstack_ctl_stats,	    BSTACK_CTL_READ,
	  false, false, 0 },
	{ BSTACK_WAIT_EVENT, bstack_ctl_wait_event, BSTACK_CTL_SELF,
	  false, false, 0 },
	{ BSTACK_MESSAGE,    bstack_ctl_message,    BSTACK_CTL_READ,
	  true,  true,  0 },
	{ BSTACK_FEATURES,   bstack_ctl_features,   BSTACK_CTL_READ,
	  false, false, BSTACK_F_INACTIVE },
};

/**
 * bstack_ctl_check_header - validate a header copied from user space
 * @hdr:	the header, in kernel memory
 * @err:	BSTACK_ERROR_LEN bytes for the reason of a refusal
 *
 * Checks the version, the sizes and the offsets, without trusting any of
 * them; writes the reason for a refusal into @err.
 */
int bstack_ctl_check_header(const struct bstack_ioctl *hdr, char *err)
{
	if (hdr->version[0] != BSTACK_VERSION_MAJOR) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "ABI version %u.%u.%u is not supported: the module speaks %u.%u.%u",
			 hdr->version[0], hdr->version[1], hdr->version[2],
			 BSTACK_VERSION_MAJOR, BSTACK_VERSION_MINOR,
			 BSTACK_VERSION_PATCH);
		return -EINVAL;
	}
	if (hdr->data_size < sizeof(*hdr) ||
	    hdr->data_size > BSTACK_MAX_DATA_SIZE) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "data_size %u is outside %zu..%u", hdr->data_size,
			 sizeof(*hdr), BSTACK_MAX_DATA_SIZE);
		return -EINVAL;
	}
	if (hdr->data_start < sizeof(*hdr) || hdr->data_start % 8 ||
	    hdr->data_start > hdr->data_size) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "data_start %u is not an 8-byte aligned offset in %zu..%u",
			 hdr->data_start, sizeof(*hdr), hdr->data_size);
		return -EINVAL;
	}
	if (hdr->data_len > hdr->data_size - hdr->data_start) {
		snprintf(err, BSTACK_ERROR_LEN,
			 "data_len %u runs past data_size %u", hdr->data_len,
			 hdr->data_size);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bstack_ctl_check_header);

static const struct bstack_ctl_cmd *bstack_ctl_lookup(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bstack_ctl_cmds); i++)
		if (bstack_ctl_cmds[i].cmd == cmd)
			return &bstack_ctl_cmds[i];
	return NULL;
}

/* Run @c on a header that passed the checks; the payload is copied here. */
static int bstack_ctl_run(const struct bstack_ctl_cmd *c,
			  struct bstack_ioctl *hdr, void __user *uarg,
			  struct bstack_reply *rep)
{
	struct bstack_device *bd;
	void *in = NULL;
	int r;

	if (hdr->flags & ~c->flags) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "unknown flags 0x%x for this command",
			 hdr->flags & ~c->flags);
		return -EINVAL;
	}
	if (!c->payload && hdr->data_len) {
		snprintf(hdr->error, BSTACK_ERROR_LEN,
			 "this command takes no payload, but data_len is %u",
			 hdr->data_len);
		return -EINVAL;
	}
	if (hdr->data_len) {
		r = bstack_mem_fits(hdr->data_len, "the payload", hdr->error);
		if (r)
			return r;
		in = vmemdup_user(uarg + hdr->data_start, hdr->data_len);
		if (IS_ERR(in))
			return PTR_ERR(in);
	}
	switch (c->locking) {
	case BSTACK_CTL_SELF:
		r = c->fn(hdr, NULL, in, rep);
		break;
	case BSTACK_CTL_LIST:
		mutex_lock(&bstack_devices_lock);
		r = c->fn(hdr, NULL, in, rep);
		mutex_unlock(&bstack_devices_lock);
		break;
	case BSTACK_CTL_READ:
		mutex_lock(&bstack_devices_lock);
		bd = bstack_ctl_find(hdr);
		r = IS_ERR(bd) ? PTR_ERR(bd) : c->fn(hdr, bd, in, rep);
		mutex_unlock(&bstack_devices_lock);
		break;
	case BSTACK_CTL_CHANGE:
		bd = bstack_ctl_get(hdr);
		if (IS_ERR(bd)) {
			r = PTR_ERR(bd);
			break;
		}
		r = c->fn(hdr, bd, in, rep);
		bstack_ctl_put(bd);
		break;
	}
	kvfree(in);
	return r;
}

static int bstack_ctl_reply(struct bstack_ioctl *hdr, void __user *uarg,
			    struct bstack_reply *rep)
{
	size_t room = hdr->data_size - hdr->data_start;

	if (rep->len > room) {
		hdr->flags |= BSTACK_F_BUFFER_FULL;
		hdr->data_len = hdr->data_start + rep->len;
		return 0;
	}
	hdr->data_len = rep->len;
	if (rep->len && copy_to_user(uarg + hdr->data_start, rep->data,
				     rep->len))
		return -EFAULT;
	return 0;
}

static long bstack_ctl_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct bstack_ctl_cmd *c;
	struct bstack_reply rep = { };
	struct bstack_ioctl *hdr;
	int r;

	c = bstack_ctl_lookup(cmd);
	if (!c)
		return -ENOTTY;
	if (c->admin && !capable(CAP_SYS_ADMIN))
		return -EPERM;

	hdr = memdup_user(uarg, sizeof(*hdr));
	if (IS_ERR(hdr))
		return PTR_ERR(hdr);
	/* Output only: whatever the caller left there is not ours to echo. */
	hdr->error[0] = '\0';

	r = bstack_ctl_check_header(hdr, hdr->error);
	if (r) {
		/* A buffer smaller than a header gets nothing written back. */
		if (hdr->data_size < sizeof(*hdr))
			goto out_free;
	} else {
		r = bstack_ctl_run(c, hdr, uarg, &rep);
		if (!r)
			r = bstack_ctl_reply(hdr, uarg, &rep);
	}

	hdr->version[0] = BSTACK_VERSION_MAJOR;
	hdr->version[1] = BSTACK_VERSION_MINOR;
	hdr->version[2] = BSTACK_VERSION_PATCH;
	if (r && !hdr->error[0] && r != -ENOMEM)
		snprintf(hdr->error, BSTACK_ERROR_LEN, "error %d", r);
	if (copy_to_user(uarg, hdr, sizeof(*hdr)))
		r = -EFAULT;
out_free:
	kvfree(rep.data);
	kfree(hdr);
	return r;
}

static const struct file_operations bstack_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= bstack_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice bstack_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= BSTACK_CONTROL_NAME,
	.fops		= &bstack_ctl_fops,
	.mode		= 0600,
};

int bstack_ctl_init(void)
{
	return misc_register(&bstack_misc);
}

void bstack_ctl_exit(void)
{
	misc_deregister(&bstack_misc);
}
