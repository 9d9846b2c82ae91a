//! Neighbor Discovery (RFC 4861) Router Solicitation/Advertisement codec and options.
//!
//! The router sends Router Advertisements on every LAN and listens for Router
//! Solicitations (to answer them) and for other routers' advertisements (the
//! rogue-RA watch). Both directions go through this module, so it decodes
//! hostile input strictly and encodes byte-exact messages that every host OS
//! accepts.
//!
//! Messages are the ICMPv6 message as a raw ICMPv6 socket delivers and takes
//! it: type, code, checksum and body, without the IPv6 header. The kernel
//! computes and verifies the checksum on raw ICMPv6 sockets (RFC 3542 3.1), so
//! encoders leave it zero; [`set_checksum`] exists for captures and tests.
//!
//! Decoding is all-or-nothing: an option with length zero makes RFC 4861
//! discard the packet, and a known option that breaks its own RFC's length or
//! content rules fails the whole message with a typed [`DecodeError`], so the
//! caller can count *why* it dropped something. Unknown options are kept raw
//! (RFC 4861 4.6: receivers must skip them, and the rogue watch may want to
//! show them).

mod checksum;
mod dns_name;
mod error;
mod message;
mod option;
#[cfg(test)]
mod tests;

pub use checksum::{checksum_is_valid, icmpv6_checksum, set_checksum};
pub use dns_name::{DomainName, DomainNameError};
pub use error::{DecodeError, EncodeError, OptionFault};
pub use message::{
    NdMessage, RA_FIXED_LEN, RS_FIXED_LEN, RouterAdvertisement, RouterPreference,
    RouterSolicitation, TYPE_ROUTER_ADVERTISEMENT, TYPE_ROUTER_SOLICITATION,
};
pub use option::{
    DnsSearchList, INFINITE_LIFETIME, NdOption, OPT_DNSSL, OPT_MTU, OPT_PREFIX_INFORMATION,
    OPT_RDNSS, OPT_ROUTE_INFORMATION, OPT_SOURCE_LINK_LAYER_ADDRESS, OPT_TARGET_LINK_LAYER_ADDRESS,
    PrefixInformation, RecursiveDnsServers, RouteInformation, UnknownOption,
};
