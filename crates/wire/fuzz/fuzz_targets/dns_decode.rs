//! Any byte string as a DNS message: decoding must not panic, and whatever
//! decodes must re-encode and decode to the same value. (Bytes may differ:
//! names are written uncompressed.) The walker the forwarder uses on its
//! hot path runs too and must agree with `Message::decode` on acceptance.
#![no_main]

use cpe_wire::dns::{Header, Message, parse_question, walk_records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = Message::decode(data);
    if let Ok(msg) = &decoded {
        let again = msg.to_bytes().expect("a decoded message always re-encodes");
        let reparsed = Message::decode(&again).expect("re-encoded bytes decode");
        assert_eq!(&reparsed, msg);
    }
    // The lazy walk accepts at least everything the full decoder accepts.
    if decoded.is_ok() {
        let h = Header::parse(data).expect("header");
        let qend = if h.qdcount == 1 { parse_question(data).expect("question").1 } else { 12 };
        walk_records(data, &h, qend, |_| {}).expect("records walk");
    }
});
