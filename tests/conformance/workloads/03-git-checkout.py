# SPDX-License-Identifier: GPL-2.0
"""`git checkout` between two branches of a generated repository: the
other branch changes half of the files, deletes some, adds new ones in
existing directories and in a new directory. Git writes its index and
HEAD through lock files renamed into place.

Watches: every directory of the work tree and of .git (but not the object
store's fan-out)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "git-checkout"
SIZE = {"remote": 200, "local": 30}
QUICK = {"remote": 60, "local": 15}
WATCH = ["**"]
RENAME = True
# Which files git reads to check them varies from run to run even on tmpfs
# (racily clean entries depend on the clock tick), so the local side, whose
# oracle is a separate run, compares what git changed only.
READS_VARY = True

# One thread everywhere: with threads, the order of git's reads varies.
GIT = ("git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main -c core.fsync=none"
       " -c core.preloadIndex=false -c index.threads=1 -c checkout.workers=1")


def minimum(size):
    # Each changed, added or deleted file is at least one event, plus the
    # index and HEAD updates.
    return {"inotify": size, "fanotify": size // 2, "fanotify-rename": 2, "paths": size // 2,
            "peer-fanotify-rename": 1}


def setup(root, ctx):
    n = ctx.size
    sh(f"""
    cd '{root}'
    {GIT} init -q .
    for d in src lib doc; do mkdir $d; done
    i=0; while [ $i -lt {n} ]; do
        case $((i % 3)) in 0) d=src;; 1) d=lib;; *) d=doc;; esac
        echo "file $i on main" > $d/f$i.txt; i=$((i + 1)); done
    {GIT} add -A && {GIT} commit -qm main
    {GIT} checkout -q -b feature
    i=0; while [ $i -lt {n} ]; do
        case $((i % 3)) in 0) d=src;; 1) d=lib;; *) d=doc;; esac
        case $((i % 6)) in 0|1|2) echo "changed on feature" >> $d/f$i.txt;; 3) rm $d/f$i.txt;; esac
        i=$((i + 1)); done
    mkdir new; i=0; while [ $i -lt $(({n} / 10 + 1)) ]; do
        echo "new $i" > new/n$i.txt; echo "new $i" > src/added$i.txt; i=$((i + 1)); done
    {GIT} add -A && {GIT} commit -qm feature
    {GIT} checkout -q main
    """)


def before(root, ctx):
    # The index was written where setup ran (the backing directory); as a
    # user of the mount would have, refresh it against the tree as seen
    # here, or git re-reads every file whose stat data it does not trust.
    # The files are dated back first so that none is "racily clean" (as
    # new as the index, which git re-reads depending on the clock tick).
    sh(f"find . -path ./.git -prune -o -type f -exec touch -d @1000000000 {{}} +;"
       f" {GIT} update-index -q --refresh; {GIT} status --porcelain >/dev/null")


def run(root, ctx):
    # One way only: going back would re-read the files the first checkout
    # wrote in the same clock tick as the index (racily clean again).
    sh(f"{GIT} checkout -q feature")
