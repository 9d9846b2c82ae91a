//! Any datagram a netlink socket could deliver: framing, every message type
//! we decode, and the monitor's event path. Must never panic; a message that
//! parses must re-parse identically from its own payload.
#![no_main]

use cpe_sys::netlink::{Message, decode_events, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (header, message) in parse_datagram(data).into_iter().flatten() {
        // Cheap invariants on what was accepted.
        assert!(header.len as usize >= 16);
        if let Message::NewAddress(a) | Message::DelAddress(a) = &message {
            let max = if a.net.addr().is_ipv4() { 32 } else { 128 };
            assert!(a.net.prefix_len() <= max);
        }
    }
    let mut malformed = 0;
    let _ = decode_events(data, &mut malformed);
});
