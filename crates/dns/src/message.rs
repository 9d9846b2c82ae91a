//! Client queries in, upstream answers in, responses out.
//!
//! Responses are assembled from the *client's* question octets (so the
//! client sees its own letter case) followed by the upstream's record
//! sections. Because a case-insensitive match has the same length, every
//! compression pointer in the upstream's records still points at the same
//! place, and the records can be copied without re-encoding names. The
//! upstream's OPT record is removed and replaced by our own, sized for the
//! client.

use cpe_wire::dns::{
    self as wire, CLASS_IN, DecodeError, Edns, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD,
    FLAG_TC, HEADER_LEN, Header, NameBuf, Question, Rcode, Rtype, Section, rcode, rtype,
};

/// What we advertise and use as our own UDP payload size (DNS flag day 2020).
pub const EDNS_UDP_SIZE: u16 = 1232;
/// Answer size limit for clients without EDNS (RFC 1035).
pub const PLAIN_UDP_LIMIT: usize = 512;
/// Extended RCODE BADVERS (16) upper bits, for unsupported EDNS versions.
const BADVERS_EXT: u8 = 1;

/// A parsed client query.
#[derive(Debug, Clone)]
pub struct ClientQuery {
    /// Client's transaction ID, echoed in the response.
    pub id: u16,
    /// Client's RD and CD bits, echoed in the response.
    pub echo_flags: u16,
    /// Question exactly as the client sent it.
    pub question: Question,
    /// EDNS parameters if the client sent an OPT record.
    pub edns: Option<Edns>,
    /// The client set AD in its query: it understands the AD bit and gets
    /// it in the answer even without DO (RFC 6840 5.7; glibc `trust-ad`).
    pub ad: bool,
}

/// Why a client packet does not become a forwarded query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryReject {
    /// Not answerable at all (no header, or a response): drop silently so
    /// two servers cannot be made to bounce packets at each other.
    Drop(DecodeError),
    /// A response packet arrived on the query port.
    NotAQuery,
    /// Answer with this message (FORMERR, NOTIMP, REFUSED, BADVERS).
    Respond(Vec<u8>),
}

impl ClientQuery {
    /// Parses and vets a client query.
    pub fn parse(msg: &[u8]) -> Result<ClientQuery, QueryReject> {
        let header = Header::parse(msg).map_err(QueryReject::Drop)?;
        if header.is_response() {
            return Err(QueryReject::NotAQuery);
        }
        let echo_flags = header.flags & (FLAG_RD | FLAG_CD);
        let parsed = if header.qdcount == 1 {
            wire::parse_question(msg).ok()
        } else {
            None
        };
        let Some((question, qend)) = parsed else {
            return Err(QueryReject::Respond(error_response(
                header.id,
                echo_flags,
                None,
                rcode::FORMERR,
            )));
        };
        if header.opcode() != 0 {
            return Err(QueryReject::Respond(error_response(
                header.id,
                echo_flags,
                Some(&question),
                rcode::NOTIMP,
            )));
        }
        let mut edns = None;
        let mut opt_count = 0;
        let walked = wire::walk_records(msg, &header, qend, |r| {
            if r.rtype == rtype::OPT && r.section == Section::Additional {
                opt_count += 1;
                edns = Some(wire::edns_from_opt(r));
            }
        });
        if walked.is_err() || opt_count > 1 || header.ancount != 0 {
            return Err(QueryReject::Respond(error_response(
                header.id,
                echo_flags,
                Some(&question),
                rcode::FORMERR,
            )));
        }
        if let Some(e) = edns
            && e.version != 0
        {
            let mut out = Vec::with_capacity(64);
            push_header_and_question(
                &mut out,
                header.id,
                FLAG_QR | FLAG_RA | echo_flags,
                &question,
                [0, 0, 1],
            );
            out.extend_from_slice(&wire::opt_record(EDNS_UDP_SIZE, BADVERS_EXT, false));
            return Err(QueryReject::Respond(out));
        }
        if matches!(question.qtype, rtype::AXFR | rtype::IXFR) {
            let mut out = error_response(header.id, echo_flags, Some(&question), rcode::REFUSED);
            add_opt(&mut out, edns);
            return Err(QueryReject::Respond(out));
        }
        Ok(ClientQuery {
            id: header.id,
            echo_flags,
            question,
            edns,
            ad: header.flags & FLAG_AD != 0,
        })
    }

