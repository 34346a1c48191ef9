#!/bin/bash
# Build bstack.ko the way a user's machine does, through DKMS, for the
# kernel at KDIR, and leave it at OUTDIR/bstack.ko for the guests to load.
#
#   scripts/dkms-build.sh KDIR OUTDIR
#
# The sources go where "make dkms-source" puts them (as /usr/src/bstack-V
# under OUTDIR/root), and DKMS works in a tree of its own under OUTDIR
# (--sourcetree, --dkmstree): the machine's /usr/src and /var/lib/dkms are
# not touched, but for the module signing key that DKMS makes on its first
# build, as it does on any Debian machine. dkms.conf's MAKE builds against
# --kernelsourcedir, the kernel being built for, whatever runs here.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || die "usage: dkms-build.sh KDIR OUTDIR"
kdir=$(cd "$1" && pwd) || die "no such directory: $1"
out=$2
command -v dkms > /dev/null || die "dkms is not installed (apt-get install dkms)"
# As uname -r says it: Debian's 6.1 headers say the upstream version in
# include/config/kernel.release.
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null)
[ -n "$rel" ] || die "$kdir is not a prepared kernel tree (no UTS_RELEASE)"
version=$(make -s -C "$BSTACK_TOP" --no-print-directory -f - print-version <<'MK'
include Makefile
print-version:
	@echo $(VERSION)
MK
)
[ -n "$version" ] || die "cannot read bstack's version"

# DKMS as a user runs it: not inside make check's make. (dkms reads CC
# from Debian's .kernelvariables with a make whose "Entering directory"
# lines, under a MAKELEVEL, would end up in CC.)
unset MAKEFLAGS MAKELEVEL MFLAGS

rm -rf "$out/root" "$out/tree"
mkdir -p "$out/tree"
out=$(cd "$out" && pwd)
make -s -C "$BSTACK_TOP" dkms-source DESTDIR="$out/root"
src=$out/root/usr/src
trees=(--sourcetree "$src" --dkmstree "$out/tree")

dkms add -m bstack -v "$version" "${trees[@]}"
if ! dkms build -m bstack -v "$version" -k "$rel" --kernelsourcedir "$kdir" \
	"${trees[@]}"; then
	cat "$out/tree/bstack/$version/build/make.log" 2>/dev/null | tail -n 30 >&2
	die "dkms build failed for $rel"
fi
log="$out/tree/bstack/$version/$rel/$(uname -m)/log/make.log"
# The warnings are make check's to see, as they are for build-module.sh.
if grep -n 'warning:' "$log" >&2; then
	die "the DKMS build of $rel has warnings (see $log)"
fi
ko=$(find "$out/tree/bstack/$version/$rel" -name 'bstack.ko*' | head -n 1)
[ -n "$ko" ] || die "dkms build made no bstack.ko for $rel"
case "$ko" in
*.xz)	xz -dc "$ko" > "$out/bstack.ko" ;;
*.zst)	zstd -qdc "$ko" > "$out/bstack.ko" ;;
*.gz)	gzip -dc "$ko" > "$out/bstack.ko" ;;
*)	cp "$ko" "$out/bstack.ko" ;;
esac
magic=$(modinfo -F vermagic "$out/bstack.ko")
[ "${magic%% *}" = "$rel" ] ||
	die "the DKMS module is for '${magic%% *}', not $rel"
echo "dkms built $ko for $rel (vermagic $magic)"
