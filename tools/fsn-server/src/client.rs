//! The protocol state of the current client session, and the thread that
//! feeds it host events.
//!
//! Nodeids mean something only within one FUSE session (`FUSE_INIT` to
//! `FUSE_DESTROY`): the passthrough clears its inode table on
//! `FUSE_DESTROY` and hands out the same numbers again after the next
//! `FUSE_INIT`. Over `/dev/fuse` a session is the whole life of the
//! process, but a virtiofs device outlives mounts: the guest can unmount
//! and mount again over the same vhost-user connection. So the remote
//! watches, the event queue and its sequence numbers — one [`Core`] — belong
//! to one session:
//!
//! - `FUSE_DESTROY` shuts the current core down, so that a poll it holds
//!   returns at once (virtiofs drains every in-flight request before it
//!   sends `FUSE_DESTROY`, and an unmount must not wait for a long poll);
//! - a `FUSE_INIT` after the first one starts a new core, with its own
//!   fanotify group and watcher thread, and ends the old one. A stale mark
//!   of the previous session can then never report an event under a nodeid
//!   that now names another object.

use crate::core::Core;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

/// Builds the core of a new session.
pub type MakeCore = Box<dyn Fn() -> io::Result<Core> + Send + Sync>;

/// The thread that reads a core's fanotify group and queues its records.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    stop_w: Option<std::io::PipeWriter>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching for `core`.
    pub fn start(core: Arc<Core>) -> io::Result<Self> {
        let (stop_r, stop_w) = std::io::pipe()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("watcher".into())
                .spawn(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    while !stop.load(Ordering::Relaxed) {
                        let mut fds = [
                            libc::pollfd {
                                fd: core.fanotify().as_fd().as_raw_fd(),
                                events: libc::POLLIN,
                                revents: 0,
                            },
                            libc::pollfd {
                                fd: stop_r.as_raw_fd(),
                                events: libc::POLLIN,
                                revents: 0,
                            },
                        ];
                        // SAFETY: `fds` is a valid array of two pollfd for the call.
                        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
                        if r < 0 {
                            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                                continue;
                            }
                            tracing::error!("poll failed: {}", io::Error::last_os_error());
                            break;
                        }
                        if fds[1].revents != 0 {
                            break;
                        }
                        if let Err(e) = core.pump(&mut buf) {
                            tracing::error!(%e, "reading fanotify events");
                        }
                    }
                })?
        };
        Ok(Self {
            stop,
            stop_w: Some(stop_w),
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing the pipe wakes the thread's poll().
        drop(self.stop_w.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Current {
    core: Arc<Core>,
    watcher: Watcher,
}

/// The client's current core (see the module documentation).
pub struct Client {
    make: MakeCore,
    current: RwLock<Current>,
    /// `FUSE_INIT`s seen.
    inits: AtomicU64,
    /// Polls being served: from their start until their reply is on the
    /// transport (the used ring, for virtiofs).
    polls: std::sync::Mutex<usize>,
    polls_done: std::sync::Condvar,
}

/// How long a `FUSE_DESTROY` waits for held polls to be answered.
const DESTROY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Client {
    /// A client with a first core, made now so that setup errors (fanotify
    /// needs privileges) are reported before the server starts serving.
    pub fn new(make: MakeCore) -> io::Result<Self> {
        let core = Arc::new(make()?);
        let watcher = Watcher::start(core.clone())?;
        Ok(Self {
            make,
            current: RwLock::new(Current { core, watcher }),
            inits: AtomicU64::new(0),
            polls: std::sync::Mutex::new(0),
            polls_done: std::sync::Condvar::new(),
        })
    }

    /// The core of the current session.
    pub fn core(&self) -> Arc<Core> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .core
            .clone()
    }

    /// A `FUSE_INIT` arrived: the first session uses the core made by
    /// [`Client::new`], every later one gets a new core.
    pub fn init(&self) {
        if self.inits.fetch_add(1, Ordering::Relaxed) == 0 {
            return;
        }
        let fresh = (self.make)().and_then(|core| {
            let core = Arc::new(core);
            Ok((core.clone(), Watcher::start(core)?))
        });
        match fresh {
            Ok((core, watcher)) => {
                let mut old = {
                    let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
                    std::mem::replace(&mut *cur, Current { core, watcher })
                };
                old.core.shutdown();
                old.watcher.stop();
                tracing::info!("new FUSE session: remote watches start afresh");
            }
            Err(e) => {
                // Keep serving with the old core: its marks may be stale,
                // but the mount itself works.
                tracing::error!(%e, "new FUSE session: cannot set up fanotify; keeping the old watches");
            }
        }
    }

    /// A poll is being served (until [`Client::poll_done`]).
    pub fn poll_started(&self) {
        *self.polls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    /// A poll's reply is on the transport.
    pub fn poll_done(&self) {
        let mut n = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.polls_done.notify_all();
        }
    }

    /// A `FUSE_DESTROY` arrived: the session ends; a held poll returns,
    /// and is answered before the `FUSE_DESTROY` is.
    ///
    /// The guest aborts the connection once `FUSE_DESTROY` is answered,
    /// ending every request still marked in flight; over virtiofs a poll
    /// answered after that (or answered, but behind the `FUSE_DESTROY` on
    /// the used ring) is completed a second time by the driver's done
    /// work, a use after free in the guest (6.12 `virtio_fs`). Answered
    /// first on the same queue, it is completed before the destroy's
    /// waiter wakes.
    pub fn destroy(&self) {
        self.core().shutdown();
        let n = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        let (n, timeout) = self
            .polls_done
            .wait_timeout_while(n, DESTROY_WAIT, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        if timeout.timed_out() {
            tracing::warn!(polls = *n, "FUSE_DESTROY: polls still unanswered");
        }
    }

    /// The server stops: ends the current core and its watcher thread and
    /// returns the core (for its counters).
    pub fn shutdown(&self) -> Arc<Core> {
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        cur.core.shutdown();
        cur.watcher.stop();
        cur.core.clone()
    }
}
