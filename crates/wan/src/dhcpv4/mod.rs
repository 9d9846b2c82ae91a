//! DHCPv4 client for the IPoE WAN (`wan.ipv4 = true`): the WAN's IPv4
//! address, default gateway and DNS servers.
//!
//! Messages go through the strict codec the LAN server uses too
//! (`cpe_wire::dhcpv4`), so both sides reject the same damage; [`engine`] is
//! the RFC 2131 state machine (sans-IO); the driver in `ipoe` moves packets
//! and applies leases through netlink; [`store`] keeps the lease across
//! restarts so the router asks for the same address (INIT-REBOOT) instead of
//! a new one.

pub mod engine;
pub mod store;

#[cfg(test)]
mod tests;
