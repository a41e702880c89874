#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Remote marks reach the server, armed before the syscall returns.
set -eu
python3 tests/guest/t_marks.py
