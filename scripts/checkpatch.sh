#!/bin/bash
# Run the kernel's checkpatch.pl on bstack's kernel C, as the kernel's own
# tree does for a patch: every error and warning is a failure.
set -euo pipefail
. "$(dirname "$0")/common.sh"

need_pkgs linux-source-6.12 perl xz-utils
cp_dir=$BSTACK_CACHE/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	mkdir -p "$cp_dir"
	tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$cp_dir" --strip-components=1 \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch
fi
cd "$BSTACK_TOP"
files=$(ls src/*.c src/*.h include/uapi/linux/*.h tests/kunit/*.c tests/inject/*.c \
	scripts/probes/*.c)
perl "$cp_dir/scripts/checkpatch.pl" --no-tree --terse --show-types \
	--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES -f $files
