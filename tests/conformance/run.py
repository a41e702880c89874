#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The conformance suite: does a watch on the FUSE mount report what the
same watch on the backing directory reports? (Documentation/conformance.rst)

Runs in the guest as root, with fuse_fsnotify.ko loaded, from the checkout:

    python3 tests/conformance/run.py --out DIR [--only W1,W2] [--no-real]
                                     [--cache /var/cache/fuse-fsnotify]

For every workload in tests/conformance/workloads/ (each on a fresh tmpfs):

remote  the workload changes the backing directory; the watches on the
        mount are compared with the same watches on the backing directory.
local   the workload runs on mount A; the watches on A are compared with the
        same watches on a plain tmpfs directory that ran the same workload
        (the guest's own changes must appear once, as on a local fs).
peer    in the same run a second server instance serves mount B of the same
        backing directory: B's watches are compared with the watches on the
        backing directory (A's changes are remote events for B).

Exact watchers (inotify; fanotify with FAN_REPORT_DFID_NAME, and a
FAN_RENAME group for workloads that rename) are compared event by event,
per watch, in order. The real watchers (inotifywait -m -r, watchdog,
chokidar) run on one long-lived backing directory and mount for all
workloads (each workload in its own subdirectory, so their start-up is paid
once) and are compared by the set of changed paths, remote side only.

Writes DIR/conformance.tap (a plan, then one line per workload x watcher x
side), DIR/conformance.md (the table) and, for each mismatch,
DIR/conformance-<workload>-<watcher>-<side>.log with both streams side by
side. Exits 0 when the suite ran to the end, whatever the verdicts.
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "guest"))
import compare  # noqa: E402
import fsnlib  # noqa: E402
import watchers as W  # noqa: E402

EXACT = ("inotify", "fanotify", "fanotify-rename")
REAL = ("inotifywait", "watchdog", "chokidar")
SIDES = ("remote", "local", "peer")
QUIET = 1.5
BIG_QUEUE = 1 << 20
# Known limitations a verdict may name ("known <key>"), each argued in
# Documentation/conformance.rst; such a test is TAP "not ok # TODO".
KNOWN = {
    "watcher-race": "the watcher adds a watch for a new directory after it learns of it and misses "
                    "what happened inside before; every difference is below such a directory",
    "child-gone": "a directory the workload made was removed before its event reached the guest; "
                  "its events are reported on its parent",
    "watcher-lossy": "the watcher loses paths of a burst on the backing directory too (other "
                     "watchers there report them); the mount reports only those more",
    "rename-gone": "the renamed entry was removed before the event reached the guest; "
                   "FAN_RENAME needs it and is not reported",
    "dir-gone-reads": "a removed directory's reads reached the server when nothing could name it any more; "
                      "they are not reported to its parent's watch",
    "host-merged": "the server's fanotify queue merged events of one object; "
                   "merging explains every difference",
}


def load_workloads(only):
    """The workload modules, in file name order (NN-name.py)."""
    out = []
    d = os.path.join(HERE, "workloads")
    for f in sorted(os.listdir(d)):
        if not f.endswith(".py") or f.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f[:-3].replace("-", "_"), os.path.join(d, f))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if only and mod.NAME not in only:
            continue
        out.append(mod)
    return out


def plan(workloads, real):
    """Every test the run will report, in order: fixed before anything runs,
    so that a run cut short leaves a plan it did not meet."""
    tests = []
    for wl in workloads:
        for side in SIDES:
            for w in EXACT:
                if w == "fanotify-rename" and not getattr(wl, "RENAME", False):
                    continue
                tests.append((wl.NAME, w, side))
    if real:
        for wl in workloads:
            for w in REAL:
                tests.append((wl.NAME, w, "remote"))
    return tests


