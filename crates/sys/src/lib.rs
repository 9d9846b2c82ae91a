//! Everything that touches the kernel outside of plain TCP/UDP lives here, so
//! protocol crates stay pure and testable.
//!
//! Each module owns one kernel interface: `persist` for crash-safe files,
//! `netlink` for links, addresses, routes, their change events and sysctls.

pub mod icmp_errors;
pub mod netlink;
pub mod persist;
