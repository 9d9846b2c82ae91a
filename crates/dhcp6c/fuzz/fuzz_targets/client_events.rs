//! Drives the client engine with an arbitrary sequence of events: raw
//! datagrams, datagrams shaped as answers to what the client last sent (so
//! the fuzzer reaches Requesting, Bound, Renewing, Rebinding), link and RA
//! changes, teardown, and jumps in time.
//!
//! Checks: no panic, and the engine never asks to be woken in the past once
//! it has handled a tick (a deadline <= now after a tick would spin the
//! driver).
#![no_main]

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::{drain, feed};
use cpe_dhcp6c::{Action, AddressMode, Client, ClientConfig, Input};
use cpe_wire::dhcpv6::{DhcpOption, Duid, IaPd, IaPrefix, Message, MessageType, StatusCode, Status};
use libfuzzer_sys::fuzz_target;

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes([self.byte()?, self.byte()?, self.byte()?, self.byte()?]))
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fn answer(to: &Message, inp: &mut Reader<'_>) -> Option<Vec<u8>> {
    let kind = inp.byte()?;
    let t = if kind & 1 == 0 { MessageType::Advertise } else { MessageType::Reply };
    let mut m = Message::new(t, to.transaction_id);
    let server = Duid::link_layer(1, &[2, 0, 0, 0, 0xee, kind >> 4]).ok()?;
    m.options.push(DhcpOption::ServerId(server));
    if let Some(c) = to.client_id() {
        m.options.push(DhcpOption::ClientId(c.clone()));
    }
    if kind & 2 != 0 {
        m.options.push(DhcpOption::RapidCommit);
    }
    if kind & 4 != 0 {
        m.options.push(DhcpOption::Preference(inp.byte()?));
    }
    if kind & 8 != 0 {
        m.options.push(DhcpOption::SolMaxRt(inp.u32()?));
    }
    let iaid = to.ia_pds().next().map(|ia| ia.iaid).unwrap_or(0);
    let (t1, t2) = (inp.u32()? % 400, inp.u32()? % 400);
    let mut options = Vec::new();
    let n = inp.byte()? % 3;
    for i in 0..n {
        let (preferred, valid) = (inp.u32()? % 1000, inp.u32()? % 1000);
        let len = inp.byte()?;
        options.push(DhcpOption::IaPrefix(IaPrefix {
            preferred,
            valid,
            prefix_len: len % 129,
            prefix: Ipv6Addr::new(0x2001, 0xdb8, u16::from(i), u16::from(len), 0, 0, 0, 0),
            options: vec![],
        }));
    }
    let status = inp.byte()?;
    if status < 8 {
        options.push(DhcpOption::StatusCode(StatusCode {
            status: Status::from_u16(u16::from(status)),
            message: String::new(),
        }));
    }
    m.options.push(DhcpOption::IaPd(IaPd { iaid, t1, t2, options }));
    m.to_bytes().ok()
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Reader(data);
    let config = ClientConfig {
        request_prefix: true,
        prefix_hint: 56,
        request_address: AddressMode::Auto,
        rapid_commit: data.first().is_some_and(|b| b & 1 == 1),
        iaid_pd: 1,
        iaid_na: 2,
        extra_oro: vec![64, 94],
    };
    let Ok(duid) = Duid::link_layer(1, &[2, 0, 0, 0, 0, 1]) else { return };
    let mut client = Client::new(config, duid, 7);
    let mut now = Instant::now();
    let mut last_sent: Option<Message> = None;
    let mut steps = 0;
    while let Some(op) = inp.byte() {
        steps += 1;
        if steps > 400 {
            break;
        }
        let actions = match op % 8 {
            0 => feed(&mut client, Input::Start, now),
            1 => feed(&mut client, Input::Pause, now),
            2 => feed(&mut client, Input::Teardown, now),
            3 => {
                let f = inp.byte().unwrap_or(0);
                feed(&mut client, Input::RaFlags { managed: f & 1 == 1, other: f & 2 == 2 }, now)
            }
            4 => {
                let len = usize::from(inp.byte().unwrap_or(0));
                let pkt = inp.bytes(len).to_vec();
                feed(&mut client, Input::Packet(&pkt), now)
            }
            5 => match last_sent.as_ref().and_then(|m| answer(m, &mut inp)) {
                Some(pkt) => feed(&mut client, Input::Packet(&pkt), now),
                None => Vec::new(),
            },
            _ => {
                // Jump to the next deadline, or by an arbitrary step.
                let step = Duration::from_millis(u64::from(inp.u32().unwrap_or(0)) % 4_000_000);
                now = match client.poll_timeout() {
                    Some(d) if op & 8 == 0 => d.max(now),
                    _ => now + step,
                };
                let mut acts = Vec::new();
                for _ in 0..16 {
                    client.handle_timeout(now);
                    acts.extend(drain(&mut client));
                    if client.poll_timeout().is_none_or(|d| d > now) {
                        break;
                    }
                }
                assert!(
                    client.poll_timeout().is_none_or(|d| d > now),
                    "engine wants a tick in the past after ticking: state {:?}",
                    client.state()
                );
                acts
            }
        };
        for a in actions {
            if let Action::Transmit(bytes) = a {
                let m = Message::decode(&bytes).expect("the client only sends valid messages");
                last_sent = Some(m);
            }
        }
    }
});
