#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A malicious server cannot hurt the guest: every malformed batch or
record (bad names, unknown mask bits, several event types, lying lengths,
an unknown version, a sequence going backwards) is rejected and counted,
and reported to the watchers as one IN_Q_OVERFLOW, after which the module
resyncs its marks; an event for an unknown nodeid is dropped and counted;
an unknown record type is skipped; a well-formed event after all of it is
still delivered; a reply larger than the poll buffer ends polling on that
connection.  run.sh checks the kernel log for splats afterwards."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from fsnlib import *  # noqa: E402,F403
from evil_server import EvilServer, batch, event, raw_record  # noqa: E402

CREATE, DELETE = 0x100, 0x200
ROOT = 1

work, _backing, mnt = tmpfs_work()
srv = EvilServer(mnt)
ino = Inotify()
ino.add(mnt, IN_CREATE | IN_DELETE)
expect(counter("armed", mnt) == 1, "the evil server armed the root's watch")
seq = 0


def send(body, next_seq=True):
    global seq
    srv.replies.put(body)
    if next_seq:
        seq += 1
    return ino.read(0.5)


def good(name):
    return batch(seq + 1, [event(CREATE, 0, ROOT, name)])


expect(send(good(b"good1")) == [(1, IN_CREATE, 0, "good1")], "a good event is delivered")

# (what, batch for a seq, whether the module can read the batch's seq:
# a batch whose header is malformed does not advance the sequence).
BAD = [
    ("a name with '/'", lambda s: batch(s, [event(CREATE, 0, ROOT, b"a/b")]), True),
    ("the name '..'", lambda s: batch(s, [event(CREATE, 0, ROOT, b"..")]), True),
    ("the name '.'", lambda s: batch(s, [event(CREATE, 0, ROOT, b".")]), True),
    ("a name with NUL", lambda s: batch(s, [event(CREATE, 0, ROOT, b"a\0b")]), True),
    ("a name of 256 bytes", lambda s: batch(s, [event(CREATE, 0, ROOT, b"n" * 256)]), True),
    ("an empty name with a parent", lambda s: batch(s, [event(CREATE, 5, ROOT, b"")]), True),
    ("namelen past the record", lambda s: batch(s, [event(CREATE, 0, ROOT, b"abc", namelen=200)]), True),
    ("unknown mask bits", lambda s: batch(s, [event(CREATE | 0x00100000, 0, ROOT, b"x")]), True),
    ("two event types", lambda s: batch(s, [event(CREATE | DELETE, 0, ROOT, b"x")]), True),
    ("no event type", lambda s: batch(s, [event(0, 0, ROOT, b"x")]), True),
    ("non-zero reserved", lambda s: batch(s, [event(CREATE, 0, ROOT, b"x", reserved=1)]), True),
    ("slack in the record length", lambda s: batch(s, [event(CREATE, 0, ROOT, b"x", pad=8)]), True),
    ("a record length not a multiple of 8", lambda s: batch(s, [raw_record(1, 12, CREATE, b"\0" * 4)]), True),
    ("a record length under 8", lambda s: batch(s, [raw_record(1, 4, CREATE, b"")]), True),
    ("a batch length that lies", lambda s: batch(s, [event(CREATE, 0, ROOT, b"x")], length=8), False),
    ("a count that cannot fit", lambda s: batch(s, [event(CREATE, 0, ROOT, b"x")], count=1000), False),
    ("an unknown version", lambda s: batch(s, [event(CREATE, 0, ROOT, b"x")], version=99), False),
    ("unknown batch flags", lambda s: batch(s, [], flags=0x80), False),
    ("a truncated header", lambda s: batch(s, [])[:20], False),
]
for what, make, advances in BAD:
    r0, o0, s0 = counter("rejected", mnt), counter("overflows", mnt), counter("resyncs", mnt)
    m0 = len(srv.marks)
    got = send(make(seq + 1), next_seq=advances)
    expect(got == [(-1, IN_Q_OVERFLOW, 0, "")], f"{what}: one IN_Q_OVERFLOW, nothing else ({got})")
    expect(counter("rejected", mnt) == r0 + 1, f"{what}: rejected and counted")
    expect(counter("overflows", mnt) == o0 + 1 and counter("resyncs", mnt) == s0 + 1, f"{what}: resync")
    flags, entries = srv.marks[-1] if len(srv.marks) > m0 else (0, [])
    expect(flags == 1 and entries == [(ROOT, CREATE | DELETE)], f"{what}: the resync re-sent the mark")

# The sequence going backwards (a replayed batch) is a rejection too.
r0 = counter("rejected", mnt)
got = send(batch(seq, [event(CREATE, 0, ROOT, b"replayed")]), next_seq=False)
expect(got == [(-1, IN_Q_OVERFLOW, 0, "")], f"a replayed seq: one IN_Q_OVERFLOW ({got})")
expect(counter("rejected", mnt) == r0 + 1, "a replayed seq: rejected and counted")

# An event about an unknown nodeid: dropped and counted, no overflow.
d0 = counter("events_dropped", mnt)
expect(send(batch(seq + 1, [event(CREATE, 0, 4242, b"x")])) == [], "unknown nodeid: nothing reported")
expect(counter("events_dropped", mnt) == d0 + 1, "unknown nodeid: dropped and counted")

# An unknown record type is skipped by its length; the next record counts.
skip = raw_record(7, 16, 0, b"\0" * 8)
got = send(batch(seq + 1, [skip, event(CREATE, 0, ROOT, b"good2")]))
expect(got == [(1, IN_CREATE, 0, "good2")], f"unknown record type skipped ({got})")

# A gap in the sequence: events were lost; what came is still delivered.
seq += 5
got = send(good(b"good3"))
expect(got == [(-1, IN_Q_OVERFLOW, 0, ""), (1, IN_CREATE, 0, "good3")] or
       got == [(1, IN_CREATE, 0, "good3"), (-1, IN_Q_OVERFLOW, 0, "")], f"a seq gap: overflow and the event ({got})")

# A reply larger than the poll's buffer: FUSE refuses it, the POLL fails,
# the module stops polling on this connection and reports the loss.
e0 = counter("request_errors", mnt)
got = send(batch(seq + 1, [event(CREATE, 0, ROOT, b"n" * 200)] * 400))
expect(got == [(-1, IN_Q_OVERFLOW, 0, "")], f"an oversize reply: one IN_Q_OVERFLOW ({got})")
expect(counter("request_errors", mnt) == e0 + 1, "an oversize reply: the poll failed, counted")

ino.close()
subprocess.run(["umount", mnt], check=True)
subprocess.run(["umount", work], check=True)
