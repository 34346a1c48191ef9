#!/bin/bash
# Build the initramfs that bstack's QEMU tests boot.
#
#   mkinitramfs.sh --kernel NAME --out FILE [--ko FILE]...
#                  [--bstackctl FILE] [--script FILE] [--cases DIR]
#                  [--modroot DIR --rel REL]
#
# The result is two newc cpio archives, concatenated (the kernel unpacks
# them in order, the second on top of the first):
#   1. the base: busybox (with its links), fio, dmsetup, lsblk, GNU cmp and
#      md5sum, lvm, udevadm (systemd-udevd) with Debian's stock block-device
#      rules (UDEV_RULES), every library that ldd lists for them, and the
#      loader. It
#      depends only on the host's binaries, so it is built once and cached
#      in $BSTACK_CACHE/initramfs/ (keyed by the binaries and this script).
#      It is stored uncompressed: fio's libraries make it ~85 MB, and under
#      TCG the kernel takes ~5 s longer per boot to gunzip it than to copy it.
#   2. the overlay, gzip'd and rebuilt every time in well under a second:
#      /init (scripts/guest-init.sh), tests/lib.sh and tests/cases/*.sh (or
#      --cases DIR/*.sh) under /tests, the .ko files under /lib/bstack/
#      (names listed in /lib/bstack/order), bstackctl as /usr/sbin/bstackctl,
#      a demo/bench script as /tests/script.sh, bstack's dist/ files (udev
#      rules and the like) under /usr/share/bstack/dist, for the cases that
#      install them, /etc/bstack-kernel (the
#      kernel's name in the matrix), and, with --modroot, the modules the
#      cases need (MODULES below) with everything they depend on,
#      decompressed under /lib/kmod/ (load order in /lib/kmod/order).
set -euo pipefail
. "$(dirname "$0")/common.sh"

# Bump to invalidate cached bases (the code that builds them is hashed too).
BASE_FORMAT=2
# The modules the cases need from a kernel that does not build them in.
# Their dependencies come along, found with modinfo, so that a module
# that moves or gains one between releases is still found.
MODULES="configfs null_blk loop dm_mod ext4 crc32c_generic sd_mod"
# Modules the cases load themselves, with parameters of their own
# (load_module in tests/lib.sh): staged, with their dependencies loaded at
# boot, but not loaded.
MODULES_ON_DEMAND="scsi_debug tcm_loop btrfs raid0"
# The guest helpers (make -C tests/helpers), each staged, when built, as
# /usr/bin/bstack-NAME:
#   mapcheck	the cases' independent mapping checker
#   ioctl	the ioctl fuzzer and privilege checker
#   pattern	the pattern writer and checker of the memory-pressure cases
#   pr		the persistent reservation ioctls, for the pass-through case
#   atomic	statx's atomic write limits and RWF_ATOMIC writes (035)
#   elapsed	a command's run time in guest nanoseconds (make bench)
#   dmload	dm tables too large for dmsetup, loaded with dm's ioctls
#   lines	tables of N linear lines of one length (make bench, 038)
HELPERS="mapcheck ioctl pattern pr atomic elapsed dmload lines"
# The host's udev rules that a Debian system applies to block devices; the
# udev cases add bstack's own (dist/60-bstack.rules) beside them.
UDEV_RULES="50-udev-default.rules 60-block.rules 60-persistent-storage.rules 99-systemd.rules"

usage() {
	cat >&2 <<EOF
usage: ${0##*/} --kernel NAME --out FILE [--ko FILE]... [--bstackctl FILE]
       [--script FILE] [--cases DIR] [--modroot DIR --rel REL]
EOF
	exit 2
}

cases_dir=$BSTACK_TOP/tests/cases
kernel='' out='' bstackctl='' script='' modroot='' rel=''
kos=()
base_libs=

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel)	kernel=${2:?}; shift 2 ;;
		--out)		out=${2:?}; shift 2 ;;
		--ko)		kos+=("${2:?}"); shift 2 ;;
		--bstackctl)	bstackctl=${2:?}; shift 2 ;;
		--script)	script=${2:?}; shift 2 ;;
		--cases)	cases_dir=${2:?}; shift 2 ;;
		--modroot)	modroot=${2:?}; shift 2 ;;
		--rel)		rel=${2:?}; shift 2 ;;
		-h|--help)	usage ;;
		*)		echo "${0##*/}: unknown argument: $1" >&2; usage ;;
		esac
	done
	[ -n "$kernel" ] && [ -n "$out" ] || usage
	[ -z "$modroot" ] || [ -n "$rel" ] || usage
	local f
	for f in ${kos[@]+"${kos[@]}"} "$bstackctl" "$script"; do
		[ -z "$f" ] || [ -f "$f" ] || die "no such file: $f"
	done
}

