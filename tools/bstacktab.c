// SPDX-License-Identifier: GPL-2.0
/*
 * The /etc/bstacktab parser (see bstacktab.h): entries, their tables
 * checked with the table parser, and the order that brings each device up
 * after the bstack devices it maps. No system call: bstackctl apply reads
 * the files and talks to the kernel.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bstacktab.h"
#include "table.h"

#define __printf(a, b)		__attribute__((format(printf, a, b)))

__printf(2, 3)
static void entry_err(struct tab_entry *e, const char *fmt, ...)
{
	va_list ap;

	if (e->error[0])
		return;		/* the first error is the one to fix */
	va_start(ap, fmt);
	vsnprintf(e->error, sizeof(e->error), fmt, ap);
	va_end(ap);
}

const char *name_unsafe_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80 ||
		    !(isalnum((unsigned char)*s) || strchr("#+-.:=@_", *s)))
			return s;
	return NULL;
}

/* Append @len bytes of @s and a newline to @e's table text. */
static int append_line(struct tab_entry *e, const char *s, size_t len)
{
	char *t = realloc(e->table, e->table_len + len + 2);

	if (!t)
		return -1;
	memcpy(t + e->table_len, s, len);
	e->table_len += len;
	t[e->table_len++] = '\n';
	t[e->table_len] = '\0';
	e->table = t;
	return 0;
}

/* The next blank-separated word of [*p, end), or NULL; *len its length. */
static const char *next_word(const char **p, const char *end, size_t *len)
{
	const char *w;

	while (*p < end && isblank((unsigned char)**p))
		(*p)++;
	if (*p == end)
		return NULL;
	w = *p;
	while (*p < end && !isblank((unsigned char)**p))
		(*p)++;
	*len = (size_t)(*p - w);
	return w;
}

/* "device NAME [uuid=U] [readonly] [table=FILE]" at @line. */
static void parse_device(struct tab_entry *e, const char *p, const char *end,
			 unsigned int line)
{
	const char *w, *bad;
	size_t len;

	e->line = line;
	next_word(&p, end, &len);	/* "device" */
	w = next_word(&p, end, &len);
	if (!w) {
		entry_err(e, "line %u: 'device' without a name", line);
		return;
	}
	if (len >= sizeof(e->name)) {
		entry_err(e, "line %u: the name is longer than %zu bytes", line,
			  sizeof(e->name) - 1);
		return;
	}
	memcpy(e->name, w, len);
	bad = name_unsafe_char(e->name);
	if (bad) {
		entry_err(e, "line %u: the name '%s' is not allowed: '%c' is not one of "
			  NAME_CHARS, line, e->name, *bad);
		return;
	}
	if (!strcmp(e->name, ".") || !strcmp(e->name, "..")) {
		entry_err(e, "line %u: the names '.' and '..' are reserved", line);
		return;
	}
	while ((w = next_word(&p, end, &len))) {
		if (len > 5 && !strncmp(w, "uuid=", 5)) {
			if (len - 5 >= sizeof(e->uuid)) {
				entry_err(e, "line %u: the uuid is longer than %zu bytes",
					  line, sizeof(e->uuid) - 1);
				return;
			}
			memcpy(e->uuid, w + 5, len - 5);
			bad = name_unsafe_char(e->uuid);
			if (bad) {
				entry_err(e, "line %u: the uuid has '%c': a uuid may use " NAME_CHARS,
					  line, *bad);
				return;
			}
		} else if (len == 8 && !strncmp(w, "readonly", 8)) {
			e->readonly = true;
		} else if (len > 6 && !strncmp(w, "table=", 6)) {
			free(e->table_file);
			e->table_file = strndup(w + 6, len - 6);
			if (!e->table_file)
				entry_err(e, "line %u: out of memory", line);
		} else {
			entry_err(e, "line %u: unknown option '%.*s' (the options are uuid=UUID, readonly and table=FILE)",
				  line, (int)len, w);
			return;
		}
	}
}

