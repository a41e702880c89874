// SPDX-License-Identifier: GPL-2.0

//! The connections with remote watches, found by superblock.
//!
//! The hooks are plain C callbacks, so they reach the registry through a
//! global pointer that the module sets before registering the hooks and
//! clears after unregistering them: while a hook runs, the registry exists.

use crate::bindings as b;
use crate::conn::Conn;
use crate::debugfs::Dir;
use crate::stats::STATS;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::{flags, KBox};
use kernel::c_str;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode};
use kernel::sync::{Arc, SpinLock};

/// The connections.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    conns: SpinLock<Inner>,
    /// `fuse_fsnotify/connections/`: each connection's counters. Declared
    /// first, so that it is removed before its parent.
    conns_debugfs: Dir,
    /// `fuse_fsnotify/`: the module-wide counters.
    _debugfs: Dir,
}

struct Inner {
    /// By superblock address.
    conns: RBTree<usize, Arc<Conn>>,
    /// The module is going away: no new connections.
    closing: bool,
}

static CURRENT: AtomicPtr<Registry> = AtomicPtr::new(core::ptr::null_mut());

impl Registry {
    /// An empty registry, published for the hooks.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        let root = Dir::new(c_str!("fuse_fsnotify"), &STATS.entries());
        // SAFETY: no counters.
        let conns_debugfs = unsafe { Dir::new_in(c_str!("connections"), Some(&root), &[]) };
        let r = KBox::pin_init(
            pin_init!(Registry {
                conns <- new_spinlock!(Inner { conns: RBTree::new(), closing: false }),
                conns_debugfs,
                _debugfs: root,
            }),
            flags::GFP_KERNEL,
        )?;
        CURRENT.store(&*r as *const Self as *mut Self, Ordering::Release);
        Ok(r)
    }

    /// The debugfs directory of the connections' directories.
    pub(crate) fn debugfs(&self) -> &Dir {
        &self.conns_debugfs
    }

    /// The registry, while the module is registered.
    pub(crate) fn get() -> Option<&'static Self> {
        let p = CURRENT.load(Ordering::Acquire);
        // SAFETY: `CURRENT` points to the pinned registry from `new` until
        // `unpublish`, which the module calls only after unregistering the
        // hooks (no hook runs then, and hooks are the only callers).
        unsafe { p.as_ref() }
    }

    /// Withdraws the registry from the hooks (after they are unregistered).
    pub(crate) fn unpublish(&self) {
        CURRENT.store(core::ptr::null_mut(), Ordering::Release);
    }

    /// The connection of `sb`, if any.
    pub(crate) fn lookup(&self, sb: *mut b::super_block) -> Option<Arc<Conn>> {
        self.conns.lock().conns.get(&(sb as usize)).cloned()
    }

    /// The connection of `sb`, created if needed while `sb` is active
    /// (atomic context).
    ///
    /// Unmount clears `SB_ACTIVE` before `sb_delete`; marks destroyed
    /// after it (one group after another) still change masks, and must not
    /// create a connection that `sb_delete` will never remove.
    pub(crate) fn lookup_or_create(
        &self,
        sb: *mut b::super_block,
        fm: *mut b::fuse_mount,
    ) -> Option<Arc<Conn>> {
        if let Some(c) = self.lookup(sb) {
            return Some(c);
        }
        // SAFETY: `sb` is live: the caller is its mask_changed hook, for an
        // inode of it that has marks.
        if unsafe { (*sb).s_flags } & b::FSN_SB_ACTIVE == 0 {
            return None;
        }
        // SAFETY: `fm` is the live mount of `sb`, which has a marked inode
        // (the caller is its mask_changed hook), so sb_delete will run and
        // remove the connection before the mount goes away.
        let new = unsafe { Conn::new(fm) }.ok()?;
        let node = RBTreeNode::new(sb as usize, new.clone(), flags::GFP_ATOMIC).ok()?;
        let mut inner = self.conns.lock();
        if inner.closing {
            return None;
        }
        // Raced with another creator?
        if let Some(c) = inner.conns.get(&(sb as usize)) {
            return Some(c.clone());
        }
        inner.conns.insert(node);
        Some(new)
    }

    /// Removes and returns the connection of `sb`.
    pub(crate) fn remove(&self, sb: *mut b::super_block) -> Option<Arc<Conn>> {
        self.conns.lock().conns.remove(&(sb as usize))
    }

    /// Stops accepting connections and returns all of them.
    pub(crate) fn close(&self) -> RBTree<usize, Arc<Conn>> {
        let mut inner = self.conns.lock();
        inner.closing = true;
        core::mem::replace(&mut inner.conns, RBTree::new())
    }
}
