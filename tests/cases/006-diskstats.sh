#!/bin/sh
# I/O accounting: a bstack device shows up in /proc/diskstats, and direct
# reads and writes through it are counted in /sys/block/bstackN/stat by
# number and by sectors, with nothing left in flight. A read that spans
# two targets is two I/Os (as in dm, each piece is one), its sectors once.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb=$(nullb_create nullb0 16) || exit 1
dev=$(bstack_create t006 <<TABLE
0 2048 linear $nb 0
2048 2048 linear $nb 8192
TABLE
) || exit 1
name=${dev#/dev/}
grep -qw "$name" /proc/diskstats || fail "$name is not in /proc/diskstats"
expect_eq "$(cat "/sys/block/$name/queue/iostats")" 1 "queue/iostats"

# stat FIELD: /sys/block/NAME/stat field (1 reads, 3 read sectors, 5 writes,
# 7 write sectors, 9 in flight).
stat() { awk -v f="$1" '{ print $f }' "/sys/block/$name/stat"; }

r0=$(stat 1) rs0=$(stat 3) w0=$(stat 5) ws0=$(stat 7)
dd if="$dev" of=/dev/null bs=4096 count=10 iflag=direct 2>/dev/null ||
	fail "10 direct reads failed"
dd if=/dev/zero of="$dev" bs=4096 count=6 seek=4 oflag=direct 2>/dev/null ||
	fail "6 direct writes failed"
expect_eq "$(($(stat 1) - r0))" 10 "reads counted"
expect_eq "$(($(stat 3) - rs0))" 80 "sectors read"
expect_eq "$(($(stat 5) - w0))" 6 "writes counted"
expect_eq "$(($(stat 7) - ws0))" 48 "sectors written"

# One 8 KiB read across the boundary at sector 2048: two pieces.
r0=$(stat 1) rs0=$(stat 3)
dd if="$dev" of=/dev/null bs=8192 count=1 skip=$((2040 * 512)) \
	iflag=direct,skip_bytes 2>/dev/null || fail "a read across targets failed"
expect_eq "$(($(stat 1) - r0))" 2 "a read split in two pieces counts as"
expect_eq "$(($(stat 3) - rs0))" 16 "sectors of the split read"
expect_eq "$(stat 9)" 0 "I/Os in flight at rest"
info "reads, writes and sectors are counted; nothing is left in flight"
