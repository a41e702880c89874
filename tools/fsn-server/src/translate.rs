//! From host fanotify events to protocol records.
//!
//! One fanotify event becomes at most one record per event type it carries,
//! and each record names every watched object it concerns (the directory and
//! the entry), so the client delivers it once to all of its marks, as its
//! own VFS would. The rules follow what the kernel reports (see the module
//! documentation of `fanotify.rs`):
//!
//! - Moves come as `FAN_RENAME` (old and new directory and name, and the
//!   object) and become one rename record. The object's own `FAN_MOVE_SELF`
//!   that follows is then redundant and dropped; a `MOVE_SELF` without a
//!   preceding rename (neither directory watched) becomes a rename record
//!   with only the object.
//! - An event on a directory itself is reported by fanotify as `(dir, ".")`.
//!   When its parent directory watches children, the record needs the
//!   parent and the name: [`Names`] finds them.
//! - Echo suppression: events caused by this server (pid) were caused by the
//!   client's own requests, which the client's VFS already reported. They
//!   are dropped, except `DELETE_SELF`, which ends the client's limbo.
//! - fanotify merges queued events of the same object, so a mask may carry
//!   several types; they are split in the order they happen in practice
//!   (create, open, access, modify, attrib, close, rename, delete, move self,
//!   delete self).
//! - A merged event sits at the queue position of its *first* part. When
//!   that part is older than events of the object's children (`rm -rf`
//!   opens a directory, deletes its entries, then removes it: the
//!   `DELETE_SELF` merges into the `OPEN` queued before the `DELETE`s),
//!   acting on the death at once would forget the watch before the
//!   children's events are read, and lose them. A merged `DELETE_SELF` is
//!   therefore held ([`Action::DiedLater`]) until every event queued before
//!   it has been read: the caller notes how many bytes the fanotify queue
//!   held when it read the merged event, all of them older than the death.

use crate::fanotify::{Event, FileHandle};
use crate::record::OwnedRecord;
use crate::watch::Watches;
use fsn_wire::mask;

/// Finds the parent directory and name of a directory (for events fanotify
/// reports as `(dir, ".")`).
pub trait Names {
    /// The parent's handle and the entry name of `dir` in it.
    fn parent_of(&self, dir: &FileHandle) -> Option<(FileHandle, Vec<u8>)>;
}

/// For each event of `events` (one read), the directory and name its
/// object had *at the time of the event*, when a later event of the same
/// read says so: the entry's `DELETE` (name and directory it was removed
/// from) or the old side of its `FAN_RENAME`. The nearest later one wins.
///
/// The server reads events after they happened: by then a directory may
/// be removed (its handle no longer opens) or renamed (its current path
/// names the new place), so these names are better than the path's.
pub fn names_at_the_time(events: &[Event]) -> Vec<Option<(FileHandle, Vec<u8>)>> {
    let mut next: std::collections::HashMap<&FileHandle, (&FileHandle, &Vec<u8>)> =
        std::collections::HashMap::new();
    let mut out = vec![None; events.len()];
    for (i, ev) in events.iter().enumerate().rev() {
        if let Some(obj) = ev.object.as_ref().or(ev.dir.as_ref()) {
            out[i] = next.get(obj).map(|(d, n)| ((*d).clone(), (*n).clone()));
        }
        let Some(obj) = &ev.object else { continue };
        if ev.mask & libc::FAN_RENAME != 0 {
            if let (Some(d), Some(n)) = (&ev.old_dir, &ev.old_name) {
                next.insert(obj, (d, n));
            }
        } else if ev.mask & libc::FAN_DELETE != 0 {
            if let (Some(d), Some(n)) = (&ev.dir, &ev.name) {
                if n.as_slice() != b"." {
                    next.insert(obj, (d, n));
                }
            }
        }
    }
    out
}

/// What to do with one event.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Queue this record for the client.
    Send(OwnedRecord),
    /// This watched object died: forget its watch (after sending).
    Died(u64),
    /// This watched object died, but its `DELETE_SELF` came merged into an
    /// earlier queued event of the object: send the record and forget the
    /// watch only once the events queued before the death have been read
    /// (see [`Translator::translate`]).
    DiedLater(OwnedRecord, u64),
    /// The fanotify queue overflowed: flag it and re-check all watches.
    Overflow,
}

/// Event types in the order they are split out of a merged mask.
const ORDER: [u64; 12] = [
    libc::FAN_CREATE,
    libc::FAN_OPEN,
    libc::FAN_ACCESS,
    libc::FAN_MODIFY,
    libc::FAN_ATTRIB,
    libc::FAN_CLOSE_WRITE,
    libc::FAN_CLOSE_NOWRITE,
    libc::FAN_RENAME,
    libc::FAN_DELETE,
    libc::FAN_MOVE_SELF,
    libc::FAN_DELETE_SELF,
    // Never requested (moves come as FAN_RENAME), listed to be explicit
    // that they are ignored if they ever appear.
    libc::FAN_MOVED_FROM | libc::FAN_MOVED_TO,
];

