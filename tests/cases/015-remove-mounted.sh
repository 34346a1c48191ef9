#!/bin/sh
# A mounted bstack device cannot be removed, and the refusal says that a
# filesystem is mounted on it. A suspend freezes that filesystem (a write
# waits until resume) unless --nolockfs.
. "$BSTACK_LIB"
requires bstack bstackctl nullb
grep -qw ext4 /proc/filesystems ||
	skip "the kernel has no ext4"

nb=$(nullb_create nullb0 32) || exit 1
dev=$(printf '0 65536 linear %s 0\n' "$nb" | bstack_create t015) || exit 1
must "mke2fs" busybox mke2fs -q "$dev"
mnt=$BSTACK_TMP/mnt
mkdir -p "$mnt"
must "mount" mount -t ext4 "$dev" "$mnt"
cleanup_push "umount $mnt 2>/dev/null; true"

must_fail_1line "remove while mounted" bstackctl remove t015
case $BSTACK_ERR in
*"is open by 1 user: a filesystem is mounted on it") ;;
*) fail "remove while mounted says: $BSTACK_ERR" ;;
esac

# suspend freezes the filesystem: a write and sync wait for the resume.
must "suspend" bstackctl suspend t015
(echo data > "$mnt/f" && sync) &
wpid=$!
sleep 1
kill -0 "$wpid" 2>/dev/null || fail "a write to a frozen filesystem completed"
must "resume" bstackctl resume t015
wait "$wpid" || fail "the write failed after resume"
expect_eq "$(cat "$mnt/f")" data "the file written across the freeze"
info "suspend froze the filesystem, resume thawed it"

umount "$mnt" || fail "umount failed"
must "remove after umount" bstackctl remove t015
