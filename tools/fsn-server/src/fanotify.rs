//! Safe wrapper around Linux fanotify in FID reporting mode.
//!
//! The server watches objects of the backing directory with inode marks and
//! maps the events back to its objects by [`FileHandle`]: the handle returned
//! by [`handle_of`] / [`handle_of_fd`] for an object is byte-for-byte the one
//! fanotify reports in its FID info records for that object.
//!
//! The group is created with `FAN_REPORT_DFID_NAME | FAN_REPORT_FID |
//! FAN_REPORT_TARGET_FID` (Linux >= 5.17), no file descriptors are ever
//! reported (`fd == FAN_NOFD`), and the queue is the default bounded one, so
//! a lost event shows up as an event whose mask has `FAN_Q_OVERFLOW`.
//!
//! All `FAN_*` constants used here come from `libc` (0.2.191 has
//! `FAN_RENAME`, `FAN_REPORT_TARGET_FID`, the OLD/NEW DFID_NAME info types
//! and `AT_HANDLE_FID`), so nothing is redefined locally.
//!
//! # What the kernel reports
//!
//! Observed on Linux 6.18 / ext4 with the group flags of [`Fanotify::new`];
//! the tests in this file assert each shape. Notation: `DFID_NAME(d, n)` fills
//! [`Event::dir`]/[`Event::name`], `FID(o)` fills [`Event::object`].
//!
//! Inode mark on directory `D` with `FAN_EVENT_ON_CHILD | FAN_ONDIR`:
//! - CREATE / DELETE / MOVED_FROM / MOVED_TO of entry `n` (`FAN_ONDIR` added
//!   if it is a directory): `DFID_NAME(D, n) + FID(entry)`.
//! - RENAME: `OLD_DFID_NAME(from_dir, old) + NEW_DFID_NAME(to_dir, new) +
//!   FID(entry)`, no `DFID_NAME`. A rename queues three separate events, in
//!   this order: RENAME, MOVED_FROM (old name), MOVED_TO (new name).
//! - MODIFY / ATTRIB / CLOSE_WRITE on a non-directory child `n`:
//!   `DFID_NAME(D, n) + FID(child)` (both records). The link-count ATTRIB of
//!   an unlink is *not* reported to the parent's mark (only DELETE is).
//! - Any event on a subdirectory `S` itself (e.g. chmod: `ATTRIB|ONDIR`):
//!   `DFID_NAME(S, ".")` and **no** FID record; it is not reported as
//!   `(D, "S")`, so `dir` is the subdirectory's own handle.
//! - Events on `D` itself (ATTRIB, MOVE_SELF, DELETE_SELF, each with
//!   `FAN_ONDIR`): `DFID_NAME(D, ".")`, no FID record.
//! - Without `FAN_EVENT_ON_CHILD` in the mask no child events arrive.
//!
//! Inode mark on a non-directory `F`:
//! - ATTRIB from chmod, MODIFY: `DFID_NAME(parent, name) + FID(F)`.
//! - MOVE_SELF, link-count ATTRIB (link, unlink), DELETE_SELF: `FID(F)` only.
//!   Unlinking the last link (no open fd left) gives `ATTRIB | DELETE_SELF`
//!   merged into one event.
//!
//! In general:
//! - So the object of an event is `object`, or `dir` when `name == "."` (a
//!   directory's FID equals its DFID and is not repeated).
//! - Merging: a new event whose records equal those of a still-queued event
//!   is merged into it (mask bits OR-ed, at the older event's position).
//!   Writing a new file before reading gives one `CREATE|MODIFY|CLOSE_WRITE`
//!   event; mkdir + rmdir of the same name gives one `CREATE|DELETE|ONDIR`
//!   event queued *before* events that happened in between. The order of
//!   merged bits is lost: re-check the object's current state.
//! - `pid` is the acting process's tgid (equals `std::process::id()` for
//!   our own calls, from any thread).
//! - Overflow: after `fs.fanotify.max_queued_events` (16384) events one
//!   `FAN_Q_OVERFLOW` event with pid 0 and no records is queued last; later
//!   events are dropped until the queue is read.
//! - Handles on ext4 are type 1 (`FILEID_INO32_GEN`, 8 bytes) and the fsid is
//!   `statfs.f_fsid`; [`handle_of`] gives byte-identical values.
//! - No `DFID` (type 3) records appear with `FAN_REPORT_NAME`; the parser
//!   still accepts them.

// The server wiring lives in other files and may not use every item yet.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `sizeof(struct fanotify_event_metadata)` (`FAN_EVENT_METADATA_LEN`).
const METADATA_LEN: usize = std::mem::size_of::<libc::fanotify_event_metadata>();
const _: () = assert!(METADATA_LEN == 24);
/// `sizeof(struct fanotify_event_info_header)`.
const INFO_HDR_LEN: usize = 4;
/// Offset of `struct file_handle` inside a FID info record (header + fsid).
const FID_HANDLE_OFF: usize = INFO_HDR_LEN + 8;
/// `sizeof(struct file_handle)` without the flexible `f_handle` array.
const FH_HDR_LEN: usize = 8;
/// `MAX_HANDLE_SZ` from `<linux/exportfs.h>` / `<fcntl.h>`.
const MAX_HANDLE_SZ: usize = 128;

/// Every event bit and event flag that can be set in an inode mark of a
/// notification-class FID group; [`Fanotify::set_mark`] removes those not in
/// the requested mask. (`FAN_FS_ERROR` is only valid on filesystem marks and
/// the permission events need another class, so they are not included.)
const ALL_MARK_BITS: u64 = libc::FAN_ACCESS
    | libc::FAN_MODIFY
    | libc::FAN_ATTRIB
    | libc::FAN_CLOSE_WRITE
    | libc::FAN_CLOSE_NOWRITE
    | libc::FAN_OPEN
    | libc::FAN_MOVED_FROM
    | libc::FAN_MOVED_TO
    | libc::FAN_CREATE
    | libc::FAN_DELETE
    | libc::FAN_DELETE_SELF
    | libc::FAN_MOVE_SELF
    | libc::FAN_OPEN_EXEC
    | libc::FAN_RENAME
    | libc::FAN_ONDIR
    | libc::FAN_EVENT_ON_CHILD;

