// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-ioctl: hostile callers of /dev/bstack-control, for the guest.
 *
 *   bstack-ioctl fuzz ITERATIONS SEED
 *	Send ITERATIONS ioctls built from valid requests and then mutated:
 *	random and boundary sizes and offsets, versions, flags, names
 *	without a NUL, payloads of random or bit-flipped table specs, and
 *	unknown ioctl numbers. The kernel must answer each with a result
 *	and never crash or leak (KASAN and kmemleak watch). Devices it
 *	creates are named "fz-*". Prints a count of results per errno.
 *
 *   bstack-ioctl unpriv
 *	Open the control device as root, drop to uid/gid 65534 and every
 *	capability, then check that each command that changes state fails
 *	with EPERM and that the read-only ones still work. Exits 1 on any
 *	mismatch.
 *
 *   bstack-ioctl create NAME [UUID]
 *	Create a device without a table, with NAME and UUID as given,
 *	unchecked by bstackctl, so that the kernel's own checks are seen.
 *	Prints the kernel's message and exits 1 if it refuses.
 *
 *   bstack-ioctl rename NAME NEW
 *	The same for a rename.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/bstack.h>

#define CONTROL		"/dev/" BSTACK_CONTROL_NAME
#define DATA_START	((sizeof(struct bstack_ioctl) + 7) & ~(size_t)7)
/*
 * Larger than any data_size the kernel accepts, so that whatever a
 * mutated header lets it read or write stays inside our buffer.
 */
#define BUF_SIZE	(BSTACK_MAX_DATA_SIZE + 4096U)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Each command, with the input flags it takes. */
static const struct {
	unsigned long cmd;
	uint32_t flags;
} cmds[] = {
	{ BSTACK_VERSION, 0 },
	{ BSTACK_CREATE, BSTACK_F_READONLY },
	{ BSTACK_REMOVE, BSTACK_F_FORCE | BSTACK_F_DEFERRED },
	{ BSTACK_LIST, 0 },
	{ BSTACK_LOAD, 0 },
	{ BSTACK_RESUME, BSTACK_F_NOLOCKFS },
	{ BSTACK_TABLE, BSTACK_F_INACTIVE },
	{ BSTACK_STATUS, 0 },
	{ BSTACK_SUSPEND, BSTACK_F_NOFLUSH | BSTACK_F_NOLOCKFS },
	{ BSTACK_CLEAR, 0 },
	{ BSTACK_REMOVE_ALL, BSTACK_F_FORCE | BSTACK_F_DEFERRED },
	{ BSTACK_DEPS, BSTACK_F_INACTIVE },
	{ BSTACK_TARGETS, 0 },
	{ BSTACK_RENAME, BSTACK_F_SETUUID },
	{ BSTACK_STATS, 0 },
	{ BSTACK_MESSAGE, 0 },
	/* Not WAIT_EVENT: it sleeps until an event, which may never come. */
};

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible from the seed, good enough here. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static uint32_t pick(const uint32_t *v, size_t n)
{
	return v[rnd() % n];
}

/* Sizes and offsets around the edges the kernel checks. */
static uint32_t edge_value(void)
{
	static const uint32_t edges[] = {
		0, 1, 7, 8, sizeof(struct bstack_ioctl) - 1,
		sizeof(struct bstack_ioctl), DATA_START, DATA_START + 1,
		BUF_SIZE, BUF_SIZE + 1, BSTACK_MAX_DATA_SIZE,
		BSTACK_MAX_DATA_SIZE + 1, 0x7fffffff, 0x80000000, 0xfffffff8,
		0xffffffff,
	};

	return rnd() % 3 ? pick(edges, ARRAY_SIZE(edges)) : rnd();
}

/* A table spec payload: valid-looking lines, then mutated. */
static size_t make_specs(char *p, size_t room, uint32_t *count)
{
	static const char *const types[] = {
		"linear", "striped", "zero", "error", "faulty", "nosuch", "",
	};
	static const char *const params[] = {
		"", "7:0 0", "/dev/nullb0 0", "/dev/nullb0 99999999999",
		"2 8 /dev/nullb0 0 /dev/nullb0 64", "0 0", "x", "1 1 1 1 1",
		"/dev/null 0", "/etc/passwd 0", "2 0 /dev/nullb0 0",
		"/dev/nullb0 0 read_fail=5% delay=1", "/dev/nullb0 0 up=1",
	};
	uint64_t start = 0;
	size_t len = 0;
	uint32_t i, n = rnd() % 5;

	*count = n;
	for (i = 0; i < n; i++) {
		struct bstack_target_spec *s = (void *)(p + len);
		const char *par = params[rnd() % ARRAY_SIZE(params)];
		size_t plen = strlen(par) + 1;
		size_t next = (sizeof(*s) + plen + 7) & ~(size_t)7;

		if (len + next > room)
			break;
		memset(s, 0, next);
		s->start = start;
		s->length = rnd() % 4 ? 8 + rnd() % 4096 : edge_value();
		s->line = i + 1;
		s->next = (uint32_t)next;
		strncpy(s->type, types[rnd() % ARRAY_SIZE(types)],
			sizeof(s->type) - 1);
		memcpy(s + 1, par, plen);
		start += s->length;
		len += next;
	}
	/* Mutations: flip bits, break next and count, drop the NUL. */
	if (len && rnd() % 2) {
		uint32_t flips = 1 + rnd() % 8;

		while (flips--)
			p[rnd() % len] ^= (char)(1u << (rnd() % 8));
	}
	if (rnd() % 8 == 0)
		*count = edge_value();
	return len;
}

