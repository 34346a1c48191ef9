#!/bin/sh
# Bio polling (io_uring IOPOLL and RWF_HIPRI). Over null_blk devices with
# poll queues, a bstack device polls: io_poll is 1, FEATURES says
# "poll: on", and polled reads and writes, fio-verified, go through linear
# and striped tables, where most of them are split across chunks. Their
# pieces are sent down polled (the polled counter) and complete only when
# polled: null_blk's poll queues do not interrupt, so a piece that
# bstack_poll_bio() did not reach would hang fio. Over a device with no
# poll queue, or with a faulty line, polling is off and FEATURES says why.
# A reload that turns polling off and on under polled I/O neither hangs
# nor loses a piece.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc io_uring
grep -qw poll_queues "$BSTACK_CONFIGFS/nullb/features" ||
	skip "null_blk has no poll_queues attribute"

nb0=$(nullb_create nullb0 32 512 poll_queues=1) || exit 1
nb1=$(nullb_create nullb1 32 512 poll_queues=1) || exit 1
nb2=$(nullb_create nullb2 64 512 poll_queues=0) || exit 1
# 4 tags for 16 I/Os: polled pieces come back with AGAIN (no tag).
nb3=$(nullb_create nullb3 32 512 poll_queues=1 hw_queue_depth=4) || exit 1
maj_min2=$(dev_majmin "$nb2")
# A memory-backed null_blk allocates a page on the first write to it,
# with GFP_NOIO, and from its poll under io_uring's RCU read lock: a
# "sleeping function called from invalid context" in null_blk itself
# (6.12), whoever polls. Written once beforehand, its pages are there.
for d in "$nb0" "$nb1" "$nb3"; do
	must "prefill $d" dd if=/dev/zero of="$d" bs=1M count=32 oflag=direct 2>/dev/null
done

polled() {
	bstackctl status "$1" | awk '
		$1 == "#" { for (i = 2; i < NF; i += 2) if ($i == "polled") print $(i + 1) }'
}
feature() {	# feature NAME KEY: the "KEY: ..." line of info's features
	bstackctl info "$1" | sed -n "s/^  $2: //p"
}
io_poll() {
	cat "/sys/block/${1#/dev/}/queue/io_poll"
}
# fio_poll WHAT DEV FIO-ARGS...: polled I/O with verify, bounded in time.
fio_poll() {
	_what=$1 _dev=$2
	shift 2
	# --hipri is an option of the engine: after --ioengine.
	timeout 120 fio --name=t032 --filename="$_dev" --direct=1 \
		--verify=crc32c --verify_fatal=1 "$@" --hipri \
		> "$BSTACK_TMP/fio.out" 2>&1 || {
		cat "$BSTACK_TMP/fio.out" >&2
		fail "$_what: fio failed or hung"
	}
}

# ---- linear over two devices with poll queues
dev=$(bstack_create t032 <<TABLE
0 65536 linear $nb0 0
65536 65536 linear $nb1 0
TABLE
) || exit 1
expect_eq "$(io_poll "$dev")" 1 "io_poll of a linear table over poll queues"
expect_eq "$(feature t032 poll)" on "FEATURES' poll line"
p0=$(polled t032)
# Across the boundary between the lines too: 4 KiB to 64 KiB anywhere.
fio_poll "linear, io_uring IOPOLL" "$dev" --ioengine=io_uring --iodepth=16 \
	--rw=randwrite --bsrange=4k-64k --size=64m --io_size=24m --fixedbufs=1
fio_poll "linear, preadv2/pwritev2 RWF_HIPRI" "$dev" --ioengine=pvsync2 \
	--rw=randwrite --bsrange=4k-16k --size=64m --io_size=2m
p1=$(polled t032)
[ "$p1" -gt "$p0" ] || fail "no piece was sent down polled (polled $p0 -> $p1)"
info "linear: 26 MiB of polled I/O verified, $((p1 - p0)) pieces polled"

# Over 4 tags, polled pieces come back with AGAIN, and bstack must send
# them again itself, since io_uring takes an AGAIN found by a poll as done.
must "load shallow" bstackctl load t032 --table "0 65536 linear $nb3 0"
must "resume shallow" bstackctl resume t032
fio_poll "linear over 4 tags, io_uring IOPOLL" "$dev" --ioengine=io_uring \
	--iodepth=16 --rw=randwrite --bsrange=4k-64k --size=32m --io_size=16m
