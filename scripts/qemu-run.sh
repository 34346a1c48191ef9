#!/bin/bash
# Boot a kernel in QEMU (TCG) with bstack's test initramfs, run KUnit, test
# cases or a script in it, and check the serial log.
#
#   qemu-run.sh --kernel debug|6.1|6.12|unstable [--tests "NAME ..."|all] [--kunit]
#               [--script FILE | --demo FILE] [--timeout SECS]
#               [--test-timeout SECS] [--outdir DIR] [--verbose]
#               [--ko FILE] [--kunit-ko FILE] [--bstackctl FILE]
#               [--append ARGS] [--mem MB] [--no-kmemleak] [--cases DIR]
#               [--tag T]
#   qemu-run.sh --parse LOG [--kernel K] [--outdir DIR]
#
# Writes DIR/serial.log (the whole console), DIR/results (one line per
# check: "PASS|FAIL|SKIP <kernel>/<name> <reason>"), DIR/script.out (with
# --script: the script's output without kernel lines) and prints a summary.
# With --tag T (one of several guests of a kernel), the checks of the
# guest itself (module-load, kunit-load, module-unload-*, kmemleak,
# kernel-log, guest-end, script) are named <k>-T/<name>; the others keep
# <k>/<name>. Exits 1 if any check failed, 2 on a usage error.
#
# Environment: BSTACK_QEMU_ACCEL (default tcg,thread=single);
# BSTACK_QEMU_ICOUNT, QEMU's -icount argument (make bench and make profile
# use shift=0,sleep=off); BSTACK_QEMU_ARGS, more QEMU arguments, split at
# spaces (make profile's -plugin), by default "-cpu qemu64,-cx16": QEMU
# 7.2's TCG has corrupted a guest's EFLAGS right after a cmpxchg16b (SLUB's
# lockless fast path), under icount and, once, under a loaded make check
# too (a double fault in kmem_cache_alloc with EFLAGS bc877b02); without
# cmpxchg16b SLUB takes its other path and the guests run clean.
#
# Checks:
#   <k>/module-load              insmod bstack.ko (SKIP when not built)
#   <k>/kunit-load               insmod bstack_test.ko (--kunit, a kernel with KUnit)
#   <k>/kunit/<suite>/<case>     one per KUnit test case; a parameterised
#                                case is one check, failing params are named
#   <k>/kunit/<suite>            only when a suite failed outside its cases
#   <k>/<case>                   each test case from tests/cases/<case>.sh
#   <k>/script                   the --script/--demo script
#   <k>/module-unload-<mod>      rmmod bstack_test, bstack
#   <k>/kmemleak                 the final kmemleak scan (debug kernel)
#   <k>/kernel-log               no splat (BSTACK_SPLAT_RE in tests/lib.sh)
#                                in any kernel line of the serial log
#   <k>/guest-end                the guest reached its end marker
set -euo pipefail
. "$(dirname "$0")/common.sh"

cases_dir=$BSTACK_TOP/tests/cases
kernel='' tests='' kunit=0 script='' timeout='' test_timeout='' outdir='' verbose=0
ko='' kunit_ko='' inject_ko='' bstackctl='' append='' mem=2048 kmemleak=1 parse_log='' tag=''

usage() {
	sed -n '2,/^#   qemu-run.sh --parse/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel)	kernel=${2:?}; shift 2 ;;
		--tests)	tests=${2?}; shift 2 ;;
		--kunit)	kunit=1; shift ;;
		--script)	script=${2:?}; shift 2 ;;
		--demo)		script=${2:?}; shift 2 ;;	# an alias
		--timeout)	timeout=${2:?}; shift 2 ;;
		--test-timeout)	test_timeout=${2:?}; shift 2 ;;
		--outdir)	outdir=${2:?}; shift 2 ;;
		--verbose|-v)	verbose=1; shift ;;
		--ko)		ko=${2:?}; shift 2 ;;
		--kunit-ko)	kunit_ko=${2:?}; shift 2 ;;
		--bstackctl)	bstackctl=${2:?}; shift 2 ;;
		--append)	append=${2?}; shift 2 ;;
		--mem)		mem=${2:?}; shift 2 ;;
		--no-kmemleak)	kmemleak=0; shift ;;
		--parse)	parse_log=${2:?}; shift 2 ;;
		--cases)	cases_dir=${2:?}; shift 2 ;;
		--tag)		tag=${2:?}; shift 2 ;;
		-h|--help)	usage ;;
		*)		echo "${0##*/}: unknown argument: $1" >&2; usage ;;
		esac
	done
	if [ -n "$parse_log" ]; then
		[ -f "$parse_log" ] || die "no such log: $parse_log"
		return
	fi
	[ -n "$kernel" ] || { echo "${0##*/}: --kernel is required" >&2; usage; }
	check_kernel "$kernel"
	[ -z "$script" ] || [ -f "$script" ] || die "no such script: $script"
	case "$timeout$test_timeout$mem" in
	*[!0-9]*) die "--timeout, --test-timeout and --mem take whole numbers" ;;
	esac
}

