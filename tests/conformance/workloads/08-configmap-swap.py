# SPDX-License-Identifier: GPL-2.0
"""A Kubernetes config map volume update (kubelet's AtomicWriter): the
files are symlinks through `..data`, itself a symlink to a timestamped
directory. An update writes a new timestamped directory, points a new
symlink `..data_tmp` at it, renames it over `..data` and removes the old
directory. Config reloaders watch the volume root for exactly this."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _lib import sh  # noqa: E402

NAME = "configmap-swap"
SIZE = {"remote": 3, "local": 3}
WATCH = [".", "..v0"]
RENAME = True


def minimum(size):
    return {"inotify": 10 * size, "fanotify": 2 * size, "fanotify-rename": 1, "paths": 1,
            "peer-fanotify-rename": 1}


def setup(root, ctx):
    sh(f"""
    cd '{root}'
    mkdir ..v0
    echo 'level: info' > ..v0/config.yaml
    echo 'a=1' > ..v0/app.properties
    ln -s ..v0 ..data
    ln -s ..data/config.yaml config.yaml
    ln -s ..data/app.properties app.properties
    """)


def run(root, ctx):
    for k in range(1, ctx.size + 1):
        sh(f"""
        mkdir ..v{k}
        echo 'level: debug{k}' > ..v{k}/config.yaml
        echo 'a={k}' > ..v{k}/app.properties
        chmod 444 ..v{k}/config.yaml ..v{k}/app.properties
        ln -s ..v{k} ..data_tmp
        mv -T ..data_tmp ..data
        rm -rf ..v{k - 1}
        """)
