#!/bin/sh
# A REQ_NOWAIT bio whose clone or split cannot be had without waiting, on
# every kernel, however the kernel reports the failure (bio_split() says
# NULL until 6.13 and ERR_PTR(-ENOMEM) after): if nothing of it went down,
# it ends with EAGAIN and the writer retries it without RWF_NOWAIT; if a
# piece went down, bstack's worker sends the rest and it succeeds, never
# EAGAIN after the fact. Every sector reads back right, bstack counts no
# error, nothing stays in flight, and the device suspends at once.
# bstack_inject.ko (tests/inject/) fails the writer's non-waiting bio
# allocations through a kprobe, so this runs without the kernel's
# fault-injection framework: first all of them (each write's first
# piece), then one in two (many writes fail after a piece went down).
. "$BSTACK_LIB"
requires bstack bstackctl nullb bstack-pattern /lib/bstack/bstack_inject.ko

P=/sys/module/bstack_inject/parameters
out=$(insmod /lib/bstack/bstack_inject.ko 2>&1) ||
	skip "the kernel cannot probe bio_alloc_bioset: $out"
cleanup_push "rmmod bstack_inject"

# Pieces up to 512 KiB, so that blk-mq never has to split one of the
# writer's (up to 256 KiB), which it refuses to do for REQ_NOWAIT.
nb0=$(nullb_create nullb0 8 512 max_sectors=1024) || exit 1
nb1=$(nullb_create nullb1 8 512 max_sectors=1024) || exit 1
# The same writes on a raw null_blk, for what the kernel answers with
# EAGAIN before any driver sees them.
raw=$(nullb_create nullb2 8 512 max_sectors=1024) || exit 1
# 4 KiB chunks: the writer's 4 KiB..256 KiB writes are split in up to 64.
dev=$(bstack_create t027 <<TABLE
0 4096 linear $nb0 0
4096 12288 striped 2 8 $nb0 4096 $nb1 0
TABLE
) || exit 1
again() { sed -n 's/.* again \([0-9]*\) .*/\1/p' "$1"; }

# raw_again SEED: how many of the writes of SEED get EAGAIN on raw null_blk.
raw_again() {
	must "raw writes, seed $1" bstack-pattern write --nowait --seed "$1" \
		"$raw" 0 16384 > "$BSTACK_TMP/raw$1"
	again "$BSTACK_TMP/raw$1"
}

# nowait_writes EVERY SEED: RWF_NOWAIT writes over the whole device while
# one in EVERY of the writer's non-waiting bio allocations fails; sets n
# (allocations failed) and a (writes that ended with EAGAIN from bstack,
# beyond those the kernel gives on raw null_blk).
nowait_writes() {
	r=$(raw_again "$2") || exit 1
	before=$(cat "$P/injected")
	echo "$1" > "$P/every"
	sh -c "echo \$\$ > $P/pid && exec bstack-pattern write --nowait --seed $2 $dev 0 16384" \
		> "$BSTACK_TMP/w$2" 2> "$BSTACK_TMP/w$2.err"
	rc=$?
	echo 0 > "$P/pid"
	[ $rc = 0 ] || fail "RWF_NOWAIT writes with failing allocations failed ($rc): $(head -n 1 "$BSTACK_TMP/w$2.err")"
	n=$(($(cat "$P/injected") - before))
	a=$(($(again "$BSTACK_TMP/w$2") - r))
	[ "$n" -gt 0 ] || fail "no allocation failed (every=$1)"
	[ "$a" -gt 0 ] || fail "no write ended with EAGAIN while $n allocations failed (every=$1)"
	must "verify seed $2" bstack-pattern verify --seed "$2" "$dev" 0 16384 > /dev/null
	info "one in $1: $n allocations failed, $a of $(awk '{ print $2 }' "$BSTACK_TMP/w$2") writes ended with EAGAIN (and $r more, as on raw null_blk) and were written again; data verified"
}

r=$(raw_again 1) || exit 1
must "write, no fault" bstack-pattern write --nowait --seed 1 "$dev" 0 16384 > "$BSTACK_TMP/w1"
expect_eq "$(again "$BSTACK_TMP/w1")" "$r" "EAGAINs with no fault set, as on raw null_blk"
# Each write's first allocation fails: each ends with EAGAIN, once.
nowait_writes 1 2
expect_eq "$a" "$n" "EAGAINs when every first piece fails"
# A failure after a piece went down is no EAGAIN.
nowait_writes 2 3
[ "$a" -lt "$n" ] ||
	fail "all $n failed allocations ended their writes with EAGAIN: none went on from the worker"

stat=$(bstackctl status t027)
expect_eq "$(echo "$stat" | sed -n 's/.* errors \([0-9]*\) .*/\1/p')" 0 "errors counted"
expect_eq "$(echo "$stat" | sed -n 's/.* in_flight \([0-9]*\).*/\1/p')" 0 "pieces in flight"
must "suspend with nothing in flight" bstackctl suspend --timeout 5 t027
must "resume" bstackctl resume t027
