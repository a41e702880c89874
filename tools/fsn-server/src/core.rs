//! The protocol side of the server, independent of the FUSE transport.
//!
//! [`Core`] answers `FUSE_FSNOTIFY_MARK` and `FUSE_FSNOTIFY_POLL` request
//! bodies with reply bodies (or a negative errno), and turns the host's
//! fanotify events into queued records. The FUSE session only moves bytes
//! in and out; the tests drive this API directly.
//!
//! Lock order: `watches`, `translator`, `held`; the queue's own lock is a leaf.
//! A poll blocks on the queue only, never while holding `watches`.

use crate::fanotify::{handle_of, open_by_handle, Fanotify, FileHandle};
use crate::queue::{EventQueue, PollError};
use crate::record::OwnedRecord;
use crate::translate::{Action, Names, Translator};
use crate::watch::{Resolver, Watches, SUPPORTED};
use fsn_wire::{
    mask, parse_mark_request, MarkOut, MarkResult, PollIn, WireError, MARK_RESYNC, VERSION,
};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Limits of one client.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Records queued for the client before new ones are dropped (overflow).
    pub queue: usize,
    /// Remote watches.
    pub watches: usize,
    /// Entries per `FUSE_FSNOTIFY_MARK` request.
    pub mark_entries: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue: 16384,
            watches: 65536,
            mark_entries: 4096,
        }
    }
}

/// Counters, for logs and tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// fanotify events read.
    pub events: AtomicU64,
    /// Records queued.
    pub records: AtomicU64,
    /// Malformed requests rejected.
    pub bad_requests: AtomicU64,
    /// fanotify overflows.
    pub overflows: AtomicU64,
}

/// The protocol state of one client.
pub struct Core {
    queue: EventQueue,
    watches: Mutex<Watches>,
    translator: Mutex<Translator>,
    /// Deaths held until the events queued before them are read.
    held: Mutex<Held>,
    fan: Fanotify,
    resolver: Box<dyn Resolver + Send + Sync>,
    /// The backing directory, `O_PATH`: the mount fd for `open_by_handle`.
    root: OwnedFd,
    limits: Limits,
    /// Counters.
    pub stats: Stats,
}

/// Reads of the fanotify queue [`Core::pump`] makes before translating:
/// 16 of 64 KiB hold the default queue's 16384 events in practice.
const DRAIN_READS: usize = 16;

/// Deaths held back by [`Core::pump`]: `(due, record, nodeid)`, due once
/// `read` (bytes read from the fanotify group so far) reaches `due`.
///
/// `names` remembers the parent and name of the directories whose own
/// events were named from their path, for the events read after the
/// directory is gone: `rm -rf` reads a directory, and its last
/// `CLOSE_NOWRITE` merges into the `DELETE_SELF` of its removal, often
/// read before the parent's `DELETE` that would name it. A rename
/// updates the entry; at [`NAMES_KNOWN_MAX`] it starts over.
#[derive(Default)]
struct Held {
    read: u64,
    deaths: Vec<(u64, OwnedRecord, u64)>,
    names: HashMap<FileHandle, (FileHandle, Vec<u8>)>,
}

/// Directories whose names [`Held`] remembers.
const NAMES_KNOWN_MAX: usize = 4096;

/// Remembers `dir`'s parent and name; starts over at [`NAMES_KNOWN_MAX`].
fn remember(
    names: &mut HashMap<FileHandle, (FileHandle, Vec<u8>)>,
    dir: &FileHandle,
    at: (FileHandle, Vec<u8>),
) {
    if names.len() >= NAMES_KNOWN_MAX {
        names.clear();
    }
    names.insert(dir.clone(), at);
}

fn errno(e: WireError) -> i32 {
    match e {
        WireError::Version => -libc::EPROTO,
        _ => -libc::EINVAL,
    }
}

