// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the bstackctl table parser (tools/table.c), and of
 * bstackctl's command line when its path is given as the first argument.
 *
 * One line per case, "ok - NAME" or "not ok - NAME: DETAIL", then
 * "host: N passed, M failed". Exit status 1 if any case failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bstack.h>

#include "bstacktab.h"
#include "table.h"

#define SPEC_SIZE	sizeof(struct bstack_target_spec)
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the runner --------------------------------------------------------- */

static char detail[1024];

/* Record why the current case failed; returns -1 for "return fail(...)". */
__printf(1, 2)
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return -1;
}

#define EXPECT(cond)							\
	do {								\
		if (!(cond))						\
			return fail("line %d: %s", __LINE__, #cond);	\
	} while (0)

/* Propagate the failure of a helper, whose fail() set the detail. */
#define TRY(call)							\
	do {								\
		if (call)						\
			return -1;					\
	} while (0)

/* ---- helpers ------------------------------------------------------------ */

static int parse_ok(const char *text, struct table *t)
{
	char err[TABLE_ERR_LEN];

	if (table_parse(text, strlen(text), t, err))
		return fail("parse failed: %s", err);
	return 0;
}

/* Parse @len bytes, expect a failure whose message starts with @want. */
static int parse_err_len(const char *text, size_t len, const char *want)
{
	char err[TABLE_ERR_LEN] = "";
	struct table t;

	if (!table_parse(text, len, &t, err)) {
		table_free(&t);
		return fail("parsed, expected \"%s\"", want);
	}
	if (t.count || t.targets)
		return fail("the table is not empty after an error");
	if (strncmp(err, want, strlen(want)))
		return fail("got \"%s\", expected \"%s\"", err, want);
	if (strchr(err, '\n'))
		return fail("the message is not one line: \"%s\"", err);
	return 0;
}

static int parse_err(const char *text, const char *want)
{
	return parse_err_len(text, strlen(text), want);
}

static int check_target(const struct table *t, size_t i, uint64_t start,
			uint64_t length, const char *type, const char *params,
			uint32_t line)
{
	const struct table_target *tg;

	if (i >= t->count)
		return fail("target %zu missing, the table has %zu", i, t->count);
	tg = &t->targets[i];
	if (tg->start != start || tg->length != length || tg->line != line ||
	    strcmp(tg->type, type) || strcmp(tg->params, params))
		return fail("target %zu is {%" PRIu64 ", %" PRIu64 ", '%s', '%s', line %u}, expected {%" PRIu64 ", %" PRIu64 ", '%s', '%s', line %u}",
			    i, tg->start, tg->length, tg->type, tg->params, tg->line,
			    start, length, type, params, line);
	return 0;
}

/* A buffer of @n copies of @c, NUL-terminated; NULL when out of memory. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memset(s, c, n);
		s[n] = '\0';
	}
	return s;
}

/*
 * Walk a payload the way the kernel does, independently of table_decode():
 * @count specs, each @next a multiple of 8 that stays inside the payload,
 * NUL-terminated type and string, zero padding, no trailing bytes.
 */
static int kernel_walk(const unsigned char *buf, size_t size, uint32_t count)
{
	size_t off = 0;
	uint32_t i;

	for (i = 0; i < count; i++) {
		struct bstack_target_spec spec;
		size_t slen, k;

		if (size - off < SPEC_SIZE)
			return fail("spec %u starts past the end", i);
		memcpy(&spec, buf + off, SPEC_SIZE);
		if (spec.next % 8 || spec.next <= SPEC_SIZE || spec.next > size - off)
			return fail("spec %u: bad next %u", i, spec.next);
		if (!memchr(spec.type, '\0', sizeof(spec.type)))
			return fail("spec %u: type not terminated", i);
		slen = strnlen((const char *)buf + off + SPEC_SIZE, spec.next - SPEC_SIZE);
		if (slen == spec.next - SPEC_SIZE)
			return fail("spec %u: string not terminated", i);
		for (k = SPEC_SIZE + slen; k < spec.next; k++)
			if (buf[off + k])
				return fail("spec %u: padding byte %zu is not 0", i, k);
		/* Padding is minimal: the next spec starts at the next 8 bytes. */
		if (spec.next != ((SPEC_SIZE + slen + 1 + 7) & ~(size_t)7))
			return fail("spec %u: next %u is not minimal", i, spec.next);
		off += spec.next;
	}
	if (off != size)
		return fail("%zu bytes after the last spec", size - off);
	return 0;
}

/* Serialize, walk, decode and format @text; the output must equal @want. */
static int round_trip(const char *text, const char *prefix, const char *want,
		      uint32_t want_count)
{
	struct table t, back;
	char err[TABLE_ERR_LEN];
	char *out = NULL;
	size_t size, outlen = 0;
	uint32_t count;
	void *payload;
	FILE *f;
	int ret = -1;

	TRY(parse_ok(text, &t));
	if (table_serialize(&t, &payload, &size, &count, err)) {
		table_free(&t);
		return fail("serialize: %s", err);
	}
	table_free(&t);
	if (count != want_count) {
		fail("count %u, expected %u", count, want_count);
		goto out_payload;
	}
	if (kernel_walk(payload, size, count))
		goto out_payload;
	if (table_decode(payload, size, count, &back, err)) {
		fail("decode: %s", err);
		goto out_payload;
	}
	f = open_memstream(&out, &outlen);
	if (!f) {
		fail("open_memstream failed");
		goto out_table;
	}
	if (table_format(&back, prefix, f) || fclose(f)) {
		fail("format failed");
		goto out_text;
	}
	if (strcmp(out, want))
		fail("formatted \"%s\", expected \"%s\"", out, want);
	else
		ret = 0;
out_text:
	free(out);
out_table:
	table_free(&back);
out_payload:
	free(payload);
	return ret;
}

/* Decode @len bytes of a hand-made reply; expect an error starting @want. */
static int decode_err(const void *buf, size_t len, uint32_t count, const char *want)
{
	char err[TABLE_ERR_LEN] = "";
	struct table t;

	if (!table_decode(buf, len, count, &t, err)) {
		table_free(&t);
		return fail("decoded a malformed reply");
	}
	if (t.count || t.targets)
		return fail("the table is not empty after an error");
	if (strncmp(err, want, strlen(want)))
		return fail("got \"%s\", expected \"%s\"", err, want);
	return 0;
}

/* ---- valid tables --------------------------------------------------------- */

static int test_single_line(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("0 2048 linear /dev/nullb0 0\n", &t));
	ret = t.count == 1 ? check_target(&t, 0, 0, 2048, "linear", "/dev/nullb0 0", 1) :
			     fail("count %zu", t.count);
	table_free(&t);
	return ret;
}

