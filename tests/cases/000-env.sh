#!/bin/sh
# The test environment itself, without bstack: null_blk through configfs
# reads back what was written (fio verify), and dm-linear with dmsetup maps
# onto it; if this fails, no other result of the run means anything.
. "$BSTACK_LIB"
requires nullb dm fio sysvipc aio

# null_blk.nr_devices=0 must have applied (to the module, on stock).
n=$(ls /sys/block | grep -c '^nullb')
expect_eq "$n" 0 "null_blk devices before the case made one"
raw=$(nullb_create nullb0 32) || exit 1
expect_eq "$(blockdev --getsz "$raw")" 65536 "blockdev --getsz $raw"

must "fio on $raw" fio --name=env --filename="$raw" --direct=1 \
	--ioengine=libaio --iodepth=8 --rw=randwrite --bsrange=512-64k \
	--io_size=4m --verify=crc32c --verify_fatal=1 --randseed=42 \
	--output-format=terse --terse-version=3 > /dev/null

# Two segments, the second before the first on the lower device.
dm=$(printf '0 100 linear %s 1000\n100 900 linear %s 100\n' "$raw" "$raw" |
	dm_create env-linear) || exit 1
expect_eq "$(blockdev --getsz "$dm")" 1000 "blockdev --getsz $dm"
drop_caches
expect_eq "$(md5_range "$dm" 0 100)" "$(md5_range "$raw" 1000 100)" "dm segment 1 data"
expect_eq "$(md5_range "$dm" 100 900)" "$(md5_range "$raw" 100 900)" "dm segment 2 data"
must "dmsetup remove" dm_remove env-linear
[ ! -e "/sys/block/${dm#/dev/}" ] || fail "$dm is still there after dmsetup remove"
