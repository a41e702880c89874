// SPDX-License-Identifier: GPL-2.0

//! A debugfs directory of read-only `u64` counters.
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
    pub(crate) fn new(name: &CStr, counters: &[(&'static CStr, &'static AtomicU64)]) -> Self {
        // SAFETY: `name` is a valid C string; a NULL parent means the
        // debugfs root.
        let dentry = unsafe { b::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        for (file, counter) in counters {
            // SAFETY: `dentry` is what debugfs_create_dir returned (an error
            // pointer is accepted and ignored by debugfs); the counter is a
            // static, so it outlives the file, which `Drop` removes. debugfs
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
        // ignored by debugfs_remove); nothing uses it afterwards.
        unsafe { b::debugfs_remove(self.dentry) };
    }
}
