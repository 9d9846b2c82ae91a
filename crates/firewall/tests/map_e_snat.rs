//! MAP-E SNAT on this host's kernel: LAN IPv4 leaving `map0` reaches a
//! server with only the shared IPv4 address and only source ports (and
//! ICMP identifiers) of our port set.
//!
//! The tunnel is NOT in the path here: the CI host's kernel has no
//! ip6tnl, so `map0` is an ordinary veth toward the server's namespace,
//! standing in for the tunnel, and carries the firewall's MAP-E SNAT as
//! the router installs it (compiled from a `mode = "map-e"` config and the
//! mapping `cpe_bus::map_e::in_force` computes, committed over netlink).
//! The whole path through an ip6tnl to a BR runs in the QEMU ISP guest.
//! Needs root (namespaces, nf_tables).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use cpe_firewall::{MapSnat, Policy, Snapshot, compile};
use cpe_sys::netlink::nftables::Nftables;
use socket2::{Domain, Protocol, Socket, Type};

mod common;
use common::{Ns, veth};

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const TCP_FLOWS: usize = 300;
const UDP_FLOWS: usize = 60;
const PINGS: usize = 8;

fn policy() -> Policy {
    let text = "[wan]\ninterface = \"wan0\"\n[wan.ipv4_over_ipv6]\nmode = \"map-e\"\n\
                rule_ipv6_prefix = \"2001:db8::/40\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\n\
                ea_bits = 12\npsid_offset = 6\nbr = \"2001:db8:ffff::1\"\n\
                [[lan]]\ninterface = \"br0\"\n[lan.ipv4]\naddress = \"192.168.1.1/24\"\n";
    Policy::from_config(&cpe_config::parse_str(text, "t.toml").unwrap().config)
}

/// The mapping of delegated prefix 2001:db8:12:3000::/52 under the rule
/// above: EA bits 0x123, so 192.0.2.18 with the 4-bit PSID 3: 63 ranges of
/// 64 ports (4032 ports, enough for a few hundred flows to one server).
fn mapping() -> cpe_bus::map_e::InForce {
    let text = "[wan]\n[wan.ipv4_over_ipv6]\nmode = \"map-e\"\n\
                rule_ipv6_prefix = \"2001:db8::/40\"\nrule_ipv4_prefix = \"192.0.2.0/24\"\n\
                ea_bits = 12\npsid_offset = 6\nbr = \"2001:db8:ffff::1\"\n[[lan]]\n";
    let cfg = cpe_config::parse_str(text, "t.toml").unwrap().config;
    let f = cpe_bus::map_e::in_force(
        cfg.wan.ipv4_over_ipv6.map_rule.as_ref(),
        None,
        &["2001:db8:12:3000::/52".parse().unwrap()],
    )
    .unwrap();
    assert_eq!(
        (f.mapping.ipv4, f.mapping.psid),
        (Ipv4Addr::new(192, 0, 2, 18), 3)
    );
    f
}