# The binaries the base carries, by host path. lsblk is for the demo.
# GNU cmp and md5sum replace busybox's: under TCG they compare and hash
# several times faster, and the cases compare hundreds of MB. util-linux's
# blkdiscard has -z, which busybox's lacks; losetup and fallocate are
# util-linux's too, for the write-zeroes case. sg_persist (sg3-utils) and
# blkzone, for the reservation and zoned cases; mkfs.btrfs, for zone
# append (037); mdadm, for make bench's md raid0.
base_bins() {
	command -v busybox fio dmsetup lsblk cmp md5sum blkdiscard losetup \
		fallocate udevadm lvm sg_persist blkzone mkfs.btrfs mdadm || true
}

# The host's copies of UDEV_RULES.
udev_rules() {
	local r d
	for r in $UDEV_RULES; do
		for d in /usr/lib/udev/rules.d /lib/udev/rules.d; do
			[ -f "$d/$r" ] && { echo "$d/$r"; break; }
		done
	done
}

# Every library a dynamic binary needs, as ldd resolves it, and the loader.
libs_of() {
	ldd "$1" 2>/dev/null | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }'
}

# Copy a file to the same path under a staging root, following symlinks.
stage_file() {
	local root=$1 f=$2
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
}

# Copy a binary to DEST under ROOT with every library it needs that is
# not already in the base.
stage_bin() {
	local root=$1 bin=$2 dest=$3 lib
	mkdir -p "$root$(dirname "$dest")"
	rm -f "$root$dest"	# never write through a link to the host's file
	cp -L "$bin" "$root$dest"
	chmod 755 "$root$dest"
	for lib in $(libs_of "$bin"); do
		[ -e "$root$lib" ] || grep -qxF -- "$lib" <<<"$base_libs" ||
			stage_file "$root" "$lib"
	done
}

# The skeleton both archives share. The overlay must use the same merged
# /usr symlinks as the base: an overlay entry of another type at the same
# path would replace the base's symlink when the kernel unpacks it.
make_skeleton() {
	local root=$1 dir
	mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{dev,proc,sys,tmp,run,mnt,etc,root}
	for dir in bin sbin lib lib64; do
		ln -s "usr/$dir" "$root/$dir"
	done
}

# Pack a staging root into a newc cpio, gzip'd unless LEVEL is "none".
pack() {
	local root=$1 dest=$2 level=$3
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) |
		if [ "$level" = none ]; then cat; else gzip "-$level"; fi > "$dest"
}

# Every library the base carries.
list_base_libs() {
	local bin
	for bin in $(base_bins); do
		libs_of "$bin"
	done | sort -u
}

# A key that changes when any binary or library in the base changes.
base_key() {
	{
		echo "format $BASE_FORMAT"
		declare -f build_base make_skeleton stage_bin stage_file libs_of pack
		# shellcheck disable=SC2046
		stat -L -c '%n %s %Y' $(base_bins) $base_libs $(udev_rules)
	} | sha256sum | cut -c1-16
}

