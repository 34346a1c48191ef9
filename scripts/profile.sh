#!/bin/bash
# make profile [PROFILE_WORKLOAD=W] [PROFILE_SECS=S] [PROFILE_KERNEL=K]:
# where the guest's instructions go per I/O, by function, for one workload
# of make bench on raw null_blk, dm (md too, on the striped ones) and
# bstack, on the stock kernel K of the matrix (6.12 by default). See
# Documentation/bench.md.
#
# perf has no hardware counters under TCG, so QEMU counts instead: the
# tbprof plugin (scripts/tbprof.c) counts the instructions of every
# translated block, and dumps them whenever the guest calls sync(2), which
# scripts/bench-guest.sh does around each fio run. The guest clock is
# icount, as in make bench. Writes build/profile/profile.{txt,json}.
set -euo pipefail
. "$(dirname "$0")/common.sh"

work=${PROFILE_WORKLOAD:-randread-qd32}
secs=${PROFILE_SECS:-2}
kernel=${PROFILE_KERNEL:-6.12}
[ "$kernel" != debug ] || die "PROFILE_KERNEL: the debug kernel's checks would be measured, not bstack: use 6.1, 6.12 or unstable"
check_kernel "$kernel"
# Under icount 6.1 hangs bringing up its second CPU at boot: see bench.sh.
icount_append=nokaslr
[ "$kernel" != 6.1 ] || icount_append="nokaslr maxcpus=1"
case "$secs" in
''|*[!0-9]*|0) die "PROFILE_SECS takes a positive whole number, not '$secs'" ;;
esac
workloads=$(sed -n "s/^WORKLOADS='\(.*\)'\$/\1/p" "$BSTACK_TOP/scripts/bench-guest.sh")
case " $workloads " in
*" $work "*) ;;
*) die "PROFILE_WORKLOAD is one of: $workloads; not '$work'" ;;
esac
need_pkgs "${host_pkgs[@]}" python3
out=$BSTACK_BUILD/profile
mkdir -p "$out"

log "building the tbprof QEMU plugin and bstackctl"
gcc -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra \
	-o "$out/tbprof.so" "$BSTACK_TOP/scripts/tbprof.c" ||
	die "cannot build scripts/tbprof.c"
make -s -C "$BSTACK_TOP/tools" >&2
rel=$(kernel_module "$kernel" "$out/build.log")

# Debian's System.map is a stub: take the kernel's text symbols from a
# guest booted with nokaslr, which puts them at the same addresses in
# every boot of this kernel.
syms=$out/vmlinux-$rel.syms
if [ ! -s "$syms" ]; then
	log "reading the kernel's symbols (a first boot, once per kernel)"
	printf '%s\n' '#!/bin/sh' \
		"grep ' [tT] ' /proc/kallsyms | grep -v '\\[' | sed 's/^/PROFILE-SYM /'" \
		> "$out/syms.sh"
	bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel "$kernel" --append nokaslr \
		--script "$out/syms.sh" --timeout 300 --test-timeout 300 \
		--outdir "$out/syms" >&2 || die "the guest that reads the symbols failed"
	awk '$1 == "PROFILE-SYM" { print $2, $4 }' "$out/syms/script.out" \
		> "$syms.tmp"
	[ -s "$syms.tmp" ] || die "no symbols in $out/syms/script.out"
	mv "$syms.tmp" "$syms"
fi
mark=$(awk '$2 == "ksys_sync" { print $1; exit }' "$syms")
[ -n "$mark" ] || die "no ksys_sync in $syms"

{
	echo '#!/bin/sh'
	echo "ROUNDS=1 RUNTIME=$secs CLOCK=icount PROFILE=$work"
	cat "$BSTACK_TOP/scripts/bench-guest.sh"
} > "$out/guest.sh"
rm -f "$out"/dump.*
log "profiling $work on raw null_blk, dm and bstack, ${secs}s each, kernel $rel"
use_icount -plugin "$out/tbprof.so,mark=0x$mark,out=$out/dump"
bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel "$kernel" --append "$icount_append" \
	--script "$out/guest.sh" --timeout 1200 --test-timeout 1200 \
	--outdir "$out/guest" >&2 ||
	die "the profiling guest failed (see $out/guest/serial.log)"
python3 "$BSTACK_TOP/scripts/profile-report.py" "$out/guest/script.out" \
	"$syms" "$out/dump" "$out"
