//! Everything that touches the kernel outside of plain TCP/UDP lives here, so
//! protocol crates stay pure and testable, and every `unsafe` block of the
//! daemons is in this crate, each with its SAFETY comment.
//!
//! Each module owns one kernel interface: `persist` for crash-safe files,
//! `duid` for the DHCPv6 identifiers kept in them, `netlink` for links,
//! addresses, routes and their change events, `sysctl` for `/proc/sys/net`,
//! `socket` for interface indexes, packet information and raw ICMPv6,
//! `packet` for link-layer (`AF_PACKET`) sockets and the PPPoE session socket,
//! `ppp` for the kernel PPP session (`/dev/ppp` channel and `pppN` unit),
//! `sockbuf` for the size of the daemons' socket buffers, `random` for the
//! kernel's entropy and the engines' seeded generator, `clock` for the
//! wall clock the NTP client reads and steps, `process` for
//! signals, the monotonic clock and network namespaces.

pub mod clock;
pub mod duid;
pub mod icmp_errors;
pub mod netlink;
pub mod packet;
pub mod persist;
pub mod ppp;
pub mod process;
pub mod random;
pub mod sockbuf;
pub mod socket;
pub mod sysctl;