static int test_multi_line(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("0 100 linear 8:16 0\n"
		     "100 200 striped 2 8 /dev/a 0 /dev/b 0\n"
		     "300 50 error", &t));	/* no final newline */
	ret = t.count != 3 ? fail("count %zu", t.count) :
	      check_target(&t, 0, 0, 100, "linear", "8:16 0", 1) ||
	      check_target(&t, 1, 100, 200, "striped", "2 8 /dev/a 0 /dev/b 0", 2) ||
	      check_target(&t, 2, 300, 50, "error", "", 3);
	table_free(&t);
	return ret;
}

static int test_comments_and_blank_lines(void)
{
	struct table t;
	int ret;

	/* Line numbers count every line, so the kernel's messages point right. */
	TRY(parse_ok("# a comment\n"
		     "\n"
		     "   \t \n"
		     "  # an indented comment 0 1 zero\n"
		     "0 8 zero\n"
		     "#\n"
		     "\n"
		     "8 8 error\n"
		     "\n", &t));
	ret = t.count != 2 ? fail("count %zu", t.count) :
	      check_target(&t, 0, 0, 8, "zero", "", 5) ||
	      check_target(&t, 1, 8, 8, "error", "", 8);
	table_free(&t);
	return ret;
}

static int test_tabs(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("\t0\t16\tlinear\t/dev/x\t0\t\n", &t));
	ret = check_target(&t, 0, 0, 16, "linear", "/dev/x 0", 1);
	table_free(&t);
	return ret;
}

static int test_crlf(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("0 8 zero\r\n8 8 linear /dev/x 0\r\n\r\n# c\r\n", &t));
	ret = t.count != 2 ? fail("count %zu", t.count) :
	      check_target(&t, 0, 0, 8, "zero", "", 1) ||
	      check_target(&t, 1, 8, 8, "linear", "/dev/x 0", 2);
	table_free(&t);
	return ret;
}

static int test_params_normalized(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("  0   10 \t faulty  \t /dev/x   0  \t error_reads=1   \t ", &t));
	ret = check_target(&t, 0, 0, 10, "faulty", "/dev/x 0 error_reads=1", 1);
	table_free(&t);
	return ret;
}

static int test_max_u64(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("18446744073709551615 18446744073709551615 zero\n"
		     "0000000000000000000000042 007 error\n", &t));
	ret = check_target(&t, 0, UINT64_MAX, UINT64_MAX, "zero", "", 1) ||
	      check_target(&t, 1, 42, 7, "error", "", 2);
	table_free(&t);
	return ret;
}

static int test_type_15_chars(void)
{
	struct table t;
	int ret;

	TRY(parse_ok("0 1 abcdefghijklmno\n", &t));
	ret = check_target(&t, 0, 0, 1, "abcdefghijklmno", "", 1);
	table_free(&t);
	return ret;
}

