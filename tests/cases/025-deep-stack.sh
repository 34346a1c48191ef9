#!/bin/sh
# Deep stacking: four bstack levels and two dm levels, one on the other,
# with splits at several levels, carry fio's verified writes with no
# deadlock, also while every bio slab allocation fails (failslab, as in
# 024) and each level lives on its bio_set's reserve of BIO_POOL_SIZE bios.
#
#   top  bstack t025d  striped 2, 32 KiB chunks, over two halves of
#        dm     t025-dm2  linear over
#        bstack t025c  faulty, no fault set, over
#        bstack t025b  two linear lines, the halves swapped, over
#        dm     t025-dm1  linear, from sector 2048, over
#        bstack t025a  striped 2, 4 KiB chunks, over two null_blk that
#                      hold each I/O 5 ms
#
# The rescuer is made visible. The top cuts a bio into 32 KiB pieces: while
# the first goes down, the rest of the bio waits on current->bio_list. At
# the bottom, t025a cuts that piece into 4 KiB pieces, and by the third
# its reserve of two is in flight. bio_alloc_bioset() must not sleep then
# with bios queued on current->bio_list (they could be what frees memory
# below): it hands those of its bio_set to the bio_set's rescuer workqueue
# "bioset", and only then waits. The workqueue tracepoint must count such
# work while starved; none is needed without pressure.
. "$BSTACK_LIB"
T=/sys/kernel/tracing
[ -d "$T/events" ] || mount -t tracefs nodev "$T" 2>/dev/null
EV=$T/events/workqueue/workqueue_queue_work
requires bstack bstackctl nullb dm fio sysvipc aio fault-injection \
	"$FS/cache-filter" /sys/kernel/slab "$EV/enable"
cleanup_push faults_off
faults_init
cleanup_push "echo 0 > $EV/enable; echo 0 > $EV/filter; echo 0 > $T/tracing_on; echo > $T/trace"

nb0=$(nullb_create nullb0 32 512 irqmode=2 completion_nsec=5000000 \
	hw_queue_depth=256) || exit 1
nb1=$(nullb_create nullb1 32 512 irqmode=2 completion_nsec=5000000 \
	hw_queue_depth=256) || exit 1
a=$(bstack_create t025a <<TABLE
0 131072 striped 2 8 $nb0 0 $nb1 0
TABLE
) || exit 1
dm1=$(echo "0 129024 linear $a 2048" | dm_create t025-dm1) || exit 1
b=$(bstack_create t025b <<TABLE
0 64512 linear $dm1 64512
64512 64512 linear $dm1 0
TABLE
) || exit 1
c=$(echo "0 129024 faulty $b 0" | bstack_create t025c) || exit 1
dm2=$(echo "0 129024 linear $c 0" | dm_create t025-dm2) || exit 1
top=$(echo "0 129024 striped 2 64 $dm2 0 $dm2 64512" | bstack_create t025d) ||
	exit 1
must "deps of the top" bstackctl deps t025d > "$BSTACK_TMP/deps"

# deep_fio WHAT: fio writes and verifies 8 MiB through the whole stack.
deep_fio() {
	timeout 300 fio --name=t025 --filename="$top" --direct=1 \
		--ioengine=libaio --iodepth=16 --numjobs=2 --size=30m \
		--offset_increment=31m --io_size=4m --rw=randwrite \
		--bsrange=4k-128k --verify=crc32c --verify_fatal=1 \
		--verify_state_save=0 --group_reporting \
		> "$BSTACK_TMP/fio.out" 2>&1
	_rc=$?
	[ $_rc = 0 ] && return 0
	faults_off
	cat "$BSTACK_TMP/fio.out" >&2
	[ $_rc = 124 ] && fail "$1: fio through 6 levels did not finish in 300 s"
	fail "$1: fio through 6 levels failed ($_rc)"
}

# trace_rescues on|count: count the work queued on "bioset" workqueues.
trace_rescues() {
	if [ "$1" = on ]; then
		echo 0 > "$T/tracing_on"
		echo > "$T/trace"
		echo 'workqueue == "bioset"' > "$EV/filter" ||
			fail "cannot filter the workqueue tracepoint on its workqueue"
		echo 1 > "$EV/enable"
		echo 1 > "$T/tracing_on"
		return
	fi
	echo 0 > "$T/tracing_on"
	echo 0 > "$EV/enable"
	grep -c 'workqueue=bioset' "$T/trace" || true
}

trace_rescues on
deep_fio "no pressure"
calm=$(trace_rescues count)
info "6 levels (4 bstack, 2 dm): fio wrote and verified 8 MiB; rescuers queued: $calm"

# The same, starved.
trace_rescues on
caches=$(bio_slabs_fail 1)
fault_set "$FS" cache-filter=Y task-filter=N times=$FAULT_TIMES probability=100
deep_fio "starved of bio memory"
n=$(fault_injected "$FS")
faults_off
rescues=$(trace_rescues count)
[ "$n" -gt 0 ] || fail "failslab injected no failure into $caches bio caches"
[ "$rescues" -gt 0 ] ||
	fail "starved, no bio_set rescuer was queued: the trace saw no punt"
info "starved ($n bio slab allocations failed): fio wrote and verified 8 MiB through 6 levels; the bio_set rescuers were queued $rescues times"

# Nothing is left in flight at any level.
for d in t025a t025b t025c t025d; do
	f=/sys/block/$(bstack_dev "$d" | sed 's|/dev/||')/inflight
	expect_eq "$(awk '{ print $1 + $2 }' "$f")" 0 "I/Os in flight on $d after fio"
done
