//! Engine behaviour on virtual time: RFC 4861 6.2.4/6.2.6 timing, RA
//! content, renumbering (RFC 9096 L-13 and section 3.5), WAN loss, shutdown and the
//! rogue watch. Each test runs hours of router time in milliseconds.

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used)]

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::drain;
use cpe_ra::config::{MAX_RA_DELAY_TIME, MIN_DELAY_BETWEEN_RAS};
use cpe_ra::{
    Action, DnsServer, Engine, Input, LanFacts, LanPrefix, MtuSetting, RaConfig, RaKind, Received,
    RouteAdvert,
};
use cpe_wire::nd::{
    NdMessage, NdOption, PrefixInformation, RouterAdvertisement, RouterPreference,
    RouterSolicitation,
};
use ipnet::Ipv6Net;

const HOUR: u64 = 3600;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn prefix(p: &str, now: Instant, preferred: u64, valid: u64) -> LanPrefix {
    LanPrefix {
        prefix: net(p),
        preferred_until: Some(now + secs(preferred)),
        valid_until: Some(now + secs(valid)),
        deprecated: false,
    }
}

fn facts(prefixes: Vec<LanPrefix>) -> LanFacts {
    LanFacts {
        prefixes,
        delegation_known: true,
        router_addresses: vec![ip("2001:db8:1:1::1"), ip("fd00:aa:bb:1::1")],
        link_local: vec![ip("fe80::1")],
        link_layer_address: Some([0x02, 0, 0x5e, 0, 0x53, 0x01]),
        upstream_default_route: true,
        wan_mtu: Some(1492),
        routes: Vec::new(),
    }
}

/// A sent RA with its time.
struct Sent {
    at: Instant,
    kind: RaKind,
    ra: RouterAdvertisement,
}

fn decode_ra(message: &[u8]) -> RouterAdvertisement {
    match NdMessage::decode(message).unwrap() {
        NdMessage::RouterAdvertisement(ra) => ra,
        other => panic!("engine sent {other:?}"),
    }
}

fn sent_ras(actions: &[Action], at: Instant) -> Vec<Sent> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendRa { message, kind } => Some(Sent {
                at,
                kind: *kind,
                ra: decode_ra(message),
            }),
            _ => None,
        })
        .collect()
}

/// Feeds one input and returns the actions it caused.
fn handle(engine: &mut Engine, input: Input<'_>, now: Instant) -> Vec<Action> {
    engine.handle(input, now);
    drain(engine)
}

/// Lets time pass to `now` and returns the actions that were due.
fn tick(engine: &mut Engine, now: Instant) -> Vec<Action> {
    engine.handle_timeout(now);
    drain(engine)
}

/// Drives the engine by its own deadlines up to `end`, collecting RAs.
fn run_until(engine: &mut Engine, end: Instant) -> Vec<Sent> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let Some(deadline) = engine.poll_timeout() else {
            break;
        };
        if deadline > end {
            break;
        }
        let actions = tick(engine, deadline);
        out.extend(sent_ras(&actions, deadline));
    }
    out
}

fn rs(with_slla: bool) -> Vec<u8> {
    let options = if with_slla {
        vec![NdOption::SourceLinkLayerAddress(vec![2, 0, 0, 0, 0, 9])]
    } else {
        vec![]
    };
    RouterSolicitation { options }.to_bytes().unwrap()
}

fn send_rs(
    engine: &mut Engine,
    source: &str,
    hop_limit: u8,
    with_slla: bool,
    now: Instant,
) -> Vec<Action> {
    let bytes = rs(with_slla);
    handle(
        engine,
        Input::Received(Received {
            source: ip(source),
            hop_limit: Some(hop_limit),
            message: &bytes,
        }),
        now,
    )
}

fn pio<'a>(ra: &'a RouterAdvertisement, p: &str) -> Option<&'a PrefixInformation> {
    let p = net(p);
    ra.prefixes()
        .find(|x| x.prefix == p.network() && x.prefix_len == p.prefix_len())
}

/// An engine with one delegated prefix, and the RAs it sent at start.
fn started(seed: u64, config: RaConfig) -> (Engine, Instant, Vec<Sent>) {
    let t0 = Instant::now();
    let mut e = Engine::new(config, &[], seed, t0);
    let actions = handle(
        &mut e,
        Input::Facts(facts(vec![prefix(
            "2001:db8:1:1::/64",
            t0,
            86400,
            2 * 86400,
        )])),
        t0,
    );
    let first = sent_ras(&actions, t0);
    (e, t0, first)
}

#[test]
fn initial_ras_are_fast_then_within_interval_bounds() {
    for seed in 0..50 {
        let (mut e, t0, mut ras) = started(seed, RaConfig::default());
        ras.extend(run_until(&mut e, t0 + secs(4 * HOUR)));
        assert_eq!(ras[0].at, t0, "first RA at once");
        // RFC 4861 6.2.4: the first 3 RAs at most 16 s apart, never < 3 s.
        for w in ras[..3].windows(2) {
            let gap = w[1].at - w[0].at;
            assert!(
                gap <= secs(16) && gap >= MIN_DELAY_BETWEEN_RAS,
                "seed {seed} gap {gap:?}"
            );
        }
        // Afterwards uniformly within [MinRtrAdvInterval, MaxRtrAdvInterval].
        for w in ras[2..].windows(2) {
            let gap = w[1].at - w[0].at;
            assert!(
                gap >= secs(200) && gap <= secs(600),
                "seed {seed} gap {gap:?}"
            );
        }
        assert!(ras.iter().all(|s| s.kind == RaKind::Unsolicited));
    }
}

#[test]
fn steady_state_interval_is_uniform_over_many_ras() {
    let config = RaConfig {
        min_interval: secs(30),
        max_interval: secs(90),
        ..RaConfig::default()
    };
    // A prefix that never expires: its end would change the RA (router
    // lifetime 0) and bring fast RAs, which is not what is measured here.
    let t0 = Instant::now();
    let mut e = Engine::new(config, &[], 99, t0);
    let forever = LanPrefix {
        prefix: net("2001:db8:1:1::/64"),
        preferred_until: None,
        valid_until: None,
        deprecated: false,
    };
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(facts(vec![forever])), t0), t0);
    ras.extend(run_until(&mut e, t0 + secs(120 * HOUR)));
    let gaps: Vec<f64> = ras[2..]
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    assert!(gaps.len() > 5000);
    assert!(gaps.iter().all(|g| (30.0..=90.0).contains(g)));
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!((mean - 60.0).abs() < 1.5, "mean {mean}");
    let low = gaps.iter().filter(|g| **g < 45.0).count() as f64 / gaps.len() as f64;
    assert!((low - 0.25).abs() < 0.03, "share below 45 s: {low}");
    assert_eq!(e.counters().ra_sent_unsolicited, ras.len() as u64);
}

