#!/bin/bash
# make deb: bstack-dkms (all) and bstack-tools (amd64), built with
# Debian's own tools (debhelper, dh-dkms) from a copy of the tree, into
# build/deb/.
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs dpkg-dev debhelper dh-dkms libudev-dev pkg-config fakeroot
version=$(dpkg-parsechangelog -l "$BSTACK_TOP/debian/changelog" -S Version)
out=$BSTACK_BUILD/deb
src=$out/src/bstack-$version
rm -rf "$out"
mkdir -p "$src"
# A copy without build output: what a source package would hold.
(cd "$BSTACK_TOP" && tar -c --exclude=./build --exclude=./.git --exclude='*.o' \
	--exclude='*.ko' --exclude=./tools/bstackctl --exclude=./tests/host/test_table \
	--exclude='./tests/helpers/mapcheck' --exclude='./tests/helpers/ioctl' \
	--exclude='./tests/helpers/pattern' --exclude='./tests/helpers/pr' \
	--exclude='./tests/helpers/atomic' --exclude='./tests/helpers/elapsed' \
	--exclude='./tests/helpers/dmload' \
	--exclude='./tests/helpers/lines' .) | tar -x -C "$src"
log "dpkg-buildpackage in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1 ||
	{ tail -n 30 "$out/build.log" >&2; die "dpkg-buildpackage failed (see $out/build.log)"; }
mv "$out"/src/*.deb "$out/"
ls "$out"/*.deb
