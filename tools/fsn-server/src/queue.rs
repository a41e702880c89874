//! The outgoing event queue of one client connection.
//!
//! The watcher thread pushes records; the thread serving the client's
//! `FUSE_FSNOTIFY_POLL` takes them out as one batch. Memory is bounded: past
//! `limit` queued records, new records are dropped and the next batch carries
//! the overflow flag instead (one flag stands for any number of lost
//! records). `DELETE_SELF` records are the exception: they are never
//! dropped, because the client keeps a dead inode in limbo until it sees one.
//! Their number is bounded by the number of watched objects (each dies once),
//! which the watch table bounds.

use crate::record::OwnedRecord;
use fsn_wire::{BatchWriter, BATCH_OVERFLOW};
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Why a poll returned without a batch.
#[derive(Debug, PartialEq, Eq)]
pub enum PollError {
    /// The server is shutting down.
    Shutdown,
    /// Another poll of this connection is already waiting.
    Busy,
    /// The client's buffer cannot hold a batch header.
    BufferTooSmall,
}

#[derive(Default)]
struct State {
    records: VecDeque<OwnedRecord>,
    /// Records in `records` that may be dropped (all but DELETE_SELF).
    droppable: usize,
    overflow: bool,
    seq: u64,
    polling: bool,
    shutdown: bool,
    dropped: u64,
}

/// Bounded, overflow-flagging queue with a single blocking consumer.
pub struct EventQueue {
    state: Mutex<State>,
    ready: Condvar,
    limit: usize,
}

impl EventQueue {
    /// A queue that holds at most `limit` droppable records.
    pub fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every
        // update is a single push/pop), so poisoning is not fatal.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a record; drops it and flags an overflow when full. Returns
    /// false when the record was dropped.
    pub fn push(&self, rec: OwnedRecord) -> bool {
        let mut st = self.lock();
        let reliable = rec.is_delete_self();
        if !reliable && st.droppable >= self.limit {
            st.overflow = true;
            st.dropped += 1;
            drop(st);
            self.ready.notify_all();
            return false;
        }
        if !reliable {
            st.droppable += 1;
        }
        st.records.push_back(rec);
        drop(st);
        self.ready.notify_all();
        true
    }

    /// Flags an overflow that happened upstream (the fanotify queue).
    pub fn flag_overflow(&self) {
        self.lock().overflow = true;
        self.ready.notify_all();
    }

