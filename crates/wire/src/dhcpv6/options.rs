//! DHCPv6 options: typed where the router uses them, raw otherwise.
//!
//! Container options (IA_NA, IA_PD, IA Address, IA Prefix) carry their own
//! option lists in wire order, so a decoded message re-encodes exactly.
//! Placement is enforced on decode: IA options only at message level, IA
//! Address only inside IA_NA, IA Prefix only inside IA_PD, Prefix Exclude
//! only inside IA Prefix. That bounds the nesting depth to four.

use std::net::Ipv6Addr;

use super::domain::{DomainName, decode_name};
use super::duid::Duid;
use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::reader::Reader;
use super::s46::{
    S46PortParams, S46Rule, decode_port_params, decode_rule, encode_port_params, encode_rule,
};

/// Option codes (IANA "DHCPv6 Option Codes").
pub mod code {
    /// Client Identifier (RFC 8415 21.2).
    pub const CLIENT_ID: u16 = 1;
    /// Server Identifier (RFC 8415 21.3).
    pub const SERVER_ID: u16 = 2;
    /// Identity Association for Non-temporary Addresses (RFC 8415 21.4).
    pub const IA_NA: u16 = 3;
    /// IA Address (RFC 8415 21.6).
    pub const IAADDR: u16 = 5;
    /// Option Request (RFC 8415 21.7).
    pub const ORO: u16 = 6;
    /// Preference (RFC 8415 21.8).
    pub const PREFERENCE: u16 = 7;
    /// Elapsed Time (RFC 8415 21.9).
    pub const ELAPSED_TIME: u16 = 8;
    /// Status Code (RFC 8415 21.13).
    pub const STATUS_CODE: u16 = 13;
    /// Rapid Commit (RFC 8415 21.14).
    pub const RAPID_COMMIT: u16 = 14;
    /// Reconfigure Accept (RFC 8415 21.20).
    pub const RECONF_ACCEPT: u16 = 20;
    /// DNS Recursive Name Server (RFC 3646).
    pub const DNS_SERVERS: u16 = 23;
    /// Domain Search List (RFC 3646).
    pub const DOMAIN_LIST: u16 = 24;
    /// Identity Association for Prefix Delegation (RFC 8415 21.21).
    pub const IA_PD: u16 = 25;
    /// IA Prefix (RFC 8415 21.22).
    pub const IAPREFIX: u16 = 26;
    /// Information Refresh Time (RFC 8415 21.23).
    pub const INFORMATION_REFRESH_TIME: u16 = 32;
    /// NTP Server (RFC 5908).
    pub const NTP_SERVER: u16 = 56;
    /// AFTR-Name: the DS-Lite tunnel endpoint (RFC 6334).
    pub const AFTR_NAME: u16 = 64;
    /// Prefix Exclude (RFC 6603), inside an IA Prefix.
    pub const PD_EXCLUDE: u16 = 67;
    /// SOL_MAX_RT (RFC 8415 21.24).
    pub const SOL_MAX_RT: u16 = 82;
    /// INF_MAX_RT (RFC 8415 21.25).
    pub const INF_MAX_RT: u16 = 83;
    /// S46 Rule (RFC 7598 4.1), inside an S46 container.
    pub const S46_RULE: u16 = 89;
    /// S46 BR: a Border Relay address (RFC 7598 4.2), inside S46_CONT_MAPE.
    pub const S46_BR: u16 = 90;
    /// S46 Port Parameters (RFC 7598 4.5), inside an S46 Rule.
    pub const S46_PORTPARAMS: u16 = 93;
    /// S46 MAP-E container (RFC 7598 5.1).
    pub const S46_CONT_MAPE: u16 = 94;

    /// Every code the codec decodes into a typed variant.
    pub const TYPED: [u16; 24] = [
        CLIENT_ID,
        SERVER_ID,
        IA_NA,
        IAADDR,
        ORO,
        PREFERENCE,
        ELAPSED_TIME,
        STATUS_CODE,
        RAPID_COMMIT,
        RECONF_ACCEPT,
        DNS_SERVERS,
        DOMAIN_LIST,
        IA_PD,
        IAPREFIX,
        INFORMATION_REFRESH_TIME,
        NTP_SERVER,
        PD_EXCLUDE,
        SOL_MAX_RT,
        INF_MAX_RT,
        AFTR_NAME,
        S46_RULE,
        S46_BR,
        S46_PORTPARAMS,
        S46_CONT_MAPE,
    ];
}

