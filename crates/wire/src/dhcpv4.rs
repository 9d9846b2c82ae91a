//! DHCPv4 (RFC 2131 message format, RFC 2132 options), strict, for both the
//! WAN client and the LAN server.
//!
//! Written here instead of taken from `dhcproto`, whose decoder silently
//! drops malformed options (see the project's dependency notes): a client
//! must know when a server's answer is damaged, and a server must count a
//! damaged request instead of acting on half of it. Every option either
//! side reads or writes is typed; other options are skipped after their
//! length is checked. Decoding rejects, with a typed [`DecodeError`]:
//! messages shorter than the fixed header, non-Ethernet hardware, a missing
//! magic cookie, truncated options, wrong fixed lengths, duplicated
//! single-valued options, unknown message types and option overload (52).
//!
//! Encoding writes option 53 first (some clients look for it there), splits
//! long values into several instances (RFC 3396) and pads to the 300 octets
//! BOOTP relays expect (RFC 1542).

mod names;
mod options;

pub use names::{NameError, decode_domain_search, encode_domain_search};
pub use options::{
    ClientFqdn, MAX_CLIENT_ID_LEN, MIN_CLIENT_ID_LEN, Options, PARAMETERS_WANTED, code,
};

use std::fmt;
use std::net::Ipv4Addr;

/// Fixed BOOTP header, before the magic cookie.
pub const HEADER_LEN: usize = 236;
/// RFC 2131 3: the options start with this cookie.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Smallest message we send (RFC 1542: pad to 300 bytes for relays).
pub const MIN_SEND_LEN: usize = 300;
/// Largest message every client must accept (RFC 2131 2: 576-octet IP
/// datagrams, minus IP and UDP headers).
pub const DEFAULT_MAX_MESSAGE: usize = 576 - 28;
/// UDP port servers listen on (RFC 2131 4.1).
pub const SERVER_PORT: u16 = 67;
/// UDP port clients listen on (RFC 2131 4.1).
pub const CLIENT_PORT: u16 = 68;

/// BOOTREQUEST / BOOTREPLY.
pub const OP_REQUEST: u8 = 1;
/// See [`OP_REQUEST`].
pub const OP_REPLY: u8 = 2;
/// The broadcast bit of `flags`: "I cannot receive unicast yet".
pub const FLAG_BROADCAST: u16 = 0x8000;

/// DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// Client looks for servers.
    Discover,
    /// Server offers an address.
    Offer,
    /// Client asks for (or renews) an address.
    Request,
    /// Client says the address is in use elsewhere.
    Decline,
    /// Server confirms.
    Ack,
    /// Server refuses.
    Nak,
    /// Client gives the address back.
    Release,
    /// Client asks for configuration only.
    Inform,
}

impl MessageType {
    /// Maps the wire value; `None` for values RFC 2132 does not define.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Discover => 1,
            Self::Offer => 2,
            Self::Request => 3,
            Self::Decline => 4,
            Self::Ack => 5,
            Self::Nak => 6,
            Self::Release => 7,
            Self::Inform => 8,
        }
    }

    /// Upper-case name as in RFC 2131, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Discover => "DHCPDISCOVER",
            Self::Offer => "DHCPOFFER",
            Self::Request => "DHCPREQUEST",
            Self::Decline => "DHCPDECLINE",
            Self::Ack => "DHCPACK",
            Self::Nak => "DHCPNAK",
            Self::Release => "DHCPRELEASE",
            Self::Inform => "DHCPINFORM",
        }
    }
}

/// One DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// [`OP_REQUEST`] or [`OP_REPLY`].
    pub op: u8,
    /// Relay hop count (0 from a directly attached client).
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// [`FLAG_BROADCAST`] or 0.
    pub flags: u16,
    /// Client's current address (renew/rebind/inform).
    pub ciaddr: Ipv4Addr,
    /// "Your" address: what the server assigns.
    pub yiaddr: Ipv4Addr,
    /// Next server.
    pub siaddr: Ipv4Addr,
    /// Relay agent.
    pub giaddr: Ipv4Addr,
    /// Client hardware address (Ethernet: 6 bytes).
    pub chaddr: [u8; 6],
    /// Options.
    pub options: Options,
}

impl Message {
    /// A reply skeleton for `request`: same xid, flags, giaddr and chaddr
    /// (RFC 2131 table 3), everything else zero.
    pub fn reply_to(request: &Message, message_type: MessageType) -> Message {
        Message {
            op: OP_REPLY,
            hops: 0,
            xid: request.xid,
            secs: 0,
            flags: request.flags,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: request.giaddr,
            chaddr: request.chaddr,
            options: Options {
                message_type: Some(message_type),
                ..Options::default()
            },
        }
    }

    /// The option 53 value.
    pub fn message_type(&self) -> Option<MessageType> {
        self.options.message_type
    }

