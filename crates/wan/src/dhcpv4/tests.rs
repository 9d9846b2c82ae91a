//! Codec and client tests; the "server" here builds real replies with the
//! same codec from what the client sent, and time is virtual.

use super::engine::*;
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::{feed, timeout};
use cpe_wire::dhcpv4::*;
use proptest::prelude::*;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const MAC: [u8; 6] = [2, 0, 0, 0, 2, 1];
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn sent(actions: &[Action]) -> Vec<(Message, Destination)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(b, d) => Some((Message::decode(b).expect("client sends valid DHCP"), *d)),
            _ => None,
        })
        .collect()
}

fn configured(actions: &[Action]) -> Option<Lease> {
    actions.iter().find_map(|a| match a {
        Action::Configure(l) => Some(l.clone()),
        _ => None,
    })
}

fn reply(to: &Message, t: MessageType, lease: u32) -> Vec<u8> {
    Message {
        op: OP_REPLY,
        hops: 0,
        xid: to.xid,
        secs: 0,
        flags: to.flags,
        ciaddr: to.ciaddr,
        yiaddr: if t == MessageType::Nak {
            Ipv4Addr::UNSPECIFIED
        } else {
            ADDR
        },
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr: to.chaddr,
        options: Options {
            message_type: Some(t),
            server_id: Some(SERVER),
            lease_time: Some(lease),
            subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            routers: vec![SERVER],
            dns_servers: vec![Ipv4Addr::new(198, 51, 100, 1)],
            ntp_servers: vec![Ipv4Addr::new(198, 51, 100, 123)],
            ..Options::default()
        },
    }
    .to_bytes()
    .unwrap_or_else(|e| match e {})
}

/// Runs discover/offer/request/ack at `t0`; returns the bound client.
fn bound(t0: Instant, lease: u32) -> (Client, Lease) {
    let mut c = Client::new(MAC, Some("cpe".into()), 7, None, t0);
    let a = feed(&mut c, Input::LinkUp, t0);
    let (discover, dst) = sent(&a).remove(0);
    assert_eq!(dst, Destination::Broadcast);
    assert_eq!(discover.options.message_type, Some(MessageType::Discover));
    assert_eq!(discover.flags, FLAG_BROADCAST);
    let a = feed(
        &mut c,
        Input::Packet(reply(&discover, MessageType::Offer, lease)),
        t0,
    );
    let (request, _) = sent(&a).remove(0);
    assert_eq!(request.options.message_type, Some(MessageType::Request));
    assert_eq!(request.options.requested_ip, Some(ADDR));
    assert_eq!(request.options.server_id, Some(SERVER));
    let a = feed(
        &mut c,
        Input::Packet(reply(&request, MessageType::Ack, lease)),
        t0,
    );
    let l = configured(&a).expect("configures the lease");
    assert!(a.contains(&Action::Remember(Some(Remembered {
        address: ADDR,
        server: SERVER
    }))));
    assert_eq!(c.state(), State::Bound);
    (c, l)
}

#[test]
fn full_exchange_binds_with_rfc_timers() {
    let t0 = Instant::now();
    let (c, l) = bound(t0, 3600);
    assert_eq!(l.address, ADDR);
    assert_eq!(l.prefix_len, 24);
    assert_eq!(l.router, Some(SERVER));
    assert_eq!(l.dns, vec![Ipv4Addr::new(198, 51, 100, 1)]);
    assert_eq!(l.ntp, vec![Ipv4Addr::new(198, 51, 100, 123)]);
    assert_eq!(l.t1, t0 + Duration::from_secs(1800));
    assert_eq!(l.t2, t0 + Duration::from_secs(3150));
    assert_eq!(l.expires, t0 + Duration::from_secs(3600));
    assert_eq!(c.poll_timeout(), Some(l.t1));
}

#[test]
fn discover_backs_off_4_8_16_32_64_with_one_second_jitter() {
    let t0 = Instant::now();
    let mut c = Client::new(MAC, None, 99, None, t0);
    feed(&mut c, Input::LinkUp, t0);
    let mut last = t0;
    let mut gaps = Vec::new();
    for _ in 0..7 {
        let d = c.poll_timeout().unwrap();
        gaps.push((d - last).as_millis() as i64);
        let a = timeout(&mut c, d);
        assert_eq!(sent(&a).len(), 1);
        last = d;
    }
    for (gap, base) in gaps
        .iter()
        .zip([4_000i64, 8_000, 16_000, 32_000, 64_000, 64_000, 64_000])
    {
        assert!(
            (gap - base).abs() <= 1_000,
            "gap {gap} ms vs {base} ms: {gaps:?}"
        );
    }
}

