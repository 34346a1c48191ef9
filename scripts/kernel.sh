#!/bin/bash
# Find, fetch or build a kernel of the test matrix.
#
#   kernel.sh debug|6.1|6.12|unstable
#
#   debug     Debian's linux-source-6.12 with scripts/debug.config (KUnit,
#             KASAN, lockdep, kmemleak), built here (scripts/debug-kernel.sh)
#   6.1       Debian 12's stock 6.1 LTS (scripts/stock-kernel.sh)
#   6.12      Debian 12's stock 6.12 LTS (scripts/stock-kernel.sh)
#   unstable  the newest kernel of Debian unstable (scripts/unstable-kernel.sh)
#
# Prints four lines:
#   the kernel release
#   the build directory, usable as KDIR
#   the kernel image
#   the root whose (usr/)lib/modules/<release>/ holds its modules
# Everything is cached in $BSTACK_CACHE; see each script for its key.
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "${1:-}" in
debug)
	kdir=$(bash "$BSTACK_TOP/scripts/debug-kernel.sh")
	cat "$kdir/include/config/kernel.release"
	echo "$kdir"
	echo "$kdir/arch/x86/boot/bzImage"
	echo "$kdir/modroot"
	;;
6.1|6.12)
	exec bash "$BSTACK_TOP/scripts/stock-kernel.sh" "$1" ;;
unstable)
	exec bash "$BSTACK_TOP/scripts/unstable-kernel.sh" ;;
*)
	die "usage: kernel.sh $BSTACK_KERNELS" ;;
esac
