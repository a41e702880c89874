//! `fuse-fsnotify-server`: export a directory over FUSE and forward the
//! fsnotify events of its real objects to clients that speak the remote
//! fsnotify protocol (`Documentation/protocol.rst`).
//!
//! Threads: the main thread waits for a signal or for the end of the
//! session; `--threads` workers serve FUSE requests (one of them may block
//! in a long poll); one watcher thread reads fanotify and queues records.

mod core;
mod fanotify;
mod queue;
mod record;
mod session;
mod translate;
mod watch;

use crate::core::{Core, Limits};
use anyhow::{bail, Context, Result};
use clap::Parser;
use fuse_backend_rs::api::server::Server;
use fuse_backend_rs::passthrough::{CachePolicy, Config, PassthroughFs};
use fuse_backend_rs::transport::FuseSession;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

#[derive(Parser)]
#[command(name = "fuse-fsnotify-server", version, about)]
/// Passthrough FUSE server that forwards the backing directory's fsnotify
/// events (remote fsnotify protocol v1).
struct Args {
    /// Directory to export.
    backing: PathBuf,
    /// Where to mount it.
    mountpoint: PathBuf,
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
    Session,
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
    if !args.mountpoint.is_dir() {
        bail!(
            "mountpoint {} is not a directory",
            args.mountpoint.display()
        );
    }
    if !std::path::Path::new("/dev/fuse").exists() {
        bail!("/dev/fuse does not exist (is the fuse module loaded?)");
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
    let core = Arc::new(
        Core::new(
            &backing,
            Box::new(PassthroughResolver(fs.clone())),
            std::process::id() as i32,
            limits,
        )
        .context("fanotify setup (needs CAP_SYS_ADMIN and Linux >= 5.17)")?,
    );

    let mut se =
        FuseSession::new(&args.mountpoint, "fuse-fsnotify", "", false).context("FUSE session")?;
    se.set_allow_other(args.allow_other);
    se.mount()
        .with_context(|| format!("mounting on {}", args.mountpoint.display()))?;
    tracing::info!(backing = %backing.display(), mountpoint = %args.mountpoint.display(), "serving");

    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));

    // Watcher: waits for fanotify events or the stop pipe.
    let (stop_r, stop_w) = std::io::pipe().context("pipe")?;
    let watcher = {
        let core = core.clone();
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
                        if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                            continue;
                        }
                        tracing::error!("poll failed: {}", std::io::Error::last_os_error());
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

    let mut workers = Vec::new();
    for i in 0..args.threads {
        let ch = se.new_channel().context("FUSE channel")?;
        let (server, core, tx) = (server.clone(), core.clone(), tx.clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("fuse-{i}"))
                .spawn(move || {
                    session::serve(ch, &server, &core);
                    let _ = tx.send(Exit::Session);
                })?,
        );
    }

    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let _ = tx.send(Exit::Signal(sig));
            }
        })?;

    match rx.recv() {
        Ok(Exit::Signal(sig)) => tracing::info!(sig, "signal: unmounting"),
        Ok(Exit::Session) | Err(_) => tracing::info!("FUSE session ended"),
    }
    handle.close();
    core.shutdown();
    stop.store(true, Ordering::Relaxed);
    drop(stop_w);
    if let Err(e) = se.umount() {
        tracing::debug!(%e, "umount (already unmounted?)");
    }
    se.wake().ok();
    for w in workers {
        let _ = w.join();
    }
    let _ = watcher.join();
    tracing::info!(
        events = core.stats.events.load(Ordering::Relaxed),
        records = core.stats.records.load(Ordering::Relaxed),
        dropped = core.dropped(),
        "exit"
    );
    Ok(())
}
