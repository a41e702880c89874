# SPDX-License-Identifier: GPL-2.0
"""`mv` of a directory whose children are watched: the moved directory's
watch gets MOVE_SELF, the children's watches keep working under the new
path (events after the move are reported on the same watches), then the
tree is changed and removed at its new place."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "mv-dir"
SIZE = {"remote": 1, "local": 1}
WATCH = [".", "proj", "proj/src", "proj/src/a.c", "proj/docs", "dest"]
RENAME = True


def minimum(size):
    return {"inotify": 25, "fanotify": 6, "fanotify-rename": 3, "paths": 8}


def setup(root, ctx):
    for d in ("proj/src", "proj/docs", "dest"):
        os.makedirs(os.path.join(root, d))
    for f in ("proj/src/a.c", "proj/src/b.c", "proj/docs/readme"):
        with open(os.path.join(root, f), "w") as fh:
            fh.write("x\n")


def run(root, ctx):
    sh("""
    mv proj dest/proj2
    echo more >> dest/proj2/src/a.c
    touch dest/proj2/docs/new
    mv dest/proj2/src/b.c dest/proj2/docs/
    mv dest/proj2/docs dest/docs2
    mv dest/proj2 moved-back
    rm -r moved-back dest/docs2
    """)
