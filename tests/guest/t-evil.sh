#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A malicious server's malformed batches are rejected, counted, and cannot
# hurt the guest.
set -eu
python3 -u tests/guest/t_evil.py
