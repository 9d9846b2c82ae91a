//! PPPoE Discovery (RFC 2516 section 5): PADI, PADO, PADR, PADS and PADT
//! with every tag of RFC 2516 appendix A (and RFC 4638's PPP-Max-Payload).
//!
//! This module never does I/O and never allocates beyond the decoded value.
//! A message here is the PPPoE packet as an `AF_PACKET`/`SOCK_DGRAM` socket
//! bound to ETH_P_PPP_DISC (0x8863) delivers and takes it: the six-octet
//! PPPoE header and its tags, without the Ethernet header (the kernel gives
//! the peer's MAC beside the payload, and fills in ours when sending).
//!
//! Decoding treats the input as hostile: every length is checked before it
//! is used, and a packet that breaks the format fails as a whole with a
//! typed [`DecodeError`] whose [`reason`](DecodeError::reason) is the drop
//! counter's name. Octets after `LENGTH` are Ethernet padding (frames are at
//! least 60 octets) and are ignored. Parsing stops at End-Of-List (RFC 2516
//! A: "there are no further TAGs in the list"). Unknown tags are kept, in
//! order, so nothing an access concentrator says is lost from the console.
//! Tag values stay bytes: RFC 2516 says the text tags are UTF-8, but an AC
//! that sends something else must still be shown (sanitised by the caller)
//! rather than dropped.

use std::fmt;

/// Ethertype of PPPoE Discovery frames.
pub const ETHERTYPE_DISCOVERY: u16 = 0x8863;
/// Ethertype of PPPoE Session frames.
pub const ETHERTYPE_SESSION: u16 = 0x8864;
/// The one VER/TYPE octet RFC 2516 defines: version 1, type 1.
pub const VERSION_TYPE: u8 = 0x11;
/// Octets of the PPPoE header (VER/TYPE, CODE, SESSION_ID, LENGTH).
pub const HEADER_LEN: usize = 6;
/// The largest PPPoE packet an Ethernet frame carries (1500 MTU).
pub const MAX_PACKET_LEN: usize = 1500;
/// RFC 2516 5.1: a PADI must not exceed 1484 octets (PPPoE header included),
/// leaving room for relay agents to add a Relay-Session-Id tag.
pub const MAX_PADI_LEN: usize = 1484;

/// Tag types of RFC 2516 appendix A and RFC 4638.
pub mod tag_type {
    /// End-Of-List (no value).
    pub const END_OF_LIST: u16 = 0x0000;
    /// Service-Name.
    pub const SERVICE_NAME: u16 = 0x0101;
    /// AC-Name.
    pub const AC_NAME: u16 = 0x0102;
    /// Host-Uniq.
    pub const HOST_UNIQ: u16 = 0x0103;
    /// AC-Cookie.
    pub const AC_COOKIE: u16 = 0x0104;
    /// Vendor-Specific (vendor id in the first four octets).
    pub const VENDOR_SPECIFIC: u16 = 0x0105;
    /// Relay-Session-Id.
    pub const RELAY_SESSION_ID: u16 = 0x0110;
    /// PPP-Max-Payload (RFC 4638).
    pub const PPP_MAX_PAYLOAD: u16 = 0x0120;
    /// Service-Name-Error.
    pub const SERVICE_NAME_ERROR: u16 = 0x0201;
    /// AC-System-Error.
    pub const AC_SYSTEM_ERROR: u16 = 0x0202;
    /// Generic-Error.
    pub const GENERIC_ERROR: u16 = 0x0203;
}

/// The CODE field: which discovery packet this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Active Discovery Initiation (host, broadcast).
    Padi,
    /// Active Discovery Offer (AC, unicast).
    Pado,
    /// Active Discovery Request (host, unicast to the chosen AC).
    Padr,
    /// Active Discovery Session-confirmation (AC).
    Pads,
    /// Active Discovery Terminate (either side).
    Padt,
}

