#!/bin/sh
# Suspend and resume, as dmsetup has them: a suspended device holds new
# I/O (sysfs says suspended) and lets it go on resume; clear drops the
# inactive table; a resume with a table of another size changes the
# capacity and sends a change uevent. A suspend that cannot drain the I/O
# in flight in time (a null_blk device that takes 2 s per request), or
# that Ctrl-C interrupts, fails with one line and leaves the device
# running.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb=$(nullb_create nullb0 16) || exit 1
dev=$(printf '0 16384 linear %s 0\n' "$nb" | bstack_create t012) || exit 1
sys=/sys/block/${dev#/dev/}
dd if=/dev/urandom of="$dev" bs=1M count=1 oflag=direct 2>/dev/null ||
	fail "cannot write to $dev"

# ---- held I/O
expect_eq "$(cat "$sys/bstack/suspended")" 0 "suspended before suspend"
must "suspend" bstackctl suspend t012
expect_eq "$(cat "$sys/bstack/suspended")" 1 "suspended after suspend"
must "suspend again" bstackctl suspend t012
dd if="$dev" of="$BSTACK_TMP/held" bs=4096 count=1 iflag=direct 2>/dev/null &
pid=$!
sleep 1
kill -0 "$pid" 2>/dev/null || fail "a read completed on a suspended device"
info "a read waits while the device is suspended"
must "resume" bstackctl resume t012
wait "$pid" || fail "the held read failed after resume"
cmp_range "$dev" 0 "$BSTACK_TMP/held" 0 8 || fail "the held read returned other data"
expect_eq "$(cat "$sys/bstack/suspended")" 0 "suspended after resume"
info "resume let it through, with the right data"

# ---- clear, and a resume that changes the size
must "load" bstackctl load t012 --table "0 8192 linear $nb 0"
bstackctl table --inactive t012 | grep -q linear || fail "no inactive table after load"
must "clear" bstackctl clear t012
[ -z "$(bstackctl table --inactive t012)" ] || fail "clear left an inactive table"
must "resume without a table" bstackctl resume t012
expect_eq "$(blockdev --getsz "$dev")" 16384 "size after clear and resume"

if command -v uevent > /dev/null; then
	# busybox's uevent runs the command once per kernel uevent.
	uevent sh -c 'echo "$ACTION $DEVNAME" >> "$0"' "$BSTACK_TMP/uevents" &
	upid=$!
	cleanup_push "kill $upid"
	sleep 0.5
fi
must "load a smaller table" bstackctl load t012 --table "0 8192 linear $nb 0"
must "resume" bstackctl resume t012
expect_eq "$(blockdev --getsz "$dev")" 8192 "size after a resume with 8192 sectors"
if [ -n "${upid:-}" ]; then
	sleep 1
	grep -q "^change ${dev#/dev/}\$" "$BSTACK_TMP/uevents" ||
		fail "no change uevent for ${dev#/dev/}: $(tr '\n' '|' < "$BSTACK_TMP/uevents")"
	info "the resize sent a change uevent"
fi
bstack_remove t012

# ---- a suspend that cannot drain: 4 s per request on nullb1. The cases
# wait until the read has reached nullb1, so the suspend always starts
# with more than 1 s of it left, however slow the guest is.
slow=$(nullb_create nullb1 16 512 irqmode=2 completion_nsec=4000000000) || exit 1
dev=$(printf '0 16384 linear %s 0\n' "$slow" | bstack_create t012s) || exit 1
sys=/sys/block/${dev#/dev/}

dd if="$dev" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null &
pid=$!
wait_for 30 "the read did not reach $slow" has_inflight "$slow"
must_fail_1line "suspend --timeout 1 with a read in flight" \
	bstackctl suspend --timeout 1 t012s
case $BSTACK_ERR in
*"timed out"*"runs on"*) ;;
*) fail "the timeout message does not say what happened: $BSTACK_ERR" ;;
esac
expect_eq "$(cat "$sys/bstack/suspended")" 0 "suspended after a timed-out suspend"
wait "$pid" || fail "the read in flight failed"
dd if="$dev" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null ||
	fail "the device does not work after a timed-out suspend"
info "a timed-out suspend leaves the device running"

dd if="$dev" of=/dev/null bs=4096 count=1 skip=8 iflag=direct 2>/dev/null &
pid=$!
wait_for 30 "the read did not reach $slow" has_inflight "$slow"
bstackctl suspend t012s 2> "$BSTACK_TMP/int.err" &
spid=$!
# suspended turns 1 before the suspend waits for the read in flight.
wait_for 30 "the suspend did not start" sysfs_is "$sys/bstack/suspended" 1
kill -INT "$spid"
if wait "$spid"; then
	fail "an interrupted suspend succeeded"
fi
grep -q "interrupted" "$BSTACK_TMP/int.err" ||
	fail "the interrupted suspend says: $(cat "$BSTACK_TMP/int.err")"
info "interrupted: $(cat "$BSTACK_TMP/int.err")"
expect_eq "$(cat "$sys/bstack/suspended")" 0 "suspended after an interrupted suspend"
wait "$pid" || fail "the read in flight failed"
dd if="$dev" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null ||
	fail "the device does not work after an interrupted suspend"
info "an interrupted suspend leaves the device running"
