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

# virtiofsd does not speak the remote fsnotify protocol: the module's probe
# gets ENOSYS, the watch stays local, and inotify_add_watch() does not wait.
c=/sys/kernel/debug/fuse_fsnotify
u0=$(cat $c/servers_unsupported) t0=$(cat $c/arm_timeouts) r0=$(cat $c/requests)
inotifywait -q -t 1 -e modify "$mnt/from-guest" || true
inotifywait -q -t 1 -e attrib "$mnt/from-guest" || true
[ "$(cat $c/servers_unsupported)" = $((u0 + 1)) ]
[ "$(cat $c/arm_timeouts)" = "$t0" ]
# One probe, then no more traffic on this connection.
[ "$(cat $c/requests)" = $((r0 + 1)) ]
