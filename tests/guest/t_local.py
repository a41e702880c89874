#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Local changes stay local: operations done through the FUSE mount are
reported once (by the guest's own VFS; the server does not echo them back).
The oracle is the same operations on a plain tmpfs directory with the same
watches (one on the directory, one on a file in it); the streams are
compared per watch, in order.  The watched file is written, truncated,
touched, read, hard-linked, renamed and finally unlinked by the guest,
which must end its watch with exactly one DELETE_SELF + IGNORED."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

OPS = [
    "echo data > new",
    "chmod 600 new",
    "chown 1:1 new",
    "python3 -c \"import os; os.setxattr('new', 'user.a', b'1')\"",
    "mv new new2",
    "echo more >> f",
    "truncate -s 1 f",
    "touch -d @1000000 f",
    "cat f > /dev/null",
    "ln f hard",
    "echo x >> hard",
    "rm hard",
    "ln new2 hard",
    "ln -s f sym",
    "mkdir d",
    "mv new2 d/new3",
    "mv d/new3 new2",
    "rm -r d",
    "echo v > victim; echo w > w; mv w victim",
    "rm new2 hard sym victim",
    "mv f g",
    "rm g",
]


def run(root):
    with open(os.path.join(root, "f"), "w") as fh:
        fh.write("0\n")
    ino = Inotify()
    wds = {ino.add(root, IN_ALL_EVENTS): "dir", ino.add(os.path.join(root, "f"), IN_ALL_EVENTS): "f"}
    ino.read(0.3)
    for op in OPS:
        subprocess.run(["sh", "-c", op], cwd=root, check=True)
        time.sleep(0.05)
    # Wait long enough for any (wrong) remote echo to arrive too.
    events = ino.read(1.5)
    ino.close()
    return normalise(events, wds)


work, backing, mnt = tmpfs_work()
plain = os.path.join(work, "plain")
os.mkdir(plain)
want = run(plain)
with ServerMount(backing, mnt, out_path("server-local.log")):
    got = run(mnt)
show("oracle (plain tmpfs)", want, "mount", got)
expect(len(want) >= 50, f"the oracle saw {len(want)} events")
# Per watch, in order: across watches the order may differ (the DELETE_SELF
# of an unlinked watched file comes when the server confirms the remote
# object is gone, after the parent's DELETE; see Documentation/design.rst).
expect_same_per_watch(want, got, "reported once, as on a local filesystem")

# The server reports the death of what the guest unlinks (for limbo), and
# that report may overtake the reply to the guest's UNLINK: it must not
# get ahead of the unlink's own ATTRIB.  Repeated to meet the race.
with ServerMount(backing, mnt, out_path("server-local.log")):
    bad = []
    for i in range(30):
        p = os.path.join(mnt, f"r{i}")
        open(p, "w").close()
        ino = Inotify()
        ino.add(p, IN_ATTRIB | IN_DELETE_SELF)
        os.unlink(p)
        got = [e[1] for e in ino.read(0.3)]
        ino.close()
        if got != [IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED]:
            bad.append((i, got))
    expect(not bad, f"30 unlinks of a watched file: ATTRIB, DELETE_SELF, IGNORED each time {bad}")
    # The same for a rename over the watched file (an editor's atomic
    # save): the VFS unhashes the target's dentry before it reports the
    # ATTRIB, so the dentry alone cannot tell that the guest's own
    # operation is still under way.
    bad = []
    for i in range(30):
        p, tmp = os.path.join(mnt, f"s{i}"), os.path.join(mnt, f".s{i}.tmp")
        open(p, "w").close()
        open(tmp, "w").close()
        ino = Inotify()
        ino.add(p, IN_ATTRIB | IN_DELETE_SELF)
        os.rename(tmp, p)
        got = [e[1] for e in ino.read(0.3)]
        ino.close()
        if got != [IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED]:
            bad.append((i, got))
    expect(not bad, f"30 renames over a watched file: ATTRIB, DELETE_SELF, IGNORED each time {bad}")
subprocess.run(["umount", work], check=True)