impl Code {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Code::Padi => 0x09,
            Code::Pado => 0x07,
            Code::Padr => 0x19,
            Code::Pads => 0x65,
            Code::Padt => 0xa7,
        }
    }

    /// Maps the wire value; `None` for codes that are not discovery packets
    /// (0x00 is a session packet and has no business on 0x8863).
    pub fn from_u8(v: u8) -> Option<Code> {
        Some(match v {
            0x09 => Code::Padi,
            0x07 => Code::Pado,
            0x19 => Code::Padr,
            0x65 => Code::Pads,
            0xa7 => Code::Padt,
            _ => return None,
        })
    }

    /// The RFC's name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Code::Padi => "PADI",
            Code::Pado => "PADO",
            Code::Padr => "PADR",
            Code::Pads => "PADS",
            Code::Padt => "PADT",
        }
    }

    /// RFC 2516 5.1-5.3: PADI, PADO and PADR carry SESSION_ID 0.
    fn session_must_be_zero(self) -> bool {
        matches!(self, Code::Padi | Code::Pado | Code::Padr)
    }
}

/// One tag. Text tags keep their bytes (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// End-Of-List: nothing follows.
    EndOfList,
    /// Service-Name; empty means "any service".
    ServiceName(Vec<u8>),
    /// AC-Name: the access concentrator's self-chosen name.
    AcName(Vec<u8>),
    /// Host-Uniq: opaque to the AC, echoed back; pairs answers with requests.
    HostUniq(Vec<u8>),
    /// AC-Cookie: opaque to the host, echoed in PADR (DoS protection).
    AcCookie(Vec<u8>),
    /// Vendor-Specific: vendor id (high octet 0 per RFC 2516), then data.
    VendorSpecific {
        /// IANA enterprise number.
        vendor_id: u32,
        /// Vendor-defined data.
        data: Vec<u8>,
    },
    /// Relay-Session-Id: added by a relay, echoed by host and AC.
    RelaySessionId(Vec<u8>),
    /// PPP-Max-Payload (RFC 4638): the PPP MRU above 1492 both ends accept.
    PppMaxPayload(u16),
    /// Service-Name-Error: the requested service cannot be provided; the
    /// value may explain why.
    ServiceNameError(Vec<u8>),
    /// AC-System-Error: the AC cannot serve (e.g. out of resources).
    AcSystemError(Vec<u8>),
    /// Generic-Error: any other error, text in the value.
    GenericError(Vec<u8>),
    /// A tag this codec does not know, kept verbatim.
    Unknown {
        /// Tag type.
        kind: u16,
        /// Value.
        value: Vec<u8>,
    },
}

impl Tag {
    /// The TAG_TYPE.
    pub fn kind(&self) -> u16 {
        use tag_type::*;
        match self {
            Tag::EndOfList => END_OF_LIST,
            Tag::ServiceName(_) => SERVICE_NAME,
            Tag::AcName(_) => AC_NAME,
            Tag::HostUniq(_) => HOST_UNIQ,
            Tag::AcCookie(_) => AC_COOKIE,
            Tag::VendorSpecific { .. } => VENDOR_SPECIFIC,
            Tag::RelaySessionId(_) => RELAY_SESSION_ID,
            Tag::PppMaxPayload(_) => PPP_MAX_PAYLOAD,
            Tag::ServiceNameError(_) => SERVICE_NAME_ERROR,
            Tag::AcSystemError(_) => AC_SYSTEM_ERROR,
            Tag::GenericError(_) => GENERIC_ERROR,
            Tag::Unknown { kind, .. } => *kind,
        }
    }

