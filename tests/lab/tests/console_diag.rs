//! `cpectl diag` in the standard lab (issue 14): the ISP (radvd, Kea,
//! Unbound A and B) on a WAN link of MTU 1454, the router with
//! config/default.toml and `wan.mtu = 1454`, and a LAN host. The probes
//! must find the ISP's router, both DNS upstreams answering, a Path MTU of
//! 1454 and the host among the LAN's neighbours; behind an ISP that drops
//! packets over 1400 bytes, a Path MTU of 1400; with the ISP's DNS
//! stopped, the DNS probes fail and the exit code says so.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::{Duration, Instant};

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{IspOptions, Lab, Netns, TopologyOptions, plan};
use serde_json::Value;

const BRING_UP: Duration = Duration::from_secs(20);

/// `cpectl diag ARGS` run inside the router's namespace, as on the device:
/// exit code, stdout, and how long it took (stderr is printed).
fn diag(ns: &Netns, router: &Router, args: &[&str]) -> (Option<i32>, String, Duration) {
    // The console's link next to the config (made by the first cpectl call).
    router.cpectl(&["status"]).unwrap();
    let cpectl = router.config.with_file_name("cpectl");
    let socket = router.socket.display().to_string();
    let mut argv = vec![cpectl.to_str().unwrap(), "--socket", &socket, "diag"];
    argv.extend_from_slice(args);
    let start = Instant::now();
    let out = ns.exec(&argv).unwrap();
    let took = start.elapsed();
    if !out.stderr.is_empty() {
        eprintln!("cpectl diag stderr: {}", out.stderr);
    }
    (out.status.code(), out.stdout, took)
}

fn probe<'a>(j: &'a Value, kind: &str, target: &str) -> &'a Value {
    j["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["probe"] == kind && p["target"] == target)
        .unwrap_or_else(|| panic!("no {kind} probe of {target}: {j:#}"))
}

/// Failed before: there was no `diag` command (usage error, exit 64).
#[test]
fn diag_finds_the_isp_router_dns_path_mtu_and_the_lan_host_then_a_dead_dns() {
    let lab = Lab::new("diag").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    topo.isp
        .ip(&["link", "set", plan::ISP_IF, "mtu", "1454"])
        .unwrap();
    let mut isp = topo.start_isp(&IspOptions::default()).unwrap();
    let default = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let source = default.replacen("[wan]\n", "[wan]\nmtu = 1454\n", 1);
    assert_ne!(source, default);
    let router = Router::start(&topo.router, &source).unwrap();
    router
        .wait_status(
            "the WAN up with DNS upstreams and a LAN prefix",
            BRING_UP,
            |s| {
                (s["wan"]["state"] == "up"
                    && s["upstream_dns"].as_array().is_some_and(|a| a.len() == 2)
                    && s["wan"]["delegated_prefixes"][0]["prefix"].is_string())
                .then_some(())
            },
        )
        .unwrap();
    // The host talks to the router, so the router's caches know it.
    let router_ll = format!("{}%{}", plan::BRIDGE_LINK_LOCAL, plan::HOST_IF);
    topo.host
        .exec_ok(&["ping", "-6", "-c", "1", "-W", "2", &router_ll])
        .unwrap();

    let (code, text, took) = diag(&topo.router, &router, &[]);
    eprintln!("{text}took {took:?}");
    assert_eq!(code, Some(0), "{text}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    for line in text.lines() {
        assert!(line.len() <= 80, "wider than 80 columns: {line}");
    }
    let isp_router = format!("{}%{}", plan::ISP_LINK_LOCAL, plan::WAN_IF);
    assert!(
        text.contains(&format!("ok    ping6 {isp_router}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("ok    pmtu  {isp_router}")) && text.contains("1454 bytes"),
        "{text}"
    );
    for dns in [plan::DNS_A, plan::DNS_B] {
        assert!(text.contains(&format!("ok    dns   {dns}")), "{text}");
    }
    assert!(text.contains(&plan::HOST_LINK_LOCAL.to_string()), "{text}");
    assert!(text.contains(plan::HOST_MAC), "{text}");

    let (code, json, _) = diag(
        &topo.router,
        &router,
        &["--json", "--target", &plan::DNS_A.to_string()],
    );
    assert_eq!(code, Some(0), "{json}");
    let j: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(probe(&j, "pmtu", &plan::DNS_A.to_string())["mtu"], 1454);
    assert_eq!(probe(&j, "ping", &plan::DNS_A.to_string())["result"], "ok");
    assert_eq!(probe(&j, "ping4", "gateway")["result"], "skip");
    let host = &j["lan_hosts"][0];
    assert_eq!(host["interface"], plan::BRIDGE_IF);
    assert_eq!(host["mac"], plan::HOST_MAC);

    // A smaller hop on the path: the ISP drops IPv6 packets over 1400
    // bytes. The search finds it (1454 lost, 1280 back, then halving).
    for cmd in [
        "add table ip6 diag",
        "add chain ip6 diag input { type filter hook input priority -300 ; }",
        "add rule ip6 diag input meta length > 1400 drop",
    ] {
        topo.isp.exec_ok(&["nft", cmd]).unwrap();
    }
    let isp_addr = plan::ISP_ADDR.to_string();
    let (code, json, took) = diag(&topo.router, &router, &["--json", "--target", &isp_addr]);
    eprintln!("{json}took {took:?}");
    assert_eq!(code, Some(0), "{json}");
    let j: Value = serde_json::from_str(&json).unwrap();
    let pmtu = probe(&j, "pmtu", &isp_addr);
    assert_eq!(pmtu["mtu"], 1400, "{pmtu}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    topo.isp
        .exec_ok(&["nft", "delete", "table", "ip6", "diag"])
        .unwrap();

    // The ISP's DNS dies: the probes say so, exit 1, still within bounds.
    isp.dns.clear();
    let (code, text, took) = diag(&topo.router, &router, &["--timeout", "500"]);
    eprintln!("{text}took {took:?}");
    assert_eq!(code, Some(1), "{text}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    for dns in [plan::DNS_A, plan::DNS_B] {
        assert!(text.contains(&format!("FAIL  dns   {dns}")), "{text}");
    }
    assert!(
        text.contains(&format!("ok    ping6 {isp_router}")),
        "{text}"
    );
    // Usage errors are 64.
    assert_eq!(
        diag(&topo.router, &router, &["--target", "nope"]).0,
        Some(64)
    );
}
