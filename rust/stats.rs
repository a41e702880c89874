// SPDX-License-Identifier: GPL-2.0

//! Counters of what the module did, exported in debugfs
//! (`/sys/kernel/debug/fuse_fsnotify/`, see `Documentation/design.rst`).

use core::sync::atomic::AtomicU64;

/// Module-wide counters.
pub(crate) struct Stats {
    /// Combined mask changes of FUSE inodes (`mask_changes`).
    pub(crate) mask_changes: AtomicU64,
    /// Marks added or updated on FUSE inodes by the mark syscalls
    /// (`marks_added`).
    pub(crate) marks_added: AtomicU64,
    /// Marked FUSE inodes that lost their last link (`inode_removals`).
    pub(crate) inode_removals: AtomicU64,
}

/// The counters.
pub(crate) static STATS: Stats = Stats {
    mask_changes: AtomicU64::new(0),
    marks_added: AtomicU64::new(0),
    inode_removals: AtomicU64::new(0),
};

impl Stats {
    /// Name and counter, for debugfs.
    pub(crate) fn entries(&'static self) -> [(&'static kernel::str::CStr, &'static AtomicU64); 3] {
        [
            (kernel::c_str!("mask_changes"), &self.mask_changes),
            (kernel::c_str!("marks_added"), &self.marks_added),
            (kernel::c_str!("inode_removals"), &self.inode_removals),
        ]
    }
}
