#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make conformance`: build the module and the tools, boot one guest that
# loads the module and runs only the conformance suite (tests/conformance,
# Documentation/conformance.rst), copy its table to
# tests/results/conformance.md and print the summary.  Exits non-zero when
# a test failed, the guest logged a kernel splat or timed out.
#
#   scripts/conformance.sh [run.py options]   e.g. --only tar-x,rm-rf
#
# The table is copied only for a full run (no options).  The kernel is the
# cached one (`make conformance` builds or reuses it first).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$FSN_TOP"

t0=$(date +%s)
scripts/setup.sh
make -s modules
(cd tools && "$FSN_CARGO" build --release --locked -q)

out=${FSN_CONFORMANCE_OUT:-$(mktemp -d /tmp/fsn-conformance.XXXXXX)}
mkdir -p "$out"
rm -f "$out/conformance.tap" "$out/conformance.md"
vm_rc=0
scripts/vm.sh --quiet --out "$out" --timeout "${FSN_GUEST_TIMEOUT:-1800}" -- \
	tests/conformance/guest.sh "$out" "$FSN_CACHE" "$@" || vm_rc=$?
[ $vm_rc = 0 ] || echo "FAIL guest run (exit $vm_rc): see $out/console.log" >&2

if [ $# = 0 ] && [ -f "$out/conformance.md" ]; then
	mkdir -p tests/results
	cp "$out/conformance.md" tests/results/conformance.md
	echo "table: tests/results/conformance.md"
fi
echo "results in $out ($(($(date +%s) - t0)) s)"
logs=()
for f in "$out/console.log" "$out/dmesg.txt"; do
	[ -f "$f" ] && logs+=(--log "$f")
done
vm_count=0:0
[ $vm_rc = 0 ] || vm_count=0:1
tools/target/release/fsn-report --min-tests 1 --results "$out/conformance.tap" \
	"${logs[@]}" --count "$vm_count"
