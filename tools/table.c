// SPDX-License-Identifier: GPL-2.0
/*
 * bstack table text: parser, payload serializer, reply decoder, formatter.
 *
 * The syntax is dmsetup's: one target per line, "<start> <length> <target>
 * [args...]", fields separated by spaces or tabs, units of 512-byte sectors.
 * Blank lines and lines whose first non-blank character is '#' are ignored.
 * Only syntax is checked here; the kernel checks the rest.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define SPEC_SIZE	sizeof(struct bstack_target_spec)
#define __printf(a, b)	__attribute__((format(printf, a, b)))

_Static_assert(sizeof(struct bstack_target_spec) % 8 == 0,
	       "a spec must keep the strings behind it 8-byte aligned");

/* Longer tokens are cut in messages, so that an error stays readable. */
#define QUOTE_MAX	40

/* A field of a line: not NUL-terminated, it points into the user's text. */
struct token {
	const char *s;
	size_t len;
};

enum num_result {
	NUM_OK,
	NUM_INVALID,
	NUM_OVERFLOW,
};

__printf(2, 3)
static void set_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TABLE_ERR_LEN, fmt, ap);
	va_end(ap);
}

/* How much of @tok a message shows, and the ellipsis that says it was cut. */
static int quote_len(struct token tok)
{
	return tok.len > QUOTE_MAX ? QUOTE_MAX : (int)tok.len;
}

static const char *quote_tail(struct token tok)
{
	return tok.len > QUOTE_MAX ? "..." : "";
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

/* Return the field that starts at *@i (not a blank) and move *@i past it. */
static struct token next_token(const char *s, size_t n, size_t *i)
{
	struct token tok = { s + *i, 0 };

	while (*i < n && !is_blank(s[*i]))
		(*i)++;
	tok.len = (size_t)(s + *i - tok.s);
	return tok;
}

/*
 * Decimal digits only: strtoull() would accept blanks, a sign (and negate
 * it) and a 0x prefix with base 0, none of which is a sector number.
 */
static enum num_result parse_u64(struct token tok, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < tok.len; i++)
		if (tok.s[i] < '0' || tok.s[i] > '9')
			return NUM_INVALID;
	for (i = 0; i < tok.len; i++) {
		unsigned int d = (unsigned int)(tok.s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return NUM_OVERFLOW;
		v = v * 10 + d;
	}
	*out = v;
	return NUM_OK;
}

static int parse_sectors(struct token tok, const char *what, uint32_t line,
			 uint64_t *out, char *err)
{
	switch (parse_u64(tok, out)) {
	case NUM_OK:
		return 0;
	case NUM_INVALID:
		set_err(err, "line %u: %s '%.*s%s' is not a number of sectors",
			line, what, quote_len(tok), tok.s, quote_tail(tok));
		return -1;
	case NUM_OVERFLOW:
	default:
		set_err(err, "line %u: %s %.*s%s overflows 64 bits",
			line, what, quote_len(tok), tok.s, quote_tail(tok));
		return -1;
	}
}

/*
 * The parameter string as the kernel wants it: no leading or trailing
 * blanks, and every inner run of blanks turned into one space, so that a
 * target splits it on ' ' alone and TABLE gives back a canonical line.
 */
static char *normalize_params(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i = skip_blanks(s, n, 0), o = 0;

	if (!out)
		return NULL;
	while (i < n) {
		struct token tok = next_token(s, n, &i);

		if (o)
			out[o++] = ' ';
		memcpy(out + o, tok.s, tok.len);
		o += tok.len;
		i = skip_blanks(s, n, i);
	}
	out[o] = '\0';
	return out;
}

/* Append @tg to @t, which then owns tg->params. */
static int table_append(struct table *t, const struct table_target *tg)
{
	if (t->count == t->capacity) {
		size_t cap = t->capacity ? t->capacity * 2 : 16;
		struct table_target *tgs;

		if (cap > SIZE_MAX / sizeof(*tgs))
			return -1;
		tgs = realloc(t->targets, cap * sizeof(*tgs));
		if (!tgs)
			return -1;
		t->targets = tgs;
		t->capacity = cap;
	}
	t->targets[t->count++] = *tg;
	return 0;
}

/* Refuse what is not a line of text, before looking at fields. */
static int check_line(const char *s, size_t n, uint32_t line, char *err)
{
	size_t i;

	if (memchr(s, '\0', n)) {
		set_err(err, "line %u: contains a NUL byte", line);
		return -1;
	}
	if (n > TABLE_MAX_LINE_LEN) {
		set_err(err, "line %u: is longer than %u bytes",
			line, TABLE_MAX_LINE_LEN);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			set_err(err, "line %u: contains the control character 0x%02x at byte %zu",
				line, c, i + 1);
			return -1;
		}
	}
	return 0;
}

