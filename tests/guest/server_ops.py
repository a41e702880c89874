#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Ordinary file operations through a fuse-fsnotify-server mount.

    server_ops.py BACKING MOUNT

Each operation is done through MOUNT and checked on BACKING (and the other
way round for reads), so the passthrough is tested end to end.  Exits 1 on
the first mismatch, naming it.
"""
import errno
import os
import stat
import sys

backing, mnt = sys.argv[1], sys.argv[2]
B = lambda *p: os.path.join(backing, *p)
M = lambda *p: os.path.join(mnt, *p)
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)


# create, write, read, fsync
with open(M("f"), "w") as f:
    f.write("hello\n")
    f.flush()
    os.fsync(f.fileno())
check(open(B("f")).read() == "hello\n", "write through the mount reaches the backing file")
with open(B("g"), "w") as f:
    f.write("from backing\n")
check(open(M("g")).read() == "from backing\n", "read through the mount")
# append, truncate
with open(M("f"), "a") as f:
    f.write("more\n")
os.truncate(M("f"), 3)
check(open(B("f")).read() == "hel", "truncate")
# chmod, chown, utimes
os.chmod(M("f"), 0o640)
check(stat.S_IMODE(os.stat(B("f")).st_mode) == 0o640, "chmod")
os.chown(M("f"), 1234, 5678)
st = os.stat(B("f"))
check((st.st_uid, st.st_gid) == (1234, 5678), "chown")
os.utime(M("f"), (1_000_000, 2_000_000))
check(int(os.stat(B("f")).st_mtime) == 2_000_000, "utimes")
# mkdir, readdir, rename within and across directories, over a target
os.mkdir(M("d"))
check(os.path.isdir(B("d")), "mkdir")
os.rename(M("f"), M("d", "f2"))
check(os.path.exists(B("d", "f2")) and not os.path.exists(B("f")), "rename across dirs")
os.rename(M("g"), M("g2"))
check(os.path.exists(B("g2")), "rename within dir")
with open(M("victim"), "w") as f:
    f.write("old")
os.rename(M("g2"), M("victim"))
check(open(B("victim")).read() == "from backing\n", "rename over an existing target")
# RENAME_NOREPLACE through renameat2 (flags are passed through)
try:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    with open(M("a1"), "w"):
        pass
    with open(M("a2"), "w"):
        pass
    r = libc.renameat2(-100, M("a1").encode(), -100, M("a2").encode(), 1)
    check(r == -1 and ctypes.get_errno() == errno.EEXIST, "renameat2 RENAME_NOREPLACE refuses")
except AttributeError:
    pass
check(sorted(os.listdir(M())) == sorted(os.listdir(B())), "readdir matches")
check(sorted(os.listdir(M("d"))) == ["f2"], "readdir of a subdirectory")
# link, symlink, readlink
os.link(M("victim"), M("hard"))
check(os.stat(B("victim")).st_nlink == 2, "hard link")
os.symlink("victim", M("sym"))
check(os.readlink(B("sym")) == "victim" and os.readlink(M("sym")) == "victim", "symlink/readlink")
# mknod (fifo)
os.mkfifo(M("fifo"))
check(stat.S_ISFIFO(os.stat(B("fifo")).st_mode), "mknod fifo")
# xattrs
os.setxattr(M("victim"), "user.fsn", b"v1")
check(os.getxattr(B("victim"), "user.fsn") == b"v1", "setxattr")
check("user.fsn" in os.listxattr(M("victim")), "listxattr")
os.removexattr(M("victim"), "user.fsn")
check("user.fsn" not in os.listxattr(B("victim")), "removexattr")
# statfs
check(os.statvfs(M()).f_bsize > 0, "statfs")
# unlink, rmdir
os.unlink(M("hard"))
check(not os.path.exists(B("hard")), "unlink")
os.unlink(M("d", "f2"))
os.rmdir(M("d"))
check(not os.path.exists(B("d")), "rmdir")
# errors pass through
try:
    os.rmdir(M("victim"))
    check(False, "rmdir of a file fails")
except NotADirectoryError:
    pass
print(f"{checks} checks passed")