#[test]
fn rs_is_answered_within_max_ra_delay_time() {
    for seed in 0..200 {
        let (mut e, t0, _) = started(seed, RaConfig::default());
        run_until(&mut e, t0 + secs(100));
        // Long after the initial RAs; the next unsolicited one is >= 200 s away.
        let t_rs = t0 + secs(100);
        assert!(send_rs(&mut e, "fe80::9", 255, true, t_rs).is_empty());
        let ras = run_until(&mut e, t_rs + secs(1));
        assert_eq!(ras.len(), 1, "seed {seed}");
        assert!(ras[0].at - t_rs <= MAX_RA_DELAY_TIME);
        assert_eq!(ras[0].kind, RaKind::Solicited);
        assert_eq!(e.counters().rs_received, 1);
        assert_eq!(e.counters().rs_answered, 1);
    }
}

#[test]
fn rs_answers_respect_min_delay_between_ras() {
    let (mut e, t0, first) = started(5, RaConfig::default());
    assert_eq!(first.len(), 1);
    // An RS 1 s after a multicast RA is answered MIN_DELAY_BETWEEN_RAS plus
    // the random delay after that RA; a second RS shares the answer.
    send_rs(&mut e, "fe80::9", 255, true, t0 + secs(1));
    send_rs(&mut e, "::", 255, false, t0 + Duration::from_millis(1200));
    let ras = run_until(&mut e, t0 + secs(5));
    assert_eq!(ras.len(), 1);
    assert!(ras[0].at >= t0 + MIN_DELAY_BETWEEN_RAS);
    assert!(ras[0].at <= t0 + MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME);
    assert_eq!(e.counters().rs_answered, 2);

    // An RS flood never produces multicast RAs closer than 3 s.
    let (mut e, t0, _) = started(6, RaConfig::default());
    let mut times = Vec::new();
    let mut now = t0;
    while now < t0 + secs(120) {
        for s in sent_ras(&send_rs(&mut e, "fe80::9", 255, true, now), now) {
            times.push(s.at);
        }
        times.extend(
            run_until(&mut e, now + Duration::from_millis(100))
                .iter()
                .map(|s| s.at),
        );
        now += Duration::from_millis(100);
    }
    assert!(times.len() >= 35, "{} RAs", times.len());
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= MIN_DELAY_BETWEEN_RAS, "{:?}", w[1] - w[0]);
    }
}

#[test]
fn invalid_rs_are_counted_and_ignored() {
    let (mut e, t0, _) = started(8, RaConfig::default());
    run_until(&mut e, t0 + secs(100));
    let t = t0 + secs(100);
    send_rs(&mut e, "fe80::9", 64, true, t);
    send_rs(&mut e, "::", 255, true, t);
    let truncated = [133u8, 0, 0, 0];
    handle(
        &mut e,
        Input::Received(Received {
            source: ip("fe80::9"),
            hop_limit: Some(255),
            message: &truncated,
        }),
        t,
    );
    let zero_len_option = [133u8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    handle(
        &mut e,
        Input::Received(Received {
            source: ip("fe80::9"),
            hop_limit: Some(255),
            message: &zero_len_option,
        }),
        t,
    );
    assert!(
        run_until(&mut e, t + secs(2)).is_empty(),
        "no answer to invalid RS"
    );
    let c = e.counters();
    assert_eq!(c.rs_received, 0);
    assert_eq!(c.dropped.get("hop_limit"), Some(&1));
    assert_eq!(c.dropped.get("rs_unspecified_with_slla"), Some(&1));
    assert_eq!(c.dropped.get("truncated"), Some(&1));
    assert_eq!(c.dropped.get("option_length_zero"), Some(&1));
}

#[test]
fn ra_content_follows_config_and_facts() {
    let config = RaConfig {
        managed: true,
        other_config: true,
        preference: RouterPreference::High,
        rdnss: vec![
            DnsServer::SelfAddress,
            DnsServer::Address(ip("2001:db8::53")),
        ],
        mtu: MtuSetting::Auto,
        static_prefixes: vec![net("2001:db8:ffff:1::/64")],
        ..RaConfig::default()
    };
    let t0 = Instant::now();
    let mut e = Engine::new(config, &[], 1, t0);
    let mut f = facts(vec![
        prefix("2001:db8:1:1::/64", t0, 1000, 2000),
        LanPrefix {
            prefix: net("fd00:aa:bb:1::/64"),
            preferred_until: None,
            valid_until: None,
            deprecated: false,
        },
    ]);
    f.routes = vec![
        RouteAdvert {
            prefix: net("fd00:aa:bb::/48"),
            valid_until: None,
        },
        RouteAdvert {
            prefix: net("2001:db8:1:2::/64"),
            valid_until: Some(t0 + secs(100)),
        },
    ];
    let actions = handle(&mut e, Input::Facts(f), t0);
    let ra = &sent_ras(&actions, t0)[0].ra;
    assert!(ra.managed && ra.other_config);
    assert_eq!(ra.preference, RouterPreference::High);
    assert_eq!(ra.router_lifetime, 1800);
    assert_eq!(ra.cur_hop_limit, 64);
    assert_eq!(ra.mtu(), Some(1492));
    assert_eq!(
        ra.source_link_layer_address(),
        Some(&[0x02, 0, 0x5e, 0, 0x53, 0x01][..])
    );
    // Delegated prefix: lifetimes capped by what is left of the delegation.
    let p = pio(ra, "2001:db8:1:1::/64").unwrap();
    assert!(p.on_link && p.autonomous);
    assert_eq!((p.preferred_lifetime, p.valid_lifetime), (1000, 2000));
    // ULA and static prefixes: RFC 9096 limits.
    let u = pio(ra, "fd00:aa:bb:1::/64").unwrap();
    assert_eq!((u.preferred_lifetime, u.valid_lifetime), (2700, 5400));
    assert!(pio(ra, "2001:db8:ffff:1::/64").is_some());
    // "self" is the ULA address (stable across renumbering), then the literal.
    let dns: Vec<_> = ra.dns_servers().copied().collect();
    assert_eq!(dns, [ip("fd00:aa:bb:1::1"), ip("2001:db8::53")]);
    let rdnss = ra.rdnss().next().unwrap();
    assert_eq!(rdnss.lifetime, 1800, "3 x MaxRtrAdvInterval");
    let dnssl = ra.dnssl().next().unwrap();
    assert_eq!(dnssl.domains[0].to_string(), "lan");
    assert_eq!(dnssl.lifetime, 1800);
    let routes: Vec<_> = ra
        .routes()
        .map(|r| (r.prefix, r.prefix_len, r.route_lifetime))
        .collect();
    assert_eq!(
        routes,
        [
            (ip("fd00:aa:bb::"), 48, 1800),
            (ip("2001:db8:1:2::"), 64, 100)
        ]
    );
    assert!(ra.routes().all(|r| r.preference == RouterPreference::High));
}

/// RFC 7084 L-7: the PIO A and L flags come from the LAN's config (L-6: both
/// set by default), and a stale prefix keeps them (RFC 9096 3.5: "the "A"
/// and "L" bits unchanged").
#[test]
fn pio_flags_follow_the_config_also_for_stale_prefixes() {
    let (_, t0, first) = started(31, RaConfig::default());
    let p = pio(&first[0].ra, "2001:db8:1:1::/64").unwrap();
    assert!(p.autonomous && p.on_link, "defaults: A=1 L=1");

    for (autonomous, on_link) in [(false, true), (true, false), (false, false)] {
        let config = RaConfig {
            autonomous,
            on_link,
            ..RaConfig::default()
        };
        let mut e = Engine::new(config, &[], 32, t0);
        let f = facts(vec![prefix("2001:db8:1:1::/64", t0, 86400, 86400)]);
        let ras = sent_ras(&handle(&mut e, Input::Facts(f), t0), t0);
        let p = pio(&ras[0].ra, "2001:db8:1:1::/64").unwrap();
        assert_eq!((p.autonomous, p.on_link), (autonomous, on_link));
        assert_eq!((p.preferred_lifetime, p.valid_lifetime), (2700, 5400));

        let t1 = t0 + secs(100);
        let f = facts(vec![prefix("2001:db8:2:1::/64", t1, 86400, 86400)]);
        let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t1), t1);
        ras.extend(run_until(&mut e, t1 + secs(10)));
        let stale = pio(&ras[0].ra, "2001:db8:1:1::/64").unwrap();
        assert_eq!((stale.preferred_lifetime, stale.valid_lifetime), (0, 0));
        assert_eq!((stale.autonomous, stale.on_link), (autonomous, on_link));
        let new = pio(&ras[0].ra, "2001:db8:2:1::/64").unwrap();
        assert_eq!((new.autonomous, new.on_link), (autonomous, on_link));
    }
}

