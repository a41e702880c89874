#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The testbed attaches a virtiofs device (tag fsntest) exporting
# $FSN_OUT/virtiofs-export: mount it, read what the host wrote, write back,
# and check the write through the guest's other view of that directory
# (virtme-ng's 9p share of $FSN_OUT).
set -eux
mnt=$(mktemp -d)
mount -t virtiofs fsntest "$mnt"
trap 'umount "$mnt"' EXIT
[ "$(cat "$mnt/nonce")" = "$(cat "$FSN_OUT/virtiofs-export/nonce")" ]
grep -q '^nonce-' "$mnt/nonce"
echo "written-through-virtiofs" >"$mnt/from-guest"
sync
[ "$(cat "$FSN_OUT/virtiofs-export/from-guest")" = "written-through-virtiofs" ]
