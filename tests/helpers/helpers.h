/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest helpers share: reading a number from the command line,
 * and the pattern bstack-pattern and bstack-atomic write, so that one
 * checks what the other wrote.
 */
#ifndef BSTACK_HELPERS_H
#define BSTACK_HELPERS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PATTERN_SECTOR	512

/* @s as a number (decimal, 0x hex or 0 octal), or exit 2 naming @what. */
static inline uint64_t helper_number(const char *prog, const char *s,
				     const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "%s: %s '%s' is not a number\n", prog, what, s);
		exit(2);
	}
	return v;
}

/* Word @i of @sector in the pattern of @seed. */
static inline uint64_t pattern_word(uint64_t seed, uint64_t sector,
				    unsigned int i)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ (sector << 8 | i);
}

/* Fill @buf with the pattern of @seed for @sectors sectors from @sector. */
static inline void pattern_fill(uint64_t *buf, uint64_t seed, uint64_t sector,
				uint64_t sectors)
{
	uint64_t s;
	unsigned int i;

	for (s = 0; s < sectors; s++)
		for (i = 0; i < PATTERN_SECTOR / 8; i++)
			buf[s * PATTERN_SECTOR / 8 + i] =
				pattern_word(seed, sector + s, i);
}

#endif
