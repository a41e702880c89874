//! The virtiofs transport: a vhost-user-fs backend on a Unix socket.
//!
//! The frontend (QEMU's `vhost-user-fs-pci`) shares all guest memory with
//! us and hands us the virtqueues of a virtio-fs device: queue 0 is the
//! high-priority queue (`FORGET`, `INTERRUPT`), queues 1.. are request
//! queues. vhost-user-backend runs one thread per queue (see
//! [`Backend::queues_per_thread`]); on a kick that thread pops the available
//! descriptor chains. High-priority requests are cheap and never block, so
//! it serves them itself; a request-queue chain becomes a [`Job`] for a
//! pool of worker threads.
//!
//! Why a pool and out-of-order completion: a `FUSE_FSNOTIFY_POLL` is a long
//! poll that holds its worker until events arrive. Served in queue order,
//! one poll would stop every later request of its queue. Virtqueues allow
//! out-of-order completion (the used ring names the head of each completed
//! chain), so each worker puts its chain on the used ring and signals the
//! guest as soon as its reply is written, whatever the others are doing.
//! The client keeps at most one poll outstanding, so with two or more
//! workers at least one is always free for the other requests.
//!
//! Notification suppression (`VIRTIO_RING_F_EVENT_IDX`): `add_used` and the
//! decision whether to signal are made under the vring's lock, so
//! concurrent completions never lose a needed notification.

use crate::client::Client;
use crate::session::{self, PtServer};
use fuse_backend_rs::transport::{Reader, VirtioFsWriter};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost::vhost_user::Listener;
use vhost_user_backend::{VhostUserBackend, VhostUserDaemon, VringMutex, VringT};
use virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};
use virtio_queue::{DescriptorChain, QueueT};
use vm_memory::{GuestAddressSpace, GuestMemoryAtomic, GuestMemoryLoadGuard, GuestMemoryMmap};
use vmm_sys_util::epoll::EventSet;
use vmm_sys_util::event::{
    new_event_consumer_and_notifier, EventConsumer, EventFlag, EventNotifier,
};

/// Guest memory as the frontend shares it.
type Mem = GuestMemoryMmap<()>;
/// The guest memory, replaced atomically when the frontend changes it.
type AtomicMem = GuestMemoryAtomic<Mem>;
/// A vring.
type Vring = VringMutex<AtomicMem>;
/// A popped descriptor chain; it keeps the memory it was popped from alive.
type Chain = DescriptorChain<GuestMemoryLoadGuard<Mem>>;

/// The high-priority queue's index.
const HIPRIO: usize = 0;
/// Largest queue size we accept (the frontend chooses the actual one; QEMU
/// allows up to 1024 for vhost-user-fs).
const MAX_QUEUE_SIZE: usize = 1024;
/// Size of the tag field of `struct virtio_fs_config`.
pub const TAG_SIZE: usize = 36;

/// Options of the virtiofs transport.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tag for frontends that read the device configuration from the
    /// backend; QEMU's `vhost-user-fs-pci` takes it from its own `tag=`.
    pub tag: Option<String>,
    /// Request queues (besides the high-priority queue).
    pub request_queues: usize,
    /// Worker threads for the request queues.
    pub threads: usize,
}

/// Checks a virtiofs tag: 1 to 36 bytes (it need not be NUL-terminated in
/// the configuration space), no NUL.
pub fn check_tag(tag: &str) -> Result<String, String> {
    if tag.is_empty() || tag.len() > TAG_SIZE || tag.contains('\0') {
        return Err(format!(
            "a virtiofs tag is 1 to {TAG_SIZE} bytes without NUL"
        ));
    }
    Ok(tag.to_string())
}

/// `struct virtio_fs_config`: the tag, NUL-padded, then the number of
/// request queues (little endian, as virtio 1.0 fields are).
pub fn config_space(tag: &str, request_queues: u32) -> Vec<u8> {
    let mut c = vec![0u8; TAG_SIZE + 4];
    c[..tag.len()].copy_from_slice(tag.as_bytes());
    c[TAG_SIZE..].copy_from_slice(&request_queues.to_le_bytes());
    c
}

