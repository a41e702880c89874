// SPDX-License-Identifier: GPL-2.0

//! The FUSE side: inode and mount accessors, and background requests.
//!
//! All raw FUSE access of the module is here. Layouts come from bindgen over
//! `fs/fuse/fuse_i.h` of the tree being built. Requests are sent with the
//! exported `fuse_simple_background()`: the `fuse_args`, the request and
//! reply buffers and the completion context live in one [`Request`]
//! allocation that the end callback frees, so a reply that arrives after
//! anything else is gone still finds valid memory. The end callback runs in
//! process context (the server's write on `/dev/fuse`, a virtiofs worker, or
//! the connection abort) and only hands the reply to [`Conn::on_reply`].
//!
//! The rest are the calls event injection needs, each a small wrapper that
//! states its contract: `fc->killsb` held for read ([`KillsbRead`]),
//! referenced inodes ([`InodeRef`]), NUL-terminated names ([`Name`]).

use crate::bindings as b;
use crate::conn::{Conn, Kind};
use kernel::alloc::{flags, KBox, KVec};
use kernel::prelude::*;
use kernel::sync::Arc;

/// The FUSE mount of a FUSE superblock (`sb->s_fs_info`).
///
/// # Safety
///
/// `sb` must be a live FUSE superblock.
pub(crate) unsafe fn mount_of(sb: *mut b::super_block) -> *mut b::fuse_mount {
    // SAFETY: the caller guarantees `sb` is a live FUSE superblock, whose
    // `s_fs_info` is its `struct fuse_mount` (get_fuse_mount_super()).
    unsafe { (*sb).s_fs_info.cast() }
}

/// The nodeid of an inode of a FUSE superblock (`get_node_id()`).
///
/// # Safety
///
/// `inode` must be a live inode of a FUSE superblock.
pub(crate) unsafe fn nodeid_of(inode: *const b::inode) -> u64 {
    let off = core::mem::offset_of!(b::fuse_inode, inode);
    // SAFETY: a FUSE inode is embedded in its `struct fuse_inode`
    // (get_fuse_inode() is container_of()); `nodeid` is fixed for the
    // inode's life.
    unsafe {
        let fi = inode.cast::<u8>().sub(off).cast::<b::fuse_inode>();
        (*fi).nodeid
    }
}

/// A background request of ours in flight. `args` must stay first: the end
/// callback gets a pointer to it and turns it back into the `Request`.
#[repr(C)]
pub(crate) struct Request {
    args: b::fuse_args,
    input: KVec<u8>,
    output: KVec<u8>,
    conn: Arc<Conn>,
    kind: Kind,
}

impl Request {
    /// A request with `opcode` on the root nodeid, sending `input` and
    /// accepting a reply of up to `out_size` bytes.
    pub(crate) fn new(
        opcode: u32,
        input: KVec<u8>,
        out_size: usize,
        conn: Arc<Conn>,
        kind: Kind,
    ) -> Result<KBox<Self>> {
        let output = KVec::from_elem(0u8, out_size, flags::GFP_KERNEL)?;
        let mut args = b::fuse_args {
            nodeid: crate::wire::FUSE_ROOT_ID,
            opcode,
            in_numargs: 1,
            out_numargs: 1,
            end: Some(request_end),
            ..Default::default()
        };
        // The reply may be shorter than the buffer (a variable-size batch).
        args.set_out_argvar(true);
        let mut req = KBox::new(
            Self {
                args,
                input,
                output,
                conn,
                kind,
            },
            flags::GFP_KERNEL,
        )?;
        let in_len = u32::try_from(req.input.len())?;
        let out_len = u32::try_from(req.output.len())?;
        let in_ptr = req.input.as_ptr();
        let out_ptr = req.output.as_mut_ptr();
        req.args.in_args[0] = b::fuse_in_arg {
            size: in_len,
            value: in_ptr.cast(),
        };
        req.args.out_args[0] = b::fuse_arg {
            size: out_len,
            value: out_ptr.cast(),
        };
        Ok(req)
    }

