//! The WAN's raw ICMPv6 socket: receives Router Advertisements (only), sends
//! Router Solicitations. The socket itself (hop limit 255, type filter,
//! bound to the WAN) is `cpe_sys::socket::Icmp6Socket`.

use std::io;
use std::net::Ipv6Addr;

use cpe_sys::socket;

const TYPE_RA: u8 = 134;
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// One received ICMPv6 message.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Bytes in the buffer.
    pub len: usize,
    /// IPv6 source.
    pub source: Ipv6Addr,
    /// IPv6 hop limit (0 if the kernel did not say, which fails validation).
    pub hop_limit: u8,
}

/// Raw ICMPv6 socket bound to the WAN interface.
pub struct Icmp6Socket(socket::Icmp6Socket);

impl Icmp6Socket {
    /// Opens the socket on `ifname` (index `ifindex`). Must run inside a
    /// tokio runtime.
    pub fn open(ifname: &str, ifindex: u32) -> io::Result<Icmp6Socket> {
        socket::Icmp6Socket::open(ifname, ifindex, &[TYPE_RA], &[]).map(Icmp6Socket)
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.0.ifindex()
    }

    /// Waits for the next message.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        let r = self.0.recv(buf).await?;
        Ok(Received {
            len: r.len,
            source: r.source_v6(),
            hop_limit: r.info.hop_limit.unwrap_or(0),
        })
    }

    /// Sends a Router Solicitation (an encoded ICMPv6 message; the kernel
    /// fills the checksum) to all-routers on the WAN.
    pub fn send_rs(&self, message: &[u8]) -> io::Result<()> {
        self.0.try_send_to(message, ALL_ROUTERS)
    }
}
