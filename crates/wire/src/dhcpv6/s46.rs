//! IPv4-over-IPv6 options: AFTR-Name (RFC 6334) for DS-Lite and the
//! MAP-E options of RFC 7598 (S46 Rule, BR, Port Parameters, MAP-E
//! container).
//!
//! Only the structure is checked here (lengths, placement, an IPv6 prefix
//! field that fits its length); values such as an EA-bits length over 48
//! decode as sent and are refused where the rule is applied, so one bad
//! rule does not cost the whole Reply (and its delegated prefix).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::options::{DhcpOption, Scope, decode_options, encode_options};
use super::reader::Reader;

/// S46 Rule flags: the F bit (RFC 7598 4.1), "this rule is also a
/// Forwarding Mapping Rule".
pub const S46_RULE_FLAG_FMR: u8 = 0x01;

/// S46_RULE (RFC 7598 4.1): one mapping rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S46Rule {
    /// Flags octet; only [`S46_RULE_FLAG_FMR`] is defined.
    pub flags: u8,
    /// Embedded-address bits (the RFC allows 0..=48; not checked here).
    pub ea_len: u8,
    /// Rule IPv4 prefix length (0..=32 in the RFC; not checked here).
    pub prefix4_len: u8,
    /// Rule IPv4 prefix, as sent.
    pub ipv4_prefix: Ipv4Addr,
    /// Rule IPv6 prefix length, 0..=128.
    pub prefix6_len: u8,
    /// Rule IPv6 prefix: the first ceil(prefix6_len / 8) octets as sent
    /// (padding bits kept, so the option re-encodes exactly), zeros after.
    pub ipv6_prefix: Ipv6Addr,
    /// Rule options in wire order: S46_PORTPARAMS, others raw.
    pub options: Vec<DhcpOption>,
}

/// S46_PORTPARAMS (RFC 7598 4.5): a rule's port set parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S46PortParams {
    /// PSID offset (bits of a port before the PSID).
    pub offset: u8,
    /// PSID length in bits.
    pub psid_len: u8,
    /// The PSID, left-aligned in 16 bits (RFC 7598 4.5).
    pub psid: u16,
}

impl S46Rule {
    /// Whether the F flag marks this rule as a Forwarding Mapping Rule.
    pub fn is_fmr(&self) -> bool {
        self.flags & S46_RULE_FLAG_FMR != 0
    }

    /// The first S46_PORTPARAMS inside this rule.
    pub fn port_params(&self) -> Option<S46PortParams> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::S46PortParams(p) => Some(*p),
            _ => None,
        })
    }
}

/// Octets of a prefix of `len` bits.
fn prefix_octets(len: u8) -> usize {
    usize::from(len).div_ceil(8)
}

/// Decodes the body of an S46_RULE at message offset `at`.
pub(crate) fn decode_rule(body: &[u8], at: usize, code: u16) -> Result<S46Rule, DecodeError> {
    let short = DecodeErrorKind::BadLength {
        code,
        len: body.len(),
    };
    let mut r = Reader::new(body, at);
    let flags = r.u8(short)?;
    let ea_len = r.u8(short)?;
    let prefix4_len = r.u8(short)?;
    let v4 = r.take(4, short)?;
    let mut v4_octets = [0u8; 4];
    v4_octets.copy_from_slice(v4);
    let len_at = r.offset();
    let prefix6_len = r.u8(short)?;
    if prefix6_len > 128 {
        return Err(DecodeError {
            kind: DecodeErrorKind::BadPrefixLength,
            offset: len_at,
        });
    }
    let mut v6 = [0u8; 16];
    let sent = r.take(prefix_octets(prefix6_len), short)?;
    for (slot, byte) in v6.iter_mut().zip(sent) {
        *slot = *byte;
    }
    let inner_at = r.offset();
    let options = decode_options(r.rest(), inner_at, Scope::S46Rule)?;
    Ok(S46Rule {
        flags,
        ea_len,
        prefix4_len,
        ipv4_prefix: Ipv4Addr::from(v4_octets),
        prefix6_len,
        ipv6_prefix: Ipv6Addr::from(v6),
        options,
    })
}

/// Decodes the body of an S46_PORTPARAMS (exactly 4 octets).
pub(crate) fn decode_port_params(
    body: &[u8],
    at: usize,
    code: u16,
) -> Result<S46PortParams, DecodeError> {
    let bad = DecodeErrorKind::BadLength {
        code,
        len: body.len(),
    };
    if body.len() != 4 {
        return Err(DecodeError {
            kind: bad,
            offset: at,
        });
    }
    let mut r = Reader::new(body, at);
    Ok(S46PortParams {
        offset: r.u8(bad)?,
        psid_len: r.u8(bad)?,
        psid: r.u16(bad)?,
    })
}

/// Appends the body of an S46_RULE.
pub(crate) fn encode_rule(rule: &S46Rule, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.extend_from_slice(&[rule.flags, rule.ea_len, rule.prefix4_len]);
    out.extend_from_slice(&rule.ipv4_prefix.octets());
    out.push(rule.prefix6_len);
    let octets = rule.ipv6_prefix.octets();
    out.extend_from_slice(
        octets
            .get(..prefix_octets(rule.prefix6_len.min(128)))
            .unwrap_or(&octets),
    );
    encode_options(&rule.options, out)
}

/// Appends the body of an S46_PORTPARAMS.
pub(crate) fn encode_port_params(p: &S46PortParams, out: &mut Vec<u8>) {
    out.extend_from_slice(&[p.offset, p.psid_len]);
    out.extend_from_slice(&p.psid.to_be_bytes());
}
