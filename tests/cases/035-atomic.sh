#!/bin/sh
# Atomic writes, passed as dm-linear and dm-stripe pass them (6.14): over
# scsi_debug disks that write atomically (WRITE ATOMIC(16)), a linear
# table offers their atomic write limits in statx(STATX_WRITE_ATOMIC) and
# sysfs, and a pwritev2(RWF_ATOMIC) write goes down whole and reads back
# from the disk. A line that starts, or maps its disk from, a sector less
# aligned than the disk's unit gets a smaller unit, or none with the
# reason; a striped line's chunk bounds the unit, and a write across two
# chunks is refused. A device that cannot write atomically (null_blk) turns
# them off, named. Kernels that do not stack atomic write limits say so in
# FEATURES, offer none, and the case skips.
. "$BSTACK_LIB"
requires bstack bstackctl nullb /usr/bin/bstack-atomic /usr/bin/bstack-pattern

feature() {
	bstackctl info "$1" | sed -n "s/^  $2: //p"
}
# unit_max DEV: statx's largest atomic write unit of DEV, in bytes.
unit_max() {
	bstack-atomic limits "$1" | awk '{ print $4 }'
}
# atomic DEV OFFSET LENGTH SEED: an atomic write that must succeed.
atomic() {
	_out=$(bstack-atomic write "$@") ||
		fail "atomic write of $3 bytes at byte $2 of $1: $_out"
}
# refused DEV OFFSET LENGTH [ERROR]: an atomic write that must fail, with
# EINVAL (one that does not fit the limits) unless ERROR says otherwise.
refused() {
	_why=${4:-Invalid argument}
	_out=$(bstack-atomic write "$1" "$2" "$3" 9) &&
		fail "an atomic write of $3 bytes at byte $2 of $1 went through"
	case "$_out" in
	*": $_why") ;;
	*) fail "atomic write of $3 bytes at byte $2 of $1: $_out (not '$_why')" ;;
	esac
}
# A device without atomic writes refuses them so.
none='Operation not supported'

nb=$(nullb_create nullb0 16 512) || exit 1
dev=$(bstack_create t035 --table "0 32768 linear $nb 0") || exit 1
case "$(feature t035 atomic_writes)" in
"off: the kernel does not stack atomic write limits (6.14)")
	expect_eq "$(bstack-atomic limits "$dev")" \
		"unit_min 0 unit_max 0 segments_max 0" "statx's atomic write limits of $dev"
	refused "$dev" 0 4096 "$none"
	skip "this kernel does not stack atomic write limits (6.14); FEATURES says so, and $dev offers none" ;;
"off: nullb0 ($(dev_majmin "$nb")) cannot write atomically") ;;
*) fail "FEATURES' atomic_writes line over $nb: '$(feature t035 atomic_writes)'" ;;
esac
expect_eq "$(unit_max "$dev")" 0 "statx's atomic write unit of $dev over null_blk"
refused "$dev" 0 4096 "$none"
bstack_remove t035

# Two disks, each on a host with a store of its own. scsi_debug's unit is
# 2 to 128 blocks (1 KiB to 64 KiB), aligned to 2 blocks.
load_module scsi_debug dev_size_mb=16 atomic_wr=1 add_host=2 per_host_store=1
disks=$(scsi_debug_disks 2) || exit 1
d1=$(echo "$disks" | sed -n 1p)
d2=$(echo "$disks" | sed -n 2p)
lower=$(bstack-atomic limits "$d1")
max=$(unit_max "$d1")
[ "$max" -ge 8192 ] || fail "scsi_debug atomic_wr=1 gave $d1 '$lower'"
size=$(dev_sectors "$d1")
q=queue/atomic_write_unit_max_bytes

# The whole disk: its limits, and atomic writes that read back below.
dev=$(bstack_create t035 --table "0 $size linear $d1 0") || exit 1
expect_eq "$(feature t035 atomic_writes)" on "FEATURES' atomic_writes line over $d1"
expect_eq "$(bstack-atomic limits "$dev")" "$lower" "statx's atomic write limits of $dev"
expect_eq "$(cat "$(dev_sysfs "$dev")/$q")" "$(cat "/sys/block/${d1#/dev/}/$q")" \
	"sysfs $q of $dev"
atomic "$dev" 0 "$max" 1
atomic "$dev" $((max * 5)) "$max" 1
must "verify the first write on $d1" bstack-pattern verify --seed 1 "$d1" 0 $((max / 512))
must "verify the second write on $d1" \
	bstack-pattern verify --seed 1 "$d1" $((max * 5 / 512)) $((max / 512))
refused "$dev" 0 $((max * 2))
info "linear: $lower, as $d1; writes of $max bytes went down whole and read back"

# A second line from sector 16 (8 KiB): its writes may be no larger.
must "load two lines" bstackctl load t035 --table "0 16 linear $d1 0
16 $((size - 16)) linear $d2 0"
must "resume two lines" bstackctl resume t035
expect_eq "$(feature t035 atomic_writes)" on "FEATURES' atomic_writes line, two lines"
expect_eq "$(unit_max "$dev")" 8192 "the atomic write unit of a line from sector 16"
atomic "$dev" 8192 8192 2
must "verify the write at sector 16" bstack-pattern verify --seed 2 "$dev" 16 16
refused "$dev" 0 16384

# A line mapping its disk from an odd sector: no unit fits.
must "load an odd offset" bstackctl load t035 --table "0 1024 linear $d1 1"
must "resume an odd offset" bstackctl resume t035
case "$(feature t035 atomic_writes)" in
"off: line 1 maps ${d1#/dev/} ($(dev_majmin "$d1")) from sector 1, which is not aligned to its smallest atomic write") ;;
*) fail "FEATURES' atomic_writes line, odd offset: '$(feature t035 atomic_writes)'" ;;
esac
expect_eq "$(unit_max "$dev")" 0 "the atomic write unit of a line from sector 1 of $d1"
refused "$dev" 0 4096 "$none"

# Striped over both disks, 4 KiB chunks: the chunk bounds the unit, and a
# write across two chunks is refused.
must "load striped" bstackctl load t035 --table "0 $((size * 2)) striped 2 8 $d1 0 $d2 0"
must "resume striped" bstackctl resume t035
expect_eq "$(feature t035 atomic_writes)" on "FEATURES' atomic_writes line, striped"
expect_eq "$(unit_max "$dev")" 4096 "the atomic write unit of 4 KiB chunks"
atomic "$dev" 0 4096 3
atomic "$dev" 4096 4096 3
must "verify chunk 0 on $d1" bstack-pattern verify --seed 3 "$d1" 0 8
refused "$dev" 0 8192
info "striped: 4 KiB chunks give a 4 KiB unit; 8 KiB across two chunks refused"

# A line of a type that cannot write atomically, and a device that cannot.
must "load with zero" bstackctl load t035 --table "0 1024 linear $d1 0
1024 1024 zero"
must "resume with zero" bstackctl resume t035
expect_eq "$(feature t035 atomic_writes)" "off: line 2 (zero) cannot write atomically" \
	"FEATURES' atomic_writes line with a zero line"
must "load with null_blk" bstackctl load t035 --table "0 1024 linear $d1 0
1024 1024 linear $nb 0"
must "resume with null_blk" bstackctl resume t035
expect_eq "$(feature t035 atomic_writes)" \
	"off: nullb0 ($(dev_majmin "$nb")) cannot write atomically" \
	"FEATURES' atomic_writes line with null_blk"
expect_eq "$(unit_max "$dev")" 0 "the atomic write unit with null_blk"
refused "$dev" 0 4096 "$none"
bstack_remove t035
