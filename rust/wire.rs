// SPDX-License-Identifier: GPL-2.0

//! Wire format of the remote fsnotify protocol.
//!
//! This file is the single definition of the protocol that
//! `Documentation/protocol.rst` specifies. The kernel module compiles it as
//! its `wire` module and the userspace crate `tools/fsn-wire` includes the
//! very same file, so the two sides cannot drift apart. It uses `core` only:
//! no allocation, no `unsafe`, and no panics on any input (every read is a
//! checked slice access). `include/fuse_fsnotify.h` is the C view of the
//! same layouts for other servers; a test in `tools/fsn-wire` compiles it
//! against the sizes and offsets declared here.
//!
//! All integers are in the byte order of the FUSE connection, i.e. the
//! native order shared by client and server, like the rest of FUSE.

/// Opcode of "set remote marks" (client to server).
///
/// Mainline allocates FUSE opcodes sequentially from 1 (52 in 6.12, 53 since)
/// and uses 4096 for `CUSE_INIT`; ours sit far above both and below the
/// reserved byte-swapped `*_INIT` values, so they cannot collide with a future
/// mainline opcode allocated in sequence.
pub const FUSE_FSNOTIFY_MARK: u32 = 18254;
/// Opcode of "poll for events" (client to server, completed by the server
/// when it has events).
pub const FUSE_FSNOTIFY_POLL: u32 = 18255;

/// Protocol version spoken by this file. A peer that receives another
/// version answers `-EPROTO` (server) or ignores the reply (client).
pub const VERSION: u32 = 1;

/// The `nodeid` of the FUSE root; requests of this protocol are addressed
/// to it.
pub const FUSE_ROOT_ID: u64 = 1;

/// fsnotify event bits. They are the `FS_*` values of
/// `include/linux/fsnotify_backend.h`, which equal inotify's `IN_*` and
/// fanotify's `FAN_*` bits of the same name; the module checks this against
/// the kernel it is built for (KUnit suite `fuse_fsnotify_layout`).
pub mod mask {
    /// File was accessed.
    pub const ACCESS: u32 = 0x0000_0001;
    /// File was modified.
    pub const MODIFY: u32 = 0x0000_0002;
    /// Metadata changed.
    pub const ATTRIB: u32 = 0x0000_0004;
    /// Writable file was closed.
    pub const CLOSE_WRITE: u32 = 0x0000_0008;
    /// Read-only file was closed.
    pub const CLOSE_NOWRITE: u32 = 0x0000_0010;
    /// File was opened.
    pub const OPEN: u32 = 0x0000_0020;
    /// Name moved out of a directory.
    pub const MOVED_FROM: u32 = 0x0000_0040;
    /// Name moved into a directory.
    pub const MOVED_TO: u32 = 0x0000_0080;
    /// Name created in a directory.
    pub const CREATE: u32 = 0x0000_0100;
    /// Name deleted from a directory.
    pub const DELETE: u32 = 0x0000_0200;
    /// The watched object itself was deleted.
    pub const DELETE_SELF: u32 = 0x0000_0400;
    /// The watched object itself was moved.
    pub const MOVE_SELF: u32 = 0x0000_0800;
    /// In a mark: also report events of the directory's children.
    pub const EVENT_ON_CHILD: u32 = 0x0800_0000;
    /// A rename (fanotify `FAN_RENAME`): old and new name in one event.
    pub const RENAME: u32 = 0x1000_0000;
    /// In an event: the object is a directory.
    pub const ISDIR: u32 = 0x4000_0000;

    /// Event types a server can observe on a remote object.
    pub const EVENTS: u32 = ACCESS
        | MODIFY
        | ATTRIB
        | CLOSE_WRITE
        | CLOSE_NOWRITE
        | OPEN
        | MOVED_FROM
        | MOVED_TO
        | CREATE
        | DELETE
        | DELETE_SELF
        | MOVE_SELF;
    /// Bits a client may put in a mark.
    pub const MARK: u32 = EVENTS | EVENT_ON_CHILD | RENAME;
    /// Event types that a directory reports about one of its children, with
    /// the child's name, when it is marked with `EVENT_ON_CHILD`.
    pub const ON_CHILD: u32 = ACCESS | MODIFY | ATTRIB | CLOSE_WRITE | CLOSE_NOWRITE | OPEN;
    /// Event types about a directory entry, reported on the directory.
    pub const DIRENT: u32 = CREATE | DELETE | MOVED_FROM | MOVED_TO;
    /// Event types an `Event` record may carry with a name.
    pub const NAMED: u32 = ON_CHILD | CREATE | DELETE;
    /// Event types an `Event` record may carry without a name (the object
    /// itself).
    pub const SELF: u32 = ON_CHILD | DELETE_SELF | MOVE_SELF;
}

