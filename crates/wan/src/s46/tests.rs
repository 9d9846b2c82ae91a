//! `auto` in virtual time, from the shared state as the supervisor sends
//! it: MAP-E offered and taken, then withdrawn for an AFTR name (the
//! MAP-E tunnel and MAP address go, DS-Lite starts), then back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use cpe_bus::MonoTime;
use cpe_bus::state::{DelegatedAddress, DelegatedPrefix, MapEOffer};
use cpe_daemon::engine::drive;

use super::*;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const AFTR: &str = "aftr.isp.example";

/// RFC 7597 appendix A example 1's BMR, as option 94 carries it.
fn offer() -> MapEOffer {
    MapEOffer::rfc7597_example_1()
}

/// Bound with an IA_NA address, a DNS server and the prefix of RFC 7597
/// appendix A example 1; `aftr` and `map_e` as the ISP's Reply had them.
fn state(aftr: bool, map_e: bool) -> SharedState {
    let mut s = SharedState::default();
    s.dhcp6.state = "bound".to_owned();
    s.dhcp6.server_duid = Some("000300010200000001".to_owned());
    s.dhcp6.addresses = vec![DelegatedAddress {
        address: a("2001:db8:1::2"),
        preferred_until: MonoTime(1_000_000),
        valid_until: MonoTime(2_000_000),
    }];
    s.dhcp6.delegated_prefixes = vec![DelegatedPrefix {
        prefix: "2001:db8:12:3400::/56".parse().unwrap(),
        preferred_until: MonoTime(1_000_000),
        valid_until: MonoTime(2_000_000),
    }];
    s.upstream_dns = vec![a("2001:db8:1::53").into()];
    s.dhcp6.aftr_name = aftr.then(|| AFTR.to_owned());
    s.dhcp6.map_e = map_e.then(offer);
    s
}

fn auto() -> Ipv4OverIpv6 {
    Ipv4OverIpv6 {
        mode: S46Mode::Auto,
        ..Ipv4OverIpv6::default()
    }
}

fn facts(s: &SharedState) -> Input {
    Input::Facts(Facts::from_state(&auto(), s, 1500))
}

#[test]
fn auto_follows_what_dhcpv6_offers_and_swaps_the_tunnels() {
    let t0 = Instant::now();
    let mut e = S46::new(auto());
    // No Reply yet: waiting, not "nothing offered".
    drive::feed(&mut e, facts(&SharedState::default()), t0);
    assert_eq!(e.status().unwrap().state, "waiting-dhcpv6");
    // Nothing offered: no engine, the reason on the console.
    assert!(drive::feed(&mut e, facts(&state(false, false)), t0).is_empty());
    let st = e.status().unwrap();
    assert_eq!((st.mode.as_str(), st.state.as_str()), ("auto", "no-offer"));
    assert_eq!(st.chosen, None);
    assert_eq!(
        st.reason.as_deref(),
        Some("auto: the ISP offered neither option 64 nor 94")
    );

    // Both offered: the rule maps the prefix, so MAP-E.
    let acts = drive::feed(&mut e, facts(&state(true, true)), t0);
    let tunnel = map_e::Tunnel {
        local: a("2001:db8:12:3400:0:c000:212:34"),
        remote: a("2001:db8:ffff::1"),
        ipv4: Ipv4Addr::new(192, 0, 2, 18),
        mtu: 1460,
    };
    assert_eq!(acts, vec![Action::MapE(map_e::Action::Create(tunnel))]);
    drive::feed(&mut e, Input::MapE(map_e::Input::Created(Ok(()))), t0);
    let st = e.status().unwrap();
    assert_eq!(st.mode, "auto");
    assert_eq!(st.chosen.as_deref(), Some("map-e"));
    assert_eq!(st.state, "up");
    assert_eq!(st.map_ipv4.as_deref(), Some("192.0.2.18"));
    assert_eq!(
        st.choice.as_deref(),
        Some("auto: the MAP-E rule of option 94 maps the delegated prefix 2001:db8:12:3400::/56")
    );

    // A Renew's Reply without option 94: map0 and the MAP address go
    // first, then DS-Lite looks the AFTR name up.
    let acts = drive::feed(&mut e, facts(&state(true, false)), t0);
    assert_eq!(
        acts,
        vec![
            Action::MapE(map_e::Action::Remove(tunnel)),
            Action::DsLite(dslite::Action::Resolve {
                name: AFTR.to_owned(),
                servers: vec![a("2001:db8:1::53")],
            }),
        ]
    );
    assert_eq!(e.mechanism(), Some(Mechanism::DsLite));
    // A late MAP-E outcome is not the DS-Lite engine's business.
    assert!(drive::feed(&mut e, Input::MapE(map_e::Input::Created(Ok(()))), t0).is_empty());
    let acts = drive::feed(
        &mut e,
        Input::DsLite(dslite::Input::Resolved(Ok(a("2001:db8:aa::1")))),
        t0,
    );
    let sw = dslite::Softwire {
        local: a("2001:db8:1::2"),
        remote: a("2001:db8:aa::1"),
        mtu: 1460,
    };
    assert_eq!(acts, vec![Action::DsLite(dslite::Action::Create(sw))]);
    drive::feed(&mut e, Input::DsLite(dslite::Input::Created(Ok(()))), t0);
    let st = e.status().unwrap();
    assert_eq!(
        (st.chosen.as_deref(), st.state.as_str()),
        (Some("dslite"), "up")
    );
    assert_eq!(st.aftr.as_deref(), Some(AFTR));

    // MAP-E is offered again: dslite0 goes, map0 comes back.
    let acts = drive::feed(&mut e, facts(&state(true, true)), t0);
    assert_eq!(
        acts,
        vec![
            Action::DsLite(dslite::Action::Remove),
            Action::MapE(map_e::Action::Create(tunnel)),
        ]
    );

    // Everything withdrawn: map0 goes, nothing runs.
    drive::feed(&mut e, Input::MapE(map_e::Input::Created(Ok(()))), t0);
    let acts = drive::feed(&mut e, facts(&state(false, false)), t0);
    assert_eq!(acts, vec![Action::MapE(map_e::Action::Remove(tunnel))]);
    assert_eq!(e.mechanism(), None);
    assert_eq!(e.status().unwrap().state, "no-offer");
}

#[test]
fn fixed_modes_run_their_engine_whatever_is_offered_and_off_reports_nothing() {
    let t0 = Instant::now();
    let cfg = Ipv4OverIpv6 {
        mode: S46Mode::DsLite,
        ..Ipv4OverIpv6::default()
    };
    let mut e = S46::new(cfg.clone());
    let s = state(false, true);
    drive::feed(&mut e, Input::Facts(Facts::from_state(&cfg, &s, 1500)), t0);
    let st = e.status().unwrap();
    assert_eq!(
        (st.mode.as_str(), st.chosen.as_deref(), st.state.as_str()),
        ("dslite", Some("dslite"), "no-aftr")
    );
    let cfg = Ipv4OverIpv6::default();
    let mut e = S46::new(cfg.clone());
    drive::feed(&mut e, Input::Facts(Facts::from_state(&cfg, &s, 1500)), t0);
    assert_eq!(e.status(), None);
}