    /// The value of the tags whose value is plain bytes (every tag but
    /// End-Of-List, Vendor-Specific and PPP-Max-Payload).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Tag::ServiceName(v)
            | Tag::AcName(v)
            | Tag::HostUniq(v)
            | Tag::AcCookie(v)
            | Tag::RelaySessionId(v)
            | Tag::ServiceNameError(v)
            | Tag::AcSystemError(v)
            | Tag::GenericError(v)
            | Tag::Unknown { value: v, .. } => Some(v),
            Tag::EndOfList | Tag::VendorSpecific { .. } | Tag::PppMaxPayload(_) => None,
        }
    }

    /// Octets of the value as encoded.
    fn value_len(&self) -> usize {
        match self {
            Tag::EndOfList => 0,
            Tag::VendorSpecific { data, .. } => 4 + data.len(),
            Tag::PppMaxPayload(_) => 2,
            other => other.bytes().map_or(0, <[u8]>::len),
        }
    }

    /// Decodes one tag from its type and value (lengths already checked
    /// against the packet).
    fn from_parts(kind: u16, value: &[u8]) -> Result<Tag, TagFault> {
        use tag_type::*;
        let v = value.to_vec();
        Ok(match kind {
            END_OF_LIST if value.is_empty() => Tag::EndOfList,
            END_OF_LIST => return Err(TagFault::BadLength),
            SERVICE_NAME => Tag::ServiceName(v),
            AC_NAME => Tag::AcName(v),
            HOST_UNIQ => Tag::HostUniq(v),
            AC_COOKIE => Tag::AcCookie(v),
            VENDOR_SPECIFIC => match value.split_first_chunk::<4>() {
                Some((id, data)) => Tag::VendorSpecific {
                    vendor_id: u32::from_be_bytes(*id),
                    data: data.to_vec(),
                },
                None => return Err(TagFault::BadLength),
            },
            RELAY_SESSION_ID => Tag::RelaySessionId(v),
            PPP_MAX_PAYLOAD => match <[u8; 2]>::try_from(value) {
                Ok(b) => Tag::PppMaxPayload(u16::from_be_bytes(b)),
                Err(_) => return Err(TagFault::BadLength),
            },
            SERVICE_NAME_ERROR => Tag::ServiceNameError(v),
            AC_SYSTEM_ERROR => Tag::AcSystemError(v),
            GENERIC_ERROR => Tag::GenericError(v),
            _ => Tag::Unknown { kind, value: v },
        })
    }

    fn encode_value(&self, out: &mut Vec<u8>) {
        match self {
            Tag::EndOfList => {}
            Tag::VendorSpecific { vendor_id, data } => {
                out.extend_from_slice(&vendor_id.to_be_bytes());
                out.extend_from_slice(data);
            }
            Tag::PppMaxPayload(mru) => out.extend_from_slice(&mru.to_be_bytes()),
            other => out.extend_from_slice(other.bytes().unwrap_or_default()),
        }
    }
}

/// An error tag found in a packet, as the engineer should read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTag<'a> {
    /// Service-Name-Error and its text.
    ServiceName(&'a [u8]),
    /// AC-System-Error and its text.
    AcSystem(&'a [u8]),
    /// Generic-Error and its text.
    Generic(&'a [u8]),
}

impl<'a> ErrorTag<'a> {
    /// The RFC's name of the tag.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorTag::ServiceName(_) => "Service-Name-Error",
            ErrorTag::AcSystem(_) => "AC-System-Error",
            ErrorTag::Generic(_) => "Generic-Error",
        }
    }

    /// The AC's own text (raw bytes).
    pub fn text(&self) -> &'a [u8] {
        match self {
            ErrorTag::ServiceName(t) | ErrorTag::AcSystem(t) | ErrorTag::Generic(t) => t,
        }
    }
}

/// One PPPoE discovery packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Which packet.
    pub code: Code,
    /// SESSION_ID: 0 until the AC assigns one in PADS.
    pub session_id: u16,
    /// Tags in wire order.
    pub tags: Vec<Tag>,
}

impl Message {
    /// A message without tags.
    pub fn new(code: Code, session_id: u16) -> Message {
        Message {
            code,
            session_id,
            tags: Vec::new(),
        }
    }