    /// Takes the completion context back from a request that was not sent.
    pub(crate) fn into_kind(self: KBox<Self>) -> Kind {
        KBox::into_inner(self).kind
    }

    /// Sends the request in the background. On failure the request comes
    /// back with the (negative) errno; on success its end callback will run
    /// exactly once.
    pub(crate) fn send(
        self: KBox<Self>,
        fm: *mut b::fuse_mount,
    ) -> core::result::Result<(), (KBox<Self>, i32)> {
        let raw = KBox::into_raw(self);
        // SAFETY: `fm` is the live mount of the connection (the caller checks
        // the connection is not dead under its lock, and the superblock
        // outlives the connection's work); `raw` is a valid, exclusively
        // owned `Request` whose `args` point into its own buffers, which do
        // not move (the allocation is stable until `request_end` frees it).
        let ret = unsafe {
            b::fuse_simple_background(fm, core::ptr::addr_of_mut!((*raw).args), b::GFP_KERNEL)
        };
        if ret != 0 {
            // SAFETY: on failure fuse did not keep `args`, and `raw` came
            // from `KBox::into_raw` above.
            return Err((unsafe { KBox::from_raw(raw) }, ret));
        }
        Ok(())
    }
}

/// `fuse_args::end` of all our requests.
///
/// # Safety
///
/// Called by FUSE once per request sent with [`Request::send`], with the
/// `args` of that request.
unsafe extern "C" fn request_end(_fm: *mut b::fuse_mount, args: *mut b::fuse_args, error: i32) {
    // SAFETY: `args` is the first field of a `#[repr(C)]` `Request` that
    // `send` leaked with `KBox::into_raw`; FUSE calls this exactly once.
    let req = unsafe { KBox::from_raw(args.cast::<Request>()) };
    let Request {
        args,
        output,
        conn,
        kind,
        ..
    } = KBox::into_inner(req);
    // `args` pointed into `input`, which is freed with this frame: FUSE is
    // done with both.
    let len = (args.out_args[0].size as usize).min(output.len());
    let reply = if error == 0 {
        Ok((output, len))
    } else {
        Err(error)
    };
    conn.on_reply(kind, reply);
}

/// `fc->killsb` held for read: what the FUSE notification path holds while
/// it looks up inodes and invalidates, and what our injection holds too.
pub(crate) struct KillsbRead {
    fc: *mut b::fuse_conn,
}

impl KillsbRead {
    /// Takes `fc->killsb` for read (sleeps).
    ///
    /// # Safety
    ///
    /// `fc` must be a connection we hold a reference on.
    pub(crate) unsafe fn new(fc: *mut b::fuse_conn) -> Self {
        // SAFETY: `fc` is pinned by the caller's reference; `killsb` is an
        // initialised rw_semaphore.
        unsafe { b::down_read(core::ptr::addr_of_mut!((*fc).killsb)) };
        Self { fc }
    }

    /// The cached inode of `nodeid`, referenced, if the kernel has one.
    pub(crate) fn ilookup(&self, nodeid: u64) -> Option<InodeRef> {
        // SAFETY: `killsb` is held, as fuse_ilookup() requires.
        let inode = unsafe { b::fuse_ilookup(self.fc, nodeid, core::ptr::null_mut()) };
        // Built only for a non-NULL inode: `then_some` would build (and
        // drop, iput) the reference either way.
        (!inode.is_null()).then(|| InodeRef(inode))
    }

    /// Drops the cached attributes and page cache of `nodeid`.
    pub(crate) fn inval_inode(&self, nodeid: u64) {
        // SAFETY: `killsb` is held; offset 0, length 0: the whole file.
        let _ = unsafe { b::fuse_reverse_inval_inode(self.fc, nodeid, 0, 0) };
    }

