#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Remote bursts beyond the queues: IN_Q_OVERFLOW, no hang.
set -eu
python3 tests/guest/t_overflow.py
