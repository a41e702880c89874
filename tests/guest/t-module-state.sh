#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The module is loaded, unreferenced, and announced itself; its parameters
# are documented for modinfo and visible in sysfs with their defaults.
set -eu
grep -q '^fuse_fsnotify ' /proc/modules
[ -d /sys/module/fuse_fsnotify ]
[ "$(cat /sys/module/fuse_fsnotify/refcnt)" = 0 ]
dmesg | grep -q 'fuse_fsnotify: loaded'
modinfo "$FSN_MODULE" | grep -q '^parm: *limbo_max:.*(uint)$'
modinfo "$FSN_MODULE" | grep -q '^parm: *arm_timeout_ms:.*(uint)$'
[ "$(cat /sys/module/fuse_fsnotify/parameters/limbo_max)" = 1024 ]
[ "$(cat /sys/module/fuse_fsnotify/parameters/arm_timeout_ms)" = 5000 ]
