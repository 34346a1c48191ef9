#!/bin/sh
# Zoned linear, as dm-linear maps it: over a host-managed zoned null_blk,
# a table of zone-aligned linear lines is zoned itself; blkzone report
# through bstack shows the device's zones at the mapped offsets, as
# dm-linear's report of the same table does; a zone written, closed,
# opened, finished and reset through bstack changes on the device;
# fio --zonemode=zbd writes and verifies through bstack and dm-linear; a
# reset of all of bstack's zones resets only those it maps. The open and
# active zone limits are dm's; conventional zones alone make a plain
# device. Reloads change the zone size, drop the zones and bring them
# back; a resume onto zones that cannot be counted keeps the old table.
# A line off a zone boundary and a zero line are refused, each with its
# reason, and FEATURES says why a zoned table takes no NOWAIT.
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
# Close, open and finish bstack's zone 5, the device's zone 9.
must "write zone 5" dd if=/dev/zero of="$dev" bs=64k count=1 seek=$((5 * zs / 128)) \
	oflag=direct 2>/dev/null
for op in close:cl open:oe finish:fu reset:em; do
	must "$op zone 5" blkzone "${op%:*}" -o $((5 * zs)) -c 1 "$dev"
	expect_eq "$(wptr "$nb" 9 | cut -d' ' -f2)" "${op#*:}" \
		"the device's zone 9 after a ${op%:*} of bstack's zone 5"
done

# fio over zones 1..3 (the device's 5..7), sequential with verify, through
# bstack and then through dm-linear with the same table: both verify, and
# leave the same zones behind.
# fio_zbd DEV WHO
fio_zbd() {
	must "fio zbd through $2" fio --name=zbd --filename="$1" --direct=1 \
		--zonemode=zbd --ioengine=psync --rw=write --bs=64k --eta=never \
		--offset=$((zs * 512)) --size=$((3 * zs * 512)) \
		--verify=crc32c --do_verify=1 --output="$BSTACK_TMP/fio.$2"
	report "$1" > "$BSTACK_TMP/fio.$2.rep"
	must "reset zones 1..3 through $2" blkzone reset -o $zs -c 3 "$1"
}
fio_zbd "$dev" bstack
bstack_remove t036
dm=$(dm_create d036 <<EOF
$table
EOF
) || exit 1
fio_zbd "$dm" dm
dm_remove d036
cmp -s "$BSTACK_TMP/fio.bstack.rep" "$BSTACK_TMP/fio.dm.rep" || {
	diff "$BSTACK_TMP/fio.dm.rep" "$BSTACK_TMP/fio.bstack.rep" | head -n 20
	fail "the zones fio left through bstack differ from those through dm-linear"
}
info "fio --zonemode=zbd verified through bstack and dm-linear, with the same zones left"

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

# Reloads: to another zone size, to a table that is not zoned, and back.
nb8=$(nullb_create zb2 128 4096 zoned=1 zone_size=8 zone_nr_conv=0) || exit 1
dev=$(bstack_create t036 --table "$table") || exit 1
must "load 8 MiB zones" bstackctl load t036 --table "0 $((8 * zs)) linear $nb8 0"
must "resume onto 8 MiB zones" bstackctl resume t036
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/chunk_sectors")" $((zs / 2)) \
	"bstack's zone size after a reload onto 8 MiB zones"
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/nr_zones")" 16 "bstack's zone count after the reload"
expect_eq "$(report "$dev" | wc -l)" 16 "zones in bstack's report after the reload"
must "load a zero table" bstackctl load t036 --table "0 $((8 * zs)) zero"
must "resume onto a zero table" bstackctl resume t036
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/zoned")" none "bstack's zoned model over a zero table"
expect_eq "$(feature t036 zoned)" "off: no lower device is zoned" "FEATURES' zoned line over a zero table"
must "load the zoned table again" bstackctl load t036 --table "$table"
must "resume onto the zoned table again" bstackctl resume t036
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/zoned")" host-managed "bstack's zoned model after the zero table"
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/nr_zones")" 12 "bstack's zone count after the zero table"
expect_eq "$(report "$dev" | wc -l)" 12 "zones in bstack's report after the zero table"