/// Where an option list sits; decides which containers may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Message,
    IaNa,
    IaPd,
    /// Inside an IA Address: no containers at all.
    Lease,
    /// Inside an IA Prefix: no containers, but Prefix Exclude.
    PrefixLease,
    /// Inside S46_CONT_MAPE: S46 Rules and BRs.
    S46Container,
    /// Inside an S46 Rule: Port Parameters.
    S46Rule,
}

/// One DHCPv6 option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpOption {
    /// Who the client is.
    ClientId(Duid),
    /// Which server answered.
    ServerId(Duid),
    /// Non-temporary addresses.
    IaNa(IaNa),
    /// One address inside an IA_NA.
    IaAddr(IaAddress),
    /// Delegated prefixes.
    IaPd(IaPd),
    /// One prefix inside an IA_PD.
    IaPrefix(IaPrefix),
    /// Options the client wants (codes).
    Oro(Vec<u16>),
    /// Server preference; 255 means "pick me now".
    Preference(u8),
    /// Centiseconds since the exchange began, saturating at 0xffff.
    ElapsedTime(u16),
    /// Outcome of an operation, at message or IA level.
    StatusCode(StatusCode),
    /// Two-message exchange requested or granted.
    RapidCommit,
    /// Client would accept Reconfigure (we never send it).
    ReconfigureAccept,
    /// Recursive DNS servers.
    DnsServers(Vec<Ipv6Addr>),
    /// Domain search list.
    DomainList(Vec<DomainName>),
    /// Seconds until a stateless client should refresh.
    InformationRefreshTime(u32),
    /// NTP servers, as suboptions.
    NtpServer(Vec<NtpSuboption>),
    /// A part of the enclosing IA Prefix that is not delegated (RFC 6603).
    PdExclude(PdExclude),
    /// Server-imposed maximum Solicit retransmission time.
    SolMaxRt(u32),
    /// Server-imposed maximum Information-request retransmission time.
    InfMaxRt(u32),
    /// The DS-Lite AFTR's name (RFC 6334).
    AftrName(DomainName),
    /// The MAP-E container (RFC 7598 5.1): S46 Rules, BRs, others raw.
    S46ContMapE(Vec<DhcpOption>),
    /// One MAP rule (RFC 7598 4.1), inside a container.
    S46Rule(S46Rule),
    /// A Border Relay address (RFC 7598 4.2), inside a container.
    S46Br(Ipv6Addr),
    /// Port set parameters (RFC 7598 4.5), inside an S46 Rule.
    S46PortParams(S46PortParams),
    /// Any other option, kept verbatim. `code` must not be one of
    /// [`code::TYPED`] (those always decode typed).
    Unknown {
        /// Option code.
        code: u16,
        /// Option body.
        data: Vec<u8>,
    },
}

/// IA_NA: addresses for one interface, identified by IAID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNa {
    /// Identity association id, chosen by the client and stable.
    pub iaid: u32,
    /// Renew time, seconds (0 = client decides).
    pub t1: u32,
    /// Rebind time, seconds (0 = client decides).
    pub t2: u32,
    /// IA Address and Status Code options, in wire order.
    pub options: Vec<DhcpOption>,
}

/// IA_PD: delegated prefixes, identified by IAID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaPd {
    /// Identity association id, chosen by the client and stable.
    pub iaid: u32,
    /// Renew time, seconds (0 = client decides).
    pub t1: u32,
    /// Rebind time, seconds (0 = client decides).
    pub t2: u32,
    /// IA Prefix and Status Code options, in wire order.
    pub options: Vec<DhcpOption>,
}

/// An address lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddress {
    /// The address.
    pub addr: Ipv6Addr,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Encapsulated options (typically a Status Code).
    pub options: Vec<DhcpOption>,
}

/// A prefix lease (or, from a client, a hint such as `::/56`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaPrefix {
    /// Preferred lifetime, seconds.
    pub preferred: u32,
    /// Valid lifetime, seconds.
    pub valid: u32,
    /// Prefix length, 0..=128.
    pub prefix_len: u8,
    /// Prefix bits (not masked: kept as sent).
    pub prefix: Ipv6Addr,
    /// Encapsulated options (typically a Status Code).
    pub options: Vec<DhcpOption>,
}

