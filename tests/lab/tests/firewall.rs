//! The firewall end to end: `cpe run` with `config/default.toml` (plus one
//! pinhole) against the emulated ISP (radvd, Kea with prefix delegation),
//! a LAN host, and probes from the ISP namespace made with plain sockets.
//!
//! Proves RFC 7084 G-3/S-1 (no forwarding before the ruleset is in, and a
//! refused ruleset reported with the kernel's error) and RFC 6092 inbound
//! (unsolicited TCP/UDP dropped, replies to LAN-initiated flows pass, DNS
//! and DHCP closed on the WAN, a pinhole opens one port of one host).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

mod firewall_common;
use firewall_common::*;

use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Check, IspOptions, KeaOptions, Lab, LeaseTimers, Netns, PdPool, TopologyOptions, plan, wait_for,
};
use ipnet::Ipv6Net;

const PINHOLE_IID: u64 = 0x1234;

fn ping6(ns: &Netns, to: Ipv6Addr) -> bool {
    ns.exec_timeout(
        &["ping", "-6", "-c", "1", "-W", "1", &to.to_string()],
        Duration::from_secs(5),
    )
    .map(|o| o.success())
    .unwrap_or(false)
}

#[test]
fn forwarding_waits_for_the_ruleset_then_rfc6092_inbound_policy_holds() {
    let lab = Lab::new("firewall").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let r = &topo.router;
    // As rootfs/init leaves the device: forwarding off.
    r.sysctls_set(&[
        ("net.ipv6.conf.all.forwarding", "0"),
        ("net.ipv4.ip_forward", "0"),
    ])
    .unwrap();
    // A table the firewall may not replace: `flags owner` ties `inet cpe`
    // to this nft process's socket, so the kernel refuses our batch (EPERM)
    // until the process exits.
    let mut blocker = Command::new("ip")
        .args(["netns", "exec", r.name(), "nft", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = blocker.stdin.take().unwrap();
    writeln!(stdin, "add table inet cpe {{ flags owner; }}").unwrap();
    wait_for("the owned table", Duration::from_secs(5), || {
        let out = r.exec_ok(&["nft", "list", "tables"])?;
        Ok(if out.stdout.contains("inet cpe") {
            Check::Ready(())
        } else {
            Check::NotYet(out.stdout)
        })
    })
    .unwrap();

    let _isp = topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions::default()),
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap()
        + "\n[[firewall.pinhole]]\nname = \"web\"\nproto = \"tcp\"\nport = 8080\nhost = \"::1234\"\n";
    let router = Router::start(r, &source).unwrap();

    // The kernel refuses: the console says why, forwarding stays off, and a
    // LAN host cannot reach the ISP.
    let reason = router
        .wait_status("the firewall reporting the refusal", BRING_UP, |s| {
            let f = firewall(s)?;
            (f["state"] == "failed").then(|| f["reason"].as_str().unwrap_or("").to_string())
        })
        .unwrap();
    assert!(reason.contains("Operation not permitted"), "{reason}");
    assert_eq!(r.sysctl_get("net.ipv6.conf.all.forwarding").unwrap(), "0");
    assert_eq!(r.sysctl_get("net.ipv4.ip_forward").unwrap(), "0");
    let lan64 = delegated_lan(&router);
    let host_addr = host_address_in(&topo.host, lan64);
    topo.host.wait_for_default_route_v6(BRING_UP).unwrap();
    assert!(
        !ping6(&topo.host, plan::ISP_ADDR),
        "forwarded without a ruleset"
    );

    // The owner goes away: the retry commits, forwarding comes on.
    drop(stdin);
    blocker.wait().unwrap();
    let st = router
        .wait_status("the firewall active, forwarding on", BRING_UP, |s| {
            let f = firewall(s)?;
            (f["state"] == "active" && f["forwarding"] == "on").then(|| s.clone())
        })
        .unwrap();
    let f = firewall(&st).unwrap();
    assert_eq!(f["implemented"], true);
    assert_eq!(f["last_apply"]["result"], "ok", "{f}");
    assert!(f["applies"]["apply_failures"].as_u64().unwrap() >= 1, "{f}");
    assert_eq!(r.sysctl_get("net.ipv6.conf.all.forwarding").unwrap(), "1");
    assert_eq!(r.sysctl_get("net.ipv4.ip_forward").unwrap(), "1");

    // Replies to a flow the LAN started pass.
    assert!(ping6(&topo.host, plan::ISP_ADDR));

    // Unsolicited TCP and UDP from the ISP to the host are dropped (a
    // listener is there: only the firewall can stop it), silently.
    let _l8081 = listen_tcp(&topo.host, 8081);
    let to_host = SocketAddr::new(IpAddr::V6(host_addr), 8081);
    assert_eq!(
        connect(&topo.isp, to_host),
        Err(std::io::ErrorKind::TimedOut)
    );
    let udp = topo
        .host
        .run(|| UdpSocket::bind(("::", 9999)).unwrap())
        .unwrap();
    assert!(!udp_arrives(
        &topo.isp,
        &udp,
        SocketAddr::new(IpAddr::V6(host_addr), 9999)
    ));
    // ... but the same host sends and gets replies over UDP it started.
    let reply = topo
        .isp
        .run(|| UdpSocket::bind(("::", 9998)).unwrap())
        .unwrap();
    let host_udp = topo
        .host
        .run(|| UdpSocket::bind(("::", 0)).unwrap())
        .unwrap();
    host_udp
        .send_to(b"out", SocketAddr::new(IpAddr::V6(plan::ISP_ADDR), 9998))
        .unwrap();
    reply
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 16];
    let (_, peer) = reply.recv_from(&mut buf).unwrap();
    reply.send_to(b"back", peer).unwrap();
    host_udp
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert!(
        host_udp.recv_from(&mut buf).is_ok(),
        "reply to a LAN-started UDP flow"
    );

    // The pinhole opens exactly tcp/8080 of the host with IID ::1234.
    let pin_host = Ipv6Addr::from(u128::from(lan64.network()) | u128::from(PINHOLE_IID));
    topo.host
        .ip(&[
            "-6",
            "addr",
            "add",
            &format!("{pin_host}/64"),
            "dev",
            plan::HOST_IF,
            "nodad",
        ])
        .unwrap();
    let _l8080 = listen_tcp(&topo.host, 8080);
    assert_eq!(
        connect(&topo.isp, SocketAddr::new(IpAddr::V6(pin_host), 8080)),
        Ok(())
    );
    assert_eq!(
        connect(&topo.isp, SocketAddr::new(IpAddr::V6(pin_host), 8081)),
        Err(std::io::ErrorKind::TimedOut)
    );
    assert_eq!(
        connect(&topo.isp, SocketAddr::new(IpAddr::V6(host_addr), 8080)),
        Err(std::io::ErrorKind::TimedOut),
        "the pinhole is for ::1234 only"
    );

    // BCP 38: a LAN source outside our prefixes never leaves.
    topo.host
        .ip(&[
            "-6",
            "addr",
            "add",
            "2001:db8:dead::5/128",
            "dev",
            plan::HOST_IF,
            "nodad",
        ])
        .unwrap();
    let spoofed = topo
        .host
        .exec_timeout(
            &[
                "ping",
                "-6",
                "-c",
                "2",
                "-W",
                "1",
                "-I",
                "2001:db8:dead::5",
                &plan::ISP_ADDR.to_string(),
            ],
            Duration::from_secs(6),
        )
        .unwrap();
    assert!(!spoofed.success(), "a spoofed source got through");

    // DNS and DHCPv6 server ports of the router are closed on the WAN.
    let wan = IpAddr::V6(plan::WAN_SLAAC_ADDR);
    assert_eq!(
        connect(&topo.isp, SocketAddr::new(wan, 53)),
        Err(std::io::ErrorKind::TimedOut)
    );
    assert_eq!(any_udp_answer(&topo.isp, wan, &[53, 547]), None);

    // The drop classes counted what was dropped, read back from the kernel.
    let st = router
        .wait_status("counters read back", Duration::from_secs(15), |s| {
            (counter(s, "drop_wan_inbound") >= 4
                && counter(s, "drop_wan_input") >= 3
                && counter(s, "drop_bcp38_egress") >= 2)
                .then(|| s.clone())
        })
        .unwrap();
    let f = firewall(&st).unwrap();
    assert_eq!(
        f["pinholes"][0]["addresses"][0],
        pin_host.to_string(),
        "{f}"
    );
}

