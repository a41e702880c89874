#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Remote changes reach watches on the mount, as on the backing directory.
set -eu
python3 tests/guest/t_remote.py
