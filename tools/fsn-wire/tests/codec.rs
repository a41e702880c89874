//! Encode/decode round trips and rejection of every malformed shape.

use fsn_wire::*;

fn one(rec: Record<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut w = BatchWriter::new(&mut buf).unwrap();
    w.push(&rec).unwrap();
    let n = w.finish(7, 0).unwrap();
    buf.truncate(n);
    buf
}

fn decode_all(buf: &[u8]) -> Result<Vec<Record<'_>>, WireError> {
    Batch::parse(buf)?.collect()
}

fn ev(mask: u32, nodeid: u64, parent: u64, name: &[u8]) -> Record<'_> {
    Record::Event {
        mask,
        nodeid,
        parent,
        name,
    }
}

#[test]
fn round_trip_every_record_shape() {
    let long = [b'x'; NAME_MAX];
    let records = [
        ev(mask::MODIFY, 5, 0, b""),
        ev(mask::DELETE_SELF, 5, 0, b""),
        ev(mask::ATTRIB | mask::ISDIR, 9, 0, b""),
        ev(mask::CREATE, 0, 2, b"new-file"),
        ev(mask::DELETE | mask::ISDIR, 12, 2, b"d"),
        ev(mask::CLOSE_WRITE, 3, 2, &long),
        Record::Rename {
            mask: 0,
            nodeid: 4,
            old_parent: 2,
            old_name: b"a",
            new_parent: 3,
            new_name: b"b.txt",
        },
        Record::Rename {
            mask: mask::ISDIR,
            nodeid: 0,
            old_parent: 0,
            old_name: b"",
            new_parent: 3,
            new_name: &long,
        },
        Record::Rename {
            mask: 0,
            nodeid: 8,
            old_parent: 0,
            old_name: b"",
            new_parent: 0,
            new_name: b"",
        },
    ];
    let mut buf = vec![0u8; 8192];
    let mut w = BatchWriter::new(&mut buf).unwrap();
    for r in &records {
        w.push(r).unwrap();
    }
    let n = w.finish(42, BATCH_OVERFLOW).unwrap();
    let batch = Batch::parse(&buf[..n]).unwrap();
    assert_eq!(batch.header.seq, 42);
    assert_eq!(batch.header.flags, BATCH_OVERFLOW);
    assert_eq!(batch.header.count, records.len() as u32);
    let got: Vec<_> = batch.collect::<Result<_, _>>().unwrap();
    assert_eq!(got, records);
}

#[test]
fn records_are_padded_to_8() {
    for len in 1..=16 {
        let name = vec![b'n'; len];
        let buf = one(ev(mask::CREATE, 0, 1, &name));
        let rec_len = buf.len() - BatchHeader::SIZE;
        assert_eq!(rec_len % 8, 0);
        assert!(rec_len >= RecordHeader::SIZE + EventBody::SIZE + len);
        assert!(rec_len < RecordHeader::SIZE + EventBody::SIZE + len + 8);
    }
}

#[test]
fn empty_batch() {
    let mut buf = [0u8; 64];
    let w = BatchWriter::new(&mut buf).unwrap();
    let n = w.finish(1, 0).unwrap();
    assert_eq!(n, BatchHeader::SIZE);
    assert_eq!(decode_all(&buf[..n]).unwrap(), []);
}

#[test]
fn writer_refuses_what_does_not_fit() {
    let mut buf = vec![0u8; BatchHeader::SIZE + 40];
    let mut w = BatchWriter::new(&mut buf).unwrap();
    w.push(&ev(mask::CREATE, 0, 1, b"12345678")).unwrap();
    assert_eq!(
        w.push(&ev(mask::CREATE, 0, 1, b"x")),
        Err(WireError::Oversize)
    );
    assert_eq!(w.count(), 1);
    let n = w.finish(1, 0).unwrap();
    assert_eq!(decode_all(&buf[..n]).unwrap().len(), 1);
    assert!(BatchWriter::new(&mut [0u8; 8]).is_err());
}

#[test]
fn bad_names_are_rejected_by_writer_and_reader() {
    let long = [b'x'; NAME_MAX + 1];
    for name in [&b"."[..], b"..", b"a/b", b"/", b"a\0b", &long] {
        let rec = ev(mask::CREATE, 0, 1, name);
        assert_eq!(rec.validate(), Err(WireError::Name), "{name:?}");
        let mut buf = [0u8; 1024];
        assert_eq!(
            BatchWriter::new(&mut buf).unwrap().push(&rec),
            Err(WireError::Name)
        );
    }
    // Reader side: forge the bytes by patching a valid record's name.
    let mut buf = one(ev(mask::CREATE, 0, 1, b"ab"));
    let name_off = BatchHeader::SIZE + RecordHeader::SIZE + EventBody::SIZE;
    for bad in [*b"a/", *b"a\0", *b".."] {
        buf[name_off..name_off + 2].copy_from_slice(&bad);
        assert_eq!(decode_all(&buf), Err(WireError::Name), "{bad:?}");
    }
    // Empty name on a rename side whose parent is set.
    let rec = Record::Rename {
        mask: 0,
        nodeid: 1,
        old_parent: 2,
        old_name: b"",
        new_parent: 0,
        new_name: b"",
    };
    assert_eq!(rec.validate(), Err(WireError::Name));
    // A name without a parent.
    let rec = Record::Rename {
        mask: 0,
        nodeid: 1,
        old_parent: 0,
        old_name: b"x",
        new_parent: 0,
        new_name: b"",
    };
    assert_eq!(rec.validate(), Err(WireError::Name));
}

