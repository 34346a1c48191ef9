#!/bin/sh
# Memory pressure: I/O through bstack completes, whole, while the debug
# kernel's fault-injection framework makes allocations fail.
#  1. Starvation. failslab fails every allocation from the bio slab caches
#     (its cache-filter, set on each bio-* cache), also those that may
#     wait: every clone bstack makes comes from its bio_set's mempool
#     reserve (BIO_POOL_SIZE bios), as every other bio in the system does.
#     fio writes and verifies through a striped table that splits its I/Os,
#     over null_blk devices that hold each I/O 1 ms. It must finish with no
#     error within its time bound: the reserve and the rescuer give forward
#     progress.
#  2. NOWAIT. The same caches, but only allocations that may not wait
#     fail: a piece of a RWF_NOWAIT write that bstack splits finds the
#     reserve in use by the earlier pieces, and bstack's worker sends the
#     rest, waiting: no write ends with EAGAIN after some of it went down,
#     and none without failslab either.
#  3. The writer's own allocations. failslab and fail_page_alloc with a
#     task filter fail 1 in 10 slab and page allocations of the writing
#     task (make-it-fail), in whose submit_bio() bstack cuts and clones,
#     whether they may wait or not. The writer retries a system call that
#     fails with ENOMEM before its I/O reaches the device (the vector
#     allocation of a direct I/O, ...); no bio may fail, which bstack's
#     error counter shows, and no data is lost.
# Each phase checks that failures were injected (each fault's "times"
# counts down). The guest's final kmemleak scan sees any leak.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc aio fault-injection \
	bstack-pattern "$FS/cache-filter" "$FP/probability" /sys/kernel/slab
cleanup_push faults_off
faults_init

nb0=$(nullb_create nullb0 32 512 irqmode=2 completion_nsec=1000000 \
	hw_queue_depth=256) || exit 1
nb1=$(nullb_create nullb1 32 512 irqmode=2 completion_nsec=1000000 \
	hw_queue_depth=256) || exit 1
# 64 KiB chunks: most I/Os of up to 256 KiB are cut in two to five.
dev=$(bstack_create t024 <<TABLE
0 131072 striped 2 128 $nb0 0 $nb1 0
TABLE
) || exit 1
# null_blk allocates its pages on the first write of each: do that now,
# so that the faults below hit allocations of the I/O path only.
must "pre-fill $dev" bstack-pattern write --seed 1 "$dev" 0 131072 > /dev/null

# ---- 1. starvation: every bio allocation, waiting or not, fails
caches=$(bio_slabs_fail 1)
fault_set "$FS" cache-filter=Y task-filter=N times=$FAULT_TIMES probability=100
timeout 300 fio --name=t024 --filename="$dev" --direct=1 --ioengine=libaio \
	--iodepth=16 --numjobs=2 --size=32m --offset_increment=32m \
	--io_size=8m --rw=randwrite --bsrange=4k-256k --verify=crc32c \
	--verify_fatal=1 --verify_state_save=0 --group_reporting \
	> "$BSTACK_TMP/fio.out" 2>&1
rc=$?
n=$(fault_injected "$FS")
echo 0 > "$FS/probability"
if [ $rc != 0 ]; then
	cat "$BSTACK_TMP/fio.out" >&2
	[ $rc = 124 ] && fail "starved of bio memory, fio did not finish in 300 s"
	fail "starved of bio memory, fio failed ($rc)"
fi
[ "$n" -gt 0 ] || fail "failslab injected no failure into $caches bio caches"
info "starvation: fio wrote and verified 16 MiB while failslab failed all $n bio slab allocations ($caches caches)"

# ---- 2. NOWAIT: only allocations that may not wait fail
again() { sed -n 's/.* again \([0-9]*\) .*/\1/p' "$1"; }
must "write, no fault" bstack-pattern write --nowait --seed 2 "$dev" 0 32768 \
	> "$BSTACK_TMP/nowait0"
expect_eq "$(again "$BSTACK_TMP/nowait0")" 0 \
	"EAGAINs to RWF_NOWAIT writes with no fault set"
fault_set "$FS" ignore-gfp-wait=Y times=$FAULT_TIMES probability=100
timeout 300 bstack-pattern write --nowait --seed 3 "$dev" 0 32768 \
	> "$BSTACK_TMP/nowait1" 2> "$BSTACK_TMP/nowait1.err"
rc=$?
n=$(fault_injected "$FS")
fault_set "$FS" probability=0 ignore-gfp-wait=N
[ $rc = 0 ] || fail "RWF_NOWAIT writes under failslab failed ($rc): $(cat "$BSTACK_TMP/nowait1.err")"
# Each write's first piece finds the mempool's reserve whole (the writer
# waits for each write), so it goes down; a later piece that finds the
# reserve taken by the earlier ones cannot have its clone without
# waiting, and the worker sends the rest. An EAGAIN would be a write that
# failed after some of it went down.
[ "$n" -gt 0 ] || fail "failslab injected no failure into the bio caches"
expect_eq "$(again "$BSTACK_TMP/nowait1")" 0 \
	"EAGAINs to RWF_NOWAIT writes while the bio caches failed ($n failures injected)"
must "verify after the NOWAIT writes" bstack-pattern verify --seed 3 "$dev" 0 32768 > /dev/null
info "NOWAIT: $(awk '{ print $2 }' "$BSTACK_TMP/nowait1") writes, none with EAGAIN, while $n bio slab allocations failed; data verified"

# ---- 3. the writer's own slab and page allocations, 1 in 10
bio_slabs_fail 0 > /dev/null
fault_set "$FS" cache-filter=N task-filter=Y times=$FAULT_TIMES probability=10
fault_set "$FP" task-filter=Y times=$FAULT_TIMES probability=10
timeout 300 bstack-pattern write --make-it-fail --seed 4 "$dev" 32768 65536 \
	> "$BSTACK_TMP/task" 2> "$BSTACK_TMP/task.err"
rc=$?
ns=$(fault_injected "$FS")
np=$(fault_injected "$FP")
faults_off
[ $rc = 0 ] || fail "writes under a task-filtered failslab and fail_page_alloc failed ($rc): $(cat "$BSTACK_TMP/task.err")"
[ $((ns + np)) -gt 0 ] || fail "no allocation of the writer failed"
must "verify after the task-filtered faults" bstack-pattern verify --seed 4 "$dev" 32768 65536 > /dev/null
# The first two phases' data is still there.
must "verify phase 2's data" bstack-pattern verify --seed 3 "$dev" 0 32768 > /dev/null
# No bio failed in any phase: bstack counts every error its bios end with
# (AGAIN is not one).
errs=$(bstackctl status t024 | sed -n 's/.* errors \([0-9]*\) .*/\1/p')
expect_eq "$errs" 0 "I/O errors t024 counted through the three phases"
info "task filter: $ns slab and $np page allocations of the writer failed; $(awk '{ print $2 }' "$BSTACK_TMP/task") writes done, $(awk '{ print $8 }' "$BSTACK_TMP/task") system calls retried after ENOMEM, no bio failed; data verified"
