#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Limbo: a watched file the guest unlinks while the object lives on at the
server (another handle keeps it open) reports DELETE_SELF + IGNORED only
when the last handle closes, as a watch on the backing file does; and an
unmount releases what is still in limbo."""
import atexit
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

LIMBO_MAX = "/sys/module/fuse_fsnotify/parameters/limbo_max"


def restore_limbo_max():
    """Puts the default back even when a check failed (later tests rely on
    it)."""
    with open(LIMBO_MAX, "w") as f:
        f.write("1024")


atexit.register(restore_limbo_max)
work, backing, mnt = tmpfs_work()
for n in ("held", "kept", "e1", "e2"):
    with open(os.path.join(backing, n), "w") as f:
        f.write(n)

server = ServerMount(backing, mnt, out_path("server-limbo.log"))
with server:
    l0 = {n: counter(n) for n in ("limbo_entered", "limbo_released")}
    oracle, guest = Inotify(), Inotify()
    oracle.add(os.path.join(backing, "held"), IN_ALL_EVENTS)
    guest.add(os.path.join(mnt, "held"), IN_ALL_EVENTS)
    # The other side keeps the object open.
    fd = os.open(os.path.join(backing, "held"), os.O_RDONLY)
    oracle.read(0.3)
    guest.read(0.3)

    os.unlink(os.path.join(mnt, "held"))
    o = [e[1] for e in oracle.read(0.5)]
    g = [e[1] for e in guest.read(0.5)]
    expect(IN_DELETE_SELF not in o, f"backing watch: no DELETE_SELF while open: {o}")
    expect(g == [IN_ATTRIB], f"mount watch: only the link-count ATTRIB: {g}")
    expect(counter("limbo_entered") == l0["limbo_entered"] + 1, "inode kept in limbo")

    os.close(fd)
    o = [e[1] for e in oracle.read(0.5)]
    g = [e[1] for e in guest.read(1.0)]
    expect(o == [IN_CLOSE_NOWRITE, IN_DELETE_SELF, IN_IGNORED], f"backing watch at close: {o}")
    # The other side's close is a remote event too: the same stream.
    expect(g == o, f"mount watch at close, same as the backing watch: {g}")
    expect(counter("limbo_released") == l0["limbo_released"] + 1, "limbo released")

    # Bounded: with limbo_max=1, a second entry evicts the first, whose
    # watch ends locally at once (DELETE_SELF + IGNORED).
    with open("/sys/module/fuse_fsnotify/parameters/limbo_max", "w") as f:
        f.write("1")
    ev0 = counter("limbo_evicted", mnt)
    held = [os.open(os.path.join(backing, n), os.O_RDONLY) for n in ("e1", "e2")]
    w1, w2 = Inotify(), Inotify()
    w1.add(os.path.join(mnt, "e1"), IN_DELETE_SELF)
    w2.add(os.path.join(mnt, "e2"), IN_DELETE_SELF)
    os.unlink(os.path.join(mnt, "e1"))
    expect(counter("limbo", mnt) == 1,
           f"e1 in limbo (limbo {counter('limbo', mnt)}, entered {counter('limbo_entered', mnt)}, "
           f"armed {counter('armed', mnt)}, arm_timeouts {counter('arm_timeouts')})")
    expect(w1.read(0.3) == [], "e1's watch lives on in limbo")
    os.unlink(os.path.join(mnt, "e2"))
    g1 = [e[1] for e in w1.read(1.0)]
    expect(g1 == [IN_DELETE_SELF, IN_IGNORED], f"evicted e1's watch ended locally: {g1}")
    expect(counter("limbo_evicted", mnt) == ev0 + 1, "eviction counted")
    expect(counter("limbo", mnt) == 1, "e2 in limbo")
    with open("/sys/module/fuse_fsnotify/parameters/limbo_max", "w") as f:
        f.write("1024")
    for fd in held:
        os.close(fd)
    g2 = [e[1] for e in w2.read(1.0)]
    expect(g2 == [IN_DELETE_SELF, IN_IGNORED], f"e2's watch ended with the remote object: {g2}")
    expect(counter("limbo", mnt) == 0, "limbo empty")
    w1.close()
    w2.close()

    # Unmount with an inode in limbo: it is released, its watch ends.
    guest.add(os.path.join(mnt, "kept"), IN_DELETE_SELF)
    fd = os.open(os.path.join(backing, "kept"), os.O_RDONLY)
    os.unlink(os.path.join(mnt, "kept"))
    expect(counter("limbo_entered") == l0["limbo_entered"] + 4, "kept in limbo too")
l1 = counter("limbo_released")
g = [e[1] for e in guest.read(1.0)]
expect(IN_IGNORED in g, f"unmount ended the limbo watch: {g}")
expect(l1 == l0["limbo_released"] + 4, "unmount released limbo")
os.close(fd)
oracle.close()
guest.close()
subprocess.run(["umount", work], check=True)
