#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the cached test kernel under virtme-ng (QEMU TCG) and run one command
# in the guest as root.
#
#   scripts/vm.sh [options] -- COMMAND [ARG...]
#
# Options:
#   --out DIR            host directory, writable in the guest at the same
#                        path; receives console.log, dmesg.txt and rc
#                        (default: a new directory under /tmp)
#   --timeout SEC        kill the guest after SEC seconds (default 600)
#   --virtiofs TAG=SOCK  attach a vhost-user-fs device whose backend is
#                        already listening on SOCK (repeatable)
#   --memory SIZE        guest memory (default 2G)
#   --quiet              do not echo the console to stdout
#
# Exit status: the command's, or 124 when the guest timed out (the last
# console lines are printed), or 125 when the guest never ran the command.
# The guest sees the host's filesystem read-only (virtme-ng's share), so the
# module and the tests are used in place from the checkout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out="" timeout=600 memory=2G quiet=0 need_shared_mem=0
qemu_opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--virtiofs)
		tag=${2%%=*} sock=${2#*=}
		[ -S "$sock" ] || fsn_die "--virtiofs $2: $sock is not a listening socket"
		n=${#qemu_opts[@]}
		qemu_opts+=("-chardev socket,id=fsnvfs$n,path=$sock -device vhost-user-fs-pci,chardev=fsnvfs$n,tag=$tag")
		need_shared_mem=1
		shift 2
		;;
	--) shift; break ;;
	*) fsn_die "unknown option $1 (see the header of $0)" ;;
	esac
done
[ $# -gt 0 ] || fsn_die "no command given"

KDIR=$(fsn_kdir)
image="$KDIR/arch/x86/boot/bzImage"
[ -f "$image" ] || fsn_die "no kernel at $image: run 'make kernel'"
[ -x "$FSN_VNG" ] || fsn_die "virtme-ng missing: run scripts/setup.sh"

[ -n "$out" ] || out=$(mktemp -d /tmp/fsn-vm.XXXXXX)
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/rc" "$out/dmesg.txt"

# The guest wrapper records the exit code and the kernel log in $out even
# when the command fails; a guest that dies before it does leaves no rc.
guest_cmd="cd $(printf %q "$PWD") && $(printf '%q ' "$@"); rc=\$?; dmesg > $out/dmesg.txt; echo \$rc > $out/rc; exit \$rc"

# The root filesystem is always virtme-ng's 9p share (--force-9p): then the
# guest memory layout is ours to choose, and a vhost-user-fs device, which
# needs all guest RAM in a shared memfd, gets exactly one such backend.
vng_args=(--run "$image" --disable-kvm --force-9p --user root --cpus 2 --memory "$memory"
	--rwdir "$out" --verbose --append "oops=panic panic=-1")
if [ $need_shared_mem = 1 ]; then
	qemu_opts+=("-object memory-backend-memfd,id=fsnmem,size=$memory,share=on -numa node,memdev=fsnmem")
fi
if [ ${#qemu_opts[@]} -gt 0 ]; then
	vng_args+=("--qemu-opts=${qemu_opts[*]}")
fi

console="$out/console.log"
timeout --kill-after=10 "$timeout" "$FSN_VNG" "${vng_args[@]}" --exec "$guest_cmd" \
	</dev/null >"$console" 2>&1 &
vng_pid=$!
if [ $quiet = 0 ]; then
	tail -n +1 -F --pid=$vng_pid "$console" 2>/dev/null &
fi
set +e
wait $vng_pid
vrc=$?
set -e
wait

if [ $vrc = 124 ] || [ $vrc = 137 ]; then
	echo "vm.sh: guest timed out after ${timeout}s; last console lines:" >&2
	tail -n 30 "$console" | sed 's/^/  | /' >&2
	exit 124
fi
if [ ! -f "$out/rc" ]; then
	echo "vm.sh: the guest did not run the command (vng exit $vrc); last console lines:" >&2
	tail -n 30 "$console" | sed 's/^/  | /' >&2
	exit 125
fi
exit "$(cat "$out/rc")"
