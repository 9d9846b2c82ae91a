//! The WAN daemon in IPoE mode against the ISP's real radvd (M=1, O=1,
//! RDNSS), in the namespace lab.
//!
//! Needs root and the lab packages. Build the binaries first:
//! `cargo build -p cpe-wan --bin cpe-wan-lab` (standalone test) and
//! `cargo build -p cpe` (supervised test); they are found through
//! `$CPE_WAN_BIN` / `$CPE_BIN`, or next to this test's own executable.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cpe_lab::plan::*;
use cpe_lab::{
    Check, Dad, IpoeTopology, Lab, Netns, Process, RaPrefixOptions, RadvdOptions, TopologyOptions,
    wait_for,
};
use serde_json::Value;

/// A binary of this workspace: `$ENV`, else `target/<profile>/<name>` next
/// to this test executable (`target/<profile>/deps/wan_ipoe-*`).
fn binary(env: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build it first (see this file's header) or set {env}",
        path.display()
    );
    path
}

fn isp_ra() -> RadvdOptions {
    RadvdOptions {
        rdnss: vec![DNS_A],
        ..RadvdOptions::isp()
    }
}

/// Reads the standalone daemon's status file (`{"facts":…, "status":…}`).
fn read_status(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Waits until `pred` holds on the status file's facts; returns the document.
fn wait_facts(path: &Path, what: &str, daemon: &Process, pred: impl Fn(&Value) -> bool) -> Value {
    wait_doc(path, what, daemon, |d| pred(&d["facts"]))
}

/// Waits until `pred` holds on the whole status document (facts + status).
fn wait_doc(path: &Path, what: &str, daemon: &Process, pred: impl Fn(&Value) -> bool) -> Value {
    let r = wait_for(what, Duration::from_secs(15), || {
        Ok(match read_status(path) {
            Some(doc) if pred(&doc) => Check::Ready(doc),
            Some(doc) => Check::NotYet(doc["facts"].to_string()),
            None => Check::NotYet("no status file yet".into()),
        })
    });
    match r {
        Ok(doc) => doc,
        Err(e) => panic!(
            "{e}\nlast status: {}\ndaemon log:\n{}",
            read_status(path).map(|d| d.to_string()).unwrap_or_default(),
            daemon.log_tail(40)
        ),
    }
}

fn start_standalone(topo: &IpoeTopology, status: &Path, extra: &[&str]) -> Process {
    let mut cmd = Command::new(binary("CPE_WAN_BIN", "cpe-wan-lab"));
    cmd.args(["--interface", WAN_IF, "--status-file"])
        .arg(status)
        .args(["--state-dir"])
        .arg(topo.router.lab_dir().join("wan-state"))
        .args(["--log-level", "debug"])
        .args(extra);
    topo.router.spawn("wan", cmd).unwrap()
}

fn sysctl(ns: &Netns, key: &str) -> String {
    ns.sysctl_get(key).unwrap()
}

#[test]
fn wan_ipoe_comes_up_from_the_isp_ra_and_reports_router_lifetime_zero() {
    let lab = Lab::new("wan_ipoe").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let r = &topo.router;
    // Undo what the lab prepared, so the daemon has to do it.
    r.sysctl_set("net.ipv6.conf.wan0.accept_ra", "0").unwrap();
    r.sysctl_set("net.ipv6.conf.wan0.accept_ra_defrtr", "0")
        .unwrap();
    r.sysctl_set("net.ipv6.conf.all.forwarding", "0").unwrap();
    r.sysctl_set("net.ipv4.ip_forward", "0").unwrap();
    r.link_down(WAN_IF).unwrap();

    let status = r.unique_path("wan-status", "json");
    let mut radvd = topo.start_radvd_isp(&isp_ra()).unwrap();
    let started = Instant::now();
    let daemon = start_standalone(&topo, &status, &["--no-ipv4", "--mtu", "1480"]);

    // Up, and our raw socket saw the RA behind the route (it is opened
    // before the link comes up, so the answer to the kernel's own RS counts).
    let doc = wait_facts(&status, "WAN up", &daemon, |f| {
        f["state"] == "up" && f["ra_router_lifetime"] == 1800
    });
    let took = started.elapsed();
    let f = &doc["facts"];
    eprintln!(
        "WAN up {} ms after start: {}",
        took.as_millis(),
        f["reason"]
    );
    assert_eq!(f["mode"], "ipoe");
    assert_eq!(f["interface"], WAN_IF);
    assert_eq!(f["carrier"], true);
    assert_eq!(f["default_router_v6"], ISP_LINK_LOCAL.to_string());
    assert_eq!(f["ra_managed"], true);
    assert_eq!(f["ra_other_config"], true);
    assert_eq!(f["ra_router_lifetime"], 1800);
    assert_eq!(f["mtu"], 1480);
    assert_eq!(
        f["reason"],
        format!("default route via {ISP_LINK_LOCAL} on wan0 (router lifetime 1800 s)")
    );
    let dns: Vec<&str> = f["dns_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(dns, [DNS_A.to_string()]);
    // SLAAC from the ISP's PIO shows up as a WAN address (kernel-made).
    let doc = wait_facts(&status, "SLAAC address", &daemon, |f| {
        f["addresses"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| *x == format!("{WAN_SLAAC_ADDR}/64")))
    });
    assert!(
        doc["facts"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| *x == format!("{WAN_LINK_LOCAL}/64"))
    );
    // The daemon set what a router's WAN needs.
    assert_eq!(sysctl(r, "net.ipv6.conf.wan0.accept_ra"), "2");
    assert_eq!(sysctl(r, "net.ipv6.conf.wan0.accept_ra_defrtr"), "1");
    // Forwarding is the firewall's to switch on, after its first commit;
    // the WAN comes up (RA honoured, accept_ra=2) with forwarding off.
    assert_eq!(sysctl(r, "net.ipv6.conf.all.forwarding"), "0");
    assert_eq!(sysctl(r, "net.ipv4.ip_forward"), "0");
    // Status extras: the RA as seen, and that we solicited.
    let st = &doc["status"];
    assert_eq!(st["last_ra"]["from"], ISP_LINK_LOCAL.to_string());
    assert!(st["counters"]["rs_sent"].as_u64().unwrap() >= 1, "{st}");
    assert!(st["counters"]["ra_accepted"].as_u64().unwrap() >= 1);
    assert_eq!(st["link"]["mac"], WAN_MAC);

    // The ISP stops being a default router: radvd restarted with lifetime 0.
    radvd.process.stop();
    radvd = topo
        .start_radvd_isp(&RadvdOptions {
            router_lifetime: 0,
            ..isp_ra()
        })
        .unwrap();
    let doc = wait_facts(&status, "no default route", &daemon, |f| {
        f["state"] == "connecting" && f["default_router_v6"].is_null()
    });
    let f = &doc["facts"];
    assert_eq!(f["ra_router_lifetime"], 0);
    assert_eq!(
        f["reason"],
        format!("no default route: ISP router lifetime 0 (RA from {ISP_LINK_LOCAL})")
    );
    // The kernel agrees: no IPv6 default route on the router.
    let routes = r
        .exec_ok(&["ip", "-6", "route", "show", "default"])
        .unwrap();
    assert!(routes.stdout.trim().is_empty(), "{}", routes.stdout);

    // Carrier loss on the ISP side is reported as such, and recovery
    // solicits again.
    topo.isp.link_down(ISP_IF).unwrap();
    let doc = wait_facts(&status, "no carrier", &daemon, |f| f["state"] == "down");
    assert_eq!(doc["facts"]["reason"], "no carrier on wan0");
    assert_eq!(doc["facts"]["carrier"], false);
    let rs_before = doc["status"]["counters"]["rs_sent"].as_u64().unwrap();
    topo.isp.link_up(ISP_IF).unwrap();
    let doc = wait_facts(&status, "carrier back, RA again", &daemon, |f| {
        f["carrier"] == true
            && f["reason"]
                .as_str()
                .unwrap_or("")
                .contains("router lifetime 0")
    });
    assert!(doc["status"]["counters"]["rs_sent"].as_u64().unwrap() > rs_before);
    drop(radvd);
    assert!(daemon.is_running(), "{}", daemon.log_tail(20));
    let log = daemon.log_text();
    assert!(
        !log.contains("::ffff:"),
        "IPv4 shown as mapped IPv6 in the log"
    );
}

/// With DAD on, as on a real router: the link-local address is tentative
/// for a while after link-up; our Router Solicitation waits for it (it has
/// no source address before) and the WAN still comes up.
#[test]
fn wan_ipoe_comes_up_with_dad_on() {
    let lab = Lab::new("wan_dad").unwrap();
    let topo = lab
        .ipoe(&TopologyOptions {
            dad: Dad::On,
            ..TopologyOptions::default()
        })
        .unwrap();
    topo.router.link_down(WAN_IF).unwrap();
    let _radvd = topo.start_radvd_isp(&isp_ra()).unwrap();
    let status = topo.router.unique_path("wan-status", "json");
    let started = Instant::now();
    let daemon = start_standalone(&topo, &status, &["--no-ipv4"]);
    let doc = wait_facts(&status, "WAN up with DAD", &daemon, |f| {
        f["state"] == "up" && f["ra_router_lifetime"] == 1800
    });
    eprintln!(
        "WAN up with DAD on {} ms after start",
        started.elapsed().as_millis()
    );
    assert_eq!(
        doc["facts"]["default_router_v6"],
        ISP_LINK_LOCAL.to_string()
    );
    let log = daemon.log_text();
    assert!(
        !log.contains("Router Solicitation on wan0: "),
        "an RS failed (sent before the link-local was usable?):\n{log}"
    );
}

/// RFC 7084 WAA-2 (RFC 5942 section 4): an ISP prefix announced with L=0
/// gives the WAN its SLAAC address, but the prefix is not taken as on-link:
/// no route for it on wan0, so the rest of the ISP's /64 is reached through
/// the default router, as the ISP asked.
#[test]
fn wan_ipoe_off_link_prefix_gives_an_address_but_no_on_link_route() {
    let lab = Lab::new("wan_offlink").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    topo.router.link_down(WAN_IF).unwrap();
    let _radvd = topo
        .start_radvd_isp(&RadvdOptions {
            prefixes: vec![RaPrefixOptions {
                on_link: false,
                ..RaPrefixOptions::slaac(ISP_LINK_PREFIX)
            }],
            ..isp_ra()
        })
        .unwrap();
    let status = topo.router.unique_path("wan-status", "json");
    let daemon = start_standalone(&topo, &status, &["--no-ipv4"]);
    let doc = wait_facts(&status, "WAN up with a SLAAC address", &daemon, |f| {
        f["state"] == "up"
            && f["addresses"].as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|x| x.starts_with(&format!("{WAN_SLAAC_ADDR}/")))
                })
            })
    });
    assert_eq!(
        doc["facts"]["default_router_v6"],
        ISP_LINK_LOCAL.to_string()
    );
    let prefix = ISP_LINK_PREFIX.to_string();
    let routes = topo
        .router
        .exec_ok(&["ip", "-6", "route", "show", "exact", &prefix])
        .unwrap();
    assert!(
        routes.stdout.trim().is_empty(),
        "L=0, yet {prefix} is on-link: {}",
        routes.stdout
    );
    let get = topo
        .router
        .exec_ok(&["ip", "-6", "route", "get", &ISP_ADDR.to_string()])
        .unwrap();
    assert!(
        get.stdout.contains(&format!("via {ISP_LINK_LOCAL}")),
        "{ISP_ADDR} is not reached through the default router: {}",
        get.stdout
    );
}

