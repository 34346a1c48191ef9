#!/bin/bash
# make check: every test bstack has, from a fresh Debian bookworm machine.
#
#   1. host: bstackctl's table parser unit tests, checkpatch, W=1 builds
#   2. the debug kernel (KASAN, lockdep, kmemleak): KUnit + integration
#   3. the Debian stock kernel: integration
#
# Each check is one line in build/check/results: PASS|FAIL|SKIP <name> <why>.
# The last line of output is "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/common.sh"

out=$BSTACK_BUILD/check
rm -rf "$out"
mkdir -p "$out"
results=$out/results
: > "$results"

record() {	# record PASS|FAIL|SKIP NAME [WHY...]
	local verdict=$1 name=$2
	shift 2
	echo "$verdict $name $*" >> "$results"
	echo "$verdict $name $*"
}

# Run a step whose success is one check; its output goes to a log.
step() {	# step NAME COMMAND...
	local name=$1 log=$out/$1.log
	shift
	log "$name"
	if "$@" > "$log" 2>&1; then
		record PASS "$name"
	else
		record FAIL "$name" "(see $log)"
		tail -n 20 "$log" | sed 's/^/    /'
		return 1
	fi
}

need_pkgs "${host_pkgs[@]}" perl python3

# 1. Host side.
step build-bstackctl make -C "$BSTACK_TOP/tools"
step build-test-helpers make -C "$BSTACK_TOP/tests/helpers"
log "host unit tests"
if make -s -C "$BSTACK_TOP/tests/host" check > "$out/host.log" 2>&1; then
	hrc=0
else
	hrc=1
fi
n=$(grep -cE '^(not )?ok - ' "$out/host.log" || true)
grep -E '^(not )?ok - ' "$out/host.log" | while IFS= read -r l; do
	case "$l" in
	"not ok - "*) record FAIL "host/${l#not ok - }" ;;
	*) record PASS "host/${l#ok - }" ;;
	esac
done
if [ "$n" -eq 0 ] || { [ $hrc -ne 0 ] && ! grep -q '^not ok - ' "$out/host.log"; }; then
	record FAIL host-tests "the host tests did not run (see $out/host.log)"
fi
step checkpatch bash "$BSTACK_TOP/scripts/checkpatch.sh"

# 2 and 3: the kernels, the modules for each, and the guest runs.
stock=$(bash "$BSTACK_TOP/scripts/stock-kernel.sh" 2> "$out/stock-kernel.log") ||
	{ record FAIL stock-kernel "(see $out/stock-kernel.log)"; stock=; }
stock_rel=$(echo "$stock" | sed -n 1p)
step build-debug-kernel bash -c "bash '$BSTACK_TOP/scripts/debug-kernel.sh' > '$out/debug-kdir'"
debug_kdir=$(cat "$out/debug-kdir" 2>/dev/null)

tests=$(cd "$BSTACK_TOP/tests/cases" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' ')

run_guest() {	# run_guest KERNEL [--kunit]
	local kernel=$1
	shift
	log "QEMU: $kernel kernel: $tests $*"
	bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel "$kernel" \
		--tests "$tests" "$@" --outdir "$out/$kernel" \
		> "$out/qemu-$kernel.log" 2>&1
	if [ ! -s "$out/$kernel/results" ]; then
		record FAIL "$kernel/guest" "no results (see $out/qemu-$kernel.log)"
		tail -n 30 "$out/qemu-$kernel.log" | sed 's/^/    /'
		return
	fi
	cat "$out/$kernel/results" >> "$results"
	cat "$out/$kernel/results"
}

if [ -n "$debug_kdir" ] &&
   step build-module-debug bash "$BSTACK_TOP/scripts/build-module.sh" \
	"$debug_kdir" "$BSTACK_BUILD/debug"; then
	run_guest debug --kunit
fi
if [ -n "$stock_rel" ] &&
   step build-module-stock bash "$BSTACK_TOP/scripts/build-module.sh" \
	"/usr/src/linux-headers-$stock_rel" "$BSTACK_BUILD/stock"; then
	run_guest stock
fi

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo
grep '^FAIL ' "$results" | sed 's/^/failed: /'
grep '^SKIP ' "$results" | sed 's/^/skipped: /'
echo "results: $results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