#[test]
fn renumbering_deprecates_the_old_prefix_until_it_expires() {
    let t0 = Instant::now();
    let mut e = Engine::new(RaConfig::default(), &[], 3, t0);
    handle(
        &mut e,
        Input::Facts(facts(vec![prefix(
            "2001:db8:1:1::/64",
            t0,
            86400,
            2 * 86400,
        )])),
        t0,
    );
    let before = run_until(&mut e, t0 + secs(1000));
    let last_old = before.last().unwrap().at;

    // The ISP hands out a new prefix; the old one disappears from the delegation.
    let t1 = t0 + secs(1000);
    let actions = handle(
        &mut e,
        Input::Facts(facts(vec![prefix(
            "2001:db8:2:1::/64",
            t1,
            86400,
            2 * 86400,
        )])),
        t1,
    );
    let remembered = actions.iter().find_map(|a| match a {
        Action::RememberPrefixes(p) => Some(p.clone()),
        _ => None,
    });
    assert_eq!(
        remembered,
        Some(vec![net("2001:db8:1:1::/64"), net("2001:db8:2:1::/64")])
    );
    let mut ras = sent_ras(&actions, t1);
    ras.extend(run_until(&mut e, t1 + secs(40)));
    // Fast RAs: the first within MIN_DELAY_BETWEEN_RAS, three within 40 s.
    assert!(ras[0].at <= t1 + MIN_DELAY_BETWEEN_RAS);
    assert!(ras.len() >= 3);
    let ra = &ras[0].ra;
    let new = pio(ra, "2001:db8:2:1::/64").unwrap();
    assert_eq!((new.preferred_lifetime, new.valid_lifetime), (2700, 5400));
    // RFC 9096 3.5: a stale prefix goes out with both lifetimes 0, A and L
    // unchanged.
    let old = pio(ra, "2001:db8:1:1::/64").unwrap();
    assert_eq!((old.preferred_lifetime, old.valid_lifetime), (0, 0));
    assert!(old.autonomous && old.on_link);

    // ... in every RA for as long as a host may hold it from our last RA
    // before the change (5400 s from then).
    let later = run_until(&mut e, t1 + secs(3000));
    assert!(later.len() > 3, "periodic RAs go on");
    for s in &later {
        let o = pio(&s.ra, "2001:db8:1:1::/64").unwrap();
        assert_eq!((o.preferred_lifetime, o.valid_lifetime), (0, 0));
    }
    let end = last_old + secs(5400);
    let mut saw_forget = false;
    let mut after = Vec::new();
    for _ in 0..1000 {
        let d = e.poll_timeout().unwrap();
        if d > end + secs(1200) {
            break;
        }
        let actions = tick(&mut e, d);
        if actions.iter().any(
            |a| matches!(a, Action::RememberPrefixes(p) if p == &vec![net("2001:db8:2:1::/64")]),
        ) {
            saw_forget = true;
            assert!(d >= end && d <= end + secs(1));
        }
        after.extend(sent_ras(&actions, d));
    }
    assert!(saw_forget, "expired prefix dropped from memory");
    let last = after.last().unwrap();
    assert!(last.at > end);
    assert!(pio(&last.ra, "2001:db8:1:1::/64").is_none());
    assert!(pio(&last.ra, "2001:db8:2:1::/64").is_some());
}

