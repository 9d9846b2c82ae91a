//! Forwarder engine behaviour with virtual time: every test drives the
//! real state machine with packets and `now` values and inspects actions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use cpe_daemon::engine::drive;
use cpe_dns::config::ForwarderConfig;
use cpe_dns::counters::{CountDrops, DropReason};
use cpe_dns::engine::{Action, Forwarder, Input, SockId, UpstreamFailure};
use cpe_dns::local::{HostAddr, LocalConfig};
use cpe_wire::dns::{
    self as wire, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, Header, NameBuf,
    Rtype, rcode, rtype,
};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

const A_UP: &str = "192.0.2.53:53";
const B_UP: &str = "[2001:db8::53]:53";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Lab {
    fw: Forwarder,
    t0: Instant,
    now: Instant,
}

impl Lab {
    fn new(opts: ForwarderConfig, upstreams: &[&str]) -> Lab {
        let t0 = Instant::now();
        let mut fw = Forwarder::new(opts, [42; 32], t0);
        let ups: Vec<SocketAddr> = upstreams.iter().map(|s| sa(s)).collect();
        drive::feed(&mut fw, Input::UpstreamsChanged(&ups), t0);
        Lab { fw, t0, now: t0 }
    }

    fn at(&mut self, ms: u64) {
        self.now = self.t0 + Duration::from_millis(ms);
    }

    fn ev(&mut self, e: Input<'_>) -> Vec<Action> {
        drive::feed(&mut self.fw, e, self.now)
    }

    fn udp_query(
        &mut self,
        peer: &str,
        id: u16,
        name: &str,
        qtype: Rtype,
        edns: bool,
    ) -> Vec<Action> {
        let data = client_query(id, name, qtype, edns);
        self.ev(Input::ClientUdp {
            peer: sa(peer),
            local: "192.168.1.1".parse().unwrap(),
            iface: 3,
            data: &data,
        })
    }

    fn timer(&mut self) -> Vec<Action> {
        drive::timeout(&mut self.fw, self.now)
    }
}

fn client_query(id: u16, name: &str, qtype: Rtype, edns: bool) -> Vec<u8> {
    client_query_with(id, name, qtype, FLAG_RD, edns.then_some((1232, false)))
}

/// A client query with these header flags and optional EDNS (size, DO).
fn client_query_with(
    id: u16,
    name: &str,
    qtype: Rtype,
    flags: u16,
    edns: Option<(u16, bool)>,
) -> Vec<u8> {
    let n = NameBuf::from_text(name).unwrap();
    let mut m = Header {
        id,
        flags,
        qdcount: 1,
        ancount: 0,
        nscount: 0,
        arcount: u16::from(edns.is_some()),
    }
    .to_bytes()
    .to_vec();
    m.extend_from_slice(n.as_wire());
    m.extend_from_slice(&qtype.to_u16().to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    if let Some((size, dnssec_ok)) = edns {
        m.extend_from_slice(&wire::opt_record(size, 0, dnssec_ok));
    }
    m
}

/// The upstream sends found in `actions`: (sock, upstream, query bytes).
fn upstream_sends(actions: &[Action]) -> Vec<(SockId, SocketAddr, Vec<u8>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendUpstreamUdp {
                sock,
                upstream,
                data,
                local_port,
            } => {
                assert!(*local_port >= 1024);
                Some((*sock, *upstream, data.clone()))
            }
            _ => None,
        })
        .collect()
}

fn client_replies(actions: &[Action]) -> Vec<(SocketAddr, Vec<u8>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendClientUdp { peer, data, .. } => Some((*peer, data.clone())),
            _ => None,
        })
        .collect()
}

/// An upstream answer to `query` with `n` records of `rdata` (type from the
/// question), each with `ttl`, owner compressed to the question.
fn answer_to(query: &[u8], rdata: &[u8], n: u16, ttl: u32, flags_extra: u16) -> Vec<u8> {
    let h = Header::parse(query).unwrap();
    let (q, qend) = wire::parse_question(query).unwrap();
    let mut m = Header {
        id: h.id,
        flags: FLAG_QR | FLAG_RD | FLAG_RA | flags_extra,
        qdcount: 1,
        ancount: n,
        nscount: 0,
        arcount: 1,
    }
    .to_bytes()
    .to_vec();
    m.extend_from_slice(&query[12..qend]);
    for _ in 0..n {
        m.extend_from_slice(&[0xc0, 12]);
        m.extend_from_slice(&q.qtype.to_u16().to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }
    m.extend_from_slice(&wire::opt_record(1232, 0, false));
    m
}

fn first_ttl(resp: &[u8]) -> u32 {
    let (_, qend) = wire::parse_question(resp).unwrap();
    let after = wire::skip_name(resp, qend).unwrap();
    wire::u32_at(resp, after + 4).unwrap()
}

#[test]
fn miss_forwards_then_cache_answers_with_decremented_ttl() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let acts = lab.udp_query(
        "192.168.1.50:5000",
        0x1111,
        "WWW.Example.com",
        rtype::A,
        true,
    );
    let sends = upstream_sends(&acts);
    assert_eq!(sends.len(), 1);
    let (sock, up, q) = &sends[0];
    assert_eq!(*up, sa(A_UP));
    // Upstream query: our ID, lowercase name, EDNS 1232.
    assert_ne!(Header::parse(q).unwrap().id, 0x1111);
    assert_eq!(
        wire::parse_question(q).unwrap().0.name.to_string(),
        "www.example.com"
    );
    lab.at(20);
    let reply = answer_to(q, &[192, 0, 2, 7], 1, 300, 0);
    let acts = lab.ev(Input::UpstreamUdp {
        sock: *sock,
        from: sa(A_UP),
        data: &reply,
    });
    let replies = client_replies(&acts);
    assert_eq!(replies.len(), 1);
    let (peer, resp) = &replies[0];
    assert_eq!(*peer, sa("192.168.1.50:5000"));
    let h = Header::parse(resp).unwrap();
    assert_eq!((h.id, h.ancount, h.arcount), (0x1111, 1, 1));
    assert_eq!(
        wire::parse_question(resp).unwrap().0.name.to_string(),
        "WWW.Example.com"
    );
    assert!(acts.contains(&Action::CloseUpstream { sock: *sock }));

    lab.at(10_020);
    let acts = lab.udp_query(
        "192.168.1.51:6000",
        0x2222,
        "www.example.COM",
        rtype::A,
        false,
    );
    assert!(upstream_sends(&acts).is_empty());
    let replies = client_replies(&acts);
    let resp = &replies[0].1;
    assert_eq!(
        Header::parse(resp).unwrap().arcount,
        0,
        "no OPT for a non-EDNS client"
    );
    assert_eq!(first_ttl(resp), 290);
    assert_eq!(lab.fw.counters().answered_cache, 1);

    lab.at(300_020);
    let acts = lab.udp_query(
        "192.168.1.51:6000",
        0x2223,
        "www.example.com",
        rtype::A,
        false,
    );
    assert_eq!(
        upstream_sends(&acts).len(),
        1,
        "expired entry is fetched again"
    );
}

