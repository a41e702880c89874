// SPDX-License-Identifier: GPL-2.0

//! fuse-fsnotify: remote fsnotify events for FUSE and virtiofs mounts.
//!
//! The crate root only declares the module and its parts; see
//! `Documentation/design.rst` for how they fit together.

mod bindings;
mod kunit;
mod layout;
// The protocol definition, shared verbatim with userspace (tools/fsn-wire):
// hence `pub` items, and a server half (request parsing, C layout tables)
// that the kernel does not use.
#[allow(unreachable_pub, dead_code)]
mod wire;
mod wire_kunit;

use kernel::prelude::*;

module! {
    type: FuseFsnotify,
    name: "fuse_fsnotify",
    author: "fuse-fsnotify developers",
    description: "Remote fsnotify events for FUSE and virtiofs",
    license: "GPL",
}

struct FuseFsnotify;

impl kernel::Module for FuseFsnotify {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(FuseFsnotify)
    }
}

impl Drop for FuseFsnotify {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