#[test]
fn bad_masks_and_nodeids() {
    let cases = [
        (ev(0, 1, 0, b""), WireError::Mask),
        (ev(mask::MODIFY | mask::ATTRIB, 1, 0, b""), WireError::Mask),
        (ev(0x0100_0000 | mask::MODIFY, 1, 0, b""), WireError::Mask),
        (ev(mask::CREATE, 1, 0, b""), WireError::Mask),
        (ev(mask::DELETE_SELF, 1, 2, b"x"), WireError::Mask),
        (ev(mask::MOVED_TO, 1, 2, b"x"), WireError::Mask),
        (ev(mask::MODIFY, 0, 0, b""), WireError::Nodeid),
        (ev(mask::MODIFY, 1, 2, b""), WireError::Nodeid),
        (ev(mask::CREATE, 1, 0, b"x"), WireError::Nodeid),
        (
            Record::Rename {
                mask: mask::MODIFY,
                nodeid: 1,
                old_parent: 0,
                old_name: b"",
                new_parent: 0,
                new_name: b"",
            },
            WireError::Mask,
        ),
        (
            Record::Rename {
                mask: 0,
                nodeid: 0,
                old_parent: 0,
                old_name: b"",
                new_parent: 0,
                new_name: b"",
            },
            WireError::Nodeid,
        ),
    ];
    for (rec, err) in cases {
        assert_eq!(rec.validate(), Err(err), "{rec:?}");
    }
    // Reader side: patch the mask of a valid record.
    let mut buf = one(ev(mask::MODIFY, 5, 0, b""));
    let mask_off = BatchHeader::SIZE + 4;
    buf[mask_off..mask_off + 4].copy_from_slice(&(mask::MODIFY | mask::OPEN).to_ne_bytes());
    assert_eq!(decode_all(&buf), Err(WireError::Mask));
}

fn set_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}
fn set_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

#[test]
fn malformed_batches() {
    let good = one(ev(mask::CREATE, 0, 1, b"name"));
    assert!(decode_all(&good).is_ok());

    // Truncated anywhere.
    for n in 0..good.len() {
        assert!(decode_all(&good[..n]).is_err(), "prefix {n} accepted");
    }
    // Trailing bytes.
    let mut long = good.clone();
    long.extend_from_slice(&[0; 8]);
    assert_eq!(decode_all(&long), Err(WireError::Oversize));

    // Header fields (offsets from the C layout: version 0, flags 4, seq 8,
    // count 16, length 20).
    let mut b = good.clone();
    set_u32(&mut b, 0, 2);
    assert_eq!(decode_all(&b), Err(WireError::Version));
    let mut b = good.clone();
    set_u32(&mut b, 4, 2);
    assert_eq!(decode_all(&b), Err(WireError::Flags));
    let mut b = good.clone();
    set_u32(&mut b, 16, 2);
    assert!(decode_all(&b).is_err());
    let mut b = good.clone();
    set_u32(&mut b, 16, 0);
    assert_eq!(decode_all(&b), Err(WireError::Oversize));
    let mut b = good.clone();
    set_u32(&mut b, 16, u32::MAX);
    assert_eq!(decode_all(&b), Err(WireError::Length));
    let mut b = good.clone();
    set_u32(&mut b, 20, 8);
    assert_eq!(decode_all(&b), Err(WireError::Oversize));
    let mut b = good.clone();
    set_u32(&mut b, 20, u32::MAX);
    assert_eq!(decode_all(&b), Err(WireError::Truncated));

    // Record length: not a multiple of 8, too small, past the end, slack.
    let rl = BatchHeader::SIZE + 2;
    let real = u16::from_ne_bytes([good[rl], good[rl + 1]]);
    for bad in [real - 1, 4, 0, real + 8, 8, real - 8] {
        let mut b = good.clone();
        set_u16(&mut b, rl, bad);
        assert!(decode_all(&b).is_err(), "record length {bad} accepted");
    }
    // namelen past the record.
    let nl = BatchHeader::SIZE + RecordHeader::SIZE + 16;
    for bad in [5u32, 9, 1000, u32::MAX] {
        let mut b = good.clone();
        set_u32(&mut b, nl, bad);
        assert!(decode_all(&b).is_err(), "namelen {bad} accepted");
    }
    // Reserved and padding bytes.
    let mut b = good.clone();
    set_u32(&mut b, nl + 4, 1);
    assert_eq!(decode_all(&b), Err(WireError::Reserved));
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] = 1;
    assert_eq!(decode_all(&b), Err(WireError::Reserved));
}

