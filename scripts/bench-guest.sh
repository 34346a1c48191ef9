#!/bin/sh
# The guest side of "make bench" (scripts/bench.sh puts ROUNDS and RUNTIME
# in front of it): runs on the stock kernel with bstack.ko loaded, over
# null_blk with no memory behind it. Each round runs every workload on raw
# null_blk, on a dm table and on the same table in bstack, in an order that
# rotates from round to round. Each fio run prints one line:
#   BENCH <round> <workload> <target> <busy_jiffies> <total_jiffies> <json>
# where the jiffies are the guest's /proc/stat "cpu" line over the run and
# <json> is fio's JSON output on one line. scripts/bench-report.py reads
# them.
#
# With PROFILE=WORKLOAD (scripts/profile.sh), it runs that workload once
# on each target, without ramp time, and calls sync(2) just before and
# just after each fio run: QEMU's tbprof plugin dumps its instruction
# counts at each sync, so that every other dump covers one fio run. Then
# it prints the text symbols of the modules.
#
# On a real machine, as root, BENCH_DEV0 and BENCH_DEV1 (two disks of the
# same model, whose data is destroyed: the workloads write) replace
# null_blk; see Documentation/bench.md.
. "${BSTACK_LIB:-/tests/lib.sh}"
: "${ROUNDS:=5}" "${RUNTIME:=3}" "${CLOCK:=wall}" "${PROFILE:=}"
# The axes to measure: io (the workloads below), tables (table size),
# devices (making and removing many), reload (reloads under load).
: "${AXES:=io tables devices reload}" "${TABLE_SIZES:=1 1000 100000 1000000}"
: "${DEVICES:=1000}" "${RELOADS:=20}"
RAMP=1
[ -z "$PROFILE" ] || ROUNDS=1 RAMP=0

# A kernel booted with maxcpus=1 (6.1, see scripts/bench.sh) brings up its
# other CPUs here.
for _c in /sys/devices/system/cpu/cpu[0-9]*/online; do
	[ -f "$_c" ] && [ "$(cat "$_c")" = 0 ] || continue
	echo 1 > "$_c" || echo "BENCH-NOTE ${_c%/online}: could not be brought online"
done

if [ -n "${BENCH_DEV0:-}" ]; then
	nb0=$BENCH_DEV0
	nb1=${BENCH_DEV1:?BENCH_DEV1, the second disk, is not set}
else
	# Sizes in MiB. memory_backed=0: reads and writes cost no copy.
	nb0=$(nullb_create nullb0 4096 512 memory_backed=0) || exit 1
	nb1=$(nullb_create nullb1 4096 512 memory_backed=0) || exit 1
	# Its own device for the polled workload: poll queues change the
	# queue map, and the other workloads keep theirs.
	nb2=$(nullb_create nullb2 4096 512 memory_backed=0 poll_queues=2) ||
		exit 1
fi
# The polled workload's device: on a real machine, the first disk.
nbp=${nb2:-$nb0}

# fio's buffers of the large sequential reads in huge pages. In pages of
# 4 KiB, how many segments a 128 KiB bio has depends on how physically
# contiguous the pages fio's buffer got are, which depends on what ran
# before: in one boot (make profile seqread-128k, 6.12) a read on raw
# null_blk cost 33615 instructions run first and 34526 run second, and
# bstack's 37677 run first and 38507 run third, more than all of
# bstack.ko's 190. In one huge page, every target's bio is one segment.
hugepages_were=$(cat /proc/sys/vm/nr_hugepages)
# Even a reservation that fell short is given back.
cleanup_push "echo $hugepages_were > /proc/sys/vm/nr_hugepages"
{ echo 32 > /proc/sys/vm/nr_hugepages; } 2> /dev/null
if [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 8 ]; then
	HUGE=--iomem=shmhuge
else
	HUGE=
	echo "BENCH-NOTE no huge pages for fio's buffers: the sequential reads' figures depend on the order of the runs"
fi
sectors=$(dev_sectors "$nb0")

