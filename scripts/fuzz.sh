#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzz the wire decoders (rust/wire.rs, through tools/fsn-wire) with
# cargo fuzz (libFuzzer + AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS]   each target for SECONDS (default 30)
#
# make test runs it for a few seconds per target; run it by hand for longer.
# The stable toolchain builds it with RUSTC_BOOTSTRAP=1 (cargo fuzz needs
# -Z flags). The corpus is kept in $FSN_CACHE/fuzz-corpus between runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${1:-30}
cargo_fuzz=${CARGO_HOME:-$HOME/.cargo}/bin/cargo-fuzz
[ -x "$cargo_fuzz" ] || fsn_die "cargo-fuzz missing: run scripts/setup.sh"
cd "$FSN_TOP/tools/fuzz"
# cargo-fuzz runs "cargo" from PATH: it must be the rustup toolchain (it has
# the sanitizer runtimes), not Debian's, which lib.sh puts first for Kbuild.
export PATH="$(dirname "$FSN_CARGO"):$PATH"
for target in batch mark; do
	corpus=$FSN_CACHE/fuzz-corpus/$target
	mkdir -p "$corpus"
	log=$(mktemp)
	rc=0
	RUSTC_BOOTSTRAP=1 "$FSN_CARGO" fuzz run "$target" "$corpus" -- \
		-max_total_time="$secs" -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || rc=$?
	grep -E '^Done|stat::number_of_executed_units|ERROR|panicked|SUMMARY' "$log" | sed "s/^/$target: /" || true
	if [ $rc != 0 ]; then
		tail -n 40 "$log" >&2
		rm -f "$log"
		fsn_die "fuzz target $target failed (crash input in tools/fuzz/artifacts/$target)"
	fi
	rm -f "$log"
done
