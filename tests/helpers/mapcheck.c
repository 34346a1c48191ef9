// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-mapcheck DEV TABLE: check, sector range by sector range, that the
 * bstack device DEV holds what its table says it maps: each linear range
 * equals its lower device at the offset, each striped chunk equals chunk
 * n / #stripes of stripe n % #stripes, and each zero range is zero. error
 * ranges are skipped. The mapping is computed here from the definition, not
 * with any of the driver's code, and every read is O_DIRECT so that no
 * page cache sits between two views of the same sectors.
 *
 * Prints one line per target checked; on the first difference, says where
 * on stderr and exits 1. Exit 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR		512ULL
#define MAX_ARGS	64
#define BUF_SECTORS	2048ULL		/* 1 MiB */

static void *buf_a, *buf_b;

static int open_direct(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT);

	if (fd < 0) {
		fprintf(stderr, "mapcheck: cannot open %s: %s\n", path,
			strerror(errno));
		exit(2);
	}
	return fd;
}

static void read_at(int fd, const char *name, void *buf, uint64_t sector,
		    uint64_t count)
{
	size_t len = count * SECTOR;
	ssize_t n = pread(fd, buf, len, sector * SECTOR);

	if (n != (ssize_t)len) {
		fprintf(stderr, "mapcheck: reading %s sectors %" PRIu64 "+%"
			PRIu64 ": %s\n", name, sector, count,
			n < 0 ? strerror(errno) : "short read");
		exit(2);
	}
}

/* DEV sectors [s, s+n) against LOWER sectors [l, l+n), in 1 MiB steps. */
static int compare(int dev, const char *dname, uint64_t s, int lower,
		   const char *lname, uint64_t l, uint64_t n, unsigned int line)
{
	while (n) {
		uint64_t step = n < BUF_SECTORS ? n : BUF_SECTORS;

		read_at(dev, dname, buf_a, s, step);
		read_at(lower, lname, buf_b, l, step);
		if (memcmp(buf_a, buf_b, step * SECTOR)) {
			uint64_t i = 0;

			while (!memcmp((char *)buf_a + i * SECTOR,
				       (char *)buf_b + i * SECTOR, SECTOR))
				i++;
			fprintf(stderr, "line %u: %s sector %" PRIu64
				" differs from %s sector %" PRIu64 "\n",
				line, dname, s + i, lname, l + i);
			return 1;
		}
		s += step;
		l += step;
		n -= step;
	}
	return 0;
}

static int check_zero(int dev, const char *dname, uint64_t s, uint64_t n,
		      unsigned int line)
{
	memset(buf_b, 0, BUF_SECTORS * SECTOR);
	while (n) {
		uint64_t step = n < BUF_SECTORS ? n : BUF_SECTORS;

		read_at(dev, dname, buf_a, s, step);
		if (memcmp(buf_a, buf_b, step * SECTOR)) {
			fprintf(stderr, "line %u: %s sectors %" PRIu64 "+%"
				PRIu64 " are not all zero\n", line, dname, s,
				step);
			return 1;
		}
		s += step;
		n -= step;
	}
	return 0;
}

static uint64_t num(const char *s, unsigned int line)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "mapcheck: line %u: '%s' is not a number\n",
			line, s);
		exit(2);
	}
	return v;
}

static int check_striped(int dev, const char *dname, uint64_t start,
			 uint64_t len, char **argv, int argc,
			 unsigned int line)
{
	uint64_t stripes = num(argv[0], line), chunk = num(argv[1], line);
	int fds[MAX_ARGS / 2];
	uint64_t c, i;
	int bad = 0;

	if (!stripes || !chunk || argc != 2 + 2 * (int)stripes ||
	    len % (stripes * chunk)) {
		fprintf(stderr, "mapcheck: line %u: a striped line this checker cannot read\n",
			line);
		exit(2);
	}
	for (i = 0; i < stripes; i++)
		fds[i] = open_direct(argv[2 + 2 * i]);
	/* Chunk c of the target: stripe c % stripes, its chunk c / stripes. */
	for (c = 0; c < len / chunk && !bad; c++) {
		uint64_t s = c % stripes;
		uint64_t off = num(argv[3 + 2 * s], line) + c / stripes * chunk;

		bad = compare(dev, dname, start + c * chunk, fds[s],
			      argv[2 + 2 * s], off, chunk, line);
	}
	for (i = 0; i < stripes; i++)
		close(fds[i]);
	return bad;
}

static int check_line(int dev, const char *dname, char *text,
		      unsigned int line)
{
	char *argv[MAX_ARGS], *save = NULL, *tok;
	uint64_t start, len;
	int argc = 0, fd, bad;

	for (tok = strtok_r(text, " \t\n", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = tok;
	if (!argc || argv[0][0] == '#')
		return 0;
	if (argc < 3) {
		fprintf(stderr, "mapcheck: line %u: too few fields\n", line);
		exit(2);
	}
	start = num(argv[0], line);
	len = num(argv[1], line);
	if (!strcmp(argv[2], "linear") && argc == 5) {
		fd = open_direct(argv[3]);
		bad = compare(dev, dname, start, fd, argv[3],
			      num(argv[4], line), len, line);
		close(fd);
	} else if (!strcmp(argv[2], "striped") && argc >= 5) {
		bad = check_striped(dev, dname, start, len, argv + 3, argc - 3,
				    line);
	} else if (!strcmp(argv[2], "zero")) {
		bad = check_zero(dev, dname, start, len, line);
	} else if (!strcmp(argv[2], "error")) {
		printf("line %u: error %" PRIu64 "+%" PRIu64 ": skipped\n",
		       line, start, len);
		return 0;
	} else {
		fprintf(stderr, "mapcheck: line %u: cannot check target '%s'\n",
			line, argv[2]);
		exit(2);
	}
	if (!bad)
		printf("line %u: %s %" PRIu64 "+%" PRIu64 ": ok\n", line,
		       argv[2], start, len);
	return bad;
}

int main(int argc, char **argv)
{
	char text[4096];
	unsigned int line = 0;
	FILE *table;
	int dev;

	if (argc != 3) {
		fprintf(stderr, "usage: bstack-mapcheck DEV TABLE\n");
		return 2;
	}
	if (posix_memalign(&buf_a, 4096, BUF_SECTORS * SECTOR) ||
	    posix_memalign(&buf_b, 4096, BUF_SECTORS * SECTOR)) {
		fprintf(stderr, "mapcheck: out of memory\n");
		return 2;
	}
	table = fopen(argv[2], "r");
	if (!table) {
		fprintf(stderr, "mapcheck: cannot open %s: %s\n", argv[2],
			strerror(errno));
		return 2;
	}
	dev = open_direct(argv[1]);
	while (fgets(text, sizeof(text), table))
		if (check_line(dev, argv[1], text, ++line))
			return 1;
	return 0;
}
