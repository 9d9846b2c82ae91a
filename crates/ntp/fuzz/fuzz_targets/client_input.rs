//! The client's input path: replies (forged, garbled, or answering the
//! request in flight), server lists, step results and send failures at
//! advancing virtual times. Framing per event: `[100 ms steps to advance]
//! [kind][length]` then that many payload bytes. Nothing may panic, the
//! timer never re-arms at one instant forever, every request is a 48-octet
//! client packet, and every reply is counted.
#![no_main]

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::{advance, drain};
use cpe_ntp::{Action, ClientConfig, Engine, Input};
use cpe_wire::ntp::{Message, Mode, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let base = Duration::from_secs(86_400);
    let config = ClientConfig {
        servers: vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
        ..ClientConfig::default()
    };
    let mut engine = Engine::new(config, 1, t0);
    let mut now = t0;
    let mut last: Option<(SocketAddr, Timestamp)> = None;
    let mut replies = 0u64;
    let mut check = |actions: Vec<Action>, last: &mut Option<(SocketAddr, Timestamp)>| {
        for a in actions {
            if let Action::Send { to, packet } = a {
                assert_eq!(packet.len(), 48);
                let m = Message::decode(&packet).expect("our request decodes");
                assert_eq!(m.mode, Mode::Client);
                *last = Some((to, m.transmit));
            }
        }
    };
    let mut rest = data;
    while let [dt, kind, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        now += Duration::from_millis(u64::from(*dt) * 100);
        check(advance(&mut engine, now, 10_000), &mut last);
        let wall = Timestamp::from_unix(base + (now - t0));
        match kind & 7 {
            0 | 1 | 2 => {
                let mut bytes = payload.to_vec();
                let (to, nonce) = last.unwrap_or((
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 123),
                    Timestamp::ZERO,
                ));
                // Kind 1: answers the request in flight (origin copied in).
                if kind & 7 == 1 && bytes.len() >= 48 {
                    bytes[24..32].copy_from_slice(&nonce.0.to_be_bytes());
                }
                let from = if kind & 7 == 2 {
                    SocketAddr::new(to.ip(), to.port().wrapping_add(1))
                } else {
                    to
                };
                replies += 1;
                engine.handle(
                    Input::Reply {
                        from,
                        data: &bytes,
                        wall,
                    },
                    now,
                );
            }
            3 => {
                let list = payload
                    .chunks_exact(16)
                    .map(|c| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(c).unwrap_or([0; 16]))))
                    .collect();
                engine.handle(Input::WanServers(list), now);
            }
            4 => engine.handle(Input::Stepped(Ok(())), now),
            5 => engine.handle(Input::Stepped(Err("EPERM".into())), now),
            _ => engine.handle(Input::SendFailed("ENETUNREACH".into()), now),
        }
        check(drain(&mut engine), &mut last);
        let _ = engine.status_report(now);
    }
    assert_eq!(engine.counters().received, replies);
});