class Results:
    """TAP as the tests finish, the table and mismatch logs at the end."""

    def __init__(self, out, tests):
        self.out, self.tests = out, tests
        self.rows = {}
        self.n = 0
        self.tap = open(os.path.join(out, "conformance.tap"), "w")
        self.tap.write(f"1..{len(tests)}\n")
        self.tap.flush()
        self.notes = []

    def add(self, wl, watcher, side, minimum, oracle, mount, verdict, diff="", log_text=None):
        key = (wl.NAME, watcher, side)
        assert key in self.tests and key not in self.rows, key
        log = ""
        if log_text is not None:
            log = f"conformance-{wl.NAME}-{watcher}-{side}.log"
            with open(os.path.join(self.out, log), "w") as f:
                f.write(log_text)
        todo = KNOWN.get(verdict[6:]) if verdict.startswith("known ") else None
        self.rows[key] = (minimum, oracle, mount, verdict, diff, log)
        self.n += 1
        name = f"conformance: {wl.NAME} / {watcher} / {side}"
        if verdict == "pass":
            line = f"ok {self.n} {name}"
        elif verdict.startswith("skip"):
            line = f"ok {self.n} {name} # SKIP {verdict[5:]}"
        elif todo:
            line = f"not ok {self.n} {name} # TODO known limitation: {todo} (Documentation/conformance.rst)"
        else:
            line = f"not ok {self.n} {name}"
        self.tap.write(line + "\n")
        if verdict not in ("pass",) and not verdict.startswith("skip"):
            self.tap.write(f"# {diff}\n" if diff else "")
        self.tap.flush()
        print(line, f"({oracle} / {mount} events, min {minimum})" + (f": {diff}" if diff and verdict != "pass" else ""),
              flush=True)

    def fail_rest(self, wl, sides, watchers, why):
        for t in self.tests:
            if t[0] == wl.NAME and t[2] in sides and t[1] in watchers and t not in self.rows:
                self.add(wl, t[1], t[2], "-", "-", "-", "fail", why)

    def finish(self, elapsed, info):
        self.tap.close()
        md = ["# Conformance: a watch on the mount vs the same watch on the backing directory", "",
              "Generated by `tests/conformance/run.py` (`make conformance`); see",
              "`Documentation/conformance.rst` for what each side and rule means.", "",
              "| workload | watcher | side | events expected (min) | oracle events | mount events | verdict | first difference |",
              "|---|---|---|---|---|---|---|---|"]
        npass = nfail = nskip = nknown = 0
        for key in self.tests:
            r = self.rows.get(key)
            if r is None:
                md.append(f"| {key[0]} | {key[1]} | {key[2]} | | | | not run | |")
                nfail += 1
                continue
            minimum, o, m, verdict, diff, _log = r
            v = {"pass": "pass", "fail": "**FAIL**"}.get(verdict, verdict)
            if verdict.startswith("known "):
                v = f"known limitation: {KNOWN[verdict[6:]]}"
            npass += verdict == "pass"
            nskip += verdict.startswith("skip")
            nknown += verdict.startswith("known ")
            nfail += verdict == "fail"
            diff = diff.replace("|", "\\|").replace("\n", " ")
            md.append(f"| {key[0]} | {key[1]} | {key[2]} | {minimum} | {o} | {m} | {v} | {diff[:160]} |")
        md += ["", f"{npass} passed, {nfail} failed, {nknown} known limitations, {nskip} skipped in {elapsed:.0f} s.", "",
               "## Workload runs", "", "| workload | side | size | workload time | note |", "|---|---|---|---|---|"]
        for row in info:
            md.append("| " + " | ".join(str(x) for x in row) + " |")
        with open(os.path.join(self.out, "conformance.md"), "w") as f:
            f.write("\n".join(md) + "\n")
        print(f"conformance: {npass} passed, {nfail} failed, {nknown} known limitations, {nskip} skipped "
              f"in {elapsed:.0f} s", flush=True)


class Ctx:
    """What a workload gets: its size and a scratch directory outside the
    watched tree (archives, templates)."""

    def __init__(self, size, scratch):
        self.size, self.scratch = size, scratch


def fresh_work():
    work, backing, mnt = fsnlib.tmpfs_work()
    scratch = os.path.join(work, "scratch")
    os.mkdir(scratch)
    return work, backing, mnt, scratch