info "linear over 4 tags: 16 MiB of polled I/O verified"

# ---- striped, 8-sector chunks: nearly every I/O is split
must "load striped" bstackctl load t032 --table "0 131072 striped 2 8 $nb0 0 $nb1 0"
must "resume striped" bstackctl resume t032
expect_eq "$(io_poll "$dev")" 1 "io_poll of a striped table over poll queues"
s0=$(bstackctl status t032 | awk '$1 == "#" { for (i = 2; i < NF; i += 2) if ($i == "splits") print $(i + 1) }')
fio_poll "striped, io_uring IOPOLL" "$dev" --ioengine=io_uring --iodepth=16 \
	--rw=randwrite --bsrange=512-64k --size=64m --io_size=16m
s1=$(bstackctl status t032 | awk '$1 == "#" { for (i = 2; i < NF; i += 2) if ($i == "splits") print $(i + 1) }')
[ "$s1" -gt "$s0" ] || fail "the striped run split no bio"
info "striped: 16 MiB of polled I/O verified, $((s1 - s0)) extra pieces from splits"

# ---- a lower device without poll queues turns polling off, and says why
must "load no-poll" bstackctl load t032 --table "0 131072 linear $nb2 0"
must "resume no-poll" bstackctl resume t032
expect_eq "$(io_poll "$dev")" 0 "io_poll over a device with no poll queue"
case "$(feature t032 poll)" in
"off: "*"($maj_min2) has no poll queues") ;;
*) fail "FEATURES' poll line over $nb2: '$(feature t032 poll)'" ;;
esac
p2=$(polled t032)
# Polled I/O on a device that does not poll fails (6.12) or goes down
# unpolled (6.1): never polled, never hung.
timeout 60 fio --name=t032n --filename="$dev" --direct=1 \
	--ioengine=io_uring --hipri --rw=randread --bs=4k --io_size=1m \
	> "$BSTACK_TMP/fio.out" 2>&1
[ $? -ne 124 ] || fail "polled I/O on a device that does not poll hung"
expect_eq "$(polled t032)" "$p2" "pieces polled on a device that does not poll"

# ---- a line that cannot be polled
must "load faulty" bstackctl load t032 --table "0 65536 linear $nb0 0
65536 65536 faulty $nb1 0"
must "resume faulty" bstackctl resume t032
expect_eq "$(io_poll "$dev")" 0 "io_poll with a faulty line"
expect_eq "$(feature t032 poll)" "off: line 2 (faulty) cannot be polled" \
	"FEATURES' poll line with a faulty line"
bstackctl info --json t032 | grep -q '"poll": {"on": false, "why": "line 2 (faulty) cannot be polled"}' ||
	fail "info --json lacks the poll feature: $(bstackctl info --json t032)"

# ---- reloads that turn polling off and on under polled reads and writes
must "load poll" bstackctl load t032 --table "0 131072 striped 2 8 $nb0 0 $nb1 0"
must "resume poll" bstackctl resume t032
timeout 120 fio --name=t032r --filename="$dev" --direct=1 \
	--ioengine=io_uring --hipri --iodepth=16 --rw=randwrite --bs=4k --size=64m \
	--time_based --runtime=6 > "$BSTACK_TMP/fio-r.out" 2>&1 &
fio_pid=$!
sleep 2
for i in 1 2 3; do
	must "reload $i: off" bstackctl load t032 --table "0 131072 linear $nb2 0"
	must "reload $i: resume off" bstackctl resume t032
	must "reload $i: on" bstackctl load t032 --table "0 131072 striped 2 8 $nb0 0 $nb1 0"
	must "reload $i: resume on" bstackctl resume t032
done
wait "$fio_pid"
rc=$?
[ $rc -ne 124 ] || fail "polled I/O hung across reloads"
inflight=$(bstackctl status t032 | awk '$1 == "#" { for (i = 2; i < NF; i += 2) if ($i == "in_flight") print $(i + 1) }')
expect_eq "$inflight" 0 "pieces in flight after the reloads"
info "polled I/O across 6 reloads: fio exit $rc, nothing hung or left in flight"
