//! The server's UDP socket on one LAN: `0.0.0.0:67` bound to the interface,
//! broadcast allowed.
//!
//! Sending never waits for room in the buffer (a reply to a host that does
//! not answer ARP waits there for seconds; a loop that waited with it would
//! stop serving every other host): a full buffer is `WouldBlock`, which the
//! caller counts. The buffers are sized for a burst of a few hundred
//! requests.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use cpe_wire::dhcpv4::{CLIENT_PORT, SERVER_PORT};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::engine::Destination;

/// Largest datagram read whole (a DHCP request is 300-600 octets).
pub const RECV_BUF: usize = 1536;

/// Send buffer asked of the kernel: ~900 queued replies of ~1 KiB
/// accounting each.
pub const SEND_BUFFER: usize = 1 << 20;
/// Receive buffer asked of the kernel.
pub const RECV_BUFFER: usize = 1 << 19;

/// The socket of one LAN.
pub struct ServerSocket {
    udp: UdpSocket,
}

impl ServerSocket {
    /// Opens the socket. SO_BINDTODEVICE keeps each LAN's requests on its
    /// own socket (and our broadcasts on its own link); SO_REUSEADDR lets
    /// several LANs bind port 67.
    pub fn open(interface: &str) -> io::Result<Self> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        s.set_broadcast(true)?;
        cpe_sys::socket::bind_to_device(&s, interface)?;
        s.set_nonblocking(true)?;
        // Failure keeps the kernel default: it works, with less room for
        // a burst.
        let _ = cpe_sys::sockbuf::set_send_buffer(s.as_raw_fd(), SEND_BUFFER);
        let _ = cpe_sys::sockbuf::set_recv_buffer(s.as_raw_fd(), RECV_BUFFER);
        s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT).into())?;
        Ok(Self {
            udp: UdpSocket::from_std(s.into())?,
        })
    }

    /// Receives one datagram: (length, source, truncated).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, std::net::SocketAddr, bool)> {
        // One spare octet tells a datagram that filled the buffer from one
        // that was cut.
        let (n, from) = self.udp.recv_from(buf).await?;
        Ok((n, from, n >= buf.len()))
    }

    /// Sends a reply without waiting: a full send buffer is
    /// `ErrorKind::WouldBlock`.
    pub fn try_send(&self, payload: &[u8], to: Destination) -> io::Result<()> {
        let addr = match to {
            Destination::Broadcast => Ipv4Addr::BROADCAST,
            Destination::Unicast(a) => a,
        };
        self.udp
            .try_send_to(payload, SocketAddrV4::new(addr, CLIENT_PORT).into())
            .map(|_| ())
    }
}
