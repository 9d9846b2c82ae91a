//! The DS-Lite engine in virtual time, and the AFTR lookup's query and
//! answer reading against hand-built DNS messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_config::Aftr;
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive;

use super::*;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn wan(local: Option<&str>, aftr: Option<&str>) -> View {
    View {
        local: local.map(a),
        dns: vec![a("2001:db8::53")],
        aftr_name: aftr.map(str::to_owned),
        mtu: 1500,
    }
}

#[test]
fn name_from_dhcpv6_is_resolved_then_the_tunnel_is_created_with_mtu_1460() {
    let t0 = Instant::now();
    let mut e = DsLite::new(None);
    let acts = drive::feed(&mut e, Input::View(wan(Some("2001:db8:1::2"), None)), t0);
    assert!(acts.is_empty());
    assert_eq!(e.phase(), &Phase::NoAftr);
    let acts = drive::feed(
        &mut e,
        Input::View(wan(Some("2001:db8:1::2"), Some("aftr.isp.example"))),
        t0,
    );
    assert_eq!(
        acts,
        vec![Action::Resolve {
            name: "aftr.isp.example".into(),
            servers: vec![a("2001:db8::53")]
        }]
    );
    let acts = drive::feed(&mut e, Input::Resolved(Ok(a("2001:db8:aa::1"))), t0);
    let sw = Softwire {
        local: a("2001:db8:1::2"),
        remote: a("2001:db8:aa::1"),
        mtu: 1460,
    };
    assert_eq!(acts, vec![Action::Create(sw)]);
    assert_eq!(e.phase(), &Phase::Creating);
    assert!(drive::feed(&mut e, Input::Created(Ok(())), t0).is_empty());
    assert_eq!(e.phase(), &Phase::Up);
    assert_eq!(e.installed(), Some(sw));
    assert_eq!(e.aftr_address(), Some(a("2001:db8:aa::1")));
}

#[test]
fn wan_address_change_recreates_and_losing_it_removes() {
    let t0 = Instant::now();
    let mut e = DsLite::new(Some(Aftr::Address(a("2001:db8:aa::1"))));
    let acts = drive::feed(&mut e, Input::View(wan(Some("2001:db8:1::2"), None)), t0);
    assert!(matches!(acts[..], [Action::Create(_)]), "{acts:?}");
    drive::feed(&mut e, Input::Created(Ok(())), t0);
    let acts = drive::feed(&mut e, Input::View(wan(Some("2001:db8:2::2"), None)), t0);
    assert_eq!(
        acts,
        vec![Action::Create(Softwire {
            local: a("2001:db8:2::2"),
            remote: a("2001:db8:aa::1"),
            mtu: 1460
        })]
    );
    drive::feed(&mut e, Input::Created(Ok(())), t0);
    let acts = drive::feed(&mut e, Input::View(wan(None, None)), t0);
    assert_eq!(acts, vec![Action::Remove]);
    assert_eq!(e.phase(), &Phase::WaitingAddress);
}

/// An engine whose softwire is up to a.example (2001:db8:aa::1), learned
/// from DHCPv6, from 2001:db8:1::2.
fn up_via_a_example(t0: Instant) -> DsLite {
    let mut e = DsLite::new(None);
    drive::feed(
        &mut e,
        Input::View(wan(Some("2001:db8:1::2"), Some("a.example"))),
        t0,
    );
    drive::feed(&mut e, Input::Resolved(Ok(a("2001:db8:aa::1"))), t0);
    drive::feed(&mut e, Input::Created(Ok(())), t0);
    assert_eq!(e.phase(), &Phase::Up);
    e
}

#[test]
fn aftr_change_re_resolves_and_moves_the_tunnel() {
    let t0 = Instant::now();
    let mut e = up_via_a_example(t0);
    let acts = drive::feed(
        &mut e,
        Input::View(wan(Some("2001:db8:1::2"), Some("b.example"))),
        t0,
    );
    assert!(matches!(&acts[..], [Action::Resolve { name, .. }] if name == "b.example"));
    let acts = drive::feed(&mut e, Input::Resolved(Ok(a("2001:db8:bb::1"))), t0);
    assert!(matches!(&acts[..], [Action::Create(sw)] if sw.remote == a("2001:db8:bb::1")));
}

