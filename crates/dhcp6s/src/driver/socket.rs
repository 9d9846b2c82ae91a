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
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;

use cpe_sys::socket;
use cpe_wire::dhcpv6::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, SERVER_PORT};
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

impl ServerSocket {
    /// Opens the socket on `interface`. Several LANs each bind port 547:
    /// SO_REUSEADDR plus SO_BINDTODEVICE keep them apart.
    pub fn open(interface: &str) -> io::Result<Self> {
        let (s, ifindex) = socket::udp6_on_interface(interface)?;
        socket::enable_pktinfo(s.as_raw_fd(), true)?;
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

/// One datagram with its arrival interface (IPV6_PKTINFO).
fn recv_pktinfo(fd: i32, buf: &mut [u8]) -> io::Result<Datagram> {
    let r = socket::recv_with_info(fd, buf)?;
    Ok(Datagram {
        len: r.len,
        source: r.source_v6(),
        ifindex: r.info.ifindex.unwrap_or(0),
        truncated: r.truncated,
    })
}
