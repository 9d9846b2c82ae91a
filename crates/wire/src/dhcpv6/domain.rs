//! Domain names in DHCPv6 options: RFC 1035 wire form, never compressed
//! (RFC 8415 section 10).
//!
//! A name is kept in its validated wire form so it re-encodes byte for byte,
//! including labels that contain dots or non-ASCII octets, which text cannot
//! represent unambiguously. Display escapes such octets the RFC 1035 master
//! file way (`\.`, `\DDD`).

use std::fmt;

use super::error::{DecodeError, DecodeErrorKind};
use super::reader::Reader;

use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};

/// A fully qualified domain name, stored as uncompressed wire octets
/// ending in the zero-length root label.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DomainName {
    wire: Vec<u8>,
}

/// Why a dotted name cannot be turned into a domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// An empty label (`a..b`, or a leading dot).
    EmptyLabel,
    /// A label over 63 octets.
    LabelTooLong,
    /// The whole name over 255 octets in wire form.
    NameTooLong,
    /// A `\` not followed by a character or by three digits up to 255.
    BadEscape,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptyLabel => "empty label in domain name",
            Self::LabelTooLong => "domain label longer than 63 octets",
            Self::NameTooLong => "domain name longer than 255 octets",
            Self::BadEscape => "bad \\ escape in domain name",
        })
    }
}

impl std::error::Error for NameError {}

impl DomainName {
    /// The root name `.`.
    pub fn root() -> Self {
        Self { wire: vec![0] }
    }

    /// Builds a name from dotted text (`example.com` or `example.com.`).
    ///
    /// No escapes are interpreted: configuration names are plain host names.
    pub fn from_dotted(text: &str) -> Result<Self, NameError> {
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() {
            return Ok(Self::root());
        }
        Self::from_labels(text.split('.').map(str::as_bytes))
    }

