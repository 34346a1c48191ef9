// SPDX-License-Identifier: GPL-2.0
/*
 * ioctls and persistent reservations on a bstack device.
 *
 * As dm does (dm_prepare_ioctl(), dm_call_pr()), they go to the one lower
 * device of a one-line table whose target names one (linear): SG_IO and
 * the other ioctls the block layer does not answer itself, and the
 * pr_ops, for cluster fencing. An ioctl to a line that maps only part of
 * its device could reach sectors the table does not map: it needs
 * CAP_SYS_RAWIO, as in dm. The live table is held for the length of the
 * call, so its lower device stays open; a suspend waits for the call.
 */
#include <linux/capability.h>

#include "bstack.h"

/**
 * bstack_passthrough_get - the lower device a call on @bdev goes to
 * @bdev:	the bstack device
 * @tp:		the live table, held; drop it with bstack_table_put()
 * @lower:	its one lower device
 *
 * Returns 0 when the line maps all of @lower, 1 when only a part, or
 * -ENOTTY when the table has no one device to pass the call to (dm's
 * answer, which sends the block layer's generic handling on), -EAGAIN when
 * the device is suspended, as dm answers.
 */
static int bstack_passthrough_get(struct block_device *bdev,
				  struct bstack_table **tp,
				  struct block_device **lower)
{
	struct bstack_device *bd = bdev->bd_disk->private_data;
	struct bstack_target *ti;
	struct bstack_table *t;
	bool live;

	rcu_read_lock();
	t = rcu_dereference(bd->live);
	live = t && bstack_table_tryget_live_rcu(t);
	rcu_read_unlock();
	if (!t)
		return -ENOTTY;
	if (!live)
		return -EAGAIN;
	ti = &t->targets[0];
	if (t->num_targets != 1 || !ti->type->prepare_ioctl) {
		bstack_table_put(t);
		return -ENOTTY;
	}
	*tp = t;
	return ti->type->prepare_ioctl(ti, lower);
}

int bstack_ioctl(struct block_device *bdev, blk_mode_t mode, unsigned int cmd,
		 unsigned long arg)
{
	struct block_device *lower;
	struct bstack_table *t;
	int r;

	r = bstack_passthrough_get(bdev, &t, &lower);
	if (r < 0)
		return r;
	if (r > 0 && !capable(CAP_SYS_RAWIO))
		r = -ENOIOCTLCMD;
	else if (!lower->bd_disk->fops->ioctl)
		r = -ENOTTY;
	else
		r = lower->bd_disk->fops->ioctl(lower, mode, cmd, arg);
	bstack_table_put(t);
	return r;
}

/* A reservation call's arguments, for the call on the lower device. */
struct bstack_pr {
	u64 old_key;
	u64 new_key;
	u32 flags;
	enum pr_type type;
	bool abort;
	void *reply;		/* read keys' and read reservation's answer */
};

typedef int (*bstack_pr_fn)(const struct pr_ops *ops,
			    struct block_device *lower, struct bstack_pr *pr);

/*
 * Make a reservation call @fn on the lower device of @bdev, with the live
 * table held as bstack_passthrough_get() holds it (dm_call_pr()). A
 * reservation covers the whole lower device whatever the line maps, as
 * in dm.
 */
static int bstack_call_pr(struct block_device *bdev, bstack_pr_fn fn,
			  struct bstack_pr *pr)
{
	struct block_device *lower;
	const struct pr_ops *ops;
	struct bstack_table *t;
	int r;

	r = bstack_passthrough_get(bdev, &t, &lower);
	if (r < 0)
		return r;
	ops = lower->bd_disk->fops->pr_ops;
	r = ops ? fn(ops, lower, pr) : -EOPNOTSUPP;
	bstack_table_put(t);
	return r;
}

static int __bstack_pr_register(const struct pr_ops *ops,
				struct block_device *lower,
				struct bstack_pr *pr)
{
	if (!ops->pr_register)
		return -EOPNOTSUPP;
	return ops->pr_register(lower, pr->old_key, pr->new_key, pr->flags);
}