/// A raw ICMPv6 socket in `ns` (the kernel fills in the checksum).
fn raw_icmpv6(ns: &Netns) -> socket2::Socket {
    ns.run(|| {
        socket2::Socket::new(
            socket2::Domain::IPV6,
            socket2::Type::RAW,
            Some(socket2::Protocol::ICMPV6),
        )
        .unwrap()
    })
    .unwrap()
}

/// Sends each `(type, code, hop limit)` from `from` to `to` with a marker
/// body, and returns the rows `watch` saw arrive.
fn matrix(
    from: &socket2::Socket,
    watch: &socket2::Socket,
    to: Ipv6Addr,
    rows: &[(u8, u8, u32)],
) -> Vec<(u8, u8, u32)> {
    let dest = socket2::SockAddr::from(SocketAddr::new(IpAddr::V6(to), 0));
    for (i, (ty, code, hops)) in rows.iter().enumerate() {
        from.set_unicast_hops_v6(*hops).unwrap();
        // type, code, checksum, then 4 bytes + a 40-byte "invoking packet"
        // (errors) or id/seq (informational); byte 8 carries the row index.
        let mut msg = vec![*ty, *code, 0, 0, 0xc9, 0x4e, 0x00, i as u8];
        msg.extend_from_slice(&[0u8; 48]);
        msg[8] = 0x60; // looks like an IPv6 header to conntrack
        msg[40] = i as u8;
        from.send_to(&msg, &dest).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    watch
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1500];
    let mut reader = watch;
    while let Ok(n) = std::io::Read::read(&mut reader, &mut buf) {
        let b = &buf[..n];
        if n >= 41
            && b[4..7] == [0xc9, 0x4e, 0x00]
            && let Some(row) = rows.get(usize::from(b[40]))
        {
            seen.push(*row);
        }
    }
    seen
}

