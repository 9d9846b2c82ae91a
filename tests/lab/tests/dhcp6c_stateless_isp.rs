//! An ISP whose DHCPv6 server is stateless only (RA M=0 O=1, dnsmasq with a
//! `static` range: it answers every Solicit with NoAddrsAvail). The router
//! must still learn the ISP's DNS servers by Information-request, name the
//! server's refusal with its status code, and keep asking for a prefix.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::Duration;

use cpe_lab::plan::DNS_A;
use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{Dnsmasq, DnsmasqOptions, Lab, RadvdOptions, TopologyOptions};

#[test]
fn stateless_only_isp_gives_dns_by_information_request() {
    let lab = Lab::new("pd_stateless").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    // No RDNSS in the RA: DNS can only come from DHCPv6.
    let _radvd = topo
        .start_radvd_isp(&RadvdOptions {
            managed: false,
            other: true,
            ..RadvdOptions::isp()
        })
        .unwrap();
    let mut opts = DnsmasqOptions::forwarder(Vec::new(), Vec::new());
    opts.label = "isp-dnsmasq".into();
    opts.port = 0;
    opts.dhcpv6_stateless_on = Some(cpe_lab::plan::ISP_IF.to_string());
    opts.extra = vec![
        format!("dhcp-option=option6:dns-server,[{DNS_A}]"),
        "dhcp-option=option6:domain-search,isp.example".into(),
    ];
    let _dnsmasq = Dnsmasq::start(&topo.isp, &opts).unwrap();

    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();

    // The ISP's DNS server reaches the forwarder's upstream list.
    let wan = router
        .wait_status(
            "DNS from the stateless server",
            Duration::from_secs(20),
            |s| {
                let dns = s["wan"]["dns_servers"].as_array()?;
                dns.iter()
                    .any(|d| d.as_str() == Some(&DNS_A.to_string()))
                    .then(|| s["wan"].clone())
            },
        )
        .unwrap();
    assert!(
        wan["delegated_prefixes"].as_array().unwrap().is_empty(),
        "dnsmasq delegates nothing: {wan}"
    );

    // The client's status follows its facts within the runner's status
    // cadence (at most one publication a second), so read it until it has
    // caught up, for a few seconds at most.
    let show = || {
        let out = router.cpectl(&["show", "dhcp6c", "--json"]).unwrap();
        assert!(out.status.success(), "{out:?}");
        let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if d["state"].is_null() {
            d["status"].clone()
        } else {
            d
        }
    };
    let mut d = show();
    for _ in 0..30 {
        if !d["other_config"].is_null() && !d["refusal"].is_null() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        d = show();
    }
    assert_eq!(
        d["other_config"]["dns_servers"][0].as_str(),
        Some(DNS_A.to_string().as_str()),
        "{d}"
    );
    assert_eq!(d["other_config"]["domains"][0], "isp.example", "{d}");
    // The refusal is named with the server's own status code.
    let status = d["refusal"]["status"].as_str().unwrap_or_default();
    assert!(
        ["NoAddrsAvail", "NoPrefixAvail"].contains(&status),
        "the refusal is shown with its status code: {d}"
    );
    // Still looking for a prefix on the RFC timers.
    assert_eq!(d["state"], "soliciting", "{d}");

    let log = router.supervisor.log_tail(400);
    assert!(
        log.contains("refuses") && log.contains(status),
        "the refusal is logged with its status code:\n{log}"
    );
    assert!(
        log.contains("stateless DHCPv6 from server"),
        "the learned configuration is logged:\n{log}"
    );
}
