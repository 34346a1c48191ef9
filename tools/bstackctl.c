// SPDX-License-Identifier: GPL-2.0
/*
 * bstackctl - control bstack devices through /dev/bstack-control, the way
 * dmsetup controls device-mapper.
 *
 * Every verb goes through control_call(), which owns the ioctl buffer, its
 * header, the BSTACK_F_BUFFER_FULL retry and the error message. A failure
 * prints exactly one line on stderr, "bstackctl: <verb> <name>: <why>",
 * with the kernel's own text when it gave one.
 */
#define _XOPEN_SOURCE 700		/* mknod(), S_IFBLK */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/bstack.h>

#include "bstacktab.h"
#include "table.h"
#include "udev.h"

#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define STR_(x)			#x
#define STR(x)			STR_(x)
#define BSTACKCTL_VERSION	STR(BSTACK_VERSION_MAJOR) "." \
				STR(BSTACK_VERSION_MINOR) "." \
				STR(BSTACK_VERSION_PATCH)

#define DEFAULT_CONTROL		"/dev/" BSTACK_CONTROL_NAME
/* Without the NUL; literal numbers so that messages can paste them in. */
#define BSTACK_NAME_MAX		127
#define BSTACK_UUID_MAX		127
_Static_assert(BSTACK_NAME_LEN - 1 == BSTACK_NAME_MAX, "BSTACK_NAME_LEN changed");
_Static_assert(BSTACK_UUID_LEN - 1 == BSTACK_UUID_MAX, "BSTACK_UUID_LEN changed");
#define EXIT_USAGE		2

/* The payload follows the header at the first 8-byte boundary. */
#define DATA_START		((sizeof(struct bstack_ioctl) + 7) & ~(size_t)7)
#define INITIAL_BUF_SIZE	(16U << 10)
/*
 * A reply can grow between the call that says how much room it needs and
 * the retry (a device created meanwhile), so retry a few times, not forever.
 */
#define MAX_TRIES		4

/* Options, as bits: each verb lists those it accepts. */
enum {
	OPT_UUID	= 1U << 0,
	OPT_READONLY	= 1U << 1,
	OPT_NOTABLE	= 1U << 2,
	OPT_TABLE	= 1U << 3,
	OPT_INACTIVE	= 1U << 4,
	OPT_NOFLUSH	= 1U << 5,
	OPT_NOLOCKFS	= 1U << 6,
	OPT_TIMEOUT	= 1U << 7,
	OPT_FORCE	= 1U << 8,
	OPT_DEFERRED	= 1U << 9,
	OPT_JSON	= 1U << 10,
	OPT_SETUUID	= 1U << 11,
	OPT_NOUDEVSYNC	= 1U << 12,
	OPT_UDEVTIMEOUT	= 1U << 13,
	OPT_RETRY	= 1U << 14,
	OPT_TARGET	= 1U << 15,
	OPT_COLUMNS	= 1U << 16,
	OPT_FIELDS	= 1U << 17,
	OPT_NOHEADINGS	= 1U << 18,
	OPT_SEPARATOR	= 1U << 19,
	OPT_NAMEPREFIXES = 1U << 20,
	OPT_TREE	= 1U << 21,
	OPT_DRYRUN	= 1U << 22,
	OPT_ALL		= 1U << 23,
};

/*
 * The verbs that name their device by its uuid with -u UUID instead (all
 * that take a NAME but create, for which -u gives the new uuid).
 */
#define OPT_BYUUID	OPT_UUID

/* The verbs that send uevents, and wait for udev to finish with them. */
#define OPT_UDEV	(OPT_NOUDEVSYNC | OPT_UDEVTIMEOUT)

struct cmd;

struct verb {
	const char *name;
	int (*run)(struct cmd *c);
	unsigned long ioc;		/* the ioctl it issues, if one */
	unsigned int options;		/* OPT_* accepted */
	int min_args, max_args;		/* after the verb */
	const char *synopsis;
	const char *help;
};

/* The command line, parsed, and the control device once open. */
struct cmd {
	const struct verb *verb;
	unsigned int given;		/* OPT_* on the command line */
	const char *uuid;
	const char *table;
	const char *timeout;
	const char *udevtimeout;
	const char *target;		/* --target TYPE */
	const char *fields;		/* -o FIELDS */
	const char *separator;		/* --separator S */
	char **args;			/* positional arguments after the verb */
	int nargs;
	bool help;
	int fd;				/* the control device, or -1 */
	const char *control;		/* its path */
	unsigned int shown;		/* JSON objects printed so far */
	const char *where;		/* the file errors are about, or NULL */
};

/* getopt's value for an option with no short form: above any character. */
#define LONG_OPT(bit)		(256 + (bit))

/*
 * Every option: its bit, its name, what getopt_long() returns for it, the
 * ioctl flag it sets in a request of a verb that accepts it, and where its
 * argument goes if it takes one.
 */
static const struct option_def {
	unsigned int bit;
	const char *name;
	int val;
	uint32_t flag;			/* BSTACK_F_*, or 0 */
	size_t arg;			/* offsetof(struct cmd, ...), or 0 */
} option_defs[] = {
	{ OPT_UUID, "--uuid", 'u', 0, offsetof(struct cmd, uuid) },
	{ OPT_READONLY, "--readonly", 'r', BSTACK_F_READONLY, 0 },
	{ OPT_NOTABLE, "--notable", LONG_OPT(OPT_NOTABLE), 0, 0 },
	{ OPT_TABLE, "--table", LONG_OPT(OPT_TABLE), 0,
	  offsetof(struct cmd, table) },
	{ OPT_INACTIVE, "--inactive", LONG_OPT(OPT_INACTIVE),
	  BSTACK_F_INACTIVE, 0 },
	{ OPT_NOFLUSH, "--noflush", LONG_OPT(OPT_NOFLUSH), BSTACK_F_NOFLUSH, 0 },
	{ OPT_NOLOCKFS, "--nolockfs", LONG_OPT(OPT_NOLOCKFS),
	  BSTACK_F_NOLOCKFS, 0 },
	{ OPT_TIMEOUT, "--timeout", LONG_OPT(OPT_TIMEOUT), 0,
	  offsetof(struct cmd, timeout) },
	{ OPT_FORCE, "--force", LONG_OPT(OPT_FORCE), BSTACK_F_FORCE, 0 },
	{ OPT_DEFERRED, "--deferred", LONG_OPT(OPT_DEFERRED),
	  BSTACK_F_DEFERRED, 0 },
	{ OPT_JSON, "--json", LONG_OPT(OPT_JSON), 0, 0 },
	{ OPT_SETUUID, "--setuuid", LONG_OPT(OPT_SETUUID), BSTACK_F_SETUUID, 0 },
	{ OPT_NOUDEVSYNC, "--noudevsync", LONG_OPT(OPT_NOUDEVSYNC), 0, 0 },
	{ OPT_UDEVTIMEOUT, "--udevtimeout", LONG_OPT(OPT_UDEVTIMEOUT), 0,
	  offsetof(struct cmd, udevtimeout) },
	{ OPT_RETRY, "--retry", LONG_OPT(OPT_RETRY), 0, 0 },
	{ OPT_TARGET, "--target", LONG_OPT(OPT_TARGET), 0,
	  offsetof(struct cmd, target) },
	{ OPT_COLUMNS, "--columns", 'c', 0, 0 },
	{ OPT_FIELDS, "--options", 'o', 0, offsetof(struct cmd, fields) },
	{ OPT_NOHEADINGS, "--noheadings", LONG_OPT(OPT_NOHEADINGS), 0, 0 },
	{ OPT_SEPARATOR, "--separator", LONG_OPT(OPT_SEPARATOR), 0,
	  offsetof(struct cmd, separator) },
	{ OPT_NAMEPREFIXES, "--nameprefixes", LONG_OPT(OPT_NAMEPREFIXES), 0, 0 },
	{ OPT_TREE, "--tree", LONG_OPT(OPT_TREE), 0, 0 },
	{ OPT_DRYRUN, "--dry-run", LONG_OPT(OPT_DRYRUN), 0, 0 },
	{ OPT_ALL, "--all", LONG_OPT(OPT_ALL), 0, 0 },
};

static const struct option long_options[] = {
	{ "help",	no_argument,		NULL, 'h' },
	{ "uuid",	required_argument,	NULL, 'u' },
	{ "readonly",	no_argument,		NULL, 'r' },
	{ "notable",	no_argument,		NULL, LONG_OPT(OPT_NOTABLE) },
	{ "table",	required_argument,	NULL, LONG_OPT(OPT_TABLE) },
	{ "inactive",	no_argument,		NULL, LONG_OPT(OPT_INACTIVE) },
	{ "noflush",	no_argument,		NULL, LONG_OPT(OPT_NOFLUSH) },
	{ "nolockfs",	no_argument,		NULL, LONG_OPT(OPT_NOLOCKFS) },
	{ "timeout",	required_argument,	NULL, LONG_OPT(OPT_TIMEOUT) },
	{ "force",	no_argument,		NULL, LONG_OPT(OPT_FORCE) },
	{ "deferred",	no_argument,		NULL, LONG_OPT(OPT_DEFERRED) },
	{ "json",	no_argument,		NULL, LONG_OPT(OPT_JSON) },
	{ "setuuid",	no_argument,		NULL, LONG_OPT(OPT_SETUUID) },
	{ "noudevsync",	no_argument,		NULL, LONG_OPT(OPT_NOUDEVSYNC) },
	{ "udevtimeout", required_argument,	NULL, LONG_OPT(OPT_UDEVTIMEOUT) },
	{ "retry",	no_argument,		NULL, LONG_OPT(OPT_RETRY) },
	{ "target",	required_argument,	NULL, LONG_OPT(OPT_TARGET) },
	{ "columns",	no_argument,		NULL, 'c' },
	{ "options",	required_argument,	NULL, 'o' },
	{ "noheadings",	no_argument,		NULL, LONG_OPT(OPT_NOHEADINGS) },
	{ "separator",	required_argument,	NULL, LONG_OPT(OPT_SEPARATOR) },
	{ "nameprefixes", no_argument,		NULL, LONG_OPT(OPT_NAMEPREFIXES) },
	{ "tree",	no_argument,		NULL, LONG_OPT(OPT_TREE) },
	{ "dry-run",	no_argument,		NULL, LONG_OPT(OPT_DRYRUN) },
	{ "all",	no_argument,		NULL, LONG_OPT(OPT_ALL) },
	{ NULL,		0,			NULL, 0 },
};

/*
 * A leading '-' returns the non-option arguments in place (as 1), so that
 * options may come anywhere, even with POSIXLY_CORRECT set; ':' reports a
 * missing option argument apart from an unknown option.
 */
static const char short_options[] = "-:hu:rco:";

/*
 * The ioctl flags the given options ask for; check_usage() has refused
 * those the verb does not take.
 */
static uint32_t request_flags(const struct cmd *c)
{
	uint32_t flags = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(option_defs); i++)
		if (c->given & option_defs[i].bit)
			flags |= option_defs[i].flag;
	return flags;
}

/* One ioctl: what goes in the header and the payload. */
struct request {
	unsigned long cmd;
	const char *name;		/* NULL: none; also names the error */
	const char *uuid;		/* NULL: none */
	uint32_t flags;
	const void *payload;
	size_t payload_len;
	uint32_t count;
	uint32_t event_nr;
};

/* A successful reply; free(hdr) releases it. */
struct reply {
	struct bstack_ioctl *hdr;
	const void *data;
	size_t data_len;
};