/* Parse one line of @n bytes, its terminator removed, into @t. */
static int parse_line(struct table *t, const char *s, size_t n, uint32_t line,
		      char *err)
{
	struct table_target tg = { .line = line };
	struct token f[3];
	unsigned int nf = 0;
	size_t i;

	/* A CRLF file is tolerated: drop the CR of the line's terminator. */
	if (n && s[n - 1] == '\r')
		n--;
	if (check_line(s, n, line, err))
		return -1;

	i = skip_blanks(s, n, 0);
	if (i == n || s[i] == '#')
		return 0;
	while (nf < 3 && i < n) {
		f[nf++] = next_token(s, n, &i);
		i = skip_blanks(s, n, i);
	}
	if (nf < 3) {
		set_err(err, "line %u: expected '<start> <length> <target> [args...]', got %u field%s",
			line, nf, nf == 1 ? "" : "s");
		return -1;
	}
	if (parse_sectors(f[0], "start", line, &tg.start, err) ||
	    parse_sectors(f[1], "length", line, &tg.length, err))
		return -1;
	if (f[2].len > TABLE_MAX_TYPE_LEN) {
		set_err(err, "line %u: target type '%.*s%s' is longer than %u characters",
			line, quote_len(f[2]), f[2].s, quote_tail(f[2]),
			TABLE_MAX_TYPE_LEN);
		return -1;
	}
	memcpy(tg.type, f[2].s, f[2].len);

	tg.params = normalize_params(s + i, n - i);
	if (!tg.params || table_append(t, &tg)) {
		free(tg.params);
		set_err(err, "line %u: out of memory", line);
		return -1;
	}
	return 0;
}

int table_parse(const char *text, size_t len, struct table *t,
		char err[TABLE_ERR_LEN])
{
	const char *pos = text, *end = text ? text + len : text;
	uint32_t line = 0;

	*t = (struct table)TABLE_INIT;
	if (len > TABLE_MAX_TEXT) {
		set_err(err, "the table text is larger than %u MiB",
			TABLE_MAX_TEXT >> 20);
		return -1;
	}
	while (pos < end) {
		const char *nl = memchr(pos, '\n', (size_t)(end - pos));
		size_t n = (size_t)((nl ? nl : end) - pos);

		if (++line > TABLE_MAX_LINES) {
			set_err(err, "the table has more than %u lines",
				TABLE_MAX_LINES);
			goto fail;
		}
		if (parse_line(t, pos, n, line, err))
			goto fail;
		pos = nl ? nl + 1 : end;
	}
	if (!t->count) {
		set_err(err, "the table is empty");
		goto fail;
	}
	return 0;
fail:
	table_free(t);
	return -1;
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		free(t->targets[i].params);
	free(t->targets);
	*t = (struct table)TABLE_INIT;
}

size_t table_keep_type(struct table *t, const char *type)
{
	size_t i, kept = 0;

	for (i = 0; i < t->count; i++) {
		if (strcmp(t->targets[i].type, type)) {
			free(t->targets[i].params);
			continue;
		}
		t->targets[kept++] = t->targets[i];
	}
	t->count = kept;
	return kept;
}

