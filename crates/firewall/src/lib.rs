//! The firewall: compiles `[firewall]` and the router's state into one
//! nf_tables ruleset (table `inet cpe`) and keeps it installed.
//!
//! - [`config`]: the policy and the run-time facts it depends on.
//! - [`compile`]: the pure policy compiler.
//! - [`model`]: the ruleset model and its two renderings (nft text for
//!   review and golden tests; the netlink batch the driver commits).
//! - [`engine`]: sans-IO decisions: full apply or set update, retries, and
//!   forwarding only after the first commit.
//! - [`driver`]: the `cpe daemon firewall` process (bus, netlink, sysctls).

pub mod compile;
pub mod config;
pub mod counters;
pub mod driver;
pub mod engine;
pub mod model;
pub mod status;

pub use compile::compile;
pub use config::{LanSide, MapSnat, Policy, Snapshot};
pub use driver::main;
pub use model::Ruleset;
