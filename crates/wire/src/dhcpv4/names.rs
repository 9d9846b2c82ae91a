//! Domain Search List (option 119, RFC 3397): RFC 1035 names, one after
//! the other.
//!
//! We never compress when encoding (compression saves a few octets and
//! costs clients bugs); decoding accepts RFC 3397 compression pointers, but
//! only pointing backwards inside the option and with a bounded number of
//! jumps, so a hostile loop ends in an error.

use std::fmt;

use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// More jumps than any honest list needs.
const MAX_JUMPS: usize = 32;

/// Why a name or a list could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// Empty label (`a..b`), or an empty name.
    EmptyLabel,
    /// A label longer than 63 octets.
    LabelTooLong,
    /// A name longer than 255 octets on the wire.
    NameTooLong,
    /// A label octet that is not printable ASCII, or a dot inside a label.
    BadCharacter,
    /// The data ends inside a name.
    Truncated,
    /// A compression pointer forwards, to itself, or in a loop.
    BadPointer,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptyLabel => "empty label",
            Self::LabelTooLong => "label longer than 63 octets",
            Self::NameTooLong => "name longer than 255 octets",
            Self::BadCharacter => "label holds a non-printable octet",
            Self::Truncated => "name truncated",
            Self::BadPointer => "bad compression pointer",
        })
    }
}

impl std::error::Error for NameError {}

fn label_ok(label: &[u8]) -> bool {
    label
        .iter()
        .all(|b| (0x21..=0x7e).contains(b) && *b != b'.')
}

/// Wire form of one dotted name (a trailing dot is allowed).
fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), NameError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(NameError::EmptyLabel);
    }
    let start = out.len();
    for label in trimmed.split('.') {
        let bytes = label.as_bytes();
        if bytes.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if bytes.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if !label_ok(bytes) {
            return Err(NameError::BadCharacter);
        }
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.push(0);
    if out.len() - start > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    Ok(())
}

/// The option 119 payload for `names`, uncompressed.
pub fn encode_domain_search(names: &[String]) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::new();
    for n in names {
        encode_name(n, &mut out)?;
    }
    Ok(out)
}

/// Reads one name starting at `at`; returns it dotted and the offset after
/// it in the uncompressed stream.
fn decode_name(data: &[u8], at: usize) -> Result<(String, usize), NameError> {
    let mut text = String::new();
    let mut pos = at;
    let mut next = None; // where the caller resumes after the first pointer
    let mut wire_len = 0usize;
    let mut jumps = 0;
    loop {
        let len = *data.get(pos).ok_or(NameError::Truncated)?;
        match len {
            0 => {
                if text.is_empty() {
                    return Err(NameError::EmptyLabel);
                }
                return Ok((text, next.unwrap_or(pos + 1)));
            }
            1..=63 => {
                let label = data
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(NameError::Truncated)?;
                if !label_ok(label) {
                    return Err(NameError::BadCharacter);
                }
                wire_len += 1 + label.len();
                if wire_len >= MAX_NAME_LEN {
                    return Err(NameError::NameTooLong);
                }
                if !text.is_empty() {
                    text.push('.');
                }
                // label_ok guarantees ASCII.
                text.extend(label.iter().map(|b| char::from(*b)));
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let low = *data.get(pos + 1).ok_or(NameError::Truncated)?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                jumps += 1;
                if target >= pos || jumps > MAX_JUMPS {
                    return Err(NameError::BadPointer);
                }
                next.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(NameError::LabelTooLong),
        }
    }
}

/// Decodes a (concatenated) option 119 payload into dotted names.
pub fn decode_domain_search(data: &[u8]) -> Result<Vec<String>, NameError> {
    let mut names = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let (name, after) = decode_name(data, at)?;
        names.push(name);
        at = after;
    }
    Ok(names)
}
