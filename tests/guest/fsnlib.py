# SPDX-License-Identifier: GPL-2.0
"""Helpers for the in-guest tests: inotify through ctypes, debugfs counters,
and a fuse-fsnotify-server mount as a context manager."""
import ctypes
import os
import select
import struct
import subprocess
import sys
import tempfile
import time

IN_ACCESS = 0x001
IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_CLOSE_NOWRITE = 0x010
IN_OPEN = 0x020
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ISDIR = 0x40000000
IN_ALL_EVENTS = 0xFFF

_libc = ctypes.CDLL(None, use_errno=True)
_EVENT = struct.Struct("iIII")


class Inotify:
    """A non-blocking inotify instance."""

    def __init__(self):
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")

    def add(self, path, mask):
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        return wd

    def rm(self, wd):
        if _libc.inotify_rm_watch(self.fd, wd) < 0:
            raise OSError(ctypes.get_errno(), "inotify_rm_watch")

    def read(self, timeout=1.0):
        """Events (wd, mask, cookie, name) until none arrive for `timeout`."""
        out = []
        while select.select([self.fd], [], [], timeout)[0]:
            out += self.read_now()
        return out

    def read_now(self):
        """The events queued now (wd, mask, cookie, name), without waiting."""
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            off = 0
            while off < len(buf):
                wd, mask, cookie, length = _EVENT.unpack_from(buf, off)
                name = buf[off + 16 : off + 16 + length].rstrip(b"\0").decode(errors="replace")
                out.append((wd, mask, cookie, name))
                off += 16 + length

    def close(self):
        os.close(self.fd)


def counter(name, mnt=None):
    """A module-wide debugfs counter, or with `mnt` the one of the mount's
    connection (named like /sys/fs/fuse/connections/<dev>)."""
    d = "/sys/kernel/debug/fuse_fsnotify"
    if mnt is not None:
        d += f"/connections/{os.minor(os.stat(mnt).st_dev)}"
    with open(f"{d}/{name}") as f:
        return int(f.read())


class ServerMount:
    """fuse-fsnotify-server on BACKING mounted at MNT, for a `with` block."""

    SERVER = "tools/target/release/fuse-fsnotify-server"

    def __init__(self, backing, mnt, log, level="info", args=()):
        self.backing, self.mnt, self.log, self.level = backing, mnt, log, level
        self.args = list(args)

    def __enter__(self):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(
            [self.SERVER, self.backing, self.mnt, "--log", self.level] + self.args,
            stderr=self.logf,
        )
        for _ in range(100):
            if os.path.ismount(self.mnt):
                return self
            time.sleep(0.05)
        raise RuntimeError("server did not mount")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.logf.close()


def expect(cond, what):
    """One check of a test: prints it, and exits 1 on the first failure."""
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def out_path(name):
    """A file in the run's output directory (kept for the report)."""
    return os.path.join(os.environ.get("FSN_OUT", "/tmp"), name)


def tmpfs_work():
    """A fresh tmpfs with an empty backing directory and a mountpoint:
    (work, backing, mnt). Unmount `work` at the end."""
    work = tempfile.mkdtemp()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", work], check=True)
    backing, mnt = os.path.join(work, "b"), os.path.join(work, "m")
    os.mkdir(backing)
    os.mkdir(mnt)
    return work, backing, mnt


def normalise(events, wds):
    """Events with watch descriptors replaced by the watch's name and cookie
    values by their order of appearance (pairing is kept, values are not)."""
    cookies = {}
    out = []
    for wd, mask, cookie, name in events:
        if cookie:
            cookie = cookies.setdefault(cookie, f"c{len(cookies)}")
        out.append((wds.get(wd, wd), mask, cookie or "", name))
    return out


def per_watch(events):
    """Normalised events split by watch, each in its order of arrival."""
    out = {}
    for e in events:
        out.setdefault(e[0], []).append(e)
    return out


def first_difference(want, got):
    """Index of the first difference of two lists, or None when equal."""
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return i
    return None if len(want) == len(got) else min(len(want), len(got))


def show(want_title, want, got_title, got):
    """Prints the oracle's stream and the mount's, one event a line."""
    for title, events in ((want_title, want), (got_title, got)):
        print(f"{title}:")
        for e in events:
            print("   ", e)


def expect_same_per_watch(want, got, what):
    """One check per watch: its events on the mount equal the oracle's, in
    order (the order across watches is not compared)."""
    want_w, got_w = per_watch(want), per_watch(got)
    for w in sorted(set(want_w) | set(got_w), key=str):
        a, b = want_w.get(w, []), got_w.get(w, [])
        i = first_difference(a, b)
        if i is not None:
            print(f"watch {w}: first difference at {i}: want {a[i:i + 1]}, got {b[i:i + 1]}")
        expect(i is None, f"watch {w}: {len(b)} events, {what}")
