// SPDX-License-Identifier: GPL-2.0

//! The remote marks of one FUSE connection: what the server was told, what
//! it still has to be told, and how far it has acknowledged.
//!
//! `mask_changed` (atomic context) records the new wire mask of an inode
//! with [`Marks::update`]; a work item takes the pending updates out in
//! batches ([`Marks::take_batch`]) and records the server's answer
//! ([`Marks::acked`]). Updates of one inode coalesce (the last mask wins),
//! so a burst of changes costs one entry, and N local watches of an inode
//! are one remote watch. Generations let `mark_added` wait until everything
//! queued before it was acknowledged ([`Marks::armed_up_to`]).
//!
//! After lost events, [`Marks::start_resync`] sends every armed mask again:
//! a cursor walks `armed` in nodeid order behind the pending entries (no
//! copy, so nothing is allocated per mark), and the batch that finishes the
//! walk carries `MARK_RESYNC`, which makes the server re-check the objects
//! it watches and report the dead ones.
//!
//! Pure bookkeeping, no FFI: tested by KUnit below. It is always used under
//! the connection's spinlock, so it only allocates with `GFP_ATOMIC` (an
//! allocation failure of `armed` is harmless: the mask is sent again).

use crate::wire::{MarkEntry, MarkResult};
use kernel::alloc::{flags, Flags, KVec};
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode};

/// Remote mark bookkeeping of one connection.
pub(crate) struct Marks {
    /// Masks still to send: nodeid to wire mask (0 removes the watch).
    pending: RBTree<u64, u32>,
    /// Entries in `pending` (6.12's `RBTree` does not count).
    npending: usize,
    /// Masks the server acknowledged, as requested (not the subset it
    /// serves, so that an unchanged request is recognised), non-zero only.
    armed: RBTree<u64, u32>,
    /// Bumped by every queued change.
    queued: u64,
    /// Every change up to this generation was acknowledged.
    acked: u64,
    /// A resync in progress: the next armed nodeid to send again.
    resync: Option<u64>,
}

/// A batch taken for sending.
pub(crate) struct Batch {
    /// The entries, in nodeid order.
    pub(crate) entries: KVec<MarkEntry>,
    /// The generation this batch completes, if it emptied the pending set.
    pub(crate) completes: Option<u64>,
    /// This batch ends a resync: it carries `MARK_RESYNC`.
    pub(crate) resync: bool,
}

impl Marks {
    /// No marks.
    pub(crate) fn new() -> Self {
        Self {
            pending: RBTree::new(),
            npending: 0,
            armed: RBTree::new(),
            queued: 0,
            acked: 0,
            resync: None,
        }
    }

    /// Records that `nodeid` now wants `mask`. Returns whether there is
    /// something to send. Allocates with `gfp` (atomic in hook context).
    pub(crate) fn update(&mut self, nodeid: u64, mask: u32, gfp: Flags) -> Result<bool> {
        let armed = self.armed.get(&nodeid).copied().unwrap_or(0);
        if mask == armed {
            // Back to what the server has: nothing to send.
            if self.pending.remove(&nodeid).is_some() {
                self.npending -= 1;
            }
            return Ok(self.has_work());
        }
        if let Some(m) = self.pending.get_mut(&nodeid) {
            *m = mask;
        } else {
            self.pending.insert(RBTreeNode::new(nodeid, mask, gfp)?);
            self.npending += 1;
        }
        self.queued += 1;
        Ok(true)
    }

