//! The lazy walker: header, question and record positions read straight
//! from the octets, without copying a record.
//!
//! A forwarder does not interpret answers; it must only (1) read the header
//! and the single question to key its tables, (2) walk resource records to
//! find each TTL (for decrementing on the way out), the OPT record (EDNS0)
//! and the SOA of negative answers, and (3) never trust a length, count or
//! compression pointer. Every read is bounds-checked and returns a
//! [`DecodeError`] instead of panicking. [`super::Message::decode`] is built
//! on the same walk.

use super::error::DecodeError;
use super::name::{NameBuf, read_literal_name, skip_name};
use super::types::{Rcode, Rtype};

/// Fixed DNS header length (RFC 1035 4.1.1).
pub const HEADER_LEN: usize = 12;

/// QR bit: set in responses.
pub const FLAG_QR: u16 = 0x8000;
/// AA bit: authoritative answer (used for local names).
pub const FLAG_AA: u16 = 0x0400;
/// TC bit: truncated, the client must retry over TCP.
pub const FLAG_TC: u16 = 0x0200;
/// RD bit: recursion desired.
pub const FLAG_RD: u16 = 0x0100;
/// RA bit: recursion available.
pub const FLAG_RA: u16 = 0x0080;
/// AD bit: authentic data (passed through from the upstream validator).
pub const FLAG_AD: u16 = 0x0020;
/// CD bit: checking disabled.
pub const FLAG_CD: u16 = 0x0010;

/// Class IN.
pub const CLASS_IN: u16 = 1;

/// Big-endian u16 at `off`, bounds-checked.
pub fn u16_at(buf: &[u8], off: usize) -> Result<u16, DecodeError> {
    match buf.get(off..off.checked_add(2).ok_or(DecodeError::Truncated)?) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(DecodeError::Truncated),
    }
}

/// Big-endian u32 at `off`, bounds-checked.
pub fn u32_at(buf: &[u8], off: usize) -> Result<u32, DecodeError> {
    match buf.get(off..off.checked_add(4).ok_or(DecodeError::Truncated)?) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(DecodeError::Truncated),
    }
}

/// Writes a big-endian u16 at `off` if it fits; returns whether it did.
pub fn put_u16(buf: &mut [u8], off: usize, v: u16) -> bool {
    match buf.get_mut(off..off.saturating_add(2)) {
        Some(dst) if dst.len() == 2 => {
            dst.copy_from_slice(&v.to_be_bytes());
            true
        }
        _ => false,
    }
}

/// Writes a big-endian u32 at `off` if it fits; returns whether it did.
pub fn put_u32(buf: &mut [u8], off: usize, v: u32) -> bool {
    match buf.get_mut(off..off.saturating_add(4)) {
        Some(dst) if dst.len() == 4 => {
            dst.copy_from_slice(&v.to_be_bytes());
            true
        }
        _ => false,
    }
}

/// The fixed header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction ID.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// Reads the header from the first 12 octets.
    pub fn parse(buf: &[u8]) -> Result<Header, DecodeError> {
        Ok(Header {
            id: u16_at(buf, 0)?,
            flags: u16_at(buf, 2)?,
            qdcount: u16_at(buf, 4)?,
            ancount: u16_at(buf, 6)?,
            nscount: u16_at(buf, 8)?,
            arcount: u16_at(buf, 10)?,
        })
    }

    /// The 4-bit opcode (0 = QUERY).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    /// The 4-bit header RCODE (the EDNS extension is in the OPT record).
    pub fn rcode(&self) -> Rcode {
        Rcode::from_u16(self.flags & 0x000f)
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_QR != 0
    }

    /// Serialises into 12 octets.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        for (i, v) in [
            self.id,
            self.flags,
            self.qdcount,
            self.ancount,
            self.nscount,
            self.arcount,
        ]
        .into_iter()
        .enumerate()
        {
            put_u16(&mut out, i * 2, v);
        }
        out
    }
}

/// The one question of a query or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Name exactly as sent (case preserved, so replies echo it back).
    pub name: NameBuf,
    /// QTYPE.
    pub qtype: Rtype,
    /// QCLASS.
    pub qclass: u16,
}