/// Sends `pass` and `drop` rows and asserts exactly the `pass` rows arrive.
fn assert_matrix(
    section: &str,
    from: &socket2::Socket,
    watch: &socket2::Socket,
    to: Ipv6Addr,
    pass: &[(u8, u8, u32)],
    drop: &[(u8, u8, u32)],
) {
    let rows: Vec<_> = pass.iter().chain(drop).copied().collect();
    let seen = matrix(from, watch, to, &rows);
    let missing: Vec<_> = pass.iter().filter(|r| !seen.contains(r)).collect();
    let leaked: Vec<_> = drop.iter().filter(|r| seen.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "RFC 4890 {section}: dropped: {missing:?}"
    );
    assert!(
        leaked.is_empty(),
        "RFC 4890 {section}: let through: {leaked:?}"
    );
}

#[test]
fn rfc4890_icmpv6_matrix_in_transit_and_to_the_router() {
    let lab = Lab::new("fw_rfc4890").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _isp = topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions::default()),
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let lan64 = delegated_lan(&router);
    router
        .wait_status("the firewall active with the LAN prefix", BRING_UP, |s| {
            let f = firewall(s)?;
            let has = f["sets"]["lan6"]
                .as_array()?
                .iter()
                .any(|p| *p == lan64.to_string());
            (f["state"] == "active" && has).then_some(())
        })
        .unwrap();
    let host_addr = host_address_in(&topo.host, lan64);
    let isp = raw_icmpv6(&topo.isp);

    // Section 4.3 (transit, ISP -> LAN host): (type, code, hop limit).
    let transit_pass = [
        (1, 0, 64),
        (1, 1, 64),
        (1, 3, 64),
        (1, 4, 64),
        (1, 6, 64), // 4.3.1 all codes
        (2, 0, 64), // 4.3.1 PTB
        (3, 0, 64),
        (4, 1, 64),
        (4, 2, 64), // 4.3.1
        (3, 1, 64),
        (4, 0, 64), // 4.3.2
        (128, 0, 64),
        (129, 0, 64), // 4.3.1 echo
        (144, 0, 64),
        (145, 0, 64),
        (146, 0, 64),
        (147, 0, 64), // 4.3.2 mobile
    ];
    let transit_drop = [
        (130, 0, 64),
        (131, 0, 64),
        (132, 0, 64),
        (143, 0, 64), // 4.3.3 MLD
        (133, 0, 255),
        (134, 0, 255),
        (135, 0, 255),
        (136, 0, 255), // 4.3.3 ND
        (137, 0, 255),
        (141, 0, 255),
        (142, 0, 255), // 4.3.3
        (148, 0, 255),
        (149, 0, 255),
        (151, 0, 64),
        (152, 0, 64), // 4.3.3
        (153, 0, 64),
        (138, 0, 64),
        (139, 0, 64),
        (140, 0, 64), // 4.3.5
        (100, 0, 64),
        (101, 0, 64),
        (127, 0, 64),
        (200, 0, 64), // 4.3.5
        (201, 0, 64),
        (255, 0, 64),
        (5, 0, 64),
        (99, 0, 64),
        (154, 0, 64),
        (250, 0, 64), // 4.3.4 policy: drop
    ];
    let host = raw_icmpv6(&topo.host);
    assert_matrix("4.3", &isp, &host, host_addr, &transit_pass, &transit_drop);

    // Section 4.4 (to the router's WAN address).
    let local_pass = [
        (1, 0, 64),
        (1, 4, 64),
        (2, 0, 64),
        (3, 0, 64),
        (3, 1, 64), // 4.4.1/4.4.2
        (4, 0, 64),
        (4, 1, 64),
        (4, 2, 64),
        (128, 0, 64),
        (129, 0, 64), // 4.4.1 echo
        (135, 0, 255),
        (136, 0, 255), // ND, hop limit 255
    ];
    let local_drop = [
        (135, 0, 64),
        (136, 0, 64), // ND, routed
        (130, 0, 1),
        (131, 0, 1),
        (143, 0, 1), // MLD not link-local
        (137, 0, 255),
        (138, 0, 64),
        (139, 0, 64),
        (140, 0, 64), // 4.4.4
        (144, 0, 64),
        (145, 0, 64),
        (146, 0, 64),
        (147, 0, 64), // 4.4.3
        (100, 0, 64),
        (200, 0, 64),
        (5, 0, 64),
        (154, 0, 64), // 4.4.5
    ];
    let rtr = raw_icmpv6(&topo.router);
    assert_matrix(
        "4.4",
        &isp,
        &rtr,
        plan::WAN_SLAAC_ADDR,
        &local_pass,
        &local_drop,
    );

    // The drops were counted by class.
    let st = router
        .wait_status("ICMPv6 drop counters", Duration::from_secs(15), |s| {
            (counter(s, "drop_icmpv6_forward") > 0 && counter(s, "drop_icmpv6_input") > 0)
                .then(|| s.clone())
        })
        .unwrap();
    eprintln!("drops: {}", firewall(&st).unwrap()["drops"]);
}

