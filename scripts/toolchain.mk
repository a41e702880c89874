# SPDX-License-Identifier: GPL-2.0
# The kernel toolchain of scripts/lib.sh, for make.  Kept in one place: the
# variables are read from lib.sh itself.
FSN_KMAKE_ARGS := $(shell bash -c '. $(dir $(lastword $(MAKEFILE_LIST)))lib.sh && echo "$${FSN_KMAKE_ARGS[@]}"')
export PATH := /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$(PATH)
