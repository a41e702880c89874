//! Records as the server keeps them until a poll sends them: owned names,
//! validated when built, so a queued record always encodes.

use fsn_wire::{mask, Record, WireResult};

/// An owned [`Record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedRecord {
    /// See [`Record::Event`].
    Event {
        /// Event type (+ ISDIR).
        mask: u32,
        /// Object, or 0.
        nodeid: u64,
        /// Directory of a named event, or 0.
        parent: u64,
        /// Name, or empty.
        name: Vec<u8>,
    },
    /// See [`Record::Rename`].
    Rename {
        /// 0 or ISDIR.
        mask: u32,
        /// Moved object, or 0.
        nodeid: u64,
        /// Old directory, or 0.
        old_parent: u64,
        /// Old name (empty iff `old_parent` is 0).
        old_name: Vec<u8>,
        /// New directory, or 0.
        new_parent: u64,
        /// New name (empty iff `new_parent` is 0).
        new_name: Vec<u8>,
    },
}

impl OwnedRecord {
    /// A checked event record.
    pub fn event(mask: u32, nodeid: u64, parent: u64, name: &[u8]) -> WireResult<Self> {
        let r = Self::Event {
            mask,
            nodeid,
            parent,
            name: name.to_vec(),
        };
        r.as_record().validate()?;
        Ok(r)
    }

    /// A checked rename record.
    pub fn rename(
        mask: u32,
        nodeid: u64,
        old: (u64, &[u8]),
        new: (u64, &[u8]),
    ) -> WireResult<Self> {
        let r = Self::Rename {
            mask,
            nodeid,
            old_parent: old.0,
            old_name: old.1.to_vec(),
            new_parent: new.0,
            new_name: new.1.to_vec(),
        };
        r.as_record().validate()?;
        Ok(r)
    }

    /// The borrowed form, for encoding.
    pub fn as_record(&self) -> Record<'_> {
        match self {
            Self::Event {
                mask,
                nodeid,
                parent,
                name,
            } => Record::Event {
                mask: *mask,
                nodeid: *nodeid,
                parent: *parent,
                name,
            },
            Self::Rename {
                mask,
                nodeid,
                old_parent,
                old_name,
                new_parent,
                new_name,
            } => Record::Rename {
                mask: *mask,
                nodeid: *nodeid,
                old_parent: *old_parent,
                old_name,
                new_parent: *new_parent,
                new_name,
            },
        }
    }

    /// Whether this reports the death of an object (never dropped).
    pub fn is_delete_self(&self) -> bool {
        matches!(self, Self::Event { mask: m, .. } if m & mask::DELETE_SELF != 0)
    }
}
