//! DHCPv6 (RFC 8415) message and option codec.
//!
//! Strict on decode, exact on encode. Every option the router's client and
//! stateless server use is typed; every other option is kept as raw bytes so
//! a message decodes and re-encodes to the same octets. Decoding rejects, with
//! a typed [`DecodeError`], anything the RFCs call malformed: truncated
//! headers, option lengths that overrun the message or their enclosing
//! option, wrong fixed lengths, containers in the wrong place (an IA Prefix
//! outside an IA_PD), compressed domain names (RFC 8415 section 10 forbids
//! them), and relay messages (a client or a directly attached server never
//! receives them). Nesting depth is bounded by the placement rules, so hostile
//! input cannot recurse deeply.
//!
//! Semantic checks that depend on what was sent (transaction id, Client ID,
//! Server ID presence) belong to the engines, which know the exchange.

mod domain;
mod duid;
mod error;
mod message;
mod options;
mod reader;
mod s46;

pub use domain::{DomainName, NameError};
pub use duid::{Duid, DuidError, DuidKind, HW_TYPE_ETHERNET, duid_time_from_unix};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use message::{Message, MessageType, TransactionId};
pub use options::{
    DhcpOption, IaAddress, IaNa, IaPd, IaPrefix, NtpSuboption, PdExclude, PdExcludeError, Status,
    StatusCode, code,
};
pub use s46::{S46_RULE_FLAG_FMR, S46PortParams, S46Rule};

/// UDP port clients listen on (RFC 8415 section 7.2).
pub const CLIENT_PORT: u16 = 546;
/// UDP port servers and relays listen on (RFC 8415 section 7.2).
pub const SERVER_PORT: u16 = 547;
/// All_DHCP_Relay_Agents_and_Servers: where a client sends everything,
/// because we never assume server unicast (RFC 8415 section 7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// Lifetime value meaning "forever" (RFC 8415 section 7.7).
pub const INFINITY: u32 = 0xffff_ffff;

#[cfg(test)]
mod tests;