#[test]
fn same_port_a_and_aaaa_are_independent() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let a = lab.udp_query("192.168.1.50:5353", 100, "host.example", rtype::A, false);
    let aaaa = lab.udp_query("192.168.1.50:5353", 101, "host.example", rtype::AAAA, false);
    let sa_ = upstream_sends(&a);
    let s6 = upstream_sends(&aaaa);
    assert_eq!((sa_.len(), s6.len()), (1, 1));
    assert_ne!(sa_[0].0, s6[0].0, "separate sockets");
    // AAAA answered first, then A: each reaches the client with its own ID.
    let r6 = answer_to(
        &s6[0].2,
        &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        1,
        60,
        0,
    );
    let out6 = client_replies(&lab.ev(Input::UpstreamUdp {
        sock: s6[0].0,
        from: sa(A_UP),
        data: &r6,
    }));
    assert_eq!(Header::parse(&out6[0].1).unwrap().id, 101);
    let r4 = answer_to(&sa_[0].2, &[192, 0, 2, 1], 1, 60, 0);
    let out4 = client_replies(&lab.ev(Input::UpstreamUdp {
        sock: sa_[0].0,
        from: sa(A_UP),
        data: &r4,
    }));
    assert_eq!(Header::parse(&out4[0].1).unwrap().id, 100);
}

#[test]
fn identical_questions_join_one_upstream_query() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let first =
        upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "a.example", rtype::A, false));
    let second = lab.udp_query("192.168.1.60:2000", 2, "A.EXAMPLE", rtype::A, false);
    assert!(upstream_sends(&second).is_empty());
    // A retransmission from the same client is not a second waiter.
    lab.udp_query("192.168.1.60:2000", 2, "A.EXAMPLE", rtype::A, false);
    assert_eq!(lab.fw.counters().drops_by(DropReason::DuplicateQuery), 1);
    let reply = answer_to(&first[0].2, &[192, 0, 2, 1], 1, 60, 0);
    let out = client_replies(&lab.ev(Input::UpstreamUdp {
        sock: first[0].0,
        from: sa(A_UP),
        data: &reply,
    }));
    assert_eq!(out.len(), 2);
    assert_eq!(
        wire::parse_question(&out[1].1).unwrap().0.name.as_wire(),
        b"\x01A\x07EXAMPLE\x00"
    );
    assert_eq!(lab.fw.counters().joined, 1);
}

#[test]
fn spoofed_replies_are_ignored_and_the_real_one_accepted() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "bank.example", rtype::A, false));
    let (sock, _, q) = &s[0];
    let good = answer_to(q, &[192, 0, 2, 1], 1, 60, 0);
    let evil = answer_to(q, &[6, 6, 6, 6], 1, 60, 0);
    // Wrong source port.
    assert!(
        client_replies(&lab.ev(Input::UpstreamUdp {
            sock: *sock,
            from: sa("192.0.2.53:5353"),
            data: &evil
        }))
        .is_empty()
    );
    // Wrong ID.
    let mut wrong_id = evil.clone();
    let id = Header::parse(&wrong_id).unwrap().id.wrapping_add(1);
    wire::put_u16(&mut wrong_id, 0, id);
    assert!(
        client_replies(&lab.ev(Input::UpstreamUdp {
            sock: *sock,
            from: sa(A_UP),
            data: &wrong_id
        }))
        .is_empty()
    );
    // Wrong question (right ID and source).
    let other = client_query(
        Header::parse(q).unwrap().id,
        "bank.example.evil",
        rtype::A,
        true,
    );
    let wrong_q = answer_to(&other, &[6, 6, 6, 6], 1, 60, 0);
    assert!(
        client_replies(&lab.ev(Input::UpstreamUdp {
            sock: *sock,
            from: sa(A_UP),
            data: &wrong_q
        }))
        .is_empty()
    );
    // Garbage carrying the right ID.
    let garbage = [q[0], q[1], 3];
    assert!(
        client_replies(&lab.ev(Input::UpstreamUdp {
            sock: *sock,
            from: sa(A_UP),
            data: &garbage
        }))
        .is_empty()
    );
    let c = lab.fw.counters();
    assert_eq!(
        (
            c.drops_by(DropReason::WrongSource),
            c.drops_by(DropReason::WrongId),
            c.drops_by(DropReason::WrongQuestion),
            c.drops_by(DropReason::UpstreamMalformed)
        ),
        (1, 1, 1, 1)
    );
    let out = client_replies(&lab.ev(Input::UpstreamUdp {
        sock: *sock,
        from: sa(A_UP),
        data: &good,
    }));
    assert_eq!(out.len(), 1);
    let resp = &out[0].1;
    assert_eq!(&resp[resp.len() - 4..], &[192, 0, 2, 1]);
}

#[test]
fn silent_upstream_fails_over_within_one_second() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP, B_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "x.example", rtype::A, false));
    assert_eq!(s[0].1, sa(A_UP));
    let mut retry = Vec::new();
    for ms in (50..1000).step_by(50) {
        lab.at(ms);
        retry = upstream_sends(&lab.timer());
        if !retry.is_empty() {
            assert!(ms <= 500, "failover after {ms} ms");
            break;
        }
    }
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].1, sa(B_UP));
    let reply = answer_to(&retry[0].2, &[192, 0, 2, 9], 1, 60, 0);
    let out = client_replies(&lab.ev(Input::UpstreamUdp {
        sock: retry[0].0,
        from: sa(B_UP),
        data: &reply,
    }));
    assert_eq!(out.len(), 1);
    // The late answer on A's socket is no longer expected.
    let late = answer_to(&s[0].2, &[192, 0, 2, 9], 1, 60, 0);
    assert!(
        client_replies(&lab.ev(Input::UpstreamUdp {
            sock: s[0].0,
            from: sa(A_UP),
            data: &late
        }))
        .is_empty()
    );
}

