//! Arbitrary frames, timer expiries and life-cycle inputs fed to the LCP
//! engine alone and to a whole PPP session (LCP, PAP/CHAP, IPCP, IPV6CP).
//! Chunks are separated by 0xfe; a chunk's first octet picks the input
//! (frames may get an LCP/IPCP/IPV6CP/PAP/CHAP Protocol field prepended so
//! the fuzzer reaches the engines quickly). Must never panic, never re-arm
//! a timer at the instant it fired, and every frame an engine sends must
//! decode.
#![no_main]

use cpe_daemon::Engine;
use cpe_daemon::engine::drive::{advance, drain};
use cpe_wan::ppp::auth::Credentials;
use cpe_wan::ppp::fsm::{Event, Timers};
use cpe_wan::ppp::lcp::{Lcp, LcpConfig, LcpInput};
use cpe_wan::ppp::session::{Session, SessionAction, SessionConfig, SessionInput};
use cpe_wan::ppp::Rng;
use cpe_wire::ppp::Packet;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

const PREFIXES: [&[u8]; 6] = [
    &[],
    &[0xc0, 0x21],
    &[0x80, 0x21],
    &[0x80, 0x57],
    &[0xc0, 0x23],
    &[0xc2, 0x23],
];

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let lcp_config = LcpConfig {
        mru: 1492,
        echo_interval: Duration::from_secs(10),
        echo_failure: 3,
    };
    let mut lcp = Lcp::new(lcp_config, Timers::default(), Rng::new(1));
    let mut session = Session::new(
        SessionConfig {
            lcp: lcp_config,
            credentials: Credentials::new("user", "password"),
            ipv4: true,
            ipv6: true,
            interface_id: None,
            timers: Timers::default(),
        },
        1,
    );
    for chunk in data.split(|b| *b == 0xfe) {
        let Some((&op, rest)) = chunk.split_first() else {
            continue;
        };
        match op % 10 {
            0..=5 => {
                let mut frame = PREFIXES[usize::from(op % 10)].to_vec();
                frame.extend_from_slice(rest);
                lcp.handle(LcpInput::Frame(&frame), now);
                lcp.handle(LcpInput::Unsupported(&frame), now);
                session.handle(SessionInput::Frame(&frame), now);
            }
            6 => {
                now += Duration::from_secs(u64::from(rest.first().copied().unwrap_or(3)));
                check_lcp(advance(&mut lcp, now, 10_000));
                check_session(advance(&mut session, now, 10_000));
            }
            7 => {
                lcp.handle(LcpInput::Start, now);
                session.handle(SessionInput::Start, now);
            }
            8 => {
                lcp.handle(LcpInput::Close("stop"), now);
                session.handle(SessionInput::Stop("stop"), now);
            }
            _ => {
                lcp.handle(LcpInput::LowerDown, now);
                session.handle(SessionInput::LowerDown, now);
            }
        }
        check_lcp(drain(&mut lcp));
        check_session(drain(&mut session));
    }
});

fn check_lcp(events: Vec<Event>) {
    for e in events {
        if let Event::Send(f) = e {
            assert!(Packet::decode(&f.0).is_ok(), "LCP sent an undecodable frame");
        }
    }
}

fn check_session(actions: Vec<SessionAction>) {
    for a in actions {
        if let SessionAction::Send(f) = a {
            assert!(Packet::decode(&f.0).is_ok(), "the session sent an undecodable frame");
        }
    }
}
