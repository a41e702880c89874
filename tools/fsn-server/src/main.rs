//! `fuse-fsnotify-server`: export a directory over FUSE and forward the
//! fsnotify events of its real objects to clients that speak the remote
//! fsnotify protocol (`Documentation/protocol.rst`).
//!
//! Two transports: `/dev/fuse` (a FUSE mount on this machine) or virtiofs
//! (a vhost-user-fs backend for a VM, see `virtiofs.rs`).
//!
//! Threads: the main thread waits for a signal or for the end of the
//! session; `--threads` workers serve FUSE requests (one of them may block
//! in a long poll); one watcher thread reads fanotify and queues records
//! (`client.rs`). With virtiofs, vhost-user-backend adds one thread for the
//! vhost-user connection and one per virtqueue.

mod client;
mod core;
mod fanotify;
mod queue;
mod record;
mod session;
mod translate;
mod virtiofs;
mod watch;

use crate::client::Client;
use crate::core::{Core, Limits};
use anyhow::{bail, Context, Result};
use clap::Parser;
use fuse_backend_rs::api::server::Server;
use fuse_backend_rs::passthrough::{CachePolicy, Config, PassthroughFs};
use fuse_backend_rs::transport::FuseSession;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

#[derive(Parser, Debug)]
#[command(
    name = "fuse-fsnotify-server",
    version,
    about,
    override_usage = "fuse-fsnotify-server [OPTIONS] BACKING MOUNTPOINT\n       \
                      fuse-fsnotify-server [OPTIONS] BACKING --virtiofs SOCKET",
    group(clap::ArgGroup::new("transport").required(true).args(["mountpoint", "virtiofs"]))
)]
/// Passthrough FUSE server that forwards the backing directory's fsnotify
/// events (remote fsnotify protocol v1).
struct Args {
    /// Directory to export.
    backing: PathBuf,
    /// Where to mount it (FUSE over /dev/fuse).
    mountpoint: Option<PathBuf>,
    /// Serve it over virtiofs instead: listen on this vhost-user socket for
    /// a frontend such as QEMU's vhost-user-fs-pci (one connection; the
    /// server exits when it ends).
    #[arg(long, value_name = "SOCKET", conflicts_with = "allow_other")]
    virtiofs: Option<PathBuf>,
    /// virtiofs tag offered in the device configuration space, for
    /// frontends that read it from the backend (QEMU takes tag= instead).
    #[arg(long, conflicts_with = "mountpoint", value_parser = virtiofs::check_tag)]
    tag: Option<String>,
    /// virtiofs request queues (the frontend may use fewer).
    #[arg(long, default_value_t = 1, conflicts_with = "mountpoint",
          value_parser = clap::value_parser!(u16).range(1..=16))]
    request_queues: u16,
    /// FUSE worker threads (at least 2: one may wait in a long poll).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(2..=256))]
    threads: u16,
    /// Records queued per client before they are dropped and an overflow
    /// is reported instead.
    #[arg(long, default_value_t = 16384)]
    queue_limit: usize,
    /// Remote watches per client.
    #[arg(long, default_value_t = 65536)]
    max_watches: usize,
    /// Page cache policy for file data: never, auto (metadata cached for the
    /// timeouts below, data revalidated on open) or always.
    #[arg(long, default_value = "auto", value_parser = ["never", "auto", "always"])]
    cache: String,
    /// Let other users access the mount.
    #[arg(long)]
    allow_other: bool,
    /// Log filter (tracing's EnvFilter syntax; RUST_LOG overrides).
    #[arg(long, default_value = "info")]
    log: String,
}

/// Resolves nodeids through the passthrough's own inode table.
struct PassthroughResolver(Arc<PassthroughFs>);

impl watch::Resolver for PassthroughResolver {
    fn path(&self, nodeid: u64) -> std::io::Result<PathBuf> {
        let p = self.0.readlinkat_proc_file(nodeid).map_err(|e| {
            // An unknown nodeid is EBADF inside the passthrough.
            if e.raw_os_error() == Some(libc::EBADF) {
                std::io::Error::from_raw_os_error(libc::ENOENT)
            } else {
                e
            }
        })?;
        if p.as_os_str().as_encoded_bytes().ends_with(b" (deleted)") {
            return Err(std::io::Error::from_raw_os_error(libc::ENOENT));
        }
        Ok(p)
    }
}

