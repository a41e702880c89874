# SPDX-License-Identifier: GPL-2.0
"""An append-only log writer: one process appending lines to two logs in
turn (an application log and an audit log), with a short pause between
lines, then rotating the application log (rename to .1, new file).
Alternating files keeps consecutive events different, so inotify's merge
of identical consecutive events does not hide any write: every line is
one MODIFY."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import py  # noqa: E402

NAME = "append-log"
SIZE = {"remote": 100, "local": 30}
QUICK = {"remote": 50, "local": 15}
WATCH = [".", "app.log"]
RENAME = True

CODE = """
import os, sys, time
n = int(sys.argv[1])
app = os.open("app.log", os.O_WRONLY | os.O_APPEND)
audit = os.open("audit.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
for i in range(n):
    os.write(app, b"line %d\\n" % i)
    os.write(audit, b"audit %d\\n" % i)
    time.sleep(0.005)
os.close(audit)
os.rename("app.log", "app.log.1")
fd = os.open("app.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, b"after rotation\\n")
os.close(app)
os.close(fd)
"""


def minimum(size):
    return {"inotify": 3 * size, "fanotify": 3, "fanotify-rename": 1, "paths": 3}


def setup(root, ctx):
    open(os.path.join(root, "app.log"), "w").close()


def run(root, ctx):
    py(CODE, str(ctx.size))
