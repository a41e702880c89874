// SPDX-License-Identifier: GPL-2.0

//! fuse-fsnotify: remote fsnotify events for FUSE and virtiofs mounts.
//!
//! The crate root only declares the module and its parts; see
//! `Documentation/design.rst` for how they fit together.

mod bindings;
mod debugfs;
mod hooks;
mod kunit;
mod layout;
mod marks;
mod mask;
mod stats;
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

struct FuseFsnotify {
    // Drop order: unregister the hooks before the counters' files go.
    _hooks: hooks::Registration,
    _debugfs: debugfs::Dir,
}

impl kernel::Module for FuseFsnotify {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let hooks = hooks::Registration::new()?;
        let debugfs = debugfs::Dir::new(kernel::c_str!("fuse_fsnotify"), &stats::STATS.entries());
        pr_info!("loaded\n");
        Ok(FuseFsnotify {
            _hooks: hooks,
            _debugfs: debugfs,
        })
    }
}

impl Drop for FuseFsnotify {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
