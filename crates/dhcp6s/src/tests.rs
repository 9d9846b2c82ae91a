//! Engine tests: real encoded client messages through `Engine::handle`,
//! replies decoded again with the strict codec.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_wire::dhcpv6::{
    DhcpOption, DomainName, Duid, IaNa, IaPd, Message, MessageType, NtpSuboption, Status,
    TransactionId, code,
};
use proptest::prelude::*;

use crate::config::{DnsEntry, ServerConfig};
use crate::engine::{Action, DropReason, Engine, Input, Received};

/// The one action a datagram causes (the engine promises exactly one).
fn datagram(e: &mut Engine, rx: Received<'_>, now: Instant) -> Action {
    e.handle(Input::Received(rx), now);
    let mut actions = drain(e);
    assert_eq!(actions.len(), 1, "one action per datagram: {actions:?}");
    actions.remove(0)
}

fn set_self(e: &mut Engine, address: &str) {
    e.handle(
        Input::SelfAddress(Some(address.parse().unwrap())),
        Instant::now(),
    );
}

const CLIENT: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x301);

fn server_duid() -> Duid {
    Duid::link_layer(1, &[2, 0, 0, 0, 2, 2]).unwrap()
}

fn client_duid() -> Duid {
    Duid::link_layer(1, &[2, 0, 0, 0, 3, 1]).unwrap()
}

fn other_duid() -> Duid {
    Duid::link_layer(1, &[2, 0, 0, 0, 9, 9]).unwrap()
}

fn config() -> ServerConfig {
    ServerConfig {
        dns: vec![
            DnsEntry::SelfAddress,
            DnsEntry::Address("2001:db8:53::1".parse().unwrap()),
        ],
        domain_search: vec![
            DomainName::from_dotted("lan").unwrap(),
            DomainName::from_dotted("example.jp").unwrap(),
        ],
        ntp: vec!["2001:db8:123::1".parse().unwrap()],
        information_refresh: 3600,
    }
}

fn engine() -> Engine {
    let mut e = Engine::new(config(), server_duid());
    set_self(&mut e, "fd00:1:2:1::1");
    e
}

fn msg(t: MessageType, opts: Vec<DhcpOption>) -> Vec<u8> {
    let mut m = Message::new(t, TransactionId::new(0xabcdef));
    m.options = opts;
    m.to_bytes().unwrap()
}

fn info_request(oro: &[u16]) -> Vec<u8> {
    msg(
        MessageType::InformationRequest,
        vec![
            DhcpOption::ClientId(client_duid()),
            DhcpOption::Oro(oro.to_vec()),
            DhcpOption::ElapsedTime(0),
        ],
    )
}

fn send(e: &mut Engine, bytes: &[u8], now: Instant) -> Action {
    datagram(
        e,
        Received {
            payload: bytes,
            source: CLIENT,
        },
        now,
    )
}

fn reply(o: Action) -> Message {
    match o {
        Action::Reply { to, port, payload } => {
            assert_eq!(
                (to, port),
                (CLIENT, 546),
                "reply goes to the client's port 546"
            );
            let m = Message::decode(&payload).expect("our reply decodes strictly");
            assert_eq!(m.msg_type, MessageType::Reply);
            assert_eq!(m.transaction_id.get(), 0xabcdef);
            assert_eq!(m.server_id(), Some(&server_duid()));
            m
        }
        Action::Drop(r) => panic!("expected a reply, got drop {r:?}"),
    }
}

fn ia_na() -> DhcpOption {
    DhcpOption::IaNa(IaNa {
        iaid: 1,
        t1: 0,
        t2: 0,
        options: vec![],
    })
}

fn ia_pd() -> DhcpOption {
    DhcpOption::IaPd(IaPd {
        iaid: 2,
        t1: 0,
        t2: 0,
        options: vec![],
    })
}

