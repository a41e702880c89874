# SPDX-License-Identifier: GPL-2.0
"""`rm -rf` of a deep tree: a chain of nested directories with side
branches and files at every level. Every directory is watched, so every
watch ends with DELETE_SELF and IGNORED, and every parent sees its
children go (DELETE, DELETE|ISDIR)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "rm-rf"
# Entries in the tree (directories and files), about.
SIZE = {"remote": 300, "local": 60}
QUICK = {"remote": 150, "local": 30}
WATCH = ["**"]
RENAME = False


def minimum(size):
    # DELETE in the parent for each entry, DELETE_SELF + IGNORED per directory.
    return {"inotify": size, "fanotify": size // 3, "paths": size // 3}


def setup(root, ctx):
    # depth-long chain; at each level `side` side directories with 2 files
    # each, and 2 files in the chain directory itself.
    side = 2
    per_level = 1 + 2 + side * 3
    depth = max(2, ctx.size // per_level)
    d = os.path.join(root, "tree")
    for level in range(depth):
        os.mkdir(d)
        for j in range(2):
            open(os.path.join(d, f"f{j}"), "w").close()
        for s in range(side):
            sd = os.path.join(d, f"side{s}")
            os.mkdir(sd)
            for j in range(2):
                open(os.path.join(sd, f"g{j}"), "w").close()
        d = os.path.join(d, f"l{level + 1}")


def run(root, ctx):
    sh("rm -rf tree")
