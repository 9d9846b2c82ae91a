//! The stateless DHCPv6 server in the namespace lab: `cpe run` in the
//! router namespace against the emulated ISP (radvd + Kea delegating a
//! /56), and ISC `dhclient -6 -S` on the LAN host as the client we did not
//! write. Asserts what the client recorded in its lease file: DNS (the
//! router's own address in the delegated /64 for `"self"`, then a literal),
//! the domain search list and the NTP server (option 56). Then hostile
//! datagrams to port 547: counted by reason in `cpectl show dhcp6s`, and
//! the server keeps answering.
//!
//! Needs root, the lab packages and a `cpe` binary with the dhcp6s daemon
//! (`$CPE_BIN` or next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use cpe_lab::router::RouterUnderTest as Router;
use cpe_lab::{KeaOptions, Lab, Netns, RadvdOptions, TopologyOptions, plan};
use serde_json::Value;

const CONFIG: &str = r#"
[wan]
interface = "wan0"
mode = "ipoe"
ipv4 = false

[wan.dhcpv6]
request_prefix = true
prefix_hint = 56

[[lan]]
interface = "br0"
subnet_id = 1
ula = false
ipv4 = false

[lan.dhcpv6]
mode = "stateless"
dns = ["self", "2001:db8:53::1"]
domain_search = ["lan", "example.jp"]
ntp = ["2001:db8:123::1"]
information_refresh = 1800

[dns]
enabled = false

[firewall]
enabled = false
"#;

/// The server's status object (`cpectl show dhcp6s`).
fn dhcp6s(status: &Value) -> &Value {
    &status["daemon_status"]["dhcp6s"]["lans"][0]
}

