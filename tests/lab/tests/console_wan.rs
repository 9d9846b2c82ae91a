//! What the console says about the WAN (issue 14), against the standard
//! lab ISP:
//! - the MTU as the ISP sets it: radvd advertises an MTU option, the WAN
//!   applies it to IPv6 and publishes it, the LAN RA (`lan.ra.mtu =
//!   "auto"`, config/default.toml) follows, and the console shows it. Read
//!   back with independent tools: `rdisc6` on the LAN host and the
//!   kernel's own `net.ipv6.conf.wan0.mtu`;
//! - a delegation inside a configured carrier-closed range
//!   (`wan.closed_prefixes`): one warning in the log, a `!` line on
//!   `status`, a finding on `why`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::Duration;

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Check, IspOptions, KeaOptions, Lab, LeaseTimers, Radvd, RadvdOptions, TopologyOptions, plan,
    wait_for,
};

const BRING_UP: Duration = Duration::from_secs(20);

/// The MTU in the LAN RA, once it is `want`.
fn lan_ra_mtu(host: &cpe_lab::Netns, want: u32) -> u32 {
    wait_for(&format!("a LAN RA with MTU {want}"), BRING_UP, || {
        let ra = host.rdisc6(plan::HOST_IF)?;
        Ok(match ra.mtu {
            Some(m) if m == want => Check::Ready(m),
            _ => Check::NotYet(format!("{ra:?}")),
        })
    })
    .unwrap()
}

/// Failed before: the WAN published its link MTU only and the LAN RA said
/// 1500 while the ISP said 1454 (issue 14's table).
#[test]
fn the_lan_ra_mtu_follows_the_isp_ra_mtu_and_the_console_shows_it() {
    let lab = Lab::new("wan_mtu").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let mut radvd = RadvdOptions::isp();
    radvd.mtu = Some(1454);
    let mut isp = topo
        .start_isp(&IspOptions {
            radvd: Some(radvd.clone()),
            dns: vec![],
            ..IspOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();

    router
        .wait_status("WAN IPv6 MTU 1454", BRING_UP, |s| {
            (s["wan"]["ipv6_mtu"] == 1454 && s["wan"]["mtu"] == 1500).then_some(())
        })
        .unwrap();
    assert_eq!(lan_ra_mtu(&topo.host, 1454), 1454);
    // The value published is the one the kernel applies.
    assert_eq!(
        topo.router.sysctl_get("net.ipv6.conf.wan0.mtu").unwrap(),
        "1454"
    );
    let out = router.cpectl(&["status"]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    eprintln!("{text}");
    assert!(text.contains("  mtu 1500 v6 1454\n"), "{text}");

    // The ISP lowers it: the LAN follows.
    drop(isp.radvd.take());
    radvd.mtu = Some(1400);
    isp.radvd = Some(Radvd::start(&topo.isp, &radvd).unwrap());
    assert_eq!(lan_ra_mtu(&topo.host, 1400), 1400);
    let out = router.cpectl(&["show", "wan"]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  mtu 1500 v6 1400\n"), "{text}");
    assert!(
        router
            .supervisor
            .log_tail(400)
            .contains("wan0: IPv6 MTU 1400 from the ISP's RA (link MTU 1500)"),
        "{}",
        router.supervisor.log_tail(80)
    );
}

/// The lab's Kea delegates from 2001:db8::/32; listed as closed, the
/// delegation is warned about once (not again on the Renews every 2 s),
/// and `why` exits 1 naming the range. On main the
/// key did not exist (the config was refused: unknown key).
#[test]
fn a_delegation_in_a_configured_closed_range_is_warned_once_and_explained() {
    let lab = Lab::new("wan_closed").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _isp = topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions {
                timers: LeaseTimers::SHORT,
                ..KeaOptions::default()
            }),
            dns: vec![],
            ..IspOptions::default()
        })
        .unwrap();
    let default = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let source = default.replacen(
        "[wan]\n",
        "[wan]\nclosed_prefixes = [\"2001:db8::/32\"]\n",
        1,
    );
    assert_ne!(source, default);
    let router = Router::start(&topo.router, &source).unwrap();
    let prefix = router
        .wait_status("a delegated prefix", BRING_UP, |s| {
            s["wan"]["delegated_prefixes"][0]["prefix"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap();
    let finding = format!(
        "delegated {prefix} is inside 2001:db8::/32, a closed-network range \
         (wan.closed_prefixes): LAN clients numbered from it reach the carrier's own \
         services but not the Internet"
    );
    let out = router.cpectl(&["why"]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&finding), "{text}");
    let out = router.cpectl(&["status"]).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    eprintln!("{text}");
    assert!(
        text.contains(&format!(
            "      ! delegated {prefix} is inside 2001:db8::/32"
        )),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() <= 80), "{text}");
    // Past two Renews, still one warning.
    std::thread::sleep(Duration::from_secs(5));
    let log = router.supervisor.log_tail(2000);
    assert_eq!(log.matches(&finding).count(), 1, "{log}");
}
