//! `fsn-bench`: measures what arming and removing many remote watches on a
//! fuse-fsnotify mount costs, in MARK requests and time. Runs in the guest,
//! against a mount of `fuse-fsnotify-server` with the module loaded; the
//! request counts come from the connection's debugfs counters
//! (`/sys/kernel/debug/fuse_fsnotify/connections/<dev>/`).
//!
//! Phases, each one Markdown table row:
//! - `add`: `inotify_add_watch()` on N directories of the mount, from T
//!   threads sharing one inotify instance. Each call returns only once the
//!   server armed the remote watch, so one thread costs about one request
//!   per directory, while concurrent callers share batches.
//! - `remove`: closing the inotify instance drops every mark at once; the
//!   masks go to 0 in batches without anyone waiting.
//!
//! The directories are looked up (stat) before the clock starts, so that
//! FUSE LOOKUPs are not counted as arming time.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "fsn-bench", version, about)]
/// Cost of arming and removing remote watches on a fuse-fsnotify mount.
struct Args {
    /// The FUSE mount (served by fuse-fsnotify-server).
    mount: PathBuf,
    /// Create the directories in this backing directory first (the
    /// mount's backing directory, so that they appear in the mount).
    #[arg(long)]
    setup: Option<PathBuf>,
    /// Number of directories to watch.
    #[arg(long, default_value_t = 100_000)]
    dirs: usize,
    /// Threads calling inotify_add_watch() concurrently.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Label of the table rows.
    #[arg(long, default_value = "")]
    label: String,
}

/// The connection's debugfs counters of the mount.
struct Counters(PathBuf);

impl Counters {
    fn of(mount: &Path) -> Result<Self> {
        let dev = std::fs::metadata(mount)?.dev();
        let dir = PathBuf::from(format!(
            "/sys/kernel/debug/fuse_fsnotify/connections/{}",
            libc::minor(dev)
        ));
        Ok(Self(dir))
    }

    fn get(&self, name: &str) -> Result<u64> {
        let p = self.0.join(name);
        let s = std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
        Ok(s.trim().parse()?)
    }
}

/// One inotify instance (closed on drop).
struct Inotify(libc::c_int);

impl Inotify {
    fn new() -> Result<Self> {
        // SAFETY: plain syscall with integer flags.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if fd < 0 {
            bail!("inotify_init1: {}", std::io::Error::last_os_error());
        }
        Ok(Self(fd))
    }

    fn add(&self, path: &Path) -> Result<()> {
        let c = CString::new(path.as_os_str().as_bytes())?;
        let mask = libc::IN_CREATE | libc::IN_DELETE | libc::IN_MOVE | libc::IN_MODIFY;
        // SAFETY: `c` is a valid C string; the fd is ours.
        if unsafe { libc::inotify_add_watch(self.0, c.as_ptr(), mask) } < 0 {
            bail!(
                "inotify_add_watch {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        // SAFETY: the fd is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn row(label: &str, phase: &str, threads: usize, n: usize, requests: u64, secs: f64) {
    let per = if requests > 0 {
        format!("{:.1}", n as f64 / requests as f64)
    } else {
        "-".into()
    };
    println!("| {label} | {phase} | {threads} | {n} | {requests} | {per} | {secs:.2} |");
}

fn main() -> Result<()> {
    let a = Args::parse();
    if a.threads == 0 {
        bail!("--threads must be at least 1");
    }
    let paths: Vec<PathBuf> = (0..a.dirs).map(|i| a.mount.join(format!("d{i}"))).collect();
    if let Some(backing) = &a.setup {
        for i in 0..a.dirs {
            let p = backing.join(format!("d{i}"));
            if !p.exists() {
                std::fs::create_dir(&p).with_context(|| format!("{}", p.display()))?;
            }
        }
    }
    for p in &paths {
        std::fs::metadata(p).with_context(|| format!("{}", p.display()))?;
    }
    let c = Counters::of(&a.mount)?;
    let ino = Inotify::new()?;
    // The first mark creates the connection (and its counters): arm one
    // directory outside the measurement.
    ino.add(&a.mount)?;
    let r0 = c.get("mark_requests")?;
    let t0 = Instant::now();
    let chunk = a.dirs.div_ceil(a.threads);
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = paths
            .chunks(chunk.max(1))
            .map(|part| {
                let ino = &ino;
                s.spawn(move || part.iter().try_for_each(|p| ino.add(p)))
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("thread panicked"))??;
        }
        Ok(())
    })?;
    let add_secs = t0.elapsed().as_secs_f64();
    let r1 = c.get("mark_requests")?;
    let armed = c.get("armed")?;
    if armed < a.dirs as u64 {
        bail!("only {armed} of {} remote watches armed", a.dirs);
    }
    row(&a.label, "add", a.threads, a.dirs, r1 - r0, add_secs);

    let t1 = Instant::now();
    drop(ino);
    while c.get("armed")? > 0 {
        if t1.elapsed() > Duration::from_secs(600) {
            bail!("remote watches still armed after 600 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let r2 = c.get("mark_requests")?;
    row(
        &a.label,
        "remove",
        1,
        a.dirs + 1,
        r2 - r1,
        t1.elapsed().as_secs_f64(),
    );
    Ok(())
}