    /// Largest UDP response this client gets, see [`udp_limit`].
    pub fn udp_limit(&self) -> usize {
        udp_limit(self.edns)
    }

    /// Checking Disabled bit: forwarded upstream and part of the cache key.
    pub fn checking_disabled(&self) -> bool {
        self.echo_flags & FLAG_CD != 0
    }

    /// The client wants AD reported: DO or AD set in the query.
    pub fn wants_ad(&self) -> bool {
        self.ad || self.dnssec_ok()
    }

    /// DNSSEC OK bit; part of the cache and join key since it changes what
    /// the upstream puts in the answer.
    pub fn dnssec_ok(&self) -> bool {
        self.edns.is_some_and(|e| e.dnssec_ok)
    }
}

fn push_header_and_question(
    out: &mut Vec<u8>,
    id: u16,
    flags: u16,
    q: &Question,
    counts: [u16; 3],
) {
    let header = Header {
        id,
        flags,
        qdcount: 1,
        ancount: counts[0],
        nscount: counts[1],
        arcount: counts[2],
    };
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(q.name.as_wire());
    out.extend_from_slice(&q.qtype.to_u16().to_be_bytes());
    out.extend_from_slice(&q.qclass.to_be_bytes());
}

/// A response with no records and the given RCODE. Without a question
/// (FORMERR on an unparseable question) the header alone is sent.
pub fn error_response(id: u16, echo_flags: u16, q: Option<&Question>, code: Rcode) -> Vec<u8> {
    let flags = FLAG_QR | FLAG_RA | echo_flags | code.header_bits();
    match q {
        Some(q) => {
            let mut out = Vec::with_capacity(HEADER_LEN + q.name.as_wire().len() + 4 + 11);
            push_header_and_question(&mut out, id, flags, q, [0, 0, 0]);
            out
        }
        None => Header {
            id,
            flags,
            qdcount: 0,
            ancount: 0,
            nscount: 0,
            arcount: 0,
        }
        .to_bytes()
        .to_vec(),
    }
}

/// Largest UDP response for a client with these EDNS parameters: 512 without
/// EDNS (RFC 1035), else its advertised size but never above the
/// [`EDNS_UDP_SIZE`] we advertise ourselves. Larger answers are truncated
/// (TC) so the client retries over TCP: a 1,600-byte datagram would be
/// fragmented, and fragments are lost or spoofable on many paths
/// (DNS flag day 2020).
pub fn udp_limit(edns: Option<Edns>) -> usize {
    match edns {
        Some(e) => usize::from(e.udp_size.clamp(512, EDNS_UDP_SIZE)),
        None => PLAIN_UDP_LIMIT,
    }
}

/// Appends our OPT record if the client used EDNS (RFC 6891 6.1.1: only
/// answer with OPT when asked with OPT), fixing ARCOUNT.
pub fn add_opt(out: &mut Vec<u8>, edns: Option<Edns>) {
    if let Some(e) = edns {
        out.extend_from_slice(&wire::opt_record(EDNS_UDP_SIZE, 0, e.dnssec_ok));
        let ar = wire::u16_at(out, 10).unwrap_or(0).saturating_add(1);
        wire::put_u16(out, 10, ar);
    }
}