static int test_line_4096_bytes(void)
{
	char *line = repeat('p', 4096);
	struct table t;
	int ret;

	if (!line)
		return fail("out of memory");
	memcpy(line, "0 1 zero ", 9);
	ret = parse_ok(line, &t);
	if (!ret)
		ret = strlen(t.targets[0].params) == 4096 - 9 ? 0 : fail("params cut");
	table_free(&t);
	free(line);
	return ret;
}

/* ---- syntax errors ---------------------------------------------------------- */

static int test_err_fields(void)
{
	TRY(parse_err("0 8 zero\n# c\n8 16\n",
		      "line 3: expected '<start> <length> <target> [args...]', got 2 fields"));
	return parse_err("\n  42  \n",
			 "line 2: expected '<start> <length> <target> [args...]', got 1 field");
}

static int test_err_not_a_number(void)
{
	TRY(parse_err("0 8 zero\nabc 8 zero\n",
		      "line 2: start 'abc' is not a number of sectors"));
	TRY(parse_err("0 abc linear /dev/x 0",
		      "line 1: length 'abc' is not a number of sectors"));
	/* strtoull() would take all of these. */
	TRY(parse_err("-5 8 zero", "line 1: start '-5' is not a number of sectors"));
	TRY(parse_err("+5 8 zero", "line 1: start '+5' is not a number of sectors"));
	TRY(parse_err("0x10 8 zero", "line 1: start '0x10' is not a number of sectors"));
	return parse_err("0 1e3 zero", "line 1: length '1e3' is not a number of sectors");
}

static int test_err_overflow(void)
{
	TRY(parse_err("0 8 zero\n8 99999999999999999999 zero\n",
		      "line 2: length 99999999999999999999 overflows 64 bits"));
	return parse_err("18446744073709551616 1 zero",
			 "line 1: start 18446744073709551616 overflows 64 bits");
}

static int test_err_long_type(void)
{
	return parse_err("0 1 zero\n1 1 zero\n# c\n2 1 averyveryverylongname 1 2\n",
			 "line 4: target type 'averyveryverylongname' is longer than 15 characters");
}

static int test_err_long_token_cut(void)
{
	char *text = repeat('7', 300);
	char want[128];
	int ret;

	if (!text)
		return fail("out of memory");
	memcpy(text + 290, " 1 zero\n", 9);
	text[0] = 'x';
	/* A 290-byte token is shown by its first 40 bytes and an ellipsis. */
	snprintf(want, sizeof(want), "line 1: start '%.40s...' is not a number of sectors",
		 text);
	ret = parse_err(text, want);
	free(text);
	return ret;
}

static int test_err_nul_byte(void)
{
	static const char text[] = "0 8 zero\n8 8 li\0near\n";

	TRY(parse_err_len(text, sizeof(text) - 1, "line 2: contains a NUL byte"));
	return parse_err_len("\0", 1, "line 1: contains a NUL byte");
}

static int test_err_long_line(void)
{
	char *text = repeat('a', 4 * 9 + 5000);
	int ret;

	if (!text)
		return fail("out of memory");
	/* Four good lines, then 5000 bytes on line 5. */
	memcpy(text, "0 1 zero\n1 1 zero\n2 1 zero\n3 1 zero\n4 1 zero ", 45);
	ret = parse_err(text, "line 5: is longer than 4096 bytes");
	free(text);
	return ret;
}

static int test_err_control_char(void)
{
	TRY(parse_err("0 8 zero\n8 8 linear /dev/\x1b[1mx 0\n",
		      "line 2: contains the control character 0x1b at byte 17"));
	/* Only the CR of a CRLF terminator is tolerated, not one inside. */
	TRY(parse_err("0 8 zero\r 1\n", "line 1: contains the control character 0x0d at byte 9"));
	return parse_err("# \x7f\n", "line 1: contains the control character 0x7f at byte 3");
}

static int test_err_empty(void)
{
	TRY(parse_err_len(NULL, 0, "the table is empty"));
	TRY(parse_err("", "the table is empty"));
	TRY(parse_err("\n\n", "the table is empty"));
	return parse_err("# only\n  # comments\n\t\n", "the table is empty");
}

static int test_err_after_targets_frees(void)
{
	/* Targets parsed before the bad line are released (valgrind checks). */
	return parse_err("0 8 linear /dev/a 0\n8 8 linear /dev/b 0\n16 8 x\"y\n16 z",
			 "line 4: expected '<start> <length> <target> [args...]', got 2 fields");
}

