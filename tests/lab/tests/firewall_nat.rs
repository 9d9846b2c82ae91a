//! The firewall's IPv4 and path-MTU behaviour end to end: `cpe run` with
//! `config/default.toml` against the emulated ISP, which here also runs
//! Kea DHCPv4 on the access link, a LAN host that takes its IPv4 from our
//! DHCPv4 server (busybox udhcpc), and plain-socket probes.
//!
//! - IPv4 through the masquerade: the WAN leases its address from Kea; the
//!   LAN host reaches an ISP-side server over TCP and UDP, and the ISP sees
//!   the WAN address as the source; unsolicited IPv4 from the ISP to the
//!   LAN host is dropped (RFC 6092 for IPv4, also with a route to the LAN
//!   subnet on the ISP side); DNS and DHCP stay closed on the WAN.
//! - Path MTU: behind the ISP a 1280-byte link leads to a far server; the
//!   ISP's ICMPv6 Packet Too Big and ICMPv4 Fragmentation Needed for the
//!   host's flows reach the host through the firewall (RFC 4890
//!   must-not-drop; related to the NATed flow for IPv4), and the host's
//!   kernel lowers its route MTU. With the WAN at MTU 1400, the SYNs the
//!   ISP sees carry an MSS clamped to it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

mod firewall_common;
use firewall_common::*;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Dhcp4Lease, Family, IpoeTopology, IspOptions, Kea4Options, KeaOptions, Lab, Netns, Route,
    TopologyOptions, Udhcpc, UdhcpcOptions, VethEnd, plan,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde_json::Value;

/// The router's IPv4 address on the WAN, once leased from Kea.
fn wan_v4(router: &Router) -> Ipv4Addr {
    router
        .wait_status("the WAN's DHCPv4 address", BRING_UP, |s| {
            s["wan"]["addresses"].as_array()?.iter().find_map(|a| {
                let net: Ipv4Net = a.as_str()?.parse().ok()?;
                plan::ISP_LINK_PREFIX_V4
                    .contains(&net.addr())
                    .then_some(net.addr())
            })
        })
        .unwrap()
}

/// The router with the firewall's ruleset in and forwarding on.
fn firewall_active(router: &Router) -> Value {
    router
        .wait_status("the firewall active, forwarding on", BRING_UP, |s| {
            let f = firewall(s)?;
            (f["state"] == "active" && f["forwarding"] == "on").then(|| s.clone())
        })
        .unwrap()
}

/// The host's IPv4 lease from our DHCPv4 server, applied to `eth0`.
fn host_v4(topo: &IpoeTopology) -> (Udhcpc, Dhcp4Lease) {
    let client = Udhcpc::start(&topo.host, &UdhcpcOptions::host()).unwrap();
    let lease = client.wait_for_lease(BRING_UP).unwrap();
    // The script records the lease before it applies it.
    topo.host
        .wait_for_route(Family::V4, BRING_UP, Route::is_default)
        .unwrap();
    (client, lease)
}

/// Starts the ISP with Kea DHCPv4 next to the IPv6 peers, and the router.
fn start(lab: &Lab, config: &str) -> (IpoeTopology, cpe_lab::Isp, Router) {
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let isp = topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions::default()),
            kea4: Some(Kea4Options::default()),
            dns: Vec::new(),
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    let router = Router::start(&topo.router, config).unwrap();
    (topo, isp, router)
}

