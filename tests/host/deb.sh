#!/bin/bash
# Host test: the Debian packages (make deb) install into a clean Debian
# root, DKMS builds the module there for the headers of a supported
# kernel, bstackctl runs, and purging the packages takes it all away.
#   tests/host/deb.sh DEBDIR RELEASE
# DEBDIR holds bstack-dkms_*.deb and bstack-tools_*.deb; RELEASE is a
# kernel whose linux-headers-RELEASE the archive has (the 6.1 of the
# matrix). Then make dkms-install and dkms-uninstall, in the same root. The root is a debootstrap of bookworm (minbase) with dkms and
# those headers, made once and kept in $BSTACK_CACHE, with the machine's
# own apt sources copied in; each run works on a copy of it. Prints
# "ok - ..." or "not ok - ..." lines, as test_table does.
set -u
. "$(dirname "$0")/../../scripts/common.sh"
debdir=$1 rel=$2
bad=0

ok() { echo "ok - deb: $*"; }
notok() { echo "not ok - deb: $*"; bad=1; }

# The machine's archive (its apt sources), for debootstrap.
mirror=$(apt-cache policy | awk '
	$2 ~ /^https?:/ && $3 ~ /^bookworm\/main$/ { print $2; exit }')
[ -n "$mirror" ] || { notok "the machine's apt sources name no bookworm/main archive"; exit 1; }
sources=$(ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null)

# Bump to remake the cached roots (what goes into one is below).
ROOT_FORMAT=1
key=$({ echo "$ROOT_FORMAT $rel $mirror"; cat $sources; } | sha256sum | cut -c1-12)
base=$BSTACK_CACHE/debroot-$rel-$key
root=$BSTACK_BUILD/deb/root

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

cleanup() {
	mountpoint -q "$root/proc" && umount "$root/proc"
	rm -rf "$root"
}
trap cleanup EXIT

# 1. The clean root, made once.
if [ ! -f "$base/.ready" ]; then
	log "making a bookworm root with dkms and linux-headers-$rel (cached as $base)"
	rm -rf "$base" "$base.tmp"
	mkdir -p "$BSTACK_BUILD/deb"
	if ! debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" \
		> "$BSTACK_BUILD/deb/debootstrap.log" 2>&1; then
		notok "debootstrap failed (see $BSTACK_BUILD/deb/debootstrap.log)"
		exit 1
	fi
	rm -f "$base.tmp/etc/apt/sources.list"
	for f in $sources; do
		cp "$f" "$base.tmp/etc/apt/sources.list.d/"
	done
	mount -t proc proc "$base.tmp/proc"
	chroot "$base.tmp" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends dkms linux-headers-$rel" \
		> "$BSTACK_BUILD/deb/root-apt.log" 2>&1
	rc=$?
	umount "$base.tmp/proc"
	if [ $rc -ne 0 ]; then
		notok "installing dkms and linux-headers-$rel in the root failed (see $BSTACK_BUILD/deb/root-apt.log)"
		exit 1
	fi
	touch "$base.tmp/.ready"
	mv "$base.tmp" "$base"
	# Roots of other releases or versions of this script.
	find "$BSTACK_CACHE" -maxdepth 1 -name 'debroot-*' ! -name "${base##*/}" \
		-exec rm -rf {} +
fi
rm -rf "$root"
cp -a "$base" "$root"
mount -t proc proc "$root/proc"
mkdir -p "$root/tmp/debs"
cp "$debdir"/bstack-dkms_*.deb "$debdir"/bstack-tools_*.deb "$root/tmp/debs/"

# 2. Install both; apt takes their dependencies from the archive.
if in_root sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends /tmp/debs/*.deb' \
	> "$BSTACK_BUILD/deb/install.log" 2>&1; then
	ok "bstack-dkms and bstack-tools install into a clean bookworm root"
else
	tail -n 20 "$BSTACK_BUILD/deb/install.log" | sed 's/^/    /'
	for f in "$root"/var/lib/dkms/bstack/*/build/make.log; do
		[ -f "$f" ] || continue
		cp "$f" "$BSTACK_BUILD/deb/dkms-make.log"
		tail -n 20 "$f" | sed 's/^/    dkms: /'
	done
	notok "apt-get install of the packages failed (see $BSTACK_BUILD/deb/install.log)"
	exit 1
fi
ko=$(find "$root/lib/modules/$rel" -name 'bstack.ko*' 2>/dev/null | head -n 1)
status=$(in_root dkms status bstack 2>&1)
if [ -n "$ko" ] && grep -q "bstack/.*, $rel, .*: installed" <<<"$status"; then
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null)
	if [ "${magic%% *}" = "$rel" ]; then
		ok "DKMS built and installed ${ko#"$root"} for $rel"
	else
		notok "the module DKMS built is for '${magic%% *}', not $rel"
	fi