#[test]
fn port_unreachable_fails_over_at_once_and_probe_brings_upstream_back() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP, B_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "y.example", rtype::A, false));
    lab.at(1);
    let acts = lab.ev(Input::UpstreamError {
        sock: s[0].0,
        cause: UpstreamFailure::Refused,
    });
    let retry = upstream_sends(&acts);
    assert_eq!(retry[0].1, sa(B_UP));
    let reply = answer_to(&retry[0].2, &[192, 0, 2, 9], 1, 60, 0);
    lab.at(3);
    assert_eq!(
        client_replies(&lab.ev(Input::UpstreamUdp {
            sock: retry[0].0,
            from: sa(B_UP),
            data: &reply
        }))
        .len(),
        1
    );
    // A is down: new questions go straight to B.
    let s2 = upstream_sends(&lab.udp_query("192.168.1.50:1000", 2, "z.example", rtype::A, false));
    assert_eq!(s2[0].1, sa(B_UP));
    // One second later a probe goes to A; its answer marks A up again.
    lab.at(1001);
    let probes = upstream_sends(&lab.timer());
    let probe = probes.iter().find(|p| p.1 == sa(A_UP)).expect("probe to A");
    let preply = answer_to(&probe.2, &[192, 0, 2, 9], 1, 60, 0);
    lab.ev(Input::UpstreamUdp {
        sock: probe.0,
        from: sa(A_UP),
        data: &preply,
    });
    let s3 = upstream_sends(&lab.udp_query("192.168.1.50:1000", 3, "w.example", rtype::A, false));
    assert_eq!(
        s3[0].1,
        sa(A_UP),
        "traffic returns to the recovered upstream"
    );
}

#[test]
fn no_answer_anywhere_gives_servfail_at_deadline() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    lab.udp_query("192.168.1.50:1000", 7, "slow.example", rtype::A, false);
    let mut servfail = None;
    for ms in (100..=4000).step_by(100) {
        lab.at(ms);
        if let Some((_, r)) = client_replies(&lab.timer()).pop() {
            servfail = Some((ms, r));
            break;
        }
    }
    let (ms, r) = servfail.expect("servfail");
    assert!(ms <= 4000);
    assert_eq!(Header::parse(&r).unwrap().rcode(), rcode::SERVFAIL);
    assert_eq!(lab.fw.outstanding(), 0);
}

#[test]
fn truncated_upstream_answer_is_retried_over_tcp_and_client_gets_tc_if_too_big() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 9, "big.example", rtype::A, false));
    let tc = answer_to(&s[0].2, &[], 0, 60, FLAG_TC);
    let acts = lab.ev(Input::UpstreamUdp {
        sock: s[0].0,
        from: sa(A_UP),
        data: &tc,
    });
    let (tsock, tq) = acts
        .iter()
        .find_map(|a| match a {
            Action::OpenUpstreamTcp {
                sock,
                upstream,
                data,
            } if *upstream == sa(A_UP) => Some((*sock, data.clone())),
            _ => None,
        })
        .expect("TCP retry");
    // 40 A records: 640 bytes of answers, more than a plain client's 512.
    let big = answer_to(&tq, &[192, 0, 2, 1], 40, 60, 0);
    let out = client_replies(&lab.ev(Input::UpstreamTcp {
        sock: tsock,
        data: &big,
    }));
    let h = Header::parse(&out[0].1).unwrap();
    assert!(h.flags & FLAG_TC != 0);
    assert_eq!(h.ancount, 0);
    // The full answer is cached and served over TCP in full.
    let acts = lab.ev(Input::ClientTcpOpened {
        conn: 5,
        peer: sa("192.168.1.50:40000"),
        local: "192.168.1.1".parse().unwrap(),
        iface: 3,
    });
    assert!(
        acts.iter()
            .all(|a| !matches!(a, Action::CloseClientTcp { .. }))
    );
    let q = client_query(10, "big.example", rtype::A, false);
    let acts = lab.ev(Input::ClientTcp { conn: 5, data: &q });
    let data = acts.iter().find_map(|a| match a {
        Action::SendClientTcp { conn: 5, data } => Some(data.clone()),
        _ => None,
    });
    assert_eq!(Header::parse(&data.unwrap()).unwrap().ancount, 40);
}

#[test]
fn tcp_pipelining_and_idle_timeout() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    lab.ev(Input::ClientTcpOpened {
        conn: 1,
        peer: sa("192.168.1.50:40000"),
        local: "192.168.1.1".parse().unwrap(),
        iface: 3,
    });
    let q1 = client_query(1, "one.example", rtype::A, false);
    let q2 = client_query(2, "two.example", rtype::A, false);
    let s1 = upstream_sends(&lab.ev(Input::ClientTcp { conn: 1, data: &q1 }));
    let s2 = upstream_sends(&lab.ev(Input::ClientTcp { conn: 1, data: &q2 }));
    // Answers come back in the opposite order; both go out on the connection.
    let r2 = answer_to(&s2[0].2, &[192, 0, 2, 2], 1, 60, 0);
    let r1 = answer_to(&s1[0].2, &[192, 0, 2, 1], 1, 60, 0);
    let a2 = lab.ev(Input::UpstreamUdp {
        sock: s2[0].0,
        from: sa(A_UP),
        data: &r2,
    });
    let a1 = lab.ev(Input::UpstreamUdp {
        sock: s1[0].0,
        from: sa(A_UP),
        data: &r1,
    });
    let id_of = |acts: &[Action]| {
        acts.iter().find_map(|a| match a {
            Action::SendClientTcp { data, .. } => Some(Header::parse(data).unwrap().id),
            _ => None,
        })
    };
    assert_eq!((id_of(&a2), id_of(&a1)), (Some(2), Some(1)));
    lab.at(9_000);
    assert!(
        lab.timer()
            .iter()
            .all(|a| !matches!(a, Action::CloseClientTcp { .. }))
    );
    lab.at(10_001);
    assert!(lab.timer().contains(&Action::CloseClientTcp { conn: 1 }));
}

#[test]
fn tables_are_bounded_with_servfail_and_counters() {
    let opts = ForwarderConfig {
        max_outstanding: 2,
        max_tcp_clients: 1,
        ..ForwarderConfig::default()
    };
    let mut lab = Lab::new(opts, &[A_UP]);
    lab.udp_query("192.168.1.50:1000", 1, "a.example", rtype::A, false);
    lab.udp_query("192.168.1.50:1000", 2, "b.example", rtype::A, false);
    let out = client_replies(&lab.udp_query("192.168.1.50:1000", 3, "c.example", rtype::A, false));
    assert_eq!(Header::parse(&out[0].1).unwrap().rcode(), rcode::SERVFAIL);
    assert_eq!(lab.fw.counters().drops_by(DropReason::TableFull), 1);
    let local = "192.168.1.1".parse().unwrap();
    lab.ev(Input::ClientTcpOpened {
        conn: 1,
        peer: sa("192.168.1.50:1"),
        local,
        iface: 3,
    });
    let acts = lab.ev(Input::ClientTcpOpened {
        conn: 2,
        peer: sa("192.168.1.50:2"),
        local,
        iface: 3,
    });
    assert!(acts.contains(&Action::CloseClientTcp { conn: 2 }));
}

