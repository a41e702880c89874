#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test`: set up, build the kernel (cached), the module and the tools,
# run the host checks and cargo tests, then boot one guest that loads the
# module (KUnit runs at insmod), runs tests/guest/t-*.sh and unloads it.
# Ends with one line "N passed, N failed"; exits non-zero on any failure,
# any kernel splat in the guest's log, or a guest timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$FSN_TOP"

t0=$(date +%s)
scripts/setup.sh
scripts/kernel.sh build
KDIR=$(fsn_kdir)

out=${FSN_TEST_OUT:-$(mktemp -d /tmp/fsn-test.XXXXXX)}
mkdir -p "$out"
host_tap=$out/host.tap
: >"$host_tap"
hn=0
check() { # check NAME COMMAND...: one host test
	local name=$1 log
	shift
	hn=$((hn + 1))
	log=$out/host-$hn.log
	if "$@" >"$log" 2>&1; then
		echo "ok $hn $name" >>"$host_tap"
	else
		echo "not ok $hn $name" >>"$host_tap"
		echo "FAIL $name:" >&2
		tail -n 40 "$log" | sed 's/^/  | /' >&2
	fi
}

# Kernel patches: checkpatch --strict, reading each patch from stdin (given a
# path that git tracks, checkpatch would check the .patch file as a source
# file instead of as a patch).
checkpatch="$(fsn_src_dir)/scripts/checkpatch.pl"
check "patches: checkpatch --strict" bash -c \
	"for p in patches/*.patch; do out=\$('$checkpatch' --strict --no-tree -q - <\"\$p\"); [ -z \"\$out\" ] || { echo \"\$p:\"; echo \"\$out\"; exit 1; }; done"

# Module: one clippy-driver build serves as compile and lint (-Dwarnings is
# set in Kbuild), then rustfmt.
check "module: build with clippy" make -s modules KDIR="$KDIR" CLIPPY=1
check "module: rustfmt" make -s fmt KDIR="$KDIR"
check "module: make rust-analyzer lists the crate" bash -c \
	"make -s rust-analyzer KDIR='$KDIR' && grep -q '/rust/fuse_fsnotify.rs' rust-project.json"

# Userspace tools.
check "tools: cargo fmt" bash -c "cd tools && $FSN_CARGO fmt --check"
check "tools: cargo clippy" bash -c "cd tools && $FSN_CARGO clippy --locked --all-targets -q -- -D warnings"
check "conformance: comparison rules (unittest)" python3 -m unittest -q tests/conformance/test_compare.py
check "wire decoder: fuzz ${FSN_FUZZ_SECONDS:-10}s per target" scripts/fuzz.sh "${FSN_FUZZ_SECONDS:-10}"
cargo_log=$out/cargo-test.log
(cd tools && timeout 900 "$FSN_CARGO" test --locked 2>&1) | tee "$cargo_log" | grep -E '^test result:|FAILED|panicked' || true
cargo_counts=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
	END { printf "%d:%d", p, f }' "$cargo_log")
grep -q '^test result:' "$cargo_log" || cargo_counts="0:1"
(cd tools && "$FSN_CARGO" build --locked --release -q)

ko=rust/fuse_fsnotify.ko
# Every `kunit_suite!(` starting a line (after indentation) declares one suite.
suites=$(cat rust/*.rs | grep -c '^ *kunit_suite!(' || true)
[ -f "$ko" ] || fsn_log "module not built; the guest run will fail"

# A virtiofs export for the in-guest tests (tag "fsntest"), served on the
# host by QEMU's virtiofsd, a server without the remote fsnotify protocol.
# The guest also sees $out through virtme-ng's 9p share, so tests can check
# both views.
vfs_export=$out/virtiofs-export
mkdir -p "$vfs_export"
echo "nonce-$$-$RANDOM" >"$vfs_export/nonce"
/usr/lib/qemu/virtiofsd --socket-path="$out/virtiofs.sock" -o source="$vfs_export" \
	-o cache=none >"$out/virtiofsd.log" 2>&1 &
vfs_pid=$!
trap 'kill $vfs_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$out/virtiofs.sock" ] && break; sleep 0.1; done
[ -S "$out/virtiofs.sock" ] || fsn_die "virtiofsd did not start: $(cat "$out/virtiofsd.log")"

# Our own server as a second virtiofs backend (tag "fsnvfs"), exporting a
# directory under $out: the guest changes it through the 9p share, which
# is a remote change for the virtiofs mount (t-virtiofs-remote).  Two
# workers, the minimum, so a held long poll leaves exactly one for the rest.
fsn_vfs_backing=$out/fsn-vfs-backing
rm -rf "$fsn_vfs_backing"
mkdir -p "$fsn_vfs_backing"
tools/target/release/fuse-fsnotify-server "$fsn_vfs_backing" --virtiofs "$out/fsn-vfs.sock" \
	--threads 2 >"$out/fsn-vfs-server.log" 2>&1 &
fsn_vfs_pid=$!
trap 'kill $vfs_pid $fsn_vfs_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$out/fsn-vfs.sock" ] && break; sleep 0.1; done
[ -S "$out/fsn-vfs.sock" ] || fsn_die "fuse-fsnotify-server did not start: $(cat "$out/fsn-vfs-server.log")"

vm_rc=0
scripts/vm.sh --quiet --out "$out" --timeout "${FSN_GUEST_TIMEOUT:-2700}" \
	--virtiofs "fsntest=$out/virtiofs.sock" --virtiofs "fsnvfs=$out/fsn-vfs.sock" -- \
	tests/guest/run.sh "$out" "$ko" "$suites" "$FSN_CACHE" || vm_rc=$?
vm_count=0:0
if [ $vm_rc != 0 ]; then
	echo "FAIL guest run (exit $vm_rc): see $out/console.log" >&2
	vm_count=0:1
fi

logs=()
for f in "$out/console.log" "$out/dmesg.txt" "$out/kmemleak.txt"; do
	[ -f "$f" ] && logs+=(--log "$f")
done
echo "results in $out ($(($(date +%s) - t0)) s)"
tools/target/release/fsn-report --min-tests 5 \
	--results "$host_tap" --results "$out/guest.tap" --results "$out/kunit.ktap" \
	--results "$out/conformance.tap" \
	"${logs[@]}" --count "$cargo_counts" --count "$vm_count"