def unmount_all(work):
    """Unmount everything below `work`, then `work`."""
    with open("/proc/mounts") as f:
        mnts = [line.split()[1] for line in f if line.split()[1].startswith(work + "/")]
    for m in sorted(mnts, reverse=True):
        subprocess.run(["umount", "-l", m], check=False)
    subprocess.run(["umount", "-l", work], check=False)
    shutil.rmtree(work, ignore_errors=True)


def watch_paths(wl, root):
    """The workload's watched paths; `**` is every directory of the tree as
    set up (except git's object store, whose fan-out adds hundreds of
    directories and nothing to compare)."""
    out = []
    for p in wl.WATCH:
        if p == "**":
            for dirpath, dirs, _ in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not os.path.join(dirpath, d).endswith(".git/objects"))
                out.append(os.path.relpath(dirpath, root))
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def before(wl, root, ctx):
    """The workload's optional `before(root, ctx)`, run in the tree it will
    change (the mount on the local side) before any watch exists: what the
    application would have done there already (git's index matches the
    stat data of the tree it is used on)."""
    if hasattr(wl, "before"):
        cwd = os.getcwd()
        os.chdir(root)
        try:
            wl.before(root, ctx)
        finally:
            os.chdir(cwd)


def prepare(wl, roots):
    """The watched paths and directory handles of each tree, read before
    any watch exists: reading a directory is itself an event."""
    return {r: (watch_paths(wl, r), W.dir_handles(r)) for r in roots}


class Site:
    """The exact watchers of one tree (backing, mount, plain directory)."""

    def __init__(self, wl, root, prep, lossy, ref=False):
        self.w = {}
        self.unsupported = {}
        paths, handles = prep[root]
        queued = BIG_QUEUE if (ref or not lossy) else None
        self.w["inotify"] = W.InotifyWatch(root, paths, queued=queued)
        for kind, mask in (("fanotify", W.FAN_EVENTS | W.FAN_ONDIR), ("fanotify-rename", W.FAN_RENAME | W.FAN_ONDIR)):
            if kind == "fanotify-rename" and not getattr(wl, "RENAME", False):
                continue
            try:
                self.w[kind] = W.FanotifyWatch(root, paths, handles, mask=mask, unlimited=ref or not lossy)
            except W.Unsupported as e:
                self.unsupported[kind] = str(e)

    def streams(self, kind, drop_reads=False):
        w = self.w[kind]
        events = w.events
        if drop_reads:
            events = compare.drop_reads(events)
        if kind == "inotify":
            return compare.inotify_streams(events)
        return compare.fanotify_streams(events)

    def close(self):
        for w in self.w.values():
            w.close()


def run_workload(wl, root, ctx, sites, lossy, log):
    """Run the workload with `root` as working directory while `sites` are
    watched; returns the seconds it took."""
    ws = [w for s in sites for w in s.w.values()]
    # What the instrument itself caused before the workload (a FUSE
    # RELEASEDIR of the handle walk reaches the backing directory late, as a
    # CLOSE_NOWRITE) is read and dropped: the workload has not started.
    W.Reader(ws).settle(0.5, cap=10)
    for w in ws:
        w.events.clear()
    reader = W.Reader(ws)
    if lossy:
        reader.start()
    t0 = time.monotonic()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        wl.run(root, ctx)
    finally:
        os.chdir(cwd)
    took = time.monotonic() - t0
    tail = reader.settle(QUIET)
    log.write(f"{wl.NAME}: workload {took:.2f} s, last event {tail:.2f} s after it\n")
    return took


