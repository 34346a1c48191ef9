#!/bin/bash
# Build bstack.ko, the tests' bstack_inject.ko (tests/inject/), and
# bstack_test.ko where the kernel has KUnit, against
# KDIR into OUTDIR, without touching the source tree, so that modules for
# several kernels can sit side by side.
#
#   scripts/build-module.sh KDIR OUTDIR
#   scripts/build-module.sh --kunit-only KDIR OUTDIR
#
# The kernel is probed first (scripts/probe.sh, cached in OUTDIR/config).
# A warning fails the build (W=1 and -Werror): this is the test harness;
# the top Makefile, which users and DKMS run, does not add -Werror.
# --kunit-only compiles the KUnit suites against a kernel built without
# KUnit, with CONFIG_KUNIT forced on for them, and links nothing: it shows
# that they build for that kernel's interfaces, which a kernel of the same
# series built with KUnit would run.
set -euo pipefail
. "$(dirname "$0")/common.sh"

kunit_only=0
if [ "${1:-}" = --kunit-only ]; then
	kunit_only=1
	shift
fi
[ $# -eq 2 ] || die "usage: build-module.sh [--kunit-only] KDIR OUTDIR"
kdir=$1
out=$2
[ -f "$kdir/Makefile" ] || die "$kdir is not a kernel build directory (no Makefile)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Mirror the sources; cp -u keeps the timestamps of unchanged files, so
# kbuild rebuilds only what changed.
for d in src include tests/kunit tests/inject; do
	mkdir -p "$out/$d"
	cp -pu "$BSTACK_TOP/$d"/*.[ch] "$out/$d/" 2>/dev/null || true
done
cp -p "$BSTACK_TOP/Kbuild" "$out/Kbuild"
mkdir -p "$out/include/uapi/linux"
cp -pu "$BSTACK_TOP/include/uapi/linux/bstack.h" "$out/include/uapi/linux/"
bash "$BSTACK_TOP/scripts/probe.sh" "$kdir" "$out/config"
if [ $kunit_only = 0 ]; then
	make -C "$kdir" M="$out" W=1 KCFLAGS=-Werror \
		BSTACK_CONFIG_DIR="$out/config" BSTACK_TEST_MODULES=1 modules >&2
	exit 0
fi
objs=()
for f in "$BSTACK_TOP"/tests/kunit/*.c; do
	objs+=("tests/kunit/$(basename "$f" .c).o")
done
rm -f "${objs[@]/#/$out/}"
make -C "$kdir" M="$out" W=1 BSTACK_CONFIG_DIR="$out/config" \
	CONFIG_KUNIT=y KCFLAGS="-Werror -DCONFIG_KUNIT=1" "${objs[@]}" >&2
for o in "${objs[@]}"; do
	[ -f "$out/$o" ] || die "$o was not built"
done
