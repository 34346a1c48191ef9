#!/bin/sh
# DISCARD through bstack: offered only when every lower device takes it;
# blkdiscard over a table of linear, striped (odd offsets), zero and error
# targets zeroes exactly the lower sectors the table maps and nothing
# around them; blkdiscard -z zeroes a mapped range; a discard of the error
# target fails. Lower offsets are computed here from the table.
. "$BSTACK_LIB"
requires bstack bstackctl nullb /usr/sbin/blkdiscard

blkdiscard=/usr/sbin/blkdiscard	# util-linux: -z; -f skips its probe, which reads the error target
d0=$(nullb_create nullb0 16 512 discard=1) || exit 1
d1=$(nullb_create nullb1 16 512 discard=1) || exit 1
nd=$(nullb_create nullb2 16) || exit 1

dev=$(bstack_create t009nd <<TABLE
0 2048 linear $d0 0
2048 2048 linear $nd 0
TABLE
) || exit 1
expect_eq "$(cat "/sys/block/${dev#/dev/}/queue/discard_max_bytes")" 0 \
	"discard_max_bytes when one lower device has no discard"
bstack_remove t009nd

# Random data on both lower devices, so that a zeroed sector shows.
dd if=/dev/urandom of="$BSTACK_TMP/pat" bs=1M count=16 2>/dev/null
for d in "$d0" "$d1"; do
	dd if="$BSTACK_TMP/pat" of="$d" bs=1M oflag=direct 2>/dev/null ||
		fail "cannot fill $d"
done

dev=$(bstack_create t009 <<TABLE
0 1000 linear $d0 1001
1000 2048 striped 2 8 $d0 4096 $d1 7
3048 1000 linear $d1 2048
4048 64 zero
4112 8 error
TABLE
) || exit 1
[ "$(cat "/sys/block/${dev#/dev/}/queue/discard_max_bytes")" -gt 0 ] ||
	fail "no discard offered over two discard-capable devices"

# Sectors 500..4099: half of the first linear, all of the striped and the
# second linear, part of zero.
must "blkdiscard 500+3600" "$blkdiscard" -f -o $((500 * 512)) -l $((3600 * 512)) "$dev"
drop_caches

# lower DEV START LEN zero|kept: what the lower sectors must hold now.
lower() { expect_range "$1" "$2" "$3" "$4" "$BSTACK_TMP/pat"; }
# The first linear, offset 1001: 500..999 -> d0 1501..2000.
lower "$d0" 1001 500 kept
lower "$d0" 1501 500 zero
lower "$d0" 2001 2095 kept
# The striped target: 1024 sectors on each stripe, all discarded.
lower "$d0" 4096 1024 zero
lower "$d0" 5120 2048 kept
lower "$d1" 0 7 kept
lower "$d1" 7 1024 zero
lower "$d1" 1031 1017 kept
# The second linear: d1 2048..3047.
lower "$d1" 2048 1000 zero
lower "$d1" 3048 2048 kept
is_zero "$dev" 500 3612 || fail "$dev 500+3612 should read as zeros"

# blkdiscard -z: sectors 0..499 -> d0 1001..1500, and nothing else.
must "blkdiscard -z 0+500" "$blkdiscard" -f -z -o 0 -l $((500 * 512)) "$dev"
drop_caches
lower "$d0" 1000 1 kept
lower "$d0" 1001 500 zero
lower "$d0" 2001 2095 kept

if "$blkdiscard" -f -o $((4112 * 512)) -l 4096 "$dev" 2>/dev/null; then
	fail "a discard of the error target succeeded"
fi
info "a discard of the error target fails"
