//! The client's UDP socket: port 546 on the WAN interface only.

use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};

use cpe_sys::socket;
use cpe_wire::dhcpv6::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, CLIENT_PORT, SERVER_PORT};
use tokio::net::UdpSocket;

/// A socket bound to `[::]:546` on one interface.
pub struct ClientSocket {
    /// The tokio socket.
    pub udp: UdpSocket,
    /// Interface index, the scope of ff02::1:2.
    pub ifindex: u32,
    /// Interface name (for logs).
    pub interface: String,
}

impl ClientSocket {
    /// Opens the socket: IPv6 only, bound to the device so a second WAN or
    /// a LAN never hears our traffic, multicast loop off (we must not hear
    /// our own Solicits), multicast out of this interface.
    pub fn open(interface: &str) -> io::Result<Self> {
        let (s, ifindex) = socket::udp6_on_interface(interface)?;
        s.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, CLIENT_PORT, 0, 0).into())?;
        Ok(Self {
            udp: UdpSocket::from_std(s.into())?,
            ifindex,
            interface: interface.to_string(),
        })
    }

    /// Sends to All_DHCP_Relay_Agents_and_Servers on this link.
    pub async fn send(&self, payload: &[u8]) -> io::Result<()> {
        let to = SocketAddrV6::new(
            ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            SERVER_PORT,
            0,
            self.ifindex,
        );
        self.udp.send_to(payload, to).await.map(|_| ())
    }
}
