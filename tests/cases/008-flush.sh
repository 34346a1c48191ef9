#!/bin/sh
# A flush reaches every distinct lower device, once: fsync on a bstack
# device over three null_blk devices with write caches (one of them used
# by two lines) adds one flush to each device's counter. The bstack device
# advertises the write cache and FUA it stacks from them.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

# cache_size (MiB) gives null_blk a volatile write cache, so it takes flushes.
for i in 0 1 2; do
	nullb_create "nullb$i" 16 512 cache_size=4 > /dev/null || exit 1
done
dev=$(bstack_create t008 <<TABLE
0 2048 linear /dev/nullb0 0
2048 4096 striped 2 8 /dev/nullb1 0 /dev/nullb2 0
6144 2048 linear /dev/nullb0 8192
TABLE
) || exit 1
q=/sys/block/${dev#/dev/}/queue
expect_eq "$(cat "$q/write_cache")" "write back" "write_cache of $dev"
expect_eq "$(cat "$q/fua")" 1 "fua of $dev"

flushes() { awk '{ print $16 }' "/sys/block/$1/stat"; }
b0=$(flushes nullb0) b1=$(flushes nullb1) b2=$(flushes nullb2)
# O_DIRECT so that fsync has no dirty pages to write: it only flushes.
dd if=/dev/zero of="$dev" bs=4096 count=1 oflag=direct conv=fsync 2>/dev/null ||
	fail "a write with fsync failed"
for i in 0 1 2; do
	eval "before=\$b$i"
	expect_eq "$(($(flushes "nullb$i") - before))" 1 "flushes that reached nullb$i"
done
info "one flush reached each of the three lower devices"