#[test]
fn withdrawn_prefix_is_signalled_stale_while_hosts_hold_it() {
    let t0 = Instant::now();
    let mut e = Engine::new(RaConfig::default(), &[], 4, t0);
    handle(
        &mut e,
        Input::Facts(facts(vec![prefix("2001:db8:1:1::/64", t0, 600, 1200)])),
        t0,
    );
    let t1 = t0 + secs(100);
    let mut f = facts(vec![prefix("2001:db8:1:1::/64", t0, 600, 1200)]);
    f.prefixes[0].deprecated = true;
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t1), t1);
    ras.extend(run_until(&mut e, t1 + secs(5)));
    let old = pio(&ras[0].ra, "2001:db8:1:1::/64").unwrap();
    assert_eq!((old.preferred_lifetime, old.valid_lifetime), (0, 0));
    // Signalled stale for as long as hosts may hold it from the RA they got
    // at t0 (valid 1200 s), then no more.
    let end = t0 + secs(1200);
    let tail = run_until(&mut e, end + secs(1200));
    assert!(
        tail.iter()
            .filter(|s| s.at < end)
            .all(|s| pio(&s.ra, "2001:db8:1:1::/64").is_some())
    );
    assert!(
        tail.iter()
            .filter(|s| s.at > end)
            .all(|s| pio(&s.ra, "2001:db8:1:1::/64").is_none())
    );
    assert!(tail.iter().any(|s| s.at > end));
}

/// RFC 9096 3.5: "Advertising DHCPv6-leased prefixes with zero lifetimes on
/// the LAN side would handle the case where a CE router has no stable
/// storage": a prefix first heard of already withdrawn (no record of what
/// hosts were told) is signalled stale for ND_VALID_LIMIT, the most any RA
/// of ours gives.
#[test]
fn a_prefix_first_heard_of_withdrawn_is_signalled_stale_for_nd_valid_limit() {
    let t0 = Instant::now();
    let mut e = Engine::new(RaConfig::default(), &[], 5, t0);
    let mut f = facts(vec![
        prefix("2001:db8:2:1::/64", t0, 86400, 86400),
        prefix("2001:db8:1:1::/64", t0, 600, 86400),
    ]);
    f.prefixes[1].deprecated = true;
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t0), t0);
    ras.extend(run_until(&mut e, t0 + secs(5400 + 1200)));
    let (during, after): (Vec<&Sent>, Vec<&Sent>) =
        ras.iter().partition(|s| s.at < t0 + secs(5400));
    assert!(during.len() > 3 && !after.is_empty());
    for s in during {
        let o = pio(&s.ra, "2001:db8:1:1::/64").unwrap();
        assert_eq!((o.preferred_lifetime, o.valid_lifetime), (0, 0));
        assert!(pio(&s.ra, "2001:db8:2:1::/64").is_some());
    }
    assert!(
        after
            .iter()
            .filter(|s| s.at > t0 + secs(5401))
            .all(|s| pio(&s.ra, "2001:db8:1:1::/64").is_none())
    );
}

#[test]
fn wan_loss_advertises_router_lifetime_zero_at_once() {
    let (mut e, t0, _) = started(11, RaConfig::default());
    run_until(&mut e, t0 + secs(500));
    let t1 = t0 + secs(500);
    let mut f = facts(vec![prefix("2001:db8:1:1::/64", t0, 86400, 2 * 86400)]);
    f.upstream_default_route = false;
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f.clone()), t1), t1);
    ras.extend(run_until(&mut e, t1 + secs(40)));
    assert!(ras[0].at <= t1 + MIN_DELAY_BETWEEN_RAS);
    assert!(ras.len() >= 3, "fast RAs after a change");
    assert!(ras.iter().all(|s| s.ra.router_lifetime == 0));
    // Prefixes stay: hosts keep talking to each other and to the router.
    assert!(pio(&ras[0].ra, "2001:db8:1:1::/64").is_some());
    assert_eq!(e.status(t1 + secs(40)).router_lifetime, 0);

    let t2 = t1 + secs(100);
    f.upstream_default_route = true;
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t2), t2);
    ras.extend(run_until(&mut e, t2 + secs(5)));
    assert_eq!(ras[0].ra.router_lifetime, 1800);
}

#[test]
fn no_default_route_before_the_wan_is_up() {
    let t0 = Instant::now();
    let mut e = Engine::new(RaConfig::default(), &[], 12, t0);
    let ras = sent_ras(&tick(&mut e, t0), t0);
    assert_eq!(ras[0].ra.router_lifetime, 0);
}

#[test]
fn shutdown_sends_a_final_ra_with_router_lifetime_zero() {
    let (mut e, t0, _) = started(13, RaConfig::default());
    run_until(&mut e, t0 + secs(1000));
    let t1 = t0 + secs(1000);
    let mut actions = handle(&mut e, Input::Shutdown, t1);
    let mut when = t1;
    if !actions.iter().any(|a| matches!(a, Action::Stopped)) {
        // Rate limit still running: the final RA is due shortly.
        when = e.poll_timeout().unwrap();
        assert!(when <= t1 + MIN_DELAY_BETWEEN_RAS);
        actions = tick(&mut e, when);
    }
    let ras = sent_ras(&actions, when);
    assert_eq!(ras.len(), 1);
    assert_eq!(ras[0].kind, RaKind::Final);
    assert_eq!(ras[0].ra.router_lifetime, 0);
    // RFC 4861 6.2.5 only withdraws the default route; prefixes keep their
    // lifetimes so hosts keep their addresses over a reboot.
    let p = pio(&ras[0].ra, "2001:db8:1:1::/64").unwrap();
    assert_eq!((p.preferred_lifetime, p.valid_lifetime), (2700, 5400));
    assert!(matches!(actions.last(), Some(Action::Stopped)));
    assert_eq!(e.poll_timeout(), None);
    assert!(tick(&mut e, when + secs(600)).is_empty());
    assert_eq!(e.counters().ra_sent_final, 1);
}

#[test]
fn shutdown_right_after_an_ra_waits_for_the_rate_limit() {
    let (mut e, t0, first) = started(14, RaConfig::default());
    assert_eq!(first.len(), 1);
    let actions = handle(&mut e, Input::Shutdown, t0 + secs(1));
    assert!(actions.is_empty());
    assert_eq!(e.poll_timeout(), Some(t0 + MIN_DELAY_BETWEEN_RAS));
    let actions = tick(&mut e, t0 + MIN_DELAY_BETWEEN_RAS);
    assert_eq!(sent_ras(&actions, t0)[0].kind, RaKind::Final);
}

