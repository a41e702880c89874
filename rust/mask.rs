// SPDX-License-Identifier: GPL-2.0

//! From the combined local mask of an inode to the mask of its remote watch.
//!
//! fsnotify keeps, per inode, the union of the masks of all its marks (all
//! groups: inotify, fanotify, dnotify). That union may hold bits that mean
//! nothing to a server: permission events (answered locally, never remote),
//! `FS_UNMOUNT`, `FS_Q_OVERFLOW`, `FS_IN_IGNORED` and other local-only
//! control bits. The remote watch carries only what the server can observe:
//! the event types, `FS_EVENT_ON_CHILD` when a child event type is wanted,
//! and `FS_RENAME`. Directory-entry bits are dropped on non-directories,
//! where no entry event can happen.

use crate::wire::mask as wm;

/// Event types a directory reports about its children.
const CHILD_EVENTS: u32 = wm::ON_CHILD;

/// The wire mask of an inode whose marks' combined mask is `local`.
///
/// The result is 0 exactly when the inode needs no remote watch.
pub(crate) fn wire_mask(local: u32, is_dir: bool) -> u32 {
    let mut m = local & wm::EVENTS;
    if is_dir {
        if local & wm::RENAME != 0 {
            m |= wm::RENAME;
        }
        if local & wm::EVENT_ON_CHILD != 0 && m & CHILD_EVENTS != 0 {
            m |= wm::EVENT_ON_CHILD;
        }
    } else {
        m &= !wm::DIRENT;
    }
    m
}

/// KUnit suite.
mod kunit_tests {
    use super::wire_mask;
    use crate::bindings as b;
    use crate::kunit::{kunit_expect_eq, kunit_suite, Test};

    fn keeps_event_types(test: &mut Test) {
        let all = b::FS_ACCESS
            | b::FS_MODIFY
            | b::FS_ATTRIB
            | b::FS_CLOSE_WRITE
            | b::FS_CLOSE_NOWRITE
            | b::FS_OPEN
            | b::FS_MOVED_FROM
            | b::FS_MOVED_TO
            | b::FS_CREATE
            | b::FS_DELETE
            | b::FS_DELETE_SELF
            | b::FS_MOVE_SELF;
        kunit_expect_eq!(test, wire_mask(all, true), all);
        kunit_expect_eq!(test, wire_mask(b::FS_MODIFY, false), b::FS_MODIFY);
    }

    fn drops_permission_and_control_bits(test: &mut Test) {
        let local = b::ALL_FSNOTIFY_PERM_EVENTS
            | b::FS_UNMOUNT
            | b::FS_Q_OVERFLOW
            | b::FS_IN_IGNORED
            | b::FS_ISDIR
            | b::FS_DN_MULTISHOT
            | b::FS_OPEN_EXEC;
        kunit_expect_eq!(test, wire_mask(local, true), 0);
        kunit_expect_eq!(test, wire_mask(local | b::FS_CREATE, true), b::FS_CREATE);
    }

    fn inotify_directory_watch(test: &mut Test) {
        // inotify_add_watch(dir, IN_MODIFY | IN_CREATE): inotify adds
        // FS_EVENT_ON_CHILD, FS_IN_IGNORED and FS_UNMOUNT.
        let local =
            b::FS_MODIFY | b::FS_CREATE | b::FS_EVENT_ON_CHILD | b::FS_IN_IGNORED | b::FS_UNMOUNT;
        kunit_expect_eq!(
            test,
            wire_mask(local, true),
            b::FS_MODIFY | b::FS_CREATE | b::FS_EVENT_ON_CHILD
        );
    }

    fn on_child_needs_a_child_event(test: &mut Test) {
        // Only directory-entry events: children need not be watched.
        let local = b::FS_CREATE | b::FS_DELETE | b::FS_EVENT_ON_CHILD;
        kunit_expect_eq!(test, wire_mask(local, true), b::FS_CREATE | b::FS_DELETE);
    }

    fn non_directory_drops_entry_bits(test: &mut Test) {
        let local = b::FS_CREATE
            | b::FS_DELETE
            | b::FS_MOVED_FROM
            | b::FS_MOVED_TO
            | b::FS_RENAME
            | b::FS_EVENT_ON_CHILD
            | b::FS_ATTRIB
            | b::FS_DELETE_SELF;
        kunit_expect_eq!(
            test,
            wire_mask(local, false),
            b::FS_ATTRIB | b::FS_DELETE_SELF
        );
    }

    fn fanotify_rename(test: &mut Test) {
        kunit_expect_eq!(test, wire_mask(b::FS_RENAME, true), b::FS_RENAME);
        kunit_expect_eq!(test, wire_mask(0, true), 0);
    }

    kunit_suite!(
        fuse_fsnotify_mask,
        [
            keeps_event_types,
            drops_permission_and_control_bits,
            inotify_directory_watch,
            on_child_needs_a_child_event,
            non_directory_drops_entry_bits,
            fanotify_rename,
        ]
    );
}