build_base() {
	local dest=$1 root bin lib f
	root=$(mktemp -d "$dest.XXXXXX.d")
	log "building the initramfs base (cached as $dest)"
	# Merged /usr, as on the host, so ldd's paths land where they say.
	make_skeleton "$root"
	for lib in $base_libs; do
		stage_file "$root" "$lib"
	done
	for bin in $(base_bins); do
		stage_bin "$root" "$bin" "/usr${bin#/usr}"
	done
	# udevadm is systemd-udevd too, by the name it is run by.
	if [ -e "$root/usr/bin/udevadm" ]; then
		mkdir -p "$root/usr/lib/systemd" "$root/usr/lib/udev/rules.d"
		ln -s /usr/bin/udevadm "$root/usr/lib/systemd/systemd-udevd"
		for f in $(udev_rules); do
			cp "$f" "$root/usr/lib/udev/rules.d/"
		done
	fi
	# busybox provides every command the base has no binary for.
	busybox --list-full | while IFS= read -r bin; do
		case "$bin" in
		*/*) [ -e "$root/$bin" ] || [ -L "$root/$bin" ] ||
			ln -s /usr/bin/busybox "$root/$bin" ;;
		esac
	done
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"
	pack "$root" "$dest.tmp" none
	mv "$dest.tmp" "$dest"
	rm -rf "$root"
}

# Print the path of the cached base, building it if needed.
base_archive() {
	local dir=$BSTACK_CACHE/initramfs key bin
	for bin in busybox fio dmsetup; do
		command -v "$bin" >/dev/null || die "$bin is not installed (need_pkgs ${host_pkgs[*]})"
	done
	mkdir -p "$dir"
	key=$(base_key)
	exec 8>"$dir/.lock"
	flock 8
	if [ ! -f "$dir/base-$key.cpio" ]; then
		build_base "$dir/base-$key.cpio"
		# Bases of older binaries or older versions of this script.
		find "$dir" -maxdepth 1 -name 'base-*.cpio*' ! -name "base-$key.cpio" -delete
	fi
	exec 8>&-
	echo "$dir/base-$key.cpio"
}

# The directory of a kernel's modules under its unpacked root: lib/modules
# (bookworm) or usr/lib/modules (merged /usr, unstable).
modules_dir() {
	local d
	for d in "$modroot/lib/modules/$rel" "$modroot/usr/lib/modules/$rel"; do
		[ -d "$d/kernel" ] && { echo "$d"; return; }
	done
	die "no lib/modules/$rel/kernel under $modroot"
}

# Stage MODULES and MODULES_ON_DEMAND and what they depend on, each after
# its dependencies.
stage_modules() {
	local root=$1 dir map staged='' m
	dir=$(modules_dir)
	# name (dashes as underscores) -> file, for every module of the kernel
	map=$(find "$dir/kernel" -name '*.ko*' | awk '{
		n = $0; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n)
		gsub(/-/, "_", n); print n, $0 }')
	mkdir -p "$root/lib/kmod"
	: > "$root/lib/kmod/order"

	# stage_one NAME: its dependencies first, then itself; a module the
	# kernel has built in has no file and needs nothing.
	stage_one() {
		local name=$1 file dep out
		case " $staged " in *" $name "*) return ;; esac
		staged="$staged $name"
		file=$(awk -v n="$name" '$1 == n { print $2; exit }' <<<"$map")
		[ -n "$file" ] || return 0
		for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
			stage_one "$(echo "$dep" | tr - _)"
		done
		out=$root/lib/kmod/$name.ko
		case "$file" in
		*.xz)	xz -dc "$file" > "$out" ;;
		*.zst)	zstd -qdc "$file" > "$out" ;;
		*.gz)	gzip -dc "$file" > "$out" ;;
		*)	cp "$file" "$out" ;;
		esac
		case " $MODULES_ON_DEMAND " in
		*" $name "*) ;;
		*) echo "$name.ko" >> "$root/lib/kmod/order" ;;
		esac
	}
	for m in $MODULES $MODULES_ON_DEMAND; do
		stage_one "$m"
	done
}

build_overlay() {
	local dest=$1 root ko f
	root=$(mktemp -d "${TMPDIR:-/tmp}/bstack-overlay.XXXXXX")
	make_skeleton "$root"
	mkdir -p "$root/tests/cases" "$root/lib/bstack"
	install -m 755 "$BSTACK_TOP/scripts/guest-init.sh" "$root/init"
	install -m 644 "$BSTACK_TOP/tests/lib.sh" "$root/tests/lib.sh"
	for f in "$cases_dir"/*.sh; do
		[ -f "$f" ] && install -m 755 "$f" "$root/tests/cases/"
	done
	: > "$root/lib/bstack/order"
	for ko in ${kos[@]+"${kos[@]}"}; do
		cp "$ko" "$root/lib/bstack/"
		echo "${ko##*/}" >> "$root/lib/bstack/order"
	done
	[ -z "$bstackctl" ] || stage_bin "$root" "$bstackctl" /usr/sbin/bstackctl
	for h in $HELPERS; do
		[ ! -x "$BSTACK_TOP/tests/helpers/$h" ] ||
			stage_bin "$root" "$BSTACK_TOP/tests/helpers/$h" \
				"/usr/bin/bstack-$h"
	done
	[ -z "$script" ] || install -m 755 "$script" "$root/tests/script.sh"
	mkdir -p "$root/usr/share/bstack"
	cp -r "$BSTACK_TOP/dist" "$root/usr/share/bstack/dist"
	[ -z "$modroot" ] || stage_modules "$root"
	echo "$kernel" > "$root/etc/bstack-kernel"
	pack "$root" "$dest" 1
	rm -rf "$root"
}

main() {
	parse_args "$@"
	local base
	base_libs=$(list_base_libs)
	base=$(base_archive)
	mkdir -p "$(dirname "$out")"
	build_overlay "$out.overlay"
	cat "$base" "$out.overlay" > "$out.tmp"
	rm -f "$out.overlay"
	mv "$out.tmp" "$out"
}

main "$@"
