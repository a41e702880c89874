# SPDX-License-Identifier: GPL-2.0
"""Hard links: `x/a` and `y/b` are one inode. A change through one name
is seen by the watch on the other name (the watch is on the inode), and by
each directory's watch under its own name. Removing `x/a` leaves the inode
alive (ATTRIB for the link count, no DELETE_SELF); removing the last name
ends the watch."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "hard-links"
SIZE = {"remote": 1, "local": 1}
WATCH = ["x", "y", "x/a"]
RENAME = False


def minimum(size):
    return {"inotify": 20, "fanotify": 2, "paths": 2}


def setup(root, ctx):
    sh(f"""
    cd '{root}'
    mkdir x y
    echo one > x/a
    ln x/a y/b
    """)


def run(root, ctx):
    sh("""
    echo two >> y/b
    chmod 600 y/b
    touch -d @2000000 y/b
    cat y/b > /dev/null
    rm x/a
    echo three >> y/b
    rm y/b
    """)