static int test_too_many_lines(void)
{
	/* "0 1 zero" and one newline per line: a target, then blank lines. */
	size_t len = 8 + TABLE_MAX_LINES;
	char *text = repeat('\n', len + 1);
	char err[TABLE_ERR_LEN];
	struct table t;
	int ret;

	if (!text)
		return fail("out of memory");
	memcpy(text, "0 1 zero", 8);
	if (table_parse(text, len, &t, err))
		ret = fail("1000000 lines refused: %s", err);
	else
		ret = check_target(&t, 0, 0, 1, "zero", "", 1);
	table_free(&t);
	if (!ret)
		ret = parse_err_len(text, len + 1, "the table has more than 1000000 lines");
	free(text);
	return ret;
}

static int test_payload_too_large(void)
{
	/* Lines of 4000 bytes, a few more of them than fill the payload. */
	const size_t width = 4000, lines = BSTACK_MAX_DATA_SIZE / width + 100;
	char *text = malloc(lines * (width + 1) + 1);
	char err[TABLE_ERR_LEN];
	size_t i, size;
	uint32_t count;
	void *payload = NULL;
	struct table t;
	int ret = 0;

	if (!text)
		return fail("out of memory");
	for (i = 0; i < lines; i++) {
		char *l = text + i * (width + 1);
		int n = snprintf(l, width, "%zu 1 linear ", i);

		memset(l + n, 'd', width - (size_t)n);
		l[width] = '\n';
	}
	text[lines * (width + 1)] = '\0';
	if (parse_ok(text, &t))
		ret = -1;
	else if (!table_serialize(&t, &payload, &size, &count, err))
		ret = fail("serialized %zu bytes", size);
	else if (strncmp(err, "the table is too large", 22))
		ret = fail("got \"%s\"", err);
	table_free(&t);
	free(payload);
	free(text);
	return ret;
}

/* ---- payload ------------------------------------------------------------ */

static int test_round_trip(void)
{
	return round_trip("# demo\n"
			  "0 1000 linear   /dev/nullb0\t0\r\n"
			  "\n"
			  "1000 2000 striped 2 128 /dev/nullb1 0 /dev/nullb2 0\n"
			  "3000 8 error\n"
			  "3008 18446744073709547607 zero   \n",
			  NULL,
			  "0 1000 linear /dev/nullb0 0\n"
			  "1000 2000 striped 2 128 /dev/nullb1 0 /dev/nullb2 0\n"
			  "3000 8 error\n"
			  "3008 18446744073709547607 zero\n", 4);
}

static int test_round_trip_prefix(void)
{
	return round_trip("0 8 zero\n8 8 linear 8:0 0", "vol0: ",
			  "vol0: 0 8 zero\nvol0: 8 8 linear 8:0 0\n", 2);
}

static int test_payload_layout(void)
{
	/* Parameter lengths 0 to 9 cross every padding size. */
	static const char * const params[] = { "", "a", "ab", "abc", "abcd", "abcde", "abcdef",
				 "abcdefg", "abcdefgh", "abcdefghi" };
	char text[256], err[TABLE_ERR_LEN];
	size_t i, off = 0, size;
	uint32_t count;
	void *payload;
	struct table t;
	int ret = 0;

	for (i = 0; i < 10; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%zu 1 t%zu %s\n",
					i, i, params[i]);
	TRY(parse_ok(text, &t));
	if (table_serialize(&t, &payload, &size, &count, err)) {
		table_free(&t);
		return fail("serialize: %s", err);
	}
	table_free(&t);
	ret = kernel_walk(payload, size, count);
	/* Check the fields of the spec with 9 bytes of params, the last one. */
	for (i = 0, off = 0; !ret && i < 9; i++) {
		struct bstack_target_spec s;

		memcpy(&s, (char *)payload + off, SPEC_SIZE);
		off += s.next;
	}
	if (!ret) {
		struct bstack_target_spec s;

		memcpy(&s, (char *)payload + off, SPEC_SIZE);
		if (s.start != 9 || s.length != 1 || s.line != 10 || strcmp(s.type, "t9") ||
		    s.next != SPEC_SIZE + 16 ||
		    strcmp((char *)payload + off + SPEC_SIZE, "abcdefghi"))
			ret = fail("last spec is wrong");
	}
	free(payload);
	return ret;
}

static int test_decode_malformed(void)
{
	unsigned char buf[128];
	struct bstack_target_spec s;

	memset(buf, 0, sizeof(buf));
	memset(&s, 0, sizeof(s));
	s.length = 8;
	memcpy(s.type, "zero", 5);

	s.next = SPEC_SIZE + 4;		/* not a multiple of 8 */
	memcpy(buf, &s, SPEC_SIZE);
	TRY(decode_err(buf, sizeof(buf), 1, "malformed reply: spec 1 has a bad size"));

	s.next = SPEC_SIZE;		/* no room for the string */
	memcpy(buf, &s, SPEC_SIZE);
	TRY(decode_err(buf, sizeof(buf), 1, "malformed reply: spec 1 has a bad size"));

	s.next = 256;			/* past the end */
	memcpy(buf, &s, SPEC_SIZE);
	TRY(decode_err(buf, sizeof(buf), 1, "malformed reply: spec 1 has a bad size"));

	s.next = SPEC_SIZE + 8;		/* string without its NUL */
	memcpy(buf, &s, SPEC_SIZE);
	memset(buf + SPEC_SIZE, 'x', 8);
	TRY(decode_err(buf, SPEC_SIZE + 8, 1, "malformed reply: spec 1 has an unterminated string"));

	memset(buf + SPEC_SIZE, 0, 8);	/* good spec, but count says 2 */
	return decode_err(buf, SPEC_SIZE + 8, 2, "malformed reply: spec 2 of 2 is past the end");
}

