# shellcheck shell=sh
# Helpers for bstack's integration test cases. Sourced by every case in
# tests/cases/ inside the QEMU guest, where the shell is busybox ash: keep it
# POSIX sh (check with "busybox sh -n tests/lib.sh").
#
# A case is a shell script that sources this file, calls "requires" for what
# it needs, and then checks things. Its exit status is its result:
#   0 pass, 77 skip (see skip), anything else fail (see fail).
# When the case exits, the cleanups it registered run in reverse order, and
# then the kernel log since the case started is checked for splats: any
# line matching BSTACK_SPLAT_RE fails the case.
#
# The one-line reason for a skip or a failure is written to
# $BSTACK_REASON_FILE, which the guest's /init reports.
#
# Helpers that print a device (nullb_create, bstack_create, dm_create) are
# called as dev=$(helper ...); fail inside $(...) only ends that subshell,
# so write "dev=$(nullb_create nullb0 64) || exit 1" (the reason is kept).
# Their cleanups are registered all the same.

# Kernel log lines that fail a test, and the known harmless lines that the
# first pattern would catch (the debug kernel's boot banner says "RCU lockdep
# checking is enabled"). scripts/qemu-run.sh reads these two very lines
# (keep each on one line, single-quoted) to check the whole serial log.
BSTACK_SPLAT_RE='BUG:|WARNING:|KASAN|possible circular locking|possible recursive locking|inconsistent lock state|lockdep|unreferenced object|blocked for more than|Oops|Kernel panic|sleeping function called from invalid context|general protection fault|UBSAN:|soft lockup|hard LOCKUP|detected stall|list_add corruption|list_del corruption'
BSTACK_SPLAT_IGNORE_RE='RCU lockdep checking is enabled'

BSTACK_CASE=${BSTACK_CASE:-$(basename "$0" .sh)}
BSTACK_REASON_FILE=${BSTACK_REASON_FILE:-/tmp/bstack-reason.$$}
BSTACK_TMP=${BSTACK_TMP:-/tmp/bstack-case.$$}
BSTACK_CONFIGFS=/sys/kernel/config
mkdir -p "$BSTACK_TMP"
: > "$BSTACK_TMP/cleanups"

# ---------------------------------------------------------------- results

info() {
	echo "  $*" >&2
}

# skip REASON: end the case as skipped.
skip() {
	echo "SKIP: $*" >&2
	echo "$*" > "$BSTACK_REASON_FILE"
	exit 77
}

