//! The DHCPv6 client/server message: msg-type, transaction-id, options.

use std::net::Ipv6Addr;

use super::domain::DomainName;
use super::duid::Duid;
use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::options::{
    DhcpOption, IaNa, IaPd, NtpSuboption, Scope, StatusCode, decode_options, encode_options,
    first_status,
};

/// Message types (RFC 8415 section 7.3). Relay types never decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Solicit,
    /// 2
    Advertise,
    /// 3
    Request,
    /// 4
    Confirm,
    /// 5
    Renew,
    /// 6
    Rebind,
    /// 7
    Reply,
    /// 8
    Release,
    /// 9
    Decline,
    /// 10
    Reconfigure,
    /// 11
    InformationRequest,
    /// Any other non-relay type (kept so it can be counted by value).
    Other(u8),
}

impl MessageType {
    const RELAY_FORW: u8 = 12;
    const RELAY_REPL: u8 = 13;

    /// Maps the wire value; `None` for the relay types 12 and 13.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Solicit,
            2 => Self::Advertise,
            3 => Self::Request,
            4 => Self::Confirm,
            5 => Self::Renew,
            6 => Self::Rebind,
            7 => Self::Reply,
            8 => Self::Release,
            9 => Self::Decline,
            10 => Self::Reconfigure,
            11 => Self::InformationRequest,
            Self::RELAY_FORW | Self::RELAY_REPL => return None,
            o => Self::Other(o),
        })
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Solicit => 1,
            Self::Advertise => 2,
            Self::Request => 3,
            Self::Confirm => 4,
            Self::Renew => 5,
            Self::Rebind => 6,
            Self::Reply => 7,
            Self::Release => 8,
            Self::Decline => 9,
            Self::Reconfigure => 10,
            Self::InformationRequest => 11,
            Self::Other(o) => o,
        }
    }
}

/// A 24-bit transaction id; the constructor drops the top octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransactionId(u32);

impl TransactionId {
    /// Keeps the low 24 bits of `v`.
    pub fn new(v: u32) -> Self {
        Self(v & 0x00ff_ffff)
    }

    /// The 24-bit value.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A client/server DHCPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message type.
    pub msg_type: MessageType,
    /// Transaction id, echoed by the server.
    pub transaction_id: TransactionId,
    /// Options in wire order.
    pub options: Vec<DhcpOption>,
}

impl Message {
    /// An empty message, to be filled with options.
    pub fn new(msg_type: MessageType, transaction_id: TransactionId) -> Self {
        Self {
            msg_type,
            transaction_id,
            options: Vec::new(),
        }
    }

    /// Decodes one UDP payload. Never panics; see the module docs for what
    /// is rejected.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let (header, body) = match buf {
            [t, a, b, c, rest @ ..] => ((*t, [0, *a, *b, *c]), rest),
            _ => {
                return Err(DecodeError {
                    kind: DecodeErrorKind::TooShort,
                    offset: 0,
                });
            }
        };
        let msg_type = MessageType::from_u8(header.0).ok_or(DecodeError {
            kind: DecodeErrorKind::RelayMessage,
            offset: 0,
        })?;
        Ok(Self {
            msg_type,
            transaction_id: TransactionId::new(u32::from_be_bytes(header.1)),
            options: decode_options(body, 4, Scope::Message)?,
        })
    }

    /// Appends the wire form to `out` (a reusable buffer keeps encoding
    /// allocation-free once it has grown).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.msg_type.to_u8());
        out.extend_from_slice(&self.transaction_id.get().to_be_bytes()[1..]);
        encode_options(&self.options, out)
    }

    /// The wire form in a fresh buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Number of options with this code at message level (engines reject
    /// duplicates of the identifiers).
    pub fn count(&self, code: u16) -> usize {
        self.options.iter().filter(|o| o.code() == code).count()
    }

    /// The first Client Identifier.
    pub fn client_id(&self) -> Option<&Duid> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(d),
            _ => None,
        })
    }

    /// The first Server Identifier.
    pub fn server_id(&self) -> Option<&Duid> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::ServerId(d) => Some(d),
            _ => None,
        })
    }

    /// Server preference; absent means 0 (RFC 8415 18.2.9).
    pub fn preference(&self) -> u8 {
        self.options
            .iter()
            .find_map(|o| match o {
                DhcpOption::Preference(p) => Some(*p),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The message-level status, if any.
    pub fn status(&self) -> Option<&StatusCode> {
        first_status(&self.options)
    }

    /// Whether a Rapid Commit option is present.
    pub fn has_rapid_commit(&self) -> bool {
        self.options
            .iter()
            .any(|o| matches!(o, DhcpOption::RapidCommit))
    }

    /// All IA_NA options.
    pub fn ia_nas(&self) -> impl Iterator<Item = &IaNa> {
        self.options.iter().filter_map(|o| match o {
            DhcpOption::IaNa(ia) => Some(ia),
            _ => None,
        })
    }

    /// All IA_PD options.
    pub fn ia_pds(&self) -> impl Iterator<Item = &IaPd> {
        self.options.iter().filter_map(|o| match o {
            DhcpOption::IaPd(ia) => Some(ia),
            _ => None,
        })
    }

    /// DNS servers from every DNS option, in order.
    pub fn dns_servers(&self) -> Vec<Ipv6Addr> {
        self.options
            .iter()
            .filter_map(|o| match o {
                DhcpOption::DnsServers(a) => Some(a.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// NTP server addresses (RFC 5908 suboption 1) from every NTP Server
    /// option, in order. Multicast and FQDN suboptions are left out: the
    /// router neither listens for multicast NTP nor resolves a name before
    /// its clock is right.
    pub fn ntp_servers(&self) -> Vec<Ipv6Addr> {
        self.options
            .iter()
            .filter_map(|o| match o {
                DhcpOption::NtpServer(subs) => Some(subs.iter().filter_map(|s| match s {
                    NtpSuboption::ServerAddress(a) => Some(*a),
                    _ => None,
                })),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Search domains from every Domain List option, in order.
    pub fn domain_list(&self) -> Vec<DomainName> {
        self.options
            .iter()
            .filter_map(|o| match o {
                DhcpOption::DomainList(n) => Some(n.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// SOL_MAX_RT value, if sent.
    pub fn sol_max_rt(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::SolMaxRt(v) => Some(*v),
            _ => None,
        })
    }

    /// INF_MAX_RT value, if sent.
    pub fn inf_max_rt(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::InfMaxRt(v) => Some(*v),
            _ => None,
        })
    }

    /// Information Refresh Time, if sent.
    pub fn information_refresh_time(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::InformationRefreshTime(v) => Some(*v),
            _ => None,
        })
    }
    /// The DS-Lite AFTR name (option 64), if sent.
    pub fn aftr_name(&self) -> Option<&DomainName> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::AftrName(n) => Some(n),
            _ => None,
        })
    }

    /// The options inside the first MAP-E container (option 94), if sent:
    /// S46 Rules and BRs in wire order.
    pub fn map_e(&self) -> Option<&[DhcpOption]> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::S46ContMapE(inner) => Some(inner.as_slice()),
            _ => None,
        })
    }
}