/// Prefix Exclude (RFC 6603 4.2) as on the wire: the excluded prefix's
/// length and its bits after the enclosing IA Prefix's length, left-aligned
/// in 1..=16 octets. Only [`IaPrefix::excluded`] can make a prefix of it,
/// because the bits are relative to that IA Prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdExclude {
    /// Length of the excluded prefix, bits.
    pub prefix_len: u8,
    /// The "IPv6 subnet ID" octets (1..=16 on the wire).
    pub subnet_id: Vec<u8>,
}

/// Why a Prefix Exclude option cannot apply to its IA Prefix (stable
/// snake_case keys for drop counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdExcludeError {
    /// prefix-len is not between the IA Prefix length + 1 and 128.
    BadPrefixLength,
    /// The subnet ID is not the ((prefix-len - IA length - 1) / 8) + 1
    /// octets RFC 6603 4.2 derives from the two lengths.
    BadSubnetIdLength,
}

impl PdExcludeError {
    /// Stable snake_case key.
    pub fn reason(self) -> &'static str {
        match self {
            Self::BadPrefixLength => "pd_exclude_bad_prefix_length",
            Self::BadSubnetIdLength => "pd_exclude_bad_subnet_id_length",
        }
    }
}

/// The mask of the first `len` bits (0..=128).
fn mask(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    }
}

impl PdExclude {
    /// The option excluding `excluded` (address, length) from the IA
    /// Prefix `delegated` (RFC 6603 4.2), or `None` if `excluded` is not a
    /// longer prefix inside `delegated`.
    pub fn new(delegated: (Ipv6Addr, u8), excluded: (Ipv6Addr, u8)) -> Option<Self> {
        let ((p1, a), (p2, b)) = (delegated, excluded);
        let (p1, p2) = (u128::from(p1), u128::from(p2));
        if b <= a || b > 128 || (p1 ^ p2) & mask(a) != 0 {
            return None;
        }
        let octets = usize::from((b - a - 1) / 8) + 1;
        // The subnet ID: the excluded prefix with the common `a` bits
        // shifted out, trailing bits zero.
        let p = (p2 & mask(b)) << a;
        Some(Self {
            prefix_len: b,
            subnet_id: p.to_be_bytes().get(..octets)?.to_vec(),
        })
    }
}

/// Status codes (RFC 8415 21.13), with unknown values kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0
    Success,
    /// 1
    UnspecFail,
    /// 2
    NoAddrsAvail,
    /// 3
    NoBinding,
    /// 4
    NotOnLink,
    /// 5
    UseMulticast,
    /// 6
    NoPrefixAvail,
    /// Anything else.
    Other(u16),
}

impl Status {
    /// Maps the wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => Self::Success,
            1 => Self::UnspecFail,
            2 => Self::NoAddrsAvail,
            3 => Self::NoBinding,
            4 => Self::NotOnLink,
            5 => Self::UseMulticast,
            6 => Self::NoPrefixAvail,
            o => Self::Other(o),
        }
    }

    /// The RFC's name for the code, as engineers read it in server logs
    /// and the RFC (`NoPrefixAvail`); unknown codes as `status N`.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            Self::Success => "Success",
            Self::UnspecFail => "UnspecFail",
            Self::NoAddrsAvail => "NoAddrsAvail",
            Self::NoBinding => "NoBinding",
            Self::NotOnLink => "NotOnLink",
            Self::UseMulticast => "UseMulticast",
            Self::NoPrefixAvail => "NoPrefixAvail",
            Self::Other(o) => return std::borrow::Cow::Owned(format!("status {o}")),
        })
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0,
            Self::UnspecFail => 1,
            Self::NoAddrsAvail => 2,
            Self::NoBinding => 3,
            Self::NotOnLink => 4,
            Self::UseMulticast => 5,
            Self::NoPrefixAvail => 6,
            Self::Other(o) => o,
        }
    }
}

/// A Status Code option: code plus a UTF-8 message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCode {
    /// The status.
    pub status: Status,
    /// Server's explanation (may be empty).
    pub message: String,
}

/// NTP server suboptions (RFC 5908 section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a name is 256 octets inline (no allocation); a Reply carries a few suboptions, decoded once"
)]
pub enum NtpSuboption {
    /// 1: unicast server address.
    ServerAddress(Ipv6Addr),
    /// 2: multicast group address.
    MulticastAddress(Ipv6Addr),
    /// 3: server FQDN, uncompressed.
    ServerFqdn(DomainName),
    /// Unknown suboption kept verbatim; `code` must not be 1, 2 or 3.
    Unknown {
        /// Suboption code.
        code: u16,
        /// Suboption body.
        data: Vec<u8>,
    },
}

