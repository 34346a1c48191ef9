#!/bin/bash
# Build the debug kernel from Debian's linux-source-6.12 with
# scripts/debug.config, or reuse the cached build. Prints the build
# directory (usable as KDIR, with arch/x86/boot/bzImage inside, and its
# modules under modroot/) on stdout.
#
# The cache is keyed by the source package version and the fragment's hash:
#   $BSTACK_CACHE/kernel-debug-<version>-<hash>
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs linux-source-6.12 make gcc bc flex bison libelf-dev libssl-dev \
	  dwarves xz-utils cpio python3 kmod

frag=$BSTACK_TOP/scripts/debug.config
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
hash=$(sha256sum "$frag" | cut -c1-12)
src=$BSTACK_CACHE/linux-source-$ver
out=$BSTACK_CACHE/kernel-debug-$ver-$hash

mkdir -p "$BSTACK_CACHE"
exec 9>"$BSTACK_CACHE/.debug-kernel.lock"
flock 9

if [ -f "$out/.bstack-built" ]; then
	echo "$out"
	exit 0
fi

if [ ! -f "$src/.bstack-extracted" ]; then
	log "extracting linux-source $ver"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.bstack-extracted"
	mv "$src.tmp" "$src"
fi

log "building debug kernel $ver ($hash) in $out; this takes 15-20 minutes"
rm -rf "$out"
mkdir -p "$out"
cp "$frag" "$out/.config"
make -C "$src" O="$out" ARCH=x86_64 olddefconfig >&2

# olddefconfig silently drops what it cannot satisfy: check every option.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qx -- "$line" "$out/.config" ||
			{ echo "debug.config: $line did not take" >&2; bad=1; }
		;;
	esac
done < "$frag"
[ $bad -eq 0 ] || die "the config fragment does not apply; fix scripts/debug.config"

make -C "$src" O="$out" ARCH=x86_64 -j"$(($(nproc) + 1))" all >&2 ||
	die "debug kernel build failed"
# The few options built as modules (scsi_debug, which the cases load with
# their own parameters), under modroot/lib/modules/<release>/.
make -C "$src" O="$out" ARCH=x86_64 INSTALL_MOD_PATH="$out/modroot" \
	INSTALL_MOD_STRIP=1 DEPMOD=true modules_install >&2 ||
	die "debug kernel modules_install failed"
touch "$out/.bstack-built"
echo "$out"