# A new table whose zones cannot be counted stays inactive, and the old
# one stays live with its zones: here the new table maps a bstack device
# that is suspended after the load, so that its zones cannot be reported
# at the resume. Kernels before 6.10 count zones from the zone size (as
# dm does there), with no report.
low=$(bstack_create t036l --table "0 $((4 * zs)) linear $nb8 $((4 * zs))") || exit 1
if bstackctl version | grep -q "zones: a new table's counted and checked"; then
	must "load a table over the lower bstack device" bstackctl load t036 \
		--table "0 $((4 * zs)) linear $low 0"
	must "suspend the lower bstack device" bstackctl suspend t036l
	must_fail_1line "resume onto zones that cannot be counted" bstackctl resume t036
	case "$BSTACK_ERR" in
	*"the zones of the new table cannot be counted"*) ;;
	*) fail "resume onto zones that cannot be counted: '$BSTACK_ERR'" ;;
	esac
	expect_eq "$(cat "$(dev_sysfs "$dev")/queue/nr_zones")" 12 "bstack's zone count after the refused resume"
	expect_eq "$(cat "$(dev_sysfs "$dev")/queue/chunk_sectors")" $zs "bstack's zone size after the refused resume"
	expect_eq "$(report "$dev" | wc -l)" 12 "zones in bstack's report after the refused resume"
	expect_eq "$(bstackctl table t036 | head -n 1 | awk '{ print $3, $4 }')" "linear $(dev_majmin "$nb")" \
		"bstack's live table after the refused resume"
	must "read through the old table" dd if="$dev" of=/dev/null bs=64k count=4 iflag=direct 2>/dev/null
	must "resume the lower bstack device" bstackctl resume t036l
	must "resume onto the new table, now countable" bstackctl resume t036
	expect_eq "$(cat "$(dev_sysfs "$dev")/queue/nr_zones")" 8 "bstack's zone count over the lower bstack device"
	info "a resume onto zones that could not be counted kept the old table"
else
	info "no refused resume: this kernel counts zones from the zone size ($(bstackctl version | grep "zones:"))"
fi
bstack_remove t036
bstack_remove t036l

# Open and active zone limits, as dm-linear computes them: a device's
# limit binds a line only if the line maps more sequential zones than
# the limit. zb3 has 2 conventional zones, then 10 sequential ones,
# with at most 4 open and 6 active.
nbl=$(nullb_create zb3 192 4096 zoned=1 zone_size=16 zone_nr_conv=2 \
	zone_max_open=4 zone_max_active=6) || exit 1
for c in "0 12 4 6" "2 5 4 0" "2 4 0 0"; do
	set -- $c
	dev=$(bstack_create t036z --table "0 $(($2 * zs)) linear $nbl $(($1 * zs))") || exit 1
	q=$(dev_sysfs "$dev")/queue
	expect_eq "$(cat "$q/max_open_zones") $(cat "$q/max_active_zones")" "$3 $4" \
		"max open and active zones of a line over zones $1..$(($1 + $2 - 1)) of zb3"
	bstack_remove t036z
	dm=$(dm_create d036z <<EOF
0 $(($2 * zs)) linear $nbl $(($1 * zs))
EOF
) || exit 1
	q=$(dev_sysfs "$dm")/queue
	info "zones $1..$(($1 + $2 - 1)): bstack $3 open, $4 active; dm-linear $(cat "$q/max_open_zones"), $(cat "$q/max_active_zones")"
	dm_remove d036z
done

# A table of conventional zones alone is a device that is not zoned, as
# dm makes it, and takes writes anywhere.
dev=$(bstack_create t036z --table "0 $((2 * zs)) linear $nbl 0") || exit 1
expect_eq "$(cat "$(dev_sysfs "$dev")/queue/zoned")" none "bstack's zoned model over conventional zones"
case "$(feature t036z zoned)" in
"off: the table maps conventional zones alone"*) ;;
*) fail "FEATURES' zoned line over conventional zones: '$(feature t036z zoned)'" ;;
esac
must "write in conventional zones" dd if=/dev/zero of="$dev" bs=64k count=1 \
	seek=$((zs / 128 + 3)) oflag=direct 2>/dev/null
must "write backwards in conventional zones" dd if=/dev/zero of="$dev" bs=64k count=1 \
	seek=3 oflag=direct 2>/dev/null
expect_eq "$(report "$nbl" | sed -n 1,2p | grep -c 'type: 1(CONVENTIONAL)')" 2 \
	"the two zones bstack mapped are conventional"
[ -e "$(dev_sysfs "$dev")/queue/max_open_zones" ] &&
	fail "a table of conventional zones shows max_open_zones"
bstack_remove t036z

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
