#!/bin/sh
# Reloads under load lose no bio, fail none and corrupt nothing. fio writes
# and verifies (crc32c) without pause, run after run, while 50 cycles
# change the table under it:
#   - 30 between equivalent tables (one linear line, or the same mapping
#     cut into three lines), alternating an explicit suspend + load +
#     resume with a load + resume (which suspends by itself);
#   - 20 that move the data to a mirror copy: suspend, copy the whole
#     lower device to the other one, load a table over the copy, resume.
# Any I/O error or verify failure fails fio, and the case.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc aio

# The size of the devices is the size of every copy below.
nb0=$(nullb_create nullb0 4) || exit 1
nb1=$(nullb_create nullb1 4) || exit 1
S=8192		# sectors, all of them

one() { printf '0 %s linear %s 0\n' "$S" "$1"; }
three() {
	printf '0 2501 linear %s 0\n2501 2499 linear %s 2501\n5000 %s linear %s 5000\n' \
		"$1" "$1" $((S - 5000)) "$1"
}
dev=$(one "$nb0" | bstack_create t013) || exit 1

# fio, run after run, until the stop file appears; each run's status and
# output are kept.
stop=$BSTACK_TMP/stop
runs=$BSTACK_TMP/runs
: > "$runs"
(
	n=0
	while [ ! -e "$stop" ]; do
		n=$((n + 1))
		fio --name="t013-$n" --filename="$dev" --direct=1 \
			--ioengine=libaio --iodepth=16 --rw=randwrite \
			--bsrange=4k-64k --size=4m --io_size=8m \
			--verify=crc32c --verify_fatal=1 --verify_state_save=0 \
			--randseed="$n" > "$BSTACK_TMP/fio.$n" 2>&1
		echo "$n $?" >> "$runs"
	done
) &
loader=$!
cleanup_push "touch $stop; wait $loader 2>/dev/null; true"

# Wait for fio to be under way before the first cycle.
t=0
while [ "$(awk '{ print $7 }' "/sys/block/${dev#/dev/}/stat")" -lt 2048 ]; do
	t=$((t + 1))
	[ $t -le 300 ] || fail "fio did not start writing within 30 s"
	sleep 0.1
done

lower=$nb0 other=$nb1
i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	if [ $i -gt 30 ]; then
		# Move: nothing is in flight while suspended, so the copy is whole.
		must "cycle $i: suspend" bstackctl suspend --nolockfs t013
		dd if="$lower" of="$other" bs=1M iflag=direct oflag=direct \
			2>/dev/null || fail "cycle $i: copying $lower to $other failed"
		must "cycle $i: load" bstackctl load t013 --table "$(one "$other")"
		must "cycle $i: resume" bstackctl resume t013
		t=$lower lower=$other other=$t
	elif [ $((i % 2)) = 0 ]; then
		must "cycle $i: suspend" bstackctl suspend t013
		must "cycle $i: load" bstackctl load t013 --table "$(three "$lower")"
		must "cycle $i: resume" bstackctl resume t013
	else
		must "cycle $i: load" bstackctl load t013 --table "$(one "$lower")"
		must "cycle $i: resume" bstackctl resume t013
	fi
done
during=$(wc -l < "$runs")
info "50 cycles done while fio completed $during runs"
touch "$stop"
wait "$loader"

while read -r n rc; do
	if [ "$rc" != 0 ]; then
		tail -n 20 "$BSTACK_TMP/fio.$n" >&2
		fail "fio run $n failed (exit $rc) during the reloads: $(grep -m1 -iE 'err|verify' "$BSTACK_TMP/fio.$n")"
	fi
done < "$runs"
total=$(wc -l < "$runs")
info "all $total fio runs passed verify, with no I/O error"
drop_caches
cmp_range "$dev" 0 "$lower" 0 "$S" ||
	fail "$dev differs from $lower, which the last table maps"
info "$dev reads the same as $lower, where the last move put it"
