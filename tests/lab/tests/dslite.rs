//! DS-Lite end to end (RFC 6333, RFC 6334): `cpe run` with
//! `config/default.toml` plus `[wan.ipv4_over_ipv6] mode = "dslite"`
//! against the emulated ISP, whose Kea hands out AFTR-Name (option 64)
//! `aftr.test` and whose Unbound resolves it to the ISP's address.
//!
//! Always checked: the router asks for option 64, takes the name from
//! Kea's Reply, resolves it at the ISP's DNS server, and reports the AFTR
//! (name, source, address) in `cpectl show wan`'s status.
//!
//! Then, on a kernel with ip6tnl (CONFIG_IPV6_TUNNEL): the ISP runs the
//! AFTR (an ip6tnl endpoint, 192.0.0.1/29, nft masquerade toward a server
//! namespace behind it); a LAN host reaches the server over TCP and ping
//! through the router's softwire, and the server sees the AFTR's address.
//! The router does not NAT on the softwire: the AFTR sees the host's own
//! address inside the tunnel. On a kernel without ip6tnl the router must
//! say so: state `failed` with the kernel's refusal as the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

mod firewall_common;
use firewall_common::*;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use cpe_lab::plan::ISP_ADDR;
use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Family, IspOptions, KeaOptions, Lab, Netns, Route, TopologyOptions, Udhcpc, UdhcpcOptions,
    UnboundOptions, VethEnd, plan,
};
use ipnet::{IpNet, Ipv4Net};
use serde_json::Value;

/// The IPv4 server behind the AFTR, and the AFTR's address toward it.
const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const AFTR_PUBLIC_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// Whether this kernel can make an ip6tnl link (probed in `ns`).
fn kernel_has_ip6tnl(ns: &Netns) -> bool {
    let made = ns
        .ip(&["link", "add", "probe6", "type", "ip6tnl", "mode", "ipip6"])
        .is_ok_and(|o| o.success());
    if made {
        let _ = ns.ip(&["link", "del", "probe6"]);
    }
    made
}

/// The router's softwire status once the AFTR is resolved and the tunnel
/// was tried.
fn softwire_tried(router: &Router) -> Value {
    router
        .wait_status(
            "DS-Lite past the AFTR lookup",
            Duration::from_secs(40),
            |s| {
                let d = &s["daemon_status"]["wan"]["ipv4_over_ipv6"];
                matches!(d["state"].as_str()?, "up" | "failed").then(|| d.clone())
            },
        )
        .unwrap()
}

/// The AFTR in the ISP namespace: ip6tnl from the ISP's address to the
/// router's `b4`, 192.0.0.1/29, the LAN's IPv4 routed into the tunnel, and
/// NAT44 toward `server` (a namespace behind `isp:srv0`).
fn aftr(lab: &Lab, isp: &Netns, b4: &str) -> Netns {
    isp.ip(&[
        "link",
        "add",
        "aftr0",
        "type",
        "ip6tnl",
        "mode",
        "ipip6",
        "local",
        &ISP_ADDR.to_string(),
        "remote",
        b4,
        "encaplimit",
        "none",
    ])
    .unwrap();
    isp.add_address(
        "aftr0",
        IpNet::V4(Ipv4Net::new(Ipv4Addr::new(192, 0, 0, 1), 29).unwrap()),
    )
    .unwrap();
    isp.link_up("aftr0").unwrap();
    isp.ip(&["route", "add", "192.168.0.0/16", "dev", "aftr0"])
        .unwrap();
    isp.sysctl_set("net.ipv4.ip_forward", "1").unwrap();
    let server = lab.netns("v4srv").unwrap();
    lab.veth(
        VethEnd::new(isp, "srv0", "02:00:00:00:06:01"),
        VethEnd::new(&server, "eth0", "02:00:00:00:06:02"),
    )
    .unwrap();
    for (ns, ifname, v4) in [(isp, "srv0", AFTR_PUBLIC_V4), (&server, "eth0", SERVER_V4)] {
        ns.add_address(ifname, IpNet::V4(Ipv4Net::new(v4, 24).unwrap()))
            .unwrap();
        ns.link_up(ifname).unwrap();
    }
    server
        .ip(&[
            "route",
            "add",
            "default",
            "via",
            &AFTR_PUBLIC_V4.to_string(),
        ])
        .unwrap();
    let nft = "table ip aftr { chain post { type nat hook postrouting priority 100; \
               oifname \"srv0\" ip saddr 192.168.0.0/16 masquerade; } }";
    isp.exec_ok(&["nft", nft]).unwrap();
    server
}

