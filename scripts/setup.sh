#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything a fresh Debian bookworm machine needs to build and test
# fuse-fsnotify, then check the versions we depend on.  Idempotent: when
# nothing is missing it only checks, which takes a few seconds.
#
# Usage: scripts/setup.sh [--check]   (--check: never install, only report)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

APT_PACKAGES=(
	"$FSN_KERNEL_PKG" rustc-web rust-web-src rust-web-clippy rustfmt-web
	libclang-dev clang lld llvm
	flex bison bc libelf-dev libssl-dev cpio xz-utils patch make kmod
	qemu-system-x86 busybox-static
	fuse3 libfuse3-dev inotify-tools pkg-config python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ $check_only = 1 ] && fsn_die "missing Debian packages: ${missing[*]} (run scripts/setup.sh)"
	fsn_log "installing Debian packages: ${missing[*]}"
	command -v apt-get >/dev/null || fsn_die "apt-get not found: this project needs Debian bookworm"
	apt-get update -qq || fsn_die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || fsn_die "apt-get install failed for: ${missing[*]}"
fi

# bindgen: Debian's 0.60 is too old for 6.12 (needs >= 0.65.1); pin a version.
have_bindgen=$("$FSN_BINDGEN" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_bindgen" != "$FSN_BINDGEN_VERSION" ]; then
	[ $check_only = 1 ] && fsn_die "bindgen $FSN_BINDGEN_VERSION missing at $FSN_BINDGEN"
	command -v cargo >/dev/null || fsn_die "cargo not found: needed to install bindgen-cli"
	fsn_log "installing bindgen-cli $FSN_BINDGEN_VERSION (cargo install --locked)"
	cargo install --locked --quiet bindgen-cli --version "$FSN_BINDGEN_VERSION" ||
		fsn_die "cargo install bindgen-cli $FSN_BINDGEN_VERSION failed"
fi

# cargo-fuzz for the wire decoder's fuzz targets (scripts/fuzz.sh), pinned.
cargo_fuzz=${CARGO_HOME:-$HOME/.cargo}/bin/cargo-fuzz
have_fuzz=$("$cargo_fuzz" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_fuzz" != "$FSN_CARGO_FUZZ_VERSION" ]; then
	[ $check_only = 1 ] && fsn_die "cargo-fuzz $FSN_CARGO_FUZZ_VERSION missing at $cargo_fuzz"
	fsn_log "installing cargo-fuzz $FSN_CARGO_FUZZ_VERSION (cargo install --locked)"
	cargo install --locked --quiet cargo-fuzz --version "$FSN_CARGO_FUZZ_VERSION" ||
		fsn_die "cargo install cargo-fuzz $FSN_CARGO_FUZZ_VERSION failed"
fi

# virtme-ng from PyPI, pinned.
vng=$FSN_VNG
have_vng=$("$vng" --version 2>/dev/null | awk '{print $NF}' || true)
if [ "$have_vng" != "$FSN_VNG_VERSION" ]; then
	[ $check_only = 1 ] && fsn_die "virtme-ng $FSN_VNG_VERSION missing ($vng)"
	fsn_log "installing virtme-ng $FSN_VNG_VERSION (pip)"
	[ -x "$FSN_VENV/bin/pip" ] || /usr/bin/python3 -m venv "$FSN_VENV" ||
		fsn_die "cannot create the Python venv $FSN_VENV (python3-venv)"
	"$FSN_VENV/bin/pip" install --quiet --disable-pip-version-check "virtme-ng==$FSN_VNG_VERSION" ||
		fsn_die "pip install virtme-ng==$FSN_VNG_VERSION failed"
fi

# The real watchers of the conformance suite (tests/conformance): Python
# watchdog in the venv and chokidar with `npm ci` from the committed lock
# file, both pinned.  The guest uses them read-only from the cache.
have_wd=$("$FSN_VENV/bin/python3" -c 'import importlib.metadata as m; print(m.version("watchdog"))' 2>/dev/null || true)
if [ "$have_wd" != "$FSN_WATCHDOG_VERSION" ]; then
	[ $check_only = 1 ] && fsn_die "watchdog $FSN_WATCHDOG_VERSION missing in $FSN_VENV (run scripts/setup.sh)"
	fsn_log "installing watchdog $FSN_WATCHDOG_VERSION (pip)"
	"$FSN_VENV/bin/pip" install --quiet --disable-pip-version-check "watchdog==$FSN_WATCHDOG_VERSION" ||
		fsn_die "pip install watchdog==$FSN_WATCHDOG_VERSION failed"
fi
if [ ! -x /usr/bin/node ] || [ ! -x /usr/bin/npm ]; then
	[ $check_only = 1 ] && fsn_die "/usr/bin/node or /usr/bin/npm missing (Debian's nodejs, npm)"
	fsn_log "installing Debian packages: nodejs npm"
	apt-get update -qq || fsn_die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null ||
		fsn_die "apt-get install failed for: nodejs npm"
fi
node_src=$FSN_TOP/tests/conformance/node
# installed.lock is written only after a successful `npm ci`.
if ! cmp -s "$node_src/package-lock.json" "$FSN_NODE_DIR/installed.lock"; then
	[ $check_only = 1 ] && fsn_die "chokidar missing in $FSN_NODE_DIR (run scripts/setup.sh)"
	fsn_log "installing the Node watchers (npm ci) in $FSN_NODE_DIR"
	mkdir -p "$FSN_NODE_DIR"
	rm -f "$FSN_NODE_DIR/installed.lock"
	cp "$node_src/package.json" "$node_src/package-lock.json" "$FSN_NODE_DIR/"
	(cd "$FSN_NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) ||
		fsn_die "npm ci in $FSN_NODE_DIR failed (chokidar, from $node_src)"
	cp "$node_src/package-lock.json" "$FSN_NODE_DIR/installed.lock"
fi

# Version checks: each names the missing piece.
rv=$("$FSN_RUSTC" --version 2>/dev/null) || fsn_die "$FSN_RUSTC missing: install Debian's rustc-web"
case "$rv" in
rustc\ 1.*) ;;
*) fsn_die "unexpected rustc at $FSN_RUSTC: $rv" ;;
esac
sysroot=$("$FSN_RUSTC" --print sysroot)
[ -d "$sysroot/lib/rustlib/src/rust/library/core" ] ||
	fsn_die "$FSN_RUSTC has no rust-src (install rust-web-src)"
bv=$("$FSN_BINDGEN" --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' 0.65.1 "$bv" | sort -V | head -n1)" != 0.65.1 ]; then
	fsn_die "bindgen $bv is older than 0.65.1"
fi
"$vng" --version >/dev/null 2>&1 || fsn_die "vng (virtme-ng) does not run"
command -v qemu-system-x86_64 >/dev/null || fsn_die "qemu-system-x86_64 missing"
[ -x /usr/lib/qemu/virtiofsd ] || fsn_die "/usr/lib/qemu/virtiofsd missing (qemu-system-common)"
[ -f "/usr/src/$FSN_KERNEL_PKG.tar.xz" ] || fsn_die "/usr/src/$FSN_KERNEL_PKG.tar.xz missing"

# `make rustavailable` against the tree we build, with the toolchain we use.
"$FSN_TOP/scripts/kernel.sh" rustavailable