/// Builds the query we send upstream: lowercase name, RD, our EDNS size,
/// the client's DO and CD bits, and always AD=1. CD is passed on because a
/// validating upstream otherwise answers SERVFAIL for data the client asked
/// to see unvalidated (RFC 4035 3.2.2, RFC 5625 4.1). AD=1 asks the upstream
/// to report validation even without DO (RFC 6840 5.7); whether a client
/// sees AD is decided per client in [`compose`].
pub fn upstream_query(
    id: u16,
    name_lower: &NameBuf,
    qtype: Rtype,
    qclass: u16,
    dnssec_ok: bool,
    checking_disabled: bool,
) -> Vec<u8> {
    let q = Question {
        name: name_lower.clone(),
        qtype,
        qclass,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + name_lower.as_wire().len() + 4 + 11);
    let cd = if checking_disabled { FLAG_CD } else { 0 };
    push_header_and_question(&mut out, id, FLAG_RD | FLAG_AD | cd, &q, [0, 0, 1]);
    out.extend_from_slice(&wire::opt_record(EDNS_UDP_SIZE, 0, dnssec_ok));
    out
}

/// The parts of an upstream answer that are kept (cache and clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// RCODE (4 bits).
    pub rcode: Rcode,
    /// Flags worth passing on: AD from upstreams; AA only for our own
    /// local names (we are not authoritative for forwarded or cached data).
    pub flags: u16,
    /// Answer, authority and additional counts of `body`.
    pub counts: [u16; 3],
    /// Record sections after the question, OPT removed.
    pub body: Vec<u8>,
    /// TTL field offsets relative to the start of `body`, as little-endian
    /// u16 pairs (the form the cache stores them in, so no conversion).
    pub ttl_offsets: Vec<u8>,
    /// How long the answer may be cached; `None` = do not cache.
    pub cache_ttl: Option<u32>,
}

/// A borrowed view of an answer, from a fresh reply or from the cache.
#[derive(Debug, Clone, Copy)]
pub struct AnswerParts<'a> {
    /// RCODE (4 bits).
    pub rcode: Rcode,
    /// AA/AD flags to pass on.
    pub flags: u16,
    /// Section counts of `body`.
    pub counts: [u16; 3],
    /// Record sections after the question.
    pub body: &'a [u8],
    /// TTL offsets relative to `body`, little-endian u16 pairs.
    pub ttl_offsets: &'a [u8],
}

impl Answer {
    /// Borrowed view for [`compose`].
    pub fn parts(&self) -> AnswerParts<'_> {
        AnswerParts {
            rcode: self.rcode,
            flags: self.flags,
            counts: self.counts,
            body: &self.body,
            ttl_offsets: &self.ttl_offsets,
        }
    }
}

/// Why an upstream reply was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyReject {
    /// Unparseable.
    Malformed(DecodeError),
    /// Not a response or not a standard query response.
    NotAResponse,
    /// Question differs (name case-insensitively, type, class).
    WrongQuestion,
}

/// Upper bound on positive caching, so a bogus week-long TTL does not pin
/// an answer past a renumbering.
pub const MAX_CACHE_TTL: u32 = 86_400;
/// Upper bound on negative caching (RFC 2308 5 suggests 1-3 hours).
pub const MAX_NEGATIVE_TTL: u32 = 3_600;