# ------------------------------------------------------------------ setup

# "all", names, or unique prefixes ("001") -> case names, in order.
resolve_tests() {
	local t f matches all=()
	for f in "$cases_dir"/*.sh; do
		[ -f "$f" ] && all+=("$(basename "$f" .sh)")
	done
	for t in $tests; do
		if [ "$t" = all ]; then
			printf '%s\n' ${all[@]+"${all[@]}"}
			continue
		fi
		t=${t%.sh}
		t=${t##*/}
		matches=()
		for f in ${all[@]+"${all[@]}"}; do
			[ "$f" = "$t" ] && { matches=("$f"); break; }
			case "$f" in "$t"*) matches+=("$f") ;; esac
		done
		case ${#matches[@]} in
		1) echo "${matches[0]}" ;;
		0) die "no test case matches '$t' in $cases_dir" ;;
		*) die "'$t' matches several test cases: ${matches[*]}" ;;
		esac
	done
}

# Sets rel, vmlinuz and modroot (where the modules the initramfs carries
# come from, or "-"), from scripts/kernel.sh.
find_kernel() {
	local lines kdir
	[ "$kernel" != debug ] ||
		log "finding the debug kernel (scripts/kernel.sh debug; builds it if needed)"
	lines=$(bash "$BSTACK_TOP/scripts/kernel.sh" "$kernel") ||
		die "scripts/kernel.sh $kernel failed"
	{ read -r rel; read -r kdir; read -r vmlinuz; read -r modroot; } <<<"$lines"
	[ -f "$vmlinuz" ] || die "no kernel image at $vmlinuz"
}

# The modules and tool under test; missing ones are reported, not fatal.
find_artifacts() {
	ko=${ko:-$BSTACK_BUILD/$kernel/bstack.ko}
	if [ ! -f "$ko" ]; then
		log "note: $ko does not exist: module-load and every case that needs bstack will SKIP"
		ko=
	fi
	if [ "$kunit" = 1 ]; then
		kunit_ko=${kunit_ko:-$BSTACK_BUILD/$kernel/bstack_test.ko}
		if [ ! -f "$kunit_ko" ]; then
			log "note: $kunit_ko does not exist (the $kernel kernel has no KUnit, or it is not built): KUnit will SKIP"
			kunit_ko=
		fi
	else
		kunit_ko=
	fi
	# The cases' allocation-failure injector (tests/inject/), loaded by
	# the cases that need it.
	inject_ko=$BSTACK_BUILD/$kernel/bstack_inject.ko
	[ -f "$inject_ko" ] || inject_ko=
	bstackctl=${bstackctl:-$BSTACK_TOP/tools/bstackctl}
	if [ ! -x "$bstackctl" ]; then
		log "note: $bstackctl does not exist: cases that need bstackctl will SKIP"
		bstackctl=
	fi
}

build_initramfs() {
	local args=(--kernel "$kernel" --out "$outdir/initramfs.cpio" --cases "$cases_dir")
	[ -z "$ko" ] || args+=(--ko "$ko")
	[ -z "$kunit_ko" ] || args+=(--ko "$kunit_ko")
	[ -z "$inject_ko" ] || args+=(--ko "$inject_ko")
	[ -z "$bstackctl" ] || args+=(--bstackctl "$bstackctl")
	[ -z "$script" ] || args+=(--script "$script")
	[ "$modroot" = - ] || args+=(--modroot "$modroot" --rel "$rel")
	bash "$BSTACK_TOP/scripts/mkinitramfs.sh" "${args[@]}"
}

# Time limits: per case in the guest, and for the whole run on the host,
# which must outlast the guest's own limits so that they report first.
set_timeouts() {
	local boot=60 n
	if [ "$kernel" = debug ]; then
		boot=180
		test_timeout=${test_timeout:-600}
	else
		test_timeout=${test_timeout:-300}
	fi
	n=$(echo "$case_list" | grep -c . || true)
	[ -z "$script" ] || n=$((n + 1))
	if [ -z "$timeout" ]; then
		timeout=$((boot + n * (test_timeout + 45) + 120))
		[ "$kunit" = 0 ] || timeout=$((timeout + 600))
	fi
}