__printf(1, 2)
static void error_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("bstackctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* An error about a verb, and a device when @name is not NULL: "create vol0". */
__printf(3, 4)
static void error_ctx(const struct cmd *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bstackctl: %s%s%s: %s%s", c->verb->name, name ? " " : "",
		name ? name : "", c->where ? c->where : "", c->where ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the control device ------------------------------------------------ */

static int control_open(struct cmd *c)
{
	const char *env = getenv("BSTACK_CONTROL");
	const char *hint = "";
	int err;

	c->control = env && *env ? env : DEFAULT_CONTROL;
	c->fd = open(c->control, O_RDWR | O_CLOEXEC);
	if (c->fd >= 0)
		return 0;

	err = errno;
	if (c->control == env)
		hint = " (set by BSTACK_CONTROL)";
	else if (err == ENOENT || err == ENODEV || err == ENXIO)
		hint = " (is bstack.ko loaded?)";
	else if (err == EACCES || err == EPERM)
		hint = " (bstackctl needs root)";
	error_msg("cannot open %s: %s%s", c->control, strerror(err), hint);
	return -1;
}

static void fill_header(struct bstack_ioctl *hdr, size_t size,
			const struct request *req)
{
	hdr->version[0] = BSTACK_VERSION_MAJOR;
	hdr->version[1] = BSTACK_VERSION_MINOR;
	hdr->version[2] = BSTACK_VERSION_PATCH;
	hdr->data_size = (uint32_t)size;
	hdr->data_start = (uint32_t)DATA_START;
	hdr->data_len = (uint32_t)req->payload_len;
	hdr->count = req->count;
	hdr->flags = req->flags;
	hdr->event_nr = req->event_nr;
	/* Lengths were checked by check_name() and check_uuid(). */
	if (req->name)
		memcpy(hdr->name, req->name, strnlen(req->name, BSTACK_NAME_MAX));
	if (req->uuid)
		memcpy(hdr->uuid, req->uuid, strnlen(req->uuid, BSTACK_UUID_MAX));
	if (req->payload_len)
		memcpy((char *)hdr + DATA_START, req->payload, req->payload_len);
}

/* Print why a call failed: the kernel's line, else the best we can say. */
static void report_failure(const struct cmd *c, const struct request *req,
			   const struct bstack_ioctl *hdr, int err)
{
	size_t n = strnlen(hdr->error, sizeof(hdr->error));
	const char *nl = memchr(hdr->error, '\n', n);

	if (nl)
		n = (size_t)(nl - hdr->error);
	if (n)
		error_ctx(c, req->name, "%.*s", (int)n, hdr->error);
	else if (err == ENOTTY)
		error_ctx(c, req->name, "%s does not understand bstack ioctls (%s)",
			  c->control, strerror(err));
	else if (err == EINVAL && hdr->version[0] != BSTACK_VERSION_MAJOR)
		error_ctx(c, req->name, "bstack.ko speaks ABI %u.%u.%u, bstackctl needs %d.x",
			  hdr->version[0], hdr->version[1], hdr->version[2],
			  BSTACK_VERSION_MAJOR);
	else if (err == EPERM)
		error_ctx(c, req->name, "%s (CAP_SYS_ADMIN is needed)", strerror(err));
	else
		error_ctx(c, req->name, "%s", strerror(err));
}

/*
 * How long --retry retries a removal that fails because the device is
 * open, as dmsetup's --retry does: udev's blkid, or another opener that
 * lets go within a few seconds.
 */
#define RETRY_TRIES		25
#define RETRY_INTERVAL_NS	200000000L

/* One ioctl, retried on EBUSY with --retry; -1 with errno set. */
static int issue(const struct cmd *c, const struct request *req,
		 struct bstack_ioctl *hdr, size_t size)
{
	static const struct timespec pause = { 0, RETRY_INTERVAL_NS };
	int tries = 0;

	for (;;) {
		fill_header(hdr, size, req);
		if (!ioctl(c->fd, req->cmd, hdr))
			return 0;
		if (errno != EBUSY || !(c->given & OPT_RETRY) ||
		    ++tries > RETRY_TRIES)
			return -1;
		memset(hdr, 0, size);
		nanosleep(&pause, NULL);
	}
}

/*
 * Issue one ioctl and get its reply, growing the buffer when the kernel sets
 * BSTACK_F_BUFFER_FULL. Returns 0 with @rep filled (free rep->hdr), or -1
 * after printing the error.
 */
static int control_call(const struct cmd *c, const struct request *req,
			struct reply *rep)
{
	size_t size = DATA_START + req->payload_len;
	int tries;

	if (size > BSTACK_MAX_DATA_SIZE) {
		error_ctx(c, req->name, "the request is too large: %zu bytes, the limit is %u",
			  size, BSTACK_MAX_DATA_SIZE);
		return -1;
	}
	if (size < INITIAL_BUF_SIZE)
		size = INITIAL_BUF_SIZE;

	for (tries = 0; tries < MAX_TRIES; tries++) {
		struct bstack_ioctl *hdr = calloc(1, size);
		uint32_t need;

		if (!hdr) {
			error_ctx(c, req->name, "out of memory for a %zu-byte buffer", size);
			return -1;
		}
		if (issue(c, req, hdr, size) < 0) {
			report_failure(c, req, hdr, errno);
			free(hdr);
			return -1;
		}
		if (!(hdr->flags & BSTACK_F_BUFFER_FULL)) {
			if (hdr->data_len > size - DATA_START) {
				error_ctx(c, req->name, "malformed reply: %u bytes of data in a %zu-byte buffer",
					  hdr->data_len, size);
				free(hdr);
				return -1;
			}
			rep->hdr = hdr;
			rep->data = (const char *)hdr + DATA_START;
			rep->data_len = hdr->data_len;
			return 0;
		}
		need = hdr->data_len;
		free(hdr);
		if (need <= size || need > BSTACK_MAX_DATA_SIZE) {
			error_ctx(c, req->name, "malformed reply: a %u-byte buffer asked after a %zu-byte one",
				  need, size);
			return -1;
		}
		size = need;
	}
	error_ctx(c, req->name, "the reply still did not fit after %d tries", MAX_TRIES);
	return -1;
}

/* ---- checks and input --------------------------------------------------- */

/* The longest --udevtimeout, an hour. */
#define UDEV_TIMEOUT_MAX_S	3600

/* A number of seconds in 1..@max, in decimal digits only. */
static bool parse_seconds(const char *t, unsigned long max, unsigned long *secs)
{
	char *end;

	errno = 0;
	*secs = strtoul(t, &end, 10);
	return *t && !*end && t[0] != '-' && t[0] != '+' && !errno && *secs &&
	       *secs <= max;
}

/*
 * A name or uuid becomes a udev link, so it keeps to NAME_CHARS (see
 * bstacktab.h); the kernel checks the same. Returns the first other
 * character's offset, or -1.
 */
static ssize_t udev_unsafe_at(const char *s)
{
	const char *bad = name_unsafe_char(s);

	return bad ? bad - s : -1;
}

/* Say which character at @at of @s is wrong, quoted or as a byte value. */
static void describe_char(const char *s, ssize_t at, char *buf, size_t size)
{
	unsigned char ch = s[at];

	if (isgraph(ch) && ch != '\'')
		snprintf(buf, size, "'%c' at byte %zd", ch, at);
	else if (ch == ' ')
		snprintf(buf, size, "a space at byte %zd", at);
	else
		snprintf(buf, size, "byte 0x%02x at byte %zd", ch, at);
}

/* The kernel checks names too; checking here gives a clear message early. */
static int check_name(const struct cmd *c, const char *name)
{
	const char *why = NULL, *hint = "";
	char bad[64];
	ssize_t at;

	if (!*name) {
		why = "it is empty";
	} else if (strlen(name) > BSTACK_NAME_MAX) {
		why = "it is longer than " STR(BSTACK_NAME_MAX) " bytes";
	} else if (!strcmp(name, ".") || !strcmp(name, "..")) {
		why = "'.' and '..' are reserved";
	} else if ((at = udev_unsafe_at(name)) >= 0) {
		describe_char(name, at, bad, sizeof(bad));
		why = bad;
		hint = "; a name may use " NAME_CHARS;
	}
	if (!why)
		return 0;
	error_ctx(c, NULL, "invalid device name '%.*s%s': %s%s", 40, name,
		  strlen(name) > 40 ? "..." : "", why, hint);
	return -1;
}

static int check_uuid(const struct cmd *c, const char *name, const char *uuid)
{
	char why[64];
	ssize_t at;

	if (!uuid)
		return 0;
	if (strlen(uuid) > BSTACK_UUID_MAX) {
		error_ctx(c, name, "the uuid is %zu bytes long, the limit is %d",
			  strlen(uuid), BSTACK_UUID_MAX);
		return -1;
	}
	at = udev_unsafe_at(uuid);
	if (at < 0)
		return 0;
	describe_char(uuid, at, why, sizeof(why));
	error_ctx(c, name, "invalid uuid '%.*s%s': %s; a uuid may use "
		  NAME_CHARS, 40, uuid, strlen(uuid) > 40 ? "..." : "", why);
	return -1;
}

/*
 * Read all of @f into a buffer, at most TABLE_MAX_TEXT + 1 bytes: one more
 * than the parser accepts, so that it says the text is too large.
 */
static int read_all(FILE *f, char **text, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	while (!feof(f) && n <= TABLE_MAX_TEXT) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64 << 10;
			char *nbuf;

			if (ncap > TABLE_MAX_TEXT + 1)
				ncap = TABLE_MAX_TEXT + 1;
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nbuf;
			cap = ncap;
		}
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			int err = errno;

			free(buf);
			errno = err;
			return -1;
		}
	}
	*text = buf;
	*len = n;
	return 0;
}

/* Read the table from a file, "-" or none meaning stdin. */
static int read_table_text(const struct cmd *c, const char *name,
			   const char *path, char **text, size_t *len)
{
	FILE *f = stdin;
	int ret;

	if (path && strcmp(path, "-")) {
		f = fopen(path, "r");
		if (!f) {
			error_ctx(c, name, "cannot open %s: %s", path, strerror(errno));
			return -1;
		}
	}
	ret = read_all(f, text, len);
	if (ret)
		error_ctx(c, name, "cannot read %s: %s", f == stdin ? "stdin" : path,
			  strerror(errno));
	if (f != stdin)
		fclose(f);
	return ret;
}

/*
 * Get the table of create/load from --table, FILE or stdin, check its
 * syntax and serialize it into @req. Nothing touches the device before
 * this has succeeded. The caller frees *@payload, which req->payload
 * points to.
 */
static int prepare_table(const struct cmd *c, const char *name, struct request *req,
			 void **payload)
{
	const char *file = c->nargs > 1 ? c->args[1] : NULL;
	struct table t = TABLE_INIT;
	char err[TABLE_ERR_LEN];
	char *text = NULL;
	size_t len;
	int ret;

	if (c->given & OPT_TABLE) {
		ret = table_parse(c->table, strlen(c->table), &t, err);
	} else {
		if (read_table_text(c, name, file, &text, &len))
			return -1;
		ret = table_parse(text, len, &t, err);
		free(text);
	}
	if (!ret)
		ret = table_serialize(&t, payload, &req->payload_len, &req->count, err);
	table_free(&t);
	if (ret) {
		if (file && strcmp(file, "-"))
			error_ctx(c, name, "%s: %s", file, err);
		else
			error_ctx(c, name, "%s", err);
		return -1;
	}
	req->payload = *payload;
	return 0;
}

/* ---- verbs -------------------------------------------------------------- */

static void on_interrupt(int sig)
{
	(void)sig;
}

/*
 * A suspend waits in the kernel for the I/O in flight, and a change to a
 * device waits while another command holds it. Let Ctrl-C (or SIGTERM)
 * end such a wait with EINTR, so that the kernel puts the device back as
 * it was and says so, and we print it, instead of dying silently.
 */
static void catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}


/*
 * control_call() for a verb that sends uevents (create, remove, resume,
 * rename): then wait, at most --udevtimeout seconds, until udev has
 * finished with them, so that the links are there or gone when we return
 * (see udev.c). Not with --noudevsync, nor when udevd is not running;
 * that says so if bstack's rules are installed, since their links will
 * not change. A slow udev is a warning: the change itself was made.
 */
static int call_and_settle(struct cmd *c, const struct request *req,
			   struct reply *rep)
{
	unsigned long secs = UDEV_TIMEOUT_S;
	struct udev_sync *s = NULL;
	bool absent = false;
	char err[160];
	int ret;

	/* check_usage() has checked it. */
	if (c->given & OPT_UDEVTIMEOUT)
		parse_seconds(c->udevtimeout, UDEV_TIMEOUT_MAX_S, &secs);
	if ((c->verb->options & OPT_NOUDEVSYNC) && !(c->given & OPT_NOUDEVSYNC)) {
		if (udev_running()) {
			s = udev_sync_begin(err, sizeof(err));
			if (!s)
				error_ctx(c, req->name, "warning: not waiting for udev: %s",
					  err);
		} else {
			absent = udev_rules_installed();
		}
	}
	ret = control_call(c, req, rep);
	if (!ret && s && udev_sync_wait(s, (unsigned int)secs, err, sizeof(err)))
		error_ctx(c, req->name,
			  "warning: %s: its /dev/bstack links may be missing or stale (--udevtimeout to wait longer, --noudevsync not to wait)",
			  err);
	if (!ret && absent)
		error_ctx(c, req->name,
			  "note: udev is not running, so /dev/bstack links are not made or removed");
	udev_sync_end(s);
	return ret;
}

/* The verbs that take NAME and maybe a table, and print nothing. */
static int simple_call(struct cmd *c, const char *name, bool with_table)
{
	struct request req = { .cmd = c->verb->ioc, .name = name, .uuid = c->uuid };
	struct reply rep = { NULL, NULL, 0 };
	void *payload = NULL;
	int ret = -1;

	if (check_name(c, name) || check_uuid(c, name, c->uuid))
		return 1;
	req.flags = request_flags(c);
	if (with_table && prepare_table(c, name, &req, &payload))
		return 1;
	/*
	 * A change waits for the device while another command holds it (a
	 * suspend waiting for I/O), and a resume with a new table suspends
	 * first: Ctrl-C ends either wait with a message.
	 */
	catch_interrupts();
	if (!control_open(c))
		ret = call_and_settle(c, &req, &rep);
	free(payload);
	free(rep.hdr);
	return ret ? 1 : 0;
}

