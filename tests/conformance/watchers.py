# SPDX-License-Identifier: GPL-2.0
"""Watcher adapters of the conformance suite.

Two kinds:

* exact watchers (inotify and fanotify through ctypes) whose whole event
  stream is compared, event by event, with the same watch on the oracle
  directory;
* real watchers (inotifywait, Python watchdog, Node chokidar) run
  unmodified as subprocesses, whose *set of changed paths* is compared,
  because their own bookkeeping (rescans, move pairing, debouncing) is
  timing dependent by design.

The inotify instance is tests/guest/fsnlib.py's; everything here only adds
what the comparison needs: watch names instead of descriptors, file handles
mapped back to paths, a reader that can run during the workload.
"""
import ctypes
import errno
import os
import select
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest"))
import fsnlib  # noqa: E402
from fsnlib import Inotify  # noqa: E402

_libc = ctypes.CDLL(None, use_errno=True)

IN_NAMES = [
    (0x001, "ACCESS"), (0x002, "MODIFY"), (0x004, "ATTRIB"), (0x008, "CLOSE_WRITE"),
    (0x010, "CLOSE_NOWRITE"), (0x020, "OPEN"), (0x040, "MOVED_FROM"), (0x080, "MOVED_TO"),
    (0x100, "CREATE"), (0x200, "DELETE"), (0x400, "DELETE_SELF"), (0x800, "MOVE_SELF"),
    (0x2000, "UNMOUNT"), (0x4000, "Q_OVERFLOW"), (0x8000, "IGNORED"), (0x40000000, "ISDIR"),
]
FAN_NAMES = [
    (0x001, "ACCESS"), (0x002, "MODIFY"), (0x004, "ATTRIB"), (0x008, "CLOSE_WRITE"),
    (0x010, "CLOSE_NOWRITE"), (0x020, "OPEN"), (0x040, "MOVED_FROM"), (0x080, "MOVED_TO"),
    (0x100, "CREATE"), (0x200, "DELETE"), (0x400, "DELETE_SELF"), (0x800, "MOVE_SELF"),
    (0x1000, "OPEN_EXEC"), (0x4000, "Q_OVERFLOW"), (0x8000, "FS_ERROR"),
    (0x10000000, "RENAME"), (0x40000000, "ONDIR"),
]
IN_Q_OVERFLOW = fsnlib.IN_Q_OVERFLOW
FAN_Q_OVERFLOW = 0x4000


def mask_str(mask, names):
    """A mask as `CREATE|ISDIR`, unknown bits in hex (never dropped)."""
    out, rest = [], mask
    for bit, name in names:
        if mask & bit:
            out.append(name)
            rest &= ~bit
    if rest:
        out.append(hex(rest))
    return "|".join(out) or "0"


MAX_QUEUED = "/proc/sys/fs/inotify/max_queued_events"


def _with_max_queued(n, fn):
    """Run fn with max_queued_events = n: inotify reads the limit once, when
    the instance is created, so only the groups made inside see it."""
    if n is None:
        return fn()
    with open(MAX_QUEUED) as f:
        old = f.read().strip()
    with open(MAX_QUEUED, "w") as f:
        f.write(str(n))
    try:
        return fn()
    finally:
        with open(MAX_QUEUED, "w") as f:
            f.write(old)


class InotifyWatch:
    """One inotify instance with the workload's watches on one tree, all for
    IN_ALL_EVENTS. Events are kept as (watch, mask, cookie, name), `watch`
    being the watched path relative to the root (or `(queue)` for the
    overflow, whose wd is -1)."""

    kind = "inotify"

    def __init__(self, root, paths, queued=None):
        self.root = root
        self.ino = _with_max_queued(queued, Inotify)
        self.fd = self.ino.fd
        self.names = {-1: "(queue)"}
        self.events = []
        self.error = None
        for p in paths:
            wd = self.ino.add(os.path.join(root, p), fsnlib.IN_ALL_EVENTS)
            self.names[wd] = p

    def drain(self):
        """Read what is queued now (non-blocking); returns the count."""
        events = self.ino.read_now()
        self.events += [(self.names.get(wd, f"wd{wd}"), m, c, n) for wd, m, c, n in events]
        return len(events)

    def close(self):
        self.ino.close()