/* Size of the spec for @tg in a payload: the struct, the string, padding. */
static size_t spec_size(const struct table_target *tg)
{
	return (SPEC_SIZE + strlen(tg->params) + 1 + 7) & ~(size_t)7;
}

int table_serialize(const struct table *t, void **payload, size_t *size,
		    uint32_t *count, char err[TABLE_ERR_LEN])
{
	unsigned char *buf;
	size_t total = 0, off = 0, i;

	/* Sum first: a table over the limit must not cost its size in memory. */
	for (i = 0; i < t->count && total <= TABLE_MAX_PAYLOAD; i++)
		total += spec_size(&t->targets[i]);
	if (total > TABLE_MAX_PAYLOAD || t->count > UINT32_MAX) {
		set_err(err, "the table is too large: its payload exceeds the kernel's limit of %zu bytes",
			(size_t)TABLE_MAX_PAYLOAD);
		return -1;
	}
	/* calloc() zeroes the padding, which the kernel may check. */
	buf = calloc(1, total ? total : 1);
	if (!buf) {
		set_err(err, "out of memory for a %zu-byte table payload", total);
		return -1;
	}
	for (i = 0; i < t->count; i++) {
		const struct table_target *tg = &t->targets[i];
		struct bstack_target_spec spec;
		size_t sz = spec_size(tg);

		memset(&spec, 0, sizeof(spec));
		spec.start = tg->start;
		spec.length = tg->length;
		spec.line = tg->line;
		spec.next = (uint32_t)sz;
		memcpy(spec.type, tg->type, strnlen(tg->type, TABLE_MAX_TYPE_LEN));
		memcpy(buf + off, &spec, SPEC_SIZE);
		memcpy(buf + off + SPEC_SIZE, tg->params, strlen(tg->params));
		off += sz;
	}
	*payload = buf;
	*size = total;
	*count = (uint32_t)t->count;
	return 0;
}

int table_decode(const void *payload, size_t len, uint32_t count,
		 struct table *t, char err[TABLE_ERR_LEN])
{
	const unsigned char *p = payload;
	size_t off = 0;
	uint32_t i;

	*t = (struct table)TABLE_INIT;
	for (i = 0; i < count; i++) {
		struct bstack_target_spec spec;
		struct table_target tg;
		const char *str;

		if (len - off < SPEC_SIZE) {
			set_err(err, "malformed reply: spec %u of %u is past the end of the %zu-byte payload",
				i + 1, count, len);
			goto fail;
		}
		memcpy(&spec, p + off, SPEC_SIZE);
		if (spec.next <= SPEC_SIZE || spec.next % 8 || spec.next > len - off) {
			set_err(err, "malformed reply: spec %u has a bad size %u",
				i + 1, spec.next);
			goto fail;
		}
		str = (const char *)p + off + SPEC_SIZE;
		if (!memchr(spec.type, '\0', sizeof(spec.type)) ||
		    !memchr(str, '\0', spec.next - SPEC_SIZE)) {
			set_err(err, "malformed reply: spec %u has an unterminated string",
				i + 1);
			goto fail;
		}

		memset(&tg, 0, sizeof(tg));
		tg.start = spec.start;
		tg.length = spec.length;
		tg.line = spec.line;
		memcpy(tg.type, spec.type, sizeof(tg.type));
		tg.params = strdup(str);
		if (!tg.params || table_append(t, &tg)) {
			free(tg.params);
			set_err(err, "out of memory decoding the reply");
			goto fail;
		}
		off += spec.next;
	}
	return 0;
fail:
	table_free(t);
	return -1;
}

int table_format(const struct table *t, const char *prefix, FILE *out)
{
	size_t i;

	for (i = 0; i < t->count; i++) {
		const struct table_target *tg = &t->targets[i];

		if (fprintf(out, "%s%" PRIu64 " %" PRIu64 " %s%s%s\n",
			    prefix ? prefix : "", tg->start, tg->length, tg->type,
			    tg->params[0] ? " " : "", tg->params) < 0)
			return -1;
	}
	return 0;
}
