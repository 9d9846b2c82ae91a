//! Virtual-time tests of the WAN tracker and of every reason it can give.

use super::*;
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::{feed, timeout};

const WAN: &str = "wan0";

fn tracker() -> Tracker {
    Tracker::new(TrackerConfig {
        mode: "ipoe".into(),
        interface: WAN.into(),
    })
}

fn link(carrier: bool) -> Input {
    Input::Link(Some(LinkView {
        index: 2,
        admin_up: true,
        carrier,
        running: carrier,
        mtu: 1500,
    }))
}

fn ra(lifetime: u16) -> RaInfo {
    RaInfo {
        source: "fe80::1".parse().unwrap(),
        managed: true,
        other_config: true,
        router_lifetime: lifetime,
        rdnss: vec![("2001:db8::53".parse().unwrap(), 600)],
        mtu: None,
    }
}

/// The usable link-local address an RS is sent from.
fn link_local() -> Input {
    Input::AddressUp(AddrView {
        net: "fe80::ff:fe00:201/64".parse().unwrap(),
        tentative: false,
        dad_failed: false,
    })
}

/// Link-local present, then carrier: what a booting WAN looks like.
fn bring_up(t: &mut Tracker, now: Instant) -> Vec<Action> {
    feed(t, link_local(), now);
    feed(t, link(true), now)
}

fn default_v6() -> DefaultRoute {
    DefaultRoute {
        gateway: "fe80::1".parse().unwrap(),
    }
}

fn last_facts(actions: &[Action]) -> Option<WanFacts> {
    actions.iter().rev().find_map(|a| match a {
        Action::Publish(f) => Some(f.clone()),
        _ => None,
    })
}

fn rs_count(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::SendRs))
        .count()
}

#[test]
fn missing_link_admin_down_and_no_carrier_are_down_with_reasons() {
    let t0 = Instant::now();
    let mut t = tracker();
    let f = last_facts(&feed(&mut t, Input::Link(None), t0)).unwrap();
    assert_eq!(
        (f.state, f.reason.as_str()),
        (WanState::Down, "wan0 does not exist")
    );

    let f = last_facts(&feed(
        &mut t,
        Input::Link(Some(LinkView {
            index: 2,
            admin_up: false,
            carrier: false,
            running: false,
            mtu: 1500,
        })),
        t0,
    ))
    .unwrap();
    assert_eq!(f.reason, "wan0 is administratively down");

    let f = last_facts(&feed(&mut t, link(false), t0)).unwrap();
    assert_eq!(
        (f.state, f.reason.as_str()),
        (WanState::Down, "no carrier on wan0")
    );
    assert!(!f.carrier);
}

