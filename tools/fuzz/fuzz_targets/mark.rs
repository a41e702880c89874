//! Fuzz the server-side MARK request decoder and the client-side reply
//! decoder: no panic, and accepted entries cover the body exactly.
#![no_main]

use fsn_wire::{parse_mark_reply, parse_mark_request, MarkEntry, MarkIn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((hdr, entries)) = parse_mark_request(data) {
        let n = entries.count();
        assert_eq!(n, hdr.count as usize);
        assert_eq!(data.len(), MarkIn::SIZE + n * MarkEntry::SIZE);
    }
    if let Some((&count, rest)) = data.split_first() {
        let _ = parse_mark_reply(rest, u32::from(count)).map(|(_, r)| r.count());
    }
});