/// One request for the worker pool.
struct Job {
    vring: Vring,
    chain: Chain,
}

/// The state shared by the vring threads and the workers.
struct Shared {
    server: Arc<PtServer>,
    client: Arc<Client>,
    /// Requests being served (including held polls), for a clean stop.
    in_flight: AtomicUsize,
}

/// The vhost-user-fs backend (see the module documentation).
pub struct Backend {
    queues: usize,
    config: Option<Vec<u8>>,
    mem: AtomicMem,
    event_idx: AtomicBool,
    shared: Arc<Shared>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Backend {
    fn new(opts: &Options, mem: AtomicMem, shared: Arc<Shared>, jobs: mpsc::Sender<Job>) -> Self {
        Self {
            queues: 1 + opts.request_queues,
            config: opts
                .tag
                .as_deref()
                .map(|t| config_space(t, opts.request_queues as u32)),
            mem,
            event_idx: AtomicBool::new(false),
            shared,
            jobs: Mutex::new(Some(jobs)),
        }
    }

    /// Pops every available chain of `vring` (queue `queue`) and serves or
    /// dispatches it.
    fn process_queue(&self, queue: usize, vring: &Vring) -> std::io::Result<()> {
        let event_idx = self.event_idx.load(Ordering::Relaxed);
        loop {
            if event_idx {
                vring.disable_notification().map_err(queue_err)?;
            }
            let chains: Vec<Chain> = {
                let mut state = vring.get_mut();
                let q = state.get_queue_mut();
                std::iter::from_fn(|| q.pop_descriptor_chain(self.mem.memory())).collect()
            };
            for chain in chains {
                let job = Job {
                    vring: vring.clone(),
                    chain,
                };
                self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
                if queue == HIPRIO {
                    serve(&self.shared, job);
                    continue;
                }
                let sent = match self.jobs.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    Some(tx) => tx.send(job).map_err(|e| e.0),
                    None => Err(job),
                };
                if let Err(job) = sent {
                    // The pool is gone (shutting down): answer in place.
                    serve(&self.shared, job);
                }
            }
            // With EVENT_IDX, re-enabling notifications tells whether the
            // driver added chains meanwhile; then we must look again.
            if !event_idx || !vring.enable_notification().map_err(queue_err)? {
                return Ok(());
            }
        }
    }
}

fn queue_err(e: virtio_queue::Error) -> std::io::Error {
    std::io::Error::other(format!("virtqueue: {e}"))
}

/// Serves one request and completes its chain.
fn serve(shared: &Shared, job: Job) {
    let head = job.chain.head_index();
    let mem = job.chain.memory();
    let mut poll = false;
    let len = match (
        Reader::from_descriptor_chain(mem, job.chain.clone()),
        VirtioFsWriter::new(mem, job.chain.clone()),
    ) {
        (Ok(r), Ok(w)) => match serve_one(shared, r, w, &mut poll) {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(%e, "FUSE request failed");
                0
            }
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(%e, "bad descriptor chain");
            0
        }
    };
    complete(&job.vring, head, len);
    if poll {
        shared.client.poll_done();
    }
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
}

/// Hands one request to the session; a poll is counted (`poll`) until
/// its reply is on the used ring ([`crate::client::Client::destroy`]).
fn serve_one(
    shared: &Shared,
    r: Reader<'_, ()>,
    w: VirtioFsWriter<'_, ()>,
    poll: &mut bool,
) -> fuse_backend_rs::Result<usize> {
    *poll = session::is_poll(&r);
    if *poll {
        shared.client.poll_started();
    }
    session::handle(r, w.into(), &shared.server, &shared.client)
}