#[test]
fn oversize_batch_is_rejected() {
    let mut buf = vec![0u8; MAX_BATCH_SIZE + 8];
    let w = BatchWriter::new(&mut buf).unwrap();
    let n = w.finish(1, 0).unwrap();
    assert_eq!(n, BatchHeader::SIZE);
    // Forge a header claiming more than the maximum.
    set_u32(
        &mut buf,
        20,
        (MAX_BATCH_SIZE + 8 - BatchHeader::SIZE) as u32,
    );
    assert_eq!(Batch::parse(&buf).err(), Some(WireError::Oversize));
}

#[test]
fn unknown_record_types_are_skipped() {
    let a = one(ev(mask::CREATE, 0, 1, b"a"));
    let b = one(ev(mask::DELETE, 0, 1, b"b"));
    // Batch: a, a 16-byte record of type 99, b.
    let ra = &a[BatchHeader::SIZE..];
    let rb = &b[BatchHeader::SIZE..];
    let mut unknown = vec![0u8; 16];
    set_u16(&mut unknown, 0, 99);
    set_u16(&mut unknown, 2, 16);
    let mut buf = a[..BatchHeader::SIZE].to_vec();
    buf.extend_from_slice(ra);
    buf.extend_from_slice(&unknown);
    buf.extend_from_slice(rb);
    set_u32(&mut buf, 16, 3);
    let len = (buf.len() - BatchHeader::SIZE) as u32;
    set_u32(&mut buf, 20, len);
    let got = decode_all(&buf).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], Record::Unknown { rtype: 99 });
    assert_eq!(got[2], ev(mask::DELETE, 0, 1, b"b"));
}

#[test]
fn iteration_stops_at_first_error() {
    let mut buf = one(ev(mask::CREATE, 0, 1, b"a"));
    set_u32(&mut buf, 16, 2);
    // Second record missing: count says 2, length has one.
    let mut it = Batch::parse(&buf).unwrap();
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().unwrap().is_err());
    assert!(it.next().is_none());
}

#[test]
fn mark_request_and_reply() {
    let entries = [
        MarkEntry {
            nodeid: 1,
            mask: mask::CREATE | mask::EVENT_ON_CHILD,
            reserved: 0,
        },
        MarkEntry {
            nodeid: 77,
            mask: 0,
            reserved: 0,
        },
    ];
    let mut buf = vec![0u8; MarkIn::SIZE + entries.len() * MarkEntry::SIZE];
    MarkIn {
        version: VERSION,
        count: 2,
        flags: MARK_RESYNC,
        reserved: 0,
    }
    .write(&mut buf)
    .unwrap();
    for (i, e) in entries.iter().enumerate() {
        e.write(&mut buf[MarkIn::SIZE + i * MarkEntry::SIZE..])
            .unwrap();
    }
    let (hdr, it) = parse_mark_request(&buf).unwrap();
    assert_eq!(hdr.flags, MARK_RESYNC);
    assert_eq!(it.collect::<Vec<_>>(), entries);

    assert_eq!(
        parse_mark_request(&buf[..buf.len() - 1]).err(),
        Some(WireError::Truncated)
    );
    let mut longer = buf.clone();
    longer.push(0);
    assert_eq!(parse_mark_request(&longer).err(), Some(WireError::Oversize));
    let mut b = buf.clone();
    set_u32(&mut b, 8, 4);
    assert_eq!(parse_mark_request(&b).err(), Some(WireError::Flags));
    let mut b = buf.clone();
    set_u32(&mut b, 0, 9);
    assert_eq!(parse_mark_request(&b).err(), Some(WireError::Version));
    let mut b = buf.clone();
    set_u32(&mut b, 4, u32::MAX);
    assert_eq!(parse_mark_request(&b).err(), Some(WireError::Truncated));

    let mut out = vec![0u8; MarkOut::SIZE + 2 * MarkResult::SIZE];
    MarkOut {
        version: VERSION,
        count: 2,
        supported: mask::EVENTS,
        max_entries: 256,
    }
    .write(&mut out)
    .unwrap();
    MarkResult {
        mask: mask::CREATE,
        error: 0,
    }
    .write(&mut out[MarkOut::SIZE..])
    .unwrap();
    MarkResult { mask: 0, error: -2 }
        .write(&mut out[MarkOut::SIZE + MarkResult::SIZE..])
        .unwrap();
    let (hdr, it) = parse_mark_reply(&out, 2).unwrap();
    assert_eq!(hdr.max_entries, 256);
    let res: Vec<_> = it.collect();
    assert_eq!(res[1].error, -2);
    assert_eq!(parse_mark_reply(&out, 3).err(), Some(WireError::Length));
    assert_eq!(
        parse_mark_reply(&out[..out.len() - 8], 2).err(),
        Some(WireError::Truncated)
    );
}
