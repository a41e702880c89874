// SPDX-License-Identifier: GPL-2.0

//! Per-connection state: the probe and the remote marks.
//!
//! A [`Conn`] exists per FUSE superblock that has (had) marked inodes. It is
//! created by the first `mask_changed` of one of its inodes and removed at
//! `sb_delete`, when FUSE has already ended every request of the
//! connection. Hooks record mask changes under the spinlock (atomic
//! context) and queue the work item, which sends the probe, then MARK
//! batches, one request at a time. `mark_added` waits on the condition
//! variable until the server acknowledged every change queued before it.
//!
//! Lifetime: the registry, a queued work item and an in-flight request each
//! hold an `Arc<Conn>`. `fm` is only used by the work item while the
//! connection is not dead; `sb_delete` marks it dead and flushes the work
//! before FUSE frees the mount.

use crate::bindings as b;
use crate::fuse::InodeRef;
use crate::fuse::Request;
use crate::limbo::{Limbo, Reservation};
use crate::marks::{Batch, Marks};
use crate::ratelimit::warn_ratelimited;
use crate::sequence;
use crate::stats::{count, ConnStats, STATS};
use crate::wire::{self, MarkIn, MarkOut, MarkResult};
use core::sync::atomic::Ordering::Relaxed;
use kernel::alloc::{flags, KVec};
use kernel::new_condvar;
use kernel::new_mutex;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode};
use kernel::sync::{Arc, CondVar, Mutex, SpinLock};
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

/// How long the remote death of an object the guest still sees linked is
/// held back (see [`Conn::defer_death`]).
const DEATH_GRACE_MS: u64 = 100;

/// Most remote deaths held back per connection; past it they are
/// delivered at once.
const EARLY_DEATHS_MAX: usize = 1024;

/// How long module unload waits for a server to answer our requests.
const DRAIN_TIMEOUT_MS: u32 = 10_000;

/// Most entries per MARK request, whatever the server accepts.
const MAX_BATCH: u32 = 128;

/// What the server said to the probe.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Probe {
    Unknown,
    Probing,
    Supported { max_entries: u32 },
    Unsupported,
}

struct State {
    probe: Probe,
    marks: Marks,
    /// A MARK (or the probe) is in flight.
    in_flight: bool,
    /// The POLL is in flight.
    polling: bool,
    /// A batch the POLL brought, waiting for the work item to deliver it.
    backlog: Option<(KVec<u8>, usize)>,
    /// Sequence number of the last batch (0: none yet).
    last_seq: u64,
    /// Stop polling (module unload): the POLL is not re-armed.
    quiesce: bool,
    dead: bool,
    /// Inodes the guest unlinked while their remote object may live on,
    /// with our reference.
    limbo: Limbo<InodeRef>,
    /// Remote deaths of objects the guest still sees linked, held back
    /// for [`DEATH_GRACE_MS`]: nodeid to (deadline in ms, record mask).
    early_deaths: RBTree<u64, (u64, u32)>,
    /// Entries in `early_deaths`.
    nearly: usize,
}

/// What a request was for, handed back with its reply.
pub(crate) enum Kind {
    /// The count-0 MARK.
    Probe,
    /// A MARK batch.
    Mark(Batch),
    /// The long poll.
    Poll,
}

/// The POLL's reply buffer: up to this many bytes of events per batch.
const POLL_BUF: usize = 64 * 1024;

/// The POLL's server-side timeout: an idle connection costs one request
/// per this interval, and module unload waits at most this long for it.
const POLL_TIMEOUT_MS: u32 = 1000;

