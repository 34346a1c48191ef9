# shellcheck shell=bash
# Shared paths and helpers for bstack's scripts. Source it; do not run it.

BSTACK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# DKMS runs the probe from a maintainer script, with no HOME.
BSTACK_CACHE=${BSTACK_CACHE:-${HOME:-/root}/.cache/bstack}
BSTACK_BUILD=${BSTACK_BUILD:-$BSTACK_TOP/build}

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

log() {
	echo "==> $*" >&2
}

# The kernels of the test matrix (scripts/kernel.sh): the debug kernel,
# and the stock kernels users run.
BSTACK_KERNELS="debug 6.1 6.12 unstable"
BSTACK_STOCK_KERNELS="6.1 6.12 unstable"

# check_kernel NAME: die unless NAME is a kernel of the matrix.
check_kernel() {
	case " $BSTACK_KERNELS " in
	*" $1 "*) ;;
	*) die "unknown kernel '$1': the kernels are $BSTACK_KERNELS" ;;
	esac
}

# build_module KDIR OUT LOG: bstack.ko (W=1) for the kernel build at KDIR,
# into OUT; on failure, show the end of LOG and stop.
build_module() {
	bash "$BSTACK_TOP/scripts/build-module.sh" "$1" "$2" > "$3" 2>&1 ||
		{ tail -n 20 "$3" >&2; die "module build failed (see $3)"; }
}

# kernel_module NAME LOG: fetch (or build) kernel NAME of the matrix, build
# bstack.ko for it into $BSTACK_BUILD/NAME, and print its release.
kernel_module() {
	local lines
	check_kernel "$1"
	log "finding the $1 kernel (scripts/kernel.sh $1)"
	lines=$(bash "$BSTACK_TOP/scripts/kernel.sh" "$1") ||
		die "cannot fetch the $1 kernel"
	log "building bstack.ko for $(echo "$lines" | sed -n 1p)"
	build_module "$(echo "$lines" | sed -n 2p)" "$BSTACK_BUILD/$1" "$2"
	echo "$lines" | sed -n 1p
}

# use_icount [QEMU-ARGS...]: run the next guests on QEMU's instruction
# clock (one guest nanosecond per instruction, idle time skipped), as make
# bench and make profile do, with QEMU-ARGS added. QEMU 7.2 with -icount
# once corrupted a guest's EFLAGS right after a cmpxchg16b (SLUB's
# lockless fast path; the guest died of a double fault), so these guests
# run on a CPU without cmpxchg16b and SLUB takes its other path; every
# target runs on the same CPU.
use_icount() {
	export BSTACK_QEMU_ICOUNT=shift=0,sleep=off
	export BSTACK_QEMU_ARGS="-cpu qemu64,-cx16${*:+ $*}"
}

# Install the Debian packages given, if any is missing.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (run as root to install): ${missing[*]}"
	log "apt-get install ${missing[*]}"
	if [ ! -f "$BSTACK_CACHE/.apt-updated" ] ||
	   [ -n "$(find "$BSTACK_CACHE/.apt-updated" -mmin +360)" ]; then
		apt-get update -q >&2 || die "apt-get update failed"
		mkdir -p "$BSTACK_CACHE" && touch "$BSTACK_CACHE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# Packages every guest run and build needs on the host.
host_pkgs=(make gcc libc6-dev qemu-system-x86 busybox-static fio cpio kmod
	   xz-utils gzip zstd dmsetup util-linux udev libudev-dev pkg-config lvm2
	   sg3-utils btrfs-progs mdadm)