#[test]
fn wan_ipoe_waits_for_a_missing_interface_and_reports_it() {
    let lab = Lab::new("wan_missing").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let status = topo.router.unique_path("wan-status", "json");
    let mut cmd = Command::new(binary("CPE_WAN_BIN", "cpe-wan-lab"));
    cmd.args(["--interface", "wan9", "--no-ipv4", "--status-file"])
        .arg(&status);
    let daemon = topo.router.spawn("wan", cmd).unwrap();
    let doc = wait_facts(&status, "missing link reported", &daemon, |f| {
        f["state"] == "down"
    });
    assert_eq!(doc["facts"]["reason"], "wan9 does not exist");
    // The interface appears (a USB modem, a late driver): the daemon takes it.
    topo.router
        .ip(&[
            "link", "add", "wan9", "type", "veth", "peer", "name", "wan9p",
        ])
        .unwrap();
    topo.router.link_up("wan9p").unwrap();
    let doc = wait_facts(&status, "link adopted", &daemon, |f| f["carrier"] == true);
    assert_eq!(doc["facts"]["state"], "connecting");
    assert_eq!(
        doc["facts"]["reason"],
        "waiting for a Router Advertisement on wan9"
    );
    assert_eq!(
        topo.router
            .sysctl_get("net.ipv6.conf.wan9.accept_ra")
            .unwrap(),
        "2"
    );
}

