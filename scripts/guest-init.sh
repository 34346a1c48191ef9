#!/bin/sh
# /init of bstack's QEMU test initramfs (busybox ash; see mkinitramfs.sh).
#
# Reads its instructions from the kernel command line:
#   bstack.tests=NAME,NAME,...  test cases to run, from /tests/cases/NAME.sh
#   bstack.kunit=1              load bstack_test.ko, print its KUnit results
#   bstack.script=1             run /tests/script.sh (demo, bench), streamed
#   bstack.timeout=SECS         per-case (and per-script) time limit
#   bstack.kmemleak=0           skip the final kmemleak scan
#   bstack.kmemleak_clear=0     do not forget what boot leaked (saves ~12 s)
#   bstack.torture=SECS         how long 026-torture runs (make torture)
#   null_blk.*, configfs.*, dm_mod.*  passed to insmod of those modules
#
# and prints, on the console, lines that scripts/qemu-run.sh parses:
#   BSTACK-BEGIN <name>                 a case (or the script) starts
#   BSTACK-RESULT <name> PASS|FAIL|SKIP <reason>
#   BSTACK-KUNIT-BEGIN <suite> ... BSTACK-KUNIT-END <suite>
#                                       /sys/kernel/debug/kunit/<suite>/results
#   BSTACK-KMEMLEAK-BEGIN ... BSTACK-KMEMLEAK-END
#   BSTACK-END                          the run is complete
# Then it powers off. Every other line is for people.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
export TERM=dumb

TESTS='' KUNIT=0 SCRIPT=0 TIMEOUT=300 KMEMLEAK=1 KMEMLEAK_CLEAR=1
KERNEL=$(cat /etc/bstack-kernel 2>/dev/null || echo unknown)
CASE_FAILED=0

say() {
	echo "bstack-init: $*"
}

result() {
	echo "BSTACK-RESULT $1 $2 ${3:-}"
}

mount_filesystems() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	exec < /dev/console > /dev/console 2>&1
	mkdir -p /dev/shm /dev/pts
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	mount -t tmpfs -o mode=1777 tmpfs /tmp
	mount -t debugfs debugfs /sys/kernel/debug
}

mount_configfs() {
	grep -qw configfs /proc/filesystems || return 0
	mount | grep -q ' /sys/kernel/config ' && return 0
	mount -t configfs configfs /sys/kernel/config
}

parse_cmdline() {
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
		bstack.tests=*)		TESTS=$(echo "${arg#*=}" | tr ',' ' ') ;;
		bstack.kunit=*)		KUNIT=${arg#*=} ;;
		bstack.script=*)	SCRIPT=${arg#*=} ;;
		bstack.timeout=*)	TIMEOUT=${arg#*=} ;;
		bstack.kmemleak=*)	KMEMLEAK=${arg#*=} ;;
		bstack.kmemleak_clear=*) KMEMLEAK_CLEAR=${arg#*=} ;;
		bstack.torture=*)	export BSTACK_TORTURE_SECS="${arg#*=}" ;;
		esac
	done
}

# The module parameters for MODULE given on the kernel command line: the
# kernel keeps them for built-in code only, modprobe would pass them on,
# busybox insmod does not.
cmdline_params() {
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
		"$1".*=*) echo "${arg#"$1".}" ;;
		esac
	done
}

# The kernel's modules, when the initramfs carries them (the debug
# kernel has them built in).
load_kernel_modules() {
	[ -f /lib/kmod/order ] || return 0
	while read -r ko; do
		mod=$(echo "${ko%.ko}" | tr - _)
		[ -d "/sys/module/$mod" ] && continue
		# shellcheck disable=SC2046
		insmod "/lib/kmod/$ko" $(cmdline_params "$mod") ||
			say "insmod $ko failed"
	done < /lib/kmod/order
}

