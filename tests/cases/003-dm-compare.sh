#!/bin/sh
# bstack and dm-linear map the same table the same way: data written
# through bstack reads back identical (md5 of the whole device) through dm
# with that table, and data written through dm reads back identical through
# bstack. The two cannot hold the lower devices at once (both claim them
# exclusively), so they take turns.
. "$BSTACK_LIB"
requires bstack bstackctl nullb dm fio sysvipc aio

nb0=$(nullb_create nullb0 16) || exit 1
nb1=$(nullb_create nullb1 16) || exit 1

table=$BSTACK_TMP/table
cat > "$table" <<EOF
0 777 linear $nb1 5
777 12000 linear $nb0 11
12777 7001 linear $nb1 782
19778 9 linear $nb0 12011
EOF
total=19787

# fill DEV SEED: random data over all of DEV, in odd sizes, direct I/O.
fill() {
	must "fio write on $1" fio --name=fill --filename="$1" --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=write --bsrange=512-128k \
		--refill_buffers --randseed="$2" \
		--output-format=terse --terse-version=3 > /dev/null
}

whole_md5() {
	drop_caches
	md5_range "$1" 0 "$total"
}

# ---- write through bstack, read through dm
dev=$(bstack_create t003 < "$table") || exit 1
expect_eq "$(blockdev --getsz "$dev")" "$total" "blockdev --getsz $dev"
fill "$dev" 3
via_bstack=$(whole_md5 "$dev")
must "remove bstack device" bstack_remove t003

dm=$(dm_create t003-dm < "$table") || exit 1
expect_eq "$(blockdev --getsz "$dm")" "$total" "blockdev --getsz $dm"
via_dm=$(whole_md5 "$dm")
info "written through bstack: bstack $via_bstack, dm $via_dm"
expect_eq "$via_dm" "$via_bstack" "md5 through dm of what bstack wrote"

# ---- write through dm, read through bstack
fill "$dm" 4
via_dm2=$(whole_md5 "$dm")
[ "$via_dm2" != "$via_dm" ] || fail "the second fill through dm changed nothing"
must "remove dm device" dm_remove t003-dm

dev=$(bstack_create t003 < "$table") || exit 1
via_bstack2=$(whole_md5 "$dev")
info "written through dm: dm $via_dm2, bstack $via_bstack2"
expect_eq "$via_bstack2" "$via_dm2" "md5 through bstack of what dm wrote"
must "remove bstack device" bstack_remove t003
[ ! -e "/sys/block/${dev#/dev/}" ] || fail "$dev is still there after remove"
