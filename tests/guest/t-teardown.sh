#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Killing the server, unmounting and rmmod in the middle of traffic.
set -eu
python3 tests/guest/t_teardown.py
