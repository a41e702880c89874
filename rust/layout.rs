// SPDX-License-Identifier: GPL-2.0

//! Facts about the kernel ABI that the module relies on, checked against the
//! tree it was built for.
//!
//! The module forwards fsnotify masks (`FS_*`) and inotify applications see
//! them as `IN_*`; fanotify applications as `FAN_*`. The kernel keeps the
//! three in step (`fs/notify/inotify/inotify_user.c` and fanotify_user.c
//! build-assert this), and our wire protocol reuses the same bit values. This
//! suite checks those facts for the bits we forward, from the bindgen output
//! of the tree being built.

use crate::bindings as b;
use crate::kunit::{kunit_expect, kunit_expect_eq, kunit_suite, Test};

/// Event bits that can be observed on a remote server and forwarded.
const FORWARDED: [(u32, u32, u32); 12] = [
    (b::FS_ACCESS, b::IN_ACCESS, b::FAN_ACCESS),
    (b::FS_MODIFY, b::IN_MODIFY, b::FAN_MODIFY),
    (b::FS_ATTRIB, b::IN_ATTRIB, b::FAN_ATTRIB),
    (b::FS_CLOSE_WRITE, b::IN_CLOSE_WRITE, b::FAN_CLOSE_WRITE),
    (
        b::FS_CLOSE_NOWRITE,
        b::IN_CLOSE_NOWRITE,
        b::FAN_CLOSE_NOWRITE,
    ),
    (b::FS_OPEN, b::IN_OPEN, b::FAN_OPEN),
    (b::FS_MOVED_FROM, b::IN_MOVED_FROM, b::FAN_MOVED_FROM),
    (b::FS_MOVED_TO, b::IN_MOVED_TO, b::FAN_MOVED_TO),
    (b::FS_CREATE, b::IN_CREATE, b::FAN_CREATE),
    (b::FS_DELETE, b::IN_DELETE, b::FAN_DELETE),
    (b::FS_DELETE_SELF, b::IN_DELETE_SELF, b::FAN_DELETE_SELF),
    (b::FS_MOVE_SELF, b::IN_MOVE_SELF, b::FAN_MOVE_SELF),
];

fn forwarded_bits_match_uapi(test: &mut Test) {
    for (fs, inotify, fanotify) in FORWARDED {
        kunit_expect_eq!(test, fs, inotify);
        kunit_expect_eq!(test, fs, fanotify);
    }
}

fn forwarded_bits_are_distinct_single_bits(test: &mut Test) {
    let mut seen = 0u32;
    for (fs, _, _) in FORWARDED {
        kunit_expect!(test, fs.count_ones() == 1, "{fs:#x} is not a single bit");
        kunit_expect!(test, seen & fs == 0, "{fs:#x} listed twice");
        seen |= fs;
    }
    // All of them are inotify events, none is a permission event.
    kunit_expect_eq!(test, seen & !b::ALL_INOTIFY_BITS, 0);
    kunit_expect_eq!(test, seen & b::ALL_FSNOTIFY_PERM_EVENTS, 0);
}

fn control_bits_match_uapi(test: &mut Test) {
    kunit_expect_eq!(test, b::FS_IN_IGNORED, b::IN_IGNORED);
    kunit_expect_eq!(test, b::FS_Q_OVERFLOW, b::IN_Q_OVERFLOW);
    kunit_expect_eq!(test, b::FS_ISDIR, b::IN_ISDIR);
    kunit_expect_eq!(test, b::FS_EVENT_ON_CHILD, b::FAN_EVENT_ON_CHILD);
    kunit_expect_eq!(test, b::FS_RENAME, b::FAN_RENAME);
}

kunit_suite!(
    fuse_fsnotify_layout,
    [
        forwarded_bits_match_uapi,
        forwarded_bits_are_distinct_single_bits,
        control_bits_match_uapi,
    ]
);
