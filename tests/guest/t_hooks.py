#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fsnotify provider hooks (patches/0001) reach the module for FUSE
inodes, and only for them: checked with the module's debugfs counters."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

work, backing, mnt = tmpfs_work()
open(os.path.join(backing, "f"), "w").close()
open(os.path.join(work, "local"), "w").close()


with ServerMount(backing, mnt, out_path("server-hooks.log")):
    ino = Inotify()
    c0 = {n: counter(n) for n in ("mask_changes", "marks_added", "inode_removals")}

    # A watch on a non-FUSE inode is not ours.
    wd_local = ino.add(os.path.join(work, "local"), IN_MODIFY)
    expect(counter("mask_changes") == c0["mask_changes"], "tmpfs watch: no hook call")
    expect(counter("marks_added") == c0["marks_added"], "tmpfs watch: no mark_added")
    ino.rm(wd_local)

    # First watch on a FUSE inode: mask 0 -> something, and mark_added.
    wd = ino.add(os.path.join(mnt, "f"), IN_MODIFY)
    expect(counter("mask_changes") == c0["mask_changes"] + 1, "FUSE watch: mask changed")
    expect(counter("marks_added") == c0["marks_added"] + 1, "FUSE watch: mark_added")
    # Same mask again: no mask change, but the syscall still reports the mark.
    ino.add(os.path.join(mnt, "f"), IN_MODIFY)
    expect(counter("mask_changes") == c0["mask_changes"] + 1, "same mask: no change")
    expect(counter("marks_added") == c0["marks_added"] + 2, "same mask: mark_added")
    # Second group, other mask: the combined mask changes.
    ino2 = Inotify()
    wd2 = ino2.add(os.path.join(mnt, "f"), IN_ATTRIB)
    expect(counter("mask_changes") == c0["mask_changes"] + 2, "second group: mask changed")
    ino2.rm(wd2)
    expect(counter("mask_changes") == c0["mask_changes"] + 3, "second group gone")
    ino.rm(wd)
    expect(counter("mask_changes") == c0["mask_changes"] + 4, "last mark gone: mask 0")
    ino.read(0.2)

    # Unlinking a watched FUSE file through the mount reaches inode_remove,
    # which keeps it in limbo until the server reports the object dead:
    # DELETE_SELF + IGNORED come exactly once.
    wd = ino.add(os.path.join(mnt, "f"), IN_DELETE_SELF)
    os.unlink(os.path.join(mnt, "f"))
    ev = ino.read(0.5)
    expect(counter("inode_removals") == c0["inode_removals"] + 1, "inode_remove hook")
    expect([e[1] for e in ev if e[0] == wd] == [IN_DELETE_SELF, IN_IGNORED], f"DELETE_SELF, IGNORED: {ev}")
    ino.close()
    ino2.close()

subprocess.run(["umount", work], check=True)