/// One FUSE connection (superblock) with remote watches.
#[pin_data(PinnedDrop)]
pub(crate) struct Conn {
    fm: usize,
    /// `fm->fc`, with a reference of ours (`fuse_conn_get()`), so that it can
    /// be aborted at module unload even if the mount goes away meanwhile.
    fc: usize,
    #[pin]
    state: SpinLock<State>,
    #[pin]
    changed: CondVar,
    #[pin]
    work: Work<Conn>,
    /// This connection's debugfs directory, created by the work item and
    /// removed by `shutdown` (both may sleep). Declared before `stats` so
    /// that even a drop without `shutdown` removes the files first.
    #[pin]
    debugfs: Mutex<Option<crate::debugfs::Dir>>,
    /// This connection's counters.
    stats: ConnStats,
}

impl_has_work! {
    impl HasWork<Self> for Conn { self.work }
}

impl Conn {
    /// A connection for the FUSE mount `fm`.
    ///
    /// # Safety
    ///
    /// `fm` must be the live mount of a FUSE superblock that has marks (so
    /// that `sb_delete` will remove the connection before `fm` goes away).
    pub(crate) unsafe fn new(fm: *mut b::fuse_mount) -> Result<Arc<Self>> {
        // SAFETY: `fm` is live (caller); `fm->fc` is its connection, which
        // fuse_conn_get() pins until `PinnedDrop` puts it.
        let fc = unsafe { b::fuse_conn_get((*fm).fc) };
        Arc::pin_init(
            pin_init!(Conn {
                fm: fm as usize,
                fc: fc as usize,
                state <- new_spinlock!(State {
                    probe: Probe::Unknown,
                    marks: Marks::new(),
                    in_flight: false,
                    polling: false,
                    backlog: None,
                    last_seq: 0,
                    quiesce: false,
                    dead: false,
                    limbo: Limbo::new(),
                    early_deaths: RBTree::new(),
                    nearly: 0,
                }),
                changed <- new_condvar!(),
                work <- new_work!("fuse_fsnotify::Conn::work"),
                debugfs <- new_mutex!(None),
                stats: ConnStats::new(),
            }),
            flags::GFP_ATOMIC,
        )
    }

    /// Records the new wire mask of `nodeid` (atomic context).
    pub(crate) fn mask_changed(self: &Arc<Self>, nodeid: u64, wire: u32) {
        let mut st = self.state.lock();
        if st.dead || st.probe == Probe::Unsupported {
            return;
        }
        match st.marks.update(nodeid, wire, flags::GFP_ATOMIC) {
            Ok(true) => {
                drop(st);
                self.kick();
            }
            Ok(false) => {}
            Err(_) => {
                STATS.alloc_failures.fetch_add(1, Relaxed);
            }
        }
    }

    /// Offered by `inode_remove` (atomic context): keeps `inode`, which the
    /// guest unlinked, with its marks, if the server watches it remotely,
    /// until the server reports the object dead.
    ///
    /// # Safety
    ///
    /// `inode` must be the live, referenced inode of `nodeid` on this
    /// connection.
    pub(crate) unsafe fn take_into_limbo(
        self: &Arc<Self>,
        inode: *mut b::inode,
        nodeid: u64,
    ) -> bool {
        let max = crate::params::LIMBO_MAX.get() as usize;
        let mut st = self.state.lock();
        let supported = matches!(st.probe, Probe::Supported { .. });
        if st.early_deaths.remove(&nodeid).is_some() {
            // The server already reported the object dead: this is the
            // guest's own unlink, whose reply the death overtook. The
            // local DELETE_SELF goes ahead, after the local ATTRIB.
            st.nearly -= 1;
            return false;
        }
        if max == 0
            || st.dead
            || !supported
            || st.marks.armed(nodeid) == 0
            || st.limbo.contains(nodeid)
        {
            return false;
        }
        // Allocate before taking the reference: dropping it again here
        // (iput) is not allowed in atomic context.
        let Ok(r) = Reservation::new(flags::GFP_ATOMIC) else {
            // Let the local DELETE_SELF go ahead.
            STATS.alloc_failures.fetch_add(1, Relaxed);
            return false;
        };
        // SAFETY: caller guarantees `inode` is live and referenced.
        let held = unsafe { InodeRef::hold(inode) };
        let evicted = st.limbo.admit(r, nodeid, held, max);
        self.stats.limbo.store(st.limbo.len() as u64, Relaxed);
        drop(st);
        count!(self.stats, limbo_entered);
        if evicted > 0 {
            count!(self.stats, limbo_evicted, evicted);
            self.kick();
        }
        true
    }