/// Identity of a filesystem object as fanotify reports it: fsid + handle type + handle bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileHandle {
    /// Filesystem id (`statfs.f_fsid` / `__kernel_fsid_t.val`).
    pub fsid: [i32; 2],
    /// `file_handle.handle_type` (e.g. `FILEID_INO32_GEN` = 1 on ext4).
    pub handle_type: i32,
    /// `file_handle.f_handle`, exactly `handle_bytes` long.
    pub bytes: Vec<u8>,
}

/// Opens the object of `handle` with `O_PATH`, through `mount_fd` (any fd on
/// the same filesystem). Fails with `ESTALE` once the object is gone, which
/// is how the server tells a dead watched object from a live one. Needs
/// `CAP_DAC_READ_SEARCH`.
pub fn open_by_handle(mount_fd: BorrowedFd<'_>, handle: &FileHandle) -> io::Result<OwnedFd> {
    if handle.bytes.len() > MAX_HANDLE_SZ {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut buf = HandleBuf {
        handle_bytes: handle.bytes.len() as libc::c_uint,
        handle_type: handle.handle_type,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    buf.f_handle[..handle.bytes.len()].copy_from_slice(&handle.bytes);
    // SAFETY: `mount_fd` is open for the call; `buf` is a `struct
    // file_handle` header followed by `handle_bytes` initialised bytes; the
    // kernel only reads it.
    let fd = unsafe {
        libc::open_by_handle_at(
            mount_fd.as_raw_fd(),
            (&raw mut buf).cast::<libc::file_handle>(),
            libc::O_PATH | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Converts a path to a C string, rejecting interior NUL bytes.
fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path contains a NUL byte: {}", path.display()),
        )
    })
}

/// Returns the handle of the object at `path`.
///
/// The path is opened with `O_PATH`, which follows symlinks including the
/// final component, so a `/proc/self/fd/N` magic link yields the handle of
/// the object the fd refers to (and a symlink yields its target's handle,
/// matching [`Fanotify::add_mark`]). See [`handle_of_fd`] for the encoding.
pub fn handle_of(path: &Path) -> io::Result<FileHandle> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
    // open(2) does not retain the pointer.
    let raw = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: open(2) just returned this fd to us; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    handle_of_fd(fd.as_fd())
}

/// `struct file_handle` followed by room for the largest possible handle.
#[repr(C)]
struct HandleBuf {
    handle_bytes: libc::c_uint,
    handle_type: libc::c_int,
    f_handle: [u8; MAX_HANDLE_SZ],
}

/// Same as [`handle_of`], for an already open fd (`O_PATH` is fine).
///
/// Uses `name_to_handle_at(fd, "", AT_EMPTY_PATH | AT_HANDLE_FID)` (falling
/// back to no `AT_HANDLE_FID` on kernels that reject it with `EINVAL`) and
/// `fstatfs(fd).f_fsid`, which is the encoding fanotify uses in its FID
/// records (a non-connectable handle, no parent).
pub fn handle_of_fd(fd: BorrowedFd<'_>) -> io::Result<FileHandle> {
    let mut flags = libc::AT_EMPTY_PATH | libc::AT_HANDLE_FID;
    let mut buf = HandleBuf {
        handle_bytes: 0,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    loop {
        buf.handle_bytes = MAX_HANDLE_SZ as libc::c_uint;
        let mut mount_id: libc::c_int = 0;
        // SAFETY: `fd` is a valid open fd for the duration of the call, the
        // path is a static empty C string, `buf` is a `struct file_handle`
        // header followed by `handle_bytes` (= MAX_HANDLE_SZ) writable bytes,
        // and `mount_id` is a valid `int` out-parameter. None is retained.
        let r = unsafe {
            libc::name_to_handle_at(
                fd.as_raw_fd(),
                c"".as_ptr(),
                (&raw mut buf).cast::<libc::file_handle>(),
                &mut mount_id,
                flags,
            )
        };
        if r == 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINVAL) && flags & libc::AT_HANDLE_FID != 0 {
            // Kernel older than 6.5: no AT_HANDLE_FID. Plain handles have the
            // same encoding for filesystems that can export them.
            flags &= !libc::AT_HANDLE_FID;
            continue;
        }
        return Err(err);
    }
    let len = buf.handle_bytes as usize;
    let bytes = buf
        .f_handle
        .get(..len)
        .ok_or_else(|| io::Error::other(format!("name_to_handle_at: bogus handle_bytes {len}")))?
        .to_vec();
    Ok(FileHandle {
        fsid: fsid_of(fd)?,
        handle_type: buf.handle_type,
        bytes,
    })
}

/// `fstatfs(fd).f_fsid` as two ints.
fn fsid_of(fd: BorrowedFd<'_>) -> io::Result<[i32; 2]> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `fd` is a valid open fd and `st` points to writable memory of
    // the size of `struct statfs`, which fstatfs(2) fills on success.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatfs returned 0, so it initialised the whole struct.
    let st = unsafe { st.assume_init() };
    // SAFETY: `fsid_t` is a `#[repr(C)]` struct whose only field is
    // `[c_int; 2]` (its field is private in libc); transmute checks the sizes.
    Ok(unsafe { std::mem::transmute::<libc::fsid_t, [libc::c_int; 2]>(st.f_fsid) })
}

/// A fanotify group in FID reporting mode (owns the fanotify fd).
#[derive(Debug)]
pub struct Fanotify {
    fd: OwnedFd,
}