cmdline() {
	local c="console=ttyS0,115200 panic=-1 oops=panic printk.time=1"
	c+=" printk.devkmsg=on loglevel=7 null_blk.nr_devices=0"
	c+=" bstack.timeout=$test_timeout bstack.kmemleak=$kmemleak"
	[ -z "$case_list" ] || c+=" bstack.tests=$(echo "$case_list" | paste -sd, -)"
	[ "$kunit" = 0 ] || c+=" bstack.kunit=1"
	[ -z "$script" ] || c+=" bstack.script=1"
	[ -z "$append" ] || c+=" $append"
	# x86's COMMAND_LINE_SIZE is 2048.
	[ ${#c} -lt 2000 ] || die "kernel command line too long (${#c} bytes): run fewer tests per boot"
	echo "$c"
}

# ------------------------------------------------------------------ boot

# Follow the serial log while QEMU runs. --verbose shows all of it; a
# script (demo, bench) shows its own output, kernel lines left out.
stream_log() {
	local pid=$1
	if [ "$verbose" = 1 ]; then
		tail -n +1 -F --pid="$pid" "$log" 2>/dev/null | tr -d '\r'
	elif [ -n "$script" ]; then
		tail -n +1 -F --pid="$pid" "$log" 2>/dev/null | tr -d '\r' | awk '
			/^BSTACK-BEGIN script/ { on = 1; next }
			/^BSTACK-RESULT script / { on = 0 }
			on && !/\[ *[0-9]+\.[0-9]+\] / { print; fflush() }'
	fi
}

boot() {
	local qemu_rc=0 pid streamer='' append_line
	append_line=$(cmdline)
	: > "$log"
	log "booting the $kernel kernel (timeout ${timeout}s, ${test_timeout}s per case); log: $log"
	start_time=$(date +%s)
	timeout --kill-after=10 "$timeout" \
		qemu-system-x86_64 -nodefaults -nographic -no-reboot \
			-machine pc -accel "${BSTACK_QEMU_ACCEL:-tcg,thread=single}" -smp 2 -m "$mem" \
			${BSTACK_QEMU_ICOUNT:+-icount "$BSTACK_QEMU_ICOUNT"} \
			${BSTACK_QEMU_ARGS:--cpu qemu64,-cx16} \
			-kernel "$vmlinuz" -initrd "$outdir/initramfs.cpio" \
			-append "$append_line" \
			-chardev "file,id=con0,path=$log" -serial chardev:con0 \
			-monitor none < /dev/null > "$outdir/qemu.out" 2>&1 &
	pid=$!
	# A background job ignores the terminal's ^C: pass it on.
	trap 'kill -TERM "$pid" 2>/dev/null; exit 130' INT TERM
	if [ "$verbose" = 1 ] || [ -n "$script" ]; then
		stream_log "$pid" &
		streamer=$!
	fi
	wait "$pid" || qemu_rc=$?
	trap - INT TERM
	[ -z "$streamer" ] || wait "$streamer" || true
	run_secs=$(($(date +%s) - start_time))
	echo "$qemu_rc" > "$outdir/qemu.rc"
	echo "$run_secs" > "$outdir/run.secs"
}

# A kernel that dies before /init runs has run none of our code (bstack.ko
# is loaded by /init): that is the machine, not a result. Under TCG it
# happens now and then ("Oops: int3" while the kernel patches its own code,
# seen once in ~30 boots), so boot once more; the first log is kept.
boot_with_retry() {
	boot
	if ! grep -q '^bstack-init: ' "$log" && [ "$(cat "$outdir/qemu.rc")" != 124 ]; then
		mv "$log" "$log.failed-boot"
		log "the kernel stopped before /init ($(tr -d '\r' < "$log.failed-boot" |
			grep -E -m 1 'Oops|Kernel panic|BUG:' || echo "no panic message")); booting again"
		boot
	fi
}

# ------------------------------------------------------------------ parse

# splat_re [IGNORE]: BSTACK_SPLAT_RE (or BSTACK_SPLAT_IGNORE_RE) from tests/lib.sh.
splat_re() {
	sed -n "s/^BSTACK_SPLAT${1:+_$1}_RE='\(.*\)'\$/\1/p" "$BSTACK_TOP/tests/lib.sh"
}

