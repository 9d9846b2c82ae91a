//! Bounded DNS message reader: exactly what a forwarder needs and no more.
//!
//! A forwarder does not interpret answers; it must only (1) read the header
//! and the single question to key its tables, (2) walk resource records to
//! find each TTL (for decrementing on the way out), the OPT record (EDNS0)
//! and the SOA of negative answers, and (3) never trust a length, count or
//! compression pointer. Every read goes through [`Reader`], which returns
//! [`WireError`] instead of panicking, so the whole module is safe on hostile
//! input (it is fuzzed through the engine's entry points).

use std::fmt;

/// Fixed DNS header length (RFC 1035 4.1.1).
pub const HEADER_LEN: usize = 12;
/// Longest name in wire form including the root label (RFC 1035 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Bound on compression pointer hops, so a pointer loop ends in an error.
const MAX_POINTER_HOPS: usize = 64;

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

/// Response codes the forwarder produces or interprets.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error: the query could not be interpreted.
    pub const FORMERR: u8 = 1;
    /// Server failure: no upstream answered.
    pub const SERVFAIL: u8 = 2;
    /// The name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Opcode not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused by policy.
    pub const REFUSED: u8 = 5;
}

/// Record types the forwarder looks at.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority (negative caching, RFC 2308).
    pub const SOA: u16 = 6;
    /// Reverse pointer.
    pub const PTR: u16 = 12;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// EDNS0 pseudo record.
    pub const OPT: u16 = 41;
    /// Incremental zone transfer (refused: not a forwarder's job).
    pub const IXFR: u16 = 251;
    /// Zone transfer (refused).
    pub const AXFR: u16 = 252;
}

/// Class IN.
pub const CLASS_IN: u16 = 1;

/// Why a message was rejected. Each variant maps to a drop counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// A field runs past the end of the message.
    Truncated,
    /// A label length byte uses the reserved 0x40/0x80 prefixes.
    BadLabel,
    /// A name is longer than 255 octets.
    NameTooLong,
    /// Too many compression pointers (loop or abuse).
    PointerLoop,
    /// A compression pointer where the forwarder requires a literal name.
    UnexpectedPointer,
    /// Bytes left over after the last record, or counts not matching.
    TrailingData,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            WireError::Truncated => "truncated message",
            WireError::BadLabel => "reserved label type",
            WireError::NameTooLong => "name longer than 255 octets",
            WireError::PointerLoop => "compression pointer loop",
            WireError::UnexpectedPointer => "compressed name where a literal one is required",
            WireError::TrailingData => "trailing data after the last record",
        };
        f.write_str(text)
    }
}

impl std::error::Error for WireError {}

/// Big-endian u16 at `off`, bounds-checked.
pub fn u16_at(buf: &[u8], off: usize) -> Result<u16, WireError> {
    match buf.get(off..off.checked_add(2).ok_or(WireError::Truncated)?) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(WireError::Truncated),
    }
}