    /// Takes up to `max` entries out for one request, into `entries`,
    /// which must have room for them (so that this, called under a
    /// spinlock, does not allocate): pending entries first, then the armed
    /// masks a resync still has to send again.
    ///
    /// The caller has at most one batch in flight and records its answer
    /// ([`Marks::acked`]) before taking the next, so an armed mask a resync
    /// sends is never older than a mask sent before it.
    pub(crate) fn take_batch(&mut self, max: usize, mut entries: KVec<MarkEntry>) -> Result<Batch> {
        let n = max.min(entries.capacity());
        while entries.len() < n {
            let Some(cursor) = self.pending.cursor_front() else {
                break;
            };
            let (nodeid, mask) = (*cursor.current().0, *cursor.current().1);
            // Does not allocate: there is room for `n` entries.
            entries.push(entry(nodeid, mask), flags::GFP_ATOMIC)?;
            cursor.remove_current();
            self.npending -= 1;
        }
        let completes = (self.npending == 0).then_some(self.queued);
        let mut resync = false;
        if let Some(from) = self.resync {
            let mut next = None;
            let mut cursor = self.armed.cursor_lower_bound(&from);
            while let Some(c) = cursor {
                let (nodeid, mask) = (*c.current().0, *c.current().1);
                if entries.len() == n {
                    next = Some(nodeid);
                    break;
                }
                // A pending or just taken entry carries a newer mask.
                let newer = self.pending.get(&nodeid).is_some()
                    || entries.iter().any(|e| e.nodeid == nodeid);
                if !newer {
                    entries.push(entry(nodeid, mask), flags::GFP_ATOMIC)?;
                }
                cursor = c.move_next();
            }
            self.resync = next;
            resync = next.is_none();
        }
        Ok(Batch {
            entries,
            completes,
            resync,
        })
    }

    /// Events were lost: send every armed mask again, the last request
    /// with `MARK_RESYNC`. A resync already under way starts over.
    pub(crate) fn start_resync(&mut self) {
        self.resync = Some(0);
    }

    /// Whether a request is due: pending entries or a resync under way.
    pub(crate) fn has_work(&self) -> bool {
        self.npending > 0 || self.resync.is_some()
    }

    /// Records the server's answer to a batch. An entry the server refused
    /// is not armed (its watch stays local-only); the failure is the
    /// caller's to count.
    pub(crate) fn acked(&mut self, batch: &Batch, results: &[MarkResult]) {
        for (e, r) in batch.entries.iter().zip(results) {
            if r.error != 0 || r.mask == 0 {
                self.armed.remove(&e.nodeid);
            } else if let Some(m) = self.armed.get_mut(&e.nodeid) {
                *m = e.mask;
            } else if let Ok(node) = RBTreeNode::new(e.nodeid, e.mask, flags::GFP_ATOMIC) {
                self.armed.insert(node);
            }
        }
        if let Some(g) = batch.completes {
            self.acked = self.acked.max(g);
        }
    }

    /// Puts a batch that could not be sent back, unless newer updates of
    /// the same nodeids are pending. A resync it ended starts over.
    pub(crate) fn requeue(&mut self, batch: Batch) {
        if batch.resync {
            self.start_resync();
        }
        for e in batch.entries.iter() {
            if self.pending.get(&e.nodeid).is_none() {
                if let Ok(node) = RBTreeNode::new(e.nodeid, e.mask, flags::GFP_ATOMIC) {
                    self.pending.insert(node);
                    self.npending += 1;
                }
            }
        }
    }

    /// Forgets everything (the connection does not support the protocol or
    /// went away): waiters see all generations as done.
    pub(crate) fn clear(&mut self) {
        self.pending = RBTree::new();
        self.npending = 0;
        self.armed = RBTree::new();
        self.acked = self.queued;
        self.resync = None;
    }

    /// The generation of the last queued change.
    pub(crate) fn queued(&self) -> u64 {
        self.queued
    }

    /// Whether every change up to generation `g` was acknowledged.
    pub(crate) fn armed_up_to(&self, g: u64) -> bool {
        self.acked >= g
    }

    /// The acknowledged mask of `nodeid`.
    pub(crate) fn armed(&self, nodeid: u64) -> u32 {
        self.armed.get(&nodeid).copied().unwrap_or(0)
    }

    /// Number of armed nodeids.
    pub(crate) fn armed_len(&self) -> usize {
        self.armed.iter().count()
    }

