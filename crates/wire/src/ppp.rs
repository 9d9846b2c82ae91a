//! PPP control frames (RFC 1661 LCP, RFC 1334 PAP, RFC 1994 CHAP, RFC 1332 +
//! RFC 1877 IPCP, RFC 5072 IPV6CP), strict, for the PPPoE WAN.
//!
//! This module never does I/O, never reads a clock and never interprets a
//! negotiation: it turns bytes into a [`Packet`] and back. What to answer is
//! the business of the engines in `cpe-wan` (`ppp` module).
//!
//! A frame here starts with the two-octet PPP Protocol field, as the kernel's
//! PPP channel (`/dev/ppp`) hands it over and takes it: no address/control
//! octets (RFC 2516 forbids ACFC on PPPoE and the channel strips them
//! anyway), no FCS. Control protocols are never sent with a compressed
//! Protocol field (RFC 1661 6.5), so one octet is not accepted.
//!
//! Decoding treats the frame as hostile: every length is checked before it is
//! used, octets past the packet's Length field are padding and ignored (RFC
//! 1661 5), and a known option whose length does not fit its layout fails the
//! whole packet with a typed [`DecodeError`] whose [`DecodeError::reason`] is
//! a stable counter key. Options nobody here knows are kept raw
//! ([`ConfigOption::Unknown`]) so that the engine can send them back in a
//! Configure-Reject octet for octet; unknown codes decode to [`Body::Unknown`]
//! so that the engine can answer Code-Reject. A decoded packet re-encodes to
//! the same octets (Configure-Ack must echo the request exactly).

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::Ipv4Addr;

/// Link Control Protocol (RFC 1661).
pub const PROTO_LCP: u16 = 0xc021;
/// Password Authentication Protocol (RFC 1334).
pub const PROTO_PAP: u16 = 0xc023;
/// Challenge-Handshake Authentication Protocol (RFC 1994).
pub const PROTO_CHAP: u16 = 0xc223;
/// IP Control Protocol (RFC 1332).
pub const PROTO_IPCP: u16 = 0x8021;
/// IPv6 Control Protocol (RFC 5072).
pub const PROTO_IPV6CP: u16 = 0x8057;

/// CHAP algorithm octet of the Authentication-Protocol option: MD5.
pub const CHAP_MD5: u8 = 5;

/// Octets before the data: Protocol (2), Code, Identifier, Length (2).
pub const HEADER_LEN: usize = 6;

/// Option type numbers (each registry is per protocol).
pub mod kind {
    /// LCP Maximum-Receive-Unit (RFC 1661 6.1).
    pub const LCP_MRU: u8 = 1;
    /// LCP Async-Control-Character-Map (RFC 1662 7.1).
    pub const LCP_ACCM: u8 = 2;
    /// LCP Authentication-Protocol (RFC 1661 6.2).
    pub const LCP_AUTH_PROTOCOL: u8 = 3;
    /// LCP Magic-Number (RFC 1661 6.4).
    pub const LCP_MAGIC_NUMBER: u8 = 5;
    /// LCP Protocol-Field-Compression (RFC 1661 6.5).
    pub const LCP_PFC: u8 = 7;
    /// LCP Address-and-Control-Field-Compression (RFC 1661 6.6).
    pub const LCP_ACFC: u8 = 8;
    /// IPCP IP-Address (RFC 1332 3.3).
    pub const IPCP_IP_ADDRESS: u8 = 3;
    /// IPCP Primary DNS Server Address (RFC 1877 1.1).
    pub const IPCP_PRIMARY_DNS: u8 = 129;
    /// IPCP Secondary DNS Server Address (RFC 1877 1.3).
    pub const IPCP_SECONDARY_DNS: u8 = 131;
    /// IPV6CP Interface-Identifier (RFC 5072 4.1).
    pub const IPV6CP_INTERFACE_ID: u8 = 1;
}

