#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# In-guest part of `make bench`: arming and removing N remote watches (one
# per directory) on a fuse-fsnotify-server mount, in MARK requests and
# seconds, for 1 and 256 threads calling inotify_add_watch(), and for one
# thread with arm_timeout_ms=0 (no wait for the server: batches form, but a
# remote change right after the call may be missed).  Prints a Markdown
# table.
#
#   [SEQUENTIAL=0] tests/bench/arm.sh OUT MODULE N
set -euo pipefail
out=$1 module=$2 n=$3
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
insmod "$module"
sysctl -qw fs.inotify.max_user_watches=$((4 * n + 1000))
work=$(mktemp -d)
mount -t tmpfs -o size=1G,nr_inodes=$((2 * n + 1000)) tmpfs "$work"
mkdir "$work/b" "$work/m"
tools/target/release/fuse-fsnotify-server "$work/b" "$work/m" --max-watches $((2 * n)) \
	--log warn 2>>"$out/server-bench.log" &
srv=$!
for _ in $(seq 100); do mountpoint -q "$work/m" && break; sleep 0.1; done
bench=tools/target/release/fsn-bench
echo "| run | phase | threads | inodes | MARK requests | inodes per request | seconds |"
echo "|---|---|---|---|---|---|---|"
# SEQUENTIAL=0 skips the single-thread runs (one request per call by
# construction; long for a large N under TCG).
if [ "${SEQUENTIAL:-1}" = 1 ]; then
	$bench "$work/m" --setup "$work/b" --dirs "$n" --threads 1 --label "arm before return"
fi
$bench "$work/m" --setup "$work/b" --dirs "$n" --threads 256 --label "arm before return"
if [ "${SEQUENTIAL:-1}" = 1 ]; then
	echo 0 >/sys/module/fuse_fsnotify/parameters/arm_timeout_ms
	$bench "$work/m" --dirs "$n" --threads 1 --label "arm_timeout_ms=0"
	echo 5000 >/sys/module/fuse_fsnotify/parameters/arm_timeout_ms
fi
kill $srv
wait $srv
umount "$work"
rmmod fuse_fsnotify
