# bash completion for bstackctl(8)
#
# Verbs, their options (those each verb takes, as bstackctl --help says),
# device names from "bstackctl ls", and files for tables.

_bstackctl_devices()
{
	bstackctl ls 2>/dev/null | awk -F'\t' 'NF > 1 { print $1 }'
}

_bstackctl()
{
	local cur prev verb= i opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	local verbs="create remove remove_all load reload suspend resume clear
		ls info table status deps wait message targets rename mknodes
		apply deactivate version help"

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) verb=${COMP_WORDS[i]}; break ;;
		esac
	done

	case $prev in
	--table|--timeout|--udevtimeout|-u|--uuid|--separator)
		return 0 ;;
	--target)
		COMPREPLY=($(compgen -W "$(bstackctl targets 2>/dev/null | awk '{ print $1 }')" -- "$cur"))
		return 0 ;;
	-o|--options)
		COMPREPLY=($(compgen -W "$(bstackctl info -c -o help 2>/dev/null | awk '{ print $1 }')" -- "$cur"))
		return 0 ;;
	esac

	if [ -z "$verb" ]; then
		COMPREPLY=($(compgen -W "$verbs --help" -- "$cur"))
		return 0
	fi

	case $verb in
	create)		opts="--uuid --readonly --notable --table --noudevsync --udevtimeout" ;;
	remove)		opts="--uuid --force --deferred --retry --noudevsync --udevtimeout" ;;
	remove_all)	opts="--force --deferred --retry --noudevsync --udevtimeout" ;;
	load|reload)	opts="--uuid --table" ;;
	suspend)	opts="--uuid --noflush --nolockfs --timeout" ;;
	resume)		opts="--uuid --nolockfs --noudevsync --udevtimeout" ;;
	clear|wait|message|mknodes) opts="--uuid" ;;
	ls)		opts="--json --target --tree" ;;
	info)		opts="--uuid --json --columns --options --noheadings --separator --nameprefixes" ;;
	status)		opts="--uuid --json --target" ;;
	table)		opts="--uuid --inactive --json --target" ;;
	deps)		opts="--uuid --inactive --json" ;;
	rename)		opts="--uuid --setuuid --noudevsync --udevtimeout" ;;
	targets|version) opts="--json" ;;
	apply)		opts="--dry-run --noudevsync --udevtimeout" ;;
	deactivate)	opts="--all --retry --noudevsync --udevtimeout" ;;
	*)		opts="" ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
		return 0
	fi

	case $verb in
	apply)
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	create)
		# The name is new; a table file may follow it.
		[ "$prev" = create ] && return 0
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	load|reload)
		if [ "$prev" = "$verb" ]; then
			COMPREPLY=($(compgen -W "$(_bstackctl_devices)" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	remove|suspend|resume|info|table|status|deps|mknodes)
		# Several devices.
		COMPREPLY=($(compgen -W "$(_bstackctl_devices)" -- "$cur")) ;;
	clear|wait|message|rename)
		[ "$prev" = "$verb" ] &&
			COMPREPLY=($(compgen -W "$(_bstackctl_devices)" -- "$cur")) ;;
	esac
	return 0
}
complete -F _bstackctl bstackctl
