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
echo "== inotifywait -m on the FUSE mount; changes made directly on the backing directory"
inotifywait -q -m "$work/mnt" >"$work/iw" 2>&1 &
iw=$!
sleep 1
(
	cd "$work/backing"
	for op in "echo hi > notes.txt" "echo more >> notes.txt" "chmod 600 notes.txt" \
		"mv notes.txt renamed.txt" "mkdir dir" "rm renamed.txt" "rmdir dir"; do
		echo "   backing\$ $op"
		sh -c "$op"
		sleep 0.3
	done
)
sleep 1
kill $iw
echo "== what inotifywait on the mount reported"
sed "s|$work/mnt/|mnt/|; s/^/   /" "$work/iw"
echo "== module counters"
for c in servers_supported marks_sent batches events_injected overflows; do
	printf '   %s=%s\n' "$c" "$(cat /sys/kernel/debug/fuse_fsnotify/$c)"
done
kill $srv
wait $srv || true
umount "$work"
echo "== rmmod"
rmmod fuse_fsnotify
dmesg | tail -n 1 | sed 's/^/   /'