def judge(res, wl, kind, side, minimum, oracle_site, mount_site, lossy, ref_site=None):
    """One test: the mount's stream of `kind` against the oracle's."""
    if kind in oracle_site.unsupported:
        res.add(wl, kind, side, minimum, "-", "-", "fail", f"oracle: {oracle_site.unsupported[kind]}")
        return
    if kind in mount_site.unsupported:
        res.add(wl, kind, side, minimum, "-", "-", f"skip {mount_site.unsupported[kind]}")
        return
    # The local oracle is a separate run: an application whose reads vary
    # from run to run (git's racy-clean checks) is compared there on what
    # it changed only (Documentation/conformance.rst).
    drop = side == "local" and getattr(wl, "READS_VARY", False)
    want, got = oracle_site.streams(kind, drop), mount_site.streams(kind, drop)
    nw, ng = compare.count(want), compare.count(got)
    base = ref_site.streams(kind) if lossy else want
    if compare.count(base) < minimum:
        text = compare.side_by_side(want, got, {})
        res.add(wl, kind, side, minimum, nw, ng, "fail",
                f"the oracle saw {compare.count(base)} events, fewer than the workload's minimum {minimum}", text)
        return
    if lossy:
        why = compare.compare_lossy(base, want, got, "inotify" if kind == "inotify" else "fanotify")
        ov = f" (reference {compare.count(base)}; overflow: oracle {compare.has_overflow(want)}, mount {compare.has_overflow(got)})"
        if why is None:
            res.add(wl, kind, side, minimum, nw, ng, "pass", "rule: honest loss" + ov)
        else:
            first, diffs = compare.compare_exact(base, got)
            res.add(wl, kind, side, minimum, nw, ng, "fail", why + ov,
                    "reference (left) vs mount (right)\n" + compare.side_by_side(base, got, diffs))
        return
    first, diffs = compare.compare_exact(want, got)
    if first is None:
        res.add(wl, kind, side, minimum, nw, ng, "pass")
        return
    verdict = "fail"
    if side in ("remote", "peer") and kind == "inotify" and not drop:
        # The server reads the host with fanotify, which merges queued
        # events of one object: a difference that merging explains, and
        # nothing else, is that known limitation.
        ow, mw = oracle_site.w[kind].events, mount_site.w[kind].events
        why = compare.merged_on_host(ow, mw)
        if why is None:
            verdict = "known host-merged"
        elif compare.merged_on_host(compare.drop_gone_dir_reads(ow), compare.drop_gone_dir_reads(mw)) is None:
            verdict = "known dir-gone-reads"
        else:
            first += f" (not merging: {why})"
    if side in ("remote", "peer") and kind == "fanotify-rename" and not drop:
        why = compare.rename_gone(want, got, oracle_site.streams("fanotify"))
        if why is None:
            verdict = "known rename-gone"
        else:
            first += f" (not rename-gone: {why})"
    if side in ("remote", "peer") and kind == "fanotify" and not drop:
        why = compare.child_gone(want, got)
        if why is None:
            verdict = "known child-gone"
        else:
            first += f" (not child-gone: {why})"
    res.add(wl, kind, side, minimum, nw, ng, verdict, first,
            "oracle (left) vs mount (right)\n" + compare.side_by_side(want, got, diffs))


def exact_kinds(wl):
    return [k for k in EXACT if k != "fanotify-rename" or getattr(wl, "RENAME", False)]


def remote_side(wl, res, log, info):
    """The workload changes the backing directory: mount vs backing."""
    size = wl.SIZE["remote"]
    mins = wl.minimum(size)
    lossy = getattr(wl, "LOSSY", False)
    work, backing, mnt, scratch = fresh_work()
    ctx = Ctx(size, scratch)
    try:
        wl.setup(backing, ctx)
        with fsnlib.ServerMount(backing, mnt, os.path.join(res.out, "conformance-server.log"), level="warn"):
            before(wl, backing, ctx)
            prep = prepare(wl, (backing, mnt))
            oracle = Site(wl, backing, prep, lossy)
            mount = Site(wl, mnt, prep, lossy)
            ref = Site(wl, backing, prep, lossy, ref=True) if lossy else None
            sites = [oracle, mount] + ([ref] if ref else [])
            took = run_workload(wl, backing, ctx, sites, lossy, log)
            note = wl.note(size, took) if hasattr(wl, "note") else ""
            info.append((wl.NAME, "remote", size, f"{took:.1f} s", note))
            for kind in exact_kinds(wl):
                judge(res, wl, kind, "remote", mins[kind], oracle, mount, lossy, ref)
            for s in sites:
                s.close()
    except Exception:
        log.write(traceback.format_exc())
        res.fail_rest(wl, ("remote",), EXACT, "error: " + traceback.format_exc().strip().splitlines()[-1])
    finally:
        unmount_all(work)