/* A MESSAGE payload: a sector, then words a faulty target may take. */
static size_t make_message(char *p)
{
	static const char *const words[] = {
		"reset", "read_fail=5%", "write_fail=1/1000", "error=ENOSPC",
		"delay=1", "up=1 down=1", "nosuch=1", "read_fail=200%", "",
		"count_until_fail=3", "corrupt=1%", "drop_writes=0",
	};
	struct bstack_message *m = (void *)p;
	const char *w = words[rnd() % ARRAY_SIZE(words)];
	size_t len = strlen(w) + 1;

	m->sector = rnd() % 4 ? rnd() % 64 : edge_value();
	memcpy(m->text, w, len);
	/* Now and then, no NUL. */
	if (rnd() % 8 == 0)
		memset(m->text, 'x', len);
	return sizeof(*m) + len;
}

static void fill_name(char *name, size_t size)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint32_t kind = rnd() % 8;
	size_t i, n;

	memset(name, 0, size);
	if (kind == 0) {		/* no NUL at all */
		memset(name, 'A' + rnd() % 26, size);
		return;
	}
	if (kind == 1) {		/* junk bytes */
		for (i = 0; i + 1 < size && i < 16; i++)
			name[i] = (char)rnd();
		return;
	}
	/* Mostly a few names, so that commands meet existing devices. */
	n = 1 + rnd() % 2;
	memcpy(name, "fz-", 3);
	for (i = 0; i < n; i++)
		name[3 + i] = alnum[rnd() % 4];
}

static int fuzz(int fd, unsigned long iterations, uint64_t seed)
{
	static const uint32_t flag_bits[] = {
		0, BSTACK_F_READONLY, BSTACK_F_INACTIVE, BSTACK_F_NOFLUSH,
		BSTACK_F_NOLOCKFS, BSTACK_F_FORCE, BSTACK_F_DEFERRED,
		BSTACK_F_SETUUID, 1u << 7, 1u << 20, 0xffffffff,
	};
	unsigned long counts[256] = { 0 }, i;
	char *buf = aligned_alloc(8, BUF_SIZE);
	int e;

	if (!buf) {
		perror("bstack-ioctl: buffer");
		return 1;
	}
	rng_state = seed ? seed : 1;
	for (i = 0; i < iterations; i++) {
		struct bstack_ioctl *h = (void *)buf;
		unsigned int c = rnd() % ARRAY_SIZE(cmds);
		unsigned long cmd = cmds[c].cmd;
		uint32_t count = 0;
		size_t plen = 0;

		memset(buf, 0, DATA_START + 4096);
		h->version[0] = BSTACK_VERSION_MAJOR;
		h->version[1] = BSTACK_VERSION_MINOR;
		fill_name(h->name, sizeof(h->name));
		if (rnd() % 4 == 0)
			fill_name(h->uuid, sizeof(h->uuid));
		if (cmd == BSTACK_CREATE || cmd == BSTACK_LOAD)
			plen = make_specs(buf + DATA_START, 4096, &count);
		else if (cmd == BSTACK_SUSPEND && rnd() % 2)
			plen = 8;	/* struct bstack_suspend: 0 ms, or junk */
		else if (cmd == BSTACK_RENAME)
			plen = BSTACK_NAME_LEN;
		else if (cmd == BSTACK_MESSAGE)
			plen = make_message(buf + DATA_START);
		if (cmd == BSTACK_RENAME)
			fill_name(buf + DATA_START, plen);
		if (cmd == BSTACK_SUSPEND && plen) {
			uint32_t *a = (void *)(buf + DATA_START);

			a[0] = rnd() % 2 ? 1 + rnd() % 50 : 0;
			a[1] = rnd() % 4 ? 0 : rnd();
		}
		h->data_size = DATA_START + 4096;
		h->data_start = DATA_START;
		h->data_len = (uint32_t)plen;
		h->count = count;
		/*
		 * Mostly flags the command takes, so that most requests get
		 * past the header checks to the command itself.
		 */
		if (rnd() % 4)
			h->flags = rnd() & cmds[c].flags;
		else
			h->flags = pick(flag_bits, ARRAY_SIZE(flag_bits)) |
				   pick(flag_bits, ARRAY_SIZE(flag_bits));

		/* Then break the header one way or another. */
		switch (rnd() % 10) {
		case 0:
			h->version[0] = rnd() % 2 ? 0 : rnd();
			break;
		case 1:
			h->data_size = edge_value();
			break;
		case 2:
			h->data_start = edge_value();
			break;
		case 3:
			h->data_len = edge_value();
			break;
		case 4:
			cmd = _IOWR(BSTACK_IOCTL_MAGIC, rnd() % 40,
				    struct bstack_ioctl);
			break;
		case 5:
			cmd = _IOC(rnd() % 4, BSTACK_IOCTL_MAGIC, rnd() % 16,
				   rnd() % 1024);
			break;
		default:
			break;
		}
		e = ioctl(fd, cmd, buf) < 0 ? errno : 0;
		counts[e & 0xff]++;
	}
	for (e = 0; e < 256; e++)
		if (counts[e])
			printf("%-8s %lu\n", e ? strerrorname_np(e) ?: "?" : "ok",
			       counts[e]);
	free(buf);
	return 0;
}