impl Core {
    /// A core for the backing directory `root`, resolving nodeids with
    /// `resolver`, treating events of process `own_pid` as echoes.
    pub fn new(
        root: &Path,
        resolver: Box<dyn Resolver + Send + Sync>,
        own_pid: i32,
        limits: Limits,
    ) -> io::Result<Self> {
        let fan = Fanotify::new()?;
        let root_fd: OwnedFd = std::fs::File::open(root)?.into();
        let fsid = handle_of(root)?.fsid;
        Ok(Self {
            queue: EventQueue::new(limits.queue),
            watches: Mutex::new(Watches::new(limits.watches, fsid)),
            translator: Mutex::new(Translator::new(own_pid)),
            held: Mutex::new(Held::default()),
            fan,
            resolver,
            root: root_fd,
            limits,
            stats: Stats::default(),
        })
    }

    fn watches(&self) -> MutexGuard<'_, Watches> {
        self.watches.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fanotify fd, to wait for events.
    pub fn fanotify(&self) -> &Fanotify {
        &self.fan
    }

    /// Answers a `FUSE_FSNOTIFY_MARK` body.
    pub fn handle_mark(&self, body: &[u8]) -> Result<Vec<u8>, i32> {
        let (hdr, entries) = parse_mark_request(body).map_err(|e| {
            self.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = e.as_str(), "malformed FSNOTIFY_MARK request");
            errno(e)
        })?;
        if hdr.count > self.limits.mark_entries {
            self.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            return Err(-libc::EINVAL);
        }
        let entries: Vec<_> = entries.collect();
        let mut results = Vec::with_capacity(entries.len());
        {
            let mut w = self.watches();
            for e in &entries {
                let r = if e.reserved != 0 {
                    MarkResult {
                        mask: 0,
                        error: -libc::EINVAL,
                    }
                } else {
                    w.apply(&self.fan, self.resolver.as_ref(), e.nodeid, e.mask)
                };
                tracing::debug!(nodeid = e.nodeid, mask = e.mask, ?r, "mark");
                results.push(r);
            }
        }
        if hdr.flags & MARK_RESYNC != 0 {
            self.recheck();
        }
        let mut out = vec![0u8; MarkOut::SIZE + results.len() * MarkResult::SIZE];
        MarkOut {
            version: VERSION,
            count: hdr.count,
            supported: SUPPORTED,
            max_entries: self.limits.mark_entries,
        }
        .write(&mut out)
        .map_err(errno)?;
        for (i, r) in results.iter().enumerate() {
            r.write(&mut out[MarkOut::SIZE + i * MarkResult::SIZE..])
                .map_err(errno)?;
        }
        Ok(out)
    }

    /// Answers a `FUSE_FSNOTIFY_POLL` body; blocks until there is something
    /// to report or the server shuts down.
    pub fn handle_poll(&self, body: &[u8]) -> Result<Vec<u8>, i32> {
        self.handle_poll_timeout(body, None)
    }

    /// [`Core::handle_poll`] that gives up after `timeout` with an empty
    /// batch.
    pub fn handle_poll_timeout(
        &self,
        body: &[u8],
        timeout: Option<std::time::Duration>,
    ) -> Result<Vec<u8>, i32> {
        let req = PollIn::read(body).map_err(errno)?;
        if req.version != VERSION {
            return Err(-libc::EPROTO);
        }
        if body.len() != PollIn::SIZE || req.reserved != 0 {
            return Err(-libc::EINVAL);
        }
        let requested =
            (req.timeout_ms != 0).then(|| std::time::Duration::from_millis(req.timeout_ms.into()));
        let timeout = match (timeout, requested) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let size = (req.max_size as usize).min(fsn_wire::MAX_BATCH_SIZE);
        let mut buf = vec![0u8; size];
        match self.queue.poll_timeout(&mut buf, timeout) {
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(PollError::Busy) => Err(-libc::EBUSY),
            Err(PollError::Shutdown) => Err(-libc::ESHUTDOWN),
            Err(PollError::BufferTooSmall) => Err(-libc::EINVAL),
        }
    }

    /// Reads all pending fanotify events and queues their records. Returns
    /// the number of events read.
    ///
    /// Reads what is queued (up to [`DRAIN_READS`] reads) before
    /// translating any of it, so that a later event can name a directory
    /// as it was named at the time of an earlier one
    /// ([`crate::translate::names_at_the_time`]); again while deaths are
    /// held ([`Action::DiedLater`]) until they are due or the queue is
    /// empty, so that a held death never waits for the next event to wake
    /// the caller.
    pub fn pump(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut total = 0;
        loop {
            let (mut bytes, mut events) = (0, Vec::new());
            let (mut drained, mut unparsable) = (false, false);
            for _ in 0..DRAIN_READS {
                match self.fan.read_events(buf) {
                    Ok((0, _)) => {
                        drained = true;
                        break;
                    }
                    Ok((n, ev)) => {
                        bytes += n;
                        events.extend(ev);
                    }
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                        // Unparsable events are lost events.
                        tracing::warn!(%e, "unparsable fanotify events, treating as overflow");
                        unparsable = true;
                        break;
                    }
                    Err(e) if events.is_empty() => return Err(e),
                    Err(e) => {
                        tracing::warn!(%e, "reading fanotify events");
                        break;
                    }
                }
            }
            // A directory's own event whose name nothing gives (no later
            // event in the batch, its handle no longer opens, never
            // resolved before): the directory is gone, so the DELETE or
            // rename that names it is queued by now. Read it too.
            for _ in 0..2 {
                if unparsable || !self.names_wanted(&events) {
                    break;
                }
                let (n, more) = match self.fan.read_events(buf) {
                    Ok((0, _)) => {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        match self.fan.read_events(buf) {
                            Ok(r) => r,
                            Err(_) => break,
                        }
                    }
                    Ok(r) => r,
                    Err(_) => break,
                };
                if n == 0 {
                    break;
                }
                bytes += n;
                drained = false;
                events.extend(more);
            }
            total += events.len();
            let mut overflow = false;
            let more;
            {
                let mut w = self.watches();
                let mut t = self.translator.lock().unwrap_or_else(|e| e.into_inner());
                let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
                held.read += bytes as u64;
                let then = crate::translate::names_at_the_time(&events);
                let known = std::cell::RefCell::new(std::mem::take(&mut held.names));
                for (ev, then) in events.iter().zip(then) {
                    self.stats.events.fetch_add(1, Ordering::Relaxed);
                    if ev.mask & libc::FAN_RENAME != 0 {
                        if let (Some(o), Some(d), Some(n)) = (&ev.object, &ev.new_dir, &ev.new_name)
                        {
                            known.borrow_mut().insert(o.clone(), (d.clone(), n.clone()));
                        }
                    }
                    let at = NamesAt {
                        core: self,
                        then,
                        known: &known,
                    };
                    for action in t.translate(ev, &w, &at) {
                        match action {
                            Action::Send(r) => self.send(r),
                            Action::Died(n) => {
                                w.forget(n);
                            }
                            Action::DiedLater(r, n) => {
                                // Everything queued now is older than the
                                // death (it was merged before this read).
                                let queued = self.fan.pending_bytes().unwrap_or(0);
                                let due = held.read + queued;
                                held.deaths.push((due, r, n));
                            }
                            Action::Overflow => overflow = true,
                        }
                    }
                }
                held.names = known.into_inner();
                let upto = if drained || overflow || unparsable {
                    u64::MAX
                } else {
                    held.read
                };
                self.release_deaths(&mut w, &mut held, upto);
                more = !events.is_empty() && !held.deaths.is_empty();
            }
            if overflow || unparsable {
                self.overflow();
            }
            if !more || unparsable {
                return Ok(total);
            }
        }
    }

    /// Whether a directory's own event in `events` has no name to be
    /// reported to its parent with: none from a later event, none from
    /// its path, none remembered. Resolving fills [`Held::names`].
    fn names_wanted(&self, events: &[crate::fanotify::Event]) -> bool {
        let then = crate::translate::names_at_the_time(events);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        events.iter().zip(then).any(|(ev, then)| {
            let Some(dir) = ev.dir.as_ref().filter(|_| ev.name.as_deref() == Some(b".")) else {
                return false;
            };
            if then.is_some() || held.names.contains_key(dir) {
                return false;
            }
            match self.parent_of(dir) {
                Some(now) => {
                    remember(&mut held.names, dir, now);
                    false
                }
                None => true,
            }
        })
    }

    /// Sends the held deaths due by `upto` bytes read, and forgets their
    /// watches (unless the client removed the mark meanwhile).
    fn release_deaths(&self, w: &mut Watches, held: &mut Held, upto: u64) {
        let (due, keep): (Vec<_>, Vec<_>) = held.deaths.drain(..).partition(|d| d.0 <= upto);
        held.deaths = keep;
        for (_, r, n) in due {
            if w.get(n).is_some() {
                self.send(r);
                w.forget(n);
            }
        }
    }

    fn send(&self, r: OwnedRecord) {
        tracing::trace!(?r, "queue");
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        if !self.queue.push(r) {
            tracing::debug!("client queue full, record dropped");
        }
    }

    fn overflow(&self) {
        self.stats.overflows.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("fanotify queue overflow: flagging it and re-checking watches");
        self.queue.flag_overflow();
        self.recheck();
    }

    /// Reports `DELETE_SELF` for every watched object that no longer exists
    /// (its handle no longer opens), and forgets its watch.
    pub fn recheck(&self) {
        let mut w = self.watches();
        for n in w.nodeids() {
            let Some(watch) = w.get(n) else { continue };
            if let Err(e) = open_by_handle(self.root.as_fd(), &watch.handle) {
                if matches!(e.raw_os_error(), Some(libc::ESTALE) | Some(libc::ENOENT)) {
                    let isdir = if watch.is_dir { mask::ISDIR } else { 0 };
                    if let Ok(r) = OwnedRecord::event(mask::DELETE_SELF | isdir, n, 0, b"") {
                        self.send(r);
                    }
                    w.forget(n);
                }
            }
        }
    }

    /// Wakes a blocked poll and fails the later ones.
    pub fn shutdown(&self) {
        self.queue.shutdown();
    }

    /// Records dropped because the client's queue was full.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }
}

