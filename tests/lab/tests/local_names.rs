//! Names LAN hosts give in DHCPv4 are answered by the router's DNS
//! forwarder under `local_domain`: `cpe run` in the router namespace, two
//! DHCPv4 clients we did not write (dhcpcd with `-h`, then with `-F both`
//! for option 81, busybox udhcpc with `-x hostname:`), and three DNS
//! clients (kdig, dig, drill). A name goes
//! when its lease is released; a client claiming the router's name gets
//! its address but not the name.
//!
//! Needs root and the lab packages (dhcpcd-base, udhcpc, knot-dnsutils,
//! bind9-dnsutils, ldnsutils).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use cpe_lab::router::RouterUnderTest as Router;
use cpe_lab::{
    Check, Lab, Netns, Process, SpawnOptions, TopologyOptions, Udhcpc, UdhcpcOptions, plan,
    wait_for,
};
use serde_json::Value;

const CONFIG: &str = r#"
[system]
hostname = "gw"

[wan]
interface = "wan0"
mode = "ipoe"
ipv4 = false

[[lan]]
interface = "br0"
subnet_id = 1

[lan.ipv4]
# Not the default 192.168.1.1/24: the forwarder answers the router's
# names with this address only if its config view holds lan[].ipv4.
address = "192.168.7.1/24"
pool = "192.168.7.100-192.168.7.110"
lease_time = 600

[lan.dhcpv6]
mode = "off"

[dns]
local_domain = "lan"
hosts = [ { name = "nas", addresses = ["192.168.7.10"] } ]

[firewall]
enabled = false
"#;

const ROUTER: &str = "192.168.7.1";
const WAIT: Duration = Duration::from_secs(10);

fn dns_status(status: &Value) -> &Value {
    &status["daemon_status"]["dns"]
}

/// The A records `dig` gets for `name` from the router (`+short`), and
/// whether the answer was NXDOMAIN.
fn dig_a(ns: &Netns, name: &str) -> (bool, Vec<Ipv4Addr>) {
    let out = ns
        .exec_timeout(
            &[
                "dig",
                "+time=1",
                "+tries=2",
                &format!("@{ROUTER}"),
                name,
                "A",
            ],
            Duration::from_secs(10),
        )
        .unwrap();
    let nx = out.stdout.contains("status: NXDOMAIN");
    let addrs = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [_, _, "IN", "A", a] => a.parse().ok(),
                _ => None,
            }
        })
        .collect();
    (nx, addrs)
}

/// Waits until `name` resolves to exactly `want` (`None`: NXDOMAIN).
fn wait_name(ns: &Netns, name: &str, want: Option<Ipv4Addr>) {
    wait_for(&format!("{name} -> {want:?}"), WAIT, || {
        let (nx, addrs) = dig_a(ns, name);
        Ok(match want {
            Some(a) if addrs == [a] => Check::Ready(()),
            None if nx => Check::Ready(()),
            _ => Check::NotYet(format!("nxdomain {nx}, {addrs:?}")),
        })
    })
    .unwrap();
}

/// dhcpcd in the foreground, IPv4 only, sending `-h name`, with its own
/// config, run and state directories (bind-mounted over the ones it has
/// compiled in, in its private mount namespace), no hooks (the event
/// script only records the lease), no ARP probing (the lab's LAN is ours)
/// and `release`: a SIGTERM sends DHCPRELEASE before it exits.
/// `extra` adds arguments (`-F both`: send the name as a Client FQDN,
/// option 81, instead of option 12).
fn dhcpcd(host: &Netns, label: &str, name: &str, extra: &[&str]) -> (Process, std::path::PathBuf) {
    let files = host.file_base(label);
    let (conf, script, lease) = (files.path("conf"), files.path("sh"), files.path("lease"));
    let (run, db) = (files.path("run"), files.path("db"));
    std::fs::create_dir_all(&run).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(&conf, "noarp\nnoipv4ll\nrelease\noption host_name\n").unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$reason\" in BOUND|REBOOT) env > '{0}.tmp' && mv '{0}.tmp' '{0}' ;; esac\nexit 0\n",
            lease.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new("dhcpcd");
    cmd.args(["-B", "-4", "-t", "20", "-h", name])
        .args(extra)
        .arg("-f")
        .arg(&conf)
        .arg("-c")
        .arg(&script)
        .arg(plan::HOST_IF);
    let opts = SpawnOptions {
        bind_mounts: vec![(run, "/run".into()), (db, "/var/lib/dhcpcd".into())],
        ..files.spawn_options()
    };
    (host.spawn_with(label, cmd, &opts).unwrap(), lease)
}

fn dhcpcd_address(lease: &std::path::Path, p: &Process) -> Ipv4Addr {
    wait_for("a dhcpcd lease", Duration::from_secs(20), || {
        let text = std::fs::read_to_string(lease).unwrap_or_default();
        let ip = text
            .lines()
            .find_map(|l| l.strip_prefix("new_ip_address="))
            .and_then(|v| v.trim_matches('\'').parse().ok());
        Ok(match ip {
            Some(ip) => Check::Ready(ip),
            None => Check::NotYet(p.log_tail(10)),
        })
    })
    .unwrap()
}