impl IaNa {
    /// The addresses in this IA.
    pub fn addresses(&self) -> impl Iterator<Item = &IaAddress> {
        self.options.iter().filter_map(|o| match o {
            DhcpOption::IaAddr(a) => Some(a),
            _ => None,
        })
    }

    /// The IA-level status, if any.
    pub fn status(&self) -> Option<&StatusCode> {
        first_status(&self.options)
    }
}

impl IaPrefix {
    /// The prefixes excluded from this delegation (RFC 6603) as (network,
    /// length), each checked against this IA Prefix: `Err` for an option
    /// that cannot apply to it. The padding bits after the excluded length
    /// are ignored.
    pub fn excluded(&self) -> impl Iterator<Item = Result<(Ipv6Addr, u8), PdExcludeError>> + '_ {
        self.options.iter().filter_map(|o| match o {
            DhcpOption::PdExclude(x) => Some(self.apply(x)),
            _ => None,
        })
    }

    fn apply(&self, x: &PdExclude) -> Result<(Ipv6Addr, u8), PdExcludeError> {
        let (a, b) = (self.prefix_len, x.prefix_len);
        if b <= a || b > 128 {
            return Err(PdExcludeError::BadPrefixLength);
        }
        if x.subnet_id.len() != usize::from((b - a - 1) / 8) + 1 {
            return Err(PdExcludeError::BadSubnetIdLength);
        }
        let mut octets = [0u8; 16];
        for (slot, byte) in octets.iter_mut().zip(&x.subnet_id) {
            *slot = *byte;
        }
        let id = u128::from_be_bytes(octets) >> a;
        let bits = (u128::from(self.prefix) & mask(a)) | (id & mask(b));
        Ok((Ipv6Addr::from(bits), b))
    }
}

impl IaPd {
    /// The prefixes in this IA.
    pub fn prefixes(&self) -> impl Iterator<Item = &IaPrefix> {
        self.options.iter().filter_map(|o| match o {
            DhcpOption::IaPrefix(p) => Some(p),
            _ => None,
        })
    }

    /// The IA-level status, if any.
    pub fn status(&self) -> Option<&StatusCode> {
        first_status(&self.options)
    }
}

pub(crate) fn first_status(options: &[DhcpOption]) -> Option<&StatusCode> {
    options.iter().find_map(|o| match o {
        DhcpOption::StatusCode(s) => Some(s),
        _ => None,
    })
}

impl DhcpOption {
    /// The option code this variant encodes as.
    pub fn code(&self) -> u16 {
        match self {
            Self::ClientId(_) => code::CLIENT_ID,
            Self::ServerId(_) => code::SERVER_ID,
            Self::IaNa(_) => code::IA_NA,
            Self::IaAddr(_) => code::IAADDR,
            Self::IaPd(_) => code::IA_PD,
            Self::IaPrefix(_) => code::IAPREFIX,
            Self::Oro(_) => code::ORO,
            Self::Preference(_) => code::PREFERENCE,
            Self::ElapsedTime(_) => code::ELAPSED_TIME,
            Self::StatusCode(_) => code::STATUS_CODE,
            Self::RapidCommit => code::RAPID_COMMIT,
            Self::ReconfigureAccept => code::RECONF_ACCEPT,
            Self::DnsServers(_) => code::DNS_SERVERS,
            Self::DomainList(_) => code::DOMAIN_LIST,
            Self::InformationRefreshTime(_) => code::INFORMATION_REFRESH_TIME,
            Self::NtpServer(_) => code::NTP_SERVER,
            Self::PdExclude(_) => code::PD_EXCLUDE,
            Self::SolMaxRt(_) => code::SOL_MAX_RT,
            Self::InfMaxRt(_) => code::INF_MAX_RT,
            Self::AftrName(_) => code::AFTR_NAME,
            Self::S46ContMapE(_) => code::S46_CONT_MAPE,
            Self::S46Rule(_) => code::S46_RULE,
            Self::S46Br(_) => code::S46_BR,
            Self::S46PortParams(_) => code::S46_PORTPARAMS,
            Self::Unknown { code, .. } => *code,
        }
    }
}

