#!/bin/sh
# The faulty target, through bstackctl message: with no fault it maps as
# linear does; read_fail fails reads with the error asked for and leaves
# writes alone; write_fail=50% fails some writes, and status counts
# exactly those; drop_writes completes writes that never reach the lower
# device; corrupt flips one byte of what a read returns; count_until_fail
# lets N I/Os through; delay holds I/O back; reset drops every fault. The
# table line shows the faults, and bad words are refused with one line.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb=$(nullb_create nullb0 16) || exit 1
dev=$(printf '0 16384 faulty %s 0\n' "$nb" | bstack_create t022) || exit 1
nbdev=$(dev_majmin "$nb")

# status_of KEY: the faulty target's counter KEY.
status_of() {
	bstackctl status t022 | sed -n "1s/.* $1 \([0-9]*\).*/\1/p"
}

# direct DEV BLOCK FILE: read 4 KiB block BLOCK of DEV into FILE with
# O_DIRECT, past any page cache.
direct() {
	dd if="$1" of="$3" bs=4k count=1 skip="$2" iflag=direct 2>/dev/null
}

# ---- no fault: a linear mapping
dd if=/dev/urandom of="$BSTACK_TMP/data" bs=64k count=1 2>/dev/null
must "write through faulty" dd if="$BSTACK_TMP/data" of="$dev" bs=64k oflag=direct
direct "$dev" 3 "$BSTACK_TMP/got" || fail "a read through faulty failed"
cmp_range "$BSTACK_TMP/got" 0 "$BSTACK_TMP/data" 24 8 || fail "$dev reads other data"
direct "$nb" 3 "$BSTACK_TMP/got" || fail "a read of $nb failed"
cmp_range "$BSTACK_TMP/got" 0 "$BSTACK_TMP/data" 24 8 || fail "the write did not reach $nb"
expect_eq "$(bstackctl table t022)" "0 16384 faulty $nbdev 0" "table with no fault"
expect_eq "$(status_of reads)" 1 "reads counted"
[ "$(status_of writes)" -ge 1 ] || fail "no write counted: $(bstackctl status t022)"
info "no fault: $(bstackctl status t022)"

# ---- read_fail=100% error=ENOSPC
must "message read_fail" bstackctl message t022 0 read_fail=100% error=ENOSPC seed=7
expect_eq "$(bstackctl table t022)" \
	"0 16384 faulty $nbdev 0 read_fail=100% error=ENOSPC seed=7" "table after the message"
if dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct 2> "$BSTACK_TMP/err"; then
	fail "a read succeeded with read_fail=100%"
fi
grep -q "No space left on device" "$BSTACK_TMP/err" ||
	fail "the failed read says: $(cat "$BSTACK_TMP/err")"
must "a write with read_fail=100%" dd if="$BSTACK_TMP/data" of="$dev" bs=4k count=1 oflag=direct
expect_eq "$(status_of errors)" 1 "injected errors"
expect_eq "$(status_of error_bytes)" 4096 "injected error bytes"
info "read_fail: reads fail with ENOSPC, writes pass"

must "message reset" bstackctl message t022 0 reset
must "a read after reset" dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct
expect_eq "$(bstackctl table t022)" "0 16384 faulty $nbdev 0" "table after reset"

# ---- write_fail=50%: the writes that fail are exactly those counted
must "message write_fail" bstackctl message t022 0 write_fail=50% seed=11
before=$(status_of errors)
failed=0 i=0
while [ $i -lt 40 ]; do
	dd if="$BSTACK_TMP/data" of="$dev" bs=4k count=1 seek=$i oflag=direct 2>/dev/null ||
		failed=$((failed + 1))
	i=$((i + 1))
done
[ "$failed" -gt 0 ] && [ "$failed" -lt 40 ] ||
	fail "write_fail=50% failed $failed of 40 writes"
