#!/bin/bash
# make check [KERNELS="debug 6.1 6.12 unstable"] [TESTS="NAME ..."|all]:
# every test bstack has, from a fresh Debian bookworm machine.
#
#   1. host: bstackctl's table parser and command-line unit tests, the bash
#      completion, checkpatch
#   2. each kernel of KERNELS: fetch or build it (scripts/kernel.sh), probe
#      it and build bstack.ko with W=1; where it has no KUnit, compile the
#      KUnit suites against it all the same; build bstack.ko again through
#      DKMS (scripts/dkms-build.sh): that is the module its guests load.
#      make install and uninstall into a DESTDIR, and dkms.conf's kernel
#      range, for the first stock kernel (tests/host/install.sh, dkms.sh);
#      make deb, and the packages installed into a clean bookworm root
#      with that kernel's headers (tests/host/deb.sh)
#   3. the guests, side by side on the machine's cores: the debug kernel
#      (KASAN, lockdep, kmemleak) runs KUnit and every case, split over two
#      guests; each stock kernel runs every case
#
# Each check is one line in build/check/results: PASS|FAIL|SKIP <name> <why>.
# The last line of output is "N passed, N failed, N skipped".
set -uo pipefail
. "$(dirname "$0")/common.sh"

kernels=${KERNELS:-$BSTACK_KERNELS}
tests=${TESTS:-all}
for k in $kernels; do
	check_kernel "$k"
done

out=$BSTACK_BUILD/check
rm -rf "$out"
mkdir -p "$out"
results=$out/results
: > "$results"
start=$(date +%s)

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

need_pkgs "${host_pkgs[@]}" perl python3 dkms debootstrap dpkg-dev debhelper \
	dh-dkms fakeroot

# Host tests print "ok - ..." or "not ok - ..." lines: each is one check.
# host_run NAME COMMAND...: run it and record its lines; one that printed
# none, or failed without a "not ok", is a failure of its own.
host_run() {
	local name=$1 log=$out/$1.log rc=0 n
	shift
	log "$name"
	"$@" > "$log" 2>&1 || rc=1
	n=$(grep -cE '^(not )?ok - ' "$log" || true)
	grep -E '^(not )?ok - ' "$log" | while IFS= read -r l; do
		case "$l" in
		"not ok - "*) record FAIL "host/${l#not ok - }" ;;
		*) record PASS "host/${l#ok - }" ;;
		esac
	done
	if [ "$n" -eq 0 ] || { [ $rc -ne 0 ] && ! grep -q '^not ok - ' "$log"; }; then
		record FAIL "host/$name" "it did not run to the end (see $log)"
	fi
}

# 1. Host side.
step build-bstackctl make -C "$BSTACK_TOP/tools"
step build-test-helpers make -C "$BSTACK_TOP/tests/helpers"
host_run host make -s -C "$BSTACK_TOP/tests/host" check
step checkpatch bash "$BSTACK_TOP/scripts/checkpatch.sh"

# 2. The kernels and a module for each. A kernel whose module does not
# build runs no guest.
ready=()
for k in $kernels; do
	if ! step "kernel-$k" bash -c "bash '$BSTACK_TOP/scripts/kernel.sh' $k > '$out/kernel-$k.lines'"; then
		continue
	fi
	kdir=$(sed -n 2p "$out/kernel-$k.lines")
	step "build-module-$k" bash "$BSTACK_TOP/scripts/build-module.sh" \
		"$kdir" "$BSTACK_BUILD/$k" || continue
	if ! grep -q '^CONFIG_KUNIT=[ym]' "$kdir/.config"; then
		step "build-kunit-$k" bash "$BSTACK_TOP/scripts/build-module.sh" \
			--kunit-only "$kdir" "$BSTACK_BUILD/$k"
	fi
	step "dkms-build-$k" bash "$BSTACK_TOP/scripts/dkms-build.sh" \
		"$kdir" "$BSTACK_BUILD/$k/dkms" || continue
	ready+=("$k")
done

# make install and uninstall, and dkms.conf's kernel range, with the
# headers of the first stock kernel: not the one running here. The Debian
# packages (below) use that kernel too.
deb_rel=
for k in ${ready[@]+"${ready[@]}"}; do
	[ "$k" = debug ] && continue
	kdir=$(sed -n 2p "$out/kernel-$k.lines")
	host_run install bash "$BSTACK_TOP/tests/host/install.sh" "$kdir"
	host_run dkms bash "$BSTACK_TOP/tests/host/dkms.sh" "$kdir"
	deb_rel=$(sed -n 1p "$out/kernel-$k.lines")
	break