#[test]
fn failed_lookup_is_reported_and_retried_with_backoff() {
    let t0 = Instant::now();
    let mut e = DsLite::new(Some(Aftr::Name("aftr.example".into())));
    drive::feed(&mut e, Input::View(wan(Some("2001:db8:1::2"), None)), t0);
    drive::feed(
        &mut e,
        Input::Resolved(Err("aftr.example does not exist (NXDOMAIN)".into())),
        t0,
    );
    assert!(matches!(e.phase(), Phase::ResolveFailed(w) if w.contains("NXDOMAIN")));
    assert_eq!(e.poll_timeout(), Some(t0 + RETRY_MIN));
    assert!(drive::timeout(&mut e, t0 + Duration::from_secs(1)).is_empty());
    let acts = drive::timeout(&mut e, t0 + RETRY_MIN);
    assert!(matches!(acts[..], [Action::Resolve { .. }]));
    drive::feed(
        &mut e,
        Input::Resolved(Err("no answer".into())),
        t0 + RETRY_MIN,
    );
    assert_eq!(e.poll_timeout(), Some(t0 + RETRY_MIN + RETRY_MIN * 2));
}

#[test]
fn kernel_refusal_is_reported_and_retried() {
    let t0 = Instant::now();
    let mut e = DsLite::new(Some(Aftr::Address(a("2001:db8:aa::1"))));
    drive::feed(&mut e, Input::View(wan(Some("2001:db8:1::2"), None)), t0);
    drive::feed(
        &mut e,
        Input::Created(Err("Operation not supported".into())),
        t0,
    );
    assert!(matches!(e.phase(), Phase::Failed(w) if w.contains("not supported")));
    let acts = drive::timeout(&mut e, t0 + RETRY_MIN);
    assert!(matches!(acts[..], [Action::Create(_)]), "{acts:?}");
}

#[test]
fn no_dns_server_is_its_own_finding() {
    let t0 = Instant::now();
    let mut e = DsLite::new(None);
    let mut v = wan(Some("2001:db8:1::2"), Some("aftr.example"));
    v.dns.clear();
    assert!(drive::feed(&mut e, Input::View(v), t0).is_empty());
    assert_eq!(e.phase(), &Phase::NoDns);
}

#[test]
fn resolved_name_is_looked_up_again_after_refresh() {
    let t0 = Instant::now();
    let mut e = up_via_a_example(t0);
    assert_eq!(e.poll_timeout(), Some(t0 + REFRESH));
    let acts = drive::timeout(&mut e, t0 + REFRESH);
    assert!(matches!(acts[..], [Action::Resolve { .. }]));
    // Same address: nothing to redo, still up.
    assert!(
        drive::feed(
            &mut e,
            Input::Resolved(Ok(a("2001:db8:aa::1"))),
            t0 + REFRESH
        )
        .is_empty()
    );
    assert_eq!(e.phase(), &Phase::Up);
}

// ---- the lookup's pure parts ----------------------------------------------

/// A response to `query(id, name)` with the given rcode and AAAA answers
/// (built from the query bytes: header + question, then records).
fn response(id: u16, name: &str, rcode: u8, answers: &[Ipv6Addr]) -> Vec<u8> {
    let mut b = resolve::query(id, name).unwrap();
    b[2] |= 0x80; // QR
    b[3] = 0x80 | rcode; // RA + rcode
    b[7] = answers.len() as u8; // ANCOUNT
    for addr in answers {
        b.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1, 0, 0, 0x0e, 0x10, 0, 16]);
        b.extend_from_slice(&addr.octets());
    }
    b
}

#[test]
fn query_is_a_recursive_aaaa_question() {
    let q = resolve::query(0x1234, "aftr.example").unwrap();
    assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
    assert_eq!(&q[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&q[12..], b"\x04aftr\x07example\x00\x00\x1c\x00\x01");
}

#[test]
fn answer_takes_the_aaaa_and_names_failures() {
    let ok = response(7, "aftr.example", 0, &[a("2001:db8:aa::1")]);
    assert_eq!(
        resolve::answer(7, "aftr.example", &ok),
        Ok(Some(a("2001:db8:aa::1")))
    );
    assert_eq!(
        resolve::answer(7, "AFTR.Example", &ok),
        Ok(Some(a("2001:db8:aa::1")))
    );
    // Another transaction or question: not ours, keep waiting.
    assert_eq!(resolve::answer(8, "aftr.example", &ok), Ok(None));
    assert_eq!(resolve::answer(7, "other.example", &ok), Ok(None));
    assert_eq!(
        resolve::answer(7, "aftr.example", b"\x00\x07garbage"),
        Ok(None)
    );
    let nx = response(7, "aftr.example", 3, &[]);
    let e = resolve::answer(7, "aftr.example", &nx).unwrap_err();
    assert!(e.contains("NXDOMAIN"), "{e}");
    let empty = response(7, "aftr.example", 0, &[]);
    let e = resolve::answer(7, "aftr.example", &empty).unwrap_err();
    assert!(e.contains("no AAAA"), "{e}");
    let fail = response(7, "aftr.example", 2, &[]);
    let e = resolve::answer(7, "aftr.example", &fail).unwrap_err();
    assert!(e.contains("SERVFAIL"), "{e}");
}
