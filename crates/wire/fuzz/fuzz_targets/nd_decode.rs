//! Any byte string as a received RS/RA: decoding must not panic, and whatever
//! decodes must re-encode and decode to the same value. (Bytes may differ:
//! reserved fields, RIO prefix bits past the length and non-minimal RIO
//! lengths are normalised, which is why equality is checked on values.)
#![no_main]

use std::net::Ipv6Addr;

use cpe_wire::nd;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = nd::NdMessage::decode(data) {
        let again = msg.to_bytes().expect("a decoded message always re-encodes");
        assert_eq!(again.len() % 8, 0, "options keep 8-octet alignment");
        let reparsed = nd::NdMessage::decode(&again).expect("re-encoded bytes decode");
        assert_eq!(reparsed, msg);
    }
    let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
    let mut copy = data.to_vec();
    nd::set_checksum(&src, &dst, &mut copy);
    assert!(copy.len() < 4 || nd::checksum_is_valid(&src, &dst, &copy));
});