/// Puts a served chain on the used ring and signals the guest if needed.
fn complete(vring: &Vring, head: u16, len: usize) {
    let mut state = vring.get_mut();
    if let Err(e) = state.add_used(head, len as u32) {
        // The frontend stopped the queue meanwhile (reset, shutdown).
        tracing::debug!(%e, head, "cannot complete a request");
        return;
    }
    match state.needs_notification() {
        Ok(false) => {}
        Ok(true) | Err(_) => {
            if let Err(e) = state.signal_used_queue() {
                tracing::debug!(%e, "cannot signal the guest");
            }
        }
    }
}

impl VhostUserBackend for Backend {
    type Bitmap = ();
    type Vring = Vring;

    fn num_queues(&self) -> usize {
        self.queues
    }

    fn max_queue_size(&self) -> usize {
        MAX_QUEUE_SIZE
    }

    fn features(&self) -> u64 {
        (1 << VIRTIO_F_VERSION_1)
            | (1 << VIRTIO_RING_F_INDIRECT_DESC)
            | (1 << VIRTIO_RING_F_EVENT_IDX)
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits()
    }

    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        let f = VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
            | VhostUserProtocolFeatures::CONFIGURE_MEM_SLOTS;
        // Offer the configuration space only when we have a tag to put in
        // it; QEMU's vhost-user-fs never asks for it.
        if self.config.is_some() {
            f | VhostUserProtocolFeatures::CONFIG
        } else {
            f
        }
    }

    fn set_event_idx(&self, enabled: bool) {
        self.event_idx.store(enabled, Ordering::Relaxed);
    }

    fn get_config(&self, offset: u32, size: u32) -> Vec<u8> {
        let Some(c) = &self.config else {
            return Vec::new();
        };
        let start = (offset as usize).min(c.len());
        let end = start.saturating_add(size as usize).min(c.len());
        c[start..end].to_vec()
    }

    fn update_memory(&self, _mem: AtomicMem) -> std::io::Result<()> {
        // The frontend's memory table lives in the GuestMemoryAtomic we
        // share with vhost-user-backend; it was updated in place.
        Ok(())
    }

    /// One thread per queue: a busy request queue never delays the
    /// high-priority queue, and vice versa.
    fn queues_per_thread(&self) -> Vec<u64> {
        (0..self.queues).map(|i| 1u64 << i).collect()
    }

    fn exit_event(&self, _thread_index: usize) -> Option<(EventConsumer, EventNotifier)> {
        new_event_consumer_and_notifier(EventFlag::NONBLOCK).ok()
    }

    fn handle_event(
        &self,
        device_event: u16,
        evset: EventSet,
        vrings: &[Vring],
        thread_id: usize,
    ) -> std::io::Result<()> {
        if evset != EventSet::IN {
            return Err(std::io::Error::other(format!(
                "unexpected event set {evset:?}"
            )));
        }
        // Each thread has exactly one queue: `thread_id` is its index and
        // `device_event` its position among the thread's queues (0).
        let vring = vrings
            .get(device_event as usize)
            .ok_or_else(|| std::io::Error::other(format!("unknown device event {device_event}")))?;
        self.process_queue(thread_id, vring)
    }
}

/// A running virtiofs transport: the worker pool and the vhost-user
/// connection.
pub struct Transport {
    backend: Arc<Backend>,
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    mem: AtomicMem,
}

impl Transport {
    /// Starts the worker pool. The guest memory is empty until the
    /// frontend sends its memory table.
    pub fn new(
        opts: &Options,
        server: Arc<PtServer>,
        client: Arc<Client>,
    ) -> std::io::Result<Self> {
        Self::with_memory(opts, server, client, GuestMemoryAtomic::new(Mem::new()))
    }

