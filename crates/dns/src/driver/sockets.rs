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
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

/// Interface index of `name`, if it exists.
pub fn ifindex(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

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
        sock.bind_device(Some(dev.as_bytes()))?;
    }
    sock.set_nonblocking(true)?;
    Ok(sock)
}

/// A UDP listening socket with packet-info reception enabled.
pub fn udp_listener(addr: SocketAddr, device: Option<&str>) -> io::Result<tokio::net::UdpSocket> {
    let sock = base_socket(addr, Type::DGRAM, Protocol::UDP, device)?;
    let one: libc::c_int = 1;
    let (level, opt) = if addr.is_ipv6() {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    // SAFETY: valid fd, option value points to a c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            opt,
            (&one as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
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
/// port unreachable surfaces as ECONNREFUSED.
pub fn upstream_udp(port: u16, upstream: SocketAddr) -> io::Result<tokio::net::UdpSocket> {
    let sock = Socket::new(
        Domain::for_address(upstream),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if upstream.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
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
    sock.connect(&SockAddr::from(upstream))?;
    tokio::net::UdpSocket::from_std(sock.into())
}

/// Raises the open-file soft limit to the hard limit: every outstanding
/// upstream query holds its own socket.
pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit struct for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A received datagram's addressing.
#[derive(Debug, Clone, Copy)]
pub struct RecvInfo {
    /// Bytes received.
    pub len: usize,
    /// Sender.
    pub peer: SocketAddr,
    /// Destination address of the datagram.
    pub local: Option<IpAddr>,
    /// Interface it arrived on.
    pub iface: u32,
}

/// Enough aligned space for one IPv4 or IPv6 packet-info control message.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

fn sockaddr_to_std(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in = unsafe {
                std::ptr::read_unaligned((storage as *const libc::sockaddr_storage).cast())
            };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 = unsafe {
                std::ptr::read_unaligned((storage as *const libc::sockaddr_storage).cast())
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// recvmsg() with packet info. Non-blocking: WouldBlock when empty.
pub fn recv_pktinfo(fd: RawFd, buf: &mut [u8]) -> io::Result<RecvInfo> {
    // SAFETY: all-zero is a valid sockaddr_storage / msghdr.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: see above.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut storage as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len() as _;
    // SAFETY: msg points to live buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let peer = sockaddr_to_std(&storage)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown address family"))?;
    let mut local = None;
    let mut iface = 0;
    // SAFETY: CMSG_* walk the control buffer filled by the kernel, bounded by msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::IPPROTO_IP && h.cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                local = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    info.ipi_addr.s_addr,
                ))));
                iface = info.ipi_ifindex as u32;
            } else if h.cmsg_level == libc::IPPROTO_IPV6 && h.cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                local = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                iface = info.ipi6_ifindex;
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(RecvInfo {
        len: n as usize,
        peer,
        local,
        iface,
    })
}

/// sendmsg() from a chosen local address (the one the query came to).
pub fn send_pktinfo(
    fd: RawFd,
    data: &[u8],
    peer: SocketAddr,
    local: IpAddr,
    iface: u32,
) -> io::Result<usize> {
    let dest = SockAddr::from(peer);
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = dest.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = dest.len();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    // SAFETY: CMSG_* compute sizes and write one header + payload inside cbuf,
    // which is 64 bytes, larger than CMSG_SPACE of either pktinfo struct.
    unsafe {
        match (local, peer) {
            (IpAddr::V4(l), SocketAddr::V4(_)) => {
                let size = mem::size_of::<libc::in_pktinfo>() as u32;
                msg.msg_controllen = libc::CMSG_SPACE(size) as _;
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                let info = libc::in_pktinfo {
                    ipi_ifindex: iface as libc::c_int,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(l).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
            }
            (IpAddr::V6(l), SocketAddr::V6(_)) => {
                let size = mem::size_of::<libc::in6_pktinfo>() as u32;
                msg.msg_controllen = libc::CMSG_SPACE(size) as _;
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::IPPROTO_IPV6;
                (*c).cmsg_type = libc::IPV6_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: l.octets(),
                    },
                    ipi6_ifindex: iface,
                };
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
            }
            _ => {
                msg.msg_control = std::ptr::null_mut();
                msg.msg_controllen = 0;
            }
        }
        let n = libc::sendmsg(fd, &msg, 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}
