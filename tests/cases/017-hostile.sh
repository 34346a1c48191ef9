#!/bin/sh
# Bad input is normal input. More than 40 malformed tables and commands
# each fail with a non-zero exit and exactly one line that says what is
# wrong; afterwards no device is left behind. Then an ioctl fuzzer sends
# thousands of mutated requests straight to /dev/bstack-control, and an
# unprivileged caller gets EPERM from every command that changes state.
# The kernel log must stay clean (KASAN and kmemleak on the debug kernel).
. "$BSTACK_LIB"
requires bstack bstackctl nullb bstack-ioctl

nb=$(nullb_create nullb0 16) || exit 1

# bad WHAT EXPECT [TABLE-TEXT]: create t017x with that table (stdin) must
# fail with one line containing EXPECT.
bad() {
	_what=$1 _expect=$2
	shift 2
	printf '%b' "$1" > "$BSTACK_TMP/bad.table"
	must_fail_1line "$_what" sh -c 'bstackctl create t017x < "$0"' "$BSTACK_TMP/bad.table"
	case $BSTACK_ERR in
	*"$_expect"*) ;;
	*) fail "$_what: the message does not say '$_expect': $BSTACK_ERR" ;;
	esac
	n=$((n + 1))
}
# badcmd WHAT EXPECT CMD...: CMD must fail with one line containing EXPECT.
badcmd() {
	_what=$1 _expect=$2
	shift 2
	must_fail_1line "$_what" "$@"
	case $BSTACK_ERR in
	*"$_expect"*) ;;
	*) fail "$_what: the message does not say '$_expect': $BSTACK_ERR" ;;
	esac
	n=$((n + 1))
}
n=0

long=$(awk 'BEGIN { while (length(s) < 5000) s = s "a"; print s }')
args70=$(awk 'BEGIN { for (i = 0; i < 70; i++) printf " x"; }')

bad "gap" "gap" "0 100 zero\n200 100 zero\n"
bad "overlap" "overlap" "0 100 zero\n50 100 zero\n"
bad "not from sector 0" "sector 0" "10 100 zero\n"
bad "zero length" "length" "0 0 zero\n"
bad "start + length overflows" "overflow" "0 100 zero\n100 18446744073709551615 zero\n"
bad "length past the largest device" "largest" "0 18446744073709551615 zero\n"
bad "negative start" "start" "-1 100 zero\n"
bad "length not a number" "length" "0 abc zero\n"
bad "missing target" "expected" "0 100\n"
bad "unknown target" "unknown target type 'nosuch'" "0 100 nosuch\n"
bad "target name too long" "target" "0 100 averyveryverylongtargetname\n"
bad "missing device" "/dev/nosuch" "0 100 linear /dev/nosuch 0\n"
bad "a regular file" "not a block device" "0 100 linear /tests/lib.sh 0\n"
bad "a character device" "not a block device" "0 100 linear /dev/null 0\n"
bad "a device number that is not there" "4095:1048575" "0 100 linear 4095:1048575 0\n"
bad "linear: one argument" "linear" "0 100 linear $nb\n"
bad "linear: three arguments" "linear" "0 100 linear $nb 0 1\n"
bad "linear: offset not a number" "offset" "0 100 linear $nb x\n"
bad "linear: past the end of the device" "sectors" "0 100 linear $nb 99999999\n"
bad "linear: offset overflows" "overflow" "0 100 linear $nb 18446744073709551615\n"
bad "striped: no stripes" "stripe count" "0 16 striped 0 8\n"
bad "striped: chunk 0" "chunk size" "0 16 striped 2 0 $nb 0 $nb 100\n"
bad "striped: length not divisible" "not divisible" "0 1000 striped 2 8 $nb 0 $nb 2048\n"
bad "striped: too few devices" "devices and offsets" "0 16 striped 2 8 $nb 0\n"
bad "striped: stripe count not a number" "stripe count" "0 16 striped two 8 $nb 0 $nb 8\n"
bad "striped: past the end of a device" "sectors" "0 65536 striped 2 8 $nb 0 $nb 2048\n"
bad "error: an argument" "argument" "0 100 error x\n"
bad "zero: arguments" "argument" "0 100 zero 1 2\n"
bad "more than 64 arguments" "arguments" "0 100 zero$args70\n"
bad "binary junk" "line 1" "\001\002\377\376\n"
bad "a NUL byte" "NUL" "0 100 zero\000\n"
bad "a 5000-byte line" "line 1" "0 100 linear $long 0\n"
bad "an empty table" "empty" ""
bad "only comments" "empty" "# nothing here\n\n"
bad "a second line of junk" "line 2" "0 100 zero\n}{ junk\n"