else
	notok "DKMS did not install bstack for $rel: ${status:-no dkms status}"
fi
out=$(in_root bstackctl --help 2>&1 | head -n 1)
case $out in
"Usage: bstackctl "*) ok "the packaged bstackctl runs" ;;
*) notok "bstackctl --help in the root says: $out" ;;
esac
missing=
for f in usr/lib/udev/rules.d/60-bstack.rules usr/lib/systemd/system/bstack.service \
	usr/lib/modules-load.d/bstack.conf usr/share/man/man8/bstackctl.8.gz \
	usr/share/bash-completion/completions/bstackctl; do
	[ -e "$root/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "bstack-tools holds the rules, the unit, modules-load.d, the man page and the completion"
else
	notok "bstack-tools lacks:$missing"
fi

# 3. Purge: the module, the sources and the tool go.
if in_root apt-get purge -y -q bstack-dkms bstack-tools > "$BSTACK_BUILD/deb/purge.log" 2>&1; then
	left=$(find "$root/lib/modules/$rel" "$root/usr/src" "$root/usr/sbin" \
		\( -name 'bstack*' -o -name 'bstackctl' \) 2>/dev/null)
	if [ -z "$left" ]; then
		ok "purging the packages removes the module, its sources and bstackctl"
	else
		notok "after the purge:" $left
	fi
else
	notok "apt-get purge failed (see $BSTACK_BUILD/deb/purge.log)"
fi
# 4. make dkms-install and dkms-uninstall, from the sources, in the same
# root, now without the packages.
mkdir -p "$root/tmp/src"
(cd "$(dirname "$0")/../.." && tar -c --exclude=./build --exclude=./.git \
	--exclude='*.o' --exclude='*.ko' .) | tar -x -C "$root/tmp/src"
if in_root make -C /tmp/src dkms-install KDIR="/lib/modules/$rel/build" \
	> "$BSTACK_BUILD/deb/dkms-install.log" 2>&1 &&
   [ -n "$(find "$root/lib/modules/$rel" -name 'bstack.ko*')" ]; then
	ok "make dkms-install builds and installs the module for KDIR's $rel"
else
	tail -n 10 "$BSTACK_BUILD/deb/dkms-install.log" | sed 's/^/    /'
	for f in "$root"/var/lib/dkms/bstack/*/build/make.log; do
		[ -f "$f" ] && tail -n 10 "$f" | sed 's/^/    dkms: /'
	done
	notok "make dkms-install did not install the module (see $BSTACK_BUILD/deb/dkms-install.log)"
fi
if in_root make -C /tmp/src dkms-uninstall KDIR="/lib/modules/$rel/build" \
	> "$BSTACK_BUILD/deb/dkms-uninstall.log" 2>&1 &&
   [ -z "$(find "$root/lib/modules/$rel" "$root/usr/src" -name 'bstack*')" ]; then
	ok "make dkms-uninstall removes the module and its sources"
else
	notok "make dkms-uninstall left: $(find "$root/lib/modules/$rel" "$root/usr/src" -name 'bstack*' | head -n 3)"
fi
exit $bad
