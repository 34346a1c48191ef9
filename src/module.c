// SPDX-License-Identifier: GPL-2.0
/*
 * bstack's module: its workqueues, its block major, its targets and its
 * control device come and go here.
 */
#include <linux/module.h>

#include "bstack.h"

/* The held bios go down from here: WQ_MEM_RECLAIM. */
struct workqueue_struct *bstack_wq;
/* Deferred removals, apart: they wait for a device's ctl_lock. */
struct workqueue_struct *bstack_remove_wq;
int bstack_major;

static int __init bstack_init(void)
{
	int r;

	bstack_wq = alloc_workqueue("bstack", WQ_MEM_RECLAIM | WQ_PERCPU, 0);
	if (!bstack_wq)
		return -ENOMEM;
	r = -ENOMEM;
	bstack_remove_wq = alloc_workqueue("bstack_remove", WQ_PERCPU, 0);
	if (!bstack_remove_wq)
		goto out_destroy_wq;

	r = register_blkdev(0, "bstack");
	if (r < 0)
		goto out_destroy_remove_wq;
	bstack_major = r;

	r = bstack_clone_slab_init();
	if (r)
		goto out_unregister_blkdev;

	r = bstack_linear_init();
	if (r)
		goto out_clone_slab_exit;

	r = bstack_striped_init();
	if (r)
		goto out_linear_exit;

	r = bstack_error_zero_init();
	if (r)
		goto out_striped_exit;

	r = bstack_faulty_init();
	if (r)
		goto out_error_zero_exit;

	r = bstack_ctl_init();
	if (r)
		goto out_faulty_exit;

	pr_info("bstack: version %u.%u.%u loaded, major %d\n",
		BSTACK_VERSION_MAJOR, BSTACK_VERSION_MINOR,
		BSTACK_VERSION_PATCH, bstack_major);
	return 0;

out_faulty_exit:
	bstack_faulty_exit();
out_error_zero_exit:
	bstack_error_zero_exit();
out_striped_exit:
	bstack_striped_exit();
out_linear_exit:
	bstack_linear_exit();
out_clone_slab_exit:
	bstack_clone_slab_exit();
out_unregister_blkdev:
	unregister_blkdev(bstack_major, "bstack");
out_destroy_remove_wq:
	destroy_workqueue(bstack_remove_wq);
out_destroy_wq:
	destroy_workqueue(bstack_wq);
	return r;
}

static void __exit bstack_exit(void)
{
	/*
	 * No new device can be made once the control node is gone, and no
	 * control call runs: each holds the node open, which pins us.
	 */
	bstack_ctl_exit();
	bstack_devices_exit();
	destroy_workqueue(bstack_remove_wq);
	bstack_faulty_exit();
	bstack_error_zero_exit();
	bstack_striped_exit();
	bstack_linear_exit();
	bstack_clone_slab_exit();
	unregister_blkdev(bstack_major, "bstack");
	destroy_workqueue(bstack_wq);
}

module_init(bstack_init);
module_exit(bstack_exit);

MODULE_DESCRIPTION("bstack: a bio-based stacking block driver");
MODULE_AUTHOR("The bstack developers");
MODULE_LICENSE("GPL");