    /// The server reported `nodeid` dead: drop our limbo reference, if any
    /// (process context: the inode may be evicted now).
    fn limbo_forget(&self, nodeid: u64) {
        let mut st = self.state.lock();
        let held = st.limbo.forget(nodeid);
        self.stats.limbo.store(st.limbo.len() as u64, Relaxed);
        drop(st);
        if held.is_some() {
            count!(self.stats, limbo_released);
        }
    }

    /// A remote `DELETE_SELF` of `nodeid`: holds it back, and returns
    /// true, if the object is not in limbo and the guest still has a
    /// dentry of it (its own unlink, if any, has not completed) or has
    /// dropped its last link itself. Neither alone is enough: FUSE drops
    /// the link count before the VFS reports the unlink's ATTRIB, and a
    /// rename over the object unhashes its dentry (`d_move()`) before
    /// `fsnotify_move()` reports the ATTRIB.
    ///
    /// The server reports the death of an object the guest itself unlinks
    /// (it must, for limbo), and that report can overtake the reply to the
    /// guest's UNLINK: delivered at once, its DELETE_SELF and IN_IGNORED
    /// would come before the local ATTRIB of the unlink, which would then
    /// find no watch. Held back, either the guest's unlink completes
    /// within the grace period and offers the inode to limbo, which then
    /// declines it (`take_into_limbo`) so that the local events come in
    /// the local order, or the death came from elsewhere and is delivered
    /// when the grace period is over (`deliver_early_deaths`).
    fn defer_death(&self, k: &crate::fuse::KillsbRead, nodeid: u64, mask: u32) -> bool {
        let Some(inode) = k.ilookup(nodeid) else {
            return false;
        };
        if !inode.has_alias() && !inode.unlinked() {
            return false;
        }
        let Ok(node) = RBTreeNode::new(
            nodeid,
            (crate::ratelimit::now_ms() + DEATH_GRACE_MS, mask),
            flags::GFP_KERNEL,
        ) else {
            return false;
        };
        let mut st = self.state.lock();
        if st.limbo.contains(nodeid) || st.nearly >= EARLY_DEATHS_MAX {
            return false;
        }
        if st.early_deaths.insert(node).is_none() {
            st.nearly += 1;
        }
        true
    }

    /// Delivers the held-back remote deaths whose grace period is over.
    /// Work item.
    fn deliver_early_deaths(&self) {
        let now = crate::ratelimit::now_ms();
        let mut due = KVec::new();
        {
            let mut guard = self.state.lock();
            let State {
                early_deaths,
                nearly,
                ..
            } = &mut *guard;
            let mut cursor = early_deaths.cursor_front();
            while let Some(c) = cursor {
                let (id, (deadline, m)) = (*c.current().0, *c.current().1);
                if deadline > now {
                    cursor = c.move_next();
                    continue;
                }
                if due.push((id, m), flags::GFP_ATOMIC).is_err() {
                    // Stays held back until the next run.
                    STATS.alloc_failures.fetch_add(1, Relaxed);
                    break;
                }
                cursor = c.remove_current().0;
                *nearly -= 1;
            }
        }
        if due.is_empty() {
            return;
        }
        // SAFETY: `fc` is pinned by our reference (see `new`).
        let killsb = unsafe { crate::fuse::KillsbRead::new(self.fc as *mut b::fuse_conn) };
        for (id, m) in due.iter() {
            if let Some(inode) = killsb.ilookup(*id) {
                inode.delete_self(m & wire::mask::ISDIR);
                count!(self.stats, injected);
            }
        }
    }

