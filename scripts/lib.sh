# SPDX-License-Identifier: GPL-2.0
# Shared settings for the fuse-fsnotify scripts.  Sourced, never executed.
#
# Every script that builds kernel code sources this file so that the same
# toolchain is used everywhere: Debian's rustc-web (/usr/bin/rustc, which has
# rust-src) and never the rustup rustc in ~/.cargo/bin (which has no rust-src
# and would fail deep inside Kbuild with a cryptic error).

FSN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FSN_CACHE=${FSN_CACHE:-/var/cache/fuse-fsnotify}

# Pinned versions.  setup.sh installs exactly these.
FSN_BINDGEN_VERSION=0.69.5
FSN_VNG_VERSION=1.42
FSN_CARGO_FUZZ_VERSION=0.13.1
FSN_KERNEL_PKG=linux-source-6.12
FSN_WATCHDOG_VERSION=6.0.0  # Python watchdog, for tests/conformance

# Kernel build toolchain: clang/LLVM (KASAN + Rust needs LLVM=1 on 6.12),
# Debian's rustc, bindgen from cargo install.
# Userspace tools (tools/) build with the machine's rustup toolchain.
FSN_RUSTC=/usr/bin/rustc
FSN_BINDGEN=${CARGO_HOME:-$HOME/.cargo}/bin/bindgen
FSN_KMAKE_ARGS=(LLVM=1 "RUSTC=$FSN_RUSTC" "HOSTRUSTC=$FSN_RUSTC"
	"RUSTDOC=/usr/bin/rustdoc" "RUSTFMT=/usr/bin/rustfmt"
	"CLIPPY_DRIVER=/usr/bin/clippy-driver" "BINDGEN=$FSN_BINDGEN")

# /usr/bin first: anything Kbuild finds by name must be Debian's.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

fsn_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
fsn_die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# Debian package version of the kernel source, e.g. "6.12.117-1~deb12u1".
fsn_kernel_pkg_version() {
	dpkg-query -W -f='${Version}' "$FSN_KERNEL_PKG" 2>/dev/null
}

# Directory where the pristine+patched kernel source lives.
fsn_src_dir() {
	local v
	v=$(fsn_kernel_pkg_version) || return 1
	[ -n "$v" ] || return 1
	printf '%s/src/linux-%s\n' "$FSN_CACHE" "${v//[^A-Za-z0-9.+-]/_}"
}

# Hash of everything that decides the kernel configuration and toolchain.
# The build directory is keyed by it; the patch series is tracked by a stamp
# inside it, so that editing a patch rebuilds incrementally.
fsn_config_key() {
	{
		fsn_kernel_pkg_version
		cat "$FSN_TOP/kernel/fuse-fsnotify.config"
		printf '%s\n' "${FSN_KMAKE_ARGS[@]}"
		"$FSN_RUSTC" --version 2>/dev/null
		clang --version 2>/dev/null | head -n1
	} | sha256sum | cut -c1-16
}

# Hash of a list of patch files' contents (an empty list hashes too).
fsn_hash_files() {
	cat /dev/null "$@" | sha256sum | cut -c1-16
}

fsn_series_key() {
	shopt -s nullglob
	local p=("$FSN_TOP"/patches/*.patch)
	shopt -u nullglob
	fsn_hash_files "${p[@]}"
}

# The kernel build tree (O=), i.e. KDIR for the module build.
fsn_kdir() {
	local v
	v=$(fsn_kernel_pkg_version) || return 1
	[ -n "$v" ] || return 1
	printf '%s/build/%s-%s\n' "$FSN_CACHE" "${v//[^A-Za-z0-9.+-]/_}" "$(fsn_config_key)"
}

# Python tools (virtme-ng, and the watcher libraries of the conformance
# suite) live in a venv of Debian's python3, not in the system site-packages.
FSN_VENV="$FSN_CACHE/venv"
FSN_VNG="$FSN_VENV/bin/vng"
# Node watchers of the conformance suite: `npm ci` of tests/conformance/node
# into this directory (NODE_PATH=$FSN_NODE_DIR/node_modules).
FSN_NODE_DIR="$FSN_CACHE/node"
FSN_CARGO=${CARGO:-$HOME/.cargo/bin/cargo}
[ -x "$FSN_CARGO" ] || FSN_CARGO=$(command -v cargo || echo cargo)