#[test]
fn prefixes_from_before_a_restart_are_deprecated_if_the_delegation_differs() {
    let t0 = Instant::now();
    let old = net("2001:db8:1:1::/64");
    let kept = net("fd00:aa:bb:1::/64");
    let mut e = Engine::new(RaConfig::default(), &[old, kept], 21, t0);
    // Until the delegation arrives nothing is said about remembered prefixes.
    let ras = sent_ras(&tick(&mut e, t0), t0);
    assert_eq!(ras[0].ra.prefixes().count(), 0);
    assert_eq!(e.status(t0).remembered_prefixes.len(), 2);

    let t1 = t0 + secs(5);
    let mut f = facts(vec![prefix("2001:db8:9:1::/64", t1, 86400, 86400)]);
    f.prefixes.push(LanPrefix {
        prefix: kept,
        preferred_until: None,
        valid_until: None,
        deprecated: false,
    });
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t1), t1);
    ras.extend(run_until(&mut e, t1 + secs(5)));
    let ra = &ras[0].ra;
    let o = pio(ra, "2001:db8:1:1::/64").unwrap();
    assert_eq!((o.preferred_lifetime, o.valid_lifetime), (0, 0));
    // Hosts got at most ND_VALID_LIMIT before the restart: it is signalled
    // stale that long (RFC 9096 3.5, the note on L-16), then forgotten.
    let stale_until = t1 + secs(5400);
    let tail = run_until(&mut e, stale_until + secs(1200));
    assert!(
        tail.iter()
            .filter(|s| s.at < stale_until)
            .all(|s| pio(&s.ra, "2001:db8:1:1::/64").is_some_and(|p| p.valid_lifetime == 0))
    );
    assert!(
        tail.iter()
            .filter(|s| s.at > stale_until + secs(1))
            .all(|s| pio(&s.ra, "2001:db8:1:1::/64").is_none())
    );
    let k = pio(ra, "fd00:aa:bb:1::/64").unwrap();
    assert_eq!(
        k.preferred_lifetime, 2700,
        "still delegated: not deprecated"
    );
    assert!(pio(ra, "2001:db8:9:1::/64").is_some());
}

#[test]
fn remembered_prefixes_wait_for_the_delegation_not_for_the_ula() {
    let t0 = Instant::now();
    let old = net("2001:db8:1:1::/64");
    let ula = net("fd00:aa:bb:1::/64");
    let mut e = Engine::new(RaConfig::default(), &[old, ula], 23, t0);
    // The supervisor knows the ULA before the ISP delegates anything.
    let mut f = facts(vec![LanPrefix {
        prefix: ula,
        preferred_until: None,
        valid_until: None,
        deprecated: false,
    }]);
    f.delegation_known = false;
    let ras = sent_ras(&handle(&mut e, Input::Facts(f), t0), t0);
    assert!(pio(&ras[0].ra, "fd00:aa:bb:1::/64").is_some());
    assert!(
        pio(&ras[0].ra, "2001:db8:1:1::/64").is_none(),
        "not withdrawn yet"
    );
    // The same prefix comes back: advertised as active, never deprecated.
    let t1 = t0 + secs(10);
    let f = facts(vec![
        LanPrefix {
            prefix: ula,
            preferred_until: None,
            valid_until: None,
            deprecated: false,
        },
        prefix("2001:db8:1:1::/64", t1, 86400, 86400),
    ]);
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t1), t1);
    ras.extend(run_until(&mut e, t1 + secs(40)));
    for s in &ras {
        assert_eq!(
            pio(&s.ra, "2001:db8:1:1::/64").unwrap().preferred_lifetime,
            2700
        );
    }
}

#[test]
fn remembered_prefixes_are_deprecated_after_grace_without_wan() {
    let t0 = Instant::now();
    let mut e = Engine::new(RaConfig::default(), &[net("2001:db8:1:1::/64")], 22, t0);
    let ras = run_until(&mut e, t0 + secs(59));
    assert!(ras.iter().all(|s| s.ra.prefixes().count() == 0));
    let ras = run_until(&mut e, t0 + secs(64));
    let p = pio(&ras[0].ra, "2001:db8:1:1::/64").unwrap();
    assert_eq!(p.preferred_lifetime, 0);
    assert!(ras[0].at <= t0 + secs(63));
}

fn foreign_ra() -> Vec<u8> {
    foreign_ra_with(1800, 86400)
}

/// A rogue RA with router lifetime `router` and one PIO valid `valid` s.
fn foreign_ra_with(router: u16, valid: u32) -> Vec<u8> {
    RouterAdvertisement {
        cur_hop_limit: 64,
        managed: false,
        other_config: false,
        preference: RouterPreference::Medium,
        router_lifetime: router,
        options: vec![
            NdOption::SourceLinkLayerAddress(vec![0xaa, 0xbb, 0xcc, 0, 0, 1]),
            NdOption::PrefixInformation(PrefixInformation {
                prefix_len: 64,
                on_link: true,
                autonomous: true,
                other_flags: 0,
                valid_lifetime: valid,
                preferred_lifetime: valid.min(14400),
                prefix: ip("2001:db8:bad::"),
            }),
        ],
        ..RouterAdvertisement::default()
    }
    .to_bytes()
    .unwrap()
}

fn receive(e: &mut Engine, source: &str, message: &[u8], now: Instant) -> Vec<Action> {
    handle(
        e,
        Input::Received(Received {
            source: ip(source),
            hop_limit: Some(255),
            message,
        }),
        now,
    )
}

#[test]
fn a_rogue_router_holds_until_its_last_ra_runs_out_on_the_hosts() {
    let (mut e, t0, _) = started(31, RaConfig::default());
    let t = t0 + secs(10);
    run_until(&mut e, t);
    receive(&mut e, "fe80::bad", &foreign_ra_with(30, 60), t);
    let held = |e: &Engine, at| e.status(at).rogue_routers[0].holds_secs_left;
    // The prefix (60 s) outlasts the router lifetime (30 s).
    assert_eq!(held(&e, t + secs(1)), Some(59));
    // Its goodbye (router lifetime 0, as radvd sends when it stops) still
    // leaves the hosts its prefix for 20 s.
    receive(&mut e, "fe80::bad", &foreign_ra_with(0, 20), t + secs(5));
    assert_eq!(held(&e, t + secs(5)), Some(20));
    assert_eq!(held(&e, t + secs(25)), Some(0));
    assert_eq!(e.status(t + secs(25)).rogue_routers[0].count, 2);
    // An infinite prefix never runs out.
    receive(
        &mut e,
        "fe80::bad",
        &foreign_ra_with(30, u32::MAX),
        t + secs(30),
    );
    assert_eq!(held(&e, t + secs(3600)), None);
}

