/* SPDX-License-Identifier: GPL-2.0 */
/* bstackctl's wait for udev (udev.c). */
#ifndef BSTACKCTL_UDEV_H
#define BSTACKCTL_UDEV_H

#include <stdbool.h>
#include <stddef.h>

/* bstack's rules, as installed (dist/60-bstack.rules). */
#define UDEV_RULES_FILE		"60-bstack.rules"
/* How long bstackctl waits for udev unless --udevtimeout says. */
#define UDEV_TIMEOUT_S		30

struct udev_sync;

/* Is udevd running? */
bool udev_running(void);
/* Are bstack's rules in one of the directories udev reads? */
bool udev_rules_installed(void);
/*
 * Start listening, before the change: NULL, with @err set, if the uevents
 * cannot be listened to.
 */
struct udev_sync *udev_sync_begin(char *err, size_t size);
/*
 * After the change: wait until udev has finished with every uevent of a
 * bstack disk sent since udev_sync_begin(), at most @timeout_s seconds.
 * 0 when it has; -1 with @err set when it has not.
 */
int udev_sync_wait(struct udev_sync *s, unsigned int timeout_s, char *err,
		   size_t size);
void udev_sync_end(struct udev_sync *s);

#endif
