/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bstack table text: parse the dmsetup-style syntax, serialize it into the
 * ioctl payload, decode a TABLE/STATUS reply and format it back as text.
 *
 * The parser checks syntax only. Gaps, overlaps and target arguments are
 * checked by the kernel, which knows the devices and reports the line
 * number that we keep on every spec.
 */
#ifndef BSTACK_TABLE_H
#define BSTACK_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/bstack.h>

#define TABLE_MAX_LINES		1000000U	/* lines of text, comments included */
#define TABLE_MAX_LINE_LEN	4096U		/* bytes, without the line terminator */
#define TABLE_MAX_TYPE_LEN	(BSTACK_TYPE_LEN - 1)
/* The payload shares the ioctl buffer with the header. */
#define TABLE_MAX_PAYLOAD	(BSTACK_MAX_DATA_SIZE - sizeof(struct bstack_ioctl))
/*
 * The most text we accept. It is above anything that can serialize into
 * TABLE_MAX_PAYLOAD, leaving room for comments and blanks, and bounds what
 * a reader of a file or of stdin has to hold in memory.
 */
#define TABLE_MAX_TEXT		(2 * BSTACK_MAX_DATA_SIZE)

/* Callers pass an error buffer of this size; messages are one line. */
#define TABLE_ERR_LEN		256

/* One target line. */
struct table_target {
	uint64_t start;			/* sectors */
	uint64_t length;		/* sectors */
	uint32_t line;			/* line in the user's text; 0 if unknown */
	char type[BSTACK_TYPE_LEN];	/* NUL-terminated */
	char *params;			/* NUL-terminated, normalized, may be "" */
};

struct table {
	struct table_target *targets;
	size_t count;
	size_t capacity;
};

#define TABLE_INIT	{ NULL, 0, 0 }

/*
 * table_parse - parse @len bytes of table text into @t.
 * @text need not be NUL-terminated: a NUL byte inside it is an error.
 * Returns 0, or -1 with a one-line message in @err, such as
 * "line 3: expected '<start> <length> <target> [args...]', got 2 fields"
 * or "the table is empty". On failure @t is left empty; table_free() on
 * it is safe either way.
 */
int table_parse(const char *text, size_t len, struct table *t,
		char err[TABLE_ERR_LEN]);

/* table_free - release what table_parse() or table_decode() allocated. */
void table_free(struct table *t);

/*
 * table_serialize - build the LOAD/CREATE payload for @t: one struct
 * bstack_target_spec per target, its parameter string behind it, padded
 * with zeros to a multiple of 8 bytes.
 * On success, *@payload is allocated (free() it), *@size is its length and
 * *@count the number of specs. Returns 0, or -1 with a message in @err when
 * the payload would exceed TABLE_MAX_PAYLOAD or memory runs out.
 */
int table_serialize(const struct table *t, void **payload, size_t *size,
		    uint32_t *count, char err[TABLE_ERR_LEN]);

/*
 * table_decode - read @count specs from a TABLE or STATUS reply of @len
 * bytes into @t (the string of each spec goes to ->params). The reply comes
 * from the kernel but is checked as untrusted input: sizes, alignment and
 * NUL terminators. Returns 0, or -1 with @t empty and a message in @err.
 */
int table_decode(const void *payload, size_t len, uint32_t count,
		 struct table *t, char err[TABLE_ERR_LEN]);

/*
 * table_format - write @t to @out, one "<start> <length> <type> <params>"
 * line per target, each preceded by @prefix when it is not NULL (the way
 * dmsetup prefixes "NAME: " when it shows every device). Returns 0, or -1
 * when writing fails (errno is set by stdio).
 */
int table_format(const struct table *t, const char *prefix, FILE *out);

/*
 * Keep only the targets of @type (--target), in order; returns how many.
 * The others' memory is freed.
 */
size_t table_keep_type(struct table *t, const char *type);

#endif /* BSTACK_TABLE_H */
