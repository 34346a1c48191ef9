#!/bin/bash
# make bench [BENCH_ROUNDS=N] [BENCH_SECS=S] [BENCH_CLOCK=icount|wall]:
# bstack against raw null_blk and device-mapper, in one boot of the Debian
# stock kernel (never the debug kernel) under QEMU. See
# Documentation/bench.md.
#
# Writes build/bench/results.json, build/bench/results.txt and
# build/bench/bench.png, and prints the table.
set -euo pipefail
. "$(dirname "$0")/common.sh"

rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECS:-2}
clock=${BENCH_CLOCK:-icount}
for v in "$rounds" "$secs"; do
	case "$v" in
	''|*[!0-9]*|0) die "BENCH_ROUNDS and BENCH_SECS take positive whole numbers, not '$v'" ;;
	esac
done
# icount: the guest's clock counts instructions, one per nanosecond, so
# that a second of guest time is 10^9 instructions whatever the host does
# meanwhile, and IOPS measure instructions per I/O. It runs about four
# times slower than the wall clock.
case $clock in
icount)	use_icount
	slow=4 ;;
wall)	slow=1 ;;
*)	die "BENCH_CLOCK is icount or wall, not '$clock'" ;;
esac
need_pkgs "${host_pkgs[@]}" python3 gnuplot-nox
out=$BSTACK_BUILD/bench
mkdir -p "$out"

log "building bstackctl"
make -s -C "$BSTACK_TOP/tools" >&2
rel=$(kernel_module 6.12 "$out/build.log")

{
	echo '#!/bin/sh'
	echo "ROUNDS=$rounds RUNTIME=$secs CLOCK=$clock"
	cat "$BSTACK_TOP/scripts/bench-guest.sh"
} > "$out/guest.sh"
# 7 workloads x 3 targets; each run is 1 s of ramp and S s of run, and
# fio's start and the device's creation take about 4 s more under TCG.
limit=$((rounds * 21 * (secs + 6) * slow + 300))
log "running $rounds rounds of 7 workloads x {raw, dm, bstack}, ${secs}s each, $clock clock (at most ${limit}s)"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel 6.12 --script "$out/guest.sh" \
	--timeout "$limit" --test-timeout "$limit" --outdir "$out/guest" >&2 ||
	die "the benchmark guest failed (see $out/guest/serial.log)"
python3 "$BSTACK_TOP/scripts/bench-report.py" "$out/guest/script.out" "$out"
