//! The server's input path: a sequence of datagrams from a few sources at
//! advancing virtual times. Framing per datagram: `[ms to advance][source
//! 0..=3][length]` then that many payload bytes. Nothing may panic, every
//! datagram is either answered or counted as a drop, and every reply
//! decodes with the strict codec.
#![no_main]

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_dhcp6s::{Action, DnsEntry, Engine, Input, Received, ServerConfig};
use cpe_wire::dhcpv6::{Duid, Message, MessageType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let duid = Duid::link_layer(1, &[2, 0, 0, 0, 2, 2]).expect("valid DUID");
    let config = ServerConfig {
        dns: vec![DnsEntry::SelfAddress, DnsEntry::Address(Ipv6Addr::LOCALHOST)],
        ntp: vec![Ipv6Addr::LOCALHOST],
        ..ServerConfig::default()
    };
    let mut engine = Engine::new(config, duid);
    let mut now = Instant::now();
    let mut rest = data;
    let mut sent = 0u64;
    while let [dt, src, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        now += Duration::from_millis(u64::from(*dt) * 10);
        if *src == 3 {
            // Renumbering between datagrams.
            let address = Ipv6Addr::new(0x2001, 0xdb8, u16::from(*dt), 1, 0, 0, 0, 1);
            engine.handle(Input::SelfAddress(Some(address)), now);
        }
        let source = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(*src & 3));
        sent += 1;
        engine.handle(Input::Received(Received { payload, source }), now);
        let actions = drain(&mut engine);
        assert_eq!(actions.len(), 1, "one action per datagram");
        for action in actions {
            if let Action::Reply { payload, port, .. } = action {
                assert_eq!(port, 546);
                let m = Message::decode(&payload).expect("our reply decodes");
                assert_eq!(m.msg_type, MessageType::Reply);
            }
        }
    }
    let c = engine.counters();
    assert_eq!(c.received, sent);
    assert_eq!(c.replies + c.dropped(), sent);
});