#[test]
fn carrier_then_ra_then_route_goes_up_with_flags_and_dns() {
    let t0 = Instant::now();
    let mut t = tracker();
    let a = bring_up(&mut t, t0);
    assert_eq!(rs_count(&a), 1, "solicits at once on carrier");
    let f = last_facts(&a).unwrap();
    assert_eq!(f.state, WanState::Connecting);
    assert_eq!(f.reason, "waiting for a Router Advertisement on wan0");

    let f = last_facts(&feed(
        &mut t,
        Input::Ra(ra(1800)),
        t0 + Duration::from_millis(20),
    ))
    .unwrap();
    assert!(f.ra_managed && f.ra_other_config);
    assert_eq!(f.ra_router_lifetime, 1800);
    assert_eq!(
        f.dns_servers,
        vec!["2001:db8::53".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        f.reason,
        "RA from fe80::1 (router lifetime 1800 s); waiting for the kernel's default route"
    );

    let f = last_facts(&feed(
        &mut t,
        Input::RouteUp(default_v6()),
        t0 + Duration::from_millis(25),
    ))
    .unwrap();
    assert_eq!(f.state, WanState::Up);
    assert_eq!(f.default_router_v6, Some("fe80::1".parse().unwrap()));
    assert_eq!(
        f.reason,
        "default route via fe80::1 on wan0 (router lifetime 1800 s)"
    );
    // No RS once an RA arrived.
    assert_eq!(
        t.poll_timeout(),
        Some(t0 + Duration::from_millis(20) + Duration::from_secs(600))
    );
}

/// Issue 14: the kernel's default route follows the RA by a moment; until
/// ROUTE_GRACE has passed the console does not suggest a misconfiguration
/// (it did on every boot), after it it does.
#[test]
fn a_missing_default_route_is_a_fault_only_after_the_grace() {
    let t0 = Instant::now();
    let mut t = tracker();
    bring_up(&mut t, t0);
    let f = last_facts(&feed(&mut t, Input::Ra(ra(1800)), t0)).unwrap();
    assert!(
        f.reason.contains("waiting for the kernel's default route"),
        "{}",
        f.reason
    );
    assert_eq!(t.poll_timeout(), Some(t0 + ROUTE_GRACE));
    let a = timeout(&mut t, t0 + ROUTE_GRACE);
    let f = last_facts(&a).expect("the reason changes at the end of the grace");
    assert_eq!(f.state, WanState::Connecting);
    assert!(
        f.reason
            .contains("no default route is installed (is accept_ra=2 on wan0?)"),
        "{}",
        f.reason
    );
    // A periodic RA while the route is there starts no grace.
    feed(&mut t, Input::RouteUp(default_v6()), t0 + ROUTE_GRACE);
    let a = feed(&mut t, Input::Ra(ra(1800)), t0 + Duration::from_secs(10));
    assert_eq!(last_facts(&a), None);
    assert!(t.poll_timeout().unwrap() > t0 + Duration::from_secs(600));
}

#[test]
fn router_lifetime_zero_reports_no_default_route() {
    let t0 = Instant::now();
    let mut t = tracker();
    feed(&mut t, link(true), t0);
    feed(&mut t, Input::Ra(ra(1800)), t0);
    feed(&mut t, Input::RouteUp(default_v6()), t0);
    // ISP switches to lifetime 0: the RA says why, the kernel drops the
    // route (which changes nothing more).
    let f = last_facts(&feed(&mut t, Input::Ra(ra(0)), t0 + Duration::from_secs(1))).unwrap();
    let a = feed(
        &mut t,
        Input::RouteGone(default_v6()),
        t0 + Duration::from_secs(1),
    );
    assert_eq!(last_facts(&a), None);
    assert_eq!(f.state, WanState::Connecting);
    assert_eq!(
        f.reason,
        "no default route: ISP router lifetime 0 (RA from fe80::1)"
    );
    assert_eq!(f.ra_router_lifetime, 0);
    assert_eq!(f.default_router_v6, None);
}

#[test]
fn solicitations_back_off_to_an_hour_and_stop_on_ra() {
    let t0 = Instant::now();
    let mut t = tracker();
    let mut sent_at = Vec::new();
    let mut now = t0;
    if rs_count(&bring_up(&mut t, now)) == 1 {
        sent_at.push(now);
    }
    // Drive by deadlines for a day of virtual time.
    while let Some(d) = t.poll_timeout() {
        if d > t0 + Duration::from_secs(86_400) {
            break;
        }
        now = d;
        if rs_count(&timeout(&mut t, now)) == 1 {
            sent_at.push(now);
        }
    }
    let gaps: Vec<u64> = sent_at
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs())
        .collect();
    assert_eq!(&gaps[..6], &[4, 8, 16, 32, 64, 128]);
    assert!(gaps.iter().all(|g| *g <= 3600));
    assert_eq!(*gaps.last().unwrap(), 3600);

    let a = feed(&mut t, Input::Ra(ra(1800)), now);
    assert_eq!(rs_count(&a), 0);
    // Next deadline is the end of the kernel's grace for the default
    // route, then the RDNSS expiry, not another RS.
    assert_eq!(t.poll_timeout(), Some(now + ROUTE_GRACE));
    feed(&mut t, Input::RouteUp(default_v6()), now);
    assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(600)));
}

#[test]
fn carrier_loss_forgets_the_ra_and_regain_solicits_again() {
    let t0 = Instant::now();
    let mut t = tracker();
    bring_up(&mut t, t0);
    feed(&mut t, Input::Ra(ra(1800)), t0);
    let f = last_facts(&feed(&mut t, link(false), t0 + Duration::from_secs(5))).unwrap();
    assert_eq!(f.state, WanState::Down);
    assert_eq!(
        t.poll_timeout(),
        Some(t0 + Duration::from_secs(600)),
        "only RDNSS expiry"
    );
    let a = feed(&mut t, link(true), t0 + Duration::from_secs(9));
    assert_eq!(rs_count(&a), 1);
    assert!(
        !last_facts(&a).unwrap().ra_managed,
        "flags unknown until the next RA"
    );
}