/* ---- bstackctl's command line, without the kernel ----------------------- */

static const char *bstackctl;

struct run {
	int status;		/* exit status, or -1 */
	char out[16384];
	char err[4096];
};

/* Read what a child wrote to @f, which is rewound, into @buf. */
static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
}

/*
 * Run bstackctl with @argv (NULL-terminated, argv[0] included) with @input on
 * stdin and BSTACK_CONTROL set to @control, capturing stdout and stderr.
 */
static int run_ctl(struct run *r, const char *control, const char *input,
		   char *const argv[])
{
	FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
	int status, ret = -1;
	pid_t pid;

	if (!in || !out || !err) {
		fail("tmpfile failed");
		goto close;
	}
	if (input && fputs(input, in) == EOF) {
		fail("cannot write stdin");
		goto close;
	}
	fflush(in);
	rewind(in);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fail("fork failed");
		goto close;
	}
	if (!pid) {
		if (dup2(fileno(in), 0) < 0 || dup2(fileno(out), 1) < 0 ||
		    dup2(fileno(err), 2) < 0 || setenv("BSTACK_CONTROL", control, 1))
			_exit(127);
		execv(bstackctl, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid) {
		fail("waitpid failed");
		goto close;
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	ret = 0;
close:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	return ret;
}

/* Expect exit @status and exactly the one line @err on stderr. */
static int expect_ctl(const char *control, const char *input, int status,
		      const char *err, char *const argv[])
{
	struct run r;

	TRY(run_ctl(&r, control, input, argv));
	if (r.status != status)
		return fail("exit %d, expected %d; stderr \"%s\"", r.status, status, r.err);
	if (strcmp(r.err, err))
		return fail("stderr \"%s\", expected \"%s\"", r.err, err);
	return 0;
}

#define ARGV(...)	((char *const[]){ "bstackctl", __VA_ARGS__, NULL })

static int test_cli_no_control(void)
{
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: cannot open /nonexistent: No such file or directory (set by BSTACK_CONTROL)\n",
		       ARGV("ls")));
	return expect_ctl("/dev/null", NULL, 1,
			  "bstackctl: status: /dev/null does not understand bstack ioctls (Inappropriate ioctl for device)\n",
			  ARGV("status"));
}

static int test_cli_table_checked_first(void)
{
	/* The parser's error, not the missing control device's. */
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: create x: line 1: length 'abc' is not a number of sectors\n",
		       ARGV("create", "x", "--table", "0 abc linear /dev/x 0")));
	TRY(expect_ctl("/nonexistent", "0 8 zero\n\n8 8\n", 1,
		       "bstackctl: load vol0: line 3: expected '<start> <length> <target> [args...]', got 2 fields\n",
		       ARGV("load", "vol0")));
	return expect_ctl("/nonexistent", "# nothing\n", 1,
			  "bstackctl: create x: the table is empty\n", ARGV("--readonly", "create", "x"));
}

static int test_cli_usage_errors(void)
{
	TRY(expect_ctl("/nonexistent", NULL, 2,
		       "bstackctl: unknown verb 'frob' (see 'bstackctl --help')\n", ARGV("frob")));
	TRY(expect_ctl("/nonexistent", NULL, 2,
		       "bstackctl: option '--frob' is unknown (see 'bstackctl --help')\n",
		       ARGV("ls", "--frob")));
	TRY(expect_ctl("/nonexistent", NULL, 2,
		       "bstackctl: option '--table' needs an argument (see 'bstackctl --help')\n",
		       ARGV("load", "x", "--table")));
	TRY(expect_ctl("/nonexistent", NULL, 2,
		       "bstackctl: remove: missing NAME (usage: bstackctl remove NAME... [--force] [--deferred] [--retry])\n",
		       ARGV("remove")));
	TRY(expect_ctl("/nonexistent", NULL, 2,
		       "bstackctl: ls: option --inactive does not apply (usage: bstackctl ls [--json] [--target TYPE] [--tree])\n",
		       ARGV("--inactive", "ls")));
	return expect_ctl("/nonexistent", NULL, 2,
			  "bstackctl: create: --notable excludes --table and FILE\n",
			  ARGV("create", "x", "--notable", "--table", "0 1 zero"));
}

