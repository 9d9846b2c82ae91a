//! Any byte string as a received PPP control frame: decoding must not panic,
//! and whatever decodes must re-encode and decode to the same value.
#![no_main]

use cpe_wire::ppp::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Packet::decode(data) {
        let mut out = Vec::new();
        packet
            .encode(&mut out)
            .expect("a decoded packet always re-encodes");
        let again = Packet::decode(&out).expect("re-encoded bytes decode");
        assert_eq!(again, packet);
    }
});
