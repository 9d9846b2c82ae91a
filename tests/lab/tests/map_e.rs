//! MAP-E end to end on the router side (RFC 7597, RFC 7598): `cpe run`
//! with `config/default.toml` plus `[wan.ipv4_over_ipv6] mode = "map-e"`
//! and no rule in the config, against the emulated ISP whose Kea hands
//! out the MAP-E container (option 94: a Basic Mapping Rule over its PD
//! pool with Port Parameters, and a BR).
//!
//! Checked: the router takes the rule from DHCPv6, maps its delegated
//! prefix to the shared IPv4 address, PSID and MAP IPv6 address (checked
//! here against RFC 7597's arithmetic done by hand, not by the router's
//! code), the firewall's NAT chain SNATs out of `map0` to that address
//! and only the ports of that set, and when the ISP renumbers (new pool,
//! new rule) address, port set and SNAT move together.
//!
//! On a kernel without ip6tnl (the CI host's) the tunnel itself cannot
//! be made: the router must say so (state `failed`, the kernel's refusal
//! in the reason) while still showing the mapping. The packet path
//! through the tunnel to a BR runs in the QEMU ISP guest;
//! `crates/firewall/tests/map_e_snat.rs` proves the SNAT's ports on this
//! kernel with a veth in the tunnel's place.
//!
//! `mode = "auto"` against the same ISP offering both option 94 and an
//! AFTR-Name (option 64): the router runs MAP-E (the rule maps its
//! prefix), with the same mapping and SNAT; when the ISP stops sending
//! option 94 it switches to DS-Lite without a restart (the SNAT goes), and
//! back to MAP-E when option 94 returns.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use cpe_lab::plan::ISP_ADDR;
use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    IspOptions, KeaMapE, KeaOptions, Lab, LeaseTimers, PdPool, TopologyOptions, UnboundOptions,
    plan,
};
use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::Value;

const BR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0xb4);

/// The ISP's rule for `pool` (a /40 delegating /56s): 16 EA bits, the
/// IPv4 suffix (8 bits) and an 8-bit PSID, offset 6: 63 ranges of 4 ports.
fn rule(pool: Ipv6Net, v4: Ipv4Addr) -> KeaMapE {
    KeaMapE {
        ipv6_prefix: pool,
        ipv4_prefix: Ipv4Net::new(v4, 24).unwrap(),
        ea_bits: 16,
        psid_offset: 6,
        br: BR,
    }
}

/// RFC 7597 5.2 by hand for a /40 rule and a /56 delegation: the EA bits
/// are bits 40..56, the first 8 the IPv4 suffix, the last 8 the PSID.
fn expected(delegated: Ipv6Net, v4: Ipv4Addr) -> (Ipv4Addr, u16, String) {
    let ea = (u128::from(delegated.network()) >> 72) as u16;
    let o = v4.octets();
    let ipv4 = Ipv4Addr::new(o[0], o[1], o[2], (ea >> 8) as u8);
    let psid = ea & 0xff;
    let first = (1u16 << 10) | (psid << 2);
    (
        ipv4,
        psid,
        format!("snat ip to {ipv4}:{first}-{}", first + 3),
    )
}

/// The MAP-E status once the tunnel was tried from a mapping of a prefix
/// inside `pool`.
fn tried(router: &Router, pool: Ipv6Net, timeout: Duration) -> Value {
    router
        .wait_status("MAP-E tunnel tried", timeout, |s| {
            let d = &s["daemon_status"]["wan"]["ipv4_over_ipv6"];
            let delegated: Ipv6Net = d["delegated"].as_str()?.parse().ok()?;
            (pool.contains(&delegated) && matches!(d["state"].as_str()?, "up" | "failed"))
                .then(|| d.clone())
        })
        .unwrap()
}

fn postrouting(topo_router: &cpe_lab::Netns) -> String {
    let out = topo_router
        .exec(&["nft", "list", "chain", "inet", "cpe", "postrouting"])
        .unwrap();
    out.stdout
}

