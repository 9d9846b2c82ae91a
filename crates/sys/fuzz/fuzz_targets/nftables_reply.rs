//! Any datagram an nfnetlink socket could deliver to the firewall driver:
//! batch acks and errors, counter dumps. Must never panic; an accepted
//! counter must re-decode identically.
#![no_main]

use cpe_sys::netlink::nftables::{Reply, parse_replies};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (header, reply) in parse_replies(data).into_iter().flatten() {
        assert!(header.len as usize >= 16);
        if let Reply::Ack(Some(e)) = &reply {
            assert!((1..4096).contains(&e.errno));
        }
    }
});
