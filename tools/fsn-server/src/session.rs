//! Request dispatch, common to both transports, and the `/dev/fuse`
//! transport.
//!
//! Our two opcodes go to the client's [`Core`]; everything else to
//! fuse-backend-rs's passthrough server. A `FUSE_FSNOTIFY_POLL` blocks its
//! thread until there are events (a long poll), so a transport always has
//! at least two threads serving requests. `FUSE_INIT` and `FUSE_DESTROY`
//! also tell the [`Client`] that a session starts or ends.
//!
//! Interception works by peeking at the request header on a clone of the
//! reader: fuse-backend-rs answers unknown opcodes with `ENOSYS` and offers
//! no hook, and reimplementing the FUSE protocol to add two opcodes would
//! duplicate a well-tested crate.

use crate::client::Client;
use fsn_wire::{FUSE_FSNOTIFY_MARK, FUSE_FSNOTIFY_POLL};
use fuse_backend_rs::abi::fuse_abi::{InHeader, Opcode};
use fuse_backend_rs::api::server::Server;
use fuse_backend_rs::passthrough::PassthroughFs;
use fuse_backend_rs::transport::{FuseChannel, Reader, Writer};
use std::io::{Read, Write};
use std::sync::Arc;
use vm_memory::bitmap::BitmapSlice;

/// The passthrough server type.
pub type PtServer = Server<Arc<PassthroughFs>>;

/// Size of `struct fuse_out_header`.
const OUT_HEADER: usize = 16;

/// Writes a reply: `fuse_out_header` (error 0) and `body`, or the header
/// alone with a negative errno. Returns the reply's length.
fn reply<S: BitmapSlice>(
    w: &mut Writer<'_, S>,
    unique: u64,
    res: Result<Vec<u8>, i32>,
) -> std::io::Result<usize> {
    let (error, body) = match res {
        Ok(b) => (0, b),
        Err(e) => (e, Vec::new()),
    };
    let len = u32::try_from(OUT_HEADER + body.len())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::E2BIG))?;
    let mut msg = Vec::with_capacity(OUT_HEADER + body.len());
    msg.extend_from_slice(&len.to_ne_bytes());
    msg.extend_from_slice(&error.to_ne_bytes());
    msg.extend_from_slice(&unique.to_ne_bytes());
    msg.extend_from_slice(&body);
    w.write_all(&msg)?;
    w.commit(None)?;
    Ok(msg.len())
}

/// Handles one request from either transport and returns the length of
/// the reply written (0 for requests without a reply, such as `FORGET`).
pub fn handle<S: BitmapSlice>(
    reader: Reader<'_, S>,
    mut writer: Writer<'_, S>,
    server: &PtServer,
    client: &Client,
) -> fuse_backend_rs::Result<usize> {
    let mut peek = reader.clone();
    let hdr = peek
        .read_obj::<InHeader>()
        .map_err(fuse_backend_rs::Error::DecodeMessage)?;
    if hdr.opcode == FUSE_FSNOTIFY_MARK || hdr.opcode == FUSE_FSNOTIFY_POLL {
        let core = client.core();
        let mut body = vec![0u8; peek.available_bytes()];
        let res = match peek.read_exact(&mut body) {
            Err(_) => Err(-libc::EINVAL),
            Ok(()) if hdr.opcode == FUSE_FSNOTIFY_MARK => core.handle_mark(&body),
            Ok(()) => core.handle_poll(&body),
        };
        return reply(&mut writer, hdr.unique, res).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOENT) {
                // The request was aborted meanwhile (unmount, abort).
                tracing::debug!("reply to a request that is gone");
            } else {
                tracing::warn!(%e, opcode = hdr.opcode, "cannot reply");
            }
            fuse_backend_rs::Error::EncodeMessage(e)
        });
    }
    if hdr.opcode == Opcode::Init as u32 {
        client.init();
    } else if hdr.opcode == Opcode::Destroy as u32 {
        client.destroy();
    }
    server.handle_message(reader, writer, None, None)
}

/// Whether the request in `reader` is a `FUSE_FSNOTIFY_POLL`.
pub fn is_poll<S: BitmapSlice>(reader: &Reader<'_, S>) -> bool {
    let mut peek = reader.clone();
    peek.read_obj::<InHeader>()
        .is_ok_and(|h| h.opcode == FUSE_FSNOTIFY_POLL)
}

/// Serves one `/dev/fuse` channel until the connection ends.
pub fn serve(mut ch: FuseChannel, server: &PtServer, client: &Client) {
    loop {
        let (reader, writer) = match ch.get_request() {
            Ok(Some(rw)) => rw,
            Ok(None) => break,
            Err(e) => {
                tracing::info!(%e, "FUSE channel closed");
                break;
            }
        };
        // The reply is written to the channel within handle().
        let poll = is_poll(&reader);
        if poll {
            client.poll_started();
        }
        let res = handle(reader, writer.into(), server, client);
        if poll {
            client.poll_done();
        }
        match res {
            Ok(_) => {}
            Err(fuse_backend_rs::Error::EncodeMessage(e))
                if e.raw_os_error() == Some(libc::EBADF) =>
            {
                break
            }
            Err(e) => tracing::debug!(%e, "FUSE request failed"),
        }
    }
}
