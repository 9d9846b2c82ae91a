//! DHCPv6 client for the router's WAN (RFC 8415, prefix delegation first).
//!
//! The protocol lives in [`engine::Client`], a sans-IO state machine on the
//! router's one engine contract ([`cpe_daemon::Engine`]): inputs in (packets,
//! link and RA changes, a restored lease, teardown), timeouts, actions
//! pulled (packets to send, binding updates to publish), with time passed
//! in. The tokio
//! driver (`driver`) owns the socket, persistence, routes and the bus.
//! Timers follow RFC 8415 section 15 exactly (see [`retransmit`]), which
//! also sets the floor of how fast a prefix can arrive: the random 0..1 s
//! SOL_MAX_DELAY before the first Solicit, plus one round trip with Rapid
//! Commit (two without it, after a collection window of at least 1.0..1.1 s
//! unless a server advertises preference 255).
//!
//! The client is link-agnostic: the same engine runs on the IPoE WAN and on
//! a PPPoE session's ppp interface.

pub mod config;
pub mod counters;
pub mod driver;
pub mod engine;
mod incoming;
pub mod lease;
mod outgoing;
pub mod retransmit;
pub mod saved;

pub use config::{AddressMode, ClientConfig, IaKind, iaid_for, s46_oro};
pub use driver::main;
pub use engine::{
    Action, Client, INFORM_RETRY, Input, LeaseUpdate, OtherConfig, Refusal, State, UpdateReason,
};
pub use lease::{DelegatedPrefix, Lease, LeasedAddress};
pub use saved::SavedLease;