    /// Builds a name from its labels (root excluded), any octets allowed.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, NameError> {
        let mut wire = Vec::new();
        for label in labels {
            if label.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            wire.push(label.len() as u8);
            wire.extend_from_slice(label);
            if wire.len() >= MAX_NAME_LEN {
                return Err(NameError::NameTooLong);
            }
        }
        wire.push(0);
        Ok(Self { wire })
    }

    /// Parses the text [`fmt::Display`] writes (RFC 1035 5.1 escapes: `\.`,
    /// `\\`, `\DDD`), so every name, whatever octets its labels hold, reads
    /// back as itself; plain dotted names read as with
    /// [`from_dotted`](Self::from_dotted). For names kept in text files.
    pub fn from_presentation(text: &str) -> Result<Self, NameError> {
        if text == "." {
            return Ok(Self::root());
        }
        let mut labels: Vec<Vec<u8>> = vec![Vec::new()];
        let mut chars = text.chars();
        let mut buf = [0u8; 4];
        while let Some(c) = chars.next() {
            let label = labels.last_mut().ok_or(NameError::EmptyLabel)?;
            match c {
                '.' => labels.push(Vec::new()),
                '\\' => match chars.next().ok_or(NameError::BadEscape)? {
                    d if d.is_ascii_digit() => {
                        let mut n = d.to_digit(10).unwrap_or(0);
                        for _ in 0..2 {
                            let d = chars.next().and_then(|c| c.to_digit(10));
                            n = n * 10 + d.ok_or(NameError::BadEscape)?;
                        }
                        label.push(u8::try_from(n).map_err(|_| NameError::BadEscape)?);
                    }
                    other => label.extend_from_slice(other.encode_utf8(&mut buf).as_bytes()),
                },
                other => label.extend_from_slice(other.encode_utf8(&mut buf).as_bytes()),
            }
        }
        // A final unescaped dot is the root: `example.com.`.
        if labels.len() > 1 && labels.last().is_some_and(Vec::is_empty) {
            labels.pop();
        }
        Self::from_labels(labels.iter().map(Vec::as_slice))
    }

    /// Wire octets, root label included.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// The labels, root excluded.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.wire.as_slice();
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let label = tail.get(..len as usize)?;
            if label.is_empty() {
                return None;
            }
            rest = tail.get(len as usize..)?;
            Some(label)
        })
    }

    /// Reads one uncompressed name; fails on pointers, extended label types,
    /// over-long names and names cut off before their root label.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let mut wire = Vec::new();
        loop {
            let len = r.u8(DecodeErrorKind::BadName)?;
            match len {
                0 => {
                    wire.push(0);
                    break;
                }
                l if l & 0xc0 == 0xc0 => return Err(r.error(DecodeErrorKind::CompressedName)),
                l if l as usize > MAX_LABEL_LEN => return Err(r.error(DecodeErrorKind::BadName)),
                l => {
                    let label = r.take(l as usize, DecodeErrorKind::BadName)?;
                    wire.push(l);
                    wire.extend_from_slice(label);
                }
            }
            if wire.len() >= MAX_NAME_LEN {
                break;
            }
        }
        if wire.len() > MAX_NAME_LEN || wire.last() != Some(&0) {
            return Err(DecodeError {
                kind: DecodeErrorKind::BadName,
                offset: start,
            });
        }
        Ok(Self { wire })
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for label in self.labels() {
            if any {
                f.write_str(".")?;
            }
            any = true;
            for &b in label {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
        }
        if !any {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(b: &[u8]) -> Result<DomainName, DecodeErrorKind> {
        DomainName::decode(&mut Reader::new(b, 0)).map_err(|e| e.kind)
    }

    #[test]
    fn dotted_round_trip() {
        let n = DomainName::from_dotted("example.com.").unwrap();
        assert_eq!(n.as_wire(), b"\x07example\x03com\x00");
        assert_eq!(n.to_string(), "example.com");
        assert_eq!(decode(n.as_wire()).unwrap(), n);
        assert_eq!(DomainName::from_dotted("").unwrap().to_string(), ".");
    }

    #[test]
    fn rejects_compression_and_bad_lengths() {
        assert_eq!(
            decode(b"\x03abc\xc0\x0c"),
            Err(DecodeErrorKind::CompressedName)
        );
        assert_eq!(decode(b"\x40abc"), Err(DecodeErrorKind::BadName));
        assert_eq!(decode(b"\x03ab"), Err(DecodeErrorKind::BadName));
        assert_eq!(decode(b"\x03abc"), Err(DecodeErrorKind::BadName));
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        assert_eq!(decode(&long), Err(DecodeErrorKind::BadName));
        assert_eq!(DomainName::from_dotted("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(
            DomainName::from_dotted(&"a".repeat(64)),
            Err(NameError::LabelTooLong)
        );
    }

    #[test]
    fn display_escapes_odd_octets() {
        let n = decode(b"\x03a.b\x02\x01z\x00").unwrap();
        assert_eq!(n.to_string(), "a\\.b.\\001z");
        assert_eq!(DomainName::from_presentation("a\\.b.\\001z"), Ok(n));
    }

    #[test]
    fn presentation_form_reads_plain_names_and_rejects_bad_escapes() {
        for plain in ["example.com", "example.com.", "."] {
            assert_eq!(
                DomainName::from_presentation(plain),
                DomainName::from_dotted(plain)
            );
        }
        let esc = |t: &str| DomainName::from_presentation(t);
        assert_eq!(esc("a\\\\b").unwrap().as_wire(), b"\x03a\\b\x00");
        assert_eq!(esc("a\\"), Err(NameError::BadEscape));
        assert_eq!(esc("a\\25"), Err(NameError::BadEscape));
        assert_eq!(esc("a\\256"), Err(NameError::BadEscape));
        assert_eq!(esc("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(esc(""), Err(NameError::EmptyLabel));
    }

    proptest::proptest! {
        /// Text written by `Display` (status, the DHCPv6 client's lease
        /// file) reads back as the same name, whatever its labels hold.
        #[test]
        fn presentation_form_round_trips_every_name(
            labels in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u8>(), 1..=MAX_LABEL_LEN),
                0..6,
            ),
        ) {
            if let Ok(n) = DomainName::from_labels(labels.iter().map(Vec::as_slice)) {
                proptest::prop_assert_eq!(decode(n.as_wire()), Ok(n.clone()));
                proptest::prop_assert_eq!(DomainName::from_presentation(&n.to_string()), Ok(n));
            }
        }
    }
}
