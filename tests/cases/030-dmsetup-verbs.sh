#!/bin/sh
# The dmsetup verbs and options that scripts use: several devices per
# call, -u UUID for a name, info -c with -o, --noheadings, --separator and
# --nameprefixes, ls --tree, --target, mknodes, and --json with its schema
# version on every verb that reports.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb0=$(nullb_create v030a 16) || exit 1
nb1=$(nullb_create v030b 16) || exit 1
a=$(printf '0 8192 linear %s 0\n' "$nb0" | bstack_create a030 --uuid V-A) || exit 1
b=$(printf '0 8192 zero\n' | bstack_create b030 --uuid V-B) || exit 1
top=$(printf '0 8192 linear %s 0\n8192 8192 linear %s 0\n' "$a" "$nb1" |
	bstack_create t030 --uuid V-TOP) || exit 1
amm=$(dev_majmin "$a") bmm=$(dev_majmin "$b") tmm=$(dev_majmin "$top")

# ---- info -c, as dmsetup info -c prints it
out=$(bstackctl info -c | tr -s ' ')
expect_eq "$(echo "$out" | head -n 1)" "Name Maj Min Stat Open Targ Event UUID" "info -c headings"
line=$(echo "$out" | grep '^a030 ')
ev=$(bstackctl info -c -o events --noheadings a030 | tr -d ' ')
expect_eq "$line" "a030 ${amm%:*} ${amm#*:} L--w 1 1 $ev V-A" "info -c of a030 (open once: t030 maps it)"
expect_eq "$(bstackctl info -c -o name,attr,open --noheadings --separator :)" \
	"$(printf 'a030:L--w:1\nb030:L--w:0\nt030:L--w:0')" "info -c -o name,attr,open --separator :"
eval "$(bstackctl info -c -o name,uuid,blkdevname,devno --noheadings --nameprefixes t030)"
expect_eq "$BSTACK_NAME $BSTACK_UUID /dev/$BSTACK_BLKDEVNAME $BSTACK_DEVNO" \
	"t030 V-TOP $top $tmm" "info -c --nameprefixes, through eval"
bstackctl info -c -o help | grep -q '^  attr ' || fail "info -c -o help does not list attr"
must_fail_1line "an unknown field" bstackctl info -c -o name,bogus
case $BSTACK_ERR in *"unknown field 'bogus'"*) ;; *) fail "-o bogus says: $BSTACK_ERR" ;; esac
must_fail_1line "-o without -c" bstackctl info -o name

# ---- several devices per call
must "suspend two" bstackctl suspend a030 b030
expect_eq "$(bstackctl info -c -o name,suspended --noheadings --separator = a030 b030 t030)" \
	"$(printf 'a030=Suspended\nb030=Suspended\nt030=Active')" "after suspend a030 b030"
must "resume two" bstackctl resume a030 b030
expect_eq "$(bstackctl info -c -o attr --noheadings a030 b030 | tr '\n' ' ')" "L--w L--w " "after resume a030 b030"
if bstackctl info -c -o name --noheadings a030 nosuch b030 > "$BSTACK_TMP/some.out" 2> "$BSTACK_TMP/some.err"; then
	fail "info of a device that is not there succeeded"
fi
expect_eq "$(tr '\n' ' ' < "$BSTACK_TMP/some.out")" "a030 b030 " "info of a030 nosuch b030: the others still shown"
expect_eq "$(wc -l < "$BSTACK_TMP/some.err" | tr -d ' ')" 1 "lines on stderr for one missing device"
expect_eq "$(bstackctl table a030 b030)" \
	"$(printf 'a030: 0 8192 linear %s 0\nb030: 0 8192 zero' "$(dev_majmin "$nb0")")" "table of two devices"

