#!/bin/bash
# Fetch the newest Debian stock 6.12 kernel that apt offers, unpack it
# (without installing it) and install its headers. Prints two lines:
#   the kernel release (e.g. 6.12.117+deb12-amd64)
#   the unpacked root (boot/vmlinuz-<rel>, lib/modules/<rel>/...)
# The headers are at /usr/src/linux-headers-<rel>, usable as KDIR.
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs apt
mkdir -p "$BSTACK_CACHE"
exec 9>"$BSTACK_CACHE/.stock-kernel.lock"
flock 9

pick() {
	apt-cache search --names-only \
		'^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
		awk '{print $1}' | sort -V | tail -n 1
}
pkg=$(pick)
if [ -z "$pkg" ]; then
	apt-get update -q >&2 || die "apt-get update failed"
	touch "$BSTACK_CACHE/.apt-updated"
	pkg=$(pick)
fi
[ -n "$pkg" ] || die "apt offers no linux-image-6.12.*+deb12-amd64-unsigned"
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
echo "$root"
