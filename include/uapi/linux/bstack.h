/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bstack: a bio-based stacking block driver. User ABI of /dev/bstack-control.
 *
 * Every call passes one buffer: a struct bstack_ioctl header, followed by a
 * payload at @data_start. The whole buffer is @data_size bytes long. The
 * kernel copies the header once, validates it, then copies the payload once.
 *
 * Layout rules: only __u32/__u64 fields and byte strings, explicit padding,
 * every struct a multiple of 8 bytes, no pointers, nothing kernel-internal.
 */
#ifndef _UAPI_LINUX_BSTACK_H
#define _UAPI_LINUX_BSTACK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define BSTACK_VERSION_MAJOR	1	/* incompatible changes */
#define BSTACK_VERSION_MINOR	5	/* compatible additions */
#define BSTACK_VERSION_PATCH	0

#define BSTACK_CONTROL_NAME	"bstack-control"

#define BSTACK_NAME_LEN		128	/* with the terminating NUL */
#define BSTACK_UUID_LEN		128	/* with the terminating NUL */
#define BSTACK_ERROR_LEN	256	/* with the terminating NUL */
#define BSTACK_TYPE_LEN		16	/* with the terminating NUL */

/*
 * The largest buffer the kernel accepts, header included: a table of
 * BSTACK_MAX_TARGETS lines of some 80 bytes of arguments each (16 MiB
 * before 1.5).
 */
#define BSTACK_MAX_DATA_SIZE	(128U << 20)

/*
 * struct bstack_ioctl - header of every call
 * @version:	in: the version the caller was built with; out: the module's.
 *		A different major is refused with EINVAL.
 * @data_size:	in: size of the whole buffer, this header included.
 * @data_start:	in: offset of the payload from the start of the header,
 *		at least sizeof(struct bstack_ioctl) and 8-byte aligned.
 *		Replies are written at the same offset.
 * @data_len:	in: length of the payload; out: length of the reply payload.
 *		With BSTACK_F_BUFFER_FULL set, the @data_size that the call
 *		needs instead: retry with a buffer that large.
 * @count:	number of target specs (LOAD, CREATE, TABLE, STATUS) or of
 *		list entries (LIST) in the payload.
 * @flags:	BSTACK_F_*; unknown input flags are refused.
 * @event_nr:	out: the device's event counter.
 * @open_count:	out: how many openers the device has.
 * @dev:	out: the device number, as from new_encode_dev().
 * @name:	device name, NUL-terminated.
 * @uuid:	device uuid, NUL-terminated, may be empty.
 * @error:	out: when a call fails, one line that says why.
 */
struct bstack_ioctl {
	__u32 version[3];
	__u32 data_size;
	__u32 data_start;
	__u32 data_len;
	__u32 count;
	__u32 flags;
	__u32 event_nr;
	__u32 open_count;
	__u64 dev;
	char name[BSTACK_NAME_LEN];
	char uuid[BSTACK_UUID_LEN];
	char error[BSTACK_ERROR_LEN];
};

/* Input flags. */
#define BSTACK_F_READONLY	(1U << 0)	/* CREATE: refuse writes */
#define BSTACK_F_INACTIVE	(1U << 1)	/* TABLE: the inactive slot */
/* Since 1.1: SUSPEND as dmsetup's --noflush; SUSPEND, RESUME: no fs freeze. */
#define BSTACK_F_NOFLUSH	(1U << 2)
#define BSTACK_F_NOLOCKFS	(1U << 3)
/*
 * Since 1.1: REMOVE, REMOVE_ALL of an open device: FORCE swaps in a table
 * that fails all I/O; DEFERRED removes it at its last close.
 */
#define BSTACK_F_FORCE		(1U << 4)
#define BSTACK_F_DEFERRED	(1U << 5)
/* Since 1.1: RENAME sets the uuid, which must be empty, not the name. */
#define BSTACK_F_SETUUID	(1U << 6)
/* Output flags. */
#define BSTACK_F_BUFFER_FULL	(1U << 8)	/* reply did not fit: see data_len */
#define BSTACK_F_LIVE_TABLE	(1U << 9)	/* the device has a live table */
#define BSTACK_F_INACTIVE_TABLE	(1U << 10)	/* the inactive slot is loaded */
#define BSTACK_F_SUSPENDED	(1U << 11)
#define BSTACK_F_DEFERRED_REMOVE (1U << 12)	/* goes at its last close (1.1) */
#define BSTACK_F_READONLY_DEV	(1U << 13)	/* made with --readonly (1.1) */

#define BSTACK_F_INPUT_MASK	(BSTACK_F_READONLY | BSTACK_F_INACTIVE | \
				 BSTACK_F_NOFLUSH | BSTACK_F_NOLOCKFS | \
				 BSTACK_F_FORCE | BSTACK_F_DEFERRED | \
				 BSTACK_F_SETUUID)

/*
 * struct bstack_target_spec - one table line, in LOAD/CREATE payloads and in
 * TABLE/STATUS replies. A NUL-terminated parameter string follows the
 * struct; @next is the size of the spec with its string, a multiple of 8.
 * @start, @length: in 512-byte sectors.
 * @line:	the line of the user's table text, used in error messages;
 *		0 when unknown.
 */
struct bstack_target_spec {
	__u64 start;
	__u64 length;
	__u32 line;
	__u32 next;
	char type[BSTACK_TYPE_LEN];
};

/* struct bstack_list_entry - one device in a LIST reply. */
struct bstack_list_entry {
	__u64 dev;
	__u32 flags;		/* BSTACK_F_* output flags */
	__u32 open_count;
	char name[BSTACK_NAME_LEN];
	char uuid[BSTACK_UUID_LEN];
};

