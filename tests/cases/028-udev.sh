#!/bin/sh
# bstack's udev rules under a real systemd-udevd (Debian's, with Debian's
# block rules beside ours), and bstackctl's wait for udev:
#   - create returns with /dev/bstack/NAME and the by-id links in place;
#   - after mke2fs, blkid's by-uuid and by-label links, and lsblk -f;
#   - a suspended device is not probed and keeps its properties;
#   - a device with no live table is not ready and not probed;
#   - rename moves the links, remove takes them away, remove --retry
#     outlasts a passing opener;
#   - a stopped udev: the wait ends at --udevtimeout with a warning;
#     --noudevsync does not wait; no udev at all: a note, no wait.
. "$BSTACK_LIB"
requires bstack bstackctl nullb udev

nb=$(nullb_create u028 32) || exit 1
udev_start

# ---- create: the links are there when bstackctl returns
must "create u028a" bstackctl create u028a --uuid BSTACK-u028a \
	--table "0 65536 linear $nb 0"
cleanup_push "bstack_remove u028a"
dev=$(bstack_dev u028a) || fail "no device u028a"
link_is /dev/bstack/u028a "$dev" ||
	fail "create returned, and /dev/bstack/u028a is not a link to $dev: $(ls -l /dev/bstack 2>&1)"
link_is /dev/disk/by-id/bstack-name-u028a "$dev" ||
	fail "no /dev/disk/by-id/bstack-name-u028a after create"
link_is /dev/disk/by-id/bstack-uuid-BSTACK-u028a "$dev" ||
	fail "no /dev/disk/by-id/bstack-uuid-BSTACK-u028a after create"
expect_eq "$(udev_prop "$dev" BSTACK_NAME)" u028a "udev's BSTACK_NAME"
expect_eq "$(udev_prop "$dev" ID_FS_TYPE)" "" "ID_FS_TYPE of a blank device"
info "create: /dev/bstack/u028a and both by-id links were there on return"

# ---- a filesystem: udev's watch probes again when mke2fs closes it
must "mke2fs" busybox mke2fs -q -L lbl028 "$dev"
# udevd sees the close through inotify, then sends itself a change.
wait_for 30 "udev found the ext2 filesystem" \
	sh -c '[ "$(udevadm info --query=property --name="$0" | grep ^ID_FS_TYPE=)" = ID_FS_TYPE=ext2 ]' "$dev"
must "settle after mke2fs" udevadm settle --timeout=30
fsuuid=$(udev_prop "$dev" ID_FS_UUID)
[ -n "$fsuuid" ] || fail "no ID_FS_UUID after mke2fs"
link_is "/dev/disk/by-uuid/$fsuuid" "$dev" || fail "no /dev/disk/by-uuid/$fsuuid"
link_is /dev/disk/by-label/lbl028 "$dev" || fail "no /dev/disk/by-label/lbl028"
expect_eq "$(lsblk -dno FSTYPE,LABEL "$dev" | tr -s ' ')" "ext2 lbl028" "lsblk -f"
info "mke2fs: by-uuid/$fsuuid, by-label/lbl028, and lsblk shows ext2"

# ---- suspended: a change event does not probe (blkid would wait behind
# the held I/O, and settle would time out) and keeps what was found
must "suspend" bstackctl suspend u028a
must "trigger a change" udevadm trigger --action=change "/sys/block/${dev#/dev/}"
if ! udevadm settle --timeout=20; then
	ps
	cat "$BSTACK_TMP/udevd.log"
	for p in $(pidof systemd-udevd); do
		echo "udevd $p: $(cat /proc/$p/cmdline | tr '\0' ' ')"; cat /proc/$p/stack
	done
	udevadm info --query=property --name="$dev"
	fail "udev did not settle while u028a was suspended: it probed it"
fi
expect_eq "$(udev_prop "$dev" BSTACK_SUSPENDED)" 1 "BSTACK_SUSPENDED while suspended"
expect_eq "$(udev_prop "$dev" ID_FS_TYPE)" ext2 "ID_FS_TYPE kept while suspended"
link_is "/dev/disk/by-uuid/$fsuuid" "$dev" || fail "by-uuid link lost while suspended"
link_is /dev/bstack/u028a "$dev" || fail "/dev/bstack/u028a lost while suspended"
must "resume" bstackctl resume u028a
expect_eq "$(udev_prop "$dev" BSTACK_SUSPENDED)" 0 "BSTACK_SUSPENDED after resume"
expect_eq "$(udev_prop "$dev" ID_FS_TYPE)" ext2 "ID_FS_TYPE after resume"
info "suspended: no probe, properties and links kept"

# ---- no live table: linked, but not ready and not probed
must "create --notable" bstackctl create u028b --notable
cleanup_push "bstack_remove u028b"
devb=$(bstack_dev u028b) || fail "no device u028b"
link_is /dev/bstack/u028b "$devb" || fail "no /dev/bstack/u028b for a device without a table"
expect_eq "$(udev_prop "$devb" SYSTEMD_READY)" 0 "SYSTEMD_READY without a table"
must "load u028b" bstackctl load u028b --table "0 8192 zero"
must "resume u028b" bstackctl resume u028b
expect_eq "$(udev_prop "$devb" SYSTEMD_READY)" "" "SYSTEMD_READY once it has a table"
info "no table: SYSTEMD_READY=0 until the first resume"