# fail MESSAGE: end the case as failed.
fail() {
	echo "FAIL: $*" >&2
	[ -s "$BSTACK_REASON_FILE" ] || echo "$*" > "$BSTACK_REASON_FILE"
	exit 1
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# must WHAT CMD...: run CMD, fail the case with WHAT and CMD's stderr if it
# fails. CMD's stdout passes through.
must() {
	_what=$1
	shift
	if ! "$@" 2> "$BSTACK_TMP/must.err"; then
		cat "$BSTACK_TMP/must.err" >&2
		fail "$_what: '$*' failed: $(head -n 1 "$BSTACK_TMP/must.err")"
	fi
}

# must_fail_1line WHAT CMD...: CMD must fail with exactly one non-empty line
# on stderr. The line is left in $BSTACK_ERR for further checks.
must_fail_1line() {
	_what=$1
	shift
	if "$@" > "$BSTACK_TMP/mf.out" 2> "$BSTACK_TMP/mf.err"; then
		fail "$_what: '$*' succeeded but should have failed"
	fi
	_n=$(wc -l < "$BSTACK_TMP/mf.err")
	BSTACK_ERR=$(head -n 1 "$BSTACK_TMP/mf.err")
	info "$_what: refused: $BSTACK_ERR"
	[ "$_n" -eq 1 ] && [ -n "$BSTACK_ERR" ] ||
		fail "$_what: expected one line on stderr, got $_n: $(tr '\n' '|' < "$BSTACK_TMP/mf.err")"
}

# ---------------------------------------------------------------- requires

# requires WHAT...: skip the case unless each WHAT is present. WHAT is an
# absolute path, a command, or one of these features:
#   bstack     the module is loaded (/dev/bstack-control exists)
#   bstackctl  the control tool
#   nullb      null_blk with configfs
#   loop       the loop driver and util-linux losetup
#   dm         device-mapper (and dmsetup)
#   debugfs, kmemleak, fault-injection, kunit, io_uring, aio, sysvipc
#   debug-kernel  the debug kernel (KASAN, lockdep, kmemleak)
requires() {
	for _r in "$@"; do
		_why=$(_requires_one "$_r") || skip "$_why"
	done
}

_requires_one() {
	case "$1" in
	bstack)
		[ -c /dev/bstack-control ] ||
			{ echo "bstack.ko is not loaded (no /dev/bstack-control)"; return 1; } ;;
	bstackctl)
		command -v bstackctl > /dev/null ||
			{ echo "bstackctl is not in the initramfs (build tools/bstackctl)"; return 1; } ;;
	nullb)
		[ -d "$BSTACK_CONFIGFS/nullb" ] ||
			{ echo "null_blk with configfs is not available"; return 1; } ;;
	loop)
		[ -c /dev/loop-control ] && [ -x /usr/sbin/losetup ] ||
			{ echo "the loop driver or util-linux losetup is not available"; return 1; } ;;
	dm)
		command -v dmsetup > /dev/null && grep -qw device-mapper /proc/misc ||
			{ echo "device-mapper or dmsetup is not available"; return 1; } ;;
	debugfs)
		[ -d /sys/kernel/debug/block ] ||
			{ echo "debugfs is not mounted"; return 1; } ;;
	kmemleak)
		[ -e /sys/kernel/debug/kmemleak ] ||
			{ echo "the kernel has no kmemleak"; return 1; } ;;
	fault-injection)
		[ -d /sys/kernel/debug/fail_make_request ] ||
			{ echo "the kernel has no fault injection"; return 1; } ;;
	kunit)
		[ -d /sys/kernel/debug/kunit ] ||
			{ echo "the kernel has no KUnit"; return 1; } ;;
	io_uring)
		# io_uring_disabled is 6.6's; the system call is older.
		grep -q ' __x64_sys_io_uring_setup$' /proc/kallsyms ||
			{ echo "the kernel has no io_uring"; return 1; }
		[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
			{ echo "io_uring is disabled (kernel.io_uring_disabled)"; return 1; } ;;
	aio)
		[ -e /proc/sys/fs/aio-max-nr ] ||
			{ echo "the kernel has no AIO"; return 1; } ;;
	sysvipc)
		[ -e /proc/sysvipc/shm ] ||
			{ echo "the kernel has no SysV IPC (fio needs it)"; return 1; } ;;
	udev)
		[ -x /usr/lib/systemd/systemd-udevd ] ||
			{ echo "systemd-udevd is not in the initramfs (install Debian's udev on the host)"; return 1; }
		[ -f /usr/share/bstack/dist/60-bstack.rules ] ||
			{ echo "bstack's udev rules are not in the initramfs"; return 1; } ;;
	debug-kernel)
		[ "$(cat /etc/bstack-kernel 2>/dev/null)" = debug ] ||
			{ echo "needs the debug kernel"; return 1; } ;;
	/*)
		[ -e "$1" ] || { echo "$1 does not exist"; return 1; } ;;
	*)
		command -v "$1" > /dev/null || { echo "command $1 not found"; return 1; } ;;
	esac
}

# ---------------------------------------------------------- fault injection

FS=/sys/kernel/debug/failslab
FP=/sys/kernel/debug/fail_page_alloc
FAULT_TIMES=1000000000

# fault_set DIR KEY=VALUE...: set attributes of a fault (failslab, ...).
fault_set() {
	_dir=$1
	shift
	for _kv in "$@"; do
		echo "${_kv#*=}" > "$_dir/${_kv%%=*}" ||
			fail "cannot set ${_dir##*/}/${_kv%%=*} to ${_kv#*=}"
	done
}

# faults_init: failslab and fail_page_alloc say nothing per failure (the
# kernel log must stay clean), skip no call, spare allocations that may
# wait only when told, and spare user pages.
faults_init() {
	fault_set "$FS" verbose=0 space=0 interval=1 ignore-gfp-wait=N
	fault_set "$FP" verbose=0 space=0 interval=1 ignore-gfp-wait=N \
		ignore-gfp-highmem=Y min-order=0
}

# fault_injected DIR: failures DIR injected since times=$FAULT_TIMES.
fault_injected() {
	echo $((FAULT_TIMES - $(cat "$1/times")))
}

# bio_slabs_fail 1|0: mark (unmark) every bio-* slab cache for failslab's
# cache-filter; prints how many took it.
bio_slabs_fail() {
	_n=0
	for _c in /sys/kernel/slab/bio-*/failslab; do
		echo "$1" > "$_c" 2>/dev/null && _n=$((_n + 1))
	done
	[ "$_n" -gt 0 ] || fail "failslab took no bio-* slab cache"
	echo "$_n"
}