    /// Invalidates the entry `name` of directory `parent` and the
    /// directory's attributes.
    pub(crate) fn inval_entry(&self, parent: u64, name: &Name) {
        let mut q = name.qstr();
        // SAFETY: `killsb` is held; `q` points into `name`, NUL-terminated,
        // alive for the call; child nodeid 0: invalidate only (no local
        // d_delete, which would report a second deletion).
        let _ = unsafe { b::fuse_reverse_inval_entry(self.fc, parent, 0, &mut q, 0) };
    }
}

impl Drop for KillsbRead {
    fn drop(&mut self) {
        // SAFETY: taken for read in `new`.
        unsafe { b::up_read(core::ptr::addr_of_mut!((*self.fc).killsb)) };
    }
}

/// A referenced inode (`iput()` on drop).
pub(crate) struct InodeRef(*mut b::inode);

// SAFETY: an inode reference may be dropped (iput) from any task in
// process context; the pointer itself is just an address.
unsafe impl Send for InodeRef {}

impl InodeRef {
    /// Takes an extra reference on `inode` (atomic context is fine).
    ///
    /// # Safety
    ///
    /// `inode` must be live and already referenced by the caller
    /// (`ihold()` requires a non-zero count).
    pub(crate) unsafe fn hold(inode: *mut b::inode) -> Self {
        // SAFETY: the caller guarantees a live, referenced inode.
        unsafe { b::ihold(inode) };
        Self(inode)
    }

    /// Whether it is a directory.
    pub(crate) fn isdir_mask(&self) -> u32 {
        // SAFETY: we hold a reference; `i_mode` does not change.
        if u32::from(unsafe { (*self.0).i_mode }) & b::S_IFMT == b::S_IFDIR {
            b::FS_ISDIR
        } else {
            0
        }
    }

    /// Reports `mask` to the marks of this inode (and, with `dir` and
    /// `name`, to the directory's marks as an event on a named child).
    pub(crate) fn notify(&self, mask: u32, dir: Option<(&InodeRef, &Name)>, cookie: u32) {
        report(mask, self, dir, Some(self), cookie);
    }

    /// Reports the death of the object (`FS_DELETE_SELF`) and destroys its
    /// marks (inotify then reports `IN_IGNORED`).
    pub(crate) fn delete_self(&self, isdir: u32) {
        report(b::FS_DELETE_SELF | isdir, self, None, Some(self), 0);
        // SAFETY: we hold a reference on the inode.
        unsafe { b::__fsnotify_inode_delete(self.0) };
    }

    /// Whether the guest still has a (hashed) dentry of the object: true
    /// until an unlink of its last name has completed locally.
    pub(crate) fn has_alias(&self) -> bool {
        // SAFETY: we hold a reference on the inode; d_find_alias() returns
        // a referenced hashed dentry or NULL, which `DentryRef` puts.
        let d = DentryRef(unsafe { b::d_find_alias(self.0) });
        !d.0.is_null()
    }

    /// Whether the guest has dropped the object's last link: its own
    /// unlink or rename over it is in progress or done.
    pub(crate) fn unlinked(&self) -> bool {
        // SAFETY: we hold a reference; the link count is read racily, as
        // the VFS reads it outside the inode lock.
        unsafe { core::ptr::read_volatile(&(*self.0).__bindgen_anon_1.i_nlink) == 0 }
    }

    /// Whether a mark on this inode or its superblock asks for an event
    /// in `mask`.
    pub(crate) fn wants(&self, mask: u32) -> bool {
        // SAFETY: we hold a reference; the masks are read racily, as
        // fsnotify() itself does (READ_ONCE), and `i_sb` is fixed.
        let m = unsafe {
            core::ptr::read_volatile(&(*self.0).i_fsnotify_mask)
                | core::ptr::read_volatile(&(*(*self.0).i_sb).s_fsnotify_mask)
        };
        m & mask != 0
    }

