#!/bin/sh
# The device's I/O counters in status, and events. Direct I/O of known
# sizes moves reads, writes, their bytes, splits, flushes, discards and
# errors by exactly what was sent; nothing stays in flight. wait returns
# on the next event (a resume, an I/O error), at once for an old event
# number, fails when its device is removed, and Ctrl-C interrupts it.
. "$BSTACK_LIB"
requires bstack bstackctl nullb /usr/sbin/blkdiscard

nb=$(nullb_create nullb0 16 512 cache_size=4 discard=1) || exit 1
dev=$(bstack_create t019 <<TABLE
0 1000 linear $nb 0
1000 1000 linear $nb 5000
2000 8 error
TABLE
) || exit 1

# counter NAME: its value now, from the "# reads N writes N ..." line.
counter() {
	bstackctl status t019 | awk -v k="$1" '
		$1 == "#" { for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}
snap() {
	for k in reads writes read_bytes write_bytes discards flushes splits errors; do
		eval "b_$k=\$(counter $k)"
	done
}
# moved NAME BY WHAT: the counter moved by exactly BY since snap.
moved() {
	eval "_b=\$b_$1"
	expect_eq "$(($(counter "$1") - _b))" "$2" "$3: $1"
}

snap
dd if=/dev/zero of="$dev" bs=4096 count=8 oflag=direct 2>/dev/null || fail "the writes failed"
moved writes 8 "8 writes of 4 KiB"
moved write_bytes 32768 "8 writes of 4 KiB"
moved splits 0 "8 writes inside one line"
moved reads 0 "8 writes"

snap
# One 8 KiB read at sector 996: 4 sectors on line 1, 12 on line 2.
dd if="$dev" of=/dev/null bs=8192 count=1 skip=$((996 * 512)) \
	iflag=direct,skip_bytes 2>/dev/null || fail "the read failed"
moved reads 1 "one read across two lines"
moved read_bytes 8192 "one read across two lines"
moved splits 1 "one read across two lines"

snap
# Cut in halves, 8 sectors on each line: the first half is not the last
# piece although it is as long as what is left after it.
dd if="$dev" of=/dev/null bs=8192 count=1 skip=$((992 * 512)) \
	iflag=direct,skip_bytes 2>/dev/null || fail "the read failed"
moved reads 1 "one read cut in halves"
moved read_bytes 8192 "one read cut in halves"
moved splits 1 "one read cut in halves"

snap
dd if=/dev/zero of="$dev" bs=4096 count=1 oflag=direct conv=fsync 2>/dev/null ||
	fail "the write with fsync failed"
moved flushes 1 "a write and fsync"
must "blkdiscard" /usr/sbin/blkdiscard -f -o 0 -l 65536 "$dev"
moved discards 1 "one discard of 64 KiB"
expect_eq "$(counter in_flight)" 0 "in_flight when idle"

# ---- events
ev=$(bstackctl info t019 | sed -n 's/^Event number: *//p')
expect_eq "$(bstackctl wait t019 $((ev - 1)))" "$ev" "wait on an old event number"
bstackctl wait t019 "$ev" > "$BSTACK_TMP/w1" 2>&1 &
wpid=$!
wait_for 30 "wait did not start waiting" bstackctl_sleeps "$wpid"
snap
if dd if="$dev" of=/dev/null bs=4096 count=1 skip=250 iflag=direct 2>/dev/null; then
	fail "a read of the error line succeeded"
fi
wait "$wpid" || fail "wait failed: $(cat "$BSTACK_TMP/w1")"
[ "$(cat "$BSTACK_TMP/w1")" -gt "$ev" ] || fail "wait printed $(cat "$BSTACK_TMP/w1"), not more than $ev"
moved errors 1 "a read of the error line"
info "an I/O error is an event, and counts"

ev=$(bstackctl info t019 | sed -n 's/^Event number: *//p')
bstackctl wait t019 "$ev" > "$BSTACK_TMP/w2" 2>&1 &
wpid=$!
wait_for 30 "wait did not start waiting" bstackctl_sleeps "$wpid"
must "suspend" bstackctl suspend t019
wait "$wpid" || fail "wait failed: $(cat "$BSTACK_TMP/w2")"
[ "$(cat "$BSTACK_TMP/w2")" -gt "$ev" ] || fail "wait printed $(cat "$BSTACK_TMP/w2") after a suspend"
must "resume" bstackctl resume t019
info "a suspend is an event"

bstackctl wait t019 2> "$BSTACK_TMP/w3" &
wpid=$!
wait_for 30 "wait did not start waiting" bstackctl_sleeps "$wpid"
kill -INT "$wpid"
wait "$wpid" && fail "an interrupted wait succeeded"
grep -q "interrupted" "$BSTACK_TMP/w3" || fail "an interrupted wait says: $(cat "$BSTACK_TMP/w3")"

bstackctl wait t019 2> "$BSTACK_TMP/w4" &
wpid=$!
wait_for 30 "wait did not start waiting" bstackctl_sleeps "$wpid"
bstack_remove t019
wait "$wpid" && fail "wait succeeded on a removed device"
grep -q "no device named 't019'" "$BSTACK_TMP/w4" ||
	fail "wait on a removed device says: $(cat "$BSTACK_TMP/w4")"
info "wait: Ctrl-C and removal end it with a message"