#[test]
fn rogue_routers_are_reported_once_per_source() {
    let (mut e, t0, _) = started(31, RaConfig::default());
    run_until(&mut e, t0 + secs(10));
    let ra = foreign_ra();
    let t = t0 + secs(10);
    let first = receive(&mut e, "fe80::bad", &ra, t);
    let reports: Vec<_> = first
        .iter()
        .filter_map(|a| match a {
            Action::RogueRouter(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.source, ip("fe80::bad"));
    assert_eq!(r.link_layer_address.as_deref(), Some("aa:bb:cc:00:00:01"));
    assert_eq!(r.router_lifetime, 1800);
    assert_eq!(
        r.prefixes,
        ["2001:db8:bad::/64 L=1 A=1 valid=86400 preferred=14400"]
    );
    assert!(r.competes_for_default(RouterPreference::Medium));
    assert!(!r.competes_for_default(RouterPreference::High));

    for i in 1..5 {
        assert!(
            receive(&mut e, "fe80::bad", &ra, t + secs(i))
                .iter()
                .all(|a| !matches!(a, Action::RogueRouter(_)))
        );
    }
    // Our own RA looped back is not a rogue; a non-link-local source is invalid.
    assert!(receive(&mut e, "fe80::1", &ra, t).is_empty());
    assert!(receive(&mut e, "2001:db8::66", &ra, t).is_empty());
    let second = receive(&mut e, "fe80::2", &ra, t + secs(9));
    assert!(
        second
            .iter()
            .any(|a| matches!(a, Action::RogueRouter(s) if s.source == ip("fe80::2")))
    );

    let status = e.status(t + secs(20));
    assert_eq!(status.counters.ra_received_rogue, 6);
    assert_eq!(status.counters.ra_received_own, 1);
    assert_eq!(
        status.counters.dropped.get("ra_source_not_link_local"),
        Some(&1)
    );
    assert_eq!(status.rogue_routers.len(), 2);
    let bad = status
        .rogue_routers
        .iter()
        .find(|r| r.source == Some(ip("fe80::bad")))
        .unwrap();
    assert_eq!(bad.count, 5);
    assert_eq!(bad.first_seen_secs_ago, 20);
    assert_eq!(bad.last_seen_secs_ago, 16);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["rogue_routers"][0]["source"], "fe80::2");
    assert_eq!(json["rogue_routers"][0]["count"], 1);
    assert_eq!(json["rogue_routers"][1]["source"], "fe80::bad");
}

#[test]
fn rogue_table_is_bounded_against_spoofed_sources() {
    let (mut e, t0, _) = started(32, RaConfig::default());
    let ra = foreign_ra();
    let mut reports = 0;
    for i in 0..1000u16 {
        let src = format!("fe80::{:x}:1", i + 1);
        reports += receive(&mut e, &src, &ra, t0)
            .iter()
            .filter(|a| matches!(a, Action::RogueRouter(_)))
            .count();
    }
    assert_eq!(reports, cpe_ra::rogue::MAX_ROGUE_SOURCES);
    let s = e.status(t0);
    assert_eq!(s.rogue_routers.len(), cpe_ra::rogue::MAX_ROGUE_SOURCES);
    assert_eq!(
        s.rogue_untracked,
        1000 - cpe_ra::rogue::MAX_ROGUE_SOURCES as u64
    );
}

#[test]
fn status_shows_what_hosts_are_told() {
    let (mut e, t0, _) = started(41, RaConfig::default());
    run_until(&mut e, t0 + secs(30));
    send_rs(&mut e, "fe80::9", 255, true, t0 + secs(30));
    run_until(&mut e, t0 + secs(31));
    let s = e.status(t0 + secs(31));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["state"], "advertising");
    assert_eq!(json["managed"], false);
    assert_eq!(json["other_config"], true);
    assert_eq!(json["preference"], "medium");
    assert_eq!(json["router_lifetime"], 1800);
    assert_eq!(json["mtu"], 1492);
    assert_eq!(json["prefixes"][0]["prefix"], "2001:db8:1:1::/64");
    assert_eq!(json["prefixes"][0]["preferred_lifetime"], 2700);
    // No ULA prefix on this LAN, so "self" is the address in the delegated one.
    assert_eq!(json["rdnss"][0], "2001:db8:1:1::1");
    assert_eq!(json["dnssl"][0], "lan");
    assert_eq!(json["counters"]["rs_answered"], 1);
    assert_eq!(json["counters"]["ra_sent_solicited"], 1);
    assert!(json["next_ra_in_ms"].as_u64().unwrap() > 0);
}