impl Fanotify {
    /// Creates the group: `fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC |
    /// FAN_NONBLOCK | FAN_REPORT_DFID_NAME | FAN_REPORT_FID |
    /// FAN_REPORT_TARGET_FID, O_RDONLY | O_LARGEFILE)`, with
    /// `FAN_UNLIMITED_MARKS` when the process may.
    ///
    /// The queue is the default bounded one (16384 events) so overflow is
    /// reported as a `FAN_Q_OVERFLOW` event. Errors keep their
    /// [`io::ErrorKind`] and get an explanation: `EPERM`
    /// (`PermissionDenied`) means CAP_SYS_ADMIN is missing, `EINVAL`
    /// (`InvalidInput`) means the kernel is too old for these FID modes.
    pub fn new() -> io::Result<Self> {
        let flags = libc::FAN_CLASS_NOTIF
            | libc::FAN_CLOEXEC
            | libc::FAN_NONBLOCK
            | libc::FAN_REPORT_DFID_NAME
            | libc::FAN_REPORT_FID
            | libc::FAN_REPORT_TARGET_FID;
        let event_f_flags = (libc::O_RDONLY | libc::O_LARGEFILE) as libc::c_uint;
        // The number of marks is bounded by `--max-watches`, not by the
        // per-user default of fs.fanotify.max_user_marks (8192 on small
        // machines): ask for unlimited marks, which needs CAP_SYS_ADMIN,
        // and fall back to the default limit without it.
        // SAFETY: fanotify_init takes only integer arguments.
        let mut raw =
            unsafe { libc::fanotify_init(flags | libc::FAN_UNLIMITED_MARKS, event_f_flags) };
        if raw < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
            // SAFETY: as above.
            raw = unsafe { libc::fanotify_init(flags, event_f_flags) };
        }
        if raw < 0 {
            let err = io::Error::last_os_error();
            let why = match err.raw_os_error() {
                Some(libc::EPERM) => ": fanotify needs CAP_SYS_ADMIN",
                Some(libc::EINVAL) => {
                    ": kernel too old for FAN_REPORT_DFID_NAME|FAN_REPORT_TARGET_FID \
                     (needs Linux 5.17)"
                }
                _ => "",
            };
            return Err(io::Error::new(
                err.kind(),
                format!("fanotify_init: {err}{why}"),
            ));
        }
        // SAFETY: fanotify_init just returned this fd to us; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Fanotify { fd })
    }

    /// `fanotify_mark(fd, flags, mask, AT_FDCWD, path)`.
    fn mark(&self, flags: libc::c_uint, path: &Path, mask: u64) -> io::Result<()> {
        let c = cpath(path)?;
        // SAFETY: the group fd is open (owned by self), `c` is a valid
        // NUL-terminated string that outlives the call and is not retained.
        let r = unsafe {
            libc::fanotify_mark(self.fd.as_raw_fd(), flags, mask, libc::AT_FDCWD, c.as_ptr())
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Adds an inode mark with `mask` (`FAN_*` bits) on the object at `path`
    /// (`FAN_MARK_ADD`; symlinks are followed, so `/proc/self/fd/N` works).
    ///
    /// Events on children of a marked directory are only reported if `mask`
    /// has `FAN_EVENT_ON_CHILD`; events on subdirectories also need
    /// `FAN_ONDIR`.
    pub fn add_mark(&self, path: &Path, mask: u64) -> io::Result<()> {
        self.mark(libc::FAN_MARK_ADD, path, mask)
    }

    /// Removes `mask` bits from the inode mark on `path` (`FAN_MARK_REMOVE`);
    /// the kernel drops the mark once no event bits remain. `ENOENT` (no
    /// mark) is not an error.
    pub fn remove_mark(&self, path: &Path, mask: u64) -> io::Result<()> {
        match self.mark(libc::FAN_MARK_REMOVE, path, mask) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            r => r,
        }
    }

    /// Makes the mark's mask exactly `mask`: removes every event bit/flag not
    /// in `mask`, then adds `mask`. Bits present in both the old and new mask
    /// stay set throughout. `mask == 0` removes the mark entirely (no mark
    /// is not an error).
    pub fn set_mark(&self, path: &Path, mask: u64) -> io::Result<()> {
        let remove = ALL_MARK_BITS & !mask;
        if remove != 0 {
            self.remove_mark(path, remove)?;
        }
        if mask != 0 {
            self.add_mark(path, mask)?;
        }
        Ok(())
    }

    /// Non-blocking read of all currently queued events into `buf` (e.g.
    /// 64 KiB; the kernel fails with `EINVAL` if not even one event fits).
    /// Returns the number of bytes read and the parsed events, or `(0, [])`
    /// if none are queued.
    ///
    /// Any event that carries a real fd (never expected in FID mode) has it
    /// closed. If the buffer does not parse (a kernel ABI the parser does not
    /// understand), the whole read fails with `InvalidData`; the events in it
    /// are lost, so treat it like `FAN_Q_OVERFLOW`.
    pub fn read_events(&self, buf: &mut [u8]) -> io::Result<(usize, Vec<Event>)> {
        let n = loop {
            // SAFETY: the group fd is open and `buf` is valid for writes of
            // `buf.len()` bytes for the duration of the call.
            let r = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if let Ok(n) = usize::try_from(r) {
                break n;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok((0, Vec::new())),
                _ => return Err(err),
            }
        };
        let data = buf.get(..n).unwrap_or(buf);
        let mut events = Vec::new();
        let mut error = None;
        for (res, fd) in parse_inner(data) {
            if fd >= 0 {
                // SAFETY: the kernel installed this fd in our table for this
                // event and handed its ownership to us; it is closed once.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
            match res {
                Ok(ev) => events.push(ev),
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
        }
        match error {
            None => Ok((n, events)),
            Some(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed fanotify event buffer: {e}"),
            )),
        }
    }
}

impl Fanotify {
    /// Bytes of events queued in the group and not read yet (`FIONREAD`):
    /// everything that happened up to now, in the format `read()` returns.
    pub fn pending_bytes(&self) -> io::Result<u64> {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer, which is
        // valid for the call.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::FIONREAD, &mut n) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl AsFd for Fanotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// One fanotify event.
///
/// Which records are present depends on the event; see the module docs,
/// section "What the kernel reports".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `FAN_*` bits as reported; may hold several merged event bits, plus
    /// `FAN_ONDIR` (object is a directory) or `FAN_Q_OVERFLOW`.
    pub mask: u64,
    /// Acting process (tgid) as reported in the metadata; 0 for overflow.
    pub pid: i32,
    /// `FAN_EVENT_INFO_TYPE_FID` record: the target object itself.
    pub object: Option<FileHandle>,
    /// `FAN_EVENT_INFO_TYPE_DFID_NAME` or `FAN_EVENT_INFO_TYPE_DFID` record:
    /// the directory the event is reported in.
    pub dir: Option<FileHandle>,
    /// Name from the `DFID_NAME` record, without the NUL, exactly as the
    /// kernel reports it; it is `"."` for events on a directory itself.
    pub name: Option<Vec<u8>>,
    /// `FAN_EVENT_INFO_TYPE_OLD_DFID_NAME` directory (`FAN_RENAME`).
    pub old_dir: Option<FileHandle>,
    /// `FAN_EVENT_INFO_TYPE_OLD_DFID_NAME` name (`FAN_RENAME`).
    pub old_name: Option<Vec<u8>>,
    /// `FAN_EVENT_INFO_TYPE_NEW_DFID_NAME` directory (`FAN_RENAME`).
    pub new_dir: Option<FileHandle>,
    /// `FAN_EVENT_INFO_TYPE_NEW_DFID_NAME` name (`FAN_RENAME`).
    pub new_name: Option<Vec<u8>>,
}

/// Why a raw fanotify buffer could not be parsed. Offsets are byte offsets
/// into the buffer given to [`parse_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than an event metadata header remain at `offset`.
    /// Parsing stops.
    TruncatedMetadata {
        /// Where the event starts.
        offset: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// `event_len` or `metadata_len` is inconsistent (metadata_len shorter
    /// than the v3 header, or event_len < metadata_len). Parsing stops.
    BadEventLength {
        /// Where the event starts.
        offset: usize,
        /// Reported `event_len`.
        event_len: u32,
        /// Reported `metadata_len`.
        metadata_len: u16,
    },
    /// The event extends past the end of the buffer. Parsing stops.
    EventPastEnd {
        /// Where the event starts.
        offset: usize,
        /// Reported `event_len`.
        event_len: u32,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// Metadata version is not `FANOTIFY_METADATA_VERSION` (3). The event is
    /// skipped by its `event_len` and parsing continues.
    UnsupportedVersion {
        /// Where the event starts.
        offset: usize,
        /// Reported version.
        version: u8,
    },
    /// An info record is malformed. The event is dropped and parsing
    /// continues with the next event (its framing is intact).
    BadInfoRecord {
        /// Where the info record starts.
        offset: usize,
        /// The record's `info_type` (0 if its header was truncated).
        info_type: u8,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::TruncatedMetadata { offset, available } => write!(
                f,
                "truncated event metadata at offset {offset} ({available} bytes left)"
            ),
            ParseError::BadEventLength {
                offset,
                event_len,
                metadata_len,
            } => write!(
                f,
                "bad event length at offset {offset}: event_len {event_len}, \
                 metadata_len {metadata_len}"
            ),
            ParseError::EventPastEnd {
                offset,
                event_len,
                available,
            } => write!(
                f,
                "event at offset {offset} has event_len {event_len} but only \
                 {available} bytes are left"
            ),
            ParseError::UnsupportedVersion { offset, version } => write!(
                f,
                "event at offset {offset} has unsupported metadata version {version}"
            ),
            ParseError::BadInfoRecord {
                offset,
                info_type,
                reason,
            } => write!(
                f,
                "bad info record (type {info_type}) at offset {offset}: {reason}"
            ),
        }
    }
}

impl std::error::Error for ParseError {}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes(s.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes(s.try_into().ok()?))
}

fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(i32::from_ne_bytes(s.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_ne_bytes(s.try_into().ok()?))
}

/// Parses the FID part of a FID-type info record (`rec` includes the info
/// header). Returns the handle and the bytes following it (name + padding).
fn parse_fid(rec: &[u8]) -> Result<(FileHandle, &[u8]), &'static str> {
    const SHORT: &str = "record too short for fsid + file_handle";
    let fsid0 = i32_at(rec, INFO_HDR_LEN).ok_or(SHORT)?;
    let fsid1 = i32_at(rec, INFO_HDR_LEN + 4).ok_or(SHORT)?;
    let handle_bytes = u32_at(rec, FID_HANDLE_OFF).ok_or(SHORT)?;
    let handle_type = i32_at(rec, FID_HANDLE_OFF + 4).ok_or(SHORT)?;
    let start = FID_HANDLE_OFF + FH_HDR_LEN;
    let end = usize::try_from(handle_bytes)
        .ok()
        .and_then(|n| start.checked_add(n))
        .ok_or("handle_bytes overflows")?;
    let bytes = rec
        .get(start..end)
        .ok_or("handle_bytes extends past the record")?;
    let rest = rec.get(end..).unwrap_or(&[]);
    Ok((
        FileHandle {
            fsid: [fsid0, fsid1],
            handle_type,
            bytes: bytes.to_vec(),
        },
        rest,
    ))
}