#[test]
fn after_a_kea_renumbering_the_old_source_gets_code_5_and_the_pinhole_follows() {
    let lab = Lab::new("fw_renumber").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let kea = KeaOptions {
        timers: LeaseTimers::SHORT,
        ..KeaOptions::default()
    };
    let isp = topo
        .start_isp(&IspOptions {
            kea: Some(kea.clone()),
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    topo.route_delegated_prefix(plan::PD_POOL_RENUMBERED)
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap()
        + "\n[[firewall.pinhole]]\nname = \"web\"\nproto = \"tcp\"\nport = 8080\nhost = \"::1234\"\n";
    let router = Router::start(&topo.router, &source).unwrap();
    let old64 = delegated_lan(&router);
    let old_addr = host_address_in(&topo.host, old64);

    isp.kea
        .as_ref()
        .unwrap()
        .reload(&KeaOptions {
            pd_pool: Some(PdPool {
                prefix: plan::PD_POOL_RENUMBERED,
                delegated_len: 56,
            }),
            ..kea
        })
        .unwrap();
    // The firewall follows with a set update: the old /64 moves to stale6,
    // the pinhole now opens ::1234 in the new one.
    let st = router
        .wait_status("the firewall renumbered", BRING_UP, |s| {
            let f = firewall(s)?;
            let stale = f["sets"]["stale6"].as_array()?;
            (stale.iter().any(|p| *p == old64.to_string()) && f["last_apply"]["kind"] == "sets")
                .then(|| f.clone())
        })
        .unwrap();
    let new64: Ipv6Net = st["sets"]["lan6"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str()?.parse::<Ipv6Net>().ok())
        .find(|p| plan::PD_POOL_RENUMBERED.contains(&p.network()))
        .unwrap();
    let pin_new = Ipv6Addr::from(u128::from(new64.network()) | u128::from(PINHOLE_IID));
    assert_eq!(
        st["pinholes"][0]["addresses"][0],
        pin_new.to_string(),
        "{st}"
    );
    assert!(st["applies"]["set_updates"].as_u64().unwrap() >= 1, "{st}");

    // RFC 7084 L-14: the host's old source gets Destination Unreachable
    // code 5 (source address failed ingress/egress policy).
    let watch = raw_icmpv6(&topo.host);
    let _ = topo.host.exec_timeout(
        &[
            "ping",
            "-6",
            "-c",
            "1",
            "-W",
            "2",
            "-I",
            &old_addr.to_string(),
            &plan::ISP_ADDR.to_string(),
        ],
        Duration::from_secs(5),
    );
    watch
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 1500];
    let mut reader = &watch;
    let mut code5 = false;
    while let Ok(n) = std::io::Read::read(&mut reader, &mut buf) {
        if n >= 2 && buf[0] == 1 && buf[1] == 5 {
            code5 = true;
        }
    }
    assert!(
        code5,
        "no ICMPv6 destination unreachable code 5 for {old_addr}"
    );
    router
        .wait_status(
            "reject_stale_source counted",
            Duration::from_secs(15),
            |s| (counter(s, "reject_stale_source") >= 1).then_some(()),
        )
        .unwrap();
}
