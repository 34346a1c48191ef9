#!/bin/sh
# Persistent reservations and SCSI pass-through, for a table whose one
# line maps one lower device, as dm passes them. The lower device is a
# SCSI disk of LIO's loopback target, which keeps SPC-3 reservations.
# Through bstack: sg_persist (SCSI commands through SG_IO, passed to the
# disk's ioctl) registers, reserves, reads keys and the reservation, and
# releases; the block layer's IOC_PR_* calls (bstack's pr_ops) do the
# same; each is seen on the disk itself. FEATURES says when they are on,
# and why they are off for a table of two lines, where both fail.
. "$BSTACK_LIB"
requires bstack bstackctl sg_persist bstack-pr /lib/kmod/tcm_loop.ko

disk=$(lio_disk 32) || exit 1
size=$(dev_sectors "$disk")
feature() {	# feature NAME KEY
	bstackctl info "$1" | sed -n "s/^  $2: //p"
}
keys() {	# keys DEV: the registered keys, one per line
	sg_persist --in --read-keys "$1" 2>/dev/null | sed -n 's/^ *\(0x[0-9a-f]*\)$/\1/p'
}
holder() {	# holder DEV: the key that holds the reservation, or none
	sg_persist --in --read-reservation "$1" 2>/dev/null |
		sed -n 's/^ *Key=\(0x[0-9a-f]*\)$/\1/p'
}

# ---- one line over all of the disk: both on
dev=$(bstack_create t033 --table "0 $size linear $disk 0") || exit 1
expect_eq "$(feature t033 reservations)" on "FEATURES' reservations line"
expect_eq "$(feature t033 passthrough)" on "FEATURES' passthrough line"

# SG_IO through bstack.
must "sg_persist register" sg_persist --out --register --param-sark=0x1111 "$dev"
expect_eq "$(keys "$disk")" 0x1111 "keys on the disk after a register through bstack"
expect_eq "$(keys "$dev")" 0x1111 "keys read through bstack"
must "sg_persist reserve" sg_persist --out --reserve --param-rk=0x1111 --prout-type=1 "$dev"
expect_eq "$(holder "$disk")" 0x1111 "the reservation's holder on the disk"
expect_eq "$(holder "$dev")" 0x1111 "the reservation's holder read through bstack"
must "sg_persist release" sg_persist --out --release --param-rk=0x1111 --prout-type=1 "$dev"
expect_eq "$(holder "$disk")" "" "the holder after a release"
must "sg_persist unregister" sg_persist --out --register --param-rk=0x1111 --param-sark=0 "$dev"
expect_eq "$(keys "$disk")" "" "keys after unregistering"
info "sg_persist through bstack: register, reserve, read, release, unregister"

# The block layer's reservation calls, through bstack's pr_ops.
must "IOC_PR_REGISTER" bstack-pr "$dev" register 0 0x2222
expect_eq "$(keys "$disk")" 0x2222 "keys on the disk after IOC_PR_REGISTER"
must "IOC_PR_RESERVE" bstack-pr "$dev" reserve 0x2222
expect_eq "$(holder "$disk")" 0x2222 "the holder after IOC_PR_RESERVE"
must "IOC_PR_RELEASE" bstack-pr "$dev" release 0x2222
expect_eq "$(holder "$disk")" "" "the holder after IOC_PR_RELEASE"
must "IOC_PR_RESERVE again" bstack-pr "$dev" reserve 0x2222
must "IOC_PR_CLEAR" bstack-pr "$dev" clear 0x2222
expect_eq "$(keys "$disk")" "" "keys after IOC_PR_CLEAR"
expect_eq "$(holder "$disk")" "" "the holder after IOC_PR_CLEAR"
info "IOC_PR_* through bstack: register, reserve, release, clear"

# I/O still goes through the same device.
must "write" dd if=/dev/urandom of="$BSTACK_TMP/a" bs=64k count=4 2>/dev/null
must "write through bstack" dd if="$BSTACK_TMP/a" of="$dev" bs=64k oflag=direct 2>/dev/null
cmp_range "$dev" 0 "$BSTACK_TMP/a" 0 512 || fail "what was written is not read back"

# ---- one line over part of the disk: reservations on; ioctls for
# CAP_SYS_RAWIO only, which the tests' root has.
must "load part" bstackctl load t033 --table "0 $((size - 2048)) linear $disk 2048"
must "resume part" bstackctl resume t033
expect_eq "$(feature t033 reservations)" on "reservations on a part of the disk"
case "$(feature t033 passthrough)" in
"off: line 1 maps part of "*": only CAP_SYS_RAWIO may send it ioctls") ;;
*) fail "FEATURES' passthrough line for a part: '$(feature t033 passthrough)'" ;;
esac
must "IOC_PR_REGISTER on a part" bstack-pr "$dev" register 0 0x3333
expect_eq "$(keys "$disk")" 0x3333 "keys after a register through a part"
must "IOC_PR_CLEAR on a part" bstack-pr "$dev" clear 0x3333

# ---- two lines: no one device to pass them to
half=$((size / 2))
must "load two" bstackctl load t033 --table "0 $half linear $disk 0
$half $half linear $disk $half"
must "resume two" bstackctl resume t033
expect_eq "$(feature t033 reservations)" \
	"off: the table has 2 lines; only a one-line table has one device to pass them to" \
	"reservations on a two-line table"
bstack-pr "$dev" register 0 0x4444 2> "$BSTACK_TMP/err" &&
	fail "IOC_PR_REGISTER went through a two-line table"
grep -q 'Inappropriate ioctl' "$BSTACK_TMP/err" ||
	fail "IOC_PR_REGISTER on two lines: $(cat "$BSTACK_TMP/err")"
sg_persist --out --register --param-sark=0x4444 "$dev" > /dev/null 2>&1 &&
	fail "sg_persist went through a two-line table"
expect_eq "$(keys "$disk")" "" "keys after the refused calls"
info "two lines: IOC_PR_* ENOTTY and SG_IO refused, as in dm"