# faults_off: no more failures, from failslab or fail_page_alloc.
faults_off() {
	echo 0 > "$FS/probability"
	echo 0 > "$FP/probability"
	for _c in /sys/kernel/slab/bio-*/failslab; do
		echo 0 > "$_c" 2>/dev/null
	done
	echo N > "$FS/cache-filter"
	echo N > "$FS/task-filter"
	echo N > "$FP/task-filter"
}

# ---------------------------------------------------------------- cleanup

# cleanup_push CMD: run CMD (with eval) when the case exits, last in first out.
cleanup_push() {
	echo "$*" >> "$BSTACK_TMP/cleanups"
}

_run_cleanups() {
	[ -s "$BSTACK_TMP/cleanups" ] || return 0
	sed -n '1!G;h;$p' "$BSTACK_TMP/cleanups" > "$BSTACK_TMP/cleanups.rev"
	: > "$BSTACK_TMP/cleanups"
	while IFS= read -r _c; do
		eval "$_c" || echo "  cleanup failed: $_c"
	done < "$BSTACK_TMP/cleanups.rev"
}

# ---------------------------------------------------------------- dmesg

# The marker is written to the kernel log when the case starts; at exit,
# every kernel line after it is checked against BSTACK_SPLAT_RE.
BSTACK_DMESG_MARK="bstack-test: start $BSTACK_CASE pid $$ at $(cat /proc/uptime 2>/dev/null | cut -d' ' -f1)"

dmesg_mark() {
	echo "$BSTACK_DMESG_MARK" > /dev/kmsg 2>/dev/null || true
}

# dmesg_since_mark: the kernel log since this case's marker (the whole log if
# the marker has scrolled out of the ring buffer).
dmesg_since_mark() {
	dmesg | awk -v m="$BSTACK_DMESG_MARK" '
		{ line[NR] = $0 }
		index($0, m) { start = NR }
		END { for (i = start + 1; i <= NR; i++) print line[i] }'
}

# dmesg_check: print the first splat since the marker; fail if there is one.
dmesg_check() {
	_splat=$(dmesg_since_mark | grep -E "$BSTACK_SPLAT_RE" |
		grep -vE "$BSTACK_SPLAT_IGNORE_RE" | head -n 1)
	[ -z "$_splat" ] && return 0
	echo "kernel log since the case started:"
	dmesg_since_mark | tail -n 60
	echo "dmesg: $_splat" > "$BSTACK_REASON_FILE"
	return 1
}

_bstack_exit() {
	_rc=$?
	trap - EXIT
	_run_cleanups
	dmesg_check || _rc=1
	rm -rf "$BSTACK_TMP"
	exit "$_rc"
}

trap _bstack_exit EXIT
trap 'exit 143' TERM INT
dmesg_mark

# ---------------------------------------------------------------- devices

# dev_sysfs DEV: /sys/class/block/<name> of a device node path.
dev_sysfs() {
	echo "/sys/class/block/$(basename "$(readlink -f "$1")")"
}

# dev_majmin DEV: MAJ:MIN of a block device.
dev_majmin() {
	cat "$(dev_sysfs "$1")/dev"
}

# dev_sectors DEV: size of a block device in 512-byte sectors, from sysfs.
dev_sectors() {
	cat "$(dev_sysfs "$1")/size"
}

# dev_node NAME: make sure /dev/NAME exists (no udev here), print it.
dev_node() {
	_sys=/sys/class/block/$1
	[ -e "$_sys/dev" ] || return 1
	if [ ! -b "/dev/$1" ]; then
		_mm=$(cat "$_sys/dev")
		mknod "/dev/$1" b "${_mm%%:*}" "${_mm##*:}" || return 1
	fi
	echo "/dev/$1"
}

