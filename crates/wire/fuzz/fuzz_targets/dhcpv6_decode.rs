//! Any byte string: decoding must not panic, and whatever decodes must
//! re-encode to exactly the same bytes (the codec keeps wire order and raw
//! unknown options, so anything else is a codec bug); Prefix Exclude
//! options are resolved against their IA Prefix.
#![no_main]

use cpe_wire::dhcpv6::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        let again = msg.to_bytes().expect("a decoded message always re-encodes");
        assert_eq!(again, data, "re-encoding changed the bytes");
        let reparsed = Message::decode(&again).expect("re-encoded bytes decode");
        assert_eq!(reparsed, msg);
        // Prefix Exclude is read relative to its IA Prefix: any pair of
        // lengths and subnet IDs must give a prefix or an error, never panic.
        for ia in msg.ia_pds() {
            for p in ia.prefixes() {
                p.excluded().for_each(drop);
            }
        }
    }
});
