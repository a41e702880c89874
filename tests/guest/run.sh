#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# In-guest part of `make test`.  Runs as root inside the virtme-ng guest with
# the checkout as working directory.
#
#   tests/guest/run.sh OUT MODULE EXPECTED_SUITES
#
# Writes to OUT (a host directory the guest may write):
#   guest.tap    one TAP line per in-guest test
#   kunit.ktap   the KTAP results of every fuse_fsnotify KUnit suite
#   kmemleak.txt what kmemleak found after rmmod
#
# Each tests/guest/t-*.sh is one test: exit 0 passes, 77 skips, anything else
# fails; it gets 300 s.  Its output goes to OUT/<name>.log.
set -u
out=$1 module=$2 expected_suites=$3
tap=$out/guest.tap
: >"$tap"
n=0

result() { # result RC NAME [LOG]
	n=$((n + 1))
	case $1 in
	0) echo "ok $n $2" >>"$tap" ;;
	77) echo "ok $n $2 # SKIP" >>"$tap" ;;
	*)
		echo "not ok $n $2" >>"$tap"
		[ -n "${3:-}" ] && [ -f "$3" ] && tail -n 20 "$3" | sed 's/^/# /' >>"$tap"
		;;
	esac
}

mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug

insmod "$module" >"$out/insmod.log" 2>&1
result $? "insmod $(basename "$module")" "$out/insmod.log"

# KUnit ran the module's suites synchronously during insmod.  Their debugfs
# results disappear with the module, so take them now.
: >"$out/kunit.ktap"
found=0
for d in /sys/kernel/debug/kunit/fuse_fsnotify_*; do
	[ -f "$d/results" ] || continue
	cat "$d/results" >>"$out/kunit.ktap"
	found=$((found + 1))
done
[ "$found" = "$expected_suites" ]
result $? "kunit: $found of $expected_suites suites reported results"

for t in tests/guest/t-*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	log=$out/$name.log
	FSN_OUT=$out FSN_MODULE=$module timeout -k 5 300 bash "$t" >"$log" 2>&1
	result $? "$name" "$log"
done

if grep -q '^fuse_fsnotify ' /proc/modules; then
	rmmod fuse_fsnotify >"$out/rmmod.log" 2>&1
	result $? "rmmod fuse_fsnotify" "$out/rmmod.log"
fi

# Leaks: kmemleak reports objects unreferenced for a few seconds, so scan,
# wait, scan again.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$out/kmemleak.txt"
fi
exit 0
