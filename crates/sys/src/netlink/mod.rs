//! A compact rtnetlink client: links, addresses, routes, neighbours, and
//! change notifications.
//!
//! Written here rather than taken from `rtnetlink`/`netlink-packet-route`
//! because those cost ~650 KB of a binary that must fit 8-16 MB of flash with
//! the kernel; the router needs a dozen message shapes, which fit in a few
//! hundred lines of strict, bounds-checked code over `libc`.
//!
//! - [`Netlink`]: blocking request socket (dumps, gets, add/replace/delete),
//!   with sequence numbers and acks checked; kernel errors come back as
//!   `io::Error`s that name the request and carry the errno ([`kernel_errno`])
//!   and the kernel's extended-ack text.
//! - [`Monitor`]: async (tokio) subscription yielding typed [`Event`]s.
//! - [`parse_datagram`]: the decoder both use; hostile input yields
//!   [`ParseError`]s, never a panic (fuzzed by `crates/sys/fuzz`).

mod addr;
mod consts;
mod error;
mod link;
mod message;
mod monitor;
mod neigh;
pub mod nftables;
mod ops;
mod route;
mod socket;
mod wire;

#[cfg(test)]
mod tests_codec;
#[cfg(test)]
mod tests_kernel;
#[cfg(test)]
mod tests_oracle;

pub use addr::{AddrFlags, Address, Lifetimes, Scope, parse_address};
pub use error::ParseError;
pub use link::{Ip6Tunnel, Link, LinkFlags, OperState, parse_link};
pub use message::{
    KernelError, Message, RequestError, kernel_errno, parse_datagram, parse_message,
};
pub use monitor::{Event, Group, Monitor, decode_events};
pub use neigh::{Neighbour, NudState, parse_neighbour};
pub use ops::Family;
pub use route::{Route, RouteProtocol, RouteType, parse_route};
pub use socket::Netlink;
pub use wire::MessageHeader;