    /// Appends the armed nodeids to `out`, as far as its capacity allows
    /// (no allocation: called under the connection's spinlock).
    pub(crate) fn armed_nodeids(&self, out: &mut KVec<u64>) {
        for (id, _) in self.armed.iter() {
            if out.len() == out.capacity() || out.push(*id, flags::GFP_ATOMIC).is_err() {
                break;
            }
        }
    }

    /// Number of pending entries.
    pub(crate) fn pending_len(&self) -> usize {
        self.npending
    }
}

fn entry(nodeid: u64, mask: u32) -> MarkEntry {
    MarkEntry {
        nodeid,
        mask,
        reserved: 0,
    }
}

mod kunit_tests {
    use super::Marks;
    use crate::kunit::{kunit_expect, kunit_expect_eq, kunit_suite, Test};
    use crate::wire::MarkResult;
    use kernel::alloc::flags::GFP_KERNEL;
    use kernel::alloc::KVec;

    fn room() -> KVec<crate::wire::MarkEntry> {
        KVec::with_capacity(128, GFP_KERNEL).unwrap_or(KVec::new())
    }

    fn ok(mask: u32) -> MarkResult {
        MarkResult { mask, error: 0 }
    }

    fn bursts_coalesce(test: &mut Test) {
        let mut m = Marks::new();
        for mask in [1, 3, 7] {
            kunit_expect_eq!(test, m.update(5, mask, GFP_KERNEL), Ok(true));
        }
        kunit_expect_eq!(test, m.pending_len(), 1);
        let Ok(b) = m.take_batch(64, room()) else {
            kunit_expect!(test, false, "take_batch failed");
            return;
        };
        kunit_expect_eq!(test, b.entries.len(), 1);
        kunit_expect_eq!(test, b.entries.first().map(|e| e.mask), Some(7));
        kunit_expect_eq!(test, b.completes, Some(3));
    }

    fn unchanged_mask_sends_nothing(test: &mut Test) {
        let mut m = Marks::new();
        let _ = m.update(5, 2, GFP_KERNEL);
        if let Ok(b) = m.take_batch(64, room()) {
            m.acked(&b, &[ok(2)]);
        }
        kunit_expect_eq!(test, m.armed(5), 2);
        // Same mask again (e.g. a second watch with the same events).
        kunit_expect_eq!(test, m.update(5, 2, GFP_KERNEL), Ok(false));
        kunit_expect_eq!(test, m.pending_len(), 0);
        // A change and its reversal before sending cancel out.
        let _ = m.update(5, 6, GFP_KERNEL);
        kunit_expect_eq!(test, m.update(5, 2, GFP_KERNEL), Ok(false));
        kunit_expect_eq!(test, m.pending_len(), 0);
        // A watch that was never armed and goes away costs nothing.
        let _ = m.update(9, 4, GFP_KERNEL);
        let _ = m.update(9, 0, GFP_KERNEL);
        kunit_expect_eq!(test, m.pending_len(), 0);
    }

    fn batches_of_64(test: &mut Test) {
        let mut m = Marks::new();
        for n in 0..100u64 {
            let _ = m.update(n + 10, 1, GFP_KERNEL);
        }
        let q = m.queued();
        let Ok(b1) = m.take_batch(64, room()) else {
            return;
        };
        kunit_expect_eq!(test, b1.entries.len(), 64);
        kunit_expect_eq!(test, b1.completes, None);
        m.acked(&b1, &[ok(1); 64]);
        kunit_expect!(test, !m.armed_up_to(q));
        let Ok(b2) = m.take_batch(64, room()) else {
            return;
        };
        kunit_expect_eq!(test, b2.entries.len(), 36);
        kunit_expect_eq!(test, b2.completes, Some(q));
        m.acked(&b2, &[ok(1); 36]);
        kunit_expect!(test, m.armed_up_to(q));
        kunit_expect_eq!(test, m.armed(109), 1);
    }