#[test]
fn ipv4_lan_host_reaches_the_isp_through_the_masquerade_and_inbound_is_dropped() {
    let lab = Lab::new("fw_nat44").unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let (topo, _isp, router) = start(&lab, &source);
    let wan = wan_v4(&router);
    assert!(
        (plan::V4_POOL_START..=plan::V4_POOL_END).contains(&wan),
        "{wan}"
    );
    firewall_active(&router);
    let (_udhcpc, lease) = host_v4(&topo);
    let host = lease.ip.unwrap();
    assert_eq!(lease.routers.first(), Some(&Ipv4Addr::new(192, 168, 1, 1)));

    // TCP: the ISP's server sees the WAN address, data flows both ways.
    let server = listen_tcp(&topo.isp, 8080);
    let isp_v4 = IpAddr::V4(plan::ISP_ADDR_V4);
    let to_isp = SocketAddr::new(isp_v4, 8080);
    let client = topo
        .host
        .run(move || {
            let mut s = TcpStream::connect_timeout(&to_isp, Duration::from_secs(3)).unwrap();
            s.write_all(b"hello").unwrap();
            s
        })
        .unwrap();
    let (mut conn, peer) = server.accept().unwrap();
    assert_eq!(peer.ip().to_canonical(), IpAddr::V4(wan), "TCP source");
    let mut buf = [0u8; 16];
    conn.read_exact(&mut buf[..5]).unwrap();
    conn.write_all(b"back").unwrap();
    let mut client = client;
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    client.read_exact(&mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], b"back");

    // UDP: same source, and the reply comes back to the host.
    let udp_server = bind_udp(&topo.isp, 9998);
    udp_server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let host_udp = bind_udp(&topo.host, 0);
    host_udp
        .send_to(b"out", SocketAddr::new(isp_v4, 9998))
        .unwrap();
    let (_, peer) = udp_server.recv_from(&mut buf).unwrap();
    assert_eq!(peer.ip().to_canonical(), IpAddr::V4(wan), "UDP source");
    udp_server.send_to(b"back", peer).unwrap();
    host_udp
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert!(host_udp.recv_from(&mut buf).is_ok(), "UDP reply");

    // Unsolicited from the ISP, even with a route to the LAN subnet via
    // the WAN address: dropped, silently (listeners are there).
    topo.isp
        .replace_route(
            IpNet::V4(Ipv4Net::new(Ipv4Addr::new(192, 168, 1, 0), 24).unwrap()),
            Some(IpAddr::V4(wan)),
            Some(plan::ISP_IF),
        )
        .unwrap();
    let _l8081 = listen_tcp(&topo.host, 8081);
    assert_eq!(
        connect(&topo.isp, SocketAddr::new(IpAddr::V4(host), 8081)),
        Err(std::io::ErrorKind::TimedOut)
    );
    let udp = bind_udp(&topo.host, 9999);
    assert!(!udp_arrives(
        &topo.isp,
        &udp,
        SocketAddr::new(IpAddr::V4(host), 9999)
    ));

    // DNS and the DHCPv4 server are closed on the WAN address.
    let wan_ip = IpAddr::V4(wan);
    assert_eq!(
        connect(&topo.isp, SocketAddr::new(wan_ip, 53)),
        Err(std::io::ErrorKind::TimedOut)
    );
    assert_eq!(any_udp_answer(&topo.isp, wan_ip, &[53, 67]), None);

    let st = router
        .wait_status("IPv4 drops counted", Duration::from_secs(15), |s| {
            (counter(s, "drop_wan_inbound") >= 2 && counter(s, "drop_wan_input") >= 3)
                .then(|| s.clone())
        })
        .unwrap();
    eprintln!("drops: {}", firewall(&st).unwrap()["drops"]);
}

/// The far server behind the ISP, over a 1280-byte link.
const FAR_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xf00, 0, 0, 0, 0, 2);
const FAR_GW_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xf00, 0, 0, 0, 0, 1);
const FAR_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
const FAR_GW_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const FAR_MTU: &str = "1280";
/// The WAN's MTU (as on PPPoE, lower than the LAN's 1500).
const WAN_MTU: u32 = 1400;

/// `far` behind the ISP: `isp:far0 -- far:eth0`, both at [`FAR_MTU`].
fn far_side(lab: &Lab, isp: &Netns) -> Netns {
    let far = lab.netns("far").unwrap();
    far.sysctls_set(&[
        ("net.ipv6.conf.all.accept_dad", "0"),
        ("net.ipv6.conf.default.accept_dad", "0"),
    ])
    .unwrap();
    lab.veth(
        VethEnd::new(isp, "far0", "02:00:00:00:05:01"),
        VethEnd::new(&far, "eth0", "02:00:00:00:05:02"),
    )
    .unwrap();
    let ends = [
        (isp, "far0", FAR_GW_V6, FAR_GW_V4),
        (&far, "eth0", FAR_V6, FAR_V4),
    ];
    for (ns, ifname, v6, v4) in ends {
        ns.ip(&["link", "set", ifname, "mtu", FAR_MTU]).unwrap();
        ns.add_address(ifname, IpNet::V6(Ipv6Net::new(v6, 64).unwrap()))
            .unwrap();
        ns.add_address(ifname, IpNet::V4(Ipv4Net::new(v4, 24).unwrap()))
            .unwrap();
        ns.link_up(ifname).unwrap();
    }
    far.ip(&["route", "add", "default", "via", &FAR_GW_V4.to_string()])
        .unwrap();
    far.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        &FAR_GW_V6.to_string(),
    ])
    .unwrap();
    // Every error is sent: this test is about the firewall, not about the
    // ISP's ICMP rate limits.
    isp.sysctls_set(&[
        ("net.ipv4.icmp_ratelimit", "0"),
        ("net.ipv6.icmp.ratelimit", "0"),
    ])
    .unwrap();
    far
}