/// Runs `dhclient -6 -S` on the host with a config that also asks for
/// NTP (option 56, unknown to dhclient, so defined here). In stateless mode
/// dhclient keeps no lease file; it hands what it got to its script as
/// `new_*` variables (reason RENEW6 for a stateless Reply in 4.4), which
/// our script records. Returns them.
fn information_request(host: &Netns, label: &str) -> BTreeMap<String, String> {
    let files = host.file_base(label);
    let (env, script, leases, conf, pid) = (
        files.path("env"),
        files.path("sh"),
        files.path("leases"),
        files.path("conf"),
        files.path("pid"),
    );
    std::fs::write(&leases, "").unwrap();
    std::fs::write(
        &conf,
        "option dhcp6.cpe-ntp code 56 = string;\nalso request dhcp6.cpe-ntp;\n",
    )
    .unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$reason\" in INFORM6|RENEW6) env > '{0}.tmp' && mv '{0}.tmp' '{0}' ;; esac\nexit 0\n",
            env.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new("dhclient");
    cmd.args(["-6", "-S", "-d", "-v", "-sf"])
        .arg(&script)
        .arg("-lf")
        .arg(&leases)
        .arg("-pf")
        .arg(&pid)
        .arg("-cf")
        .arg(&conf)
        .arg(plan::HOST_IF);
    let process = host.spawn_with(label, cmd, &files.spawn_options()).unwrap();
    let status = process.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "dhclient failed:\n{}", process.log_text());
    let text = std::fs::read_to_string(&env).unwrap_or_else(|e| {
        panic!(
            "no Reply reached dhclient's script ({e}):\n{}",
            process.log_text()
        )
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("new_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Sends `payload` from the host to the router's link-local, port 547.
fn send_to_servers(host: &Netns, payload: Vec<u8>) {
    host.run(move || {
        // /sys shows the test's own namespace; ask the kernel in this one.
        let name = std::ffi::CString::new(plan::HOST_IF).unwrap();
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert_ne!(ifindex, 0);
        let s = UdpSocket::bind("[::]:0").unwrap();
        let to = SocketAddrV6::new(plan::BRIDGE_LINK_LOCAL, 547, 0, ifindex);
        s.send_to(&payload, to).unwrap();
    })
    .unwrap();
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
fn dhclient_gets_dns_domain_and_ntp_and_garbage_is_counted() {
    let lab = Lab::new("dhcp6s").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let _kea = topo.start_kea_dhcp6(&KeaOptions::default()).unwrap();
    let router = Router::start(&topo.router, CONFIG).unwrap();

    // The delegated /64 reaches the LAN, and the server follows it.
    let self_addr: Ipv6Addr = router
        .wait_status(
            "dhcp6s serving with a LAN address",
            Duration::from_secs(20),
            |s| {
                let lan = dhcp6s(s);
                (lan["listening"] == true).then_some(())?;
                lan["self_address"].as_str()?.parse().ok()
            },
        )
        .unwrap();
    let status = router.status().unwrap();
    let delegated = status["lan"][0]["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["origin"] == "delegated")
        .expect("a delegated prefix on the LAN");
    assert_eq!(
        delegated["router_address"].as_str().unwrap(),
        self_addr.to_string(),
        "\"self\" is the router's address in the delegated /64"
    );

    let got = information_request(&topo.host, "dhclient-s");
    println!("dhclient -S got: {got:#?}");
    let get = |k: &str| got.get(k).map(String::as_str).unwrap_or_default();
    assert_eq!(
        get("new_dhcp6_name_servers"),
        format!("{self_addr} {}", plan::DNS_A),
        "DNS: \"self\" first, then the literal"
    );
    assert_eq!(get("new_dhcp6_domain_search"), "lan. example.jp.");
    // Option 56, undecoded by dhclient: suboption 1, length 16,
    // 2001:db8:123::1, as hex octets.
    assert_eq!(
        get("new_dhcp6_cpe_ntp"),
        "0:1:0:10:20:1:d:b8:1:23:0:0:0:0:0:0:0:0:0:1",
    );
    assert_eq!(get("new_dhcp6_info_refresh_time"), "1800");
    // The DUID-UUID the router created in its state directory, in
    // dhclient's notation (no leading zeros).
    let server_duid = std::fs::read_to_string(router.state_dir.join("dhcp6s/duid")).unwrap();
    let server_duid: Vec<String> = server_duid
        .trim()
        .split(':')
        .map(|b| format!("{:x}", u8::from_str_radix(b, 16).unwrap()))
        .collect();
    assert_eq!(server_duid[..2], ["0", "4"], "DUID-UUID");
    assert_eq!(get("new_dhcp6_server_id"), server_duid.join(":"));
    // Status is refreshed every second.
    router
        .wait_status("the Reply counted", Duration::from_secs(3), |s| {
            let c = &dhcp6s(s)["counters"];
            (c["replies"] == 1 && c["requests"]["information_request"] == 1).then_some(())
        })
        .unwrap();

    // Hostile datagrams: truncated header, an option overrunning the
    // message, a Relay-forward. Counted by reason, never answered.
    send_to_servers(&topo.host, vec![11, 0]);
    send_to_servers(&topo.host, vec![11, 0, 0, 1, 0, 23, 0, 200, 1, 2]);
    send_to_servers(&topo.host, vec![12, 0, 0, 0, 0, 0, 0, 0]);
    let drops = router
        .wait_status("malformed datagrams counted", Duration::from_secs(5), |s| {
            let d = &dhcp6s(s)["counters"]["drops"];
            (d["too_short"] == 1 && d["option_overrun"] == 1 && d["relay_forward"] == 1)
                .then(|| d.clone())
        })
        .unwrap();
    println!("drops after the hostile datagrams: {drops}");

    // Still alive and answering: a second client run gets the same values.
    let again = information_request(&topo.host, "dhclient-s2");
    assert_eq!(
        again.get("new_dhcp6_name_servers"),
        got.get("new_dhcp6_name_servers")
    );
    let status = router.status().unwrap();
    let d = Router::daemon(&status, "dhcp6s").unwrap();
    assert_eq!(d["restarts"], 0, "the server never restarted: {d}");
    println!("dhcp6s VmRSS: {:?} KiB", rss_kib(&status, "dhcp6s"));
}
