#!/bin/bash
# Build bstack.ko (and bstack_test.ko where the kernel has KUnit) against
# KDIR into OUTDIR, without touching the source tree, so that modules for
# several kernels can sit side by side.
#   scripts/build-module.sh KDIR OUTDIR
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ $# -eq 2 ] || die "usage: build-module.sh KDIR OUTDIR"
kdir=$1
out=$2
[ -f "$kdir/Makefile" ] || die "$kdir is not a kernel build directory (no Makefile)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Mirror the sources; rsync -c keeps timestamps of unchanged files, so
# kbuild rebuilds only what changed.
for d in src include tests/kunit; do
	mkdir -p "$out/$d"
	cp -pu "$BSTACK_TOP/$d"/*.[ch] "$out/$d/" 2>/dev/null || true
done
cp -p "$BSTACK_TOP/Kbuild" "$out/Kbuild"
mkdir -p "$out/include/uapi/linux"
cp -pu "$BSTACK_TOP/include/uapi/linux/bstack.h" "$out/include/uapi/linux/"
make -C "$kdir" M="$out" W=1 modules >&2