    /// Decodes a PPPoE discovery packet (see the module docs for what is
    /// rejected).
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let Some((header, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::Truncated { actual: buf.len() });
        };
        if header[0] != VERSION_TYPE {
            return Err(DecodeError::BadVersionType(header[0]));
        }
        let code = Code::from_u8(header[1]).ok_or(DecodeError::UnknownCode(header[1]))?;
        let session_id = u16::from_be_bytes([header[2], header[3]]);
        if code.session_must_be_zero() && session_id != 0 {
            return Err(DecodeError::NonZeroSession { code, session_id });
        }
        let declared = usize::from(u16::from_be_bytes([header[4], header[5]]));
        let Some(payload) = rest.get(..declared) else {
            return Err(DecodeError::LengthOverrun {
                declared,
                available: rest.len(),
            });
        };
        let mut tags = Vec::new();
        let mut at = 0;
        while at < payload.len() {
            let offset = HEADER_LEN + at;
            let head = payload
                .get(at..at + 4)
                .ok_or(DecodeError::TagOverrun { offset })?;
            let kind = u16::from_be_bytes([head[0], head[1]]);
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            let value = payload
                .get(at + 4..at + 4 + len)
                .ok_or(DecodeError::TagOverrun { offset })?;
            let tag = Tag::from_parts(kind, value).map_err(|fault| DecodeError::MalformedTag {
                kind,
                offset,
                fault,
            })?;
            at += 4 + len;
            let end = tag == Tag::EndOfList;
            tags.push(tag);
            if end {
                break;
            }
        }
        Ok(Message {
            code,
            session_id,
            tags,
        })
    }

    /// Appends the encoded packet to `out` (nothing is appended on error).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.code.session_must_be_zero() && self.session_id != 0 {
            return Err(EncodeError::NonZeroSession(self.code));
        }
        let mut payload_len = 0usize;
        for tag in &self.tags {
            let len = tag.value_len();
            if len > usize::from(u16::MAX) {
                return Err(EncodeError::TagTooLong { kind: tag.kind() });
            }
            payload_len += 4 + len;
        }
        let limit = if self.code == Code::Padi {
            MAX_PADI_LEN
        } else {
            MAX_PACKET_LEN
        };
        if HEADER_LEN + payload_len > limit {
            return Err(EncodeError::TooLong {
                code: self.code,
                len: HEADER_LEN + payload_len,
                limit,
            });
        }
        out.reserve(HEADER_LEN + payload_len);
        out.push(VERSION_TYPE);
        out.push(self.code.to_u8());
        out.extend_from_slice(&self.session_id.to_be_bytes());
        // Fits: checked against MAX_PACKET_LEN above.
        out.extend_from_slice(&(payload_len as u16).to_be_bytes());
        for tag in &self.tags {
            out.extend_from_slice(&tag.kind().to_be_bytes());
            out.extend_from_slice(&(tag.value_len() as u16).to_be_bytes());
            tag.encode_value(out);
        }
        Ok(())
    }

    /// Adds a tag (builder style).
    pub fn with(mut self, tag: Tag) -> Message {
        self.tags.push(tag);
        self
    }

    /// Every Service-Name value, in order (a PADO may offer several).
    pub fn service_names(&self) -> impl Iterator<Item = &[u8]> {
        self.tags
            .iter()
            .filter(|t| t.kind() == tag_type::SERVICE_NAME)
            .filter_map(Tag::bytes)
    }

    /// The value of the first tag of type `kind` whose value is plain bytes.
    fn first(&self, kind: u16) -> Option<&[u8]> {
        self.tags
            .iter()
            .find(|t| t.kind() == kind)
            .and_then(Tag::bytes)
    }

    /// The first AC-Name.
    pub fn ac_name(&self) -> Option<&[u8]> {
        self.first(tag_type::AC_NAME)
    }

    /// The first Host-Uniq.
    pub fn host_uniq(&self) -> Option<&[u8]> {
        self.first(tag_type::HOST_UNIQ)
    }

    /// The first AC-Cookie.
    pub fn ac_cookie(&self) -> Option<&[u8]> {
        self.first(tag_type::AC_COOKIE)
    }

    /// The first Relay-Session-Id.
    pub fn relay_session_id(&self) -> Option<&[u8]> {
        self.first(tag_type::RELAY_SESSION_ID)
    }

    /// The first error tag (Service-Name-Error, AC-System-Error or
    /// Generic-Error), if the AC sent one.
    pub fn error(&self) -> Option<ErrorTag<'_>> {
        self.tags.iter().find_map(|t| match t {
            Tag::ServiceNameError(v) => Some(ErrorTag::ServiceName(v)),
            Tag::AcSystemError(v) => Some(ErrorTag::AcSystem(v)),
            Tag::GenericError(v) => Some(ErrorTag::Generic(v)),
            _ => None,
        })
    }
}

