//! Domain names in DHCPv6 options: the crate's one [`Name`] type, in RFC
//! 1035 wire form, never compressed (RFC 8415 section 10).
//!
//! A name is kept in its validated wire form so it re-encodes byte for byte,
//! including labels that contain dots or non-ASCII octets, which text cannot
//! represent unambiguously; its text form escapes them (`\.`, `\DDD`).

use super::error::{DecodeError, DecodeErrorKind};
use super::reader::Reader;

use crate::name::{Compression, Name};
pub use crate::name::{Name as DomainName, NameError};

/// Reads one uncompressed name; fails on pointers, extended label types,
/// over-long names and names cut off before their root label.
pub(crate) fn decode_name(r: &mut Reader<'_>) -> Result<DomainName, DecodeError> {
    let start = r.offset();
    let (name, used) = Name::decode(r.peek_rest(), 0, Compression::Forbidden).map_err(|e| {
        let kind = match e {
            NameError::Compressed => DecodeErrorKind::CompressedName,
            _ => DecodeErrorKind::BadName,
        };
        DecodeError {
            kind,
            offset: start,
        }
    })?;
    r.take(used, DecodeErrorKind::BadName)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(b: &[u8]) -> Result<DomainName, DecodeErrorKind> {
        decode_name(&mut Reader::new(b, 0)).map_err(|e| e.kind)
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
    }

    #[test]
    fn reads_one_name_and_leaves_the_rest() {
        let mut r = Reader::new(b"\x01a\x00\x01b\x00", 0);
        assert_eq!(decode_name(&mut r).unwrap().as_wire(), b"\x01a\x00");
        assert_eq!(r.offset(), 3);
        assert_eq!(decode_name(&mut r).unwrap().as_wire(), b"\x01b\x00");
        assert!(r.is_empty());
    }
}
