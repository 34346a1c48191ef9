#!/bin/sh
# Queue limits stacked from the lower devices: a 512-byte and a 4096-byte
# null_blk in one table give a device with 4096-byte logical blocks. A
# table whose boundary, linear offset or stripe chunk would cut a 4096-byte
# block is refused with one line naming the line and the sizes, and leaves
# no device behind. fio verify (4 KiB multiples) and bstack-mapcheck pass
# on a good mixed table.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc aio bstack-mapcheck

n512=$(nullb_create nullb0 16) || exit 1
n4k=$(nullb_create nullb1 16 4096) || exit 1

# refused WHAT PATTERN TABLE: create fails with one line containing PATTERN.
refused() {
	if out=$(printf '%s\n' "$3" | bstackctl create t007bad 2>&1); then
		bstackctl remove t007bad
		fail "$1: the table was accepted"
	fi
	expect_eq "$(printf '%s\n' "$out" | wc -l)" 1 "$1: lines of output"
	case "$out" in
	*"$2"*) ;;
	*) fail "$1: expected '$2' in: $out" ;;
	esac
	expect_eq "$(bstackctl ls)" "No devices found" "$1: devices left behind"
	info "$1: $out"
}

refused "a length that cuts a 4 KiB block" \
	"line 1: start 0 and length 1001 must be multiples of 8 sectors" \
	"0 1001 linear $n4k 0"
refused "a linear offset inside a 4 KiB block" \
	"line 1: linear: offset 7 is not a multiple of 8 sectors" \
	"0 1000 linear $n4k 7"
refused "a 512-byte device's target cut by the 4 KiB one" \
	"line 1: start 0 and length 4 must be multiples of 8 sectors" \
	"0 4 linear $n512 0
4 12 linear $n4k 0"
refused "a stripe chunk smaller than a 4 KiB block" \
	"line 1: striped: stripe 1: offset 0 and chunk size 4 must be multiples of 8 sectors" \
	"0 64 striped 2 4 $n512 0 $n4k 0"

cat > "$BSTACK_TMP/table" <<TABLE
0 8 linear $n512 0
8 16376 linear $n4k 8
16384 16384 striped 2 8 $n512 16 $n4k 16384
TABLE
dev=$(bstack_create t007 < "$BSTACK_TMP/table") || exit 1
q=/sys/block/${dev#/dev/}/queue
expect_eq "$(cat "$q/logical_block_size")" 4096 "logical_block_size of 512 + 4096"
expect_eq "$(cat "$q/physical_block_size")" 4096 "physical_block_size of 512 + 4096"
must "fio verify" fio --name=t007 --filename="$dev" --direct=1 \
	--ioengine=libaio --iodepth=16 --rw=randwrite --bsrange=4k-256k \
	--io_size=8m --verify=crc32c --verify_fatal=1 --verify_state_save=0
must "bstack-mapcheck" bstack-mapcheck "$dev" "$BSTACK_TMP/table" >&2