    fn with_memory(
        opts: &Options,
        server: Arc<PtServer>,
        client: Arc<Client>,
        mem: AtomicMem,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            server,
            client,
            in_flight: AtomicUsize::new(0),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::new();
        for i in 0..opts.threads {
            let (rx, shared) = (rx.clone(), shared.clone());
            workers.push(
                std::thread::Builder::new()
                    .name(format!("virtiofs-{i}"))
                    .spawn(move || loop {
                        // The lock is held only while waiting for a job,
                        // not while serving it.
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => serve(&shared, job),
                            Err(_) => break,
                        }
                    })?,
            );
        }
        let backend = Arc::new(Backend::new(opts, mem.clone(), shared.clone(), tx));
        Ok(Self {
            backend,
            shared,
            workers: Mutex::new(workers),
            mem,
        })
    }

    /// Accepts one frontend on `listener` and serves it until it
    /// disconnects. The caller binds the listener, so that the socket exists
    /// (and a bad path is reported) before this runs in its own thread.
    pub fn serve(&self, listener: &mut Listener) -> Result<(), String> {
        let mut daemon = VhostUserDaemon::new(
            "fuse-fsnotify".into(),
            self.backend.clone(),
            self.mem.clone(),
        )
        .map_err(|e| format!("vhost-user daemon: {e}"))?;
        daemon
            .start(listener)
            .map_err(|e| format!("vhost-user: {e}"))?;
        tracing::info!("vhost-user frontend connected");
        let res = daemon.wait();
        for h in daemon.get_epoll_handlers() {
            h.send_exit_event();
        }
        match res {
            Ok(())
            | Err(vhost_user_backend::Error::HandleRequest(
                vhost::vhost_user::Error::Disconnected | vhost::vhost_user::Error::PartialMessage,
            )) => Ok(()),
            Err(e) => Err(format!("vhost-user: {e}")),
        }
    }

    /// Stops the workers: requests already taken are answered (a held poll
    /// returns once the client's core is shut down, which the caller does
    /// first); the caller waits at most `grace` for them.
    pub fn stop(&self, grace: std::time::Duration) {
        drop(
            self.backend
                .jobs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let deadline = std::time::Instant::now() + grace;
        while self.shared.in_flight.load(Ordering::SeqCst) > 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
            let workers =
                std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
            for w in workers {
                let _ = w.join();
            }
        }
    }
}