#[test]
fn malformed_foreign_ra_is_still_reported_as_rogue() {
    let (mut e, t0, _) = started(33, RaConfig::default());
    // Header: M=1, preference high, lifetime 600; then an MTU option of length 2.
    let mut bad = vec![134, 0, 0, 0, 64, 0x88, 0x02, 0x58, 0, 0, 0, 0, 0, 0, 0, 0];
    bad.extend_from_slice(&[5, 2, 0, 0, 0, 0, 5, 0xdc, 0, 0, 0, 0, 0, 0, 0, 0]);
    let actions = receive(&mut e, "fe80::66", &bad, t0 + secs(1));
    let summary = actions
        .iter()
        .find_map(|a| match a {
            Action::RogueRouter(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(summary.malformed, Some("malformed_option"));
    assert!(summary.managed);
    assert_eq!(summary.preference, "high");
    assert_eq!(summary.router_lifetime, 600);
    assert_eq!(e.counters().dropped.get("malformed_option"), Some(&1));
    // Malformed and forged from off-link (hop limit 64): dropped, not a router.
    let actions = handle(
        &mut e,
        Input::Received(Received {
            source: ip("fe80::67"),
            hop_limit: Some(64),
            message: &bad,
        }),
        t0 + secs(2),
    );
    assert!(actions.iter().all(|a| !matches!(a, Action::RogueRouter(_))));
    assert_eq!(e.status(t0 + secs(2)).rogue_routers.len(), 1);
}

#[test]
fn oversized_ra_keeps_what_hosts_need_and_stays_unfragmented() {
    let statics: Vec<Ipv6Net> = (0..60u16)
        .map(|i| Ipv6Net::new(Ipv6Addr::new(0x2001, 0xdb8, 0xff, i, 0, 0, 0, 0), 64).unwrap())
        .collect();
    let config = RaConfig {
        static_prefixes: statics,
        ..RaConfig::default()
    };
    let t0 = Instant::now();
    let mut e = Engine::new(config, &[], 61, t0);
    let actions = handle(
        &mut e,
        Input::Facts(facts(vec![prefix("2001:db8:1:1::/64", t0, 86400, 86400)])),
        t0,
    );
    let message = actions
        .iter()
        .find_map(|a| match a {
            Action::SendRa { message, .. } => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        message.len() <= cpe_ra::content::MAX_RA_OCTETS,
        "{} octets",
        message.len()
    );
    let ra = decode_ra(&message);
    assert!(ra.source_link_layer_address().is_some());
    assert_eq!(ra.mtu(), Some(1492));
    // 1240 - 16 header - 8 SLLA - 8 MTU - 24 RDNSS leave exactly 37 PIOs.
    assert_eq!(message.len(), cpe_ra::content::MAX_RA_OCTETS);
    assert_eq!(ra.prefixes().count(), 37);
    assert!(pio(&ra, "2001:db8:1:1::/64").is_some());
    assert!(
        ra.rdnss().next().is_some(),
        "a resolver beats the 37th prefix"
    );
    assert!(ra.dnssl().next().is_none());
    // The other 24 PIOs and the DNSSL.
    assert_eq!(e.counters().options_skipped, 61 - 37 + 1);
}

/// Runs the engine to `end` with the delegation renewed every `renew` (a
/// fresh `preferred`/`valid` lease each time) except during `outage`;
/// returns the RAs sent.
fn run_with_renewals(
    e: &mut Engine,
    t0: Instant,
    end: Instant,
    (renew, preferred, valid): (u64, u64, u64),
    outage: std::ops::Range<Instant>,
) -> Vec<Sent> {
    let mut out = Vec::new();
    let mut next_renew = t0 + secs(renew);
    loop {
        let deadline = e.poll_timeout().unwrap();
        let now = deadline.min(next_renew);
        if now > end {
            break;
        }
        let actions = if now == next_renew {
            next_renew += secs(renew);
            if outage.contains(&now) {
                continue;
            }
            let p = prefix("2001:db8:1:1::/64", now, preferred, valid);
            handle(e, Input::Facts(facts(vec![p])), now)
        } else {
            tick(e, now)
        };
        out.extend(sent_ras(&actions, now));
    }
    out
}

/// Issue 9 item 1: lifetimes shorter than the RA interval (the lab's Kea:
/// preferred 60 s, valid 120 s, T1 8 s). Hosts must hear an RA at least
/// three times per preferred lifetime, so their address never goes
/// deprecated while the router holds the prefix.
#[test]
fn short_delegated_lifetimes_keep_hosts_preferred_between_ras() {
    for seed in 0..20 {
        let t0 = Instant::now();
        let mut e = Engine::new(RaConfig::default(), &[], seed, t0);
        let first = handle(
            &mut e,
            Input::Facts(facts(vec![prefix("2001:db8:1:1::/64", t0, 60, 120)])),
            t0,
        );
        let mut ras = sent_ras(&first, t0);
        ras.extend(run_with_renewals(
            &mut e,
            t0,
            t0 + secs(HOUR),
            (8, 60, 120),
            t0..t0,
        ));
        assert!(ras.len() > 3600 / 20, "seed {seed}: only {} RAs", ras.len());
        for w in ras.windows(2) {
            let gap = w[1].at - w[0].at;
            let told = pio(&w[0].ra, "2001:db8:1:1::/64").unwrap();
            assert!(
                gap <= secs(20) && gap >= MIN_DELAY_BETWEEN_RAS,
                "seed {seed}: {gap:?} between RAs, lease preferred 60 s"
            );
            assert!(
                secs(u64::from(told.preferred_lifetime)) > gap * 2,
                "seed {seed}: host told preferred {} s, next RA after {gap:?}",
                told.preferred_lifetime
            );
        }
    }
}

/// After an outage the lease is refreshed by a Rebind: hosts, holding only
/// what is left of the old lifetimes, hear the refreshed ones at once (within
/// MIN_DELAY_BETWEEN_RAS), not at the next periodic RA.
#[test]
fn refreshed_lifetimes_after_an_outage_are_advertised_at_once() {
    let config = RaConfig {
        min_interval: secs(200),
        max_interval: secs(600),
        ..RaConfig::default()
    };
    // Long lease (capped at 2700/5400 s in PIOs): the interval cap is 900 s,
    // so only the refresh rule can send early.
    let t0 = Instant::now();
    let mut e = Engine::new(config, &[], 7, t0);
    handle(
        &mut e,
        Input::Facts(facts(vec![prefix("2001:db8:1:1::/64", t0, 3000, 6000)])),
        t0,
    );
    // Outage from 100 s: no renewal until 2900 s; hosts' preferred lifetime
    // dwindles with the lease's.
    let outage = t0 + secs(100)..t0 + secs(2900);
    let ras = run_with_renewals(&mut e, t0, t0 + secs(2910), (100, 3000, 6000), outage);
    let last_before = ras.iter().rev().find(|s| s.at < t0 + secs(2900)).unwrap();
    let told = pio(&last_before.ra, "2001:db8:1:1::/64").unwrap();
    assert!(told.preferred_lifetime < 2700, "{told:?}");
    let after: Vec<&Sent> = ras.iter().filter(|s| s.at >= t0 + secs(2900)).collect();
    assert!(
        !after.is_empty(),
        "no RA within 10 s of the Rebind (last one at {:?})",
        last_before.at - t0
    );
    assert!(after[0].at <= t0 + secs(2900) + MIN_DELAY_BETWEEN_RAS);
    assert_eq!(
        pio(&after[0].ra, "2001:db8:1:1::/64")
            .unwrap()
            .preferred_lifetime,
        2700
    );
    // A renewal that changes nothing for hosts does not add RAs: during the
    // lease before the outage only the start-up series went out.
    assert!(ras.iter().filter(|s| s.at < t0 + secs(100)).count() <= 3);
}

/// The ISP shortens the lease: hosts holding the longer lifetimes are
/// corrected at once.
#[test]
fn cut_lifetimes_are_advertised_at_once() {
    let (mut e, t0, _) = started(3, RaConfig::default());
    run_until(&mut e, t0 + secs(HOUR));
    let now = t0 + secs(HOUR) + secs(1);
    let actions = handle(
        &mut e,
        Input::Facts(facts(vec![prefix("2001:db8:1:1::/64", now, 300, 600)])),
        now,
    );
    let mut ras = sent_ras(&actions, now);
    ras.extend(run_until(&mut e, now + MIN_DELAY_BETWEEN_RAS));
    assert!(!ras.is_empty(), "no RA after the lease was cut");
    let p = pio(&ras[0].ra, "2001:db8:1:1::/64").unwrap();
    assert!(
        p.valid_lifetime <= 600 && p.preferred_lifetime <= 300,
        "{p:?}"
    );
}

/// RFC 7084 ULA-5 / L-4: a LAN numbered only from the ULA is not given a
/// default route, even with the WAN's default route up; the first global
/// prefix makes us a default router in the next RA, and losing it takes
/// that back at once (G-5).
#[test]
fn router_lifetime_needs_a_global_prefix_on_the_lan() {
    let t0 = Instant::now();
    let mut e = Engine::new(RaConfig::default(), &[], 21, t0);
    let ula = || LanPrefix {
        prefix: net("fd00:aa:bb:1::/64"),
        preferred_until: None,
        valid_until: None,
        deprecated: false,
    };
    let mut ula_only = facts(vec![ula()]);
    ula_only.delegation_known = false;
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(ula_only.clone()), t0), t0);
    ras.extend(run_until(&mut e, t0 + secs(300)));
    assert!(ras.len() >= 3);
    assert!(
        ras.iter().all(|s| s.ra.router_lifetime == 0),
        "ULA-only LAN advertised as default router"
    );
    assert!(pio(&ras[0].ra, "fd00:aa:bb:1::/64").is_some());
    let status = e.status(t0 + secs(300));
    assert_eq!(status.router_lifetime, 0);
    assert_eq!(
        status.not_default_router.as_deref(),
        Some("no global prefix on this LAN (ULA only or none)")
    );

    // No prefix at all (L-4): still not a default router.
    let t1 = t0 + secs(300);
    let mut none = facts(Vec::new());
    none.delegation_known = false;
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(none), t1), t1);
    ras.extend(run_until(&mut e, t1 + secs(100)));
    assert!(ras.iter().all(|s| s.ra.router_lifetime == 0));

    // The delegation arrives: the next RA makes us a default router.
    let t2 = t1 + secs(100);
    let delegated = facts(vec![prefix("2001:db8:1:1::/64", t2, 3600, 7200), ula()]);
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(delegated), t2), t2);
    ras.extend(run_until(&mut e, t2 + MIN_DELAY_BETWEEN_RAS));
    assert_eq!(ras[0].ra.router_lifetime, 1800, "first RA after delegation");
    assert_eq!(e.status(t2 + secs(5)).not_default_router, None);

    // The delegation is withdrawn: router lifetime 0 within the rate limit,
    // while the old prefix is still listed (deprecated) for hosts.
    let t3 = t2 + secs(200);
    run_until(&mut e, t3);
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(ula_only.clone()), t3), t3);
    ras.extend(run_until(&mut e, t3 + MIN_DELAY_BETWEEN_RAS));
    assert!(!ras.is_empty(), "no RA within the rate limit after loss");
    assert!(ras[0].at <= t3 + MIN_DELAY_BETWEEN_RAS);
    assert_eq!(ras[0].ra.router_lifetime, 0);
    let old = pio(&ras[0].ra, "2001:db8:1:1::/64").expect("old prefix withdrawn");
    assert_eq!(old.preferred_lifetime, 0);
}

