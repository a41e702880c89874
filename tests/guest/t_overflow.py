#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A remote burst beyond the queues yields one IN_Q_OVERFLOW per watching
group on the mount, no hang, and events flow again afterwards.

To make the loss certain rather than a matter of timing, the server is
stopped (SIGSTOP) during the burst: its fanotify queue (16384 events)
overflows, and when it runs again it flags the overflow to the client.
(The server's own bounded queue is tested by cargo test.)"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

work, backing, mnt = tmpfs_work()
N = 17000
with ServerMount(backing, mnt, out_path("server-overflow.log")) as server:
    o0 = counter("overflows")
    a, b = Inotify(), Inotify()
    a.add(mnt, IN_CREATE)
    b.add(mnt, IN_CREATE | IN_DELETE)
    server.proc.send_signal(signal.SIGSTOP)
    subprocess.run(["sh", "-c", f"seq 1 {N} | xargs touch"], cwd=backing, check=True)
    server.proc.send_signal(signal.SIGCONT)
    ea, eb = a.read(3.0), b.read(3.0)
    for name, ev in (("a", ea), ("b", eb)):
        over = [e for e in ev if e[1] & IN_Q_OVERFLOW]
        expect(len(over) == 1 and over[0][0] == -1, f"group {name}: one IN_Q_OVERFLOW (wd -1)")
        expect(0 < len(ev) < N, f"group {name}: {len(ev)} events, fewer than the burst")
    expect(counter("overflows") > o0, "the module counted the overflow")
    # Afterwards events flow again.
    subprocess.run(["touch", "after"], cwd=backing, check=True)
    expect([e[3] for e in a.read(1.0)] == ["after"], "events flow after the overflow")
    a.close()
    b.close()
subprocess.run(["umount", work], check=True)