done

# The Debian packages, installed into a clean bookworm root with deb_rel's
# headers, where DKMS builds the module. Before the guests, not beside
# them: its compiles and its 700 MB copy starved the debug guests enough
# that timing cases (012, 013, 014) failed.
if [ -n "$deb_rel" ] && step deb-build make -C "$BSTACK_TOP" deb; then
	host_run deb bash "$BSTACK_TOP/tests/host/deb.sh" "$BSTACK_BUILD/deb" "$deb_rel"
fi

# 3. The guests. Each is one TCG thread: as many run at once as there are
# guests, and the machine's cores share them out, so that the whole takes
# about the sum of their times over the number of cores.
if [ "$tests" = all ]; then
	tests=$(cd "$BSTACK_TOP/tests/cases" && ls -- *.sh | sed 's/\.sh$//' | tr '\n' ' ')
fi

# The debug kernel's cases, over two guests of about equal time: the
# longest first, each to the guest with less so far; the first guest also
# runs KUnit (about 30 s). The times are those of the last run on this
# machine, in $BSTACK_CACHE/debug-case-times; a case not there counts 30 s.
case_times=$BSTACK_CACHE/debug-case-times
split_debug() {	# split_debug 1|2
	local t s
	for t in $tests; do
		s=$(awk -v c="$t" '$1 == c { print $2 }' "$case_times" 2>/dev/null)
		echo "$t ${s:-30}"
	done | sort -k2,2nr -k1,1 | awk -v want="$1" '
		BEGIN { load[1] = 30; load[2] = 0 }
		{ g = load[1] <= load[2] ? 1 : 2; load[g] += $2; if (g == want) print $1 }' |
		sort | tr '\n' ' '
}

# Keep the debug cases' times for the next split.
save_debug_times() {
	local f
	mkdir -p "$BSTACK_CACHE"
	{
		for f in "$out"/debug-[12]/results; do
			[ -f "$f" ] && sed -n 's|^[A-Z]* debug/\([0-9][0-9][0-9]-[^ ]*\) \([0-9]*\)s$|\1 \2|p' "$f"
		done
		[ ! -f "$case_times" ] || cat "$case_times"
	} | awk '!seen[$1]++' > "$case_times.tmp" && mv "$case_times.tmp" "$case_times"
}

pids=() names=()
launch() {	# launch NAME KERNEL TESTS [ARGS...]
	local name=$1 kernel=$2 cases=$3
	shift 3
	log "QEMU: $name: ${cases:-no cases} $*"
	(
		s=$(date +%s)
		bash "$BSTACK_TOP/scripts/qemu-run.sh" --kernel "$kernel" \
			--tests "$cases" "$@" --outdir "$out/$name" \
			> "$out/qemu-$name.log" 2>&1
		echo $(($(date +%s) - s)) > "$out/$name.wall"
	) &
	pids+=($!)
	names+=("$name")
}

for k in "${ready[@]}"; do
	dkms_ko=$BSTACK_BUILD/$k/dkms/bstack.ko
	if [ "$k" = debug ]; then
		launch debug-1 debug "$(split_debug 1)" --kunit --tag 1 --ko "$dkms_ko"
		launch debug-2 debug "$(split_debug 2)" --tag 2 --ko "$dkms_ko"
	else
		launch "$k" "$k" "$tests" --ko "$dkms_ko"
	fi
done

for i in "${!pids[@]}"; do
	name=${names[$i]}
	wait "${pids[$i]}"
	if [ ! -s "$out/$name/results" ]; then
		record FAIL "$name/guest" "no results (see $out/qemu-$name.log)"
		tail -n 30 "$out/qemu-$name.log" | sed 's/^/    /'
		continue
	fi
	cat "$out/$name/results" >> "$results"
	cat "$out/$name/results"
done

save_debug_times
passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo
for name in "${names[@]}"; do
	echo "guest $name: $(cat "$out/$name.wall" 2>/dev/null || echo '?')s wall"
done
echo "make check: $(($(date +%s) - start))s wall"
grep '^FAIL ' "$results" | sed 's/^/failed: /'
grep '^SKIP ' "$results" | sed 's/^/skipped: /'
echo "results: $results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