# nullb_create NAME SIZE_MB [BLOCKSIZE [ATTR=VALUE...]]: create a
# memory-backed null_blk device through configfs, print its /dev path. The
# device is removed when the case exits.
nullb_create() {
	_name=$1 _size=$2 _bs=${3:-512}
	shift 2
	[ $# -gt 0 ] && shift
	_d=$BSTACK_CONFIGFS/nullb/$_name
	[ ! -e "$_d" ] || fail "nullb_create: $_d already exists"
	mkdir "$_d" || fail "nullb_create: cannot mkdir $_d"
	cleanup_push "nullb_remove $_name"
	echo "$_size" > "$_d/size" &&
	echo "$_bs" > "$_d/blocksize" &&
	echo 1 > "$_d/memory_backed" ||
		fail "nullb_create: cannot configure $_name"
	for _a in "$@"; do
		echo "${_a#*=}" > "$_d/${_a%%=*}" || fail "nullb_create: cannot set $_a"
	done
	echo 1 > "$_d/power" || fail "nullb_create: cannot power on $_name"
	# 6.x names the disk after the configfs directory; older kernels use
	# nullb<index>.
	dev_node "$_name" 2>/dev/null || dev_node "nullb$(cat "$_d/index")" ||
		fail "nullb_create: no block device for $_name"
}

nullb_remove() {
	_d=$BSTACK_CONFIGFS/nullb/$1
	[ -d "$_d" ] || return 0
	rmdir "$_d"
}

# load_module NAME [PARAM=VALUE...]: load NAME, which the initramfs
# carries but does not load at boot (MODULES_ON_DEMAND in
# scripts/mkinitramfs.sh), with its parameters; it goes when the case
# exits. Skips the case when the initramfs lacks it.
load_module() {
	_m=$1
	shift
	[ -f "/lib/kmod/$_m.ko" ] || skip "the initramfs has no $_m.ko"
	[ ! -d "/sys/module/$_m" ] || fail "load_module: $_m is loaded already"
	insmod "/lib/kmod/$_m.ko" "$@" || fail "load_module: insmod $_m $* failed"
	cleanup_push "rmmod $_m"
}

# scsi_disk VENDOR MODEL: /dev/sdX of the SCSI disk that says so, waited
# for up to 20 s.
scsi_disk() {
	_i=0
	while [ $_i -lt 100 ]; do
		for _d in /sys/block/sd*; do
			[ -e "$_d/device/model" ] || continue
			[ "$(tr -d ' ' < "$_d/device/vendor")" = "$1" ] &&
			[ "$(tr -d ' ' < "$_d/device/model")" = "$2" ] &&
			[ -b "/dev/${_d##*/}" ] && { echo "/dev/${_d##*/}"; return 0; }
		done
		sleep 0.2
		_i=$((_i + 1))
	done
	fail "no SCSI disk $1 $2 appeared"
}

# scsi_debug_disks N: the /dev paths of the N disks that scsi_debug made
# (one per host: add_host=N), one a line, waited for up to 20 s.
scsi_debug_disks() {
	_i=0
	while [ $_i -lt 100 ]; do
		_disks=$(for _d in /sys/block/sd*; do
			[ "$(tr -d ' ' < "$_d/device/model" 2>/dev/null)" = scsi_debug ] &&
				[ -b "/dev/${_d##*/}" ] && echo "/dev/${_d##*/}"
		done)
		[ "$(echo "$_disks" | grep -c .)" -eq "$1" ] && {
			echo "$_disks"
			return 0
		}
		sleep 0.2
		_i=$((_i + 1))
	done
	fail "scsi_debug made no $1 disks: '$_disks'"
}

# lio_disk SIZE_MB: a SCSI disk of LIO's loopback target (tcm_loop) over a
# ramdisk backstore, which keeps SPC-3 persistent reservations as a real
# array does; prints its /dev path. It goes when the case exits.
lio_disk() {
	load_module tcm_loop
	_t=$BSTACK_CONFIGFS/target
	# A fabric's directory appears when it is made.
	mkdir -p "$_t/loopback" || fail "lio_disk: cannot make $_t/loopback"
	# LIO writes its reservation state under dbroot/pr, and fails a PR
	# OUT that it cannot write (/etc/target does not exist here).
	mkdir -p "$BSTACK_TMP/lio/pr"
	echo "$BSTACK_TMP/lio" > "$_t/dbroot" ||
		fail "lio_disk: cannot point LIO's dbroot to $BSTACK_TMP/lio"
	_rd=$_t/core/rd_mcp_0/bstack
	_tpg=$_t/loopback/naa.5001405000000001/tpgt_1
	mkdir -p "$_rd" || fail "lio_disk: cannot make the ramdisk backstore"
	cleanup_push "rmdir $_rd $_t/core/rd_mcp_0"
	echo "rd_pages=$(($1 * 256))" > "$_rd/control" &&
		echo 1 > "$_rd/enable" || fail "lio_disk: cannot set up the ramdisk"
	mkdir -p "$_tpg/lun/lun_0" || fail "lio_disk: cannot make the target port"
	cleanup_push "rmdir $_tpg/lun/lun_0 $_tpg $_t/loopback/naa.5001405000000001"
	echo naa.5001405000000002 > "$_tpg/nexus" ||
		fail "lio_disk: cannot make the nexus"
	cleanup_push "echo NULL > $_tpg/nexus"
	ln -s "$_rd" "$_tpg/lun/lun_0/bstack" || fail "lio_disk: cannot map the LUN"
	cleanup_push "rm $_tpg/lun/lun_0/bstack"
	scsi_disk LIO-ORG RAMDISK-MCP
}

# bstack_dev NAME: /dev/bstackN of the bstack device called NAME.
bstack_dev() {
	for _n in /sys/block/bstack*/bstack/name; do
		[ -f "$_n" ] || continue
		if [ "$(cat "$_n")" = "$1" ]; then
			_b=${_n%/bstack/name}
			dev_node "${_b##*/}"
			return
		fi
	done
	return 1
}

# bstack_count: how many bstack disks exist.
bstack_count() {
	ls -d /sys/block/bstack* 2>/dev/null | wc -l
}

# bstack_create NAME [ARGS...] < TABLE: create a device with the table on
# stdin; it is removed when the case exits. Prints /dev/bstackN.
bstack_create() {
	_name=$1
	shift
	must "create $_name" bstackctl create "$_name" "$@" >&2
	cleanup_push "bstack_remove $_name"
	bstack_dev "$_name" || fail "bstackctl create $_name: no /sys/block/bstack*/bstack/name says $_name"
}

# bstack_remove NAME: remove it if it exists.
bstack_remove() {
	bstack_dev "$1" > /dev/null 2>&1 || return 0
	bstackctl remove "$1"
}

# dm_dev NAME: /dev/dm-N of the device-mapper device called NAME.
dm_dev() {
	for _n in /sys/block/dm-*/dm/name; do
		[ -f "$_n" ] || continue
		if [ "$(cat "$_n")" = "$1" ]; then
			_b=${_n%/dm/name}
			dev_node "${_b##*/}"
			return
		fi
	done
	return 1
}

# dm_create NAME < TABLE: dmsetup create without udev; removed at exit.
dm_create() {
	must "dmsetup create $1" dmsetup create "$1" --noudevsync >&2
	cleanup_push "dm_remove $1"
	dm_dev "$1" || fail "dmsetup create $1: no /sys/block/dm-*/dm/name says $1"
}

dm_remove() {
	dm_dev "$1" > /dev/null 2>&1 || return 0
	dmsetup remove --noudevsync "$1"
}

# wait_open NAME: wait (up to 30 s) until bstack device NAME has an opener,
# e.g. a fio started in the background, which takes a while to open it.
wait_open() {
	_t=0
	until bstackctl info "$1" 2>/dev/null | grep -q '^Open count: *[1-9]'; do
		_t=$((_t + 1))
		[ $_t -le 300 ] || fail "nothing opened $1 within 30 s"
		sleep 0.1
	done
}

# wait_for SECONDS WHAT CMD...: run CMD every 0.1 s until it succeeds; fail
# saying WHAT did not happen if it still fails after SECONDS.
wait_for() {
	_wf_left=$(($1 * 10)) _wf_s=$1 _wf_what=$2
	shift 2
	until "$@"; do
		_wf_left=$((_wf_left - 1))
		[ $_wf_left -gt 0 ] || fail "$_wf_what within $_wf_s s"
		sleep 0.1
	done
}

# has_inflight DEV: DEV (a /dev path) has a read or write in flight.
has_inflight() {
	# shellcheck disable=SC2046 # two numbers: reads and writes
	set -- $(cat "/sys/block/${1#/dev/}/inflight")
	[ $(($1 + $2)) -gt 0 ]
}

# sysfs_is FILE VALUE: FILE reads VALUE.
sysfs_is() {
	[ "$(cat "$1")" = "$2" ]
}

# bstackctl_sleeps PID: the bstackctl of PID sleeps in the kernel, which
# it does only in an ioctl that waits (for a device, I/O or an event);
# then it has its signal handlers, so Ctrl-C gets a message out of it.
bstackctl_sleeps() {
	[ "$(cut -d' ' -f2,3 "/proc/$1/stat" 2>/dev/null)" = "(bstackctl) S" ]
}

# wait_gone NAME: wait (up to 5 s) until bstack device NAME is gone, as a
# deferred removal makes it after its last close; fail if it stays.
wait_gone() {
	_t=0
	while bstackctl ls | grep -q "^$1	"; do
		_t=$((_t + 1))
		[ $_t -le 50 ] || fail "$1 is still there 5 s after its last close"
		sleep 0.1
	done
}

# ---------------------------------------------------------------- udev

# udev_start: install bstack's udev rules beside Debian's and start a real
# systemd-udevd, as a booted system has; both go when the case exits, so
# that the other cases see no udev.
udev_start() {
	mkdir -p /etc/udev/rules.d
	cp /usr/share/bstack/dist/60-bstack.rules /etc/udev/rules.d/
	cleanup_push udev_stop
	/usr/lib/systemd/systemd-udevd --daemon --resolve-names=never \
		> "$BSTACK_TMP/udevd.log" 2>&1 ||
		fail "systemd-udevd did not start: $(tail -n 1 "$BSTACK_TMP/udevd.log")"
	wait_for 10 "systemd-udevd made /run/udev/control" test -S /run/udev/control
	udevadm trigger --subsystem-match=block --action=add
	udevadm settle --timeout=30 || fail "udevadm settle timed out after the start"
}

udev_stop() {
	_pid=$(pidof systemd-udevd)
	if [ -n "$_pid" ]; then
		udevadm control --exit 2>/dev/null || kill $_pid
		_t=0
		while pidof systemd-udevd > /dev/null && [ $_t -lt 50 ]; do
			_t=$((_t + 1))
			sleep 0.1
		done
		pidof systemd-udevd > /dev/null && kill -KILL $(pidof systemd-udevd)
	fi
	rm -f /etc/udev/rules.d/60-bstack.rules
	rm -rf /run/udev
}

# udev_prop DEV KEY: the value udev's database holds for KEY of DEV.
udev_prop() {
	udevadm info --query=property --name="$1" 2>/dev/null |
		sed -n "s/^$2=//p"
}

# link_is LINK DEV: LINK is a symlink that resolves to DEV's node.
link_is() {
	[ -L "$1" ] && [ "$(readlink -f "$1")" = "$(readlink -f "$2")" ]
}

# loop_create FILE: a loop device over FILE (util-linux losetup), print its
# /dev path; detached when the case exits.
loop_create() {
	_loop=$(/usr/sbin/losetup -f --show "$1" 2> "$BSTACK_TMP/losetup.err") ||
		fail "losetup $1: $(head -n 1 "$BSTACK_TMP/losetup.err")"
	cleanup_push "/usr/sbin/losetup -d $_loop"
	echo "$_loop"
}

# ---------------------------------------------------------------- data

# read_range DEV START LEN: LEN sectors of DEV from sector START, to stdout.
read_range() {
	dd if="$1" bs=64k iflag=skip_bytes,count_bytes \
		skip=$(($2 * 512)) count=$(($3 * 512)) 2>/dev/null
}

# busybox ash runs its own applet for a bare command name even when PATH
# has another binary; the initramfs carries GNU md5sum and cmp, which are
# several times faster under TCG, so call them by path when they are there.
_gnu_or_applet() {
	if [ -x "/usr/bin/$1" ] && [ ! -L "/usr/bin/$1" ]; then
		echo "/usr/bin/$1"
	else
		echo "$1"
	fi
}
BSTACK_MD5SUM=$(_gnu_or_applet md5sum)
BSTACK_CMP=$(_gnu_or_applet cmp)

# md5_range DEV START LEN
md5_range() {
	read_range "$@" | "$BSTACK_MD5SUM" | cut -d' ' -f1
}

# cmp_range DEV1 START1 DEV2 START2 LEN: the same LEN sectors? On a
# difference, prints where the first one is and returns 1.
cmp_range() {
	"$BSTACK_CMP" -n $(($5 * 512)) "$1" "$3" $(($2 * 512)) $(($4 * 512))
}

# is_zero DEV START LEN: are those sectors all zero?
is_zero() {
	cmp_range "$1" "$2" /dev/zero 0 "$3"
}

# expect_range DEV START LEN zero|kept PATTERN: sectors START+LEN of DEV are
# all zero, or still hold the same sectors of the file PATTERN.
expect_range() {
	if [ "$4" = zero ]; then
		is_zero "$1" "$2" "$3" || fail "$1 $2+$3 should be zero"
	else
		cmp_range "$1" "$2" "$5" "$2" "$3" > /dev/null ||
			fail "$1 $2+$3 should be untouched"
	fi
	info "$1 $2+$3: $4"
}

# drop_caches: the next reads come from the devices, not the page cache.
drop_caches() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
}
