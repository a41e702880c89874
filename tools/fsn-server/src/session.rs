//! The FUSE transport over `/dev/fuse`.
//!
//! Worker threads take requests from the kernel. Our two opcodes go to
//! [`Core`]; everything else to fuse-backend-rs's passthrough server. A
//! `FUSE_FSNOTIFY_POLL` blocks its worker until there are events (a long
//! poll), so there are always at least two workers.
//!
//! Interception works by peeking at the request header on a clone of the
//! reader: fuse-backend-rs answers unknown opcodes with `ENOSYS` and offers
//! no hook, and reimplementing the FUSE protocol to add two opcodes would
//! duplicate a well-tested crate.

use crate::core::Core;
use fsn_wire::{FUSE_FSNOTIFY_MARK, FUSE_FSNOTIFY_POLL};
use fuse_backend_rs::abi::fuse_abi::InHeader;
use fuse_backend_rs::api::server::Server;
use fuse_backend_rs::passthrough::PassthroughFs;
use fuse_backend_rs::transport::{FuseChannel, FuseDevWriter};
use std::io::{Read, Write};
use std::sync::Arc;

/// The passthrough server type.
pub type PtServer = Server<Arc<PassthroughFs>>;

/// Size of `struct fuse_out_header`.
const OUT_HEADER: usize = 16;

/// Writes a reply: `fuse_out_header` (error 0) and `body`, or the header
/// alone with a negative errno.
fn reply(w: &mut FuseDevWriter<'_>, unique: u64, res: Result<Vec<u8>, i32>) -> std::io::Result<()> {
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
    w.commit(None).map(|_| ())
}

/// Serves one channel until the connection ends.
pub fn serve(mut ch: FuseChannel, server: &PtServer, core: &Core) {
    loop {
        let (reader, mut writer) = match ch.get_request() {
            Ok(Some(rw)) => rw,
            Ok(None) => break,
            Err(e) => {
                tracing::info!(%e, "FUSE channel closed");
                break;
            }
        };
        let mut peek = reader.clone();
        let Ok(hdr) = peek.read_obj::<InHeader>() else {
            tracing::warn!("short FUSE request");
            continue;
        };
        if hdr.opcode == FUSE_FSNOTIFY_MARK || hdr.opcode == FUSE_FSNOTIFY_POLL {
            let mut body = vec![0u8; peek.available_bytes()];
            let res = match peek.read_exact(&mut body) {
                Err(_) => Err(-libc::EINVAL),
                Ok(()) if hdr.opcode == FUSE_FSNOTIFY_MARK => core.handle_mark(&body),
                Ok(()) => core.handle_poll(&body),
            };
            if let Err(e) = reply(&mut writer, hdr.unique, res) {
                if e.raw_os_error() == Some(libc::ENOENT) {
                    // The request was aborted meanwhile (unmount, abort).
                    tracing::debug!("reply to a request that is gone");
                } else {
                    tracing::warn!(%e, opcode = hdr.opcode, "cannot reply");
                }
            }
            continue;
        }
        if let Err(e) = server.handle_message(reader, writer.into(), None, None) {
            match e {
                fuse_backend_rs::Error::EncodeMessage(e)
                    if e.raw_os_error() == Some(libc::EBADF) =>
                {
                    break
                }
                e => tracing::debug!(%e, "FUSE request failed"),
            }
        }
    }
}