/// Packet codes shared by LCP, IPCP and IPV6CP (RFC 1661 5), the LCP-only
/// ones, and the PAP and CHAP codes.
pub mod code {
    /// Configure-Request.
    pub const CONFIGURE_REQUEST: u8 = 1;
    /// Configure-Ack.
    pub const CONFIGURE_ACK: u8 = 2;
    /// Configure-Nak.
    pub const CONFIGURE_NAK: u8 = 3;
    /// Configure-Reject.
    pub const CONFIGURE_REJECT: u8 = 4;
    /// Terminate-Request.
    pub const TERMINATE_REQUEST: u8 = 5;
    /// Terminate-Ack.
    pub const TERMINATE_ACK: u8 = 6;
    /// Code-Reject.
    pub const CODE_REJECT: u8 = 7;
    /// Protocol-Reject (LCP only).
    pub const PROTOCOL_REJECT: u8 = 8;
    /// Echo-Request (LCP only).
    pub const ECHO_REQUEST: u8 = 9;
    /// Echo-Reply (LCP only).
    pub const ECHO_REPLY: u8 = 10;
    /// Discard-Request (LCP only).
    pub const DISCARD_REQUEST: u8 = 11;
    /// PAP Authenticate-Request.
    pub const PAP_REQUEST: u8 = 1;
    /// PAP Authenticate-Ack.
    pub const PAP_ACK: u8 = 2;
    /// PAP Authenticate-Nak.
    pub const PAP_NAK: u8 = 3;
    /// CHAP Challenge.
    pub const CHAP_CHALLENGE: u8 = 1;
    /// CHAP Response.
    pub const CHAP_RESPONSE: u8 = 2;
    /// CHAP Success.
    pub const CHAP_SUCCESS: u8 = 3;
    /// CHAP Failure.
    pub const CHAP_FAILURE: u8 = 4;
}

/// The short name of a control protocol, for logs and counters.
pub fn protocol_name(protocol: u16) -> &'static str {
    match protocol {
        PROTO_LCP => "LCP",
        PROTO_PAP => "PAP",
        PROTO_CHAP => "CHAP",
        PROTO_IPCP => "IPCP",
        PROTO_IPV6CP => "IPV6CP",
        _ => "unknown",
    }
}

/// A secret (the PAP password) whose `Debug` never shows it, so that a
/// packet printed in a log or a test failure does not leak it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One configuration option of LCP, IPCP or IPV6CP.
///
/// Type numbers are per protocol (type 1 is MRU in LCP and
/// Interface-Identifier in IPV6CP), so [`Packet::decode`] types an option
/// according to the packet's protocol, and encoding a variant under another
/// protocol is an [`EncodeError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOption {
    /// LCP Maximum-Receive-Unit.
    Mru(u16),
    /// LCP Async-Control-Character-Map (never wanted on PPPoE, RFC 2516 7).
    Accm(u32),
    /// LCP Authentication-Protocol: the protocol and its data (the
    /// algorithm octet for CHAP).
    AuthProtocol {
        /// [`PROTO_PAP`], [`PROTO_CHAP`] or another.
        protocol: u16,
        /// Protocol-specific data ([`CHAP_MD5`] for CHAP with MD5).
        data: Vec<u8>,
    },
    /// LCP Magic-Number.
    MagicNumber(u32),
    /// LCP Protocol-Field-Compression.
    Pfc,
    /// LCP Address-and-Control-Field-Compression.
    Acfc,
    /// IPCP IP-Address.
    IpAddress(Ipv4Addr),
    /// IPCP Primary DNS Server Address (RFC 1877).
    PrimaryDns(Ipv4Addr),
    /// IPCP Secondary DNS Server Address (RFC 1877).
    SecondaryDns(Ipv4Addr),
    /// IPV6CP Interface-Identifier.
    InterfaceId([u8; 8]),
    /// Any other option, kept raw for Configure-Reject.
    Unknown {
        /// Option type.
        kind: u8,
        /// Option data (after type and length).
        data: Vec<u8>,
    },
}