static int do_create(struct cmd *c)
{
	return simple_call(c, c->args[0], !(c->given & OPT_NOTABLE));
}

/*
 * remove, resume, clear: each NAME in turn, as dmsetup takes them. Every
 * one is tried; any that fails fails the command, with its own line.
 */
static int do_name(struct cmd *c)
{
	int i, ret = 0;

	for (i = 0; i < c->nargs; i++)
		ret |= simple_call(c, c->args[i], false);
	return ret;
}

/* The longest --timeout: its milliseconds must fit the ABI's 32 bits. */
#define TIMEOUT_MAX_S	(UINT32_MAX / 1000)

static int suspend_one(struct cmd *c, const char *name,
		       const struct bstack_suspend *args)
{
	struct request req = { .cmd = BSTACK_SUSPEND, .name = name };
	struct reply rep = { NULL, NULL, 0 };
	int ret;

	if (check_name(c, name))
		return 1;
	if (args->timeout_ms) {
		req.payload = args;
		req.payload_len = sizeof(*args);
	}
	req.flags = request_flags(c);
	ret = control_call(c, &req, &rep);
	free(rep.hdr);
	return ret ? 1 : 0;
}

/* Each NAME in turn, in the order given (lower devices last, usually). */
static int do_suspend(struct cmd *c)
{
	struct bstack_suspend args = { 0 };
	int i, ret = 0;

	if (c->given & OPT_TIMEOUT) {
		const char *t = c->timeout;
		unsigned long secs;
		char *end;

		errno = 0;
		secs = strtoul(t, &end, 10);
		if (!*t || *end || t[0] == '-' || t[0] == '+' || errno ||
		    !secs || secs > TIMEOUT_MAX_S) {
			error_ctx(c, c->args[0], "--timeout '%s' is not a number of seconds in 1..%u",
				  t, TIMEOUT_MAX_S);
			return 1;
		}
		args.timeout_ms = (uint32_t)(secs * 1000);
	}
	if (control_open(c))
		return 1;
	catch_interrupts();
	for (i = 0; i < c->nargs; i++)
		ret |= suspend_one(c, c->args[i], &args);
	return ret;
}

static int do_remove_all(struct cmd *c)
{
	struct request req = { .cmd = BSTACK_REMOVE_ALL };
	struct reply rep = { NULL, NULL, 0 };
	int ret;

	req.flags = request_flags(c);
	if (control_open(c))
		return 1;
	catch_interrupts();
	ret = call_and_settle(c, &req, &rep);
	free(rep.hdr);
	return ret ? 1 : 0;
}

/* load, reload */
static int do_load(struct cmd *c)
{
	return simple_call(c, c->args[0], true);
}

static int cmp_entry_name(const void *a, const void *b)
{
	const struct bstack_list_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Get every device, sorted by name (the kernel's order is its own). On
 * success *@entries is allocated (free() it) and its names are
 * NUL-terminated.
 */
static int list_devices(const struct cmd *c, struct bstack_list_entry **entries,
			size_t *n)
{
	struct request req = { .cmd = BSTACK_LIST };
	struct bstack_list_entry *e;
	struct reply rep;
	size_t i, count;

	if (control_call(c, &req, &rep))
		return -1;
	count = rep.hdr->count;
	if (count > rep.data_len / sizeof(*e)) {
		error_ctx(c, NULL, "malformed reply: %zu devices in %zu bytes",
			  count, rep.data_len);
		free(rep.hdr);
		return -1;
	}
	e = calloc(count ? count : 1, sizeof(*e));
	if (!e) {
		error_ctx(c, NULL, "out of memory for %zu devices", count);
		free(rep.hdr);
		return -1;
	}
	memcpy(e, rep.data, count * sizeof(*e));
	free(rep.hdr);
	for (i = 0; i < count; i++) {
		e[i].name[BSTACK_NAME_LEN - 1] = '\0';
		e[i].uuid[BSTACK_UUID_LEN - 1] = '\0';
	}
	qsort(e, count, sizeof(*e), cmp_entry_name);
	*entries = e;
	*n = count;
	return 0;
}

/* new_decode_dev(): the kernel encodes dev_t with 12-bit major, 20-bit minor. */
static unsigned int dev_major(uint64_t dev)
{
	return (unsigned int)((dev & 0xfff00) >> 8);
}

static unsigned int dev_minor(uint64_t dev)
{
	return (unsigned int)((dev & 0xff) | ((dev >> 12) & 0xfff00));
}

/* ---- JSON ---------------------------------------------------------------- */

/*
 * Every JSON document bstackctl prints opens with the version of its
 * layout: a script checks it, and a change that would break one bumps it.
 * Numbers are JSON numbers, flags JSON booleans.
 */
#define JSON_SCHEMA	1

static void json_open(const char *key)
{
	printf("{\"schema\": %d, \"%s\": [", JSON_SCHEMA, key);
}

/* @str as a JSON string, quotes included. */
static void json_string(FILE *out, const char *str)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void json_device(FILE *out, const char *name, const char *uuid,
			uint64_t dev, uint32_t flags, uint32_t open_count)
{
	fputs("{\"name\": ", out);
	json_string(out, name);
	fputs(", \"uuid\": ", out);
	json_string(out, uuid);
	fprintf(out, ", \"major\": %u, \"minor\": %u, \"open_count\": %" PRIu32
		", \"suspended\": %s, \"read_only\": %s, \"live_table\": %s"
		", \"inactive_table\": %s, \"deferred_remove\": %s",
		dev_major(dev), dev_minor(dev), open_count,
		flags & BSTACK_F_SUSPENDED ? "true" : "false",
		flags & BSTACK_F_READONLY_DEV ? "true" : "false",
		flags & BSTACK_F_LIVE_TABLE ? "true" : "false",
		flags & BSTACK_F_INACTIVE_TABLE ? "true" : "false",
		flags & BSTACK_F_DEFERRED_REMOVE ? "true" : "false");
}

static void json_targets(FILE *out, const struct table *t, const char *what)
{
	size_t i;

	fprintf(out, "\"%s\": [", what);
	for (i = 0; i < t->count; i++) {
		const struct table_target *tt = &t->targets[i];

		fprintf(out, "%s{\"start\": %" PRIu64 ", \"length\": %" PRIu64
			", \"type\": ", i ? ", " : "", tt->start, tt->length);
		json_string(out, tt->type);
		fputs(", \"args\": ", out);
		json_string(out, tt->params);
		fputc('}', out);
	}
	fputc(']', out);
}

/* The device's I/O counters (STATS). */
static int get_counters(const struct cmd *c, const char *name,
			struct bstack_counters *cnt)
{
	struct request req = { .cmd = BSTACK_STATS, .name = name };
	struct reply rep;

	if (control_call(c, &req, &rep))
		return -1;
	if (rep.data_len < sizeof(*cnt)) {
		error_ctx(c, name, "malformed reply: %zu bytes of counters",
			  rep.data_len);
		free(rep.hdr);
		return -1;
	}
	memcpy(cnt, rep.data, sizeof(*cnt));
	free(rep.hdr);
	return 0;
}

static const struct {
	const char *name;
	size_t offset;
} counter_fields[] = {
	{ "reads", offsetof(struct bstack_counters, reads) },
	{ "writes", offsetof(struct bstack_counters, writes) },
	{ "read_bytes", offsetof(struct bstack_counters, read_bytes) },
	{ "write_bytes", offsetof(struct bstack_counters, write_bytes) },
	{ "discards", offsetof(struct bstack_counters, discards) },
	{ "flushes", offsetof(struct bstack_counters, flushes) },
	{ "splits", offsetof(struct bstack_counters, splits) },
	{ "errors", offsetof(struct bstack_counters, errors) },
	{ "in_flight", offsetof(struct bstack_counters, in_flight) },
	{ "polled", offsetof(struct bstack_counters, polled) },
};

/*
 * "# reads N writes N ...": after the target lines of status, as a
 * comment, so that what reads dmsetup's format still can.
 */
static void print_counters(const struct bstack_counters *cnt, const char *prefix,
			   bool json)
{
	size_t i;

	if (json)
		fputs(", \"counters\": {", stdout);
	else
		printf("%s#", prefix ? prefix : "");
	for (i = 0; i < ARRAY_SIZE(counter_fields); i++) {
		uint64_t v;

		memcpy(&v, (const char *)cnt + counter_fields[i].offset, sizeof(v));
		if (json)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "",
			       counter_fields[i].name, v);
		else
			printf(" %s %" PRIu64, counter_fields[i].name, v);
	}
	putchar(json ? '}' : '\n');
}

/* The live (or inactive) table of @name, decoded; 0 or -1 after a message. */
static int get_table(const struct cmd *c, const char *name, unsigned long ioc,
		     uint32_t flags, struct table *t)
{
	struct request req = { .cmd = ioc, .name = name, .flags = flags };
	char err[TABLE_ERR_LEN];
	struct reply rep;
	int ret;

	if (control_call(c, &req, &rep))
		return -1;
	ret = table_decode(rep.data, rep.data_len, rep.hdr->count, t, err);
	free(rep.hdr);
	if (ret)
		error_ctx(c, name, "%s", err);
	return ret ? -1 : 0;
}

/*
 * Print the table or status of one device, each line after @prefix (NULL
 * for none). With --target, only the lines of that type, and nothing for
 * a device that has none.
 */
static int show_one(struct cmd *c, const char *name, const char *prefix)
{
	bool status = c->verb->ioc == BSTACK_STATUS;
	struct bstack_counters cnt;
	struct table t;
	int ret;

	if (get_table(c, name, c->verb->ioc, request_flags(c), &t))
		return -1;
	if (c->target && !table_keep_type(&t, c->target)) {
		table_free(&t);
		return 0;
	}
	if (status && get_counters(c, name, &cnt)) {
		table_free(&t);
		return -1;
	}
	if (c->given & OPT_JSON) {
		fputs(c->shown++ ? ", {\"name\": " : "{\"name\": ", stdout);
		json_string(stdout, name);
		fputs(", ", stdout);
		json_targets(stdout, &t, status ? "status" : "targets");
		if (status)
			print_counters(&cnt, NULL, true);
		putchar('}');
		ret = ferror(stdout) ? -1 : 0;
	} else {
		ret = table_format(&t, prefix, stdout);
		if (!ret && status)
			print_counters(&cnt, prefix, false);
	}
	table_free(&t);
	return ret;
}

/* "NAME: ", the prefix dmsetup puts on the lines of several devices. */
static char *name_prefix(const struct cmd *c, const char *name)
{
	size_t len = strlen(name);
	char *prefix = malloc(len + 3);

	if (!prefix) {
		error_ctx(c, name, "out of memory");
		return NULL;
	}
	memcpy(prefix, name, len);
	memcpy(prefix + len, ": ", 3);
	return prefix;
}

/*
 * table, status: of each NAME given, or of every device; with more than
 * one, each line is prefixed with "NAME: " as dmsetup does.
 */
static int do_show(struct cmd *c)
{
	struct bstack_list_entry *e = NULL;
	const char **names;
	size_t i, n;
	int ret = 0;

	for (i = 0; i < (size_t)c->nargs; i++)
		if (check_name(c, c->args[i]))
			return 1;
	if (control_open(c))
		return 1;
	if (c->nargs) {
		names = (const char **)c->args;
		n = (size_t)c->nargs;
	} else {
		if (list_devices(c, &e, &n))
			return 1;
		names = calloc(n ? n : 1, sizeof(*names));
		if (!names) {
			free(e);
			error_ctx(c, NULL, "out of memory");
			return 1;
		}
		for (i = 0; i < n; i++)
			names[i] = e[i].name;
	}
	if (c->given & OPT_JSON)
		json_open("devices");
	else if (!n)
		puts("No devices found");
	for (i = 0; i < n; i++) {
		char *prefix = NULL;

		if (n > 1 && !(c->given & OPT_JSON)) {
			prefix = name_prefix(c, names[i]);
			if (!prefix) {
				ret = 1;
				break;
			}
		}
		if (show_one(c, names[i], prefix))
			ret = 1;
		free(prefix);
		/* A JSON document is whole or not printed to the end. */
		if (ret && (c->given & OPT_JSON))
			break;
	}
	if (!ret && (c->given & OPT_JSON))
		puts("]}");
	if (e) {
		free(names);
		free(e);
	}
	return ret;
}

/* ---- info, deps, targets, rename --------------------------------------- */

/* The device's read-ahead in sectors, as dmsetup info shows it; -1 if unknown. */
static long read_ahead(uint64_t dev)
{
	char path[64];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/read_ahead_kb",
		 dev_major(dev), dev_minor(dev));
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &kb) != 1)
		kb = -1;
	fclose(f);
	return kb < 0 ? -1 : kb * 2;
}