#[test]
fn information_request_gets_requested_options_and_refresh_time() {
    let mut e = engine();
    let r = reply(send(
        &mut e,
        &info_request(&[code::DNS_SERVERS, code::DOMAIN_LIST, code::NTP_SERVER]),
        Instant::now(),
    ));
    assert_eq!(r.client_id(), Some(&client_duid()));
    assert_eq!(
        r.dns_servers(),
        [
            "fd00:1:2:1::1".parse::<Ipv6Addr>().unwrap(),
            "2001:db8:53::1".parse().unwrap()
        ]
    );
    let domains: Vec<String> = r.domain_list().iter().map(|d| d.to_string()).collect();
    assert_eq!(domains, ["lan", "example.jp"]);
    let ntp: Vec<_> = r
        .options
        .iter()
        .filter_map(|o| match o {
            DhcpOption::NtpServer(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ntp,
        [vec![NtpSuboption::ServerAddress(
            "2001:db8:123::1".parse().unwrap()
        )]]
    );
    assert_eq!(r.information_refresh_time(), Some(3600));
    assert_eq!(e.counters().replies, 1);
    assert_eq!(e.counters().requests.get("information_request"), Some(&1));
}

#[test]
fn only_what_the_oro_asks_for() {
    let mut e = engine();
    let r = reply(send(
        &mut e,
        &info_request(&[code::DOMAIN_LIST]),
        Instant::now(),
    ));
    assert!(r.dns_servers().is_empty());
    assert_eq!(r.domain_list().len(), 2);
    assert!(!r.options.iter().any(|o| o.code() == code::NTP_SERVER));
    assert_eq!(r.information_refresh_time(), Some(3600), "always sent");
    // No Client ID in the request: none in the reply, still answered.
    let bare = msg(MessageType::InformationRequest, vec![]);
    let r = reply(send(&mut e, &bare, Instant::now()));
    assert_eq!(r.client_id(), None);
    assert_eq!(
        r.options.len(),
        2,
        "Server ID + refresh time: {:?}",
        r.options
    );
}

#[test]
fn self_follows_renumbering_at_once() {
    let mut e = Engine::new(
        ServerConfig {
            dns: vec![DnsEntry::SelfAddress],
            ..config()
        },
        server_duid(),
    );
    let ir = info_request(&[code::DNS_SERVERS]);
    let t = Instant::now();
    let r = reply(send(&mut e, &ir, t));
    assert!(
        !r.options.iter().any(|o| o.code() == code::DNS_SERVERS),
        "no LAN address yet: no DNS option rather than a wrong one"
    );
    set_self(&mut e, "2001:db8:1:1::1");
    let r = reply(send(&mut e, &ir, t));
    assert_eq!(
        r.dns_servers(),
        ["2001:db8:1:1::1".parse::<Ipv6Addr>().unwrap()]
    );
    set_self(&mut e, "2001:db8:2:1::1");
    let r = reply(send(&mut e, &ir, t));
    assert_eq!(
        r.dns_servers(),
        ["2001:db8:2:1::1".parse::<Ipv6Addr>().unwrap()]
    );
}

#[test]
fn section_16_validation() {
    let mut e = engine();
    let t = Instant::now();
    let cases = [
        (
            msg(
                MessageType::InformationRequest,
                vec![DhcpOption::ClientId(client_duid()), ia_na()],
            ),
            DropReason::IaInInformationRequest,
        ),
        (
            msg(
                MessageType::InformationRequest,
                vec![DhcpOption::ServerId(other_duid())],
            ),
            DropReason::OtherServer,
        ),
        (
            msg(
                MessageType::Solicit,
                vec![DhcpOption::ClientId(client_duid()), ia_na()],
            ),
            DropReason::SolicitIgnored,
        ),
        (
            msg(MessageType::Solicit, vec![ia_na()]),
            DropReason::MissingClientId,
        ),
        (
            msg(
                MessageType::Solicit,
                vec![
                    DhcpOption::ClientId(client_duid()),
                    DhcpOption::ServerId(server_duid()),
                ],
            ),
            DropReason::UnexpectedServerId,
        ),
        (
            msg(
                MessageType::Request,
                vec![
                    DhcpOption::ClientId(client_duid()),
                    DhcpOption::ServerId(other_duid()),
                ],
            ),
            DropReason::OtherServer,
        ),
        (
            msg(
                MessageType::Request,
                vec![DhcpOption::ClientId(client_duid())],
            ),
            DropReason::OtherServer,
        ),
        (
            msg(
                MessageType::Rebind,
                vec![DhcpOption::ClientId(client_duid()), ia_na()],
            ),
            DropReason::NoBindings,
        ),
        (
            msg(
                MessageType::Confirm,
                vec![DhcpOption::ClientId(client_duid()), ia_na()],
            ),
            DropReason::NoBindings,
        ),
        (
            msg(
                MessageType::InformationRequest,
                vec![
                    DhcpOption::ClientId(client_duid()),
                    DhcpOption::ClientId(other_duid()),
                ],
            ),
            DropReason::MissingClientId,
        ),
        (
            msg(MessageType::Advertise, vec![]),
            DropReason::NotForServer,
        ),
        (
            msg(MessageType::Other(200), vec![]),
            DropReason::NotForServer,
        ),
        (vec![12, 0, 0, 0, 0, 9, 0, 0], DropReason::Relay),
    ];
    for (i, (bytes, want)) in cases.iter().enumerate() {
        // One second apart: the rate limiter is not what is tested here.
        let at = t + Duration::from_secs(i as u64);
        assert_eq!(send(&mut e, bytes, at), Action::Drop(*want), "{want:?}");
    }
    assert_eq!(e.counters().replies, 0);
    assert_eq!(e.counters().drops.get("solicit_ignored"), Some(&1));
    assert_eq!(e.counters().received, cases.len() as u64);
    // With our Server ID, an Information-request is answered.
    let ours = msg(
        MessageType::InformationRequest,
        vec![DhcpOption::ServerId(server_duid())],
    );
    reply(send(&mut e, &ours, t + Duration::from_secs(60)));
}

fn ia_status(r: &Message) -> Vec<(u16, Status)> {
    r.options
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IaNa(ia) => ia.status().map(|s| (code::IA_NA, s.status)),
            DhcpOption::IaPd(ia) => ia.status().map(|s| (code::IA_PD, s.status)),
            _ => None,
        })
        .collect()
}