# ---- rename moves the links; the filesystem's stay
must "rename" bstackctl rename u028a u028c
link_is /dev/bstack/u028c "$dev" || fail "no /dev/bstack/u028c after the rename"
[ ! -e /dev/bstack/u028a ] && [ ! -L /dev/bstack/u028a ] ||
	fail "/dev/bstack/u028a is still there after the rename"
link_is /dev/disk/by-id/bstack-name-u028c "$dev" || fail "no by-id/bstack-name-u028c"
[ ! -L /dev/disk/by-id/bstack-name-u028a ] || fail "by-id/bstack-name-u028a is still there"
link_is "/dev/disk/by-uuid/$fsuuid" "$dev" || fail "by-uuid link lost in the rename"
cleanup_push "bstack_remove u028c"

# ---- remove: refused while open; --retry outlasts a passing opener
sh -c 'exec 3< "$0"; sleep 2' "$dev" &
holder=$!
wait_open u028c
must_fail_1line "remove while open" bstackctl remove u028c
must "remove --retry" bstackctl remove --retry u028c
wait "$holder"
[ ! -L /dev/bstack/u028c ] || fail "/dev/bstack/u028c is still there after remove"
[ ! -L "/dev/disk/by-uuid/$fsuuid" ] || fail "by-uuid/$fsuuid is still there after remove"
[ ! -L /dev/disk/by-id/bstack-uuid-BSTACK-u028a ] ||
	fail "by-id/bstack-uuid-BSTACK-u028a is still there after remove"
info "remove --retry: gone once the opener let go, and so are its links"

# ---- a stopped udev: create waits --udevtimeout, then warns
udevd=$(pidof systemd-udevd)
kill -STOP $udevd
cleanup_push "kill -CONT $udevd 2>/dev/null; true"
t0=$(date +%s)
bstackctl create u028d --table "0 8 zero" --udevtimeout 2 2> "$BSTACK_TMP/slow.err" ||
	fail "create failed with udev stopped: $(cat "$BSTACK_TMP/slow.err")"
t=$(($(date +%s) - t0))
cleanup_push "bstack_remove u028d"
kill -CONT $udevd
grep -q "warning: udev has not finished with bstack[0-9]* after 2 s" "$BSTACK_TMP/slow.err" ||
	fail "no timeout warning: $(cat "$BSTACK_TMP/slow.err")"
[ "$t" -ge 2 ] && [ "$t" -le 10 ] || fail "create with --udevtimeout 2 took $t s"
info "udev stopped: $(cat "$BSTACK_TMP/slow.err")"
must "settle" udevadm settle --timeout=30
link_is /dev/bstack/u028d "$(bstack_dev u028d)" || fail "no /dev/bstack/u028d once udev went on"

# --noudevsync does not wait, even for a stopped udev
kill -STOP $udevd
t0=$(date +%s)
bstackctl remove --noudevsync u028d 2> "$BSTACK_TMP/nosync.err" ||
	fail "remove --noudevsync failed: $(cat "$BSTACK_TMP/nosync.err")"
t=$(($(date +%s) - t0))
kill -CONT $udevd
[ ! -s "$BSTACK_TMP/nosync.err" ] || fail "remove --noudevsync said: $(cat "$BSTACK_TMP/nosync.err")"
[ "$t" -le 1 ] || fail "remove --noudevsync took $t s"
must "settle" udevadm settle --timeout=30
[ ! -L /dev/bstack/u028d ] || fail "/dev/bstack/u028d is still there after remove"

# ---- no udev at all, with the rules installed: a note, and no wait
must "stop udevd" udevadm control --exit
# udevd lets its workers finish first, which a starved guest (a loaded
# make check) has taken more than 10 s to do; how fast it goes is not
# what this checks.
i=0
while pidof systemd-udevd > /dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
if pidof systemd-udevd > /dev/null; then
	info "systemd-udevd still ran 30 s after --exit: killed"
	kill -KILL $(pidof systemd-udevd)
	wait_for 10 "systemd-udevd killed" sh -c '! pidof systemd-udevd > /dev/null'
fi
# udevd leaves its control socket behind: bstackctl must not be fooled.
[ ! -S /run/udev/control ] || info "udevd left /run/udev/control behind, as it does"
t0=$(date +%s)
bstackctl create u028e --table "0 8 zero" 2> "$BSTACK_TMP/absent.err" ||
	fail "create without udev failed: $(cat "$BSTACK_TMP/absent.err")"
t=$(($(date +%s) - t0))
cleanup_push "bstack_remove u028e"
[ "$t" -le 1 ] || fail "create took $t s with no udev running"
grep -q "note: udev is not running" "$BSTACK_TMP/absent.err" ||
	fail "no note that udev is not running: $(cat "$BSTACK_TMP/absent.err")"
info "no udev: $(cat "$BSTACK_TMP/absent.err")"
exit 0
