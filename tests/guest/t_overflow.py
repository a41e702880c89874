#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A remote burst beyond the server's queue for the client yields one
IN_Q_OVERFLOW per watching group on the mount, no hang, and events flow
again afterwards."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

work, backing, mnt = tmpfs_work()
with ServerMount(backing, mnt, out_path("server-overflow.log"), args=["--queue-limit", "16"]):
    o0 = counter("overflows")
    a, b = Inotify(), Inotify()
    a.add(mnt, IN_CREATE)
    b.add(mnt, IN_CREATE | IN_DELETE)
    # One process creates 2000 files as fast as it can: far more than 16
    # records can wait for the client's next poll.
    subprocess.run(["sh", "-c", "seq 1 2000 | xargs touch"], cwd=backing, check=True)
    ea, eb = a.read(2.0), b.read(2.0)
    for name, ev in (("a", ea), ("b", eb)):
        over = [e for e in ev if e[1] & IN_Q_OVERFLOW]
        expect(len(over) == 1 and over[0][0] == -1, f"group {name}: one IN_Q_OVERFLOW (wd -1)")
        expect(0 < len(ev) < 2000, f"group {name}: {len(ev)} events, fewer than the burst")
    expect(counter("overflows") > o0, "the module counted the overflow")
    # Afterwards events flow again.
    subprocess.run(["touch", "after"], cwd=backing, check=True)
    expect([e[3] for e in a.read(1.0)] == ["after"], "events flow after the overflow")
    a.close()
    b.close()
subprocess.run(["umount", work], check=True)