/// Longest name in a record (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// Largest batch a server may send, whatever the client offers.
pub const MAX_BATCH_SIZE: usize = 1 << 20;

/// `MarkIn::flags`: this request ends a resync (after lost events, the
/// client sent all its marks again); after applying its entries the server
/// re-checks every object it watches and reports `DELETE_SELF` for the dead
/// ones.
pub const MARK_RESYNC: u32 = 1;

/// `BatchHeader::flags`: events were lost before this batch.
pub const BATCH_OVERFLOW: u32 = 1;

/// Record type of [`Record::Event`].
pub const RECORD_EVENT: u16 = 1;
/// Record type of [`Record::Rename`].
pub const RECORD_RENAME: u16 = 2;

/// Why a message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its fixed part, or than its length fields say.
    Truncated,
    /// Longer than its length fields say, or than the protocol allows.
    Oversize,
    /// Unknown protocol version.
    Version,
    /// A length field that is inconsistent (not a multiple of 8, too small
    /// for the record type, or disagreeing with the count).
    Length,
    /// Non-zero padding or reserved field.
    Reserved,
    /// Unknown flag bits.
    Flags,
    /// Event mask with unknown bits, no event, several events, or an event
    /// type that cannot appear in this record.
    Mask,
    /// A nodeid of 0 where an object is required.
    Nodeid,
    /// Empty, too long, `.`/`..`, or containing `/` or NUL.
    Name,
}

impl WireError {
    /// A short stable name, for counters and log messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            WireError::Truncated => "truncated",
            WireError::Oversize => "oversize",
            WireError::Version => "version",
            WireError::Length => "length",
            WireError::Reserved => "reserved",
            WireError::Flags => "flags",
            WireError::Mask => "mask",
            WireError::Nodeid => "nodeid",
            WireError::Name => "name",
        }
    }
}

/// Result of decoding or encoding.
pub type WireResult<T> = core::result::Result<T, WireError>;

/// A fixed-width integer field.
pub trait Field: Copy {
    /// Width in bytes.
    const SIZE: usize;
    /// Reads the field at `off`, or `None` past the end of `buf`.
    fn get(buf: &[u8], off: usize) -> Option<Self>;
    /// Writes the field at `off`, or `None` past the end of `buf`.
    fn put(self, buf: &mut [u8], off: usize) -> Option<()>;
}

macro_rules! impl_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn get(buf: &[u8], off: usize) -> Option<Self> {
                let bytes = buf.get(off..off.checked_add(Self::SIZE)?)?;
                Some(<$t>::from_ne_bytes(bytes.try_into().ok()?))
            }
            fn put(self, buf: &mut [u8], off: usize) -> Option<()> {
                let dst = buf.get_mut(off..off.checked_add(Self::SIZE)?)?;
                dst.copy_from_slice(&self.to_ne_bytes());
                Some(())
            }
        }
    )*};
}
impl_field!(u16, u32, u64, i32);

