//! Stateless DHCPv6 server for the router's LANs (RFC 8415 Information-Request).
//!
//! Hosts that see O=1 in our Router Advertisements ask here for DNS servers,
//! the domain search list and NTP servers. Windows in particular learns DNS
//! only this way, so this server and the RA sender's RDNSS must announce the
//! same resolver: both resolve `"self"` with [`cpe_bus::LanFacts::self_address`].
//!
//! The protocol logic is a sans-IO [`Engine`] per LAN interface (the
//! [`cpe_daemon::Engine`] contract): a received datagram and the current
//! time go in, a reply or a drop reason comes out.
//! It never holds bindings, so every answer is computed from the current
//! config and LAN facts, and a renumbering changes the very next Reply. A
//! thin tokio driver (`cpe daemon dhcp6s`) owns one UDP socket per LAN.

#![warn(missing_docs)]

pub mod config;
pub mod counters;
mod driver;
pub mod engine;
mod reply;
pub mod store;

pub use config::{DnsEntry, ServerConfig};
pub use counters::Counters;
pub use driver::main;
pub use engine::{Action, DropReason, Engine, Input, Received};

#[cfg(test)]
mod tests;