/// Binds the vhost-user socket (replacing a stale one).
pub fn listen(socket: &Path) -> Result<Listener, String> {
    Listener::new(socket, true).map_err(|e| format!("listening on {}: {e}", socket.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Core, Limits};
    use fsn_wire::{MarkIn, MarkOut, PollIn, FUSE_FSNOTIFY_MARK, FUSE_FSNOTIFY_POLL, VERSION};
    use fuse_backend_rs::abi::fuse_abi::InHeader;
    use fuse_backend_rs::api::server::Server;
    use fuse_backend_rs::passthrough::{Config, PassthroughFs};
    use std::time::{Duration, Instant};
    use virtio_bindings::virtio_ring::{VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};
    use virtio_queue::desc::{split::Descriptor as SplitDescriptor, RawDescriptor};
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::{ByteValued, Bytes, GuestAddress};

    struct NoPaths;
    impl crate::watch::Resolver for NoPaths {
        fn path(&self, _nodeid: u64) -> std::io::Result<std::path::PathBuf> {
            Err(std::io::Error::from_raw_os_error(libc::ENOENT))
        }
    }

    /// A client whose cores watch `root`.
    fn client_on(root: std::path::PathBuf) -> Arc<Client> {
        Arc::new(
            Client::new(Box::new(move || {
                Core::new(
                    &root,
                    Box::new(NoPaths),
                    std::process::id() as i32,
                    Limits::default(),
                )
            }))
            .unwrap(),
        )
    }

    #[test]
    fn destroy_waits_for_polls_to_be_answered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let client = client_on(root);
        let answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
        client.poll_started();
        let t = {
            let (client, answered) = (client.clone(), answered.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                answered.store(true, Ordering::SeqCst);
                client.poll_done();
            })
        };
        client.destroy();
        assert!(
            answered.load(Ordering::SeqCst),
            "FUSE_DESTROY answered before the poll"
        );
        t.join().unwrap();
    }

    /// Where the request and reply buffers of chain `i` live.
    fn bufs(i: u64) -> (u64, u64) {
        (0x1_0000 + i * 0x2000, 0x1_1000 + i * 0x2000)
    }

    /// A request chain: one readable buffer (header and body), one
    /// writable buffer of 4 KiB.
    fn request(mem: &Mem, i: u64, opcode: u32, body: &[u8]) -> [RawDescriptor; 2] {
        let (rd, wr) = bufs(i);
        let hdr = InHeader {
            len: (std::mem::size_of::<InHeader>() + body.len()) as u32,
            opcode,
            unique: 100 + i,
            nodeid: 1,
            ..Default::default()
        };
        let mut msg = hdr.as_slice().to_vec();
        msg.extend_from_slice(body);
        mem.write_slice(&msg, GuestAddress(rd)).unwrap();
        [
            SplitDescriptor::new(
                rd,
                msg.len() as u32,
                VRING_DESC_F_NEXT as u16,
                2 * i as u16 + 1,
            )
            .into(),
            SplitDescriptor::new(wr, 0x1000, VRING_DESC_F_WRITE as u16, 0).into(),
        ]
    }

    /// The used ring's entries so far: (head, length).
    fn used(mem: &Mem, vq: &MockSplitQueue<'_, Mem>) -> Vec<(u32, u32)> {
        let base = vq.used_addr().0;
        let idx: u16 = mem.read_obj(GuestAddress(base + 2)).unwrap();
        (0..u64::from(idx))
            .map(|n| {
                let e = base + 4 + n * 8;
                (
                    mem.read_obj(GuestAddress(e)).unwrap(),
                    mem.read_obj(GuestAddress(e + 4)).unwrap(),
                )
            })
            .collect()
    }

    fn wait_used(mem: &Mem, vq: &MockSplitQueue<'_, Mem>, n: usize) -> Vec<(u32, u32)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let u = used(mem, vq);
            if u.len() >= n || Instant::now() > deadline {
                return u;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The reply's `fuse_out_header`: (len, error, unique).
    fn out_header(mem: &Mem, i: u64) -> (u32, i32, u64) {
        let wr = bufs(i).1;
        (
            mem.read_obj(GuestAddress(wr)).unwrap(),
            mem.read_obj(GuestAddress(wr + 4)).unwrap(),
            mem.read_obj(GuestAddress(wr + 8)).unwrap(),
        )
    }

    /// A long poll taken from a request queue holds one worker only: a
    /// request behind it in the same queue completes first, out of order,
    /// and the poll completes when the core has something to say (here:
    /// the end of the session).
    #[test]
    fn a_held_poll_does_not_block_later_requests() {
        let dir = tempfile::tempdir().unwrap();
        let fs = PassthroughFs::<()>::new(Config {
            root_dir: dir.path().to_string_lossy().into_owned(),
            do_import: true,
            ..Default::default()
        })
        .unwrap();
        fs.import().unwrap();
        let server = Arc::new(Server::new(Arc::new(fs)));
        let root = dir.path().to_path_buf();
        let client = client_on(root);

        let mem = Mem::from_ranges(&[(GuestAddress(0), 0x10_0000)]).unwrap();
        let vq = MockSplitQueue::new(&mem, 16);
        let opts = Options {
            tag: None,
            request_queues: 1,
            threads: 2,
        };
        let t = Transport::with_memory(
            &opts,
            server,
            client.clone(),
            GuestMemoryAtomic::new(mem.clone()),
        )
        .unwrap();
        let vring = Vring::new(t.mem.clone(), 16).unwrap();
        vring
            .set_queue_info(vq.desc_table_addr().0, vq.avail_addr().0, vq.used_addr().0)
            .unwrap();
        vring.set_queue_size(16);
        vring.set_queue_ready(true);
        vring.set_enabled(true);

        let mut poll = [0u8; PollIn::SIZE];
        PollIn {
            version: VERSION,
            max_size: 4096,
            timeout_ms: 0,
            reserved: 0,
        }
        .write(&mut poll)
        .unwrap();
        let mut probe = [0u8; MarkIn::SIZE];
        MarkIn {
            version: VERSION,
            count: 0,
            flags: 0,
            reserved: 0,
        }
        .write(&mut probe)
        .unwrap();
        let mut descs = request(&mem, 0, FUSE_FSNOTIFY_POLL, &poll).to_vec();
        descs.extend(request(&mem, 1, FUSE_FSNOTIFY_MARK, &probe));
        vq.add_desc_chains(&descs, 0).unwrap();

        // Queue 1 (a request queue): its thread pops both chains.
        t.backend
            .handle_event(0, EventSet::IN, std::slice::from_ref(&vring), 1)
            .unwrap();
        // The probe (head 2) completes while the poll (head 0) is held.
        let u = wait_used(&mem, &vq, 1);
        assert_eq!(u, [(2, 16 + MarkOut::SIZE as u32)]);
        assert_eq!(out_header(&mem, 1), (16 + MarkOut::SIZE as u32, 0, 101));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(used(&mem, &vq).len(), 1, "the poll is held");

        client.shutdown();
        let u = wait_used(&mem, &vq, 2);
        assert_eq!(u[1], (0, 16));
        assert_eq!(out_header(&mem, 0), (16, -libc::ESHUTDOWN, 100));
        t.stop(Duration::from_secs(5));
        assert_eq!(t.shared.in_flight.load(Ordering::SeqCst), 0);
    }

    /// What the frontend negotiates: the queues, one thread each, and the
    /// configuration space only when there is a tag.
    #[test]
    fn device_description() {
        let dir = tempfile::tempdir().unwrap();
        let fs = PassthroughFs::<()>::new(Config {
            root_dir: dir.path().to_string_lossy().into_owned(),
            ..Default::default()
        })
        .unwrap();
        let server = Arc::new(Server::new(Arc::new(fs)));
        let root = dir.path().to_path_buf();
        let client = Arc::new(
            Client::new(Box::new(move || {
                Core::new(&root, Box::new(NoPaths), 0, Limits::default())
            }))
            .unwrap(),
        );
        let opts = Options {
            tag: Some("fsnvfs".into()),
            request_queues: 2,
            threads: 2,
        };
        let t = Transport::new(&opts, server.clone(), client.clone()).unwrap();
        let b = &t.backend;
        assert_eq!(b.num_queues(), 3);
        assert_eq!(b.queues_per_thread(), [1, 2, 4]);
        assert!(b
            .protocol_features()
            .contains(VhostUserProtocolFeatures::CONFIG));
        assert_eq!(b.get_config(0, 40), config_space("fsnvfs", 2));
        assert_eq!(b.get_config(36, 4), [2, 0, 0, 0]);
        assert_eq!(b.get_config(38, 10), [0, 0]);
        assert!(b.features() & (1 << VIRTIO_F_VERSION_1) != 0);
        t.stop(Duration::from_secs(1));

        let t = Transport::new(&Options { tag: None, ..opts }, server, client).unwrap();
        assert!(!t
            .backend
            .protocol_features()
            .contains(VhostUserProtocolFeatures::CONFIG));
        assert!(t.backend.get_config(0, 40).is_empty());
        t.stop(Duration::from_secs(1));
    }

    #[test]
    fn config_space_layout() {
        let c = config_space("fsnvfs", 1);
        assert_eq!(c.len(), 40);
        assert_eq!(&c[..6], b"fsnvfs");
        assert!(c[6..36].iter().all(|&b| b == 0));
        assert_eq!(&c[36..], &[1, 0, 0, 0]);
        // A 36-byte tag fills the field without a NUL.
        let long = "x".repeat(36);
        assert_eq!(&config_space(&long, 2)[..36], long.as_bytes());
        assert!(check_tag(&long).is_ok());
        assert!(check_tag(&"x".repeat(37)).is_err());
        assert!(check_tag("").is_err());
        assert!(check_tag("a\0b").is_err());
    }
}
