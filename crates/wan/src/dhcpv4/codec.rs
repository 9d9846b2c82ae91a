//! DHCPv4 message codec (RFC 2131 format, RFC 2132 options), strict.
//!
//! Written here instead of taken from `dhcproto`, whose decoder silently
//! drops malformed options (see the project's dependency notes): a client
//! must know when a server's answer is damaged. Only what a WAN client
//! needs is typed; other options are skipped after their length is checked.

use std::fmt;
use std::net::Ipv4Addr;

/// Fixed BOOTP header, before the magic cookie.
pub const HEADER_LEN: usize = 236;
/// RFC 2131 3: the options start with this cookie.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Smallest message a client sends (RFC 1542: pad to 300 bytes for relays).
pub const MIN_SEND_LEN: usize = 300;

/// BOOTREQUEST / BOOTREPLY.
pub const OP_REQUEST: u8 = 1;
/// See [`OP_REQUEST`].
pub const OP_REPLY: u8 = 2;
/// The broadcast bit of `flags`: "I cannot receive unicast yet".
pub const FLAG_BROADCAST: u16 = 0x8000;

const OPT_PAD: u8 = 0;
const OPT_SUBNET_MASK: u8 = 1;
const OPT_ROUTER: u8 = 3;
const OPT_DNS: u8 = 6;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_LEASE_TIME: u8 = 51;
const OPT_OVERLOAD: u8 = 52;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_PARAM_LIST: u8 = 55;
const OPT_MESSAGE: u8 = 56;
const OPT_MAX_SIZE: u8 = 57;
const OPT_T1: u8 = 58;
const OPT_T2: u8 = 59;
const OPT_CLIENT_ID: u8 = 61;
const OPT_END: u8 = 255;

/// DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    fn from_u8(v: u8) -> Option<Self> {
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
    fn to_u8(self) -> u8 {
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
}

/// The options a WAN client reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// 53.
    pub message_type: Option<MessageType>,
    /// 54.
    pub server_id: Option<Ipv4Addr>,
    /// 51, seconds.
    pub lease_time: Option<u32>,
    /// 58, seconds.
    pub renewal_time: Option<u32>,
    /// 59, seconds.
    pub rebinding_time: Option<u32>,
    /// 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// 3 (first is the default gateway).
    pub routers: Vec<Ipv4Addr>,
    /// 6.
    pub dns_servers: Vec<Ipv4Addr>,
    /// 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// 55.
    pub parameter_list: Vec<u8>,
    /// 61.
    pub client_id: Vec<u8>,
    /// 12.
    pub hostname: Option<String>,
    /// 56: a server's error text (NAK).
    pub message: Option<String>,
    /// 57.
    pub max_message_size: Option<u16>,
}

/// One DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// [`OP_REQUEST`] or [`OP_REPLY`].
    pub op: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// [`FLAG_BROADCAST`] or 0.
    pub flags: u16,
    /// Client's current address (renew/rebind).
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

/// Why a message was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        }
    }
}

impl std::error::Error for DecodeError {}

fn ip(b: &[u8], at: usize) -> Ipv4Addr {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    Ipv4Addr::from(a)
}

fn u32_of(code: u8, v: &[u8]) -> Result<u32, DecodeError> {
    <[u8; 4]>::try_from(v)
        .map(u32::from_be_bytes)
        .map_err(|_| DecodeError::BadOptionLength { code, len: v.len() })
}

fn ip_of(code: u8, v: &[u8]) -> Result<Ipv4Addr, DecodeError> {
    <[u8; 4]>::try_from(v)
        .map(Ipv4Addr::from)
        .map_err(|_| DecodeError::BadOptionLength { code, len: v.len() })
}

fn ip_list(code: u8, v: &[u8]) -> Result<Vec<Ipv4Addr>, DecodeError> {
    if v.is_empty() || !v.len().is_multiple_of(4) {
        return Err(DecodeError::BadOptionLength { code, len: v.len() });
    }
    Ok(v.chunks_exact(4).map(|c| ip(c, 0)).collect())
}

fn set_once<T>(slot: &mut Option<T>, code: u8, value: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::Duplicate(code));
    }
    *slot = Some(value);
    Ok(())
}