# fanotify ------------------------------------------------------------------

FAN_CLOEXEC, FAN_NONBLOCK, FAN_UNLIMITED_QUEUE = 0x1, 0x2, 0x10
FAN_REPORT_DFID_NAME = 0x400 | 0x800
FAN_MARK_ADD = 0x1
FAN_EVENT_ON_CHILD = 0x08000000
FAN_ONDIR = 0x40000000
FAN_RENAME = 0x10000000
FAN_DIRENT = 0x40 | 0x80 | 0x100 | 0x200 | FAN_RENAME
# Every non-permission event type of the inotify set (FAN_OPEN_EXEC is a
# variant of FAN_OPEN that inotify cannot express; it is left out so that
# both watcher kinds ask the same question).
FAN_EVENTS = 0xFFF
AT_FDCWD = -100
AT_HANDLE_FID = 0x200
_META = struct.Struct("IBBHQii")
_libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
_libc.name_to_handle_at.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                                    ctypes.POINTER(ctypes.c_int), ctypes.c_int]


def file_handle(path):
    """(type, bytes) of `path`'s handle as fanotify reports it: the FID
    flavour (AT_HANDLE_FID), which every filesystem can encode."""
    buf = ctypes.create_string_buffer(8 + 128)
    struct.pack_into("Ii", buf, 0, 128, 0)
    mnt = ctypes.c_int()
    if _libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), buf, ctypes.byref(mnt), AT_HANDLE_FID) < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"name_to_handle_at {path}: {os.strerror(e)}")
    size, htype = struct.unpack_from("Ii", buf, 0)
    return htype, bytes(buf.raw[8 : 8 + size])


def dir_handles(root):
    """{handle: path relative to root} of every directory of the tree.
    Reading the directories is an event of its own (OPEN, ACCESS,
    CLOSE_NOWRITE): call this before any watch exists."""
    out = {}
    for dirpath, _dirs, _files in os.walk(root):
        try:
            out[file_handle(dirpath)] = os.path.relpath(dirpath, root)
        except OSError:
            pass
    return out


class Unsupported(Exception):
    """fanotify cannot watch this tree (the mark failed with an errno)."""


class FanotifyWatch:
    """One fanotify group (FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME) with an
    inode mark on each watched path (children too for directories). Events
    are (group, mask, records) with each record's directory file handle
    turned into the directory's path relative to the root: the handles of
    the directories present at the start are computed beforehand; any other
    handle (a directory made by the workload) is named `new-dir#k` in order
    of first appearance, so both streams name it the same way."""

    kind = "fanotify"

    def __init__(self, root, paths, handles, mask=FAN_EVENTS | FAN_ONDIR, unlimited=True):
        flags = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME
        if unlimited:
            flags |= FAN_UNLIMITED_QUEUE
        self.fd = _libc.fanotify_init(flags, os.O_RDONLY)
        if self.fd < 0:
            e = ctypes.get_errno()
            raise Unsupported(f"fanotify_init: {errno.errorcode.get(e, e)}")
        self.root = root
        self.events = []
        self.handles = handles
        self.unknown = {}
        for p in paths:
            full = os.path.join(root, p)
            if os.path.isdir(full):
                m = mask | FAN_EVENT_ON_CHILD
            else:
                # Directory-entry events and ONDIR are refused on a file.
                m = mask & ~(FAN_DIRENT | FAN_ONDIR)
                if not m:
                    continue
            if _libc.fanotify_mark(self.fd, FAN_MARK_ADD, m, AT_FDCWD, os.fsencode(full)) < 0:
                e = ctypes.get_errno()
                os.close(self.fd)
                raise Unsupported(f"fanotify_mark {p}: {errno.errorcode.get(e, e)}")

    def _dir(self, key):
        if key in self.handles:
            return self.handles[key]
        return self.unknown.setdefault(key, f"new-dir#{len(self.unknown)}")

    def drain(self):
        n = 0
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return n
            off = 0
            while off < len(buf):
                ev_len, _vers, _res, meta_len, mask, fd, _pid = _META.unpack_from(buf, off)
                if fd >= 0:
                    os.close(fd)
                recs = []
                p = off + meta_len
                while p < off + ev_len:
                    itype, _pad, ilen = struct.unpack_from("BBH", buf, p)
                    if itype in (1, 2, 3, 10, 12):
                        hsize, htype = struct.unpack_from("Ii", buf, p + 12)
                        handle = bytes(buf[p + 20 : p + 20 + hsize])
                        name = b""
                        if itype in (2, 10, 12):
                            name = buf[p + 20 + hsize : p + ilen].split(b"\0", 1)[0]
                        kind = {1: "fid", 2: "dir", 3: "dir", 10: "old", 12: "new"}[itype]
                        recs.append((kind, self._dir((htype, handle)), name.decode(errors="replace")))
                    else:
                        recs.append((f"info{itype}",))
                    p += ilen
                self.events.append(("group", mask, tuple(recs)))
                off += ev_len
                n += 1

    def close(self):
        os.close(self.fd)


