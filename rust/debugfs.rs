// SPDX-License-Identifier: GPL-2.0

//! debugfs directories of read-only `u64` counters.
//!
//! 6.12's `kernel` crate has no debugfs abstraction; this is the smallest
//! safe wrapper the module needs. The directory and its files are removed
//! when the [`Dir`] is dropped.

use crate::bindings as b;
use core::sync::atomic::AtomicU64;
use kernel::str::CStr;

/// A debugfs directory, removed (with its files) on drop.
pub(crate) struct Dir {
    dentry: *mut b::dentry,
}

// SAFETY: the dentry pointer is only passed back to debugfs, which is
// thread-safe.
unsafe impl Send for Dir {}
// SAFETY: as above; `&Dir` gives no access to the dentry.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>` holding one file per counter.
    ///
    /// debugfs failures are not errors (debugfs may be disabled); the
    /// counters are then simply not visible.
    pub(crate) fn new(name: &CStr, counters: &[(&CStr, &'static AtomicU64)]) -> Self {
        // SAFETY: the counters are statics: they outlive any directory.
        unsafe { Self::new_in(name, None, counters) }
    }

    /// Creates `<parent>/<name>` (the debugfs root without a parent)
    /// holding one file per counter.
    ///
    /// # Safety
    ///
    /// Every counter must outlive the returned [`Dir`] (its files are
    /// removed when it is dropped, and removal waits for readers).
    pub(crate) unsafe fn new_in(
        name: &CStr,
        parent: Option<&Dir>,
        counters: &[(&CStr, &AtomicU64)],
    ) -> Self {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.dentry);
        // SAFETY: `name` is a valid C string; `parent` is NULL (the root) or
        // a directory of ours that `&Dir` keeps alive.
        let dentry = unsafe { b::debugfs_create_dir(name.as_char_ptr(), parent) };
        for (file, counter) in counters {
            // SAFETY: `dentry` is what debugfs_create_dir returned (an error
            // pointer is accepted and ignored by debugfs); the counter
            // outlives the file (caller), which `Drop` removes. debugfs
            // only reads it, as a plain `u64`, which an `AtomicU64` has the
            // layout of.
            unsafe { b::debugfs_create_u64(file.as_char_ptr(), 0o444, dentry, counter.as_ptr()) };
        }
        Self { dentry }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: `dentry` came from debugfs_create_dir (error pointers are
        // ignored by debugfs_remove, which removes the files and any
        // subdirectory too); nothing uses it afterwards.
        unsafe { b::debugfs_remove(self.dentry) };
    }
}