enum Exit {
    Signal(i32),
    /// The transport ended: the mount went away or the frontend
    /// disconnected (Ok), or the vhost-user connection failed.
    Session(std::result::Result<(), String>),
}

fn main() {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&args.log))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(args) {
        eprintln!("fuse-fsnotify-server: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    if !args.backing.is_dir() {
        bail!(
            "backing directory {} is not a directory",
            args.backing.display()
        );
    }
    if let Some(mountpoint) = &args.mountpoint {
        if !mountpoint.is_dir() {
            bail!("mountpoint {} is not a directory", mountpoint.display());
        }
        if !std::path::Path::new("/dev/fuse").exists() {
            bail!("/dev/fuse does not exist (is the fuse module loaded?)");
        }
    }
    if let Some(socket) = &args.virtiofs {
        let dir = match socket.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            bail!("socket directory {} is not a directory", dir.display());
        }
    }
    let backing = args.backing.canonicalize()?;

    let cfg = Config {
        root_dir: backing.to_string_lossy().into_owned(),
        do_import: true,
        // File handles instead of O_PATH fds: the server must not hold
        // references that delay the host's DELETE_SELF of a watched object.
        inode_file_handles: true,
        xattr: true,
        cache_policy: match args.cache.as_str() {
            "never" => CachePolicy::Never,
            "always" => CachePolicy::Always,
            _ => CachePolicy::Auto,
        },
        ..Default::default()
    };
    let fs = Arc::new(PassthroughFs::new(cfg).context("passthrough setup")?);
    fs.import()
        .context("passthrough import of the backing directory")?;
    let server = Arc::new(Server::new(fs.clone()));
    let limits = Limits {
        queue: args.queue_limit,
        watches: args.max_watches,
        ..Limits::default()
    };
    let make: client::MakeCore = {
        let backing = backing.clone();
        Box::new(move || {
            Core::new(
                &backing,
                Box::new(PassthroughResolver(fs.clone())),
                std::process::id() as i32,
                limits,
            )
        })
    };
    let client = Arc::new(
        Client::new(make).context("fanotify setup (needs CAP_SYS_ADMIN and Linux >= 5.17)")?,
    );

    let (tx, rx) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])?;
    let handle = signals.handle();
    {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let _ = tx.send(Exit::Signal(sig));
                }
            })?;
    }

    let res = match (&args.mountpoint, &args.virtiofs) {
        (Some(mountpoint), _) => serve_fuse(&args, mountpoint, &backing, server, &client, tx, rx),
        (None, Some(socket)) => serve_virtiofs(&args, socket, &backing, server, &client, tx, rx),
        (None, None) => unreachable!("clap requires one of them"),
    };
    handle.close();
    let core = client.shutdown();
    tracing::info!(
        events = core.stats.events.load(Ordering::Relaxed),
        records = core.stats.records.load(Ordering::Relaxed),
        dropped = core.dropped(),
        "exit"
    );
    res
}

/// Serves FUSE over `/dev/fuse` on `mountpoint` until it is unmounted or a
/// signal comes.
fn serve_fuse(
    args: &Args,
    mountpoint: &Path,
    backing: &Path,
    server: Arc<session::PtServer>,
    client: &Arc<Client>,
    tx: mpsc::Sender<Exit>,
    rx: mpsc::Receiver<Exit>,
) -> Result<()> {
    let mut se =
        FuseSession::new(mountpoint, "fuse-fsnotify", "", false).context("FUSE session")?;
    se.set_allow_other(args.allow_other);
    se.mount()
        .with_context(|| format!("mounting on {}", mountpoint.display()))?;
    tracing::info!(backing = %backing.display(), mountpoint = %mountpoint.display(), "serving");

    let mut workers = Vec::new();
    for i in 0..args.threads {
        let ch = se.new_channel().context("FUSE channel")?;
        let (server, client, tx) = (server.clone(), client.clone(), tx.clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("fuse-{i}"))
                .spawn(move || {
                    session::serve(ch, &server, &client);
                    let _ = tx.send(Exit::Session(Ok(())));
                })?,
        );
    }
    drop(tx);

    match rx.recv() {
        Ok(Exit::Signal(sig)) => tracing::info!(sig, "signal: unmounting"),
        Ok(Exit::Session(_)) | Err(_) => tracing::info!("FUSE session ended"),
    }
    // A held poll returns, so that its worker sees the end of the session.
    client.core().shutdown();
    if let Err(e) = se.umount() {
        tracing::debug!(%e, "umount (already unmounted?)");
    }
    se.wake().ok();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// Serves virtiofs on the vhost-user socket `socket` until the frontend
