#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench [BENCH_DIRS=N] [BENCH_SEQUENTIAL=0]`: set up, build, boot a
# guest and measure what
# arming and removing N remote watches costs (tests/bench/arm.sh; default
# N = 100000).  Writes the table to tests/results/bench.md.  A benchmark,
# not a test: under QEMU TCG with a debug (KASAN, lockdep) kernel the
# seconds are only comparable with each other; the request counts are what
# the design promises.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$FSN_TOP"

n=${BENCH_DIRS:-100000}
scripts/setup.sh
scripts/kernel.sh build
make -s modules KDIR="$(fsn_kdir)"
(cd tools && "$FSN_CARGO" build --locked --release -q -p fsn-server -p fsn-bench)
out=$(mktemp -d /tmp/fsn-bench.XXXXXX)
scripts/vm.sh --quiet --out "$out" --timeout "${BENCH_TIMEOUT:-7200}" -- \
	bash -c "SEQUENTIAL=${BENCH_SEQUENTIAL:-1} tests/bench/arm.sh $out rust/fuse_fsnotify.ko $n >$out/bench.rows"
mkdir -p tests/results
{
	echo "# Arming and removing $n remote watches"
	echo
	echo "\`make bench BENCH_DIRS=$n\`, $(date -u +%Y-%m-%d), module $(git describe --always --dirty)."
	echo "Guest: QEMU TCG (no KVM), 2 vCPUs, debug kernel (KASAN, lockdep); the seconds"
	echo "include that overhead. One MARK request carries at most 128 entries."
	echo
	cat "$out/bench.rows"
} >tests/results/bench.md
cat tests/results/bench.md
