// SPDX-License-Identifier: GPL-2.0

//! Bindings to kernel internals that the `kernel` crate does not cover.
//!
//! `bindings_generated.rs` is written at build time by `bindgen` from
//! `bindings_helper.h`, against the kernel tree being built and with the
//! kernel's own bindgen flags (see the top-level `Kbuild`). Struct layouts of
//! fsnotify and of `fs/fuse/fuse_i.h` therefore always match the running
//! kernel; nothing here is copied by hand.
//!
//! Only the items allowlisted in `bindgen_parameters` are generated; every
//! type they refer to comes from `kernel::bindings`, so a pointer obtained
//! from the `kernel` crate and one from here have the same type.

#![allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    unknown_lints,
    unnecessary_transmutes,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks
)]

// The generated code names C types as `ffi::c_int` etc.
#[allow(unused_imports)]
pub(crate) use kernel::bindings::*;
#[allow(unused_imports)]
use kernel::ffi;

include!("bindings_generated.rs");
