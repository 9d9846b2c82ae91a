//! Router Advertisement sender and rogue-RA watch for the router's LANs.
//!
//! Every device in the home learns its IPv6 address, default route and DNS
//! from what this crate sends, and has to follow an ISP renumbering without
//! anyone touching it. The protocol logic is a sans-IO [`Engine`] per LAN
//! interface (RFC 4861 6.2 timing, RFC 4191 preferences and routes, RFC 8106
//! DNS options, RFC 7084/9096 renumbering behaviour); a thin tokio driver
//! feeds it packets, time and shared-state snapshots.

#![warn(missing_docs)]

pub mod config;
pub mod content;
pub mod counters;
mod driver;
pub mod engine;
pub mod facts;
pub mod memory;
pub mod prefixes;
pub mod rogue;
pub mod schedule;
pub mod status;

pub use config::{DnsServer, MtuSetting, RaConfig};
pub use counters::Counters;
pub use driver::main;
pub use engine::{Action, Engine, Input, RaKind, Received};
pub use facts::{LanFacts, RouteAdvert};
pub use prefixes::LanPrefix;
pub use status::RaStatus;
