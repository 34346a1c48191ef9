#!/bin/sh
# io_uring and REQ_NOWAIT. io_uring first issues each read or write with
# IOCB_NOWAIT; a device without NOWAIT support, or a NOWAIT bio that ends
# with AGAIN, sends it to an io-wq worker thread ("iou-wrk-PID") instead.
# Over null_blk, which supports NOWAIT, bstack must let io_uring issue its
# I/O inline: no io-wq worker appears, for a linear table and for a striped
# table where many I/Os are split across chunks. The same probe with fio's
# force_async (every I/O to io-wq) shows that the probe sees workers.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc io_uring

# A deep tag set, so that null_blk itself never has to say AGAIN.
nb0=$(nullb_create nullb0 64 512 hw_queue_depth=1024) || exit 1
nb1=$(nullb_create nullb1 64 512 hw_queue_depth=1024) || exit 1

# io_workers: how many io-wq worker threads exist right now.
io_workers() {
	cat /proc/[0-9]*/task/[0-9]*/comm 2>/dev/null | grep -c '^iou-wrk-'
}

# fio_workers WHAT FIO-ARGS...: run fio with io_uring for 3 seconds in the
# background, sample the io-wq workers every 0.2 s while it runs, print the
# largest count. An idle worker lives on for seconds, so the samples
# cannot miss one.
fio_workers() {
	_what=$1
	shift
	[ "$(io_workers)" -eq 0 ] || fail "$_what: io-wq workers exist before fio starts"
	fio --name="t010" --ioengine=io_uring --direct=1 --time_based \
		--runtime=3 "$@" \
		> "$BSTACK_TMP/fio.out" 2>&1 &
	_pid=$!
	_max=0
	while kill -0 "$_pid" 2>/dev/null; do
		_n=$(io_workers)
		[ "$_n" -le "$_max" ] || _max=$_n
		sleep 0.2
	done
	wait "$_pid" || {
		cat "$BSTACK_TMP/fio.out" >&2
		fail "$_what: fio failed: $(grep -m1 -i err "$BSTACK_TMP/fio.out")"
	}
	# Let the workers of this run go before the next one counts.
	_t=0
	while [ "$(io_workers)" -gt 0 ] && [ $_t -lt 100 ]; do
		sleep 0.2
		_t=$((_t + 1))
	done
	echo "$_max"
}

# ---- linear: 4 KiB random reads and writes, never split
dev=$(bstack_create t010l <<TABLE
0 65536 linear $nb0 8
65536 65536 linear $nb1 0
TABLE
) || exit 1
n=$(fio_workers "linear, inline" --filename="$dev" --rw=randrw --bs=4k \
	--iodepth=16) || exit 1
expect_eq "$n" 0 "io-wq workers during io_uring I/O on a linear table"
info "linear: 4 KiB io_uring reads and writes, all issued inline (no io-wq worker)"

# The probe sees workers when there are some: force_async=1 sends every
# request to io-wq, whatever the device supports.
n=$(fio_workers "linear, force_async" --filename="$dev" --rw=randread \
	--bs=4k --iodepth=16 --force_async=1) || exit 1
[ "$n" -gt 0 ] || fail "the probe saw no io-wq worker under force_async=1"
info "the probe sees $n io-wq workers when fio forces them"
bstack_remove t010l

# ---- striped, 8-sector chunks: random sizes, so most I/Os are split (the
# data such I/O writes is verified by 005-striped, with io_uring too).
dev=$(bstack_create t010s <<TABLE
0 131072 striped 2 8 $nb0 0 $nb1 16
TABLE
) || exit 1
n=$(fio_workers "striped, inline" --filename="$dev" --rw=randrw \
	--bsrange=512-32k --iodepth=8) || exit 1
expect_eq "$n" 0 "io-wq workers during split io_uring I/O on a striped table"
info "striped: 512 B..32 KiB io_uring reads and writes, split and still inline"