/// Declares a fixed-layout wire structure: the Rust struct, its size, its
/// C name and field list (for the C header check), and its codec. Fields are
/// laid out in order without implicit padding; a compile-time check rejects
/// a field that would not be naturally aligned, so the C struct of the same
/// fields has the same layout.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $cname:literal {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )+
        }

        impl $name {
            /// Name of the C struct in `include/fuse_fsnotify.h`.
            pub const C_NAME: &'static str = $cname;
            /// Field names and widths, in wire order.
            pub const FIELDS: &'static [(&'static str, usize)] =
                &[$( (stringify!($field), <$ty as Field>::SIZE), )+];
            /// Size on the wire.
            pub const SIZE: usize = 0 $( + <$ty as Field>::SIZE )+;

            const _ALIGNED: () = {
                let mut off = 0;
                let mut i = 0;
                while i < Self::FIELDS.len() {
                    assert!(off % Self::FIELDS[i].1 == 0, "unaligned wire field");
                    off += Self::FIELDS[i].1;
                    i += 1;
                }
                assert!(off % 8 == 0, "wire struct size not a multiple of 8");
            };

            /// Decodes from the start of `buf`.
            pub fn read(buf: &[u8]) -> WireResult<Self> {
                let () = Self::_ALIGNED;
                let mut off = 0;
                $(
                    let $field = <$ty as Field>::get(buf, off).ok_or(WireError::Truncated)?;
                    off += <$ty as Field>::SIZE;
                )+
                let _ = off;
                Ok(Self { $( $field, )+ })
            }

            /// Encodes at the start of `buf`.
            pub fn write(&self, buf: &mut [u8]) -> WireResult<()> {
                let mut off = 0;
                $(
                    self.$field.put(buf, off).ok_or(WireError::Oversize)?;
                    off += <$ty as Field>::SIZE;
                )+
                let _ = off;
                Ok(())
            }
        }
    };
}

wire_struct! {
    /// `FUSE_FSNOTIFY_MARK` request header, followed by `count`
    /// [`MarkEntry`]s. A request with `count == 0` is the probe.
    pub struct MarkIn = "fuse_fsnotify_mark_in" {
        /// [`VERSION`].
        version: u32,
        /// Number of entries that follow.
        count: u32,
        /// [`MARK_RESYNC`] or 0.
        flags: u32,
        /// Zero.
        reserved: u32,
    }
}

wire_struct! {
    /// One remote watch: the combined mask the client wants for an object.
    pub struct MarkEntry = "fuse_fsnotify_mark_entry" {
        /// FUSE nodeid of the watched object.
        nodeid: u64,
        /// [`mask::MARK`] bits; 0 removes the remote watch.
        mask: u32,
        /// Zero.
        reserved: u32,
    }
}

wire_struct! {
    /// `FUSE_FSNOTIFY_MARK` reply header, followed by one [`MarkResult`] per
    /// request entry, in order.
    pub struct MarkOut = "fuse_fsnotify_mark_out" {
        /// The server's [`VERSION`].
        version: u32,
        /// Number of results that follow (the request's `count`).
        count: u32,
        /// All event bits this server can report.
        supported: u32,
        /// Most entries the server accepts in one request.
        max_entries: u32,
    }
}

wire_struct! {
    /// Outcome of one [`MarkEntry`].
    pub struct MarkResult = "fuse_fsnotify_mark_result" {
        /// The subset of the requested mask the server will report.
        mask: u32,
        /// 0, or a negative errno (`-ENOENT`: unknown nodeid, `-EINVAL`:
        /// unknown mask bits).
        error: i32,
    }
}

wire_struct! {
    /// `FUSE_FSNOTIFY_POLL` request.
    pub struct PollIn = "fuse_fsnotify_poll_in" {
        /// [`VERSION`].
        version: u32,
        /// Size of the client's reply buffer; the server's batch never
        /// exceeds it (nor [`MAX_BATCH_SIZE`]).
        max_size: u32,
        /// Complete the poll after this many milliseconds even without
        /// events (with an empty batch); 0: wait for events. Lets a client
        /// stop polling promptly (e.g. to unload) without a new request.
        timeout_ms: u32,
        /// Zero.
        reserved: u32,
    }
}

wire_struct! {
    /// `FUSE_FSNOTIFY_POLL` reply header, followed by `length` bytes of
    /// records.
    pub struct BatchHeader = "fuse_fsnotify_batch" {
        /// [`VERSION`].
        version: u32,
        /// [`BATCH_OVERFLOW`] or 0.
        flags: u32,
        /// 1 for the first batch of a connection, then +1 per batch.
        seq: u64,
        /// Number of records.
        count: u32,
        /// Bytes of records after this header.
        length: u32,
    }
}