#[test]
fn queries_from_non_lan_interfaces_are_dropped_silently() {
    let opts = ForwarderConfig {
        lan_ifaces: vec![3],
        ..ForwarderConfig::default()
    };
    let mut lab = Lab::new(opts, &[A_UP]);
    let data = client_query(1, "x.example", rtype::A, false);
    let acts = lab.ev(Input::ClientUdp {
        peer: sa("203.0.113.9:1000"),
        local: "192.168.1.1".parse().unwrap(),
        iface: 2,
        data: &data,
    });
    assert!(acts.is_empty());
    assert_eq!(lab.fw.counters().drops_by(DropReason::NotLan), 1);
}

#[test]
fn upstream_change_keeps_cache_and_uses_new_upstream() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "keep.example", rtype::A, false));
    let reply = answer_to(&s[0].2, &[192, 0, 2, 1], 1, 600, 0);
    lab.ev(Input::UpstreamUdp {
        sock: s[0].0,
        from: sa(A_UP),
        data: &reply,
    });
    let ups = [sa(B_UP)];
    lab.ev(Input::UpstreamsChanged(&ups));
    assert_eq!(lab.fw.cache_len(), 1);
    let hit = lab.udp_query("192.168.1.50:1000", 2, "keep.example", rtype::A, false);
    assert!(upstream_sends(&hit).is_empty());
    let miss =
        upstream_sends(&lab.udp_query("192.168.1.50:1000", 3, "new.example", rtype::A, false));
    assert_eq!(miss[0].1, sa(B_UP));
}

#[test]
fn local_names_answer_self_by_receiving_address() {
    let opts = ForwarderConfig {
        local: LocalConfig {
            domain: "lan".into(),
            hosts: vec![(
                "nas".into(),
                vec![HostAddr::Addr("192.168.1.10".parse().unwrap())],
            )],
        },
        ..ForwarderConfig::default()
    };
    let mut lab = Lab::new(opts, &[A_UP]);
    let data = client_query(1, "router.lan", rtype::AAAA, false);
    let local: IpAddr = "2001:db8:1::1".parse().unwrap();
    let acts = lab.ev(Input::ClientUdp {
        peer: sa("[2001:db8:1::50]:1000"),
        local,
        iface: 3,
        data: &data,
    });
    let out = client_replies(&acts);
    let r = &out[0].1;
    assert_eq!(Header::parse(r).unwrap().ancount, 1);
    assert_eq!(
        &r[r.len() - 16..],
        &"2001:db8:1::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
    );
    let out = client_replies(&lab.udp_query("192.168.1.50:1000", 2, "nas.lan", rtype::A, false));
    assert_eq!(&out[0].1[out[0].1.len() - 4..], &[192, 168, 1, 10]);
    let out = client_replies(&lab.udp_query("192.168.1.50:1000", 3, "nope.lan", rtype::A, false));
    assert_eq!(Header::parse(&out[0].1).unwrap().rcode(), rcode::NXDOMAIN);
    assert_eq!(
        lab.fw.counters().upstream_queries,
        0,
        "local names never leak upstream"
    );
}

#[test]
fn status_reports_upstreams_cache_and_drops() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP, B_UP]);
    lab.udp_query("192.168.1.50:1000", 1, "s.example", rtype::A, false);
    lab.at(1000);
    let st = lab.fw.status(lab.now);
    assert_eq!(st.upstreams.len(), 2);
    assert_eq!(st.upstreams[1].address, "[2001:db8::53]:53");
    assert_eq!(st.outstanding, 1);
    assert!((st.queries_per_second - 1.0).abs() < 1e-9);
    let json = serde_json::to_value(&st).unwrap();
    assert!(json["counters"]["drops"].is_object());
}

#[test]
fn half_closed_tcp_client_still_gets_its_answer() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    lab.ev(Input::ClientTcpOpened {
        conn: 1,
        peer: sa("192.168.1.50:40000"),
        local: "192.168.1.1".parse().unwrap(),
        iface: 3,
    });
    let q = client_query(1, "late.example", rtype::A, false);
    let s = upstream_sends(&lab.ev(Input::ClientTcp { conn: 1, data: &q }));
    let acts = lab.ev(Input::ClientTcpClosed { conn: 1 });
    assert!(!acts.contains(&Action::CloseClientTcp { conn: 1 }));
    let r = answer_to(&s[0].2, &[192, 0, 2, 1], 1, 60, 0);
    let acts = lab.ev(Input::UpstreamUdp {
        sock: s[0].0,
        from: sa(A_UP),
        data: &r,
    });
    let send = acts
        .iter()
        .position(|a| matches!(a, Action::SendClientTcp { conn: 1, .. }));
    let close = acts
        .iter()
        .position(|a| *a == Action::CloseClientTcp { conn: 1 });
    assert!(send.unwrap() < close.unwrap(), "answer first, then close");
}

