//! Byte fixtures for the DNS codec: names, the walker, and whole messages.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn name_text_roundtrip_and_display_escapes() {
    let n = NameBuf::from_text("Router.LAN").unwrap();
    assert_eq!(n.as_wire(), b"\x06Router\x03LAN\x00");
    assert_eq!(n.to_string(), "Router.LAN");
    assert_eq!(n.to_lowercase().as_wire(), b"\x06router\x03lan\x00");
    let (odd, _) = read_name(b"\x02a\n\x00", 0).unwrap();
    assert_eq!(odd.to_string(), "a\\010");
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
    assert_eq!(read_name(&msg, 12), Err(DecodeError::PointerLoop));
    // A label that loops back to itself through a pointer.
    let mut msg = vec![0u8; 12];
    msg.extend_from_slice(&[1, b'a', 0xc0, 12]);
    assert_eq!(read_name(&msg, 12), Err(DecodeError::PointerLoop));
    // Long labels hit the 255-octet bound before the hop bound.
    let mut msg = vec![0u8; 12];
    msg.push(63);
    msg.extend_from_slice(&[b'x'; 63]);
    msg.extend_from_slice(&[0xc0, 12]);
    assert_eq!(read_name(&msg, 12), Err(DecodeError::NameTooLong));
    assert_eq!(read_name(&[0x40], 0), Err(DecodeError::BadLabel));
    assert_eq!(read_name(&[3, b'a'], 0), Err(DecodeError::Truncated));
    assert_eq!(skip_name(&[0xc0], 0), Err(DecodeError::Truncated));
}

#[test]
fn compressed_name_reads_and_reports_end_after_pointer() {
    let mut msg = vec![0u8; 12];
    msg.extend_from_slice(b"\x03lan\x00");
    msg.extend_from_slice(b"\x06router\xc0\x0c");
    let (n, end) = read_name(&msg, 17).unwrap();
    assert_eq!(n.as_wire(), b"\x06router\x03lan\x00");
    assert_eq!(end, msg.len());
    assert_eq!(skip_name(&msg, 17).unwrap(), msg.len());
    assert_eq!(
        read_literal_name(&msg, 17),
        Err(DecodeError::CompressedName)
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
        Err(DecodeError::TrailingData)
    );
}