# About 1000 linear segments of odd lengths (33..95 sectors), each mapped
# 8 sectors further on than the last ends, so that 4k I/Os often cross.
segments_table() {
	awk -v dev="$nb0" 'BEGIN {
		x = 12345; start = 0; off = 0
		for (i = 0; i < 1000; i++) {
			x = (x * 1103515245 + 12345) % 2147483648
			len = 33 + 2 * (int(x / 65536) % 32)
			printf "%d %d linear %s %d\n", start, len, dev, off
			start += len; off += len + 8
		}
	}'
}
linear_table() { echo "0 $sectors linear $nb0 0"; }
polled_table() { echo "0 $(dev_sectors "$nbp") linear $nbp 0"; }
striped_table() { echo "0 $((sectors * 2)) striped 2 128 $nb0 0 $nb1 0"; }

for kind in linear striped segments polled; do
	"${kind}_table" > "/tmp/$kind.table"
done
seg_sectors=$(awk '{ s = $1 + $2 } END { print s }' /tmp/segments.table)

# md raid0 is the striped workloads' third peer: an array with no
# superblock (mdadm --build) over the same two devices, in chunks of the
# same 64 KiB as the striped table's 128 sectors.
md=
if [ -f /lib/kmod/raid0.ko ] && command -v mdadm > /dev/null; then
	if insmod /lib/kmod/raid0.ko 2> /tmp/raid0.err; then
		md=/dev/md0
	else
		echo "BENCH-NOTE no md raid0: insmod raid0: $(head -n 1 /tmp/raid0.err)"
	fi
else
	echo "BENCH-NOTE no md raid0: the initramfs has no raid0.ko or no mdadm"
fi

# dm, md and bstack cannot all claim null_blk: each run makes its device
# from the table, and removes it after.
up() {	# up dm|md|bstack KIND: make the device, print its /dev path
	case $1 in
	dm)	must "dmsetup create" dmsetup create bench --noudevsync \
			< "/tmp/$2.table" && dm_dev bench ;;
	md)	must "mdadm --build" mdadm --build "$md" --level=0 --chunk=64 \
			--raid-devices=2 "$nb0" "$nb1" && echo "$md" ;;
	bstack)	must "bstackctl create" bstackctl create bench \
			< "/tmp/$2.table" && bstack_dev bench ;;
	esac
}
down() {
	case $1 in
	dm)	must "dmsetup remove" dmsetup remove --noudevsync bench ;;
	md)	must "mdadm --stop" mdadm --stop "$md" ;;
	bstack)	must "bstackctl remove" bstackctl remove bench ;;
	esac
}
cleanup_push "dmsetup remove --noudevsync bench 2>/dev/null; bstackctl remove bench 2>/dev/null; [ -z \"$md\" ] || mdadm --stop $md 2>/dev/null; true"

cpu_jiffies() {	# busy total, from the "cpu" line of /proc/stat
	awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; total = busy + $5 + $6
		print busy, total; exit }' /proc/stat
}

# run ROUND WORKLOAD TARGET DEV FIO-ARGS...
run() {
	_round=$1 _w=$2 _t=$3 _dev=$4
	shift 4
	set -- $(cpu_jiffies) "$@"
	_b0=$1 _t0=$2
	shift 2
	[ -z "$PROFILE" ] || sync
	fio --name="$_w" --filename="$_dev" --direct=1 --time_based \
		--runtime="$RUNTIME" --ramp_time="$RAMP" --output-format=json "$@" \
		> /tmp/fio.json 2> /tmp/fio.err || {
		echo "BENCH-ERROR $_round $_w $_t $(head -n 1 /tmp/fio.err)"
		return
	}
	[ -z "$PROFILE" ] || sync
	set -- $(cpu_jiffies)
	printf 'BENCH %s %s %s %s %s %s\n' "$_round" "$_w" "$_t" \
		$(($1 - _b0)) $(($2 - _t0)) "$(tr -d '\n\t' < /tmp/fio.json)"
}