/// Random interleavings of client queries, upstream replies (real and
/// forged), upstream errors and time: every query gets exactly one answer
/// (from cache, upstream or SERVFAIL), the table never exceeds its bound and
/// drains completely.
mod query_table_properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        Query { client: u8, name: u8, aaaa: bool },
        Reply { pick: u8 },
        Forged { pick: u8, how: u8 },
        Error { pick: u8 },
        Wait { ms: u16 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, 0u8..6, any::<bool>()).prop_map(|(client, name, aaaa)| Op::Query {
                client,
                name,
                aaaa
            }),
            any::<u8>().prop_map(|pick| Op::Reply { pick }),
            (any::<u8>(), 0u8..3).prop_map(|(pick, how)| Op::Forged { pick, how }),
            any::<u8>().prop_map(|pick| Op::Error { pick }),
            (0u16..1500).prop_map(|ms| Op::Wait { ms }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn every_query_gets_exactly_one_answer(ops in proptest::collection::vec(op(), 1..80)) {
            let opts = ForwarderConfig { max_outstanding: 4, ..ForwarderConfig::default() };
            let mut lab = Lab::new(opts, &[A_UP, B_UP]);
            let mut clock = 0u64;
            let mut next_id = 1u16;
            let mut asked: HashMap<(SocketAddr, u16), u32> = HashMap::new();
            let mut in_flight: Vec<(SockId, SocketAddr, Vec<u8>)> = Vec::new();
            let mut answers: HashMap<(SocketAddr, u16), u32> = HashMap::new();
            let mut record = |acts: &[Action], in_flight: &mut Vec<(SockId, SocketAddr, Vec<u8>)>| {
                for a in acts {
                    match a {
                        Action::SendClientUdp { peer, data, .. } => {
                            let id = Header::parse(data).unwrap().id;
                            *answers.entry((*peer, id)).or_default() += 1;
                        }
                        Action::SendUpstreamUdp { sock, upstream, data, .. } => in_flight.push((*sock, *upstream, data.clone())),
                        Action::CloseUpstream { sock } => in_flight.retain(|f| f.0 != *sock),
                        _ => {}
                    }
                }
            };
            for op in ops {
                let acts = match op {
                    Op::Query { client, name, aaaa } => {
                        let peer = format!("192.168.1.{}:5000", 10 + client);
                        let id = next_id;
                        next_id += 1;
                        *asked.entry((sa(&peer), id)).or_default() += 1;
                        let t = if aaaa { rtype::AAAA } else { rtype::A };
                        lab.udp_query(&peer, id, &format!("n{name}.example"), t, name % 2 == 0)
                    }
                    Op::Reply { pick } if !in_flight.is_empty() => {
                        let (sock, up, q) = in_flight[pick as usize % in_flight.len()].clone();
                        let rdata: &[u8] = if wire::parse_question(&q).unwrap().0.qtype == rtype::A { &[192, 0, 2, 1] } else { &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] };
                        let r = answer_to(&q, rdata, 1, 30, 0);
                        lab.ev(Input::UpstreamUdp { sock, from: up, data: &r })
                    }
                    Op::Forged { pick, how } if !in_flight.is_empty() => {
                        let (sock, up, q) = in_flight[pick as usize % in_flight.len()].clone();
                        let mut r = answer_to(&q, &[6, 6, 6, 6], 1, 30, 0);
                        let from = match how {
                            0 => SocketAddr::new(up.ip(), 5353),
                            1 => { let id = Header::parse(&r).unwrap().id ^ 1; wire::put_u16(&mut r, 0, id); up }
                            _ => { let l = 13; r[l] ^= 0x01; up }
                        };
                        lab.ev(Input::UpstreamUdp { sock, from, data: &r })
                    }
                    Op::Error { pick } if !in_flight.is_empty() => {
                        let sock = in_flight[pick as usize % in_flight.len()].0;
                        lab.ev(Input::UpstreamError {
                            sock,
                            cause: UpstreamFailure::Refused,
                        })
                    }
                    Op::Wait { ms } => {
                        clock += u64::from(ms);
                        lab.at(clock);
                        lab.timer()
                    }
                    _ => Vec::new(),
                };
                record(&acts, &mut in_flight);
                prop_assert!(lab.fw.outstanding() <= 4);
            }
            // Let every deadline pass.
            for step in 1..=10 {
                lab.at(clock + step * 1000);
                let acts = lab.timer();
                record(&acts, &mut in_flight);
            }
            prop_assert_eq!(lab.fw.outstanding(), 0);
            prop_assert_eq!(&answers, &asked);
        }
    }
}

#[test]
fn retransmissions_to_the_same_upstream_back_off() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "slow.example", rtype::A, false));
    assert_eq!(s.len(), 1);
    // Initial RTO 400 ms, then 800 ms, then 1600 ms to the same upstream.
    let mut sent_at = Vec::new();
    for ms in (10..4000).step_by(10) {
        lab.at(ms);
        let retries = upstream_sends(&lab.timer())
            .into_iter()
            .filter(|(_, _, q)| {
                wire::parse_question(q).unwrap().0.name.to_string() == "slow.example"
            })
            .count();
        if retries > 0 {
            sent_at.push(ms);
        }
    }
    // The third timeout (at 2800 ms) marks the only upstream down: the
    // client gets SERVFAIL then instead of a fourth copy and the full 4 s
    // deadline (the upstream is probed separately; probes ask another
    // question).
    assert_eq!(sent_at, vec![400, 1200]);
    assert_eq!(lab.fw.outstanding(), 0);
    assert_eq!(lab.fw.counters().servfail, 1);
}

/// The earliest SERVFAIL among the client replies in `acts`.
fn servfail_in(acts: &[Action]) -> bool {
    client_replies(acts)
        .iter()
        .any(|(_, r)| Header::parse(r).unwrap().rcode() == rcode::SERVFAIL)
}

/// Steps virtual time by 10 ms from `from_ms` until a SERVFAIL goes out;
/// returns when (ms), or None by `until_ms`.
fn servfail_by(lab: &mut Lab, from_ms: u64, until_ms: u64) -> Option<u64> {
    (from_ms..=until_ms).step_by(10).find(|&ms| {
        lab.at(ms);
        servfail_in(&lab.timer())
    })
}

/// Issue 9 item 3: the only upstream was killed (ICMP port unreachable).
/// The query that finds out gets SERVFAIL at once, later ones after one short
/// try, not after the 4 s deadline; probes keep going at least once a second
/// and the first answer puts the upstream back in use.
#[test]
fn dead_upstream_gives_fast_servfail_and_is_used_again_within_a_second() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "k1.example", rtype::A, false));
    lab.at(2);
    let acts = lab.ev(Input::UpstreamError {
        sock: s[0].0,
        cause: UpstreamFailure::Refused,
    });
    assert!(servfail_in(&acts), "SERVFAIL at once: {acts:?}");
    assert!(
        upstream_sends(&acts).is_empty(),
        "no second copy to a dead upstream"
    );
    assert_eq!(lab.fw.outstanding(), 0);
    // A later question while it is down: one short try, then SERVFAIL (ICMP
    // can be rate-limited by the upstream host, so silence must be fast too).
    lab.at(100);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 2, "k2.example", rtype::A, false));
    assert_eq!(s.len(), 1, "one short try");
    let at = servfail_by(&mut lab, 110, 4000).expect("SERVFAIL");
    assert!(at - 100 <= 500, "SERVFAIL after {} ms", at - 100);
    // Probes: never more than a second apart while it stays dead.
    let mut probe_times = Vec::new();
    for ms in (at..10_000).step_by(10) {
        lab.at(ms);
        let sends = upstream_sends(&lab.timer());
        for (sock, _, _) in &sends {
            probe_times.push(ms);
            lab.ev(Input::UpstreamError {
                sock: *sock,
                cause: UpstreamFailure::Refused,
            });
        }
    }
    assert!(probe_times.len() >= 8, "{probe_times:?}");
    assert!(
        probe_times.windows(2).all(|w| w[1] - w[0] <= 1000),
        "{probe_times:?}"
    );
    // It comes back: the next probe's answer marks it up and the next
    // question is forwarded normally (with the full deadline).
    let probe = (10_000..12_000)
        .step_by(10)
        .find_map(|ms| {
            lab.at(ms);
            upstream_sends(&lab.timer()).pop()
        })
        .expect("probe");
    let r = answer_to(&probe.2, &[192, 0, 2, 1], 1, 60, 0);
    lab.ev(Input::UpstreamUdp {
        sock: probe.0,
        from: sa(A_UP),
        data: &r,
    });
    assert_eq!(lab.fw.status(lab.now).upstreams[0].health, "up");
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 3, "k3.example", rtype::A, false));
    let r = answer_to(&s[0].2, &[192, 0, 2, 3], 1, 60, 0);
    let out = client_replies(&lab.ev(Input::UpstreamUdp {
        sock: s[0].0,
        from: sa(A_UP),
        data: &r,
    }));
    assert_eq!(Header::parse(&out[0].1).unwrap().rcode(), rcode::NOERROR);
    assert_eq!(lab.fw.counters().all_down_queries, 1);
    assert_eq!(lab.fw.counters().drops_by(DropReason::UpstreamsDown), 2);
}

