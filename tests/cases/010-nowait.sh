#!/bin/sh
# io_uring and REQ_NOWAIT. io_uring first issues each read or write with
# IOCB_NOWAIT; a device without NOWAIT support, or a NOWAIT bio that ends
# with AGAIN, makes it punt the request to an io-wq worker thread, which
# the io_uring:io_uring_queue_async_work tracepoint records. Over null_blk,
# which supports NOWAIT, bstack must let io_uring issue all its I/O inline:
# no punt, for a linear table and for a striped table where many I/Os are
# split across chunks. The same count under fio's force_async (every
# request to io-wq) shows that the count sees punts.
. "$BSTACK_LIB"
T=/sys/kernel/tracing
[ -d "$T/events" ] || mount -t tracefs nodev "$T" 2>/dev/null
EV=$T/events/io_uring/io_uring_queue_async_work
requires bstack bstackctl nullb fio sysvipc io_uring "$EV/enable"

# A deep tag set, so that null_blk itself never has to say AGAIN.
nb0=$(nullb_create nullb0 64 512 hw_queue_depth=1024) || exit 1
nb1=$(nullb_create nullb1 64 512 hw_queue_depth=1024) || exit 1
cleanup_push "echo 0 > $EV/enable; echo 0 > $T/tracing_on; echo > $T/trace"

# fio_punts WHAT FIO-ARGS...: run fio with io_uring and print how many
# requests it punted to io-wq, as the tracepoint counted them.
fio_punts() {
	_what=$1
	shift
	echo 0 > "$T/tracing_on"
	echo > "$T/trace"
	echo 1 > "$EV/enable"
	echo 1 > "$T/tracing_on"
	fio --name="t010" --ioengine=io_uring --direct=1 "$@" \
		> "$BSTACK_TMP/fio.out" 2>&1 || {
		echo 0 > "$T/tracing_on"
		cat "$BSTACK_TMP/fio.out" >&2
		fail "$_what: fio failed: $(grep -m1 -i err "$BSTACK_TMP/fio.out")"
	}
	echo 0 > "$T/tracing_on"
	echo 0 > "$EV/enable"
	grep -c io_uring_queue_async_work "$T/trace" || true
}

# ---- linear: 4 KiB random reads and writes, never split
dev=$(bstack_create t010l <<TABLE
0 65536 linear $nb0 8
65536 65536 linear $nb1 0
TABLE
) || exit 1
n=$(fio_punts "linear, inline" --filename="$dev" --rw=randrw --bs=4k \
	--iodepth=16 --io_size=8m) || exit 1
expect_eq "$n" 0 "requests punted to io-wq during io_uring I/O on a linear table"
info "linear: 8 MiB of 4 KiB io_uring reads and writes, all issued inline"

# The count sees punts when there are some: force_async=1 sends every
# request to io-wq, whatever the device supports.
n=$(fio_punts "linear, force_async" --filename="$dev" --rw=randread \
	--bs=4k --iodepth=16 --io_size=1m --force_async=1) || exit 1
[ "$n" -gt 0 ] || fail "the tracepoint counted no punt under force_async=1"
info "the tracepoint counts $n punts when fio forces them"
bstack_remove t010l

# ---- striped, 8-sector chunks: random sizes, so most I/Os are split (the
# data such I/O writes is verified by 005-striped, with io_uring too).
dev=$(bstack_create t010s <<TABLE
0 131072 striped 2 8 $nb0 0 $nb1 16
TABLE
) || exit 1
n=$(fio_punts "striped, inline" --filename="$dev" --rw=randrw \
	--bsrange=512-32k --iodepth=8 --io_size=4m) || exit 1
expect_eq "$n" 0 "requests punted to io-wq during split io_uring I/O on a striped table"
info "striped: 4 MiB of 512 B..32 KiB io_uring reads and writes, split and still inline"