#[test]
fn lan_ipv4_leaves_map0_with_the_shared_address_and_only_our_ports() {
    let started = Instant::now();
    let m = mapping().mapping;
    let (lan, rtr, srv) = (Ns::new("mlan"), Ns::new("mrtr"), Ns::new("msrv"));
    veth(&lan, "eth0", &rtr, "br0");
    veth(&rtr, "map0", &srv, "isp0");
    lan.exec(&["ip", "addr", "add", "192.168.1.100/24", "dev", "eth0"]);
    lan.exec(&["ip", "route", "add", "default", "via", "192.168.1.1"]);
    rtr.exec(&["ip", "addr", "add", "192.168.1.1/24", "dev", "br0"]);
    // As the MAP-E driver sets map0 up: the shared address as a /32, the
    // IPv4 default route into it.
    rtr.exec(&["ip", "addr", "add", "192.0.2.18/32", "dev", "map0"]);
    rtr.exec(&["ip", "route", "add", "default", "dev", "map0"]);
    rtr.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    srv.exec(&["ip", "addr", "add", "198.51.100.1/32", "dev", "isp0"]);
    srv.exec(&["ip", "route", "add", "default", "dev", "isp0"]);
    // A veth has ARP where the tunnel has none: answer for everyone.
    rtr.exec(&["sysctl", "-qw", "net.ipv4.conf.map0.proxy_arp=1"]);
    srv.exec(&["sysctl", "-qw", "net.ipv4.conf.isp0.proxy_arp=1"]);

    let snap = Snapshot {
        current: vec!["2001:db8:12:3001::/64".parse().unwrap()],
        map_e: Some(MapSnat {
            ipv4: m.ipv4,
            ports: m
                .port_ranges()
                .into_iter()
                .map(|r| (*r.start(), *r.end()))
                .collect(),
        }),
        ..Snapshot::default()
    };
    let batch = compile(&policy(), &snap).batch();
    rtr.run(move || Nftables::open().unwrap().commit(&batch).unwrap());

    let listener = srv.run(|| TcpListener::bind((SERVER, 8080)).unwrap());
    let udp = srv.run(|| UdpSocket::bind((SERVER, 9999)).unwrap());
    let icmp = srv.run(|| Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).unwrap());
    icmp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();

    let accept = std::thread::spawn(move || {
        let mut peers = Vec::new();
        for _ in 0..TCP_FLOWS {
            let (mut s, peer) = listener.accept().unwrap();
            let _ = s.write_all(b"k");
            peers.push(peer);
        }
        peers
    });
    let clients = lan.spawn(|| {
        let mut kept = Vec::new();
        for i in 0..TCP_FLOWS {
            let mut s = TcpStream::connect_timeout(
                &SocketAddr::from((SERVER, 8080)),
                Duration::from_secs(5),
            )
            .unwrap_or_else(|e| panic!("TCP connection {i}: {e}"));
            let mut b = [0u8; 1];
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.read_exact(&mut b).unwrap();
            kept.push(s);
        }
        for i in 0..UDP_FLOWS {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
            s.send_to(format!("{i}").as_bytes(), (SERVER, 9999))
                .unwrap();
        }
        kept.len()
    });
    let tcp_peers = accept.join().unwrap();
    assert_eq!(clients.join().unwrap(), TCP_FLOWS);
    let mut udp_peers = Vec::new();
    let mut buf = [0u8; 64];
    while udp_peers.len() < UDP_FLOWS {
        let (_, peer) = udp.recv_from(&mut buf).expect("UDP datagram at the server");
        udp_peers.push(peer);
    }
    // Each ping process is its own ICMP flow (its own identifier).
    for _ in 0..PINGS {
        lan.exec(&["ping", "-n", "-q", "-c", "1", "-W", "2", "198.51.100.1"]);
    }
    let mut icmp_ids = Vec::new();
    let mut raw = [0u8; 1500];
    while let Ok(n) = (&icmp).read(&mut raw) {
        let ihl = usize::from(raw[0] & 0x0f) * 4;
        let src = Ipv4Addr::new(raw[12], raw[13], raw[14], raw[15]);
        // Echo requests only (the raw socket also sees the replies'
        // copies of nothing: replies leave, they do not arrive).
        if n >= ihl + 8 && raw[ihl] == 8 {
            icmp_ids.push((src, u16::from_be_bytes([raw[ihl + 4], raw[ihl + 5]])));
        }
    }

    let mut ranges_used = BTreeSet::new();
    for (what, peers) in [("TCP", &tcp_peers), ("UDP", &udp_peers)] {
        for p in peers.iter() {
            assert_eq!(p.ip(), std::net::IpAddr::V4(m.ipv4), "{what} source {p}");
            assert!(
                p.port() >= 1024 && m.has_port(p.port()),
                "{what} source port {} is not ours",
                p.port()
            );
            ranges_used.insert(p.port() >> 10);
        }
    }
    assert_eq!(icmp_ids.len(), PINGS, "{icmp_ids:?}");
    for (src, id) in &icmp_ids {
        assert_eq!(*src, m.ipv4);
        assert!(m.has_port(*id), "ICMP identifier {id} is not in our set");
    }
    // Flows are spread over the ranges, not piled into the first one.
    assert!(ranges_used.len() > 40, "only ranges {ranges_used:?} used");
    eprintln!(
        "{TCP_FLOWS} TCP, {UDP_FLOWS} UDP, {PINGS} ICMP flows, {} of 63 ranges used, in {:?}",
        ranges_used.len(),
        started.elapsed()
    );
}
