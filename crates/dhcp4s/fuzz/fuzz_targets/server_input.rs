//! The server's input path over time: a sequence of datagrams, each framed
//! as `[seconds to advance, scaled x16][length hi][length lo]` + payload,
//! against a 4-address pool so exhaustion, expiry and reuse all happen.
//! Nothing may panic; every datagram is answered, handled or counted; every
//! reply decodes; the lease file gives back every saved record unchanged;
//! no client holds two live leases and nothing outside the pool is ever
//! recorded.
#![no_main]

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_dhcp4s::{Action, Engine, Input, LeaseState, LeaseTable, PoolConfig, persist};
use cpe_wire::dhcpv4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = PoolConfig {
        address: ipnet::Ipv4Net::new(Ipv4Addr::new(192, 168, 1, 1), 24).expect("valid net"),
        pool: (Ipv4Addr::new(192, 168, 1, 100), Ipv4Addr::new(192, 168, 1, 103)),
        lease_time: 600,
        domain: Some("lan".into()),
    };
    let mut server = Engine::new(config, LeaseTable::new());
    let mut now = Instant::now();
    let mut rest = data;
    let mut sent = 0u64;
    let mut handled = 0u64;
    while let [dt, hi, lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        now += Duration::from_secs(u64::from(*dt) * 16);
        sent += 1;
        server.handle(Input::Received(payload), now);
        let actions = drain(&mut server);
        assert_eq!(actions.len(), 1, "one action per datagram");
        for action in actions {
            match action {
                Action::Reply { payload, kind, .. } => {
                    let m = dhcpv4::Message::decode(&payload).expect("our reply decodes");
                    assert_eq!(m.message_type(), Some(kind));
                }
                Action::Handled => handled += 1,
                Action::Drop(_) => {}
            }
        }
        let mut holders = HashSet::new();
        for (a, l) in server.leases().iter() {
            assert!(server.config().in_pool(*a), "record outside the pool: {a}");
            if matches!(l.state, LeaseState::Bound | LeaseState::Offered) && l.until > now {
                assert!(holders.insert(l.client.clone()), "a client holds two leases");
            }
        }
    }
    let c = server.counters();
    assert_eq!(c.received, sent);
    assert_eq!(c.replied() + c.dropped() + handled, sent);
    let text = persist::render(server.leases(), now, 1_800_000_000);
    let (table, skipped) = persist::parse(&text, now, 1_800_000_000);
    assert_eq!(skipped, 0, "our own file parses: {text}");
    // Every record but offers (not saved) reads back as the engine holds
    // it: a record lost or changed here is a lease lost on restart.
    let saved: Vec<_> = server
        .leases()
        .iter()
        .filter(|(_, l)| l.state != LeaseState::Offered)
        .collect();
    assert_eq!(saved.len(), table.len(), "records restored: {text}");
    for ((a, l), (b, m)) in saved.into_iter().zip(table.iter()) {
        assert_eq!(
            (a, &l.client, l.mac, &l.hostname, l.state),
            (b, &m.client, m.mac, &m.hostname, m.state),
            "record read back: {text}"
        );
    }
    assert_eq!(persist::render(&table, now, 1_800_000_000), text);
});