# workload NAME KIND FIO-ARGS...: the fio arguments of a workload, on the
# raw device and the pair of KIND.
WORKLOADS='randread-qd32 randread-qd1 randwrite-qd32 seqread-128k mixed-70-30 striped-randread striped-seqread-1m segments-randread polled-randread'
args() {
	case $1 in
	randread-qd32)	echo "linear --rw=randread --bs=4k --ioengine=io_uring --iodepth=32" ;;
	randread-qd1)	echo "linear --rw=randread --bs=4k --ioengine=io_uring --iodepth=1" ;;
	randwrite-qd32)	echo "linear --rw=randwrite --bs=4k --ioengine=io_uring --iodepth=32" ;;
	seqread-128k)	echo "linear --rw=read --bs=128k --ioengine=libaio --iodepth=8 $HUGE" ;;
	mixed-70-30)	echo "linear --rw=randrw --rwmixread=70 --bs=4k --ioengine=io_uring --iodepth=32" ;;
	striped-randread) echo "striped --rw=randread --bs=4k --ioengine=io_uring --iodepth=32" ;;
	striped-seqread-1m) echo "striped --rw=read --bs=1m --ioengine=libaio --iodepth=8 $HUGE" ;;
	segments-randread) echo "segments --rw=randread --bs=4k --ioengine=io_uring --iodepth=32 --size=$((seg_sectors / 2048))m" ;;
	# io_uring IOPOLL: fio polls each read to its end, with no interrupt.
	polled-randread) echo "polled --rw=randread --bs=4k --ioengine=io_uring --hipri --iodepth=1" ;;
	esac
}

# The table-size axis: 4k random reads, io_uring QD32, over all of nb0
# through N linear lines of one length (bstack-lines, the workloads
# lines-N), and through one line striped over 8 devices (striped-8),
# and what loading and removing the table cost. Per run, besides its
# BENCH line:
#   BENCH-LOAD <round> lines-<N> <target> <load_ns> <remove_ns> <kernel_kb>
# the guest time of the create (the tool's parsing, the ioctls and the
# kernel's building of the table) and of the remove, and how much SUnreclaim +
# VmallocUsed of /proc/meminfo grew with the device made. Each table goes
# in as its users load it: dmsetup create --noudevsync, bstackctl create
# --noudevsync. Where dmsetup refuses a table (bookworm's libdevmapper
# will not allocate the 68 MB ioctl buffer of a million lines), dm's goes
# in through bstack-dmload, dm's ioctls without libdevmapper, and a
#   BENCH-NOTE lines-<N> dm <why>
# line says so.
meminfo_kb() {
	awk '/^(SUnreclaim|VmallocUsed):/ { kb += $2 } END { print kb }' /proc/meminfo
}
tables_axis() {
	for n in $TABLE_SIZES; do
		# By device number, as LVM writes its tables.
		must "bstack-lines $n" bstack-lines "$(dev_majmin "$nb0")" \
			"$sectors" "$n" > "/tmp/lines-$n.table"
	done
	# And one line striped over 8 null_blk devices of 1 GiB, in chunks of
	# 64 KiB, as lvcreate --stripes 8 makes it (striped-8).
	_legs=
	for i in 0 1 2 3 4 5 6 7; do
		_s=$(nullb_create "stripe$i" 1024 512 memory_backed=0) || exit 1
		_legs="$_legs $(dev_majmin "$_s") 0"
	done
	echo "0 $((8 * $(dev_sectors "$_s"))) striped 8 128$_legs" > /tmp/striped-8.table
	TABLES=
	for n in $TABLE_SIZES; do
		TABLES="$TABLES lines-$n"
	done
	TABLES="$TABLES striped-8"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		for n in $TABLES; do
			case $((r % 2)) in
			1) order="dm bstack" ;;
			0) order="bstack dm" ;;
			esac
			for t in $order; do
				table_run "$r" "$n" "$t"
			done
		done
		echo "BENCH-ROUND tables $r done"
	done
}
table_run() {	# ROUND TABLE TARGET
	_m0=$(meminfo_kb)
	case $3 in
	dm)	bstack-elapsed /tmp/load.ns dmsetup create bench --noudevsync \
			< "/tmp/$2.table" 2> /tmp/load.err || {
			echo "BENCH-NOTE $2 dm dmsetup refused it ($(head -n 1 /tmp/load.err)): loaded with bstack-dmload"
			dmsetup remove --noudevsync bench 2> /dev/null
			_m0=$(meminfo_kb)
			bstack-elapsed /tmp/load.ns bstack-dmload bench \
				< "/tmp/$2.table" 2> /tmp/load.err
		} ;;
	bstack)	bstack-elapsed /tmp/load.ns bstackctl create bench --noudevsync \
			< "/tmp/$2.table" 2> /tmp/load.err ;;
	esac || {
		echo "BENCH-ERROR $1 $2 $3 $(head -n 1 /tmp/load.err)"
		return
	}
	_m1=$(meminfo_kb)
	case $3 in
	dm)	_dev=$(dm_dev bench) ;;
	bstack)	_dev=$(bstack_dev bench) ;;
	esac
	run "$1" "$2" "$3" "$_dev" --rw=randread --bs=4k \
		--ioengine=io_uring --iodepth=32
	case $3 in
	dm)	bstack-elapsed /tmp/remove.ns dmsetup remove --noudevsync bench ;;
	bstack)	bstack-elapsed /tmp/remove.ns bstackctl remove --noudevsync bench ;;
	esac || echo "BENCH-ERROR $1 $2 $3 the remove failed"
	echo "BENCH-LOAD $1 $2 $3 $(cat /tmp/load.ns) $(cat /tmp/remove.ns) $((_m1 - _m0))"
}

