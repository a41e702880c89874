// SPDX-License-Identifier: GPL-2.0

//! KUnit suite for `wire.rs` as the kernel compiles it.
//!
//! The exhaustive codec tests run in userspace (`tools/fsn-wire`, same
//! source file). This suite checks that the kernel build of the decoder
//! behaves the same on the shapes the module must survive: valid batches,
//! truncation at every length, bad names, bad masks and bad lengths. It runs
//! with the kernel's overflow checks and debug assertions on, where a panic
//! would be a kernel BUG.

use crate::kunit::{kunit_expect, kunit_expect_eq, kunit_suite, Test};
use crate::wire::{self, mask, Batch, BatchWriter, Record, WireError};

const BUF: usize = 512;

fn sample(buf: &mut [u8; BUF]) -> usize {
    let records = [
        Record::Event {
            mask: mask::CREATE,
            nodeid: 0,
            parent: 1,
            name: b"hello",
        },
        Record::Event {
            mask: mask::DELETE_SELF | mask::ISDIR,
            nodeid: 9,
            parent: 0,
            name: b"",
        },
        Record::Rename {
            mask: 0,
            nodeid: 4,
            old_parent: 1,
            old_name: b"a",
            new_parent: 2,
            new_name: b"b",
        },
    ];
    let Ok(mut w) = BatchWriter::new(buf) else {
        return 0;
    };
    for r in &records {
        if w.push(r).is_err() {
            return 0;
        }
    }
    w.finish(3, 0).unwrap_or(0)
}

/// Decodes all records, returning how many were good and the first error.
fn decode(buf: &[u8]) -> (usize, Option<WireError>) {
    match Batch::parse(buf) {
        Err(e) => (0, Some(e)),
        Ok(batch) => {
            let mut good = 0;
            for r in batch {
                match r {
                    Ok(_) => good += 1,
                    Err(e) => return (good, Some(e)),
                }
            }
            (good, None)
        }
    }
}

fn valid_batch_decodes(test: &mut Test) {
    let mut buf = [0u8; BUF];
    let n = sample(&mut buf);
    kunit_expect!(test, n > wire::BatchHeader::SIZE);
    let (good, err) = decode(buf.get(..n).unwrap_or(&[]));
    kunit_expect_eq!(test, good, 3);
    kunit_expect_eq!(test, err, None);
    if let Ok(mut batch) = Batch::parse(buf.get(..n).unwrap_or(&[])) {
        kunit_expect_eq!(test, batch.header.seq, 3);
        kunit_expect_eq!(
            test,
            batch.next(),
            Some(Ok(Record::Event {
                mask: mask::CREATE,
                nodeid: 0,
                parent: 1,
                name: b"hello",
            }))
        );
    }
}

fn every_truncation_is_rejected(test: &mut Test) {
    let mut buf = [0u8; BUF];
    let n = sample(&mut buf);
    for len in 0..n {
        let (_, err) = decode(buf.get(..len).unwrap_or(&[]));
        kunit_expect!(test, err.is_some(), "prefix of {len} bytes accepted");
    }
}

fn every_byte_flip_is_survived(test: &mut Test) {
    // Flip each byte of a valid batch: the decoder must return (not panic),
    // and anything it accepts must still validate.
    let mut buf = [0u8; BUF];
    let n = sample(&mut buf);
    for i in 0..n {
        let mut copy = buf;
        if let Some(b) = copy.get_mut(i) {
            *b ^= 0xa5;
        }
        if let Ok(batch) = Batch::parse(copy.get(..n).unwrap_or(&[])) {
            for rec in batch.flatten() {
                kunit_expect_eq!(test, rec.validate(), Ok(()));
            }
        }
    }
}

fn bad_names_are_rejected(test: &mut Test) {
    let long = [b'x'; wire::NAME_MAX + 1];
    let names: [&[u8]; 6] = [b"", b".", b"..", b"a/b", b"a\0", &long];
    for name in names {
        kunit_expect_eq!(test, wire::check_name(name), Err(WireError::Name));
    }
    kunit_expect_eq!(test, wire::check_name(&long[..wire::NAME_MAX]), Ok(()));
}

fn bad_masks_are_rejected(test: &mut Test) {
    let bad = [0, mask::MODIFY | mask::ATTRIB, mask::CREATE, 0x0100_0000];
    for m in bad {
        let r = Record::Event {
            mask: m,
            nodeid: 5,
            parent: 0,
            name: b"",
        };
        kunit_expect_eq!(test, r.validate(), Err(WireError::Mask));
    }
}

kunit_suite!(
    fuse_fsnotify_wire,
    [
        valid_batch_decodes,
        every_truncation_is_rejected,
        every_byte_flip_is_survived,
        bad_names_are_rejected,
        bad_masks_are_rejected,
    ]
);
