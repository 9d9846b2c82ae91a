//! The server's UDP socket on one LAN: `[::]:547` bound to the interface,
//! member of All_DHCP_Relay_Agents_and_Servers there, with IPV6_PKTINFO so
//! every datagram says which interface it arrived on.
//!
//! Sending never waits. A reply to a link-local source the kernel has not
//! resolved yet sits in the neighbour queue, charged to this socket's send
//! buffer, until Neighbour Discovery succeeds or gives up (about 3 s). A
//! burst of requests from spoofed sources fills the buffer that way; a
//! send that waited for room would stop the whole loop for those seconds
//! while the receive queue overflows and honest clients wait. So
//! [`ServerSocket::try_send`] returns `WouldBlock` at once and the caller
//! drops and counts the reply, and the buffers are sized for such a burst
//! ([`SEND_BUFFER`], [`RECV_BUFFER`]).

use std::io;
use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;

use cpe_wire::dhcpv6::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, SERVER_PORT};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Largest datagram read whole; anything longer is counted as oversized.
/// (A DHCPv6 client message is a few hundred octets.)
pub const RECV_BUF: usize = 2048;

/// Send buffer asked of the kernel. A Reply is ~100-200 octets but each
/// queued datagram costs ~1 KiB of buffer accounting (`skb` truesize);
/// 1 MiB holds ~900 replies waiting for Neighbour Discovery, twice the
/// 400-request burst of spoofed sources seen in testing, for memory that
/// is only used while such a burst lasts.
pub const SEND_BUFFER: usize = 1 << 20;
/// Receive buffer asked of the kernel: the same burst must not overflow
/// it while the loop drains it.
pub const RECV_BUFFER: usize = 1 << 19;

/// The interface index of `name`, if it exists.
pub fn ifindex(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub struct Datagram {
    /// Bytes read into the buffer.
    pub len: usize,
    /// Source address.
    pub source: Ipv6Addr,
    /// Arrival interface from IPV6_PKTINFO (0 if the kernel gave none).
    pub ifindex: u32,
    /// The datagram was longer than the buffer.
    pub truncated: bool,
}

/// The socket of one LAN.
pub struct ServerSocket {
    udp: UdpSocket,
    /// Interface index (scope of link-local destinations).
    pub ifindex: u32,
}

fn setsockopt_int(fd: i32, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: we pass a pointer to a live i32 and its exact size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl ServerSocket {
    /// Opens the socket on `interface`. Several LANs each bind port 547:
    /// SO_REUSEADDR plus SO_BINDTODEVICE keep them apart.
    pub fn open(interface: &str) -> io::Result<Self> {
        let ifindex = ifindex(interface).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no interface {interface}"))
        })?;
        let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_only_v6(true)?;
        s.set_reuse_address(true)?;
        s.bind_device(Some(interface.as_bytes()))?;
        s.set_multicast_loop_v6(false)?;
        s.set_multicast_if_v6(ifindex)?;
        setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        s.set_nonblocking(true)?;
        // Failure keeps the kernel default: it works, with less room for
        // a burst.
        let _ = cpe_sys::sockbuf::set_send_buffer(s.as_raw_fd(), SEND_BUFFER);
        let _ = cpe_sys::sockbuf::set_recv_buffer(s.as_raw_fd(), RECV_BUFFER);
        s.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, SERVER_PORT, 0, 0).into())?;
        s.join_multicast_v6(&ALL_DHCP_RELAY_AGENTS_AND_SERVERS, ifindex)?;
        Ok(Self {
            udp: UdpSocket::from_std(s.into())?,
            ifindex,
        })
    }

    /// Waits for the next datagram.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Datagram> {
        let fd = self.udp.as_raw_fd();
        self.udp
            .async_io(Interest::READABLE, || recv_pktinfo(fd, buf))
            .await
    }

    /// Sends `payload` to `to`:`port` on this LAN without waiting: a full
    /// send buffer is `ErrorKind::WouldBlock`, for the caller to count.
    pub fn try_send(&self, payload: &[u8], to: Ipv6Addr, port: u16) -> io::Result<()> {
        let scope = if to.is_unicast_link_local() || to.is_multicast() {
            self.ifindex
        } else {
            0
        };
        self.udp
            .try_send_to(payload, SocketAddrV6::new(to, port, 0, scope).into())
            .map(|_| ())
    }
}

/// `recvmsg` with the IPV6_PKTINFO control message decoded.
fn recv_pktinfo(fd: i32, buf: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: all-zero is a valid sockaddr_in6 / msghdr.
    let mut src: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut src as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ifindex = 0;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
    // bounded by msg_controllen; the payload is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::IPPROTO_IPV6 && (*c).cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>());
                ifindex = info.ipi6_ifindex;
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Datagram {
        len: (n as usize).min(buf.len()),
        source: Ipv6Addr::from(src.sin6_addr.s6_addr),
        ifindex,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}
