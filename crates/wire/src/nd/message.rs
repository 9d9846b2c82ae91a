//! Router Solicitation and Router Advertisement messages (RFC 4861 4.1, 4.2).

use std::net::Ipv6Addr;

use super::error::{DecodeError, EncodeError};
use super::option::{
    DnsSearchList, NdOption, PrefixInformation, RecursiveDnsServers, RouteInformation,
};

/// ICMPv6 type of a Router Solicitation.
pub const TYPE_ROUTER_SOLICITATION: u8 = 133;
/// ICMPv6 type of a Router Advertisement.
pub const TYPE_ROUTER_ADVERTISEMENT: u8 = 134;
/// Octets of an RS before its options (ICMP header + reserved).
pub const RS_FIXED_LEN: usize = 8;
/// Octets of an RA before its options.
pub const RA_FIXED_LEN: usize = 16;

const FLAG_MANAGED: u8 = 0x80;
const FLAG_OTHER: u8 = 0x40;
const PREFERENCE_SHIFT: u8 = 3;
const PREFERENCE_MASK: u8 = 0b11 << PREFERENCE_SHIFT;

/// Default router / route preference (RFC 4191 2.1): lets our router win over
/// a PC that starts advertising with the default (medium).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouterPreference {
    /// 01
    High,
    /// 00
    #[default]
    Medium,
    /// 11
    Low,
    /// 10: receivers treat it as medium (RFC 4191 2.2); kept so decoded
    /// messages can be shown as sent.
    Reserved,
}

impl RouterPreference {
    /// The two-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            RouterPreference::High => 0b01,
            RouterPreference::Medium => 0b00,
            RouterPreference::Low => 0b11,
            RouterPreference::Reserved => 0b10,
        }
    }

    /// From the low two bits of `bits` (the others are ignored).
    pub fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b01 => RouterPreference::High,
            0b00 => RouterPreference::Medium,
            0b11 => RouterPreference::Low,
            _ => RouterPreference::Reserved,
        }
    }

    /// Lower-case name as used in the configuration and status.
    pub fn as_str(self) -> &'static str {
        match self {
            RouterPreference::High => "high",
            RouterPreference::Medium => "medium",
            RouterPreference::Low => "low",
            RouterPreference::Reserved => "reserved",
        }
    }
}

/// A decoded RS or RA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdMessage {
    /// Type 133.
    RouterSolicitation(RouterSolicitation),
    /// Type 134.
    RouterAdvertisement(RouterAdvertisement),
}

/// Router Solicitation (RFC 4861 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterSolicitation {
    /// Options in received order.
    pub options: Vec<NdOption>,
}

/// Router Advertisement (RFC 4861 4.2, RFC 4191 2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterAdvertisement {
    /// Hop limit hosts should use; 0 = unspecified.
    pub cur_hop_limit: u8,
    /// M flag: addresses via DHCPv6.
    pub managed: bool,
    /// O flag: other configuration via DHCPv6.
    pub other_config: bool,
    /// Default router preference.
    pub preference: RouterPreference,
    /// Flag bits other than M, O and Prf (H, P, reserved), passed through.
    pub other_flags: u8,
    /// Seconds hosts may use us as default router; 0 = not a default router.
    pub router_lifetime: u16,
    /// Milliseconds; 0 = unspecified.
    pub reachable_time: u32,
    /// Milliseconds; 0 = unspecified.
    pub retrans_timer: u32,
    /// Options in received (or sending) order.
    pub options: Vec<NdOption>,
}

fn source_lla(options: &[NdOption]) -> Option<&[u8]> {
    options.iter().find_map(|o| match o {
        NdOption::SourceLinkLayerAddress(a) => Some(a.as_slice()),
        _ => None,
    })
}

fn encode_options(options: &[NdOption], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    options.iter().try_for_each(|o| o.encode(out))
}

impl RouterSolicitation {
    /// The Source Link-Layer Address option body, if present.
    pub fn source_link_layer_address(&self) -> Option<&[u8]> {
        source_lla(&self.options)
    }

    /// Appends the ICMPv6 message with a zero checksum to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[TYPE_ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0]);
        encode_options(&self.options, out)
    }

    /// The encoded message in a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(RS_FIXED_LEN + 8);
        self.encode(&mut out)?;
        Ok(out)
    }
}

impl RouterAdvertisement {
    /// The Source Link-Layer Address option body, if present.
    pub fn source_link_layer_address(&self) -> Option<&[u8]> {
        source_lla(&self.options)
    }

    /// Prefix Information options.
    pub fn prefixes(&self) -> impl Iterator<Item = &PrefixInformation> {
        self.options.iter().filter_map(|o| match o {
            NdOption::PrefixInformation(p) => Some(p),
            _ => None,
        })
    }

    /// Route Information options.
    pub fn routes(&self) -> impl Iterator<Item = &RouteInformation> {
        self.options.iter().filter_map(|o| match o {
            NdOption::RouteInformation(r) => Some(r),
            _ => None,
        })
    }

    /// RDNSS options.
    pub fn rdnss(&self) -> impl Iterator<Item = &RecursiveDnsServers> {
        self.options.iter().filter_map(|o| match o {
            NdOption::RecursiveDnsServers(r) => Some(r),
            _ => None,
        })
    }