    /// Records dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Wakes a waiting poll and makes every later poll fail.
    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.ready.notify_all();
    }

    /// Waits until there is something to report, then encodes one batch of
    /// at most `buf.len()` bytes into `buf` and returns its length.
    #[cfg(test)]
    pub fn poll(&self, buf: &mut [u8]) -> Result<usize, PollError> {
        self.poll_timeout(buf, None)
    }

    /// Like [`EventQueue::poll`], but gives up after `timeout` with an empty
    /// batch (`None`: wait indefinitely, as the server does).
    pub fn poll_timeout(
        &self,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> Result<usize, PollError> {
        if buf.len() < fsn_wire::BatchHeader::SIZE {
            return Err(PollError::BufferTooSmall);
        }
        let mut st = self.lock();
        if st.polling {
            return Err(PollError::Busy);
        }
        st.polling = true;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        while !st.shutdown && st.records.is_empty() && !st.overflow {
            match deadline {
                None => st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        break;
                    }
                    st = self
                        .ready
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        st.polling = false;
        if st.shutdown {
            return Err(PollError::Shutdown);
        }
        let mut w = BatchWriter::new(buf).map_err(|_| PollError::BufferTooSmall)?;
        while let Some(rec) = st.records.front() {
            let r = rec.as_record();
            if !w.fits(&r) {
                break;
            }
            // Records are validated when they are built, so this only fails
            // on a bug; drop such a record rather than wedge the queue.
            if let Err(e) = w.push(&r) {
                tracing::error!(?e, record = ?r, "dropping invalid record");
            }
            if !rec.is_delete_self() {
                st.droppable -= 1;
            }
            st.records.pop_front();
        }
        let flags = if std::mem::take(&mut st.overflow) {
            BATCH_OVERFLOW
        } else {
            0
        };
        st.seq += 1;
        let seq = st.seq;
        w.finish(seq, flags).map_err(|_| PollError::BufferTooSmall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsn_wire::{mask, Batch, Record};
    use std::sync::Arc;

    fn modify(nodeid: u64) -> OwnedRecord {
        OwnedRecord::event(mask::MODIFY, nodeid, 0, b"").unwrap()
    }

    fn decode(buf: &[u8]) -> (u64, u32, Vec<u64>) {
        let b = Batch::parse(buf).unwrap();
        let (seq, flags) = (b.header.seq, b.header.flags);
        let ids = b
            .map(|r| match r.unwrap() {
                Record::Event { nodeid, .. } => nodeid,
                other => panic!("{other:?}"),
            })
            .collect();
        (seq, flags, ids)
    }

    #[test]
    fn batches_in_order_with_growing_seq() {
        let q = EventQueue::new(100);
        for i in 1..=3 {
            q.push(modify(i));
        }
        let mut buf = vec![0u8; 4096];
        let n = q.poll(&mut buf).unwrap();
        assert_eq!(decode(&buf[..n]), (1, 0, vec![1, 2, 3]));
        q.push(modify(4));
        let n = q.poll(&mut buf).unwrap();
        assert_eq!(decode(&buf[..n]), (2, 0, vec![4]));
    }

    #[test]
    fn full_queue_drops_and_flags_once() {
        let q = EventQueue::new(2);
        for i in 1..=5 {
            q.push(modify(i));
        }
        assert_eq!(q.dropped(), 3);
        let mut buf = vec![0u8; 4096];
        let n = q.poll(&mut buf).unwrap();
        assert_eq!(decode(&buf[..n]), (1, BATCH_OVERFLOW, vec![1, 2]));
        q.push(modify(6));
        let n = q.poll(&mut buf).unwrap();
        assert_eq!(decode(&buf[..n]), (2, 0, vec![6]));
    }

    #[test]
    fn delete_self_is_never_dropped() {
        let q = EventQueue::new(1);
        q.push(modify(1));
        q.push(modify(2));
        let del = OwnedRecord::event(mask::DELETE_SELF, 9, 0, b"").unwrap();
        assert!(q.push(del));
        let mut buf = vec![0u8; 4096];
        let n = q.poll(&mut buf).unwrap();
        assert_eq!(decode(&buf[..n]), (1, BATCH_OVERFLOW, vec![1, 9]));
    }

    #[test]
    fn batch_respects_the_client_buffer() {
        let q = EventQueue::new(100);
        for i in 1..=10 {
            q.push(modify(i));
        }
        // Header (24) + two 32-byte records.
        let mut small = vec![0u8; 24 + 64];
        let n = q.poll(&mut small).unwrap();
        assert_eq!(decode(&small[..n]).2, vec![1, 2]);
        let mut buf = vec![0u8; 4096];
        let n = q.poll(&mut buf).unwrap();
        assert_eq!(decode(&buf[..n]).2, (3..=10).collect::<Vec<_>>());
        assert_eq!(q.poll(&mut [0u8; 8]), Err(PollError::BufferTooSmall));
    }

    #[test]
    fn poll_blocks_until_push_and_shutdown_wakes_it() {
        let q = Arc::new(EventQueue::new(10));
        let q2 = q.clone();
        let t = std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let n = q2.poll(&mut buf).unwrap();
            decode(&buf[..n]).2
        });
        std::thread::sleep(Duration::from_millis(50));
        q.push(modify(7));
        assert_eq!(t.join().unwrap(), vec![7]);

        let q3 = q.clone();
        let t = std::thread::spawn(move || q3.poll(&mut [0u8; 4096]));
        std::thread::sleep(Duration::from_millis(50));
        q.shutdown();
        assert_eq!(t.join().unwrap(), Err(PollError::Shutdown));
    }

    #[test]
    fn second_concurrent_poll_is_busy() {
        let q = Arc::new(EventQueue::new(10));
        let q2 = q.clone();
        let t = std::thread::spawn(move || q2.poll(&mut [0u8; 4096]).map(|_| ()));
        // Wait until the first poll is registered.
        while !q.lock().polling {
            std::thread::yield_now();
        }
        assert_eq!(q.poll(&mut [0u8; 4096]), Err(PollError::Busy));
        q.push(modify(1));
        t.join().unwrap().unwrap();
    }

    #[test]
    fn timeout_gives_an_empty_batch() {
        let q = EventQueue::new(10);
        let mut buf = vec![0u8; 4096];
        let n = q
            .poll_timeout(&mut buf, Some(Duration::from_millis(10)))
            .unwrap();
        assert_eq!(decode(&buf[..n]), (1, 0, vec![]));
    }
}