#[test]
fn rdnss_expires_and_router_lifetime_end_restarts_solicitation() {
    let t0 = Instant::now();
    let mut t = tracker();
    bring_up(&mut t, t0);
    let mut short = ra(30);
    short.rdnss = vec![("2001:db8::53".parse().unwrap(), 10)];
    feed(&mut t, Input::Ra(short), t0);
    let f = last_facts(&timeout(&mut t, t0 + Duration::from_secs(10))).unwrap();
    assert!(f.dns_servers.is_empty());
    let a = timeout(&mut t, t0 + Duration::from_secs(30));
    assert_eq!(rs_count(&a), 1, "router lifetime over: solicit again");
    let f = last_facts(&a).unwrap();
    assert_eq!(f.reason, "waiting for a Router Advertisement on wan0");
}

#[test]
fn rdnss_lifetime_zero_removes_a_server() {
    let t0 = Instant::now();
    let mut t = tracker();
    feed(&mut t, link(true), t0);
    feed(&mut t, Input::Ra(ra(1800)), t0);
    let mut gone = ra(1800);
    gone.rdnss = vec![("2001:db8::53".parse().unwrap(), 0)];
    let f = last_facts(&feed(&mut t, Input::Ra(gone), t0 + Duration::from_secs(1))).unwrap();
    assert!(f.dns_servers.is_empty());
}

#[test]
fn solicitation_waits_for_a_usable_link_local_and_dad_failure_is_explained() {
    let t0 = Instant::now();
    let mut t = tracker();
    let ll: IpNet = "fe80::ff:fe00:201/64".parse().unwrap();
    let tentative = |tentative, dad_failed| {
        Input::AddressUp(AddrView {
            net: ll,
            tentative,
            dad_failed,
        })
    };
    feed(&mut t, tentative(true, false), t0);
    let a = feed(&mut t, link(true), t0);
    assert_eq!(rs_count(&a), 0, "no source address yet");
    assert_eq!(t.poll_timeout(), None, "the address, not a timer, sends it");
    let f = last_facts(&feed(
        &mut t,
        tentative(false, true),
        t0 + Duration::from_secs(1),
    ))
    .unwrap();
    assert_eq!(
        f.reason,
        "duplicate link-local address on wan0 (DAD failed)"
    );
    assert!(
        f.addresses.is_empty(),
        "a failed address is not reported as usable"
    );
    let a = feed(&mut t, tentative(false, false), t0 + Duration::from_secs(2));
    assert_eq!(rs_count(&a), 1, "sent as soon as the link-local is usable");
    assert_eq!(
        t.poll_timeout(),
        Some(t0 + Duration::from_secs(2) + RS_INITIAL_INTERVAL)
    );
}

#[test]
fn facts_are_published_only_on_change_and_addresses_are_ordered() {
    let t0 = Instant::now();
    let mut t = tracker();
    assert!(last_facts(&feed(&mut t, link(true), t0)).is_some());
    assert!(last_facts(&timeout(&mut t, t0)).is_none());
    let up = |s: &str| {
        Input::AddressUp(AddrView {
            net: s.parse().unwrap(),
            tentative: false,
            dad_failed: false,
        })
    };
    feed(&mut t, up("192.0.2.10/24"), t0);
    feed(&mut t, up("fe80::1:2/64"), t0);
    let f = last_facts(&feed(&mut t, up("2001:db8::10/64"), t0)).unwrap();
    let shown: Vec<String> = f.addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(shown, ["2001:db8::10/64", "fe80::1:2/64", "192.0.2.10/24"]);
    let f = last_facts(&feed(
        &mut t,
        Input::AddressGone("fe80::1:2/64".parse().unwrap()),
        t0,
    ))
    .unwrap();
    assert_eq!(f.addresses.len(), 2);
}

