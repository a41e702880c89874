# SPDX-License-Identifier: GPL-2.0
"""The recursive watcher's race: create a directory and immediately files
inside it. A recursive watcher learns of the directory from its parent's
CREATE and must add a watch and scan it before it sees what was created
inside meanwhile. The exact watchers watch the root only (the race is
the real watchers' business); the real watchers must find every file."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import py  # noqa: E402

NAME = "mkdir-race"
SIZE = {"remote": 20, "local": 5}
QUICK = {"remote": 10, "local": 3}
WATCH = ["."]
RENAME = False

CODE = """
import os, sys
n = int(sys.argv[1])
for i in range(n):
    os.mkdir("d%d" % i)
    for j in range(5):
        with open("d%d/f%d" % (i, j), "w") as f:
            f.write("x")
"""


def minimum(size):
    # CREATE|ISDIR per directory on the root watch (plus the ATTRIB-free
    # rest is inside); paths: the directories and their files.
    return {"inotify": size, "fanotify": size, "paths": 4 * size}


def setup(root, ctx):
    pass


def run(root, ctx):
    py(CODE, str(ctx.size))
