//! Byte fixtures (annotated, built from RFC 2516's layouts) and properties.

use proptest::prelude::*;

use super::*;

/// A PADO as an access concentrator sends it: AC-Name "isp-bras",
/// Service-Name "" (any), Host-Uniq echoed, AC-Cookie, then Ethernet padding.
fn pado_bytes() -> Vec<u8> {
    let mut b = vec![
        0x11, 0x07, // VER/TYPE, CODE = PADO
        0x00, 0x00, // SESSION_ID
        0x00, 0x24, // LENGTH = 36
        0x01, 0x02, 0x00, 0x08, b'i', b's', b'p', b'-', b'b', b'r', b'a', b's', // AC-Name
        0x01, 0x01, 0x00, 0x00, // Service-Name ""
        0x01, 0x03, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef, // Host-Uniq
        0x01, 0x04, 0x00, 0x04, 1, 2, 3, 4, // AC-Cookie
    ];
    b.extend_from_slice(&[0; 4]); // padding to the 46-octet minimum payload
    b
}

#[test]
fn decodes_a_pado_and_ignores_padding() {
    let m = Message::decode(&pado_bytes()).unwrap();
    assert_eq!(m.code, Code::Pado);
    assert_eq!(m.session_id, 0);
    assert_eq!(m.ac_name(), Some(&b"isp-bras"[..]));
    assert_eq!(m.service_names().collect::<Vec<_>>(), vec![&b""[..]]);
    assert_eq!(m.host_uniq(), Some(&[0xde, 0xad, 0xbe, 0xef][..]));
    assert_eq!(m.ac_cookie(), Some(&[1, 2, 3, 4][..]));
    assert_eq!(m.error(), None);
    let mut again = Vec::new();
    m.encode(&mut again).unwrap();
    assert_eq!(again, pado_bytes()[..42]);
}

#[test]
fn decodes_every_tag_of_rfc_2516() {
    let m = Message::new(Code::Pads, 0)
        .with(Tag::ServiceName(b"internet".to_vec()))
        .with(Tag::AcName(b"ac".to_vec()))
        .with(Tag::HostUniq(vec![1]))
        .with(Tag::AcCookie(vec![2]))
        .with(Tag::VendorSpecific {
            vendor_id: 3561,
            data: vec![9, 9],
        })
        .with(Tag::RelaySessionId(vec![7; 12]))
        .with(Tag::PppMaxPayload(1500))
        .with(Tag::ServiceNameError(b"no such service".to_vec()))
        .with(Tag::AcSystemError(b"full".to_vec()))
        .with(Tag::GenericError(b"other".to_vec()))
        .with(Tag::Unknown {
            kind: 0x0fff,
            value: vec![5],
        })
        .with(Tag::EndOfList);
    let mut b = Vec::new();
    m.encode(&mut b).unwrap();
    // Vendor-Specific: type 0x0105, length 6, vendor id 3561 (0x00000de9).
    let vs = [0x01, 0x05, 0x00, 0x06, 0x00, 0x00, 0x0d, 0xe9, 9, 9];
    assert!(b.windows(vs.len()).any(|w| w == vs));
    let back = Message::decode(&b).unwrap();
    assert_eq!(back, m);
    assert_eq!(
        back.error(),
        Some(ErrorTag::ServiceName(b"no such service"))
    );
    assert_eq!(back.error().unwrap().name(), "Service-Name-Error");
    assert_eq!(back.relay_session_id(), Some(&[7; 12][..]));
}

#[test]
fn end_of_list_ends_the_tags() {
    let b = [
        0x11, 0x09, 0, 0, 0, 12, //
        0x01, 0x01, 0, 0, // Service-Name ""
        0x00, 0x00, 0, 0, // End-Of-List
        0x01, 0x02, 0, 0, // ignored: after End-Of-List
    ];
    let m = Message::decode(&b).unwrap();
    assert_eq!(m.tags, vec![Tag::ServiceName(vec![]), Tag::EndOfList]);
}