class Reader:
    """Reads a set of exact watchers: either in a thread during the
    workload (as a watching application would), or afterwards. `settle()`
    returns once no watcher has produced anything for `quiet` seconds."""

    def __init__(self, watches):
        self.watches = watches
        self.stop = threading.Event()
        self.last = time.monotonic()
        self.thread = None

    def _poll(self, timeout):
        fds = [w.fd for w in self.watches]
        if select.select(fds, [], [], timeout)[0]:
            if sum(w.drain() for w in self.watches):
                self.last = time.monotonic()

    def start(self):
        def loop():
            while not self.stop.is_set():
                self._poll(0.1)

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def settle(self, quiet=1.5, cap=600.0):
        """Until quiet for `quiet` seconds (or `cap`); returns the seconds
        from the call to the last event."""
        t0 = time.monotonic()
        self.last = t0
        if self.thread is None:
            while time.monotonic() - self.last < quiet and time.monotonic() - t0 < cap:
                self._poll(0.1)
        else:
            while time.monotonic() - self.last < quiet and time.monotonic() - t0 < cap:
                time.sleep(0.1)
            self.stop.set()
            self.thread.join()
            for w in self.watches:
                w.drain()
        return max(0.0, self.last - t0)


# real watchers -------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))


class RealWatcher:
    """An unmodified watcher program as a subprocess on a whole tree. Its
    standard output is one changed path per line (absolute); `READY` (or
    inotifywait's `Watches established.` on stderr) says the watches are
    in place."""

    def __init__(self, kind, root, log, env):
        self.kind, self.root = kind, root
        self.lines = []
        self.last = time.monotonic()
        self.ready = threading.Event()
        self.logf = open(log, "a")
        if kind == "inotifywait":
            cmd = ["inotifywait", "-m", "-r", "--format", "%w%f",
                   "-e", "modify,attrib,close_write,move,create,delete,delete_self,move_self", root]
        elif kind == "watchdog":
            cmd = [env["python"], os.path.join(HERE, "real", "watchdog_watch.py"), root]
        elif kind == "chokidar":
            cmd = ["/usr/bin/node", os.path.join(HERE, "real", "chokidar_watch.js"), root]
        else:
            raise ValueError(kind)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env["env"], text=True, errors="replace")
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.last = time.monotonic()
            if line == "READY":
                self.ready.set()
            else:
                self.lines.append(line)

    def _err(self):
        for line in self.proc.stderr:
            self.logf.write(f"{self.kind}: {line}")
            self.logf.flush()
            if "Watches established" in line:
                self.ready.set()

    def mark(self):
        return len(self.lines)

    def paths(self, since, prefix):
        """Changed paths reported since `mark()`, relative to `prefix` (the
        workload's directory under the root); the directory itself is `.`."""
        out = set()
        for line in self.lines[since:]:
            p = os.path.normpath(line)
            rel = os.path.relpath(p, prefix)
            # Outside the workload's directory; "..data" is a name inside.
            if rel != ".." and not rel.startswith("../"):
                out.add(rel)
        return out

    def cpu(self):
        """CPU time used so far (clock ticks), or None once it exited."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
