# SPDX-License-Identifier: GPL-2.0
"""Normalisation and comparison of event streams.

What legitimately differs between a watch on the backing directory and the
same watch on the mount, and is normalised away:

* watch descriptors: each event names its watch by the watched path;
* cookie values: a cookie is replaced by the positions of the events that
  carry it (`dir[4]+sub[2]`), so the *pairing* of MOVED_FROM and MOVED_TO is
  still compared, the number is not;
* file handles and inode numbers: fanotify's directory handles become the
  directory's path (or `new-dir#k` for a directory the workload made).

Nothing else is: masks, names, order within a watch, the number of events,
overflow events, lifecycle (DELETE_SELF, IGNORED) all count. Streams are
compared per watch, in order: the order *across* watches is not part of
inotify's contract for one object seen by two watches.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from watchers import FAN_NAMES, IN_NAMES, mask_str  # noqa: E402

OVERFLOW_WATCH = "(queue)"


def inotify_streams(events):
    """{watch: [(mask, cookie label, name)]} from (watch, mask, cookie, name)."""
    per, where = {}, {}
    for w, mask, cookie, name in events:
        lst = per.setdefault(w, [])
        if cookie:
            where.setdefault(cookie, []).append((w, len(lst)))
        lst.append((mask, cookie, name))
    out = {}
    for w, lst in per.items():
        out[w] = [
            (mask_str(m, IN_NAMES), "+".join(f"{a}[{i}]" for a, i in sorted(where[c])) if c else "", n)
            for m, c, n in lst
        ]
    return out


def fanotify_streams(events):
    """{"group": [(mask, records)]}, one stream (fanotify does not say which
    mark matched), in fanotify's fully merged form: one entry per object
    (its records, and whether it is a directory) in order of first
    appearance, with the union of its event types.

    fanotify merges an event into a queued one of the same object *and the
    same pid*, for as long as the reader has not read it. On the mount, the
    remote events are injected by the module's kernel worker, one pid for
    all, so they merge across what were different processes on the host;
    and how much merges depends on when the reader reads. Merging both
    streams completely makes the comparison independent of both, and keeps
    every object, every event type and the order in which the objects
    first appear. (Documentation/conformance.rst, "fanotify merging".)"""
    merged, order = {}, []
    for g, mask, recs in events:
        key = (g, recs, bool(mask & 0x40000000))
        if key not in merged:
            merged[key] = 0
            order.append(key)
        merged[key] |= mask
    out = {}
    for key in order:
        out.setdefault(key[0], []).append((mask_str(merged[key], FAN_NAMES), key[1]))
    return out


READS = 0x001 | 0x010 | 0x020  # ACCESS, CLOSE_NOWRITE, OPEN (same bits in both APIs)


def drop_reads(events):
    """The raw events without the read-only types (inotify: one type per
    event; fanotify: the bits are cleared, the event kept if any remain)."""
    out = []
    for e in events:
        rest = e[1] & ~READS
        if rest & 0xFFFF or rest & 0x10000000:
            out.append((e[0], rest) + tuple(e[2:]))
    return out


# The order in which the server splits a merged fanotify mask into event
# types (tools/fsn-server/src/translate.rs, ORDER); IGNORED is the guest's.
SPLIT_ORDER = ["CREATE", "OPEN", "ACCESS", "MODIFY", "ATTRIB", "CLOSE_WRITE", "CLOSE_NOWRITE",
               "MOVED_FROM", "MOVED_TO", "DELETE", "MOVE_SELF", "DELETE_SELF", "IGNORED"]
_RANK = {t: i for i, t in enumerate(SPLIT_ORDER)}
_ALONE = {"MOVED_FROM", "MOVED_TO", "IGNORED", "Q_OVERFLOW", "UNMOUNT"}


def _merge_view(events):
    """{watch: [(type, isdir, partner, name)]}: inotify events with each
    cookie replaced by its partner (watch, name, type), which does not
    depend on positions that merging shifts."""
    carriers = {}
    for w, mask, cookie, name in events:
        if cookie:
            carriers.setdefault(cookie, []).append((w, name, mask))
    out = {}
    for w, mask, cookie, name in events:
        kinds = mask_str(mask, IN_NAMES).split("|")
        isdir = "ISDIR" in kinds
        t = next((k for k in kinds if k != "ISDIR"), "")
        partner = ""
        if cookie:
            others = [c for c in carriers[cookie] if c != (w, name, mask)]
            partner = repr(sorted(others))
        out.setdefault(w, []).append((t, isdir, partner, name))
    return out


def _explained_by_merging(want, got):
    """Whether `got` (one name's events in one watch) is `want` after the
    server's fanotify merging: `want` cut into consecutive runs, each run
    reported as its distinct event types in the server's split order. A run
    never mixes ISDIR with non-ISDIR events, and moves, IGNORED and overflows
    are never merged (fanotify's rules; moves are FAN_RENAME). A run may
    also start again with the event that ended the run before: the
    oracle's inotify merges an event into an identical one it has queued
    last, so one oracle event may stand for two that the server split."""
    n, m = len(want), len(got)
    reach = [set() for _ in range(n + 1)]
    reach[0].add(0)

    def runs_from(start, js, out_i):
        seen = {}
        for k in range(start, n):
            e = want[k]
            if e[0] in _ALONE and k > start:
                break
            if seen and next(iter(seen))[1] != e[1]:
                break
            seen[e] = None
            run = sorted(seen, key=lambda x: _RANK.get(x[0], len(_RANK)))
            for j in js:
                if got[j:j + len(run)] == run:
                    out_i.append((k + 1, j + len(run)))
            if e[0] in _ALONE:
                break

    for i in range(n):
        done = set()
        while reach[i] - done:
            js = reach[i] - done
            done |= js
            new = []
            runs_from(i, js, new)
            if i > 0:
                runs_from(i - 1, js, new)
            for k, j in new:
                reach[k].add(j)
    if n > 0:
        # The last oracle event may stand for two as well.
        done = set()
        while reach[n] - done:
            js = reach[n] - done
            done |= js
            new = []
            runs_from(n - 1, js, new)
            for k, j in new:
                reach[k].add(j)
    return m in reach[n]


def merged_on_host(want_events, got_events):
    """The rule `host-merged` (Documentation/conformance.rst): the inotify
    streams differ only as the server's fanotify merging makes them differ.
    Per watch: the same names in the same order of first appearance, and
    each name's events explained by merging (see _explained_by_merging).
    Returns None, or the first watch and name that is not explained."""
    want, got = _merge_view(want_events), _merge_view(got_events)
    if set(want) != set(got):
        return f"watches differ: {sorted(set(want) ^ set(got), key=str)}"
    for w in want:
        a, b = want[w], got[w]
        names_a = list(dict.fromkeys(e[3] for e in a))
        names_b = list(dict.fromkeys(e[3] for e in b))
        if names_a != names_b:
            return f"{w}: names in another order"
        for name in names_a:
            pa = [e for e in a if e[3] == name]
            pb = [e for e in b if e[3] == name]
            if not _explained_by_merging(pa, pb):
                return f"{w} {name!r}: not explained by merging"
    return None


def _self_key(recs):
    """The directory of an event on a directory itself (`dir:D/.`), or None."""
    if len(recs) == 1 and recs[0][0] == "dir" and recs[0][2] == ".":
        return recs[0][1]
    return None


def child_gone(want, got):
    """The rule `child-gone` (Documentation/conformance.rst) on fully merged
    fanotify streams: the mount reported some events of a directory the
    workload made on the directory it was in instead (the module's lookup
    of the uncached child failed: it was removed before its event was
    injected). Holds when, for some directories the workload made, the
    mount lacks some or all of their types (a directory absent altogether
    shifts the mount's `new-dir#k` numbering, which is redone); every other
    entry, except the watched directories' own, agrees in order; and each
    watched directory's own entry has on the mount all of the oracle's
    types and no type but those and the lacking ones. Returns None when it
    holds, else why not (for the last combination tried)."""
    a, b = want.get("group", []), got.get("group", [])

    def made(e):
        return (_self_key(e[1]) or "").startswith("new-dir#")

    def own(e):
        return _self_key(e[1]) is not None and not made(e)

    labels = list(dict.fromkeys(_self_key(e[1]) for e in a if made(e)))
    if len(labels) > 12:
        return "too many directories made by the workload to try"
    why = "no directory made by the workload lacks events on the mount"
    for bits in range(1 << len(labels)):
        absent = {lb for i, lb in enumerate(labels) if bits >> i & 1}
        renum = {lb: f"new-dir#{i}" for i, lb in enumerate(x for x in labels if x not in absent)}
        extra, rest_a = set(), []
        for e in a:
            if own(e):
                continue
            if made(e):
                if _self_key(e[1]) in absent:
                    extra |= set(e[0].split("|"))
                    continue
                e = (e[0], (("dir", renum[_self_key(e[1])], "."),))
            rest_a.append(e)
        rest_b = [e for e in b if not own(e)]
        if len(rest_a) != len(rest_b):
            why = "other entries differ"
            continue
        ok = True
        for x, y in zip(rest_a, rest_b):
            if x[1] != y[1]:
                ok = False
                break
            tx, ty = set(x[0].split("|")), set(y[0].split("|"))
            if made(x) and ty <= tx:
                extra |= tx - ty
            elif tx != ty:
                ok = False
                break
        if not ok:
            why = "other entries differ"
            continue
        if not extra - {"ONDIR"}:
            continue
        mask_a = {e[1]: set(e[0].split("|")) for e in a if own(e)}
        mask_b = {e[1]: set(e[0].split("|")) for e in b if own(e)}
        if any(not t <= mask_a.get(k, set()) | extra for k, t in mask_b.items()):
            why = "a watched directory has types neither the oracle's nor the lacking ones"
            continue
        if any(not t <= mask_b.get(k, set()) for k, t in mask_a.items()):
            why = "a watched directory's own events are missing"
            continue
        return None
    return why


def rename_gone(want, got, fan_want):
    """The rule `rename-gone` (Documentation/conformance.rst) on fully
    merged FAN_RENAME streams: FAN_RENAME needs the moved entry, which the
    module looks up by its new name; an entry removed or moved again
    before the event reached the guest cannot be found and its FAN_RENAME
    is not reported. Holds when the mount's stream is the oracle's without
    some RENAME entries, each of whose new name the oracle's main fanotify
    group (`fan_want`) saw deleted or moved away. Returns None or why not."""
    a, b = want.get("group", []), got.get("group", [])
    gone = {r[1:] for m, r in fan_want.get("group", [])
            for r in r if len(r) == 3 and r[0] == "dir" and ("DELETE" in m.split("|") or "MOVED_FROM" in m.split("|"))}
    it = iter(b)
    lacking = []
    pending = next(it, None)
    for e in a:
        if e == pending:
            pending = next(it, None)
        else:
            lacking.append(e)
    if pending is not None or next(it, None) is not None:
        return "the mount has renames the oracle has not, or in another order"
    if not lacking:
        return "nothing lacking"
    for m, recs in lacking:
        new = [r[1:] for r in recs if len(r) == 3 and r[0] == "new"]
        if not new or new[0] not in gone:
            return f"{fmt((m, recs))}: its new name was not removed"
    return None


def drop_gone_dir_reads(events):
    """The inotify events without the read events (OPEN, ACCESS,
    CLOSE_NOWRITE) of subdirectories that the same watch later saw removed
    (DELETE|ISDIR of the name): the rule `dir-gone-reads`."""
    gone = set()
    out = []
    for e in reversed(events):
        w, mask, _cookie, name = e
        if mask & 0x200 and mask & 0x40000000:
            gone.add((w, name))
        if name and mask & 0x40000000 and mask & READS and (w, name) in gone:
            continue
        out.append(e)
    out.reverse()
    return out


def count(streams):
    return sum(len(v) for v in streams.values())


def has_overflow(streams):
    return any(OVERFLOW_WATCH == w or any("Q_OVERFLOW" in e[0] for e in s) for w, s in streams.items())


def first_difference(want, got):
    """Index of the first difference of two lists, or None when equal."""
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return i
    return None if len(want) == len(got) else min(len(want), len(got))


def fmt(e):
    if e is None:
        return "-"
    if len(e) == 3:
        mask, cookie, name = e
        return f"{mask} {name!r}" + (f" cookie={cookie}" if cookie else "")
    mask, recs = e
    return f"{mask} " + " ".join(f"{r[0]}:{r[1]}/{r[2]}" if len(r) == 3 else r[0] for r in recs)


def compare_exact(want, got):
    """Per watch, in order. Returns (None, None) when equal, else (text of
    the first difference, {watch: index}) for the report."""
    diffs = {}
    first = None
    for w in sorted(set(want) | set(got), key=str):
        a, b = want.get(w, []), got.get(w, [])
        i = first_difference(a, b)
        if i is not None:
            diffs[w] = i
            if first is None:
                ea = a[i] if i < len(a) else None
                eb = b[i] if i < len(b) else None
                first = f"{w}[{i}]: oracle {fmt(ea)} / mount {fmt(eb)}"
    return first, diffs


def side_by_side(want, got, diffs, context=40, limit=400):
    """Both streams, watch by watch, in two columns; the first difference of
    each watch is marked `>>`."""
    lines = []
    for w in sorted(set(want) | set(got), key=str):
        a, b = want.get(w, []), got.get(w, [])
        d = diffs.get(w)
        lines.append(f"== watch {w}: oracle {len(a)} events, mount {len(b)} events"
                     + ("" if d is None else f", first difference at {d}"))
        n = max(len(a), len(b))
        lo = 0 if d is None else max(0, d - context)
        hi = min(n, lo + limit)
        if lo:
            lines.append(f"   ... {lo} equal events ...")
        for i in range(lo, hi):
            ea = fmt(a[i]) if i < len(a) else "-"
            eb = fmt(b[i]) if i < len(b) else "-"
            mark = ">>" if i == d else ("  " if ea == eb else " !")
            lines.append(f"{mark} {i:5d} {ea:<60.60} | {eb}")
        if hi < n:
            lines.append(f"   ... {n - hi} more ...")
    return "\n".join(lines) + "\n"


def _is_subsequence(sub, seq):
    it = iter(seq)
    return all(any(x == y for y in it) for x in sub)


def _merged(stream):
    """fanotify's merged view: per (records) the union of the mask bits."""
    out = {}
    for mask, recs in stream:
        out.setdefault(recs, set()).update(mask.split("|"))
    return out


def compare_lossy(ref, oracle, mount, kind):
    """The rule for a burst beyond the queues (Documentation/conformance.rst):

    `ref` is the same watch on the backing directory with a queue large
    enough to hold everything: what happened. A stream is *honest* when it
    is complete (equal to `ref`) or when it reports the overflow and what it
    does report is part of `ref` (in order for inotify; fanotify merges
    queued events by design, so for fanotify each object's event types must
    be among those `ref` has). The mount passes when it is honest, and
    complete whenever the oracle (the default-sized watch on the backing
    directory) is complete: it may lose only where the backing watch would.
    Returns None or the reason it fails."""
    if has_overflow(ref):
        return "the reference watch overflowed (raise its queue)"
    for label, s in (("oracle", oracle), ("mount", mount)):
        if not has_overflow(s):
            if kind == "inotify":
                first, _ = compare_exact(ref, s)
            else:
                a, b = _merged(ref.get("group", [])), _merged(s.get("group", []))
                first = None if a == b else f"{len(a)} objects in the reference, {len(b)} here"
            if first:
                return f"{label} lost or changed events without an overflow event: {first}"
            continue
        for w, events in s.items():
            if w == OVERFLOW_WATCH:
                continue
            real = [e for e in events if "Q_OVERFLOW" not in e[0]]
            if kind == "inotify":
                if not _is_subsequence(real, ref.get(w, [])):
                    return f"{label} watch {w}: events not in the reference, or out of order"
            else:
                mref, mgot = _merged(ref.get(w, [])), _merged(real)
                bad = [r for r, m in mgot.items() if not m <= mref.get(r, set())]
                if bad:
                    return f"{label}: {fmt(('', bad[0]))} not in the reference"
    if not has_overflow(oracle) and has_overflow(mount):
        return "the mount overflowed where the backing watch kept every event"
    return None
