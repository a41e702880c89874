#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Remote changes reach fanotify (FAN_REPORT_DFID_NAME) marks on the mount.
set -eu
python3 tests/guest/t_fanotify.py
