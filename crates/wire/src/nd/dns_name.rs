//! Domain names as carried in the DNSSL option (RFC 8106 5.2): the crate's
//! one [`Name`] type, uncompressed, with the DNSSL's own rules on top.
//!
//! A validated type makes DNSSL encoding infallible per name and keeps bytes
//! that could confuse a log line or a host's resolver (dots inside labels,
//! control characters) out of the router in both directions: a search
//! domain is made of host-name characters and is never the root.

use std::fmt;

use crate::name::{Compression, Name, NameError};

/// A non-root domain name made of letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainName(Name);

/// Why a domain name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainNameError {
    /// The root name (or an empty string) cannot be a search domain.
    Empty,
    /// Empty label (`a..b`).
    EmptyLabel,
    /// A label longer than 63 octets.
    LabelTooLong,
    /// More than 255 octets in wire form.
    NameTooLong,
    /// A character outside letters, digits, `-`, `_`.
    BadCharacter,
    /// A compression pointer or extended label type; RFC 8106 forbids them.
    CompressedLabel,
    /// The name ran past the end of its field.
    Truncated,
}

impl fmt::Display for DomainNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DomainNameError::Empty => "empty name",
            DomainNameError::EmptyLabel => "empty label",
            DomainNameError::LabelTooLong => "label longer than 63 octets",
            DomainNameError::NameTooLong => "name longer than 255 octets",
            DomainNameError::BadCharacter => "character outside letters, digits, '-', '_'",
            DomainNameError::CompressedLabel => "compressed label",
            DomainNameError::Truncated => "name truncated",
        })
    }
}

impl std::error::Error for DomainNameError {}

impl From<NameError> for DomainNameError {
    fn from(e: NameError) -> DomainNameError {
        match e {
            NameError::EmptyLabel => DomainNameError::EmptyLabel,
            NameError::LabelTooLong => DomainNameError::LabelTooLong,
            NameError::NameTooLong => DomainNameError::NameTooLong,
            NameError::Truncated => DomainNameError::Truncated,
            NameError::BadEscape | NameError::BadCharacter => DomainNameError::BadCharacter,
            // 0b11 is a pointer, 0b01/0b10 are extended/obsolete label types.
            NameError::Compressed
            | NameError::BadLabelType
            | NameError::BadPointer
            | NameError::PointerLoop => DomainNameError::CompressedLabel,
        }
    }
}

fn label_char_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl DomainName {
    /// Checks the DNSSL rules on top of the RFC 1035 limits.
    fn checked(name: Name) -> Result<Self, DomainNameError> {
        if name.is_root() {
            return Err(DomainNameError::Empty);
        }
        if !name.labels().all(|l| l.iter().copied().all(label_char_ok)) {
            return Err(DomainNameError::BadCharacter);
        }
        Ok(DomainName(name))
    }

    /// Parses dotted text such as `home.example.` (one trailing dot allowed).
    pub fn parse(text: &str) -> Result<Self, DomainNameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Err(DomainNameError::Empty);
        }
        Self::checked(Name::from_dotted(trimmed)?)
    }

    /// The name as the one name type.
    pub fn name(&self) -> &Name {
        &self.0
    }

    /// Octets of the uncompressed wire form, root label included.
    pub fn wire_len(&self) -> usize {
        self.0.wire_len()
    }

    /// Appends the uncompressed wire form.
    pub(crate) fn write_wire(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
    }

    /// Reads one uncompressed name from the start of `data`; returns the name
    /// and the octets it used.
    pub(crate) fn read_wire(data: &[u8]) -> Result<(Self, usize), DomainNameError> {
        let (name, used) = Name::decode(data, 0, Compression::Forbidden)?;
        Ok((Self::checked(name)?, used))
    }
}

impl fmt::Display for DomainName {
    /// Dotted text without trailing dot (only host-name characters, so
    /// nothing is escaped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