/// Issue 9 item 3, frozen upstream (no ICMP at all): once three timeouts
/// mark it down, questions fail after one retransmission timeout of its
/// measured RTT, not after 4 s.
#[test]
fn frozen_upstream_fails_fast_once_marked_down() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let s = upstream_sends(&lab.udp_query("192.168.1.50:1000", 1, "f0.example", rtype::A, false));
    lab.at(5);
    let r = answer_to(&s[0].2, &[192, 0, 2, 1], 1, 60, 0);
    lab.ev(Input::UpstreamUdp {
        sock: s[0].0,
        from: sa(A_UP),
        data: &r,
    });
    // Frozen from now on: the first question takes a while and marks it down.
    lab.at(1000);
    lab.udp_query("192.168.1.50:1000", 2, "f1.example", rtype::A, false);
    servfail_by(&mut lab, 1010, 6000).expect("SERVFAIL");
    assert_eq!(lab.fw.status(lab.now).upstreams[0].health, "down");
    let t = 7000;
    lab.at(t);
    lab.udp_query("192.168.1.50:1000", 3, "f2.example", rtype::A, false);
    let at = servfail_by(&mut lab, t + 10, t + 4000).expect("SERVFAIL");
    assert!(at - t <= 200, "SERVFAIL after {} ms", at - t);
}

/// Issue 17 item 1: an upstream that truncates every UDP answer and refuses
/// TCP. One client question costs at most a UDP query and a TCP attempt,
/// and while TCP to it backs off, one UDP query; the client gets SERVFAIL
/// (a truncated answer passed on would read as NODATA), the upstream stays
/// up for UDP, and the failures are counted.
#[test]
fn truncating_upstream_that_refuses_tcp_does_not_cause_a_retry_storm() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    // Plays the upstream: every UDP query gets TC, every TCP attempt RST.
    // Returns (UDP queries, TCP attempts, client replies) for one question.
    let storm = |lab: &mut Lab, id: u16, name: &str| {
        let mut acts = lab.udp_query("192.168.1.50:1000", id, name, rtype::A, false);
        let (mut udp, mut tcp, mut replies) = (0, 0, Vec::new());
        for _ in 0..1000 {
            replies.extend(client_replies(&acts));
            let mut next = Vec::new();
            for a in &acts {
                match a {
                    Action::SendUpstreamUdp { sock, data, .. } => {
                        udp += 1;
                        let tc = answer_to(data, &[], 0, 60, FLAG_TC);
                        next.extend(lab.ev(Input::UpstreamUdp {
                            sock: *sock,
                            from: sa(A_UP),
                            data: &tc,
                        }));
                    }
                    Action::OpenUpstreamTcp { sock, .. } => {
                        tcp += 1;
                        next.extend(lab.ev(Input::UpstreamError {
                            sock: *sock,
                            cause: UpstreamFailure::Refused,
                        }));
                    }
                    _ => {}
                }
            }
            if next.is_empty() {
                break;
            }
            acts = next;
        }
        (udp, tcp, replies)
    };
    let (udp, tcp, replies) = storm(&mut lab, 1, "big.example");
    assert_eq!((udp, tcp), (1, 1), "upstream packets for one question");
    assert_eq!(replies.len(), 1);
    assert_eq!(
        Header::parse(&replies[0].1).unwrap().rcode(),
        rcode::SERVFAIL
    );
    // While TCP backs off: one UDP query, no TCP.
    lab.at(100);
    let (udp, tcp, replies) = storm(&mut lab, 2, "big2.example");
    assert_eq!((udp, tcp, replies.len()), (1, 0, 1));
    // After the backoff (1 s) TCP is tried again, then backs off longer.
    lab.at(1200);
    let (udp, tcp, _) = storm(&mut lab, 3, "big3.example");
    assert_eq!((udp, tcp), (1, 1));
    lab.at(2300);
    let (_, tcp, _) = storm(&mut lab, 4, "big4.example");
    assert_eq!(tcp, 0, "second backoff is 2 s");
    let st = lab.fw.status(lab.now);
    assert_eq!(st.upstreams[0].health, "up", "UDP works: not down");
    assert_eq!(st.upstreams[0].tcp_failures, 2);
    assert_eq!(st.counters.upstream_tcp_failed, 2);
    assert_eq!(st.counters.upstream_tcp_skipped, 2);
    assert_eq!(st.counters.drops_by(DropReason::UpstreamNoTcp), 4);
    assert_eq!(lab.fw.outstanding(), 0);
}

/// However the failures go, one question never costs more than
/// `MAX_ATTEMPTS` upstream sockets: here three upstreams fail every attempt
/// at once with a local error (which does not mark them down at once), so
/// only the cap ends the rounds before all three are down.
#[test]
fn attempts_per_question_are_capped_over_its_whole_life() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP, B_UP, "192.0.2.54:53"]);
    let mut acts = lab.udp_query("192.168.1.50:1000", 1, "cap.example", rtype::A, false);
    let mut sockets = 0;
    for _ in 0..100 {
        let mut next = Vec::new();
        for (sock, _, _) in upstream_sends(&acts) {
            sockets += 1;
            next.extend(lab.ev(Input::UpstreamError {
                sock,
                cause: UpstreamFailure::Other,
            }));
        }
        if next.is_empty() {
            break;
        }
        acts = next;
    }
    assert!(servfail_in(&acts));
    assert_eq!(lab.fw.outstanding(), 0);
    assert_eq!(sockets, cpe_dns::engine::MAX_ATTEMPTS);
    assert_eq!(lab.fw.counters().attempts_capped, 1);
}

