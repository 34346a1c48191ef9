// SPDX-License-Identifier: GPL-2.0
/*
 * tbprof - a QEMU TCG plugin for "make profile": guest instructions per
 * translation block.
 *
 *	qemu-system-x86_64 ... -plugin tbprof.so,mark=0xADDR,out=PREFIX
 *
 * Every translated block gets an inline counter of its executions. Each
 * time the block that starts at guest virtual address MARK runs (the
 * entry of ksys_sync(), so that the guest marks a window by calling
 * sync(2)), and once more when QEMU exits, the instructions counted since
 * the last dump are written to PREFIX.N (N = 0, 1, ...), one line per
 * block: "ADDRESS INSTRUCTIONS" in hex and decimal. Then the counts start
 * again from 0. scripts/profile-report.py names the blocks' functions.
 *
 * With QEMU's single-threaded TCG, one thread runs all vCPUs, so the
 * counters need no atomics. A block left early by an exception counts
 * whole, a rounding that does not matter beside millions of I/Os.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The parts of QEMU's plugin API (version 1, QEMU 4.2 and later) that
 * this plugin uses; Debian ships no qemu-plugin.h.
 */
typedef uint64_t qemu_plugin_id_t;
typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
		void (*cb)(unsigned int vcpu, void *udata),
		enum qemu_plugin_cb_flags flags, void *udata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
		enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t id, void *udata), void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

/* A translated block. A block translated again gets a second entry. */
struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t count;
	struct block *next;
};

static struct block *blocks;
static uint64_t mark;
static const char *out = "tbprof";
static unsigned int dumps;

static void dump(void)
{
	char name[4096];
	struct block *b;
	FILE *f;

	snprintf(name, sizeof(name), "%s.%u", out, dumps++);
	f = fopen(name, "w");
	if (!f)
		perror(name);
	for (b = blocks; b; b = b->next) {
		if (f && b->count)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", b->vaddr,
				b->count * b->insns);
		b->count = 0;
	}
	if (f && fclose(f))
		perror(name);
}

static void on_mark(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	(void)udata;
	dump();
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	(void)id;
	if (!b) {
		perror("tbprof");
		exit(1);
	}
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->count, 1);
	if (mark && b->vaddr == mark)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_mark,
						     QEMU_PLUGIN_CB_NO_REGS,
						     NULL);
}

static void on_exit_qemu(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	dump();
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			       int argc, char **argv)
{
	char *end;
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "mark=", 5)) {
			mark = strtoull(argv[i] + 5, &end, 0);
			if (*end || end == argv[i] + 5) {
				fprintf(stderr, "tbprof: bad mark '%s'\n",
					argv[i] + 5);
				return -1;
			}
		} else if (!strncmp(argv[i], "out=", 4)) {
			out = argv[i] + 4;
		} else {
			fprintf(stderr, "tbprof: unknown argument '%s'\n",
				argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_exit_qemu, NULL);
	return 0;
}
