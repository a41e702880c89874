# SPDX-License-Identifier: GPL-2.0
"""Helpers for workloads: each step runs as its own process in the
current directory (the tree under test), as a user's tools would, so that
on the remote side the changes never come from the server's process."""
import subprocess


def sh(script):
    """Run a shell script; a failing command fails the workload."""
    subprocess.run(["sh", "-ec", script], check=True)


def py(code, *args):
    """Run Python code in a fresh interpreter."""
    subprocess.run(["python3", "-c", code, *args], check=True)
