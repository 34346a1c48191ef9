#!/bin/bash
# Fetch the newest kernel of Debian unstable, as Debian builds it, and a
# tree to build bstack against it.
#
#   unstable-kernel.sh
#
# Prints four lines, as stock-kernel.sh does:
#   the kernel release (e.g. 7.2.13+deb14-amd64)
#   the build directory, usable as KDIR
#   the kernel image
#   the unpacked root, whose (usr/)lib/modules/<rel>/ holds the modules
#
# The packages come through an apt configuration of this script's own: a
# sources file and a lists folder under $BSTACK_CACHE/apt-sid, naming the
# archive that the machine's apt sources name, with the suite sid. The
# machine's own apt sources are never changed.
#
# Unstable's linux-headers cannot be KDIR here: they are configured for a
# newer gcc, and their helper programs need a newer libc. So the tree is
# linux-source-X.Y, prepared with the image's own .config (from its
# headers package) and its Module.symvers, for the same kernel release.
# bookworm's gcc builds a module there that loads into Debian's image.
#
# The result is cached, keyed by the release, the source package's
# version and this script:
#   $BSTACK_CACHE/unstable-<rel>-<version>-<hash>/{root,kdir}
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs apt make gcc bc flex bison libelf-dev libssl-dev xz-utils kmod \
	  dwarves python3
apt_dir=$BSTACK_CACHE/apt-sid
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
exec 9>"$BSTACK_CACHE/.unstable-kernel.lock"
flock 9

# The archive the machine's bookworm packages come from.
archive() {
	apt-cache policy | awk '
		$1 ~ /^[0-9]+$/ && $2 ~ /^(https?|file):/ && $3 ~ /^bookworm\/main$/ {
			print $2; exit
		}'
}

apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	  -o Dir::Etc::SourceParts=/dev/null
	  -o "Dir::State::Lists=$apt_dir/lists"
	  -o "Dir::Cache=$apt_dir/cache"
	  -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)

sid_update() {
	local uri
	uri=$(archive)
	[ -n "$uri" ] || die "the machine's apt sources name no bookworm/main archive"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri sid main" \
		> "$apt_dir/sources.list"
	log "apt-get update for sid from $uri (lists in $apt_dir)"
	apt-get "${apt_opts[@]}" update -q >&2 || die "apt-get update for sid failed"
	touch "$apt_dir/.updated"
}

# The newest unstable kernel: the highest linux-binary-<rel> for amd64.
newest_rel() {
	apt-cache "${apt_opts[@]}" search --names-only \
		'^linux-binary-[0-9]+\.[0-9]+[.0-9]*\+deb[0-9]+-amd64$' |
		awk '{print $1}' | sed 's/^linux-binary-//' | sort -V | tail -n 1
}

pkg_version() {
	apt-cache "${apt_opts[@]}" show "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -V | tail -n 1
}

if [ ! -f "$apt_dir/.updated" ] || [ ! -s "$apt_dir/sources.list" ] ||
   [ -n "$(find "$apt_dir/.updated" -mmin +360)" ]; then
	sid_update
fi
rel=$(newest_rel)
[ -n "$rel" ] || { sid_update; rel=$(newest_rel); }
[ -n "$rel" ] || die "Debian unstable offers no linux-binary-*-amd64"
series=$(echo "$rel" | cut -d. -f1,2)
bin_ver=$(pkg_version "linux-binary-$rel")
src_ver=$(pkg_version "linux-source-$series")
[ -n "$src_ver" ] || die "Debian unstable has linux-binary-$rel but no linux-source-$series"
[ "$bin_ver" = "$src_ver" ] ||
	die "linux-binary-$rel is $bin_ver but linux-source-$series is $src_ver: the tree would not match the image (unstable is mid-upload; try again later)"

hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
top=$BSTACK_CACHE/unstable-$rel-$src_ver-$hash
if [ -f "$top/.bstack-built" ]; then
	echo "$rel"
	echo "$top/kdir"
	echo "$top/root/usr/lib/modules/$rel/vmlinuz"
	echo "$top/root"
	exit 0
fi

log "preparing Debian unstable's $rel ($src_ver) in $top; about 3 minutes"
rm -rf "$BSTACK_CACHE"/unstable-*
mkdir -p "$top/dl" "$top/root" "$top/kdir" "$top/headers"
(cd "$top/dl" && apt-get "${apt_opts[@]}" download -q "linux-binary-$rel" \
	"linux-modules-$rel" "linux-headers-$rel" "linux-source-$series" >&2) ||
	die "apt-get download of the unstable kernel packages failed"
dpkg-deb -x "$top/dl/linux-binary-${rel}_"*.deb "$top/root"
dpkg-deb -x "$top/dl/linux-modules-${rel}_"*.deb "$top/root"
dpkg-deb -x "$top/dl/linux-headers-${rel}_"*.deb "$top/headers"
vmlinuz=$top/root/usr/lib/modules/$rel/vmlinuz
[ -f "$vmlinuz" ] || die "linux-binary-$rel has no usr/lib/modules/$rel/vmlinuz"
hdr=$top/headers/usr/src/linux-headers-$rel
[ -f "$hdr/.config" ] && [ -f "$hdr/Module.symvers" ] ||
	die "linux-headers-$rel has no .config or Module.symvers"
# The source tarball inside the package, unpacked without a copy on disk.
dpkg-deb --fsys-tarfile "$top/dl/linux-source-${series}_"*.deb |
	tar -xO "./usr/src/linux-source-$series.tar.xz" |
	tar -xJ -C "$top/kdir" --strip-components=1 ||
	die "cannot unpack linux-source-$series"
rm -rf "$top/dl"

cd "$top/kdir"
kver=$(make -s kernelversion)
localversion=${rel#"$kver"}
[ "$localversion" != "$rel" ] ||
	die "release $rel does not start with the source's version $kver"
cp "$hdr/.config" .config
# The release string is the image's, so that the module's vermagic matches.
./scripts/config --set-str LOCALVERSION "$localversion" --disable LOCALVERSION_AUTO
make -s olddefconfig >&2
got=$(make -s kernelrelease)
[ "$got" = "$rel" ] || die "the prepared tree says release $got, not $rel"
make -s -j"$(($(nproc) + 1))" modules_prepare >&2 || die "make modules_prepare failed"
cp "$hdr/Module.symvers" Module.symvers
rm -rf "$top/headers"
touch "$top/.bstack-built"
echo "$rel"
echo "$top/kdir"
echo "$vmlinuz"
echo "$top/root"
