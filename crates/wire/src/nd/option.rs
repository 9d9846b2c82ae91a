//! ND options (RFC 4861 4.6, RFC 4191 2.3, RFC 8106 5) and their codec.
//!
//! Layouts are written out by hand: no crate builds RA options (see
//! docs/dependencies.md) and the set is small. Each option's length rules
//! come from its RFC; a violation is an [`OptionFault`] so that the whole
//! message is dropped and counted rather than half-understood.

use std::net::Ipv6Addr;

use super::dns_name::DomainName;
use super::error::{EncodeError, OptionFault};
use super::message::RouterPreference;

/// Source Link-Layer Address (RFC 4861 4.6.1).
pub const OPT_SOURCE_LINK_LAYER_ADDRESS: u8 = 1;
/// Target Link-Layer Address (RFC 4861 4.6.1).
pub const OPT_TARGET_LINK_LAYER_ADDRESS: u8 = 2;
/// Prefix Information (RFC 4861 4.6.2).
pub const OPT_PREFIX_INFORMATION: u8 = 3;
/// MTU (RFC 4861 4.6.4).
pub const OPT_MTU: u8 = 5;
/// Route Information (RFC 4191 2.3).
pub const OPT_ROUTE_INFORMATION: u8 = 24;
/// Recursive DNS Server (RFC 8106 5.1).
pub const OPT_RDNSS: u8 = 25;
/// DNS Search List (RFC 8106 5.2).
pub const OPT_DNSSL: u8 = 31;

/// All-ones lifetime meaning "infinity" in PIO, RIO, RDNSS and DNSSL.
pub const INFINITE_LIFETIME: u32 = u32::MAX;

/// PIO flag bits in RFC 4861 order; the others are kept raw in `other_flags`.
const PIO_ON_LINK: u8 = 0x80;
const PIO_AUTONOMOUS: u8 = 0x40;

/// One ND option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdOption {
    /// The sender's link-layer address; the octets of the option body
    /// (6 for Ethernet, trailing padding included for other link types).
    SourceLinkLayerAddress(Vec<u8>),
    /// The target's link-layer address (not used in RS/RA, kept for fidelity).
    TargetLinkLayerAddress(Vec<u8>),
    /// A prefix for on-link determination and SLAAC.
    PrefixInformation(PrefixInformation),
    /// The link MTU hosts should use.
    Mtu(u32),
    /// A more-specific route through this router (RFC 4191).
    RouteInformation(RouteInformation),
    /// DNS resolvers (RFC 8106).
    RecursiveDnsServers(RecursiveDnsServers),
    /// DNS search domains (RFC 8106).
    DnsSearchList(DnsSearchList),
    /// Any other option, body kept as received.
    Unknown(UnknownOption),
}

/// Prefix Information option body (RFC 4861 4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixInformation {
    /// Prefix length in bits (0..=128).
    pub prefix_len: u8,
    /// L flag: the prefix is on-link.
    pub on_link: bool,
    /// A flag: hosts may form addresses with SLAAC.
    pub autonomous: bool,
    /// Flag bits other than L and A (R of RFC 6275, P of RFC 9762, reserved),
    /// passed through so a decoded rogue RA can be shown as it was.
    pub other_flags: u8,
    /// Seconds the prefix stays valid for on-link determination.
    pub valid_lifetime: u32,
    /// Seconds addresses from the prefix stay preferred.
    pub preferred_lifetime: u32,
    /// The prefix (bits past `prefix_len` as sent).
    pub prefix: Ipv6Addr,
}

/// Route Information option body (RFC 4191 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInformation {
    /// Prefix length in bits (0..=128).
    pub prefix_len: u8,
    /// Preference of this route over others for the same prefix.
    pub preference: RouterPreference,
    /// Seconds the route stays valid.
    pub route_lifetime: u32,
    /// The prefix, bits past `prefix_len` zeroed (RFC 4191: receivers ignore them).
    pub prefix: Ipv6Addr,
}

/// RDNSS option body (RFC 8106 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecursiveDnsServers {
    /// Seconds the servers may be used.
    pub lifetime: u32,
    /// Resolver addresses (at least one on the wire).
    pub servers: Vec<Ipv6Addr>,
}

/// DNSSL option body (RFC 8106 5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSearchList {
    /// Seconds the domains may be used.
    pub lifetime: u32,
    /// Search domains (at least one on the wire).
    pub domains: Vec<DomainName>,
}

/// An option this codec does not interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOption {
    /// Option type.
    pub kind: u8,
    /// Body after type and length (length*8 - 2 octets when decoded).
    pub body: Vec<u8>,
}

