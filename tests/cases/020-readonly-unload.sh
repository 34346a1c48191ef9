#!/bin/sh
# A --readonly device refuses writes (EPERM from the block layer) and
# serves reads; info and sysfs say it is read-only. The module cannot be
# unloaded while a device has a table (its targets pin it), and the device
# keeps working after the refusal.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb=$(nullb_create nullb0 16) || exit 1
dd if=/dev/urandom of="$BSTACK_TMP/pat" bs=4096 count=4 2>/dev/null
dd if="$BSTACK_TMP/pat" of="$nb" bs=4096 oflag=direct 2>/dev/null || fail "cannot write $nb"

must "create --readonly" bstackctl create t020 --readonly --table "0 8192 linear $nb 0"
dev=$(bstack_dev t020) || fail "no device for t020"
cleanup_push "bstack_remove t020"
expect_eq "$(blockdev --getro "$dev")" 1 "blockdev --getro"
bstackctl info t020 | grep -q '^State: *ACTIVE (READ-ONLY)$' ||
	fail "info does not say READ-ONLY: $(bstackctl info t020 | grep State)"
if dd if=/dev/zero of="$dev" bs=4096 count=1 oflag=direct 2> "$BSTACK_TMP/w.err"; then
	fail "a write to a read-only device succeeded"
fi
grep -q "Operation not permitted" "$BSTACK_TMP/w.err" ||
	fail "a write to a read-only device failed otherwise: $(cat "$BSTACK_TMP/w.err")"
cmp_range "$dev" 0 "$BSTACK_TMP/pat" 0 32 || fail "reads through the read-only device differ"
info "read-only: writes get EPERM, reads work"

if grep -q '^bstack_test ' /proc/modules; then
	info "bstack_test is loaded, so rmmod would be refused for it: the unload check runs in the guests without KUnit"
else
	if rmmod bstack 2> "$BSTACK_TMP/rmmod.err"; then
		fail "rmmod bstack succeeded with a device that has a table"
	fi
	info "rmmod refused: $(head -n 1 "$BSTACK_TMP/rmmod.err")"
	[ -c /dev/bstack-control ] || fail "/dev/bstack-control is gone after a refused rmmod"
	cmp_range "$dev" 0 "$BSTACK_TMP/pat" 0 32 || fail "the device does not work after a refused rmmod"
fi
