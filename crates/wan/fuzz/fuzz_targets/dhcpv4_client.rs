//! A DHCPv4 reply path: the codec, then the client in every state that
//! accepts replies. The input is split in packets on 0xff 0xfe markers so
//! the fuzzer can build OFFER-then-ACK sequences. Must never panic, and a
//! message that decodes must re-decode identically after encoding.
#![no_main]

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_wan::dhcpv4::engine::{Client, Input, Remembered};
use cpe_wire::dhcpv4::Message;
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mac = [2, 0, 0, 0, 2, 1];
    let remembered = data
        .first()
        .is_some_and(|b| b & 1 == 1)
        .then(|| Remembered {
            address: Ipv4Addr::new(192, 0, 2, 100),
            server: Ipv4Addr::new(192, 0, 2, 1),
        });
    let mut c = Client::new(mac, None, 1, remembered, t0);
    c.handle(Input::LinkUp, t0);
    drain(&mut c);
    let mut now = t0;
    for packet in data.split(|b| *b == 0xfe) {
        if let Ok(m) = Message::decode(packet) {
            assert_eq!(Message::decode(&m.to_bytes().unwrap_or_else(|e| match e {})).as_ref(), Ok(&m));
        }
        c.handle(Input::Packet(packet.to_vec()), now);
        drain(&mut c);
        now += Duration::from_secs(1);
        if let Some(d) = c.poll_timeout() {
            assert!(d >= t0);
            if d <= now + Duration::from_secs(3600) {
                now = now.max(d);
                c.handle_timeout(now);
                drain(&mut c);
            }
        }
    }
});
