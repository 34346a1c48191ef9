#!/bin/bash
# Host test: dist/bstackctl.bash completes every verb of bstackctl, and
# for each verb exactly the options bstackctl accepts for it (asked of
# bstackctl itself: an option a verb does not take "does not apply").
#   tests/host/completion.sh PATH-TO-BSTACKCTL
# Prints "ok - ..." or "not ok - ..." lines, as test_table does.
set -u
ctl=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
export BSTACK_CONTROL=/nonexistent
bad=0

bstackctl() { "$ctl" "$@"; }
# shellcheck source=../../dist/bstackctl.bash
. "$top/dist/bstackctl.bash"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
	COMP_WORDS=(bstackctl "$@")
	COMP_CWORD=$(($# ))
	COMPREPLY=()
	_bstackctl
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

verbs=$("$ctl" --help | sed -n 's/^  \([a-z_][a-z_]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
options=$("$ctl" --help | grep -o -- '--[a-z][a-z-]*[a-z]' | sort -u | grep -vx -- '--help')
offered=$(complete_words "")
for v in $verbs; do
	grep -qx -- "$v" <<<"$offered" || { echo "not ok - completion: verb $v is not offered"; bad=1; }
done

for v in $verbs; do
	want=
	for o in $options; do
		case $o in
		--uuid|--table|--timeout|--udevtimeout|--target|--separator|--options) arg=(1) ;;
		*) arg=() ;;
		esac
		err=$("$ctl" "$v" x "$o" "${arg[@]}" 2>&1 >/dev/null)
		case $err in
		*"option $o does not apply"*) ;;
		*) want="$want $o" ;;
		esac
	done
	got=$(complete_words "$v" -- | grep -vx -- --help | tr '\n' ' ')
	# shellcheck disable=SC2086 # one option per word
	[ -z "$want" ] || want=$(printf '%s\n' $want | sort | tr '\n' ' ')
	[ "$got" = "$want" ] ||
		{ echo "not ok - completion: $v offers '$got', bstackctl takes '$want'"; bad=1; }
done
[ $bad = 0 ] && echo "ok - completion: every verb, and each verb's options"
exit $bad
