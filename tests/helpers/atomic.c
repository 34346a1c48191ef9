// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-atomic limits DEV
 * bstack-atomic write DEV OFFSET LENGTH SEED
 *
 * limits prints what statx(STATX_WRITE_ATOMIC) says of DEV:
 *   unit_min N unit_max N segments_max N
 * in bytes, all 0 when the kernel does not report atomic writes for it.
 *
 * write writes LENGTH bytes at byte OFFSET of DEV with one
 * pwritev2(RWF_ATOMIC) and O_DIRECT: the sectors hold bstack-pattern's
 * words for SEED, so that `bstack-pattern verify --seed SEED` checks them.
 * It prints "written N" or names the error.
 *
 * Bookworm's libc and headers predate atomic writes, so the statx layout
 * (linux/stat.h since 6.11) and the flags are spelt out here.
 *
 * Exit 0; 1 when the write fails; 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

#define PROG			"bstack-atomic"
#define SECTOR			512
#define BSTACK_STATX_WRITE_ATOMIC	0x00010000U
#define BSTACK_RWF_ATOMIC		0x00000040

/* struct statx up to the atomic write fields, at their offsets. */
struct bstack_statx {
	uint32_t mask;			/* 0x00 */
	uint8_t before[0xa8 - 4];
	uint32_t atomic_write_unit_min;	/* 0xa8 */
	uint32_t atomic_write_unit_max;	/* 0xac */
	uint32_t atomic_write_segments_max; /* 0xb0 */
	uint8_t after[0x100 - 0xb4];
};

_Static_assert(sizeof(struct bstack_statx) == 0x100, "statx is 256 bytes");

static void usage(void)
{
	fprintf(stderr, "usage: bstack-atomic limits DEV | write DEV OFFSET LENGTH SEED\n");
	exit(2);
}

static int limits(const char *dev)
{
	struct bstack_statx stx;

	memset(&stx, 0, sizeof(stx));
	if (syscall(SYS_statx, AT_FDCWD, dev, 0, BSTACK_STATX_WRITE_ATOMIC,
		    &stx) < 0) {
		fprintf(stderr, "bstack-atomic: statx %s: %s\n", dev,
			strerror(errno));
		return 2;
	}
	if (!(stx.mask & BSTACK_STATX_WRITE_ATOMIC))
		memset(&stx, 0, sizeof(stx));
	printf("unit_min %" PRIu32 " unit_max %" PRIu32 " segments_max %" PRIu32 "\n",
	       stx.atomic_write_unit_min, stx.atomic_write_unit_max,
	       stx.atomic_write_segments_max);
	return 0;
}

static int write_atomic(const char *dev, uint64_t off, uint64_t len,
			uint64_t seed)
{
	struct iovec iov;
	uint64_t *buf;
	ssize_t n;
	int fd;

	if (!len || len % SECTOR || off % SECTOR) {
		fprintf(stderr, "bstack-atomic: OFFSET and LENGTH must be non-zero multiples of %d\n",
			SECTOR);
		return 2;
	}
	if (posix_memalign((void **)&buf, 4096, len)) {
		fprintf(stderr, "bstack-atomic: no memory for %" PRIu64 " bytes\n",
			len);
		return 2;
	}
	pattern_fill(buf, seed, off / SECTOR, len / SECTOR);
	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "bstack-atomic: open %s: %s\n", dev,
			strerror(errno));
		free(buf);
		return 2;
	}
	iov.iov_base = buf;
	iov.iov_len = len;
	n = pwritev2(fd, &iov, 1, off, BSTACK_RWF_ATOMIC);
	if (n < 0) {
		printf("bstack-atomic: atomic write of %" PRIu64 " bytes at byte %" PRIu64 ": %s\n",
		       len, off, strerror(errno));
		close(fd);
		free(buf);
		return 1;
	}
	close(fd);
	free(buf);
	if ((uint64_t)n != len) {
		printf("bstack-atomic: atomic write of %" PRIu64 " bytes at byte %" PRIu64 " wrote %zd\n",
		       len, off, n);
		return 1;
	}
	printf("written %zd\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "limits"))
		return limits(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "write"))
		return write_atomic(argv[2],
				    helper_number(PROG, argv[3], "OFFSET"),
				    helper_number(PROG, argv[4], "LENGTH"),
				    helper_number(PROG, argv[5], "SEED"));
	usage();
	return 2;
}
