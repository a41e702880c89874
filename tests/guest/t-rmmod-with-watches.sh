#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# rmmod while FUSE inodes are watched and the hooks are live is safe, and
# the watches keep working locally; then the module is loaded again for the
# tests that follow.
set -eux
work=$(mktemp -d)
mount -t tmpfs tmpfs "$work"
mkdir "$work/b" "$work/m"
tools/target/release/fuse-fsnotify-server "$work/b" "$work/m" 2>>"$FSN_OUT/server-rmmod.log" &
srv=$!
for _ in $(seq 50); do mountpoint -q "$work/m" && break; sleep 0.1; done
inotifywait -m -e create,delete "$work/m" >"$work/events" 2>/dev/null &
iw=$!
sleep 0.5
touch "$work/m/a"
rmmod fuse_fsnotify
touch "$work/m/b"
rm "$work/m/a"
# Parameters given at load time apply.
insmod "$FSN_MODULE" limbo_max=7 arm_timeout_ms=4000
[ "$(cat /sys/module/fuse_fsnotify/parameters/limbo_max)" = 7 ]
[ "$(cat /sys/module/fuse_fsnotify/parameters/arm_timeout_ms)" = 4000 ]
echo 1024 >/sys/module/fuse_fsnotify/parameters/limbo_max
echo 5000 >/sys/module/fuse_fsnotify/parameters/arm_timeout_ms
touch "$work/m/c"
sleep 0.5
kill $iw
wait $iw || true
cat "$work/events"
grep -q 'CREATE a' "$work/events"
grep -q 'CREATE b' "$work/events"
grep -q 'DELETE a' "$work/events"
grep -q 'CREATE c' "$work/events"
kill $srv
wait $srv
umount "$work"