#[test]
fn rule_from_dhcpv6_maps_the_prefix_and_the_snat_follows_a_renumbering() {
    let lab = Lab::new("mape").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let v4_first = Ipv4Addr::new(203, 0, 113, 0);
    let kea_opts = KeaOptions {
        map_e: Some(rule(plan::PD_POOL, v4_first)),
        timers: LeaseTimers::SHORT,
        ..KeaOptions::default()
    };
    let isp = topo
        .start_isp(&IspOptions {
            kea: Some(kea_opts.clone()),
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    let base = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let config = format!("{base}\n[wan.ipv4_over_ipv6]\nmode = \"map-e\"\n");
    let router = Router::start(&topo.router, &config).unwrap();

    let d = tried(&router, plan::PD_POOL, Duration::from_secs(40));
    let delegated: Ipv6Net = d["delegated"].as_str().unwrap().parse().unwrap();
    let (ipv4, psid, snat) = expected(delegated, v4_first);
    assert_eq!(d["rule_source"], "dhcpv6", "{d}");
    assert_eq!(d["rule_prefix"], plan::PD_POOL.to_string(), "{d}");
    assert_eq!(d["br"], BR.to_string(), "{d}");
    assert_eq!(d["map_ipv4"], ipv4.to_string(), "{d}");
    assert_eq!(d["psid"], psid, "{d}");
    assert_eq!(
        (d["psid_len"].as_u64(), d["psid_offset"].as_u64()),
        (Some(8), Some(6))
    );
    // Section 6: subnet 0 of the delegation, 16 zero bits, IPv4, PSID.
    let iid = (u128::from(u32::from(ipv4)) << 16) | u128::from(psid);
    let map6 = Ipv6Addr::from(u128::from(delegated.network()) | iid);
    assert_eq!(d["map_ipv6"], map6.to_string(), "{d}");
    assert!(
        d["port_ranges"]
            .as_str()
            .unwrap()
            .ends_with("(63 ranges, 252 ports)"),
        "{d}"
    );
    match d["state"].as_str().unwrap() {
        "up" => assert_eq!(d["local"], map6.to_string(), "{d}"),
        _ => {
            let why = d["reason"].as_str().unwrap_or_default();
            // The kernel's refusal of the ip6tnl, nothing before it.
            assert!(
                why.starts_with("MAP-E: tunnel not created: create ip6tnl map0 "),
                "{d}"
            );
            eprintln!("this kernel has no ip6tnl: tunnel not made ({why})");
        }
    }
    let nat = postrouting(&topo.router);
    assert!(nat.contains(&snat), "{snat} not in\n{nat}");
    assert_eq!(
        nat.matches(&format!("snat ip to {ipv4}:")).count(),
        3 * 63,
        "{nat}"
    );
    let show = router.cpectl(&["show", "wan"]).unwrap();
    let show = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(
        show.contains(&format!("ipv4 {ipv4}  psid {psid:#x} (8 bits, offset 6)")),
        "{show}"
    );
    eprintln!("cpectl show wan:\n{show}");
    let why = router.cpectl(&["why"]).unwrap();
    eprintln!("cpectl why:\n{}", String::from_utf8_lossy(&why.stdout));

    // The ISP renumbers: a new pool under a new rule. The new prefix
    // arrives with the Rebind (Kea's reload changes its DUID).
    let v4_second = Ipv4Addr::new(198, 18, 7, 0);
    isp.kea
        .as_ref()
        .unwrap()
        .reload(&KeaOptions {
            pd_pool: Some(PdPool {
                prefix: plan::PD_POOL_RENUMBERED,
                delegated_len: 56,
            }),
            map_e: Some(rule(plan::PD_POOL_RENUMBERED, v4_second)),
            ..kea_opts
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL_RENUMBERED)
        .unwrap();
    let d = tried(&router, plan::PD_POOL_RENUMBERED, Duration::from_secs(30));
    let delegated: Ipv6Net = d["delegated"].as_str().unwrap().parse().unwrap();
    let (ipv4_new, _, snat_new) = expected(delegated, v4_second);
    assert_eq!(d["map_ipv4"], ipv4_new.to_string(), "{d}");
    let nat = router
        .wait_status(
            "the SNAT on the new mapping",
            Duration::from_secs(10),
            |_| {
                let nat = postrouting(&topo.router);
                nat.contains(&snat_new).then_some(nat)
            },
        )
        .unwrap();
    assert!(
        !nat.contains(&format!("{ipv4}:")),
        "old mapping left:\n{nat}"
    );
}

/// The softwire status once `auto` runs `mechanism` and has gone as far as
/// it can on this kernel (MAP-E: the tunnel tried; DS-Lite: the AFTR
/// resolved and the tunnel tried).
fn auto_runs(router: &Router, mechanism: &str, timeout: Duration) -> Value {
    router
        .wait_status(&format!("auto running {mechanism}"), timeout, |s| {
            let d = &s["daemon_status"]["wan"]["ipv4_over_ipv6"];
            (d["chosen"].as_str()? == mechanism && matches!(d["state"].as_str()?, "up" | "failed"))
                .then(|| d.clone())
        })
        .unwrap()
}

fn show_wan(router: &Router) -> String {
    let out = router.cpectl(&["show", "wan"]).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn auto_picks_map_e_over_an_aftr_and_follows_option_94_coming_and_going() {
    let lab = Lab::new("mapeauto").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let v4 = Ipv4Addr::new(203, 0, 113, 0);
    let kea_opts = KeaOptions {
        map_e: Some(rule(plan::PD_POOL, v4)),
        aftr_name: Some("aftr.test".into()),
        timers: LeaseTimers::SHORT,
        ..KeaOptions::default()
    };
    let mut dns = UnboundOptions::upstream_a();
    dns.extra_records.push(format!("aftr IN AAAA {ISP_ADDR}"));
    let isp = topo
        .start_isp(&IspOptions {
            kea: Some(kea_opts.clone()),
            dns: vec![dns],
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    let base = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let config = format!("{base}\n[wan.ipv4_over_ipv6]\nmode = \"auto\"\n");
    let router = Router::start(&topo.router, &config).unwrap();

    // Both offered: the rule maps the prefix, so MAP-E, as in map-e mode.
    let d = auto_runs(&router, "map-e", Duration::from_secs(40));
    assert_eq!(d["mode"], "auto", "{d}");
    let delegated: Ipv6Net = d["delegated"].as_str().unwrap().parse().unwrap();
    let (ipv4, psid, snat) = expected(delegated, v4);
    assert_eq!(
        d["choice"],
        format!("auto: the MAP-E rule of option 94 maps the delegated prefix {delegated}"),
        "{d}"
    );
    assert_eq!(
        (d["rule_source"].as_str(), d["br"].as_str()),
        (Some("dhcpv6"), Some(&*BR.to_string()))
    );
    assert_eq!(d["map_ipv4"], ipv4.to_string(), "{d}");
    assert_eq!(d["psid"], psid, "{d}");
    let nat = router
        .wait_status("the MAP-E SNAT", Duration::from_secs(10), |_| {
            let nat = postrouting(&topo.router);
            nat.contains(&snat).then_some(nat)
        })
        .unwrap();
    assert_eq!(nat.matches("snat ip to ").count(), 3 * 63, "{nat}");
    let show = show_wan(&router);
    assert!(
        show.contains("      auto -> map-e: the MAP-E rule of option 94"),
        "{show}"
    );
    eprintln!("cpectl show wan (auto, both offered):\n{show}");

    // The ISP stops sending option 94: the next Reply (Rebind: Kea's
    // reload changes its DUID) has only the AFTR name.
    let kea = isp.kea.as_ref().unwrap();
    let aftr_only = KeaOptions {
        map_e: None,
        ..kea_opts.clone()
    };
    kea.reload(&aftr_only).unwrap();
    let d = auto_runs(&router, "dslite", Duration::from_secs(30));
    assert_eq!(
        d["choice"], "auto: AFTR-Name aftr.test (option 64), no MAP-E rule (option 94)",
        "{d}"
    );
    assert_eq!(d["aftr_address"], ISP_ADDR.to_string(), "{d}");
    assert!(d.get("map_ipv4").is_none(), "{d}");
    let nat = router
        .wait_status("the MAP-E SNAT gone", Duration::from_secs(10), |_| {
            let nat = postrouting(&topo.router);
            (!nat.contains("snat ip to")).then_some(nat)
        })
        .unwrap();
    assert!(nat.contains("masquerade"), "{nat}");
    let show = show_wan(&router);
    assert!(
        show.contains("      auto -> dslite: AFTR-Name aftr.test (option 64)"),
        "{show}"
    );
    assert!(show.contains("      ds-lite "), "{show}");
    eprintln!("cpectl show wan (auto, AFTR only):\n{show}");

    // Option 94 is back: MAP-E again, with its SNAT.
    kea.reload(&kea_opts).unwrap();
    let d = auto_runs(&router, "map-e", Duration::from_secs(30));
    let delegated: Ipv6Net = d["delegated"].as_str().unwrap().parse().unwrap();
    let (_, _, snat) = expected(delegated, v4);
    router
        .wait_status("the MAP-E SNAT back", Duration::from_secs(10), |_| {
            postrouting(&topo.router).contains(&snat).then_some(())
        })
        .unwrap();
}