/// Validates an upstream reply against the question we asked and extracts
/// what we keep. `truncated` in the returned header flags tells the caller
/// to retry over TCP.
pub fn parse_upstream_reply(
    msg: &[u8],
    name_lower: &NameBuf,
    qtype: Rtype,
    qclass: u16,
) -> Result<(Header, Answer), ReplyReject> {
    let header = Header::parse(msg).map_err(ReplyReject::Malformed)?;
    if !header.is_response() || header.opcode() != 0 {
        return Err(ReplyReject::NotAResponse);
    }
    if header.qdcount != 1 {
        return Err(ReplyReject::WrongQuestion);
    }
    let (q, qend) = wire::parse_question(msg).map_err(ReplyReject::Malformed)?;
    if q.qtype != qtype || q.qclass != qclass || q.name.to_lowercase() != *name_lower {
        return Err(ReplyReject::WrongQuestion);
    }
    let mut ttl_abs: Vec<usize> = Vec::with_capacity(8);
    let mut min_ttl = u32::MAX;
    let mut soa_neg_ttl: Option<(usize, u32)> = None;
    let mut opt: Option<(usize, usize)> = None; // (start, end)
    let mut additional_start: Option<usize> = None;
    let mut bad_soa = false;
    let mut records_end = qend;
    let mut has_answer = false;
    wire::walk_records(msg, &header, qend, |r| {
        if r.section == Section::Additional && additional_start.is_none() {
            additional_start = Some(r.start);
        }
        records_end = r.end;
        if r.rtype == rtype::OPT {
            if r.section == Section::Additional && opt.is_none() {
                opt = Some((r.start, r.end));
            } else {
                bad_soa = true; // treat a misplaced or second OPT as malformed
            }
            return;
        }
        if r.section == Section::Answer {
            has_answer = true;
        }
        ttl_abs.push(r.ttl_offset);
        // RFC 2181 8: a TTL with the top bit set is treated as zero.
        let ttl = if r.ttl > i32::MAX as u32 { 0 } else { r.ttl };
        min_ttl = min_ttl.min(ttl);
        if r.section == Section::Authority && r.rtype == rtype::SOA && soa_neg_ttl.is_none() {
            match wire::u32_at(msg, r.end.wrapping_sub(4)) {
                Ok(minimum) if r.end >= r.rdata + 22 => {
                    soa_neg_ttl = Some((r.ttl_offset, ttl.min(minimum)));
                }
                _ => bad_soa = true,
            }
        }
    })
    .map_err(ReplyReject::Malformed)?;
    if bad_soa {
        return Err(ReplyReject::Malformed(DecodeError::TrailingData));
    }
    let mut counts = [header.ancount, header.nscount, header.arcount];
    let cut = match opt {
        Some((start, end)) if end == records_end => {
            counts[2] = counts[2].saturating_sub(1);
            start
        }
        Some(_) => {
            counts[2] = 0;
            additional_start.unwrap_or(msg.len())
        }
        None => msg.len(),
    };
    let mut body = msg.get(qend..cut).unwrap_or(&[]).to_vec();
    let ttl_offsets: Vec<u8> = ttl_abs
        .iter()
        .filter(|&&o| o < cut)
        .filter_map(|&o| u16::try_from(o - qend).ok())
        .flat_map(u16::to_le_bytes)
        .collect();
    let code = header.rcode();
    let negative = code == rcode::NXDOMAIN || (code == rcode::NOERROR && !has_answer);
    let cache_ttl = if header.flags & FLAG_TC != 0 {
        None
    } else if negative {
        // RFC 2308 5: negative TTL = min(SOA TTL, SOA MINIMUM); the SOA is
        // passed on with that TTL. Without an SOA the answer is not cached.
        soa_neg_ttl.map(|(off, ttl)| {
            let ttl = ttl.min(MAX_NEGATIVE_TTL);
            wire::put_u32(&mut body, off - qend, ttl);
            ttl
        })
    } else if code == rcode::NOERROR && min_ttl != u32::MAX {
        Some(min_ttl.min(MAX_CACHE_TTL))
    } else {
        None
    };
    let cache_ttl = cache_ttl.filter(|&t| t > 0);
    Ok((
        header,
        Answer {
            rcode: code,
            flags: header.flags & FLAG_AD,
            counts,
            body,
            ttl_offsets,
            cache_ttl,
        },
    ))
}

/// Where a response goes, which decides its size limit and EDNS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientView {
    /// Client's transaction ID.
    pub id: u16,
    /// Client's RD/CD bits.
    pub echo_flags: u16,
    /// Client understands AD (DO or AD in its query, RFC 6840 5.7).
    pub wants_ad: bool,
    /// Client's EDNS parameters.
    pub edns: Option<Edns>,
    /// Size limit: the client's UDP size, or 65535 over TCP.
    pub limit: usize,
}

