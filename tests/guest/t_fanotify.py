#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fanotify on the mount: a group with FAN_REPORT_DFID_NAME and an inode
mark on a directory of the mount reports remote changes as the same mark
on the backing directory does: event types, ONDIR, and names; and a
FAN_RENAME group gets one event per rename with the old and new names.  The
directory file handles differ by nature (two filesystems); each event's
handle must be the watched directory's own.

fanotify merges queued events of one object (same pid, same object)
until they are read, so how events are split into records depends on the
reader's timing, on the host too.  The comparison is therefore per
operation and name, over the union of the event types reported, in order
of first appearance.  (Remote events are injected by a kworker, whose pid
the events carry, so events injected from two batches do not merge.)"""
import ctypes
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403

FAN_CLASS_NOTIF = 0
FAN_NONBLOCK = 0x2
FAN_REPORT_DFID_NAME = 0x400 | 0x800
FAN_MARK_ADD = 0x1
AT_FDCWD = -100
FAN_ONDIR = 0x40000000
FAN_EVENT_ON_CHILD = 0x08000000
FAN_RENAME = 0x10000000
MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
        | IN_CREATE | IN_DELETE | FAN_ONDIR | FAN_EVENT_ON_CHILD)

libc = ctypes.CDLL(None, use_errno=True)
libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]


class Fanotify:
    def __init__(self, path, mask):
        self.fd = libc.fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_REPORT_DFID_NAME, os.O_RDONLY)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "fanotify_init")
        if libc.fanotify_mark(self.fd, FAN_MARK_ADD, mask, AT_FDCWD, os.fsencode(path)) < 0:
            raise OSError(ctypes.get_errno(), f"fanotify_mark {path}")
        self.dir_handle = handle_of(path)
        self.handles = []

    def read(self):
        """(mask, name, handle is the watched directory's) of queued events;
        their directory handles in `self.handles`."""
        out, self.handles = [], []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            off = 0
            while off < len(buf):
                ev_len, _vers, _res, meta_len, mask, _fd, _pid = struct.unpack_from("IBBHQii", buf, off)
                info = off + meta_len
                name, same_dir = "", None
                while info < off + ev_len:
                    itype, _pad, ilen = struct.unpack_from("BBH", buf, info)
                    # DFID_NAME, OLD_DFID_NAME, NEW_DFID_NAME (FAN_RENAME).
                    if itype in (2, 10, 12):
                        hbytes, htype = struct.unpack_from("Ii", buf, info + 12)
                        fh = buf[info + 20 : info + 20 + hbytes]
                        same = (htype, fh) == self.dir_handle
                        same_dir = same if same_dir is None else same_dir and same
                        n = buf[info + 20 + hbytes : info + ilen].split(b"\0")[0].decode()
                        name += {2: "", 10: "old:", 12: " new:"}[itype] + n
                    info += ilen
                out.append((mask, name, same_dir))
                self.handles.append(fh if same_dir is not None else None)
                off += ev_len


def handle_of(path):
    """(handle_type, handle bytes) of `path`, by name_to_handle_at()."""
    buf = ctypes.create_string_buffer(8 + 128)
    struct.pack_into("Ii", buf, 0, 128, 0)
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), buf, ctypes.byref(mount_id), 0) < 0:
        raise OSError(ctypes.get_errno(), f"name_to_handle_at {path}")
    hbytes, htype = struct.unpack_from("Ii", buf, 0)
    return htype, buf.raw[8 : 8 + hbytes]


def union(op, events):
    """(op, name, OR of masks, all handles the directory's) per name, in
    order of first appearance."""
    out = {}
    for mask, name, same_dir in events:
        m, same = out.get(name, (0, True))
        out[name] = (m | mask, same and same_dir)
    return [(op, name, m, same) for name, (m, same) in out.items()]


OPS = [
    "echo data > new",
    "chmod 600 new",
    "echo more >> new",
    "mv new moved",
    "rm moved",
    "mkdir d",
    "mv d d2",
    "rmdir d2",
    "ln -s x sym",
    "rm sym",
]

work, backing, mnt = tmpfs_work()
with ServerMount(backing, mnt, out_path("server-fanotify.log")):
    conn_dir = f"/sys/kernel/debug/fuse_fsnotify/connections/{os.minor(os.stat(mnt).st_dev)}"
    oracle, remote = Fanotify(backing, MASK), Fanotify(mnt, MASK)
    # A second group asks for FAN_RENAME: one event with both names.
    oracle_r, remote_r = Fanotify(backing, FAN_RENAME | FAN_ONDIR), Fanotify(mnt, FAN_RENAME | FAN_ONDIR)
    want, got = [], []
    for op in OPS:
        subprocess.run(["sh", "-c", op], cwd=backing, check=True)
        time.sleep(0.5)
        want += union(op, oracle.read()) + union(op, oracle_r.read())
        got += union(op, remote.read()) + union(op, remote_r.read())
    # An event on a subdirectory the guest has no inode for: fanotify
    # reports the subdirectory itself (its handle as the directory, name
    # "."), so the module must look the child up rather than report the
    # watched directory.
    os.mkdir(os.path.join(backing, "uncached"))
    sub_o = Fanotify(backing, IN_ATTRIB | FAN_ONDIR | FAN_EVENT_ON_CHILD)
    sub_m = Fanotify(mnt, IN_ATTRIB | FAN_ONDIR | FAN_EVENT_ON_CHILD)
    lookups = counter("child_lookups", mnt)
    os.chmod(os.path.join(backing, "uncached"), 0o700)
    time.sleep(0.5)
    ev_o, ev_m = sub_o.read(), sub_m.read()
    hs_o, hs_m = sub_o.handles, sub_m.handles
    print(f"uncached child: oracle {ev_o}, mount {ev_m}")
    expect(len(ev_o) == 1 and ev_o[0][:2] == (IN_ATTRIB | FAN_ONDIR, "."), "the oracle reports the subdirectory itself")
    expect([e[:2] for e in ev_m] == [e[:2] for e in ev_o], "the mount reports the same event")
    expect(hs_o[:1] == [handle_of(os.path.join(backing, "uncached"))[1]], "the oracle's handle is the subdirectory's")
    expect(hs_m[:1] == [handle_of(os.path.join(mnt, "uncached"))[1]], "the mount's handle is the subdirectory's, not the watched directory's")
    expect(counter("child_lookups", mnt) == lookups + 1, "the module looked the child up once")
    # The same, for a child gone by the time the event is injected: the
    # lookup fails and the event is still reported (on the directory).
    os.mkdir(os.path.join(backing, "gone"))
    subprocess.run(["sh", "-c", "chmod 700 gone && rmdir gone"], cwd=backing, check=True)
    time.sleep(0.5)
    ev_o, ev_m = sub_o.read(), sub_m.read()
    print(f"child gone: oracle {ev_o}, mount {ev_m}")
    expect(any(m & IN_ATTRIB for m, _, _ in ev_o), "the oracle reports the removed child's ATTRIB")
    expect(any(m & IN_ATTRIB for m, _, _ in ev_m), "so does the mount, though the child is gone")
show("oracle (fanotify mark on the backing directory)", want, "mount", got)
expect(len(want) >= len(OPS) + 2, f"the oracle saw {len(want)} events")
expect(sum(1 for e in want if e[2] & FAN_RENAME) == 2, "the oracle saw the two renames")
expect(all(e[3] for e in want + got), "every event names the watched directory's handle")
i = first_difference(want, got)
if i is not None:
    print(f"first difference at {i}: want {want[i:i + 1]}, got {got[i:i + 1]}")
expect(i is None, f"{len(got)} fanotify events, as on the backing directory")
# Two groups' marks on one inode go away one after the other at unmount:
# the first removal changes the mask, which must not bring the
# connection back after the superblock's shutdown.
expect(not os.path.exists(conn_dir), f"the connection is gone after unmount ({conn_dir})")
subprocess.run(["umount", work], check=True)