/// A truncated answer on the last allowed attempt: no TCP beyond the cap,
/// SERVFAIL, and the question is counted once under `attempts_capped`.
#[test]
fn truncation_at_the_attempt_cap_ends_the_question_once() {
    let ups = [
        "192.0.2.1:53",
        "192.0.2.2:53",
        "192.0.2.3:53",
        "192.0.2.4:53",
        "192.0.2.5:53",
        "192.0.2.6:53",
    ];
    let mut lab = Lab::new(ForwarderConfig::default(), &ups);
    let mut acts = lab.udp_query("192.168.1.50:1000", 1, "edge.example", rtype::A, false);
    let mut sockets = 0;
    for round in 0..100 {
        let sends = upstream_sends(&acts);
        if sends.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for (sock, up, q) in sends {
            sockets += 1;
            next.extend(if round < 5 {
                lab.ev(Input::UpstreamError {
                    sock,
                    cause: UpstreamFailure::Other,
                })
            } else {
                let tc = answer_to(&q, &[], 0, 60, FLAG_TC);
                lab.ev(Input::UpstreamUdp {
                    sock,
                    from: up,
                    data: &tc,
                })
            });
        }
        acts = next;
    }
    assert!(servfail_in(&acts));
    assert!(
        acts.iter()
            .all(|a| !matches!(a, Action::OpenUpstreamTcp { .. }))
    );
    assert_eq!(sockets, cpe_dns::engine::MAX_ATTEMPTS);
    assert_eq!(lab.fw.counters().attempts_capped, 1);
    assert_eq!(lab.fw.outstanding(), 0);
}

/// Issue 9 item 4: one LAN host opening many TCP connections gets at most
/// its share; the excess is closed at once and counted; connections that
/// deliver no whole message are closed after the first-message deadline,
/// while another host's connection is accepted and served.
#[test]
fn one_host_cannot_take_every_tcp_slot() {
    let opts = ForwarderConfig::default();
    let (cap, first) = (opts.max_tcp_per_client, opts.tcp_first_message);
    let mut lab = Lab::new(opts, &[A_UP]);
    let local: IpAddr = "192.168.1.1".parse().unwrap();
    let mut closed_at_once = 0;
    for conn in 0..100u64 {
        let acts = lab.ev(Input::ClientTcpOpened {
            conn,
            peer: sa(&format!("192.168.1.66:{}", 30000 + conn)),
            local,
            iface: 3,
        });
        if acts.contains(&Action::CloseClientTcp { conn }) {
            closed_at_once += 1;
        }
    }
    assert_eq!(closed_at_once, 100 - cap);
    assert_eq!(
        lab.fw.counters().drops_by(DropReason::TcpPerClientFull),
        (100 - cap) as u64
    );
    // Another host gets in and is answered.
    let acts = lab.ev(Input::ClientTcpOpened {
        conn: 1000,
        peer: sa("192.168.1.50:40000"),
        local,
        iface: 3,
    });
    assert!(!acts.contains(&Action::CloseClientTcp { conn: 1000 }));
    let q = client_query(7, "router.lan", rtype::A, false);
    lab.ev(Input::ClientTcp {
        conn: 1000,
        data: &q,
    });
    // The silent ones are closed at the first-message deadline; the one
    // that sent a query stays until its idle timeout.
    lab.at(u64::try_from(first.as_millis()).unwrap() + 1);
    let acts = lab.timer();
    let closed: Vec<u64> = acts
        .iter()
        .filter_map(|a| match a {
            Action::CloseClientTcp { conn } => Some(*conn),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), cap, "{closed:?}");
    assert!(!closed.contains(&1000));
    assert_eq!(
        lab.fw.counters().drops_by(DropReason::TcpNoMessage),
        cap as u64
    );
    // Its slots are free again.
    let acts = lab.ev(Input::ClientTcpOpened {
        conn: 2000,
        peer: sa("192.168.1.66:50000"),
        local,
        iface: 3,
    });
    assert!(!acts.contains(&Action::CloseClientTcp { conn: 2000 }));
}

/// Issue 17 item 1, per upstream: however many different truncated answers
/// arrive in one second, at most `TCP_PER_SECOND` TCP connections are
/// opened to that upstream; the other questions get SERVFAIL, counted.
#[test]
fn tcp_retries_per_upstream_are_bounded_per_second() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let mut opened = 0;
    for i in 0..50u16 {
        let s = upstream_sends(&lab.udp_query(
            "192.168.1.50:1000",
            i,
            &format!("big{i}.example"),
            rtype::A,
            false,
        ));
        let tc = answer_to(&s[0].2, &[], 0, 60, FLAG_TC);
        let acts = lab.ev(Input::UpstreamUdp {
            sock: s[0].0,
            from: sa(A_UP),
            data: &tc,
        });
        opened += acts
            .iter()
            .filter(|a| matches!(a, Action::OpenUpstreamTcp { .. }))
            .count();
    }
    let max = cpe_dns::upstream::TCP_PER_SECOND as usize;
    assert_eq!(opened, max);
    assert_eq!(lab.fw.counters().upstream_tcp_skipped, (50 - max) as u64);
    assert_eq!(
        lab.fw.counters().drops_by(DropReason::UpstreamNoTcp),
        (50 - max) as u64
    );
}

/// TXT, the type of the DNSSEC-bit and size tests (any type would do).
const TXT: Rtype = Rtype::Txt;

impl Lab {
    /// Sends a UDP client query built by [`client_query_with`].
    fn udp_query_with(
        &mut self,
        peer: &str,
        id: u16,
        name: &str,
        flags: u16,
        edns: Option<(u16, bool)>,
    ) -> Vec<Action> {
        let data = client_query_with(id, name, TXT, flags, edns);
        self.ev(Input::ClientUdp {
            peer: sa(peer),
            local: "192.168.1.1".parse().unwrap(),
            iface: 3,
            data: &data,
        })
    }

