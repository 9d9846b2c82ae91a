//! Domain Search List (option 119, RFC 3397): RFC 1035 names, one after
//! the other, each the crate's one [`Name`] type, here limited to printable
//! ASCII (clients put them in resolv.conf).
//!
//! We never compress when encoding (compression saves a few octets and
//! costs clients bugs); decoding accepts RFC 3397 compression pointers, but
//! only pointing backwards inside the option, so a hostile loop ends in an
//! error.

pub use crate::name::NameError;
use crate::name::{Compression, Name};

/// The printable-ASCII rule on top of the RFC 1035 limits; the root name
/// is no search domain.
fn checked(name: Name) -> Result<Name, NameError> {
    if name.is_root() {
        return Err(NameError::EmptyLabel);
    }
    if !name
        .labels()
        .all(|l| l.iter().all(|b| (0x21..=0x7e).contains(b) && *b != b'.'))
    {
        return Err(NameError::BadCharacter);
    }
    Ok(name)
}

/// The option 119 payload for `names` (dotted, a trailing dot allowed),
/// uncompressed.
pub fn encode_domain_search(names: &[String]) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::new();
    for n in names {
        let trimmed = n.strip_suffix('.').unwrap_or(n);
        if trimmed.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        checked(Name::from_dotted(trimmed)?)?.encode(&mut out);
    }
    Ok(out)
}

/// Decodes a (concatenated) option 119 payload into dotted names.
pub fn decode_domain_search(data: &[u8]) -> Result<Vec<String>, NameError> {
    let mut names = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let (name, after) = Name::decode(data, at, Compression::Backward)?;
        let name = checked(name)?;
        // Printable ASCII without dots, checked above: the labels joined by
        // dots are the name, with nothing to escape.
        let mut text = String::new();
        for label in name.labels() {
            if !text.is_empty() {
                text.push('.');
            }
            text.extend(label.iter().map(|&b| char::from(b)));
        }
        names.push(text);
        at = after;
    }
    Ok(names)
}
