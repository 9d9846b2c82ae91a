//! Typed failures of ND decoding and encoding.
//!
//! Every drop must be countable by reason (field engineers ask "why did the
//! router ignore that RA?"), so errors are small `Copy` values with a stable
//! short [`DecodeError::reason`] key for counters and status output.

use std::fmt;

use super::dns_name::DomainNameError;

/// Why a received RS/RA was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the fixed part of its message type (RFC 4861 6.1.1/6.1.2:
    /// RS needs 8 octets, RA 16).
    Truncated {
        /// Octets the fixed part needs.
        needed: usize,
        /// Octets received.
        actual: usize,
    },
    /// Neither RS nor RA; the socket filter should make this rare.
    UnexpectedType(u8),
    /// RFC 4861 requires ICMP code 0 for RS and RA.
    NonZeroCode(u8),
    /// An option with length 0: RFC 4861 4.6 says discard the packet.
    OptionLengthZero {
        /// Offset of the option in the ICMPv6 message.
        offset: usize,
    },
    /// An option header or body runs past the end of the message.
    OptionOverrun {
        /// Offset of the option in the ICMPv6 message.
        offset: usize,
    },
    /// A known option that breaks its RFC's rules.
    MalformedOption {
        /// Option type.
        kind: u8,
        /// Offset of the option in the ICMPv6 message.
        offset: usize,
        /// What is wrong with it.
        fault: OptionFault,
    },
}

/// What is wrong inside a known option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionFault {
    /// The length field does not fit the option's fixed layout.
    BadLength,
    /// Prefix length above 128.
    PrefixLengthTooLong,
    /// RFC 4191: a Route Information prefix longer than its prefix field.
    PrefixFieldTooShort,
    /// A DNSSL domain name is not a valid uncompressed name.
    BadDomainName(DomainNameError),
    /// Non-zero octets where DNSSL padding must be.
    NonZeroPadding,
    /// RFC 8106 5.3.1: a DNSSL must contain at least one name.
    EmptySearchList,
}

impl DecodeError {
    /// Stable short key for counters ("dropped by reason") and status JSON.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::UnexpectedType(_) => "unexpected_type",
            DecodeError::NonZeroCode(_) => "nonzero_code",
            DecodeError::OptionLengthZero { .. } => "option_length_zero",
            DecodeError::OptionOverrun { .. } => "option_overrun",
            DecodeError::MalformedOption { .. } => "malformed_option",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { needed, actual } => {
                write!(f, "message of {actual} octets, fixed part needs {needed}")
            }
            DecodeError::UnexpectedType(t) => write!(f, "ICMPv6 type {t} is not RS/RA"),
            DecodeError::NonZeroCode(c) => write!(f, "ICMPv6 code {c}, must be 0"),
            DecodeError::OptionLengthZero { offset } => {
                write!(f, "option at offset {offset} has length 0")
            }
            DecodeError::OptionOverrun { offset } => {
                write!(
                    f,
                    "option at offset {offset} runs past the end of the message"
                )
            }
            DecodeError::MalformedOption {
                kind,
                offset,
                fault,
            } => write!(f, "option type {kind} at offset {offset}: {fault}"),
        }
    }
}

impl fmt::Display for OptionFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionFault::BadLength => f.write_str("length does not fit the option layout"),
            OptionFault::PrefixLengthTooLong => f.write_str("prefix length above 128"),
            OptionFault::PrefixFieldTooShort => {
                f.write_str("prefix length longer than the prefix field")
            }
            OptionFault::BadDomainName(e) => write!(f, "bad domain name: {e}"),
            OptionFault::NonZeroPadding => f.write_str("non-zero padding"),
            OptionFault::EmptySearchList => f.write_str("search list without names"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded (values out of the wire format's range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The option would exceed 255 units of 8 octets.
    OptionTooLong {
        /// Option type.
        kind: u8,
    },
    /// Prefix length above 128.
    PrefixLengthTooLong {
        /// Option type.
        kind: u8,
    },
    /// RDNSS without addresses is invalid (RFC 8106 length >= 3).
    EmptyRdnss,
    /// DNSSL without names is invalid (RFC 8106 5.3.1).
    EmptyDnssl,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::OptionTooLong { kind } => {
                write!(f, "option type {kind} longer than 2040 octets")
            }
            EncodeError::PrefixLengthTooLong { kind } => {
                write!(f, "option type {kind}: prefix length above 128")
            }
            EncodeError::EmptyRdnss => f.write_str("RDNSS option without addresses"),
            EncodeError::EmptyDnssl => f.write_str("DNSSL option without names"),
        }
    }
}

impl std::error::Error for EncodeError {}