// ---------------------------------------------------------------- decoding

/// Decodes a whole option list occupying `buf`, which starts at message
/// offset `base`.
pub(crate) fn decode_options(
    buf: &[u8],
    base: usize,
    scope: Scope,
) -> Result<Vec<DhcpOption>, DecodeError> {
    let mut r = Reader::new(buf, base);
    let mut out = Vec::new();
    while !r.is_empty() {
        let header_at = r.offset();
        let code = r.u16(DecodeErrorKind::TruncatedOptionHeader)?;
        let len = r.u16(DecodeErrorKind::TruncatedOptionHeader)? as usize;
        let body_at = r.offset();
        let body = r.take(len, DecodeErrorKind::OptionOverrun { code })?;
        let misplaced = DecodeError {
            kind: DecodeErrorKind::MisplacedOption { code },
            offset: header_at,
        };
        let allowed = match code {
            code::IA_NA | code::IA_PD => scope == Scope::Message,
            code::IAADDR => scope == Scope::IaNa,
            code::IAPREFIX => scope == Scope::IaPd,
            code::PD_EXCLUDE => scope == Scope::PrefixLease,
            code::S46_CONT_MAPE => scope == Scope::Message,
            code::S46_RULE | code::S46_BR => scope == Scope::S46Container,
            code::S46_PORTPARAMS => scope == Scope::S46Rule,
            _ => true,
        };
        if !allowed {
            return Err(misplaced);
        }
        out.push(decode_one(code, body, body_at)?);
    }
    Ok(out)
}

fn bad_len(code: u16, len: usize, at: usize) -> DecodeError {
    DecodeError {
        kind: DecodeErrorKind::BadLength { code, len },
        offset: at,
    }
}

