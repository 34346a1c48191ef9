#!/bin/sh
# Stacked devices are suspended and resumed independently, as in dm: with
# the lower device suspended, a suspend of the upper device waits for the
# read that the lower one holds. Meanwhile the lower device resumes, which
# lets the upper suspend finish; the reading commands answer for both; and
# a second change to the upper device waits its turn, which Ctrl-C ends
# with a message. (With one lock for every control call, the resume of the
# lower device waited behind the upper suspend: a deadlock.)
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb=$(nullb_create nullb0 16) || exit 1
lower=$(printf '0 16384 linear %s 0\n' "$nb" | bstack_create t021l) || exit 1
upper=$(printf '0 16384 linear %s 0\n' "$lower" | bstack_create t021u) || exit 1
usys=/sys/block/${upper#/dev/}
lsys=/sys/block/${lower#/dev/}
dd if=/dev/urandom of="$BSTACK_TMP/data" bs=4096 count=1 2>/dev/null
must "write" dd if="$BSTACK_TMP/data" of="$upper" bs=4096 count=1 oflag=direct

must "suspend the lower device" bstackctl suspend t021l
dd if="$upper" of="$BSTACK_TMP/got" bs=4096 count=1 iflag=direct 2>/dev/null &
rpid=$!
wait_for 30 "the read did not reach $upper" has_inflight "$upper"

bstackctl suspend t021u 2> "$BSTACK_TMP/usus.err" &
spid=$!
wait_for 30 "the upper suspend did not start" sysfs_is "$usys/bstack/suspended" 1
sleep 1
bstackctl_sleeps "$spid" ||
	fail "the upper suspend did not wait for the read the lower device holds: $(cat "$BSTACK_TMP/usus.err")"
info "the upper suspend waits for the read held below"

# The readers answer, for both devices, while it waits.
for v in "info t021u" "info t021l" "table t021u" "status t021u" "deps t021u" ls; do
	# shellcheck disable=SC2086 # $v is a verb and its arguments
	timeout 20 bstackctl $v > "$BSTACK_TMP/out" 2>&1 ||
		fail "bstackctl $v did not answer while the upper suspend waits: $(head -n 1 "$BSTACK_TMP/out")"
done
bstackctl info t021u | grep -q "^State: *SUSPENDED" ||
	fail "info does not show t021u suspended: $(bstackctl info t021u | tr '\n' '|')"
info "info, table, status, deps and ls answer while it waits"

# A second change to the upper device waits for the suspend; Ctrl-C ends
# that wait with one line, and changes nothing.
bstackctl clear t021u 2> "$BSTACK_TMP/clear.err" &
cpid=$!
wait_for 30 "clear did not start waiting" bstackctl_sleeps "$cpid"
kill -INT "$cpid"
if wait "$cpid"; then
	fail "a clear interrupted while it waited for the device succeeded"
fi
[ "$(wc -l < "$BSTACK_TMP/clear.err")" -eq 1 ] ||
	fail "the interrupted clear says more than one line: $(tr '\n' '|' < "$BSTACK_TMP/clear.err")"
grep -q "interrupted while waiting for another command on 't021u'" "$BSTACK_TMP/clear.err" ||
	fail "the interrupted clear says: $(cat "$BSTACK_TMP/clear.err")"
info "a second change waits its turn: $(cat "$BSTACK_TMP/clear.err")"
kill -0 "$spid" 2>/dev/null || fail "the upper suspend ended when the clear was interrupted"

# The lower device resumes at once, and the upper suspend can finish.
must "resume the lower device" timeout 20 bstackctl resume t021l
expect_eq "$(cat "$lsys/bstack/suspended")" 0 "lower suspended after its resume"
wait "$spid" || fail "the upper suspend failed: $(cat "$BSTACK_TMP/usus.err")"
wait "$rpid" || fail "the held read failed"
cmp -s "$BSTACK_TMP/got" "$BSTACK_TMP/data" || fail "the held read returned other data"
expect_eq "$(cat "$usys/bstack/suspended")" 1 "upper suspended after its suspend"
info "the lower resume let the read and the upper suspend finish"

must "resume the upper device" bstackctl resume t021u
cmp_range "$upper" 0 "$BSTACK_TMP/data" 0 8 || fail "$upper reads other data after resume"
bstack_remove t021u
bstack_remove t021l
