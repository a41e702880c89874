# SPDX-License-Identifier: GPL-2.0
"""`tar x` of an archive of many small files into existing directories
(and one directory the archive creates). tar creates, writes, and sets
the mode and times of every file, and of each directory at the end.

Watches: the root and the four existing directories."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "tar-x"
SIZE = {"remote": 2000, "local": 100, "real": 1000}
QUICK = {"remote": 1000, "local": 40, "real": 300}
WATCH = ["**"]
RENAME = False


def minimum(size):
    # CREATE, OPEN, MODIFY, CLOSE_WRITE and ATTRIB per file in the four
    # watched directories (four fifths of the files); fanotify merges them.
    # Paths: chokidar loses a few of a burst even on the backing directory.
    return {"inotify": 4 * size, "fanotify": size // 2, "paths": size * 9 // 10}


def setup(root, ctx):
    src = os.path.join(ctx.scratch, "src")
    os.mkdir(src)
    for d in "abcd":
        os.mkdir(os.path.join(root, d))
        os.mkdir(os.path.join(src, d))
    os.mkdir(os.path.join(src, "e"))
    for i in range(ctx.size):
        d = "abcde"[i % 5]
        with open(os.path.join(src, d, f"file{i:05d}"), "w") as f:
            f.write(f"content {i}\n")
    sh(f"cd {src} && tar cf {ctx.scratch}/t.tar a b c d e")


def run(root, ctx):
    sh(f"tar xf {ctx.scratch}/t.tar")
