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
    /// Servers that answered the probe (`servers_supported`).
    pub(crate) supported: AtomicU64,
    /// Servers that do not speak the protocol (`servers_unsupported`).
    pub(crate) unsupported: AtomicU64,
    /// Requests sent (`requests`).
    pub(crate) requests: AtomicU64,
    /// Requests that failed (`request_errors`).
    pub(crate) request_errors: AtomicU64,
    /// Mark entries acknowledged by servers (`marks_sent`).
    pub(crate) marks_sent: AtomicU64,
    /// Mark entries servers refused (`marks_refused`).
    pub(crate) marks_refused: AtomicU64,
    /// Malformed replies (`rejected`).
    pub(crate) rejected: AtomicU64,
    /// Mark syscalls that returned before the remote watch was armed
    /// (`arm_timeouts`).
    pub(crate) arm_timeouts: AtomicU64,
    /// Allocation failures in atomic context (`alloc_failures`).
    pub(crate) alloc_failures: AtomicU64,
    /// Event batches received (`batches`).
    pub(crate) batches: AtomicU64,
    /// Events injected (`events_injected`).
    pub(crate) injected: AtomicU64,
    /// Events for objects with no cached inode (`events_dropped`).
    pub(crate) dropped: AtomicU64,
    /// Overflows reported to local watchers (`overflows`).
    pub(crate) overflows: AtomicU64,
    /// Inodes taken into limbo (`limbo_entered`).
    pub(crate) limbo_entered: AtomicU64,
    /// Limbo inodes released (`limbo_released`).
    pub(crate) limbo_released: AtomicU64,
    /// Limbo inodes evicted because limbo was full (`limbo_evicted`).
    pub(crate) limbo_evicted: AtomicU64,
}

/// The counters.
pub(crate) static STATS: Stats = Stats {
    mask_changes: AtomicU64::new(0),
    marks_added: AtomicU64::new(0),
    inode_removals: AtomicU64::new(0),
    supported: AtomicU64::new(0),
    unsupported: AtomicU64::new(0),
    requests: AtomicU64::new(0),
    request_errors: AtomicU64::new(0),
    marks_sent: AtomicU64::new(0),
    marks_refused: AtomicU64::new(0),
    rejected: AtomicU64::new(0),
    arm_timeouts: AtomicU64::new(0),
    alloc_failures: AtomicU64::new(0),
    batches: AtomicU64::new(0),
    injected: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    overflows: AtomicU64::new(0),
    limbo_entered: AtomicU64::new(0),
    limbo_released: AtomicU64::new(0),
    limbo_evicted: AtomicU64::new(0),
};

impl Stats {
    /// Name and counter, for debugfs.
    pub(crate) fn entries(&'static self) -> [(&'static kernel::str::CStr, &'static AtomicU64); 19] {
        use kernel::c_str;
        [
            (c_str!("mask_changes"), &self.mask_changes),
            (c_str!("marks_added"), &self.marks_added),
            (c_str!("inode_removals"), &self.inode_removals),
            (c_str!("servers_supported"), &self.supported),
            (c_str!("servers_unsupported"), &self.unsupported),
            (c_str!("requests"), &self.requests),
            (c_str!("request_errors"), &self.request_errors),
            (c_str!("marks_sent"), &self.marks_sent),
            (c_str!("marks_refused"), &self.marks_refused),
            (c_str!("rejected"), &self.rejected),
            (c_str!("arm_timeouts"), &self.arm_timeouts),
            (c_str!("alloc_failures"), &self.alloc_failures),
            (c_str!("batches"), &self.batches),
            (c_str!("events_injected"), &self.injected),
            (c_str!("events_dropped"), &self.dropped),
            (c_str!("overflows"), &self.overflows),
            (c_str!("limbo_entered"), &self.limbo_entered),
            (c_str!("limbo_released"), &self.limbo_released),
            (c_str!("limbo_evicted"), &self.limbo_evicted),
        ]
    }
}
