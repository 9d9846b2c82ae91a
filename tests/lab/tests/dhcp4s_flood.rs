//! Issue 9 item 5: DHCPv4 starvation, flash writes and log floods, against
//! `cpe run` in the router namespace, with busybox `udhcpc` as the honest
//! client and hand-made BOOTP datagrams from the LAN host as the attacker
//! (broadcast on the lab's LAN link only).
//!
//! 1. The host gets a lease with udhcpc and releases it (`-R`): the
//!    server remembers the address for it.
//! 2. 100 DISCOVERs from made-up hardware addresses: at most a quarter of
//!    the pool is offered, the rest counted as `offer_limit`, and udhcpc,
//!    run again at once, gets its old address back.
//! 3. 99 INIT-REBOOT REQUESTs from made-up clients (each a new binding)
//!    cost one or two lease-file writes, not 99, and at most 20 "bound"
//!    log lines.
//! 4. 500 REQUESTs for an address off the LAN: 500 NAKs sent, a handful of
//!    NAK lines in the log and a count of the rest.
//!
//! Needs root, busybox and a `cpe` binary with the dhcp4s daemon.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use cpe_lab::router::RouterUnderTest as Router;
use cpe_lab::{Lab, Netns, TopologyOptions, Udhcpc, UdhcpcOptions, plan};
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
pool = "192.168.1.100-192.168.1.199"
lease_time = 600

[lan.dhcpv6]
mode = "off"

[dns]
enabled = false

[firewall]
enabled = false
"#;

/// The server's status object for br0 (`cpectl show dhcp4s`).
fn dhcp4s(status: &Value) -> &Value {
    &status["daemon_status"]["dhcp4s"]["lans"][0]
}

/// Runs `udhcpc -q` on `host` (lease recorded, not applied) until it
/// has a lease; returns the address.
fn udhcpc(host: &Netns, label: &str) -> Ipv4Addr {
    let opts = UdhcpcOptions {
        label: label.to_string(),
        configure: false,
        exit_after_lease: true,
        ..UdhcpcOptions::host()
    };
    let client = Udhcpc::start(host, &opts).unwrap();
    client
        .wait_for_lease(Duration::from_secs(15))
        .unwrap()
        .ip
        .unwrap()
}

/// A BOOTREQUEST of DHCP type `kind` from hardware address `mac`, asking
/// for `requested` (option 50) if given.
fn bootrequest(kind: u8, xid: u32, mac: [u8; 6], requested: Option<Ipv4Addr>) -> Vec<u8> {
    request_from(kind, xid, mac, requested, Ipv4Addr::UNSPECIFIED)
}

/// As [`bootrequest`], with `ciaddr` and the client identifier udhcpc
/// sends (type 1 and the hardware address).
fn request_from(
    kind: u8,
    xid: u32,
    mac: [u8; 6],
    requested: Option<Ipv4Addr>,
    ciaddr: Ipv4Addr,
) -> Vec<u8> {
    let mut m = vec![1, 1, 6, 0];
    m.extend_from_slice(&xid.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0x80, 0]); // secs, broadcast flag
    m.extend_from_slice(&ciaddr.octets());
    m.extend_from_slice(&[0; 12]); // yiaddr siaddr giaddr
    m.extend_from_slice(&mac);
    m.extend_from_slice(&[0; 10 + 64 + 128]);
    m.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    m.extend_from_slice(&[61, 7, 1]);
    m.extend_from_slice(&mac);
    if let Some(r) = requested {
        m.extend_from_slice(&[50, 4]);
        m.extend_from_slice(&r.octets());
    }
    m.push(255);
    m.resize(m.len().max(300), 0);
    m
}

/// Sends `datagrams` from the host to 255.255.255.255:67 out of its LAN
/// interface (source 0.0.0.0, as a client without an address).
fn broadcast(host: &Netns, datagrams: Vec<Vec<u8>>) {
    host.run(move || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.set_broadcast(true).unwrap();
        let name = plan::HOST_IF.as_bytes();
        // SAFETY: a pointer to the interface name and its length.
        let r = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&s),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                name.as_ptr().cast(),
                name.len() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "SO_BINDTODEVICE: {}", std::io::Error::last_os_error());
        let to = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
        for d in &datagrams {
            s.send_to(d, to).unwrap();
            std::thread::sleep(Duration::from_micros(500));
        }
    })
    .unwrap();
}

/// The host's hardware address (`plan::HOST_MAC`).
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x03, 0x01];

