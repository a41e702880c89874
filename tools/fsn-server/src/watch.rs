//! Remote watches: which client nodeids are watched, for what, and the
//! fanotify marks that serve them.
//!
//! Each watched nodeid has one fanotify inode mark on its host object, with
//! the client's combined mask translated to `FAN_*` bits. The table maps
//! both ways: nodeid to watch, and host file handle (what fanotify reports)
//! to nodeid.
//!
//! The server holds no reference on a watched object (the passthrough keeps
//! file handles, not `O_PATH` fds): the host kernel then reports
//! `DELETE_SELF` exactly when a host watcher would, when the last real user
//! lets go. A fanotify mark pins the inode, not its dentry, so it does not
//! delay that.

use crate::fanotify::{handle_of, Fanotify, FileHandle};
use fsn_wire::{mask, MarkResult};
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

/// Maps a client nodeid to its host object.
pub trait Resolver {
    /// A path that currently reaches the object of `nodeid`: `ENOENT` for
    /// an unknown nodeid, `ESTALE` for an object that no longer exists.
    fn path(&self, nodeid: u64) -> io::Result<PathBuf>;
}

/// One remote watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The wire mask granted to the client.
    pub mask: u32,
    /// The host object.
    pub handle: FileHandle,
    /// Whether it is a directory.
    pub is_dir: bool,
}

/// What the server supports: every event, children and renames.
pub const SUPPORTED: u32 = mask::MARK;

/// The fanotify mark mask that serves a wire mask.
///
/// Moves are observed as `FAN_RENAME` (old and new name in one event), never
/// as separate `FAN_MOVED_FROM`/`FAN_MOVED_TO`. `FAN_DELETE_SELF` is always
/// on: the death of a watched object is always reported. `FAN_ONDIR`
/// includes directories (subdirectory entries, and the directory itself);
/// it is only valid on directory marks.
pub fn fan_mask(wire: u32, is_dir: bool) -> u64 {
    let mut m = u64::from(wire & mask::EVENTS & !(mask::MOVED_FROM | mask::MOVED_TO));
    m |= libc::FAN_DELETE_SELF;
    if is_dir {
        m |= libc::FAN_ONDIR;
        if wire & (mask::MOVED_FROM | mask::MOVED_TO | mask::RENAME) != 0 {
            m |= libc::FAN_RENAME;
        }
        if wire & mask::EVENT_ON_CHILD != 0 {
            m |= libc::FAN_EVENT_ON_CHILD;
        }
    } else {
        // Directory-entry events, FAN_ONDIR and FAN_EVENT_ON_CHILD mean
        // nothing on a non-directory, and fanotify refuses them (ENOTDIR).
        m &= !(libc::FAN_CREATE | libc::FAN_DELETE);
    }
    m
}

/// Error codes as FUSE wants them (negative errno).
fn neg(e: &io::Error) -> i32 {
    -e.raw_os_error().unwrap_or(libc::EIO)
}

/// The remote watches of one client.
pub struct Watches {
    by_node: HashMap<u64, Watch>,
    by_handle: HashMap<FileHandle, u64>,
    limit: usize,
    fsid: [i32; 2],
}

impl Watches {
    /// An empty table for objects on the filesystem `fsid`, holding at most
    /// `limit` watches.
    pub fn new(limit: usize, fsid: [i32; 2]) -> Self {
        Self {
            by_node: HashMap::new(),
            by_handle: HashMap::new(),
            limit,
            fsid,
        }
    }

    /// The watch of `nodeid`.
    pub fn get(&self, nodeid: u64) -> Option<&Watch> {
        self.by_node.get(&nodeid)
    }

    /// The watched nodeid of a host object, with its watch.
    pub fn lookup(&self, handle: &FileHandle) -> Option<(u64, &Watch)> {
        let n = *self.by_handle.get(handle)?;
        Some((n, self.by_node.get(&n)?))
    }

    /// All watched nodeids.
    pub fn nodeids(&self) -> Vec<u64> {
        self.by_node.keys().copied().collect()
    }

