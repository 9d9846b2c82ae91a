//! Socket setup for the forwarder.
//!
//! Listening sockets: one per address family and interface, IPv6 ones with
//! IPV6_V6ONLY so an IPv4 client never appears as `::ffff:a.b.c.d`, bound to
//! the interface with SO_BINDTODEVICE so a packet that reaches the router on
//! the WAN never reaches the forwarder, whatever address it is sent to and
//! whether or not the firewall is loaded. IP_PKTINFO / IPV6_RECVPKTINFO give
//! the address a query was sent to, so the answer leaves from that address
//! and `self` resolves to it.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

pub use cpe_sys::socket::batch::{BATCH, Outgoing, RecvBatch, recv_batch, send_batch};
pub use cpe_sys::socket::{ifindex, raise_open_file_limit as raise_fd_limit};

fn base_socket(
    addr: SocketAddr,
    ty: Type,
    proto: Protocol,
    device: Option<&str>,
) -> io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    if let Some(dev) = device {
        cpe_sys::socket::bind_to_device(&sock, dev)?;
    }
    sock.set_nonblocking(true)?;
    Ok(sock)
}

/// A UDP listening socket with packet-info reception enabled.
pub fn udp_listener(addr: SocketAddr, device: Option<&str>) -> io::Result<tokio::net::UdpSocket> {
    let sock = base_socket(addr, Type::DGRAM, Protocol::UDP, device)?;
    cpe_sys::socket::enable_pktinfo(sock.as_raw_fd(), addr.is_ipv6())?;
    // Room for bursts while the loop is busy: 1 MiB (SO_RCVBUFFORCE as root,
    // else whatever rmem_max allows).
    let _ = cpe_sys::sockbuf::set_recv_buffer(sock.as_raw_fd(), 1 << 20);
    sock.bind(&SockAddr::from(addr))?;
    tokio::net::UdpSocket::from_std(sock.into())
}

/// A TCP listening socket.
pub fn tcp_listener(addr: SocketAddr, device: Option<&str>) -> io::Result<tokio::net::TcpListener> {
    let sock = base_socket(addr, Type::STREAM, Protocol::TCP, device)?;
    sock.bind(&SockAddr::from(addr))?;
    sock.listen(128)?;
    tokio::net::TcpListener::from_std(sock.into())
}

/// A UDP socket for one upstream attempt: bound to `port` (random, chosen by
/// the engine; the kernel picks one if it is taken) and connected to the
/// upstream, so the kernel drops datagrams from any other source and an ICMP
/// port unreachable surfaces as ECONNREFUSED (host and network unreachable
/// as EHOSTUNREACH / ENETUNREACH, with IP_RECVERR).
pub fn upstream_udp(port: u16, upstream: SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    // Non-blocking from socket() on: one system call fewer per query. No
    // IPV6_V6ONLY here: the socket is connected to one IPv6 upstream.
    let sock = Socket::new(
        Domain::for_address(upstream),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )?;
    let any: IpAddr = if upstream.is_ipv6() {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    if sock
        .bind(&SockAddr::from(SocketAddr::new(any, port)))
        .is_err()
    {
        sock.bind(&SockAddr::from(SocketAddr::new(any, 0)))?;
    }
    // Host and network unreachable fail the receive at once too, not only
    // port unreachable: a dead upstream is known within one round trip.
    cpe_sys::icmp_errors::report_icmp_errors(sock.as_raw_fd(), upstream.is_ipv6())?;
    sock.connect(&SockAddr::from(upstream))?;
    tokio::net::UdpSocket::from_std(sock.into())
}
