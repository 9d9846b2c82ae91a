//! The state bus: how the supervisor and the daemons share what the router
//! knows, and how the engineer's console asks about it.
//!
//! Shared state flows one way. Daemons that learn facts from the network (the
//! WAN daemon, the DHCPv6 client) publish them as [`Fact`]s; the supervisor is
//! the one owner of [`SharedState`], derives the LAN side from it (a /64 per
//! LAN from the delegated prefix, the ULA, upstream DNS) and pushes a complete
//! snapshot to every daemon whenever anything changes. A prefix change is
//! therefore exactly one snapshot that every consumer follows.
//!
//! The transport is a Unix stream socket (`<run_dir>/cpe.sock`) carrying one
//! JSON object per line (see [`proto`]); JSON because `cpectl status --json`
//! needs it anyway and it keeps the protocol readable on a serial console.

pub mod client;
pub mod control;
pub mod events;
pub mod map_e;
pub mod projection;
pub mod proto;
pub mod registry;
pub mod s46;
pub mod state;
pub mod status;
pub mod time;

pub use proto::{FromSupervisor, ToSupervisor};
pub use registry::Daemon;
pub use state::{
    DelegatedPrefix, Dhcp4Names, Dhcp6Facts, Fact, LanFacts, LanPrefix, LeaseName, PrefixOrigin,
    SharedState, WanFacts, WanState,
};
pub use time::MonoTime;

/// File name of the supervisor's socket inside `run_dir`.
pub const SOCKET_NAME: &str = "cpe.sock";

/// Environment variable through which the supervisor tells a daemon where its
/// socket is, so a child never has to guess from a config file.
pub const ENV_BUS: &str = "CPE_BUS";