fn array<const N: usize>(body: &[u8], at: usize) -> Result<[u8; N], OptionFault> {
    body.get(at..at + N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(OptionFault::BadLength)
}

fn be_u32(body: &[u8], at: usize) -> Result<u32, OptionFault> {
    array::<4>(body, at).map(u32::from_be_bytes)
}

fn ipv6(body: &[u8], at: usize) -> Result<Ipv6Addr, OptionFault> {
    array::<16>(body, at).map(Ipv6Addr::from)
}

/// Zeroes the bits of `addr` past `len` (`len` >= 128 keeps all).
pub(crate) fn mask_prefix(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(bits & mask)
}

impl NdOption {
    /// The option type octet.
    pub fn kind(&self) -> u8 {
        match self {
            NdOption::SourceLinkLayerAddress(_) => OPT_SOURCE_LINK_LAYER_ADDRESS,
            NdOption::TargetLinkLayerAddress(_) => OPT_TARGET_LINK_LAYER_ADDRESS,
            NdOption::PrefixInformation(_) => OPT_PREFIX_INFORMATION,
            NdOption::Mtu(_) => OPT_MTU,
            NdOption::RouteInformation(_) => OPT_ROUTE_INFORMATION,
            NdOption::RecursiveDnsServers(_) => OPT_RDNSS,
            NdOption::DnsSearchList(_) => OPT_DNSSL,
            NdOption::Unknown(u) => u.kind,
        }
    }

    /// Decodes an option body; `units` is the length field (> 0, checked by
    /// the caller) and `body` its `units * 8 - 2` octets.
    pub(crate) fn decode(kind: u8, units: u8, body: &[u8]) -> Result<NdOption, OptionFault> {
        match kind {
            OPT_SOURCE_LINK_LAYER_ADDRESS => Ok(NdOption::SourceLinkLayerAddress(body.to_vec())),
            OPT_TARGET_LINK_LAYER_ADDRESS => Ok(NdOption::TargetLinkLayerAddress(body.to_vec())),
            OPT_PREFIX_INFORMATION => decode_pio(units, body).map(NdOption::PrefixInformation),
            OPT_MTU if units == 1 => be_u32(body, 2).map(NdOption::Mtu),
            OPT_MTU => Err(OptionFault::BadLength),
            OPT_ROUTE_INFORMATION => decode_rio(units, body).map(NdOption::RouteInformation),
            OPT_RDNSS => decode_rdnss(units, body).map(NdOption::RecursiveDnsServers),
            OPT_DNSSL => decode_dnssl(units, body).map(NdOption::DnsSearchList),
            _ => Ok(NdOption::Unknown(UnknownOption {
                kind,
                body: body.to_vec(),
            })),
        }
    }

    /// Appends the option, padded to a multiple of 8 octets.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let kind = self.kind();
        let start = out.len();
        out.push(kind);
        out.push(0);
        match self {
            NdOption::SourceLinkLayerAddress(lla) | NdOption::TargetLinkLayerAddress(lla) => {
                out.extend_from_slice(lla);
            }
            NdOption::PrefixInformation(p) => {
                if p.prefix_len > 128 {
                    out.truncate(start);
                    return Err(EncodeError::PrefixLengthTooLong { kind });
                }
                let mut flags = p.other_flags & !(PIO_ON_LINK | PIO_AUTONOMOUS);
                if p.on_link {
                    flags |= PIO_ON_LINK;
                }
                if p.autonomous {
                    flags |= PIO_AUTONOMOUS;
                }
                out.push(p.prefix_len);
                out.push(flags);
                out.extend_from_slice(&p.valid_lifetime.to_be_bytes());
                out.extend_from_slice(&p.preferred_lifetime.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&p.prefix.octets());
            }
            NdOption::Mtu(mtu) => {
                out.extend_from_slice(&[0; 2]);
                out.extend_from_slice(&mtu.to_be_bytes());
            }
            NdOption::RouteInformation(r) => {
                if r.prefix_len > 128 {
                    out.truncate(start);
                    return Err(EncodeError::PrefixLengthTooLong { kind });
                }
                out.push(r.prefix_len);
                out.push(r.preference.bits() << 3);
                out.extend_from_slice(&r.route_lifetime.to_be_bytes());
                // Shortest prefix field that holds the prefix: 0, 8 or 16 octets.
                let field = match r.prefix_len {
                    0 => 0,
                    1..=64 => 8,
                    _ => 16,
                };
                let octets = mask_prefix(r.prefix, r.prefix_len).octets();
                out.extend_from_slice(octets.get(..field).unwrap_or(&octets));
            }
            NdOption::RecursiveDnsServers(r) => {
                if r.servers.is_empty() {
                    out.truncate(start);
                    return Err(EncodeError::EmptyRdnss);
                }
                out.extend_from_slice(&[0; 2]);
                out.extend_from_slice(&r.lifetime.to_be_bytes());
                for s in &r.servers {
                    out.extend_from_slice(&s.octets());
                }
            }
            NdOption::DnsSearchList(d) => {
                if d.domains.is_empty() {
                    out.truncate(start);
                    return Err(EncodeError::EmptyDnssl);
                }
                out.extend_from_slice(&[0; 2]);
                out.extend_from_slice(&d.lifetime.to_be_bytes());
                for name in &d.domains {
                    name.write_wire(out);
                }
            }
            NdOption::Unknown(u) => out.extend_from_slice(&u.body),
        }
        let written = out.len() - start;
        let padded = written.div_ceil(8) * 8;
        let Ok(units) = u8::try_from(padded / 8) else {
            out.truncate(start);
            return Err(EncodeError::OptionTooLong { kind });
        };
        out.resize(start + padded, 0);
        if let Some(len) = out.get_mut(start + 1) {
            *len = units;
        }
        Ok(())
    }
}