impl ConfigOption {
    /// The option's type number.
    pub fn kind(&self) -> u8 {
        match self {
            ConfigOption::Mru(_) => kind::LCP_MRU,
            ConfigOption::Accm(_) => kind::LCP_ACCM,
            ConfigOption::AuthProtocol { .. } => kind::LCP_AUTH_PROTOCOL,
            ConfigOption::MagicNumber(_) => kind::LCP_MAGIC_NUMBER,
            ConfigOption::Pfc => kind::LCP_PFC,
            ConfigOption::Acfc => kind::LCP_ACFC,
            ConfigOption::IpAddress(_) => kind::IPCP_IP_ADDRESS,
            ConfigOption::PrimaryDns(_) => kind::IPCP_PRIMARY_DNS,
            ConfigOption::SecondaryDns(_) => kind::IPCP_SECONDARY_DNS,
            ConfigOption::InterfaceId(_) => kind::IPV6CP_INTERFACE_ID,
            ConfigOption::Unknown { kind, .. } => *kind,
        }
    }

    /// The protocol a typed option belongs to; `None` for [`ConfigOption::Unknown`].
    fn protocol(&self) -> Option<u16> {
        match self {
            ConfigOption::Mru(_)
            | ConfigOption::Accm(_)
            | ConfigOption::AuthProtocol { .. }
            | ConfigOption::MagicNumber(_)
            | ConfigOption::Pfc
            | ConfigOption::Acfc => Some(PROTO_LCP),
            ConfigOption::IpAddress(_)
            | ConfigOption::PrimaryDns(_)
            | ConfigOption::SecondaryDns(_) => Some(PROTO_IPCP),
            ConfigOption::InterfaceId(_) => Some(PROTO_IPV6CP),
            ConfigOption::Unknown { .. } => None,
        }
    }

    /// Types one option of `protocol` from its data, or `None` if the
    /// length does not fit a known type's layout.
    fn typed(protocol: u16, kind: u8, data: &[u8]) -> Option<ConfigOption> {
        let v4 = |d: &[u8]| <[u8; 4]>::try_from(d).ok().map(Ipv4Addr::from);
        match (protocol, kind) {
            (PROTO_LCP, kind::LCP_MRU) => <[u8; 2]>::try_from(data)
                .ok()
                .map(|b| ConfigOption::Mru(u16::from_be_bytes(b))),
            (PROTO_LCP, kind::LCP_ACCM) => <[u8; 4]>::try_from(data)
                .ok()
                .map(|b| ConfigOption::Accm(u32::from_be_bytes(b))),
            (PROTO_LCP, kind::LCP_AUTH_PROTOCOL) => match data {
                [a, b, rest @ ..] => Some(ConfigOption::AuthProtocol {
                    protocol: u16::from_be_bytes([*a, *b]),
                    data: rest.to_vec(),
                }),
                _ => None,
            },
            (PROTO_LCP, kind::LCP_MAGIC_NUMBER) => <[u8; 4]>::try_from(data)
                .ok()
                .map(|b| ConfigOption::MagicNumber(u32::from_be_bytes(b))),
            (PROTO_LCP, kind::LCP_PFC) => data.is_empty().then_some(ConfigOption::Pfc),
            (PROTO_LCP, kind::LCP_ACFC) => data.is_empty().then_some(ConfigOption::Acfc),
            (PROTO_IPCP, kind::IPCP_IP_ADDRESS) => v4(data).map(ConfigOption::IpAddress),
            (PROTO_IPCP, kind::IPCP_PRIMARY_DNS) => v4(data).map(ConfigOption::PrimaryDns),
            (PROTO_IPCP, kind::IPCP_SECONDARY_DNS) => v4(data).map(ConfigOption::SecondaryDns),
            (PROTO_IPV6CP, kind::IPV6CP_INTERFACE_ID) => <[u8; 8]>::try_from(data)
                .ok()
                .map(ConfigOption::InterfaceId),
            _ => Some(ConfigOption::Unknown {
                kind,
                data: data.to_vec(),
            }),
        }
    }

