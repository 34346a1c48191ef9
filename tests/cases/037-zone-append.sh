#!/bin/sh
# Zone append through bstack, as a zoned filesystem sends it: btrfs in
# zoned mode writes its data with REQ_OP_ZONE_APPEND and records where
# each write landed from the sector its completion reports. Over a table
# that maps the device's zones out of order (bstack's zone 0 is the
# device's zone 12), a completion left in the device's address space
# would point btrfs at other data, and the files would read back wrong
# (btrfs checks each block's checksum on reading it). So: mkfs, mount,
# write, unmount, mount again with a cold cache, and every file reads
# back as written. btrfs refuses to mount a zoned device that offers no
# zone append, so the mount itself shows bstack offers it.
. "$BSTACK_LIB"
requires bstack bstackctl nullb mkfs.btrfs md5sum

# 24 zones of 16 MiB (32768 sectors), none conventional.
nb=$(nullb_create zb1 384 4096 zoned=1 zone_size=16 zone_nr_conv=0) || exit 1
zs=32768
table="0 $((12 * zs)) linear $nb $((12 * zs))
$((12 * zs)) $((12 * zs)) linear $nb 0"
dev=$(bstack_create t037 --table "$table") || exit 1
append=$(cat "$(dev_sysfs "$dev")/queue/zone_append_max_bytes")
[ "$append" -gt 0 ] || fail "bstack offers no zone append (zone_append_max_bytes $append)"
info "zone_append_max_bytes $append (the device's: $(cat "$(dev_sysfs "$nb")/queue/zone_append_max_bytes"))"

load_module btrfs
must "mkfs.btrfs -O zoned" mkfs.btrfs -q -f -O zoned -d single -m single "$dev" \
	> "$BSTACK_TMP/mkfs.out"
mnt=$BSTACK_TMP/mnt
mkdir -p "$mnt"
must "mount the zoned btrfs" mount -t btrfs "$dev" "$mnt"
cleanup_push "umount $mnt"

# Three files of 6 MiB, 1 MiB and 64 KiB, written buffered and one of
# them direct, each from its own random data.
for f in a:6144 b:1024 c:64; do
	must "make ${f%%:*}" dd if=/dev/urandom of="$BSTACK_TMP/${f%%:*}" bs=1k \
		count="${f#*:}" 2>/dev/null
done
must "copy a" cp "$BSTACK_TMP/a" "$mnt/a"
must "copy b" cp "$BSTACK_TMP/b" "$mnt/b"
must "write c direct" dd if="$BSTACK_TMP/c" of="$mnt/c" bs=64k oflag=direct 2>/dev/null
sync
must "unmount" umount "$mnt"
echo 3 > /proc/sys/vm/drop_caches
must "mount again" mount -t btrfs "$dev" "$mnt"
for f in a b c; do
	expect_eq "$(md5sum < "$mnt/$f")" "$(md5sum < "$BSTACK_TMP/$f")" \
		"file $f read back through a remounted zoned btrfs"
done

# Where the data went on the device: zones that btrfs wrote through
# bstack's remapped lines.
written=$(blkzone report "$nb" | awk '!/\(em\)/ { n++ } END { print n + 0 }')
[ "$written" -ge 3 ] || fail "only $written of the device's zones were written"
info "btrfs wrote $written of the device's 24 zones through bstack"
