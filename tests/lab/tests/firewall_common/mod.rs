//! Helpers shared by the firewall lab tests (`firewall.rs`,
//! `firewall_nat.rs`): status lookups and plain-socket probes.

#![allow(dead_code)] // each test file uses part of it

use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use cpe_lab::router::RouterUnderTest as Router;
use cpe_lab::{Netns, plan};
use ipnet::Ipv6Net;
use serde_json::Value;

pub const BRING_UP: Duration = Duration::from_secs(20);

pub fn firewall(status: &Value) -> Option<&Value> {
    status["daemon_status"].get("firewall")
}

pub fn counter(status: &Value, name: &str) -> u64 {
    firewall(status).unwrap()["drops"][name]["packets"]
        .as_u64()
        .unwrap_or(0)
}

pub fn delegated_lan(router: &Router) -> Ipv6Net {
    router
        .wait_status("a delegated /64 on the LAN", BRING_UP, |s| {
            s["lan"][0]["prefixes"].as_array()?.iter().find_map(|p| {
                (p["origin"] == "delegated" && p["deprecated"] != true)
                    .then(|| p["prefix"].as_str()?.parse().ok())
                    .flatten()
            })
        })
        .unwrap()
}

/// The host's usable (not tentative) address in `prefix`.
pub fn host_address_in(host: &Netns, prefix: Ipv6Net) -> Ipv6Addr {
    let a = host
        .wait_for_address(plan::HOST_IF, BRING_UP, |a| {
            matches!(a.addr(), IpAddr::V6(v6) if prefix.contains(&v6)) && !a.tentative
        })
        .unwrap();
    match a.addr() {
        IpAddr::V6(v6) => v6,
        IpAddr::V4(_) => unreachable!("filtered to IPv6 above"),
    }
}

/// A TCP connection attempt from `ns`: Ok = connected, Err = the error kind.
pub fn connect(ns: &Netns, to: SocketAddr) -> Result<(), std::io::ErrorKind> {
    ns.run(move || {
        TcpStream::connect_timeout(&to, Duration::from_millis(1500))
            .map(drop)
            .map_err(|e| e.kind())
    })
    .unwrap()
}

/// A TCP listener on every address of `ns` (IPv6 and IPv4).
pub fn listen_tcp(ns: &Netns, port: u16) -> TcpListener {
    ns.run(move || TcpListener::bind(("::", port)).unwrap())
        .unwrap()
}

/// A UDP socket on every address of `ns` (IPv6 and IPv4).
pub fn bind_udp(ns: &Netns, port: u16) -> UdpSocket {
    ns.run(move || UdpSocket::bind(("::", port)).unwrap())
        .unwrap()
}

/// Whether a datagram sent from `from` to `to` arrives on `socket`.
pub fn udp_arrives(from: &Netns, socket: &UdpSocket, to: SocketAddr) -> bool {
    socket
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    from.run(move || {
        let s = UdpSocket::bind(("::", 0)).unwrap();
        s.send_to(b"unsolicited", to).unwrap();
    })
    .unwrap();
    let mut buf = [0u8; 64];
    socket.recv_from(&mut buf).is_ok()
}

/// Whether any of `ports` of `to` answers a 12-byte UDP datagram from `ns`
/// within 800 ms (a closed service answers nothing, not even an error).
pub fn any_udp_answer(ns: &Netns, to: IpAddr, ports: &[u16]) -> Option<u16> {
    let probe = bind_udp(ns, 0);
    probe
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let mut buf = [0u8; 64];
    ports.iter().copied().find(|&port| {
        probe
            .send_to(&[0u8; 12], SocketAddr::new(to, port))
            .unwrap();
        probe.recv_from(&mut buf).is_ok()
    })
}
