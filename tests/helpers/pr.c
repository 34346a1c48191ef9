// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-pr DEV register OLD NEW | reserve KEY | release KEY |
 *           preempt OLD NEW | clear KEY
 *
 * Issues one of the block layer's persistent reservation ioctls
 * (IOC_PR_*, <linux/pr.h>) on DEV, as a cluster manager does through a
 * driver's pr_ops, where sg_persist sends SCSI commands through SG_IO.
 * Keys are numbers (0x... for hex); reservations are Write Exclusive.
 *
 * Exit 0, 1 when the ioctl fails (its error on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/pr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "helpers.h"

static void usage(void)
{
	fputs("usage: bstack-pr DEV register OLD NEW | reserve KEY | release KEY |\n"
	      "                 preempt OLD NEW | clear KEY\n", stderr);
	exit(2);
}

static uint64_t key(const char *s)
{
	return helper_number("bstack-pr", s, "key");
}

int main(int argc, char **argv)
{
	const char *verb;
	unsigned long req;
	union {
		struct pr_registration reg;
		struct pr_reservation rsv;
		struct pr_preempt pre;
		struct pr_clear clr;
	} a;
	int fd, nargs;

	if (argc < 4)
		usage();
	verb = argv[2];
	nargs = argc - 3;
	memset(&a, 0, sizeof(a));
	if (!strcmp(verb, "register") && nargs == 2) {
		req = IOC_PR_REGISTER;
		a.reg.old_key = key(argv[3]);
		a.reg.new_key = key(argv[4]);
	} else if (!strcmp(verb, "reserve") && nargs == 1) {
		req = IOC_PR_RESERVE;
		a.rsv.key = key(argv[3]);
		a.rsv.type = PR_WRITE_EXCLUSIVE;
	} else if (!strcmp(verb, "release") && nargs == 1) {
		req = IOC_PR_RELEASE;
		a.rsv.key = key(argv[3]);
		a.rsv.type = PR_WRITE_EXCLUSIVE;
	} else if (!strcmp(verb, "preempt") && nargs == 2) {
		req = IOC_PR_PREEMPT;
		a.pre.old_key = key(argv[3]);
		a.pre.new_key = key(argv[4]);
		a.pre.type = PR_WRITE_EXCLUSIVE;
	} else if (!strcmp(verb, "clear") && nargs == 1) {
		req = IOC_PR_CLEAR;
		a.clr.key = key(argv[3]);
	} else {
		usage();
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "bstack-pr: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, req, &a) < 0) {
		fprintf(stderr, "bstack-pr: %s %s: %s\n", argv[1], verb, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