#[test]
fn rejects_what_breaks_the_format_with_a_reason() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x11, 0x07, 0, 0, 0], "truncated"),
        (vec![0x12, 0x07, 0, 0, 0, 0], "bad_version_type"),
        (vec![0x11, 0x00, 0, 1, 0, 0], "unknown_code"),
        (vec![0x11, 0x09, 0, 1, 0, 0], "nonzero_session"),
        (vec![0x11, 0x19, 0x12, 0x34, 0, 0], "nonzero_session"),
        (vec![0x11, 0x07, 0, 0, 0, 4, 1, 1], "length_overrun"),
        (vec![0x11, 0x07, 0, 0, 0, 2, 1, 1], "tag_overrun"),
        (vec![0x11, 0x07, 0, 0, 0, 4, 1, 1, 0, 1], "tag_overrun"),
        (vec![0x11, 0x07, 0, 0, 0, 5, 0, 0, 0, 1, 0], "malformed_tag"),
        (
            vec![0x11, 0x07, 0, 0, 0, 7, 1, 5, 0, 3, 0, 0, 1],
            "malformed_tag",
        ),
        (
            vec![0x11, 0x07, 0, 0, 0, 5, 1, 0x20, 0, 1, 5],
            "malformed_tag",
        ),
    ];
    for (bytes, reason) in cases {
        let e = Message::decode(&bytes).unwrap_err();
        assert_eq!(e.reason(), reason, "{bytes:02x?}: {e}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn a_pads_and_padt_carry_their_session() {
    let padt = Message::new(Code::Padt, 0x1234).with(Tag::GenericError(b"bye".to_vec()));
    let mut b = Vec::new();
    padt.encode(&mut b).unwrap();
    assert_eq!(&b[..6], &[0x11, 0xa7, 0x12, 0x34, 0, 7]);
    assert_eq!(Message::decode(&b).unwrap(), padt);
}

#[test]
fn encoding_refuses_what_the_rfc_forbids() {
    let mut out = vec![0xaa];
    let padi = Message::new(Code::Padi, 0).with(Tag::HostUniq(vec![0; MAX_PADI_LEN]));
    assert!(matches!(
        padi.encode(&mut out),
        Err(EncodeError::TooLong {
            limit: MAX_PADI_LEN,
            ..
        })
    ));
    let huge = Message::new(Code::Pado, 0).with(Tag::AcCookie(vec![0; 70_000]));
    assert_eq!(
        huge.encode(&mut out),
        Err(EncodeError::TagTooLong {
            kind: tag_type::AC_COOKIE
        })
    );
    assert_eq!(
        Message::new(Code::Padr, 7).encode(&mut out),
        Err(EncodeError::NonZeroSession(Code::Padr))
    );
    assert_eq!(out, vec![0xaa], "nothing appended on error");
}

fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..40)
}

fn arb_tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        arb_bytes().prop_map(Tag::ServiceName),
        arb_bytes().prop_map(Tag::AcName),
        arb_bytes().prop_map(Tag::HostUniq),
        arb_bytes().prop_map(Tag::AcCookie),
        (any::<u32>(), arb_bytes())
            .prop_map(|(vendor_id, data)| Tag::VendorSpecific { vendor_id, data }),
        arb_bytes().prop_map(Tag::RelaySessionId),
        any::<u16>().prop_map(Tag::PppMaxPayload),
        arb_bytes().prop_map(Tag::ServiceNameError),
        arb_bytes().prop_map(Tag::AcSystemError),
        arb_bytes().prop_map(Tag::GenericError),
        // Unknown types only: a known type would decode as its own variant.
        (0x0300u16.., arb_bytes()).prop_map(|(kind, value)| Tag::Unknown { kind, value }),
    ]
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        prop_oneof![
            Just(Code::Padi),
            Just(Code::Pado),
            Just(Code::Padr),
            Just(Code::Pads),
            Just(Code::Padt)
        ],
        any::<u16>(),
        prop::collection::vec(arb_tag(), 0..12),
        any::<bool>(),
    )
        .prop_map(|(code, sid, mut tags, eol)| {
            if eol {
                tags.push(Tag::EndOfList);
            }
            let session_id = if code.session_must_be_zero() { 0 } else { sid };
            Message {
                code,
                session_id,
                tags,
            }
        })
}

proptest! {
    #[test]
    fn encode_decode_round_trip(m in arb_message(), pad in prop::collection::vec(any::<u8>(), 0..20)) {
        let mut b = Vec::new();
        m.encode(&mut b).unwrap();
        b.extend_from_slice(&pad); // Ethernet padding after LENGTH is ignored
        prop_assert_eq!(Message::decode(&b), Ok(m));
    }

    #[test]
    fn decode_never_panics_and_is_stable(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Message::decode(&bytes) {
            let mut again = Vec::new();
            m.encode(&mut again).unwrap();
            prop_assert_eq!(Message::decode(&again), Ok(m));
        }
    }

    #[test]
    fn every_truncation_of_a_valid_packet_is_an_error(cut in 0usize..42) {
        let b = pado_bytes();
        // Cutting inside the header or the declared payload must fail; the
        // padding (42..) may go.
        prop_assert!(Message::decode(&b[..cut]).is_err());
    }
}
