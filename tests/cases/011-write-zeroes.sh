#!/bin/sh
# WRITE_ZEROES passed through to lower devices that take it: loop devices
# over tmpfs files turn it into a hole punched in the file. fallocate
# --punch-hole on the bstack device asks the block layer for WRITE_ZEROES
# with no fallback to writing zero pages, so it succeeds only if bstack
# offers WRITE_ZEROES and its lower devices carry it out. The zeroed lower
# sectors must be exactly those the table maps (linear and striped with
# odd offsets, computed here), and the files must lose the space. Over a
# lower device without WRITE_ZEROES (null_blk), bstack offers none and
# the same call fails. A write-zeroes that spans many stripe chunks goes
# down as one request per stripe, as dm-stripe sends it.
. "$BSTACK_LIB"
requires bstack bstackctl loop nullb /usr/bin/fallocate

fallocate=/usr/bin/fallocate
# Random data in two 4 MiB files (8192 sectors), on tmpfs.
for i in 0 1; do
	dd if=/dev/urandom of="$BSTACK_TMP/pat$i" bs=1M count=4 2>/dev/null
	cp "$BSTACK_TMP/pat$i" "$BSTACK_TMP/file$i"
done
l0=$(loop_create "$BSTACK_TMP/file0") || exit 1
l1=$(loop_create "$BSTACK_TMP/file1") || exit 1
for l in "$l0" "$l1"; do
	[ "$(cat "/sys/block/${l#/dev/}/queue/write_zeroes_max_bytes")" -gt 0 ] ||
		skip "$l over tmpfs offers no WRITE_ZEROES"
done

dev=$(bstack_create t011 <<TABLE
0 1000 linear $l0 1001
1000 2048 striped 2 8 $l0 4096 $l1 7
3048 1000 linear $l1 2048
TABLE
) || exit 1
[ "$(cat "/sys/block/${dev#/dev/}/queue/write_zeroes_max_bytes")" -gt 0 ] ||
	fail "no WRITE_ZEROES offered over two loop devices that have it"

blocks() { stat -c %b "$1"; }
# Write requests of a device, less its flushes: fallocate's flush reaches
# each loop device as a write request that counts as a flush too.
writes() { awk '{ print $5 - $16 }' "/sys/block/${1#/dev/}/stat"; }
b0=$(blocks "$BSTACK_TMP/file0") b1=$(blocks "$BSTACK_TMP/file1")

# punch START LEN: fallocate --punch-hole on sectors START..START+LEN-1.
punch() {
	must "fallocate --punch-hole $1+$2" "$fallocate" -p -o $(($1 * 512)) \
		-l $(($2 * 512)) "$dev"
}

# Striped sectors 1005..2021, target offsets 5..1021: chunk 0 from its
# 6th sector (stripe 0), chunks 1..126 whole, and 6 sectors of chunk 127
# (stripe 1, row 63). Stripe 0 gets its sectors 5..511, stripe 1 its
# sectors 0..509. One WRITE_ZEROES reaches each loop device, not one per
# chunk.
w0=$(writes "$l0") w1=$(writes "$l1")
punch 1005 1017
expect_eq "$(($(writes "$l0") - w0))" 1 "WRITE_ZEROES requests that reached $l0"
expect_eq "$(($(writes "$l1") - w1))" 1 "WRITE_ZEROES requests that reached $l1"
info "127 chunks of the striped line took one request per stripe"
# The first linear line, offset 1001: 500..999 -> loop0 1501..2000; the
# second, offset 2048: 3048..3499 -> loop1 2048..2499.
punch 500 500
punch 3048 452
drop_caches

# lower N START LEN zero|kept: what sectors START+LEN of loop N hold now.
lower() {
	eval "_l=\$l$1"
	expect_range "$_l" "$2" "$3" "$4" "$BSTACK_TMP/pat$1"
}
lower 0 0 1501 kept
lower 0 1501 500 zero
lower 0 2001 2100 kept
lower 0 4101 507 zero		# stripe 0 from 4096: 5..511
lower 0 4608 3584 kept
lower 1 0 7 kept
lower 1 7 510 zero		# stripe 1 from 7: 0..509
lower 1 517 1531 kept
lower 1 2048 452 zero
lower 1 2500 5692 kept
is_zero "$dev" 500 500 || fail "$dev 500+500 should read as zeros"
is_zero "$dev" 1005 1017 || fail "$dev 1005+1017 should read as zeros"
is_zero "$dev" 3048 452 || fail "$dev 3048+452 should read as zeros"
[ "$(blocks "$BSTACK_TMP/file0")" -lt "$b0" ] ||
	fail "file0 kept all its blocks: loop0 saw no WRITE_ZEROES"
[ "$(blocks "$BSTACK_TMP/file1")" -lt "$b1" ] ||
	fail "file1 kept all its blocks: loop1 saw no WRITE_ZEROES"
info "the holes are punched in both files: WRITE_ZEROES reached the loop devices"
bstack_remove t011

# One lower device without WRITE_ZEROES: none offered, and the call fails.
nb=$(nullb_create nullb0 4) || exit 1
dev=$(bstack_create t011n <<TABLE
0 1024 linear $l0 0
1024 1024 linear $nb 0
TABLE
) || exit 1
expect_eq "$(cat "/sys/block/${dev#/dev/}/queue/write_zeroes_max_bytes")" 0 \
	"write_zeroes_max_bytes when one lower device has none"
if "$fallocate" -p -o 0 -l 4096 "$dev" 2>/dev/null; then
	fail "fallocate --punch-hole succeeded without WRITE_ZEROES"
fi
info "no WRITE_ZEROES over null_blk, and fallocate --punch-hole is refused"