    /// Releases limbo inodes that must die locally (evicted for room, or
    /// everything at unmount/unload or when the connection died): local
    /// DELETE_SELF, marks destroyed (IN_IGNORED), reference dropped.
    /// Process context.
    fn release_limbo(&self, all: bool) {
        loop {
            let mut st = self.state.lock();
            let next = match st.limbo.take_evicted() {
                Some(inode) => Some(inode),
                None if all => st.limbo.take_oldest(),
                None => None,
            };
            self.stats.limbo.store(st.limbo.len() as u64, Relaxed);
            drop(st);
            let Some(inode) = next else { break };
            inode.delete_self(inode.isdir_mask());
            count!(self.stats, limbo_released);
        }
    }

    /// The generation to wait for after a mark change.
    pub(crate) fn queued(&self) -> u64 {
        self.state.lock().marks.queued()
    }

    /// Waits (bounded, interruptible) until every change up to generation
    /// `g` was acknowledged, or the connection does not serve remote
    /// watches. Returns false on timeout or signal.
    pub(crate) fn wait_armed(&self, g: u64, timeout_ms: u32) -> bool {
        self.wait_until(timeout_ms, |st| {
            st.dead || st.probe == Probe::Unsupported || st.marks.armed_up_to(g)
        })
    }

    /// Waits (bounded, interruptible) on `changed` until `done` holds for
    /// the state; returns whether it does.
    fn wait_until(&self, timeout_ms: u32, done: impl Fn(&State) -> bool) -> bool {
        let mut left = kernel::time::msecs_to_jiffies(timeout_ms);
        let mut st = self.state.lock();
        loop {
            if done(&st) {
                return true;
            }
            match self.changed.wait_interruptible_timeout(&mut st, left) {
                kernel::sync::CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => return done(&st),
            }
        }
    }

    fn kick(self: &Arc<Self>) {
        if self.state.lock().dead {
            return;
        }
        // Already queued is fine: the queued run will see the new state.
        let _ = workqueue::system().enqueue(self.clone());
    }

    /// Does what is due: deliver a batch the POLL brought, send the probe,
    /// then MARK batches (one in flight at a time), and keep one POLL
    /// outstanding.
    fn send_due(self: Arc<Self>) {
        if self.state.lock().dead {
            // The connection ended (aborted, server gone): nothing will
            // report these objects dead any more.
            // Nothing reports those objects any more either; their inodes,
            // if any, die with the superblock.
            {
                let mut st = self.state.lock();
                st.early_deaths = RBTree::new();
                st.nearly = 0;
            }
            return self.release_limbo(true);
        }
        self.create_debugfs();
        self.release_limbo(false);
        self.deliver_early_deaths();
        let backlog = self.state.lock().backlog.take();
        if let Some((buf, len)) = backlog {
            self.deliver(buf.get(..len).unwrap_or(&[]));
        }
        self.send_mark();
        self.send_poll();
    }

    /// Creates the connection's debugfs directory, named after the FUSE
    /// connection number (`/sys/fs/fuse/connections/<dev>`), once.
    fn create_debugfs(&self) {
        let mut dir = self.debugfs.lock();
        // Checked under the mutex that `shutdown` takes after setting
        // `dead`: no directory is created after `shutdown` removed it.
        if dir.is_some() || self.state.lock().dead {
            return;
        }
        let Some(parent) = crate::registry::Registry::get().map(|r| r.debugfs()) else {
            return;
        };
        // SAFETY: `fc` is pinned by our reference (see `new`); `dev` is set
        // at mount and never changes.
        let dev = unsafe { (*(self.fc as *const b::fuse_conn)).dev };
        let Ok(name) = kernel::str::CString::try_from_fmt(kernel::fmt!("{}", dev)) else {
            return;
        };
        let entries = self.stats.entries();
        // SAFETY: the counters are `self.stats`, which outlive the
        // directory: `shutdown` removes it, and if it did not, the
        // `debugfs` field is dropped before `stats`.
        *dir = Some(unsafe { crate::debugfs::Dir::new_in(&name, Some(parent), &entries) });
    }

