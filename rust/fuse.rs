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
    let len = (args.out_args[0].size as usize).min(output.len());
    let reply = if error == 0 {
        Ok(output.get(..len).unwrap_or(&[]))
    } else {
        Err(error)
    };
    conn.on_reply(kind, reply);
}