def local_and_peer(wl, res, log, info):
    """The workload runs on mount A. Oracle for A: the same workload on a
    plain tmpfs directory. Oracle for B (a second server on the same
    backing directory): the watch on the backing directory, same run."""
    size = wl.SIZE["local"]
    mins = wl.minimum(size)
    lossy = getattr(wl, "LOSSY", False)
    work, backing, mnt, scratch = fresh_work()
    ctx = Ctx(size, scratch)
    try:
        plain = os.path.join(work, "plain")
        os.mkdir(plain)
        wl.setup(plain, ctx)
        before(wl, plain, ctx)
        prep = prepare(wl, (plain,))
        po = Site(wl, plain, prep, lossy)
        pref = Site(wl, plain, prep, lossy, ref=True) if lossy else None
        took = run_workload(wl, plain, ctx, [po] + ([pref] if pref else []), lossy, log)
        info.append((wl.NAME, "local oracle (tmpfs)", size, f"{took:.1f} s", ""))

        ctx = Ctx(size, scratch)
        shutil.rmtree(scratch)
        os.mkdir(scratch)
        wl.setup(backing, ctx)
        mnt_b = os.path.join(work, "m2")
        os.mkdir(mnt_b)
        logf = os.path.join(res.out, "conformance-server.log")
        with fsnlib.ServerMount(backing, mnt, logf, level="warn"), \
                fsnlib.ServerMount(backing, mnt_b, logf, level="warn"):
            before(wl, mnt, ctx)
            prep = prepare(wl, (mnt, mnt_b, backing))
            a = Site(wl, mnt, prep, lossy)
            b = Site(wl, mnt_b, prep, lossy)
            bo = Site(wl, backing, prep, lossy)
            bref = Site(wl, backing, prep, lossy, ref=True) if lossy else None
            sites = [a, b, bo] + ([bref] if bref else [])
            took = run_workload(wl, mnt, ctx, sites, lossy, log)
            info.append((wl.NAME, "local + peer (mount A)", size, f"{took:.1f} s",
                         wl.note(size, took) if hasattr(wl, "note") else ""))
            for kind in exact_kinds(wl):
                judge(res, wl, kind, "local", mins[kind], po, a, lossy, pref)
                # The backing directory sees the server's operations, not
                # the workload's (reads served from the guest's page cache
                # never reach it): a workload may expect fewer there.
                judge(res, wl, kind, "peer", mins.get("peer-" + kind, mins[kind]), bo, b, lossy, bref)
            for s in sites:
                s.close()
        po.close()
        if pref:
            pref.close()
    except Exception:
        log.write(traceback.format_exc())
        res.fail_rest(wl, ("local", "peer"), EXACT, "error: " + traceback.format_exc().strip().splitlines()[-1])
    finally:
        unmount_all(work)


_hostroot = None


