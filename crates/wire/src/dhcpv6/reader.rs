//! Bounds-checked cursor over a received buffer.
//!
//! Every read either returns the bytes or a [`DecodeError`] at the current
//! offset; nothing here can index out of range.

use std::net::Ipv6Addr;

use super::error::{DecodeError, DecodeErrorKind};

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` within the whole message, for error reports.
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            kind,
            offset: self.offset(),
        }
    }

    /// Takes `n` bytes or fails with `kind` without consuming anything.
    pub(crate) fn take(
        &mut self,
        n: usize,
        kind: DecodeErrorKind,
    ) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.error(kind)),
        }
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn peek_rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    pub(crate) fn u8(&mut self, kind: DecodeErrorKind) -> Result<u8, DecodeError> {
        let b = self.take(1, kind)?;
        Ok(b.first().copied().unwrap_or(0))
    }

    pub(crate) fn u16(&mut self, kind: DecodeErrorKind) -> Result<u16, DecodeError> {
        let b = self.take(2, kind)?;
        let a: [u8; 2] = b.try_into().map_err(|_| self.error(kind))?;
        Ok(u16::from_be_bytes(a))
    }

    pub(crate) fn u32(&mut self, kind: DecodeErrorKind) -> Result<u32, DecodeError> {
        let b = self.take(4, kind)?;
        let a: [u8; 4] = b.try_into().map_err(|_| self.error(kind))?;
        Ok(u32::from_be_bytes(a))
    }

    pub(crate) fn ipv6(&mut self, kind: DecodeErrorKind) -> Result<Ipv6Addr, DecodeError> {
        let b = self.take(16, kind)?;
        let a: [u8; 16] = b.try_into().map_err(|_| self.error(kind))?;
        Ok(Ipv6Addr::from(a))
    }
}