/*
 * What info shows of a device: the header of its TABLE reply, and the
 * FEATURES text of its live table (empty without one, or from a module
 * older than 1.4).
 */
struct dev_info {
	char name[BSTACK_NAME_LEN];
	char uuid[BSTACK_UUID_LEN];
	uint64_t dev;
	uint32_t flags, open_count, event_nr, targets;
	char features[2048];
};

/* FEATURES' text for @name into @di->features; -1 after an error. */
static int get_features(const struct cmd *c, const char *name,
			struct dev_info *di)
{
	struct request req = { .cmd = BSTACK_FEATURES, .name = name };
	struct reply rep;

	if (control_call(c, &req, &rep))
		return -1;
	snprintf(di->features, sizeof(di->features), "%.*s",
		 (int)strnlen(rep.data, rep.data_len), (const char *)rep.data);
	free(rep.hdr);
	return 0;
}

static int get_info(const struct cmd *c, const char *name, struct dev_info *di)
{
	struct request req = { .cmd = BSTACK_TABLE, .name = name };
	const struct bstack_ioctl *h;
	struct reply rep;
	bool features;

	if (control_call(c, &req, &rep))
		return -1;
	h = rep.hdr;
	snprintf(di->name, sizeof(di->name), "%s", name);
	snprintf(di->uuid, sizeof(di->uuid), "%.*s", BSTACK_UUID_MAX, h->uuid);
	di->dev = h->dev;
	di->flags = h->flags;
	di->open_count = h->open_count;
	di->event_nr = h->event_nr;
	di->targets = h->count;
	di->features[0] = '\0';
	features = (h->flags & BSTACK_F_LIVE_TABLE) &&
		   h->version[0] == BSTACK_VERSION_MAJOR && h->version[1] >= 4;
	free(rep.hdr);
	return features ? get_features(c, name, di) : 0;
}

/*
 * Each "<name>: on" or "<name>: off: <why>" line of @text, to @fn; stops
 * at the first line that is not one.
 */
static void each_feature(const char *text,
			 void (*fn)(const char *name, size_t name_len, bool on,
				    const char *why, size_t why_len, void *data),
			 void *data)
{
	while (*text) {
		size_t len = strcspn(text, "\n");
		const char *colon = memchr(text, ':', len);
		const char *rest, *end = text + len;

		if (!colon || colon == text)
			return;
		rest = colon + 1;
		if (end - rest == 3 && !strncmp(rest, " on", 3))
			fn(text, (size_t)(colon - text), true, "", 0, data);
		else if (end - rest >= 6 && !strncmp(rest, " off: ", 6))
			fn(text, (size_t)(colon - text), false, rest + 6,
			   (size_t)(end - rest - 6), data);
		else
			return;
		text = *end ? end + 1 : end;
	}
}

static void feature_text(const char *name, size_t name_len, bool on,
			 const char *why, size_t why_len, void *data)
{
	(void)data;
	if (on)
		printf("  %.*s: on\n", (int)name_len, name);
	else
		printf("  %.*s: off: %.*s\n", (int)name_len, name, (int)why_len, why);
}

static void feature_json(const char *name, size_t name_len, bool on,
			 const char *why, size_t why_len, void *data)
{
	char buf[512];
	int *n = data;

	printf("%s\"%.*s\": {\"on\": %s", (*n)++ ? ", " : "", (int)name_len, name,
	       on ? "true" : "false");
	if (!on) {
		snprintf(buf, sizeof(buf), "%.*s", (int)why_len, why);
		fputs(", \"why\": ", stdout);
		json_string(stdout, buf);
	}
	putchar('}');
}

static const char *tables_loaded(uint32_t flags)
{
	switch (flags & (BSTACK_F_LIVE_TABLE | BSTACK_F_INACTIVE_TABLE)) {
	case BSTACK_F_LIVE_TABLE | BSTACK_F_INACTIVE_TABLE:
		return "LIVE & INACTIVE";
	case BSTACK_F_LIVE_TABLE:
		return "LIVE";
	case BSTACK_F_INACTIVE_TABLE:
		return "INACTIVE";
	}
	return "None";
}

static void info_text(const struct dev_info *di, bool first)
{
	char state[64];
	long ra;

	snprintf(state, sizeof(state), "%s%s%s",
		 di->flags & BSTACK_F_SUSPENDED ? "SUSPENDED" : "ACTIVE",
		 di->flags & BSTACK_F_READONLY_DEV ? " (READ-ONLY)" : "",
		 di->flags & BSTACK_F_DEFERRED_REMOVE ? " (DEFERRED REMOVE)" : "");
	if (!first)
		putchar('\n');
	printf("Name:              %s\n", di->name);
	printf("State:             %s\n", state);
	ra = read_ahead(di->dev);
	if (ra >= 0)
		printf("Read Ahead:        %ld\n", ra);
	printf("Tables present:    %s\n", tables_loaded(di->flags));
	printf("Open count:        %" PRIu32 "\n", di->open_count);
	printf("Event number:      %" PRIu32 "\n", di->event_nr);
	printf("Major, minor:      %u, %u\n", dev_major(di->dev), dev_minor(di->dev));
	printf("Number of targets: %" PRIu32 "\n", di->targets);
	if (di->uuid[0])
		printf("UUID: %s\n", di->uuid);
	if (di->features[0]) {
		puts("Features:");
		each_feature(di->features, feature_text, NULL);
	}
}

/* ---- info -c: dmsetup's columns ------------------------------------------ */

struct field {
	const char *name;	/* as dmsetup names it */
	const char *heading;
	bool number;		/* right-aligned */
	const char *help;
};

static const struct field fields[] = {
	{ "name", "Name", false, "Name of the device." },
	{ "uuid", "UUID", false, "Its uuid." },
	{ "blkdevname", "BlkDevName", false, "The kernel's name of the block device (bstackN)." },
	{ "attr", "Stat", false, "(L)ive table, (I)nactive table, (s)uspended, (r)ead-only or (w)ritable." },
	{ "tables_loaded", "Tables", false, "Which of the live and inactive tables are loaded." },
	{ "suspended", "Suspended", false, "Active or Suspended." },
	{ "readonly", "Read-only", false, "Writeable or Read-only." },
	{ "open", "Open", true, "Number of openers." },
	{ "segments", "Targ", true, "Number of targets in the live table." },
	{ "events", "Event", true, "Event number." },
	{ "major", "Maj", true, "Block device major number." },
	{ "minor", "Min", true, "Block device minor number." },
	{ "devno", "DevNo", false, "Major and minor as MAJ:MIN." },
	{ "read_ahead", "RAhead", true, "Read-ahead in sectors." },
	{ "deferred_remove", "DefRemove", false, "Whether it goes at its last close." },
};

#define DEFAULT_FIELDS	"name,major,minor,attr,open,segments,events,uuid"
#define MAX_FIELDS	32

/* The value of field @f of @di, into @buf. */
static void field_value(const struct field *f, const struct dev_info *di,
			char *buf, size_t size)
{
	const char *n = f->name;

	if (!strcmp(n, "name"))
		snprintf(buf, size, "%s", di->name);
	else if (!strcmp(n, "uuid"))
		snprintf(buf, size, "%s", di->uuid);
	else if (!strcmp(n, "blkdevname"))
		snprintf(buf, size, "bstack%u", dev_minor(di->dev));
	else if (!strcmp(n, "attr"))
		snprintf(buf, size, "%c%c%c%c",
			 di->flags & BSTACK_F_LIVE_TABLE ? 'L' : '-',
			 di->flags & BSTACK_F_INACTIVE_TABLE ? 'I' : '-',
			 di->flags & BSTACK_F_SUSPENDED ? 's' : '-',
			 di->flags & BSTACK_F_READONLY_DEV ? 'r' : 'w');
	else if (!strcmp(n, "tables_loaded"))
		snprintf(buf, size, "%s", tables_loaded(di->flags));
	else if (!strcmp(n, "suspended"))
		snprintf(buf, size, "%s", di->flags & BSTACK_F_SUSPENDED ? "Suspended" : "Active");
	else if (!strcmp(n, "readonly"))
		snprintf(buf, size, "%s", di->flags & BSTACK_F_READONLY_DEV ? "Read-only" : "Writeable");
	else if (!strcmp(n, "open"))
		snprintf(buf, size, "%" PRIu32, di->open_count);
	else if (!strcmp(n, "segments"))
		snprintf(buf, size, "%" PRIu32, di->targets);
	else if (!strcmp(n, "events"))
		snprintf(buf, size, "%" PRIu32, di->event_nr);
	else if (!strcmp(n, "major"))
		snprintf(buf, size, "%u", dev_major(di->dev));
	else if (!strcmp(n, "minor"))
		snprintf(buf, size, "%u", dev_minor(di->dev));
	else if (!strcmp(n, "devno"))
		snprintf(buf, size, "%u:%u", dev_major(di->dev), dev_minor(di->dev));
	else if (!strcmp(n, "read_ahead"))
		snprintf(buf, size, "%ld", read_ahead(di->dev));
	else
		snprintf(buf, size, "%s", di->flags & BSTACK_F_DEFERRED_REMOVE ? "yes" : "no");
}

/*
 * Parse -o FIELDS: names separated by commas, dmsetup's, with "maj" and
 * "min" for major and minor. "help" lists them.
 */
static int parse_fields(const struct cmd *c, const struct field **out, size_t *n)
{
	const char *list = c->fields ? c->fields : DEFAULT_FIELDS;
	const char *p = list;
	size_t i;

	*n = 0;
	if (!strcmp(list, "help")) {
		for (i = 0; i < ARRAY_SIZE(fields); i++)
			printf("  %-16s %s\n", fields[i].name, fields[i].help);
		return 1;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		const struct field *f = NULL;
		const char *want = p;

		/* dmsetup's short names. */
		if (len == 3 && !strncmp(p, "maj", 3))
			want = "major", len = 5;
		else if (len == 3 && !strncmp(p, "min", 3))
			want = "minor", len = 5;
		for (i = 0; i < ARRAY_SIZE(fields) && !f; i++)
			if (strlen(fields[i].name) == len &&
			    !strncmp(fields[i].name, want, len))
				f = &fields[i];
		if (!f) {
			error_ctx(c, NULL, "-o: unknown field '%.*s' (-o help lists them)",
				  (int)len, p);
			return -1;
		}
		if (*n == MAX_FIELDS) {
			error_ctx(c, NULL, "-o: more than %d fields", MAX_FIELDS);
			return -1;
		}
		out[(*n)++] = f;
		p += strcspn(p, ",");
		if (*p == ',' && *++p == '\0') {
			error_ctx(c, NULL, "-o: an empty field name at the end of '%s'", list);
			return -1;
		}
	}
	if (!*n) {
		error_ctx(c, NULL, "-o: no fields given");
		return -1;
	}
	return 0;
}

