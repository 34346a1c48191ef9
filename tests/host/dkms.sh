#!/bin/bash
# Host test: dkms.conf's BUILD_EXCLUSIVE_KERNEL takes the releases bstack
# supports and refuses the others, as dkms itself reads it, and dkms
# refuses to build for a release outside the range.
#   tests/host/dkms.sh KDIR
# Prints "ok - ..." or "not ok - ..." lines, as test_table does.
set -u
kdir=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
bad=0

# The regular expression as dkms sources it from dkms.conf.
re=$(bash -c '. "$1"; echo "$BUILD_EXCLUSIVE_KERNEL"' _ "$top/dkms.conf")
take="6.1.0-57-amd64 6.1.192 6.4.16 6.9.0 6.10.3 6.12.117+deb12-amd64
	7.2.13+deb14-amd64 7.10.1 10.1.0"
refuse="5.10.0-30-amd64 6.0.12 6.5.0-5-amd64 6.6.15 6.7.1 6.8.12-1-amd64 6.11a.0"
wrong=
for r in $take; do
	[[ $r =~ $re ]] || wrong="$wrong refused:$r"
done
for r in $refuse; do
	[[ $r =~ $re ]] && wrong="$wrong took:$r"
done
if [ -z "$wrong" ]; then
	echo "ok - dkms: BUILD_EXCLUSIVE_KERNEL takes 6.1-6.4 and 6.9 on, refuses the rest"
else
	echo "not ok - dkms: BUILD_EXCLUSIVE_KERNEL$wrong"
	bad=1
fi

# dkms itself, for 6.5 (with KDIR's headers: it must not get that far).
work=$(mktemp -d "${TMPDIR:-/tmp}/bstack-dkms.XXXXXX")
mkdir -p "$work/tree"
trap 'rm -rf "$work"' EXIT
make -s -C "$top" dkms-source DESTDIR="$work/root" || exit 1
version=$(ls "$work/root/usr/src" | sed -n 's/^bstack-//p')
trees=(--sourcetree "$work/root/usr/src" --dkmstree "$work/tree")
dkms add -m bstack -v "$version" "${trees[@]}" > "$work/add.log" 2>&1
dkms build -m bstack -v "$version" -k 6.5.0-5-amd64 --kernelsourcedir "$kdir" \
	"${trees[@]}" > "$work/build.log" 2>&1
rc=$?
if [ $rc -eq 77 ] && grep -q BUILD_EXCLUSIVE "$work/build.log"; then
	echo "ok - dkms: dkms build for 6.5 is skipped (exit 77, BUILD_EXCLUSIVE)"
else
	echo "not ok - dkms: dkms build for 6.5 exited $rc: $(tail -n 1 "$work/build.log")"
	bad=1
fi
exit $bad