    fn send_mark(self: &Arc<Self>) {
        // Allocate before taking the spinlock.
        let Ok(room) = KVec::with_capacity(MAX_BATCH as usize, flags::GFP_KERNEL) else {
            STATS.alloc_failures.fetch_add(1, Relaxed);
            return;
        };
        let mut st = self.state.lock();
        if st.dead || st.in_flight {
            return;
        }
        let kind = match st.probe {
            Probe::Unknown => {
                st.probe = Probe::Probing;
                Kind::Probe
            }
            Probe::Supported { max_entries } if st.marks.has_work() => {
                match st
                    .marks
                    .take_batch(max_entries.min(MAX_BATCH) as usize, room)
                {
                    Ok(batch) => Kind::Mark(batch),
                    Err(_) => return,
                }
            }
            _ => return,
        };
        st.in_flight = true;
        drop(st);
        let (input, out_size) = match &kind {
            Kind::Mark(batch) => (
                mark_body(batch),
                MarkOut::SIZE + batch.entries.len() * MarkResult::SIZE,
            ),
            _ => (probe_body(), MarkOut::SIZE),
        };
        self.send(wire::FUSE_FSNOTIFY_MARK, input, out_size, kind);
    }

    fn send_poll(self: &Arc<Self>) {
        let mut st = self.state.lock();
        let supported = matches!(st.probe, Probe::Supported { .. });
        if st.dead || st.quiesce || st.polling || !supported || st.backlog.is_some() {
            return;
        }
        st.polling = true;
        // Held-back deaths are due within the grace period: have the
        // server answer by then, so that the work item runs again.
        let timeout = if st.nearly > 0 {
            DEATH_GRACE_MS as u32
        } else {
            POLL_TIMEOUT_MS
        };
        drop(st);
        self.send(
            wire::FUSE_FSNOTIFY_POLL,
            poll_body(timeout),
            POLL_BUF,
            Kind::Poll,
        );
    }

    fn send(self: &Arc<Self>, opcode: u32, input: Result<KVec<u8>>, out_size: usize, kind: Kind) {
        let Ok(input) = input else {
            STATS.alloc_failures.fetch_add(1, Relaxed);
            self.failed(kind, -(b::ENOMEM as i32));
            return;
        };
        let req = match Request::new(opcode, input, out_size, self.clone(), kind) {
            Ok(r) => r,
            Err(_) => {
                STATS.alloc_failures.fetch_add(1, Relaxed);
                let mut st = self.state.lock();
                if opcode == wire::FUSE_FSNOTIFY_POLL {
                    st.polling = false;
                } else {
                    st.in_flight = false;
                    if st.probe == Probe::Probing {
                        st.probe = Probe::Unknown;
                    }
                }
                return;
            }
        };
        // Not once the unmount has begun (the last active reference is
        // gone): virtiofs drains its queues, then answers FUSE_DESTROY and
        // aborts the connection, which ends every request still in flight
        // while the device may still complete it, a double completion in
        // 6.12's virtio_fs. Requests queued before the drain are waited
        // for by it.
        let fm = self.fm as *const b::fuse_mount;
        // SAFETY: `fm` and its superblock live as long as the connection
        // (it ends in `sb_delete`, after the unmount's destroy); `s_active`
        // is an atomic counter, read once.
        let active = unsafe { core::ptr::read_volatile(&(*(*fm).sb).s_active.counter) };
        if active == 0 {
            self.failed(req.into_kind(), -(b::ESHUTDOWN as i32));
            return;
        }
        count!(self.stats, requests);
        if opcode == wire::FUSE_FSNOTIFY_MARK {
            count!(self.stats, mark_requests);
        }
        if let Err((req, err)) = req.send(self.fm as *mut b::fuse_mount) {
            let kind = req.into_kind();
            self.failed(kind, err);
        }
    }