/// Reads the single question following the header. The name must be literal.
pub fn parse_question(msg: &[u8]) -> Result<(Question, usize), DecodeError> {
    let (name, off) = read_literal_name(msg, HEADER_LEN)?;
    let qtype = Rtype::from_u16(u16_at(msg, off)?);
    let qclass = u16_at(msg, off + 2)?;
    Ok((
        Question {
            name,
            qtype,
            qclass,
        },
        off + 4,
    ))
}

/// EDNS0 parameters from an OPT record (RFC 6891).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size (values below 512 are treated as 512).
    pub udp_size: u16,
    /// EDNS version.
    pub version: u8,
    /// DNSSEC OK bit.
    pub dnssec_ok: bool,
    /// Upper 8 bits of the extended RCODE.
    pub ext_rcode: u8,
}

/// Which section a record sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Answer section.
    Answer,
    /// Authority section.
    Authority,
    /// Additional section.
    Additional,
}

/// Position and fixed fields of one resource record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef {
    /// Section of the record.
    pub section: Section,
    /// Offset of the owner name (start of the record).
    pub start: usize,
    /// Record type.
    pub rtype: Rtype,
    /// Record class (the UDP size for OPT).
    pub class: u16,
    /// Offset of the 32-bit TTL field.
    pub ttl_offset: usize,
    /// TTL value.
    pub ttl: u32,
    /// Offset of the RDATA.
    pub rdata: usize,
    /// Offset just after the record.
    pub end: usize,
}

/// Walks all records after the question; calls `f` for each one. Fails if a
/// record is malformed or bytes remain after the last one.
pub fn walk_records(
    msg: &[u8],
    header: &Header,
    mut off: usize,
    mut f: impl FnMut(&RecordRef),
) -> Result<(), DecodeError> {
    let sections = [
        (Section::Answer, header.ancount),
        (Section::Authority, header.nscount),
        (Section::Additional, header.arcount),
    ];
    for (section, count) in sections {
        for _ in 0..count {
            let start = off;
            let after_name = skip_name(msg, off)?;
            let rtype = Rtype::from_u16(u16_at(msg, after_name)?);
            let class = u16_at(msg, after_name + 2)?;
            let ttl = u32_at(msg, after_name + 4)?;
            let rdlen = usize::from(u16_at(msg, after_name + 8)?);
            let rdata = after_name + 10;
            let end = rdata + rdlen;
            if end > msg.len() {
                return Err(DecodeError::Truncated);
            }
            f(&RecordRef {
                section,
                start,
                rtype,
                class,
                ttl_offset: after_name + 4,
                ttl,
                rdata,
                end,
            });
            off = end;
        }
    }
    if off != msg.len() {
        return Err(DecodeError::TrailingData);
    }
    Ok(())
}

/// Reads EDNS parameters from an OPT record found by [`walk_records`].
pub fn edns_from_opt(rec: &RecordRef) -> Edns {
    Edns::from_opt(rec.class, rec.ttl)
}

impl Edns {
    /// Reads EDNS parameters from an OPT record's CLASS and TTL fields
    /// (RFC 6891 6.1.3).
    pub fn from_opt(class: u16, ttl: u32) -> Edns {
        Edns {
            udp_size: class.max(512),
            ext_rcode: (ttl >> 24) as u8,
            version: (ttl >> 16) as u8,
            dnssec_ok: ttl & 0x8000 != 0,
        }
    }
}

/// Encodes an OPT record with no options.
pub fn opt_record(udp_size: u16, ext_rcode: u8, dnssec_ok: bool) -> [u8; 11] {
    let ttl = (u32::from(ext_rcode) << 24) | if dnssec_ok { 0x8000 } else { 0 };
    let t = ttl.to_be_bytes();
    let s = udp_size.to_be_bytes();
    let o = Rtype::Opt.to_u16().to_be_bytes();
    [0, o[0], o[1], s[0], s[1], t[0], t[1], t[2], t[3], 0, 0]
}