static int test_cli_bad_names(void)
{
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: remove: invalid device name 'a/b': '/' at byte 1; a name may use 0-9 A-Z a-z and # + - . : = @ _\n",
		       ARGV("remove", "a/b")));
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: create: invalid device name 'x y': a space at byte 1; a name may use 0-9 A-Z a-z and # + - . : = @ _\n",
		       ARGV("create", "x y", "--notable")));
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: rename: invalid device name 'b\xc3\xa9': byte 0xc3 at byte 1; a name may use 0-9 A-Z a-z and # + - . : = @ _\n",
		       ARGV("rename", "a", "b\xc3\xa9")));
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: create d: invalid uuid 'u$': '$' at byte 1; a uuid may use 0-9 A-Z a-z and # + - . : = @ _\n",
		       ARGV("create", "d", "--uuid", "u$", "--notable")));
	TRY(expect_ctl("/nonexistent", NULL, 1,
		       "bstackctl: table: invalid device name '..': '.' and '..' are reserved\n",
		       ARGV("table", "..")));
	return expect_ctl("/nonexistent", NULL, 1,
			  "bstackctl: create: invalid device name '': it is empty\n",
			  ARGV("create", "", "--notable"));
}

static int test_cli_help_and_version(void)
{
	char want[64];
	struct run r;

	TRY(run_ctl(&r, "/nonexistent", NULL, ARGV("status", "--help")));
	if (r.status || r.err[0] || strncmp(r.out, "Usage: bstackctl ", 17))
		return fail("--help: exit %d, stdout \"%.40s\"", r.status, r.out);
	TRY(run_ctl(&r, "/nonexistent", NULL, ARGV("version")));
	snprintf(want, sizeof(want), "bstackctl version: %u.%u.%u\n",
		 BSTACK_VERSION_MAJOR, BSTACK_VERSION_MINOR,
		 BSTACK_VERSION_PATCH);
	if (r.status != 1 || strcmp(r.out, want))
		return fail("version: exit %d, stdout \"%s\"", r.status, r.out);
	return 0;
}

/*
 * Every verb that --help lists is in the man page, on a macro line:
 * Documentation/bstackctl.8, found from the path of bstackctl.
 */
static int test_cli_man_page(void)
{
	char path[4096], *man, *line, *end;
	const char *slash;
	struct run r;
	size_t n = 0, verbs = 0;
	FILE *f;

	slash = strrchr(bstackctl, '/');
	snprintf(path, sizeof(path), "%.*s/../Documentation/bstackctl.8",
		 slash ? (int)(slash - bstackctl) : 1, slash ? bstackctl : ".");
	f = fopen(path, "r");
	if (!f)
		return fail("cannot open %s", path);
	man = calloc(1, 1 << 16);
	if (!man) {
		fclose(f);
		return fail("out of memory");
	}
	n = fread(man, 1, (1 << 16) - 1, f);
	fclose(f);
	man[n] = '\0';
	TRY(run_ctl(&r, "/nonexistent", NULL, ARGV("--help")));
	/* Verb lines are indented by two spaces; their help by six. */
	for (line = r.out; line && *line; line = end ? end + 1 : NULL) {
		char verb[32], *p, *q;
		bool found = false;

		end = strchr(line, '\n');
		if (strncmp(line, "  ", 2) || line[2] == ' ' || line[2] == '-')
			continue;
		if (sscanf(line + 2, "%31[a-z_]", verb) != 1)
			continue;
		verbs++;
		for (p = man; (q = strstr(p, verb)); p = q + 1) {
			const char *bol = q;
			size_t len = strlen(verb);

			while (bol > man && bol[-1] != '\n')
				bol--;
			if (*bol == '.' && (q == man || !isalnum((unsigned char)q[-1])) &&
			    !isalnum((unsigned char)q[len]) && q[len] != '_') {
				found = true;
				break;
			}
		}
		if (!found) {
			free(man);
			return fail("verb '%s' is in --help but not in %s", verb, path);
		}
	}
	/* And every long option of --help, as "--name" or roff's "\-\-name". */
	for (line = strstr(r.out, "\nOptions"); line && *line;
	     line = end ? end + 1 : NULL) {
		char opt[32], plain[40], roff[40];

		end = strchr(line, '\n');
		if (sscanf(line, " -%*c, --%31[a-z-]", opt) != 1 &&
		    sscanf(line, " --%31[a-z-]", opt) != 1)
			continue;
		snprintf(plain, sizeof(plain), "--%s", opt);
		snprintf(roff, sizeof(roff), "\\-\\-%s", opt);
		if (!strstr(man, plain) && !strstr(man, roff)) {
			free(man);
			return fail("option --%s is in --help but not in %s", opt, path);
		}
	}
	free(man);
	if (verbs < 15)
		return fail("found only %zu verbs in --help", verbs);
	return 0;
}