# The devices axis: DEVICES one-line devices over nb0 (2048 sectors each,
# side by side) made one after the other, then removed one after the
# other, as a user's script does it: dmsetup create/remove --noudevsync,
# bstackctl create/remove --noudevsync. Per round and target:
#   BENCH-DEVICES <round> <target> <devices> <create_ns> <remove_ns>
# the guest time of all the creates and of all the removes.
devices_axis() {
	_mm=$(dev_majmin "$nb0")
	: > /tmp/devices.list
	i=0
	while [ $i -lt "$DEVICES" ]; do
		echo "d$i 0 2048 linear $_mm $((i * 2048))" >> /tmp/devices.list
		i=$((i + 1))
	done
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		case $((r % 2)) in
		1) order="dm bstack" ;;
		0) order="bstack dm" ;;
		esac
		for t in $order; do
			devices_run "$r" "$t"
		done
		echo "BENCH-ROUND devices $r done"
	done
}
devices_run() {	# ROUND TARGET
	case $2 in
	dm)	mk='dmsetup create "$n" --noudevsync --table "$l"'
		rm='dmsetup remove --noudevsync "$n"' ;;
	bstack)	mk='bstackctl create "$n" --noudevsync --table "$l"'
		rm='bstackctl remove --noudevsync "$n"' ;;
	esac
	# shellcheck disable=SC2016
	bstack-elapsed /tmp/create.ns sh -c 'while read -r n l; do '"$mk"' || exit 1; done' \
		< /tmp/devices.list 2> /tmp/devices.err &&
	bstack-elapsed /tmp/remove.ns sh -c 'while read -r n l; do '"$rm"' || exit 1; done' \
		< /tmp/devices.list 2>> /tmp/devices.err || {
		echo "BENCH-ERROR $1 devices $2 $(head -n 1 /tmp/devices.err)"
		while read -r n l; do
			dmsetup remove --noudevsync "$n" 2> /dev/null
			bstackctl remove "$n" 2> /dev/null
		done < /tmp/devices.list
		return
	}
	echo "BENCH-DEVICES $1 $2 $DEVICES $(cat /tmp/create.ns) $(cat /tmp/remove.ns)"
}

