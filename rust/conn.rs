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
use crate::fuse::Request;
use crate::marks::{Batch, Marks};
use crate::stats::STATS;
use crate::wire::{self, MarkIn, MarkOut, MarkResult};
use core::sync::atomic::Ordering::Relaxed;
use kernel::alloc::{flags, KVec};
use kernel::new_condvar;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, SpinLock};
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

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
    in_flight: bool,
    dead: bool,
}

/// What a request was for, handed back with its reply.
pub(crate) enum Kind {
    /// The count-0 MARK.
    Probe,
    /// A MARK batch.
    Mark(Batch),
}

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
                    dead: false,
                }),
                changed <- new_condvar!(),
                work <- new_work!("fuse_fsnotify::Conn::work"),
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

    /// The generation to wait for after a mark change.
    pub(crate) fn queued(&self) -> u64 {
        self.state.lock().marks.queued()
    }

    /// Waits (bounded, interruptible) until every change up to generation
    /// `g` was acknowledged, or the connection does not serve remote
    /// watches. Returns false on timeout or signal.
    pub(crate) fn wait_armed(&self, g: u64, timeout_ms: u32) -> bool {
        let mut left = kernel::time::msecs_to_jiffies(timeout_ms);
        let mut st = self.state.lock();
        loop {
            if st.dead || st.probe == Probe::Unsupported || st.marks.armed_up_to(g) {
                return true;
            }
            match self.changed.wait_interruptible_timeout(&mut st, left) {
                kernel::sync::CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => return false,
            }
        }
    }

    fn kick(self: &Arc<Self>) {
        // Already queued is fine: the queued run will see the new state.
        let _ = workqueue::system().enqueue(self.clone());
    }

    /// Sends what is due: the probe first, then MARK batches, one request
    /// in flight at a time.
    fn send_due(self: Arc<Self>) {
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
            Probe::Supported { max_entries } if st.marks.pending_len() > 0 => {
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
            Kind::Probe => (probe_body(), MarkOut::SIZE),
            Kind::Mark(batch) => (
                mark_body(batch),
                MarkOut::SIZE + batch.entries.len() * MarkResult::SIZE,
            ),
        };
        let Ok(input) = input else {
            self.failed(kind, -(b::ENOMEM as i32));
            return;
        };
        let req = match Request::new(
            wire::FUSE_FSNOTIFY_MARK,
            input,
            out_size,
            self.clone(),
            kind,
        ) {
            Ok(r) => r,
            Err(_) => {
                STATS.alloc_failures.fetch_add(1, Relaxed);
                let mut st = self.state.lock();
                st.in_flight = false;
                if st.probe == Probe::Probing {
                    st.probe = Probe::Unknown;
                }
                return;
            }
        };
        STATS.requests.fetch_add(1, Relaxed);
        if let Err((req, err)) = req.send(self.fm as *mut b::fuse_mount) {
            let kind = req.into_kind();
            self.failed(kind, err);
        }
    }

    /// A request could not be sent or failed: give its batch back or give
    /// up on the connection.
    fn failed(self: &Arc<Self>, kind: Kind, err: i32) {
        let mut st = self.state.lock();
        st.in_flight = false;
        let gone = err == -(b::ENOTCONN as i32) || err == -(b::ECONNABORTED as i32);
        match kind {
            Kind::Probe if gone => st.dead = true,
            Kind::Probe => {
                // ENOSYS (or EPROTO): not our protocol. Nothing more is
                // ever sent on this connection.
                st.probe = Probe::Unsupported;
                STATS.unsupported.fetch_add(1, Relaxed);
            }
            Kind::Mark(batch) => {
                STATS.request_errors.fetch_add(1, Relaxed);
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
                }
            }
        }
        if st.dead {
            st.marks.clear();
        }
        drop(st);
        self.changed.notify_all();
    }

    /// The reply to one of our requests (from the request's end callback).
    pub(crate) fn on_reply(self: Arc<Self>, kind: Kind, reply: core::result::Result<&[u8], i32>) {
        let reply = match reply {
            Ok(r) => r,
            Err(e) => return self.failed(kind, e),
        };
        let count = match &kind {
            Kind::Probe => 0,
            Kind::Mark(batch) => batch.entries.len() as u32,
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
                STATS.rejected.fetch_add(1, Relaxed);
                pr_warn!("malformed MARK reply ({})\n", e.as_str());
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
                STATS.marks_sent.fetch_add(n as u64, Relaxed);
                let refused = results.iter().take(n).filter(|r| r.error != 0).count();
                STATS.marks_refused.fetch_add(refused as u64, Relaxed);
                st.marks.acked(&batch, results.get(..n).unwrap_or(&[]));
            }
        }
        let more = st.marks.pending_len() > 0;
        drop(st);
        self.changed.notify_all();
        if more {
            self.kick();
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
        self.changed.notify_all();
        // SAFETY: `work` is initialised and lives as long as `self`;
        // flush_work only waits for a queued or running instance.
        unsafe { b::flush_work(Work::raw_get(&self.work)) };
    }

    /// At module unload: waits until no request of ours is in flight, since
    /// their end callbacks are module code. A server that does not answer
    /// within the bound gets its connection aborted (which ends every
    /// request at once) rather than hang the unload.
    pub(crate) fn drain_requests(&self) {
        if self.wait_idle(DRAIN_TIMEOUT_MS) {
            return;
        }
        pr_err!("server does not answer: aborting its connection to unload\n");
        // SAFETY: `fc` is pinned by our reference (see `new`).
        unsafe { b::fuse_abort_conn(self.fc as *mut b::fuse_conn) };
        while !self.wait_idle(DRAIN_TIMEOUT_MS) {
            pr_err!("request still in flight after abort\n");
        }
    }

    /// Waits (bounded) until no request of ours is in flight; returns false
    /// if one still is.
    fn wait_idle(&self, timeout_ms: u32) -> bool {
        let mut left = kernel::time::msecs_to_jiffies(timeout_ms);
        let mut st = self.state.lock();
        loop {
            if !st.in_flight {
                return true;
            }
            match self.changed.wait_interruptible_timeout(&mut st, left) {
                kernel::sync::CondVarTimeoutResult::Woken { jiffies } => left = jiffies,
                _ => return !st.in_flight,
            }
        }
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
        flags: 0,
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
