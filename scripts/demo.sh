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
log "fetching the stock kernel and its headers"
rel=$(bash "$BSTACK_TOP/scripts/stock-kernel.sh" | sed -n 1p)
log "building bstack.ko for $rel"
bash "$BSTACK_TOP/scripts/build-module.sh" "/usr/src/linux-headers-$rel" \
	"$BSTACK_BUILD/stock" > "$out/build.log" 2>&1 ||
	{ tail -n 20 "$out/build.log" >&2; die "module build failed"; }
log "booting Linux $rel in QEMU (TCG, 2 cores); this takes about a minute"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel stock \
	--script "$BSTACK_TOP/scripts/demo-guest.sh" --timeout 400 \
	--outdir "$out"
