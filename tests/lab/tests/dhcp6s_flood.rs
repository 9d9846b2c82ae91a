//! Issue 9 item 2: a burst of Information-Requests from spoofed link-local
//! sources must not stall the stateless DHCPv6 server.
//!
//! Every reply to a spoofed source waits in the router's neighbour queue
//! (nobody answers Neighbour Discovery for it) and is charged to the
//! server's send buffer for ~3 s. A server that waits for room to send
//! stops reading while the burst lasts, and an honest client waits
//! seconds for its Reply. Here the LAN host sends such a burst
//! (IPV6_FREEBIND lets it use source addresses it does not have; the
//! traffic stays on the lab's LAN link), an honest Information-Request
//! from its real link-local goes out in the middle, and the burst goes on
//! until the server's send buffer overflows. The honest Reply must arrive
//! within [`HONEST_BOUND`], every request must be read (the loop never
//! waited), and the replies that did not fit must be counted in
//! `cpectl show dhcp6s`.
//!
//! Needs root and a `cpe` binary with the dhcp6s daemon (`$CPE_BIN` or
//! next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use cpe_lab::router::RouterUnderTest as Router;
use cpe_lab::{Lab, TopologyOptions, plan};
use serde_json::Value;

const CONFIG: &str = r#"
[wan]
interface = "wan0"
mode = "ipoe"
ipv4 = false

[[lan]]
interface = "br0"
subnet_id = 1
ula = false
ipv4 = false

[lan.dhcpv6]
mode = "stateless"
dns = ["2001:db8:53::1"]

[dns]
enabled = false

[firewall]
enabled = false
"#;

/// Spoofed requests sent before the honest one (the burst of the issue).
const BEFORE: u32 = 400;
/// Spoofed requests sent after it from the same sources, enough to
/// overflow the server's send buffer.
const AFTER: u32 = 2600;
/// Pause between spoofed requests: 0.5 ms, i.e. 400 in 0.2 s.
const GAP: Duration = Duration::from_micros(500);
/// The honest client's Reply must come within this (RFC 8415 INF_TIMEOUT
/// is 1 s: later than that and a real client has already retransmitted).
const HONEST_BOUND: Duration = Duration::from_secs(1);

/// The server's status object (`cpectl show dhcp6s`).
fn dhcp6s(status: &Value) -> &Value {
    &status["daemon_status"]["dhcp6s"]["lans"][0]
}

/// An Information-Request with transaction id `xid`, a DUID-LL client id
/// made of `mac` and an ORO asking for DNS (option 23).
fn information_request(xid: u32, mac: [u8; 6]) -> Vec<u8> {
    let mut m = vec![11];
    m.extend_from_slice(&xid.to_be_bytes()[1..]);
    m.extend_from_slice(&[0, 1, 0, 10, 0, 3, 0, 1]);
    m.extend_from_slice(&mac);
    m.extend_from_slice(&[0, 6, 0, 2, 0, 23]);
    m
}

fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).unwrap();
    // SAFETY: a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert_ne!(i, 0, "no interface {name}");
    i
}

fn set_int(fd: i32, level: i32, name: i32, value: i32) {
    // SAFETY: a pointer to a live i32 and its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

/// Sends `payload` to ff02::1:2 port 547 from `source` (not one of our
/// addresses: the socket has IPV6_FREEBIND) with IPV6_PKTINFO.
fn send_spoofed(sock: &UdpSocket, payload: &[u8], source: Ipv6Addr, ifindex: u32) {
    // SAFETY: all-zero is a valid sockaddr_in6 / msghdr.
    let mut to: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    to.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    to.sin6_port = 547u16.to_be();
    to.sin6_addr.s6_addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2).octets();
    to.sin6_scope_id = ifindex;
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut control = [0u64; 8];
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut to as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen =
        unsafe { libc::CMSG_SPACE(mem::size_of::<libc::in6_pktinfo>() as u32) } as _;
    // SAFETY: the control buffer is 64 octets, aligned, and larger than
    // one in6_pktinfo cmsg; the header is written through CMSG_FIRSTHDR.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::IPPROTO_IPV6;
        (*c).cmsg_type = libc::IPV6_PKTINFO;
        (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<libc::in6_pktinfo>() as u32) as _;
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: source.octets(),
            },
            ipi6_ifindex: ifindex,
        };
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>(), info);
    }
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, 0) };
    assert!(
        n >= 0,
        "sendmsg from {source}: {}",
        std::io::Error::last_os_error()
    );
}

/// A link-local address nobody on the link has (spoofed source `i`).
fn spoofed(i: u32) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0xdead, 0, (i >> 16) as u16, i as u16)
}