# KTAP from /sys/kernel/debug/kunit/<suite>/results, between the guest's
# markers. One result per test case (indent 4). Parameter results (indent 8)
# come before their case's line; the failing ones are named in its reason.
parse_kunit() {
	awk -v k="$kernel" '
	function reset_case() { params = ""; diag = "" }
	/^BSTACK-KUNIT-BEGIN / {
		suite = $2; on = 1; reset_case(); ncases = 0; failed_cases = 0; suite_failed = 0
		next
	}
	/^BSTACK-KUNIT-END / {
		if (on && !ncases && !suite_failed)
			print "FAIL " k "/kunit/" suite " the suite has no test case results"
		on = 0; next
	}
	!on { next }
	{
		match($0, /^ */); ind = RLENGTH; line = substr($0, ind + 1)
		if (line !~ /^(not )?ok [0-9]+ /) {
			if (diag == "" && line ~ /^# .*(EXPECTATION|ASSERTION) FAILED/)
				diag = substr(line, 3)
			else if (diag == "" && line ~ /^# .*(timed out|crashed|faulted|failed)/)
				diag = substr(line, 3)
			next
		}
		ok = (line ~ /^ok /)
		rest = line; sub(/^(not )?ok [0-9]+ /, "", rest)
		name = rest; dir = ""
		if (index(rest, " # ")) {
			name = substr(rest, 1, index(rest, " # ") - 1)
			dir = substr(rest, index(rest, " # ") + 3)
		}
		if (ind >= 8) {
			if (!ok) params = params (params == "" ? "" : ", ") name
			next
		}
		if (ind == 4) {
			ncases++
			if (dir ~ /^SKIP/) {
				sub(/^SKIP ?/, "", dir)
				print "SKIP " k "/kunit/" suite "/" name " " (dir == "" ? "skipped" : dir)
			} else if (ok) {
				print "PASS " k "/kunit/" suite "/" name
			} else {
				why = diag
				if (params != "") why = "failing params: " params (diag == "" ? "" : "; " diag)
				print "FAIL " k "/kunit/" suite "/" name " " (why == "" ? "not ok" : why)
				failed_cases++
			}
			reset_case()
			next
		}
		if (ind == 0 && !ok && !failed_cases) {
			print "FAIL " k "/kunit/" suite " suite failed: " (diag == "" ? "not ok" : diag)
			suite_failed = 1
		}
	}' "$1"
}

# BSTACK-RESULT lines, and the cases that began or were asked for but never
# reported (the guest died under them).
parse_guest_results() {
	local clean=$1 requested=$2
	awk -v k="$kernel" -v req="$requested" -v kunit="$kunit" -v script="$script" '
	/^BSTACK-BEGIN / { began[$2] = 1; order[++n] = $2; next }
	/^BSTACK-RESULT / {
		name = $2; st = $3
		reason = $0; sub(/^BSTACK-RESULT [^ ]+ [^ ]+ ?/, "", reason); sub(/ +$/, "", reason)
		print st " " k "/" name (reason == "" ? "" : " " reason)
		done[name] = 1; next
	}
	END {
		for (i = 1; i <= n; i++)
			if (!(order[i] in done)) {
				print "FAIL " k "/" order[i] " did not finish: the guest stopped during it"
				done[order[i]] = 1
			}
		m = split(req, r, " ")
		for (i = 1; i <= m; i++)
			if (!(r[i] in done))
				print "FAIL " k "/" r[i] " not run: the guest stopped before it"
		if (kunit == 1 && !("kunit-load" in done))
			print "FAIL " k "/kunit-load not run: the guest stopped before it"
		if (script != "" && !("script" in done))
			print "FAIL " k "/script not run: the guest stopped before it"
	}' "$clean"
}

# Every kernel line (it carries a printk timestamp) that matches the splat
# pattern, and kmemleak's report, fail the run; the first one is named.
parse_splats() {
	local clean=$1 re ignore first
	re=$(splat_re)
	ignore=$(splat_re IGNORE)
	[ -n "$re" ] && [ -n "$ignore" ] ||
		die "cannot read BSTACK_SPLAT_RE and BSTACK_SPLAT_IGNORE_RE from tests/lib.sh"
	first=$(grep -E -e "\[ *[0-9]+\.[0-9]+\] .*($re)" -e 'unreferenced object 0x' "$clean" |
		grep -vE -e "$ignore" | head -n 1 || true)
	case "$first" in
	*"Oops: int3"*)
		first="$first (if the RIP is not in bstack: the QEMU TCG code-patching race; the default BSTACK_QEMU_ACCEL=tcg,thread=single should avoid it)"
		;;
	esac
	if [ -n "$first" ]; then
		echo "FAIL $kernel/kernel-log $first"
	else
		echo "PASS $kernel/kernel-log no BUG, WARNING, KASAN, lockdep, hung task or leak report"
	fi
}

parse_end() {
	local clean=$1 qemu_rc=${2:-0} secs=${3:-?} panic
	if grep -q '^BSTACK-END' "$clean"; then
		echo "PASS $kernel/guest-end reached the end marker in ${secs}s"
		return
	fi
	panic=$(grep -E -m 1 'Kernel panic|Attempted to kill init' "$clean" || true)
	if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
		echo "FAIL $kernel/guest-end no end marker: the host timeout (${timeout:-?}s) killed the guest"
	elif [ -n "$panic" ]; then
		echo "FAIL $kernel/guest-end no end marker: $panic"
	else
		echo "FAIL $kernel/guest-end no end marker: qemu exited with status $qemu_rc after ${secs}s (see $outdir/qemu.out)"
	fi
}

# From an existing log: the kernel kind and the requested cases, from the
# guest's own lines and the kernel command line.
infer_from_log() {
	local clean=$1 cl
	if [ -z "$kernel" ]; then
		kernel=$(sed -n 's/^bstack-init: \([a-z]*\) kernel .*/\1/p' "$clean" | head -n 1)
		kernel=${kernel:-unknown}
	fi
	cl=$(grep -m 1 -o 'Command line: .*' "$clean" || true)
	case_list=$(echo "$cl" | tr ' ' '\n' | sed -n 's/^bstack\.tests=//p' | tr ',' ' ')
	case "$cl" in *bstack.kunit=1*) kunit=1 ;; esac
	case "$cl" in *bstack.script=1*) script=script ;; esac
}

