//! The firewall: compiles `[firewall]` and the router's state into one
//! nf_tables ruleset (table `inet cpe`) and keeps it installed.
//!
//! - [`config`]: the policy and the run-time facts it depends on.
//! - [`compile`]: the pure policy compiler.
//! - [`model`]: the ruleset model and its two renderings (nft text for
//!   review and golden tests; the netlink batch the driver commits).

pub mod compile;
pub mod config;
pub mod model;

pub use compile::compile;
pub use config::{LanSide, Policy, Snapshot};
pub use model::Ruleset;