/// disconnects or a signal comes.
fn serve_virtiofs(
    args: &Args,
    socket: &Path,
    backing: &Path,
    server: Arc<session::PtServer>,
    client: &Arc<Client>,
    tx: mpsc::Sender<Exit>,
    rx: mpsc::Receiver<Exit>,
) -> Result<()> {
    let opts = virtiofs::Options {
        tag: args.tag.clone(),
        request_queues: args.request_queues.into(),
        threads: args.threads.into(),
    };
    let transport = Arc::new(
        virtiofs::Transport::new(&opts, server, client.clone()).context("virtiofs workers")?,
    );
    let mut listener = virtiofs::listen(socket).map_err(anyhow::Error::msg)?;
    tracing::info!(backing = %backing.display(), socket = %socket.display(),
        "serving over virtiofs; waiting for the vhost-user frontend");
    {
        let transport = transport.clone();
        std::thread::Builder::new()
            .name("vhost-user".into())
            .spawn(move || {
                let res = transport.serve(&mut listener);
                // Dropping the listener removes the socket.
                drop(listener);
                let _ = tx.send(Exit::Session(res));
            })?;
    }
    let res = match rx.recv() {
        Ok(Exit::Signal(sig)) => {
            tracing::info!(sig, "signal: stopping");
            // The vhost-user thread may still own the listener.
            let _ = std::fs::remove_file(socket);
            Ok(())
        }
        Ok(Exit::Session(Ok(()))) | Err(_) => {
            tracing::info!("vhost-user frontend disconnected");
            Ok(())
        }
        Ok(Exit::Session(Err(e))) => Err(anyhow::Error::msg(e)),
    };
    // A held poll returns (with an error), then its worker completes it.
    client.core().shutdown();
    transport.stop(std::time::Duration::from_secs(1));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> std::result::Result<Args, ErrorKind> {
        Args::try_parse_from(std::iter::once("fuse-fsnotify-server").chain(args.iter().copied()))
            .map_err(|e| e.kind())
    }

    #[test]
    fn one_transport_exactly() {
        let a = parse(&["/b", "/m"]).unwrap();
        assert_eq!(a.mountpoint.as_deref(), Some(Path::new("/m")));
        assert!(a.virtiofs.is_none());
        let a = parse(&["/b", "--virtiofs", "/s.sock", "--tag", "t"]).unwrap();
        assert_eq!(a.virtiofs.as_deref(), Some(Path::new("/s.sock")));
        assert_eq!((a.tag.as_deref(), a.request_queues), (Some("t"), 1));
        assert_eq!(
            parse(&["/b"]).unwrap_err(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse(&["/b", "/m", "--virtiofs", "/s"]).unwrap_err(),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse(&["/b", "--virtiofs", "/s", "--allow-other"]).unwrap_err(),
            ErrorKind::ArgumentConflict
        );
        // virtiofs options need virtiofs.
        assert_eq!(
            parse(&["/b", "/m", "--tag", "t"]).unwrap_err(),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse(&["/b", "/m", "--request-queues", "2"]).unwrap_err(),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse(&["/b", "--virtiofs", "/s", "--tag", &"x".repeat(37)]).unwrap_err(),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse(&["/b", "--virtiofs", "/s", "--request-queues", "0"]).unwrap_err(),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            parse(&["/b", "--virtiofs", "/s", "--threads", "1"]).unwrap_err(),
            ErrorKind::ValueValidation
        );
    }
}
