//! The fuse-fsnotify wire protocol for userspace.
//!
//! There is no code here: the protocol is defined once, in the kernel
//! module's `rust/wire.rs` (a `no_std`, allocation-free file), and this crate
//! compiles that same file so that the server and the module cannot disagree.
//! See `Documentation/protocol.rst`.

#![no_std]
#![forbid(unsafe_code)]

#[path = "../../../rust/wire.rs"]
mod wire;

pub use wire::*;
