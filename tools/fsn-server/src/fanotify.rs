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
//! TODO
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
    /// FAN_REPORT_TARGET_FID, O_RDONLY | O_LARGEFILE)`.
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
        // SAFETY: fanotify_init takes only integer arguments.
        let raw = unsafe { libc::fanotify_init(flags, event_f_flags) };
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
            libc::fanotify_mark(
                self.fd.as_raw_fd(),
                flags,
                mask,
                libc::AT_FDCWD,
                c.as_ptr(),
            )
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
    /// Note: the kernel implicitly adds `FAN_EVENT_ON_CHILD` to marks of a
    /// `FAN_REPORT_DIR_FID` group.
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
    /// Returns the parsed events, or an empty `Vec` if none are queued.
    ///
    /// Any event that carries a real fd (never expected in FID mode) has it
    /// closed. If the buffer does not parse (a kernel ABI the parser does not
    /// understand), the whole read fails with `InvalidData`; the events in it
    /// are lost, so treat it like `FAN_Q_OVERFLOW`.
    pub fn read_events(&self, buf: &mut [u8]) -> io::Result<Vec<Event>> {
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
                io::ErrorKind::WouldBlock => return Ok(Vec::new()),
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
            None => Ok(events),
            Some(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed fanotify event buffer: {e}"),
            )),
        }
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
                    libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME => {
                        (&mut ev.old_dir, &mut ev.old_name)
                    }
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
pub fn parse_events(buf: &[u8]) -> Vec<Result<Event, ParseError>> {
    parse_inner(buf).into_iter().map(|(r, _)| r).collect()
}
