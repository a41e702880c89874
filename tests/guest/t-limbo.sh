#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Limbo of watched inodes the guest unlinked.
set -eu
python3 tests/guest/t_limbo.py
