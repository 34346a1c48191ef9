// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-pattern write|verify [--nowait] [--make-it-fail] [--seed N]
 *                DEV FIRST SECTORS
 *
 * Writes, or checks, a pattern over sectors FIRST..FIRST+SECTORS-1 of DEV
 * with O_DIRECT, in I/Os of 4 KiB to 256 KiB whose sizes follow the seed,
 * so that a striped or many-line table splits most of them. Every 8-byte
 * word of a sector says which seed and sector it belongs to, so a write
 * lost, misplaced or torn is found by verify, which names the first bad
 * sector.
 *
 * For the memory-pressure case: an I/O that fails with ENOMEM or EINTR
 * (an allocation made to fail in the system call, not in the block layer)
 * is retried and counted. With --nowait, each write goes first with
 * RWF_NOWAIT; EAGAIN is counted and the write retried without it, as
 * io_uring does. With --make-it-fail, the I/O loop runs with
 * /proc/self/make-it-fail set, so that failslab and fail_page_alloc with
 * a task filter aim at its allocations, and bstack's made in its
 * submit_bio(), but not at its start or end. Any other error is fatal.
 * The last line says:
 *   ios N bytes N again N retried N
 *
 * Exit 0, 1 on a mismatch or I/O error, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

#define SECTOR		((uint64_t)512)
#define MAX_IO		((uint64_t)256 << 10)
#define MAX_RETRIES	100000

static uint64_t seed;
static uint64_t nr_ios, nr_bytes, nr_again, nr_retried;

static void usage(void)
{
	fprintf(stderr, "usage: bstack-pattern write|verify [--nowait] [--make-it-fail] [--seed N] DEV FIRST SECTORS\n");
	exit(2);
}

/* The next I/O's length: 1 to 64 pages, from a 64-bit LCG. */
static uint64_t next_len(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((*state >> 33) % (MAX_IO / 4096) + 1) * 4096;
}

/* One whole I/O at @off, retried on ENOMEM/EINTR; false on an error. */
static int do_io(int fd, int write, int nowait, char *buf, uint64_t len,
		 uint64_t off)
{
	unsigned int tries = 0;
	uint64_t done = 0;

	while (done < len) {
		struct iovec iov = { buf + done, len - done };
		int flags = write && nowait ? RWF_NOWAIT : 0;
		ssize_t n;

		n = write ? pwritev2(fd, &iov, 1, off + done, flags) :
			    preadv2(fd, &iov, 1, off + done, 0);
		if (n < 0 && errno == EAGAIN && flags) {
			nr_again++;
			n = pwritev2(fd, &iov, 1, off + done, 0);
		}
		if (n < 0 && (errno == ENOMEM || errno == EINTR) &&
		    ++tries < MAX_RETRIES) {
			nr_retried++;
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "bstack-pattern: %s of %" PRIu64 " bytes at sector %" PRIu64 ": %s\n",
				write ? "write" : "read", len - done,
				(off + done) / SECTOR, strerror(errno));
			return 0;
		}
		if (n == 0) {
			fprintf(stderr, "bstack-pattern: %s at sector %" PRIu64 ": end of device\n",
				write ? "write" : "read", (off + done) / SECTOR);
			return 0;
		}
		done += n;
	}
	nr_ios++;
	nr_bytes += len;
	return 1;
}

/*
 * Aim the fault injection's task filter at this process, or not. Turning
 * it off runs with it on: the open() and write() may fail with ENOMEM
 * themselves, and are tried again.
 */
static void make_it_fail(int on)
{
	unsigned int tries = 0;
	int fd, ok;

	do {
		fd = open("/proc/self/make-it-fail", O_WRONLY);
		ok = fd >= 0 && write(fd, on ? "1" : "0", 1) == 1;
		if (fd >= 0)
			close(fd);
	} while (!ok && errno == ENOMEM && ++tries < MAX_RETRIES);
	if (!ok) {
		fprintf(stderr, "bstack-pattern: cannot write /proc/self/make-it-fail: %s\n",
			strerror(errno));
		exit(2);
	}
}

int main(int argc, char **argv)
{
	uint64_t first, sectors, sector, end, state, len, s;
	int write, nowait = 0, fail = 0, fd, i = 2;
	uint64_t *buf, *want;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "write"))
		write = 1;
	else if (!strcmp(argv[1], "verify"))
		write = 0;
	else
		usage();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--nowait"))
			nowait = 1;
		else if (!strcmp(argv[i], "--make-it-fail"))
			fail = 1;
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = helper_number("bstack-pattern", argv[++i], "seed");
		else
			usage();
	}
	if (argc - i != 3)
		usage();
	first = helper_number("bstack-pattern", argv[i + 1], "first sector");
	sectors = helper_number("bstack-pattern", argv[i + 2], "sector count");
	if (sectors > UINT64_MAX / SECTOR - first)
		usage();

	fd = open(argv[i], (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "bstack-pattern: cannot open %s: %s\n",
			argv[i], strerror(errno));
		return 2;
	}
	if (posix_memalign((void **)&buf, 4096, MAX_IO) ||
	    posix_memalign((void **)&want, 4096, MAX_IO)) {
		fprintf(stderr, "bstack-pattern: out of memory\n");
		return 2;
	}

	state = seed;
	end = first + sectors;
	if (fail)
		make_it_fail(1);
	for (sector = first; sector < end; sector += len / SECTOR) {
		len = next_len(&state);
		if (len / SECTOR > end - sector)
			len = (end - sector) * SECTOR;
		if (write) {
			pattern_fill(buf, seed, sector, len / SECTOR);
			if (!do_io(fd, 1, nowait, (char *)buf, len,
				   sector * SECTOR))
				return 1;
			continue;
		}
		if (!do_io(fd, 0, 0, (char *)buf, len, sector * SECTOR))
			return 1;
		pattern_fill(want, seed, sector, len / SECTOR);
		for (s = 0; s < len / SECTOR; s++) {
			if (!memcmp(buf + s * SECTOR / 8,
				    want + s * SECTOR / 8, SECTOR))
				continue;
			fprintf(stderr, "bstack-pattern: sector %" PRIu64 " of %s does not hold the pattern of seed %" PRIu64 "\n",
				sector + s, argv[i], seed);
			return 1;
		}
	}
	if (fail)
		make_it_fail(0);
	printf("ios %" PRIu64 " bytes %" PRIu64 " again %" PRIu64 " retried %" PRIu64 "\n",
	       nr_ios, nr_bytes, nr_again, nr_retried);
	return 0;
}
