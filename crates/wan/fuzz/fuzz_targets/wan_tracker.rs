//! The WAN tracker fed any sequence of observations, with RAs taken through
//! the real RA acceptance path. Must never panic and must always produce a
//! state whose reason is non-empty; time only moves forward.
#![no_main]

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_wan::ra::accept_ra;
use cpe_wan::engine::{AddrView, DefaultRoute, Input, LinkView, Tracker, TrackerConfig};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut t = Tracker::new(TrackerConfig {
        mode: "ipoe".into(),
        interface: "wan0".into(),
    });
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        let b = |i: usize| tail.get(i).copied().unwrap_or(0);
        // `None`: only time passes.
        let input = match op % 8 {
            0 => Some(Input::Link((b(0) & 1 == 1).then(|| LinkView {
                index: 2,
                admin_up: b(0) & 2 != 0,
                carrier: b(0) & 4 != 0,
                running: b(0) & 8 != 0,
                mtu: u32::from(b(1)) * 10,
            }))),
            1 => Some(Input::AddressUp(AddrView {
                net: format!("fe80::{:x}/64", b(0))
                    .parse()
                    .unwrap_or_else(|_| "fe80::1/64".parse().unwrap()),
                tentative: b(1) & 1 != 0,
                dad_failed: b(1) & 2 != 0,
            })),
            2 => Some(Input::RouteUp(DefaultRoute {
                gateway: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(b(0)))),
            })),
            3 => Some(Input::RouteGone(DefaultRoute {
                gateway: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(b(0)))),
            })),
            4 => {
                // An RA of the next `len` bytes, through the real validator.
                let len = usize::from(b(0)).min(tail.len().saturating_sub(1));
                let msg = tail.get(1..1 + len).unwrap_or(&[]);
                rest = tail.get(1 + len..).unwrap_or(&[]);
                match accept_ra(msg, "fe80::1".parse().unwrap(), 255) {
                    Ok(ra) => Some(Input::Ra(ra)),
                    Err(_) => None,
                }
            }
            5 => {
                now += Duration::from_secs(u64::from(b(0)) * 60);
                None
            }
            6 => {
                if let Some(d) = t.poll_timeout() {
                    assert!(d >= t0);
                    now = now.max(d);
                }
                None
            }
            _ => Some(Input::Resync {
                addresses: vec![],
                routes: vec![],
            }),
        };
        match input {
            Some(input) => t.handle(input, now),
            None => t.handle_timeout(now),
        }
        drain(&mut t);
        assert!(!t.facts().reason.is_empty());
    }
});
