//! `[ntp]`: the router's NTP client (RFC 7084 WAA-5).

use std::net::IpAddr;

/// `[ntp]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ntp {
    /// Run the client.
    pub enabled: bool,
    /// Servers asked first, by address. IPv4 stays IPv4.
    pub servers: Vec<IpAddr>,
    /// Also use the servers the ISP hands out (DHCPv6 option 56, then
    /// DHCPv4 option 42).
    pub use_wan: bool,
    /// Step the system clock (needs CAP_SYS_TIME). Off, the client only
    /// measures and shows the offset.
    pub set_clock: bool,
}

/// Client on, servers from the WAN, clock set.
impl Default for Ntp {
    fn default() -> Self {
        Self {
            enabled: true,
            servers: Vec::new(),
            use_wan: true,
            set_clock: true,
        }
    }
}
