#!/bin/sh
# Concurrent control: four processes run create, load, suspend, resume,
# rename, info and remove for a bounded time, two on names of their own
# and two on the same two shared names, while fio does I/O on a fifth
# device that one of them reloads. Nothing may hang (each step has a
# timeout), fio must see no error, and at the end no stray device is
# left and the kernel log is clean.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc timeout

nb=$(nullb_create nullb0 64) || exit 1
secs=20
[ "$(cat /etc/bstack-kernel 2>/dev/null)" = debug ] && secs=40

io=$(printf '0 16384 linear %s 0\n' "$nb" | bstack_create t018io) || exit 1
fio --name=t018 --filename="$io" --direct=1 --rw=randwrite --bs=4k \
	--ioengine=psync --time_based --runtime=$((secs + 5)) \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1 \
	> "$BSTACK_TMP/fio.out" 2>&1 &
fpid=$!
cleanup_push "kill $fpid 2>/dev/null; true"

# worker ID NAME...: cycle through the verbs on the given names until
# the deadline; every call is bounded, and a hung one fails the worker.
worker() {
	id=$1
	shift
	end=$(($(cut -d. -f1 /proc/uptime) + secs))
	i=0
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		i=$((i + 1))
		for name in "$@"; do
			off=$(( (i % 8) * 1024 ))
			for cmd in "create $name --table '0 1024 linear $nb $off'" \
				"load $name --table '0 2048 linear $nb $off'" \
				"suspend --nolockfs $name" "resume $name" \
				"rename $name ${name}r" "rename ${name}r $name" \
				"info $name" "clear $name" "remove $name"; do
				eval "timeout 60 bstackctl $cmd" > /dev/null 2>> "$BSTACK_TMP/w$id.err"
				rc=$?
				# timeout's own status when it had to kill.
				if [ $rc -eq 124 ] || [ $rc -eq 143 ]; then
					echo "hung: $cmd" > "$BSTACK_TMP/w$id.hung"
					return 1
				fi
			done
		done
		# And one reload of the device under fio, to the same mapping.
		timeout 60 bstackctl load t018io --table "0 16384 linear $nb 0" 2>/dev/null &&
			timeout 60 bstackctl resume t018io 2>/dev/null
	done
	echo "$i" > "$BSTACK_TMP/w$id.rounds"
}

worker 1 t018a &
p1=$!
worker 2 t018b &
p2=$!
worker 3 t018s1 t018s2 &
p3=$!
worker 4 t018s2 t018s1 &
p4=$!
for p in $p1 $p2 $p3 $p4; do
	wait "$p" || fail "a worker hung: $(cat "$BSTACK_TMP"/w*.hung 2>/dev/null)"
done
for i in 1 2 3 4; do
	[ -s "$BSTACK_TMP/w$i.rounds" ] || fail "worker $i did not finish"
done
info "rounds per worker: $(cat "$BSTACK_TMP"/w[1-4].rounds | tr '\n' ' ')"
# Workers on shared names see each other's devices: those refusals are
# expected. What is not: a message that is not one line of bstackctl's.
if grep -v '^bstackctl: ' "$BSTACK_TMP"/w*.err > "$BSTACK_TMP/odd" 2>/dev/null; then
	fail "unexpected output from bstackctl: $(head -n 3 "$BSTACK_TMP/odd" | tr '\n' '|')"
fi

wait "$fpid" || fail "fio failed under the concurrent control calls: $(grep -m1 -iE 'err|verify' "$BSTACK_TMP/fio.out")"
info "fio verified its I/O with no error meanwhile"

for n in t018a t018b t018s1 t018s2 t018ar t018br t018s1r t018s2r; do
	bstack_remove "$n" 2>/dev/null
done
expect_eq "$(bstackctl ls | cut -f1 | tr '\n' ' ')" "t018io " "devices left"
