//! The MAP-E engine in virtual time: a prefix arrives, changes and
//! disappears; the rule from the config or from DHCPv6 option 94.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use cpe_bus::state::{MapEOffer, MapEOfferedRule};
use cpe_config::MapRule;
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive;

use super::*;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

const BR: &str = "2001:db8:ffff::1";

/// RFC 7597 appendix A example 1's BMR, with a BR.
fn config_rule() -> MapRule {
    MapRule {
        ipv6_prefix: net("2001:db8::/40"),
        ipv4_prefix: "192.0.2.0/24".parse().unwrap(),
        ea_bits: 16,
        psid_offset: 6,
        br: a(BR),
    }
}

fn offer() -> MapEOffer {
    MapEOffer {
        rules: vec![MapEOfferedRule {
            ipv6_prefix: net("2001:db8::/40"),
            ipv4_prefix: Ipv4Addr::new(192, 0, 2, 0),
            ipv4_len: 24,
            ea_bits: 16,
            psid_offset: 6,
            fmr: false,
        }],
        br: vec![a("2001:db8:fffe::1")],
    }
}

fn wan(delegated: &[&str], offer: Option<MapEOffer>) -> View {
    View {
        delegated: delegated.iter().map(|d| net(d)).collect(),
        offer,
        mtu: 1500,
    }
}

#[test]
fn prefix_arrives_changes_and_disappears() {
    let t0 = Instant::now();
    let mut e = MapE::new(Some(config_rule()));
    assert!(drive::feed(&mut e, Input::View(wan(&[], None)), t0).is_empty());
    assert_eq!(e.phase(), &Phase::NotMapped(NotMapped::NoPrefix));
    // RFC 7597 appendix A example 1: 2001:db8:12:3400::/56.
    let acts = drive::feed(
        &mut e,
        Input::View(wan(&["2001:db8:12:3400::/56"], None)),
        t0,
    );
    let first = Tunnel {
        local: a("2001:db8:12:3400:0:c000:212:34"),
        remote: a(BR),
        ipv4: Ipv4Addr::new(192, 0, 2, 18),
        mtu: 1460,
    };
    assert_eq!(acts, vec![Action::Create(first)]);
    assert_eq!(e.phase(), &Phase::Creating);
    assert!(drive::feed(&mut e, Input::Created(Ok(())), t0).is_empty());
    assert_eq!(e.phase(), &Phase::Up);
    assert_eq!(e.in_force().unwrap().mapping.psid, 0x34);
    assert_eq!(e.in_force().unwrap().source, "config");
    // Renumbering: the old address and port set go, the new ones come.
    let acts = drive::feed(
        &mut e,
        Input::View(wan(&["2001:db8:99:ab00::/56"], None)),
        t0,
    );
    let second = Tunnel {
        local: a("2001:db8:99:ab00:0:c000:299:ab"),
        ipv4: Ipv4Addr::new(192, 0, 2, 0x99),
        ..first
    };
    assert_eq!(acts, vec![Action::Remove(first), Action::Create(second)]);
    drive::feed(&mut e, Input::Created(Ok(())), t0);
    assert_eq!(e.in_force().unwrap().mapping.psid, 0xab);
    // The prefix goes: so do the tunnel and the mapping.
    let acts = drive::feed(&mut e, Input::View(wan(&[], None)), t0);
    assert_eq!(acts, vec![Action::Remove(second)]);
    assert_eq!(e.phase(), &Phase::NotMapped(NotMapped::NoPrefix));
    assert!(e.in_force().is_none() && e.installed().is_none());
}

#[test]
fn rule_from_option_94_when_the_config_has_none_and_config_wins_otherwise() {
    let t0 = Instant::now();
    let mut e = MapE::new(None);
    drive::feed(
        &mut e,
        Input::View(wan(&["2001:db8:12:3400::/56"], None)),
        t0,
    );
    assert_eq!(e.phase(), &Phase::NotMapped(NotMapped::NoRule));
    let acts = drive::feed(
        &mut e,
        Input::View(wan(&["2001:db8:12:3400::/56"], Some(offer()))),
        t0,
    );
    let Action::Create(t) = acts[0] else {
        panic!("{acts:?}")
    };
    assert_eq!(
        (t.remote, t.ipv4),
        (a("2001:db8:fffe::1"), Ipv4Addr::new(192, 0, 2, 18))
    );
    assert_eq!(e.in_force().unwrap().source, "dhcpv6");
    // With a configured rule, the offer's BR is not used.
    let mut e = MapE::new(Some(config_rule()));
    let acts = drive::feed(
        &mut e,
        Input::View(wan(&["2001:db8:12:3400::/56"], Some(offer()))),
        t0,
    );
    assert!(
        matches!(acts[..], [Action::Create(t)] if t.remote == a(BR)),
        "{acts:?}"
    );
}

#[test]
fn mismatching_prefix_is_a_reason_and_no_tunnel() {
    let t0 = Instant::now();
    let mut e = MapE::new(Some(config_rule()));
    let acts = drive::feed(&mut e, Input::View(wan(&["2001:db9:1::/56"], None)), t0);
    assert!(acts.is_empty());
    let Phase::NotMapped(why) = e.phase() else {
        panic!("{:?}", e.phase())
    };
    assert_eq!(
        why.to_string(),
        "MAP-E: delegated prefix 2001:db9:1::/56 is not inside the rule's 2001:db8::/40"
    );
    assert_eq!(e.phase().word(), "rule-mismatch");
}

#[test]
fn refused_tunnel_is_retried_with_backoff() {
    let t0 = Instant::now();
    let mut e = MapE::new(Some(config_rule()));
    drive::feed(
        &mut e,
        Input::View(wan(&["2001:db8:12:3400::/56"], None)),
        t0,
    );
    let acts = drive::feed(
        &mut e,
        Input::Created(Err("Unknown device type".into())),
        t0,
    );
    assert!(acts.is_empty());
    assert_eq!(e.phase(), &Phase::Failed("Unknown device type".into()));
    assert_eq!(e.poll_timeout(), Some(t0 + RETRY_MIN));
    e.handle_timeout(t0 + RETRY_MIN);
    assert!(matches!(e.poll_action(), Some(Action::Create(_))));
    e.handle(Input::Created(Err("again".into())), t0 + RETRY_MIN);
    assert_eq!(e.poll_timeout(), Some(t0 + RETRY_MIN + RETRY_MIN * 2));
    assert!(RETRY_MIN * 2 < Duration::from_secs(60));
}
