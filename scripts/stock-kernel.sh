#!/bin/bash
# Fetch the newest Debian bookworm stock kernel of a series that apt offers,
# unpack it (without installing it) and install its headers.
#
#   stock-kernel.sh 6.1|6.12
#
# Prints four lines:
#   the kernel release (e.g. 6.12.117+deb12-amd64)
#   the build directory, usable as KDIR (/usr/src/linux-headers-<rel>)
#   the kernel image
#   the unpacked root, whose lib/modules/<rel>/ holds the modules
# No patch release is pinned: old ones leave the archive.
set -euo pipefail
. "$(dirname "$0")/common.sh"

series=${1:-}
case "$series" in
6.1)	pattern='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
6.12)	pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
*)	die "usage: stock-kernel.sh 6.1|6.12" ;;
esac

need_pkgs apt
mkdir -p "$BSTACK_CACHE"
exec 9>"$BSTACK_CACHE/.stock-kernel.lock"
flock 9

pick() {
	apt-cache search --names-only "$pattern" | awk '{print $1}' |
		sort -V | tail -n 1
}
pkg=$(pick)
if [ -z "$pkg" ]; then
	apt-get update -q >&2 || die "apt-get update failed"
	touch "$BSTACK_CACHE/.apt-updated"
	pkg=$(pick)
fi
[ -n "$pkg" ] || die "apt offers no package matching $pattern"
rel=${pkg#linux-image-}
rel=${rel%-unsigned}
root=$BSTACK_CACHE/stock-$rel

need_pkgs "linux-headers-$rel"

if [ ! -f "$root/.bstack-unpacked" ]; then
	log "downloading $pkg"
	rm -rf "$root" "$root.tmp"
	mkdir -p "$root.tmp"
	(cd "$root.tmp" && apt-get download -q "$pkg" >&2) ||
		die "apt-get download $pkg failed"
	dpkg-deb -x "$root.tmp"/*.deb "$root.tmp" || die "cannot unpack $pkg"
	rm -f "$root.tmp"/*.deb
	[ -f "$root.tmp/boot/vmlinuz-$rel" ] || die "$pkg has no boot/vmlinuz-$rel"
	touch "$root.tmp/.bstack-unpacked"
	mv "$root.tmp" "$root"
fi
echo "$rel"
echo "/usr/src/linux-headers-$rel"
echo "$root/boot/vmlinuz-$rel"
echo "$root"