    /// Appends type, length and data.
    fn encode(&self, protocol: u16, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.protocol().is_some_and(|p| p != protocol) {
            return Err(EncodeError::OptionNotInProtocol {
                kind: self.kind(),
                protocol,
            });
        }
        let mut data = Vec::new();
        match self {
            ConfigOption::Mru(v) => data.extend_from_slice(&v.to_be_bytes()),
            ConfigOption::Accm(v) | ConfigOption::MagicNumber(v) => {
                data.extend_from_slice(&v.to_be_bytes())
            }
            ConfigOption::AuthProtocol { protocol, data: d } => {
                data.extend_from_slice(&protocol.to_be_bytes());
                data.extend_from_slice(d);
            }
            ConfigOption::Pfc | ConfigOption::Acfc => {}
            ConfigOption::IpAddress(a)
            | ConfigOption::PrimaryDns(a)
            | ConfigOption::SecondaryDns(a) => data.extend_from_slice(&a.octets()),
            ConfigOption::InterfaceId(id) => data.extend_from_slice(id),
            ConfigOption::Unknown { data: d, .. } => data.extend_from_slice(d),
        }
        let len = u8::try_from(data.len() + 2)
            .map_err(|_| EncodeError::OptionTooLong { kind: self.kind() })?;
        out.push(self.kind());
        out.push(len);
        out.extend_from_slice(&data);
        Ok(())
    }
}

/// What a control packet carries, by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Configure-Request (LCP, IPCP, IPV6CP).
    ConfigureRequest(Vec<ConfigOption>),
    /// Configure-Ack: the request's options, unchanged.
    ConfigureAck(Vec<ConfigOption>),
    /// Configure-Nak: acceptable values for options the sender did not like.
    ConfigureNak(Vec<ConfigOption>),
    /// Configure-Reject: options the sender does not recognise or accept.
    ConfigureReject(Vec<ConfigOption>),
    /// Terminate-Request with optional data (often a reason text).
    TerminateRequest(Vec<u8>),
    /// Terminate-Ack.
    TerminateAck(Vec<u8>),
    /// Code-Reject: the rejected packet from its Code field on.
    CodeReject(Vec<u8>),
    /// LCP Protocol-Reject: the rejected protocol and the start of its
    /// information field.
    ProtocolReject {
        /// The protocol the sender does not run.
        protocol: u16,
        /// The rejected packet's information field (possibly truncated).
        information: Vec<u8>,
    },
    /// LCP Echo-Request.
    EchoRequest {
        /// Sender's Magic-Number (0 if none was negotiated).
        magic: u32,
        /// Anything; echoed back.
        data: Vec<u8>,
    },
    /// LCP Echo-Reply.
    EchoReply {
        /// Sender's Magic-Number.
        magic: u32,
        /// The request's data.
        data: Vec<u8>,
    },
    /// LCP Discard-Request.
    DiscardRequest {
        /// Sender's Magic-Number.
        magic: u32,
        /// Anything; discarded.
        data: Vec<u8>,
    },
    /// PAP Authenticate-Request.
    PapRequest {
        /// User name.
        peer_id: Vec<u8>,
        /// Password (redacted in `Debug`).
        password: Secret,
    },
    /// PAP Authenticate-Ack with the server's message.
    PapAck(Vec<u8>),
    /// PAP Authenticate-Nak with the server's message.
    PapNak(Vec<u8>),
    /// CHAP Challenge.
    ChapChallenge {
        /// The challenge value.
        value: Vec<u8>,
        /// The authenticator's name.
        name: Vec<u8>,
    },
    /// CHAP Response.
    ChapResponse {
        /// The digest (16 octets for MD5).
        value: Vec<u8>,
        /// The peer's (our) name.
        name: Vec<u8>,
    },
    /// CHAP Success with the server's message.
    ChapSuccess(Vec<u8>),
    /// CHAP Failure with the server's message.
    ChapFailure(Vec<u8>),
    /// A code this protocol does not define (answered with Code-Reject).
    Unknown {
        /// The code.
        code: u8,
        /// Everything after the Length field.
        data: Vec<u8>,
    },
}