expect_eq "$(($(status_of errors) - before))" "$failed" "injected errors against failed writes"
info "write_fail=50%: $failed of 40 writes failed, all counted"
must "message reset" bstackctl message t022 0 reset

# ---- drop_writes: the write completes, the lower device keeps its data
dd if=/dev/urandom of="$BSTACK_TMP/new" bs=4k count=1 2>/dev/null
must "message drop_writes" bstackctl message t022 0 drop_writes=1
must "a dropped write" dd if="$BSTACK_TMP/new" of="$dev" bs=4k count=1 seek=100 oflag=direct
direct "$nb" 100 "$BSTACK_TMP/got" || fail "a read of $nb failed"
cmp -s "$BSTACK_TMP/got" "$BSTACK_TMP/new" && fail "a dropped write reached $nb"
expect_eq "$(status_of dropped)" 1 "dropped writes"
must "message reset" bstackctl message t022 0 reset

# ---- corrupt: exactly one byte differs from the lower device
must "message corrupt" bstackctl message t022 0 corrupt=100%
direct "$dev" 0 "$BSTACK_TMP/bad" || fail "a corrupted read failed"
direct "$nb" 0 "$BSTACK_TMP/good" || fail "a read of $nb failed"
n=$("$BSTACK_CMP" -l "$BSTACK_TMP/bad" "$BSTACK_TMP/good" | wc -l)
expect_eq "$n" 1 "bytes corrupted in a 4 KiB read"
expect_eq "$(status_of corrupted)" 1 "corrupted reads"
must "message reset" bstackctl message t022 0 reset

# ---- count_until_fail=3: three I/Os, then every one fails
must "message count_until_fail" bstackctl message t022 0 count_until_fail=3
i=0
while [ $i -lt 3 ]; do
	must "I/O $((i + 1)) of 3" dd if="$dev" of=/dev/null bs=4k count=1 skip=$i iflag=direct
	i=$((i + 1))
done
if dd if="$dev" of=/dev/null bs=4k count=1 skip=3 iflag=direct 2>/dev/null; then
	fail "the fourth I/O passed with count_until_fail=3"
fi
must "message reset" bstackctl message t022 0 reset

# ---- delay: held back, then through with the right data
must "message delay" bstackctl message t022 0 delay=200
direct "$dev" 0 "$BSTACK_TMP/got" || fail "a delayed read failed"
cmp_range "$BSTACK_TMP/got" 0 "$BSTACK_TMP/data" 0 8 || fail "a delayed read returned other data"
[ "$(status_of delayed)" -ge 1 ] || fail "no delayed I/O counted: $(bstackctl status t022)"
must "message reset" bstackctl message t022 0 reset

# ---- refusals: one line each
must_fail_1line "an unknown key" bstackctl message t022 0 nosuch=1
case $BSTACK_ERR in
*"line 1: faulty: unknown key 'nosuch'"*) ;;
*) fail "an unknown key says: $BSTACK_ERR" ;;
esac
must_fail_1line "a bad probability" bstackctl message t022 0 read_fail=150%
must_fail_1line "a sector past the end" bstackctl message t022 16384 reset
case $BSTACK_ERR in
*"sector 16384 is past the end of t022"*) ;;
*) fail "a sector past the end says: $BSTACK_ERR" ;;
esac
must_fail_1line "a bad key in a table" bstackctl create t022b --table "0 8 faulty $nb 0 up=1"
case $BSTACK_ERR in
*"line 1: faulty: up=1 down=0: give both, or neither"*) ;;
*) fail "a bad key in a table says: $BSTACK_ERR" ;;
esac
printf '0 16384 linear %s 0\n' "$nb" | bstack_create t022l > /dev/null || exit 1
must_fail_1line "a message to linear" bstackctl message t022l 0 reset
case $BSTACK_ERR in
*"target 'linear' takes no messages"*) ;;
*) fail "a message to linear says: $BSTACK_ERR" ;;
esac
bstack_remove t022l
bstack_remove t022