# Run "$@" in its own session, killed (the whole process group) after $1
# seconds. Returns its exit status, or 124 if it timed out.
run_with_timeout() {
	limit=$1
	shift
	rm -f /tmp/.bstack-timedout
	setsid "$@" &
	pid=$!
	(
		# Sleep in the background: ash runs a trap only between commands.
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$limit" &
		sp=$!
		wait "$sp"
		touch /tmp/.bstack-timedout
		# Show what is stuck (the kernel logs it) before killing.
		if [ -w /proc/sysrq-trigger ]; then
			echo "bstack-init: timed out; blocked tasks:"
			echo w > /proc/sysrq-trigger
		fi
		kill -TERM -"$pid" 2>/dev/null
		sleep 5 &
		sp=$!
		wait "$sp"
		kill -KILL -"$pid" 2>/dev/null
	) &
	wd=$!
	wait "$pid"
	rc=$?
	kill -TERM "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	# Whatever the case left running in its process group goes too.
	kill -KILL -"$pid" 2>/dev/null
	if [ -e /tmp/.bstack-timedout ]; then
		return 124
	fi
	return "$rc"
}

load_bstack() {
	if ! grep -qx bstack.ko /lib/bstack/order 2>/dev/null; then
		result module-load SKIP "no bstack.ko in the initramfs"
		return 1
	fi
	if out=$(insmod /lib/bstack/bstack.ko 2>&1); then
		result module-load PASS
		return 0
	fi
	echo "$out"
	result module-load FAIL "insmod bstack.ko: $(echo "$out" | head -n 1)"
	return 1
}

kunit_suites() {
	ls /sys/kernel/debug/kunit 2>/dev/null
}

run_kunit() {
	[ "$KUNIT" = 1 ] || return 0
	if [ ! -d /sys/kernel/debug/kunit ]; then
		result kunit-load SKIP "the $KERNEL kernel has no KUnit"
		return 0
	fi
	if ! grep -qx bstack_test.ko /lib/bstack/order 2>/dev/null; then
		result kunit-load SKIP "no bstack_test.ko in the initramfs"
		return 0
	fi
	before=$(kunit_suites)
	echo "BSTACK-BEGIN kunit-load"
	if ! out=$(insmod /lib/bstack/bstack_test.ko 2>&1); then
		echo "$out"
		result kunit-load FAIL "insmod bstack_test.ko: $(echo "$out" | head -n 1)"
		return 0
	fi
	n=0
	for suite in $(kunit_suites); do
		echo "$before" | grep -qx "$suite" && continue
		n=$((n + 1))
		echo "BSTACK-KUNIT-BEGIN $suite"
		cat "/sys/kernel/debug/kunit/$suite/results"
		echo "BSTACK-KUNIT-END $suite"
	done
	if [ "$n" -eq 0 ]; then
		result kunit-load FAIL "bstack_test.ko loaded but no KUnit suite appeared"
	else
		result kunit-load PASS "$n suites"
	fi
}