/// One PPP control packet with its Protocol field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// PPP Protocol field ([`PROTO_LCP`], ...).
    pub protocol: u16,
    /// Identifier, matching requests and replies.
    pub identifier: u8,
    /// Code and data.
    pub body: Body,
}

impl Packet {
    /// A packet of `protocol` with `identifier` and `body`.
    pub fn new(protocol: u16, identifier: u8, body: Body) -> Packet {
        Packet {
            protocol,
            identifier,
            body,
        }
    }

    /// Decodes one frame (Protocol field first). Octets past the Length
    /// field are padding and ignored.
    pub fn decode(buf: &[u8]) -> Result<Packet, DecodeError> {
        let [p0, p1, c, identifier, l0, l1, ..] = *buf else {
            return Err(DecodeError::Truncated {
                needed: HEADER_LEN,
                actual: buf.len(),
            });
        };
        let protocol = u16::from_be_bytes([p0, p1]);
        if !matches!(
            protocol,
            PROTO_LCP | PROTO_PAP | PROTO_CHAP | PROTO_IPCP | PROTO_IPV6CP
        ) {
            return Err(DecodeError::UnknownProtocol(protocol));
        }
        let length = usize::from(u16::from_be_bytes([l0, l1]));
        if length < 4 || length + 2 > buf.len() {
            return Err(DecodeError::BadLength {
                length,
                available: buf.len() - 2,
            });
        }
        let data = &buf[HEADER_LEN..length + 2];
        let body = decode_body(protocol, c, data)?;
        Ok(Packet {
            protocol,
            identifier,
            body,
        })
    }

    /// Appends the frame, Protocol field first.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let protocol = self.protocol;
        let start = out.len();
        let code = body_code(protocol, &self.body)?;
        out.extend_from_slice(&protocol.to_be_bytes());
        out.push(code);
        out.push(self.identifier);
        out.extend_from_slice(&[0, 0]);
        let result = encode_body(protocol, &self.body, out);
        let length = out.len() - start - 2;
        match (result, u16::try_from(length)) {
            (Ok(()), Ok(l)) => {
                out[start + 4..start + 6].copy_from_slice(&l.to_be_bytes());
                Ok(())
            }
            (Err(e), _) => {
                out.truncate(start);
                Err(e)
            }
            (Ok(()), Err(_)) => {
                out.truncate(start);
                Err(EncodeError::TooLong { length })
            }
        }
    }

    /// The packet's code.
    pub fn code(&self) -> u8 {
        body_code(self.protocol, &self.body).unwrap_or(0)
    }
}

/// True for the protocols whose codes follow RFC 1661's option negotiation.
fn negotiates(protocol: u16) -> bool {
    matches!(protocol, PROTO_LCP | PROTO_IPCP | PROTO_IPV6CP)
}

fn decode_options(protocol: u16, data: &[u8]) -> Result<Vec<ConfigOption>, DecodeError> {
    let mut options = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let offset = HEADER_LEN + at;
        let (Some(&kind), Some(&len)) = (data.get(at), data.get(at + 1)) else {
            return Err(DecodeError::OptionOverrun { offset });
        };
        let len = usize::from(len);
        if len < 2 {
            return Err(DecodeError::OptionTooShort { offset });
        }
        let Some(value) = data.get(at + 2..at + len) else {
            return Err(DecodeError::OptionOverrun { offset });
        };
        let option = ConfigOption::typed(protocol, kind, value)
            .ok_or(DecodeError::MalformedOption { kind, offset })?;
        options.push(option);
        at += len;
    }
    Ok(options)
}

/// Magic-Number and the rest, for Echo-Request/Reply and Discard-Request.
fn magic_and_data(data: &[u8]) -> Result<(u32, Vec<u8>), DecodeError> {
    match data {
        [a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest.to_vec())),
        _ => Err(DecodeError::Truncated {
            needed: HEADER_LEN + 4,
            actual: HEADER_LEN + data.len(),
        }),
    }
}