    /// Forgets a watch (the host object died; its mark died with it).
    pub fn forget(&mut self, nodeid: u64) -> Option<Watch> {
        let w = self.by_node.remove(&nodeid)?;
        if self.by_handle.get(&w.handle) == Some(&nodeid) {
            self.by_handle.remove(&w.handle);
        }
        Some(w)
    }

    /// Inserts a watch without marking anything (unit tests of the
    /// translation).
    #[cfg(test)]
    pub fn insert_for_test(&mut self, nodeid: u64, w: Watch) {
        self.by_handle.insert(w.handle.clone(), nodeid);
        self.by_node.insert(nodeid, w);
    }

    /// Applies one entry of a `FUSE_FSNOTIFY_MARK` request.
    pub fn apply(
        &mut self,
        fan: &Fanotify,
        resolver: &dyn Resolver,
        nodeid: u64,
        wire: u32,
    ) -> MarkResult {
        let fail = |error| MarkResult { mask: 0, error };
        if wire & !mask::MARK != 0 {
            return fail(-libc::EINVAL);
        }
        if wire == 0 {
            self.unwatch(fan, resolver, nodeid);
            return MarkResult { mask: 0, error: 0 };
        }
        if !self.by_node.contains_key(&nodeid) && self.by_node.len() >= self.limit {
            return fail(-libc::ENOSPC);
        }
        let path = match resolver.path(nodeid) {
            Ok(p) => p,
            Err(e) => return fail(neg(&e)),
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => return fail(neg(&e)),
        };
        let is_dir = meta.is_dir();
        let handle = match handle_of(&path) {
            Ok(h) => h,
            Err(e) => return fail(neg(&e)),
        };
        if handle.fsid != self.fsid {
            // A different filesystem mounted below the backing directory:
            // its handles cannot be resolved through our mount fd.
            return fail(-libc::EXDEV);
        }
        if let Err(e) = fan.set_mark(&path, fan_mask(wire, is_dir)) {
            return fail(neg(&e));
        }
        // The path was resolved before marking: if the object was renamed
        // or replaced in between, the mark is on something else. Check.
        match handle_of(&path) {
            Ok(h) if h == handle => {}
            _ => {
                let _ = fan.set_mark(&path, 0);
                return fail(-libc::ESTALE);
            }
        }
        let granted = wire & SUPPORTED;
        if let Some(old) = self.by_node.insert(
            nodeid,
            Watch {
                mask: granted,
                handle: handle.clone(),
                is_dir,
            },
        ) {
            if old.handle != handle {
                self.by_handle.remove(&old.handle);
            }
        }
        self.by_handle.insert(handle, nodeid);
        MarkResult {
            mask: granted,
            error: 0,
        }
    }

    /// Removes the watch of `nodeid` and its fanotify mark.
    pub fn unwatch(&mut self, fan: &Fanotify, resolver: &dyn Resolver, nodeid: u64) {
        if self.forget(nodeid).is_some() {
            // If the object is gone, so is its mark.
            if let Ok(path) = resolver.path(nodeid) {
                if let Err(e) = fan.set_mark(&path, 0) {
                    tracing::debug!(nodeid, %e, "removing fanotify mark");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_mask_translation() {
        let dir = fan_mask(
            mask::CREATE | mask::MOVED_FROM | mask::EVENT_ON_CHILD | mask::MODIFY,
            true,
        );
        assert_ne!(dir & libc::FAN_RENAME, 0);
        assert_eq!(dir & (libc::FAN_MOVED_FROM | libc::FAN_MOVED_TO), 0);
        assert_ne!(dir & libc::FAN_EVENT_ON_CHILD, 0);
        assert_ne!(dir & libc::FAN_CREATE, 0);
        assert_ne!(dir & libc::FAN_DELETE_SELF, 0);
        let file = fan_mask(mask::ATTRIB | mask::CREATE, false);
        assert_eq!(file & libc::FAN_CREATE, 0);
        assert_eq!(file & libc::FAN_RENAME, 0);
        assert_ne!(file & libc::FAN_ATTRIB, 0);
        assert_ne!(file & libc::FAN_DELETE_SELF, 0);
        // Only DELETE_SELF asked: still a valid mark.
        assert_ne!(fan_mask(mask::DELETE_SELF, false), 0);
    }
}