/// Why a received discovery packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the six-octet header.
    Truncated {
        /// Octets received.
        actual: usize,
    },
    /// VER/TYPE is not 0x11.
    BadVersionType(u8),
    /// CODE is not one of PADI/PADO/PADR/PADS/PADT.
    UnknownCode(u8),
    /// PADI, PADO or PADR with a SESSION_ID other than 0.
    NonZeroSession {
        /// The packet.
        code: Code,
        /// The SESSION_ID it carried.
        session_id: u16,
    },
    /// LENGTH is larger than what arrived.
    LengthOverrun {
        /// LENGTH field.
        declared: usize,
        /// Octets after the header.
        available: usize,
    },
    /// A tag header or value runs past LENGTH.
    TagOverrun {
        /// Offset of the tag in the packet.
        offset: usize,
    },
    /// A known tag whose length breaks its layout.
    MalformedTag {
        /// Tag type.
        kind: u16,
        /// Offset of the tag in the packet.
        offset: usize,
        /// What is wrong.
        fault: TagFault,
    },
}

/// What is wrong inside a known tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFault {
    /// End-Of-List with a value, Vendor-Specific shorter than its vendor id,
    /// PPP-Max-Payload other than two octets.
    BadLength,
}

impl DecodeError {
    /// Stable snake_case key for drop counters and status JSON.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadVersionType(_) => "bad_version_type",
            DecodeError::UnknownCode(_) => "unknown_code",
            DecodeError::NonZeroSession { .. } => "nonzero_session",
            DecodeError::LengthOverrun { .. } => "length_overrun",
            DecodeError::TagOverrun { .. } => "tag_overrun",
            DecodeError::MalformedTag { .. } => "malformed_tag",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { actual } => {
                write!(f, "{actual} octets, shorter than the PPPoE header")
            }
            DecodeError::BadVersionType(v) => write!(f, "VER/TYPE 0x{v:02x}, must be 0x11"),
            DecodeError::UnknownCode(c) => write!(f, "CODE 0x{c:02x} is not a discovery packet"),
            DecodeError::NonZeroSession { code, session_id } => write!(
                f,
                "{} with SESSION_ID 0x{session_id:04x}, must be 0",
                code.name()
            ),
            DecodeError::LengthOverrun {
                declared,
                available,
            } => write!(f, "LENGTH {declared} but {available} octets follow"),
            DecodeError::TagOverrun { offset } => {
                write!(f, "tag at offset {offset} runs past LENGTH")
            }
            DecodeError::MalformedTag {
                kind,
                offset,
                fault,
            } => write!(f, "tag 0x{kind:04x} at offset {offset}: {fault}"),
        }
    }
}

impl fmt::Display for TagFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagFault::BadLength => f.write_str("length does not fit the tag's layout"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// A tag value longer than 65535 octets.
    TagTooLong {
        /// Tag type.
        kind: u16,
    },
    /// The packet would not fit its limit (1484 octets for PADI, 1500
    /// otherwise).
    TooLong {
        /// The packet.
        code: Code,
        /// Its encoded length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// PADI, PADO and PADR must carry SESSION_ID 0.
    NonZeroSession(Code),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TagTooLong { kind } => {
                write!(f, "tag 0x{kind:04x} longer than 65535 octets")
            }
            EncodeError::TooLong { code, len, limit } => {
                write!(f, "{} of {len} octets exceeds {limit}", code.name())
            }
            EncodeError::NonZeroSession(code) => {
                write!(f, "{} must carry SESSION_ID 0", code.name())
            }
        }
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests;
