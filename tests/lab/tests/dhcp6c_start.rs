//! When the DHCPv6 client starts on an IPoE WAN: by default only once the
//! ISP's RA announces DHCPv6 (M or O), with `wan.dhcpv6.start = "always"`
//! as soon as the link has carrier. The ISP here sends RAs with M=0 O=0
//! but still delegates prefixes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::Duration;

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{KeaOptions, Lab, RadvdOptions, TopologyOptions};

fn run(start: Option<&str>) -> (serde_json::Value, Router, Lab) {
    let lab = Lab::new("pd_start").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo
        .start_radvd_isp(&RadvdOptions {
            managed: false,
            other: false,
            ..RadvdOptions::isp()
        })
        .unwrap();
    let _kea = topo.start_kea_dhcp6(&KeaOptions::default()).unwrap();
    let mut source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    if let Some(start) = start {
        source = source.replacen(
            "[wan.dhcpv6]",
            &format!("[wan.dhcpv6]\nstart = \"{start}\""),
            1,
        );
    }
    let router = Router::start(&topo.router, &source).unwrap();
    // The WAN comes up from the RA either way.
    router
        .wait_status("WAN up", Duration::from_secs(10), |s| {
            (s["wan"]["state"] == "up" && s["wan"]["ra_managed"] == false).then_some(())
        })
        .unwrap();
    let status = router
        .wait_status(
            "a prefix, or 4 s without one",
            Duration::from_secs(4),
            |s| {
                s["wan"]["delegated_prefixes"][0]["prefix"]
                    .is_string()
                    .then(|| s.clone())
            },
        )
        .unwrap_or_else(|_| router.status().unwrap());
    drop(_kea);
    drop(_radvd);
    drop(topo);
    (status, router, lab)
}

#[test]
fn start_waits_for_m_or_o_by_default_and_not_with_always() {
    let (status, _r, _lab) = run(None);
    assert!(
        status["wan"]["delegated_prefixes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the RA says no DHCPv6 (M=0 O=0): the default must not ask: {}",
        status["wan"]
    );
    assert_eq!(
        status["wan"]["dhcpv6"]["state"], "idle",
        "{}",
        status["wan"]
    );

    let (status, _r, _lab) = run(Some("always"));
    let prefix = status["wan"]["delegated_prefixes"][0]["prefix"]
        .as_str()
        .unwrap_or_else(|| panic!("start = always must get a prefix: {}", status["wan"]));
    assert!(prefix.ends_with("/56"), "{prefix}");
}