/// The event types of [`ORDER`]: a mask with more than one was merged.
const MERGEABLE: u64 = {
    let mut m = 0;
    let mut i = 0;
    while i < ORDER.len() {
        m |= ORDER[i];
        i += 1;
    }
    m
};

/// Per-client translation state.
pub struct Translator {
    own_pid: i32,
    /// The object of the last rename record, whose MOVE_SELF is redundant.
    renamed: Option<FileHandle>,
    /// Events dropped as our own echo.
    pub echoes: u64,
}

impl Translator {
    /// A translator that treats events of process `own_pid` as echoes.
    pub fn new(own_pid: i32) -> Self {
        Self {
            own_pid,
            renamed: None,
            echoes: 0,
        }
    }

    /// Translates one event.
    pub fn translate(&mut self, ev: &Event, watches: &Watches, names: &dyn Names) -> Vec<Action> {
        let mut out = Vec::new();
        if ev.mask & libc::FAN_Q_OVERFLOW != 0 {
            out.push(Action::Overflow);
            return out;
        }
        let isdir = if ev.mask & libc::FAN_ONDIR != 0 {
            mask::ISDIR
        } else {
            0
        };
        let self_event = ev.name.as_deref() == Some(b".");
        // The object the event is about.
        let object = if self_event {
            ev.dir.as_ref()
        } else {
            ev.object.as_ref()
        };
        let obj = object.and_then(|h| watches.lookup(h));
        // The directory and name of the entry, if any.
        let entry: Option<(FileHandle, Vec<u8>)> = if self_event {
            None
        } else {
            match (&ev.dir, &ev.name) {
                (Some(d), Some(n)) => Some((d.clone(), n.clone())),
                _ => None,
            }
        };

        // Resolved once for all the types of a merged event: the directory
        // may be gone by the second lookup.
        let self_entry = if self_event {
            object.and_then(|h| names.parent_of(h))
        } else {
            None
        };
        for bit in ORDER {
            if ev.mask & bit == 0 {
                continue;
            }
            let wire = (bit & 0xffff_ffff) as u32;
            if ev.pid == self.own_pid && bit != libc::FAN_DELETE_SELF {
                self.echoes += 1;
                continue;
            }
            match bit {
                libc::FAN_DELETE_SELF => {
                    if let Some((n, _)) = obj {
                        let Ok(r) = OwnedRecord::event(mask::DELETE_SELF | isdir, n, 0, b"") else {
                            continue;
                        };
                        if ev.mask & MERGEABLE & !libc::FAN_DELETE_SELF != 0 {
                            out.push(Action::DiedLater(r, n));
                        } else {
                            out.push(Action::Send(r));
                            out.push(Action::Died(n));
                        }
                    }
                }
                libc::FAN_MOVE_SELF => {
                    let covered = self.renamed.take();
                    if let Some((n, w)) = obj {
                        if covered.as_ref() != object && w.mask & mask::MOVE_SELF != 0 {
                            if let Ok(r) = OwnedRecord::rename(isdir, n, (0, b""), (0, b"")) {
                                out.push(Action::Send(r));
                            }
                        }
                    }
                }
                libc::FAN_RENAME => {
                    let side = |dir: &Option<FileHandle>, name: &Option<Vec<u8>>, want: u32| {
                        let (d, nm) = (dir.as_ref()?, name.as_ref()?);
                        let (n, w) = watches.lookup(d)?;
                        (w.mask & (want | mask::RENAME) != 0).then(|| (n, nm.clone()))
                    };
                    let old = side(&ev.old_dir, &ev.old_name, mask::MOVED_FROM);
                    let new = side(&ev.new_dir, &ev.new_name, mask::MOVED_TO);
                    let node = obj.map_or(0, |(n, _)| n);
                    let (o, nw) = (
                        old.as_ref()
                            .map_or((0, &b""[..]), |(n, s)| (*n, s.as_slice())),
                        new.as_ref()
                            .map_or((0, &b""[..]), |(n, s)| (*n, s.as_slice())),
                    );
                    if o.0 != 0 || nw.0 != 0 || node != 0 {
                        if let Ok(r) = OwnedRecord::rename(isdir, node, o, nw) {
                            out.push(Action::Send(r));
                        }
                    }
                    self.renamed = object.cloned();
                }
                libc::FAN_CREATE | libc::FAN_DELETE => {
                    if let Some((d, name)) = &entry {
                        if let Some((p, w)) = watches.lookup(d) {
                            if w.mask & wire != 0 {
                                let node = obj.map_or(0, |(n, _)| n);
                                if let Ok(r) = OwnedRecord::event(wire | isdir, node, p, name) {
                                    out.push(Action::Send(r));
                                }
                            }
                        }
                    }
                }
                libc::FAN_MOVED_FROM | libc::FAN_MOVED_TO => {}
                _ => {
                    // Events on an object that a watching parent also reports,
                    // with the entry's name.
                    let entry = entry.clone().or_else(|| self_entry.clone());
                    let parent = entry.as_ref().and_then(|(d, name)| {
                        let (p, w) = watches.lookup(d)?;
                        (w.mask & mask::EVENT_ON_CHILD != 0 && w.mask & wire != 0)
                            .then_some((p, name))
                    });
                    let node = obj.filter(|(_, w)| w.mask & wire != 0).map(|(n, _)| n);
                    let rec = match (parent, node) {
                        (Some((p, name)), _) => {
                            OwnedRecord::event(wire | isdir, obj.map_or(0, |(n, _)| n), p, name)
                        }
                        (None, Some(n)) => OwnedRecord::event(wire | isdir, n, 0, b""),
                        (None, None) => continue,
                    };
                    if let Ok(r) = rec {
                        out.push(Action::Send(r));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::Watch;

    fn h(n: u8) -> FileHandle {
        FileHandle {
            fsid: [1, 2],
            handle_type: 1,
            bytes: vec![n; 8],
        }
    }

    struct NoNames;
    impl Names for NoNames {
        fn parent_of(&self, _: &FileHandle) -> Option<(FileHandle, Vec<u8>)> {
            None
        }
    }
    struct SubdirOf(FileHandle, FileHandle, &'static [u8]);
    impl Names for SubdirOf {
        fn parent_of(&self, d: &FileHandle) -> Option<(FileHandle, Vec<u8>)> {
            (*d == self.0).then(|| (self.1.clone(), self.2.to_vec()))
        }
    }

    /// Watches: dir 10 (handle 1) for everything incl. children; file 20
    /// (handle 2) for ATTRIB|MODIFY|MOVE_SELF.
    fn table() -> Watches {
        let mut t = Watches::new(10, [1, 2]);
        t.insert_for_test(
            10,
            Watch {
                mask: mask::MARK,
                handle: h(1),
                is_dir: true,
            },
        );
        t.insert_for_test(
            20,
            Watch {
                mask: mask::ATTRIB | mask::MODIFY | mask::MOVE_SELF,
                handle: h(2),
                is_dir: false,
            },
        );
        t
    }

    fn ev(mask: u64) -> Event {
        Event {
            mask,
            pid: 1000,
            object: None,
            dir: None,
            name: None,
            old_dir: None,
            old_name: None,
            new_dir: None,
            new_name: None,
        }
    }

    fn sends(actions: &[Action]) -> Vec<OwnedRecord> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn merged_create_modify_close_in_watched_dir() {
        let mut t = Translator::new(1);
        let e = Event {
            dir: Some(h(1)),
            name: Some(b"new".to_vec()),
            object: Some(h(9)),
            ..ev(libc::FAN_CREATE | libc::FAN_MODIFY | libc::FAN_CLOSE_WRITE)
        };
        let got = sends(&t.translate(&e, &table(), &NoNames));
        let masks: Vec<u32> = got
            .iter()
            .map(|r| match r {
                OwnedRecord::Event { mask, parent, .. } => {
                    assert_eq!(*parent, 10);
                    *mask
                }
                _ => panic!(),
            })
            .collect();
        assert_eq!(masks, [mask::CREATE, mask::MODIFY, mask::CLOSE_WRITE]);
    }

    #[test]
    fn child_event_on_watched_file_in_watched_dir_is_one_record() {
        let mut t = Translator::new(1);
        let e = Event {
            dir: Some(h(1)),
            name: Some(b"f".to_vec()),
            object: Some(h(2)),
            ..ev(libc::FAN_MODIFY)
        };
        let got = sends(&t.translate(&e, &table(), &NoNames));
        assert_eq!(
            got,
            [OwnedRecord::event(mask::MODIFY, 20, 10, b"f").unwrap()]
        );
    }

    #[test]
    fn self_event_on_file_in_unwatched_dir() {
        let mut t = Translator::new(1);
        let e = Event {
            dir: Some(h(7)),
            name: Some(b"f".to_vec()),
            object: Some(h(2)),
            ..ev(libc::FAN_ATTRIB)
        };
        let got = sends(&t.translate(&e, &table(), &NoNames));
        assert_eq!(got, [OwnedRecord::event(mask::ATTRIB, 20, 0, b"").unwrap()]);
        // Not asked for: CLOSE_WRITE on the file.
        let e = Event {
            object: Some(h(2)),
            ..ev(libc::FAN_CLOSE_WRITE)
        };
        assert!(sends(&t.translate(&e, &table(), &NoNames)).is_empty());
    }

    #[test]
    fn subdir_self_event_gets_parent_name() {
        let mut t = Translator::new(1);
        let e = Event {
            dir: Some(h(5)),
            name: Some(b".".to_vec()),
            ..ev(libc::FAN_ATTRIB | libc::FAN_ONDIR)
        };
        let names = SubdirOf(h(5), h(1), b"sub");
        let got = sends(&t.translate(&e, &table(), &names));
        assert_eq!(
            got,
            [OwnedRecord::event(mask::ATTRIB | mask::ISDIR, 0, 10, b"sub").unwrap()]
        );
    }

    #[test]
    fn rename_is_one_record_and_move_self_is_not_repeated() {
        let mut t = Translator::new(1);
        let tbl = table();
        let e = Event {
            old_dir: Some(h(1)),
            old_name: Some(b"a".to_vec()),
            new_dir: Some(h(1)),
            new_name: Some(b"b".to_vec()),
            object: Some(h(2)),
            ..ev(libc::FAN_RENAME)
        };
        let got = sends(&t.translate(&e, &tbl, &NoNames));
        assert_eq!(
            got,
            [OwnedRecord::rename(0, 20, (10, b"a"), (10, b"b")).unwrap()]
        );
        let ms = Event {
            object: Some(h(2)),
            ..ev(libc::FAN_MOVE_SELF)
        };
        assert!(sends(&t.translate(&ms, &tbl, &NoNames)).is_empty());
        // A later MOVE_SELF without a rename is reported.
        assert_eq!(
            sends(&t.translate(&ms, &tbl, &NoNames)),
            [OwnedRecord::rename(0, 20, (0, b""), (0, b"")).unwrap()]
        );
    }

    #[test]
    fn rename_out_of_watched_dir_keeps_known_side() {
        let mut t = Translator::new(1);
        let e = Event {
            old_dir: Some(h(1)),
            old_name: Some(b"a".to_vec()),
            new_dir: Some(h(8)),
            new_name: Some(b"b".to_vec()),
            object: Some(h(9)),
            ..ev(libc::FAN_RENAME | libc::FAN_ONDIR)
        };
        assert_eq!(
            sends(&t.translate(&e, &table(), &NoNames)),
            [OwnedRecord::rename(mask::ISDIR, 0, (10, b"a"), (0, b"")).unwrap()]
        );
    }

    #[test]
    fn names_at_the_time_come_from_later_events() {
        let open = Event {
            dir: Some(h(3)),
            name: Some(b".".to_vec()),
            ..ev(libc::FAN_OPEN | libc::FAN_ONDIR)
        };
        let rename = Event {
            old_dir: Some(h(1)),
            old_name: Some(b"a".to_vec()),
            new_dir: Some(h(1)),
            new_name: Some(b"b".to_vec()),
            object: Some(h(3)),
            ..ev(libc::FAN_RENAME | libc::FAN_ONDIR)
        };
        let delete = Event {
            dir: Some(h(1)),
            name: Some(b"b".to_vec()),
            object: Some(h(3)),
            ..ev(libc::FAN_DELETE | libc::FAN_ONDIR)
        };
        let got = names_at_the_time(&[open.clone(), rename, open, delete]);
        let a = Some((h(1), b"a".to_vec()));
        let b = Some((h(1), b"b".to_vec()));
        // Before the rename: the old name; after it: the name removed.
        assert_eq!(got, [a, b.clone(), b, None]);
    }

    #[test]
    fn echo_is_dropped_but_delete_self_is_not() {
        let mut t = Translator::new(1000);
        let e = Event {
            object: Some(h(2)),
            ..ev(libc::FAN_ATTRIB | libc::FAN_DELETE_SELF)
        };
        let got = t.translate(&e, &table(), &NoNames);
        assert_eq!(
            got,
            // Merged with the ATTRIB: held until older events are read.
            [Action::DiedLater(
                OwnedRecord::event(mask::DELETE_SELF, 20, 0, b"").unwrap(),
                20
            )]
        );
        assert_eq!(t.echoes, 1);
    }

    #[test]
    fn overflow_and_unwatched() {
        let mut t = Translator::new(1);
        assert_eq!(
            t.translate(&ev(libc::FAN_Q_OVERFLOW), &table(), &NoNames),
            [Action::Overflow]
        );
        let e = Event {
            dir: Some(h(7)),
            name: Some(b"x".to_vec()),
            object: Some(h(8)),
            ..ev(libc::FAN_CREATE | libc::FAN_MODIFY | libc::FAN_DELETE_SELF)
        };
        assert!(t.translate(&e, &table(), &NoNames).is_empty());
    }
}
