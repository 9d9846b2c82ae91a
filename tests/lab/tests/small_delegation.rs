//! RFC 7084 WPD-3: a delegation smaller than the config planned for (a /64
//! where `subnet_id = 1` needs a /63 or shorter) still numbers the LAN with
//! the delegation's subnet 0, and the log and the console say why, with
//! the delegated length and what the config asked for. RFC 7084 WPD-8: a
//! /64 the ISP excludes from the delegation (RFC 6603) numbers no LAN.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::Duration;

use cpe_lab::plan::PD_POOL;
use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{KeaOptions, Lab, PdPool, RadvdOptions, TopologyOptions};

#[test]
fn a_64_delegation_numbers_the_lan_and_the_console_explains() {
    let lab = Lab::new("pd_small").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let _kea = topo
        .start_kea_dhcp6(&KeaOptions {
            pd_pool: Some(PdPool {
                prefix: PD_POOL,
                delegated_len: 64,
            }),
            ..KeaOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    assert!(
        source.contains("subnet_id = 1"),
        "the example config plans subnet 1"
    );
    let router = Router::start(&topo.router, &source).unwrap();

    let (delegated, lan) = router
        .wait_status(
            "a /64 delegated and used on the LAN",
            Duration::from_secs(20),
            |s| {
                let d = s["wan"]["delegated_prefixes"][0]["prefix"]
                    .as_str()?
                    .to_string();
                let lan = &s["lan"][0];
                lan["prefixes"]
                    .as_array()?
                    .iter()
                    .any(|p| p["origin"] == "delegated" && p["prefix"] == d.as_str())
                    .then(|| (d, lan.clone()))
            },
        )
        .unwrap();
    assert!(delegated.ends_with("/64"), "{delegated}");
    let problem = lan["problems"][0].as_str().unwrap_or_default();
    assert!(
        problem.contains(&delegated)
            && problem.contains("subnet 1")
            && problem.contains("numbered with subnet 0"),
        "the LAN says why: {lan}"
    );
    let out = router.cpectl(&["status"]).unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    let words = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("! delegated") && words.contains("numbered with subnet 0 instead"),
        "the console explains: {screen}"
    );
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    let log = router.supervisor.log_tail(300);
    assert!(
        log.lines()
            .any(|l| l.contains("error") && l.contains("has no subnet 1")),
        "logged as an error:\n{log}"
    );
}

/// RFC 7084 WPD-8 / RFC 6603 against the real Kea: its pd-pool excludes
/// subnet 1 of every delegated /56 (as an ISP does with the /64 of its link
/// to the router). The client asks for option 67, Kea sends it, and the LAN
/// that `config/default.toml` puts on subnet 1 is numbered with subnet 0
/// instead; the log and the status say why. Failed before: Kea sent no
/// Prefix Exclude (not requested) and the LAN took the excluded /64.
#[test]
fn a_prefix_the_isp_excludes_numbers_no_lan_and_the_log_says_why() {
    let lab = Lab::new("pd_exclude").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let first = ipnet::Ipv6Net::new(PD_POOL.network(), 56).unwrap();
    let excluded_in_first = subnet64(first, 1).unwrap();
    let _kea = topo
        .start_kea_dhcp6(&KeaOptions {
            pd_excluded: Some(excluded_in_first),
            ..KeaOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();

    let (delegated, lan) = router
        .wait_status(
            "a /56 delegated and a /64 of it on the LAN",
            Duration::from_secs(20),
            |s| {
                let d: ipnet::Ipv6Net = s["wan"]["delegated_prefixes"][0]["prefix"]
                    .as_str()?
                    .parse()
                    .ok()?;
                let lan: ipnet::Ipv6Net = s["lan"][0]["prefixes"]
                    .as_array()?
                    .iter()
                    .find(|p| p["origin"] == "delegated")?["prefix"]
                    .as_str()?
                    .parse()
                    .ok()?;
                Some((d, lan))
            },
        )
        .unwrap();
    let excluded = subnet64(delegated, 1).unwrap();
    assert_eq!(
        lan,
        subnet64(delegated, 0).unwrap(),
        "the LAN skips the excluded {excluded}"
    );
    let status = router.status().unwrap();
    let problem = status["lan"][0]["problems"][0].as_str().unwrap_or_default();
    assert!(
        problem.contains(&excluded.to_string())
            && problem.contains("RFC 6603")
            && problem.contains("numbered with subnet 0 instead"),
        "the LAN says why: {}",
        status["lan"][0]
    );
    let log = router.supervisor.log_tail(300);
    assert!(
        log.lines().any(|l| l.contains(&format!(
            "{excluded} excluded by the server (RFC 6603 Prefix Exclude)"
        ))),
        "dhcp6c logs the exclusion:\n{log}"
    );
}

/// The `id`-th /64 of `prefix`.
fn subnet64(prefix: ipnet::Ipv6Net, id: u128) -> Option<ipnet::Ipv6Net> {
    let base = u128::from(prefix.network()) | (id << 64);
    ipnet::Ipv6Net::new(base.into(), 64).ok()
}
