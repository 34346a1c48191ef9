// SPDX-License-Identifier: GPL-2.0
/*
 * bstack_inject: make the bio allocations of one task fail, for the
 * integration cases, on kernels built without the fault-injection
 * framework (Debian's stock kernels have none; they have kprobes).
 *
 * A kprobe on bio_alloc_bioset() makes the call return NULL, without
 * running it, when the calling task belongs to the thread group @pid and
 * the allocation may not wait (no __GFP_DIRECT_RECLAIM: a REQ_NOWAIT bio's
 * clones and splits). Its caller then sees what a failed allocation gives
 * it on that kernel: bio_split() says NULL until 6.13, ERR_PTR(-ENOMEM)
 * after. Only every @every-th such call fails, so that a bio can fail
 * after some of its pieces went down.
 *
 * Parameters, in /sys/module/bstack_inject/parameters/:
 *   pid       the thread group whose allocations fail; 0 for none
 *   every     fail one in this many of its allocations (1: all)
 *   injected  how many have failed so far (read only)
 */
#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/sched.h>

static int inject_pid;
module_param_named(pid, inject_pid, int, 0644);
MODULE_PARM_DESC(pid, "the thread group whose non-waiting bio allocations fail, 0 for none");

static unsigned int inject_every = 1;
module_param_named(every, inject_every, uint, 0644);
MODULE_PARM_DESC(every, "fail one in this many of them");

static atomic_t inject_calls = ATOMIC_INIT(0);
static atomic_t inject_done = ATOMIC_INIT(0);

static int inject_get_done(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&inject_done));
}

static const struct kernel_param_ops inject_done_ops = {
	.get	= inject_get_done,
};
module_param_cb(injected, &inject_done_ops, NULL, 0444);
MODULE_PARM_DESC(injected, "how many allocations were failed");

/* Where a failed call goes instead: it returns to the caller at once. */
static noinline struct bio *inject_no_bio(void)
{
	return NULL;
}

static int inject_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* bio_alloc_bioset(bdev, nr_vecs, opf, gfp, bs) */
	gfp_t gfp = (__force gfp_t)regs_get_kernel_argument(regs, 3);
	int pid = READ_ONCE(inject_pid);
	unsigned int every = max(READ_ONCE(inject_every), 1U);

	if (!pid || task_tgid_nr(current) != pid ||
	    (gfp & __GFP_DIRECT_RECLAIM))
		return 0;
	if (atomic_inc_return(&inject_calls) % every)
		return 0;
	atomic_inc(&inject_done);
	instruction_pointer_set(regs, (unsigned long)inject_no_bio);
	/* The probed instruction is not run: we changed where to go. */
	return 1;
}

/*
 * Not called when the pre-handler changes the address; but a kprobe on
 * ftrace's call site may change it only if it has a post-handler.
 */
static void inject_post(struct kprobe *p, struct pt_regs *regs,
			unsigned long flags)
{
}

static struct kprobe inject_kp = {
	.symbol_name	= "bio_alloc_bioset",
	.pre_handler	= inject_pre,
	.post_handler	= inject_post,
};

static int __init inject_init(void)
{
	int r = register_kprobe(&inject_kp);

	if (r)
		pr_err("bstack_inject: cannot probe bio_alloc_bioset: %d\n", r);
	return r;
}

static void __exit inject_exit(void)
{
	unregister_kprobe(&inject_kp);
}

module_init(inject_init);
module_exit(inject_exit);

MODULE_DESCRIPTION("bstack tests: fail a task's non-waiting bio allocations");
MODULE_LICENSE("GPL");