/* ---- bstacktab ---------------------------------------------------------- */

/* Parse and prepare @text; 0 or -1 after fail(). */
static int tab_of(const char *text, struct bstacktab *tab, char *err, int want)
{
	int r = bstacktab_parse(text, strlen(text), tab, err);

	if (r != want)
		return fail("bstacktab_parse returned %d, not %d (%s)", r, want, err);
	if (bstacktab_prepare(tab))
		return fail("bstacktab_prepare: out of memory");
	return 0;
}

static int test_tab_entries(void)
{
	static const char text[] =
		"# top comment\n"
		"device a uuid=U-A readonly\n"
		"\t0 8 zero\n"
		"\n"
		"  # a comment inside\n"
		"\t8 8 error\n"
		"device b table=/etc/b.table\n";
	struct bstacktab tab;
	char err[TAB_ERR_LEN];
	int ret = 0;

	TRY(tab_of(text, &tab, err, 0));
	if (tab.count != 2)
		ret = fail("%zu entries, not 2", tab.count);
	else if (strcmp(tab.entries[0].name, "a") || strcmp(tab.entries[0].uuid, "U-A") ||
		 !tab.entries[0].readonly || tab.entries[0].line != 2 ||
		 tab.entries[0].table_line != 3 || tab.entries[0].error[0])
		ret = fail("entry a: '%s' '%s' ro %d line %u table at %u error '%s'",
			   tab.entries[0].name, tab.entries[0].uuid,
			   tab.entries[0].readonly, tab.entries[0].line,
			   tab.entries[0].table_line, tab.entries[0].error);
	else if (!tab.entries[1].table_file ||
		 strcmp(tab.entries[1].table_file, "/etc/b.table") ||
		 tab.entries[1].readonly || tab.entries[1].uuid[0])
		ret = fail("entry b: table_file '%s'", tab.entries[1].table_file);
	bstacktab_free(&tab);
	return ret;
}

/* A table error names the line of the file, comments and blanks counted. */
static int test_tab_table_error_line(void)
{
	static const char text[] =
		"device a\n"
		"\t0 8 zero\n"
		"\n"
		"# between\n"
		"\t8 x zero\n";
	struct bstacktab tab;
	char err[TAB_ERR_LEN];
	int ret = 0;

	TRY(tab_of(text, &tab, err, 0));
	if (strncmp(tab.entries[0].error, "line 5: length 'x'", 18))
		ret = fail("error '%s', not \"line 5: length 'x'...\"", tab.entries[0].error);
	bstacktab_free(&tab);
	return ret;
}

static int test_tab_order(void)
{
	static const char text[] =
		"device top\n\t0 8 linear /dev/bstack/mid 0\n"
		"device mid\n\t0 8 linear /dev/bstack/low 0\n"
		"device low\n\t0 8 zero\n"
		"device other\n\t0 8 linear /dev/bstack/notinthefile 0\n";
	struct bstacktab tab;
	char err[TAB_ERR_LEN], got[64] = "";
	size_t i;
	int ret = 0;

	TRY(tab_of(text, &tab, err, 0));
	for (i = 0; i < tab.count; i++) {
		strcat(got, tab.entries[tab.order[i]].name);
		strcat(got, " ");
	}
	if (strcmp(got, "low mid top other "))
		ret = fail("order '%s', not 'low mid top other '", got);
	bstacktab_free(&tab);
	return ret;
}

static int test_tab_cycle(void)
{
	static const char text[] =
		"device a\n\t0 8 linear /dev/bstack/b 0\n"
		"device b\n\t0 8 linear /dev/bstack/a 0\n";
	struct bstacktab tab;
	char err[TAB_ERR_LEN];
	int ret = 0;

	TRY(tab_of(text, &tab, err, 0));
	if (!strstr(tab.entries[0].error, "a cycle") &&
	    !strstr(tab.entries[1].error, "a cycle"))
		ret = fail("no cycle reported: '%s' '%s'", tab.entries[0].error,
			   tab.entries[1].error);
	bstacktab_free(&tab);
	return ret;
}

