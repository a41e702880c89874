#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The reference server as a plain passthrough: mount a tmpfs backing
# directory through it, run ordinary file operations (server_ops.py), check
# its argument errors, and that SIGTERM unmounts and exits 0.
set -eux
srv=tools/target/release/fuse-fsnotify-server
work=$(mktemp -d)
mount -t tmpfs tmpfs "$work"
mkdir "$work/backing" "$work/mnt"

# Bad arguments: clear message, non-zero exit.
if $srv "$work/nonexistent" "$work/mnt" 2>"$work/err"; then exit 1; fi
grep -q 'not a directory' "$work/err"
if $srv --threads 1 "$work/backing" "$work/mnt" 2>"$work/err"; then exit 1; fi
$srv --help | grep -q 'BACKING'

$srv "$work/backing" "$work/mnt" --log info 2>"$FSN_OUT/server-passthrough.log" &
pid=$!
for _ in $(seq 50); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
mountpoint -q "$work/mnt"
grep -q fuse-fsnotify /proc/mounts

python3 tests/guest/server_ops.py "$work/backing" "$work/mnt"

kill -TERM $pid
wait $pid
! mountpoint -q "$work/mnt"
grep -q 'exit' "$FSN_OUT/server-passthrough.log"
umount "$work"
