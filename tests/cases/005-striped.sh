#!/bin/sh
# The striped target, and tables that mix it with linear, zero and error:
# 2 stripes of 8 sectors, 3 stripes of 24 (not a power of two), 2 of 128,
# all with odd lower offsets. fio writes 512 B to 256 KiB at random with
# verify=crc32c, through libaio, io_uring and psync; then bstack-mapcheck
# reads every chunk back from the lower device and offset that the
# definition of the layout gives, computed independently of the driver.
# The device advertises io_min = chunk and io_opt = stripe width.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc aio io_uring bstack-mapcheck

nb0=$(nullb_create nullb0 160) || exit 1
nb1=$(nullb_create nullb1 160) || exit 1
nb2=$(nullb_create nullb2 160) || exit 1

# fio_verify DEV OFFSET SIZE: in bytes; all three engines, one after another.
fio_verify() {
	for engine in libaio io_uring psync; do
		depth=16
		[ "$engine" = psync ] && depth=1
		info "fio $engine on $1 at $2+$3: randwrite bsrange=512-256k verify=crc32c"
		must "fio $engine" fio --name="t005-$engine" --filename="$1" \
			--direct=1 --ioengine="$engine" --iodepth="$depth" \
			--offset="$2" --size="$3" --io_size=2m \
			--rw=randwrite --bsrange=512-256k --verify=crc32c \
			--verify_fatal=1 --verify_state_save=0
	done
}

# check NAME TABLE-TEXT: create, exercise, check the mapping, remove.
check_table() {
	name=$1
	printf '%s\n' "$2" > "$BSTACK_TMP/$name.table"
	dev=$(bstack_create "$name" < "$BSTACK_TMP/$name.table") || exit 1
	size=$(awk '{ n = $1 + $2 } END { print n }' "$BSTACK_TMP/$name.table")
	expect_eq "$(blockdev --getsz "$dev")" "$size" "blockdev --getsz $dev"
	shift 2
	# The rest: regions fio may write (no zero or error inside), in sectors.
	while [ $# -gt 0 ]; do
		fio_verify "$dev" $(($1 * 512)) $(($2 * 512))
		shift 2
	done
	must "bstack-mapcheck $name" bstack-mapcheck "$dev" "$BSTACK_TMP/$name.table" >&2
	bstack_remove "$name"
}

check_table s2c8 "0 16384 striped 2 8 $nb0 7 $nb1 3" 0 16384
dev=$(bstack_create hints < "$BSTACK_TMP/s2c8.table") || exit 1
expect_eq "$(cat "/sys/block/${dev#/dev/}/queue/minimum_io_size")" 4096 "io_min of 2 x 8"
expect_eq "$(cat "/sys/block/${dev#/dev/}/queue/optimal_io_size")" 8192 "io_opt of 2 x 8"
bstack_remove hints

check_table s3c24 "0 14400 striped 3 24 $nb0 1001 $nb1 5 $nb2 77" 0 14400
check_table s2c128 "0 32768 striped 2 128 $nb1 9 $nb2 4097" 0 32768
# Mixed: striped | linear | zero | error | striped with a chunk of 100; fio
# writes across the striped|linear boundary and over the last striped line.
check_table mixed "0 4800 striped 3 8 $nb0 200001 $nb1 100003 $nb2 150007
4800 1001 linear $nb0 300001
5801 64 zero
5865 8 error
5873 20000 striped 2 100 $nb1 200011 $nb2 200013" 0 5801 5873 20000