/*
 * struct bstack_suspend - the optional payload of SUSPEND (1.1)
 * @timeout_ms:	give up after this long if bios are still in flight, and
 *		leave the device running (ETIMEDOUT); 0 waits as long as it
 *		takes. A signal also ends the wait (EINTR).
 * @reserved:	must be 0.
 */
struct bstack_suspend {
	__u32 timeout_ms;
	__u32 reserved;
};

/*
 * struct bstack_rename - the payload of RENAME (1.1)
 * @new:	the new name, or with BSTACK_F_SETUUID the uuid;
 *		NUL-terminated.
 */
struct bstack_rename {
	char new[BSTACK_NAME_LEN];
};

/* struct bstack_target_version - one target type in a TARGETS reply (1.1) */
struct bstack_target_version {
	char name[BSTACK_TYPE_LEN];
	__u32 version[3];
	__u32 reserved;
};

/*
 * struct bstack_counters - the reply of STATS (1.1): a bio counts once in
 * @reads or @writes (or @discards: DISCARD, SECURE_ERASE, WRITE_ZEROES)
 * however bstack splits it; @splits counts the extra pieces, @errors the
 * pieces that failed (a NOWAIT piece that would have waited is no error),
 * @in_flight the pieces under way, @polled (1.4) the pieces sent down to
 * be polled (io_uring IOPOLL, RWF_HIPRI).
 */
struct bstack_counters {
	__u64 reads;
	__u64 writes;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 discards;
	__u64 flushes;
	__u64 splits;
	__u64 errors;
	__u64 in_flight;
	__u64 polled;		/* 1.4; was reserved, 0 */
};

/*
 * struct bstack_message - the payload of MESSAGE (1.2), as dmsetup message
 * @sector:	a sector of the target the message is for
 * @text:	the message, NUL-terminated, at most BSTACK_MESSAGE_LEN
 *		bytes with the NUL; words split at blanks
 */
struct bstack_message {
	__u64 sector;
	char text[];
};

#define BSTACK_MESSAGE_LEN	4096

#define BSTACK_IOCTL_MAGIC	0xB5

/*
 * Reply (1.3): text, NUL-terminated: how the module was built for its
 * kernel, one "<what>: <how>" line each, the first "kernel: <release>";
 * a line that names a kernel release says what the kernel lacks and what
 * the module does instead.
 */
#define BSTACK_VERSION	_IOWR(BSTACK_IOCTL_MAGIC, 0, struct bstack_ioctl)
#define BSTACK_CREATE	_IOWR(BSTACK_IOCTL_MAGIC, 1, struct bstack_ioctl)
#define BSTACK_REMOVE	_IOWR(BSTACK_IOCTL_MAGIC, 2, struct bstack_ioctl)
#define BSTACK_LIST	_IOWR(BSTACK_IOCTL_MAGIC, 3, struct bstack_ioctl)
#define BSTACK_LOAD	_IOWR(BSTACK_IOCTL_MAGIC, 4, struct bstack_ioctl)
#define BSTACK_RESUME	_IOWR(BSTACK_IOCTL_MAGIC, 5, struct bstack_ioctl)
#define BSTACK_TABLE	_IOWR(BSTACK_IOCTL_MAGIC, 6, struct bstack_ioctl)
#define BSTACK_STATUS	_IOWR(BSTACK_IOCTL_MAGIC, 7, struct bstack_ioctl)
/* 1.1 */
#define BSTACK_SUSPEND	_IOWR(BSTACK_IOCTL_MAGIC, 8, struct bstack_ioctl)
#define BSTACK_CLEAR	_IOWR(BSTACK_IOCTL_MAGIC, 9, struct bstack_ioctl)
/* @count: out, how many devices were removed */
#define BSTACK_REMOVE_ALL _IOWR(BSTACK_IOCTL_MAGIC, 10, struct bstack_ioctl)
/* Reply: @count __u64 device numbers (new_encode_dev()), one per lower device */
#define BSTACK_DEPS	_IOWR(BSTACK_IOCTL_MAGIC, 11, struct bstack_ioctl)
/* Reply: @count struct bstack_target_version */
#define BSTACK_TARGETS	_IOWR(BSTACK_IOCTL_MAGIC, 12, struct bstack_ioctl)
/* Payload: struct bstack_rename */
#define BSTACK_RENAME	_IOWR(BSTACK_IOCTL_MAGIC, 13, struct bstack_ioctl)
/* Reply: one struct bstack_counters */
#define BSTACK_STATS	_IOWR(BSTACK_IOCTL_MAGIC, 14, struct bstack_ioctl)
/*
 * Sleep until the device's event number is no longer @event_nr (in), then
 * describe it; EINTR on a signal, ENXIO if the device goes away.
 */
#define BSTACK_WAIT_EVENT _IOWR(BSTACK_IOCTL_MAGIC, 15, struct bstack_ioctl)
/* 1.2. Payload: struct bstack_message. Reply: the target's answer, if any. */
#define BSTACK_MESSAGE	_IOWR(BSTACK_IOCTL_MAGIC, 16, struct bstack_ioctl)
/*
 * 1.4. Reply: the block features the live table (the inactive one with
 * BSTACK_F_INACTIVE) passes through, as text: one "<name>: on" or
 * "<name>: off: <why>" line each, @count of them; none without a table.
 */
#define BSTACK_FEATURES	_IOWR(BSTACK_IOCTL_MAGIC, 17, struct bstack_ioctl)

#endif /* _UAPI_LINUX_BSTACK_H */
