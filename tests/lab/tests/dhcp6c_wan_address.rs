//! RFC 7084 W-1 / WAA-6: the IA_NA address the ISP leases is put on the WAN
//! (some ISPs route the delegated prefix to it), as a /128 with the lease's
//! lifetimes and DAD; an address another node already uses fails DAD, is
//! declined to the server (RFC 8415 18.2.8) and replaced by a new one at
//! the next Renew. Kea 2.2 is the ISP's server; DAD runs as on a real
//! router.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::Ipv6Addr;
use std::time::Duration;

use cpe_lab::plan::{ISP_IF, NA_POOL_START, WAN_IF};
use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{Dad, KeaOptions, Lab, LeaseTimers, RadvdOptions, TopologyOptions};
use ipnet::{IpNet, Ipv6Net};

#[test]
fn ia_na_address_is_on_the_wan_and_a_duplicate_is_declined() {
    let lab = Lab::new("wan_ia_na").unwrap();
    let topo = lab
        .ipoe(&TopologyOptions {
            dad: Dad::On,
            ..TopologyOptions::default()
        })
        .unwrap();
    // Another node on the access link already uses the first pool address,
    // the one Kea's iterative allocator hands out first.
    topo.isp
        .add_address(ISP_IF, IpNet::V6(Ipv6Net::new(NA_POOL_START, 128).unwrap()))
        .unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let _kea = topo
        .start_kea_dhcp6(&KeaOptions {
            timers: LeaseTimers {
                renew: 5,
                rebind: 8,
                preferred: 600,
                valid: 1200,
            },
            ..KeaOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();

    // A usable IA_NA address other than the duplicate ends up on wan0.
    let (addr, d) = router
        .wait_status(
            "an IA_NA address on wan0 with DAD done",
            Duration::from_secs(40),
            |s| {
                let d = &s["daemon_status"]["dhcp6c"];
                let a = d["wan_addresses"]
                    .as_array()?
                    .iter()
                    .find(|a| a["dad"] == "done")?["address"]
                    .as_str()?
                    .parse::<Ipv6Addr>()
                    .ok()?;
                Some((a, d.clone()))
            },
        )
        .unwrap();
    assert_ne!(addr, NA_POOL_START, "the duplicate is never used: {d}");
    assert!(
        d["counters"]["declined"].as_u64() >= Some(1),
        "declined: {d}"
    );
    let on_wan = topo.router.addresses(WAN_IF).unwrap();
    let mine = on_wan
        .iter()
        .find(|a| a.net.addr() == std::net::IpAddr::V6(addr))
        .unwrap_or_else(|| panic!("{addr} not on {WAN_IF}: {on_wan:?}"));
    assert_eq!(mine.net.prefix_len(), 128);
    assert!(!mine.tentative && !mine.dadfailed, "{mine:?}");
    assert!(mine.dynamic, "the lease's lifetimes, not forever: {mine:?}");
    assert!(
        !on_wan
            .iter()
            .any(|a| a.net.addr() == std::net::IpAddr::V6(NA_POOL_START)),
        "the declined address is removed from {WAN_IF}: {on_wan:?}"
    );
    let log = router.supervisor.log_tail(400);
    assert!(
        log.contains("declining it"),
        "the DAD failure is logged:\n{log}"
    );
}
