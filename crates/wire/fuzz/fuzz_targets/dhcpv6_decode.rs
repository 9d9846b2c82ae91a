//! Any byte string: decoding must not panic, and whatever decodes must
//! re-encode to exactly the same bytes (the codec keeps wire order and raw
//! unknown options, so anything else is a codec bug); Prefix Exclude
//! options are resolved against their IA Prefix; MAP-E rules that pass
//! the arithmetic checks are applied to their own prefix (address, PSID,
//! port set), which must never panic either.
#![no_main]

use cpe_wire::dhcpv6::{DhcpOption, Message};
use cpe_wire::map_e::Rule;
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
        for o in msg.map_e().unwrap_or_default() {
            let DhcpOption::S46Rule(r) = o else { continue };
            let offset = r.port_params().map_or(6, |p| p.offset);
            let rule = Rule::new(
                r.ipv6_prefix,
                r.prefix6_len,
                r.ipv4_prefix,
                r.prefix4_len,
                r.ea_len,
                offset,
            );
            if let Ok(rule) = rule
                && let Some(m) = rule.map(r.ipv6_prefix, 64)
            {
                let ranges = m.port_ranges();
                assert!(ranges.iter().all(|x| m.has_port(*x.start())));
            }
        }
    }
});
