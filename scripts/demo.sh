#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: set up, build, boot a guest with the module loaded and show
# what it does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$FSN_TOP"

scripts/setup.sh
scripts/kernel.sh build
make -s modules KDIR="$(fsn_kdir)"
(cd tools && "$FSN_CARGO" build --locked --release -q -p fsn-server)
out=$(mktemp -d /tmp/fsn-demo.XXXXXX)
scripts/vm.sh --quiet --out "$out" --timeout 600 -- tests/guest/demo.sh "$out"
cat "$out/demo.txt"