# ---- -u UUID names the device
expect_eq "$(bstackctl table -u V-B)" "0 8192 zero" "table -u V-B"
expect_eq "$(bstackctl info -c -o name --noheadings -u V-TOP | tr -d ' ')" t030 "info -u V-TOP"
must_fail_1line "-u of no device" bstackctl table -u NOPE
case $BSTACK_ERR in *"no device has uuid 'NOPE'"*) ;; *) fail "-u NOPE says: $BSTACK_ERR" ;; esac

# ---- --target
expect_eq "$(bstackctl ls --target zero | cut -f1)" b030 "ls --target zero"
expect_eq "$(bstackctl ls --target linear | cut -f1 | tr '\n' ' ')" "a030 t030 " "ls --target linear"
expect_eq "$(bstackctl table --target linear t030 | wc -l | tr -d ' ')" 2 "table --target linear t030: lines"
expect_eq "$(bstackctl table --target zero t030)" "" "table --target zero t030"
bstackctl status --target zero | grep -q '^b030: 0 8192 zero' ||
	fail "status --target zero does not show b030: $(bstackctl status --target zero)"

# ---- ls --tree
bstackctl ls --tree > "$BSTACK_TMP/tree"
info "ls --tree:"
sed 's/^/    /' "$BSTACK_TMP/tree"
grep -qx "t030 ($tmm)" "$BSTACK_TMP/tree" || fail "ls --tree has no root line for t030"
grep -qx "b030 ($bmm)" "$BSTACK_TMP/tree" || fail "ls --tree has no root line for b030"
grep -q "^a030 " "$BSTACK_TMP/tree" && fail "ls --tree shows a030 as a root, though t030 maps it"
grep -qE "^ (├|└)─a030 \($amm\)$" "$BSTACK_TMP/tree" || fail "ls --tree does not show a030 under t030"
grep -qE "^ (│| ) +└─${nb0#/dev/} \($(dev_majmin "$nb0")\)$" "$BSTACK_TMP/tree" ||
	fail "ls --tree does not show ${nb0#/dev/} under a030"
grep -qE "^ (├|└)─${nb1#/dev/} \($(dev_majmin "$nb1")\)$" "$BSTACK_TMP/tree" ||
	fail "ls --tree does not show ${nb1#/dev/} under t030"

# ---- mknodes: the nodes and /dev/bstack links, stale links gone
mkdir -p /dev/bstack
ln -sf ../bstack999 /dev/bstack/ghost
rm -f "$b" /dev/bstack/a030
must "mknodes" bstackctl mknodes
[ -b "$b" ] && [ "$(stat -c '%t:%T' "$b")" = "$(printf '%x:%x' "${bmm%:*}" "${bmm#*:}")" ] ||
	fail "mknodes did not make $b with $bmm"
for n in a030 b030 t030; do
	link_is "/dev/bstack/$n" "$(bstack_dev "$n")" || fail "mknodes made no /dev/bstack/$n"
done
[ ! -L /dev/bstack/ghost ] || fail "mknodes left the stale /dev/bstack/ghost"
cleanup_push "rm -rf /dev/bstack"

# ---- --json: one object, its schema first, on every verb that reports
for v in ls info table status "deps a030" targets version; do
	# shellcheck disable=SC2086 # the verb and its argument
	j=$(bstackctl $v --json) || fail "$v --json failed"
	case $j in
	'{"schema": 1, '*'}') ;;
	*) fail "$v --json does not open with the schema: $j" ;;
	esac
done
j=$(bstackctl deps --json a030)
nbmm=$(dev_majmin "$nb0")
expect_eq "$j" "{\"schema\": 1, \"devices\": [{\"name\": \"a030\", \"deps\": [{\"major\": ${nbmm%:*}, \"minor\": ${nbmm#*:}, \"name\": \"${nb0#/dev/}\"}]}]}" "deps --json a030"
info "--json: every verb's document opens with \"schema\": 1"

# ---- remove several, top of the stack first
must "remove three" bstackctl remove t030 b030 a030
expect_eq "$(bstackctl ls)" "No devices found" "after remove t030 b030 a030"
exit 0
