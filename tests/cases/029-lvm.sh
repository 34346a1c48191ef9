#!/bin/sh
# LVM on bstack, with Debian's lvm2: without dist/lvm-bstack.conf, lvm
# refuses a bstack device; with it, pvcreate, vgcreate and lvcreate on a
# bstack PV, a filesystem on the LV, and data written and read back
# through dm over bstack.
. "$BSTACK_LIB"
requires bstack bstackctl nullb dm lvm
[ -f /usr/share/bstack/dist/lvm-bstack.conf ] ||
	skip "dist/lvm-bstack.conf is not in the initramfs"
grep -qw ext4 /proc/filesystems || skip "the kernel has no ext4"

nb=$(nullb_create l029 64) || exit 1
dev=$(printf '0 131072 linear %s 0\n' "$nb" | bstack_create l029) || exit 1

# lvm's own settings for a guest with no udev, no lvmlockd and no backups.
conf=$BSTACK_TMP/lvm
mkdir -p "$conf" /run/lock/lvm
cat > "$conf/lvm.conf" <<CONF
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 0 archive = 0 }
global { use_lvmlockd = 0 }
CONF
export LVM_SYSTEM_DIR=$conf
export LVM_SUPPRESS_FD_WARNINGS=1

# Without the drop-in: refused.
if lvm pvcreate -y "$dev" > "$BSTACK_TMP/pv.out" 2>&1; then
	lvm pvremove -y "$dev" > /dev/null 2>&1
	fail "lvm took $dev as a PV without devices/types: does it know bstack now?"
fi
info "without lvm-bstack.conf: $(grep -i "$dev\|bstack" "$BSTACK_TMP/pv.out" | head -n 1)"

# With it.
cat /usr/share/bstack/dist/lvm-bstack.conf >> "$conf/lvm.conf"
must "pvcreate" lvm pvcreate -y "$dev"
cleanup_push "lvm pvremove -y $dev > /dev/null 2>&1 || true"
must "vgcreate" lvm vgcreate vg029 "$dev"
cleanup_push "lvm vgremove -f vg029 > /dev/null 2>&1 || true"
must "lvcreate" lvm lvcreate -y -L 32M -n lv vg029
pvs=$(lvm pvs --noheadings -o pv_name,vg_name 2>/dev/null | tr -s ' ')
case $pvs in
*"$dev vg029"*) ;;
*) fail "pvs does not show $dev in vg029: $pvs" ;;
esac
lv=/dev/mapper/vg029-lv
[ -b "$lv" ] || fail "no $lv after lvcreate"
# The LV is dm over bstack.
deps=$(dmsetup deps vg029-lv)
case $deps in
*"($(dev_majmin "$dev" | sed 's/:/, /'))"*) ;;
*) fail "vg029-lv does not map $dev: $deps" ;;
esac

must "mke2fs on the LV" busybox mke2fs -q "$lv"
mnt=$BSTACK_TMP/mnt
mkdir -p "$mnt"
must "mount the LV" mount -t ext4 "$lv" "$mnt"
cleanup_push "umount $mnt 2>/dev/null; true"
dd if=/dev/urandom of="$BSTACK_TMP/data" bs=64k count=64 2>/dev/null
must "write" cp "$BSTACK_TMP/data" "$mnt/data"
must "umount" umount "$mnt"
drop_caches
must "mount again" mount -t ext4 "$lv" "$mnt"
cmp "$BSTACK_TMP/data" "$mnt/data" || fail "the file read back from the LV differs"
must "umount" umount "$mnt"
# The bytes went through bstack: the bstack device counted the writes.
writes=$(bstackctl status l029 | sed -n 's/.* writes \([0-9]*\) .*/\1/p')
[ "${writes:-0}" -gt 0 ] || fail "bstack counted no writes under the LV"
info "LV vg029/lv on $dev: 4 MiB written, read back after a remount, $writes writes through bstack"

must "lvremove" lvm lvremove -y vg029/lv
must "vgremove" lvm vgremove -y vg029
must "pvremove" lvm pvremove -y "$dev"
exit 0