static int test_tab_errors(void)
{
	static const struct {
		const char *text;
		const char *error;	/* of the first entry, or NULL */
		const char *err;	/* of the file, or NULL */
	} cases[] = {
		{ "device a frob\n\t0 8 zero\n", "line 1: unknown option 'frob'", NULL },
		{ "device a b\n\t0 8 zero\n", "line 1: unknown option 'b'", NULL },
		{ "device\n", "line 1: 'device' without a name", NULL },
		{ "device a*b\n\t0 8 zero\n", "line 1: the name 'a*b' is not allowed: '*'", NULL },
		{ "device a uuid=x$\n\t0 8 zero\n", "line 1: the uuid has '$'", NULL },
		{ "device a\n", "line 1: device a has no table", NULL },
		{ "device a table=/x\n\t0 8 zero\n", "line 2: a table line, but the table of a comes from /x", NULL },
		{ "device a\n\t0 8 zero\ndevice a\n\t0 8 zero\n", NULL, NULL },
		{ "\t0 8 zero\ndevice a\n\t0 8 zero\n", NULL, "line 1: a table line before any 'device' line" },
		{ "devices a\n", NULL, "line 1: 'devices a' is not a 'device NAME ...' line" },
		{ "device ..\n\t0 8 zero\n", "line 1: the names '.' and '..' are reserved", NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bstacktab tab;
		char err[TAB_ERR_LEN];
		int r = bstacktab_parse(cases[i].text, strlen(cases[i].text), &tab, err);
		const char *got = tab.count ? tab.entries[0].error : "";

		if (r < 0 || (cases[i].err && (r != 1 || strncmp(err, cases[i].err, strlen(cases[i].err)))) ||
		    (cases[i].error && strncmp(got, cases[i].error, strlen(cases[i].error)))) {
			bstacktab_free(&tab);
			return fail("case %zu: returned %d, file error '%s', entry error '%s'",
				    i, r, err, got);
		}
		/* The duplicate: the second entry's error. */
		if (i == 7 && (tab.count != 2 ||
			       strcmp(tab.entries[1].error, "line 3: device a is at line 1 already"))) {
			bstacktab_free(&tab);
			return fail("duplicate: '%s'", tab.count == 2 ? tab.entries[1].error : "?");
		}
		bstacktab_free(&tab);
	}
	return 0;
}

/* ---- main --------------------------------------------------------------- */

struct test {
	const char *name;
	int (*fn)(void);
	bool cli;
};

static const struct test tests[] = {
	{ "single line", test_single_line, false },
	{ "multi-line, no final newline", test_multi_line, false },
	{ "comments and blank lines keep line numbers", test_comments_and_blank_lines, false },
	{ "tabs", test_tabs, false },
	{ "CRLF", test_crlf, false },
	{ "params normalized", test_params_normalized, false },
	{ "max u64 and leading zeros", test_max_u64, false },
	{ "type of 15 characters", test_type_15_chars, false },
	{ "line of 4096 bytes", test_line_4096_bytes, false },
	{ "error: field count", test_err_fields, false },
	{ "error: not a number", test_err_not_a_number, false },
	{ "error: 64-bit overflow", test_err_overflow, false },
	{ "error: type too long", test_err_long_type, false },
	{ "error: long token cut in message", test_err_long_token_cut, false },
	{ "error: NUL byte", test_err_nul_byte, false },
	{ "error: 5000-byte line", test_err_long_line, false },
	{ "error: control characters", test_err_control_char, false },
	{ "error: empty table", test_err_empty, false },
	{ "error after targets frees them", test_err_after_targets_frees, false },
	{ "1000000 lines, not one more", test_too_many_lines, false },
	{ "payload over the limit", test_payload_too_large, false },
	{ "round trip", test_round_trip, false },
	{ "round trip with prefix", test_round_trip_prefix, false },
	{ "payload layout and padding", test_payload_layout, false },
	{ "decode refuses malformed replies", test_decode_malformed, false },
	{ "cli: no control device", test_cli_no_control, true },
	{ "cli: table checked before the device", test_cli_table_checked_first, true },
	{ "cli: usage errors exit 2", test_cli_usage_errors, true },
	{ "bstacktab: entries, options, line numbers", test_tab_entries, false },
	{ "bstacktab: a table error names the file's line", test_tab_table_error_line, false },
	{ "bstacktab: lower devices first", test_tab_order, false },
	{ "bstacktab: a cycle is refused", test_tab_cycle, false },
	{ "bstacktab: bad entries and lines", test_tab_errors, false },
	{ "cli: bad names", test_cli_bad_names, true },
	{ "cli: help and version", test_cli_help_and_version, true },
	{ "cli: every verb in the man page", test_cli_man_page, true },
};

int main(int argc, char **argv)
{
	unsigned int passed = 0, failed = 0;
	size_t i;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [PATH-TO-BSTACKCTL]\n", argv[0]);
		return 2;
	}
	bstackctl = argc == 2 ? argv[1] : NULL;
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (tests[i].cli && !bstackctl)
			continue;
		detail[0] = '\0';
		if (tests[i].fn()) {
			printf("not ok - %s: %s\n", tests[i].name, detail);
			failed++;
		} else {
			printf("ok - %s\n", tests[i].name);
			passed++;
		}
	}
	printf("host: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