/// Extracts the NUL-terminated name at the start of `rest`.
fn parse_name(rest: &[u8]) -> Result<Vec<u8>, &'static str> {
    let nul = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or("name is not NUL-terminated within the record")?;
    Ok(rest.get(..nul).unwrap_or(&[]).to_vec())
}

/// Parses the info records of one event (`records` = bytes after the
/// metadata, up to `event_len`; `base` = their offset in the buffer).
fn parse_records(ev: &mut Event, records: &[u8], base: usize) -> Result<(), ParseError> {
    let mut pos = 0usize;
    while pos < records.len() {
        let offset = base + pos;
        let bad = |info_type: u8, reason: &'static str| ParseError::BadInfoRecord {
            offset,
            info_type,
            reason,
        };
        let rest = records.get(pos..).unwrap_or(&[]);
        let info_type = *rest.first().unwrap_or(&0);
        let len = u16_at(rest, 2).ok_or_else(|| bad(info_type, "truncated info header"))?;
        let len = usize::from(len);
        if len < INFO_HDR_LEN {
            return Err(bad(info_type, "info record length shorter than its header"));
        }
        let rec = rest
            .get(..len)
            .ok_or_else(|| bad(info_type, "info record extends past the event"))?;
        match info_type {
            libc::FAN_EVENT_INFO_TYPE_FID => {
                let (h, _) = parse_fid(rec).map_err(|r| bad(info_type, r))?;
                ev.object = Some(h);
            }
            libc::FAN_EVENT_INFO_TYPE_DFID => {
                let (h, _) = parse_fid(rec).map_err(|r| bad(info_type, r))?;
                ev.dir = Some(h);
            }
            libc::FAN_EVENT_INFO_TYPE_DFID_NAME
            | libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
            | libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME => {
                let (h, tail) = parse_fid(rec).map_err(|r| bad(info_type, r))?;
                let name = parse_name(tail).map_err(|r| bad(info_type, r))?;
                let (d, n) = match info_type {
                    libc::FAN_EVENT_INFO_TYPE_DFID_NAME => (&mut ev.dir, &mut ev.name),
                    libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME => (&mut ev.old_dir, &mut ev.old_name),
                    _ => (&mut ev.new_dir, &mut ev.new_name),
                };
                *d = Some(h);
                *n = Some(name);
            }
            // PIDFD, ERROR, RANGE, MNT, ...: not requested; skip by length.
            _ => {}
        }
        pos += len;
    }
    Ok(())
}

