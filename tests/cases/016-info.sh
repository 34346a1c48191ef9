#!/bin/sh
# info, deps, targets, rename and --json, as dmsetup users expect them:
# info shows state, tables, open count, events, major:minor, targets and
# uuid; deps names the lower devices; targets lists the target types;
# rename changes the name everywhere (ls, sysfs) and --setuuid sets a
# missing uuid once; --json gives the same facts to scripts.
. "$BSTACK_LIB"
requires bstack bstackctl nullb

nb0=$(nullb_create nullb0 16) || exit 1
nb1=$(nullb_create nullb1 16) || exit 1
dev=$(bstack_create t016 <<TABLE
0 4096 linear $nb0 0
4096 8192 striped 2 8 $nb0 8192 $nb1 0
TABLE
) || exit 1
sys=/sys/block/${dev#/dev/}
majmin=$(cat "$sys/dev")
maj=${majmin%:*} min=${majmin#*:}

# ---- info
bstackctl info t016 > "$BSTACK_TMP/info" || fail "bstackctl info failed"
sed 's/^/    /' "$BSTACK_TMP/info" >&2
field() { sed -n "s/^$1: *//p" "$BSTACK_TMP/info"; }
expect_eq "$(field Name)" t016 "info: Name"
expect_eq "$(field State)" ACTIVE "info: State"
expect_eq "$(field 'Tables present')" LIVE "info: Tables present"
expect_eq "$(field 'Open count')" 0 "info: Open count"
expect_eq "$(field 'Major, minor')" "$maj, $min" "info: Major, minor"
expect_eq "$(field 'Number of targets')" 2 "info: Number of targets"
expect_eq "$(field 'Read Ahead')" $(($(cat "$sys/queue/read_ahead_kb") * 2)) "info: Read Ahead"
ev=$(field 'Event number')

must "load" bstackctl load t016 --table "0 4096 linear $nb1 0"
must "suspend" bstackctl suspend t016
exec 3< "$dev"
bstackctl info t016 > "$BSTACK_TMP/info" || fail "bstackctl info failed"
expect_eq "$(field State)" SUSPENDED "info: State when suspended"
expect_eq "$(field 'Tables present')" "LIVE & INACTIVE" "info: Tables present after load"
expect_eq "$(field 'Open count')" 1 "info: Open count while open"
[ "$(field 'Event number')" -gt "$ev" ] || fail "info: the event number did not move on suspend"
exec 3<&-
must "clear" bstackctl clear t016
must "resume" bstackctl resume t016
info "info follows the state, tables, openers and events"

# ---- deps: both lower devices, each once, with its name
nb0mm=$(cat "/sys/block/${nb0#/dev/}/dev") nb1mm=$(cat "/sys/block/${nb1#/dev/}/dev")
deps=$(bstackctl deps t016) || fail "bstackctl deps failed"
info "deps: $deps"
case $deps in
"2 dependencies	:"*) ;;
*) fail "deps: expected '2 dependencies<tab>:', got: $deps" ;;
esac
for d in "${nb0mm%:*}, ${nb0mm#*:} ${nb0#/dev/}" "${nb1mm%:*}, ${nb1mm#*:} ${nb1#/dev/}"; do
	case $deps in
	*"($d)"*) ;;
	*) fail "deps does not list ($d): $deps" ;;
	esac
done

# ---- targets
bstackctl targets > "$BSTACK_TMP/targets" || fail "bstackctl targets failed"
for t in linear striped error zero; do
	grep -Eq "^$t +v[0-9]+\.[0-9]+\.[0-9]+\$" "$BSTACK_TMP/targets" ||
		fail "targets does not list $t: $(tr '\n' '|' < "$BSTACK_TMP/targets")"
done
info "targets: $(tr '\n' ' ' < "$BSTACK_TMP/targets")"

# ---- rename, and a uuid set once
must "rename" bstackctl rename t016 t016b
expect_eq "$(cat "$sys/bstack/name")" t016b "sysfs name after rename"
bstackctl ls | grep -q "^t016b	" || fail "ls does not show t016b"
bstackctl ls | grep -q "^t016	" && fail "ls still shows t016"
printf '0 8 zero\n' | bstack_create t016c > /dev/null || exit 1
must_fail_1line "rename onto a taken name" bstackctl rename t016b t016c
case $BSTACK_ERR in
*"name 't016c' already exists") ;;
*) fail "rename onto a taken name says: $BSTACK_ERR" ;;
esac
must "rename --setuuid" bstackctl rename t016b --setuuid U-016
expect_eq "$(cat "$sys/bstack/uuid")" U-016 "sysfs uuid after --setuuid"
must_fail_1line "a second --setuuid" bstackctl rename t016b --setuuid U-other
case $BSTACK_ERR in
*"uuid 'U-016' already"*) ;;
*) fail "a second --setuuid says: $BSTACK_ERR" ;;
esac
must "rename back" bstackctl rename t016b t016
info "rename and --setuuid work, and refuse what they should"

# ---- --json: the same facts
j=$(bstackctl ls --json) || fail "ls --json failed"
info "ls --json: $j"
case $j in
'{"schema": 1, "devices": ['*'{"name": "t016", "uuid": "U-016", "major": '"$maj"', "minor": '"$min"', "open_count": 0, "suspended": false, "read_only": false, "live_table": true, "inactive_table": false, "deferred_remove": false}'*']}') ;;
*) fail "ls --json does not describe t016 as expected: $j" ;;
esac
j=$(bstackctl table --json t016) || fail "table --json failed"
info "table --json: $j"
case $j in
'{"schema": 1, "devices": [{"name": "t016", "targets": [{"start": 0, "length": 4096, "type": "linear", "args": "'"$nb0mm"' 0"}, {"start": 4096, "length": 8192, "type": "striped", "args": "2 8 '"$nb0mm"' 8192 '"$nb1mm"' 0"}]}]}') ;;
*) fail "table --json is not as expected: $j" ;;
esac
j=$(bstackctl info --json t016) || fail "info --json failed"
case $j in
*'"event_nr": '[0-9]*', "targets": 2, "features": {"poll": {"on": '*'}, "passthrough": {"on": false, "why": "the table has 2 lines; only a one-line table has one device to pass them to"}}}]}') ;;
*) fail "info --json is not as expected: $j" ;;
esac
bstackctl status --json > /dev/null || fail "status --json failed"
info "--json output matches what the other verbs say"