# The reload axis: with 4k random reads and writes (io_uring QD32, 70%
# reads) running on the one-line table over nb0, RELOADS reloads of the
# same table, each a suspend, a load and a resume, as LVM does them
# (dmsetup suspend/load/resume --noudevsync; bstackctl suspend/load/resume
# --noudevsync).
# fio runs until the reloads are done and is stopped then. Per round and
# target:
#   BENCH-RELOAD <round> <target> <ns,ns,...> <ios> <json>
# the guest time of each reload, the I/Os the device completed meanwhile
# (from its stat file: that the load ran), and fio's JSON, whose longest
# completion latency is the I/O that waited longest for a reload.
reload_axis() {
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		case $((r % 2)) in
		1) order="dm bstack" ;;
		0) order="bstack dm" ;;
		esac
		for t in $order; do
			reload_run "$r" "$t"
		done
		echo "BENCH-ROUND reload $r done"
	done
}
dev_ios() {	# DEV: the reads and writes it has completed
	awk '{ print $1 + $5 }' "/sys/block/${1#/dev/}/stat"
}
reload_run() {	# ROUND TARGET
	_dev=$(up "$2" linear) || exit 1
	case $2 in
	dm)	rl='dmsetup suspend --noudevsync bench && dmsetup load bench /tmp/linear.table && dmsetup resume --noudevsync bench' ;;
	bstack)	rl='bstackctl suspend bench && bstackctl load bench /tmp/linear.table && bstackctl resume --noudevsync bench' ;;
	esac
	fio --name=reload --filename="$_dev" --direct=1 --time_based \
		--runtime=3600 --rw=randrw --rwmixread=70 --bs=4k \
		--ioengine=io_uring --iodepth=32 --output-format=json \
		> /tmp/fio.json 2> /tmp/fio.err &
	_fio=$!
	# Until fio's I/O flows.
	_i0=$(dev_ios "$_dev")
	_n=0
	while [ "$(dev_ios "$_dev")" -lt $((_i0 + 1000)) ] && [ $_n -lt 600 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	_i0=$(dev_ios "$_dev")
	_times= _k=0 _bad=
	while [ $_k -lt "$RELOADS" ]; do
		_k=$((_k + 1))
		bstack-elapsed /tmp/reload.ns sh -c "$rl" 2> /tmp/reload.err || {
			_bad=$(head -n 1 /tmp/reload.err)
			break
		}
		_times=$_times${_times:+,}$(cat /tmp/reload.ns)
	done
	_i1=$(dev_ios "$_dev")
	# Stopped by a signal, fio exits with 1 and still writes its JSON.
	kill -INT $_fio
	wait $_fio
	grep -q '"jobs"' /tmp/fio.json ||
		_bad=${_bad:-fio wrote no result: $(head -n 1 /tmp/fio.err)}
	down "$2"
	if [ -n "$_bad" ]; then
		echo "BENCH-ERROR $1 reload $2 $_bad"
		return
	fi
	# Its "terminating on signal" line comes before the JSON.
	echo "BENCH-RELOAD $1 $2 $_times $((_i1 - _i0)) $(sed -n '/^{/,$p' /tmp/fio.json | tr -d '\n\t')"
}

if [ -n "$PROFILE" ]; then
	args "$PROFILE" | grep -q . || {
		echo "BENCH-ERROR no workload '$PROFILE'; there are: $WORKLOADS"
		exit 1
	}
	WORKLOADS=$PROFILE
fi
echo "BENCH-INFO kernel $(uname -r) rounds $ROUNDS runtime $RUNTIME clock $CLOCK cpus $(nproc) null_blk $(cat /sys/module/null_blk/parameters/irqmode 2>/dev/null || echo '?')"
case " $AXES " in
*" io "*) ;;
*) WORKLOADS= ;;
esac
r=0
while [ -n "$WORKLOADS" ] && [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for w in $WORKLOADS; do
		# shellcheck disable=SC2046
		set -- $(args "$w")
		kind=$1
		shift
		# Rotate: raw dm bstack, dm bstack raw, bstack raw dm, ...
		case $((r % 3)) in
		1) order="raw dm bstack" ;;
		2) order="dm bstack raw" ;;
		0) order="bstack raw dm" ;;
		esac
		# The striped workloads have md too, next to dm.
		if [ "$kind" = striped ] && [ -n "$md" ]; then
			order=$(echo "$order" | sed 's/dm/dm md/')
		fi
		for t in $order; do
			if [ "$t" = raw ]; then
				raw=$nb0
				[ "$kind" != polled ] || raw=$nbp
				run "$r" "$w" raw "$raw" "$@"
				continue
			fi
			dev=$(up "$t" "$kind") || exit 1
			run "$r" "$w" "$t" "$dev" "$@"
			down "$t"
		done
	done
	echo "BENCH-ROUND $r done"
done
if [ -z "$PROFILE" ]; then
	case " $AXES " in *" tables "*) tables_axis ;; esac
	case " $AXES " in *" devices "*) devices_axis ;; esac
	case " $AXES " in *" reload "*) reload_axis ;; esac
fi
if [ -n "$PROFILE" ]; then
	grep ' [tT] .*\[' /proc/kallsyms | sed 's/^/PROFILE-SYM /'
fi
