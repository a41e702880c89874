#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Remote marks reach the server: the module probes it once, sends the
wire mask of a watched inode when it changes (N local watches are one
remote watch), and inotify_add_watch() returns only once it is armed."""
import os
import re
import subprocess
import time
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403


work, backing, mnt = tmpfs_work()
open(os.path.join(backing, "f"), "w").close()
log = out_path("server-marks.log")
names = ("servers_supported", "requests", "marks_sent", "marks_refused", "arm_timeouts")


def marks_in_log():
    """(nodeid, mask) of every MARK entry the server logged."""
    out = []
    for line in open(log):
        m = re.search(r"\bmark nodeid=(\d+) mask=(\d+)", line)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


with ServerMount(backing, mnt, log, level="fuse_fsnotify_server=debug"):
    c0 = {n: counter(n) for n in names}
    ino = Inotify()
    wd = ino.add(os.path.join(mnt, "f"), IN_MODIFY)
    # Armed before the syscall returned: acknowledged already.
    expect(counter("servers_supported") == c0["servers_supported"] + 1, "probe answered")
    expect(counter("marks_sent") == c0["marks_sent"] + 1, "one mark acknowledged")
    expect(counter("arm_timeouts") == c0["arm_timeouts"], "no arm timeout")
    # A second watch with the same events: no new remote traffic.
    ino2 = Inotify()
    ino2.add(os.path.join(mnt, "f"), IN_MODIFY)
    expect(counter("marks_sent") == c0["marks_sent"] + 1, "same wire mask: nothing sent")
    # Another event type: the combined mask grows.
    ino2.add(os.path.join(mnt, "f"), IN_MODIFY | IN_ATTRIB)
    expect(counter("marks_sent") == c0["marks_sent"] + 2, "mask grew: sent")
    ino2.close()
    ino.rm(wd)
    ino.read(0.2)
    ino.close()
    # Removals are sent from a work item, asynchronously; consecutive
    # changes may coalesce (2 then 0 before sending is just 0).
    for _ in range(50):
        if marks_in_log() and marks_in_log()[-1][1] == 0:
            break
        time.sleep(0.1)
    expect(counter("marks_refused") == c0["marks_refused"], "nothing refused")
    sent = marks_in_log()
    masks = [m for _, m in sent]
    expect(masks[:2] == [IN_MODIFY, IN_MODIFY | IN_ATTRIB], f"server saw the masks: {sent}")
    expect(masks[-1] == 0, f"the last mark removed the remote watch: {sent}")
    expect(len({n for n, _ in sent}) == 1, "one nodeid")

subprocess.run(["umount", work], check=True)