# With --tag: the guest's own checks carry the tag.
tag_guest_checks() {
	if [ -z "$tag" ]; then
		cat
		return
	fi
	awk -v k="$kernel" -v t="$tag" '{
		n = $2; sub("^" k "/", "", n)
		if (n ~ /^(module-load|kunit-load|module-unload-.*|kmemleak|kernel-log|guest-end|script)$/)
			$2 = k "-" t "/" n
		print
	}'
}

parse_log() {
	local clean=$outdir/serial.clean qemu_rc secs
	tr -d '\r' < "$log" > "$clean"
	qemu_rc=$(cat "$outdir/qemu.rc" 2>/dev/null || echo 0)
	secs=$(cat "$outdir/run.secs" 2>/dev/null || echo '?')
	{
		parse_guest_results "$clean" "$(echo "$case_list" | paste -sd' ' -)"
		parse_kunit "$clean"
		parse_splats "$clean"
		parse_end "$clean" "$qemu_rc" "$secs"
	} | tag_guest_checks > "$outdir/results"
	if [ -n "$script" ]; then
		awk '/^BSTACK-BEGIN script/ { on = 1; next }
		     /^BSTACK-RESULT script / { on = 0 }
		     on && !/\[ *[0-9]+\.[0-9]+\] / { print }' "$clean" > "$outdir/script.out"
	fi
	rm -f "$clean"
}

summary() {
	local res=$outdir/results p f s boot
	p=$(grep -c '^PASS' "$res" || true)
	f=$(grep -c '^FAIL' "$res" || true)
	s=$(grep -c '^SKIP' "$res" || true)
	boot=$(tr -d '\r' < "$log" | sed -n 's/^bstack-init: .*, up \([0-9.]*\)s$/\1/p' | head -n 1)
	echo
	echo "== $kernel kernel: ${boot:-?}s to /init, $(cat "$outdir/run.secs" 2>/dev/null || echo '?')s in all; $log"
	grep -v '^PASS' "$res" | sed 's/^/   /' || true
	echo "== $kernel: $p passed, $f failed, $s skipped"
	[ "$f" -eq 0 ]
}

main() {
	parse_args "$@"
	if [ -n "$parse_log" ]; then
		outdir=${outdir:-$(dirname "$parse_log")}
		mkdir -p "$outdir"
		log=$parse_log
		tr -d '\r' < "$log" > "$outdir/serial.clean.tmp"
		infer_from_log "$outdir/serial.clean.tmp"
		rm -f "$outdir/serial.clean.tmp"
		parse_log
		summary
		return
	fi
	need_pkgs qemu-system-x86 busybox-static fio cpio xz-utils gzip dmsetup
	outdir=${outdir:-$BSTACK_BUILD/qemu/$kernel}
	mkdir -p "$outdir"
	outdir=$(cd "$outdir" && pwd)
	log=$outdir/serial.log
	rm -f "$outdir"/{results,script.out,qemu.rc,run.secs,serial.log.failed-boot}
	case_list=$(resolve_tests)
	find_kernel
	find_artifacts
	set_timeouts
	build_initramfs
	boot_with_retry
	parse_log
	summary
}

main "$@"
