#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The module is loaded, unreferenced, and announced itself.
set -eu
grep -q '^fuse_fsnotify ' /proc/modules
[ -d /sys/module/fuse_fsnotify ]
[ "$(cat /sys/module/fuse_fsnotify/refcnt)" = 0 ]
dmesg | grep -q 'fuse_fsnotify: loaded'