#[test]
fn renew_at_t1_is_unicast_and_an_ack_extends_the_lease() {
    let t0 = Instant::now();
    let (mut c, l) = bound(t0, 3600);
    let a = timeout(&mut c, l.t1);
    let (renew, dst) = sent(&a).remove(0);
    assert_eq!(c.state(), State::Renewing);
    assert_eq!(dst, Destination::Unicast(SERVER));
    assert_eq!(renew.ciaddr, ADDR);
    assert_eq!(
        renew.options.requested_ip, None,
        "RFC 2131 4.3.2: not in RENEWING"
    );
    let a = feed(
        &mut c,
        Input::Packet(reply(&renew, MessageType::Ack, 3600)),
        l.t1,
    );
    let l2 = configured(&a).unwrap();
    assert_eq!(l2.expires, l.t1 + Duration::from_secs(3600));
    assert!(!a.iter().any(|x| matches!(x, Action::Deconfigure(_))));
    assert_eq!(c.state(), State::Bound);
}

#[test]
fn silent_server_leads_to_rebind_then_expiry_and_withdrawal() {
    let t0 = Instant::now();
    let (mut c, l) = bound(t0, 3600);
    let mut now = t0;
    let mut unicast = 0;
    let mut broadcast_after_t2 = 0;
    let mut deconfigured = None;
    while let Some(d) = c.poll_timeout() {
        now = d;
        let a = timeout(&mut c, now);
        for (_, dst) in sent(&a) {
            match dst {
                Destination::Unicast(_) => unicast += 1,
                Destination::Broadcast if now >= l.t2 && now < l.expires => broadcast_after_t2 += 1,
                Destination::Broadcast => {}
            }
        }
        if let Some(x) = a.iter().find_map(|x| match x {
            Action::Deconfigure(l) => Some(l.clone()),
            _ => None,
        }) {
            deconfigured = Some((x, now));
            break;
        }
    }
    let (gone, at) = deconfigured.expect("lease withdrawn");
    assert_eq!(gone.address, ADDR);
    assert_eq!(at, l.expires);
    // T1..T2 is 1350 s: renew at T1 then every half of what is left, >= 60 s.
    assert!((3..=6).contains(&unicast), "{unicast} renews");
    assert!(broadcast_after_t2 >= 2, "{broadcast_after_t2} rebinds");
    assert_eq!(c.state(), State::Selecting, "starts over");
    let _ = now;
}

#[test]
fn restart_asks_for_the_remembered_address_and_a_nak_starts_over() {
    let t0 = Instant::now();
    let r = Remembered {
        address: ADDR,
        server: SERVER,
    };
    let mut c = Client::new(MAC, None, 3, Some(r), t0);
    let a = feed(&mut c, Input::LinkUp, t0);
    let (req, dst) = sent(&a).remove(0);
    assert_eq!(c.state(), State::Rebooting);
    assert_eq!(dst, Destination::Broadcast);
    assert_eq!(req.options.message_type, Some(MessageType::Request));
    assert_eq!(req.options.requested_ip, Some(ADDR));
    assert_eq!(
        req.options.server_id, None,
        "RFC 2131 4.3.2: no server id in INIT-REBOOT"
    );
    let a = feed(&mut c, Input::Packet(reply(&req, MessageType::Nak, 0)), t0);
    assert!(a.contains(&Action::Remember(None)));
    let (d, _) = sent(&a).remove(0);
    assert_eq!(d.options.message_type, Some(MessageType::Discover));
    assert_eq!(c.counters().naks, 1);
}

#[test]
fn unanswered_reboot_gives_up_after_four_requests() {
    let t0 = Instant::now();
    let r = Remembered {
        address: ADDR,
        server: SERVER,
    };
    let mut c = Client::new(MAC, None, 3, Some(r), t0);
    feed(&mut c, Input::LinkUp, t0);
    let mut requests = 1;
    loop {
        let d = c.poll_timeout().unwrap();
        let a = timeout(&mut c, d);
        let (m, _) = sent(&a).remove(0);
        if m.options.message_type == Some(MessageType::Discover) {
            break;
        }
        requests += 1;
    }
    assert_eq!(requests, 4);
}

#[test]
fn foreign_and_malformed_replies_are_counted_not_taken() {
    let t0 = Instant::now();
    let mut c = Client::new(MAC, None, 5, None, t0);
    let a = feed(&mut c, Input::LinkUp, t0);
    let (discover, _) = sent(&a).remove(0);
    let mut other = Message::decode(&reply(&discover, MessageType::Offer, 60)).unwrap();
    other.xid ^= 1;
    assert!(
        feed(
            &mut c,
            Input::Packet(other.to_bytes().unwrap_or_else(|e| match e {})),
            t0
        )
        .is_empty()
    );
    let good = reply(&discover, MessageType::Offer, 60);
    assert!(feed(&mut c, Input::Packet(good[..200].to_vec()), t0).is_empty());
    assert_eq!(c.counters().ignored, 1);
    assert_eq!(c.counters().malformed, 1);
    assert_eq!(c.state(), State::Selecting);
}

