# SPDX-License-Identifier: GPL-2.0
#
# fuse-fsnotify top-level Makefile.
#
#   make              build rust/fuse_fsnotify.ko against the cached kernel
#   make test         set up, build everything, run every test in a guest
#   make conformance  only the conformance suite, in one guest; writes
#                     tests/results/conformance.md
#   make demo         set up, build, boot a guest and show the module at work
#   make bench        measure arming/removing many remote watches (BENCH_DIRS=N)
#   make kernel       build (or reuse) the cached test kernel
#   make setup        install what this machine lacks
#   make check        rustfmt + clippy on the module, fmt/clippy on tools/,
#                     checkpatch --strict on patches/
#   make rust-analyzer  write rust-project.json for the module
#   make clean        remove module build products
#   make clean-cache  remove the kernel cache (/var/cache/fuse-fsnotify)

SHELL := /bin/bash
PWD := $(shell pwd)

include scripts/toolchain.mk

KDIR ?= $(shell $(PWD)/scripts/kernel.sh kdir)
KMAKE = $(MAKE) -C $(KDIR) M=$(PWD) $(FSN_KMAKE_ARGS)

.PHONY: all modules setup kernel check checkpatch fmt clippy rust-analyzer tools \
	test conformance demo bench clean clean-cache

all: modules

modules:
	@test -f $(KDIR)/Module.symvers || { echo "no kernel build in $(KDIR): run 'make kernel'"; exit 1; }
	$(KMAKE) modules

setup:
	scripts/setup.sh

kernel: setup
	scripts/kernel.sh build

# rustfmt with the kernel's .rustfmt.toml, from the crate root (rustfmt follows
# `mod`, not the `include!` of the generated bindings).
fmt:
	/usr/bin/rustfmt --check --edition 2021 \
		--config-path $(KDIR)/source/.rustfmt.toml \
		rust/fuse_fsnotify.rs

clippy:
	$(KMAKE) CLIPPY=1 modules

# Kbuild's rust-analyzer target runs its generator from the kernel's rust/
# directory; with M= it would look for ours (same name), hence src=.
rust-analyzer:
	$(KMAKE) rust-analyzer src=$(KDIR)/source/rust

tools:
	cd tools && cargo build --release --locked

# checkpatch reads each patch from stdin: given a path git tracks it would
# check the .patch as a source file.
checkpatch:
	@for p in patches/*.patch; do \
		$(KDIR)/source/scripts/checkpatch.pl --strict --no-tree -q - <$$p || exit 1; \
	done

check: fmt clippy checkpatch
	cd tools && cargo fmt --check && cargo clippy --locked --all-targets -- -D warnings

test:
	scripts/test.sh

conformance: kernel
	scripts/conformance.sh

demo:
	scripts/demo.sh

# Arming/removal cost of many remote watches (tests/results/bench.md).
bench:
	scripts/bench.sh

clean:
	$(KMAKE) clean
	rm -f rust/bindings_generated.rs rust/.kernel-bindgen.mk

clean-cache:
	rm -rf /var/cache/fuse-fsnotify