/// Through the real supervisor: `cpe run` + `cpectl status --json`.
#[test]
fn wan_ipoe_status_through_the_supervisor() {
    let lab = Lab::new("wan_supervised").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let radvd = topo.start_radvd_isp(&isp_ra()).unwrap();
    let dir = topo.router.lab_dir().join("cpe");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("cpe.toml");
    std::fs::write(
        &config,
        format!(
            "[system]\nstate_dir = \"{d}/state\"\nrun_dir = \"{d}/run\"\nlog_level = \"debug\"\n\
             [wan]\ninterface = \"wan0\"\nipv4 = false\n[wan.dhcpv6]\nenabled = false\n\
             [[lan]]\ninterface = \"br0\"\n[dns]\nenabled = false\n[firewall]\nenabled = false\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let cpe = binary("CPE_BIN", "cpe");
    let mut cmd = Command::new(&cpe);
    cmd.args(["run", "--config"]).arg(&config);
    let sup = topo.router.spawn("cpe", cmd).unwrap();
    let socket = dir.join("run/cpe.sock");
    let status = || -> Option<Value> {
        let out = topo
            .router
            .exec(&[
                cpe.to_str().unwrap(),
                "ctl",
                "--socket",
                socket.to_str().unwrap(),
                "status",
                "--json",
            ])
            .ok()?;
        serde_json::from_str(&out.stdout).ok()
    };
    let wait_wan = |what: &str, pred: &dyn Fn(&Value) -> bool| -> Value {
        wait_for(what, Duration::from_secs(20), || {
            Ok(match status() {
                Some(d) if pred(&d["wan"]) => Check::Ready(d),
                Some(d) => Check::NotYet(d["wan"].to_string()),
                None => Check::NotYet("no status from cpectl".into()),
            })
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", sup.log_tail(40)))
    };
    let doc = wait_wan("wan up via cpectl", &|w| w["state"] == "up");
    let wan = &doc["wan"];
    assert_eq!(wan["mode"], "ipoe");
    assert_eq!(wan["default_router_v6"], ISP_LINK_LOCAL.to_string());
    assert_eq!(wan["dns_servers"][0], DNS_A.to_string());
    // Facts reach the supervisor at once; the daemon's own status object
    // follows at the runner's cadence (at most one per second).
    let doc = wait_for(
        "the WAN daemon's status with the last RA",
        Duration::from_secs(5),
        || {
            Ok(match status() {
                Some(d) if !d["daemon_status"]["wan"]["last_ra"].is_null() => Check::Ready(d),
                Some(d) => Check::NotYet(d["daemon_status"]["wan"].to_string()),
                None => Check::NotYet("no status from cpectl".into()),
            })
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sup.log_tail(40)));
    let own = &doc["daemon_status"]["wan"];
    assert_eq!(own["last_ra"]["managed"], true);
    assert_eq!(own["last_ra"]["other_config"], true);
    assert_eq!(own["last_ra"]["router_lifetime"], 1800);

    // ISP router lifetime 0: cpectl shows no default route, and why.
    radvd.process.stop();
    let _radvd = topo
        .start_radvd_isp(&RadvdOptions {
            router_lifetime: 0,
            ..isp_ra()
        })
        .unwrap();
    let doc = wait_wan("no default route via cpectl", &|w| {
        w["state"] == "connecting" && w["default_router_v6"].is_null()
    });
    assert_eq!(
        doc["wan"]["reason"],
        format!("no default route: ISP router lifetime 0 (RA from {ISP_LINK_LOCAL})")
    );
}

/// IPv4 on IPoE: our DHCPv4 client against dnsmasq on the ISP side sets the
/// WAN address and default route, reports gateway and DNS, remembers the
/// lease, and asks for the same address after a restart.
#[test]
fn wan_ipoe_dhcpv4_lease_from_dnsmasq() {
    use cpe_lab::{Dnsmasq, DnsmasqOptions};
    let lab = Lab::new("wan_dhcpv4").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo.start_radvd_isp(&isp_ra()).unwrap();
    let mut opts = DnsmasqOptions::forwarder(vec![], vec![]);
    opts.label = "dhcp4".into();
    opts.port = 0;
    opts.extra = vec![
        format!("interface={ISP_IF}"),
        "dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m".into(),
        format!("dhcp-option=option:router,{ISP_ADDR_V4}"),
        format!("dhcp-option=option:dns-server,{DNS_A_V4}"),
        "dhcp-authoritative".into(),
        "log-dhcp".into(),
    ];
    let dnsmasq = Dnsmasq::start(&topo.isp, &opts).unwrap();
    let status = topo.router.unique_path("wan-status", "json");
    let state_dir = topo.router.lab_dir().join("wan-state");
    let daemon = start_standalone(&topo, &status, &[]);

    let has_v4 = |f: &Value| !f["default_router_v4"].is_null();
    let doc = wait_facts(&status, "DHCPv4 lease", &daemon, has_v4);
    let f = &doc["facts"];
    assert_eq!(f["default_router_v4"], ISP_ADDR_V4.to_string());
    let addr = f["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.starts_with("192.0.2."))
        .unwrap_or_else(|| panic!("no IPv4 address in {f}"))
        .to_string();
    assert!(addr.ends_with("/24"), "{addr}");
    assert!(
        f["dns_servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| *d == DNS_A_V4.to_string()),
        "{f}"
    );
    assert_eq!(doc["status"]["dhcpv4"]["state"], "bound");
    assert_eq!(doc["status"]["dhcpv4"]["server"], ISP_ADDR_V4.to_string());
    // The kernel has what the facts say, installed by the client.
    let route = topo
        .router
        .exec_ok(&["ip", "-4", "route", "show", "default"])
        .unwrap();
    assert!(
        route.stdout.contains("via 192.0.2.1 dev wan0 proto dhcp"),
        "{}",
        route.stdout
    );
    let remembered = std::fs::read_to_string(state_dir.join("wan-dhcpv4.json")).unwrap();
    let ip = addr.split('/').next().unwrap();
    assert!(remembered.contains(ip), "{remembered}");

    // Restart: INIT-REBOOT asks for the same address and gets it.
    daemon.stop();
    std::fs::remove_file(&status).unwrap();
    let daemon = start_standalone(&topo, &status, &[]);
    // The old address and route stay in the kernel over a restart (no
    // teardown on restart), so wait for the client's own state.
    let doc = wait_doc(&status, "DHCPv4 bound after restart", &daemon, |d| {
        d["status"]["dhcpv4"]["state"] == "bound"
    });
    assert!(
        doc["facts"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| *a == addr.as_str()),
        "{}",
        doc["facts"]
    );
    assert!(
        daemon
            .log_text()
            .contains(&format!("will ask again for {ip}"))
    );
    // Only the first start discovered; the restart went straight to REQUEST.
    let server_log = dnsmasq.process.log_text();
    assert_eq!(
        server_log.matches("DHCPDISCOVER").count(),
        1,
        "{server_log}"
    );
    assert_eq!(server_log.matches("DHCPACK").count(), 2, "{server_log}");
}

/// Whether the router namespace has an IPv6 default route.
fn has_default_v6(ns: &Netns) -> bool {
    ns.routes(cpe_lab::Family::V6)
        .unwrap()
        .iter()
        .any(cpe_lab::Route::is_default)
}

/// Issue 9 item 7: a single forged RA with router lifetime 0, sent from the
/// genuine ISP router's own link-local address, withdraws the kernel's
/// default route. The daemon solicits at once, the genuine radvd answers,
/// and the route is back within a round trip, not at radvd's next periodic
/// RA (40-60 s here). Three rounds, so a periodic RA landing by chance in
/// the window cannot make the test pass without the fix.
#[test]
fn wan_ipoe_forged_router_withdrawal_is_undone_within_a_round_trip() {
    let lab = Lab::new("wan_forged").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let status = topo.router.unique_path("wan-status", "json");
    let _radvd = topo
        .start_radvd_isp(&RadvdOptions {
            min_interval: 40,
            max_interval: 60,
            ..isp_ra()
        })
        .unwrap();
    let daemon = start_standalone(&topo, &status, &["--no-ipv4"]);
    wait_facts(&status, "WAN up", &daemon, |f| {
        f["state"] == "up" && f["ra_router_lifetime"] == 1800
    });
    let forge = env!("CARGO_BIN_EXE_cpe-lab-forge-ra");
    let source = ISP_LINK_LOCAL.to_string();
    let mut restored_in = Vec::new();
    for _ in 0..3 {
        assert!(has_default_v6(&topo.router));
        topo.isp
            .exec_ok(&[
                forge,
                "--interface",
                ISP_IF,
                "--source",
                &source,
                "--router-lifetime",
                "0",
                "--managed",
                "--other",
            ])
            .unwrap();
        let forged = Instant::now();
        let back = wait_for("the default route back", Duration::from_secs(3), || {
            // Give the kernel time to act on the forged RA before looking.
            if forged.elapsed() < Duration::from_millis(20) {
                return Ok(Check::NotYet("just forged".into()));
            }
            Ok(if has_default_v6(&topo.router) {
                Check::Ready(forged.elapsed())
            } else {
                Check::NotYet("no IPv6 default route".into())
            })
        });
        match back {
            Ok(took) => restored_in.push(took),
            Err(e) => panic!("{e}\ndaemon log:\n{}", daemon.log_tail(30)),
        }
        std::thread::sleep(Duration::from_millis(1500));
    }
    eprintln!("default route restored after {restored_in:?}");
    for took in &restored_in {
        assert!(*took < Duration::from_millis(1000), "{restored_in:?}");
    }
    let log = daemon.log_text();
    // Each forged RA was seen as a withdrawal and confirmed by an RS...
    let withdrawn = log
        .matches("connecting: no default route: ISP router lifetime 0")
        .count();
    assert_eq!(withdrawn, 3, "{}", daemon.log_tail(40));
    assert!(log.matches("sent Router Solicitation").count() >= 3);
    // ...and never reported as "up" with router lifetime 0 first, nor the
    // genuine answer as a missing route for the moment before the kernel's
    // route notification is read.
    assert!(!log.contains("(router lifetime 0 s)"), "{log}");
    let after_up = log
        .split_once("(router lifetime 1800 s)")
        .map_or("", |(_, rest)| rest);
    assert!(
        !after_up.contains("but no default route is installed"),
        "{after_up}"
    );
    assert!(daemon.is_running());
}