#[test]
fn stateful_messages_get_no_binding_answers() {
    let mut e = engine();
    let t = Instant::now();
    let ids = || {
        vec![
            DhcpOption::ClientId(client_duid()),
            DhcpOption::ServerId(server_duid()),
            ia_na(),
            ia_pd(),
        ]
    };
    let r = reply(send(&mut e, &msg(MessageType::Request, ids()), t));
    assert_eq!(
        ia_status(&r),
        [
            (code::IA_NA, Status::NoAddrsAvail),
            (code::IA_PD, Status::NoPrefixAvail)
        ]
    );
    let r = reply(send(&mut e, &msg(MessageType::Renew, ids()), t));
    assert_eq!(
        ia_status(&r),
        [
            (code::IA_NA, Status::NoBinding),
            (code::IA_PD, Status::NoBinding)
        ]
    );
    for t_ in [MessageType::Release, MessageType::Decline] {
        let r = reply(send(&mut e, &msg(t_, ids()), t));
        assert_eq!(r.status().map(|s| s.status), Some(Status::Success));
        assert_eq!(ia_status(&r).len(), 2);
        assert!(
            r.information_refresh_time().is_none(),
            "IRT only for Information-request"
        );
    }
}

#[test]
fn malformed_messages_are_counted_by_reason() {
    let mut e = engine();
    let t = Instant::now();
    assert_eq!(
        send(&mut e, &[11, 0], t),
        Action::Drop(DropReason::Malformed(
            cpe_wire::dhcpv6::DecodeErrorKind::TooShort
        ))
    );
    // Option 23 with a length that is not a multiple of 16.
    let bad = [11, 0, 0, 1, 0, 23, 0, 3, 1, 2, 3];
    assert!(matches!(
        send(&mut e, &bad, t),
        Action::Drop(DropReason::Malformed(_))
    ));
    assert_eq!(e.counters().drops.get("too_short"), Some(&1));
    assert_eq!(e.counters().drops.get("bad_option_length"), Some(&1));
    // The server keeps answering.
    reply(send(&mut e, &info_request(&[]), t));
}

#[test]
fn a_looping_host_is_rate_limited_and_recovers() {
    let mut e = engine();
    let t0 = Instant::now();
    let ir = info_request(&[code::DNS_SERVERS]);
    let answered = (0..100)
        .filter(|_| matches!(send(&mut e, &ir, t0), Action::Reply { .. }))
        .count();
    assert_eq!(answered, 10, "burst of 10");
    assert_eq!(e.counters().drops.get("rate_limited"), Some(&90));
    // Another host is not affected.
    let other = datagram(
        &mut e,
        Received {
            payload: &ir,
            source: "fe80::2".parse().unwrap(),
        },
        t0,
    );
    assert!(matches!(other, Action::Reply { .. }));
    // Two per second afterwards.
    let later = t0 + Duration::from_secs(5);
    let answered = (0..100)
        .filter(|_| matches!(send(&mut e, &ir, later), Action::Reply { .. }))
        .count();
    assert_eq!(answered, 10, "refilled to the burst after 5 s");
}

proptest! {
    #[test]
    fn any_datagram_is_answered_or_counted(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut e = engine();
        let out = send(&mut e, &data, Instant::now());
        let c = e.counters();
        prop_assert_eq!(c.received, 1);
        prop_assert_eq!(c.replies + c.dropped(), 1);
        if let Action::Reply { payload, .. } = out {
            prop_assert!(Message::decode(&payload).is_ok());
        }
    }
}

/// The NTP servers of option 56 in a Reply.
fn ntp_of(r: &Message) -> Vec<Ipv6Addr> {
    r.ntp_servers()
}

/// The router serves no NTP itself: with `ntp = []` it passes on the ISP's
/// servers (option 56 on the WAN), following them; configured servers win.
#[test]
fn without_configured_ntp_servers_the_isps_are_passed_on() {
    let isp: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let mut e = Engine::new(
        ServerConfig {
            ntp: Vec::new(),
            ..config()
        },
        server_duid(),
    );
    let ir = info_request(&[code::NTP_SERVER]);
    let r = reply(send(&mut e, &ir, Instant::now()));
    assert!(ntp_of(&r).is_empty(), "nothing known, nothing sent");
    e.handle(Input::WanNtp(&[isp]), Instant::now());
    let r = reply(send(&mut e, &ir, Instant::now()));
    assert_eq!(ntp_of(&r), [isp]);
    assert_eq!(e.ntp(), [isp]);
    // Configured servers are served instead of the ISP's.
    let mut e = engine();
    e.handle(Input::WanNtp(&[isp]), Instant::now());
    let r = reply(send(&mut e, &ir, Instant::now()));
    assert_eq!(ntp_of(&r), ["2001:db8:123::1".parse::<Ipv6Addr>().unwrap()]);
}
