#!/bin/sh
# fio random writes of 512 B to 256 KiB with verify=crc32c (libaio, then
# psync) on a table of odd-sized linear segments over two null_blk devices;
# then every segment must read back the same through its lower device at
# the offset the table gives, boundary sectors land where they should, and
# lower sectors outside the table stay zero.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc aio

nb0=$(nullb_create nullb0 32) || exit 1
nb1=$(nullb_create nullb1 32) || exit 1

# start length lower offset, in sectors: odd lengths and offsets, both
# lower devices, nullb0 used twice (its two ranges touch), gaps on nullb1.
segs=$BSTACK_TMP/segments
cat > "$segs" <<EOF
0 1001 $nb0 7
1001 20479 $nb1 3
21480 10001 $nb0 1008
31481 8191 $nb1 20485
EOF

# Everything below is computed from $segs, independently of the driver.
total=$(awk '{ if ($1 != end) { print "gap"; exit } end = $1 + $2 } END { print end }' "$segs")
[ "$total" != gap ] || fail "the test's own table has a gap"
awk '{ print $1, $2, "linear", $3, $4 }' "$segs" > "$BSTACK_TMP/table"
info "table ($total sectors):"
sed 's/^/    /' "$BSTACK_TMP/table" >&2

dev=$(bstack_create t002 < "$BSTACK_TMP/table") || exit 1
expect_eq "$(blockdev --getsz "$dev")" "$total" "blockdev --getsz $dev"

# ---- fio with verification, through bstack
run_fio() {
	engine=$1 seed=$2 depth=$3 size=$4
	info "fio $engine: randwrite bsrange=512-256k io_size=$size iodepth=$depth, verify=crc32c"
	must "fio $engine" fio --name="t002-$engine" --filename="$dev" \
		--direct=1 --ioengine="$engine" --iodepth="$depth" \
		--rw=randwrite --bsrange=512-256k --io_size="$size" \
		--verify=crc32c --verify_fatal=1 --randseed="$seed" \
		--verify_state_save=0
}
run_fio libaio 1 16 8m
run_fio psync 2 1 4m

# ---- stamp 8 tagged sectors across each segment boundary (and at both
# ends), so every segment has known data at its edges.
# stamp FIRST: sectors FIRST..FIRST+7, each saying which sector it is.
stamp_data() {
	awk -v f="$1" 'BEGIN {
		for (i = 0; i < 8; i++) {
			s = sprintf("t002 stamp: bstack sector %d\n", f + i)
			while (length(s) < 512) s = s "#"
			printf "%s", s
		}
	}'
}
stamps=$BSTACK_TMP/stamps
{ awk '$1 > 0 { print $1 - 3 }' "$segs"; echo 0; echo $((total - 8)); } > "$stamps"
while read -r s; do
	stamp_data "$s" | dd of="$dev" bs=512 seek="$s" conv=notrunc,fsync 2>/dev/null ||
		fail "writing the stamp at sector $s of $dev failed"
done < "$stamps"

drop_caches
while read -r s; do
	stamp_data "$s" > "$BSTACK_TMP/stamp"
	cmp_range "$dev" "$s" "$BSTACK_TMP/stamp" 0 8 ||
		fail "the stamp at sector $s does not read back through $dev"
done < "$stamps"

# ---- each segment through bstack == the same range of its lower device
while read -r start len lower off; do
	cmp_range "$dev" "$start" "$lower" "$off" "$len" ||
		fail "sectors $start+$len of $dev differ from $lower at sector $off"
	info "sectors $start+$len of $dev are sectors $off+$len of $lower"
done < "$segs"

# ---- what the table does not map stays zero: the holes between the lower
# ranges, and 2048 sectors past the last one, on each lower device.
holes=$BSTACK_TMP/holes
awk '{ print $3, $4, $2 }' "$segs" | sort -k1,1 -k2,2n | awk '
	$1 != dev { if (dev != "") print dev, pos, 2048; dev = $1; pos = 0 }
	{ if ($2 < pos) print "overlap"; if ($2 > pos) print dev, pos, $2 - pos; pos = $2 + $3 }
	END { print dev, pos, 2048 }' > "$holes"
grep -q overlap "$holes" && fail "the test's own table maps a lower sector twice"
while read -r lower off len; do
	is_zero "$lower" "$off" "$len" ||
		fail "unmapped sectors $off+$len of $lower are not zero"
	info "unmapped sectors $off+$len of $lower are zero"
done < "$holes"
