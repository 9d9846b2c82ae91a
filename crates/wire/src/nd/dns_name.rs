//! Domain names as carried in the DNSSL option (RFC 8106 5.2): uncompressed
//! RFC 1035 label sequences.
//!
//! A validated type makes DNSSL encoding infallible per name and keeps bytes
//! that could confuse a log line or a host's resolver (dots inside labels,
//! control characters) out of the router in both directions.

use std::fmt;

use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// A non-root domain name made of letters, digits, `-` and `_`, stored in
/// dotted text form without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

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

fn label_char_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl DomainName {
    /// Parses dotted text such as `home.example.` (one trailing dot allowed).
    pub fn parse(text: &str) -> Result<Self, DomainNameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Err(DomainNameError::Empty);
        }
        let mut wire_len = 1;
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(DomainNameError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(DomainNameError::LabelTooLong);
            }
            if !label.bytes().all(label_char_ok) {
                return Err(DomainNameError::BadCharacter);
            }
            wire_len += 1 + label.len();
        }
        if wire_len > MAX_NAME_LEN {
            return Err(DomainNameError::NameTooLong);
        }
        Ok(DomainName(trimmed.to_owned()))
    }

    /// Dotted text form without trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Octets of the uncompressed wire form, root label included.
    pub fn wire_len(&self) -> usize {
        self.0.len() + 2
    }

    /// Appends the uncompressed wire form.
    pub(crate) fn write_wire(&self, out: &mut Vec<u8>) {
        for label in self.0.split('.') {
            // Labels are at most 63 octets by construction.
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }

    /// Reads one uncompressed name from the start of `data`; returns the name
    /// and the octets it used.
    pub(crate) fn read_wire(data: &[u8]) -> Result<(Self, usize), DomainNameError> {
        let mut text = String::new();
        let mut pos = 0;
        loop {
            let len = usize::from(*data.get(pos).ok_or(DomainNameError::Truncated)?);
            pos += 1;
            if len == 0 {
                break;
            }
            if len > MAX_LABEL_LEN {
                // 0b11 is a pointer, 0b01/0b10 are extended/obsolete label types.
                return Err(DomainNameError::CompressedLabel);
            }
            let label = data.get(pos..pos + len).ok_or(DomainNameError::Truncated)?;
            if !label.iter().copied().all(label_char_ok) {
                return Err(DomainNameError::BadCharacter);
            }
            if pos + len + 1 > MAX_NAME_LEN {
                return Err(DomainNameError::NameTooLong);
            }
            if !text.is_empty() {
                text.push('.');
            }
            // All octets are ASCII, checked above.
            text.extend(label.iter().map(|&b| char::from(b)));
            pos += len;
        }
        if text.is_empty() {
            return Err(DomainNameError::Empty);
        }
        Ok((DomainName(text), pos))
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