    /// A request could not be sent or failed: give its batch back or give
    /// up on the connection.
    fn failed(self: &Arc<Self>, kind: Kind, err: i32) {
        let mut st = self.state.lock();
        // The connection ended, or the server is shutting down (it answers
        // a pending poll with ESHUTDOWN before it unmounts).
        let gone = [b::ENOTCONN, b::ECONNABORTED, b::ESHUTDOWN]
            .iter()
            .any(|&e| err == -(e as i32));
        if let Kind::Poll = kind {
            st.polling = false;
        } else {
            st.in_flight = false;
        }
        match kind {
            Kind::Poll => {
                count!(self.stats, request_errors);
                if gone {
                    st.dead = true;
                } else {
                    // Events may have been lost with the failed poll, and
                    // re-polling at once could spin on a broken server:
                    // stop polling on this connection, report the loss.
                    st.quiesce = true;
                    drop(st);
                    pr_warn!("POLL failed ({}): remote events stop\n", err);
                    self.overflow();
                    st = self.state.lock();
                }
            }
            Kind::Probe if gone => st.dead = true,
            Kind::Probe => {
                // ENOSYS (or EPROTO): not our protocol. Nothing more is
                // ever sent on this connection.
                st.probe = Probe::Unsupported;
                STATS.unsupported.fetch_add(1, Relaxed);
            }
            Kind::Mark(batch) => {
                count!(self.stats, request_errors);
                if gone {
                    st.dead = true;
                } else {
                    // The server refused the whole batch: those watches
                    // stay local-only; waiters must not hang on them.
                    let refused = [MarkResult {
                        mask: 0,
                        error: err,
                    }; MAX_BATCH as usize];
                    st.marks.acked(&batch, &refused);
                    self.stats.armed.store(st.marks.armed_len() as u64, Relaxed);
                }
            }
        }
        let dead = st.dead;
        if dead {
            st.marks.clear();
            self.stats.armed.store(0, Relaxed);
        }
        drop(st);
        self.changed.notify_all();
        if dead {
            // Release limbo from the work item (`iput()` may sleep; this
            // may run in the request's end callback). Module unload and
            // `sb_delete` flush the work after the last request ended.
            let _ = workqueue::system().enqueue(self.clone());
        }
    }

    /// The reply to one of our requests (from the request's end callback).
    pub(crate) fn on_reply(
        self: Arc<Self>,
        kind: Kind,
        reply: core::result::Result<(KVec<u8>, usize), i32>,
    ) {
        let (buf, len) = match reply {
            Ok(r) => r,
            Err(e) => return self.failed(kind, e),
        };
        if let Kind::Poll = kind {
            let mut st = self.state.lock();
            st.polling = false;
            st.backlog = Some((buf, len));
            drop(st);
            self.changed.notify_all();
            self.kick();
            return;
        }
        let reply = buf.get(..len).unwrap_or(&[]);
        let count = match &kind {
            Kind::Mark(batch) => batch.entries.len() as u32,
            _ => 0,
        };
        let mut results = [MarkResult::default(); MAX_BATCH as usize];
        let parsed = wire::parse_mark_reply(reply, count).map(|(hdr, it)| {
            for (slot, r) in results.iter_mut().zip(it) {
                *slot = r;
            }
            hdr
        });
        let hdr = match parsed {
            Ok(h) => h,
            Err(e) => {
                count!(self.stats, rejected);
                warn_ratelimited!("malformed MARK reply ({})\n", e.as_str());
                return self.failed(kind, -(b::EPROTO as i32));
            }
        };
        let mut st = self.state.lock();
        st.in_flight = false;
        match kind {
            Kind::Probe => {
                st.probe = Probe::Supported {
                    max_entries: hdr.max_entries.max(1),
                };
                STATS.supported.fetch_add(1, Relaxed);
            }
            Kind::Mark(batch) => {
                let n = batch.entries.len();
                count!(self.stats, marks_sent, n);
                let refused = results.iter().take(n).filter(|r| r.error != 0).count();
                count!(self.stats, marks_refused, refused);
                st.marks.acked(&batch, results.get(..n).unwrap_or(&[]));
                self.stats.armed.store(st.marks.armed_len() as u64, Relaxed);
            }
            Kind::Poll => {}
        }
        drop(st);
        self.changed.notify_all();
        self.kick();
    }