wire_struct! {
    /// Common head of every record.
    pub struct RecordHeader = "fuse_fsnotify_record" {
        /// [`RECORD_EVENT`], [`RECORD_RENAME`], or a future type, which a
        /// receiver skips.
        rtype: u16,
        /// Total length of the record including this header and the padding
        /// of its names: a multiple of 8.
        length: u16,
        /// fsnotify bits of the event.
        mask: u32,
    }
}

wire_struct! {
    /// Fixed part of an event record after its [`RecordHeader`], followed
    /// by `namelen` bytes of name and zero padding to a multiple of 8.
    pub struct EventBody = "fuse_fsnotify_event" {
        /// The object the event is about; 0 if the client does not know it.
        nodeid: u64,
        /// For a named event, the directory that holds the name; else 0.
        parent: u64,
        /// Length of the name; 0 for an event about `nodeid` itself.
        namelen: u32,
        /// Zero.
        reserved: u32,
    }
}

wire_struct! {
    /// Fixed part of a rename record after its [`RecordHeader`], followed by
    /// the old name, the new name and zero padding to a multiple of 8.
    pub struct RenameBody = "fuse_fsnotify_rename" {
        /// The moved object; 0 if the client does not know it.
        nodeid: u64,
        /// Directory the name left; 0 if the client does not know it.
        old_parent: u64,
        /// Directory the name entered; 0 if the client does not know it.
        new_parent: u64,
        /// Length of the old name (0 iff `old_parent` is 0).
        old_namelen: u16,
        /// Length of the new name (0 iff `new_parent` is 0).
        new_namelen: u16,
        /// Zero.
        reserved: u32,
    }
}

/// A decoded record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// One event. Without a name it is about `nodeid` itself (mask in
    /// [`mask::SELF`]); with a name it is about the entry `name` of the
    /// directory `parent` (mask in [`mask::NAMED`]) and `nodeid`, if not 0,
    /// is the object behind that name.
    Event {
        /// Exactly one event type, plus [`mask::ISDIR`] for a directory.
        mask: u32,
        /// See [`EventBody::nodeid`].
        nodeid: u64,
        /// See [`EventBody::parent`].
        parent: u64,
        /// Empty, or a valid name.
        name: &'a [u8],
    },
    /// A rename: the client reports `MOVED_FROM` on `old_parent`, `MOVED_TO`
    /// on `new_parent` (with one cookie), and `MOVE_SELF` on `nodeid`.
    Rename {
        /// 0 or [`mask::ISDIR`].
        mask: u32,
        /// See [`RenameBody::nodeid`].
        nodeid: u64,
        /// See [`RenameBody::old_parent`].
        old_parent: u64,
        /// Valid name if `old_parent` is not 0, else empty.
        old_name: &'a [u8],
        /// See [`RenameBody::new_parent`].
        new_parent: u64,
        /// Valid name if `new_parent` is not 0, else empty.
        new_name: &'a [u8],
    },
    /// A record type this version does not know; skipped.
    Unknown {
        /// Its type.
        rtype: u16,
    },
}

/// Checks a directory entry name: 1 to [`NAME_MAX`] bytes, not `.` or `..`,
/// no `/` and no NUL.
pub fn check_name(name: &[u8]) -> WireResult<()> {
    if name.is_empty()
        || name.len() > NAME_MAX
        || name == b"."
        || name == b".."
        || name.iter().any(|&c| c == b'/' || c == 0)
    {
        return Err(WireError::Name);
    }
    Ok(())
}

/// Rounds `n` up to a multiple of 8, or `None` on overflow.
const fn pad8(n: usize) -> Option<usize> {
    match n.checked_add(7) {
        Some(v) => Some(v & !7),
        None => None,
    }
}

/// Checks an event mask: exactly one event type out of `allowed`, and no
/// bits other than [`mask::ISDIR`].
fn check_event_mask(m: u32, allowed: u32) -> WireResult<()> {
    let kind = m & !mask::ISDIR;
    if kind.count_ones() != 1 || kind & !allowed != 0 {
        return Err(WireError::Mask);
    }
    Ok(())
}

