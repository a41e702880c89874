#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Our server as a virtiofs backend (tag fsnvfs): remote changes reach
# inotify watches on the virtiofs mount.
set -eu
python3 tests/guest/t_virtiofs_remote.py
