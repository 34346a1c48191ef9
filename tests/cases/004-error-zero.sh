#!/bin/sh
# The error and zero targets, mixed with linear in one table: zero reads
# zeros and drops writes, error fails every I/O with EIO, an I/O that spans
# several targets is split and each piece goes where its target says, and
# a read that spans a failing piece fails as a whole although its other
# pieces succeed. The lower sectors under zero and error stay untouched.
# Tables of only zero or only error lines, with no lower device, work too.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb=$(nullb_create nullb0 64) || exit 1

# All reads and writes here are O_DIRECT, one request each, so that no
# page cache or readahead stands between the test and the targets.
dread() {	# dread DEV START LEN: LEN sectors from START in one read, to stdout
	dd if="$1" bs=$(($3 * 512)) skip=$(($2 * 512)) count=1 \
		iflag=direct,skip_bytes 2>/dev/null
}

# A pattern on the lower device under the whole table, written directly.
dd if=/dev/urandom of="$BSTACK_TMP/pat" bs=512 count=2032 2>/dev/null
dd if="$BSTACK_TMP/pat" of="$nb" bs=512 oflag=direct 2>/dev/null ||
	fail "cannot write the pattern to $nb"

dev=$(bstack_create t004 <<TABLE
0 1000 linear $nb 0
1000 24 zero
1024 8 error
1032 1000 linear $nb 1032
TABLE
) || exit 1
expect_eq "$(blockdev --getsz "$dev")" 2032 "blockdev --getsz $dev"
expect_eq "$(bstackctl table t004 | sed -n '2p;3p' | sed 's/ *$//' | tr '\n' '|')" \
	"1000 24 zero|1024 8 error|" "bstackctl table t004 (zero and error lines)"

pat() { dd if="$BSTACK_TMP/pat" bs=512 skip="$1" count="$2" 2>/dev/null; }
zeros() { dd if=/dev/zero bs=512 count="$1" 2>/dev/null; }
same() {	# same WHAT FILE1 FILE2
	"$BSTACK_CMP" -s "$2" "$3" || fail "$1: the bytes differ"
	info "$1: as expected"
}

# Reads: linear gives the pattern, zero gives zeros, one request across the
# linear|zero boundary gives both.
dread "$dev" 0 1000 > "$BSTACK_TMP/a" || fail "reading the first linear range failed"
pat 0 1000 > "$BSTACK_TMP/b"
same "linear 0+1000" "$BSTACK_TMP/a" "$BSTACK_TMP/b"
dread "$dev" 1000 24 > "$BSTACK_TMP/a" || fail "reading the zero range failed"
zeros 24 > "$BSTACK_TMP/b"
same "zero 1000+24" "$BSTACK_TMP/a" "$BSTACK_TMP/b"
dread "$dev" 990 20 > "$BSTACK_TMP/a" || fail "a read across linear|zero failed"
{ pat 990 10; zeros 10; } > "$BSTACK_TMP/b"
same "one read across linear|zero (990+20)" "$BSTACK_TMP/a" "$BSTACK_TMP/b"

# Writes to zero succeed and are dropped: they read back as zeros, and the
# lower device under them keeps its pattern.
dd if=/dev/urandom of="$BSTACK_TMP/w" bs=512 count=24 2>/dev/null
dd if="$BSTACK_TMP/w" of="$dev" bs=512 seek=1000 oflag=direct 2>/dev/null ||
	fail "a write to the zero target failed"
dread "$dev" 1000 24 > "$BSTACK_TMP/a"
zeros 24 > "$BSTACK_TMP/b"
same "zero after a write" "$BSTACK_TMP/a" "$BSTACK_TMP/b"
dread "$nb" 1000 32 > "$BSTACK_TMP/a"
pat 1000 32 > "$BSTACK_TMP/b"
same "$nb 1000+32 under zero and error, untouched" "$BSTACK_TMP/a" "$BSTACK_TMP/b"

# Error: reads and writes fail, alone and as part of a larger request.
if dread "$dev" 1024 8 > /dev/null; then
	fail "a read of the error target succeeded"
fi
if dd if="$BSTACK_TMP/w" of="$dev" bs=4096 seek=128 count=1 oflag=direct 2>/dev/null; then
	fail "a write to the error target succeeded"
fi
# zero | error | linear in one 16-sector read: the linear and zero pieces
# succeed, the error piece fails, and the read must fail.
if dd if="$dev" of=/dev/null bs=8192 skip=$((1020 * 512)) count=1 \
	iflag=direct,skip_bytes 2>/dev/null; then
	fail "a read spanning zero|error|linear succeeded"
fi
info "error: reads and writes fail, also inside a larger request"

# The linear range after the error one still maps right.
dread "$dev" 1032 1000 > "$BSTACK_TMP/a" || fail "reading the second linear range failed"
pat 1032 1000 > "$BSTACK_TMP/b"
same "linear 1032+1000" "$BSTACK_TMP/a" "$BSTACK_TMP/b"

# Tables with no lower device at all, like dm's "0 N zero" scratch device:
# the queue limits come from no device, and must still make a valid disk.
dev=$(printf '0 4096 zero\n' | bstack_create t004z) || exit 1
expect_eq "$(blockdev --getsz "$dev")" 4096 "blockdev --getsz of a zero-only table"
dread "$dev" 100 64 > "$BSTACK_TMP/a" || fail "reading a zero-only table failed"
zeros 64 > "$BSTACK_TMP/b"
same "a zero-only table reads zeros" "$BSTACK_TMP/a" "$BSTACK_TMP/b"
dd if="$BSTACK_TMP/w" of="$dev" bs=512 seek=8 oflag=direct 2>/dev/null ||
	fail "a write to a zero-only table failed"
bstack_remove t004z
dev=$(printf '0 64 error\n' | bstack_create t004e) || exit 1
if dread "$dev" 0 8 > /dev/null; then
	fail "a read of an error-only table succeeded"
fi
info "an error-only table fails reads"
bstack_remove t004e
