//! DHCPv4 server for the router's LANs (RFC 2131).
//!
//! Every IPv4 device in the home gets its address, default router, DNS
//! server (the router's forwarder) and domain here. The protocol logic is a
//! sans-IO [`Engine`] per LAN (the [`cpe_daemon::Engine`] contract): a
//! datagram and the current time go in,
//! a reply with its destination (or a counted drop) comes out. Leases live
//! in a [`LeaseTable`] that is persisted in `state_dir` in a compact text
//! format ([`persist`]) at most [`store::SAVE_DELAY`] after a change (one
//! write for a whole burst of changes: the file is on flash) and at
//! shutdown, so a restarted daemon or a rebooted router hands every client
//! the same address again.
//!
//! The server is authoritative for its LAN (it is the router): a client
//! asking for an address that is not on this LAN, or that belongs to
//! someone else, gets a DHCPNAK at once instead of waiting for timeouts.

#![warn(missing_docs)]

pub mod config;
pub mod counters;
mod driver;
pub mod engine;
pub mod lease;
pub mod persist;
pub mod store;

pub use config::PoolConfig;
pub use counters::Counters;
pub use driver::main;
pub use engine::{Action, Destination, DropReason, Engine, Input};
pub use lease::{ClientKey, Lease, LeaseState, LeaseTable};
pub use store::LeaseStore;

#[cfg(test)]
mod tests;