#[test]
fn lan_host_reaches_an_ipv4_server_through_the_aftr() {
    let lab = Lab::new("dslite").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let mut dns = UnboundOptions::upstream_a();
    dns.extra_records.push(format!("aftr IN AAAA {ISP_ADDR}"));
    let _isp = topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions {
                aftr_name: Some("aftr.test".into()),
                ..KeaOptions::default()
            }),
            dns: vec![dns],
            ..IspOptions::default()
        })
        .unwrap();
    topo.route_delegated_prefix(plan::PD_POOL).unwrap();
    let base = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let config = format!("{base}\n[wan.ipv4_over_ipv6]\nmode = \"dslite\"\n");
    let router = Router::start(&topo.router, &config).unwrap();

    let d = softwire_tried(&router);
    assert_eq!(d["aftr"], "aftr.test", "{d}");
    assert_eq!(d["aftr_source"], "dhcpv6", "{d}");
    assert_eq!(d["aftr_address"], ISP_ADDR.to_string(), "{d}");
    let show = router.cpectl(&["show", "wan"]).unwrap();
    let show = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(show.contains("aftr aftr.test (dhcpv6)"), "{show}");
    eprintln!("cpectl show wan:\n{show}");
    let why = router.cpectl(&["why"]).unwrap();
    eprintln!("cpectl why:\n{}", String::from_utf8_lossy(&why.stdout));

    if !kernel_has_ip6tnl(&topo.isp) {
        assert_eq!(d["state"], "failed", "{d}");
        let why = d["reason"].as_str().unwrap_or_default();
        assert!(why.starts_with("tunnel not created: "), "{d}");
        eprintln!("this kernel has no ip6tnl: data path not exercised ({why})");
        return;
    }
    assert_eq!(d["state"], "up", "{d}");
    assert_eq!(d["mtu"], 1460, "{d}");
    let b4 = d["local"].as_str().unwrap().to_owned();
    let server = aftr(&lab, &topo.isp, &b4);

    let _udhcpc = Udhcpc::start(&topo.host, &UdhcpcOptions::host()).unwrap();
    topo.host
        .wait_for_route(Family::V4, BRING_UP, Route::is_default)
        .unwrap();

    // Ping the server from the LAN host through both NATs-that-are-not:
    // the router forwards into the softwire, the AFTR translates.
    let ping = topo
        .host
        .exec(&["ping", "-c", "2", "-W", "2", &SERVER_V4.to_string()])
        .unwrap();
    assert!(ping.success(), "ping: {}", ping.stderr);

    // TCP: the server sees the AFTR's public address.
    let listener = listen_tcp(&server, 8080);
    let to = SocketAddr::new(IpAddr::V4(SERVER_V4), 8080);
    let mut client = topo
        .host
        .run(move || {
            let mut s = TcpStream::connect_timeout(&to, Duration::from_secs(3)).unwrap();
            s.write_all(b"hello").unwrap();
            s
        })
        .unwrap();
    let (mut conn, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip().to_canonical(), IpAddr::V4(AFTR_PUBLIC_V4));
    let mut buf = [0u8; 8];
    conn.read_exact(&mut buf[..5]).unwrap();
    conn.write_all(b"back").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    client.read_exact(&mut buf[..4]).unwrap();
    assert_eq!(&buf[..4], b"back");
}