    /// Answers the one upstream query in `acts` with `n` TXT records of
    /// `rdata` and extra header flags; returns the client replies.
    fn answer_upstream(
        &mut self,
        acts: &[Action],
        rdata: &[u8],
        n: u16,
        flags: u16,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        let sends = upstream_sends(acts);
        assert_eq!(sends.len(), 1, "{acts:?}");
        let (sock, up, q) = &sends[0];
        let reply = answer_to(q, rdata, n, 300, flags);
        client_replies(&self.ev(Input::UpstreamUdp {
            sock: *sock,
            from: *up,
            data: &reply,
        }))
    }
}

fn flags_of(msg: &[u8]) -> u16 {
    Header::parse(msg).unwrap().flags
}

/// RFC 4035 3.2.2 / RFC 5625: CD from the client reaches the upstream, and
/// a CD=1 answer (possibly unvalidated) is never served to a CD=0 client.
/// Failed before the fix: the upstream query had CD=0.
#[test]
fn cd_bit_goes_upstream_and_cd_answers_are_cached_apart() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let acts = lab.udp_query_with(
        "192.168.1.50:5000",
        1,
        "bogus.test",
        FLAG_RD | FLAG_CD,
        None,
    );
    let q = &upstream_sends(&acts)[0].2;
    assert_ne!(flags_of(q) & FLAG_CD, 0, "CD not forwarded");
    let replies = lab.answer_upstream(&acts, b"\x03bad", 1, 0);
    assert_eq!(replies.len(), 1);
    assert_ne!(
        flags_of(&replies[0].1) & FLAG_CD,
        0,
        "CD not echoed to the client"
    );
    // Same question with CD=0: not answered from the CD=1 entry.
    let acts = lab.udp_query_with("192.168.1.50:5001", 2, "bogus.test", FLAG_RD, None);
    let sends = upstream_sends(&acts);
    assert_eq!(sends.len(), 1, "CD=0 question must go upstream: {acts:?}");
    assert_eq!(flags_of(&sends[0].2) & FLAG_CD, 0);
    assert!(client_replies(&acts).is_empty());
    lab.answer_upstream(&acts, b"\x02ok", 1, 0);
    // Both are cached now, each for its own kind of client.
    let acts = lab.udp_query_with(
        "192.168.1.50:5002",
        3,
        "bogus.test",
        FLAG_RD | FLAG_CD,
        None,
    );
    assert!(upstream_sends(&acts).is_empty());
    assert!(client_replies(&acts)[0].1.ends_with(b"\x03bad"));
    let acts = lab.udp_query_with("192.168.1.50:5003", 4, "bogus.test", FLAG_RD, None);
    assert!(upstream_sends(&acts).is_empty());
    assert!(client_replies(&acts)[0].1.ends_with(b"\x02ok"));
}

/// RFC 6840 5.7: a query with AD=1 and no DO gets AD as the upstream gave
/// it, fresh and from the cache; a client with neither AD nor DO gets AD=0.
/// Failed before the fix: AD was passed on only with DO.
#[test]
fn ad_in_query_without_do_gets_ad_from_the_upstream() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let acts = lab.udp_query_with(
        "192.168.1.50:5000",
        1,
        "signed.test",
        FLAG_RD | FLAG_AD,
        None,
    );
    let q = &upstream_sends(&acts)[0].2;
    assert_ne!(flags_of(q) & FLAG_AD, 0, "upstream asked to report AD");
    let replies = lab.answer_upstream(&acts, b"\x02ok", 1, FLAG_AD);
    assert_ne!(
        flags_of(&replies[0].1) & FLAG_AD,
        0,
        "AD lost on a fresh answer"
    );
    let acts = lab.udp_query_with(
        "192.168.1.50:5001",
        2,
        "signed.test",
        FLAG_RD | FLAG_AD,
        Some((1232, false)),
    );
    assert!(upstream_sends(&acts).is_empty());
    assert_ne!(
        flags_of(&client_replies(&acts)[0].1) & FLAG_AD,
        0,
        "AD lost from cache"
    );
    let acts = lab.udp_query_with("192.168.1.50:5002", 3, "signed.test", FLAG_RD, None);
    assert_eq!(flags_of(&client_replies(&acts)[0].1) & FLAG_AD, 0);
}

/// DNS flag day 2020: a client offering 4096 still gets at most 1232 bytes
/// over UDP, with TC beyond; over TCP the whole answer. Failed before the
/// fix: a 1,600-byte datagram went out.
#[test]
fn udp_answers_are_capped_at_1232_even_for_a_4096_client() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let mut rdata = vec![255u8];
    rdata.extend_from_slice(&[b'x'; 255]);
    // 6 records of 256 bytes: about 1,620 bytes in all.
    let acts = lab.udp_query_with(
        "192.168.1.50:5000",
        1,
        "big.test",
        FLAG_RD,
        Some((4096, false)),
    );
    let replies = lab.answer_upstream(&acts, &rdata, 6, 0);
    let resp = &replies[0].1;
    assert!(resp.len() <= 1232, "{} bytes", resp.len());
    assert_ne!(flags_of(resp) & FLAG_TC, 0);
    // From the cache, the same.
    let acts = lab.udp_query_with(
        "192.168.1.50:5001",
        2,
        "big.test",
        FLAG_RD,
        Some((4096, false)),
    );
    let resp = &client_replies(&acts)[0].1;
    assert!(resp.len() <= 1232, "{} bytes", resp.len());
    assert_ne!(flags_of(resp) & FLAG_TC, 0);
    // An answer that fits 1232 is not truncated.
    let acts = lab.udp_query_with(
        "192.168.1.50:5002",
        3,
        "mid.test",
        FLAG_RD,
        Some((4096, false)),
    );
    let replies = lab.answer_upstream(&acts, &rdata, 4, 0);
    let h = Header::parse(&replies[0].1).unwrap();
    assert_eq!((h.flags & FLAG_TC, h.ancount), (0, 4));
}

/// We are not authoritative for upstream data: AA is cleared in forwarded
/// and cached answers. Failed before the fix: AA was copied through.
#[test]
fn aa_from_the_upstream_is_cleared() {
    let mut lab = Lab::new(ForwarderConfig::default(), &[A_UP]);
    let acts = lab.udp_query_with("192.168.1.50:5000", 1, "auth.test", FLAG_RD, None);
    let replies = lab.answer_upstream(&acts, b"\x02ok", 1, FLAG_AA);
    assert_eq!(
        flags_of(&replies[0].1) & FLAG_AA,
        0,
        "AA in a forwarded answer"
    );
    let acts = lab.udp_query_with("192.168.1.50:5001", 2, "auth.test", FLAG_RD, None);
    assert!(upstream_sends(&acts).is_empty());
    assert_eq!(
        flags_of(&client_replies(&acts)[0].1) & FLAG_AA,
        0,
        "AA from cache"
    );
}