static int bstack_pr_register(struct block_device *bdev, u64 old_key,
			      u64 new_key, u32 flags)
{
	struct bstack_pr pr = {
		.old_key = old_key, .new_key = new_key, .flags = flags,
	};

	return bstack_call_pr(bdev, __bstack_pr_register, &pr);
}

static int __bstack_pr_reserve(const struct pr_ops *ops,
			       struct block_device *lower, struct bstack_pr *pr)
{
	if (!ops->pr_reserve)
		return -EOPNOTSUPP;
	return ops->pr_reserve(lower, pr->old_key, pr->type, pr->flags);
}

static int bstack_pr_reserve(struct block_device *bdev, u64 key,
			     enum pr_type type, u32 flags)
{
	struct bstack_pr pr = { .old_key = key, .type = type, .flags = flags };

	return bstack_call_pr(bdev, __bstack_pr_reserve, &pr);
}

static int __bstack_pr_release(const struct pr_ops *ops,
			       struct block_device *lower, struct bstack_pr *pr)
{
	if (!ops->pr_release)
		return -EOPNOTSUPP;
	return ops->pr_release(lower, pr->old_key, pr->type);
}

static int bstack_pr_release(struct block_device *bdev, u64 key,
			     enum pr_type type)
{
	struct bstack_pr pr = { .old_key = key, .type = type };

	return bstack_call_pr(bdev, __bstack_pr_release, &pr);
}

static int __bstack_pr_preempt(const struct pr_ops *ops,
			       struct block_device *lower, struct bstack_pr *pr)
{
	if (!ops->pr_preempt)
		return -EOPNOTSUPP;
	return ops->pr_preempt(lower, pr->old_key, pr->new_key, pr->type,
			       pr->abort);
}

static int bstack_pr_preempt(struct block_device *bdev, u64 old_key,
			     u64 new_key, enum pr_type type, bool abort)
{
	struct bstack_pr pr = {
		.old_key = old_key, .new_key = new_key, .type = type,
		.abort = abort,
	};

	return bstack_call_pr(bdev, __bstack_pr_preempt, &pr);
}

static int __bstack_pr_clear(const struct pr_ops *ops,
			     struct block_device *lower, struct bstack_pr *pr)
{
	if (!ops->pr_clear)
		return -EOPNOTSUPP;
	return ops->pr_clear(lower, pr->old_key);
}

static int bstack_pr_clear(struct block_device *bdev, u64 key)
{
	struct bstack_pr pr = { .old_key = key };

	return bstack_call_pr(bdev, __bstack_pr_clear, &pr);
}

static int __bstack_pr_read_keys(const struct pr_ops *ops,
				 struct block_device *lower,
				 struct bstack_pr *pr)
{
	return bstack_call_pr_read_keys(ops, lower, pr->reply);
}

static int __maybe_unused bstack_pr_read_keys(struct block_device *bdev,
					     struct pr_keys *keys)
{
	struct bstack_pr pr = { .reply = keys };

	return bstack_call_pr(bdev, __bstack_pr_read_keys, &pr);
}

static int __bstack_pr_read_reservation(const struct pr_ops *ops,
					struct block_device *lower,
					struct bstack_pr *pr)
{
	return bstack_call_pr_read_reservation(ops, lower, pr->reply);
}

static int __maybe_unused
bstack_pr_read_reservation(struct block_device *bdev,
			   struct pr_held_reservation *rsv)
{
	struct bstack_pr pr = { .reply = rsv };

	return bstack_call_pr(bdev, __bstack_pr_read_reservation, &pr);
}

const struct pr_ops bstack_pr_ops = {
	.pr_register	 = bstack_pr_register,
	.pr_reserve	 = bstack_pr_reserve,
	.pr_release	 = bstack_pr_release,
	.pr_preempt	 = bstack_pr_preempt,
	.pr_clear	 = bstack_pr_clear,
	BSTACK_PR_READ_OPS
};
