#!/bin/sh
# Concurrency torture, for a bounded time: BSTACK_TORTURE_SECS (40 s in
# make check; make torture TORTURE_SECS=N runs it longer). At once:
#   - fio, three jobs (libaio, io_uring, psync) on disjoint regions of a
#     faulty-over-striped stack, writing with crc32c verify as they go;
#   - a loop on the device fio uses: suspend + resume, reloads between
#     two equivalent tables (one faulty line, or two) with and without an
#     explicit suspend, and messages that switch a 2 ms delay of 1 I/O in
#     10 on and off;
#   - a loop that creates and removes other devices over a third null_blk
#     and reads list, info, table and status of all devices, and deps.
# fio must see no I/O error and no verify failure, no control call may
# fail, and the debug kernel (KASAN, lockdep, kmemleak, atomic sleep
# checks) must stay silent, which the harness checks after the case.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc aio io_uring
SECS=${BSTACK_TORTURE_SECS:-40}

nb0=$(nullb_create nullb0 32 512 irqmode=2 completion_nsec=200000) || exit 1
nb1=$(nullb_create nullb1 32 512 irqmode=2 completion_nsec=200000) || exit 1
nb2=$(nullb_create nullb2 16) || exit 1
data=$(echo "0 131072 striped 2 16 $nb0 0 $nb1 0" | bstack_create t026s) ||
	exit 1
one() { printf '0 131072 faulty %s 0 %s\n' "$data" "$*"; }
two() {
	printf '0 50000 faulty %s 0 %s\n50000 81072 faulty %s 50000 %s\n' \
		"$data" "$*" "$data" "$*"
}
dev=$(one | bstack_create t026) || exit 1

stop=$BSTACK_TMP/stop
errors=$BSTACK_TMP/errors
: > "$errors"
cleanup_push "touch $stop; wait 2>/dev/null; true"

# op WHAT CMD...: run a control call; a failure is recorded, not fatal, so
# that the loops go on and fio ends on time.
op() {
	_what=$1
	shift
	"$@" > "$BSTACK_TMP/op.$$" 2>&1 ||
		echo "$_what: $* failed: $(head -n 1 "$BSTACK_TMP/op.$$")" >> "$errors"
}

fio --name=global --filename="$dev" --direct=1 --time_based \
	--runtime="$SECS" --rw=randwrite --bsrange=4k-128k --size=20m \
	--verify=crc32c --verify_backlog=16 --verify_fatal=1 \
	--verify_state_save=0 \
	--name=aio --ioengine=libaio --iodepth=8 --offset=0 \
	--name=uring --ioengine=io_uring --iodepth=8 --offset=20m \
	--name=sync --ioengine=psync --offset=40m \
	> "$BSTACK_TMP/fio.out" 2>&1 &
fio=$!
wait_open t026

# The device fio uses: suspend, reload, message.
(
	i=0
	while [ ! -e "$stop" ]; do
		i=$((i + 1))
		case $((i % 5)) in
		0)	op "cycle $i" bstackctl suspend t026
			op "cycle $i" bstackctl resume t026 ;;
		1)	op "cycle $i" bstackctl load t026 --table "$(two)"
			op "cycle $i" bstackctl resume t026 ;;
		2)	op "cycle $i" bstackctl message t026 0 delay=2 delay_prob=10%
			op "cycle $i" bstackctl message t026 0 seed=$i ;;
		3)	op "cycle $i" bstackctl suspend --nolockfs t026
			op "cycle $i" bstackctl load t026 --table "$(one)"
			op "cycle $i" bstackctl resume t026 ;;
		4)	op "cycle $i" bstackctl message t026 0 reset ;;
		esac
	done
	echo "$i" > "$BSTACK_TMP/cycles"
) &
cycler=$!

# Other devices: create, read everything, remove.
(
	i=0
	while [ ! -e "$stop" ]; do
		i=$((i + 1))
		name=t026x$((i % 4))
		op "device $i" bstackctl create "$name" \
			--table "0 2048 linear $nb2 $(((i % 16) * 2048))"
		op "device $i" bstackctl ls
		op "device $i" bstackctl info
		op "device $i" bstackctl table
		op "device $i" bstackctl status
		op "device $i" bstackctl deps "$name"
		op "device $i" bstackctl remove "$name"
	done
	echo "$i" > "$BSTACK_TMP/devices"
) &
creator=$!

wait "$fio"
rc=$?
touch "$stop"
wait "$cycler"
wait "$creator"
if [ "$rc" != 0 ]; then
	cat "$BSTACK_TMP/fio.out" >&2
	fail "fio failed ($rc) under torture: $(grep -m1 -iE 'err|verify' "$BSTACK_TMP/fio.out")"
fi
if [ -s "$errors" ]; then
	cat "$errors" >&2
	fail "$(wc -l < "$errors") control calls failed under torture; first: $(head -n 1 "$errors")"
fi
cycles=$(cat "$BSTACK_TMP/cycles")
devices=$(cat "$BSTACK_TMP/devices")
[ "$cycles" -gt 0 ] && [ "$devices" -gt 0 ] ||
	fail "the control loops did not run ($cycles cycles, $devices devices)"
written=$(awk '{ print $7 }' "/sys/block/${dev#/dev/}/stat")
[ "$written" -gt 0 ] || fail "fio wrote nothing to $dev"
expect_eq "$(awk '{ print $1 + $2 }' "/sys/block/${dev#/dev/}/inflight")" 0 \
	"I/Os in flight on t026 after the torture"
info "${SECS}s: fio wrote $((written / 2048)) MiB with verify through 3 engines, during $cycles suspend/reload/message cycles and $devices device create/read/remove rounds"
