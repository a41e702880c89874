# SPDX-License-Identifier: GPL-2.0
"""Single-file operations of every kind, one process each: create, write,
append, truncate, chmod, chown, utimes, open/close with and without
writing, rename within the directory, across directories and over an
existing target, hard link, symlink, mkdir, rmdir, xattr, unlink, and
finally the rename and removal of the watched file itself.

Watches: the directory, a subdirectory (renames across) and the file `f`
(its own events and its DELETE_SELF/IGNORED lifecycle)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "single-file"
SIZE = {"remote": 1, "local": 1}
WATCH = [".", "sub", "f"]
RENAME = True


def minimum(size):
    return {"inotify": 80, "fanotify": 10, "fanotify-rename": 5, "paths": 12,
            "peer-fanotify": 6}


def setup(root, ctx):
    os.mkdir(os.path.join(root, "sub"))
    with open(os.path.join(root, "f"), "w") as f:
        f.write("0\n")


OPS = [
    "echo data > new",
    "echo more >> new",
    "truncate -s 2 new",
    "chmod 600 new",
    "chown 1:1 new",
    "touch -d @1000000 new",
    "cat new > /dev/null",
    "exec 3>>new; exec 3>&-",
    "exec 3<new; exec 3<&-",
    "python3 -c \"import os; os.setxattr('new', 'user.a', b'1')\"",
    "mv new renamed",
    "mv renamed sub/moved",
    "mv sub/moved back",
    "echo v > victim; echo w > w; mv w victim",
    "ln victim hard",
    "echo x >> hard",
    "ln -s victim sym",
    "mkdir d",
    "rmdir d",
    "mkdir sub/d2",
    "mv sub/d2 d3",
    "rmdir d3",
    "echo more >> f",
    "truncate -s 1 f",
    "chmod 640 f",
    "touch f",
    "cat f > /dev/null",
    "rm hard victim sym back",
    "mv f g",
    "rm g",
]


def run(root, ctx):
    for op in OPS:
        sh(op)
