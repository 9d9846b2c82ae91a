//! A whole DNS message as a plain value: header fields, the question and
//! every record with its names decompressed.
//!
//! The forwarder's hot path does not use this (it walks the octets lazily
//! and copies record sections verbatim, see [`super::walk_records`]); this
//! is the codec's complete form, for tools, tests and any daemon that must
//! read a record's content. It is built on the same walk, so both accept and
//! reject the same messages.

use super::error::{DecodeError, EncodeError};
use super::name::{NameBuf, read_name};
use super::types::{Rcode, Rtype};
use super::walk::{
    Edns, HEADER_LEN, Header, Question, RecordRef, Section, parse_question, walk_records,
};

/// One resource record, with the names in its RDATA decompressed where
/// RFC 3597 4 lets a sender compress them (the RFC 1035 types), so the
/// record means the same thing outside the message it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: NameBuf,
    /// Record type.
    pub rtype: Rtype,
    /// Class (the UDP payload size for OPT).
    pub class: u16,
    /// Time to live (extended RCODE, version and flags for OPT).
    pub ttl: u32,
    /// RDATA, names uncompressed.
    pub rdata: Vec<u8>,
}

/// A decoded DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Transaction ID.
    pub id: u16,
    /// Flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub flags: u16,
    /// The question; `None` only with QDCOUNT 0 (RFC 9619 allows no more
    /// than one).
    pub question: Option<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section, OPT included.
    pub additional: Vec<Record>,
}

impl Message {
    /// Decodes a message from a UDP payload (or a TCP message without its
    /// length prefix). Never panics; hostile counts, lengths and pointers
    /// end in a [`DecodeError`].
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let header = Header::parse(buf)?;
        let (question, qend) = match header.qdcount {
            0 => (None, HEADER_LEN),
            1 => {
                let (q, end) = parse_question(buf)?;
                (Some(q), end)
            }
            _ => return Err(DecodeError::TooManyQuestions),
        };
        let mut refs: Vec<RecordRef> = Vec::new();
        walk_records(buf, &header, qend, |r| refs.push(*r))?;
        let mut msg = Message {
            id: header.id,
            flags: header.flags,
            question,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        };
        for r in &refs {
            let record = read_record(buf, r)?;
            match r.section {
                Section::Answer => msg.answers.push(record),
                Section::Authority => msg.authority.push(record),
                Section::Additional => msg.additional.push(record),
            }
        }
        Ok(msg)
    }

    /// Appends the message to `out`, every name uncompressed.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let count = |n: usize| u16::try_from(n).map_err(|_| EncodeError::TooManyRecords);
        let header = Header {
            id: self.id,
            flags: self.flags,
            qdcount: u16::from(self.question.is_some()),
            ancount: count(self.answers.len())?,
            nscount: count(self.authority.len())?,
            arcount: count(self.additional.len())?,
        };
        out.extend_from_slice(&header.to_bytes());
        if let Some(q) = &self.question {
            out.extend_from_slice(q.name.as_wire());
            out.extend_from_slice(&q.qtype.to_u16().to_be_bytes());
            out.extend_from_slice(&q.qclass.to_be_bytes());
        }
        for r in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            let rdlen = u16::try_from(r.rdata.len()).map_err(|_| EncodeError::RdataTooLong)?;
            out.extend_from_slice(r.name.as_wire());
            out.extend_from_slice(&r.rtype.to_u16().to_be_bytes());
            out.extend_from_slice(&r.class.to_be_bytes());
            out.extend_from_slice(&r.ttl.to_be_bytes());
            out.extend_from_slice(&rdlen.to_be_bytes());
            out.extend_from_slice(&r.rdata);
        }
        Ok(())
    }

    /// The encoded message in a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(512);
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Header RCODE (4 bits; the EDNS extension is in [`Message::edns`]).
    pub fn rcode(&self) -> Rcode {
        Rcode::from_u16(self.flags & 0x000f)
    }

    /// EDNS parameters of the first OPT record in the additional section.
    pub fn edns(&self) -> Option<Edns> {
        let opt = self.additional.iter().find(|r| r.rtype == Rtype::Opt)?;
        Some(Edns::from_opt(opt.class, opt.ttl))
    }
}

/// Reads one record the walk found, decompressing the names of its RDATA.
fn read_record(buf: &[u8], r: &RecordRef) -> Result<Record, DecodeError> {
    let (name, _) = read_name(buf, r.start)?;
    let raw = buf.get(r.rdata..r.end).ok_or(DecodeError::Truncated)?;
    let rdata = match r.rtype.compressible_rdata() {
        None => raw.to_vec(),
        Some((head, names, tail)) => {
            let mut out = raw.get(..head).ok_or(DecodeError::BadRdata)?.to_vec();
            let mut pos = r.rdata + head;
            for _ in 0..names {
                if pos >= r.end {
                    return Err(DecodeError::BadRdata);
                }
                let (n, after) = read_name(buf, pos)?;
                out.extend_from_slice(n.as_wire());
                pos = after;
            }
            if pos + tail != r.end {
                return Err(DecodeError::BadRdata);
            }
            out.extend_from_slice(buf.get(pos..r.end).ok_or(DecodeError::BadRdata)?);
            out
        }
    };
    Ok(Record {
        name,
        rtype: r.rtype,
        class: r.class,
        ttl: r.ttl,
        rdata,
    })
}
