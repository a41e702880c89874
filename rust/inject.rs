// SPDX-License-Identifier: GPL-2.0

//! Delivering one remote record to the local watchers.
//!
//! Runs in the connection's work item with `fc->killsb` held for read. For
//! each record: find the cached inodes (an object the kernel has no inode
//! for has no marks either: the record is dropped and counted), invalidate
//! what the event describes so that a read after the event sees the change,
//! then report it with `fsnotify()`, once, to every mark that asked for it.
//! Changes the guest made itself never come here (the server suppresses its
//! own echo), so nothing is reported twice.

use crate::bindings as b;
use crate::fuse::{
    notify_dirent, notify_rename, notify_uncached_child, rename_cookie, InodeRef, KillsbRead, Name,
};
use crate::stats::{count, ConnStats};
use crate::wire::{mask, Record};

/// Event types after which cached attributes and data are stale.
const CHANGES_DATA: u32 = mask::MODIFY | mask::ATTRIB | mask::CLOSE_WRITE;

/// Delivers `rec` (already validated by the wire decoder).
pub(crate) fn deliver(k: &KillsbRead, rec: &Record<'_>, stats: &ConnStats) {
    match *rec {
        Record::Event {
            mask: m,
            nodeid,
            parent,
            name,
        } => event(k, stats, m, nodeid, parent, name),
        Record::Rename {
            mask: m,
            nodeid,
            old_parent,
            old_name,
            new_parent,
            new_name,
        } => rename(
            k,
            stats,
            m,
            nodeid,
            (old_parent, old_name),
            (new_parent, new_name),
        ),
        Record::Unknown { .. } => {}
    }
}

fn event(k: &KillsbRead, stats: &ConnStats, m: u32, nodeid: u64, parent: u64, name: &[u8]) {
    let kind = m & !mask::ISDIR;
    if kind & CHANGES_DATA != 0 && nodeid != 0 {
        k.inval_inode(nodeid);
    }
    let object = if nodeid != 0 { k.ilookup(nodeid) } else { None };
    if name.is_empty() {
        // An event on the object itself.
        let Some(obj) = object else {
            count!(stats, dropped);
            return;
        };
        if kind == mask::DELETE_SELF {
            obj.delete_self(m & mask::ISDIR);
        } else {
            obj.notify(m, None, 0);
        }
        count!(stats, injected);
        return;
    }
    let (Some(dir), Some(name)) = (k.ilookup(parent), Name::new(name)) else {
        count!(stats, dropped);
        return;
    };
    if kind & (mask::CREATE | mask::DELETE) != 0 {
        k.inval_entry(parent, &name);
        notify_dirent(m, &dir, &name, object.as_ref(), 0);
    } else {
        // fanotify reports the object itself (its fd, its FID, and for a
        // directory its FID as the event's directory): an uncached child
        // is looked up when a fanotify mark may want it. Only fanotify
        // puts FS_ISDIR (FAN_ONDIR) in a mark's mask; inotify needs only
        // the directory and the name, and is spared the lookup.
        let object = match object {
            None if dir.wants(b::FS_ISDIR) => {
                let found = dir.lookup_child(&name).and_then(|d| d.inode());
                if found.is_some() {
                    count!(stats, child_lookups);
                }
                found
            }
            o => o,
        };
        match &object {
            // Reported to the directory (with the name) and the object.
            Some(obj) => obj.notify(m, Some((&dir, &name)), 0),
            // The object is not cached: only the directory can watch it.
            None => notify_uncached_child(m, &dir, &name),
        }
    }
    count!(stats, injected);
}

fn rename(
    k: &KillsbRead,
    stats: &ConnStats,
    m: u32,
    nodeid: u64,
    old: (u64, &[u8]),
    new: (u64, &[u8]),
) {
    let isdir = m & mask::ISDIR;
    let mut object = if nodeid != 0 { k.ilookup(nodeid) } else { None };
    // Both sides first, invalidated, as a local rename changes both at
    // once; a side the client does not know (parent 0) is left out.
    let mut sides: [Option<(InodeRef, Name)>; 2] = [None, None];
    for (slot, (parent, name)) in sides.iter_mut().zip([old, new]) {
        if parent == 0 {
            continue;
        }
        let (Some(dir), Some(name)) = (k.ilookup(parent), Name::new(name)) else {
            count!(stats, dropped);
            continue;
        };
        k.inval_entry(parent, &name);
        *slot = Some((dir, name));
    }
    // fanotify's FAN_RENAME needs the moved dentry (for the new parent and
    // name): look the new name up, only when a mark asks for it.
    if let [Some((od, on)), Some((nd, nn))] = &sides {
        if od.wants(b::FS_RENAME) || nd.wants(b::FS_RENAME) {
            if let Some(moved) = nd.lookup_child(nn) {
                notify_rename(b::FS_RENAME | isdir, &moved, od, on);
                count!(stats, injected);
                if object.is_none() && nodeid != 0 {
                    object = k.ilookup(nodeid);
                }
            }
        }
    }
    let cookie = rename_cookie();
    for (side, ev) in sides.iter().zip([b::FS_MOVED_FROM, b::FS_MOVED_TO]) {
        if let Some((dir, name)) = side {
            notify_dirent(ev | isdir, dir, name, object.as_ref(), cookie);
            count!(stats, injected);
        }
    }
    if let Some(obj) = object {
        obj.notify(b::FS_MOVE_SELF | isdir, None, 0);
        count!(stats, injected);
    }
}