# Make the next case start from nothing: no bstack, dm or null_blk device.
# Each step is time-limited: after a hung case, it may block too.
reset_devices() {
	left=
	if command -v bstackctl > /dev/null && [ -c /dev/bstack-control ]; then
		[ -z "$(ls -d /sys/block/bstack* 2>/dev/null)" ] ||
			{ left="$left bstack"; timeout 30 bstackctl remove_all; }
	fi
	[ -z "$(ls -d /sys/block/dm-* 2>/dev/null)" ] ||
		{ left="$left dm"; timeout 30 dmsetup remove_all --noudevsync; }
	for d in /sys/kernel/config/nullb/*/; do
		[ -d "$d" ] || continue
		left="$left ${d%/}"
		timeout 30 rmdir "$d"
	done
	[ -z "$left" ] || say "note: the case left devices behind:$left"
}

# run_one NAME FILE: run a case or the script with the time limit and
# report it.
run_one() {
	name=$1 file=$2
	reason_file=/tmp/bstack-reason.$name
	rm -f "$reason_file"
	echo "BSTACK-BEGIN $name"
	start=$(date +%s)
	export BSTACK_CASE="$name" BSTACK_REASON_FILE="$reason_file"
	export BSTACK_LIB=/tests/lib.sh BSTACK_KERNEL="$KERNEL"
	run_with_timeout "$TIMEOUT" sh -c 'cd /tmp && exec sh "$0"' "$file"
	rc=$?
	secs=$(($(date +%s) - start))
	reason=$(head -n 1 "$reason_file" 2>/dev/null)
	case "$rc" in
	0)	result "$name" PASS "${secs}s" ;;
	77)	result "$name" SKIP "${reason:-no reason given}" ;;
	124)	result "$name" FAIL "timed out after ${TIMEOUT}s"; CASE_FAILED=1 ;;
	*)	result "$name" FAIL "${reason:-exit status $rc}"; CASE_FAILED=1 ;;
	esac
	reset_devices
}

run_tests() {
	for t in $TESTS; do
		if [ -f "/tests/cases/$t.sh" ]; then
			run_one "$t" "/tests/cases/$t.sh"
		else
			result "$t" FAIL "no test case /tests/cases/$t.sh"
			CASE_FAILED=1
		fi
	done
}

run_script() {
	[ "$SCRIPT" = 1 ] || return 0
	[ -f /tests/script.sh ] || { result script FAIL "no /tests/script.sh"; return 0; }
	run_one script /tests/script.sh
}

# Unload what we loaded; a module that does not unload fails the run.
unload_modules() {
	for mod in bstack_test bstack; do
		[ -d "/sys/module/$mod" ] || continue
		# kmemleak scans after the unload, when it can no longer name
		# the module's functions: say where its code was.
		say "$mod .text was at $(cat "/sys/module/$mod/sections/.text" 2>/dev/null)"
		if out=$(timeout 60 rmmod "$mod" 2>&1); then
			result "module-unload-$mod" PASS
		else
			echo "$out"
			why=$(echo "$out" | head -n 1)
			[ "$CASE_FAILED" = 0 ] || why="$why (after a failed case)"
			result "module-unload-$mod" FAIL "rmmod $mod: ${why:-timed out}"
		fi
	done
}

kmemleak_start() {
	[ -w /sys/kernel/debug/kmemleak ] || return 0
	# No automatic scans: we scan at the end. Forget what boot leaked.
	echo scan=off > /sys/kernel/debug/kmemleak
	[ "$KMEMLEAK_CLEAR" = 1 ] || return 0
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
}

kmemleak_check() {
	if [ ! -e /sys/kernel/debug/kmemleak ]; then
		result kmemleak SKIP "the $KERNEL kernel has no kmemleak"
		return
	fi
	[ "$KMEMLEAK" = 1 ] || { result kmemleak SKIP "disabled (bstack.kmemleak=0)"; return; }
	# Objects younger than 5 s are not reported; scan twice, as the
	# kmemleak documentation advises, to weed out transient references.
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	sleep 1
	echo scan > /sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -z "$leaks" ]; then
		result kmemleak PASS
		return
	fi
	echo "BSTACK-KMEMLEAK-BEGIN"
	echo "$leaks"
	echo "BSTACK-KMEMLEAK-END"
	n=$(echo "$leaks" | grep -c 'unreferenced object')
	result kmemleak FAIL "$n unreferenced objects"
}

finish() {
	echo "BSTACK-END"
	sync
	sleep 0.5
	poweroff -f
	sleep 10
}

main() {
	mount_filesystems
	parse_cmdline
	[ ! -w /proc/sys/kernel/sysrq ] || echo 1 > /proc/sys/kernel/sysrq
	say "$KERNEL kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime)s"
	load_kernel_modules
	mount_configfs
	kmemleak_start
	echo "BSTACK-BEGIN module-load"
	load_bstack
	run_kunit
	run_script
	run_tests
	unload_modules
	kmemleak_check
	say "done, up $(cut -d' ' -f1 /proc/uptime)s"
	finish
}

main
