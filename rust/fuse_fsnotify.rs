// SPDX-License-Identifier: GPL-2.0

//! fuse-fsnotify: remote fsnotify events for FUSE and virtiofs mounts.
//!
//! The crate root only declares the module and its parts; see
//! `Documentation/design.rst` for how they fit together.

mod bindings;
mod conn;
mod debugfs;
mod fuse;
mod hooks;
mod inject;
mod kunit;
mod layout;
mod limbo;
mod marks;
mod mask;
mod params;
mod ratelimit;
mod registry;
mod sequence;
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
    hooks: Option<hooks::Registration>,
    registry: Pin<KBox<registry::Registry>>,
}

impl kernel::Module for FuseFsnotify {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The registry must exist before any hook can run.
        let registry = registry::Registry::new()?;
        let hooks = match hooks::Registration::new() {
            Ok(h) => h,
            Err(e) => {
                registry.unpublish();
                return Err(e);
            }
        };
        pr_info!("loaded\n");
        Ok(FuseFsnotify {
            hooks: Some(hooks),
            registry,
        })
    }
}

impl Drop for FuseFsnotify {
    fn drop(&mut self) {
        // 1. No new connections; stop the existing ones while sb_delete
        //    still reaches us, so that no work item uses a mount that a
        //    concurrent unmount frees.
        let conns = self.registry.close();
        for (_, c) in conns.iter() {
            c.shutdown();
        }
        // 2. No hook runs or starts after this.
        drop(self.hooks.take());
        self.registry.unpublish();
        // 3. Our requests' end callbacks are module code: wait for them.
        for (_, c) in conns.iter() {
            c.drain_requests();
        }
        pr_info!("unloaded\n");
    }
}