/* Upper-case @name into @buf: BSTACK_NAME for --nameprefixes. */
static void prefix_name(const char *name, char *buf, size_t size)
{
	size_t i;

	snprintf(buf, size, "BSTACK_%s", name);
	for (i = 0; buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

/*
 * info -c: one line per device, the columns aligned, or joined by
 * --separator; --nameprefixes prints KEY='value' (shell-quoted), as
 * dmsetup does with its DM_ prefix, for eval in scripts.
 */
static int info_columns(const struct cmd *c, const struct dev_info *di, size_t n)
{
	const struct field *f[MAX_FIELDS];
	const char *sep = c->separator ? c->separator : " ";
	bool align = !c->separator && !(c->given & OPT_NAMEPREFIXES);
	size_t nf, i, j, w[MAX_FIELDS];
	char buf[BSTACK_UUID_LEN + 32];
	int r = parse_fields(c, f, &nf);

	if (r)
		return r < 0 ? -1 : 0;
	for (j = 0; j < nf; j++) {
		w[j] = (c->given & OPT_NOHEADINGS) ? 0 : strlen(f[j]->heading);
		for (i = 0; align && i < n; i++) {
			field_value(f[j], &di[i], buf, sizeof(buf));
			if (strlen(buf) > w[j])
				w[j] = strlen(buf);
		}
	}
	if (!(c->given & (OPT_NOHEADINGS | OPT_NAMEPREFIXES))) {
		for (j = 0; j < nf; j++)
			printf("%s%-*s", j ? sep : "",
			       align && j + 1 < nf ? (int)w[j] : 0, f[j]->heading);
		putchar('\n');
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < nf; j++) {
			char key[48];

			field_value(f[j], &di[i], buf, sizeof(buf));
			fputs(j ? sep : "", stdout);
			if (c->given & OPT_NAMEPREFIXES) {
				/* No value holds a quote: see check_name(). */
				prefix_name(f[j]->name, key, sizeof(key));
				printf("%s='%s'", key, buf);
			} else if (!align) {
				fputs(buf, stdout);
			} else if (f[j]->number) {
				printf("%*s", (int)w[j], buf);
			} else {
				printf("%-*s", j + 1 < nf ? (int)w[j] : 0, buf);
			}
		}
		putchar('\n');
	}
	return 0;
}

/* info [NAME...]: as dmsetup info, or with -c its columns. */
static int do_info(struct cmd *c)
{
	struct bstack_list_entry *e = NULL;
	struct dev_info *di;
	size_t i, n = 0, got = 0;
	int ret = 0;

	for (i = 0; i < (size_t)c->nargs; i++)
		if (check_name(c, c->args[i]))
			return 1;
	if ((c->given & (OPT_FIELDS | OPT_NOHEADINGS | OPT_SEPARATOR |
			 OPT_NAMEPREFIXES)) && !(c->given & OPT_COLUMNS)) {
		error_msg("info: -o, --noheadings, --separator and --nameprefixes go with -c");
		return EXIT_USAGE;
	}
	if (c->given & OPT_FIELDS && !strcmp(c->fields, "help"))
		return info_columns(c, NULL, 0) ? 1 : 0;
	if (control_open(c))
		return 1;
	if (!c->nargs && list_devices(c, &e, &n))
		return 1;
	if (c->nargs)
		n = (size_t)c->nargs;
	di = calloc(n ? n : 1, sizeof(*di));
	if (!di) {
		free(e);
		error_ctx(c, NULL, "out of memory");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (get_info(c, e ? e[i].name : c->args[i], &di[got]))
			ret = 1;
		else
			got++;
	}
	free(e);
	if (c->given & OPT_COLUMNS) {
		if (info_columns(c, di, got))
			ret = 1;
	} else if (c->given & OPT_JSON) {
		json_open("devices");
		for (i = 0; i < got; i++) {
			fputs(i ? ", " : "", stdout);
			json_device(stdout, di[i].name, di[i].uuid, di[i].dev,
				    di[i].flags, di[i].open_count);
			printf(", \"event_nr\": %" PRIu32 ", \"targets\": %" PRIu32,
			       di[i].event_nr, di[i].targets);
			if (di[i].features[0]) {
				int nf = 0;

				fputs(", \"features\": {", stdout);
				each_feature(di[i].features, feature_json, &nf);
				putchar('}');
			}
			putchar('}');
		}
		puts("]}");
	} else {
		if (!n)
			puts("No devices found");
		for (i = 0; i < got; i++)
			info_text(&di[i], i == 0);
	}
	free(di);
	return ret;
}

/* The kernel's name of block device @dev, from sysfs; "?" if unknown. */
static void dev_name(uint64_t dev, char *buf, size_t size)
{
	char path[64], link[256];
	ssize_t n;
	char *slash;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", dev_major(dev),
		 dev_minor(dev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	link[n] = '\0';
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	if (strlen(slash) >= size)
		snprintf(buf, size, "?");
	else
		memcpy(buf, slash, strlen(slash) + 1);
}

/*
 * dmsetup's format: "N dependencies\t: (MAJ, MIN) ...", with the kernel
 * names of the devices after it, which dmsetup shows only on request.
 */
/* The lower devices of @name's table; *@devs is allocated (free() it). */
static int get_deps(const struct cmd *c, const char *name, uint32_t flags,
		    uint64_t **devs, uint32_t *count)
{
	struct request req = { .cmd = BSTACK_DEPS, .name = name, .flags = flags };
	struct reply rep;

	if (control_call(c, &req, &rep))
		return -1;
	*count = rep.hdr->count;
	if (*count > rep.data_len / sizeof(uint64_t)) {
		error_ctx(c, name, "malformed reply: %" PRIu32 " devices in %zu bytes",
			  *count, rep.data_len);
		free(rep.hdr);
		return -1;
	}
	*devs = calloc(*count ? *count : 1, sizeof(**devs));
	if (!*devs) {
		free(rep.hdr);
		error_ctx(c, name, "out of memory");
		return -1;
	}
	memcpy(*devs, rep.data, *count * sizeof(**devs));
	free(rep.hdr);
	return 0;
}

static int deps_one(struct cmd *c, const char *name, bool several)
{
	char devname[256];
	uint64_t *devs;
	uint32_t i, count;

	if (check_name(c, name) ||
	    get_deps(c, name, request_flags(c), &devs, &count))
		return 1;
	if (c->given & OPT_JSON) {
		fputs(c->shown++ ? ", {\"name\": " : "{\"name\": ", stdout);
		json_string(stdout, name);
		fputs(", \"deps\": [", stdout);
	} else {
		printf("%s%s%" PRIu32 " dependencies\t:", several ? name : "",
		       several ? ": " : "", count);
	}
	for (i = 0; i < count; i++) {
		dev_name(devs[i], devname, sizeof(devname));
		if (c->given & OPT_JSON) {
			printf("%s{\"major\": %u, \"minor\": %u, \"name\": ",
			       i ? ", " : "", dev_major(devs[i]), dev_minor(devs[i]));
			json_string(stdout, devname);
			putchar('}');
		} else {
			printf(" (%u, %u %s)", dev_major(devs[i]),
			       dev_minor(devs[i]), devname);
		}
	}
	fputs(c->given & OPT_JSON ? "]}" : "\n", stdout);
	free(devs);
	return 0;
}

/*
 * dmsetup's format: "N dependencies\t: (MAJ, MIN) ...", with the kernel
 * names of the devices after it, which dmsetup shows only on request;
 * for several devices, each line starts with "NAME: ".
 */
static int do_deps(struct cmd *c)
{
	int i, ret = 0;

	if (control_open(c))
		return 1;
	if (c->given & OPT_JSON)
		json_open("devices");
	for (i = 0; i < c->nargs; i++) {
		ret |= deps_one(c, c->args[i], c->nargs > 1);
		if (ret && (c->given & OPT_JSON))
			return 1;
	}
	if (c->given & OPT_JSON)
		puts("]}");
	return ret;
}

static int do_targets(struct cmd *c)
{
	struct request req = { .cmd = BSTACK_TARGETS };
	const struct bstack_target_version *v;
	struct reply rep;
	uint32_t i, count;

	if (control_open(c) || control_call(c, &req, &rep))
		return 1;
	count = rep.hdr->count;
	if (count > rep.data_len / sizeof(*v)) {
		error_ctx(c, NULL, "malformed reply: %" PRIu32 " targets in %zu bytes",
			  count, rep.data_len);
		free(rep.hdr);
		return 1;
	}
	v = rep.data;
	if (c->given & OPT_JSON)
		json_open("targets");
	for (i = 0; i < count; i++) {
		if (c->given & OPT_JSON) {
			char name[BSTACK_TYPE_LEN];

			snprintf(name, sizeof(name), "%.*s", BSTACK_TYPE_LEN - 1,
				 v[i].name);
			fputs(i ? ", {\"name\": " : "{\"name\": ", stdout);
			json_string(stdout, name);
			printf(", \"version\": [%" PRIu32 ", %" PRIu32 ", %" PRIu32 "]}",
			       v[i].version[0], v[i].version[1], v[i].version[2]);
		} else {
			printf("%-16.*s v%" PRIu32 ".%" PRIu32 ".%" PRIu32 "\n",
			       BSTACK_TYPE_LEN - 1, v[i].name, v[i].version[0],
			       v[i].version[1], v[i].version[2]);
		}
	}
	if (c->given & OPT_JSON)
		puts("]}");
	free(rep.hdr);
	return 0;
}

/* ---- ls ------------------------------------------------------------------ */

/* Does @name's live table have a target of type @type? 1, 0, or -1. */
static int has_target(const struct cmd *c, const char *name, const char *type)
{
	struct table t;
	int found;

	if (get_table(c, name, BSTACK_TABLE, 0, &t))
		return -1;
	found = table_keep_type(&t, type) > 0;
	table_free(&t);
	return found;
}

/* ls --tree: a device, then what it maps, bstack devices expanded. */
struct tree {
	struct bstack_list_entry *e;
	size_t n;
	uint64_t **deps;		/* per device, its lower devices */
	uint32_t *ndeps;
	bool *used;			/* a lower device of another bstack device */
};

/* The index of the bstack device @dev in @t, or -1. */
static ssize_t tree_find(const struct tree *t, uint64_t dev)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->e[i].dev == dev)
			return (ssize_t)i;
	return -1;
}

/* @indent: the "│  " and "   " columns of the levels above. */
static void tree_print(const struct tree *t, size_t i, char *indent,
		       size_t depth)
{
	size_t len = strlen(indent);
	uint32_t d;

	for (d = 0; d < t->ndeps[i]; d++) {
		bool last = d + 1 == t->ndeps[i];
		uint64_t dev = t->deps[i][d];
		ssize_t j = tree_find(t, dev);
		char name[256];

		if (j >= 0)
			snprintf(name, sizeof(name), "%s", t->e[j].name);
		else
			dev_name(dev, name, sizeof(name));
		printf("%s %s%s (%u:%u)\n", indent, last ? "\u2514\u2500" : "\u251c\u2500",
		       name, dev_major(dev), dev_minor(dev));
		/* The kernel refuses cycles; the depth bound is for a race. */
		if (j >= 0 && depth < 64 && len + 8 < 512) {
			strcpy(indent + len, last ? "   " : " \u2502 ");
			tree_print(t, (size_t)j, indent, depth + 1);
			indent[len] = '\0';
		}
	}
}

static int ls_tree(const struct cmd *c, struct bstack_list_entry *e, size_t n)
{
	struct tree t = { .e = e, .n = n };
	char indent[512] = "";
	size_t i, d;
	int ret = 0;

	t.deps = calloc(n ? n : 1, sizeof(*t.deps));
	t.ndeps = calloc(n ? n : 1, sizeof(*t.ndeps));
	t.used = calloc(n ? n : 1, sizeof(*t.used));
	if (!t.deps || !t.ndeps || !t.used) {
		error_ctx(c, NULL, "out of memory");
		ret = 1;
		goto out;
	}
	for (i = 0; i < n && !ret; i++)
		if (get_deps(c, e[i].name, 0, &t.deps[i], &t.ndeps[i]))
			ret = 1;
	if (ret)
		goto out;
	for (i = 0; i < n; i++)
		for (d = 0; d < t.ndeps[i]; d++) {
			ssize_t j = tree_find(&t, t.deps[i][d]);

			if (j >= 0)
				t.used[j] = true;
		}
	if (!n)
		puts("No devices found");
	for (i = 0; i < n; i++) {
		if (t.used[i])
			continue;
		printf("%s (%u:%u)\n", e[i].name, dev_major(e[i].dev),
		       dev_minor(e[i].dev));
		tree_print(&t, i, indent, 0);
	}
out:
	for (i = 0; t.deps && i < n; i++)
		free(t.deps[i]);
	free(t.deps);
	free(t.ndeps);
	free(t.used);
	return ret;
}

static int do_ls(struct cmd *c)
{
	struct bstack_list_entry *e;
	size_t i, n, kept = 0;
	int ret = 0;

	if ((c->given & OPT_TREE) && (c->given & (OPT_JSON | OPT_TARGET))) {
		error_msg("ls: --tree goes with neither --json nor --target");
		return EXIT_USAGE;
	}
	if (control_open(c) || list_devices(c, &e, &n))
		return 1;
	if (c->given & OPT_TREE) {
		ret = ls_tree(c, e, n);
		free(e);
		return ret;
	}
	/* --target: only the devices whose live table has such a target. */
	for (i = 0; i < n; i++) {
		int keep = 1;

		if (c->target && (e[i].flags & BSTACK_F_LIVE_TABLE))
			keep = has_target(c, e[i].name, c->target);
		else if (c->target)
			keep = 0;
		if (keep < 0) {
			free(e);
			return 1;
		}
		if (keep)
			e[kept++] = e[i];
	}
	n = kept;
	if (c->given & OPT_JSON) {
		json_open("devices");
		for (i = 0; i < n; i++) {
			fputs(i ? ", " : "", stdout);
			json_device(stdout, e[i].name, e[i].uuid, e[i].dev,
				    e[i].flags, e[i].open_count);
			putchar('}');
		}
		puts("]}");
		free(e);
		return 0;
	}
	if (!n)
		puts("No devices found");
	for (i = 0; i < n; i++)
		printf("%s\t(%u:%u)\n", e[i].name, dev_major(e[i].dev),
		       dev_minor(e[i].dev));
	free(e);
	return 0;
}

/* ---- mknodes -------------------------------------------------------------- */

#define LINK_DIR	"/dev/bstack"

/*
 * /dev/bstackN as a block node of @e's number (bstackN's minor is N), and
 * /dev/bstack/NAME pointing at it: what devtmpfs and udev would make.
 */
