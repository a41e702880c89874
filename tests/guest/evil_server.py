# SPDX-License-Identifier: GPL-2.0
"""A deliberately misbehaving FUSE server speaking /dev/fuse directly: it
answers INIT, the root's GETATTR and the remote fsnotify probe and MARKs
correctly, and answers each POLL with the next batch of a script the test
controls, malformed on purpose.  Everything else gets ENOSYS or ENOENT.

The encoders below follow Documentation/protocol.rst; they are written
out here (not taken from tools/fsn-wire) precisely so that they can
produce what a correct encoder refuses to."""
import ctypes
import os
import queue
import struct
import threading

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR = 1, 2, 3
FUSE_INIT, FUSE_INTERRUPT, FUSE_BATCH_FORGET = 26, 36, 42
FSN_MARK, FSN_POLL = 18254, 18255
NO_REPLY = (FUSE_FORGET, FUSE_INTERRUPT, FUSE_BATCH_FORGET)
VERSION = 1
ENOENT, ENOSYS = 2, 38
IN_HDR = struct.Struct("IIQQIIIHH")  # struct fuse_in_header, 40 bytes

_libc = ctypes.CDLL(None, use_errno=True)


def event(mask, nodeid, parent, name=b"", namelen=None, reserved=0, pad=0):
    """An event record; `namelen`, `reserved` and `pad` (extra bytes in
    the length) can lie."""
    body = struct.pack("QQII", nodeid, parent, len(name) if namelen is None else namelen, reserved) + name
    length = 8 + len(body)
    length += -length % 8 + pad
    rec = struct.pack("HHI", 1, length, mask) + body
    return rec + b"\0" * (length - len(rec))


def raw_record(rtype, length, mask, body):
    return struct.pack("HHI", rtype, length, mask) + body


def batch(seq, records, flags=0, version=VERSION, length=None, count=None):
    data = b"".join(records)
    return struct.pack(
        "IIQII",
        version,
        flags,
        seq,
        len(records) if count is None else count,
        len(data) if length is None else length,
    ) + data


class EvilServer:
    """Mounts at `mnt`; `replies` is a queue of raw POLL reply bodies the
    test feeds (a POLL waits for the next one)."""

    def __init__(self, mnt):
        self.mnt = mnt
        self.replies = queue.Queue()
        self.marks = []  # (flags, [(nodeid, mask)]) of every MARK request
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        opts = f"fd={self.fd},rootmode=40000,user_id=0,group_id=0".encode()
        if _libc.mount(b"evil", os.fsencode(mnt), b"fuse", 0, opts) < 0:
            raise OSError(ctypes.get_errno(), "mount fuse")
        # The module keeps one POLL outstanding: it is answered by its own
        # thread, when the test queues a reply, so that the server thread
        # goes on serving GETATTR and MARK meanwhile.
        self.polls = queue.Queue()
        for target in (self.serve, self.answer_polls):
            threading.Thread(target=target, daemon=True).start()

    def reply(self, unique, body=b"", error=0):
        try:
            os.write(self.fd, struct.pack("IiQ", 16 + len(body), -error, unique) + body)
        except OSError:
            pass  # FUSE refused the reply (e.g. larger than the request's buffer)

    def serve(self):
        while True:
            try:
                buf = os.read(self.fd, 1 << 20)
            except OSError:
                return  # the connection ended (unmount)
            _len, op, unique, nodeid, *_ = IN_HDR.unpack_from(buf)
            arg = buf[IN_HDR.size :]
            if op in NO_REPLY:
                continue
            if op == FUSE_INIT:
                major, minor = struct.unpack_from("II", arg)
                # struct fuse_init_out (64 bytes): no optional features.
                out = struct.pack("IIIIHHIIHHII", 7, 31, 0, 0, 16, 12, 4096, 1, 1, 0, 0, 0) + b"\0" * 24
                self.reply(unique, out)
            elif op == FUSE_GETATTR and nodeid == 1:
                attr = struct.pack("QQQQQQIIIIIIIIII", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0o40755, 2, 0, 0, 0, 4096, 0)
                self.reply(unique, struct.pack("QII", 1, 0, 0) + attr)
            elif op == FUSE_LOOKUP:
                self.reply(unique, error=ENOENT)
            elif op == FSN_MARK:
                version, count, flags, _ = struct.unpack_from("IIII", arg)
                entries = [struct.unpack_from("QII", arg, 16 + 16 * i)[:2] for i in range(count)]
                self.marks.append((flags, entries))
                out = struct.pack("IIII", VERSION, count, 0x1FFFFFFF, 64)
                out += b"".join(struct.pack("Ii", m, 0) for _, m in entries)
                self.reply(unique, out)
            elif op == FSN_POLL:
                self.polls.put(unique)
            else:
                self.reply(unique, error=ENOSYS)

    def answer_polls(self):
        while True:
            unique = self.polls.get()
            self.reply(unique, self.replies.get())
