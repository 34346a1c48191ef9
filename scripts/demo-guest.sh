#!/bin/sh
# The guest side of "make demo": runs inside QEMU on a stock kernel, with
# bstack.ko loaded. Shows each command and what it printed.
. /tests/lib.sh

say() { printf '\n=== %s\n' "$*"; }
# Show a command as one would type it (arguments with blanks quoted), then
# what it printed, indented.
run() {
	_line='$'
	for _a in "$@"; do
		case "$_a" in
		*[[:space:]]*) _line="$_line '$_a'" ;;
		*) _line="$_line $_a" ;;
		esac
	done
	printf '%s\n' "$_line"
	"$@" 2>&1 | sed 's/^/  /'
}
fio_iops() {	# fio_iops DEV: 4k random-read IOPS, io_uring QD32, 3 s
	fio --name=r --filename="$1" --direct=1 --rw=randread --bs=4k \
	    --ioengine=io_uring --iodepth=32 --time_based --runtime=3 \
	    --output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' '{ print $8 }'
}

say "bstack $(bstackctl version 2>/dev/null | sed -n 's/Driver version: //p') on Linux $(uname -r)"
run bstackctl version
nullb_create nullb0 256 > /dev/null || exit 1
nullb_create nullb1 256 > /dev/null || exit 1
run ls -l /dev/nullb0 /dev/nullb1

say "A linear + striped mapping over two null_blk devices, with odd boundaries"
cat > /tmp/vol0.table <<TABLE
# start  length  target   args
0        1001    linear   /dev/nullb0 7
1001     204800  striped  2 128 /dev/nullb0 4096 /dev/nullb1 3
205801   300000  linear   /dev/nullb1 200000
TABLE
run cat /tmp/vol0.table
run bstackctl create vol0 /tmp/vol0.table
run bstackctl ls
run bstackctl table
run bstackctl status vol0
dev=$(bstack_dev vol0) || exit 1
run cat "/sys/block/${dev#/dev/}/bstack/name" "/sys/block/${dev#/dev/}/size"
if command -v lsblk > /dev/null; then
	run lsblk "$dev" /dev/nullb0 /dev/nullb1
else
	run ls "/sys/block/${dev#/dev/}/slaves"
fi

say "bstackctl says exactly what is wrong, with the kernel's reason"
printf '0 100 linear /dev/nullb0 0\n200 8 linear /dev/nullb1 0\n' > /tmp/gap.table
run cat /tmp/gap.table
run bstackctl create bad /tmp/gap.table
run bstackctl create bad --table '0 100 linear /dev/nullb0 999999999'
run bstackctl create vol0 --table '0 8 linear /dev/nullb1 0'
run bstackctl remove nosuch

say "fio writes 64 MiB at random sizes (512 B to 256 KiB) and verifies it (crc32c)"
printf '$ fio --rw=randwrite --bsrange=512-256k --verify=crc32c %s\n' "$dev"
if fio --name=verify --filename="$dev" --direct=1 --rw=randwrite \
	--bsrange=512-256k --size=64m --ioengine=libaio --iodepth=16 \
	--verify=crc32c --verify_fatal=1 --do_verify=1 \
	--output-format=terse --terse-version=3 > /tmp/fio.out 2>&1; then
	echo "  verify passed: every block read back as written"
else
	sed 's/^/  /' /tmp/fio.out
	fail "fio verify failed"
fi

say "The same bytes through the lower devices, at the offsets the table gives"
a=$(dd if="$dev" bs=512 skip=205801 count=300000 2>/dev/null | md5sum | cut -c1-32)
b=$(dd if=/dev/nullb1 bs=512 skip=200000 count=300000 2>/dev/null | md5sum | cut -c1-32)
echo "  bstack sectors 205801..505800: $a"
echo "  nullb1 sectors 200000..499999: $b"
[ "$a" = "$b" ] || fail "the data on nullb1 differs from what bstack returns"
echo "  identical"
if command -v bstack-mapcheck > /dev/null; then
	echo "  every range and stripe chunk, checked from the table's definition:"
	run bstack-mapcheck "$dev" /tmp/vol0.table || fail "bstack-mapcheck found a difference"
fi

say "Cost of stacking: 4k random reads, io_uring QD32; median of 3 rounds of 3 s"
echo "  (QEMU TCG, no KVM: a rough look; make bench is the real comparison)"
nullb_create nullb2 1024 512 memory_backed=0 > /dev/null || exit 1
echo "0 2097152 linear /dev/nullb2 0" > /tmp/fast.table
: > /tmp/raw.iops; : > /tmp/dm.iops; : > /tmp/bstack.iops
# bstack and dm both claim nullb2 exclusively: each exists only for its run.
measure() {	# measure raw|dm|bstack
	case $1 in
	raw)	fio_iops /dev/nullb2 >> /tmp/raw.iops ;;
	dm)	dm_create fast-dm < /tmp/fast.table > /tmp/dm.dev || exit 1
		fio_iops "$(cat /tmp/dm.dev)" >> /tmp/dm.iops
		dm_remove fast-dm ;;
	bstack)	bstackctl create fast0 /tmp/fast.table || exit 1
		fio_iops "$(bstack_dev fast0)" >> /tmp/bstack.iops
		bstackctl remove fast0 ;;
	esac
}
for order in "raw dm bstack" "dm bstack raw" "bstack raw dm"; do
	for what in $order; do
		measure "$what"
	done
done
median() { sort -n "$1" | sed -n 2p; }
awk -v raw="$(median /tmp/raw.iops)" -v dm="$(median /tmp/dm.iops)" \
    -v bs="$(median /tmp/bstack.iops)" 'BEGIN {
	printf "  %-16s %8s IOPS\n", "raw null_blk", raw
	printf "  %-16s %8s IOPS  %.2f of raw\n", "dm-linear", dm, dm / raw
	printf "  %-16s %8s IOPS  %.2f of raw, %.2f of dm\n", "bstack linear", bs, bs / raw, bs / dm
}'

say "Tear down"
run bstackctl remove vol0
run bstackctl ls
