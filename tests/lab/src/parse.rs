//! Parsers for what the lab's tools and peers print or write.
//!
//! Each one is total: malformed input yields an error value or is skipped,
//! never a panic (they are fuzzed in `tests/lab/fuzz`), because a harness
//! that panics while reading a probe's output hides the real failure.

pub mod dhclient_lease;
pub mod iproute;
pub mod kdig;
pub mod kea_leases;
pub mod proc_net;
pub mod rdisc6;
pub mod udhcpc_env;
