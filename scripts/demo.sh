#!/bin/bash
# make demo: build bstack for the Debian stock 6.12 kernel, boot it in QEMU,
# and walk through bstack's features with bstackctl and fio.
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs "${host_pkgs[@]}"
out=$BSTACK_BUILD/demo
mkdir -p "$out"

log "building bstackctl and the mapping checker"
make -s -C "$BSTACK_TOP/tools" >&2
make -s -C "$BSTACK_TOP/tests/helpers" >&2
rel=$(stock_module "$out/build.log")
log "booting Linux $rel in QEMU (TCG, 2 cores); this takes about a minute"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel stock \
	--script "$BSTACK_TOP/scripts/demo-guest.sh" --timeout 400 \
	--outdir "$out"