/// A one-octet length followed by that many octets, then the rest.
fn counted(data: &[u8], at: usize) -> Result<(Vec<u8>, &[u8]), DecodeError> {
    let field_overrun = DecodeError::FieldOverrun {
        offset: HEADER_LEN + at,
    };
    let (&n, rest) = data
        .get(at..)
        .and_then(|d| d.split_first())
        .ok_or(field_overrun)?;
    let n = usize::from(n);
    let value = rest.get(..n).ok_or(field_overrun)?;
    Ok((value.to_vec(), &rest[n..]))
}

fn decode_body(protocol: u16, c: u8, data: &[u8]) -> Result<Body, DecodeError> {
    use code::*;
    let lcp = protocol == PROTO_LCP;
    Ok(match (protocol, c) {
        (p, CONFIGURE_REQUEST) if negotiates(p) => {
            Body::ConfigureRequest(decode_options(protocol, data)?)
        }
        (p, CONFIGURE_ACK) if negotiates(p) => Body::ConfigureAck(decode_options(protocol, data)?),
        (p, CONFIGURE_NAK) if negotiates(p) => Body::ConfigureNak(decode_options(protocol, data)?),
        (p, CONFIGURE_REJECT) if negotiates(p) => {
            Body::ConfigureReject(decode_options(protocol, data)?)
        }
        (p, TERMINATE_REQUEST) if negotiates(p) => Body::TerminateRequest(data.to_vec()),
        (p, TERMINATE_ACK) if negotiates(p) => Body::TerminateAck(data.to_vec()),
        (p, CODE_REJECT) if negotiates(p) => Body::CodeReject(data.to_vec()),
        (_, PROTOCOL_REJECT) if lcp => match data {
            [a, b, rest @ ..] => Body::ProtocolReject {
                protocol: u16::from_be_bytes([*a, *b]),
                information: rest.to_vec(),
            },
            _ => {
                return Err(DecodeError::Truncated {
                    needed: HEADER_LEN + 2,
                    actual: HEADER_LEN + data.len(),
                });
            }
        },
        (_, ECHO_REQUEST) if lcp => {
            let (magic, data) = magic_and_data(data)?;
            Body::EchoRequest { magic, data }
        }
        (_, ECHO_REPLY) if lcp => {
            let (magic, data) = magic_and_data(data)?;
            Body::EchoReply { magic, data }
        }
        (_, DISCARD_REQUEST) if lcp => {
            let (magic, data) = magic_and_data(data)?;
            Body::DiscardRequest { magic, data }
        }
        (PROTO_PAP, PAP_REQUEST) => {
            let (peer_id, rest) = counted(data, 0)?;
            let (password, _) = counted(data, data.len() - rest.len())?;
            Body::PapRequest {
                peer_id,
                password: Secret(password),
            }
        }
        (PROTO_PAP, PAP_ACK | PAP_NAK) => {
            // RFC 1334 2.2.2: Msg-Length, Message. A server that omits the
            // length octet entirely still said Ack or Nak: keep the verdict
            // with an empty message rather than drop it.
            let message = if data.is_empty() {
                Vec::new()
            } else {
                counted(data, 0)?.0
            };
            if c == PAP_ACK {
                Body::PapAck(message)
            } else {
                Body::PapNak(message)
            }
        }
        (PROTO_CHAP, CHAP_CHALLENGE | CHAP_RESPONSE) => {
            let (value, rest) = counted(data, 0)?;
            let name = rest.to_vec();
            if c == CHAP_CHALLENGE {
                Body::ChapChallenge { value, name }
            } else {
                Body::ChapResponse { value, name }
            }
        }
        (PROTO_CHAP, CHAP_SUCCESS) => Body::ChapSuccess(data.to_vec()),
        (PROTO_CHAP, CHAP_FAILURE) => Body::ChapFailure(data.to_vec()),
        (_, code) => Body::Unknown {
            code,
            data: data.to_vec(),
        },
    })
}

