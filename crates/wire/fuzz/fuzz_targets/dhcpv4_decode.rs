//! Any byte string: decoding must not panic, and whatever decodes must
//! survive an encode/decode round trip unchanged (the encoder may pad,
//! reorder and split options, so bytes can differ; the meaning must not).
#![no_main]

use cpe_wire::dhcpv4::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        let again = msg.to_bytes().unwrap_or_else(|e| match e {});
        assert_eq!(Message::decode(&again), Ok(msg), "round trip changed the message");
    }
});