    /// Delivers one batch from the server (work item, process context).
    fn deliver(self: &Arc<Self>, bytes: &[u8]) {
        let batch = match wire::Batch::parse(bytes) {
            Ok(b) => b,
            Err(e) => {
                count!(self.stats, rejected);
                warn_ratelimited!("malformed event batch ({})\n", e.as_str());
                return self.overflow();
            }
        };
        let seq = batch.header.seq;
        let mut lost = {
            let mut st = self.state.lock();
            match sequence::check(st.last_seq, seq, batch.header.flags) {
                sequence::Verdict::Deliver { lost } => {
                    st.last_seq = seq;
                    lost
                }
                sequence::Verdict::Reject => {
                    drop(st);
                    count!(self.stats, rejected);
                    warn_ratelimited!("event batch sequence did not grow ({})\n", seq);
                    return self.overflow();
                }
            }
        };
        count!(self.stats, batches);
        // SAFETY: `fc` is pinned by our reference (see `new`).
        let killsb = unsafe { crate::fuse::KillsbRead::new(self.fc as *mut b::fuse_conn) };
        for rec in batch {
            match rec {
                Ok(r) => {
                    // A death (the decoder only accepts DELETE_SELF without
                    // a name).
                    let death = match r {
                        wire::Record::Event {
                            mask: m, nodeid, ..
                        } if m & wire::mask::DELETE_SELF != 0 => Some((nodeid, m)),
                        _ => None,
                    };
                    if let Some((nodeid, m)) = death {
                        if self.defer_death(&killsb, nodeid, m) {
                            continue;
                        }
                    }
                    crate::inject::deliver(&killsb, &r, &self.stats);
                    if let Some((nodeid, _)) = death {
                        self.limbo_forget(nodeid);
                    }
                }
                Err(e) => {
                    count!(self.stats, rejected);
                    warn_ratelimited!("malformed event record ({})\n", e.as_str());
                    lost = true;
                    break;
                }
            }
        }
        drop(killsb);
        if lost {
            self.overflow();
        }
    }

    /// Events were lost: every group watching an inode of this connection
    /// gets one overflow event, then every mark is sent again with
    /// `MARK_RESYNC`, so that the server re-checks what it watches and
    /// reports the objects that died meanwhile (which drains limbo even
    /// though their `DELETE_SELF` was lost).
    fn overflow(self: &Arc<Self>) {
        count!(self.stats, overflows);
        self.state.lock().marks.start_resync();
        count!(self.stats, resyncs);
        self.kick();
        let mut ids = KVec::new();
        {
            let n = self.state.lock().marks.armed_len();
            if ids.reserve(n, flags::GFP_KERNEL).is_err() {
                STATS.alloc_failures.fetch_add(1, Relaxed);
                return;
            }
            self.state.lock().marks.armed_nodeids(&mut ids);
        }
        // SAFETY: `fc` is pinned by our reference (see `new`).
        let killsb = unsafe { crate::fuse::KillsbRead::new(self.fc as *mut b::fuse_conn) };
        for id in ids.iter() {
            if let Some(inode) = killsb.ilookup(*id) {
                inode.queue_overflow();
            }
        }
    }