fn decode_one(code: u16, body: &[u8], at: usize) -> Result<DhcpOption, DecodeError> {
    let len = body.len();
    let mut r = Reader::new(body, at);
    let fixed = |want: usize| {
        if len == want {
            Ok(())
        } else {
            Err(bad_len(code, len, at))
        }
    };
    let short = DecodeErrorKind::BadLength { code, len };
    let opt = match code {
        code::CLIENT_ID | code::SERVER_ID => {
            let duid = Duid::from_bytes(body).map_err(|_| DecodeError {
                kind: DecodeErrorKind::BadDuid,
                offset: at,
            })?;
            if code == code::CLIENT_ID {
                DhcpOption::ClientId(duid)
            } else {
                DhcpOption::ServerId(duid)
            }
        }
        code::IA_NA | code::IA_PD => {
            let iaid = r.u32(short)?;
            let t1 = r.u32(short)?;
            let t2 = r.u32(short)?;
            let inner_at = r.offset();
            let scope = if code == code::IA_NA {
                Scope::IaNa
            } else {
                Scope::IaPd
            };
            let options = decode_options(r.rest(), inner_at, scope)?;
            if code == code::IA_NA {
                DhcpOption::IaNa(IaNa {
                    iaid,
                    t1,
                    t2,
                    options,
                })
            } else {
                DhcpOption::IaPd(IaPd {
                    iaid,
                    t1,
                    t2,
                    options,
                })
            }
        }
        code::IAADDR => {
            let addr = r.ipv6(short)?;
            let preferred = r.u32(short)?;
            let valid = r.u32(short)?;
            let inner_at = r.offset();
            let options = decode_options(r.rest(), inner_at, Scope::Lease)?;
            DhcpOption::IaAddr(IaAddress {
                addr,
                preferred,
                valid,
                options,
            })
        }
        code::IAPREFIX => {
            let preferred = r.u32(short)?;
            let valid = r.u32(short)?;
            let prefix_len = r.u8(short)?;
            if prefix_len > 128 {
                return Err(DecodeError {
                    kind: DecodeErrorKind::BadPrefixLength,
                    offset: at + 8,
                });
            }
            let prefix = r.ipv6(short)?;
            let inner_at = r.offset();
            let options = decode_options(r.rest(), inner_at, Scope::PrefixLease)?;
            DhcpOption::IaPrefix(IaPrefix {
                preferred,
                valid,
                prefix_len,
                prefix,
                options,
            })
        }
        code::ORO => {
            if !len.is_multiple_of(2) {
                return Err(bad_len(code, len, at));
            }
            let mut codes = Vec::with_capacity(len / 2);
            while !r.is_empty() {
                codes.push(r.u16(short)?);
            }
            DhcpOption::Oro(codes)
        }
        code::PREFERENCE => {
            fixed(1)?;
            DhcpOption::Preference(r.u8(short)?)
        }
        code::ELAPSED_TIME => {
            fixed(2)?;
            DhcpOption::ElapsedTime(r.u16(short)?)
        }
        code::STATUS_CODE => {
            let status = Status::from_u16(r.u16(short)?);
            let text_at = r.offset();
            let message = String::from_utf8(r.rest().to_vec()).map_err(|_| DecodeError {
                kind: DecodeErrorKind::BadUtf8,
                offset: text_at,
            })?;
            DhcpOption::StatusCode(StatusCode { status, message })
        }
        code::RAPID_COMMIT => {
            fixed(0)?;
            DhcpOption::RapidCommit
        }
        code::RECONF_ACCEPT => {
            fixed(0)?;
            DhcpOption::ReconfigureAccept
        }
        code::DNS_SERVERS => {
            if !len.is_multiple_of(16) {
                return Err(bad_len(code, len, at));
            }
            let mut addrs = Vec::with_capacity(len / 16);
            while !r.is_empty() {
                addrs.push(r.ipv6(short)?);
            }
            DhcpOption::DnsServers(addrs)
        }
        code::DOMAIN_LIST => {
            let mut names = Vec::new();
            while !r.is_empty() {
                names.push(decode_name(&mut r)?);
            }
            DhcpOption::DomainList(names)
        }
        code::INFORMATION_REFRESH_TIME | code::SOL_MAX_RT | code::INF_MAX_RT => {
            fixed(4)?;
            let v = r.u32(short)?;
            match code {
                code::SOL_MAX_RT => DhcpOption::SolMaxRt(v),
                code::INF_MAX_RT => DhcpOption::InfMaxRt(v),
                _ => DhcpOption::InformationRefreshTime(v),
            }
        }
        code::NTP_SERVER => DhcpOption::NtpServer(decode_ntp(&mut r)?),
        code::PD_EXCLUDE => {
            // RFC 6603 4.2: "A valid option-len is between 2 and 17."
            if !(2..=17).contains(&len) {
                return Err(bad_len(code, len, at));
            }
            let prefix_len = r.u8(short)?;
            DhcpOption::PdExclude(PdExclude {
                prefix_len,
                subnet_id: r.rest().to_vec(),
            })
        }
        code::AFTR_NAME => {
            let name = decode_name(&mut r)?;
            if !r.is_empty() {
                return Err(bad_len(code, len, at));
            }
            DhcpOption::AftrName(name)
        }
        code::S46_CONT_MAPE => {
            DhcpOption::S46ContMapE(decode_options(body, at, Scope::S46Container)?)
        }
        code::S46_RULE => DhcpOption::S46Rule(decode_rule(body, at, code)?),
        code::S46_BR => {
            fixed(16)?;
            DhcpOption::S46Br(r.ipv6(short)?)
        }
        code::S46_PORTPARAMS => DhcpOption::S46PortParams(decode_port_params(body, at, code)?),
        _ => DhcpOption::Unknown {
            code,
            data: body.to_vec(),
        },
    };
    Ok(opt)
}

fn decode_ntp(r: &mut Reader<'_>) -> Result<Vec<NtpSuboption>, DecodeError> {
    let mut subs = Vec::new();
    while !r.is_empty() {
        let code = r.u16(DecodeErrorKind::TruncatedOptionHeader)?;
        let len = r.u16(DecodeErrorKind::TruncatedOptionHeader)? as usize;
        let at = r.offset();
        let body = r.take(len, DecodeErrorKind::OptionOverrun { code })?;
        let mut br = Reader::new(body, at);
        let short = DecodeErrorKind::BadLength { code, len };
        let sub = match code {
            1 | 2 => {
                if len != 16 {
                    return Err(bad_len(code, len, at));
                }
                let a = br.ipv6(short)?;
                if code == 1 {
                    NtpSuboption::ServerAddress(a)
                } else {
                    NtpSuboption::MulticastAddress(a)
                }
            }
            3 => {
                let name = decode_name(&mut br)?;
                if !br.is_empty() {
                    return Err(bad_len(code, len, at));
                }
                NtpSuboption::ServerFqdn(name)
            }
            _ => NtpSuboption::Unknown {
                code,
                data: body.to_vec(),
            },
        };
        subs.push(sub);
    }
    Ok(subs)
}