badcmd "a 5000-byte name" "name" bstackctl create "$long" --table "0 8 zero"
badcmd "a name with '/'" "name" bstackctl create a/b --table "0 8 zero"
badcmd "the name '..'" "name" bstackctl create .. --table "0 8 zero"
badcmd "a 200-byte uuid" "uuid" bstackctl create t017u --uuid "$(echo "$long" | cut -c1-200)" --table "0 8 zero"
must "create t017" bstackctl create t017 --table "0 8 zero"
badcmd "a duplicate name" "name 't017' already exists" bstackctl create t017 --table "0 8 zero"
badcmd "remove a device that is not there" "no device named 'nosuch'" bstackctl remove nosuch
badcmd "load a device that is not there" "no device named 'nosuch'" bstackctl load nosuch --table "0 8 zero"
badcmd "load a bad table" "gap" bstackctl load t017 --table "0 8 zero
16 8 zero"
# Cycles: I/O would go round them for ever.
self=$(bstack_dev t017)
badcmd "a table that maps the device itself" "is this device itself" \
	bstackctl load t017 --table "0 8 linear $self 0"
up=$(echo "0 8 linear $self 0" | bstack_create t017u) || exit 1
up2=$(echo "0 8 linear $up 0" | bstack_create t017v) || exit 1
badcmd "a cycle of two" "t017u ($(dev_majmin "$up")) maps t017 already: this table would make a cycle" \
	bstackctl load t017 --table "0 8 linear $up 0"
badcmd "a cycle of three" "maps t017 already: this table would make a cycle" \
	bstackctl load t017 --table "0 8 linear $up2 0"
bstack_remove t017v
bstack_remove t017u
badcmd "rename to a bad name" "a space at byte 1" bstackctl rename t017 "a b"
# Names and uuids become udev links: dm's characters only, and the message
# names the one that is wrong. bstackctl checks first; the kernel too.
badcmd "a name with '*'" "'*' at byte 1; a name may use 0-9 A-Z a-z" \
	bstackctl create 'a*b' --table "0 8 zero"
badcmd "a uuid with a space" "a space at byte 3" \
	bstackctl create t017u --uuid "abc def" --table "0 8 zero"
badcmd "the kernel: a name with '*'" "EINVAL: the name has '*' at byte 1" \
	bstack-ioctl create 'a*b'
badcmd "the kernel: a name with a quote" "the name has '\"' at byte 0" \
	bstack-ioctl create '"x'
badcmd "the kernel: a uuid with '\$'" "the uuid has '\$' at byte 2" \
	bstack-ioctl create t017w 'ab$c'
badcmd "the kernel: rename to a name with '!'" "the name has '!' at byte 1" \
	bstack-ioctl rename t017 'a!'
must "a name of every allowed character" \
	bstackctl create 'Az09#+-.:=@_' --uuid 'U-1:2=3@4_5#6+7.8' --table "0 8 zero"
must "rename it" bstackctl rename 'Az09#+-.:=@_' 'b.c'
bstack_remove 'b.c'
badcmd "suspend --timeout 0" "--timeout" bstackctl suspend --timeout 0 t017
badcmd "suspend --timeout abc" "--timeout" bstackctl suspend --timeout abc t017
badcmd "an unknown verb" "unknown verb" bstackctl frobnicate
badcmd "an unknown option" "unknown" bstackctl ls --frobnicate
badcmd "too many arguments" "unexpected argument" bstackctl clear t017 t018
info "$n malformed tables and commands refused, one line each"
[ "$n" -ge 30 ] || fail "only $n bad inputs were tried"

# Nothing half made: only t017 exists, with its table intact.
expect_eq "$(bstackctl ls | cut -f1 | tr '\n' ' ')" "t017 " "devices after the bad inputs"
expect_eq "$(bstackctl table t017)" "0 8 zero" "t017's table after a refused load"
bstack_remove t017
expect_eq "$(bstackctl ls)" "No devices found" "devices after the cleanup"

# ---- the fuzzer
iters=3000
[ "$(cat /etc/bstack-kernel 2>/dev/null)" = debug ] || iters=20000
bstack-ioctl fuzz "$iters" 17 > "$BSTACK_TMP/fuzz" 2>&1 ||
	fail "the fuzzer failed: $(tail -n 1 "$BSTACK_TMP/fuzz")"
info "fuzzer: $iters mutated ioctls: $(tr '\n' ' ' < "$BSTACK_TMP/fuzz")"
must "remove_all after the fuzzer" bstackctl remove_all --force
expect_eq "$(bstackctl ls)" "No devices found" "devices after the fuzzer"

# ---- an unprivileged caller
bstack-ioctl unpriv > "$BSTACK_TMP/unpriv" 2>&1 || {
	cat "$BSTACK_TMP/unpriv" >&2
	fail "an unprivileged caller did not get EPERM (or lost read access)"
}
info "unprivileged: $(tr -s ' ' < "$BSTACK_TMP/unpriv" | tr '\n' ';')"
