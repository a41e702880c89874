#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# In-guest part of `make demo`:  tests/guest/demo.sh OUT
# Writes what it shows to OUT/demo.txt (scripts/demo.sh prints it).
set -eu
exec >"$1/demo.txt" 2>&1
echo "== guest kernel: $(uname -r)"
echo "== insmod rust/fuse_fsnotify.ko"
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
insmod rust/fuse_fsnotify.ko
dmesg | grep -E 'fuse_fsnotify' | sed 's/^/   /'
echo "== KUnit results of the module (run at insmod)"
for d in /sys/kernel/debug/kunit/fuse_fsnotify_*; do
	sed 's/^/   /' "$d/results"
done
echo "== module state"
grep '^fuse_fsnotify ' /proc/modules | sed 's/^/   /'
echo "== the reference server: a tmpfs directory exported over FUSE"
work=$(mktemp -d)
mount -t tmpfs tmpfs "$work"
mkdir "$work/backing" "$work/mnt"
echo hello >"$work/backing/greeting"
tools/target/release/fuse-fsnotify-server "$work/backing" "$work/mnt" 2>"$work/server.log" &
srv=$!
for _ in $(seq 50); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
grep " $work/mnt " /proc/mounts | sed 's/^/   /'
echo "   cat mnt/greeting: $(cat "$work/mnt/greeting")"
echo "== a watch on the mount reaches the module's fsnotify hooks"
show() { for c in mask_changes marks_added; do
	printf '   %s=%s' "$c" "$(cat /sys/kernel/debug/fuse_fsnotify/$c)"; done; echo; }
show
inotifywait -q -t 3 -e create "$work/mnt" >"$work/iw" &
iw=$!
sleep 0.5
show
touch "$work/mnt/made-through-the-mount"
wait $iw || true
echo "   inotifywait on the mount saw: $(cat "$work/iw")"
echo "   (forwarding of changes made on the backing side: in progress, see Documentation/design.rst)"
kill $srv
wait $srv || true
umount "$work"
echo "== rmmod"
rmmod fuse_fsnotify
dmesg | tail -n 1 | sed 's/^/   /'