/// A directory's parent and name as it was at the time of one event, when
/// a later event told ([`crate::translate::names_at_the_time`]), else as
/// its path says now, else as it was last known ([`Held::names`]).
struct NamesAt<'a> {
    core: &'a Core,
    then: Option<(FileHandle, Vec<u8>)>,
    known: &'a std::cell::RefCell<HashMap<FileHandle, (FileHandle, Vec<u8>)>>,
}

impl Names for NamesAt<'_> {
    fn parent_of(&self, dir: &FileHandle) -> Option<(FileHandle, Vec<u8>)> {
        if let Some(t) = &self.then {
            return Some(t.clone());
        }
        let mut known = self.known.borrow_mut();
        match self.core.parent_of(dir) {
            Some(now) => {
                remember(&mut known, dir, now.clone());
                Some(now)
            }
            // Removed since (and its handle no longer opens): the name it
            // had when last resolved.
            None => known.get(dir).cloned(),
        }
    }
}

impl Names for Core {
    fn parent_of(&self, dir: &FileHandle) -> Option<(FileHandle, Vec<u8>)> {
        let fd = open_by_handle(self.root.as_fd(), dir).ok()?;
        let path = std::fs::read_link(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ))
        .ok()?;
        let mut name = path.file_name()?.as_bytes();
        // A directory removed since the event: the kernel's path of it ends
        // in " (deleted)"; the event happened under its last name.
        let gone = std::fs::File::from(fd)
            .metadata()
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::nlink(&m) == 0);
        if gone {
            name = name.strip_suffix(b" (deleted)").unwrap_or(name);
        }
        let parent = handle_of(path.parent()?).ok()?;
        Some((parent, name.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsn_wire::{Batch, MarkEntry, MarkIn, Record, BATCH_OVERFLOW};
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::Arc;

    struct Paths(Arc<Mutex<HashMap<u64, PathBuf>>>);
    impl Resolver for Paths {
        fn path(&self, nodeid: u64) -> io::Result<PathBuf> {
            self.0
                .lock()
                .unwrap()
                .get(&nodeid)
                .cloned()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
        }
    }

    struct Fixture {
        dir: tempfile::TempDir,
        paths: Arc<Mutex<HashMap<u64, PathBuf>>>,
        core: Core,
        buf: Vec<u8>,
    }

    impl Fixture {
        fn new(limits: Limits) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let paths = Arc::new(Mutex::new(HashMap::new()));
            let core = Core::new(
                dir.path(),
                Box::new(Paths(paths.clone())),
                std::process::id() as i32,
                limits,
            )
            .unwrap();
            Self {
                dir,
                paths,
                core,
                buf: vec![0u8; 1 << 16],
            }
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        fn node(&self, nodeid: u64, rel: &str) {
            self.paths.lock().unwrap().insert(nodeid, self.path(rel));
        }

        fn mark(&self, flags: u32, entries: &[(u64, u32)]) -> Result<Vec<MarkResult>, i32> {
            let mut body = vec![0u8; MarkIn::SIZE + entries.len() * MarkEntry::SIZE];
            MarkIn {
                version: VERSION,
                count: entries.len() as u32,
                flags,
                reserved: 0,
            }
            .write(&mut body)
            .unwrap();
            for (i, (nodeid, mask)) in entries.iter().enumerate() {
                MarkEntry {
                    nodeid: *nodeid,
                    mask: *mask,
                    reserved: 0,
                }
                .write(&mut body[MarkIn::SIZE + i * MarkEntry::SIZE..])
                .unwrap();
            }
            let out = self.core.handle_mark(&body)?;
            let (hdr, res) = fsn_wire::parse_mark_reply(&out, entries.len() as u32).unwrap();
            assert_eq!(hdr.supported, SUPPORTED);
            Ok(res.collect())
        }

        /// Runs a shell command in another process (not an echo), then
        /// reads the events it caused, as the watcher thread does.
        fn remote(&mut self, cmd: &str) {
            let st = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(self.dir.path())
                .status()
                .unwrap();
            assert!(st.success(), "{cmd}");
            self.pump();
        }

        fn pump(&mut self) {
            while self.core.pump(&mut self.buf).unwrap() > 0 {}
        }

        /// Takes one batch: (flags, records as text).
        fn poll(&self) -> (u32, Vec<String>) {
            let mut body = [0u8; PollIn::SIZE];
            PollIn {
                version: VERSION,
                max_size: 1 << 16,
                timeout_ms: 0,
                reserved: 0,
            }
            .write(&mut body)
            .unwrap();
            let out = self
                .core
                .handle_poll_timeout(&body, Some(std::time::Duration::from_millis(200)))
                .unwrap();
            let b = Batch::parse(&out).unwrap();
            let flags = b.header.flags;
            (flags, b.map(|r| show(r.unwrap())).collect())
        }
    }

    fn show(r: Record<'_>) -> String {
        let names = |m: u32| {
            let mut v = Vec::new();
            for (bit, n) in [
                (mask::ACCESS, "ACCESS"),
                (mask::MODIFY, "MODIFY"),
                (mask::ATTRIB, "ATTRIB"),
                (mask::CLOSE_WRITE, "CLOSE_WRITE"),
                (mask::CLOSE_NOWRITE, "CLOSE_NOWRITE"),
                (mask::OPEN, "OPEN"),
                (mask::CREATE, "CREATE"),
                (mask::DELETE, "DELETE"),
                (mask::DELETE_SELF, "DELETE_SELF"),
                (mask::MOVE_SELF, "MOVE_SELF"),
                (mask::ISDIR, "ISDIR"),
            ] {
                if m & bit != 0 {
                    v.push(n);
                }
            }
            v.join("|")
        };
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match r {
            Record::Event {
                mask,
                nodeid,
                parent,
                name,
            } => format!("{} {nodeid} {parent} {}", names(mask), s(name)),
            Record::Rename {
                mask,
                nodeid,
                old_parent,
                old_name,
                new_parent,
                new_name,
            } => format!(
                "RENAME{} {nodeid} {old_parent}/{} {new_parent}/{}",
                if mask != 0 { "|ISDIR" } else { "" },
                s(old_name),
                s(new_name)
            ),
            Record::Unknown { rtype } => format!("unknown {rtype}"),
        }
    }

    const DIR: u32 = mask::CREATE
        | mask::DELETE
        | mask::MOVED_FROM
        | mask::MOVED_TO
        | mask::MODIFY
        | mask::ATTRIB
        | mask::CLOSE_WRITE
        | mask::DELETE_SELF
        | mask::EVENT_ON_CHILD;

    #[test]
    fn file_operations_in_a_watched_directory() {
        let mut f = Fixture::new(Limits::default());
        f.node(10, "");
        assert_eq!(
            f.mark(0, &[(10, DIR)]).unwrap(),
            [MarkResult {
                mask: DIR,
                error: 0
            }]
        );
        f.remote("touch f");
        f.remote("echo data >> f");
        f.remote("chmod 600 f");
        f.remote("mv f g");
        f.remote("ln g h");
        f.remote("rm g h");
        f.remote("mkdir d");
        f.remote("rmdir d");
        let (flags, recs) = f.poll();
        assert_eq!(flags, 0);
        assert_eq!(
            recs,
            [
                "CREATE 0 10 f",
                "ATTRIB 0 10 f",
                "CLOSE_WRITE 0 10 f",
                "MODIFY 0 10 f",
                "CLOSE_WRITE 0 10 f",
                "ATTRIB 0 10 f",
                "RENAME 0 10/f 10/g",
                "CREATE 0 10 h",
                "DELETE 0 10 g",
                "DELETE 0 10 h",
                "CREATE|ISDIR 0 10 d",
                "DELETE|ISDIR 0 10 d",
            ]
        );
    }

    #[test]
    fn watched_file_lifecycle_with_hard_links() {
        let mut f = Fixture::new(Limits::default());
        std::fs::write(f.path("f"), b"x").unwrap();
        std::fs::hard_link(f.path("f"), f.path("link")).unwrap();
        f.node(20, "f");
        let res = f.mark(0, &[(20, mask::ATTRIB | mask::MODIFY)]).unwrap();
        assert_eq!(res[0].error, 0);
        f.remote("echo more >> link");
        f.remote("rm f");
        f.remote("rm link");
        let (_, recs) = f.poll();
        assert_eq!(
            recs,
            [
                "MODIFY 20 0 ",
                "ATTRIB 20 0 ",
                "ATTRIB 20 0 ",
                "DELETE_SELF 20 0 "
            ]
        );
        // The watch ended with the object.
        assert!(f.core.watches().get(20).is_none());
    }

    #[test]
    fn rename_across_watched_directories_and_move_self() {
        let mut f = Fixture::new(Limits::default());
        std::fs::create_dir(f.path("a")).unwrap();
        std::fs::create_dir(f.path("b")).unwrap();
        std::fs::write(f.path("a/x"), b"").unwrap();
        f.node(10, "a");
        f.node(11, "b");
        f.node(20, "a/x");
        for r in f
            .mark(
                0,
                &[
                    (10, DIR),
                    (11, DIR),
                    (20, mask::MOVE_SELF | mask::DELETE_SELF),
                ],
            )
            .unwrap()
        {
            assert_eq!(r.error, 0);
        }
        f.remote("mv a/x b/y");
        f.remote("mv b/y y");
        let (_, recs) = f.poll();
        assert_eq!(recs, ["RENAME 20 10/x 11/y", "RENAME 20 11/y 0/"]);
    }

    #[test]
    fn echo_is_suppressed_but_delete_self_is_reported() {
        let mut f = Fixture::new(Limits::default());
        std::fs::write(f.path("f"), b"x").unwrap();
        f.node(10, "");
        f.node(20, "f");
        for r in f
            .mark(0, &[(10, DIR), (20, mask::ATTRIB | mask::DELETE_SELF)])
            .unwrap()
        {
            assert_eq!(r.error, 0);
        }
        // Our own process = the server acting for the client.
        std::fs::write(f.path("g"), b"y").unwrap();
        std::fs::remove_file(f.path("f")).unwrap();
        f.pump();
        let (_, recs) = f.poll();
        assert_eq!(recs, ["DELETE_SELF 20 0 "]);
        assert!(f.core.translator.lock().unwrap().echoes > 0);
    }

    #[test]
    fn rmdir_of_a_watched_directory() {
        let mut f = Fixture::new(Limits::default());
        std::fs::create_dir(f.path("d")).unwrap();
        f.node(10, "");
        f.node(11, "d");
        f.mark(0, &[(10, DIR), (11, DIR)]).unwrap();
        f.remote("rmdir d");
        let (_, recs) = f.poll();
        // The host kernel reports the directory's own death first
        // (d_delete() before fsnotify_delete()), then the entry's removal;
        // by then the watch is gone, so the entry has no nodeid.
        assert_eq!(recs, ["DELETE_SELF|ISDIR 11 0 ", "DELETE|ISDIR 0 10 d"]);
    }

    #[test]
    fn merged_death_waits_for_the_entries_queued_before_it() {
        merged_death(1 << 16);
    }

    #[test]
    fn names_at_the_time_across_reads() {
        // A few events per read: the DELETE naming d comes reads after
        // d's own events, which the drain before translating still sees.
        merged_death(256);
    }

    fn merged_death(buf: usize) {
        let mut f = Fixture::new(Limits::default());
        f.buf = vec![0; buf];
        std::fs::create_dir(f.path("d")).unwrap();
        for n in ["a", "b"] {
            std::fs::write(f.path(&format!("d/{n}")), b"").unwrap();
        }
        f.node(10, "");
        f.node(11, "d");
        let reads = mask::OPEN | mask::ACCESS | mask::CLOSE_NOWRITE;
        for r in f.mark(0, &[(10, DIR | reads), (11, DIR | reads)]).unwrap() {
            assert_eq!(r.error, 0);
        }
        // One process opens d, reads it, unlinks its entries and removes
        // it: the host merges d's DELETE_SELF into its OPEN, queued before
        // the DELETEs.
        f.remote("rm -rf d");
        let (_, recs) = f.poll();
        let of_d: Vec<_> = recs
            .iter()
            .filter(|r| r.contains(" 11 ") && !r.starts_with("OPEN") && !r.contains("ACCESS"))
            .filter(|r| !r.starts_with("CLOSE_NOWRITE"))
            .cloned()
            .collect();
        let mut deletes: Vec<_> = of_d.iter().filter(|r| r.starts_with("DELETE ")).collect();
        deletes.sort();
        assert_eq!(deletes, ["DELETE 0 11 a", "DELETE 0 11 b"], "{recs:?}");
        assert_eq!(
            of_d.last().map(String::as_str),
            Some("DELETE_SELF|ISDIR 11 0 "),
            "{recs:?}"
        );
        assert!(f.core.watches().get(11).is_none());
        // d's reads, reported to its parent under the name d had then,
        // though d is gone when they are read.
        for t in ["OPEN", "CLOSE_NOWRITE"] {
            let want = format!("{t}|ISDIR 11 10 d");
            assert!(recs.contains(&want), "{want} in {recs:?}");
        }
    }

    #[test]
    fn a_removed_directory_keeps_the_name_last_resolved() {
        let f = Fixture::new(Limits::default());
        std::fs::create_dir(f.path("d")).unwrap();
        let h = handle_of(&f.path("d")).unwrap();
        let known = std::cell::RefCell::new(HashMap::new());
        let at = NamesAt {
            core: &f.core,
            then: None,
            known: &known,
        };
        let (_, name) = at.parent_of(&h).unwrap();
        assert_eq!(name, b"d");
        std::fs::remove_dir(f.path("d")).unwrap();
        // Whether or not the handle still opens, the name is d's.
        let (_, name) = at.parent_of(&h).expect("the name last known");
        assert_eq!(name, b"d");
    }

    #[test]
    fn names_of_a_removed_directory_have_no_deleted_suffix() {
        let f = Fixture::new(Limits::default());
        std::fs::create_dir(f.path("gone")).unwrap();
        let h = handle_of(&f.path("gone")).unwrap();
        // Held open, the removed directory's inode stays and its handle
        // still opens, as for an event read after the removal.
        let keep = std::fs::File::open(f.path("gone")).unwrap();
        std::fs::remove_dir(f.path("gone")).unwrap();
        let (_, name) = f.core.parent_of(&h).expect("handle of a held directory");
        assert_eq!(name, b"gone");
        drop(keep);
    }

    #[test]
    fn full_client_queue_sets_overflow_once() {
        let mut f = Fixture::new(Limits {
            queue: 4,
            ..Limits::default()
        });
        f.node(10, "");
        f.mark(0, &[(10, mask::CREATE)]).unwrap();
        f.remote("for i in 1 2 3 4 5 6 7 8 9 10; do touch f$i; done");
        let (flags, recs) = f.poll();
        assert_eq!(flags, BATCH_OVERFLOW);
        assert_eq!(recs.len(), 4);
        assert!(f.core.dropped() >= 6);
        f.remote("touch g");
        assert_eq!(f.poll(), (0, vec!["CREATE 0 10 g".to_string()]));
    }

    #[test]
    fn fanotify_overflow_rechecks_watches() {
        let mut f = Fixture::new(Limits::default());
        std::fs::create_dir(f.path("w")).unwrap();
        std::fs::write(f.path("victim"), b"").unwrap();
        f.node(10, "w");
        f.node(20, "victim");
        for r in f
            .mark(0, &[(10, mask::CREATE), (20, mask::DELETE_SELF)])
            .unwrap()
        {
            assert_eq!(r.error, 0);
        }
        // Flood without reading, so the kernel queue overflows and the
        // victim's DELETE_SELF is lost in it; then read.
        let st = Command::new("sh")
            .arg("-c")
            .arg("cd w && seq 1 17000 | xargs touch && rm ../victim")
            .current_dir(f.dir.path())
            .status()
            .unwrap();
        assert!(st.success());
        f.pump();
        assert!(f.core.stats.overflows.load(Ordering::Relaxed) >= 1);
        let mut deaths = 0;
        let mut overflowed = false;
        loop {
            let (flags, recs) = f.poll();
            overflowed |= flags & BATCH_OVERFLOW != 0;
            deaths += recs.iter().filter(|r| *r == "DELETE_SELF 20 0 ").count();
            if recs.is_empty() || deaths > 0 && overflowed {
                break;
            }
        }
        assert!(overflowed);
        assert_eq!(deaths, 1);
    }

    #[test]
    fn bad_mark_requests() {
        let f = Fixture::new(Limits {
            mark_entries: 2,
            ..Limits::default()
        });
        f.node(10, "");
        let res = f
            .mark(0, &[(10, 0x0100_0000 | mask::CREATE), (99, mask::CREATE)])
            .unwrap();
        assert_eq!(res[0].error, -libc::EINVAL);
        assert_eq!(res[1].error, -libc::ENOENT);
        assert_eq!(f.mark(0, &[(10, 1), (10, 1), (10, 1)]), Err(-libc::EINVAL));
        assert_eq!(f.core.handle_mark(&[0u8; 3]), Err(-libc::EINVAL));
        let mut body = vec![0u8; MarkIn::SIZE];
        MarkIn {
            version: 7,
            count: 0,
            flags: 0,
            reserved: 0,
        }
        .write(&mut body)
        .unwrap();
        assert_eq!(f.core.handle_mark(&body), Err(-libc::EPROTO));
        // The probe.
        assert_eq!(f.mark(0, &[]).unwrap(), []);
        assert_eq!(f.core.handle_poll(&[1, 0, 0]), Err(-libc::EINVAL));
        // A poll with a timeout and nothing to report: an empty batch.
        let mut body = [0u8; PollIn::SIZE];
        PollIn {
            version: VERSION,
            max_size: 4096,
            timeout_ms: 20,
            reserved: 0,
        }
        .write(&mut body)
        .unwrap();
        let out = f.core.handle_poll(&body).unwrap();
        assert_eq!(fsn_wire::Batch::parse(&out).unwrap().count(), 0);
        assert!(f.core.stats.bad_requests.load(Ordering::Relaxed) >= 2);
    }

    #[test]
    fn resync_reports_dead() {
        let mut f = Fixture::new(Limits::default());
        std::fs::create_dir(f.path("d")).unwrap();
        std::fs::write(f.path("f"), b"").unwrap();
        f.node(10, "d");
        f.node(20, "f");
        f.mark(0, &[(10, DIR), (20, mask::ATTRIB)]).unwrap();
        // Lost without reading: the events are never pumped.
        Command::new("rmdir").arg(f.path("d")).status().unwrap();
        // The last request of a resync, listing only part of the marks.
        f.mark(MARK_RESYNC, &[(20, mask::ATTRIB)]).unwrap();
        assert!(f.core.watches().get(10).is_none());
        assert!(f.core.watches().get(20).is_some());
        let (_, recs) = f.poll();
        assert_eq!(recs, ["DELETE_SELF|ISDIR 10 0 "]);
        // Marks sent in earlier requests of the resync stay.
        f.remote("chmod 600 f");
        let (_, recs) = f.poll();
        assert_eq!(recs, ["ATTRIB 20 0 "]);
    }
}
