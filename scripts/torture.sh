#!/bin/bash
# make torture [TORTURE_SECS=N]: the reliability cases on the debug kernel
# (KASAN, lockdep, kmemleak, atomic sleep checks), with the concurrency
# torture (026) running N seconds (default 180) instead of make check's 40:
#   024-memory-pressure  I/O under failslab and fail_page_alloc
#   025-deep-stack       4 bstack + 2 dm levels, starved of bio memory
#   026-torture          fio verify + suspend/reload/message + create/remove
# Prints the results and exits non-zero if any case fails or the kernel
# log shows a splat.
set -euo pipefail
. "$(dirname "$0")/common.sh"

secs=${TORTURE_SECS:-180}
case "$secs" in
''|*[!0-9]*|0) die "TORTURE_SECS must be a positive number of seconds, not '$secs'" ;;
esac
need_pkgs "${host_pkgs[@]}"
out=$BSTACK_BUILD/torture
mkdir -p "$out"

log "building bstackctl and the test helpers"
make -s -C "$BSTACK_TOP/tools" >&2
make -s -C "$BSTACK_TOP/tests/helpers" >&2
log "the debug kernel is built once if needed: about 12 minutes"
kernel_module debug "$out/build.log" > /dev/null
log "running the torture for ${secs}s, and the other reliability cases"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel debug \
	--tests "024-memory-pressure 025-deep-stack 026-torture" \
	--append "bstack.torture=$secs" --test-timeout $((secs + 600)) \
	--outdir "$out"