/// A response as an upstream sends it (annotated): "www.example.com A",
/// a CNAME whose target is compressed into the question, an A record, an
/// SOA in authority with both names compressed, and an OPT record.
fn golden_response() -> Vec<u8> {
    let mut m = vec![
        0x12, 0x34, // ID
        0x81, 0x80, // QR RD RA, NOERROR
        0, 1, 0, 2, 0, 1, 0, 1, // QD 1, AN 2, NS 1, AR 1
    ];
    m.extend_from_slice(b"\x03www\x07example\x03com\x00"); // offset 12
    m.extend_from_slice(&[0, 1, 0, 1]); // A IN
    // www.example.com CNAME web.example.com (owner and target compressed)
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6]);
    m.extend_from_slice(b"\x03web\xc0\x10"); // "web" + pointer to example.com (16)
    // web.example.com A 192.0.2.1, owner = pointer to the CNAME target
    let web = 12 + 17 + 4 + 12;
    m.extend_from_slice(&[0xc0, web as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    // example.com SOA ns.example.com hostmaster.example.com 1 2 3 4 300
    m.extend_from_slice(&[0xc0, 16, 0, 6, 0, 1, 0, 0, 0, 30]);
    let mut soa = b"\x02ns\xc0\x10\x0ahostmaster\xc0\x10".to_vec();
    for v in [1u32, 2, 3, 4, 300] {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    m.extend_from_slice(&(soa.len() as u16).to_be_bytes());
    m.extend_from_slice(&soa);
    m.extend_from_slice(&opt_record(1232, 0, true));
    m
}

#[test]
fn message_decodes_golden_response_with_names_decompressed() {
    let m = Message::decode(&golden_response()).unwrap();
    assert_eq!((m.id, m.rcode()), (0x1234, Rcode::NoError));
    let q = m.question.as_ref().unwrap();
    assert_eq!(
        (q.name.to_string().as_str(), q.qtype),
        ("www.example.com", Rtype::A)
    );
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.answers[0].rtype, Rtype::Cname);
    assert_eq!(m.answers[0].rdata, b"\x03web\x07example\x03com\x00");
    assert_eq!(m.answers[1].name.to_string(), "web.example.com");
    assert_eq!(
        (m.answers[1].ttl, &m.answers[1].rdata[..]),
        (60, &[192, 0, 2, 1][..])
    );
    let soa = &m.authority[0];
    assert_eq!(soa.rtype, Rtype::Soa);
    assert_eq!(&soa.rdata[..16], b"\x02ns\x07example\x03com\x00");
    assert_eq!(soa.rdata.len(), 16 + 24 + 20);
    let edns = m.edns().unwrap();
    assert_eq!((edns.udp_size, edns.dnssec_ok), (1232, true));
}

#[test]
fn message_encodes_uncompressed_and_decodes_to_the_same_value() {
    let m = Message::decode(&golden_response()).unwrap();
    let bytes = m.to_bytes().unwrap();
    assert!(
        bytes.len() > golden_response().len(),
        "names are written in full"
    );
    assert_eq!(Message::decode(&bytes).unwrap(), m);
    let mut appended = vec![0xaa];
    m.encode(&mut appended).unwrap();
    assert_eq!(&appended[1..], &bytes[..]);
}

#[test]
fn message_rejects_what_the_walker_rejects_and_more() {
    let good = golden_response();
    assert_eq!(Message::decode(&good[..11]), Err(DecodeError::Truncated));
    let mut two_questions = good.clone();
    two_questions[5] = 2;
    assert_eq!(
        Message::decode(&two_questions),
        Err(DecodeError::TooManyQuestions)
    );
    // An SOA whose RDLENGTH is one octet short of its names and numbers.
    let mut short_soa = good.clone();
    let soa_len_at = good.len() - 11 - 38 - 2;
    assert_eq!(u16_at(&good, soa_len_at).unwrap(), 38);
    put_u16(&mut short_soa, soa_len_at, 37);
    assert!(Message::decode(&short_soa).is_err());
    // A CNAME whose RDATA has room for the name plus one stray octet.
    let mut m = Header {
        id: 1,
        flags: FLAG_QR,
        qdcount: 0,
        ancount: 1,
        nscount: 0,
        arcount: 0,
    }
    .to_bytes()
    .to_vec();
    m.extend_from_slice(&[0, 0, 5, 0, 1, 0, 0, 0, 1, 0, 3, 1, b'a', 0]);
    assert!(Message::decode(&m).is_ok());
    let last = m.len() - 4;
    m[last] = 4;
    m.push(0);
    assert_eq!(Message::decode(&m), Err(DecodeError::BadRdata));
    assert_eq!(DecodeError::BadRdata.reason(), "bad_rdata");
}

#[test]
fn rtype_and_rcode_keep_unknown_values() {
    for v in [0u16, 1, 28, 41, 65, 252, 65535] {
        assert_eq!(Rtype::from_u16(v).to_u16(), v);
        assert_eq!(Rcode::from_u16(v).to_u16(), v);
    }
    assert_eq!(Rtype::from_u16(28), rtype::AAAA);
    assert_eq!(Rtype::from_u16(65).to_string(), "TYPE65");
    assert_eq!(Rcode::from_u16(3).to_string(), "NXDOMAIN");
    assert_eq!(Rcode::from_u16(16), Rcode::Other(16));
    assert_eq!(Rcode::Other(16).header_bits(), 0);
}

proptest::proptest! {
    /// Text -> wire -> text is the identity for ordinary host names.
    #[test]
    fn name_text_roundtrip(labels in proptest::collection::vec("[a-zA-Z0-9-]{1,20}", 1..8)) {
        let text = labels.join(".");
        let n = NameBuf::from_text(&text).unwrap();
        proptest::prop_assert_eq!(n.to_string(), text.clone());
        let (back, end) = read_name(n.as_wire(), 0).unwrap();
        proptest::prop_assert_eq!(end, n.as_wire().len());
        proptest::prop_assert_eq!(back, n);
    }

    /// Whatever bytes decode re-encode to a message that decodes to the
    /// same value (bytes differ: names are written uncompressed).
    #[test]
    fn any_decoded_message_round_trips(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let mut buf = golden_response();
        let cut = tail.first().map_or(buf.len(), |&c| usize::from(c) % buf.len());
        buf.truncate(cut);
        buf.extend_from_slice(&tail);
        if let Ok(m) = Message::decode(&buf) {
            let again = m.to_bytes().unwrap();
            proptest::prop_assert_eq!(Message::decode(&again), Ok(m));
        }
    }
}
