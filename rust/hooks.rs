// SPDX-License-Identifier: GPL-2.0

//! Registration with fsnotify's remote event provider hooks.
//!
//! `patches/0001` lets one provider hook into fsnotify. This file is the
//! only place that deals with the raw callbacks: each `extern "C"` hook
//! filters out inodes that are not on a FUSE superblock and hands the rest
//! to safe code. The registration is a guard: dropping [`Registration`]
//! unregisters, and fsnotify guarantees that no hook runs or starts after
//! that returns (SRCU), so the module can be unloaded at any time.
//!
//! Hook contexts (see `struct fsnotify_remote_ops` in the patched
//! `include/linux/fsnotify_backend.h`): `mask_changed` and `inode_remove`
//! run in atomic context and must not sleep; `mark_added` and `sb_delete`
//! may sleep.

use crate::bindings as b;
use crate::params::{ARM_TIMEOUT_MAX_MS, ARM_TIMEOUT_MS};
use crate::registry::Registry;
use crate::stats::STATS;
use core::sync::atomic::Ordering::Relaxed;
use kernel::error::to_result;
use kernel::prelude::*;

/// Whether `inode` belongs to a FUSE (or virtiofs) superblock.
///
/// # Safety
///
/// `inode` must point to a live inode.
unsafe fn is_fuse(inode: *const b::inode) -> bool {
    // SAFETY: the caller guarantees `inode` is live; a live inode has a
    // valid `i_sb` for its whole life.
    unsafe { (*(*inode).i_sb).s_magic == b::FUSE_SUPER_MAGIC as usize }
}

/// Whether `inode` is a directory.
///
/// # Safety
///
/// `inode` must point to a live inode.
unsafe fn is_dir(inode: *const b::inode) -> bool {
    // SAFETY: the caller guarantees `inode` is live; `i_mode` is fixed.
    u32::from(unsafe { (*inode).i_mode }) & b::S_IFMT == b::S_IFDIR
}

/// `fsnotify_remote_ops::mask_changed`.
///
/// # Safety
///
/// Called by fsnotify only, with a live inode whose connector is locked.
unsafe extern "C" fn mask_changed(inode: *mut b::inode, mask: u32) {
    // SAFETY: fsnotify passes the inode whose connector it holds locked.
    if !unsafe { is_fuse(inode) } {
        return;
    }
    // SAFETY: as above.
    let wire = crate::mask::wire_mask(mask, unsafe { is_dir(inode) });
    STATS.mask_changes.fetch_add(1, Relaxed);
    // SAFETY: as above; a FUSE inode's superblock is a FUSE superblock.
    let (sb, nodeid) = unsafe { ((*inode).i_sb, crate::fuse::nodeid_of(inode)) };
    pr_debug!(
        "nodeid {}: local mask {:#x}, wire {:#x}\n",
        nodeid,
        mask,
        wire
    );
    let Some(reg) = Registry::get() else { return };
    let conn = if wire == 0 {
        reg.lookup(sb)
    } else {
        // SAFETY: `sb` is a live FUSE superblock (it has a marked inode).
        reg.lookup_or_create(sb, unsafe { crate::fuse::mount_of(sb) })
    };
    if let Some(conn) = conn {
        conn.mask_changed(nodeid, wire);
    }
}

/// `fsnotify_remote_ops::mark_added`.
///
/// # Safety
///
/// Called by fsnotify only, with an inode the caller holds a path to.
unsafe extern "C" fn mark_added(inode: *mut b::inode) {
    // SAFETY: the mark syscalls hold a path reference on the inode.
    if !unsafe { is_fuse(inode) } {
        return;
    }
    STATS.marks_added.fetch_add(1, Relaxed);
    let Some(reg) = Registry::get() else { return };
    // SAFETY: as above.
    let Some(conn) = reg.lookup(unsafe { (*inode).i_sb }) else {
        return;
    };
    // Wait until the server acknowledged every change queued so far,
    // including this mark's, so that a remote change made after the
    // syscall returns is reported.
    let timeout = ARM_TIMEOUT_MS.get().min(ARM_TIMEOUT_MAX_MS);
    if !conn.wait_armed(conn.queued(), timeout) {
        STATS.arm_timeouts.fetch_add(1, Relaxed);
        crate::ratelimit::warn_ratelimited!("remote watch not armed within {} ms\n", timeout);
    }
}

/// `fsnotify_remote_ops::inode_remove`.
///
/// # Safety
///
/// Called by fsnotify only, with a referenced inode that has marks.
unsafe extern "C" fn inode_remove(inode: *mut b::inode) -> bool {
    // SAFETY: fsnotify passes the inode being removed, still referenced.
    if !unsafe { is_fuse(inode) } {
        return false;
    }
    STATS.inode_removals.fetch_add(1, Relaxed);
    let Some(reg) = Registry::get() else {
        return false;
    };
    // SAFETY: as above.
    let (sb, nodeid) = unsafe { ((*inode).i_sb, crate::fuse::nodeid_of(inode)) };
    let Some(conn) = reg.lookup(sb) else {
        return false;
    };
    // SAFETY: the inode is live and referenced by the dying dentry.
    unsafe { conn.take_into_limbo(inode, nodeid) }
}

/// `fsnotify_remote_ops::sb_delete`.
///
/// # Safety
///
/// Called by fsnotify only, with a superblock that is shutting down.
unsafe extern "C" fn sb_delete(sb: *mut b::super_block) {
    let Some(reg) = Registry::get() else { return };
    if let Some(conn) = reg.remove(sb) {
        conn.shutdown();
    }
}

static OPS: b::fsnotify_remote_ops = b::fsnotify_remote_ops {
    mask_changed: Some(mask_changed),
    mark_added: Some(mark_added),
    inode_remove: Some(inode_remove),
    sb_delete: Some(sb_delete),
};

/// The module's registration as fsnotify's remote event provider.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the hooks; fails with `EBUSY` if another provider is
    /// registered.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `OPS` is a static, valid for as long as the module is
        // loaded; `Drop` unregisters before the module text goes away.
        to_result(unsafe { b::fsnotify_register_remote(&OPS) })?;
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `OPS` was registered by `new`. On return no hook runs.
        unsafe { b::fsnotify_unregister_remote(&OPS) };
    }
}
