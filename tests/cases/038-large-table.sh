#!/bin/sh
# A table of a million lines, the most a table file may have, loads and
# maps: 1000000 linear lines of 4 KiB that map a null_blk backwards (line
# i maps the device's 4 KiB number 999999 - i, so that a line found
# wrongly maps the wrong data). Writes through bstack at lines across the
# table, one across two lines, land where the table says; the table reads
# back whole. One line more is refused with the reason, and nothing is
# left made. The debug kernel loads 30000 lines: under KASAN, lockdep
# and kmemleak a million take longer than a case may.
. "$BSTACK_LIB"
requires bstack bstackctl nullb bstack-lines bstack-elapsed

n=1000000
[ "$(cat /etc/bstack-kernel 2>/dev/null)" != debug ] || n=30000
# 4000 MiB, 8192000 sectors: lines of 8 sectors. Memory-backed, but only
# what is written takes memory.
nb=$(nullb_create lt0 4000 512) || exit 1
# By device number, as LVM writes its tables.
must "make the table" bstack-lines "$(dev_majmin "$nb")" $((n * 8)) $n reverse \
	> "$BSTACK_TMP/t.table"
must "time the load" bstack-elapsed "$BSTACK_TMP/load.ns" bstackctl create t038 \
	< "$BSTACK_TMP/t.table"
cleanup_push "bstack_remove t038"
dev=$(bstack_dev t038) || fail "no device t038 after its create"
info "loaded in $(($(cat "$BSTACK_TMP/load.ns") / 1000000)) ms"
expect_eq "$(dev_sectors "$dev")" $((n * 8)) "the size of a million-line device"
must "bstackctl table" bstackctl table t038 > "$BSTACK_TMP/shown"
expect_eq "$(wc -l < "$BSTACK_TMP/shown")" $n "the lines bstackctl table shows"
l=$((n * 7 / 9))
expect_eq "$(sed -n $((l + 1))p "$BSTACK_TMP/shown" | awk '{ print $1, $2, $5 }')" \
	"$((l * 8)) 8 $(((n - 1 - l) * 8))" "line $((l + 1)) as bstackctl table shows it"

# Line i of bstack is the device's 4 KiB block n - 1 - i.
for i in 0 1 2 4095 4096 $((n / 15 + 1)) $((n / 4 - 1)) $((n / 2)) $((n * 7 / 9)) $((n - 2)) $((n - 1)); do
	must "data for line $i" dd if=/dev/urandom of="$BSTACK_TMP/in" bs=4k count=1 2>/dev/null
	must "write line $i" dd if="$BSTACK_TMP/in" of="$dev" bs=4k seek=$i count=1 \
		oflag=direct conv=notrunc 2>/dev/null
	must "read the device" dd if="$nb" of="$BSTACK_TMP/out" bs=4k skip=$((n - 1 - i)) \
		count=1 iflag=direct 2>/dev/null
	cmp -s "$BSTACK_TMP/in" "$BSTACK_TMP/out" ||
		fail "4 KiB written through line $i is not at the device's block $((n - 1 - i))"
done
# 8 KiB across lines 12346 and 12347: the halves land at two blocks of
# the device, the second before the first.
must "data for two lines" dd if=/dev/urandom of="$BSTACK_TMP/in" bs=4k count=2 2>/dev/null
must "write two lines" dd if="$BSTACK_TMP/in" of="$dev" bs=8k seek=6173 count=1 \
	oflag=direct conv=notrunc 2>/dev/null
for half in 0 1; do
	must "read the device" dd if="$nb" of="$BSTACK_TMP/out" bs=4k \
		skip=$((n - 1 - 12346 - half)) count=1 iflag=direct 2>/dev/null
	must "cut the data" dd if="$BSTACK_TMP/in" of="$BSTACK_TMP/want" bs=4k skip=$half \
		count=1 2>/dev/null
	cmp -s "$BSTACK_TMP/want" "$BSTACK_TMP/out" ||
		fail "half $half of 8 KiB across lines 12346 and 12347 is not where the table maps it"
done
info "$n lines: 12 writes landed where the table maps them"
bstack_remove t038

must "make a table of 1000001 lines" bstack-lines "$(dev_majmin "$nb")" 8000000 1000000 \
	> "$BSTACK_TMP/t.table"
echo "8000000 8 zero" >> "$BSTACK_TMP/t.table"
must_fail_1line "a table of 1000001 lines" bstackctl create t038b < "$BSTACK_TMP/t.table"
case "$BSTACK_ERR" in
*"more than 1000000 lines"*) ;;
*) fail "a table of 1000001 lines: '$BSTACK_ERR'" ;;
esac
bstack_dev t038b > /dev/null 2>&1 && fail "the refused table left a device t038b"

# A table the machine has no room for is refused with its size and the
# machine's, before it is built: a million lines take some 85 MB of the
# kernel's, and bstack takes at most half of what is available. A tmpfs
# file leaves about 260 MB available (bstackctl needs some 100 MB of it
# for the table's text and payload); the payload, or the lines, are
# refused, nothing is made, and once the memory is back the same table
# loads. The debug kernel's 30000 lines need 3 MB: the memory left would
# be too little for the guest itself.
if [ "$n" -eq 1000000 ]; then
	avail_mb() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }
	must "make the table again" bstack-lines "$(dev_majmin "$nb")" $((n * 8)) $n \
		> "$BSTACK_TMP/t.table"
	fill=$BSTACK_TMP/fill
	mkdir -p "$fill"
	must "mount a tmpfs" mount -t tmpfs -o size=4g none "$fill"
	cleanup_push "umount $fill"
	mb=$(($(avail_mb) - 260))
	[ "$mb" -gt 0 ] || fail "only $(avail_mb) MB available before the fill"
	must "fill $mb MB" dd if=/dev/zero of="$fill/f" bs=1M count=$mb 2>/dev/null
	info "$(avail_mb) MB available after a fill of $mb MB"
	must_fail_1line "a million lines with $(avail_mb) MB available" \
		bstackctl create t038c < "$BSTACK_TMP/t.table"
	case "$BSTACK_ERR" in
	*"needs about "*" MiB of kernel memory, more than half of the "*" MiB the system has available"*) ;;
	*) fail "a million lines in too little memory: '$BSTACK_ERR'" ;;
	esac
	info "refused: $BSTACK_ERR"
	bstack_dev t038c > /dev/null 2>&1 && fail "the table refused for memory left a device t038c"
	must "empty the fill" rm "$fill/f"
	must "a million lines with $(avail_mb) MB available" bstackctl create t038c \
		< "$BSTACK_TMP/t.table"
	bstack_remove t038c
fi
true