static int mknode_one(const struct cmd *c, const struct bstack_list_entry *e)
{
	dev_t dev = makedev(dev_major(e->dev), dev_minor(e->dev));
	char node[64], rel[64], link[sizeof(LINK_DIR) + BSTACK_NAME_LEN];
	char now[64];
	struct stat st;
	ssize_t n;

	snprintf(node, sizeof(node), "/dev/bstack%u", dev_minor(e->dev));
	if (!lstat(node, &st) && (!S_ISBLK(st.st_mode) || st.st_rdev != dev) &&
	    unlink(node)) {
		error_ctx(c, e->name, "cannot remove the stale %s: %s", node,
			  strerror(errno));
		return 1;
	}
	if (lstat(node, &st) && mknod(node, S_IFBLK | 0660, dev)) {
		error_ctx(c, e->name, "cannot make %s: %s", node, strerror(errno));
		return 1;
	}
	if (mkdir(LINK_DIR, 0755) && errno != EEXIST) {
		error_ctx(c, e->name, "cannot make " LINK_DIR ": %s", strerror(errno));
		return 1;
	}
	snprintf(link, sizeof(link), LINK_DIR "/%s", e->name);
	snprintf(rel, sizeof(rel), "../bstack%u", dev_minor(e->dev));
	n = readlink(link, now, sizeof(now) - 1);
	if (n >= 0) {
		now[n] = '\0';
		if (!strcmp(now, rel))
			return 0;
		unlink(link);
	}
	if (symlink(rel, link)) {
		error_ctx(c, e->name, "cannot link %s to %s: %s", link, rel,
			  strerror(errno));
		return 1;
	}
	return 0;
}

/* Links in LINK_DIR that name no device now go (not other files). */
static int mknodes_prune(const struct cmd *c, const struct bstack_list_entry *e,
			 size_t n)
{
	struct dirent *d;
	DIR *dir = opendir(LINK_DIR);
	int ret = 0;
	size_t i;

	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		char link[sizeof(LINK_DIR) + 256];
		struct stat st;

		if (d->d_name[0] == '.')
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(e[i].name, d->d_name))
				break;
		snprintf(link, sizeof(link), LINK_DIR "/%s", d->d_name);
		if (i < n || lstat(link, &st) || !S_ISLNK(st.st_mode))
			continue;
		if (unlink(link)) {
			error_ctx(c, NULL, "cannot remove the stale %s: %s", link,
				  strerror(errno));
			ret = 1;
		}
	}
	closedir(dir);
	return ret;
}

static int do_mknodes(struct cmd *c)
{
	struct bstack_list_entry *e;
	size_t i, n;
	int j, ret = 0;

	for (j = 0; j < c->nargs; j++)
		if (check_name(c, c->args[j]))
			return 1;
	if (control_open(c) || list_devices(c, &e, &n))
		return 1;
	for (j = 0; j < c->nargs; j++) {
		for (i = 0; i < n; i++)
			if (!strcmp(e[i].name, c->args[j]))
				break;
		if (i == n) {
			error_ctx(c, c->args[j], "no device named '%s'", c->args[j]);
			ret = 1;
		} else {
			ret |= mknode_one(c, &e[i]);
		}
	}
	if (!c->nargs) {
		for (i = 0; i < n; i++)
			ret |= mknode_one(c, &e[i]);
		ret |= mknodes_prune(c, e, n);
	}
	free(e);
	return ret;
}

/* ---- apply, deactivate ----------------------------------------------------- */

#define BSTACKTAB	"/etc/bstacktab"

