#!/bin/sh
# Zoned linear, as dm-linear maps it: over a host-managed zoned null_blk,
# a table of zone-aligned linear lines is zoned itself; blkzone report
# through bstack shows the device's zones at the mapped offsets, as
# dm-linear's report of the same table does; a zone written and reset
# through bstack moves its write pointer on the device; fio --zonemode=zbd
# writes and verifies; a reset of all of bstack's zones resets only those
# it maps. A line off a zone boundary and a zero line are refused, each
# with its reason, and FEATURES says why a zoned table takes no NOWAIT.
. "$BSTACK_LIB"
requires bstack bstackctl nullb dmsetup blkzone fio

feature() {
	bstackctl info "$1" | sed -n "s/^  $2: //p"
}
# report DEV: blkzone's report, one zone a line.
report() {
	blkzone report "$1"
}
# wptr DEV N: zone N's write pointer, from its start, and its condition.
wptr() {
	report "$1" | sed -n "$(($2 + 1))p" |
		sed 's/.*wptr \(0x[0-9a-f]*\).*zcond: *[0-9]*(\([a-z]*\)).*/\1 \2/'
}

# 12 zones of 16 MiB (32768 sectors).
nb=$(nullb_create zb0 192 4096 zoned=1 zone_size=16 zone_nr_conv=0) || exit 1
zs=32768
expect_eq "$(cat "$(dev_sysfs "$nb")/queue/chunk_sectors")" $zs "the zone size of $nb"
# Zones 4..11 of the device first, then zones 0..3.
table="0 $((8 * zs)) linear $nb $((4 * zs))
$((8 * zs)) $((4 * zs)) linear $nb 0"

dev=$(bstack_create t036 --table "$table") || exit 1
expect_eq "$(feature t036 zoned)" on "FEATURES' zoned line"
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/zoned")" host-managed "bstack's zoned model"
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/nr_zones")" 12 "bstack's zone count"
case "$(feature t036 nowait)" in
"off: a zoned table keeps its writes in order"*) ;;
*) fail "FEATURES' nowait line of a zoned table: '$(feature t036 nowait)'" ;;
esac

# 1 MiB into bstack's zone 0 (the device's zone 4), 2 MiB into its zone 9
# (the device's zone 1).
must "write zone 0" dd if=/dev/urandom of="$dev" bs=64k count=16 oflag=direct 2>/dev/null
must "write zone 9" dd if=/dev/urandom of="$dev" bs=64k count=32 seek=$((9 * zs / 128)) \
	oflag=direct 2>/dev/null
report "$dev" > "$BSTACK_TMP/bstack.rep"
expect_eq "$(wptr "$nb" 4)" "0x000800 oi" "the device's zone 4 after 1 MiB through bstack's zone 0"
expect_eq "$(wptr "$nb" 1)" "0x001000 oi" "the device's zone 1 after 2 MiB through bstack's zone 9"
bstack_remove t036

dm=$(dm_create d036 <<EOF
$table
EOF
) || exit 1
report "$dm" > "$BSTACK_TMP/dm.rep"
dm_remove d036
cmp -s "$BSTACK_TMP/bstack.rep" "$BSTACK_TMP/dm.rep" || {
	diff "$BSTACK_TMP/dm.rep" "$BSTACK_TMP/bstack.rep" | head -n 20
	fail "bstack's zone report differs from dm-linear's of the same table"
}
info "zone report: $(wc -l < "$BSTACK_TMP/bstack.rep") zones, as dm-linear reports them"

dev=$(bstack_create t036 --table "$table") || exit 1
must "reset zone 0" blkzone reset -o 0 -c 1 "$dev"
expect_eq "$(wptr "$nb" 4)" "0x000000 em" \
	"the device's zone 4 after a reset of bstack's zone 0"

# fio over bstack's zones 1..3 (the device's 5..7), sequential with verify.
must "fio zbd" fio --name=zbd --filename="$dev" --direct=1 --zonemode=zbd \
	--ioengine=psync --rw=write --bs=64k --offset=$((zs * 512)) \
	--size=$((3 * zs * 512)) --verify=crc32c --do_verify=1 \
	--output="$BSTACK_TMP/fio.out"
bstack_remove t036

# A reset of all of bstack's zones resets only the zones it maps: here
# the device's zones 2 and 3, not its zone 8 (none of them written yet).
dev=$(bstack_create t036 --table "0 $((2 * zs)) linear $nb $((2 * zs))") || exit 1
must "write bstack's zone 1" dd if=/dev/zero of="$dev" bs=64k count=1 seek=$((zs / 128)) \
	oflag=direct 2>/dev/null
must "write the device's zone 8" dd if=/dev/zero of="$nb" bs=64k count=1 seek=$((8 * zs / 128)) \
	oflag=direct 2>/dev/null
expect_eq "$(wptr "$nb" 3)" "0x000080 oi" "the device's zone 3 after 64 KiB through bstack's zone 1"
must "reset all of bstack's zones" blkzone reset "$dev"
expect_eq "$(wptr "$nb" 3)" "0x000000 em" "the device's zone 3 after bstack's reset of all"
expect_eq "$(wptr "$nb" 8)" "0x000080 oi" "the device's zone 8, which bstack does not map"
info "a reset of all zones reset bstack's 2 and left the device's others"
bstack_remove t036

out=$(bstackctl create t036b --table "0 $zs linear $nb 8" 2>&1) &&
	fail "a line off a zone boundary was taken"
case "$out" in
*"must be multiples of its zone size, $zs sectors"*) ;;
*) fail "an unaligned zoned line: '$out'" ;;
esac
out=$(bstackctl create t036b --table "0 $zs linear $nb 0
$zs $zs zero" 2>&1) && fail "a zero line in a zoned table was taken"
case "$out" in
*"zero cannot map zones"*) ;;
*) fail "a zero line in a zoned table: '$out'" ;;
esac
