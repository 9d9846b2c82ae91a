//! Fixtures laid out by hand from the RFCs, malformed-input cases and
//! property round trips.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;

/// LCP Configure-Request as an access concentrator sends it: MRU 1492,
/// Auth-Protocol CHAP/MD5, Magic-Number (RFC 1661 5.1, 6.1, 6.2, 6.4).
#[rustfmt::skip]
const LCP_REQUEST: &[u8] = &[
    0xc0, 0x21,             // protocol LCP
    0x01, 0x07, 0x00, 0x13, // Configure-Request id 7 length 19
    0x01, 0x04, 0x05, 0xd4, // MRU 1492
    0x03, 0x05, 0xc2, 0x23, 0x05, // Auth-Protocol CHAP, MD5
    0x05, 0x06, 0x12, 0x34, 0x56, 0x78, // Magic-Number 0x12345678
];

/// IPCP Configure-Nak carrying our address and two DNS servers (RFC 1332
/// 3.3, RFC 1877 1.1/1.3), padded by two zero octets past its Length.
#[rustfmt::skip]
const IPCP_NAK: &[u8] = &[
    0x80, 0x21,
    0x03, 0x02, 0x00, 0x16, // Configure-Nak id 2 length 22
    0x03, 0x06, 192, 0, 2, 10,
    0x81, 0x06, 198, 51, 100, 1,
    0x83, 0x06, 198, 51, 100, 2,
    0x00, 0x00, // padding
];

#[test]
fn lcp_request_fixture_decodes_and_reencodes_byte_exact() {
    let p = Packet::decode(LCP_REQUEST).unwrap();
    assert_eq!(
        p,
        Packet::new(
            PROTO_LCP,
            7,
            Body::ConfigureRequest(vec![
                ConfigOption::Mru(1492),
                ConfigOption::AuthProtocol {
                    protocol: PROTO_CHAP,
                    data: vec![CHAP_MD5]
                },
                ConfigOption::MagicNumber(0x1234_5678),
            ])
        )
    );
    let mut out = Vec::new();
    p.encode(&mut out).unwrap();
    assert_eq!(out, LCP_REQUEST);
}

#[test]
fn ipcp_nak_fixture_ignores_padding() {
    let p = Packet::decode(IPCP_NAK).unwrap();
    assert_eq!(
        p.body,
        Body::ConfigureNak(vec![
            ConfigOption::IpAddress(Ipv4Addr::new(192, 0, 2, 10)),
            ConfigOption::PrimaryDns(Ipv4Addr::new(198, 51, 100, 1)),
            ConfigOption::SecondaryDns(Ipv4Addr::new(198, 51, 100, 2)),
        ])
    );
    let mut out = Vec::new();
    p.encode(&mut out).unwrap();
    assert_eq!(out, &IPCP_NAK[..IPCP_NAK.len() - 2]);
}

