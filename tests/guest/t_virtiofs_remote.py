#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fuse-fsnotify-server as a virtiofs (vhost-user-fs) backend.

scripts/test.sh starts the server on the host in virtiofs mode, exporting
$FSN_OUT/fsn-vfs-backing, and attaches it to the guest as tag "fsnvfs".
The guest also sees that directory through virtme-ng's 9p share of
$FSN_OUT: a change made there is made on the host by QEMU's 9p server, so
it is a remote change for the virtiofs mount.

The guest's 9p has no inotify for host changes, so the oracle is the list
of events a watch on the host directory reports for each operation,
written below. Checked: the module probes the server as supported; remote
create, modify, close_write, attrib, a rename as a MOVED_FROM/MOVED_TO pair
with one cookie, delete, and DELETE_SELF + IGNORED of a watched file reach
the watches on the mount; and changes made through the mount itself are
reported once (the server suppresses its own echo); and a second mount of
the device (a new FUSE session) gets events too."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

# No OPEN/ACCESS/CLOSE_NOWRITE: QEMU's 9p server opens and reads the
# host directory for every lookup the guest makes through the share, and
# each of those is (rightly) a remote event too.
MASK = (
    IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM
    | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
)
D = IN_ISDIR

share = out_path("fsn-vfs-backing")
expect(os.path.isdir(share), f"the server's backing directory {share} exists")
remote = os.path.join(share, "w")
os.mkdir(remote)

mnt = tempfile.mkdtemp()
subprocess.run(["mount", "-t", "virtiofs", "fsnvfs", mnt], check=True)
local = os.path.join(mnt, "w")

supported = counter("servers_supported")
ino = Inotify()
wds = {ino.add(local, MASK): "dir"}
# The module probes a connection when its first remote watch is armed.
expect(counter("servers_supported") == supported + 1,
       "the module probed the virtiofs server as supported")
before = {n: counter(n) for n in ("events_dropped", "rejected", "overflows")}


def merged(events):
    """Events with runs of identical ones merged into one."""
    return [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]


def step(what, op, want, merge=True):
    """Runs `op`, then compares the events per watch with `want`
    ({watch: [(mask, cookie, name)]}, cookies as c0, c1, ...).

    With `merge`, identical consecutive events count as one on both sides:
    a host watch does not see a fixed number of them either (inotify and
    fanotify merge an event into an identical one still queued), and QEMU's
    9p server changes attributes twice after a create (mode and owner).
    Changes made through the mount are compared without merging, so that
    an echo of one of them could not hide behind the original."""
    op()
    got = {
        w: [e[1:] for e in evs]
        for w, evs in per_watch(normalise(ino.read(1.0), wds)).items()
    }
    want = {w: evs for w, evs in want.items() if evs}
    if merge:
        got = {w: merged(evs) for w, evs in got.items()}
    if got != want:
        print(f"FAIL: {what}:\n    want {want}\n    got  {got}")
        sys.exit(1)
    print(f"ok: {what}: {got}")


def r(name):
    return os.path.join(remote, name)


def create():
    os.close(os.open(r("f"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def append():
    with open(r("f"), "a") as f:
        f.write("x")


# QEMU's 9p server sets the attributes of a new object right after
# creating it: a host watch sees CREATE then ATTRIB (once or twice).
step("remote create", create, {
    "dir": [(IN_CREATE, "", "f"), (IN_ATTRIB, "", "f"), (IN_CLOSE_WRITE, "", "f")],
})
wds[ino.add(os.path.join(local, "f"), MASK)] = "f"
step("remote write", append, {
    "dir": [(IN_MODIFY, "", "f"), (IN_CLOSE_WRITE, "", "f")],
    "f": [(IN_MODIFY, "", ""), (IN_CLOSE_WRITE, "", "")],
})
step("remote chmod", lambda: os.chmod(r("f"), 0o600), {
    "dir": [(IN_ATTRIB, "", "f")],
    "f": [(IN_ATTRIB, "", "")],
})
step("remote rename", lambda: os.rename(r("f"), r("g")), {
    "dir": [(IN_MOVED_FROM, "c0", "f"), (IN_MOVED_TO, "c0", "g")],
    "f": [(IN_MOVE_SELF, "", "")],
})
# The link count changes (ATTRIB), the object dies (DELETE_SELF) and the
# watch ends (IGNORED); the directory loses the name.
step("remote unlink of a watched file", lambda: os.unlink(r("g")), {
    "dir": [(IN_DELETE, "", "g")],
    "f": [(IN_ATTRIB, "", ""), (IN_DELETE_SELF, "", ""), (IN_IGNORED, "", "")],
})
step("remote mkdir", lambda: os.mkdir(r("d")), {
    "dir": [(IN_CREATE | D, "", "d"), (IN_ATTRIB | D, "", "d")],
})
step("remote rmdir", lambda: os.rmdir(r("d")), {
    "dir": [(IN_DELETE | D, "", "d")],
})


def local_write():
    with open(os.path.join(local, "l"), "w") as f:
        f.write("y")


# Through the mount: the guest's VFS reports these itself; the server must
# not send them back.
step("local create and write, reported once", local_write, {
    "dir": [(IN_CREATE, "", "l"), (IN_MODIFY, "", "l"), (IN_CLOSE_WRITE, "", "l")],
}, merge=False)
step("local chmod, reported once", lambda: os.chmod(os.path.join(local, "l"), 0o600), {
    "dir": [(IN_ATTRIB, "", "l")],
}, merge=False)
step("local unlink, reported once", lambda: os.unlink(os.path.join(local, "l")), {
    "dir": [(IN_DELETE, "", "l")],
}, merge=False)
step("remote create after local changes", lambda: open(r("h"), "w").close(), {
    "dir": [(IN_CREATE, "", "h"), (IN_ATTRIB, "", "h"), (IN_CLOSE_WRITE, "", "h")],
})

after = {n: counter(n) for n in before}
expect(after == before, f"nothing dropped or rejected: {before} -> {after}")
ino.close()
subprocess.run(["umount", mnt], check=True)
print("ok: unmounted")

# A new mount over the same device is a new FUSE session: the server
# starts its remote watches afresh (nodeids are reused), and events flow.
subprocess.run(["mount", "-t", "virtiofs", "fsnvfs", mnt], check=True)
ino = Inotify()
wds = {ino.add(local, MASK): "dir"}
step("remote create after a remount", lambda: open(r("k"), "w").close(), {
    "dir": [(IN_CREATE, "", "k"), (IN_ATTRIB, "", "k"), (IN_CLOSE_WRITE, "", "k")],
})
ino.close()
subprocess.run(["umount", mnt], check=True)
print("ok: unmounted again")
