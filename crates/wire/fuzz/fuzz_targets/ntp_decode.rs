//! Any byte string as a received NTP reply: decoding must not panic,
//! and whatever decodes must re-encode and decode to the same value.
#![no_main]

use cpe_wire::ntp::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Message::decode(data) {
        let mut out = Vec::new();
        packet
            .encode(&mut out)
            .expect("a decoded header always re-encodes");
        let again = Message::decode(&out).expect("re-encoded bytes decode");
        assert_eq!(again, packet);
    }
});