    /// The dentry of the entry `name` of this directory, looked up (which
    /// asks the server if it is not cached, and so instantiates the
    /// object), if the entry exists. Process context, may sleep.
    pub(crate) fn lookup_child(&self, name: &Name) -> Option<DentryRef> {
        // Any alias, even an unhashed one (after a remote rename of an
        // ancestor the invalidation may have dropped the directory's
        // dentry), else a new disconnected one, as for NFS file handles:
        // d_obtain_alias() does both. A lookup under it reaches the server
        // by nodeid, and the moved dentry's parent is this directory,
        // which is what FAN_RENAME reports.
        // SAFETY: we hold a reference, so ihold() may take another;
        // d_obtain_alias() takes that one over (or drops it) and returns a
        // referenced dentry or an error pointer.
        let d = unsafe {
            b::ihold(self.0);
            b::d_obtain_alias(self.0)
        };
        if is_err(d) {
            return None;
        }
        let dir = DentryRef(d);
        // SAFETY: `dir` is a referenced dentry of this directory; the name
        // is valid for the call (a checked name: no '/', not '.' or '..');
        // the lookup takes the directory's lock itself. The result is a
        // referenced positive dentry or an error pointer.
        let d = unsafe {
            b::lookup_one_positive_unlocked(
                core::ptr::addr_of_mut!(b::nop_mnt_idmap),
                name.buf.as_ptr().cast(),
                dir.0,
                name.len as i32,
            )
        };
        // Built only for a dentry: `then_some` would build the reference
        // either way and dput() the error pointer when dropping it.
        (!is_err(d)).then(|| DentryRef(d))
    }

    /// Queues an overflow event to every group watching this inode.
    pub(crate) fn queue_overflow(&self) {
        // SAFETY: we hold a reference on the inode.
        unsafe { b::fsnotify_queue_overflow_inode(self.0) };
    }
}

impl Drop for InodeRef {
    fn drop(&mut self) {
        // SAFETY: the reference was taken by fuse_ilookup().
        unsafe { b::iput(self.0) };
    }
}

/// Whether `p` is an error pointer (`IS_ERR()`): the last page of the
/// address space.
fn is_err<T>(p: *mut T) -> bool {
    (p as usize) >= (-(b::MAX_ERRNO as isize)) as usize
}

/// A dentry reference (NULL allowed), dropped with `dput()`.
pub(crate) struct DentryRef(*mut b::dentry);

impl DentryRef {
    /// The dentry's inode, referenced, if it is positive.
    pub(crate) fn inode(&self) -> Option<InodeRef> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: a referenced dentry; `d_inode` of a positive dentry we
        // hold a reference on stays valid (and referenced by the dentry)
        // until dput(), so ihold() may take another reference.
        let inode = unsafe { (*self.0).d_inode };
        // SAFETY: see above; NULL (a negative dentry) is not held.
        (!inode.is_null()).then(|| unsafe { InodeRef::hold(inode) })
    }
}

impl Drop for DentryRef {
    fn drop(&mut self) {
        // SAFETY: a referenced dentry or NULL, which dput() ignores.
        unsafe { b::dput(self.0) };
    }
}

/// Reports `FS_RENAME` (fanotify's `FAN_RENAME`) of the entry `old_name`
/// of `old_dir` to `moved`, whose parent and name are the new ones, as
/// `fsnotify_move()` does.
pub(crate) fn notify_rename(mask: u32, moved: &DentryRef, old_dir: &InodeRef, old_name: &Name) {
    let q = old_name.qstr();
    // SAFETY: `moved` and `old_dir` are referenced; `q` points into
    // `old_name` for the call. A NULL inode makes it a dirent event on
    // `old_dir` and, for FS_RENAME, on the moved dentry's parent.
    unsafe {
        b::fsnotify(
            mask,
            moved.0 as *const core::ffi::c_void,
            b::fsnotify_data_type_FSNOTIFY_EVENT_DENTRY as i32,
            old_dir.0,
            &q,
            core::ptr::null_mut(),
            0,
        )
    };
}

