#!/bin/bash
# make demo [KERNEL=6.1|6.12|unstable]: build bstack for a Debian stock
# kernel (6.12 by default), boot it in QEMU, and walk through bstack's
# features with bstackctl and fio.
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs "${host_pkgs[@]}"
out=$BSTACK_BUILD/demo
mkdir -p "$out"

log "building bstackctl and the mapping checker"
make -s -C "$BSTACK_TOP/tools" >&2
make -s -C "$BSTACK_TOP/tests/helpers" >&2
kernel=${KERNEL:-6.12}
case " $BSTACK_STOCK_KERNELS " in
*" $kernel "*) ;;
*) die "KERNEL is one of $BSTACK_STOCK_KERNELS, not '$kernel'" ;;
esac
rel=$(kernel_module "$kernel" "$out/build.log")
log "booting Linux $rel in QEMU (TCG, 2 cores); this takes about a minute"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel "$kernel" \
	--script "$BSTACK_TOP/scripts/demo-guest.sh" --timeout 400 \
	--outdir "$out"