/// Parses `buf`, returning each event's result with the fd it carried
/// (`FAN_NOFD` when none, or when the metadata itself was unusable).
fn parse_inner(buf: &[u8]) -> Vec<(Result<Event, ParseError>, i32)> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < buf.len() {
        let b = buf.get(off..).unwrap_or(&[]);
        let fields = (|| {
            Some((
                u32_at(b, 0)?,
                *b.get(4)?,
                u16_at(b, 6)?,
                u64_at(b, 8)?,
                i32_at(b, 16)?,
                i32_at(b, 20)?,
            ))
        })();
        let Some((event_len, vers, metadata_len, mask, fd, pid)) = fields else {
            out.push((
                Err(ParseError::TruncatedMetadata {
                    offset: off,
                    available: b.len(),
                }),
                libc::FAN_NOFD,
            ));
            break;
        };
        let elen = usize::try_from(event_len).unwrap_or(usize::MAX);
        let mlen = usize::from(metadata_len);
        if mlen < METADATA_LEN || elen < mlen {
            out.push((
                Err(ParseError::BadEventLength {
                    offset: off,
                    event_len,
                    metadata_len,
                }),
                libc::FAN_NOFD,
            ));
            break;
        }
        let Some(event) = b.get(..elen) else {
            out.push((
                Err(ParseError::EventPastEnd {
                    offset: off,
                    event_len,
                    available: b.len(),
                }),
                libc::FAN_NOFD,
            ));
            break;
        };
        let res = if vers != libc::FANOTIFY_METADATA_VERSION {
            Err(ParseError::UnsupportedVersion {
                offset: off,
                version: vers,
            })
        } else {
            let mut ev = Event {
                mask,
                pid,
                object: None,
                dir: None,
                name: None,
                old_dir: None,
                old_name: None,
                new_dir: None,
                new_name: None,
            };
            let records = event.get(mlen..).unwrap_or(&[]);
            parse_records(&mut ev, records, off + mlen).map(|()| ev)
        };
        out.push((res, fd));
        off += elen;
    }
    out
}