// ---------------------------------------------------------------- encoding

/// Appends code, a length placeholder and the body written by `body`, then
/// patches the length; fails if the body exceeds 65535 octets.
fn put_tlv(
    out: &mut Vec<u8>,
    code: u16,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    out.extend_from_slice(&code.to_be_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0, 0]);
    body(out)?;
    let len = out.len() - len_at - 2;
    let len = u16::try_from(len).map_err(|_| EncodeError::OptionTooLong { code })?;
    if let Some(slot) = out.get_mut(len_at..len_at + 2) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

pub(crate) fn encode_options(options: &[DhcpOption], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    options.iter().try_for_each(|o| o.encode(out))
}

impl DhcpOption {
    /// Appends this option in wire form.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_tlv(out, self.code(), |out| {
            match self {
                Self::ClientId(d) | Self::ServerId(d) => out.extend_from_slice(d.as_bytes()),
                Self::IaNa(IaNa {
                    iaid,
                    t1,
                    t2,
                    options,
                })
                | Self::IaPd(IaPd {
                    iaid,
                    t1,
                    t2,
                    options,
                }) => {
                    out.extend_from_slice(&iaid.to_be_bytes());
                    out.extend_from_slice(&t1.to_be_bytes());
                    out.extend_from_slice(&t2.to_be_bytes());
                    encode_options(options, out)?;
                }
                Self::IaAddr(a) => {
                    out.extend_from_slice(&a.addr.octets());
                    out.extend_from_slice(&a.preferred.to_be_bytes());
                    out.extend_from_slice(&a.valid.to_be_bytes());
                    encode_options(&a.options, out)?;
                }
                Self::IaPrefix(p) => {
                    out.extend_from_slice(&p.preferred.to_be_bytes());
                    out.extend_from_slice(&p.valid.to_be_bytes());
                    out.push(p.prefix_len);
                    out.extend_from_slice(&p.prefix.octets());
                    encode_options(&p.options, out)?;
                }
                Self::Oro(codes) => codes
                    .iter()
                    .for_each(|c| out.extend_from_slice(&c.to_be_bytes())),
                Self::Preference(p) => out.push(*p),
                Self::ElapsedTime(t) => out.extend_from_slice(&t.to_be_bytes()),
                Self::StatusCode(s) => {
                    out.extend_from_slice(&s.status.to_u16().to_be_bytes());
                    out.extend_from_slice(s.message.as_bytes());
                }
                Self::RapidCommit | Self::ReconfigureAccept => {}
                Self::DnsServers(addrs) => addrs
                    .iter()
                    .for_each(|a| out.extend_from_slice(&a.octets())),
                Self::DomainList(names) => names
                    .iter()
                    .for_each(|n| out.extend_from_slice(n.as_wire())),
                Self::InformationRefreshTime(v) | Self::SolMaxRt(v) | Self::InfMaxRt(v) => {
                    out.extend_from_slice(&v.to_be_bytes())
                }
                Self::NtpServer(subs) => {
                    for s in subs {
                        encode_ntp(s, out)?;
                    }
                }
                Self::PdExclude(x) => {
                    out.push(x.prefix_len);
                    out.extend_from_slice(&x.subnet_id);
                }
                Self::AftrName(name) => out.extend_from_slice(name.as_wire()),
                Self::S46ContMapE(options) => encode_options(options, out)?,
                Self::S46Rule(rule) => encode_rule(rule, out)?,
                Self::S46Br(addr) => out.extend_from_slice(&addr.octets()),
                Self::S46PortParams(p) => encode_port_params(p, out),
                Self::Unknown { data, .. } => out.extend_from_slice(data),
            }
            Ok(())
        })
    }
}

fn encode_ntp(s: &NtpSuboption, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let octets;
    let (code, bytes): (u16, &[u8]) = match s {
        NtpSuboption::ServerAddress(a) => {
            octets = a.octets();
            (1, &octets)
        }
        NtpSuboption::MulticastAddress(a) => {
            octets = a.octets();
            (2, &octets)
        }
        NtpSuboption::ServerFqdn(n) => (3, n.as_wire()),
        NtpSuboption::Unknown { code, data } => (*code, data),
    };
    put_tlv(out, code, |o| {
        o.extend_from_slice(bytes);
        Ok(())
    })
}