    /// The superblock is going away: FUSE has ended all our requests.
    /// Stops everything and waits for a running work item.
    pub(crate) fn shutdown(&self) {
        {
            let mut st = self.state.lock();
            st.dead = true;
            st.marks.clear();
        }
        self.stats.armed.store(0, Relaxed);
        self.changed.notify_all();
        self.flush();
        self.release_limbo(true);
        // Removal waits for readers of the files.
        drop(self.debugfs.lock().take());
    }

    /// At module unload: waits until no request of ours is in flight, since
    /// their end callbacks are module code. A server that does not answer
    /// within the bound gets its connection aborted (which ends every
    /// request at once) rather than hang the unload.
    pub(crate) fn drain_requests(&self) {
        // The outstanding POLL completes within POLL_TIMEOUT_MS and is not
        // re-armed once the connection is dead.
        if self.wait_idle(DRAIN_TIMEOUT_MS) {
            // No request can end (and kick the work) any more.
            return self.flush();
        }
        pr_err!("server does not answer: aborting its connection to unload\n");
        // SAFETY: `fc` is pinned by our reference (see `new`).
        unsafe { b::fuse_abort_conn(self.fc as *mut b::fuse_conn) };
        while !self.wait_idle(DRAIN_TIMEOUT_MS) {
            pr_err!("request still in flight after abort\n");
        }
        self.flush();
    }

    fn flush(&self) {
        // SAFETY: `work` is initialised and lives as long as `self`;
        // flush_work only waits for a queued or running instance.
        unsafe { b::flush_work(Work::raw_get(&self.work)) };
    }

    /// Waits (bounded) until no request of ours is in flight; returns false
    /// if one still is.
    fn wait_idle(&self, timeout_ms: u32) -> bool {
        self.wait_until(timeout_ms, |st| !st.in_flight && !st.polling)
    }
}

#[pinned_drop]
impl PinnedDrop for Conn {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `fc` was pinned with fuse_conn_get() in `new`. Putting it
        // is safe in any context (the final free is RCU-deferred).
        unsafe { b::fuse_conn_put(self.fc as *mut b::fuse_conn) };
    }
}

impl WorkItem for Conn {
    type Pointer = Arc<Conn>;

    fn run(this: Arc<Conn>) {
        this.send_due();
    }
}

fn probe_body() -> Result<KVec<u8>> {
    let mut v = KVec::from_elem(0u8, MarkIn::SIZE, flags::GFP_KERNEL)?;
    MarkIn {
        version: wire::VERSION,
        count: 0,
        flags: 0,
        reserved: 0,
    }
    .write(&mut v)
    .map_err(|_| EINVAL)?;
    Ok(v)
}

fn poll_body(timeout_ms: u32) -> Result<KVec<u8>> {
    let mut v = KVec::from_elem(0u8, wire::PollIn::SIZE, flags::GFP_KERNEL)?;
    wire::PollIn {
        version: wire::VERSION,
        max_size: POLL_BUF as u32,
        timeout_ms,
        reserved: 0,
    }
    .write(&mut v)
    .map_err(|_| EINVAL)?;
    Ok(v)
}

fn mark_body(batch: &Batch) -> Result<KVec<u8>> {
    let n = batch.entries.len();
    let mut v = KVec::from_elem(
        0u8,
        MarkIn::SIZE + n * wire::MarkEntry::SIZE,
        flags::GFP_KERNEL,
    )?;
    MarkIn {
        version: wire::VERSION,
        count: n as u32,
        flags: if batch.resync { wire::MARK_RESYNC } else { 0 },
        reserved: 0,
    }
    .write(&mut v)
    .map_err(|_| EINVAL)?;
    for (i, e) in batch.entries.iter().enumerate() {
        let off = MarkIn::SIZE + i * wire::MarkEntry::SIZE;
        e.write(v.get_mut(off..).ok_or(EINVAL)?)
            .map_err(|_| EINVAL)?;
    }
    Ok(v)
}