/// udhcpc that sends option 12 and releases its lease when stopped (`-R`).
fn udhcpc(host: &Netns, label: &str, name: &str) -> (Udhcpc, Ipv4Addr) {
    let opts = UdhcpcOptions {
        label: label.to_string(),
        // The release is unicast from the leased address, so it must be on
        // the interface.
        extra_args: vec!["-x".into(), format!("hostname:{name}"), "-R".into()],
        ..UdhcpcOptions::host()
    };
    let c = Udhcpc::start(host, &opts).unwrap();
    let ip = c.wait_for_lease(WAIT).unwrap().ip.unwrap();
    (c, ip)
}

#[test]
fn dhcp_host_names_are_answered_until_released_and_cannot_take_the_routers() {
    let lab = Lab::new("localnames").unwrap();
    let topo = lab
        .ipoe(&TopologyOptions {
            second_host: true,
            ..TopologyOptions::default()
        })
        .unwrap();
    let host2 = topo.host2.clone().unwrap();
    let router = Router::start(&topo.router, CONFIG).unwrap();
    router
        .wait_status("dhcp4s listening", WAIT, |s| {
            (s["daemon_status"]["dhcp4s"]["lans"][0]["listening"] == true).then_some(())
        })
        .unwrap();
    topo.router
        .wait_for_udp_listen(None, 53, Duration::from_secs(5))
        .unwrap();
    let h = &topo.host;

    // dhcpcd on host, udhcpc (mixed case) on host2: both names answer
    // with the lease's address, to kdig and dig alike.
    let (dhcpcd_proc, lease) = dhcpcd(h, "dhcpcd", "dhcpcd-host", &[]);
    let a = dhcpcd_address(&lease, &dhcpcd_proc);
    wait_name(h, "dhcpcd-host.lan", Some(a));
    // Before its lease, the other host's name does not exist.
    wait_name(h, "udhcpc-host.lan", None);
    let (udhcpc_proc, b) = udhcpc(&host2, "udhcpc-named", "Udhcpc-Host");
    assert_ne!(a, b);
    wait_name(h, "udhcpc-host.lan", Some(b));
    let r = h
        .kdig(&[&format!("@{ROUTER}"), "udhcpc-host.lan", "A"])
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(r.answer_data("A"), vec![b.to_string()]);
    assert!(r.has_flag("aa"), "{r:?}");
    let r = h
        .kdig(&[&format!("@{ROUTER}"), "-x", &a.to_string()])
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(r.answer_data("PTR"), vec!["dhcpcd-host.lan."]);

    // udhcpc releases (-R on SIGTERM): its name goes, with an SOA that
    // drill shows (RFC 2308).
    udhcpc_proc.process.kill(libc::SIGTERM);
    udhcpc_proc.process.wait_exit(WAIT).unwrap();
    wait_name(h, "udhcpc-host.lan", None);
    let out = h
        .exec_timeout(
            &["drill", &format!("@{ROUTER}"), "udhcpc-host.lan", "A"],
            WAIT,
        )
        .unwrap();
    assert!(out.stdout.contains("rcode: NXDOMAIN"), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("lan.") && l.contains("\tSOA\t")),
        "{}",
        out.stdout
    );

    // host2 comes back asking for the router's own names: it gets an
    // address, the names keep answering with the router's.
    let (thief, c) = udhcpc(&host2, "udhcpc-router", "router");
    wait_for("the refusal counted", WAIT, || {
        let refused = router
            .status()
            .map(|s| dns_status(&s)["lease_names_refused"].clone());
        Ok(match refused {
            Some(v) if v == 1 => Check::Ready(()),
            other => Check::NotYet(format!("{other:?}")),
        })
    })
    .unwrap();
    assert_eq!(
        dig_a(h, "router.lan").1,
        vec![ROUTER.parse::<Ipv4Addr>().unwrap()]
    );
    assert_eq!(
        dig_a(h, "gw.lan").1,
        vec![ROUTER.parse::<Ipv4Addr>().unwrap()]
    );
    assert_eq!(dig_a(h, "nas.lan").1, vec![Ipv4Addr::new(192, 168, 7, 10)]);
    // Logged once, naming the host and the reason.
    std::thread::sleep(Duration::from_millis(1500));
    let log = router.supervisor.log_text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("asked for the name \"router\""))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&c.to_string()) && lines[0].contains("router_name"),
        "{}",
        lines[0]
    );

    // dhcpcd releases on SIGTERM (`release`): its name goes too (asked
    // from host2, as host lost its address with the lease).
    dhcpcd_proc.kill(libc::SIGTERM);
    dhcpcd_proc.wait_exit(WAIT).unwrap();
    wait_name(&host2, "dhcpcd-host.lan", None);
    router
        .wait_status("no lease names left", WAIT, |s| {
            (dns_status(s)["lease_names"] == 0).then_some(())
        })
        .unwrap();
    drop(thief);

    // dhcpcd again, now sending its name as a Client FQDN (option 81,
    // RFC 4702, in wire format) and no option 12: answered the same way.
    let (fqdn_proc, lease) = dhcpcd(h, "dhcpcd-fqdn", "fqdn-host", &["-F", "both"]);
    let d = dhcpcd_address(&lease, &fqdn_proc);
    wait_name(h, "fqdn-host.lan", Some(d));
}