/// The code of `body` under `protocol`, or an error if the body does not
/// belong to that protocol.
fn body_code(protocol: u16, body: &Body) -> Result<u8, EncodeError> {
    use code::*;
    let lcp = protocol == PROTO_LCP;
    let neg = negotiates(protocol);
    let (c, ok) = match body {
        Body::ConfigureRequest(_) => (CONFIGURE_REQUEST, neg),
        Body::ConfigureAck(_) => (CONFIGURE_ACK, neg),
        Body::ConfigureNak(_) => (CONFIGURE_NAK, neg),
        Body::ConfigureReject(_) => (CONFIGURE_REJECT, neg),
        Body::TerminateRequest(_) => (TERMINATE_REQUEST, neg),
        Body::TerminateAck(_) => (TERMINATE_ACK, neg),
        Body::CodeReject(_) => (CODE_REJECT, neg),
        Body::ProtocolReject { .. } => (PROTOCOL_REJECT, lcp),
        Body::EchoRequest { .. } => (ECHO_REQUEST, lcp),
        Body::EchoReply { .. } => (ECHO_REPLY, lcp),
        Body::DiscardRequest { .. } => (DISCARD_REQUEST, lcp),
        Body::PapRequest { .. } => (PAP_REQUEST, protocol == PROTO_PAP),
        Body::PapAck(_) => (PAP_ACK, protocol == PROTO_PAP),
        Body::PapNak(_) => (PAP_NAK, protocol == PROTO_PAP),
        Body::ChapChallenge { .. } => (CHAP_CHALLENGE, protocol == PROTO_CHAP),
        Body::ChapResponse { .. } => (CHAP_RESPONSE, protocol == PROTO_CHAP),
        Body::ChapSuccess(_) => (CHAP_SUCCESS, protocol == PROTO_CHAP),
        Body::ChapFailure(_) => (CHAP_FAILURE, protocol == PROTO_CHAP),
        Body::Unknown { code, .. } => {
            // An "unknown" code must really be unknown to the protocol, or
            // it would decode back as something else.
            let known = match protocol {
                PROTO_LCP => (1..=11).contains(code),
                PROTO_IPCP | PROTO_IPV6CP => (1..=7).contains(code),
                PROTO_PAP => (1..=3).contains(code),
                PROTO_CHAP => (1..=4).contains(code),
                _ => false,
            };
            (*code, !known)
        }
    };
    if ok {
        Ok(c)
    } else {
        Err(EncodeError::BodyNotInProtocol { code: c, protocol })
    }
}

fn push_counted(field: &'static str, value: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let n = u8::try_from(value.len()).map_err(|_| EncodeError::FieldTooLong { field })?;
    out.push(n);
    out.extend_from_slice(value);
    Ok(())
}

fn encode_body(protocol: u16, body: &Body, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match body {
        Body::ConfigureRequest(o)
        | Body::ConfigureAck(o)
        | Body::ConfigureNak(o)
        | Body::ConfigureReject(o) => {
            for option in o {
                option.encode(protocol, out)?;
            }
        }
        Body::TerminateRequest(d)
        | Body::TerminateAck(d)
        | Body::CodeReject(d)
        | Body::ChapSuccess(d)
        | Body::ChapFailure(d)
        | Body::Unknown { data: d, .. } => out.extend_from_slice(d),
        Body::ProtocolReject {
            protocol,
            information,
        } => {
            out.extend_from_slice(&protocol.to_be_bytes());
            out.extend_from_slice(information);
        }
        Body::EchoRequest { magic, data }
        | Body::EchoReply { magic, data }
        | Body::DiscardRequest { magic, data } => {
            out.extend_from_slice(&magic.to_be_bytes());
            out.extend_from_slice(data);
        }
        Body::PapRequest { peer_id, password } => {
            push_counted("peer_id", peer_id, out)?;
            push_counted("password", &password.0, out)?;
        }
        Body::PapAck(m) | Body::PapNak(m) => push_counted("message", m, out)?,
        Body::ChapChallenge { value, name } | Body::ChapResponse { value, name } => {
            push_counted("value", value, out)?;
            out.extend_from_slice(name);
        }
    }
    Ok(())
}