/// Decodes a DHCP message from a UDP payload.
pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
    if b.len() < HEADER_LEN + 4 {
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
    let mut o = Options::default();
    let mut rest = b.get(HEADER_LEN + 4..).unwrap_or(&[]);
    // Running out without END is tolerated: every option read was whole.
    while let Some((&code, after)) = rest.split_first() {
        if code == OPT_END {
            break;
        }
        if code == OPT_PAD {
            rest = after;
            continue;
        }
        let Some((&len, after)) = after.split_first() else {
            return Err(DecodeError::TruncatedOption(code));
        };
        let len = usize::from(len);
        let Some(v) = after.get(..len) else {
            return Err(DecodeError::TruncatedOption(code));
        };
        rest = after.get(len..).unwrap_or(&[]);
        match code {
            OPT_MESSAGE_TYPE => {
                let [t] = v else {
                    return Err(DecodeError::BadOptionLength { code, len });
                };
                let mt = MessageType::from_u8(*t).ok_or(DecodeError::BadMessageType(*t))?;
                set_once(&mut o.message_type, code, mt)?;
            }
            OPT_SERVER_ID => set_once(&mut o.server_id, code, ip_of(code, v)?)?,
            OPT_LEASE_TIME => set_once(&mut o.lease_time, code, u32_of(code, v)?)?,
            OPT_T1 => set_once(&mut o.renewal_time, code, u32_of(code, v)?)?,
            OPT_T2 => set_once(&mut o.rebinding_time, code, u32_of(code, v)?)?,
            OPT_SUBNET_MASK => set_once(&mut o.subnet_mask, code, ip_of(code, v)?)?,
            OPT_REQUESTED_IP => set_once(&mut o.requested_ip, code, ip_of(code, v)?)?,
            OPT_ROUTER => o.routers.extend(ip_list(code, v)?),
            OPT_DNS => o.dns_servers.extend(ip_list(code, v)?),
            OPT_PARAM_LIST => o.parameter_list.extend_from_slice(v),
            OPT_CLIENT_ID => {
                if v.len() < 2 {
                    return Err(DecodeError::BadOptionLength { code, len });
                }
                o.client_id = v.to_vec();
            }
            // RFC 2132 3.14 / 9.9: minimum length 1.
            OPT_HOSTNAME | OPT_MESSAGE if v.is_empty() => {
                return Err(DecodeError::BadOptionLength { code, len });
            }
            OPT_HOSTNAME => o.hostname = Some(String::from_utf8_lossy(v).into_owned()),
            OPT_MESSAGE => o.message = Some(String::from_utf8_lossy(v).into_owned()),
            OPT_MAX_SIZE => {
                let [hi, lo] = v else {
                    return Err(DecodeError::BadOptionLength { code, len });
                };
                o.max_message_size = Some(u16::from_be_bytes([*hi, *lo]));
            }
            OPT_OVERLOAD => return Err(DecodeError::Overload),
            _ => {}
        }
    }
    Ok(Message {
        op: byte(0),
        xid: u32::from_be_bytes([byte(4), byte(5), byte(6), byte(7)]),
        secs: u16::from_be_bytes([byte(8), byte(9)]),
        flags: u16::from_be_bytes([byte(10), byte(11)]),
        ciaddr: ip(b, 12),
        yiaddr: ip(b, 16),
        siaddr: ip(b, 20),
        giaddr: ip(b, 24),
        chaddr,
        options: o,
    })
}

fn put_opt(out: &mut Vec<u8>, code: u8, v: &[u8]) {
    put_opt_split(out, code, v, 255);
}

/// Values longer than one option are split into several instances of the
/// option (RFC 3396). Address lists split on whole addresses (`chunk` 252)
/// so every instance stays valid on its own.
fn put_opt_split(out: &mut Vec<u8>, code: u8, v: &[u8], chunk: usize) {
    for chunk in v.chunks(chunk) {
        out.push(code);
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
}

impl Message {
    /// Encodes the message, padded to [`MIN_SEND_LEN`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MIN_SEND_LEN);
        out.extend_from_slice(&[self.op, 1, 6, 0]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&self.secs.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.extend_from_slice(&a.octets());
        }
        out.extend_from_slice(&self.chaddr);
        out.resize(HEADER_LEN, 0); // chaddr padding, sname, file
        out.extend_from_slice(&MAGIC_COOKIE);
        let o = &self.options;
        if let Some(t) = o.message_type {
            put_opt(&mut out, OPT_MESSAGE_TYPE, &[t.to_u8()]);
        }
        if !o.client_id.is_empty() {
            put_opt(&mut out, OPT_CLIENT_ID, &o.client_id);
        }
        let ip_opt = |out: &mut Vec<u8>, code, a: Option<Ipv4Addr>| {
            if let Some(a) = a {
                put_opt(out, code, &a.octets());
            }
        };
        ip_opt(&mut out, OPT_REQUESTED_IP, o.requested_ip);
        ip_opt(&mut out, OPT_SERVER_ID, o.server_id);
        ip_opt(&mut out, OPT_SUBNET_MASK, o.subnet_mask);
        for (code, v) in [
            (OPT_LEASE_TIME, o.lease_time),
            (OPT_T1, o.renewal_time),
            (OPT_T2, o.rebinding_time),
        ] {
            if let Some(v) = v {
                put_opt(&mut out, code, &v.to_be_bytes());
            }
        }
        for (code, list) in [(OPT_ROUTER, &o.routers), (OPT_DNS, &o.dns_servers)] {
            if !list.is_empty() {
                let bytes: Vec<u8> = list.iter().flat_map(|a| a.octets()).collect();
                put_opt_split(&mut out, code, &bytes, 252);
            }
        }
        if let Some(m) = o.max_message_size {
            put_opt(&mut out, OPT_MAX_SIZE, &m.to_be_bytes());
        }
        if !o.parameter_list.is_empty() {
            put_opt(&mut out, OPT_PARAM_LIST, &o.parameter_list);
        }
        if let Some(h) = &o.hostname
            && !h.is_empty()
        {
            put_opt(&mut out, OPT_HOSTNAME, h.as_bytes());
        }
        if let Some(m) = &o.message
            && !m.is_empty()
        {
            put_opt(&mut out, OPT_MESSAGE, m.as_bytes());
        }
        out.push(OPT_END);
        if out.len() < MIN_SEND_LEN {
            out.resize(MIN_SEND_LEN, 0);
        }
        out
    }
}

/// What a WAN client asks servers for (option 55): mask, router, DNS,
/// lease time, T1, T2.
pub const PARAMETERS_WANTED: [u8; 6] = [
    OPT_SUBNET_MASK,
    OPT_ROUTER,
    OPT_DNS,
    OPT_LEASE_TIME,
    OPT_T1,
    OPT_T2,
];