def host_path(p):
    """`p` as the host has it. virtme-ng mounts a tmpfs over /var/cache in
    the guest, which hides the project's cache (the venv, node_modules): a
    non-recursive bind mount of / shows the host's tree without it."""
    global _hostroot
    if os.path.exists(p):
        return p
    if _hostroot is None:
        _hostroot = tempfile.mkdtemp(prefix="fsn-hostroot.")
        subprocess.run(["mount", "--bind", "/", _hostroot], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", _hostroot], check=False)
    return os.path.join(_hostroot, p.lstrip("/"))


def wait_quiet(ws, quiet=2.0, cap=300.0):
    """Until no watcher has printed or used CPU for `quiet` seconds: under
    TCG a watcher still working through its events may print nothing for
    seconds, and what it prints after the comparison would be lost."""
    t0 = time.monotonic()
    cpu = {w: w.cpu() for w in ws}
    busy = t0
    while time.monotonic() - t0 < cap:
        time.sleep(0.2)
        now = time.monotonic()
        for w in ws:
            c = w.cpu()
            if c != cpu[w]:
                cpu[w], busy = c, now
        if now - max([busy] + [w.last for w in ws]) >= quiet:
            return


def snapshot(root):
    """{relative path: (inode, mtime, ctime)} of everything below `root`."""
    out = {}
    for p, ds, fs in os.walk(root):
        for x in ds + fs:
            try:
                st = os.lstat(os.path.join(p, x))
            except OSError:
                continue
            out[os.path.relpath(os.path.join(p, x), root)] = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    return out


def below_new_dir(path, before):
    """Whether a parent directory of `path` (relative) was not there when
    the workload started: the recursive watcher's race (watchers.py)."""
    parts = path.split("/")[:-1]
    return any("/".join(parts[:i]) not in before for i in range(1, len(parts) + 1))


def real_side(workloads, res, log, info, cache):
    """Each workload in its own subdirectory of one backing directory and
    mount, set up first, then watched by the three real watchers on each
    side, started for it: as a user starts a watcher on a project that
    exists. (Watchers running while a tree is made race with its making,
    not with the workload; and watchdog does not watch a directory moved
    in from outside its tree, so a tree made aside cannot be moved in.)"""
    env = dict(os.environ)
    venv_python = host_path(os.path.join(cache, "venv", "bin", "python3"))
    node_modules = host_path(os.path.join(cache, "node", "node_modules"))
    env["NODE_PATH"] = node_modules
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # The venv's python is a symlink to /usr/bin/python3; pyvenv.cfg next
    # to bin/ makes it find the venv's site-packages through the bind mount.
    renv = {"python": venv_python, "env": env}
    work, backing, mnt, _scratch = fresh_work()
    logf = os.path.join(res.out, "conformance-real.log")
    try:
        with fsnlib.ServerMount(backing, mnt, os.path.join(res.out, "conformance-server.log"), level="warn"):
            for wl in workloads:
                size = wl.SIZE.get("real", wl.SIZE["remote"])
                mins = wl.minimum(size)
                sub = wl.NAME
                ctx = Ctx(size, tempfile.mkdtemp(dir=work))
                b_root, m_root = os.path.join(backing, sub), os.path.join(mnt, sub)
                pairs, ws = {}, []
                try:
                    os.mkdir(b_root)
                    wl.setup(b_root, ctx)
                    before = {os.path.relpath(p, b_root) for p, _, _ in os.walk(b_root)}
                    t0 = time.monotonic()
                    for kind in REAL:
                        pairs[kind] = (W.RealWatcher(kind, b_root, logf, renv),
                                       W.RealWatcher(kind, m_root, logf, renv))
                        ws += pairs[kind]
                    for w in ws:
                        if not w.ready.wait(180) or w.proc.poll() is not None:
                            raise RuntimeError(f"{w.kind} on {w.root} did not start (see {logf})")
                    wait_quiet(ws)
                    started = time.monotonic() - t0
                    snap0 = snapshot(b_root)
                    marks = {w: w.mark() for w in ws}
                    t1 = time.monotonic()
                    cwd = os.getcwd()
                    os.chdir(b_root)
                    try:
                        wl.run(b_root, ctx)
                    finally:
                        os.chdir(cwd)
                    took = time.monotonic() - t1
                    wait_quiet(ws)
                    snap1 = snapshot(b_root)
                    info.append((wl.NAME, "remote, real watchers", size, f"{took:.1f} s",
                                 f"watchers ready in {started:.1f} s, settled {time.monotonic() - t1 - took:.1f} s after"))
                except Exception:
                    log.write(traceback.format_exc())
                    res.fail_rest(wl, ("remote",), REAL, "error: " + traceback.format_exc().strip().splitlines()[-1])
                    for w in ws:
                        w.close()
                    continue
                for w in ws:
                    w.close()
                # What changed: every path a watcher of the backing
                # directory reported, and what the tree itself shows
                # (entries made, removed or changed).
                seen = set().union(*(o.paths(marks[o], b_root) for o, _ in pairs.values()))
                seen |= {p for p in set(snap0) | set(snap1) if snap0.get(p) != snap1.get(p)}
                for kind in REAL:
                    o, m = pairs[kind]
                    want = o.paths(marks[o], b_root)
                    got = m.paths(marks[m], m_root)
                    minimum = mins["paths"]
                    text = ("paths only the backing watcher reported:\n" + "".join(f"  {p}\n" for p in sorted(want - got))
                            + "paths only the mount watcher reported:\n" + "".join(f"  {p}\n" for p in sorted(got - want))
                            + f"common: {len(want & got)}\n")
                    # The minimum is of what changed, as every watcher of
                    # the backing directory together saw it: one watcher's
                    # own loss there (mkdir-race, chokidar's bursts) is
                    # compared, not taken for a short workload.
                    if len(seen) < minimum:
                        res.add(wl, kind, "remote", minimum, len(want), len(got), "fail",
                                f"{len(seen)} paths changed, fewer than the minimum {minimum}",
                                text)
                    elif not want:
                        res.add(wl, kind, "remote", minimum, 0, len(got), "fail",
                                "the backing watcher reported nothing", text)
                    elif want != got:
                        only_o, only_m = sorted(want - got), sorted(got - want)
                        # The recursive watcher's race (Documentation/
                        # conformance.rst): every difference is below a
                        # directory the workload made or moved in, and what
                        # only the mount reports some watcher of the backing
                        # directory reported too.
                        race = (all(below_new_dir(p, before) for p in only_o + only_m)
                                and set(only_m) <= seen)
                        # The watcher lost paths on the backing directory
                        # that the other watchers there reported, and the
                        # mount has only those more.
                        lossy = want < seen and got <= seen and 2 * len(got) >= len(seen)
                        verdict = "known watcher-race" if race else "known watcher-lossy" if lossy else "fail"
                        res.add(wl, kind, "remote", minimum, len(want), len(got), verdict,
                                f"{len(only_o)} paths only on the backing (first {only_o[:1]}), "
                                f"{len(only_m)} only on the mount (first {only_m[:1]})", text)
                    else:
                        res.add(wl, kind, "remote", minimum, len(want), len(got), "pass")
    except Exception:
        log.write(traceback.format_exc())
        for wl in workloads:
            res.fail_rest(wl, ("remote",), REAL, "error: " + traceback.format_exc().strip().splitlines()[-1])
    finally:
        unmount_all(work)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--no-real", action="store_true", help="skip the real watchers")
    ap.add_argument("--sides", default="remote,local", help="remote and/or local (local includes peer)")
    ap.add_argument("--full", action="store_true",
                    help="the workloads' full sizes (make conformance); default: their QUICK sizes (make test)")
    ap.add_argument("--cache", default=os.environ.get("FSN_CACHE", "/var/cache/fuse-fsnotify"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    workloads = load_workloads(only)
    if only and len(workloads) != len(only):
        sys.exit(f"unknown workload in {sorted(only)}")
    if not args.full:
        for wl in workloads:
            wl.SIZE = dict(wl.SIZE, **getattr(wl, "QUICK", {}))
    sides = set(args.sides.split(","))
    tests = [t for t in plan(workloads, not args.no_real)
             if (t[2] == "remote" and "remote" in sides) or (t[2] != "remote" and "local" in sides)]
    res = Results(args.out, tests)
    info = []
    t0 = time.monotonic()
    with open(os.path.join(args.out, "conformance-run.log"), "a") as log:
        for wl in workloads:
            if "remote" in sides:
                remote_side(wl, res, log, info)
            if "local" in sides:
                local_and_peer(wl, res, log, info)
            log.flush()
        if not args.no_real and "remote" in sides:
            real_side(workloads, res, log, info, args.cache)
    res.finish(time.monotonic() - t0, info)


if __name__ == "__main__":
    main()