/// Why a received frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the fixed part it needs.
    Truncated {
        /// Octets needed.
        needed: usize,
        /// Octets present.
        actual: usize,
    },
    /// Not one of the control protocols handled here; LCP answers it with
    /// Protocol-Reject once open.
    UnknownProtocol(u16),
    /// The Length field is below 4 or runs past the frame.
    BadLength {
        /// The Length field.
        length: usize,
        /// Octets after the Protocol field.
        available: usize,
    },
    /// An option's length field is below 2.
    OptionTooShort {
        /// Offset of the option in the frame.
        offset: usize,
    },
    /// An option runs past the end of the packet.
    OptionOverrun {
        /// Offset of the option in the frame.
        offset: usize,
    },
    /// A known option whose length does not fit its layout.
    MalformedOption {
        /// Option type.
        kind: u8,
        /// Offset of the option in the frame.
        offset: usize,
    },
    /// A PAP/CHAP length-prefixed field runs past the end of the packet.
    FieldOverrun {
        /// Offset of the length octet in the frame.
        offset: usize,
    },
}

impl DecodeError {
    /// Stable short key for drop counters and status JSON.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::UnknownProtocol(_) => "unknown_protocol",
            DecodeError::BadLength { .. } => "bad_length",
            DecodeError::OptionTooShort { .. } => "option_too_short",
            DecodeError::OptionOverrun { .. } => "option_overrun",
            DecodeError::MalformedOption { .. } => "malformed_option",
            DecodeError::FieldOverrun { .. } => "field_overrun",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { needed, actual } => {
                write!(f, "frame of {actual} octets, needs {needed}")
            }
            DecodeError::UnknownProtocol(p) => write!(f, "protocol 0x{p:04x} is not handled"),
            DecodeError::BadLength { length, available } => write!(
                f,
                "length field {length} with {available} octets after the protocol field"
            ),
            DecodeError::OptionTooShort { offset } => {
                write!(f, "option at offset {offset} has a length below 2")
            }
            DecodeError::OptionOverrun { offset } => {
                write!(f, "option at offset {offset} runs past the packet")
            }
            DecodeError::MalformedOption { kind, offset } => write!(
                f,
                "option type {kind} at offset {offset}: length does not fit its layout"
            ),
            DecodeError::FieldOverrun { offset } => {
                write!(f, "field at offset {offset} runs past the packet")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The packet is longer than the 16-bit Length field allows.
    TooLong {
        /// Octets the packet would have.
        length: usize,
    },
    /// An option's data is longer than 253 octets.
    OptionTooLong {
        /// Option type.
        kind: u8,
    },
    /// A typed option used under another protocol.
    OptionNotInProtocol {
        /// Option type.
        kind: u8,
        /// The packet's protocol.
        protocol: u16,
    },
    /// A body (code) the packet's protocol does not define.
    BodyNotInProtocol {
        /// The code.
        code: u8,
        /// The packet's protocol.
        protocol: u16,
    },
    /// A PAP/CHAP length-prefixed field longer than 255 octets.
    FieldTooLong {
        /// Which field.
        field: &'static str,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { length } => write!(f, "packet of {length} octets"),
            EncodeError::OptionTooLong { kind } => {
                write!(f, "option type {kind} longer than 255 octets")
            }
            EncodeError::OptionNotInProtocol { kind, protocol } => write!(
                f,
                "option type {kind} does not belong to {}",
                protocol_name(*protocol)
            ),
            EncodeError::BodyNotInProtocol { code, protocol } => {
                write!(
                    f,
                    "code {code} does not belong to {}",
                    protocol_name(*protocol)
                )
            }
            EncodeError::FieldTooLong { field } => write!(f, "{field} longer than 255 octets"),
        }
    }
}

impl std::error::Error for EncodeError {}
