//! Fuzz the client-side decoder: any bytes as a POLL reply.
//!
//! Invariants: no panic; every record the decoder accepts validates and
//! re-encodes to the same bytes.
#![no_main]

use fsn_wire::{Batch, BatchWriter, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = Batch::parse(data) else {
        return;
    };
    let header = batch.header;
    let mut out = vec![0u8; data.len().max(64)];
    let mut w = BatchWriter::new(&mut out).unwrap();
    let mut all_known = true;
    for rec in batch {
        let Ok(rec) = rec else {
            return;
        };
        assert_eq!(rec.validate(), Ok(()));
        if let Record::Unknown { .. } = rec {
            all_known = false;
            continue;
        }
        w.push(&rec).unwrap();
    }
    // A batch of known records re-encodes byte for byte.
    if all_known {
        let n = w.finish(header.seq, header.flags).unwrap();
        assert_eq!(&out[..n], data);
    }
});