#[test]
fn option_types_are_read_per_protocol() {
    // Type 1 with 8 octets: Interface-Identifier in IPV6CP ...
    let v6 = [0x80, 0x57, 1, 1, 0, 14, 1, 10, 0, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(
        Packet::decode(&v6).unwrap().body,
        Body::ConfigureRequest(vec![ConfigOption::InterfaceId([0, 0, 0, 0, 0, 0, 0, 1])])
    );
    // ... but a malformed MRU in LCP.
    let mut lcp = v6;
    lcp[..2].copy_from_slice(&PROTO_LCP.to_be_bytes());
    assert_eq!(
        Packet::decode(&lcp),
        Err(DecodeError::MalformedOption { kind: 1, offset: 6 })
    );
    // IPCP type 2 (VJ compression) is not typed here: kept raw for Reject.
    let vj = [0x80, 0x21, 1, 1, 0, 10, 2, 6, 0x00, 0x2d, 0x0f, 0x01];
    assert_eq!(
        Packet::decode(&vj).unwrap().body,
        Body::ConfigureRequest(vec![ConfigOption::Unknown {
            kind: 2,
            data: vec![0x00, 0x2d, 0x0f, 0x01]
        }])
    );
}

#[test]
fn pap_and_chap_fields() {
    let req = [
        0xc0, 0x23, 1, 3, 0, 12, 3, b'b', b'o', b'b', 2, b'p', b'w', 0,
    ];
    let p = Packet::decode(&req).unwrap();
    assert_eq!(
        p.body,
        Body::PapRequest {
            peer_id: b"bob".to_vec(),
            password: Secret(b"pw".to_vec())
        }
    );
    assert!(!format!("{p:?}").contains("pw\""), "{p:?}");
    assert!(format!("{p:?}").contains("<redacted>"));
    let nak = [0xc0, 0x23, 3, 3, 0, 9, 4, b'b', b'a', b'd', b'!'];
    assert_eq!(
        Packet::decode(&nak).unwrap().body,
        Body::PapNak(b"bad!".to_vec())
    );
    let challenge = [0xc2, 0x23, 1, 9, 0, 10, 2, 0xaa, 0xbb, b'b', b'r', b'a'];
    assert_eq!(
        Packet::decode(&challenge).unwrap().body,
        Body::ChapChallenge {
            value: vec![0xaa, 0xbb],
            name: b"bra".to_vec()
        }
    );
    let failure = b"\xc2\x23\x04\x09\x00\x0fE=691 R=0 x";
    assert_eq!(
        Packet::decode(failure).unwrap().body,
        Body::ChapFailure(b"E=691 R=0 x".to_vec())
    );
}

#[test]
fn malformed_frames_are_typed_errors() {
    let cases: &[(&[u8], &str)] = &[
        (&[0xc0, 0x21, 1, 1, 0], "truncated"),
        (&[0x00, 0x21, 1, 1, 0, 4], "unknown_protocol"),
        (&[0xc0, 0x21, 1, 1, 0, 3], "bad_length"),
        (&[0xc0, 0x21, 1, 1, 0, 9, 0, 0], "bad_length"),
        (&[0xc0, 0x21, 1, 1, 0, 6, 1, 0], "option_too_short"),
        (&[0xc0, 0x21, 1, 1, 0, 6, 1, 4], "option_overrun"),
        (&[0xc0, 0x21, 1, 1, 0, 5, 1], "option_overrun"),
        (&[0xc0, 0x21, 1, 1, 0, 7, 7, 3, 0], "malformed_option"),
        (&[0xc0, 0x21, 9, 1, 0, 6, 0, 0], "truncated"),
        (&[0xc0, 0x23, 1, 1, 0, 6, 5, 0], "field_overrun"),
        (&[0xc0, 0x23, 1, 1, 0, 6, 1, 0], "field_overrun"),
        (&[0xc2, 0x23, 1, 1, 0, 4], "field_overrun"),
    ];
    for (bytes, reason) in cases {
        let err = Packet::decode(bytes).expect_err("must not decode");
        assert_eq!(err.reason(), *reason, "{bytes:?}: {err}");
    }
}

#[test]
fn unknown_codes_decode_for_code_reject() {
    let ident = [0xc0, 0x21, 12, 4, 0, 10, 0, 0, 0, 0, b'h', b'i'];
    assert_eq!(
        Packet::decode(&ident).unwrap().body,
        Body::Unknown {
            code: 12,
            data: vec![0, 0, 0, 0, b'h', b'i']
        }
    );
    // Echo is LCP only: in IPCP code 9 is unknown.
    let ipcp_echo = [0x80, 0x21, 9, 4, 0, 8, 0, 0, 0, 0];
    assert!(matches!(
        Packet::decode(&ipcp_echo).unwrap().body,
        Body::Unknown { code: 9, .. }
    ));
}

#[test]
fn encode_refuses_what_would_not_decode_back() {
    let mut out = vec![0xee];
    let wrong = Packet::new(
        PROTO_IPCP,
        1,
        Body::ConfigureRequest(vec![ConfigOption::Mru(1)]),
    );
    assert_eq!(
        wrong.encode(&mut out),
        Err(EncodeError::OptionNotInProtocol {
            kind: 1,
            protocol: PROTO_IPCP
        })
    );
    assert_eq!(out, [0xee], "nothing is left behind on failure");
    let echo_in_ipcp = Packet::new(
        PROTO_IPCP,
        1,
        Body::EchoRequest {
            magic: 0,
            data: vec![],
        },
    );
    assert!(matches!(
        echo_in_ipcp.encode(&mut out),
        Err(EncodeError::BodyNotInProtocol { code: 9, .. })
    ));
    let long = Packet::new(
        PROTO_LCP,
        1,
        Body::ConfigureReject(vec![ConfigOption::Unknown {
            kind: 99,
            data: vec![0; 254],
        }]),
    );
    assert_eq!(
        long.encode(&mut out),
        Err(EncodeError::OptionTooLong { kind: 99 })
    );
    let huge = Packet::new(PROTO_LCP, 1, Body::TerminateRequest(vec![0; 65_532]));
    assert!(matches!(
        huge.encode(&mut out),
        Err(EncodeError::TooLong { .. })
    ));
    let pap = Packet::new(
        PROTO_PAP,
        1,
        Body::PapRequest {
            peer_id: vec![0; 256],
            password: Secret::default(),
        },
    );
    assert_eq!(
        pap.encode(&mut out),
        Err(EncodeError::FieldTooLong { field: "peer_id" })
    );
    assert_eq!(out, [0xee]);
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn option_for(protocol: u16) -> BoxedStrategy<ConfigOption> {
    // Unknown kinds must not collide with the protocol's typed ones.
    let unknown = (any::<u8>(), bytes(40)).prop_filter_map("kind is typed", move |(kind, data)| {
        match ConfigOption::typed(protocol, kind, &data) {
            Some(ConfigOption::Unknown { .. }) => Some(ConfigOption::Unknown { kind, data }),
            _ => None,
        }
    });
    match protocol {
        PROTO_LCP => prop_oneof![
            any::<u16>().prop_map(ConfigOption::Mru),
            any::<u32>().prop_map(ConfigOption::Accm),
            (any::<u16>(), bytes(8))
                .prop_map(|(protocol, data)| ConfigOption::AuthProtocol { protocol, data }),
            any::<u32>().prop_map(ConfigOption::MagicNumber),
            Just(ConfigOption::Pfc),
            Just(ConfigOption::Acfc),
            unknown,
        ]
        .boxed(),
        PROTO_IPCP => prop_oneof![
            v4().prop_map(ConfigOption::IpAddress),
            v4().prop_map(ConfigOption::PrimaryDns),
            v4().prop_map(ConfigOption::SecondaryDns),
            unknown,
        ]
        .boxed(),
        _ => prop_oneof![
            any::<[u8; 8]>().prop_map(ConfigOption::InterfaceId),
            unknown
        ]
        .boxed(),
    }
}

fn negotiation_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![Just(PROTO_LCP), Just(PROTO_IPCP), Just(PROTO_IPV6CP)].prop_flat_map(|protocol| {
        let options = proptest::collection::vec(option_for(protocol), 0..6);
        let body = prop_oneof![
            options.clone().prop_map(Body::ConfigureRequest),
            options.clone().prop_map(Body::ConfigureAck),
            options.clone().prop_map(Body::ConfigureNak),
            options.prop_map(Body::ConfigureReject),
            bytes(30).prop_map(Body::TerminateRequest),
            bytes(30).prop_map(Body::TerminateAck),
            bytes(30).prop_map(Body::CodeReject),
            (12u8..=255, bytes(30)).prop_map(|(code, data)| Body::Unknown { code, data }),
        ];
        (any::<u8>(), body).prop_map(move |(id, body)| Packet::new(protocol, id, body))
    })
}

fn other_packet() -> impl Strategy<Value = Packet> {
    let lcp = prop_oneof![
        (any::<u16>(), bytes(30)).prop_map(|(protocol, information)| Body::ProtocolReject {
            protocol,
            information
        }),
        (any::<u32>(), bytes(30)).prop_map(|(magic, data)| Body::EchoRequest { magic, data }),
        (any::<u32>(), bytes(30)).prop_map(|(magic, data)| Body::EchoReply { magic, data }),
        (any::<u32>(), bytes(30)).prop_map(|(magic, data)| Body::DiscardRequest { magic, data }),
    ]
    .prop_map(|b| (PROTO_LCP, b));
    let pap = prop_oneof![
        (bytes(40), bytes(40)).prop_map(|(peer_id, p)| Body::PapRequest {
            peer_id,
            password: Secret(p)
        }),
        bytes(40).prop_map(Body::PapAck),
        bytes(40).prop_map(Body::PapNak),
    ]
    .prop_map(|b| (PROTO_PAP, b));
    let chap = prop_oneof![
        (bytes(40), bytes(40)).prop_map(|(value, name)| Body::ChapChallenge { value, name }),
        (bytes(40), bytes(40)).prop_map(|(value, name)| Body::ChapResponse { value, name }),
        bytes(40).prop_map(Body::ChapSuccess),
        bytes(40).prop_map(Body::ChapFailure),
    ]
    .prop_map(|b| (PROTO_CHAP, b));
    (any::<u8>(), prop_oneof![lcp, pap, chap])
        .prop_map(|(id, (protocol, body))| Packet::new(protocol, id, body))
}

proptest! {
    #[test]
    fn every_packet_round_trips(p in prop_oneof![negotiation_packet(), other_packet()]) {
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        prop_assert_eq!(usize::from(u16::from_be_bytes([out[4], out[5]])) + 2, out.len());
        let back = Packet::decode(&out).unwrap();
        prop_assert_eq!(&back, &p);
        let mut again = Vec::new();
        back.encode(&mut again).unwrap();
        prop_assert_eq!(again, out);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in bytes(80)) {
        if let Ok(p) = Packet::decode(&data) {
            let mut out = Vec::new();
            p.encode(&mut out).unwrap();
            prop_assert_eq!(Packet::decode(&out).unwrap(), p);
        }
    }

    #[test]
    fn truncating_a_valid_frame_never_yields_a_longer_packet(cut in 0usize..LCP_REQUEST.len()) {
        // Every strict prefix of the fixture fails: Length covers it all.
        prop_assert!(Packet::decode(&LCP_REQUEST[..cut]).is_err());
    }
}
