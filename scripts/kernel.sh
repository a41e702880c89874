#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test kernel with a cache outside the checkout.
#
#   scripts/kernel.sh [build]      extract, patch, configure, build (cached)
#   scripts/kernel.sh kdir         print the build tree (KDIR) for this config
#   scripts/kernel.sh rustavailable  run `make rustavailable` on the tree
#
# Cache layout (FSN_CACHE, default /var/cache/fuse-fsnotify):
#   src/linux-<debian version>/        Debian's linux-source-6.12, extracted
#       .fsn-applied/NNNN-*.patch      the patches currently applied to it
#   build/<debian version>-<key>/      O= build tree, key = hash(config
#                                      fragment, toolchain, make flags)
#       .fsn-series                    hash of the patch series it was built with
#
# A warm run (same version, config and series) only compares hashes.  A changed
# series is switched by reverse-applying the old patches and applying the new
# ones with patch(1): only the files they touch get a new mtime, so make
# rebuilds only what depends on them.  Clear the cache with
# `rm -rf /var/cache/fuse-fsnotify` (or `make clean-cache`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd=${1:-build}

SRC=$(fsn_src_dir) || fsn_die "$FSN_KERNEL_PKG is not installed (run scripts/setup.sh)"
KDIR=$(fsn_kdir)

if [ "$cmd" = kdir ]; then
	echo "$KDIR"
	exit 0
fi

mkdir -p "$FSN_CACHE/src" "$FSN_CACHE/build"
exec 9>"$FSN_CACHE/.lock"
flock 9

kmake() {
	make -C "$SRC" O="$KDIR" "${FSN_KMAKE_ARGS[@]}" "$@"
}

extract_src() {
	[ -f "$SRC/Makefile" ] && [ -f "$SRC/.fsn-extracted" ] && return 0
	fsn_log "extracting /usr/src/$FSN_KERNEL_PKG.tar.xz into $SRC"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xf "/usr/src/$FSN_KERNEL_PKG.tar.xz" -C "$SRC.tmp" --strip-components=1
	mkdir -p "$SRC.tmp/.fsn-applied"
	touch "$SRC.tmp/.fsn-extracted"
	mv "$SRC.tmp" "$SRC"
}

# Make the source tree carry exactly patches/*.patch, in order.
apply_series() {
	shopt -s nullglob
	local applied=("$SRC"/.fsn-applied/*.patch) want=("$FSN_TOP"/patches/*.patch)
	shopt -u nullglob

	if [ "$(applied_key)" = "$(fsn_series_key)" ]; then
		return 0
	fi

	local i p
	for ((i = ${#applied[@]} - 1; i >= 0; i--)); do
		p=${applied[$i]}
		fsn_log "reverting $(basename "$p")"
		patch -d "$SRC" -p1 -R -s --batch --no-backup-if-mismatch <"$p" ||
			fsn_die "cannot revert $(basename "$p"); the source tree was modified by hand: rm -rf $SRC"
		rm -f "$p"
	done
	for p in "${want[@]}"; do
		fsn_log "applying $(basename "$p")"
		if ! patch -d "$SRC" -p1 -s --batch --forward --dry-run <"$p" >/tmp/fsn-patch.$$ 2>&1; then
			cat /tmp/fsn-patch.$$ >&2
			rm -f /tmp/fsn-patch.$$
			fsn_die "patch $(basename "$p") does not apply to $(basename "$SRC")"
		fi
		rm -f /tmp/fsn-patch.$$
		patch -d "$SRC" -p1 -s --batch --forward --no-backup-if-mismatch <"$p" ||
			fsn_die "patch $(basename "$p") failed to apply"
		cp "$p" "$SRC/.fsn-applied/"
	done
}

applied_key() {
	shopt -s nullglob
	local applied=("$SRC"/.fsn-applied/*.patch)
	shopt -u nullglob
	fsn_hash_files "${applied[@]}"
}

rust_available() {
	mkdir -p "$KDIR"
	if ! kmake -s rustavailable >/tmp/fsn-rustavail.$$ 2>&1; then
		cat /tmp/fsn-rustavail.$$ >&2
		rm -f /tmp/fsn-rustavail.$$
		fsn_die "the Rust toolchain is not usable for the kernel (rustc=$FSN_RUSTC, bindgen=$FSN_BINDGEN); run scripts/setup.sh"
	fi
	rm -f /tmp/fsn-rustavail.$$
}

configure() {
	local frag="$FSN_TOP/kernel/fuse-fsnotify.config"
	fsn_log "configuring $KDIR (allnoconfig + $(basename "$frag"))"
	kmake -s allnoconfig
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$KDIR" "$KDIR/.config" "$frag" >/dev/null
	kmake -s olddefconfig
	# Every option the fragment asks for must have survived.
	local bad=0 line opt val
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		opt=${line%%=*}
		val=${line#*=}
		if [ "$val" = n ]; then
			grep -qx "$opt=y" "$KDIR/.config" && { fsn_log "config: $opt is y, wanted n"; bad=1; }
		else
			grep -qx "$line" "$KDIR/.config" || { fsn_log "config: $line did not resolve"; bad=1; }
		fi
	done <"$frag"
	[ $bad = 0 ] || fsn_die "kernel config fragment did not resolve (see above)"
	cp "$frag" "$KDIR/.fsn-fragment"
}

case "$cmd" in
rustavailable)
	extract_src
	rust_available
	echo "Rust is available for $(basename "$SRC") ($($FSN_RUSTC --version), bindgen $($FSN_BINDGEN --version | awk '{print $2}'))"
	;;
build)
	extract_src
	series=$(fsn_series_key)
	if [ -f "$KDIR/arch/x86/boot/bzImage" ] && [ "$(cat "$KDIR/.fsn-series" 2>/dev/null)" = "$series" ] &&
		[ "$(applied_key)" = "$series" ]; then
		fsn_log "kernel cache hit: $KDIR"
		exit 0
	fi
	apply_series
	rust_available
	[ -f "$KDIR/.config" ] && cmp -s "$KDIR/.fsn-fragment" "$FSN_TOP/kernel/fuse-fsnotify.config" || configure
	rm -f "$KDIR/.fsn-series"
	start=$(date +%s)
	fsn_log "building kernel in $KDIR (series $series)"
	kmake -j"$(($(nproc) + 1))" all
	echo "$series" >"$KDIR/.fsn-series"
	fsn_log "kernel built in $(($(date +%s) - start)) s"
	;;
*)
	fsn_die "unknown command: $cmd"
	;;
esac