fn made_up(i: u32) -> [u8; 6] {
    [0x02, 0xba, 0xd0, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

fn count(c: &Value, group: &str, key: &str) -> u64 {
    c[group][key].as_u64().unwrap_or(0)
}

/// Broadcasts `flood` from `host`, then waits until the server's counter
/// `group.key` reaches `at_least`; returns the counters.
fn flood_until(
    router: &Router,
    host: &Netns,
    flood: Vec<Vec<u8>>,
    (group, key, at_least): (&str, &str, u64),
) -> Value {
    broadcast(host, flood);
    router
        .wait_status(
            &format!("{group}.{key} >= {at_least}"),
            Duration::from_secs(5),
            |s| {
                let c = &dhcp4s(s)["counters"];
                (count(c, group, key) >= at_least).then(|| c.clone())
            },
        )
        .unwrap()
}

#[test]
fn dhcp4s_survives_starvation_request_and_nak_floods() {
    let lab = Lab::new("dhcp4s-flood").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let router = Router::start(&topo.router, CONFIG).unwrap();
    router
        .wait_status("dhcp4s listening", Duration::from_secs(10), |s| {
            (dhcp4s(s)["listening"] == true).then_some(())
        })
        .unwrap();

    // 1. The honest host leases and releases (a RELEASE made here: udhcpc
    //    -q cannot send one without configuring the address): the address
    //    stays remembered as its own.
    let mine = udhcpc(&topo.host, "udhcpc-1");
    broadcast(
        &topo.host,
        vec![request_from(7, 0x4000, HOST_MAC, None, mine)],
    );
    router
        .wait_status("the release seen", Duration::from_secs(5), |s| {
            (dhcp4s(s)["bound"] == 0 && count(&dhcp4s(s)["counters"], "requests", "release") == 1)
                .then_some(())
        })
        .unwrap();

    // 2. A DISCOVER flood from 100 made-up clients.
    let flood: Vec<Vec<u8>> = (0..100)
        .map(|i| bootrequest(1, 0x5000 + i, made_up(i), None))
        .collect();
    let c = flood_until(&router, &topo.host, flood, ("requests", "discover", 101));
    println!("after the DISCOVER flood: {c}");
    assert_eq!(count(&c, "drops", "offer_limit"), 75, "{c}");
    let started = Instant::now();
    let again = udhcpc(&topo.host, "udhcpc-2");
    println!("returning client got {again} in {:?}", started.elapsed());
    assert_eq!(again, mine, "the returning client keeps its address");

    // 3. A REQUEST flood: 99 new bindings, coalesced into one or two
    //    lease-file writes.
    let writes_before = router
        .status()
        .map(|s| dhcp4s(&s)["lease_file"]["writes"].as_u64().unwrap())
        .unwrap();
    let flood: Vec<Vec<u8>> = (0..99u8)
        .map(|i| {
            let want = Ipv4Addr::new(192, 168, 1, 101 + i);
            bootrequest(
                3,
                0x6000 + u32::from(i),
                made_up(1000 + u32::from(i)),
                Some(want),
            )
        })
        .collect();
    broadcast(&topo.host, flood);
    let status = router
        .wait_status("the REQUEST flood written", Duration::from_secs(5), |s| {
            let l = dhcp4s(s);
            (count(&l["counters"], "requests", "request") >= 99 + 2
                && l["lease_file"]["pending"] == false)
                .then(|| l.clone())
        })
        .unwrap();
    let writes = status["lease_file"]["writes"].as_u64().unwrap() - writes_before;
    println!(
        "REQUEST flood: {} ACKs, {writes} lease-file writes",
        count(&status["counters"], "replies", "ack")
    );
    let bound_lines = router.supervisor.log_text().matches(" bound to ").count();
    println!("{bound_lines} \"bound to\" log lines");
    assert!(bound_lines <= 21, "{bound_lines} \"bound to\" lines");
    assert!(
        (1..=2).contains(&writes),
        "{writes} writes for a burst of bindings"
    );

    // 4. A NAK flood: REQUESTs for an address that is not on this LAN.
    let log_before = router.supervisor.log_text().matches("DHCPNAK").count();
    let flood: Vec<Vec<u8>> = (0..500u32)
        .map(|i| {
            bootrequest(
                3,
                0x7000 + i,
                made_up(2000 + i),
                Some(Ipv4Addr::new(10, 9, 8, 7)),
            )
        })
        .collect();
    let c = flood_until(&router, &topo.host, flood, ("replies", "nak", 500));
    std::thread::sleep(Duration::from_millis(300));
    let log = router.supervisor.log_text();
    let all = log.matches("DHCPNAK").count();
    let naks = count(&c, "replies", "nak");
    println!(
        "NAK flood: {naks} NAKs in all, {all} DHCPNAK log lines in all ({} during the 500)",
        all - log_before
    );
    assert!(all <= 10, "{all} DHCPNAK lines for {naks} NAKs");
    let status = router.status().unwrap();
    assert_eq!(Router::daemon(&status, "dhcp4s").unwrap()["restarts"], 0);
}