impl Record<'_> {
    /// Checks the semantic rules of a record (shared by encoder and decoder).
    pub fn validate(&self) -> WireResult<()> {
        match *self {
            Record::Event {
                mask: m,
                nodeid,
                parent,
                name,
            } => {
                if name.is_empty() {
                    check_event_mask(m, mask::SELF)?;
                    if nodeid == 0 || parent != 0 {
                        return Err(WireError::Nodeid);
                    }
                } else {
                    check_event_mask(m, mask::NAMED)?;
                    check_name(name)?;
                    if parent == 0 {
                        return Err(WireError::Nodeid);
                    }
                }
            }
            Record::Rename {
                mask: m,
                nodeid,
                old_parent,
                old_name,
                new_parent,
                new_name,
            } => {
                if m & !mask::ISDIR != 0 {
                    return Err(WireError::Mask);
                }
                if nodeid == 0 && old_parent == 0 && new_parent == 0 {
                    return Err(WireError::Nodeid);
                }
                for (parent, name) in [(old_parent, old_name), (new_parent, new_name)] {
                    if parent == 0 {
                        if !name.is_empty() {
                            return Err(WireError::Name);
                        }
                    } else {
                        check_name(name)?;
                    }
                }
            }
            Record::Unknown { .. } => {}
        }
        Ok(())
    }

    /// Bytes this record takes on the wire.
    pub fn wire_len(&self) -> usize {
        let n = match self {
            Record::Event { name, .. } => RecordHeader::SIZE + EventBody::SIZE + name.len(),
            Record::Rename {
                old_name, new_name, ..
            } => RecordHeader::SIZE + RenameBody::SIZE + old_name.len() + new_name.len(),
            Record::Unknown { .. } => RecordHeader::SIZE,
        };
        // Names are at most NAME_MAX bytes, so this cannot overflow.
        pad8(n).unwrap_or(usize::MAX)
    }
}

/// Returns `buf[off..off + len]` as long as it is in bounds.
fn slice(buf: &[u8], off: usize, len: usize) -> WireResult<&[u8]> {
    buf.get(off..off.checked_add(len).ok_or(WireError::Length)?)
        .ok_or(WireError::Length)
}

/// Decodes one record at the start of `buf`; returns it and its length.
fn decode_record(buf: &[u8]) -> WireResult<(Record<'_>, usize)> {
    let hdr = RecordHeader::read(buf)?;
    let len = usize::from(hdr.length);
    if len < RecordHeader::SIZE || len % 8 != 0 {
        return Err(WireError::Length);
    }
    if len > buf.len() {
        return Err(WireError::Truncated);
    }
    let rec = buf.get(..len).ok_or(WireError::Truncated)?;
    let body = rec.get(RecordHeader::SIZE..).ok_or(WireError::Length)?;
    let (record, used) = match hdr.rtype {
        RECORD_EVENT => {
            let ev = EventBody::read(body).map_err(|_| WireError::Length)?;
            if ev.reserved != 0 {
                return Err(WireError::Reserved);
            }
            let namelen = usize::try_from(ev.namelen).map_err(|_| WireError::Name)?;
            if namelen > NAME_MAX {
                return Err(WireError::Name);
            }
            let name = slice(body, EventBody::SIZE, namelen)?;
            let r = Record::Event {
                mask: hdr.mask,
                nodeid: ev.nodeid,
                parent: ev.parent,
                name,
            };
            (r, RecordHeader::SIZE + EventBody::SIZE + namelen)
        }
        RECORD_RENAME => {
            let rn = RenameBody::read(body).map_err(|_| WireError::Length)?;
            if rn.reserved != 0 {
                return Err(WireError::Reserved);
            }
            let (ol, nl) = (usize::from(rn.old_namelen), usize::from(rn.new_namelen));
            if ol > NAME_MAX || nl > NAME_MAX {
                return Err(WireError::Name);
            }
            let old_name = slice(body, RenameBody::SIZE, ol)?;
            let new_name = slice(body, RenameBody::SIZE + ol, nl)?;
            let r = Record::Rename {
                mask: hdr.mask,
                nodeid: rn.nodeid,
                old_parent: rn.old_parent,
                old_name,
                new_parent: rn.new_parent,
                new_name,
            };
            (r, RecordHeader::SIZE + RenameBody::SIZE + ol + nl)
        }
        rtype => return Ok((Record::Unknown { rtype }, len)),
    };
    // The record must be exactly its contents padded to 8, with zero padding:
    // slack could hide data a later version gives meaning to.
    if pad8(used) != Some(len) {
        return Err(WireError::Length);
    }
    if rec
        .get(used..)
        .ok_or(WireError::Length)?
        .iter()
        .any(|&b| b != 0)
    {
        return Err(WireError::Reserved);
    }
    record.validate()?;
    Ok((record, len))
}

