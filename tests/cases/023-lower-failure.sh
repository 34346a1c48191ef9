#!/bin/sh
# Lower devices that fail.
# - A striped device over two stacks, one of which starts failing (a
#   faulty target with read_fail=100% below it): the reads of the chunks
#   on the failing stripe fail, and only those; a read that spans both
#   stripes fails as a whole, never with half its data.
# - A lower device that goes away while mapped (null_blk powered off)
#   gives EIO to reads and writes, not a crash.
# - A reload onto a healthy device, while a process holds the device
#   open, recovers without restarting anything.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb0=$(nullb_create nullb0 16) || exit 1
nb1=$(nullb_create nullb1 16) || exit 1
nb2=$(nullb_create nullb2 16) || exit 1
nb3=$(nullb_create nullb3 16) || exit 1

# ---- one failing stripe: nullb0 direct, nullb1 through faulty
f=$(printf '0 32768 faulty %s 0\n' "$nb1" | bstack_create t023f) || exit 1
s=$(printf '0 32768 striped 2 8 %s 0 %s 0\n' "$nb0" "$f" | bstack_create t023s) || exit 1
dd if=/dev/urandom of="$BSTACK_TMP/data" bs=64k count=1 2>/dev/null
must "write the striped device" dd if="$BSTACK_TMP/data" of="$s" bs=64k oflag=direct
must "fail the reads of t023f" bstackctl message t023f 0 read_fail=100%

# Chunk i (4 KiB) is on stripe i % 2: odd chunks are on the failing one.
i=0
while [ $i -lt 16 ]; do
	if dd if="$s" of="$BSTACK_TMP/chunk" bs=4k count=1 skip=$i iflag=direct 2>/dev/null; then
		[ $((i % 2)) -eq 0 ] || fail "chunk $i, on the failing stripe, was read"
		cmp_range "$BSTACK_TMP/chunk" 0 "$BSTACK_TMP/data" $((i * 8)) 8 ||
			fail "chunk $i reads other data"
	else
		[ $((i % 2)) -eq 1 ] || fail "chunk $i, on the healthy stripe, failed"
	fi
	i=$((i + 1))
done
info "16 chunks: the 8 on the failing stripe fail, the 8 others read back"
if dd if="$s" of=/dev/null bs=8k count=1 iflag=direct 2>/dev/null; then
	fail "a read over both stripes succeeded with one failing"
fi
errors=$(bstackctl status t023s | sed -n 's/.* errors \([0-9]*\) .*/\1/p' | tail -n 1)
[ "$errors" -ge 9 ] || fail "t023s counts $errors errors, not at least 9"
must "heal t023f" bstackctl message t023f 0 reset
must "read everything back" dd if="$s" of="$BSTACK_TMP/all" bs=64k count=1 iflag=direct
cmp -s "$BSTACK_TMP/all" "$BSTACK_TMP/data" || fail "the data differs once healed"
info "a read over both stripes fails as a whole; healed, all is there"
bstack_remove t023s
bstack_remove t023f

# ---- a lower device that goes away while mapped
g=$(printf '0 32768 linear %s 0\n' "$nb2" | bstack_create t023g) || exit 1
must "write t023g" dd if="$BSTACK_TMP/data" of="$g" bs=64k oflag=direct
exec 3< "$g"	# a user that keeps the device open through it all
echo 0 > "$BSTACK_CONFIGFS/nullb/nullb2/power" || fail "cannot power nullb2 off"
if dd if="$g" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; then
	fail "a read succeeded with the lower device gone"
fi
if dd if="$BSTACK_TMP/data" of="$g" bs=4k count=1 oflag=direct 2>/dev/null; then
	fail "a write succeeded with the lower device gone"
fi
bstackctl info t023g > /dev/null || fail "info fails with the lower device gone"
info "the lower device is gone: reads and writes fail with EIO"

# ---- a reload onto a healthy device recovers, the opener still there
must "load a healthy table" bstackctl load t023g --table "0 32768 linear $nb3 0"
must "resume" bstackctl resume t023g
must "write after the reload" dd if="$BSTACK_TMP/data" of="$g" bs=64k oflag=direct
must "read after the reload" dd if="$g" of="$BSTACK_TMP/all" bs=64k count=1 iflag=direct
cmp -s "$BSTACK_TMP/all" "$BSTACK_TMP/data" || fail "t023g reads other data after the reload"
expect_eq "$(bstackctl info t023g | sed -n 's/^Open count: *//p')" 1 "openers after the reload"
exec 3<&-
info "reloaded onto $nb3 while open: reads and writes work again"
bstack_remove t023g