    fn refused_entries_are_not_armed(test: &mut Test) {
        let mut m = Marks::new();
        let _ = m.update(1, 2, GFP_KERNEL);
        let _ = m.update(2, 2, GFP_KERNEL);
        if let Ok(b) = m.take_batch(64, room()) {
            m.acked(&b, &[ok(2), MarkResult { mask: 0, error: -2 }]);
        }
        kunit_expect_eq!(test, m.armed(1), 2);
        kunit_expect_eq!(test, m.armed(2), 0);
    }

    fn requeue_keeps_newer_updates(test: &mut Test) {
        let mut m = Marks::new();
        let _ = m.update(1, 2, GFP_KERNEL);
        let _ = m.update(2, 2, GFP_KERNEL);
        let Ok(b) = m.take_batch(64, room()) else {
            return;
        };
        let _ = m.update(2, 4, GFP_KERNEL);
        m.requeue(b);
        let Ok(b) = m.take_batch(64, room()) else {
            return;
        };
        kunit_expect_eq!(test, b.entries.len(), 2);
        kunit_expect_eq!(test, b.entries.get(1).map(|e| e.mask), Some(4));
    }

    fn clear_releases_waiters(test: &mut Test) {
        let mut m = Marks::new();
        let _ = m.update(1, 2, GFP_KERNEL);
        kunit_expect!(test, !m.armed_up_to(m.queued()));
        m.clear();
        kunit_expect!(test, m.armed_up_to(m.queued()));
        kunit_expect_eq!(test, m.pending_len(), 0);
    }

    fn resync_resends_every_armed_mask(test: &mut Test) {
        let mut m = Marks::new();
        for n in 0..100u64 {
            let _ = m.update(n, 1, GFP_KERNEL);
        }
        while let Ok(b) = m.take_batch(64, room()) {
            if b.entries.is_empty() {
                break;
            }
            let n = b.entries.len();
            m.acked(&b, [ok(1); 64].get(..n).unwrap_or(&[]));
        }
        kunit_expect!(test, !m.has_work());
        m.start_resync();
        // A newer mask of nodeid 70, pending, goes first.
        let _ = m.update(70, 3, GFP_KERNEL);
        kunit_expect!(test, m.has_work());
        // One batch in flight at a time, as `Conn` sends them.
        let Ok(b1) = m.take_batch(64, room()) else {
            kunit_expect!(test, false, "take_batch failed");
            return;
        };
        kunit_expect_eq!(test, b1.entries.len(), 64);
        kunit_expect!(test, !b1.resync);
        kunit_expect_eq!(
            test,
            b1.entries.first().map(|e| (e.nodeid, e.mask)),
            Some((70, 3))
        );
        m.acked(&b1, &[ok(1); 64]);
        let Ok(b2) = m.take_batch(64, room()) else {
            kunit_expect!(test, false, "take_batch failed");
            return;
        };
        // The walk reaches 70 again, now armed with its newest mask:
        // sent twice, harmlessly, never with the older mask.
        kunit_expect_eq!(test, b2.entries.len(), 37);
        kunit_expect!(test, b2.resync);
        let mut seen = [0u32; 100];
        for e in b1.entries.iter().chain(b2.entries.iter()) {
            if let Some(s) = seen.get_mut(e.nodeid as usize) {
                *s += 1;
            }
            if e.nodeid == 70 {
                kunit_expect_eq!(test, e.mask, 3);
            }
        }
        kunit_expect!(test, seen.iter().all(|&s| s >= 1), "each nodeid sent");
        kunit_expect!(test, !m.has_work());
        // A resync batch that could not be sent starts the resync over.
        m.start_resync();
        if let Ok(b) = m.take_batch(128, room()) {
            kunit_expect!(test, b.resync);
            m.requeue(b);
        }
        kunit_expect!(test, m.has_work());
    }

    kunit_suite!(
        fuse_fsnotify_marks,
        [
            bursts_coalesce,
            unchanged_mask_sends_nothing,
            batches_of_64,
            refused_entries_are_not_armed,
            requeue_keeps_newer_updates,
            clear_releases_waiters,
            resync_resends_every_armed_mask,
        ]
    );
}
