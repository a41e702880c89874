// SPDX-License-Identifier: GPL-2.0

//! Counters of what the module did, exported in debugfs: module-wide ones
//! in `/sys/kernel/debug/fuse_fsnotify/`, and each connection's own in
//! `/sys/kernel/debug/fuse_fsnotify/connections/<dev>/` (`<dev>` as in
//! `/sys/fs/fuse/connections/`). `Documentation/design.rst` lists them.

use core::sync::atomic::AtomicU64;
use kernel::str::CStr;

/// Declares a struct of `AtomicU64` counters, its zero value and the table
/// of (debugfs file name, counter).
macro_rules! counters {
    ($(#[$sm:meta])* $v:vis struct $name:ident { $($(#[$m:meta])* $field:ident = $file:literal,)* }) => {
        $(#[$sm])*
        $v struct $name {
            $($(#[$m])* pub(crate) $field: AtomicU64,)*
        }

        impl $name {
            /// All counters at zero.
            pub(crate) const fn new() -> Self {
                Self { $($field: AtomicU64::new(0),)* }
            }

            /// Debugfs file name and counter, for each counter.
            pub(crate) fn entries(&self) -> KVec<(&'static CStr, &AtomicU64)> {
                let mut v = KVec::new();
                $(
                    // A counter that does not fit is simply not shown.
                    let _ = v.push((kernel::c_str!($file), &self.$field), GFP_KERNEL);
                )*
                v
            }
        }
    };
}

use kernel::alloc::{flags::GFP_KERNEL, KVec};

counters! {
    /// Module-wide counters: the sums over all connections, and what
    /// happens before a connection exists.
    pub(crate) struct Stats {
        /// Combined mask changes of FUSE inodes.
        mask_changes = "mask_changes",
        /// Marks added or updated on FUSE inodes by the mark syscalls.
        marks_added = "marks_added",
        /// Marked FUSE inodes that lost their last link.
        inode_removals = "inode_removals",
        /// Servers that answered the probe.
        supported = "servers_supported",
        /// Servers that do not speak the protocol.
        unsupported = "servers_unsupported",
        /// Mark syscalls that returned before the remote watch was armed.
        arm_timeouts = "arm_timeouts",
        /// Allocation failures.
        alloc_failures = "alloc_failures",
        /// Requests sent (probes, MARK batches and POLLs).
        requests = "requests",
        /// MARK requests sent (probes included).
        mark_requests = "mark_requests",
        /// Requests that failed.
        request_errors = "request_errors",
        /// Mark entries acknowledged by servers.
        marks_sent = "marks_sent",
        /// Mark entries servers refused.
        marks_refused = "marks_refused",
        /// Malformed replies, batches and records.
        rejected = "rejected",
        /// Event batches received.
        batches = "batches",
        /// Events injected.
        injected = "events_injected",
        /// Events for objects with no cached inode or a bad name.
        dropped = "events_dropped",
        /// Uncached children looked up for a fanotify mark.
        child_lookups = "child_lookups",
        /// Overflows reported to local watchers.
        overflows = "overflows",
        /// Resyncs started after lost events.
        resyncs = "resyncs",
        /// Inodes taken into limbo.
        limbo_entered = "limbo_entered",
        /// Limbo inodes released.
        limbo_released = "limbo_released",
        /// Limbo inodes evicted because limbo was full.
        limbo_evicted = "limbo_evicted",
    }
}

counters! {
    /// One connection's counters (same meaning as the module-wide ones of
    /// the same name), and two gauges.
    pub(crate) struct ConnStats {
        requests = "requests",
        mark_requests = "mark_requests",
        request_errors = "request_errors",
        marks_sent = "marks_sent",
        marks_refused = "marks_refused",
        rejected = "rejected",
        batches = "batches",
        injected = "events_injected",
        dropped = "events_dropped",
        child_lookups = "child_lookups",
        overflows = "overflows",
        resyncs = "resyncs",
        limbo_entered = "limbo_entered",
        limbo_released = "limbo_released",
        limbo_evicted = "limbo_evicted",
        /// Gauge: inodes in limbo now.
        limbo = "limbo",
        /// Gauge: remote watches the server acknowledged.
        armed = "armed",
    }
}

/// The module-wide counters.
pub(crate) static STATS: Stats = Stats::new();

/// Adds to a counter of a connection and to the module-wide one of the
/// same name: `count!(conn_stats, field)` or `count!(conn_stats, field, n)`.
macro_rules! count {
    ($conn:expr, $field:ident) => {
        $crate::stats::count!($conn, $field, 1)
    };
    ($conn:expr, $field:ident, $n:expr) => {{
        let n = $n as u64;
        $crate::stats::STATS
            .$field
            .fetch_add(n, core::sync::atomic::Ordering::Relaxed);
        $conn
            .$field
            .fetch_add(n, core::sync::atomic::Ordering::Relaxed);
    }};
}
pub(crate) use count;
