//! Why a DNS message was rejected or could not be written.

use std::fmt;

/// Why a message was rejected. [`DecodeError::reason`] is the stable key a
/// daemon counts drops under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A field runs past the end of the message.
    Truncated,
    /// A label length byte uses the reserved 0x40/0x80 prefixes.
    BadLabel,
    /// A name is longer than 255 octets.
    NameTooLong,
    /// Too many compression pointers (loop or abuse).
    PointerLoop,
    /// A compression pointer where a literal name is required (the
    /// question).
    CompressedName,
    /// Bytes left over after the last record, or counts not matching.
    TrailingData,
    /// More than one question (RFC 9619: QDCOUNT is at most one).
    TooManyQuestions,
    /// The names in a record's RDATA do not fit its RDLENGTH.
    BadRdata,
}

impl DecodeError {
    /// Stable snake_case key, used as a drop-counter name.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Truncated => "truncated",
            DecodeError::BadLabel => "bad_label",
            DecodeError::NameTooLong => "name_too_long",
            DecodeError::PointerLoop => "pointer_loop",
            DecodeError::CompressedName => "compressed_name",
            DecodeError::TrailingData => "trailing_data",
            DecodeError::TooManyQuestions => "too_many_questions",
            DecodeError::BadRdata => "bad_rdata",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            DecodeError::Truncated => "truncated message",
            DecodeError::BadLabel => "reserved label type",
            DecodeError::NameTooLong => "name longer than 255 octets",
            DecodeError::PointerLoop => "compression pointer loop",
            DecodeError::CompressedName => "compressed name where a literal one is required",
            DecodeError::TrailingData => "trailing data after the last record",
            DecodeError::TooManyQuestions => "more than one question",
            DecodeError::BadRdata => "record data does not match its length",
        };
        f.write_str(text)
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// A section holds more than 65535 records.
    TooManyRecords,
    /// A record's data is longer than 65535 octets.
    RdataTooLong,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::TooManyRecords => "more than 65535 records in a section",
            EncodeError::RdataTooLong => "record data longer than 65535 octets",
        })
    }
}

impl std::error::Error for EncodeError {}