/// A global prefix reaching the end of its valid lifetime with no renewal
/// in the facts takes the default route away in an RA at once, not at the
/// next periodic one.
#[test]
fn expiry_of_the_last_global_prefix_drops_router_lifetime_at_once() {
    let t0 = Instant::now();
    let config = RaConfig {
        min_interval: secs(200),
        max_interval: secs(600),
        ..RaConfig::default()
    };
    let mut e = Engine::new(config, &[], 22, t0);
    let f = facts(vec![prefix("2001:db8:1:1::/64", t0, 1000, 1000)]);
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t0), t0);
    ras.extend(run_until(&mut e, t0 + secs(999)));
    assert!(ras.iter().all(|s| s.ra.router_lifetime == 1800));
    let ras = run_until(&mut e, t0 + secs(1000) + MIN_DELAY_BETWEEN_RAS);
    let after: Vec<&Sent> = ras.iter().filter(|s| s.at >= t0 + secs(1000)).collect();
    assert!(
        !after.is_empty(),
        "no RA when the last global prefix expired"
    );
    assert_eq!(after[0].ra.router_lifetime, 0);
}

/// RFC 7084 L-3: a route to the delegated prefix handed over in the facts is
/// advertised as a Route Information option with its own length and a
/// lifetime that follows the delegation, capped like the other routes.
#[test]
fn delegated_prefix_route_follows_the_delegation_lifetime() {
    let (mut e, t0, _) = started(23, RaConfig::default());
    let mut f = facts(vec![prefix("2001:db8:1:1::/64", t0, 86400, 2 * 86400)]);
    f.routes = vec![RouteAdvert {
        prefix: net("2001:db8:1::/56"),
        valid_until: Some(t0 + secs(1000)),
    }];
    let t1 = t0 + secs(10);
    let mut ras = sent_ras(&handle(&mut e, Input::Facts(f), t1), t1);
    ras.extend(run_until(&mut e, t1 + secs(20)));
    let rio = |s: &Sent| {
        s.ra.routes()
            .find(|r| r.prefix == ip("2001:db8:1::") && r.prefix_len == 56)
            .map(|r| r.route_lifetime)
    };
    let first = &ras[0];
    let lifetime = rio(first).expect("no RIO for the delegated prefix");
    let cap = RaConfig::default().dns_lifetime();
    let left = |at: Instant| u32::try_from((t0 + secs(1000) - at).as_secs()).unwrap();
    let lifetime_left = left(first.at);
    assert_eq!(lifetime, lifetime_left.min(cap));
    // Near the end of the delegation the route lifetime counts down with it.
    let late = run_until(&mut e, t0 + secs(990));
    if let Some(s) = late.last() {
        assert_eq!(rio(s), Some(left(s.at).min(cap)));
    }
}
