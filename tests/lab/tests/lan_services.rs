//! What every device in the home sees of the whole product: `cpe run` with
//! `config/default.toml` against the emulated ISP (radvd M=1 O=1, Kea with
//! prefix delegation, Unbound), and a LAN host whose Linux kernel is the
//! SLAAC client. Probes are independent tools: `rdisc6`, `ip`, `kdig`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use cpe_lab::router::{RouterLab, RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Check, IspOptions, KeaOptions, LeaseTimers, PdPool, Radvd, RadvdOptions, plan, wait_for,
};
use ipnet::Ipv6Net;
use serde_json::Value;

const BRING_UP: Duration = Duration::from_secs(20);

type Setup = RouterLab;

fn setup(hint: &str, kea: KeaOptions) -> Setup {
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    setup_with_config(hint, kea, &source)
}

fn setup_with_config(hint: &str, kea: KeaOptions, source: &str) -> Setup {
    let isp = IspOptions {
        kea: Some(kea),
        ..IspOptions::default()
    };
    RouterLab::start(hint, &isp, source).unwrap()
}

/// The LAN /64s of `origin` in a status document.
fn lan_prefixes(status: &Value, origin: &str) -> Vec<(Ipv6Net, Ipv6Addr, bool)> {
    status["lan"][0]["prefixes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["origin"] == origin)
                .map(|p| {
                    (
                        p["prefix"].as_str().unwrap().parse().unwrap(),
                        p["router_address"].as_str().unwrap().parse().unwrap(),
                        p["deprecated"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn current_delegated_lan(router: &Router) -> Ipv6Net {
    router
        .wait_status("a delegated /64 on the LAN", BRING_UP, |s| {
            lan_prefixes(s, "delegated")
                .into_iter()
                .find(|(_, _, dep)| !dep)
                .map(|(p, _, _)| p)
        })
        .unwrap()
}

/// The host's address in `prefix`, once it is there and usable.
fn host_address_in(s: &Setup, prefix: Ipv6Net) -> cpe_lab::IfAddr {
    s.topo
        .host
        .wait_for_address(plan::HOST_IF, BRING_UP, |a| {
            matches!(a.addr(), IpAddr::V6(v6) if prefix.contains(&v6)) && !a.tentative
        })
        .unwrap()
}

#[test]
fn lan_host_gets_address_route_and_dns_and_rdisc6_shows_exactly_the_config() {
    let s = setup("lan_slaac", KeaOptions::default());
    let lan64 = current_delegated_lan(&s.router);
    let status = s.router.status().unwrap();
    let (ula64, ula_router, _) = lan_prefixes(&status, "ula")[0];

    // The host's kernel formed addresses in both /64s and took our default route.
    host_address_in(&s, lan64);
    host_address_in(&s, ula64);
    let route = s.topo.host.wait_for_default_route_v6(BRING_UP).unwrap();
    assert_eq!(
        route.gateway,
        Some(IpAddr::V6(plan::BRIDGE_LINK_LOCAL)),
        "{route:?}"
    );

    // What the RA says, read by an independent tool: default.toml has
    // managed = false, other_config = true, preference medium, lifetime 1800,
    // rdnss = ["self"], dnssl defaulting to the local domain "lan", mtu auto.
    // RFC 7084 L-3: a Route Information option for the delegated prefix.
    let delegation: Ipv6Net = status["wan"]["delegated_prefixes"][0]["prefix"]
        .as_str()
        .expect("a delegated prefix in the status")
        .parse()
        .unwrap();
    let ra = wait_for("an RA with both prefixes and the route", BRING_UP, || {
        let ra = s.topo.host.rdisc6(plan::HOST_IF)?;
        let has = |p: Ipv6Net| ra.prefixes.iter().any(|x| x.prefix == p);
        let routed = ra.routes.iter().any(|r| r.prefix == delegation);
        Ok(if has(lan64) && has(ula64) && routed {
            Check::Ready(ra)
        } else {
            Check::NotYet(format!("{ra:?}"))
        })
    })
    .unwrap();
    assert!(!ra.managed, "M must be 0: {ra:?}");
    assert!(
        ra.other,
        "O must be 1 (the stateless DHCPv6 server answers): {ra:?}"
    );
    assert_eq!(ra.preference, "medium");
    assert_eq!(ra.router_lifetime, 1800);
    assert_eq!(ra.from, Some(plan::BRIDGE_LINK_LOCAL));
    assert_eq!(
        ra.rdnss,
        vec![ula_router],
        "RDNSS must be the router's stable ULA address"
    );
    assert_eq!(ra.dnssl, vec!["lan".to_string()]);
    let rio = ra.routes.iter().find(|r| r.prefix == delegation).unwrap();
    assert_eq!(rio.preference, "medium", "{rio:?}");
    // Follows the delegation (Kea's valid lifetime is 4000 s), capped.
    assert!(rio.lifetime > 0 && rio.lifetime <= 4000, "{rio:?}");
    assert_eq!(ra.mtu, Some(1500), "mtu = auto follows the WAN MTU");
    for p in &ra.prefixes {
        assert_eq!(p.prefix.prefix_len(), 64, "only /64 PIOs: {ra:?}");
    }

    // DNS through the router's forwarder, at the address the RA announced,
    // answered by the ISP's resolver learned through DHCPv6 option 23.
    let replies = s
        .topo
        .host
        .kdig(&[&format!("@{ula_router}"), "a.test", "AAAA"])
        .unwrap();
    let r = &replies[0];
    assert_eq!(r.status, "NOERROR", "{r:?}");
    assert!(
        r.answers.iter().any(|a| a.data == "2001:db8:53::a"),
        "{r:?}"
    );
    let _ = &s.isp;

    // The engineer's view of the LAN: what is advertised and served.
    let out = s.router.cpectl(&["show", "lan"]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    for needle in [
        "RA    br0: M=0 O=1 preference medium router lifetime 1800 mtu 1500".to_string(),
        format!("rdnss {ula_router}"),
        format!("pio {lan64}"),
        "DHCPv6 br0".to_string(),
        "DHCPv4 br0".to_string(),
    ] {
        assert!(
            text.contains(&needle),
            "`{needle}` missing from cpectl show lan:\n{text}"
        );
    }
    assert!(
        text.lines().all(|l| l.len() <= 80),
        "wider than 80 columns:\n{text}"
    );
}

/// RFC 7084 ULA-5 / L-4: no delegation (Kea has no PD pool), so the LAN is
/// numbered from the ULA only. The WAN has its default route, yet the RA
/// must not make us a default router: hosts would send Internet traffic to
/// a router that cannot source it. Failed before: router lifetime 1800.
/// The ULA /48 is the configured one (RFC 7084 ULA-3, `lan.ula = "fd..::/48"`):
/// the LAN gets its `subnet_id`-th /64 and rdisc6 reads it back.
#[test]
fn ula_only_lan_is_not_advertised_as_a_default_router() {
    let default = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let source = default.replacen("ula = true", "ula = \"fd12:3456:789a::/48\"", 1);
    assert_ne!(
        source, default,
        "config/default.toml has no `ula = true` line"
    );
    let s = setup_with_config(
        "lan_ula_only",
        KeaOptions {
            pd_pool: None,
            ..KeaOptions::default()
        },
        &source,
    );
    let ula64 = s
        .router
        .wait_status(
            "WAN default route and a ULA /64 on the LAN",
            BRING_UP,
            |st| {
                let upstream =
                    st["daemon_status"]["ra"]["lans"][0]["upstream_default_route"] == true;
                let ula = lan_prefixes(st, "ula").first().map(|(p, _, _)| *p);
                ula.filter(|_| upstream)
            },
        )
        .unwrap();
    assert_eq!(ula64, "fd12:3456:789a:1::/64".parse::<Ipv6Net>().unwrap());
    let ra = wait_for("an RA with the ULA prefix", BRING_UP, || {
        let ra = s.topo.host.rdisc6(plan::HOST_IF)?;
        Ok(if ra.prefixes.iter().any(|x| x.prefix == ula64) {
            Check::Ready(ra)
        } else {
            Check::NotYet(format!("{ra:?}"))
        })
    })
    .unwrap();
    assert_eq!(ra.router_lifetime, 0, "{ra:?}");
    // The engineer's view names the cause.
    let status = s.router.status().unwrap();
    let why = &status["daemon_status"]["ra"]["lans"][0]["not_default_router"];
    assert!(
        why.as_str().is_some_and(|w| w.contains("no global prefix")),
        "{why}"
    );
    assert!(
        ra.prefixes
            .iter()
            .all(|p| p.prefix.addr().octets()[0] & 0xfe == 0xfc),
        "no global prefix expected: {ra:?}"
    );
    let _ = &s.isp;
}

#[test]
fn kea_renumbering_deprecates_the_hosts_old_address_and_a_new_one_forms() {
    let timers = LeaseTimers::SHORT;
    let kea = KeaOptions {
        timers,
        ..KeaOptions::default()
    };
    let s = setup("lan_renumber", kea.clone());
    let old64 = current_delegated_lan(&s.router);
    let old_addr = host_address_in(&s, old64);
    assert!(old_addr.preferred_lft.unwrap_or(u32::MAX) > 0);

    let renumbered = KeaOptions {
        pd_pool: Some(PdPool {
            prefix: plan::PD_POOL_RENUMBERED,
            delegated_len: 56,
        }),
        ..kea
    };
    s.isp.kea.as_ref().unwrap().reload(&renumbered).unwrap();
    let new64 = s
        .router
        .wait_status("the LAN renumbered", BRING_UP, |st| {
            let d = lan_prefixes(st, "delegated");
            let new = d.iter().find(|(p, _, dep)| !dep && *p != old64)?;
            d.iter()
                .any(|(p, _, dep)| *p == old64 && *dep)
                .then_some(new.0)
        })
        .unwrap();
    assert!(plan::PD_POOL_RENUMBERED.contains(&new64.network()));

    // The host follows within one RA interval: its old address is
    // deprecated (preferred_lft 0) and one in the new /64 forms.
    let old_ip = old_addr.addr();
    let deprecated = s
        .topo
        .host
        .wait_for_address(plan::HOST_IF, BRING_UP, |a| {
            a.addr() == old_ip && a.preferred_lft == Some(0)
        })
        .unwrap();
    assert!(
        deprecated.valid_lft.unwrap_or(0) > 0,
        "old address still valid: {deprecated:?}"
    );
    let fresh = host_address_in(&s, new64);
    assert!(fresh.preferred_lft.unwrap_or(u32::MAX) > 0, "{fresh:?}");
}

#[test]
fn a_second_router_advertising_on_the_lan_is_reported() {
    let s = setup("lan_rogue", KeaOptions::default());
    current_delegated_lan(&s.router);
    // A LAN host starts advertising itself as a router (connection sharing).
    let rogue_prefix: Ipv6Net = "2001:db8:bad::/64".parse().unwrap();
    let _rogue = Radvd::start(&s.topo.host, &RadvdOptions::rogue_host(rogue_prefix)).unwrap();
    let rogue = s
        .router
        .wait_status("the rogue router in cpectl status", BRING_UP, |st| {
            let lans = st["daemon_status"]["ra"]["lans"].as_array()?;
            lans[0]["rogue_routers"]
                .as_array()?
                .iter()
                .find(|r| r["source"] == plan::HOST_LINK_LOCAL.to_string())
                .cloned()
        })
        .unwrap();
    assert!(rogue.to_string().contains("2001:db8:bad::/64"), "{rogue}");
    let log = s.router.supervisor.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("foreign router") && l.contains(&plan::HOST_LINK_LOCAL.to_string())),
        "the rogue router must be logged:\n{log}"
    );
}

/// Issue 9 item 1: the ISP's lifetimes are shorter than the configured RA
/// interval (`config/default.toml`: 200-600 s; Kea here: preferred 20 s,
/// valid 40 s, T1 5 s). The router renews every 5 s; its RAs must keep the
/// host's address preferred although the host never solicits again after
/// its first configuration. Before the fix the RAs stopped after the
/// start-up series and the address went deprecated about 20 s later.
#[test]
fn short_isp_lifetimes_keep_the_hosts_address_preferred_without_solicitations() {
    let timers = LeaseTimers {
        renew: 5,
        rebind: 8,
        preferred: 20,
        valid: 40,
    };
    let s = setup(
        "lan_short_lifetimes",
        KeaOptions {
            timers,
            ..KeaOptions::default()
        },
    );
    let lan64 = current_delegated_lan(&s.router);
    let first = host_address_in(&s, lan64);
    // The host solicits only when its link comes up; make sure it never
    // does again, so only unsolicited RAs can keep its address alive.
    s.topo
        .host
        .sysctl_set(
            &format!("net.ipv6.conf.{}.router_solicitations", plan::HOST_IF),
            "0",
        )
        .unwrap();
    // Longer than the start-up RA series (3 RAs at most 16 s apart) plus a
    // valid lifetime, so an address kept alive only by them would be gone.
    let watch = Duration::from_secs(75);
    let started = std::time::Instant::now();
    let mut lowest_preferred = u32::MAX;
    while started.elapsed() < watch {
        let addrs = s.topo.host.addresses(plan::HOST_IF).unwrap();
        let ours = addrs.iter().find(|a| a.addr() == first.addr());
        let preferred = ours.and_then(|a| a.preferred_lft).unwrap_or(0);
        assert!(
            ours.is_some_and(|a| !a.deprecated) && preferred > 0,
            "after {:?} the host's address {} is {}\nrouter status: {}",
            started.elapsed(),
            first.addr(),
            ours.map_or("gone".to_string(), |a| format!("{a:?}")),
            s.router
                .status()
                .map(|v| v["lan"][0].to_string())
                .unwrap_or_default()
        );
        lowest_preferred = lowest_preferred.min(preferred);
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("lowest preferred lifetime left on the host over {watch:?}: {lowest_preferred} s");
    // RAs at most a third of the preferred lifetime apart (<= 6.7 s here).
    assert!(lowest_preferred >= 5, "{lowest_preferred}");
}