/// Parses a buffer of raw fanotify events (what read(2) returned).
///
/// Pure and total: never panics, whatever the input. Framing errors
/// (truncated metadata, inconsistent or out-of-buffer lengths) yield an
/// `Err` item and stop parsing; a malformed info record or unsupported
/// metadata version yields an `Err` for that event only and parsing continues
/// after it. Info records of unknown type are skipped by their length. A
/// repeated record type overrides the earlier one. Fds in the metadata are
/// ignored (use [`Fanotify::read_events`], which closes them).
#[cfg(test)]
pub fn parse_events(buf: &[u8]) -> Vec<Result<Event, ParseError>> {
    parse_inner(buf).into_iter().map(|(r, _)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{
        FAN_ATTRIB, FAN_CLOSE_WRITE, FAN_CREATE, FAN_DELETE, FAN_DELETE_SELF, FAN_EVENT_ON_CHILD,
        FAN_MODIFY, FAN_MOVED_FROM, FAN_MOVED_TO, FAN_ONDIR, FAN_Q_OVERFLOW, FAN_RENAME,
    };
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    // ---- synthetic buffers ----

    fn h(n: u8) -> FileHandle {
        FileHandle {
            fsid: [0x1234_5678, -7],
            handle_type: 1,
            bytes: vec![n; 8],
        }
    }

    /// One FID-type info record, padded to 4 bytes like the kernel does.
    fn fid_rec(ty: u8, fh: &FileHandle, name: Option<&[u8]>) -> Vec<u8> {
        let mut r = vec![ty, 0, 0, 0];
        r.extend(fh.fsid[0].to_ne_bytes());
        r.extend(fh.fsid[1].to_ne_bytes());
        r.extend((fh.bytes.len() as u32).to_ne_bytes());
        r.extend(fh.handle_type.to_ne_bytes());
        r.extend(&fh.bytes);
        if let Some(n) = name {
            r.extend(n);
            r.push(0);
        }
        while r.len() % 4 != 0 {
            r.push(0);
        }
        let len = r.len() as u16;
        r[2..4].copy_from_slice(&len.to_ne_bytes());
        r
    }

    fn event_bytes(mask: u64, pid: i32, recs: &[Vec<u8>]) -> Vec<u8> {
        let mut e = vec![0, 0, 0, 0, libc::FANOTIFY_METADATA_VERSION, 0];
        e.extend(24u16.to_ne_bytes());
        e.extend(mask.to_ne_bytes());
        e.extend(libc::FAN_NOFD.to_ne_bytes());
        e.extend(pid.to_ne_bytes());
        for r in recs {
            e.extend(r);
        }
        let len = e.len() as u32;
        e[0..4].copy_from_slice(&len.to_ne_bytes());
        e
    }

    fn good_create() -> Vec<u8> {
        event_bytes(
            FAN_CREATE,
            42,
            &[
                fid_rec(libc::FAN_EVENT_INFO_TYPE_DFID_NAME, &h(1), Some(b"file")),
                fid_rec(libc::FAN_EVENT_INFO_TYPE_FID, &h(2), None),
            ],
        )
    }

    fn good_rename() -> Vec<u8> {
        event_bytes(
            FAN_RENAME,
            43,
            &[
                fid_rec(libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, &h(1), Some(b"a")),
                fid_rec(libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, &h(3), Some(b"bb")),
                fid_rec(libc::FAN_EVENT_INFO_TYPE_FID, &h(2), None),
            ],
        )
    }

    fn overflow() -> Vec<u8> {
        event_bytes(FAN_Q_OVERFLOW, 0, &[])
    }

    fn base_event(mask: u64, pid: i32) -> Event {
        Event {
            mask,
            pid,
            object: None,
            dir: None,
            name: None,
            old_dir: None,
            old_name: None,
            new_dir: None,
            new_name: None,
        }
    }

    #[test]
    fn parse_good_events() {
        let mut buf = good_create();
        buf.extend(good_rename());
        buf.extend(overflow());
        let evs = parse_events(&buf);
        assert_eq!(
            evs,
            vec![
                Ok(Event {
                    object: Some(h(2)),
                    dir: Some(h(1)),
                    name: Some(b"file".to_vec()),
                    ..base_event(FAN_CREATE, 42)
                }),
                Ok(Event {
                    object: Some(h(2)),
                    old_dir: Some(h(1)),
                    old_name: Some(b"a".to_vec()),
                    new_dir: Some(h(3)),
                    new_name: Some(b"bb".to_vec()),
                    ..base_event(FAN_RENAME, 43)
                }),
                Ok(base_event(FAN_Q_OVERFLOW, 0)),
            ]
        );
        assert!(parse_events(&[]).is_empty());
    }

    #[test]
    fn parse_truncated_at_every_length() {
        let ev = [good_create(), good_rename(), overflow()];
        let ends: Vec<usize> = ev
            .iter()
            .scan(0, |acc, e| {
                *acc += e.len();
                Some(*acc)
            })
            .collect();
        let buf = ev.concat();
        for l in 0..=buf.len() {
            let res = parse_events(&buf[..l]);
            let complete = ends.iter().filter(|&&e| e <= l).count();
            let oks = res.iter().filter(|r| r.is_ok()).count();
            assert_eq!(oks, complete, "prefix {l}");
            if ends.contains(&l) || l == 0 {
                assert_eq!(res.len(), complete, "prefix {l}");
            } else {
                assert_eq!(res.len(), complete + 1, "prefix {l}");
                assert!(res.last().unwrap().is_err(), "prefix {l}");
            }
        }
    }

    #[test]
    fn parse_never_panics_on_garbage() {
        let good = [good_create(), good_rename()].concat();
        // Every byte replaced by a few interesting values.
        for i in 0..good.len() {
            for v in [0u8, 1, 3, 4, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = parse_events(&b);
            }
        }
        // Pseudo-random buffers.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let len = (x % 200) as usize;
            let mut b = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.push(x as u8);
            }
            let _ = parse_events(&b);
        }
    }

    #[test]
    fn parse_bogus_lengths() {
        // event_len < metadata_len.
        let mut b = good_create();
        b[0..4].copy_from_slice(&20u32.to_ne_bytes());
        assert!(matches!(
            parse_events(&b)[..],
            [Err(ParseError::BadEventLength { offset: 0, .. })]
        ));
        // metadata_len shorter than the header.
        let mut b = good_create();
        b[6..8].copy_from_slice(&8u16.to_ne_bytes());
        assert!(matches!(
            parse_events(&b)[..],
            [Err(ParseError::BadEventLength { .. })]
        ));
        // event_len past the end of the buffer.
        let mut b = good_create();
        let l = b.len() as u32 + 4;
        b[0..4].copy_from_slice(&l.to_ne_bytes());
        assert!(matches!(
            parse_events(&b)[..],
            [Err(ParseError::EventPastEnd { .. })]
        ));
        // info record len 0: that event is an error, the next one still parses.
        let mut b = good_create();
        b[24 + 2..24 + 4].copy_from_slice(&0u16.to_ne_bytes());
        b.extend(overflow());
        let r = parse_events(&b);
        assert!(matches!(
            r[..],
            [Err(ParseError::BadInfoRecord { offset: 24, .. }), Ok(_)]
        ));
        // info record len past the end of the event.
        let mut b = good_create();
        b[24 + 2..24 + 4].copy_from_slice(&1000u16.to_ne_bytes());
        assert!(matches!(
            parse_events(&b)[..],
            [Err(ParseError::BadInfoRecord { .. })]
        ));
        // handle_bytes past the end of the record.
        let mut b = good_create();
        b[24 + 12..24 + 16].copy_from_slice(&200u32.to_ne_bytes());
        assert!(matches!(
            parse_events(&b)[..],
            [Err(ParseError::BadInfoRecord { .. })]
        ));
        // Name without NUL.
        let mut rec = fid_rec(libc::FAN_EVENT_INFO_TYPE_DFID_NAME, &h(1), None);
        rec.extend(b"abcd");
        let len = rec.len() as u16;
        rec[2..4].copy_from_slice(&len.to_ne_bytes());
        let b = event_bytes(FAN_CREATE, 1, &[rec]);
        assert!(matches!(
            parse_events(&b)[..],
            [Err(ParseError::BadInfoRecord { .. })]
        ));
        // Unsupported version: reported, then parsing goes on.
        let mut b = good_create();
        b[4] = 2;
        b.extend(overflow());
        let r = parse_events(&b);
        assert!(matches!(
            r[..],
            [
                Err(ParseError::UnsupportedVersion { version: 2, .. }),
                Ok(_)
            ]
        ));
        assert!(!r[0].as_ref().unwrap_err().to_string().is_empty());
    }

    #[test]
    fn parse_skips_unknown_info_type() {
        let unknown = {
            let mut r = vec![99u8, 0, 12, 0];
            r.extend([0xaa; 8]);
            r
        };
        let b = event_bytes(
            FAN_MODIFY,
            5,
            &[
                fid_rec(libc::FAN_EVENT_INFO_TYPE_DFID_NAME, &h(1), Some(b"x")),
                unknown,
                fid_rec(libc::FAN_EVENT_INFO_TYPE_FID, &h(2), None),
            ],
        );
        assert_eq!(
            parse_events(&b),
            vec![Ok(Event {
                object: Some(h(2)),
                dir: Some(h(1)),
                name: Some(b"x".to_vec()),
                ..base_event(FAN_MODIFY, 5)
            })]
        );
    }

    // ---- real fanotify ----

    /// A unique temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "fsn-fanotify-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Reads until the queue is empty (retrying briefly if nothing arrived).
    fn read_all(fan: &Fanotify) -> Vec<Event> {
        let mut buf = vec![0u8; 65536];
        let mut out = Vec::new();
        for _ in 0..50 {
            let (_, evs) = fan.read_events(&mut buf).unwrap();
            if evs.is_empty() {
                if !out.is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            out.extend(evs);
        }
        out
    }

    fn chmod(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn pid() -> i32 {
        std::process::id() as i32
    }

    #[test]
    fn handle_of_proc_fd_and_symlink() {
        let t = TempDir::new("handle");
        let f = t.0.join("f");
        fs::write(&f, b"x").unwrap();
        std::os::unix::fs::symlink("f", t.0.join("l")).unwrap();
        let fh = handle_of(&f).unwrap();
        let file = fs::File::open(&f).unwrap();
        assert_eq!(handle_of_fd(file.as_fd()).unwrap(), fh);
        let proc = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        assert_eq!(handle_of(&proc).unwrap(), fh);
        assert_eq!(handle_of(&t.0.join("l")).unwrap(), fh);
        assert_ne!(handle_of(&t.0).unwrap(), fh);
        assert!(handle_of(&t.0.join("missing")).is_err());
    }

    #[test]
    fn dir_mark_events() {
        let t = TempDir::new("dir");
        let d = t.0.as_path();
        let fan = Fanotify::new().unwrap();
        let mask = FAN_CREATE
            | FAN_DELETE
            | FAN_MOVED_FROM
            | FAN_MOVED_TO
            | FAN_RENAME
            | FAN_ONDIR
            | FAN_EVENT_ON_CHILD
            | FAN_MODIFY
            | FAN_ATTRIB
            | FAN_CLOSE_WRITE
            | FAN_DELETE_SELF;
        // Mark through a /proc/self/fd magic link to an O_PATH fd.
        let dfd = fs::File::open(d).unwrap();
        fan.add_mark(
            Path::new(&format!("/proc/self/fd/{}", dfd.as_raw_fd())),
            mask,
        )
        .unwrap();
        let dh = handle_of(d).unwrap();
        let a = d.join("a");
        let b = d.join("b");

        // Create + write + close: merged into one event (same dir/name/object).
        fs::write(&a, b"hello").unwrap();
        let ah = handle_of(&a).unwrap();
        let evs = read_all(&fan);
        let all: u64 = evs.iter().fold(0, |m, e| m | e.mask);
        assert_eq!(all, FAN_CREATE | FAN_MODIFY | FAN_CLOSE_WRITE, "{evs:?}");
        for e in &evs {
            assert_eq!(e.pid, pid());
            assert_eq!(e.dir.as_ref(), Some(&dh));
            assert_eq!(e.name.as_deref(), Some(&b"a"[..]));
            assert_eq!(e.object.as_ref(), Some(&ah));
        }

        chmod(&a, 0o600);
        let evs = read_all(&fan);
        assert_eq!(
            evs,
            vec![Event {
                object: Some(ah.clone()),
                dir: Some(dh.clone()),
                name: Some(b"a".to_vec()),
                ..base_event(FAN_ATTRIB, pid())
            }]
        );

        fs::rename(&a, &b).unwrap();
        let evs = read_all(&fan);
        assert_eq!(
            evs,
            vec![
                Event {
                    object: Some(ah.clone()),
                    old_dir: Some(dh.clone()),
                    old_name: Some(b"a".to_vec()),
                    new_dir: Some(dh.clone()),
                    new_name: Some(b"b".to_vec()),
                    ..base_event(FAN_RENAME, pid())
                },
                Event {
                    object: Some(ah.clone()),
                    dir: Some(dh.clone()),
                    name: Some(b"a".to_vec()),
                    ..base_event(FAN_MOVED_FROM, pid())
                },
                Event {
                    object: Some(ah.clone()),
                    dir: Some(dh.clone()),
                    name: Some(b"b".to_vec()),
                    ..base_event(FAN_MOVED_TO, pid())
                },
            ]
        );

        fs::remove_file(&b).unwrap();
        let evs = read_all(&fan);
        assert_eq!(
            evs,
            vec![Event {
                object: Some(ah.clone()),
                dir: Some(dh.clone()),
                name: Some(b"b".to_vec()),
                ..base_event(FAN_DELETE, pid())
            }]
        );

        let sub = d.join("sub");
        fs::create_dir(&sub).unwrap();
        let sh = handle_of(&sub).unwrap();
        assert_eq!(
            read_all(&fan),
            vec![Event {
                object: Some(sh.clone()),
                dir: Some(dh.clone()),
                name: Some(b"sub".to_vec()),
                ..base_event(FAN_CREATE | FAN_ONDIR, pid())
            }]
        );
        chmod(&sub, 0o700);
        // An event on a subdirectory is reported as on the directory
        // itself: DFID_NAME(sub, "."), no FID record.
        assert_eq!(
            read_all(&fan),
            vec![Event {
                dir: Some(sh.clone()),
                name: Some(b".".to_vec()),
                ..base_event(FAN_ATTRIB | FAN_ONDIR, pid())
            }]
        );
        fs::remove_dir(&sub).unwrap();
        assert_eq!(
            read_all(&fan),
            vec![Event {
                object: Some(sh.clone()),
                dir: Some(dh.clone()),
                name: Some(b"sub".to_vec()),
                ..base_event(FAN_DELETE | FAN_ONDIR, pid())
            }]
        );

        // Without reading in between, mkdir + rmdir of the same name merge
        // into the queued CREATE event: the order is lost.
        fs::create_dir(&sub).unwrap();
        let sh = handle_of(&sub).unwrap();
        fs::remove_dir(&sub).unwrap();
        assert_eq!(
            read_all(&fan),
            vec![Event {
                object: Some(sh),
                dir: Some(dh.clone()),
                name: Some(b"sub".to_vec()),
                ..base_event(FAN_CREATE | FAN_DELETE | FAN_ONDIR, pid())
            }]
        );

        // The marked directory itself.
        drop(dfd);
        fs::remove_dir(d).unwrap();
        let evs = read_all(&fan);
        assert_eq!(
            evs,
            vec![Event {
                dir: Some(dh.clone()),
                name: Some(b".".to_vec()),
                ..base_event(FAN_DELETE_SELF | FAN_ONDIR, pid())
            }]
        );
    }

    #[test]
    fn file_mark_attrib_then_delete_self() {
        let t = TempDir::new("file");
        let f = t.0.join("f");
        fs::write(&f, b"x").unwrap();
        let fh = handle_of(&f).unwrap();
        let dh = handle_of(&t.0).unwrap();
        let fan = Fanotify::new().unwrap();
        fan.add_mark(&f, FAN_DELETE_SELF | FAN_ATTRIB).unwrap();

        chmod(&f, 0o600);
        let evs = read_all(&fan);
        // ATTRIB from chmod on a marked non-directory also carries its
        // parent and name.
        assert_eq!(
            evs,
            vec![Event {
                object: Some(fh.clone()),
                dir: Some(dh),
                name: Some(b"f".to_vec()),
                ..base_event(FAN_ATTRIB, pid())
            }]
        );

        fs::remove_file(&f).unwrap();
        let evs = read_all(&fan);
        // unlink: the link-count ATTRIB and DELETE_SELF, merged, FID only.
        assert_eq!(
            evs,
            vec![Event {
                object: Some(fh),
                ..base_event(FAN_ATTRIB | FAN_DELETE_SELF, pid())
            }]
        );
    }

    #[test]
    fn modify_and_move_self_shapes() {
        let t = TempDir::new("moveself");
        let f = t.0.join("f");
        let sub = t.0.join("sub");
        fs::write(&f, b"x").unwrap();
        fs::create_dir(&sub).unwrap();
        let (fh, dh, sh) = (
            handle_of(&f).unwrap(),
            handle_of(&t.0).unwrap(),
            handle_of(&sub).unwrap(),
        );
        let fan = Fanotify::new().unwrap();
        fan.add_mark(&f, FAN_MODIFY | libc::FAN_MOVE_SELF).unwrap();
        fan.add_mark(&sub, libc::FAN_MOVE_SELF | FAN_ONDIR).unwrap();
        fs::write(&f, b"y").unwrap();
        assert_eq!(
            read_all(&fan),
            vec![Event {
                object: Some(fh.clone()),
                dir: Some(dh),
                name: Some(b"f".to_vec()),
                ..base_event(FAN_MODIFY, pid())
            }]
        );
        fs::rename(&f, t.0.join("g")).unwrap();
        fs::rename(&sub, t.0.join("sub2")).unwrap();
        assert_eq!(
            read_all(&fan),
            vec![
                Event {
                    object: Some(fh),
                    ..base_event(libc::FAN_MOVE_SELF, pid())
                },
                Event {
                    dir: Some(sh),
                    name: Some(b".".to_vec()),
                    ..base_event(libc::FAN_MOVE_SELF | FAN_ONDIR, pid())
                },
            ]
        );
    }

    #[test]
    fn set_and_remove_mark() {
        let t = TempDir::new("marks");
        let f = t.0.join("f");
        fs::write(&f, b"x").unwrap();
        let fan = Fanotify::new().unwrap();
        // No mark yet: removing is not an error.
        fan.remove_mark(&f, FAN_ATTRIB).unwrap();
        fan.set_mark(&f, 0).unwrap();

        fan.set_mark(&t.0, FAN_ATTRIB | FAN_EVENT_ON_CHILD).unwrap();
        chmod(&f, 0o600);
        assert_eq!(read_all(&fan).len(), 1);
        // Narrowing the mask drops child events.
        fan.set_mark(&t.0, FAN_ATTRIB).unwrap();
        chmod(&f, 0o644);
        assert!(read_all(&fan).is_empty());
        fan.set_mark(&t.0, FAN_ATTRIB | FAN_EVENT_ON_CHILD).unwrap();
        chmod(&f, 0o600);
        assert_eq!(read_all(&fan).len(), 1);
        // Removed entirely.
        fan.set_mark(&t.0, 0).unwrap();
        chmod(&f, 0o644);
        chmod(&t.0, 0o755);
        assert!(read_all(&fan).is_empty());
        fan.set_mark(&t.0, 0).unwrap();
        assert!(fan.add_mark(&t.0.join("missing"), FAN_ATTRIB).is_err());
    }

    #[test]
    fn queue_overflow() {
        let t = TempDir::new("overflow");
        let fan = Fanotify::new().unwrap();
        fan.add_mark(&t.0, FAN_CREATE).unwrap();
        let n = 17_000;
        for i in 0..n {
            fs::File::create(t.0.join(i.to_string())).unwrap();
        }
        for i in 0..n {
            fs::remove_file(t.0.join(i.to_string())).unwrap();
        }
        let mut buf = vec![0u8; 65536];
        let mut all = Vec::new();
        loop {
            let (_, evs) = fan.read_events(&mut buf).unwrap();
            if evs.is_empty() {
                break;
            }
            all.extend(evs);
        }
        // Queue limit (fs.fanotify.max_queued_events, 16384 by default)
        // events, then one record-less overflow event with pid 0.
        assert!(all.len() < n, "{} events", all.len());
        assert_eq!(all.last(), Some(&base_event(FAN_Q_OVERFLOW, 0)));
        let overflows = all.iter().filter(|e| e.mask & FAN_Q_OVERFLOW != 0);
        assert_eq!(overflows.count(), 1);
    }
}
