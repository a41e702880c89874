#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Changes made directly on the backing directory (the remote side) reach
inotify watches on the FUSE mount: the same watches on the backing
directory are the oracle, and the two streams must match, per watch and in
order, after normalising watch descriptors and cookie values (not cookie
pairing).

Both a directory watch and a watch on a file in it, for all inotify
events, across the single-file operations: create, write, append,
truncate, chmod, chown, utimes, read (open/access/close), rename within
the directory, across watched directories (the MOVED_FROM/MOVED_TO
pair shares a cookie across two watches) and over an existing target,
hard links, symlinks, xattrs,
unlink, mkdir, rmdir, and the rename and removal of the watched file."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

DIR_MASK = IN_ALL_EVENTS
FILE_MASK = IN_ALL_EVENTS


def watch(root):
    ino = Inotify()
    wds = {
        ino.add(root, DIR_MASK): "dir",
        ino.add(os.path.join(root, "sub"), DIR_MASK): "sub",
        ino.add(os.path.join(root, "f"), FILE_MASK): "f",
    }
    return ino, wds


work, backing, mnt = tmpfs_work()
with open(os.path.join(backing, "f"), "w") as f:
    f.write("0\n")
os.mkdir(os.path.join(backing, "sub"))
log = out_path("server-remote.log")

ops = [
    "truncate -s 1 f",
    "chown 1:1 f",
    "touch -d @1000000 f",
    "cat f > /dev/null",
    "echo t > t; mv t f2; mv f2 f3",
    "echo v > victim; echo w > w; mv w victim",
    "ln victim hard",
    "echo x >> hard",
    "ln -s victim sym",
    "python3 -c \"import os; os.setxattr('victim', 'user.a', b'1')\"",
    "rm hard victim sym f3",
    "echo data > new",
    "chmod 600 new",
    "mv new new2",
    "mv new2 sub/new3",
    "echo x > sub/over; mv sub/new3 sub/over",
    "mv sub/over new2",
    "mkdir sub/dd; mv sub/dd dd; rmdir dd",
    "rm new2",
    "echo more >> f",
    "touch f",
    "mkdir d",
    "rmdir d",
    "mv f g",
    "rm g",
]

with ServerMount(backing, mnt, log):
    oracle, owds = watch(backing)
    remote, rwds = watch(mnt)
    for op in ops:
        # Another process than the server: a remote change.
        subprocess.run(["sh", "-c", op], cwd=backing, check=True)
        time.sleep(0.1)
    want = normalise(oracle.read(1.0), owds)
    got = normalise(remote.read(1.5), rwds)

show("oracle (watch on the backing directory)", want, "mount (watch on the FUSE mount)", got)
for n in ("batches", "events_injected", "events_dropped", "overflows", "rejected"):
    print(f"{n}={counter(n)}")
expect(len(want) >= 90, f"the oracle saw {len(want)} events")
# Per watch, in order (the order across watches is not inotify's contract:
# the DELETE_SELF of an object the guest still has a dentry of is held
# back briefly, see Documentation/design.rst).
expect_same_per_watch(want, got, "as on the backing directory")
subprocess.run(["umount", work], check=True)
