#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# In-guest part of `make conformance` (scripts/conformance.sh): load the
# module and run the suite alone.  (`make test` runs the suite from
# tests/guest/run.sh instead, with the module it already loaded.)
#
#   tests/conformance/guest.sh OUT CACHE [run.py options]
set -u
out=$1 cache=$2
shift 2
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
insmod rust/fuse_fsnotify.ko || exit 1
python3 tests/conformance/run.py --out "$out" --cache "$cache" "$@"
rc=$?
rmmod fuse_fsnotify
exit $rc