/// A decoded batch: its header and an iterator over its records.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// The header, checked for version, flags and length.
    pub header: BatchHeader,
    records: &'a [u8],
    remaining: u32,
    failed: bool,
}

impl<'a> Batch<'a> {
    /// Checks the header of a `FUSE_FSNOTIFY_POLL` reply of `buf.len()`
    /// bytes. The records are checked one by one by the iterator.
    pub fn parse(buf: &'a [u8]) -> WireResult<Self> {
        let header = BatchHeader::read(buf)?;
        if header.version != VERSION {
            return Err(WireError::Version);
        }
        if header.flags & !BATCH_OVERFLOW != 0 {
            return Err(WireError::Flags);
        }
        if buf.len() > MAX_BATCH_SIZE {
            return Err(WireError::Oversize);
        }
        let length = usize::try_from(header.length).map_err(|_| WireError::Length)?;
        let records = buf.get(BatchHeader::SIZE..).ok_or(WireError::Truncated)?;
        if length > records.len() {
            return Err(WireError::Truncated);
        }
        if length < records.len() {
            return Err(WireError::Oversize);
        }
        // Each record takes at least 8 bytes.
        if usize::try_from(header.count).map_or(true, |c| c > length / RecordHeader::SIZE) {
            return Err(WireError::Length);
        }
        Ok(Self {
            header,
            records,
            remaining: header.count,
            failed: false,
        })
    }
}

impl<'a> Iterator for Batch<'a> {
    type Item = WireResult<Record<'a>>;

