//! The PPPoE discovery engine fed any sequence of inputs: frames (from the
//! AC, from another MAC, often carrying our Host-Uniq so the fuzzer gets
//! past the first check), timer expiries, start, close, stop, link loss and
//! stale sessions to clear.
//! Must never panic; every packet it sends must decode; a session exists
//! exactly in the session phase; a waiting phase always has a timer; time
//! only moves forward.
#![no_main]

use cpe_daemon::Engine;
use cpe_wan::pppoe::discovery::{Action, Discovery, DiscoveryConfig, Input, Phase};
use cpe_wire::pppoe::Message;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

const UNIQ: [u8; 2] = [0x42, 0x43];

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut d = Discovery::new(DiscoveryConfig::new(
        if data.first().is_some_and(|b| b & 1 == 1) { "internet" } else { "" },
        if data.first().is_some_and(|b| b & 2 == 2) { "ac" } else { "" },
        UNIQ.to_vec(),
        Duration::from_secs(5),
    ));
    let mut rest = data.get(1..).unwrap_or(&[]);
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        match op % 8 {
            0 => d.handle(Input::Start, now),
            1 | 2 | 3 => {
                // A frame of the next `len` bytes; op 2 appends our
                // Host-Uniq tag so the engine's later checks are reached.
                let len = usize::from(tail.first().copied().unwrap_or(0)).min(tail.len().saturating_sub(1));
                let mut packet = tail.get(1..1 + len).unwrap_or(&[]).to_vec();
                rest = tail.get(1 + len..).unwrap_or(&[]);
                if op % 8 == 2 && packet.len() >= 6 {
                    packet.extend_from_slice(&[0x01, 0x03, 0x00, 0x02, UNIQ[0], UNIQ[1]]);
                    let l = u16::from_be_bytes([packet[4], packet[5]]).saturating_add(6);
                    packet[4..6].copy_from_slice(&l.to_be_bytes());
                }
                let src = if op % 8 == 3 { [2, 0, 0, 0, 0, 2] } else { [2, 0, 0, 0, 0, 1] };
                d.handle(Input::Frame { src, packet: &packet }, now);
            }
            4 => {
                if let Some(at) = d.poll_timeout() {
                    now = now.max(at);
                }
                d.handle_timeout(now);
            }
            5 => d.handle(Input::Close { reason: "no PPP".into() }, now),
            6 => d.handle(Input::Stop, now),
            // A saved session from "before a restart", often invalid.
            7 if op & 0x80 != 0 => {
                let session_id = u16::from(tail.first().copied().unwrap_or(0));
                let ac = [tail.get(1).copied().unwrap_or(2), 0, 0, 0, 0, 1];
                d.handle(Input::ClearStale { session_id, ac }, now);
            }
            _ => d.handle(Input::LinkDown, now),
        }
        while let Some(a) = d.poll_action() {
            if let Action::Send { packet, .. } = a {
                Message::decode(&packet).expect("every packet sent decodes");
            }
        }
        assert_eq!(d.phase() == Phase::Session, d.session().is_some());
        if matches!(d.phase(), Phase::Discovery | Phase::Request | Phase::Holdoff) {
            assert!(d.poll_timeout().is_some(), "a waiting phase has a timer");
        }
    }
});