fn decode_pio(units: u8, body: &[u8]) -> Result<PrefixInformation, OptionFault> {
    if units != 4 {
        return Err(OptionFault::BadLength);
    }
    let [prefix_len, flags] = array::<2>(body, 0)?;
    if prefix_len > 128 {
        return Err(OptionFault::PrefixLengthTooLong);
    }
    Ok(PrefixInformation {
        prefix_len,
        on_link: flags & PIO_ON_LINK != 0,
        autonomous: flags & PIO_AUTONOMOUS != 0,
        other_flags: flags & !(PIO_ON_LINK | PIO_AUTONOMOUS),
        valid_lifetime: be_u32(body, 2)?,
        preferred_lifetime: be_u32(body, 6)?,
        prefix: ipv6(body, 14)?,
    })
}

fn decode_rio(units: u8, body: &[u8]) -> Result<RouteInformation, OptionFault> {
    // RFC 4191 2.3: length 1..=3 and a prefix field long enough for the prefix.
    if !(1..=3).contains(&units) {
        return Err(OptionFault::BadLength);
    }
    let [prefix_len, flags] = array::<2>(body, 0)?;
    if prefix_len > 128 {
        return Err(OptionFault::PrefixLengthTooLong);
    }
    let needed_units = match prefix_len {
        0 => 1,
        1..=64 => 2,
        _ => 3,
    };
    if units < needed_units {
        return Err(OptionFault::PrefixFieldTooShort);
    }
    let mut octets = [0u8; 16];
    let field = body.get(6..).unwrap_or(&[]);
    for (dst, src) in octets.iter_mut().zip(field) {
        *dst = *src;
    }
    Ok(RouteInformation {
        prefix_len,
        preference: RouterPreference::from_bits(flags >> 3),
        route_lifetime: be_u32(body, 2)?,
        prefix: mask_prefix(Ipv6Addr::from(octets), prefix_len),
    })
}

fn decode_rdnss(units: u8, body: &[u8]) -> Result<RecursiveDnsServers, OptionFault> {
    // RFC 8106 5.3.1: length >= 3 and odd.
    if units < 3 || units.is_multiple_of(2) {
        return Err(OptionFault::BadLength);
    }
    let lifetime = be_u32(body, 2)?;
    let servers = body
        .get(6..)
        .unwrap_or(&[])
        .chunks_exact(16)
        .filter_map(|c| <[u8; 16]>::try_from(c).ok().map(Ipv6Addr::from))
        .collect();
    Ok(RecursiveDnsServers { lifetime, servers })
}

fn decode_dnssl(units: u8, body: &[u8]) -> Result<DnsSearchList, OptionFault> {
    if units < 2 {
        return Err(OptionFault::BadLength);
    }
    let lifetime = be_u32(body, 2)?;
    let mut rest = body.get(6..).unwrap_or(&[]);
    let mut domains = Vec::new();
    while let Some(&first) = rest.first() {
        if first == 0 {
            // The first zero octet where a name would start begins the padding.
            if rest.iter().any(|&b| b != 0) {
                return Err(OptionFault::NonZeroPadding);
            }
            break;
        }
        let (name, used) = DomainName::read_wire(rest).map_err(OptionFault::BadDomainName)?;
        domains.push(name);
        rest = rest.get(used..).unwrap_or(&[]);
    }
    if domains.is_empty() {
        return Err(OptionFault::EmptySearchList);
    }
    Ok(DnsSearchList { lifetime, domains })
}
