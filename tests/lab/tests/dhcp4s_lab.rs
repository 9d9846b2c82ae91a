//! The DHCPv4 server in the namespace lab: `cpe run` in the router
//! namespace, busybox `udhcpc` on two LAN hosts as clients we did not
//! write. Each host gets an address from the pool with router, DNS and
//! domain; the two addresses differ; after the daemon is killed (SIGKILL:
//! no chance to save at exit) and restarted by the supervisor, the lease
//! file brings the same address back to the same host.
//!
//! Needs root, the lab packages and a `cpe` binary with the dhcp4s daemon
//! (`$CPE_BIN` or next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cpe_lab::router::RouterUnderTest as Router;
use cpe_lab::{Lab, Netns, TopologyOptions, plan};
use serde_json::Value;

const CONFIG: &str = r#"
[wan]
interface = "wan0"
mode = "ipoe"
ipv4 = false

[[lan]]
interface = "br0"
subnet_id = 1

[lan.ipv4]
address = "192.168.1.1/24"
pool = "192.168.1.100-192.168.1.110"
lease_time = 600

[lan.dhcpv6]
mode = "off"

[dns]
enabled = false
local_domain = "home.lan"

[firewall]
enabled = false
"#;

const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

/// The server's status object for br0 (`cpectl show dhcp4s`).
fn dhcp4s(status: &Value) -> &Value {
    &status["daemon_status"]["dhcp4s"]["lans"][0]
}

/// Runs `udhcpc -q` on `host` until it has a lease; returns the variables
/// its script saw at `bound`.
fn udhcpc(host: &Netns, label: &str) -> BTreeMap<String, String> {
    let files = host.file_base(label);
    let (env, script) = (files.path("env"), files.path("sh"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = bound ] && env > '{0}.tmp' && mv '{0}.tmp' '{0}'\nexit 0\n",
            env.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    let out = host
        .exec_timeout(
            &[
                "udhcpc",
                "-i",
                plan::HOST_IF,
                "-f",
                "-q",
                "-n",
                "-t",
                "5",
                "-T",
                "1",
                "-s",
                &script,
            ],
            Duration::from_secs(15),
        )
        .unwrap();
    let text = std::fs::read_to_string(&env)
        .unwrap_or_else(|e| panic!("udhcpc got no lease ({e}): {out:?}"));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ip_of(lease: &BTreeMap<String, String>) -> Ipv4Addr {
    lease["ip"].parse().unwrap()
}

/// Resident memory of a daemon in KiB (`VmRSS`), for the figures printed
/// by the test (`--nocapture`); release builds give the shipping numbers.
fn rss_kib(status: &Value, daemon: &str) -> Option<u64> {
    let pid = Router::daemon(status, daemon)?["pid"].as_u64()?;
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn hosts_get_distinct_leases_that_survive_a_daemon_crash() {
    let lab = Lab::new("dhcp4s").unwrap();
    let topo = lab
        .ipoe(&TopologyOptions {
            second_host: true,
            ..TopologyOptions::default()
        })
        .unwrap();
    let host2 = topo.host2.clone().unwrap();
    let router = Router::start(&topo.router, CONFIG).unwrap();
    router
        .wait_status("dhcp4s listening", Duration::from_secs(10), |s| {
            (dhcp4s(s)["listening"] == true).then_some(())
        })
        .unwrap();
    // The LAN address is on br0 (the daemon adds it when missing).
    let addrs = topo
        .router
        .exec_ok(&["ip", "-4", "addr", "show", "dev", plan::BRIDGE_IF])
        .unwrap();
    assert!(addrs.stdout.contains("192.168.1.1/24"), "{}", addrs.stdout);

    let first = udhcpc(&topo.host, "udhcpc-1");
    let a = ip_of(&first);
    assert!(
        (Ipv4Addr::new(192, 168, 1, 100)..=Ipv4Addr::new(192, 168, 1, 110)).contains(&a),
        "{a} not from the pool"
    );
    assert_eq!(first["subnet"], "255.255.255.0");
    assert_eq!(first["router"], ROUTER.to_string());
    assert_eq!(first["dns"].trim(), ROUTER.to_string());
    assert_eq!(first["domain"], "home.lan");
    assert_eq!(first["serverid"], ROUTER.to_string());
    assert_eq!(first["lease"], "600");

    let second = udhcpc(&host2, "udhcpc-2");
    let b = ip_of(&second);
    assert_ne!(a, b, "two hosts, two addresses");

    let status = router
        .wait_status("two bound leases", Duration::from_secs(5), |s| {
            (dhcp4s(s)["bound"] == 2).then(|| s.clone())
        })
        .unwrap();
    let leases = dhcp4s(&status)["leases"].as_array().unwrap();
    assert!(
        leases
            .iter()
            .any(|l| l["address"] == a.to_string() && l["mac"] == plan::HOST_MAC),
        "{leases:?}"
    );

    // The lease file is on disk within the store's bounded delay (changes
    // are coalesced into one write at most 1 s after the first), before
    // anything asks for it.
    let file = router.state_dir.join("dhcp4s").join("leases-br0");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let text = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let both = text.contains(&format!("{a} bound")) && text.contains(&format!("{b} bound"));
        if both || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains(&format!("{a} bound")), "{text}");
    assert!(text.contains(&format!("{b} bound")), "{text}");

    // `expires_in` is the time left when the status is made, not the
    // value of the moment the lease was bound: it runs down between two
    // reports (the daemon republishes at most once a second).
    let expires_in = |s: &Value| -> Option<u64> {
        dhcp4s(s)["leases"]
            .as_array()?
            .iter()
            .find(|l| l["address"] == a.to_string())?["expires_in"]
            .as_u64()
    };
    // Nothing else changes any more (both bound, the file written), so
    // only the running-down can make the status move.
    std::thread::sleep(Duration::from_millis(1500));
    let first_left = expires_in(&router.status().unwrap()).unwrap();
    assert!(first_left <= 600, "{first_left}");
    let later = router
        .wait_status("expires_in running down", Duration::from_secs(5), |s| {
            expires_in(s).filter(|left| *left < first_left)
        })
        .unwrap();
    assert!(later + 5 >= first_left, "{later} vs {first_left}");

    // Crash the daemon; the supervisor restarts it.
    let old = Router::daemon(&status, "dhcp4s").unwrap()["pid"]
        .as_u64()
        .unwrap();
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    router
        .wait_status("dhcp4s restarted", Duration::from_secs(10), |s| {
            let d = Router::daemon(s, "dhcp4s")?;
            let restarted = d["pid"].as_u64()? != old && d["state"] == "running";
            (restarted && dhcp4s(s)["listening"] == true).then_some(())
        })
        .unwrap();
    // Same client, same address, in the other order of arrival.
    assert_eq!(ip_of(&udhcpc(&host2, "udhcpc-2b")), b);
    assert_eq!(ip_of(&udhcpc(&topo.host, "udhcpc-1b")), a);
    let status = router.status().unwrap();
    println!("dhcp4s VmRSS: {:?} KiB", rss_kib(&status, "dhcp4s"));
}
