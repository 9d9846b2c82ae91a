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
    // Room for bursts while the loop is busy: 1 MiB (SO_RCVBUFFORCE as root,
    // else whatever rmem_max allows).
    let size: libc::c_int = 1 << 20;
    // SAFETY: valid fd, option value points to a c_int of the given size.
    let forced = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if forced != 0 {
        let _ = sock.set_recv_buffer_size(1 << 20);
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

/// A received datagram's addressing (its bytes are in [`RecvBatch`]).
#[derive(Debug, Clone, Copy)]
pub struct RecvInfo {
    /// Bytes received (already capped to the buffer).
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

/// Datagrams read or written per system call on the listening sockets:
/// under load one recvmmsg/sendmmsg pair serves many queries.
pub const BATCH: usize = 32;
/// Largest client datagram read.
const DGRAM: usize = 4096;

/// Buffers for [`recv_batch`].
pub struct RecvBatch {
    bufs: Vec<[u8; DGRAM]>,
    names: Vec<libc::sockaddr_storage>,
    cmsgs: Vec<CmsgBuf>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams.
    pub fn new() -> RecvBatch {
        // SAFETY: all-zero is a valid sockaddr_storage and mmsghdr.
        let zero_ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let zero_hdr: libc::mmsghdr = unsafe { mem::zeroed() };
        RecvBatch {
            bufs: vec![[0u8; DGRAM]; BATCH],
            names: vec![zero_ss; BATCH],
            cmsgs: (0..BATCH).map(|_| CmsgBuf([0; 64])).collect(),
            iovs: (0..BATCH)
                .map(|_| libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                })
                .collect(),
            hdrs: vec![zero_hdr; BATCH],
        }
    }

    /// Payload of datagram `i` of the last batch.
    pub fn data(&self, i: usize, len: usize) -> &[u8] {
        self.bufs.get(i).and_then(|b| b.get(..len)).unwrap_or(&[])
    }
}

impl Default for RecvBatch {
    fn default() -> RecvBatch {
        RecvBatch::new()
    }
}

/// recvmmsg() of up to [`BATCH`] datagrams with packet info; WouldBlock when
/// none is queued. Returns the addressing of each datagram read.
pub fn recv_batch(
    fd: RawFd,
    b: &mut RecvBatch,
    out: &mut Vec<(usize, RecvInfo)>,
) -> io::Result<()> {
    out.clear();
    for i in 0..BATCH {
        b.iovs[i] = libc::iovec {
            iov_base: b.bufs[i].as_mut_ptr().cast(),
            iov_len: DGRAM,
        };
        // SAFETY: all-zero msghdr is valid; pointers below refer to buffers
        // owned by `b`, which outlives the call.
        let mut h: libc::msghdr = unsafe { mem::zeroed() };
        h.msg_name = (&mut b.names[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        h.msg_iov = &mut b.iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = b.cmsgs[i].0.as_mut_ptr().cast();
        h.msg_controllen = b.cmsgs[i].0.len() as _;
        b.hdrs[i] = libc::mmsghdr {
            msg_hdr: h,
            msg_len: 0,
        };
    }
    // SAFETY: hdrs holds BATCH valid headers pointing into live buffers.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            b.hdrs.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT as _,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    for i in 0..n as usize {
        let h = &b.hdrs[i];
        let Some(peer) = sockaddr_to_std(&b.names[i]) else {
            continue;
        };
        let (local, iface) = pktinfo_of(&h.msg_hdr);
        let info = RecvInfo {
            len: h.msg_len as usize,
            peer,
            local,
            iface,
        };
        out.push((i, info));
    }
    Ok(())
}

fn pktinfo_of(msg: &libc::msghdr) -> (Option<IpAddr>, u32) {
    let mut local = None;
    let mut iface = 0;
    // SAFETY: CMSG_* walk the control buffer filled by the kernel, bounded by msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
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
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    (local, iface)
}

/// One queued UDP answer.
pub struct Outgoing {
    /// Client.
    pub peer: SocketAddr,
    /// Source address.
    pub local: IpAddr,
    /// Interface.
    pub iface: u32,
    /// Message.
    pub data: Vec<u8>,
}

/// sendmmsg() of queued answers with per-datagram source address; returns
/// how many were sent (the rest stay queued for the caller to drop or retry).
pub fn send_batch(fd: RawFd, queue: &[Outgoing]) -> io::Result<usize> {
    let n = queue.len().min(BATCH);
    let mut dests: Vec<SockAddr> = Vec::with_capacity(n);
    let mut iovs: Vec<libc::iovec> = Vec::with_capacity(n);
    let mut cmsgs: Vec<CmsgBuf> = (0..n).map(|_| CmsgBuf([0; 64])).collect();
    for o in queue.iter().take(n) {
        dests.push(SockAddr::from(o.peer));
        iovs.push(libc::iovec {
            iov_base: o.data.as_ptr() as *mut libc::c_void,
            iov_len: o.data.len(),
        });
    }
    let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(n);
    for (i, o) in queue.iter().take(n).enumerate() {
        // SAFETY: all-zero msghdr is valid; the pointers refer to the vectors
        // above, which live until after sendmmsg returns.
        let mut h: libc::msghdr = unsafe { mem::zeroed() };
        h.msg_name = dests[i].as_ptr() as *mut libc::c_void;
        h.msg_namelen = dests[i].len();
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = cmsgs[i].0.as_mut_ptr().cast();
        // SAFETY: writes one control message into the 64-byte buffer.
        unsafe { fill_pktinfo(&mut h, o.local, o.peer, o.iface) };
        hdrs.push(libc::mmsghdr {
            msg_hdr: h,
            msg_len: 0,
        });
    }
    // SAFETY: hdrs holds n valid headers pointing into live buffers.
    let sent = unsafe {
        libc::sendmmsg(
            fd,
            hdrs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT as _,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sent as usize)
}

/// Fills the control message selecting the source address, or clears the
/// control pointer when families differ.
///
/// # Safety
/// `msg.msg_control` must point to at least 64 writable, 8-aligned bytes.
unsafe fn fill_pktinfo(msg: &mut libc::msghdr, local: IpAddr, peer: SocketAddr, iface: u32) {
    // SAFETY: guaranteed by the caller; CMSG_SPACE of either struct < 64.
    unsafe {
        match (local, peer) {
            (IpAddr::V4(l), SocketAddr::V4(_)) => {
                let size = mem::size_of::<libc::in_pktinfo>() as u32;
                msg.msg_controllen = libc::CMSG_SPACE(size) as _;
                let c = libc::CMSG_FIRSTHDR(msg);
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
                let c = libc::CMSG_FIRSTHDR(msg);
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
    }
}