/// Reports a directory-entry event (`CREATE`, `DELETE`, `MOVED_*`) on
/// `dir` for `name`; `child` is the object behind it if it is cached.
pub(crate) fn notify_dirent(
    mask: u32,
    dir: &InodeRef,
    name: &Name,
    child: Option<&InodeRef>,
    cookie: u32,
) {
    let data = child.unwrap_or(dir);
    let q = name.qstr();
    // SAFETY: the inodes are referenced; `q` points into `name` for the
    // call. With `inode` NULL, fsnotify() reports to `dir`'s marks.
    unsafe {
        b::fsnotify(
            mask,
            data.0 as *const core::ffi::c_void,
            b::fsnotify_data_type_FSNOTIFY_EVENT_INODE as i32,
            dir.0,
            &q,
            core::ptr::null_mut(),
            cookie,
        )
    };
}

/// Reports an event on the child `name` of `dir` that has no cached inode:
/// only the directory's watchers of children can see it (patches/0004).
pub(crate) fn notify_uncached_child(mask: u32, dir: &InodeRef, name: &Name) {
    let q = name.qstr();
    // SAFETY: `dir` is referenced, `q` points into `name` for the call. A
    // NULL inode with FS_EVENT_ON_CHILD reports on the parent only.
    unsafe {
        b::fsnotify(
            mask | b::FS_EVENT_ON_CHILD,
            dir.0 as *const core::ffi::c_void,
            b::fsnotify_data_type_FSNOTIFY_EVENT_INODE as i32,
            dir.0,
            &q,
            core::ptr::null_mut(),
            0,
        )
    };
}

fn report(
    mask: u32,
    data: &InodeRef,
    dir: Option<(&InodeRef, &Name)>,
    inode: Option<&InodeRef>,
    cookie: u32,
) {
    let q = dir.map(|(_, n)| n.qstr());
    let (dir_ptr, mask) = match dir {
        // An event on a child reported to its directory too.
        Some((d, _)) => (d.0, mask | b::FS_EVENT_ON_CHILD),
        None => (core::ptr::null_mut(), mask),
    };
    let qp = q
        .as_ref()
        .map_or(core::ptr::null(), |q| q as *const b::qstr);
    // SAFETY: the inodes are referenced, `qp` is NULL or points into a
    // `Name` alive for the call.
    unsafe {
        b::fsnotify(
            mask,
            data.0 as *const core::ffi::c_void,
            b::fsnotify_data_type_FSNOTIFY_EVENT_INODE as i32,
            dir_ptr,
            qp,
            inode.map_or(core::ptr::null_mut(), |i| i.0),
            cookie,
        )
    };
}

/// A validated entry name, NUL-terminated for the C side.
pub(crate) struct Name {
    buf: [u8; crate::wire::NAME_MAX + 1],
    len: u32,
}

impl Name {
    /// Copies a name that `wire::check_name` accepted.
    pub(crate) fn new(name: &[u8]) -> Option<Self> {
        crate::wire::check_name(name).ok()?;
        let mut buf = [0u8; crate::wire::NAME_MAX + 1];
        buf.get_mut(..name.len())?.copy_from_slice(name);
        Some(Self {
            buf,
            len: name.len() as u32,
        })
    }

    fn qstr(&self) -> b::qstr {
        b::qstr {
            __bindgen_anon_1: b::qstr__bindgen_ty_1 {
                __bindgen_anon_1: b::qstr__bindgen_ty_1__bindgen_ty_1 {
                    hash: 0,
                    len: self.len,
                },
            },
            name: self.buf.as_ptr(),
        }
    }
}

/// A new rename cookie.
pub(crate) fn rename_cookie() -> u32 {
    // SAFETY: no preconditions.
    unsafe { b::fsnotify_get_cookie() }
}
