//! Everything that touches the kernel outside of plain TCP/UDP lives here, so
//! protocol crates stay pure and testable.
//!
//! Each module owns one kernel interface: `persist` for crash-safe files,
//! `netlink` for links, addresses, routes, their change events and sysctls,
//! `packet` for link-layer (`AF_PACKET`) sockets and the PPPoE session socket,
//! `sockbuf` for the size of the daemons' socket buffers.

pub mod icmp_errors;
pub mod netlink;
pub mod packet;
pub mod persist;
pub mod sockbuf;