int bstacktab_parse(const char *text, size_t len, struct bstacktab *tab,
		    char err[TAB_ERR_LEN])
{
	const char *p = text, *end = text + len;
	struct tab_entry *e = NULL;
	unsigned int line = 0;
	size_t cap = 0, i;

	memset(tab, 0, sizeof(*tab));
	err[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		const char *q = p;
		size_t n;

		line++;
		if (!eol)
			eol = end;
		if (eol > p && eol[-1] == '\r')
			eol--;
		while (q < eol && isblank((unsigned char)*q))
			q++;
		n = (size_t)(eol - q);
		if (q == eol || *q == '#') {
			/* Kept as a blank line: table lines keep their numbers. */
			if (e && e->table && append_line(e, "", 0))
				return -1;
		} else if (q == p) {
			/* Not indented: a "device" line. */
			if (n < 6 || strncmp(q, "device", 6) ||
			    (n > 6 && !isblank((unsigned char)q[6]))) {
				if (!err[0])
					snprintf(err, TAB_ERR_LEN,
						 "line %u: '%.*s' is not a 'device NAME ...' line (table lines are indented below theirs)",
						 line, (int)(n > 40 ? 40 : n), q);
				e = NULL;
			} else {
				if (tab->count == cap) {
					struct tab_entry *ne;

					cap = cap ? cap * 2 : 8;
					ne = realloc(tab->entries, cap * sizeof(*ne));
					if (!ne)
						return -1;
					tab->entries = ne;
				}
				e = &tab->entries[tab->count++];
				memset(e, 0, sizeof(*e));
				parse_device(e, q, eol, line);
			}
		} else if (!e) {
			if (!err[0])
				snprintf(err, TAB_ERR_LEN,
					 "line %u: a table line before any 'device' line",
					 line);
		} else if (e->table_file) {
			entry_err(e, "line %u: a table line, but the table of %s comes from %s",
				  line, e->name, e->table_file);
		} else {
			if (!e->table)
				e->table_line = line;
			if (append_line(e, q, n))
				return -1;
		}
		p = next;
	}
	for (i = 0; i < tab->count; i++) {
		struct tab_entry *x = &tab->entries[i];
		size_t j;

		if (!x->table && !x->table_file)
			entry_err(x, "line %u: device %s has no table", x->line,
				  x->name);
		for (j = 0; j < i && x->name[0]; j++)
			if (!strcmp(tab->entries[j].name, x->name))
				entry_err(x, "line %u: device %s is at line %u already",
					  x->line, x->name, tab->entries[j].line);
	}
	return err[0] ? 1 : 0;
}

/* The index of the entry named @name (@len bytes), or -1. */
static ssize_t find_entry(const struct bstacktab *tab, const char *name,
			  size_t len)
{
	size_t i;

	for (i = 0; i < tab->count; i++)
		if (strlen(tab->entries[i].name) == len &&
		    !strncmp(tab->entries[i].name, name, len))
			return (ssize_t)i;
	return -1;
}

/*
 * Check @e's table (inline or read from its file) with the table parser,
 * its errors at the file's own line numbers, and find what it maps.
 */
static int check_table(const struct bstacktab *tab, struct tab_entry *e)
{
	struct table t = TABLE_INIT;
	char terr[TABLE_ERR_LEN];
	size_t i;

	if (table_parse(e->table, e->table_len, &t, terr)) {
		unsigned int n;

		if (!e->table_file && sscanf(terr, "line %u:", &n) == 1)
			entry_err(e, "line %u:%s", e->table_line + n - 1,
				  strchr(terr, ':') + 1);
		else if (e->table_file)
			entry_err(e, "line %u: %s: %s", e->line, e->table_file, terr);
		else
			entry_err(e, "line %u: device %s: %s", e->line, e->name, terr);
		return 0;
	}
	for (i = 0; i < t.count; i++) {
		const char *p = t.targets[i].params;
		const char *end = p + strlen(p), *w;
		size_t len;

		while ((w = next_word(&p, end, &len))) {
			ssize_t j;
			size_t *d;

			if (len <= strlen(TAB_LINK_DIR) ||
			    strncmp(w, TAB_LINK_DIR, strlen(TAB_LINK_DIR)))
				continue;
			j = find_entry(tab, w + strlen(TAB_LINK_DIR),
				       len - strlen(TAB_LINK_DIR));
			if (j < 0)
				continue;
			d = realloc(e->deps, (e->ndeps + 1) * sizeof(*d));
			if (!d) {
				table_free(&t);
				return -1;
			}
			e->deps = d;
			e->deps[e->ndeps++] = (size_t)j;
		}
	}
	table_free(&t);
	return 0;
}

/* Depth-first: @i after what it maps. 0 unseen, 1 on the path, 2 placed. */
static void place(struct bstacktab *tab, size_t i, unsigned char *state,
		  size_t *n)
{
	struct tab_entry *e = &tab->entries[i];
	size_t d;

	state[i] = 1;
	for (d = 0; d < e->ndeps; d++) {
		size_t j = e->deps[d];

		if (state[j] == 1)
			entry_err(e, "line %u: %s and %s map each other: a cycle",
				  e->line, e->name, tab->entries[j].name);
		else if (!state[j])
			place(tab, j, state, n);
	}
	state[i] = 2;
	tab->order[(*n)++] = i;
}

int bstacktab_prepare(struct bstacktab *tab)
{
	unsigned char *state;
	size_t i, n = 0;

	for (i = 0; i < tab->count; i++) {
		struct tab_entry *e = &tab->entries[i];

		if (!e->error[0] && e->table && check_table(tab, e))
			return -1;
	}
	state = calloc(tab->count + 1, 1);
	tab->order = calloc(tab->count + 1, sizeof(*tab->order));
	if (!state || !tab->order) {
		free(state);
		return -1;
	}
	for (i = 0; i < tab->count; i++)
		if (!state[i])
			place(tab, i, state, &n);
	free(state);
	return 0;
}

void bstacktab_free(struct bstacktab *tab)
{
	size_t i;

	for (i = 0; i < tab->count; i++) {
		free(tab->entries[i].table);
		free(tab->entries[i].table_file);
		free(tab->entries[i].deps);
	}
	free(tab->entries);
	free(tab->order);
	memset(tab, 0, sizeof(*tab));
}
