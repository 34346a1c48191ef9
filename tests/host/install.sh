#!/bin/bash
# Host test: make install and make uninstall, into a DESTDIR, for the
# kernel at KDIR (not the running one), from a copy of the tree.
#   tests/host/install.sh KDIR
# Prints "ok - ..." or "not ok - ..." lines, as test_table does.
set -u
kdir=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h")
work=$(mktemp -d "${TMPDIR:-/tmp}/bstack-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
bad=0

ok() { echo "ok - install: $*"; }
notok() { echo "not ok - install: $*"; bad=1; }

# A copy of the sources, as a user unpacks them: no build output.
mkdir -p "$work/src"
(cd "$top" && tar -c --exclude=./build --exclude=./.git --exclude='*.o' \
	--exclude='*.ko' --exclude=./tools/bstackctl . ) | tar -x -C "$work/src"
dest=$work/root
if ! make -s -C "$work/src" install DESTDIR="$dest" PREFIX=/usr KDIR="$kdir" \
	> "$work/install.log" 2>&1; then
	tail -n 20 "$work/install.log" | sed 's/^/    /'
	notok "make install failed for $rel"
	exit 1
fi

want="usr/sbin/bstackctl usr/share/man/man8/bstackctl.8
	usr/lib/udev/rules.d/60-bstack.rules usr/lib/modules-load.d/bstack.conf
	usr/share/bash-completion/completions/bstackctl
	usr/share/bstack/lvm-bstack.conf usr/lib/systemd/system/bstack.service"
missing=
for f in $want; do
	[ -f "$dest/$f" ] || missing="$missing $f"
done
ko=$(find "$dest/lib/modules/$rel/updates" -name 'bstack.ko*' 2>/dev/null | head -n 1)
[ -n "$ko" ] || missing="$missing lib/modules/$rel/updates/bstack.ko"
if [ -z "$missing" ]; then
	ok "make install DESTDIR PREFIX=/usr puts every file in place for $rel"
else
	notok "make install did not install:$missing"
fi
if [ -n "$ko" ]; then
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null)
	if [ "${magic%% *}" = "$rel" ]; then
		ok "the installed module is built for KDIR's $rel (running: $(uname -r))"
	else
		notok "the installed module is for '${magic%% *}', not KDIR's $rel"
	fi
	# make install runs depmod only without DESTDIR; the tree it left
	# must be one that depmod takes.
	if depmod -b "$dest" "$rel" 2> "$work/depmod.err" &&
	   grep -q "updates/${ko##*/}" "$dest/lib/modules/$rel/modules.dep"; then
		ok "depmod over the installed tree lists bstack"
	else
		notok "depmod over the installed tree: $(head -n 1 "$work/depmod.err")"
	fi
fi
if grep -qx 'ExecStart=/usr/sbin/bstackctl apply /etc/bstacktab' \
	"$dest/usr/lib/systemd/system/bstack.service" 2>/dev/null; then
	ok "the unit runs the installed bstackctl"
else
	notok "the unit does not run /usr/sbin/bstackctl apply"
fi
# systemd's own check of the unit, its bstackctl the one in DESTDIR.
if command -v systemd-analyze > /dev/null; then
	mkdir -p "$work/unit"
	sed "s|/usr/sbin/bstackctl|$dest/usr/sbin/bstackctl|" \
		"$dest/usr/lib/systemd/system/bstack.service" > "$work/unit/bstack.service"
	said=$(systemd-analyze verify --man=no "$work/unit/bstack.service" 2>&1)
	if [ $? -eq 0 ] && [ -z "$said" ]; then
		ok "systemd-analyze verify finds nothing wrong with bstack.service"
	else
		notok "systemd-analyze verify bstack.service: $(echo "$said" | head -n 1)"
	fi
fi
out=$("$dest/usr/sbin/bstackctl" --help 2>&1 | head -n 1)
case $out in
"Usage: bstackctl "*) ok "the installed bstackctl runs" ;;
*) notok "the installed bstackctl --help says: $out" ;;
esac

if ! make -s -C "$work/src" uninstall DESTDIR="$dest" PREFIX=/usr KDIR="$kdir" \
	> "$work/uninstall.log" 2>&1; then
	tail -n 20 "$work/uninstall.log" | sed 's/^/    /'
	notok "make uninstall failed"
	exit 1
fi
# What is left is depmod's indexes, no file of ours.
left=$(cd "$dest" && find . -type f ! -name 'modules.*' | sort)
if [ -z "$left" ]; then
	ok "make uninstall removes every file it installed"
else
	notok "make uninstall left:" $left
fi
exit $bad
