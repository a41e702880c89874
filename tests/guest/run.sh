#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# In-guest part of `make test`.  Runs as root inside the virtme-ng guest with
# the checkout as working directory.
#
#   tests/guest/run.sh OUT MODULE EXPECTED_SUITES CACHE
#
# Writes to OUT (a host directory the guest may write):
#   guest.tap    one TAP line per in-guest test
#   kunit.ktap   the KTAP results of every fuse_fsnotify KUnit suite
#   kmemleak.txt what kmemleak found after rmmod
#   conformance.tap, conformance.md, conformance-*.log
#                the conformance suite's tests, table and mismatches
#
# Each tests/guest/t-*.sh is one test: exit 0 passes, 77 skips, anything else
# fails; it gets 300 s.  Its output goes to OUT/<name>.log.
set -u
out=$1 module=$2 expected_suites=$3 cache=$4
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

# The conformance suite (Documentation/conformance.rst), with the module
# loaded above: each workload x watcher x side is one test of
# conformance.tap.  Its exit status only says whether a test failed, which
# the TAP counts; the check here is that it ran to the end.
if grep -q '^fuse_fsnotify ' /proc/modules; then
	rm -f "$out/conformance.tap"
	timeout -k 5 1800 python3 tests/conformance/run.py --out "$out" --cache "$cache" \
		>"$out/conformance.log" 2>&1
	grep -q '^1\.\.[0-9]' "$out/conformance.tap" 2>/dev/null &&
		[ "$(grep -c '^\(not \)\?ok ' "$out/conformance.tap")" = "$(sed -n 's/^1\.\.//p' "$out/conformance.tap")" ]
	result $? "conformance: the suite ran every test it planned" "$out/conformance.log"
fi

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
