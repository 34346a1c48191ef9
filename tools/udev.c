// SPDX-License-Identifier: GPL-2.0
/*
 * Waiting for udev: bstackctl returns from create, resume, rename and
 * remove when udev has finished with the uevents they caused, so that
 * /dev/bstack/NAME and the other links are there (or gone) when a script
 * goes on.
 *
 * dmsetup does this with a SysV semaphore, a "cookie", that its udev rules
 * decrement; a rule that never runs leaves it waiting for ever. We watch
 * the uevents instead: a kernel monitor, opened before the change, sees
 * every uevent of a bstack disk that the change sends (the kernel sends
 * them before the ioctl returns); a udev monitor, opened at the same time,
 * sees each one again when udev has run its rules for it. The wait ends
 * when every one of those sequence numbers has come back, or at the
 * timeout. Nothing of it depends on our rules being installed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>

#include "udev.h"

/* The socket udevd listens on. */
#define UDEV_CONTROL	"/run/udev/control"
/*
 * The most uevents waited for: remove_all sends one per device; beyond
 * this many, the rest are not waited for.
 */
#define MAX_PENDING	4096

struct udev_sync {
	struct udev *udev;
	struct udev_monitor *kernel;	/* uevents as the kernel sends them */
	struct udev_monitor *done;	/* the same, once udev has run its rules */
	uint64_t pending[MAX_PENDING];	/* sequence numbers not yet done */
	char sysname[MAX_PENDING][16];	/* bstackN of each, for messages */
	size_t npending;
};

/*
 * udevd leaves its control socket behind when it exits, so the socket's
 * existence says little: whether something listens on it is what tells.
 * The connect does not block: a udevd that is alive but busy (or stopped)
 * has a full backlog, and says EAGAIN.
 */
bool udev_running(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = UDEV_CONTROL };
	bool up;
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return access(UDEV_CONTROL, F_OK) == 0;
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
	     errno == EAGAIN;
	close(fd);
	return up;
}

/* Where udev reads rules from; rules in any of them are installed. */
static const char *const rule_dirs[] = {
	"/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d",
	"/usr/lib/udev/rules.d", "/lib/udev/rules.d",
};

bool udev_rules_installed(void)
{
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(rule_dirs) / sizeof(rule_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/" UDEV_RULES_FILE, rule_dirs[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

static struct udev_monitor *monitor(struct udev *udev, const char *source)
{
	struct udev_monitor *m = udev_monitor_new_from_netlink(udev, source);

	if (!m)
		return NULL;
	if (udev_monitor_filter_add_match_subsystem_devtype(m, "block", "disk") < 0 ||
	    udev_monitor_enable_receiving(m) < 0) {
		udev_monitor_unref(m);
		return NULL;
	}
	return m;
}

struct udev_sync *udev_sync_begin(char *err, size_t size)
{
	struct udev_sync *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	s->udev = udev_new();
	if (s->udev) {
		s->kernel = monitor(s->udev, "kernel");
		s->done = monitor(s->udev, "udev");
	}
	if (!s->kernel || !s->done) {
		snprintf(err, size, "cannot listen to uevents: %s",
			 strerror(errno ? errno : ENOMEM));
		udev_sync_end(s);
		return NULL;
	}
	return s;
}

void udev_sync_end(struct udev_sync *s)
{
	if (!s)
		return;
	if (s->kernel)
		udev_monitor_unref(s->kernel);
	if (s->done)
		udev_monitor_unref(s->done);
	if (s->udev)
		udev_unref(s->udev);
	free(s);
}

static bool is_bstack(struct udev_device *d)
{
	const char *name = udev_device_get_sysname(d);

	return name && !strncmp(name, "bstack", 6);
}

/* Take in the uevents the kernel has sent so far (it sent ours already). */
static void collect_sent(struct udev_sync *s)
{
	struct udev_device *d;

	while ((d = udev_monitor_receive_device(s->kernel))) {
		if (is_bstack(d) && s->npending < MAX_PENDING) {
			s->pending[s->npending] = udev_device_get_seqnum(d);
			snprintf(s->sysname[s->npending], sizeof(s->sysname[0]),
				 "%s", udev_device_get_sysname(d));
			s->npending++;
		}
		udev_device_unref(d);
	}
}

/* Tick off the uevents udev has finished with. */
static void collect_done(struct udev_sync *s)
{
	struct udev_device *d;
	uint64_t seq;
	size_t i;

	while ((d = udev_monitor_receive_device(s->done))) {
		seq = udev_device_get_seqnum(d);
		for (i = 0; i < s->npending; i++) {
			if (s->pending[i] == seq) {
				s->npending--;
				s->pending[i] = s->pending[s->npending];
				memcpy(s->sysname[i], s->sysname[s->npending],
				       sizeof(s->sysname[0]));
				break;
			}
		}
		udev_device_unref(d);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int udev_sync_wait(struct udev_sync *s, unsigned int timeout_s, char *err,
		   size_t size)
{
	int64_t end = now_ms() + (int64_t)timeout_s * 1000;
	struct pollfd pfd = { .fd = udev_monitor_get_fd(s->done), .events = POLLIN };
	unsigned int polls = 0;

	collect_sent(s);
	for (;;) {
		int64_t left;

		collect_done(s);
		if (!s->npending)
			return 0;
		left = end - now_ms();
		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR) {
			snprintf(err, size, "waiting for udev: %s", strerror(errno));
			return -1;
		}
		/* A udevd that exits meanwhile never answers: stop waiting. */
		if (++polls % 5 == 0 && !udev_running()) {
			snprintf(err, size,
				 "udev stopped before it finished with %s",
				 s->sysname[0]);
			return -1;
		}
	}
	snprintf(err, size,
		 "udev has not finished with %s after %u s (%zu uevent%s outstanding)",
		 s->sysname[0], timeout_s, s->npending,
		 s->npending == 1 ? "" : "s");
	return -1;
}
