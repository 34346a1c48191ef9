#!/bin/bash
# make bench [BENCH_ROUNDS=N] [BENCH_SECS=S] [BENCH_CLOCK=icount|wall]
#            [BENCH_AXES="io tables devices reload"]
#            [BENCH_TABLE_SIZES="1 1000 ..."] [BENCH_DEVICES=N]
#            [BENCH_RELOADS=N] [BENCH_KERNELS="6.1 6.12 unstable"]
#            [BENCH_JOBS=N]:
# bstack against raw null_blk, device-mapper and md raid0, in one boot of
# each kernel of the matrix (never the debug kernel) under QEMU, BENCH_JOBS
# guests side by side (2 by default: on the icount clock a guest's figures
# do not depend on what else the host runs). See Documentation/bench.md.
#
# Writes build/bench/KERNEL/results.json, results.txt and the plots, and
# prints each kernel's table.
set -euo pipefail
. "$(dirname "$0")/common.sh"

rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECS:-2}
clock=${BENCH_CLOCK:-icount}
axes=${BENCH_AXES:-io tables devices reload}
sizes=${BENCH_TABLE_SIZES:-1 1000 100000 1000000}
devices=${BENCH_DEVICES:-1000}
reloads=${BENCH_RELOADS:-20}
kernels=${BENCH_KERNELS:-6.1 6.12 unstable}
jobs=${BENCH_JOBS:-2}
[ -n "$kernels" ] || die "BENCH_KERNELS is empty: give it one or more of 6.1, 6.12 and unstable"
for k in $kernels; do
	[ "$k" != debug ] || die "BENCH_KERNELS: the debug kernel's checks would be measured, not bstack: use 6.1, 6.12 or unstable"
	check_kernel "$k"
done
case "$jobs" in
''|*[!0-9]*|0) die "BENCH_JOBS takes a positive whole number, not '$jobs'" ;;
esac
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
for k in $kernels; do
	mkdir -p "$out/$k"
	kernel_module "$k" "$out/$k/build.log" > /dev/null
done

{
	echo '#!/bin/sh'
	echo "ROUNDS=$rounds RUNTIME=$secs CLOCK=$clock AXES='$axes' TABLE_SIZES='$sizes' DEVICES=$devices RELOADS=$reloads"
	cat "$BSTACK_TOP/scripts/bench-guest.sh"
} > "$out/guest.sh"
limit=300
# 9 workloads x 3 targets, and md on the 2 striped ones; each run is 1 s
# of ramp and S s of run, and fio's start and the device's creation take
# about 4 s more under TCG.
case " $axes " in
*" io "*) limit=$((limit + rounds * 29 * (secs + 6) * slow)) ;;
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
# bench_kernel K: one guest's run and report, in $out/K.
bench_kernel() {
	local k=$1 append=()
	# Under icount, 6.1 hangs at boot bringing up its second CPU (the
	# bring-up before 6.5's rework; the plain TCG of make check boots it);
	# brought online later, from the guest script, it comes up.
	[ "$k" != 6.1 ] || append=(--append maxcpus=1)
	rm -rf "$out/$k/guest"
	bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel "$k" "${append[@]}" \
		--script "$out/guest.sh" --timeout "$limit" \
		--test-timeout "$limit" --outdir "$out/$k/guest" \
		> "$out/$k/qemu.log" 2>&1 || {
		echo "the $k benchmark guest failed (see $out/$k/guest/serial.log)" \
			> "$out/$k/failed"
		return 1
	}
	python3 "$BSTACK_TOP/scripts/bench-report.py" \
		"$out/$k/guest/script.out" "$out/$k" > /dev/null \
		2> "$out/$k/report.err" || {
		echo "the $k report failed: $(tail -n 1 "$out/$k/report.err")" \
			> "$out/$k/failed"
		return 1
	}
}

log "running $rounds rounds of the axes $axes on $kernels, $jobs at a time, $clock clock (at most ${limit}s each)"
running=0
for k in $kernels; do
	rm -f "$out/$k/failed"
	log "$k: guest log $out/$k/guest/serial.log"
	bench_kernel "$k" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true
failed=0
for k in $kernels; do
	if [ -f "$out/$k/failed" ]; then
		cat "$out/$k/failed" >&2
		failed=1
		continue
	fi
	cat "$out/$k/results.txt"
	echo
done
[ "$failed" = 0 ] || die "a benchmark guest failed"