/// Assembles a response for one client from an answer body, lowering each
/// TTL by `age` seconds. If it does not fit `view.limit`, the records are
/// dropped and TC is set so the client retries over TCP (RFC 2181 9).
pub fn compose(
    out: &mut Vec<u8>,
    view: &ClientView,
    question: &Question,
    answer: AnswerParts<'_>,
    age: u32,
) {
    let AnswerParts {
        rcode,
        flags,
        counts,
        body,
        ttl_offsets,
    } = answer;
    out.clear();
    let mut pass = flags & wire::FLAG_AA;
    if view.wants_ad {
        pass |= flags & FLAG_AD;
    }
    let hflags = FLAG_QR | FLAG_RA | view.echo_flags | pass | rcode.header_bits();
    push_header_and_question(out, view.id, hflags, question, counts);
    let body_start = out.len();
    let opt_len = if view.edns.is_some() { 11 } else { 0 };
    if body_start + body.len() + opt_len > view.limit {
        wire::put_u16(out, 2, hflags | FLAG_TC);
        for i in 0..3 {
            wire::put_u16(out, 6 + 2 * i, 0);
        }
        add_opt(out, view.edns);
        return;
    }
    out.extend_from_slice(body);
    if age > 0 {
        for pair in ttl_offsets.chunks_exact(2) {
            let rel = u16::from_le_bytes([
                pair.first().copied().unwrap_or(0),
                pair.get(1).copied().unwrap_or(0),
            ]);
            let off = body_start + usize::from(rel);
            if let Ok(ttl) = wire::u32_at(out, off) {
                wire::put_u32(out, off, ttl.saturating_sub(age));
            }
        }
    }
    add_opt(out, view.edns);
}

