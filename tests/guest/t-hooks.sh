#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# fsnotify provider hooks reach the module for FUSE inodes only.
set -eu
python3 tests/guest/t_hooks.py