/// Counters of the kernel's UDPv6 statistics in the current namespace
/// (`/proc/net/snmp6`): `Udp6RcvbufErrors` and friends.
fn snmp6(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/net/snmp6").unwrap();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(char::is_whitespace)?;
            (k == key).then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

#[test]
fn spoofed_information_request_burst_does_not_stall_honest_clients() {
    let lab = Lab::new("dhcp6s-flood").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let router = Router::start(&topo.router, CONFIG).unwrap();
    router
        .wait_status("dhcp6s listening", Duration::from_secs(20), |s| {
            (dhcp6s(s)["listening"] == true).then_some(())
        })
        .unwrap();
    let rcvbuf_errors_before = topo.router.run(|| snmp6("Udp6RcvbufErrors")).unwrap();

    // The honest client: the host's real link-local, port 546.
    let host_if = ifindex_in(&topo.host);
    let honest = topo
        .host
        .run(move || {
            let sock = bind_retrying(SocketAddrV6::new(plan::HOST_LINK_LOCAL, 546, 0, host_if));
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            sock
        })
        .unwrap();
    let flood = topo
        .host
        .run(|| {
            let sock = UdpSocket::bind("[::]:0").unwrap();
            set_int(sock.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_FREEBIND, 1);
            sock
        })
        .unwrap();

    let started = Instant::now();
    let mut sent = 0u32;
    let pace = |n: u32, sent: &mut u32| {
        for _ in 0..n {
            // The first BEFORE requests come from as many sources; the rest
            // cycle over them (each source stays under the server's
            // per-source burst of 10, and both neighbour tables stay well
            // under their default limit of 1024 entries).
            let i = *sent % BEFORE;
            let mac = [0x02, 0xde, 0xad, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            send_spoofed(
                &flood,
                &information_request(*sent, mac),
                spoofed(i),
                host_if,
            );
            *sent += 1;
            let due = started + GAP * *sent;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    };
    pace(BEFORE, &mut sent);

    // The honest Information-Request, then the rest of the burst while we
    // wait for its Reply.
    let xid = 0x00c0_ffee;
    let asked = Instant::now();
    honest
        .send_to(
            &information_request(xid, [0x02, 0, 0, 0, 3, 1]),
            SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2), 547, 0, host_if),
        )
        .unwrap();
    let mut answered = None;
    let mut buf = [0u8; 1500];
    while sent < BEFORE + AFTER || answered.is_none() && asked.elapsed() < Duration::from_secs(8) {
        if answered.is_none()
            && let Ok((n, _)) = honest.recv_from(&mut buf)
            && n >= 4
            && buf[0] == 7
            && buf[1..4] == xid.to_be_bytes()[1..]
        {
            answered = Some(asked.elapsed());
        }
        if sent < BEFORE + AFTER {
            pace(40, &mut sent);
        }
    }
    let flood_time = started.elapsed();
    println!(
        "{sent} spoofed Information-Requests in {flood_time:?}; honest Reply after {answered:?}"
    );

    let answered = answered.expect("the honest client never got its Reply");
    assert!(
        answered < HONEST_BOUND,
        "honest Reply took {answered:?} (bound {HONEST_BOUND:?})"
    );
    let rcvbuf_errors =
        topo.router.run(|| snmp6("Udp6RcvbufErrors")).unwrap() - rcvbuf_errors_before;
    println!("kernel receive-buffer drops during the burst: {rcvbuf_errors}");
    assert_eq!(rcvbuf_errors, 0, "the server's receive queue overflowed");

    // Every request read and answered or counted: the replies that did
    // not fit the send buffer are counted by reason.
    let total = u64::from(sent) + 1;
    let counters = router
        .wait_status("every request counted", Duration::from_secs(5), |s| {
            let c = &dhcp6s(s)["counters"];
            (c["received"].as_u64()? >= total).then(|| c.clone())
        })
        .unwrap();
    println!("counters after the burst: {counters}");
    assert!(
        counters["unsent"]["send_buffer_full"].as_u64().unwrap_or(0) > 0,
        "replies that did not fit the send buffer are counted: {counters}"
    );
    let status = router.status().unwrap();
    let d = Router::daemon(&status, "dhcp6s").unwrap();
    assert_eq!(d["restarts"], 0, "the server never restarted: {d}");
}

/// The host interface's index, asked in the host's namespace.
fn ifindex_in(host: &cpe_lab::Netns) -> u32 {
    host.run(|| ifindex(plan::HOST_IF)).unwrap()
}

/// Binds `addr`, waiting for the address to finish DAD.
fn bind_retrying(addr: SocketAddrV6) -> UdpSocket {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match UdpSocket::bind(addr) {
            Ok(s) => return s,
            Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("cannot bind {addr}: {e}"),
        }
    }
}