static const struct bstack_list_entry *find_running(const struct bstack_list_entry *e,
						     size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

/*
 * @te's table as it is to be loaded, and as the kernel prints tables:
 * every lower device as MAJ:MIN. /dev/bstack/NAME of a device that runs
 * is its number, so that no udev link is needed; another path is stat()ed.
 * In a dry run, the entries it maps need not run.
 */
static int resolve_table(const struct tab_entry *te,
			 const struct bstack_list_entry *e, size_t n, bool dry,
			 struct table *t, char *why, size_t size)
{
	char terr[TABLE_ERR_LEN];
	size_t i;

	if (table_parse(te->table, te->table_len, t, terr)) {
		snprintf(why, size, "%s", terr);
		return -1;
	}
	for (i = 0; i < t->count; i++) {
		char *in = t->targets[i].params, *out, *w, *save = NULL;

		/* The kernel's messages then name the line of the file. */
		if (!te->table_file)
			t->targets[i].line += te->table_line - 1;
		size_t used = 0;

		/* A word becomes at most "4095:1048575", and is 1 byte or more. */
		out = malloc(strlen(in) * 13 + 1);
		if (!out) {
			snprintf(why, size, "out of memory");
			return -1;
		}
		out[0] = '\0';
		for (w = strtok_r(in, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			const struct bstack_list_entry *r = NULL;
			const char *word = w;
			struct stat st;
			char num[24];

			if (!strncmp(w, TAB_LINK_DIR, strlen(TAB_LINK_DIR))) {
				r = find_running(e, n, w + strlen(TAB_LINK_DIR));
				/* A dry run made none of those it would make. */
				if (!r && stat(w, &st) && !(dry && te->ndeps)) {
					snprintf(why, size, "it maps %s, which is not running", w);
					free(out);
					return -1;
				}
			}
			if (r) {
				snprintf(num, sizeof(num), "%u:%u", dev_major(r->dev),
					 dev_minor(r->dev));
				word = num;
			} else if (w[0] == '/' && !stat(w, &st) && S_ISBLK(st.st_mode)) {
				snprintf(num, sizeof(num), "%u:%u", major(st.st_rdev),
					 minor(st.st_rdev));
				word = num;
			}
			used += (size_t)sprintf(out + used, "%s%s", used ? " " : "", word);
		}
		free(t->targets[i].params);
		t->targets[i].params = out;
	}
	return 0;
}

static bool same_table(const struct table *a, const struct table *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++)
		if (a->targets[i].start != b->targets[i].start ||
		    a->targets[i].length != b->targets[i].length ||
		    strcmp(a->targets[i].type, b->targets[i].type) ||
		    strcmp(a->targets[i].params, b->targets[i].params))
			return false;
	return true;
}

/* CREATE or LOAD @name with table @t (a uuid and flags for CREATE). */
static int send_table(struct cmd *c, unsigned long ioc, const char *name,
		      const char *uuid, uint32_t flags, const struct table *t)
{
	struct request req = { .cmd = ioc, .name = name, .uuid = uuid,
			       .flags = flags };
	struct reply rep = { NULL, NULL, 0 };
	char err[TABLE_ERR_LEN];
	void *payload = NULL;
	int ret;

	if (table_serialize(t, &payload, &req.payload_len, &req.count, err)) {
		error_ctx(c, name, "%s", err);
		return -1;
	}
	req.payload = payload;
	ret = call_and_settle(c, &req, &rep);
	free(payload);
	free(rep.hdr);
	return ret;
}

static int name_call(struct cmd *c, unsigned long ioc, const char *name,
		     uint32_t flags, const void *payload, size_t len)
{
	struct request req = { .cmd = ioc, .name = name, .flags = flags,
			       .payload = payload, .payload_len = len };
	struct reply rep = { NULL, NULL, 0 };
	int ret = call_and_settle(c, &req, &rep);

	free(rep.hdr);
	return ret;
}

/* Read @te's table=FILE into its ->table, or give it the error. */
static void read_table_file(struct tab_entry *te)
{
	FILE *f = fopen(te->table_file, "r");

	if (!f) {
		snprintf(te->error, sizeof(te->error), "line %u: cannot open %s: %s",
			 te->line, te->table_file, strerror(errno));
		return;
	}
	if (read_all(f, &te->table, &te->table_len))
		snprintf(te->error, sizeof(te->error), "line %u: cannot read %s: %s",
			 te->line, te->table_file, strerror(errno));
	fclose(f);
}

/*
 * The table of @te to the kernel: its messages name the lines of the
 * file the table is in.
 */
static int send_entry(struct cmd *c, const struct tab_entry *te,
		      unsigned long ioc, const struct table *t)
{
	const char *where = c->where;
	int ret;

	if (te->table_file)
		c->where = te->table_file;
	ret = send_table(c, ioc, te->name,
			 ioc == BSTACK_CREATE && te->uuid[0] ? te->uuid : NULL,
			 ioc == BSTACK_CREATE && te->readonly ? BSTACK_F_READONLY : 0,
			 t);
	c->where = where;
	return ret;
}

/* What apply_one() did to an entry. */
enum { DONE_NOTHING, DONE_CREATE, DONE_RELOAD, DONE_FAILED };

/* Bring @te up as it says: create it, or reload what differs. */
static int apply_one(struct cmd *c, const struct tab_entry *te,
		     const struct bstack_list_entry *e, size_t n, bool dry)
{
	const struct bstack_list_entry *r = find_running(e, n, te->name);
	struct table want = TABLE_INIT, live = TABLE_INIT;
	bool reload, setuuid = false;
	char why[TAB_ERR_LEN];
	int ret = DONE_NOTHING;

	if (resolve_table(te, e, n, dry, &want, why, sizeof(why))) {
		error_ctx(c, te->name, "line %u: %s", te->line, why);
		table_free(&want);
		return DONE_FAILED;
	}
	if (!r) {
		if (dry)
			printf("would create %s\n", te->name);
		else if (send_entry(c, te, BSTACK_CREATE, &want))
			ret = DONE_FAILED;
		else
			printf("created %s\n", te->name);
		table_free(&want);
		return ret ? ret : DONE_CREATE;
	}
	if (!(r->flags & BSTACK_F_READONLY_DEV) != !te->readonly) {
		error_ctx(c, te->name, "line %u: it is %s, the file says %s: remove it to change that",
			  te->line,
			  te->readonly ? "read-write" : "read-only",
			  te->readonly ? "readonly" : "read-write");
		table_free(&want);
		return DONE_FAILED;
	}
	if (te->uuid[0] && strcmp(te->uuid, r->uuid)) {
		if (r->uuid[0]) {
			error_ctx(c, te->name, "line %u: it has uuid '%s', the file says '%s': a uuid is set once; remove the device to change it",
				  te->line, r->uuid, te->uuid);
			table_free(&want);
			return DONE_FAILED;
		}
		setuuid = true;
	}
	if (!(r->flags & BSTACK_F_LIVE_TABLE)) {
		reload = true;
	} else if (get_table(c, te->name, BSTACK_TABLE, 0, &live)) {
		table_free(&want);
		return DONE_FAILED;
	} else {
		reload = !same_table(&want, &live);
	}
	table_free(&live);
	if (setuuid) {
		struct bstack_rename args;

		memset(&args, 0, sizeof(args));
		memcpy(args.new, te->uuid, strlen(te->uuid));
		if (dry)
			printf("would set the uuid of %s to %s\n", te->name, te->uuid);
		else if (name_call(c, BSTACK_RENAME, te->name, BSTACK_F_SETUUID,
				   &args, sizeof(args)))
			ret = DONE_FAILED;
		else
			printf("set the uuid of %s to %s\n", te->name, te->uuid);
		if (!ret)
			ret = DONE_RELOAD;
	}
	if (reload && ret != DONE_FAILED) {
		/* resume suspends first: no I/O runs on both tables. */
		if (dry)
			printf("would reload %s: its table differs\n", te->name);
		else if (send_entry(c, te, BSTACK_LOAD, &want) ||
			 name_call(c, BSTACK_RESUME, te->name, 0, NULL, 0))
			ret = DONE_FAILED;
		else
			printf("reloaded %s\n", te->name);
		if (ret != DONE_FAILED)
			ret = DONE_RELOAD;
	}
	table_free(&want);
	return ret;
}

/* Read and parse @path, with the tables of table=FILE entries. */
static int read_bstacktab(struct cmd *c, const char *path, struct bstacktab *tab,
			  size_t *failed)
{
	char err[TAB_ERR_LEN];
	char *text;
	size_t i, len;
	FILE *f;
	int r;

	f = fopen(path, "r");
	if (!f) {
		error_ctx(c, NULL, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	r = read_all(f, &text, &len);
	fclose(f);
	if (r) {
		error_ctx(c, NULL, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	r = bstacktab_parse(text, len, tab, err);
	free(text);
	if (r > 0) {
		error_ctx(c, NULL, "%s: %s", path, err);
		(*failed)++;
	}
	for (i = 0; r >= 0 && i < tab->count; i++)
		if (tab->entries[i].table_file && !tab->entries[i].error[0])
			read_table_file(&tab->entries[i]);
	if (r < 0 || bstacktab_prepare(tab)) {
		bstacktab_free(tab);
		error_ctx(c, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * apply [FILE]: make the running devices match FILE (/etc/bstacktab):
 * create what is missing, reload (suspend, load, resume) only what
 * differs, leave the rest alone, lower devices first. An entry that is
 * wrong is refused with its line, and so are those that map it; the
 * others come up all the same.
 */
static int do_apply(struct cmd *c)
{
	const char *path = c->nargs ? c->args[0] : BSTACKTAB;
	size_t i, n, count[DONE_FAILED + 1] = { 0 };
	bool dry = c->given & OPT_DRYRUN;
	struct bstack_list_entry *e;
	struct bstacktab tab;
	unsigned char *failed;
	int ret;

	if (read_bstacktab(c, path, &tab, &count[DONE_FAILED]))
		return 1;
	failed = calloc(tab.count + 1, 1);
	if (!failed) {
		bstacktab_free(&tab);
		error_ctx(c, NULL, "out of memory");
		return 1;
	}
	if (control_open(c)) {
		free(failed);
		bstacktab_free(&tab);
		return 1;
	}
	catch_interrupts();
	for (i = 0; i < tab.count; i++) {
		size_t k = tab.order[i], d;
		struct tab_entry *te = &tab.entries[k];
		int done;

		for (d = 0; d < te->ndeps && !te->error[0]; d++)
			if (failed[te->deps[d]])
				snprintf(te->error, sizeof(te->error),
					 "line %u: %s is not brought up: it maps %s, which did not come up",
					 te->line, te->name,
					 tab.entries[te->deps[d]].name);
		if (te->error[0]) {
			error_ctx(c, NULL, "%s: %s", path, te->error);
			failed[k] = 1;
			count[DONE_FAILED]++;
			continue;
		}
		/* A device may map those just made: list them anew. */
		if (list_devices(c, &e, &n)) {
			failed[k] = 1;
			count[DONE_FAILED]++;
			continue;
		}
		c->where = path;
		done = apply_one(c, te, e, n, dry);
		c->where = NULL;
		free(e);
		count[done]++;
		failed[k] = done == DONE_FAILED;
	}
	if (!count[DONE_CREATE] && !count[DONE_RELOAD] && !count[DONE_FAILED])
		printf("nothing to change: the %zu device%s of %s are as it says\n",
		       tab.count, tab.count == 1 ? "" : "s", path);
	else
		printf("%s%zu created, %zu reloaded, %zu unchanged, %zu failed\n",
		       dry ? "dry run, nothing done: would be " : "",
		       count[DONE_CREATE], count[DONE_RELOAD],
		       count[DONE_NOTHING], count[DONE_FAILED]);
	ret = count[DONE_FAILED] ? 1 : 0;
	free(failed);
	bstacktab_free(&tab);
	return ret;
}

/* deactivate --all: every device, the ones stacked on others first. */
static int do_deactivate(struct cmd *c)
{
	if (!(c->given & OPT_ALL)) {
		error_msg("deactivate: give --all (remove NAME... removes some)");
		return EXIT_USAGE;
	}
	return do_remove_all(c);
}

static int do_rename(struct cmd *c)
{
	const char *name = c->args[0], *value = c->args[1];
	struct request req = {
		.cmd = BSTACK_RENAME, .name = name, .flags = request_flags(c),
	};
	struct bstack_rename args;
	struct reply rep;
	int ret;

	if (check_name(c, name))
		return 1;
	if (c->given & OPT_SETUUID) {
		if (check_uuid(c, name, value))
			return 1;
		if (!*value) {
			error_ctx(c, name, "the new uuid is empty");
			return 1;
		}
	} else if (check_name(c, value)) {
		return 1;
	}
	memset(&args, 0, sizeof(args));
	memcpy(args.new, value, strnlen(value, sizeof(args.new) - 1));
	req.payload = &args;
	req.payload_len = sizeof(args);
	if (control_open(c))
		return 1;
	catch_interrupts();
	ret = call_and_settle(c, &req, &rep);
	if (!ret)
		free(rep.hdr);
	return ret ? 1 : 0;
}

/*
 * dmsetup's message: NAME SECTOR WORDS..., the words joined with blanks,
 * to the target at SECTOR; prints the target's answer, if any.
 */
static int do_message(struct cmd *c)
{
	const char *name = c->args[0], *sec = c->args[1];
	struct request req = { .cmd = BSTACK_MESSAGE, .name = name };
	struct bstack_message *m;
	unsigned long long sector;
	struct reply rep;
	size_t len = 0;
	char *end;
	int i, ret;

	if (check_name(c, name))
		return 1;
	errno = 0;
	sector = strtoull(sec, &end, 10);
	if (!*sec || *end || sec[0] == '-' || sec[0] == '+' || errno) {
		error_ctx(c, name, "sector '%s' is not a number", sec);
		return 1;
	}
	for (i = 2; i < c->nargs; i++)
		len += strlen(c->args[i]) + 1;
	if (len > BSTACK_MESSAGE_LEN) {
		error_ctx(c, name, "the message is %zu bytes, more than %u",
			  len, BSTACK_MESSAGE_LEN);
		return 1;
	}
	m = calloc(1, sizeof(*m) + len);
	if (!m) {
		error_ctx(c, name, "out of memory");
		return 1;
	}
	m->sector = sector;
	for (i = 2; i < c->nargs; i++) {
		if (i > 2)
			strcat(m->text, " ");
		strcat(m->text, c->args[i]);
	}
	req.payload = m;
	req.payload_len = sizeof(*m) + len;
	ret = control_open(c) || control_call(c, &req, &rep);
	free(m);
	if (ret)
		return 1;
	if (rep.data_len && memchr(rep.data, '\0', rep.data_len))
		puts(rep.data);
	free(rep.hdr);
	return 0;
}

/*
 * dmsetup's wait: sleep until the event number of NAME passes EVENT_NR
 * (by default the current one), then print the new one.
 */
static int do_wait(struct cmd *c)
{
	const char *name = c->args[0];
	struct request req = { .cmd = BSTACK_WAIT_EVENT, .name = name };
	struct reply rep;
	uint32_t last;

	if (check_name(c, name) || control_open(c))
		return 1;
	if (c->nargs > 1) {
		const char *t = c->args[1];
		unsigned long v;
		char *end;

		errno = 0;
		v = strtoul(t, &end, 10);
		if (!*t || *end || t[0] == '-' || t[0] == '+' || errno ||
		    v > UINT32_MAX) {
			error_ctx(c, name, "event number '%s' is not a number in 0..%u",
				  t, UINT32_MAX);
			return 1;
		}
		last = (uint32_t)v;
	} else {
		struct request now = { .cmd = BSTACK_TABLE, .name = name };

		if (control_call(c, &now, &rep))
			return 1;
		last = rep.hdr->event_nr;
		free(rep.hdr);
	}
	catch_interrupts();
	req.event_nr = last;
	if (control_call(c, &req, &rep))
		return 1;
	printf("%" PRIu32 "\n", rep.hdr->event_nr);
	free(rep.hdr);
	return 0;
}

/*
 * VERSION's reply (1.3): "kernel: REL" and "<what>: <how>" lines on how the
 * module was built for its kernel. A module older than 1.3 sends none.
 */
/*
 * The VERSION reply's text, "kernel: RELEASE" and then "INTERFACE: HOW"
 * per line, as text or as the members of a JSON object.
 */
static void print_build(const struct reply *rep, bool json)
{
	const char *line = rep->data;
	const char *end = line + strnlen(rep->data, rep->data_len);
	int interfaces = 0;

	for (; line < end; ) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		const char *how = colon ? colon + 1 : eol;
		char key[128], val[512];

		while (how < eol && *how == ' ')
			how++;
		if (colon) {
			snprintf(key, sizeof(key), "%.*s", (int)(colon - line), line);
			snprintf(val, sizeof(val), "%.*s", (int)(eol - how), how);
			if (!strcmp(key, "kernel")) {
				if (json) {
					fputs(", \"kernel\": ", stdout);
					json_string(stdout, val);
				} else {
					printf("Built for kernel: %s\n", val);
				}
			} else if (json) {
				fputs(interfaces++ ? ", {\"name\": " :
				      ", \"interfaces\": [{\"name\": ", stdout);
				json_string(stdout, key);
				fputs(", \"how\": ", stdout);
				json_string(stdout, val);
				putchar('}');
			} else {
				if (!interfaces++)
					printf("Kernel interfaces:\n");
				printf("  %s: %s\n", key, val);
			}
		}
		line = eol + 1;
	}
	if (json && interfaces)
		putchar(']');
}

static int do_version(struct cmd *c)
{
	struct request req = { .cmd = BSTACK_VERSION };
	bool json = c->given & OPT_JSON;
	struct reply rep;

	if (json) {
		printf("{\"schema\": %d, \"bstackctl\": \"%s\"", JSON_SCHEMA,
		       BSTACKCTL_VERSION);
	} else {
		printf("bstackctl version: %s\n", BSTACKCTL_VERSION);
	}
	/* Keep the order of the lines when stderr says why the rest failed. */
	fflush(stdout);
	if (control_open(c) || control_call(c, &req, &rep)) {
		if (json)
			puts("}");
		return 1;
	}
	if (json)
		printf(", \"driver\": \"%u.%u.%u\"", rep.hdr->version[0],
		       rep.hdr->version[1], rep.hdr->version[2]);
	else
		printf("Driver version: %u.%u.%u\n", rep.hdr->version[0],
		       rep.hdr->version[1], rep.hdr->version[2]);
	print_build(&rep, json);
	if (json)
		puts("}");
	free(rep.hdr);
	return 0;
}

static int do_help(struct cmd *c);

static const struct verb verbs[] = {
	{ "create", do_create, BSTACK_CREATE,
	  OPT_UUID | OPT_READONLY | OPT_NOTABLE | OPT_TABLE | OPT_UDEV, 1, 2,
	  "create NAME [--uuid UUID] [--readonly] [--notable | --table TEXT | FILE]",
	  "Create device NAME with the table from --table, FILE or stdin, and\n"
	  "make it live. --notable creates it with no table." },
	{ "remove", do_name, BSTACK_REMOVE,
	  OPT_FORCE | OPT_DEFERRED | OPT_RETRY | OPT_UDEV | OPT_BYUUID, 1, INT_MAX,
	  "remove NAME... [--force] [--deferred] [--retry]",
	  "Remove device NAME. If it is open, this fails and says who uses it,\n"
	  "unless --deferred: then NAME goes when its last user closes it.\n"
	  "--force first swaps in a table that fails all I/O, so users give up.\n"
	  "--retry tries again for 5 s while it is open (udev's blkid)." },
	{ "remove_all", do_remove_all, BSTACK_REMOVE_ALL,
	  OPT_FORCE | OPT_DEFERRED | OPT_RETRY | OPT_UDEV, 0, 0,
	  "remove_all [--force] [--deferred] [--retry]",
	  "Remove every device, the ones stacked on others first; --force,\n"
	  "--deferred and --retry act on the open ones as for remove." },
	{ "load", do_load, BSTACK_LOAD, OPT_TABLE | OPT_BYUUID, 1, 2,
	  "load NAME [--table TEXT | FILE]",
	  "Load the inactive table of NAME from --table, FILE or stdin." },
	{ "reload", do_load, BSTACK_LOAD, OPT_TABLE | OPT_BYUUID, 1, 2,
	  "reload NAME [--table TEXT | FILE]",
	  "The same as load." },
	{ "suspend", do_suspend, BSTACK_SUSPEND,
	  OPT_NOFLUSH | OPT_NOLOCKFS | OPT_TIMEOUT | OPT_BYUUID, 1, INT_MAX,
	  "suspend NAME... [--noflush] [--nolockfs] [--timeout SECONDS]",
	  "Stop I/O to NAME: freeze its filesystem (not with --nolockfs), hold\n"
	  "new I/O and wait for the I/O in flight. With --timeout, or on Ctrl-C,\n"
	  "give up and leave NAME running. --noflush is accepted as in dmsetup." },
	{ "resume", do_name, BSTACK_RESUME, OPT_NOLOCKFS | OPT_UDEV | OPT_BYUUID,
	  1, INT_MAX,
	  "resume NAME... [--nolockfs]",
	  "Make the inactive table of NAME live, if it has one (suspending NAME\n"
	  "meanwhile, as suspend does), and let the held I/O go." },
	{ "clear", do_name, BSTACK_CLEAR, OPT_BYUUID, 1, 1,
	  "clear NAME",
	  "Drop the inactive table of NAME." },
	{ "ls", do_ls, BSTACK_LIST, OPT_JSON | OPT_TARGET | OPT_TREE, 0, 0,
	  "ls [--json] [--target TYPE] [--tree]",
	  "List the devices, one \"NAME<tab>(MAJOR:MINOR)\" line each; with\n"
	  "--target, those whose live table has a target of TYPE; with --tree,\n"
	  "each device above what it maps, bstack devices expanded." },
	{ "info", do_info, BSTACK_TABLE,
	  OPT_JSON | OPT_COLUMNS | OPT_FIELDS | OPT_NOHEADINGS | OPT_SEPARATOR |
	  OPT_NAMEPREFIXES | OPT_BYUUID, 0, INT_MAX,
	  "info [--json] [-c [-o FIELDS] [--noheadings] [--separator S] [--nameprefixes]] [NAME...]",
	  "Show the state of each NAME, or of every device, as dmsetup info does;\n"
	  "-c in columns, dmsetup's fields (-o help lists them)." },
	{ "table", do_show, BSTACK_TABLE,
	  OPT_INACTIVE | OPT_JSON | OPT_TARGET | OPT_BYUUID, 0, INT_MAX,
	  "table [--inactive] [--json] [--target TYPE] [NAME...]",
	  "Show the live (or inactive) table of each NAME, or of every device;\n"
	  "with --target, only its lines of that type." },
	{ "status", do_show, BSTACK_STATUS,
	  OPT_JSON | OPT_TARGET | OPT_BYUUID, 0, INT_MAX,
	  "status [--json] [--target TYPE] [NAME...]",
	  "Show the status of the targets of NAME, or of every device, and a\n"
	  "\"# reads N writes N read_bytes N ...\" line of the device's I/O counters." },
	{ "deps", do_deps, BSTACK_DEPS, OPT_INACTIVE | OPT_JSON | OPT_BYUUID,
	  1, INT_MAX,
	  "deps [--inactive] [--json] NAME...",
	  "Show the lower devices of NAME's live (or inactive) table:\n"
	  "\"N dependencies : (MAJOR, MINOR NAME)...\"." },
	{ "wait", do_wait, BSTACK_WAIT_EVENT, OPT_BYUUID, 1, 2,
	  "wait NAME [EVENT_NR]",
	  "Wait until the event number of NAME passes EVENT_NR (by default the\n"
	  "current one: wait for the next event), and print the new one. Table\n"
	  "changes, suspend, resume, rename and I/O errors are events." },
	{ "message", do_message, BSTACK_MESSAGE, OPT_BYUUID, 3, INT_MAX,
	  "message NAME SECTOR WORDS...",
	  "Send WORDS to the target of NAME that maps SECTOR, as dmsetup message\n"
	  "does; faulty takes its key=value words, and reset." },
	{ "targets", do_targets, BSTACK_TARGETS, OPT_JSON, 0, 0,
	  "targets [--json]",
	  "List the target types the driver knows, with their versions." },
	{ "rename", do_rename, BSTACK_RENAME, OPT_SETUUID | OPT_UDEV | OPT_BYUUID,
	  2, 2,
	  "rename NAME NEWNAME | rename NAME --setuuid UUID",
	  "Rename NAME, or give it a uuid if it has none." },
	{ "apply", do_apply, 0, OPT_DRYRUN | OPT_UDEV, 0, 1,
	  "apply [--dry-run] [FILE]",
	  "Make the running devices match FILE (" BSTACKTAB "): create the\n"
	  "missing ones, reload those whose table differs, lower devices first;\n"
	  "--dry-run prints what it would do." },
	{ "deactivate", do_deactivate, BSTACK_REMOVE_ALL,
	  OPT_ALL | OPT_RETRY | OPT_UDEV, 0, 0,
	  "deactivate --all [--retry]",
	  "Remove every device, top of the stack first (at shutdown)." },
	{ "mknodes", do_mknodes, 0, OPT_BYUUID, 0, INT_MAX,
	  "mknodes [NAME...]",
	  "Make /dev/bstackN and the /dev/bstack/NAME link of each NAME, or of\n"
	  "every device, as udev would, and remove links that name no device." },
	{ "version", do_version, BSTACK_VERSION, OPT_JSON, 0, 0,
	  "version [--json]",
	  "Show the versions of bstackctl and of the bstack driver." },
	{ "help", do_help, 0, 0, 0, 0,
	  "help",
	  "Show this help." },
};

#define NR_VERBS	ARRAY_SIZE(verbs)

static void usage(FILE *out)
{
	size_t i;

	fputs("Usage: bstackctl VERB [ARGS] [OPTIONS]\n"
	      "Control bstack devices, the way dmsetup controls device-mapper.\n"
	      "\nVerbs:\n", out);
	for (i = 0; i < NR_VERBS; i++) {
		const char *h = verbs[i].help;

		fprintf(out, "  %s\n", verbs[i].synopsis);
		/* Indent every line of the help text. */
		while (*h) {
			size_t n = strcspn(h, "\n");

			fprintf(out, "      %.*s\n", (int)n, h);
			h += n + (h[n] == '\n');
		}
	}
	fputs("\nOptions, before or after the arguments:\n"
	      "  -u, --uuid UUID   create: the uuid of the new device, at most "
	      STR(BSTACK_UUID_MAX) "\n"
	      "                    bytes; the other verbs: the device whose uuid it is\n"
	      "  -r, --readonly    create a read-only device\n"
	      "      --notable     create the device without a table\n"
	      "      --table TEXT  the table itself; lines are separated by newlines\n"
	      "      --inactive    show the inactive table instead of the live one\n"
	      "      --noflush     suspend: accepted as in dmsetup\n"
	      "      --nolockfs    suspend, resume: do not freeze the filesystem\n"
	      "      --timeout S   suspend: give up after S seconds of waiting\n"
	      "      --force       remove: make the I/O of an open device fail\n"
	      "      --deferred    remove: remove an open device at its last close\n"
	      "      --json        ls, info, table, status, deps, targets, version:\n"
	      "                    JSON output, its layout's version in \"schema\"\n"
	      "      --target TYPE ls, table, status: only targets of that type\n"
	      "      --tree        ls: the devices as a tree of what maps what\n"
	      "  -c, --columns     info: one line per device, in columns\n"
	      "  -o, --options F   info -c: the fields, comma-separated (-o help)\n"
	      "      --noheadings  info -c: no heading line\n"
	      "      --separator S info -c: S between the fields, unaligned\n"
	      "      --nameprefixes  info -c: BSTACK_FIELD='value' for each field\n"
	      "      --dry-run     apply: print what would change, change nothing\n"
	      "      --all         deactivate: every device\n"
	      "      --setuuid     rename: set the uuid instead of the name\n"
	      "      --retry       remove: retry for 5 s while the device is open\n"
	      "      --noudevsync  create, remove, resume, rename: do not wait for\n"
	      "                    udev to finish with the device\n"
	      "      --udevtimeout S  the same: wait at most S seconds (30)\n"
	      "  -h, --help        show this help\n"
	      "\nA table line is \"<start> <length> <target> [args...]\", in 512-byte\n"
	      "sectors; blank lines and lines starting with '#' are ignored.\n"
	      "BSTACK_CONTROL in the environment replaces " DEFAULT_CONTROL ".\n"
	      "Exit status: 0 on success, 1 on failure, 2 on a command-line error.\n",
	      out);
}

static int do_help(struct cmd *c)
{
	(void)c;
	usage(stdout);
	return 0;
}

/* ---- command line ------------------------------------------------------- */

static const struct verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < NR_VERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static const char *option_name(unsigned int bit)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(option_defs); i++)
		if (option_defs[i].bit == bit)
			return option_defs[i].name;
	return "?";
}

/* Record option @o; those with an argument may be given only once. */
static int set_option(struct cmd *c, const struct option_def *o)
{
	if (o->arg && (c->given & o->bit)) {
		error_msg("option %s is given twice", o->name);
		return -1;
	}
	c->given |= o->bit;
	if (o->arg)
		*(const char **)((char *)c + o->arg) = optarg;
	return 0;
}

/*
 * Tell what getopt refused, as the user wrote it. An unknown short option
 * may sit in a cluster ("-rz"), so it is named by optopt; otherwise the
 * word just consumed is the option (optopt is 0 for an unknown long one).
 */
static void bad_option(int ret, char **argv)
{
	if (ret == ':')
		error_msg("option '%s' needs an argument (see 'bstackctl --help')",
			  argv[optind - 1]);
	else if (optopt)
		error_msg("option '-%c' is unknown (see 'bstackctl --help')", optopt);
	else
		error_msg("option '%s' is unknown (see 'bstackctl --help')",
			  argv[optind - 1]);
}

static int parse_options(struct cmd *c, int argc, char **argv)
{
	const char *verb = NULL;
	size_t i;
	int ret;

	opterr = 0;
	while ((ret = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		int err = 0;

		switch (ret) {
		case 1:
			if (!verb)
				verb = optarg;
			else
				c->args[c->nargs++] = optarg;
			break;
		case 'h':
			c->help = true;
			break;
		default:
			for (i = 0; i < ARRAY_SIZE(option_defs); i++)
				if (option_defs[i].val == ret)
					break;
			if (i == ARRAY_SIZE(option_defs)) {
				bad_option(ret, argv);
				return -1;
			}
			err = set_option(c, &option_defs[i]);
		}
		if (err)
			return -1;
	}
	/* After "--", everything is an argument. */
	for (; optind < argc; optind++) {
		if (!verb)
			verb = argv[optind];
		else
			c->args[c->nargs++] = argv[optind];
	}
	if (c->help)
		return 0;
	if (!verb) {
		error_msg("no verb given (see 'bstackctl --help')");
		return -1;
	}
	c->verb = find_verb(verb);
	if (!c->verb) {
		error_msg("unknown verb '%s' (see 'bstackctl --help')", verb);
		return -1;
	}
	return 0;
}

/* -u UUID names the device, for every verb that takes a NAME but create. */
static bool by_uuid(const struct cmd *c)
{
	return (c->given & OPT_UUID) && c->verb->run != do_create;
}

/* Check the options and the number of arguments against the verb. */
static int check_usage(const struct cmd *c)
{
	const struct verb *v = c->verb;
	unsigned int bad = c->given & ~v->options;
	int nargs = c->nargs + (by_uuid(c) ? 1 : 0);
	unsigned long secs;

	if (bad) {
		error_msg("%s: option %s does not apply (usage: bstackctl %s)",
			  c->verb->name, option_name(bad & -bad), v->synopsis);
		return -1;
	}
	if (nargs < v->min_args) {
		error_msg("%s: missing NAME (usage: bstackctl %s)", c->verb->name,
			  v->synopsis);
		return -1;
	}
	if (nargs > v->max_args) {
		error_msg("%s: unexpected argument '%s' (usage: bstackctl %s)",
			  c->verb->name, c->args[v->max_args - (nargs - c->nargs)],
			  v->synopsis);
		return -1;
	}
	if ((c->given & OPT_NOTABLE) && ((c->given & OPT_TABLE) || c->nargs > 1)) {
		error_msg("%s: --notable excludes --table and FILE", c->verb->name);
		return -1;
	}
	if ((c->given & OPT_UDEVTIMEOUT) &&
	    !parse_seconds(c->udevtimeout, UDEV_TIMEOUT_MAX_S, &secs)) {
		error_msg("%s: --udevtimeout '%s' is not a number of seconds in 1..%d",
			  c->verb->name, c->udevtimeout, UDEV_TIMEOUT_MAX_S);
		return -1;
	}
	if ((c->given & OPT_TABLE) && c->nargs > 1) {
		error_msg("%s: give the table with --table or FILE, not both",
			  c->verb->name);
		return -1;
	}
	return 0;
}

/*
 * -u UUID: find the device that has it, and put its name first among the
 * arguments, where NAME goes.
 */
static int resolve_uuid(struct cmd *c)
{
	struct bstack_list_entry *e;
	static char name[BSTACK_NAME_LEN];
	size_t i, n;

	if (control_open(c) || list_devices(c, &e, &n))
		return -1;
	for (i = 0; i < n; i++)
		if (!strcmp(e[i].uuid, c->uuid))
			break;
	if (i == n) {
		free(e);
		error_ctx(c, NULL, "no device has uuid '%s'", c->uuid);
		return -1;
	}
	snprintf(name, sizeof(name), "%s", e[i].name);
	free(e);
	memmove(c->args + 1, c->args, (size_t)c->nargs * sizeof(*c->args));
	c->args[0] = name;
	c->nargs++;
	c->uuid = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	struct cmd c = { .fd = -1 };
	int ret;

	/* Room for every argument: a simpler bound than counting them first. */
	c.args = calloc((size_t)argc + 1, sizeof(*c.args));
	if (!c.args) {
		error_msg("out of memory");
		return 1;
	}
	if (parse_options(&c, argc, argv) || (!c.help && check_usage(&c))) {
		ret = EXIT_USAGE;
	} else if (c.help) {
		usage(stdout);
		ret = 0;
	} else if (by_uuid(&c) && resolve_uuid(&c)) {
		ret = 1;
	} else {
		ret = c.verb->run(&c);
	}
	if (c.fd >= 0)
		close(c.fd);
	free(c.args);

	/* A full disk or a closed pipe must not pass for success. */
	if (fflush(stdout) || ferror(stdout)) {
		error_msg("cannot write the output: %s", strerror(errno));
		ret = 1;
	}
	return ret;
}
