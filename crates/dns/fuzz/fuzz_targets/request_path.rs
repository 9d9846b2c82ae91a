//! Whole request path: a client packet (UDP or TCP, chosen by the first
//! byte) goes through parsing, local names, cache, joins and the query
//! table; the engine must never panic and UDP answers must fit the client.
#![no_main]

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_dns::config::ForwarderConfig;
use cpe_dns::engine::{Action, Forwarder, Input};
use cpe_dns::local::{HostAddr, LocalConfig};
use cpe_dns::message::ClientQuery;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, packet)) = data.split_first() else { return };
    let t0 = Instant::now();
    let opts = ForwarderConfig {
        max_outstanding: 4,
        local: LocalConfig {
            domain: "lan".into(),
            hosts: vec![("nas".into(), vec![HostAddr::Addr("192.168.1.10".parse().unwrap())])],
        },
        ..ForwarderConfig::default()
    };
    let mut fw = Forwarder::new(opts, [1; 32], t0);
    let ups = ["192.0.2.53:53".parse().unwrap(), "[2001:db8::53]:53".parse().unwrap()];
    let mut out = Vec::new();
    fw.handle(Input::UpstreamsChanged(&ups), t0);
    out.extend(drain(&mut fw));
    let local = "192.168.1.1".parse().unwrap();
    let peer = "192.168.1.50:5353".parse().unwrap();
    // Send it twice (join / duplicate path), then let timers run out.
    for i in 0..2u64 {
        let now = t0 + Duration::from_millis(i * 10);
        if mode & 1 == 0 {
            fw.handle(Input::ClientUdp { peer, local, iface: 3, data: packet }, now);
            out.extend(drain(&mut fw));
        } else {
            fw.handle(Input::ClientTcpOpened { conn: i, peer, local, iface: 3 }, now);
            out.extend(drain(&mut fw));
            fw.handle(Input::ClientTcp { conn: i, data: packet }, now);
            out.extend(drain(&mut fw));
        }
    }
    let limit = match ClientQuery::parse(packet) {
        Ok(q) => q.udp_limit(),
        Err(_) => 512,
    };
    for a in &out {
        if let Action::SendClientUdp { data, .. } = a {
            assert!(data.len() <= limit.max(512), "UDP answer of {} bytes for limit {limit}", data.len());
        }
    }
    for ms in [500u64, 1000, 2000, 4000, 11_000] {
        fw.handle_timeout(t0 + Duration::from_millis(ms));
        out.extend(drain(&mut fw));
    }
    assert_eq!(fw.outstanding(), 0);
});
