//! Domain names as DNS messages carry them: the crate's one [`Name`] type,
//! read with RFC 1035 4.1.4 compression where records allow it and without
//! where the question must be literal.

use super::error::DecodeError;
use super::walk::u16_at;

use crate::name::{Compression, Name, NameError};
pub use crate::name::{LabelIter, MAX_LABEL_LEN, MAX_NAME_LEN};

/// The DNS codec's name: [`Name`], held inline so the request path does not
/// allocate.
pub type NameBuf = Name;

impl From<NameError> for DecodeError {
    fn from(e: NameError) -> DecodeError {
        match e {
            NameError::Truncated => DecodeError::Truncated,
            NameError::PointerLoop | NameError::BadPointer => DecodeError::PointerLoop,
            NameError::Compressed => DecodeError::CompressedName,
            NameError::BadLabelType => DecodeError::BadLabel,
            // Text-only faults cannot come from the wire; a name past 255
            // octets is what the rest mean here.
            NameError::NameTooLong
            | NameError::LabelTooLong
            | NameError::EmptyLabel
            | NameError::BadEscape
            | NameError::BadCharacter => DecodeError::NameTooLong,
        }
    }
}

/// Reads a name from `msg` at `off` (following pointers), and returns it with
/// the offset just after the name at its original position.
pub fn read_name(msg: &[u8], off: usize) -> Result<(NameBuf, usize), DecodeError> {
    Ok(Name::decode(msg, off, Compression::Any)?)
}

/// Reads a name that must be literal (no pointers), as in a query's
/// question; returns it with the offset after it.
pub fn read_literal_name(msg: &[u8], off: usize) -> Result<(NameBuf, usize), DecodeError> {
    Ok(Name::decode(msg, off, Compression::Forbidden)?)
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