/* What a caller without CAP_SYS_ADMIN gets from each command. */
static int unpriv(int fd)
{
	static const struct {
		unsigned long cmd;
		const char *name;
		int err;	/* expected errno, 0 for success */
	} checks[] = {
		{ BSTACK_VERSION, "VERSION", 0 },
		{ BSTACK_LIST, "LIST", 0 },
		{ BSTACK_TARGETS, "TARGETS", 0 },
		{ BSTACK_STATS, "STATS", ENXIO },	/* no such device, but allowed */
		{ BSTACK_CREATE, "CREATE", EPERM },
		{ BSTACK_REMOVE, "REMOVE", EPERM },
		{ BSTACK_LOAD, "LOAD", EPERM },
		{ BSTACK_RESUME, "RESUME", EPERM },
		{ BSTACK_SUSPEND, "SUSPEND", EPERM },
		{ BSTACK_CLEAR, "CLEAR", EPERM },
		{ BSTACK_REMOVE_ALL, "REMOVE_ALL", EPERM },
		{ BSTACK_RENAME, "RENAME", EPERM },
	};
	struct bstack_ioctl *h = aligned_alloc(8, BUF_SIZE);
	int bad = 0;
	size_t i;

	if (!h)
		return 1;
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		perror("bstack-ioctl: dropping privileges");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(checks); i++) {
		int e;

		memset(h, 0, 64U << 10);
		h->version[0] = BSTACK_VERSION_MAJOR;
		h->data_size = 64U << 10;
		h->data_start = DATA_START;
		strcpy(h->name, "unpriv");
		e = ioctl(fd, checks[i].cmd, h) < 0 ? errno : 0;
		printf("%-10s %s (expected %s)\n", checks[i].name,
		       e ? strerrorname_np(e) : "ok",
		       checks[i].err ? strerrorname_np(checks[i].err) : "ok");
		if (e != checks[i].err)
			bad = 1;
	}
	free(h);
	return bad;
}

/* CREATE (no table) NAME with uuid ARG, or RENAME NAME to ARG. */
static int raw_call(int fd, unsigned long cmd, const char *name,
		    const char *arg)
{
	struct bstack_ioctl *h = aligned_alloc(8, BUF_SIZE);
	struct bstack_rename *rn;
	int ret = 0;

	if (!h)
		return 1;
	memset(h, 0, 64U << 10);
	h->version[0] = BSTACK_VERSION_MAJOR;
	h->data_size = 64U << 10;
	h->data_start = DATA_START;
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (cmd == BSTACK_RENAME) {
		rn = (struct bstack_rename *)((char *)h + DATA_START);
		snprintf(rn->new, sizeof(rn->new), "%s", arg);
		h->data_len = sizeof(*rn);
	} else if (arg) {
		snprintf(h->uuid, sizeof(h->uuid), "%s", arg);
	}
	if (ioctl(fd, cmd, h) < 0) {
		fprintf(stderr, "bstack-ioctl: %s: %s: %s\n",
			cmd == BSTACK_RENAME ? "rename" : "create",
			strerrorname_np(errno), h->error);
		ret = 1;
	}
	free(h);
	return ret;
}

int main(int argc, char **argv)
{
	int fd, ret;

	if (argc < 2 ||
	    (!strcmp(argv[1], "fuzz") ? argc != 4 :
	     !strcmp(argv[1], "unpriv") ? argc != 2 :
	     !strcmp(argv[1], "create") ? argc != 3 && argc != 4 :
	     !strcmp(argv[1], "rename") ? argc != 4 : 1)) {
		fprintf(stderr, "usage: bstack-ioctl fuzz ITERATIONS SEED | unpriv | create NAME [UUID] | rename NAME NEW\n");
		return 2;
	}
	fd = open(CONTROL, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("bstack-ioctl: " CONTROL);
		return 1;
	}
	if (!strcmp(argv[1], "fuzz"))
		ret = fuzz(fd, strtoul(argv[2], NULL, 0),
			   strtoull(argv[3], NULL, 0));
	else if (!strcmp(argv[1], "create"))
		ret = raw_call(fd, BSTACK_CREATE, argv[2],
			       argc == 4 ? argv[3] : NULL);
	else if (!strcmp(argv[1], "rename"))
		ret = raw_call(fd, BSTACK_RENAME, argv[2], argv[3]);
	else
		ret = unpriv(fd);
	close(fd);
	return ret;
}
