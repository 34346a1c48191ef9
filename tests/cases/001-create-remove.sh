#!/bin/sh
# Create a linear device over null_blk and check its node, size, sysfs name
# and what bstackctl ls/table/status say; remove it and check it is gone;
# bad tables (duplicate name, unknown target, gap, missing device, empty)
# fail with one line on stderr and leave no device behind.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

name=t001
len=100000
lower=$(nullb_create nullb0 64) || exit 1
lower_mm=$(dev_majmin "$lower")
before=$(bstack_count)

# ---- create
must "create" bstackctl create "$name" --table "0 $len linear $lower 0"
cleanup_push "bstack_remove $name"
dev=$(bstack_dev "$name") || fail "after create, no /sys/block/bstack*/bstack/name reads $name"
disk=${dev#/dev/}
info "$name is $dev ($(dev_majmin "$dev"))"
[ -b "$dev" ] || fail "$dev is not a block device node"
expect_eq "$(bstack_count)" $((before + 1)) "number of bstack disks after create"
expect_eq "$(blockdev --getsz "$dev")" "$len" "blockdev --getsz $dev"
expect_eq "$(cat "/sys/block/$disk/size")" "$len" "/sys/block/$disk/size"
expect_eq "$(cat "/sys/block/$disk/bstack/name")" "$name" "/sys/block/$disk/bstack/name"
# As dm's: the lower device names its holder, and the holder its slave.
lower_sys=/sys/block/${lower#/dev/}
[ -e "$lower_sys/holders/$disk" ] || fail "$lower_sys/holders has no $disk"
[ -e "/sys/block/$disk/slaves/${lower#/dev/}" ] || fail "/sys/block/$disk/slaves has no ${lower#/dev/}"

# ---- ls, table, status
out=$(bstackctl ls) || fail "bstackctl ls failed"
info "ls: $out"
echo "$out" | grep -q "^$name[[:space:]]" || fail "bstackctl ls does not list $name: $out"

out=$(bstackctl table "$name") || fail "bstackctl table $name failed"
info "table: $out"
# Like dmsetup, the lower device is shown as MAJ:MIN.
expect_eq "$(echo $out)" "0 $len linear $lower_mm 0" "bstackctl table $name"

out=$(bstackctl status "$name") || fail "bstackctl status $name failed"
info "status: $out"
expect_eq "$(echo $out | cut -d' ' -f1-3)" "0 $len linear" "bstackctl status $name (first fields)"

# ---- remove
must "remove" bstackctl remove "$name"
[ ! -e "/sys/block/$disk" ] || fail "/sys/block/$disk still exists after remove"
[ ! -e "$dev" ] || fail "$dev still exists after remove"
! bstack_dev "$name" > /dev/null 2>&1 || fail "a disk still says it is $name after remove"
bstackctl ls | grep -q "^$name[[:space:]]" && fail "bstackctl ls still lists $name after remove"
expect_eq "$(bstack_count)" "$before" "number of bstack disks after remove"
[ ! -e "$lower_sys/holders/$disk" ] || fail "$lower_sys/holders/$disk is left after remove"
# A suspended device's table is drained already: its removal takes the
# links down too, and the next device gets the same minor and links anew.
must "create again" bstackctl create "$name" --table "0 $len linear $lower 0"
dev=$(bstack_dev "$name") || fail "after the second create, no device $name"
disk=${dev#/dev/}
must "suspend" bstackctl suspend "$name"
must "remove suspended" bstackctl remove "$name"
[ -z "$(ls "$lower_sys/holders")" ] || fail "$lower_sys/holders keeps $(ls "$lower_sys/holders") after removing a suspended device"

# ---- bad input: each fails with one line and creates nothing
# expect_refused WHAT NAME KEYWORD CMD...: CMD fails with one line that
# mentions KEYWORD (case-insensitive), and leaves no device called NAME.
expect_refused() {
	_w=$1 _n=$2 _k=$3
	shift 3
	_c=$(bstack_count)
	must_fail_1line "$_w" "$@"
	[ -z "$_k" ] || echo "$BSTACK_ERR" | grep -qiF -- "$_k" ||
		fail "$_w: the message does not mention '$_k': $BSTACK_ERR"
	! bstack_dev "$_n" > /dev/null 2>&1 || fail "$_w: a device called $_n exists"
	expect_eq "$(bstack_count)" "$_c" "$_w: number of bstack disks"
}

must "create dup" bstackctl create dup --table "0 1000 linear $lower 0"
cleanup_push "bstack_remove dup"
expect_refused "duplicate name" dup-none dup \
	bstackctl create dup --table "0 1000 linear $lower 2000"
expect_eq "$(echo $(bstackctl table dup))" "0 1000 linear $lower_mm 0" \
	"the first dup's table after the refused duplicate"
must "remove dup" bstackctl remove dup

expect_refused "unknown target" badtarget no_such_target \
	bstackctl create badtarget --table "0 1000 no_such_target $lower 0"

printf '0 1000 linear %s 0\n2000 1000 linear %s 1000\n' "$lower" "$lower" \
	> "$BSTACK_TMP/gap.table"
expect_refused "gap" gap gap bstackctl create gap < "$BSTACK_TMP/gap.table"

expect_refused "missing device" nodev /dev/nonexistent \
	bstackctl create nodev --table "0 1000 linear /dev/nonexistent 0"

expect_refused "empty table" empty "" bstackctl create empty < /dev/null

expect_eq "$(bstack_count)" "$before" "number of bstack disks at the end"
