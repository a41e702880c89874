# SPDX-License-Identifier: GPL-2.0
"""An editor's atomic save, three times: write a temporary file, fsync,
rename it over the target. Then vim's backup-and-write pattern (the
default `writebackup` with `backupcopy=no`): rename the target to `doc~`,
write a new `doc`, remove the backup.

The watch on the target file shows the lifecycle the pattern implies:
after the first rename over it, the watched inode is gone (DELETE_SELF,
IGNORED); a watcher must re-add its watch, which inotify users do."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import py  # noqa: E402

NAME = "editor-save"
SIZE = {"remote": 3, "local": 3}
WATCH = [".", "doc.txt"]
RENAME = True

ATOMIC = """
import os, sys
for i in range(int(sys.argv[1])):
    tmp = ".doc.txt.tmp%d" % i
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"version %d\\n" % i)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, "doc.txt")
"""
VIM = """
import os
os.rename("doc.txt", "doc.txt~")
fd = os.open("doc.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"vim wrote this\\n")
os.fsync(fd)
os.close(fd)
os.chmod("doc.txt", 0o644)
os.unlink("doc.txt~")
"""


def minimum(size):
    return {"inotify": 6 * size + 8, "fanotify": size + 1, "fanotify-rename": size + 1,
            # chokidar folds an atomic save into one change of the target.
            "paths": 1,
            "peer-fanotify": 3}


def setup(root, ctx):
    with open(os.path.join(root, "doc.txt"), "w") as f:
        f.write("original\n")


def run(root, ctx):
    py(ATOMIC, str(ctx.size))
    py(VIM)