#[test]
fn ipv4_lease_adds_gateway_and_dns_and_is_mentioned_when_ipv6_is_missing() {
    let t0 = Instant::now();
    let mut t = tracker();
    feed(&mut t, link(true), t0);
    feed(&mut t, Input::Ra(ra(0)), t0);
    feed(
        &mut t,
        Input::Ipv4(Some(Ipv4Lease {
            address: "192.0.2.10/24".parse().unwrap(),
            router: Some("192.0.2.1".parse().unwrap()),
            dns: vec!["192.0.2.53".parse().unwrap()],
            ntp: vec!["192.0.2.123".parse().unwrap()],
        })),
        t0,
    );
    let f = last_facts(&feed(
        &mut t,
        Input::RouteUp(DefaultRoute {
            gateway: "192.0.2.1".parse().unwrap(),
        }),
        t0,
    ))
    .unwrap();
    assert_eq!(f.default_router_v4, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(f.state, WanState::Connecting);
    assert_eq!(
        f.reason,
        "no default route: ISP router lifetime 0 (RA from fe80::1); IPv4 192.0.2.10/24 via 192.0.2.1"
    );
    assert!(f.dns_servers.contains(&"192.0.2.53".parse().unwrap()));
    assert_eq!(
        f.ntp_servers,
        ["192.0.2.123".parse::<std::net::IpAddr>().unwrap()],
        "option 42 reaches the WAN facts"
    );
}

#[test]
fn resync_replaces_routes_and_addresses() {
    let t0 = Instant::now();
    let mut t = tracker();
    feed(&mut t, link(true), t0);
    feed(&mut t, Input::RouteUp(default_v6()), t0);
    let f = last_facts(&feed(
        &mut t,
        Input::Resync {
            addresses: vec![],
            routes: vec![],
        },
        t0,
    ))
    .unwrap();
    assert_eq!(f.default_router_v6, None);
    assert_ne!(f.state, WanState::Up);
}

/// Issue 9 item 7: one RA with router lifetime 0 from the default router
/// (possibly forged) makes us ask at once, and the facts never claim "up"
/// with lifetime 0 nor flip their reason when the kernel's route goes.
#[test]
fn withdrawal_of_the_default_router_is_confirmed_by_an_immediate_rs() {
    let t0 = Instant::now();
    let mut t = tracker();
    bring_up(&mut t, t0);
    feed(&mut t, Input::Ra(ra(1800)), t0);
    feed(&mut t, Input::RouteUp(default_v6()), t0);
    let t1 = t0 + Duration::from_secs(100);
    let a = feed(&mut t, Input::Ra(ra(0)), t1);
    assert_eq!(rs_count(&a), 1, "RS at once to confirm the withdrawal");
    let f = last_facts(&a).unwrap();
    assert_eq!(f.state, WanState::Connecting);
    assert_eq!(
        f.reason,
        "no default route: ISP router lifetime 0 (RA from fe80::1)"
    );
    assert_eq!(f.default_router_v6, None);
    // The kernel's route removal changes nothing an engineer sees.
    let a = feed(&mut t, Input::RouteGone(default_v6()), t1);
    assert_eq!(last_facts(&a), None, "no second, different log line");
    // The genuine router answers: solicitation stops, up again with the route.
    let t2 = t1 + Duration::from_millis(300);
    assert_eq!(rs_count(&feed(&mut t, Input::Ra(ra(1800)), t2)), 0);
    let f = last_facts(&feed(&mut t, Input::RouteUp(default_v6()), t2)).unwrap();
    assert_eq!(f.state, WanState::Up);
    assert_eq!(
        t.poll_timeout(),
        Some(t2 + Duration::from_secs(600)),
        "no RS pending"
    );
    // A real withdrawal answered by lifetime 0 costs one RS, not a series.
    let t3 = t2 + Duration::from_secs(10);
    assert_eq!(rs_count(&feed(&mut t, Input::Ra(ra(0)), t3)), 1);
    feed(&mut t, Input::RouteGone(default_v6()), t3);
    let t4 = t3 + Duration::from_millis(200);
    assert_eq!(rs_count(&feed(&mut t, Input::Ra(ra(0)), t4)), 0);
    assert_eq!(t.poll_timeout(), Some(t4 + Duration::from_secs(600)));
}

/// The confirmation does not wait behind the start-up solicitation: a
/// withdrawal right after the WAN came up is asked about at once too.
#[test]
fn withdrawal_right_after_start_up_is_confirmed_at_once() {
    let t0 = Instant::now();
    let mut t = tracker();
    assert_eq!(rs_count(&bring_up(&mut t, t0)), 1);
    feed(&mut t, Input::Ra(ra(1800)), t0 + Duration::from_millis(10));
    feed(
        &mut t,
        Input::RouteUp(default_v6()),
        t0 + Duration::from_millis(10),
    );
    let a = feed(&mut t, Input::Ra(ra(0)), t0 + Duration::from_millis(40));
    assert_eq!(rs_count(&a), 1);
}

/// A flood of forged withdrawals costs at most one RS per second.
#[test]
fn forged_withdrawal_flood_is_answered_by_at_most_one_rs_per_second() {
    let t0 = Instant::now();
    let mut t = tracker();
    bring_up(&mut t, t0);
    feed(&mut t, Input::Ra(ra(1800)), t0);
    feed(&mut t, Input::RouteUp(default_v6()), t0);
    let mut sent = 0;
    for i in 1..=100u64 {
        let now = t0 + Duration::from_millis(100 * i);
        sent += rs_count(&feed(&mut t, Input::Ra(ra(0)), now));
        // The genuine router answers every forged RA 10 ms later.
        let answer = now + Duration::from_millis(10);
        sent += rs_count(&feed(&mut t, Input::Ra(ra(1800)), answer));
        sent += rs_count(&timeout(&mut t, answer));
    }
    assert!((9..=11).contains(&sent), "{sent} RS in 10 s");
}

fn ra_with_mtu(mtu: Option<u32>) -> Input {
    Input::Ra(RaInfo { mtu, ..ra(1800) })
}

/// RFC 4861 6.3.4: the ISP RA's MTU option sets the IPv6 MTU, within
/// 1280..=link MTU; an RA without it keeps the last; a new link MTU resets.
#[test]
fn ipv6_mtu_follows_the_ra_mtu_option_within_bounds() {
    let t0 = Instant::now();
    let mut t = tracker();
    let f = last_facts(&bring_up(&mut t, t0)).unwrap();
    assert_eq!((f.mtu, f.ipv6_mtu), (1500, 1500));
    let f = last_facts(&feed(&mut t, ra_with_mtu(Some(1454)), t0)).unwrap();
    assert_eq!((f.mtu, f.ipv6_mtu), (1500, 1454));
    // Without the option: unchanged, so nothing new to publish about it.
    feed(&mut t, ra_with_mtu(None), t0);
    assert_eq!(t.facts().ipv6_mtu, 1454);
    let f = last_facts(&feed(&mut t, ra_with_mtu(Some(1400)), t0)).unwrap();
    assert_eq!(f.ipv6_mtu, 1400);
    // Below the IPv6 minimum, or above what the link carries: ignored.
    feed(&mut t, ra_with_mtu(Some(1200)), t0);
    assert_eq!(t.facts().ipv6_mtu, 1500);
    feed(&mut t, ra_with_mtu(Some(9000)), t0);
    assert_eq!(t.facts().ipv6_mtu, 1500);
    feed(&mut t, ra_with_mtu(Some(1280)), t0);
    assert_eq!(t.facts().ipv6_mtu, 1280);
    // The RA expiring does not undo it (the kernel keeps it too).
    timeout(&mut t, t0 + Duration::from_secs(1801));
    assert_eq!(t.facts().ipv6_mtu, 1280);
    // A new link MTU (wan.mtu changed) starts from the link again.
    let f = last_facts(&feed(
        &mut t,
        Input::Link(Some(LinkView {
            index: 2,
            admin_up: true,
            carrier: true,
            running: true,
            mtu: 1454,
        })),
        t0 + Duration::from_secs(1802),
    ))
    .unwrap();
    assert_eq!((f.mtu, f.ipv6_mtu), (1454, 1454));
    feed(&mut t, Input::Link(None), t0 + Duration::from_secs(1803));
    assert_eq!(t.facts().ipv6_mtu, 0);
}

#[test]
fn the_interval_between_ras_is_kept_and_an_answer_to_our_rs_does_not_shorten_it() {
    let t0 = Instant::now();
    let at = |s| t0 + Duration::from_secs(s);
    let mut t = tracker();
    bring_up(&mut t, t0);
    feed(&mut t, Input::Ra(ra(1800)), at(0));
    assert_eq!(t.view().ra_interval, None, "one RA: no interval yet");
    feed(&mut t, Input::Ra(ra(1800)), at(200));
    assert_eq!(t.view().ra_interval, Some(Duration::from_secs(200)));
    // An answer to a Router Solicitation, 1 s later.
    feed(&mut t, Input::Ra(ra(1800)), at(201));
    assert_eq!(t.view().ra_interval, Some(Duration::from_secs(200)));
    // Another router: its interval is not known yet.
    let mut other = ra(1800);
    other.source = "fe80::2".parse().unwrap();
    feed(&mut t, Input::Ra(other), at(300));
    assert_eq!(t.view().ra_interval, None);
}
