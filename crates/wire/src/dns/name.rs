//! Domain names as DNS messages carry them: RFC 1035 labels, possibly
//! compressed (RFC 1035 4.1.4), held inline so the request path does not
//! allocate.

use std::fmt;

use super::error::DecodeError;
use super::walk::u16_at;

pub use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
/// Bound on compression pointer hops, so a pointer loop ends in an error.
const MAX_POINTER_HOPS: usize = 64;

/// A name in uncompressed wire form, held inline (no allocation) because the
/// request path handles one per packet.
#[derive(Clone)]
pub struct NameBuf {
    len: u8,
    bytes: [u8; MAX_NAME_LEN],
}

impl PartialEq for NameBuf {
    /// Exact (case-sensitive) comparison of the wire octets; callers lower
    /// both sides first where RFC 4343 case-insensitivity applies.
    fn eq(&self, other: &NameBuf) -> bool {
        self.as_wire() == other.as_wire()
    }
}

impl Eq for NameBuf {}

impl std::hash::Hash for NameBuf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_wire().hash(state);
    }
}

impl NameBuf {
    /// The root name.
    pub fn root() -> NameBuf {
        NameBuf {
            len: 1,
            bytes: [0; MAX_NAME_LEN],
        }
    }

    /// Wire octets (labels with length prefixes, ending with the root label).
    pub fn as_wire(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Copy with ASCII letters lowered, for case-insensitive keys (RFC 4343).
    pub fn to_lowercase(&self) -> NameBuf {
        let mut out = self.clone();
        out.bytes.make_ascii_lowercase();
        out
    }

    /// Builds from dotted text ("router.lan" or "router.lan."); `None` if a
    /// label is empty or too long or the name exceeds 255 octets.
    pub fn from_text(text: &str) -> Option<NameBuf> {
        let mut out = NameBuf::root();
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        let mut pos = 0usize;
        if !trimmed.is_empty() {
            for label in trimmed.split('.') {
                let l = label.len();
                if l == 0 || l > MAX_LABEL_LEN || pos + 1 + l + 1 > MAX_NAME_LEN {
                    return None;
                }
                *out.bytes.get_mut(pos)? = l as u8;
                out.bytes
                    .get_mut(pos + 1..pos + 1 + l)?
                    .copy_from_slice(label.as_bytes());
                pos += 1 + l;
            }
        }
        *out.bytes.get_mut(pos)? = 0;
        out.len = (pos + 1) as u8;
        Some(out)
    }

    /// Labels from left to right, without length prefixes.
    pub fn labels(&self) -> LabelIter<'_> {
        LabelIter {
            wire: self.as_wire(),
        }
    }

    /// Whether this name equals `suffix` or ends with it at a label boundary
    /// (both expected lowercase).
    pub fn is_subdomain_of(&self, suffix: &NameBuf) -> bool {
        let mut rest = self.as_wire();
        loop {
            if rest == suffix.as_wire() {
                return true;
            }
            match rest.split_first() {
                Some((&l, tail)) if l != 0 => rest = tail.get(usize::from(l)..).unwrap_or(&[]),
                _ => return false,
            }
        }
    }

    /// Appends a name read from `msg` at `off` (following pointers), and
    /// returns the offset just after the name at its original position.
    pub fn read(msg: &[u8], off: usize) -> Result<(NameBuf, usize), DecodeError> {
        let mut out = NameBuf::root();
        let mut pos = off;
        let mut end_after: Option<usize> = None;
        let mut hops = 0usize;
        let mut written = 0usize;
        loop {
            let len = *msg.get(pos).ok_or(DecodeError::Truncated)?;
            match len & 0xc0 {
                0x00 => {
                    let l = usize::from(len);
                    if written + 1 + l > MAX_NAME_LEN {
                        return Err(DecodeError::NameTooLong);
                    }
                    let label = msg.get(pos..pos + 1 + l).ok_or(DecodeError::Truncated)?;
                    out.bytes
                        .get_mut(written..written + 1 + l)
                        .ok_or(DecodeError::NameTooLong)?
                        .copy_from_slice(label);
                    written += 1 + l;
                    pos += 1 + l;
                    if l == 0 {
                        out.len = written as u8;
                        return Ok((out, end_after.unwrap_or(pos)));
                    }
                }
                0xc0 => {
                    let ptr = usize::from(u16_at(msg, pos)? & 0x3fff);
                    if end_after.is_none() {
                        end_after = Some(pos + 2);
                    }
                    hops += 1;
                    if hops > MAX_POINTER_HOPS {
                        return Err(DecodeError::PointerLoop);
                    }
                    pos = ptr;
                }
                _ => return Err(DecodeError::BadLabel),
            }
        }
    }

    /// Reads a name that must be literal (no pointers), as in a query's
    /// question; returns it with the offset after it.
    pub fn read_literal(msg: &[u8], off: usize) -> Result<(NameBuf, usize), DecodeError> {
        let (name, end) = NameBuf::read(msg, off)?;
        if end - off != name.as_wire().len() {
            return Err(DecodeError::CompressedName);
        }
        Ok((name, end))
    }
}

impl fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for NameBuf {
    /// Presentation form with non-printable octets escaped as `\DDD`, so a
    /// hostile name cannot inject control characters into logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for label in self.labels() {
            any = true;
            for &b in label {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
            f.write_str(".")?;
        }
        if !any {
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// Iterator over the labels of a wire name.
pub struct LabelIter<'a> {
    wire: &'a [u8],
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&l, rest) = self.wire.split_first()?;
        if l == 0 {
            return None;
        }
        let label = rest.get(..usize::from(l))?;
        self.wire = rest.get(usize::from(l)..)?;
        Some(label)
    }
}

/// Skips a possibly compressed name without following pointers; returns the
/// offset after it.
pub fn skip_name(msg: &[u8], mut off: usize) -> Result<usize, DecodeError> {
    let start = off;
    loop {
        let len = *msg.get(off).ok_or(DecodeError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(off + 1),
            0x00 => {
                off += 1 + usize::from(len);
                if off - start > MAX_NAME_LEN {
                    return Err(DecodeError::NameTooLong);
                }
            }
            0xc0 => {
                u16_at(msg, off)?;
                return Ok(off + 2);
            }
            _ => return Err(DecodeError::BadLabel),
        }
    }
}