/// Big-endian u32 at `off`, bounds-checked.
pub fn u32_at(buf: &[u8], off: usize) -> Result<u32, WireError> {
    match buf.get(off..off.checked_add(4).ok_or(WireError::Truncated)?) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(WireError::Truncated),
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
    pub fn parse(buf: &[u8]) -> Result<Header, WireError> {
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

    /// The 4-bit header RCODE.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x000f) as u8
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
                if l == 0 || l > 63 || pos + 1 + l + 1 > MAX_NAME_LEN {
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
    pub fn read(msg: &[u8], off: usize) -> Result<(NameBuf, usize), WireError> {
        let mut out = NameBuf::root();
        let mut pos = off;
        let mut end_after: Option<usize> = None;
        let mut hops = 0usize;
        let mut written = 0usize;
        loop {
            let len = *msg.get(pos).ok_or(WireError::Truncated)?;
            match len & 0xc0 {
                0x00 => {
                    let l = usize::from(len);
                    if written + 1 + l > MAX_NAME_LEN {
                        return Err(WireError::NameTooLong);
                    }
                    let label = msg.get(pos..pos + 1 + l).ok_or(WireError::Truncated)?;
                    out.bytes
                        .get_mut(written..written + 1 + l)
                        .ok_or(WireError::NameTooLong)?
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
                        return Err(WireError::PointerLoop);
                    }
                    pos = ptr;
                }
                _ => return Err(WireError::BadLabel),
            }
        }
    }

    /// Reads a name that must be literal (no pointers), as in a query's
    /// question; returns it with the offset after it.
    pub fn read_literal(msg: &[u8], off: usize) -> Result<(NameBuf, usize), WireError> {
        let (name, end) = NameBuf::read(msg, off)?;
        if end - off != name.as_wire().len() {
            return Err(WireError::UnexpectedPointer);
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
pub fn skip_name(msg: &[u8], mut off: usize) -> Result<usize, WireError> {
    let start = off;
    loop {
        let len = *msg.get(off).ok_or(WireError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(off + 1),
            0x00 => {
                off += 1 + usize::from(len);
                if off - start > MAX_NAME_LEN {
                    return Err(WireError::NameTooLong);
                }
            }
            0xc0 => {
                u16_at(msg, off)?;
                return Ok(off + 2);
            }
            _ => return Err(WireError::BadLabel),
        }
    }
}

/// The one question of a query or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Name exactly as sent (case preserved, so replies echo it back).
    pub name: NameBuf,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// Reads the single question following the header. The name must be literal.
pub fn parse_question(msg: &[u8]) -> Result<(Question, usize), WireError> {
    let (name, off) = NameBuf::read_literal(msg, HEADER_LEN)?;
    let qtype = u16_at(msg, off)?;
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
    pub rtype: u16,
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
) -> Result<(), WireError> {
    let sections = [
        (Section::Answer, header.ancount),
        (Section::Authority, header.nscount),
        (Section::Additional, header.arcount),
    ];
    for (section, count) in sections {
        for _ in 0..count {
            let start = off;
            let after_name = skip_name(msg, off)?;
            let rtype = u16_at(msg, after_name)?;
            let class = u16_at(msg, after_name + 2)?;
            let ttl = u32_at(msg, after_name + 4)?;
            let rdlen = usize::from(u16_at(msg, after_name + 8)?);
            let rdata = after_name + 10;
            let end = rdata + rdlen;
            if end > msg.len() {
                return Err(WireError::Truncated);
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
        return Err(WireError::TrailingData);
    }
    Ok(())
}

/// Reads EDNS parameters from an OPT record found by [`walk_records`].
pub fn edns_from_opt(rec: &RecordRef) -> Edns {
    Edns {
        udp_size: rec.class.max(512),
        ext_rcode: (rec.ttl >> 24) as u8,
        version: (rec.ttl >> 16) as u8,
        dnssec_ok: rec.ttl & 0x8000 != 0,
    }
}

/// Encodes an OPT record with no options.
pub fn opt_record(udp_size: u16, ext_rcode: u8, dnssec_ok: bool) -> [u8; 11] {
    let ttl = (u32::from(ext_rcode) << 24) | if dnssec_ok { 0x8000 } else { 0 };
    let t = ttl.to_be_bytes();
    let s = udp_size.to_be_bytes();
    let o = rtype::OPT.to_be_bytes();
    [0, o[0], o[1], s[0], s[1], t[0], t[1], t[2], t[3], 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_text_roundtrip_and_display_escapes() {
        let n = NameBuf::from_text("Router.LAN").unwrap();
        assert_eq!(n.as_wire(), b"\x06Router\x03LAN\x00");
        assert_eq!(n.to_string(), "Router.LAN.");
        assert_eq!(n.to_lowercase().as_wire(), b"\x06router\x03lan\x00");
        let (odd, _) = NameBuf::read(b"\x02a\n\x00", 0).unwrap();
        assert_eq!(odd.to_string(), "a\\010.");
        assert_eq!(NameBuf::root().to_string(), ".");
        assert!(NameBuf::from_text("a..b").is_none());
        assert!(NameBuf::from_text(&"x".repeat(64)).is_none());
    }

    #[test]
    fn subdomain_matches_label_boundaries_only() {
        let lan = NameBuf::from_text("lan").unwrap();
        assert!(
            NameBuf::from_text("router.lan")
                .unwrap()
                .is_subdomain_of(&lan)
        );
        assert!(NameBuf::from_text("lan").unwrap().is_subdomain_of(&lan));
        assert!(!NameBuf::from_text("xlan").unwrap().is_subdomain_of(&lan));
        assert!(!NameBuf::from_text("lan.com").unwrap().is_subdomain_of(&lan));
    }

    #[test]
    fn pointer_loops_and_long_names_are_errors() {
        // Header-sized padding then a pointer to itself.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[0xc0, 12]);
        assert_eq!(NameBuf::read(&msg, 12), Err(WireError::PointerLoop));
        // A label that loops back to itself through a pointer.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[1, b'a', 0xc0, 12]);
        assert_eq!(NameBuf::read(&msg, 12), Err(WireError::PointerLoop));
        // Long labels hit the 255-octet bound before the hop bound.
        let mut msg = vec![0u8; 12];
        msg.push(63);
        msg.extend_from_slice(&[b'x'; 63]);
        msg.extend_from_slice(&[0xc0, 12]);
        assert_eq!(NameBuf::read(&msg, 12), Err(WireError::NameTooLong));
        assert_eq!(NameBuf::read(&[0x40], 0), Err(WireError::BadLabel));
        assert_eq!(NameBuf::read(&[3, b'a'], 0), Err(WireError::Truncated));
        assert_eq!(skip_name(&[0xc0], 0), Err(WireError::Truncated));
    }

    #[test]
    fn compressed_name_reads_and_reports_end_after_pointer() {
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(b"\x03lan\x00");
        msg.extend_from_slice(b"\x06router\xc0\x0c");
        let (n, end) = NameBuf::read(&msg, 17).unwrap();
        assert_eq!(n.as_wire(), b"\x06router\x03lan\x00");
        assert_eq!(end, msg.len());
        assert_eq!(skip_name(&msg, 17).unwrap(), msg.len());
        assert_eq!(
            NameBuf::read_literal(&msg, 17),
            Err(WireError::UnexpectedPointer)
        );
    }

    #[test]
    fn opt_record_roundtrips_through_walk() {
        let mut msg = Header {
            id: 1,
            flags: 0,
            qdcount: 0,
            ancount: 0,
            nscount: 0,
            arcount: 1,
        }
        .to_bytes()
        .to_vec();
        msg.extend_from_slice(&opt_record(1232, 1, true));
        let h = Header::parse(&msg).unwrap();
        let mut seen = None;
        walk_records(&msg, &h, HEADER_LEN, |r| seen = Some(edns_from_opt(r))).unwrap();
        assert_eq!(
            seen,
            Some(Edns {
                udp_size: 1232,
                version: 0,
                dnssec_ok: true,
                ext_rcode: 1
            })
        );
        msg.push(0);
        assert_eq!(
            walk_records(&msg, &h, HEADER_LEN, |_| {}),
            Err(WireError::TrailingData)
        );
    }
}