    /// Whether the broadcast bit is set.
    pub fn broadcast(&self) -> bool {
        self.flags & FLAG_BROADCAST != 0
    }
}

/// Why a message was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeError {
    /// Shorter than header + cookie.
    TooShort(usize),
    /// Not BOOTP over Ethernet (htype 1, hlen 6).
    NotEthernet,
    /// Wrong or missing magic cookie.
    BadCookie,
    /// An option runs past the end of the message.
    TruncatedOption(u8),
    /// A known option with a length its RFC does not allow.
    BadOptionLength {
        /// Option code.
        code: u8,
        /// Length found.
        len: usize,
    },
    /// Option 53 holds an unknown value.
    BadMessageType(u8),
    /// Options in `sname`/`file` (option 52) are not supported.
    Overload,
    /// The same single-valued option twice (RFC 3396 concatenation is not
    /// supported for these).
    Duplicate(u8),
    /// A domain name (option 119) that is malformed.
    BadDomainName(u8),
}

impl DecodeError {
    /// Stable snake_case key, used as a drop-counter name by the engines.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooShort(_) => "too_short",
            Self::NotEthernet => "not_ethernet",
            Self::BadCookie => "bad_cookie",
            Self::TruncatedOption(_) => "truncated_option",
            Self::BadOptionLength { .. } => "bad_option_length",
            Self::BadMessageType(_) => "bad_message_type",
            Self::Overload => "option_overload",
            Self::Duplicate(_) => "duplicate_option",
            Self::BadDomainName(_) => "bad_domain_name",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort(n) => write!(f, "{n} bytes, shorter than a DHCP header"),
            DecodeError::NotEthernet => f.write_str("hardware type is not Ethernet"),
            DecodeError::BadCookie => f.write_str("missing DHCP magic cookie"),
            DecodeError::TruncatedOption(c) => write!(f, "option {c} truncated"),
            DecodeError::BadOptionLength { code, len } => {
                write!(f, "option {code} has invalid length {len}")
            }
            DecodeError::BadMessageType(t) => write!(f, "unknown message type {t}"),
            DecodeError::Overload => f.write_str("option overload (52) not supported"),
            DecodeError::Duplicate(c) => write!(f, "option {c} appears twice"),
            DecodeError::BadDomainName(c) => write!(f, "option {c} holds a malformed name"),
        }
    }
}

impl std::error::Error for DecodeError {}

fn ip_at(b: &[u8], at: usize) -> Ipv4Addr {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at.saturating_add(4)) {
        a.copy_from_slice(s);
    }
    Ipv4Addr::from(a)
}

/// Why a message could not be encoded. Nothing can fail today: every field
/// is bounded by its type, long values are split into several instances
/// (RFC 3396) and names that do not fit RFC 1035 are left out. The type
/// has no values; it exists so DHCPv4 has the same `encode` shape as every
/// other codec here, and callers destructure with `let Ok(..) = ..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {}

impl fmt::Display for EncodeError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for EncodeError {}

impl Message {
    /// Decodes a DHCP message from a UDP payload. Never panics.
    pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
        if b.len() < HEADER_LEN + MAGIC_COOKIE.len() {
            return Err(DecodeError::TooShort(b.len()));
        }
        let byte = |i: usize| b.get(i).copied().unwrap_or(0);
        if byte(1) != 1 || byte(2) != 6 {
            return Err(DecodeError::NotEthernet);
        }
        if b.get(HEADER_LEN..HEADER_LEN + 4) != Some(&MAGIC_COOKIE[..]) {
            return Err(DecodeError::BadCookie);
        }
        let mut chaddr = [0u8; 6];
        if let Some(s) = b.get(28..34) {
            chaddr.copy_from_slice(s);
        }
        let options = options::decode_options(b.get(HEADER_LEN + 4..).unwrap_or(&[]))?;
        Ok(Message {
            op: byte(0),
            hops: byte(3),
            xid: u32::from_be_bytes([byte(4), byte(5), byte(6), byte(7)]),
            secs: u16::from_be_bytes([byte(8), byte(9)]),
            flags: u16::from_be_bytes([byte(10), byte(11)]),
            ciaddr: ip_at(b, 12),
            yiaddr: ip_at(b, 16),
            siaddr: ip_at(b, 20),
            giaddr: ip_at(b, 24),
            chaddr,
            options,
        })
    }

    /// Appends the message to `out`, padded to [`MIN_SEND_LEN`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&[self.op, 1, 6, self.hops]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&a.octets());
        }
        out.extend_from_slice(&self.chaddr);
        out.resize(start + HEADER_LEN, 0); // chaddr padding, sname, file
        out.extend_from_slice(&MAGIC_COOKIE);
        self.options.encode(out);
        out.push(code::END);
        if out.len() - start < MIN_SEND_LEN {
            out.resize(start + MIN_SEND_LEN, 0);
        }
        Ok(())
    }

    /// The encoded message in a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(MIN_SEND_LEN);
        self.encode(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
