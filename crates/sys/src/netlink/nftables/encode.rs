//! A growable attribute buffer with nesting, in nfnetlink's conventions:
//! integers of nf_tables attributes are big-endian (unlike rtnetlink's), and
//! nested attributes carry `NLA_F_NESTED`.

use super::super::consts::NLA_HDRLEN;
use super::consts::NLA_F_NESTED;

#[derive(Default)]
pub(crate) struct Attrs {
    pub(crate) buf: Vec<u8>,
}

impl Attrs {
    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    pub(crate) fn bytes(&mut self, kind: u16, payload: &[u8]) {
        // Payloads here are names (bounded by the builders) and register
        // contents (at most 16 bytes), far below the 16-bit length limit.
        let len = (NLA_HDRLEN + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
    }

    pub(crate) fn be32(&mut self, kind: u16, v: u32) {
        self.bytes(kind, &v.to_be_bytes());
    }

    pub(crate) fn be64(&mut self, kind: u16, v: u64) {
        self.bytes(kind, &v.to_be_bytes());
    }

    /// A NUL-terminated string, as the kernel's `NLA_STRING` policy expects.
    pub(crate) fn string(&mut self, kind: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.bytes(kind, &v);
    }

    /// A nested attribute whose content `f` writes.
    pub(crate) fn nest(&mut self, kind: u16, f: impl FnOnce(&mut Attrs)) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        f(self);
        let len = (self.buf.len() - start) as u16;
        if let Some(dst) = self.buf.get_mut(start..start + 2) {
            dst.copy_from_slice(&len.to_ne_bytes());
        }
    }
}
