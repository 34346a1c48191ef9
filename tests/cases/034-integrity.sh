#!/bin/sh
# The integrity profile, passed through as dm passes it: over scsi_debug
# disks with DIF type 1 and DIX, a linear and a striped table show the
# disks' profile in /sys/block/bstackN/integrity/ and FEATURES says
# "integrity: on"; data written through bstack reads back, with the block
# layer generating and scsi_debug checking the protection information
# below. A table that adds a device without a profile has none, and
# FEATURES names that device. Before 6.11 the profile is the disk's, and
# bstack registers its lower disks' as dm does; the case is the same.
. "$BSTACK_LIB"
requires bstack bstackctl nullb /lib/kmod/scsi_debug.ko

# Two hosts of one disk each, each with a store of its own.
load_module scsi_debug dev_size_mb=16 dif=1 dix=1 add_host=2 per_host_store=1
disks=$(scsi_debug_disks 2) || exit 1
d1=$(echo "$disks" | sed -n 1p)
d2=$(echo "$disks" | sed -n 2p)
fmt=$(cat "/sys/block/${d1#/dev/}/integrity/format")
case "$fmt" in
T10-DIF-TYPE1-*) ;;
*) fail "scsi_debug dif=1 dix=1 gave $d1 the profile '$fmt'" ;;
esac
size=$(dev_sectors "$d1")
nb=$(nullb_create nullb0 16 512) || exit 1

feature() {
	bstackctl info "$1" | sed -n "s/^  $2: //p"
}
profile() {
	cat "/sys/block/${1#/dev/}/integrity/format"
}
# rw DEV WHAT: write 1 MiB of random data through DEV and read it back.
rw() {
	dd if=/dev/urandom of="$BSTACK_TMP/data" bs=64k count=16 2>/dev/null
	must "$2: write" dd if="$BSTACK_TMP/data" of="$1" bs=64k oflag=direct 2>/dev/null
	cmp_range "$1" 0 "$BSTACK_TMP/data" 0 2048 ||
		fail "$2: what was written does not read back"
}

dev=$(bstack_create t034 --table "0 $size linear $d1 0") || exit 1
expect_eq "$(feature t034 integrity)" on "FEATURES' integrity line over $d1"
expect_eq "$(profile "$dev")" "$fmt" "bstack's integrity profile over $d1"
rw "$dev" "linear over $d1"
info "linear: profile $fmt passed, 1 MiB written and read back"

must "load striped" bstackctl load t034 --table "0 $((size * 2)) striped 2 8 $d1 0 $d2 0"
must "resume striped" bstackctl resume t034
expect_eq "$(feature t034 integrity)" on "FEATURES' integrity line, striped"
expect_eq "$(profile "$dev")" "$fmt" "bstack's integrity profile, striped"
rw "$dev" "striped over $d1 and $d2"
info "striped: profile $fmt passed, 1 MiB written and read back"

must "load mixed" bstackctl load t034 --table "0 $size linear $d1 0
$size 32768 linear $nb 0"
must "resume mixed" bstackctl resume t034
case "$(feature t034 integrity)" in
"off: nullb0 ($(dev_majmin "$nb")) has no integrity profile") ;;
*) fail "FEATURES' integrity line with $nb: '$(feature t034 integrity)'" ;;
esac
expect_eq "$(profile "$dev")" none "bstack's profile with a device that has none"
rw "$dev" "mixed"
info "a lower device without a profile: none passed, and FEATURES says why"