#[test]
fn link_down_stops_sending_and_keeps_the_lease_until_expiry() {
    let t0 = Instant::now();
    let (mut c, l) = bound(t0, 600);
    feed(&mut c, Input::LinkDown, t0 + Duration::from_secs(1));
    assert_eq!(
        c.poll_timeout(),
        Some(l.expires),
        "no renew timer without a link"
    );
    let a = timeout(&mut c, l.t1);
    assert!(sent(&a).is_empty());
    let a = timeout(&mut c, l.expires);
    assert!(a.iter().any(|x| matches!(x, Action::Deconfigure(_))));
    assert!(sent(&a).is_empty());
    assert_eq!(c.state(), State::Idle);
    assert_eq!(c.poll_timeout(), None);
    // Carrier back: discover again.
    let a = feed(&mut c, Input::LinkUp, l.expires + Duration::from_secs(5));
    assert_eq!(
        sent(&a)[0].0.options.message_type,
        Some(MessageType::Discover)
    );
}

#[test]
fn codec_rejects_what_is_malformed() {
    let t0 = Instant::now();
    let mut c = Client::new(MAC, None, 5, None, t0);
    let (discover, _) = sent(&feed(&mut c, Input::LinkUp, t0)).remove(0);
    let good = reply(&discover, MessageType::Ack, 60);
    for cut in 0..HEADER_LEN + 4 {
        assert!(matches!(
            Message::decode(&good[..cut]),
            Err(DecodeError::TooShort(_))
        ));
    }
    // Lease-time option cut in half: truncated, not silently dropped.
    let mut b = good[..HEADER_LEN + 4].to_vec();
    b.extend_from_slice(&[51, 4, 0, 0]);
    assert_eq!(Message::decode(&b), Err(DecodeError::TruncatedOption(51)));
    // Wrong length for a known option.
    let mut b = good[..HEADER_LEN + 4].to_vec();
    b.extend_from_slice(&[54, 3, 1, 2, 3, 255]);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::BadOptionLength { code: 54, len: 3 })
    );
    let mut b = good[..HEADER_LEN + 4].to_vec();
    b.extend_from_slice(&[52, 1, 3, 255]);
    assert_eq!(Message::decode(&b), Err(DecodeError::Overload));
    let mut b = good[..HEADER_LEN + 4].to_vec();
    b.extend_from_slice(&[53, 1, 5, 53, 1, 5, 255]);
    assert_eq!(Message::decode(&b), Err(DecodeError::Duplicate(53)));
    // Zero-length host name (RFC 2132 minimum is 1); found by fuzzing, as
    // it decoded to Some("") and re-encoded to nothing.
    let mut b = good[..HEADER_LEN + 4].to_vec();
    b.extend_from_slice(&[12, 0, 255]);
    assert_eq!(
        Message::decode(&b),
        Err(DecodeError::BadOptionLength { code: 12, len: 0 })
    );
    let mut b = good.clone();
    b[HEADER_LEN] = 0;
    assert_eq!(Message::decode(&b), Err(DecodeError::BadCookie));
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

prop_compose! {
    fn any_message()(xid in any::<u32>(), secs in any::<u16>(), bcast in any::<bool>(),
                     ci in ipv4(), yi in ipv4(), mac in any::<[u8; 6]>(),
                     t in 1u8..=8, server in proptest::option::of(ipv4()),
                     lease in proptest::option::of(any::<u32>()),
                     t1 in proptest::option::of(any::<u32>()),
                     mask in proptest::option::of(ipv4()),
                     routers in proptest::collection::vec(ipv4(), 0..4),
                     dns in proptest::collection::vec(ipv4(), 0..70),
                     host in proptest::option::of("[a-z]{1,20}")) -> Message {
        let message_type = match t { 1 => MessageType::Discover, 2 => MessageType::Offer,
            3 => MessageType::Request, 4 => MessageType::Decline, 5 => MessageType::Ack,
            6 => MessageType::Nak, 7 => MessageType::Release, _ => MessageType::Inform };
        Message {
            op: OP_REPLY, hops: 0, xid, secs, flags: if bcast { FLAG_BROADCAST } else { 0 },
            ciaddr: ci, yiaddr: yi, siaddr: Ipv4Addr::UNSPECIFIED, giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: mac,
            options: Options { message_type: Some(message_type), server_id: server, lease_time: lease,
                renewal_time: t1, subnet_mask: mask, routers, dns_servers: dns, hostname: host,
                ..Options::default() },
        }
    }
}

proptest! {
    #[test]
    fn encode_decode_round_trips(m in any_message()) {
        prop_assert_eq!(Message::decode(&m.to_bytes().unwrap_or_else(|e| match e {})).unwrap(), m);
    }

    #[test]
    fn arbitrary_input_never_panics_the_client(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let t0 = Instant::now();
        let mut c = Client::new(MAC, None, 1, None, t0);
        feed(&mut c, Input::LinkUp, t0);
        let _ = Message::decode(&data);
        let _ = feed(&mut c, Input::Packet(data), t0);
    }
}