/// Question of class IN, for local answers and tests.
pub fn question_in(name: NameBuf, qtype: Rtype) -> Question {
    Question {
        name,
        qtype,
        qclass: CLASS_IN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16, name: &str, qtype: Rtype, edns: Option<u16>) -> Vec<u8> {
        let n = NameBuf::from_text(name).unwrap();
        let mut q = upstream_query(id, &n, qtype, CLASS_IN, false, false);
        match edns {
            Some(size) => {
                let at = q.len() - 8;
                wire::put_u16(&mut q, at, size);
            }
            None => {
                let keep = q.len() - 11;
                q.truncate(keep);
                wire::put_u16(&mut q, 10, 0);
            }
        }
        q
    }

    /// A reply from an upstream: one A record (compressed owner), OPT last.
    fn reply_a(id: u16, name: &str, ttl: u32) -> Vec<u8> {
        let n = NameBuf::from_text(name).unwrap();
        let mut m = Header {
            id,
            flags: FLAG_QR | FLAG_RD | FLAG_RA,
            qdcount: 1,
            ancount: 1,
            nscount: 0,
            arcount: 1,
        }
        .to_bytes()
        .to_vec();
        m.extend_from_slice(n.as_wire());
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&[0, 4, 192, 0, 2, 1]);
        m.extend_from_slice(&wire::opt_record(4096, 0, false));
        m
    }

    #[test]
    fn client_query_parses_edns_and_limits() {
        let q = ClientQuery::parse(&query(7, "Example.COM", rtype::A, Some(4096))).unwrap();
        assert_eq!(q.id, 7);
        assert_eq!(q.question.name.to_string(), "Example.COM");
        // A 4096-byte offer is capped at what we advertise (flag day 2020).
        assert_eq!(q.udp_limit(), 1232);
        let q = ClientQuery::parse(&query(8, "example.com", rtype::AAAA, None)).unwrap();
        assert_eq!(q.udp_limit(), 512);
        assert!(q.edns.is_none());
    }

    #[test]
    fn bad_client_packets_get_errors_or_silence() {
        assert!(matches!(
            ClientQuery::parse(&[1, 2, 3]),
            Err(QueryReject::Drop(_))
        ));
        let mut resp = query(1, "a.b", rtype::A, None);
        resp[2] |= 0x80;
        assert_eq!(
            ClientQuery::parse(&resp).unwrap_err(),
            QueryReject::NotAQuery
        );
        let mut two = query(1, "a.b", rtype::A, None);
        two[5] = 2;
        match ClientQuery::parse(&two) {
            Err(QueryReject::Respond(r)) => {
                assert_eq!(u16::from(r[3] & 0x0f), rcode::FORMERR.to_u16())
            }
            other => panic!("{other:?}"),
        }
        let mut v1 = query(1, "a.b", rtype::A, Some(1232));
        let l = v1.len();
        v1[l - 5] = 1; // EDNS version 1
        match ClientQuery::parse(&v1) {
            Err(QueryReject::Respond(r)) => {
                // BADVERS: extended rcode 1 in the OPT TTL.
                assert_eq!(r[r.len() - 6], 1);
            }
            other => panic!("{other:?}"),
        }
        match ClientQuery::parse(&query(1, "zone", rtype::AXFR, None)) {
            Err(QueryReject::Respond(r)) => {
                assert_eq!(u16::from(r[3] & 0x0f), rcode::REFUSED.to_u16())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn upstream_reply_strips_opt_and_keeps_ttl_offsets() {
        let lower = NameBuf::from_text("example.com").unwrap();
        let (h, a) =
            parse_upstream_reply(&reply_a(9, "EXAMPLE.com", 300), &lower, rtype::A, CLASS_IN)
                .unwrap();
        assert_eq!(h.id, 9);
        assert_eq!(a.counts, [1, 0, 0]);
        assert_eq!(a.body.len(), 16);
        assert_eq!(a.ttl_offsets, vec![6, 0]);
        assert_eq!(a.cache_ttl, Some(300));
        assert_eq!(
            parse_upstream_reply(&reply_a(9, "example.org", 300), &lower, rtype::A, CLASS_IN),
            Err(ReplyReject::WrongQuestion)
        );
        assert_eq!(
            parse_upstream_reply(
                &reply_a(9, "example.com", 300),
                &lower,
                rtype::AAAA,
                CLASS_IN
            ),
            Err(ReplyReject::WrongQuestion)
        );
    }

    #[test]
    fn compose_uses_client_case_decrements_ttl_and_truncates() {
        let lower = NameBuf::from_text("example.com").unwrap();
        let (_, a) =
            parse_upstream_reply(&reply_a(9, "example.com", 300), &lower, rtype::A, CLASS_IN)
                .unwrap();
        let q = question_in(NameBuf::from_text("ExAmple.Com").unwrap(), rtype::A);
        let view = ClientView {
            id: 77,
            echo_flags: FLAG_RD,
            wants_ad: false,
            edns: None,
            limit: 512,
        };
        let mut out = Vec::new();
        compose(&mut out, &view, &q, a.parts(), 100);
        let h = Header::parse(&out).unwrap();
        assert_eq!((h.id, h.ancount, h.arcount), (77, 1, 0));
        assert_eq!(&out[12..25], b"\x07ExAmple\x03Com\x00");
        let ttl_off = 12 + 13 + 4 + 6;
        assert_eq!(wire::u32_at(&out, ttl_off).unwrap(), 200);
        let small = ClientView { limit: 40, ..view };
        compose(&mut out, &small, &q, a.parts(), 0);
        let h = Header::parse(&out).unwrap();
        assert!(h.flags & FLAG_TC != 0);
        assert_eq!(h.ancount, 0);
        assert_eq!(out.len(), 12 + 13 + 4);
    }

    #[test]
    fn negative_answer_ttl_comes_from_soa_minimum() {
        let n = NameBuf::from_text("nx.example").unwrap();
        let mut m = Header {
            id: 1,
            flags: FLAG_QR | 3,
            qdcount: 1,
            ancount: 0,
            nscount: 1,
            arcount: 0,
        }
        .to_bytes()
        .to_vec();
        m.extend_from_slice(n.as_wire());
        m.extend_from_slice(&[0, 1, 0, 1]);
        // SOA owner = pointer to "example" inside the question.
        m.extend_from_slice(&[0xc0, 15, 0, 6, 0, 1]);
        m.extend_from_slice(&3600u32.to_be_bytes());
        let rdata: Vec<u8> = [
            &[0u8, 0][..],
            &[0, 0, 0, 1],
            &[0, 0, 0, 2],
            &[0, 0, 0, 3],
            &[0, 0, 0, 4],
            &[0, 0, 0, 60],
        ]
        .concat();
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        let lower = n.to_lowercase();
        let (_, a) = parse_upstream_reply(&m, &lower, rtype::A, CLASS_IN).unwrap();
        assert_eq!(a.rcode, rcode::NXDOMAIN);
        assert_eq!(a.cache_ttl, Some(60));
        // The SOA TTL is rewritten to the negative TTL.
        assert_eq!(
            wire::u32_at(&a.body, usize::from(a.ttl_offsets[0])).unwrap(),
            60
        );
    }

    proptest::proptest! {
        /// An upstream answer parsed, composed for a client with an age and
        /// parsed again keeps its records, with every TTL lowered by the age.
        #[test]
        fn compose_then_parse_keeps_records(
            ttls in proptest::collection::vec(0u32..100_000, 0..30),
            age in 0u32..200_000,
            edns in proptest::option::of(512u16..4096),
        ) {
            let lower = NameBuf::from_text("www.example.com").unwrap();
            let mut m = Header { id: 5, flags: FLAG_QR | FLAG_RA, qdcount: 1, ancount: ttls.len() as u16, nscount: 0, arcount: 0 }
                .to_bytes()
                .to_vec();
            m.extend_from_slice(lower.as_wire());
            m.extend_from_slice(&[0, 1, 0, 1]);
            for (i, t) in ttls.iter().enumerate() {
                m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
                m.extend_from_slice(&t.to_be_bytes());
                m.extend_from_slice(&[0, 4, 10, 0, 0, i as u8]);
            }
            let (_, a) = parse_upstream_reply(&m, &lower, rtype::A, CLASS_IN).unwrap();
            let q = question_in(NameBuf::from_text("WWW.example.COM").unwrap(), rtype::A);
            let view = ClientView {
                id: 9,
                echo_flags: FLAG_RD,
                wants_ad: false,
                edns: edns.map(|s| Edns { udp_size: s, version: 0, dnssec_ok: false, ext_rcode: 0 }),
                limit: usize::from(edns.unwrap_or(512)),
            };
            let mut out = Vec::new();
            compose(&mut out, &view, &q, a.parts(), age);
            proptest::prop_assert!(out.len() <= view.limit);
            let (h, b) = parse_upstream_reply(&out, &lower, rtype::A, CLASS_IN).unwrap();
            proptest::prop_assert_eq!(h.id, 9);
            proptest::prop_assert_eq!(h.arcount, u16::from(edns.is_some()));
            if h.flags & FLAG_TC != 0 {
                proptest::prop_assert_eq!(h.ancount, 0);
                let full = 12 + 17 + 4 + 16 * ttls.len() + if edns.is_some() { 11 } else { 0 };
                proptest::prop_assert!(full > view.limit);
            } else {
                proptest::prop_assert_eq!(usize::from(h.ancount), ttls.len());
                for (i, t) in ttls.iter().enumerate() {
                    let off = 12 + 17 + 4 + 16 * i + 6;
                    proptest::prop_assert_eq!(wire::u32_at(&out, off).unwrap(), t.saturating_sub(age));
                    proptest::prop_assert_eq!(out[off + 9], i as u8);
                }
                proptest::prop_assert_eq!(b.counts, [ttls.len() as u16, 0, 0]);
            }
        }
    }
}
