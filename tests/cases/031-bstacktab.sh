#!/bin/sh
# /etc/bstacktab and bstackctl apply: devices come up lower ones first;
# a second apply changes nothing and says so; an entry changed while fio
# verifies on every device reloads only that device, with no I/O error;
# --dry-run changes nothing; a broken entry is refused with its line and
# the others come up; deactivate --all takes them all down.
. "$BSTACK_LIB"
requires bstack bstackctl nullb fio

nb0=$(nullb_create b031a 32) || exit 1
nb1=$(nullb_create b031b 32) || exit 1
tab=$BSTACK_TMP/bstacktab
cleanup_push "bstackctl remove_all > /dev/null 2>&1; true"

# The upper device first in the file: apply must bring "low" up first.
cat > "$tab" <<TAB
# bstack devices of case 031
device up031 uuid=UP-031
	0 16384 linear /dev/bstack/low031 0
	16384 16384 linear $nb1 0

device low031 uuid=LOW-031
	0 32768 linear $nb0 0

device z031 table=$BSTACK_TMP/z031.table
TAB
printf '0 8192 zero\n' > "$BSTACK_TMP/z031.table"

must "apply --dry-run" bstackctl apply --dry-run "$tab" > "$BSTACK_TMP/dry.out"
info "apply --dry-run: $(tr '\n' '|' < "$BSTACK_TMP/dry.out")"
expect_eq "$(bstackctl ls)" "No devices found" "devices after --dry-run"
grep -q '^would create low031$' "$BSTACK_TMP/dry.out" || fail "--dry-run does not plan low031"

must "apply" bstackctl apply "$tab" > "$BSTACK_TMP/apply1.out"
info "apply: $(tr '\n' '|' < "$BSTACK_TMP/apply1.out")"
expect_eq "$(head -n 2 "$BSTACK_TMP/apply1.out" | tr '\n' ' ')" "created low031 created up031 " \
	"the order of creation (lower first)"
expect_eq "$(tail -n 1 "$BSTACK_TMP/apply1.out")" "3 created, 0 reloaded, 0 unchanged, 0 failed" "apply's summary"
low=$(bstack_dev low031) && up=$(bstack_dev up031) && z=$(bstack_dev z031) ||
	fail "apply did not make the three devices"
expect_eq "$(bstackctl table up031 | head -n 1)" "0 16384 linear $(dev_majmin "$low") 0" \
	"up031 maps low031 by its number"
expect_eq "$(bstackctl info -c -o uuid --noheadings up031 low031 | tr '\n' ' ')" "UP-031 LOW-031 " "uuids"

# ---- again: nothing to change, nothing touched
ev=$(bstackctl info -c -o name,events --noheadings --separator = | tr '\n' ' ')
must "apply again" bstackctl apply "$tab" > "$BSTACK_TMP/apply2.out"
expect_eq "$(cat "$BSTACK_TMP/apply2.out")" "nothing to change: the 3 devices of $tab are as it says" "the second apply"
expect_eq "$(bstackctl info -c -o name,events --noheadings --separator = | tr '\n' ' ')" "$ev" \
	"event numbers after an apply with nothing to change"

# ---- change one entry while fio verifies on every device
# low031's first 8 MiB are up031's, so fio takes its last 8 MiB only.
fio --name=low --filename="$low" --offset=8m --size=8m --direct=1 --rw=randwrite \
	--bs=4k --verify=crc32c --verify_fatal=1 --time_based --runtime=6 \
	--ioengine=psync --output="$BSTACK_TMP/low.fio" > /dev/null 2>&1 &
f_low=$!
fio --name=up --filename="$up" --size=16m --direct=1 --rw=randwrite \
	--bs=4k --verify=crc32c --verify_fatal=1 --time_based --runtime=6 \
	--ioengine=psync --output="$BSTACK_TMP/up.fio" > /dev/null 2>&1 &
f_up=$!
fio --name=z --filename="$z" --size=4m --direct=1 --rw=randread \
	--bs=4k --time_based --runtime=6 --ioengine=psync \
	--output="$BSTACK_TMP/z.fio" > /dev/null 2>&1 &
f_z=$!
sleep 2
# The same mapping in two lines: a new table, the same data under it.
sed -i "s|^	16384 16384 linear $nb1 0\$|	16384 8192 linear $nb1 0\\
	24576 8192 linear $nb1 8192|" "$tab"
ev_low=$(bstackctl info -c -o events --noheadings low031 | tr -d ' ')
ev_z=$(bstackctl info -c -o events --noheadings z031 | tr -d ' ')
must "apply the change" bstackctl apply "$tab" > "$BSTACK_TMP/apply3.out"
info "apply under fio: $(tr '\n' '|' < "$BSTACK_TMP/apply3.out")"
expect_eq "$(cat "$BSTACK_TMP/apply3.out")" "$(printf 'reloaded up031\n0 created, 1 reloaded, 2 unchanged, 0 failed')" \
	"apply of one changed entry"
expect_eq "$(bstackctl table up031 | wc -l | tr -d ' ')" 3 "up031's lines after the reload"
expect_eq "$(bstackctl info -c -o events --noheadings low031 | tr -d ' ')" "$ev_low" "low031's events (not reloaded)"
expect_eq "$(bstackctl info -c -o events --noheadings z031 | tr -d ' ')" "$ev_z" "z031's events (not reloaded)"
for j in low up z; do
	eval "pid=\$f_$j"
	wait "$pid" || fail "fio on $j031 failed across the reload: $(grep -i 'err' "$BSTACK_TMP/$j.fio" | head -n 3)"
done
info "fio verified on all three devices across up031's reload"

# ---- a broken entry: refused with its line; the others still come up
bstackctl remove_all || fail "remove_all failed"
cat > "$tab" <<TAB
device ok031
	0 8192 zero
device bad031
	0 8192 zero
	8192 100 linear $nb1
device above031
	0 8192 linear /dev/bstack/bad031 0
device ok2031 frobnicate
	0 8 zero
TAB
if bstackctl apply "$tab" > "$BSTACK_TMP/apply4.out" 2> "$BSTACK_TMP/apply4.err"; then
	fail "apply of a file with a broken entry succeeded"
fi
info "broken entries: $(tr '\n' '|' < "$BSTACK_TMP/apply4.err")"
grep -q "apply bad031: $tab: line 5: linear" "$BSTACK_TMP/apply4.err" ||
	fail "the broken table line is not named by its line (5): $(cat "$BSTACK_TMP/apply4.err")"
grep -q "line 6: above031 is not brought up: it maps bad031" "$BSTACK_TMP/apply4.err" ||
	fail "above031 is not refused for mapping bad031"
grep -q "line 8: unknown option 'frobnicate'" "$BSTACK_TMP/apply4.err" ||
	fail "the unknown option is not refused with its line"
expect_eq "$(bstackctl ls | cut -f1)" ok031 "the devices that came up beside the broken ones"
expect_eq "$(tail -n 1 "$BSTACK_TMP/apply4.out")" "1 created, 0 reloaded, 0 unchanged, 3 failed" "the summary"

# ---- deactivate --all: top of the stack first
printf 'device l2\n\t0 8192 linear %s 0\ndevice l1\n\t0 8192 linear /dev/bstack/l2 0\n' "$nb0" > "$tab"
must "apply a stack" bstackctl apply "$tab"
must "deactivate --all" bstackctl deactivate --all
expect_eq "$(bstackctl ls)" "No devices found" "after deactivate --all"
exit 0
