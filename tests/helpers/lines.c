// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-lines DEV SECTORS N [reverse]: print a table of N linear lines
 * over the first SECTORS sectors of DEV, each of the same length, a
 * multiple of 8 sectors (so that no aligned 4k I/O crosses two), each
 * mapping the device at its own offset, or with "reverse" the last line's
 * part of the device first (so that a line found wrongly maps the wrong
 * sectors). For make bench's table-size axis and case 038: busybox awk
 * takes minutes of guest time for a million lines.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

int main(int argc, char **argv)
{
	const char *prog = "bstack-lines";
	unsigned long long sectors, n, len, i;
	int reverse = argc == 5 && !strcmp(argv[4], "reverse");

	if (argc != 4 && !reverse) {
		fprintf(stderr, "usage: %s DEV SECTORS N [reverse]\n", prog);
		return 2;
	}
	sectors = helper_number(prog, argv[2], "SECTORS");
	n = helper_number(prog, argv[3], "N");
	len = n ? sectors / n / 8 * 8 : 0;
	if (!len) {
		fprintf(stderr, "%s: %llu sectors cannot make %llu lines of 8 sectors or more\n",
			prog, sectors, n);
		return 2;
	}
	for (i = 0; i < n; i++)
		if (printf("%llu %llu linear %s %llu\n", i * len, len, argv[1],
			   (reverse ? n - 1 - i : i) * len) < 0)
			return 1;
	return fflush(stdout) ? 1 : 0;
}