/// Pings `to` from the host with DF set and 1300 bytes of payload (fits
/// the WAN, not the far link), then returns the host's route to it.
fn pmtu_probe(host: &Netns, family: &str, to: IpAddr) -> String {
    let ping = host
        .exec_timeout(
            &[
                "ping",
                family,
                "-M",
                "do",
                "-s",
                "1300",
                "-c",
                "3",
                "-i",
                "0.3",
                "-W",
                "1",
                &to.to_string(),
            ],
            Duration::from_secs(10),
        )
        .unwrap();
    let route = host.ip(&[family, "route", "get", &to.to_string()]).unwrap();
    format!("{}{}\n{}", ping.stdout, ping.stderr, route.stdout)
}

/// The MSS option of every SYN (not SYN-ACK) in tcpdump's decoding.
fn syn_mss(decoded: &str) -> Vec<u32> {
    decoded
        .split("Flags [S],")
        .skip(1)
        .filter_map(|rest| {
            let at = rest.find("mss ")?;
            let digits: String = rest[at + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn path_mtu_errors_reach_the_lan_host_and_syns_leave_with_a_clamped_mss() {
    let lab = Lab::new("fw_pmtu").unwrap();
    // The WAN at 1400 bytes; no MTU option in the LAN's RAs, so the host
    // keeps 1500 for IPv6 too and only the clamp can lower its MSS.
    let source = std::fs::read_to_string(repo_file("config/default.toml"))
        .unwrap()
        .replacen(
            "mode = \"ipoe\"",
            &format!("mtu = {WAN_MTU}\nmode = \"ipoe\""),
            1,
        )
        .replacen("[lan.ra]\n", "[lan.ra]\nmtu = \"off\"\n", 1);
    let (topo, _isp, router) = start(&lab, &source);
    let _far = far_side(&lab, &topo.isp);
    wan_v4(&router);
    firewall_active(&router);
    let lan64 = delegated_lan(&router);
    host_address_in(&topo.host, lan64);
    topo.host.wait_for_default_route_v6(BRING_UP).unwrap();
    let (_udhcpc, _lease) = host_v4(&topo);
    assert_eq!(
        topo.router.sysctl_get("net.ipv6.conf.wan0.mtu").unwrap(),
        WAN_MTU.to_string()
    );

    // ICMPv6 Packet Too Big from the ISP reaches the host (RFC 4890 4.3.1)
    // and its kernel takes the far link's MTU for the route.
    let v6 = pmtu_probe(&topo.host, "-6", IpAddr::V6(FAR_V6));
    assert!(v6.contains("mtu 1280"), "no Packet Too Big applied:\n{v6}");
    // ICMPv4 Fragmentation Needed, to the WAN address, translated back to
    // the host by the NAT (related to the host's flow).
    let v4 = pmtu_probe(&topo.host, "-4", IpAddr::V4(FAR_V4));
    assert!(v4.contains("mtu 1280"), "no Frag Needed applied:\n{v4}");

    // SYNs from the host (MSS 1460 / 1440 for its 1500-byte LAN) leave
    // the WAN with the MSS its 1400 bytes allow. (Without the clamp the
    // ISP sees [1440, 1460].)
    let capture = topo
        .isp
        .capture(plan::ISP_IF, &["tcp", "port", "8080"])
        .unwrap();
    let _server = listen_tcp(&topo.isp, 8080);
    for to in [IpAddr::V4(plan::ISP_ADDR_V4), IpAddr::V6(plan::ISP_ADDR)] {
        assert_eq!(connect(&topo.host, SocketAddr::new(to, 8080)), Ok(()));
    }
    let decoded = capture.stop_and_decode().unwrap();
    let mut mss = syn_mss(&decoded);
    mss.sort_unstable();
    assert_eq!(
        mss,
        [WAN_MTU - 60, WAN_MTU - 40],
        "SYN MSS seen by the ISP:\n{decoded}"
    );
}