    /// Yields each record; after the first error it stops, because the
    /// lengths of what follows cannot be trusted. Bytes left after `count`
    /// records are an error too.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.remaining == 0 {
            if self.records.is_empty() {
                return None;
            }
            self.failed = true;
            return Some(Err(WireError::Oversize));
        }
        match decode_record(self.records) {
            Ok((rec, len)) => {
                self.records = self.records.get(len..).unwrap_or(&[]);
                self.remaining -= 1;
                Some(Ok(rec))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Builds a batch in a caller-provided buffer (server side).
#[derive(Debug)]
pub struct BatchWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
    count: u32,
}

impl<'a> BatchWriter<'a> {
    /// Starts a batch in `buf`, which must hold at least the header.
    pub fn new(buf: &'a mut [u8]) -> WireResult<Self> {
        if buf.len() < BatchHeader::SIZE {
            return Err(WireError::Oversize);
        }
        let cap = buf.len().min(MAX_BATCH_SIZE);
        Ok(Self {
            buf: buf.get_mut(..cap).ok_or(WireError::Oversize)?,
            len: BatchHeader::SIZE,
            count: 0,
        })
    }

    /// Number of records written so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether `record` would still fit.
    pub fn fits(&self, record: &Record<'_>) -> bool {
        self.len.saturating_add(record.wire_len()) <= self.buf.len()
    }

    /// Appends a record. Fails with [`WireError::Oversize`] if it does not
    /// fit (the batch is unchanged), or with the validation error of an
    /// invalid record, so a server cannot send what a client would reject.
    pub fn push(&mut self, record: &Record<'_>) -> WireResult<()> {
        record.validate()?;
        let total = record.wire_len();
        if !self.fits(record) {
            return Err(WireError::Oversize);
        }
        let length = u16::try_from(total).map_err(|_| WireError::Oversize)?;
        let out = self
            .buf
            .get_mut(self.len..self.len + total)
            .ok_or(WireError::Oversize)?;
        out.fill(0);
        let (rtype, m) = match *record {
            Record::Event { mask, .. } => (RECORD_EVENT, mask),
            Record::Rename { mask, .. } => (RECORD_RENAME, mask),
            Record::Unknown { .. } => return Err(WireError::Mask),
        };
        RecordHeader {
            rtype,
            length,
            mask: m,
        }
        .write(out)?;
        let body = out
            .get_mut(RecordHeader::SIZE..)
            .ok_or(WireError::Oversize)?;
        match *record {
            Record::Event {
                nodeid,
                parent,
                name,
                ..
            } => {
                EventBody {
                    nodeid,
                    parent,
                    // At most NAME_MAX after validate().
                    namelen: name.len() as u32,
                    reserved: 0,
                }
                .write(body)?;
                put_bytes(body, EventBody::SIZE, name)?;
            }
            Record::Rename {
                nodeid,
                old_parent,
                old_name,
                new_parent,
                new_name,
                ..
            } => {
                RenameBody {
                    nodeid,
                    old_parent,
                    new_parent,
                    old_namelen: old_name.len() as u16,
                    new_namelen: new_name.len() as u16,
                    reserved: 0,
                }
                .write(body)?;
                put_bytes(body, RenameBody::SIZE, old_name)?;
                put_bytes(body, RenameBody::SIZE + old_name.len(), new_name)?;
            }
            Record::Unknown { .. } => {}
        }
        self.len += total;
        self.count += 1;
        Ok(())
    }

    /// Writes the header and returns the batch's total length.
    pub fn finish(self, seq: u64, flags: u32) -> WireResult<usize> {
        BatchHeader {
            version: VERSION,
            flags,
            seq,
            count: self.count,
            length: u32::try_from(self.len - BatchHeader::SIZE).map_err(|_| WireError::Oversize)?,
        }
        .write(self.buf)?;
        Ok(self.len)
    }
}

fn put_bytes(buf: &mut [u8], off: usize, bytes: &[u8]) -> WireResult<()> {
    buf.get_mut(off..off + bytes.len())
        .ok_or(WireError::Oversize)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Decodes a `FUSE_FSNOTIFY_MARK` request (server side): the header and an
/// iterator over its entries. The entries' masks are the server's to judge
/// (per-entry `-EINVAL`); this checks only the structure.
pub fn parse_mark_request(
    buf: &[u8],
) -> WireResult<(MarkIn, impl Iterator<Item = MarkEntry> + '_)> {
    let hdr = MarkIn::read(buf)?;
    if hdr.version != VERSION {
        return Err(WireError::Version);
    }
    if hdr.flags & !MARK_RESYNC != 0 {
        return Err(WireError::Flags);
    }
    if hdr.reserved != 0 {
        return Err(WireError::Reserved);
    }
    let body = buf.get(MarkIn::SIZE..).ok_or(WireError::Truncated)?;
    let want = usize::try_from(hdr.count)
        .ok()
        .and_then(|c| c.checked_mul(MarkEntry::SIZE))
        .ok_or(WireError::Length)?;
    if body.len() < want {
        return Err(WireError::Truncated);
    }
    if body.len() > want {
        return Err(WireError::Oversize);
    }
    Ok((
        hdr,
        body.chunks_exact(MarkEntry::SIZE)
            .filter_map(|c| MarkEntry::read(c).ok()),
    ))
}

/// Decodes a `FUSE_FSNOTIFY_MARK` reply (client side) for a request of
/// `count` entries: the header and an iterator over the results.
pub fn parse_mark_reply(
    buf: &[u8],
    count: u32,
) -> WireResult<(MarkOut, impl Iterator<Item = MarkResult> + '_)> {
    let hdr = MarkOut::read(buf)?;
    if hdr.version != VERSION {
        return Err(WireError::Version);
    }
    if hdr.count != count {
        return Err(WireError::Length);
    }
    let body = buf.get(MarkOut::SIZE..).ok_or(WireError::Truncated)?;
    let want = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(MarkResult::SIZE))
        .ok_or(WireError::Length)?;
    if body.len() < want {
        return Err(WireError::Truncated);
    }
    if body.len() > want {
        return Err(WireError::Oversize);
    }
    Ok((
        hdr,
        body.chunks_exact(MarkResult::SIZE)
            .filter_map(|c| MarkResult::read(c).ok()),
    ))
}
