//! Why a DHCPv6 message was rejected.

use std::fmt;

/// A decode failure with the byte offset where it was detected.
///
/// The offset lets a field engineer find the bad byte in a packet capture;
/// the kind is what engines count drops by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// Offset from the start of the message (the msg-type octet).
    pub offset: usize,
}

/// What made a message malformed; each is a distinct counter in engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeErrorKind {
    /// Shorter than the 4-octet msg-type + transaction-id header.
    TooShort,
    /// Relay-forward or relay-reply: never valid on a client or on-link server port.
    RelayMessage,
    /// Fewer than 4 octets left where an option header must start.
    TruncatedOptionHeader,
    /// The option's length runs past the end of the message or its container.
    OptionOverrun {
        /// Option code whose length overran.
        code: u16,
    },
    /// The option's length is not what its definition allows.
    BadLength {
        /// Option (or NTP suboption) code.
        code: u16,
        /// Length found on the wire.
        len: usize,
    },
    /// A container option outside the only place it may appear.
    MisplacedOption {
        /// Option code found in the wrong place.
        code: u16,
    },
    /// A DUID that is too short, too long, or inconsistent with its type.
    BadDuid,
    /// A domain name using a compression pointer (forbidden by RFC 8415 section 10).
    CompressedName,
    /// A domain name with a bad label length, over 255 octets, or unterminated.
    BadName,
    /// A status message that is not UTF-8.
    BadUtf8,
    /// An IA Prefix with a prefix length over 128.
    BadPrefixLength,
}

impl DecodeError {
    /// Stable snake_case key of the kind, used as a drop-counter name.
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

impl DecodeErrorKind {
    /// Stable snake_case key, used as a drop-counter name and in logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::RelayMessage => "relay_message",
            Self::TruncatedOptionHeader => "truncated_option_header",
            Self::OptionOverrun { .. } => "option_overrun",
            Self::BadLength { .. } => "bad_option_length",
            Self::MisplacedOption { .. } => "misplaced_option",
            Self::BadDuid => "bad_duid",
            Self::CompressedName => "compressed_name",
            Self::BadName => "bad_name",
            Self::BadUtf8 => "bad_utf8",
            Self::BadPrefixLength => "bad_prefix_length",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::OptionOverrun { code } => {
                write!(f, "option {code} overruns its container")?
            }
            DecodeErrorKind::BadLength { code, len } => {
                write!(f, "option {code} has invalid length {len}")?
            }
            DecodeErrorKind::MisplacedOption { code } => {
                write!(f, "option {code} is not allowed here")?
            }
            other => f.write_str(other.reason())?,
        }
        write!(f, " at offset {}", self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// An option body longer than the 16-bit length field can express.
    OptionTooLong {
        /// Code of the oversized option.
        code: u16,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OptionTooLong { code } => write!(f, "option {code} exceeds 65535 octets"),
        }
    }
}

impl std::error::Error for EncodeError {}
