//! The socket helpers every daemon needs beyond what `socket2` wraps:
//! interface indexes, binding to a device with an error that names it,
//! socket options by value, and receiving a datagram together with its
//! packet information (destination address, arrival interface, hop limit).
//!
//! - [`recv_with_info`]: one `recvmsg` for every daemon, its control
//!   messages read by the safe, bounds-checked [`cmsg`] parser;
//! - [`Icmp6Socket`]: the raw ICMPv6 socket of Neighbour Discovery, with
//!   the kernel's type filter (RFC 3542 3.2) and hop limit 255;
//! - [`ping`]: ICMP Echo for the console's probes (ping socket, or raw);
//! - [`batch`]: `recvmmsg`/`sendmmsg` with per-datagram packet information,
//!   for the DNS forwarder's listening sockets.
//!
//! Every `unsafe` block of the daemons' socket code lives in this module.

pub mod batch;
pub mod cmsg;
mod icmp6;
pub mod ping;

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::RawFd;

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

pub use icmp6::{Icmp6Socket, filter_passing};

/// The interface index of `name`, if it exists.
pub fn ifindex(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The interface index of `name`, or a `NotFound` error naming it.
pub fn require_ifindex(name: &str) -> io::Result<u32> {
    ifindex(name)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no interface {name}")))
}

/// Sets a socket option to `value` (a plain C value: an `int`, a filter).
pub fn setsockopt<T: Copy>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(mem::size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` points to a live, initialised T of `len` bytes for the
    // duration of the call; the kernel only reads it.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets an `int` socket option.
pub fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: i32) -> io::Result<()> {
    setsockopt(fd, level, name, &(value as libc::c_int))
}

/// SO_BINDTODEVICE: the socket sends and receives on `interface` only.
/// The error names the interface (the usual cause is a missing one).
pub fn bind_to_device(socket: &Socket, interface: &str) -> io::Result<()> {
    socket
        .bind_device(Some(interface.as_bytes()))
        .map_err(|e| io::Error::new(e.kind(), format!("SO_BINDTODEVICE {interface}: {e}")))
}

/// A non-blocking, IPv6-only UDP socket on one interface, not bound yet:
/// SO_BINDTODEVICE so no other link hears it or is heard, SO_REUSEADDR so
/// each interface can have its own socket on the same port, multicast out
/// of the interface with loop off (a daemon must not hear its own
/// multicasts). Returns the socket and the interface index.
pub fn udp6_on_interface(interface: &str) -> io::Result<(Socket, u32)> {
    let ifindex = require_ifindex(interface)?;
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.set_reuse_address(true)?;
    bind_to_device(&s, interface)?;
    s.set_multicast_loop_v6(false)?;
    s.set_multicast_if_v6(ifindex)?;
    s.set_nonblocking(true)?;
    Ok((s, ifindex))
}

/// Asks the kernel for the packet information of every datagram received
/// (IPV6_RECVPKTINFO or IP_PKTINFO), which [`recv_with_info`] reports.
pub fn enable_pktinfo(fd: RawFd, ipv6: bool) -> io::Result<()> {
    if ipv6 {
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
    } else {
        set_int(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
    }
}

/// Raises the open-file soft limit to the hard limit, for a daemon that
/// holds a socket per outstanding request (the DNS forwarder's upstream
/// queries).
pub fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit struct, live for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// One datagram read by [`recv_with_info`].
#[derive(Debug, Clone, Copy)]
pub struct ReceivedDatagram {
    /// Octets in the buffer (at most its length).
    pub len: usize,
    /// Sender (unspecified if the kernel gave no address).
    pub source: SocketAddr,
    /// Destination address, arrival interface and hop limit, as far as the
    /// socket asked for them.
    pub info: cmsg::Ancillary,
    /// The datagram was longer than the buffer.
    pub truncated: bool,
}

impl ReceivedDatagram {
    /// The sender's IP address.
    pub fn source_ip(&self) -> IpAddr {
        self.source.ip()
    }

    /// The sender's address on an IPv6 socket (which only ever reports
    /// IPv6 senders; an IPv4 one would come out mapped).
    pub fn source_v6(&self) -> Ipv6Addr {
        match self.source.ip() {
            IpAddr::V6(a) => a,
            IpAddr::V4(a) => a.to_ipv6_mapped(),
        }
    }
}

/// The IPv4 or IPv6 sender in `storage` (`len` octets written by the
/// kernel); `None` for any other family.
fn source_of(storage: SockAddrStorage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len.min(storage.size_of());
    // SAFETY: `storage` is a sockaddr_storage whose first `len` octets the
    // kernel filled (clamped to its size); the rest is zeroes.
    let addr = unsafe { SockAddr::new(storage, len) };
    addr.as_socket()
}

/// The octets of the control buffer the kernel filled, at most `cap`.
/// `msg_controllen` is a `size_t` on glibc and a `socklen_t` on musl (the
/// boards), hence the cast that is a no-op on one of them.
#[allow(clippy::unnecessary_cast)]
fn control_len(msg: &libc::msghdr, cap: usize) -> usize {
    (msg.msg_controllen as usize).min(cap)
}

/// Reads one datagram from `fd` without waiting (`WouldBlock` when none is
/// queued), with the packet information of its control messages.
pub fn recv_with_info(fd: RawFd, buf: &mut [u8]) -> io::Result<ReceivedDatagram> {
    let mut storage = SockAddrStorage::zeroed();
    let mut control = cmsg::ControlBuffer::default();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero is a valid msghdr (no name, no buffers).
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut storage as *mut SockAddrStorage).cast();
    msg.msg_namelen = storage.size_of();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: every pointer in `msg` refers to a live local buffer of the
    // stated length, valid for the whole call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let filled = control_len(&msg, control.0.len());
    Ok(ReceivedDatagram {
        len: usize::try_from(n).unwrap_or(0).min(buf.len()),
        source: source_of(storage, msg.msg_namelen)
            .unwrap_or_else(|| SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))),
        info: cmsg::parse(&control.0[..filled]),
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
    use std::os::fd::AsRawFd;

    #[test]
    fn loopback_has_an_index_and_nonsense_has_none() {
        assert_eq!(ifindex("lo"), Some(1));
        assert_eq!(ifindex("no-such-if0"), None);
        assert_eq!(ifindex("a\0b"), None);
        let e = require_ifindex("no-such-if0").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(e.to_string(), "no interface no-such-if0");
    }

    /// The socket is bound to the device (a missing one is named), IPv6
    /// only, and reusable by a second socket on the same port.
    #[test]
    fn udp6_sockets_share_a_port_per_interface() {
        let (a, index) = udp6_on_interface("lo").unwrap();
        assert_eq!(index, 1);
        assert_eq!(a.device().unwrap().as_deref(), Some(&b"lo"[..]));
        assert!(a.only_v6().unwrap());
        let any = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0);
        a.bind(&any.into()).unwrap();
        let port = a.local_addr().unwrap().as_socket().unwrap().port();
        let (b, _) = udp6_on_interface("lo").unwrap();
        let same = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
        b.bind(&same.into()).unwrap();
        let e = udp6_on_interface("no-such-if0").unwrap_err();
        assert_eq!(e.to_string(), "no interface no-such-if0");
    }

    /// A datagram over loopback arrives with its destination, interface,
    /// hop limit and sender; one longer than the buffer is marked.
    #[test]
    fn receives_packet_information_v4_and_v6() {
        for local in [
            IpAddr::from(Ipv4Addr::LOCALHOST),
            Ipv6Addr::LOCALHOST.into(),
        ] {
            let Ok(rx) = UdpSocket::bind((local, 0)) else {
                eprintln!("skipped: no {local}");
                continue;
            };
            enable_pktinfo(rx.as_raw_fd(), local.is_ipv6()).unwrap();
            if local.is_ipv6() {
                set_int(
                    rx.as_raw_fd(),
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVHOPLIMIT,
                    1,
                )
                .unwrap();
            }
            let tx = UdpSocket::bind((local, 0)).unwrap();
            tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
            rx.set_nonblocking(false).unwrap();
            let mut buf = [0u8; 3];
            // Blocking socket, MSG_DONTWAIT: wait until it is queued first.
            let mut peek = [0u8; 1];
            let _ = rx.peek(&mut peek);
            let r = recv_with_info(rx.as_raw_fd(), &mut buf).unwrap();
            assert_eq!(r.len, 3);
            assert!(r.truncated);
            assert_eq!(&buf, b"hel");
            assert_eq!(r.source, tx.local_addr().unwrap());
            if let IpAddr::V6(a) = local {
                assert_eq!(r.source_v6(), a);
            }
            assert_eq!(r.info.destination, Some(local));
            assert_eq!(r.info.ifindex, Some(1));
            if local.is_ipv6() {
                assert_eq!(r.info.hop_limit, Some(64));
            }
            let again = recv_with_info(rx.as_raw_fd(), &mut buf).unwrap_err();
            assert_eq!(again.kind(), io::ErrorKind::WouldBlock);
        }
    }
}
