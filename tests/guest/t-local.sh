#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Changes made through the mount are reported once, as on a local filesystem.
set -eu
python3 tests/guest/t_local.py
