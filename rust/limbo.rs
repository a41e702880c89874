// SPDX-License-Identifier: GPL-2.0

//! Limbo bookkeeping: the watched inodes the guest unlinked while their
//! remote object may live on, by nodeid and by admission order, bounded.
//!
//! Generic over what is held (`InodeRef` in the module, plain numbers in
//! KUnit). Used under the connection's spinlock, so nothing here allocates:
//! admission takes a [`Reservation`] made beforehand, eviction moves a
//! node from the limbo tree to the release tree, and the caller drops what
//! it takes out (an `iput()`) after releasing the lock.

use kernel::alloc::Flags;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};

/// The limbo of one connection.
pub(crate) struct Limbo<T> {
    /// Held items by nodeid, with their admission number.
    by_id: RBTree<u64, (u64, T)>,
    /// Admission number to nodeid: the oldest first.
    order: RBTree<u64, u64>,
    /// Next admission number.
    next: u64,
    /// Entries in `by_id` (6.12's `RBTree` does not count).
    len: usize,
    /// Evicted, waiting for the caller to release them in process context.
    /// Same node type as `by_id`, so that eviction moves a node.
    release: RBTree<u64, (u64, T)>,
}

/// The two tree nodes one admission needs, allocated before the caller
/// takes the reference it hands in.
pub(crate) struct Reservation<T> {
    by_id: RBTreeNodeReservation<u64, (u64, T)>,
    order: RBTreeNodeReservation<u64, u64>,
}

impl<T> Reservation<T> {
    /// Allocates the nodes of one admission.
    pub(crate) fn new(gfp: Flags) -> Result<Self> {
        Ok(Self {
            by_id: RBTreeNodeReservation::new(gfp)?,
            order: RBTreeNodeReservation::new(gfp)?,
        })
    }
}

impl<T> Limbo<T> {
    /// An empty limbo.
    pub(crate) fn new() -> Self {
        Self {
            by_id: RBTree::new(),
            order: RBTree::new(),
            next: 0,
            len: 0,
            release: RBTree::new(),
        }
    }

    /// Whether `nodeid` is in limbo.
    pub(crate) fn contains(&self, nodeid: u64) -> bool {
        self.by_id.get(&nodeid).is_some()
    }

    /// Number of entries in limbo (not counting evicted ones).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Admits `item` as `nodeid` (not already in limbo: see
    /// [`Limbo::contains`]), then evicts the oldest entries while there are
    /// more than `max` (at least one stays: the one just admitted). Returns
    /// how many were evicted, to be taken with [`Limbo::take_evicted`].
    pub(crate) fn admit(&mut self, r: Reservation<T>, nodeid: u64, item: T, max: usize) -> usize {
        let n = self.next;
        self.next += 1;
        self.by_id.insert(r.by_id.into_node(nodeid, (n, item)));
        self.order.insert(r.order.into_node(n, nodeid));
        self.len += 1;
        let mut evicted = 0;
        while self.len > max.max(1) {
            let Some(cursor) = self.order.cursor_front() else {
                break;
            };
            let (_, node) = cursor.remove_current();
            let (_, oldest) = node.to_key_value();
            if let Some(node) = self.by_id.remove_node(&oldest) {
                self.len -= 1;
                self.release.insert(node);
                evicted += 1;
            }
        }
        evicted
    }

    /// Takes `nodeid` out of limbo (its remote object died).
    pub(crate) fn forget(&mut self, nodeid: u64) -> Option<T> {
        let (n, item) = self.by_id.remove(&nodeid)?;
        self.order.remove(&n);
        self.len -= 1;
        Some(item)
    }

    /// Takes one evicted entry out.
    pub(crate) fn take_evicted(&mut self) -> Option<T> {
        let cursor = self.release.cursor_front()?;
        let (_, node) = cursor.remove_current();
        Some(node.to_key_value().1 .1)
    }

    /// Takes the oldest entry out (to release everything).
    pub(crate) fn take_oldest(&mut self) -> Option<T> {
        let nodeid = *self.order.cursor_front()?.current().1;
        self.forget(nodeid)
    }
}

mod kunit_tests {
    use super::{Limbo, Reservation};
    use crate::kunit::{kunit_expect, kunit_expect_eq, kunit_suite, Test};
    use kernel::alloc::flags::GFP_KERNEL;

    fn admit(l: &mut Limbo<u32>, nodeid: u64, max: usize) -> Option<usize> {
        let r = Reservation::new(GFP_KERNEL).ok()?;
        Some(l.admit(r, nodeid, nodeid as u32 * 10, max))
    }

    fn bounded_oldest_first(test: &mut Test) {
        let mut l = Limbo::new();
        kunit_expect_eq!(test, admit(&mut l, 5, 2), Some(0));
        kunit_expect_eq!(test, admit(&mut l, 3, 2), Some(0));
        kunit_expect_eq!(test, l.len(), 2);
        // Full: admitting a third evicts the oldest (5), not the smallest.
        kunit_expect_eq!(test, admit(&mut l, 9, 2), Some(1));
        kunit_expect_eq!(test, l.len(), 2);
        kunit_expect!(test, !l.contains(5));
        kunit_expect!(test, l.contains(3) && l.contains(9));
        kunit_expect_eq!(test, l.take_evicted(), Some(50));
        kunit_expect_eq!(test, l.take_evicted(), None);
        // A smaller bound (the parameter changed) evicts down to it.
        kunit_expect_eq!(test, admit(&mut l, 1, 1), Some(2));
        kunit_expect_eq!(test, l.take_evicted(), Some(30));
        kunit_expect_eq!(test, l.take_evicted(), Some(90));
        kunit_expect_eq!(test, l.len(), 1);
    }

    fn forget_and_release_all(test: &mut Test) {
        let mut l = Limbo::new();
        for id in [7, 2, 4] {
            let _ = admit(&mut l, id, 10);
        }
        kunit_expect_eq!(test, l.forget(2), Some(20));
        kunit_expect_eq!(test, l.forget(2), None);
        kunit_expect_eq!(test, l.forget(99), None);
        kunit_expect_eq!(test, l.len(), 2);
        // Release everything in admission order.
        kunit_expect_eq!(test, l.take_oldest(), Some(70));
        kunit_expect_eq!(test, l.take_oldest(), Some(40));
        kunit_expect_eq!(test, l.take_oldest(), None);
        kunit_expect_eq!(test, l.len(), 0);
        kunit_expect!(test, !l.contains(7));
    }

    kunit_suite!(
        fuse_fsnotify_limbo,
        [bounded_oldest_first, forget_and_release_all]
    );
}
