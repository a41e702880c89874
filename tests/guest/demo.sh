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
echo "== rmmod"
rmmod fuse_fsnotify
dmesg | tail -n 1 | sed 's/^/   /'
