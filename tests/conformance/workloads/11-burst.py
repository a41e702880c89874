# SPDX-License-Identifier: GPL-2.0
"""20,000 file creations as fast as the guest can go (the burst that
breaks forwarders): one process creating and closing empty files in one
directory. On the remote side this is beyond the default queues
(max_queued_events 16384, and the server's --queue-limit 16384 records),
so the watchers read while it runs, as an application would, and the
comparison follows the overflow rule of Documentation/conformance.rst."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import py  # noqa: E402

NAME = "burst-20k"
SIZE = {"remote": 20000, "local": 300, "real": 20000}
QUICK = {"remote": 20000, "local": 100, "real": 2000}
WATCH = ["burst"]
RENAME = False
LOSSY = True

CODE = """
import os, sys, time
n = int(sys.argv[1])
t = time.monotonic()
for i in range(n):
    os.close(os.open("burst/f%05d" % i, os.O_CREAT | os.O_WRONLY, 0o644))
t = time.monotonic() - t
with open(sys.argv[2], "w") as f:
    f.write("%.3f" % t)
"""


def minimum(size):
    # CREATE, OPEN, CLOSE_WRITE per file in the reference; fanotify may
    # merge a file's three into one. Paths: chokidar loses a few of a
    # burst even on the backing directory.
    return {"inotify": 3 * size, "fanotify": size, "paths": size * 9 // 10}


def setup(root, ctx):
    os.mkdir(os.path.join(root, "burst"))


def run(root, ctx):
    py(CODE, str(ctx.size), os.path.join(ctx.scratch, "burst-time"))


def note(size, took):
    return f"{size / took:.0f} creations/s"
