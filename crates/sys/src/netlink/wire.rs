//! Netlink framing: message headers, attribute lists, and a request builder.
//!
//! Everything here is bounds-checked slicing over a received datagram; no
//! function indexes in a way that can panic. Integers are in host byte order,
//! as netlink defines them.

use super::consts::{NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN};
use super::error::ParseError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Rounds up to netlink's 4-byte alignment; saturates instead of overflowing.
pub(crate) fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

/// Reads `N` bytes at `at`, or says what was truncated.
pub(crate) fn take<const N: usize>(
    buf: &[u8],
    at: usize,
    what: &'static str,
) -> Result<[u8; N], ParseError> {
    buf.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(ParseError::Truncated {
            what,
            need: at.saturating_add(N),
            have: buf.len(),
        })
}

pub(crate) fn u16_at(buf: &[u8], at: usize, what: &'static str) -> Result<u16, ParseError> {
    take::<2>(buf, at, what).map(u16::from_ne_bytes)
}

pub(crate) fn u32_at(buf: &[u8], at: usize, what: &'static str) -> Result<u32, ParseError> {
    take::<4>(buf, at, what).map(u32::from_ne_bytes)
}

/// The fixed part of every netlink message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Total length including this header.
    pub len: u32,
    /// Message type (`RTM_NEWLINK`, `NLMSG_ERROR`...).
    pub kind: u16,
    /// `NLM_F_*` flags.
    pub flags: u16,
    /// Sequence number echoed from the request (0 for notifications).
    pub seq: u32,
    /// Sender port id (0 = the kernel).
    pub pid: u32,
}

/// Reads the header at the start of a TLV: (header, total length).
type ReadHeader<H> = fn(&[u8], &'static str) -> Result<(H, usize), ParseError>;

/// Walks a run of netlink TLVs, messages (`nlmsghdr`) or attributes
/// (`rtattr`/`nlattr`): each starts with its own length, which covers its
/// header, and is padded to 4 octets. Yields (header, payload); fused after
/// the first error, because past a bad length the rest cannot be located.
pub(crate) struct Tlvs<'a, H> {
    rest: &'a [u8],
    what: &'static str,
    header_len: usize,
    read: ReadHeader<H>,
    failed: bool,
}

impl<'a, H> Iterator for Tlvs<'a, H> {
    type Item = Result<(H, &'a [u8]), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.parse_one();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

impl<'a, H> Tlvs<'a, H> {
    fn parse_one(&mut self) -> Result<(H, &'a [u8]), ParseError> {
        let buf = self.rest;
        let (header, len) = (self.read)(buf, self.what)?;
        if len < self.header_len || len > buf.len() {
            return Err(ParseError::BadLength {
                what: self.what,
                len,
            });
        }
        let payload = buf.get(self.header_len..len).unwrap_or(&[]);
        self.rest = buf.get(align4(len)..).unwrap_or(&[]);
        Ok((header, payload))
    }
}

/// The messages of a datagram.
pub(crate) fn messages(buf: &[u8]) -> Tlvs<'_, MessageHeader> {
    fn read(buf: &[u8], what: &'static str) -> Result<(MessageHeader, usize), ParseError> {
        let header = MessageHeader {
            len: u32_at(buf, 0, what)?,
            kind: u16_at(buf, 4, what)?,
            flags: u16_at(buf, 6, what)?,
            seq: u32_at(buf, 8, what)?,
            pid: u32_at(buf, 12, what)?,
        };
        Ok((header, header.len as usize))
    }
    Tlvs {
        rest: buf,
        what: "nlmsghdr",
        header_len: NLMSG_HDRLEN,
        read,
        failed: false,
    }
}

/// The attributes of a message: (type without the nested/byte-order bits,
/// payload).
pub(crate) fn attributes<'a>(buf: &'a [u8], what: &'static str) -> Tlvs<'a, u16> {
    fn read(buf: &[u8], what: &'static str) -> Result<(u16, usize), ParseError> {
        let len = u16_at(buf, 0, what)? as usize;
        let kind = u16_at(buf, 2, what)? & NLA_TYPE_MASK;
        Ok((kind, len))
    }
    Tlvs {
        rest: buf,
        what,
        header_len: NLA_HDRLEN,
        read,
        failed: false,
    }
}

/// An attribute payload that must be exactly a `u32`.
pub(crate) fn attr_u32(payload: &[u8], what: &'static str) -> Result<u32, ParseError> {
    <[u8; 4]>::try_from(payload)
        .map(u32::from_ne_bytes)
        .map_err(|_| ParseError::BadAttribute {
            what,
            len: payload.len(),
        })
}

/// An attribute payload that must be exactly a `u8`.
pub(crate) fn attr_u8(payload: &[u8], what: &'static str) -> Result<u8, ParseError> {
    match payload {
        [b] => Ok(*b),
        _ => Err(ParseError::BadAttribute {
            what,
            len: payload.len(),
        }),
    }
}

/// A NUL-terminated string attribute (interface names, labels). Names are
/// bytes to the kernel; anything not UTF-8 is shown with replacement
/// characters rather than making the whole message unreadable.
pub(crate) fn attr_string(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    String::from_utf8_lossy(payload.get(..end).unwrap_or(&[])).into_owned()
}

/// An address attribute whose size must match the message's family.
pub(crate) fn attr_ip(
    payload: &[u8],
    family: u8,
    what: &'static str,
) -> Result<IpAddr, ParseError> {
    use super::consts::{AF_INET, AF_INET6};
    match (family, payload.len()) {
        (AF_INET, 4) => <[u8; 4]>::try_from(payload)
            .map(|b| IpAddr::V4(Ipv4Addr::from(b)))
            .map_err(|_| ParseError::BadAttribute { what, len: 4 }),
        (AF_INET6, 16) => <[u8; 16]>::try_from(payload)
            .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            .map_err(|_| ParseError::BadAttribute { what, len: 16 }),
        (AF_INET | AF_INET6, len) => Err(ParseError::BadAttribute { what, len }),
        (other, _) => Err(ParseError::UnknownFamily(other)),
    }
}

/// Builds one request message: header, fixed family header, attributes.
pub(crate) struct RequestBuilder {
    buf: Vec<u8>,
}

impl RequestBuilder {
    pub(crate) fn new(kind: u16, flags: u16) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish()
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set by the socket
        buf.extend_from_slice(&0u32.to_ne_bytes()); // pid 0: let the kernel route it
        RequestBuilder { buf }
    }

    /// Appends the fixed family header (ifinfomsg, ifaddrmsg, rtmsg).
    pub(crate) fn fixed(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    pub(crate) fn attr(mut self, kind: u16, payload: &[u8]) -> Self {
        let len = (NLA_HDRLEN + payload.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    pub(crate) fn attr_u32(self, kind: u16, value: u32) -> Self {
        self.attr(kind, &value.to_ne_bytes())
    }

    pub(crate) fn attr_ip(self, kind: u16, addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => self.attr(kind, &a.octets()),
            IpAddr::V6(a) => self.attr(kind, &a.octets()),
        }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    /// The finished message with the given sequence number.
    pub(crate) fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = (self.buf.len() as u32).to_ne_bytes();
        let seqb = seq.to_ne_bytes();
        for (dst, src) in self.buf.iter_mut().zip(len) {
            *dst = src;
        }
        for (dst, src) in self.buf.iter_mut().skip(8).zip(seqb) {
            *dst = src;
        }
        self.buf
    }
}