    /// DNSSL options.
    pub fn dnssl(&self) -> impl Iterator<Item = &DnsSearchList> {
        self.options.iter().filter_map(|o| match o {
            NdOption::DnsSearchList(d) => Some(d),
            _ => None,
        })
    }

    /// The MTU option's value, if present.
    pub fn mtu(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            NdOption::Mtu(m) => Some(*m),
            _ => None,
        })
    }

    /// RDNSS server addresses over all RDNSS options.
    pub fn dns_servers(&self) -> impl Iterator<Item = &Ipv6Addr> {
        self.rdnss().flat_map(|r| r.servers.iter())
    }

    /// Appends the ICMPv6 message with a zero checksum to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut flags = self.other_flags & !(FLAG_MANAGED | FLAG_OTHER | PREFERENCE_MASK);
        if self.managed {
            flags |= FLAG_MANAGED;
        }
        if self.other_config {
            flags |= FLAG_OTHER;
        }
        flags |= self.preference.bits() << PREFERENCE_SHIFT;
        out.extend_from_slice(&[TYPE_ROUTER_ADVERTISEMENT, 0, 0, 0]);
        out.push(self.cur_hop_limit);
        out.push(flags);
        out.extend_from_slice(&self.router_lifetime.to_be_bytes());
        out.extend_from_slice(&self.reachable_time.to_be_bytes());
        out.extend_from_slice(&self.retrans_timer.to_be_bytes());
        encode_options(&self.options, out)
    }

    /// The encoded message in a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out)?;
        Ok(out)
    }
}

impl NdMessage {
    /// Appends the ICMPv6 message with a zero checksum to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            NdMessage::RouterSolicitation(rs) => rs.encode(out),
            NdMessage::RouterAdvertisement(ra) => ra.encode(out),
        }
    }

    /// The encoded message in a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out)?;
        Ok(out)
    }
}

fn decode_options(message: &[u8], start: usize) -> Result<Vec<NdOption>, DecodeError> {
    let mut options = Vec::new();
    let mut offset = start;
    while offset < message.len() {
        let (Some(&kind), Some(&units)) = (message.get(offset), message.get(offset + 1)) else {
            return Err(DecodeError::OptionOverrun { offset });
        };
        if units == 0 {
            return Err(DecodeError::OptionLengthZero { offset });
        }
        let end = offset + usize::from(units) * 8;
        let body = message
            .get(offset + 2..end)
            .ok_or(DecodeError::OptionOverrun { offset })?;
        let option =
            NdOption::decode(kind, units, body).map_err(|fault| DecodeError::MalformedOption {
                kind,
                offset,
                fault,
            })?;
        options.push(option);
        offset = end;
    }
    Ok(options)
}

fn fixed<const N: usize>(message: &[u8]) -> Result<[u8; N], DecodeError> {
    message
        .get(..N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(DecodeError::Truncated {
            needed: N,
            actual: message.len(),
        })
}

impl NdMessage {
    /// Decodes an ICMPv6 RS or RA (header included, checksum not verified: the
    /// kernel did that for the raw socket). Validates RFC 4861 6.1.1/6.1.2 code
    /// and length rules; hop limit and source checks need IP-level data and are
    /// the caller's.
    pub fn decode(message: &[u8]) -> Result<NdMessage, DecodeError> {
        let Some(&kind) = message.first() else {
            return Err(DecodeError::Truncated {
                needed: RS_FIXED_LEN,
                actual: 0,
            });
        };
        match kind {
            TYPE_ROUTER_SOLICITATION => {
                let [_, code, ..] = fixed::<RS_FIXED_LEN>(message)?;
                if code != 0 {
                    return Err(DecodeError::NonZeroCode(code));
                }
                Ok(NdMessage::RouterSolicitation(RouterSolicitation {
                    options: decode_options(message, RS_FIXED_LEN)?,
                }))
            }
            TYPE_ROUTER_ADVERTISEMENT => {
                let h = fixed::<RA_FIXED_LEN>(message)?;
                let [
                    _,
                    code,
                    _,
                    _,
                    hop,
                    flags,
                    l0,
                    l1,
                    r0,
                    r1,
                    r2,
                    r3,
                    t0,
                    t1,
                    t2,
                    t3,
                ] = h;
                if code != 0 {
                    return Err(DecodeError::NonZeroCode(code));
                }
                Ok(NdMessage::RouterAdvertisement(RouterAdvertisement {
                    cur_hop_limit: hop,
                    managed: flags & FLAG_MANAGED != 0,
                    other_config: flags & FLAG_OTHER != 0,
                    preference: RouterPreference::from_bits(flags >> PREFERENCE_SHIFT),
                    other_flags: flags & !(FLAG_MANAGED | FLAG_OTHER | PREFERENCE_MASK),
                    router_lifetime: u16::from_be_bytes([l0, l1]),
                    reachable_time: u32::from_be_bytes([r0, r1, r2, r3]),
                    retrans_timer: u32::from_be_bytes([t0, t1, t2, t3]),
                    options: decode_options(message, RA_FIXED_LEN)?,
                }))
            }
            other => Err(DecodeError::UnexpectedType(other)),
        }
    }
}
