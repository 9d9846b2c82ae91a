//! Any byte string as a received PPPoE discovery packet: decoding must not
//! panic, and whatever decodes must re-encode and decode to the same value
//! (bytes may differ: Ethernet padding and tags after End-Of-List are not
//! kept).
#![no_main]

use cpe_wire::pppoe::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        let mut again = Vec::new();
        msg.encode(&mut again)
            .expect("a decoded packet always re-encodes");
        assert!(again.len() <= data.len(), "re-encoding never grows a packet");
        let reparsed = Message::decode(&again).expect("re-encoded bytes decode");
        assert_eq!(reparsed, msg);
    }
});
