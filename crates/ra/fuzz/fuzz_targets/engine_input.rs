//! Drives one RA engine with a byte-coded sequence of events (time steps,
//! received RS/RA from chosen sources and hop limits, fact changes, restarts
//! with a new config, shutdown) and checks the RFC invariants that must hold whatever
//! the LAN throws at it:
//! - no panic;
//! - every RA sent decodes, fits 1240 octets (never fragmented), and
//!   multicast RAs are >= MIN_DELAY_BETWEEN_RAS apart;
//! - PIO lifetimes never exceed the RFC 9096 limits (stale ones are 0);
//! - nothing is sent after `Stopped`, and the final RA has router lifetime 0.
#![no_main]

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_ra::config::{MIN_DELAY_BETWEEN_RAS, ND_PREFERRED_LIMIT, ND_VALID_LIMIT};
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_ra::{Action, Engine, Input, LanFacts, LanPrefix, RaConfig, RaKind, Received};
use cpe_wire::nd::{self, NdMessage};
use ipnet::Ipv6Net;
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

const SOURCES: [Ipv6Addr; 4] = [
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xbad),
    Ipv6Addr::UNSPECIFIED,
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
];

fn facts(b: &mut Bytes<'_>, now: Instant) -> Option<LanFacts> {
    let bits = b.u8()?;
    let life = u64::from(b.u16()?);
    let mut prefixes = Vec::new();
    for i in 0..3u16 {
        if bits & (1 << i) != 0 {
            let prefix = Ipv6Net::new(Ipv6Addr::new(0x2001, 0xdb8, i, 1, 0, 0, 0, 0), 64).ok()?;
            prefixes.push(LanPrefix {
                prefix,
                preferred_until: Some(now + Duration::from_secs(life / 2)),
                valid_until: Some(now + Duration::from_secs(life)),
                deprecated: bits & (8 << i) != 0,
            });
        }
    }
    Some(LanFacts {
        prefixes,
        delegation_known: bits & 0x80 != 0,
        router_addresses: vec![Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1)],
        link_local: vec![SOURCES[0]],
        link_layer_address: Some([2, 0, 0, 0, 0, 1]),
        upstream_default_route: bits & 0x40 != 0,
        wan_mtu: Some(1280 + u32::from(b.u8()?) * 4),
        routes: Vec::new(),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let t0 = Instant::now();
    let mut now = t0;
    let mut engine = Engine::new(RaConfig::default(), &[], 1, now);
    let mut last_ra: Option<Instant> = None;
    let mut stopped = false;
    while let Some(op) = b.u8() {
        let input = match op % 6 {
            0 => {
                now += Duration::from_millis(u64::from(b.u16().unwrap_or(0)) * 16);
                engine.handle_timeout(now);
                check(&drain(&mut engine), now, &mut last_ra, &mut stopped);
                continue;
            }
            1 => {
                if let Some(d) = engine.poll_timeout() {
                    now = now.max(d);
                }
                engine.handle_timeout(now);
                check(&drain(&mut engine), now, &mut last_ra, &mut stopped);
                continue;
            }
            2 => {
                let who = usize::from(b.u8().unwrap_or(0));
                let hop = b.u8().unwrap_or(255);
                let len = usize::from(b.u8().unwrap_or(0));
                let message = b.take(len).to_vec();
                let source = SOURCES[who % SOURCES.len()];
                engine.handle(
                    Input::Received(Received { source, hop_limit: Some(hop), message: &message }),
                    now,
                );
                check(&drain(&mut engine), now, &mut last_ra, &mut stopped);
                continue;
            }
            3 => match facts(&mut b, now) {
                Some(f) => Input::Facts(f),
                None => break,
            },
            4 => {
                // A config change restarts the daemon: a new engine, a new
                // process, so the old one's RA spacing no longer applies.
                let min = u64::from(b.u8().unwrap_or(0));
                let max = u64::from(b.u16().unwrap_or(0));
                let config = RaConfig {
                    min_interval: Duration::from_secs(min),
                    max_interval: Duration::from_secs(max),
                    router_lifetime: b.u16().unwrap_or(0),
                    ..RaConfig::default()
                };
                engine = Engine::new(config, &[], 1, now);
                last_ra = None;
                stopped = false;
                check(&drain(&mut engine), now, &mut last_ra, &mut stopped);
                continue;
            }
            _ => Input::Shutdown,
        };
        engine.handle(input, now);
        check(&drain(&mut engine), now, &mut last_ra, &mut stopped);
    }
});

fn check(actions: &[Action], now: Instant, last_ra: &mut Option<Instant>, stopped: &mut bool) {
    for a in actions {
        match a {
            Action::SendRa { message, kind } => {
                assert!(!*stopped, "RA after Stopped");
                if let Some(last) = *last_ra {
                    assert!(now - last >= MIN_DELAY_BETWEEN_RAS, "RAs {:?} apart", now - last);
                }
                *last_ra = Some(now);
                assert!(message.len() <= cpe_ra::content::MAX_RA_OCTETS, "RA would fragment");
                let Ok(NdMessage::RouterAdvertisement(ra)) = NdMessage::decode(message) else {
                    panic!("sent RA does not decode");
                };
                if *kind == RaKind::Final {
                    assert_eq!(ra.router_lifetime, 0);
                }
                for p in ra.prefixes() {
                    assert_eq!(p.prefix_len, 64);
                    assert!(p.valid_lifetime <= ND_VALID_LIMIT);
                    assert!(p.preferred_lifetime <= ND_PREFERRED_LIMIT);
                    assert!(p.preferred_lifetime <= p.valid_lifetime);
                }
            }
            Action::Stopped => *stopped = true,
            Action::RememberPrefixes(_) | Action::RogueRouter(_) => {}
        }
    }
}
