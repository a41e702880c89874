#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Teardown in the middle of traffic: killing the server, unmounting, and
unloading the module while remote changes stream in and watches are live
(some of them on inodes in limbo) ends every watch cleanly and never
hangs.  run.sh then checks the kernel log for splats and kmemleak for
leaks after the final rmmod."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

MODULE = os.environ["FSN_MODULE"]


def traffic(backing):
    """A remote writer that keeps creating, writing and removing files."""
    return subprocess.Popen(
        ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > f$((i%50)); rm -f f$(((i+25)%50)); done"],
        cwd=backing,
    )


def setup(backing, mnt, ino):
    """Watches on the mount, and one watched inode in limbo (unlinked by
    the guest while the backing object is held open)."""
    for n in ("d1", "d2"):
        os.makedirs(os.path.join(backing, n), exist_ok=True)
    with open(os.path.join(backing, "held"), "w") as f:
        f.write("x")
    fd = os.open(os.path.join(backing, "held"), os.O_RDONLY)
    wds = [ino.add(os.path.join(mnt, p), IN_ALL_EVENTS) for p in ("", "d1", "d2", "held")]
    os.unlink(os.path.join(mnt, "held"))
    return fd, wds


def drain(ino, seconds):
    """Reads events for `seconds`; returns the set of watches that ended."""
    ended = set()
    end = time.time() + seconds
    while time.time() < end:
        for wd, mask, _, _ in ino.read(0.2):
            if mask & IN_IGNORED:
                ended.add(wd)
    return ended


# 1. The server is killed (SIGKILL) mid-traffic: the connection aborts.
work, backing, mnt = tmpfs_work()
ino = Inotify()
server = ServerMount(backing, mnt, out_path("server-teardown.log"))
server.__enter__()
fd, wds = setup(backing, mnt, ino)
w = traffic(backing)
expect(counter("limbo", mnt) == 1, "one inode in limbo")
time.sleep(1.0)
injected = counter("events_injected", mnt)
expect(injected > 0, f"remote events streamed in before the kill ({injected})")
server.proc.send_signal(signal.SIGKILL)
server.proc.wait(timeout=30)
server.logf.close()
ended = drain(ino, 2.0)
expect(wds[3] in ended, "the limbo inode's watch ended when the connection died")
t0 = time.time()
subprocess.run(["umount", mnt], check=True, timeout=60)
ended |= drain(ino, 1.0)
expect(set(wds) <= ended, f"every watch ended at unmount ({len(ended)} of {len(wds)})")
expect(time.time() - t0 < 30, "unmount of the dead connection did not hang")
w.kill()
w.wait()
os.close(fd)
ino.close()
subprocess.run(["umount", work], check=True)

# 2. Unmount mid-traffic with watches and limbo: every watch ends.
work, backing, mnt = tmpfs_work()
ino = Inotify()
with ServerMount(backing, mnt, out_path("server-teardown.log")):
    fd, wds = setup(backing, mnt, ino)
    w = traffic(backing)
    time.sleep(1.0)
    subprocess.run(["umount", mnt], check=True, timeout=60)
    ended = drain(ino, 1.0)
    expect(set(wds) <= ended, "unmount mid-traffic ended every watch")
w.kill()
w.wait()
os.close(fd)
ino.close()
subprocess.run(["umount", work], check=True)

# 3. rmmod mid-traffic (remote events and new marks racing with the
# unload), with a watch in limbo: the unload releases it and returns;
# local events keep working; the module loads again.
work, backing, mnt = tmpfs_work()
ino = Inotify()
with ServerMount(backing, mnt, out_path("server-teardown.log")):
    fd, wds = setup(backing, mnt, ino)
    w = traffic(backing)
    marker = subprocess.Popen(
        ["sh", "-c", f"while :; do inotifywait -qq -t 1 -e create {mnt}/d1 || :; done"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    t0 = time.time()
    r = subprocess.run(["rmmod", "fuse_fsnotify"], capture_output=True, text=True, timeout=120)
    expect(r.returncode == 0, f"rmmod mid-traffic: {r.stderr.strip()}")
    expect(time.time() - t0 < 60, "rmmod did not hang")
    ended = drain(ino, 1.0)
    expect(wds[3] in ended, "the unload released the limbo inode and ended its watch")
    marker.kill()
    marker.wait()
    w.kill()
    w.wait()
    ino.read(0.5)
    open(os.path.join(mnt, "local"), "w").close()
    got = [(e[1], e[3]) for e in ino.read(0.5)]
    expect((IN_CREATE, "local") in got, "local events still reported without the module")
    subprocess.run(["insmod", MODULE], check=True)
os.close(fd)
ino.close()
subprocess.run(["umount", work], check=True)
