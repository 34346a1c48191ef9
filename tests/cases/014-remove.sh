#!/bin/sh
# Removal as dmsetup does it, and better said: removing an open device
# fails with one line that says who holds it (openers, or the bstack
# device that maps it); --deferred removes it at its last close; --force
# makes the I/O of its users fail so that they give up, and with
# --deferred the device then goes by itself; remove_all removes stacked
# devices top first, and names the ones still open.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio sysvipc

nb=$(nullb_create nullb0 16) || exit 1
exists() { bstackctl ls | grep -q "^$1	"; }

# ---- open by a process
dev=$(printf '0 8192 linear %s 0\n' "$nb" | bstack_create t014) || exit 1
exec 3< "$dev"
must_fail_1line "remove while open" bstackctl remove t014
case $BSTACK_ERR in
*"t014 (${dev#/dev/}) is open by 1 user") ;;
*) fail "remove while open says: $BSTACK_ERR" ;;
esac
exists t014 || fail "a refused remove removed t014"

# ---- --deferred: goes at the last close
must "remove --deferred" bstackctl remove --deferred t014
exists t014 || fail "remove --deferred removed an open device at once"
exec 3<&-
wait_gone t014
[ -e "$dev" ] && fail "$dev is still there after the deferred removal"
info "remove --deferred: t014 went at its last close"

# ---- mapped by another bstack device
dev=$(printf '0 8192 linear %s 0\n' "$nb" | bstack_create t014low) || exit 1
top=$(printf '0 8192 linear %s 0\n' "$dev" | bstack_create t014top) || exit 1
must_fail_1line "remove a lower device" bstackctl remove t014low
case $BSTACK_ERR in
*"is open by 1 user: bstack device 't014top' (${top#/dev/}) maps it") ;;
*) fail "remove of a mapped device says: $BSTACK_ERR" ;;
esac

# ---- remove_all: top first, then the one it held
must "remove_all" bstackctl remove_all
exists t014top && fail "remove_all left t014top"
exists t014low && fail "remove_all left t014low"
info "remove_all removed a stack of two, top first"

# ---- --force under I/O: the reader's I/O fails, then it can go
dev=$(printf '0 8192 linear %s 0\n' "$nb" | bstack_create t014f) || exit 1
fio --name=t014 --filename="$dev" --direct=1 --rw=randread --bs=4k \
	--time_based --runtime=60 > "$BSTACK_TMP/fio.out" 2>&1 &
fpid=$!
wait_open t014f
kill -0 "$fpid" 2>/dev/null || fail "fio stopped early: $(tail -n 3 "$BSTACK_TMP/fio.out")"
must_fail_1line "remove --force while fio reads" bstackctl remove --force t014f
case $BSTACK_ERR in
*"open by 1 user"*"all its I/O fails now") ;;
*) fail "remove --force says: $BSTACK_ERR" ;;
esac
expect_eq "$(bstackctl table t014f | awk '{ print $3 }')" error "the table after --force"
if wait "$fpid"; then
	fail "fio succeeded on a device whose table fails all I/O"
fi
info "fio gave up: $(grep -m1 -i 'error' "$BSTACK_TMP/fio.out")"
must "remove once closed" bstackctl remove t014f

# ---- --force --deferred: the device goes by itself once its user gives up
dev=$(printf '0 8192 linear %s 0\n' "$nb" | bstack_create t014fd) || exit 1
fio --name=t014 --filename="$dev" --direct=1 --rw=randread --bs=4k \
	--time_based --runtime=60 > "$BSTACK_TMP/fio.out" 2>&1 &
fpid=$!
wait_open t014fd
must "remove --force --deferred" bstackctl remove --force --deferred t014fd
wait "$fpid" && fail "fio succeeded on a device whose table fails all I/O"
wait_gone t014fd
info "remove --force --deferred: fio failed, and the device went"

# ---- remove_all with one device open: it is named, the rest go
printf '0 8192 linear %s 0\n' "$nb" | bstack_create t014a > /dev/null || exit 1
dev=$(printf '0 8192 linear %s 0\n' "$nb" | bstack_create t014b) || exit 1
exec 3< "$dev"
must_fail_1line "remove_all with t014b open" bstackctl remove_all
case $BSTACK_ERR in
*"1 device is still open: t014b") ;;
*) fail "remove_all says: $BSTACK_ERR" ;;
esac
exists t014a && fail "remove_all left t014a"
exec 3<&-
must "remove_all" bstackctl remove_all
exists t014b && fail "remove_all left t014b"
info "remove_all names what it cannot remove"
