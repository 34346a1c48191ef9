#!/bin/bash
# make bench [BENCH_ROUNDS=N] [BENCH_SECS=S] [BENCH_CLOCK=icount|wall]
#            [BENCH_AXES="io tables devices reload"]
#            [BENCH_TABLE_SIZES="1 1000 ..."] [BENCH_DEVICES=N]
#            [BENCH_RELOADS=N]:
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
axes=${BENCH_AXES:-io tables devices reload}
sizes=${BENCH_TABLE_SIZES:-1 1000 100000 1000000}
devices=${BENCH_DEVICES:-1000}
reloads=${BENCH_RELOADS:-20}
for a in $axes; do
	case $a in
	io|tables|devices|reload) ;;
	*) die "BENCH_AXES takes io, tables, devices and reload, not '$a'" ;;
	esac
done
[ -n "$axes" ] || die "BENCH_AXES is empty: give it one or more of io, tables, devices and reload"
for v in "$devices" "$reloads"; do
	case "$v" in
	''|*[!0-9]*|0) die "BENCH_DEVICES and BENCH_RELOADS take positive whole numbers, not '$v'" ;;
	esac
done
# Each device maps its own 1 MiB of the 4 GiB null_blk.
[ "$devices" -le 4096 ] || die "BENCH_DEVICES: $devices devices do not fit side by side on the 4 GiB null_blk (at most 4096)"
for n in $sizes; do
	case $n in
	''|*[!0-9]*|0) die "BENCH_TABLE_SIZES takes positive whole numbers, not '$n'" ;;
	esac
	[ "$n" -le 1000000 ] || die "BENCH_TABLE_SIZES: $n lines is more than the 1000000 a table file may have"
done
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

log "building bstackctl and the guest helpers"
make -s -C "$BSTACK_TOP/tools" >&2
make -s -C "$BSTACK_TOP/tests/helpers" >&2
rel=$(kernel_module 6.12 "$out/build.log")

{
	echo '#!/bin/sh'
	echo "ROUNDS=$rounds RUNTIME=$secs CLOCK=$clock AXES='$axes' TABLE_SIZES='$sizes' DEVICES=$devices RELOADS=$reloads"
	cat "$BSTACK_TOP/scripts/bench-guest.sh"
} > "$out/guest.sh"
limit=300
# 7 workloads x 3 targets; each run is 1 s of ramp and S s of run, and
# fio's start and the device's creation take about 4 s more under TCG.
case " $axes " in
*" io "*) limit=$((limit + rounds * 21 * (secs + 6) * slow)) ;;
esac
# The tables axis: 2 runs per size and round, and a million-line table
# takes about 20 s of guest time to load into dm, 10 s into bstack.
case " $axes " in
*" tables "*)
	for n in $sizes; do
		limit=$((limit + rounds * 2 * (secs + 8 + n / 30000) * slow))
	done
	# and the striped table.
	limit=$((limit + rounds * 2 * (secs + 8) * slow)) ;;
esac
# A device's creation and removal take about 0.1 s of guest time, tool
# and shell included, on dm or bstack; a reload about 0.05 s, and fio's
# start 5 s.
case " $axes " in
*" devices "*) limit=$((limit + rounds * 2 * (devices / 10 + 5) * slow)) ;;
esac
case " $axes " in
*" reload "*) limit=$((limit + rounds * 2 * (reloads / 20 + 10) * slow)) ;;
esac
log "running $rounds rounds of the axes $axes, $clock clock (at most ${limit}s)"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel 6.12 --script "$out/guest.sh" \
	--timeout "$limit" --test-timeout "$limit" --outdir "$out/guest" >&2 ||
	die "the benchmark guest failed (see $out/guest/serial.log)"
python3 "$BSTACK_TOP/scripts/bench-report.py" "$out/guest/script.out" "$out"
