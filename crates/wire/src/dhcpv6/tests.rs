//! Codec tests: hand-built packets, truncation sweeps, and property tests.

use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;

/// An Advertise as Kea sends it for IA_PD + DNS (built by hand from RFC 8415).
fn advertise_bytes() -> Vec<u8> {
    let mut b = vec![2, 0x12, 0x34, 0x56];
    // Client ID: DUID-LL 02:00:00:00:00:01
    b.extend_from_slice(&[0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    // Server ID: DUID-LLT
    b.extend_from_slice(&[0, 2, 0, 14, 0, 1, 0, 1, 0, 0, 0, 9, 2, 0, 0, 0, 0, 0xfe]);
    // Preference 10
    b.extend_from_slice(&[0, 7, 0, 1, 10]);
    // IA_PD iaid 7, T1 1800, T2 2880, one IAPREFIX 2001:db8:1200::/56 pref 3600 valid 7200
    b.extend_from_slice(&[0, 25, 0, 41, 0, 0, 0, 7, 0, 0, 0x07, 0x08, 0, 0, 0x0b, 0x40]);
    b.extend_from_slice(&[0, 26, 0, 25, 0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20, 56]);
    b.extend_from_slice(&[
        0x20, 0x01, 0x0d, 0xb8, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    // DNS: 2001:db8::53
    b.extend_from_slice(&[
        0, 23, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
    ]);
    // Domain list: example.jp
    b.extend_from_slice(&[
        0, 24, 0, 12, 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 2, b'j', b'p', 0,
    ]);
    b
}

/// Offsets where top-level options start (a cut there leaves a valid message).
fn option_boundaries(b: &[u8]) -> Vec<usize> {
    let mut at = 4;
    let mut v = vec![4];
    while at + 4 <= b.len() {
        at += 4 + u16::from_be_bytes([b[at + 2], b[at + 3]]) as usize;
        v.push(at);
    }
    v
}

#[test]
fn decodes_advertise_with_ia_pd() {
    let m = Message::decode(&advertise_bytes()).unwrap();
    assert_eq!(m.msg_type, MessageType::Advertise);
    assert_eq!(m.transaction_id.get(), 0x123456);
    assert_eq!(
        m.client_id().unwrap().to_hex(),
        "00:03:00:01:02:00:00:00:00:01"
    );
    assert_eq!(m.server_id().unwrap().duid_type(), 1);
    assert_eq!(m.preference(), 10);
    let pd = m.ia_pds().next().unwrap();
    assert_eq!((pd.iaid, pd.t1, pd.t2), (7, 1800, 2880));
    let p = pd.prefixes().next().unwrap();
    assert_eq!(p.prefix, "2001:db8:1200::".parse::<Ipv6Addr>().unwrap());
    assert_eq!((p.prefix_len, p.preferred, p.valid), (56, 3600, 7200));
    assert_eq!(
        m.dns_servers(),
        vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(m.domain_list()[0].to_string(), "example.jp");
    assert_eq!(m.to_bytes().unwrap(), advertise_bytes());
}

#[test]
fn every_cut_inside_an_option_is_rejected() {
    let full = advertise_bytes();
    let boundaries = option_boundaries(&full);
    for cut in 0..full.len() {
        let r = Message::decode(&full[..cut]);
        if boundaries.contains(&cut) {
            assert!(r.is_ok(), "cut at boundary {cut} must decode");
        } else {
            assert!(r.is_err(), "cut at {cut} decoded: {r:?}");
        }
    }
}

#[test]
fn rejects_structural_errors_with_typed_kinds() {
    let kind = |b: &[u8]| Message::decode(b).unwrap_err().kind;
    assert_eq!(kind(&[7, 0, 0]), DecodeErrorKind::TooShort);
    assert_eq!(kind(&[12, 0, 0, 0]), DecodeErrorKind::RelayMessage);
    assert_eq!(
        kind(&[7, 0, 0, 0, 0, 7]),
        DecodeErrorKind::TruncatedOptionHeader
    );
    assert_eq!(
        kind(&[7, 0, 0, 0, 0, 7, 0, 2, 1]),
        DecodeErrorKind::OptionOverrun { code: 7 }
    );
    assert_eq!(
        kind(&[7, 0, 0, 0, 0, 7, 0, 2, 1, 2]),
        DecodeErrorKind::BadLength { code: 7, len: 2 }
    );
    // IA Prefix at message level.
    let mut b = vec![7, 0, 0, 0, 0, 26, 0, 25];
    b.extend_from_slice(&[0; 25]);
    assert_eq!(kind(&b), DecodeErrorKind::MisplacedOption { code: 26 });
    // IA_PD whose inner option overruns the IA_PD (but not the message).
    let mut b = vec![7, 0, 0, 0, 0, 25, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&[0, 13, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(kind(&b), DecodeErrorKind::OptionOverrun { code: 13 });
    // Prefix length 129.
    let mut b = vec![7, 0, 0, 0, 0, 25, 0, 41, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&[0, 26, 0, 25, 0, 0, 0, 1, 0, 0, 0, 1, 129]);
    b.extend_from_slice(&[0; 16]);
    assert_eq!(kind(&b), DecodeErrorKind::BadPrefixLength);
    // Compressed domain name.
    assert_eq!(
        kind(&[7, 0, 0, 0, 0, 24, 0, 4, 1, b'a', 0xc0, 4]),
        DecodeErrorKind::CompressedName
    );
    // DUID too short.
    assert_eq!(
        kind(&[7, 0, 0, 0, 0, 2, 0, 2, 0, 3]),
        DecodeErrorKind::BadDuid
    );
    // Status message not UTF-8.
    assert_eq!(
        kind(&[7, 0, 0, 0, 0, 13, 0, 3, 0, 0, 0xff]),
        DecodeErrorKind::BadUtf8
    );
    // DNS list not a multiple of 16.
    assert!(matches!(
        kind(&[7, 0, 0, 0, 0, 23, 0, 1, 0]),
        DecodeErrorKind::BadLength { code: 23, .. }
    ));
    // NTP address suboption with 15 octets.
    let mut b = vec![7, 0, 0, 0, 0, 56, 0, 19, 0, 1, 0, 15];
    b.extend_from_slice(&[0; 15]);
    assert_eq!(kind(&b), DecodeErrorKind::BadLength { code: 1, len: 15 });
}

#[test]
fn encodes_solicit_exactly() {
    let duid = Duid::link_layer(HW_TYPE_ETHERNET, &[2, 0, 0, 0, 0, 1]).unwrap();
    let mut m = Message::new(MessageType::Solicit, TransactionId::new(0xff_abcdef));
    m.options = vec![
        DhcpOption::ClientId(duid),
        DhcpOption::ElapsedTime(0),
        DhcpOption::RapidCommit,
        DhcpOption::Oro(vec![23, 24, 82]),
        DhcpOption::IaPd(IaPd {
            iaid: 1,
            t1: 0,
            t2: 0,
            options: vec![DhcpOption::IaPrefix(IaPrefix {
                preferred: 0,
                valid: 0,
                prefix_len: 56,
                prefix: Ipv6Addr::UNSPECIFIED,
                options: vec![],
            })],
        }),
    ];
    let b = m.to_bytes().unwrap();
    let mut want = vec![
        1, 0xab, 0xcd, 0xef, 0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 1,
    ];
    want.extend_from_slice(&[
        0, 8, 0, 2, 0, 0, 0, 14, 0, 0, 0, 6, 0, 6, 0, 23, 0, 24, 0, 82,
    ]);
    want.extend_from_slice(&[0, 25, 0, 41, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    want.extend_from_slice(&[0, 26, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0, 56]);
    want.extend_from_slice(&[0; 16]);
    assert_eq!(b, want);
    assert_eq!(Message::decode(&b).unwrap(), m);
}

#[test]
fn oversized_option_is_an_encode_error() {
    let mut m = Message::new(MessageType::Reply, TransactionId::new(1));
    m.options
        .push(DhcpOption::DnsServers(vec![Ipv6Addr::LOCALHOST; 4200]));
    assert_eq!(m.to_bytes(), Err(EncodeError::OptionTooLong { code: 23 }));
}

// ------------------------------------------------------------ properties

fn arb_duid() -> impl Strategy<Value = Duid> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..20)
            .prop_map(|mac| Duid::link_layer(1, &mac).unwrap()),
        any::<[u8; 16]>().prop_map(Duid::uuid),
        (any::<u32>(), proptest::collection::vec(any::<u8>(), 1..30))
            .prop_map(|(e, id)| Duid::enterprise(e, &id).unwrap()),
    ]
}

fn arb_name() -> impl Strategy<Value = DomainName> {
    proptest::collection::vec("[a-z0-9-]{1,20}", 0..5)
        .prop_map(|labels| DomainName::from_dotted(&labels.join(".")).unwrap())
}

fn arb_status() -> impl Strategy<Value = StatusCode> {
    (any::<u16>(), "[ -~]{0,20}").prop_map(|(c, message)| StatusCode {
        status: Status::from_u16(c),
        message,
    })
}

fn arb_unknown_code() -> impl Strategy<Value = u16> {
    any::<u16>().prop_filter("typed codes decode typed", |c| !code::TYPED.contains(c))
}

fn arb_leaf() -> impl Strategy<Value = DhcpOption> {
    prop_oneof![
        arb_duid().prop_map(DhcpOption::ClientId),
        arb_duid().prop_map(DhcpOption::ServerId),
        proptest::collection::vec(any::<u16>(), 0..8).prop_map(DhcpOption::Oro),
        any::<u8>().prop_map(DhcpOption::Preference),
        any::<u16>().prop_map(DhcpOption::ElapsedTime),
        arb_status().prop_map(DhcpOption::StatusCode),
        Just(DhcpOption::RapidCommit),
        Just(DhcpOption::ReconfigureAccept),
        proptest::collection::vec(any::<[u8; 16]>().prop_map(Ipv6Addr::from), 0..4)
            .prop_map(DhcpOption::DnsServers),
        proptest::collection::vec(arb_name(), 0..4).prop_map(DhcpOption::DomainList),
        any::<u32>().prop_map(DhcpOption::InformationRefreshTime),
        any::<u32>().prop_map(DhcpOption::SolMaxRt),
        any::<u32>().prop_map(DhcpOption::InfMaxRt),
        arb_name().prop_map(DhcpOption::AftrName),
        proptest::collection::vec(
            prop_oneof![
                any::<[u8; 16]>().prop_map(|a| NtpSuboption::ServerAddress(a.into())),
                any::<[u8; 16]>().prop_map(|a| NtpSuboption::MulticastAddress(a.into())),
                arb_name().prop_map(NtpSuboption::ServerFqdn),
                (4u16.., proptest::collection::vec(any::<u8>(), 0..10))
                    .prop_map(|(code, data)| NtpSuboption::Unknown { code, data }),
            ],
            0..4
        )
        .prop_map(DhcpOption::NtpServer),
        (
            arb_unknown_code(),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(code, data)| DhcpOption::Unknown { code, data }),
    ]
}

fn arb_lease_options() -> impl Strategy<Value = Vec<DhcpOption>> {
    proptest::collection::vec(arb_status().prop_map(DhcpOption::StatusCode), 0..2)
}

fn arb_pd_exclude() -> impl Strategy<Value = DhcpOption> {
    (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..=16)).prop_map(
        |(prefix_len, subnet_id)| {
            DhcpOption::PdExclude(PdExclude {
                prefix_len,
                subnet_id,
            })
        },
    )
}

fn arb_ia_pd() -> impl Strategy<Value = DhcpOption> {
    let prefix = (
        any::<u32>(),
        any::<u32>(),
        0u8..=128,
        any::<[u8; 16]>(),
        arb_lease_options(),
        proptest::option::of(arb_pd_exclude()),
    )
        .prop_map(|(preferred, valid, prefix_len, p, mut options, exclude)| {
            options.extend(exclude);
            DhcpOption::IaPrefix(IaPrefix {
                preferred,
                valid,
                prefix_len,
                prefix: p.into(),
                options,
            })
        });
    let inner = prop_oneof![prefix, arb_leaf()];
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(inner, 0..4),
    )
        .prop_map(|(iaid, t1, t2, options)| {
            DhcpOption::IaPd(IaPd {
                iaid,
                t1,
                t2,
                options,
            })
        })
}

fn arb_ia_na() -> impl Strategy<Value = DhcpOption> {
    let addr = (
        any::<[u8; 16]>(),
        any::<u32>(),
        any::<u32>(),
        arb_lease_options(),
    )
        .prop_map(|(a, preferred, valid, options)| {
            DhcpOption::IaAddr(IaAddress {
                addr: a.into(),
                preferred,
                valid,
                options,
            })
        });
    let inner = prop_oneof![addr, arb_leaf()];
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(inner, 0..4),
    )
        .prop_map(|(iaid, t1, t2, options)| {
            DhcpOption::IaNa(IaNa {
                iaid,
                t1,
                t2,
                options,
            })
        })
}

/// An S46 Rule whose IPv6 prefix field has zeros after its
/// ceil(prefix6_len / 8) octets (the wire cannot carry more).
fn arb_s46_rule() -> impl Strategy<Value = DhcpOption> {
    let params = (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(offset, psid_len, psid)| {
        DhcpOption::S46PortParams(S46PortParams {
            offset,
            psid_len,
            psid,
        })
    });
    (
        any::<[u8; 3]>(),
        any::<[u8; 4]>(),
        0u8..=128,
        any::<[u8; 16]>(),
        proptest::collection::vec(prop_oneof![params, arb_leaf()], 0..3),
    )
        .prop_map(|(head, v4, prefix6_len, mut v6, options)| {
            for octet in v6.iter_mut().skip(usize::from(prefix6_len).div_ceil(8)) {
                *octet = 0;
            }
            DhcpOption::S46Rule(S46Rule {
                flags: head[0],
                ea_len: head[1],
                prefix4_len: head[2],
                ipv4_prefix: v4.into(),
                prefix6_len,
                ipv6_prefix: v6.into(),
                options,
            })
        })
}

fn arb_s46_map_e() -> impl Strategy<Value = DhcpOption> {
    let br = any::<[u8; 16]>().prop_map(|a| DhcpOption::S46Br(a.into()));
    proptest::collection::vec(prop_oneof![arb_s46_rule(), br, arb_leaf()], 0..4)
        .prop_map(DhcpOption::S46ContMapE)
}

fn arb_message() -> impl Strategy<Value = Message> {
    let msg_type = any::<u8>().prop_filter_map("relay types never decode", MessageType::from_u8);
    let option = prop_oneof![
        3 => arb_leaf(),
        1 => arb_ia_pd(),
        1 => arb_ia_na(),
        1 => arb_s46_map_e()
    ];
    (
        msg_type,
        0u32..0x0100_0000,
        proptest::collection::vec(option, 0..8),
    )
        .prop_map(|(msg_type, xid, options)| Message {
            msg_type,
            transaction_id: TransactionId::new(xid),
            options,
        })
}

/// RFC 6603 4.2's own example: 2001:db8:dead:beef::/64 excluded from the
/// delegated 2001:db8:dead:bee0::/59 is option-len 2, prefix-len 64 and the
/// one subnet-ID octet 0xef << 3 (0x78).
#[test]
fn pd_exclude_matches_the_rfc_6603_example_both_ways() {
    let delegated: Ipv6Addr = "2001:db8:dead:bee0::".parse().unwrap();
    let excluded: Ipv6Addr = "2001:db8:dead:beef::".parse().unwrap();
    let x = PdExclude::new((delegated, 59), (excluded, 64)).unwrap();
    assert_eq!(x.prefix_len, 64);
    assert_eq!(x.subnet_id, vec![0x78]);
    let mut wire = Vec::new();
    DhcpOption::PdExclude(x.clone()).encode(&mut wire).unwrap();
    assert_eq!(wire, [0, 67, 0, 2, 64, 0x78]);

    // A Reply whose IA Prefix carries it decodes, and the prefix comes back.
    let mut b = vec![7, 0, 0, 1];
    b.extend_from_slice(&[0, 25, 0, 47, 0, 0, 0, 7, 0, 0, 0x07, 0x08, 0, 0, 0x0b, 0x40]);
    b.extend_from_slice(&[0, 26, 0, 31, 0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20, 59]);
    b.extend_from_slice(&delegated.octets());
    b.extend_from_slice(&wire);
    let m = Message::decode(&b).unwrap();
    let p = m.ia_pds().next().unwrap().prefixes().next().unwrap();
    assert_eq!(p.excluded().collect::<Vec<_>>(), vec![Ok((excluded, 64))]);
    assert_eq!(m.to_bytes().unwrap(), b);

    // Longer subnet IDs: a /56 excluded from a /40 takes two octets, a /128
    // from a /0 sixteen; the padding bits are ignored.
    let d40: Ipv6Addr = "2001:db8:1200::".parse().unwrap();
    let e56: Ipv6Addr = "2001:db8:12ab:cd00::".parse().unwrap();
    let x = PdExclude::new((d40, 40), (e56, 56)).unwrap();
    assert_eq!(x.subnet_id, vec![0xab, 0xcd]);
    let host: Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(
        PdExclude::new((Ipv6Addr::UNSPECIFIED, 0), (host, 128))
            .unwrap()
            .subnet_id
            .len(),
        16
    );
    let with = |prefix_len, x: PdExclude| IaPrefix {
        preferred: 1,
        valid: 2,
        prefix_len,
        prefix: d40,
        options: vec![DhcpOption::PdExclude(x)],
    };
    let padded = PdExclude {
        prefix_len: 52,
        subnet_id: vec![0xab, 0xcf],
    };
    assert_eq!(
        with(40, padded).excluded().next(),
        Some(Ok(("2001:db8:12ab:c000::".parse().unwrap(), 52)))
    );

    // Not inside, not longer: no option; an option that cannot apply to its
    // IA Prefix is an error with a stable key.
    assert_eq!(PdExclude::new((d40, 40), (excluded, 64)), None);
    assert_eq!(PdExclude::new((d40, 40), (d40, 40)), None);
    for (len, x, why) in [
        (
            56,
            PdExclude {
                prefix_len: 56,
                subnet_id: vec![0],
            },
            "pd_exclude_bad_prefix_length",
        ),
        (
            40,
            PdExclude {
                prefix_len: 129,
                subnet_id: vec![0; 11],
            },
            "pd_exclude_bad_prefix_length",
        ),
        (
            40,
            PdExclude {
                prefix_len: 56,
                subnet_id: vec![0xab],
            },
            "pd_exclude_bad_subnet_id_length",
        ),
        (
            40,
            PdExclude {
                prefix_len: 48,
                subnet_id: vec![0xab, 0],
            },
            "pd_exclude_bad_subnet_id_length",
        ),
    ] {
        assert_eq!(
            with(len, x)
                .excluded()
                .next()
                .unwrap()
                .unwrap_err()
                .reason(),
            why
        );
    }
}

/// RFC 6603 4.2: "A valid option-len is between 2 and 17", and the option
/// "MUST only be included in the OPTION_IAPREFIX IAprefix-options".
#[test]
fn pd_exclude_bad_length_or_outside_an_ia_prefix_is_rejected() {
    let reply = |ia_prefix_extra: &[u8]| {
        let mut b = vec![7, 0, 0, 1];
        let iap_len = 25 + ia_prefix_extra.len();
        let ia_len = 12 + 4 + iap_len;
        b.extend_from_slice(&[0, 25, 0, ia_len as u8, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0, 26, 0, iap_len as u8, 0, 0, 0, 1, 0, 0, 0, 2, 56]);
        b.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(ia_prefix_extra);
        b
    };
    assert!(Message::decode(&reply(&[0, 67, 0, 2, 64, 0x10])).is_ok());
    for bad in [
        &[0, 67, 0, 1, 64][..],
        &[
            0, 67, 0, 18, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
    ] {
        assert_eq!(
            Message::decode(&reply(bad)).unwrap_err().reason(),
            "bad_option_length"
        );
    }
    let mut top = vec![7, 0, 0, 1];
    top.extend_from_slice(&[0, 67, 0, 2, 64, 0x10]);
    assert_eq!(
        Message::decode(&top).unwrap_err().reason(),
        "misplaced_option"
    );
}

proptest! {
    #[test]
    fn decode_of_encode_is_identity(m in arb_message()) {
        let bytes = m.to_bytes().unwrap();
        let back = Message::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn decode_never_panics_and_reencodes_exactly(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn mutated_advertise_never_panics(pos in 0usize..150, val in any::<u8>(), cut in 0usize..160) {
        let mut b = advertise_bytes();
        if let Some(x) = b.get_mut(pos) { *x = val; }
        b.truncate(cut);
        if let Ok(m) = Message::decode(&b) {
            prop_assert_eq!(m.to_bytes().unwrap(), b);
        }
    }
}

// ------------------------------------------------------------ S46 options

/// A Reply carrying AFTR-Name (RFC 6334 3: the tunnel-endpoint-name as an
/// uncompressed DNS name) and a MAP-E container (RFC 7598 5.1) with one
/// rule (4.1) holding Port Parameters (4.5), then a BR (4.2). The rule is
/// RFC 7597 appendix A example 1: 2001:db8::/40, 192.0.2.0/24, 16 EA bits,
/// PSID offset 6; the field layout is the RFCs' figures, byte by byte.
fn s46_reply_bytes() -> Vec<u8> {
    let mut b = vec![7, 0xab, 0xcd, 0xef];
    // AFTR-Name aftr.example.jp
    b.extend_from_slice(&[0, 64, 0, 17, 4, b'a', b'f', b't', b'r']);
    b.extend_from_slice(&[
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 2, b'j', b'p', 0,
    ]);
    // S46_CONT_MAPE: rule (4 + 13 + 8 = 25) + BR (4 + 16 = 20) = 45
    b.extend_from_slice(&[0, 94, 0, 45]);
    // S46_RULE: flags F=1, ea-len 16, prefix4-len 24, 192.0.2.0,
    // prefix6-len 40, 5 octets 2001:0db8:00, then S46_PORTPARAMS
    b.extend_from_slice(&[0, 89, 0, 21, 0x01, 16, 24, 192, 0, 2, 0, 40]);
    b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00]);
    // S46_PORTPARAMS offset 6, psid-len 0, psid 0
    b.extend_from_slice(&[0, 93, 0, 4, 6, 0, 0, 0]);
    // S46_BR 2001:db8:ffff::1
    b.extend_from_slice(&[0, 90, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff]);
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    b
}

#[test]
fn s46_reply_decodes_and_reencodes_exactly() {
    let b = s46_reply_bytes();
    let m = Message::decode(&b).unwrap();
    assert_eq!(m.aftr_name().unwrap().to_string(), "aftr.example.jp");
    let inner = m.map_e().unwrap();
    let DhcpOption::S46Rule(rule) = &inner[0] else {
        panic!("{inner:?}")
    };
    assert!(rule.is_fmr());
    assert_eq!(
        (rule.ea_len, rule.prefix4_len, rule.prefix6_len),
        (16, 24, 40)
    );
    assert_eq!(rule.ipv4_prefix, std::net::Ipv4Addr::new(192, 0, 2, 0));
    assert_eq!(rule.ipv6_prefix, "2001:db8::".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        rule.port_params(),
        Some(S46PortParams {
            offset: 6,
            psid_len: 0,
            psid: 0
        })
    );
    assert_eq!(
        inner[1],
        DhcpOption::S46Br("2001:db8:ffff::1".parse().unwrap())
    );
    assert_eq!(m.to_bytes().unwrap(), b);
}

#[test]
fn s46_rule_keeps_prefix_padding_bits() {
    // prefix6-len 36: 5 octets, the last one's low nibble is padding the
    // server should send as zero; kept as sent so re-encoding is exact.
    let mut b = vec![7, 0, 0, 1, 0, 94, 0, 17];
    b.extend_from_slice(&[0, 89, 0, 13, 0, 12, 28, 10, 0, 0, 0, 36]);
    b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x1f]);
    let m = Message::decode(&b).unwrap();
    assert_eq!(m.to_bytes().unwrap(), b);
}

#[test]
fn s46_malformed_options_are_typed_errors() {
    let kind = |b: &[u8]| Message::decode(b).unwrap_err().kind;
    // Rule at message level: only inside a container.
    let rule = [0, 89, 0, 8, 0, 0, 32, 192, 0, 2, 1, 0];
    let mut b = vec![7, 0, 0, 1];
    b.extend_from_slice(&rule);
    assert_eq!(kind(&b), DecodeErrorKind::MisplacedOption { code: 89 });
    // Port parameters directly in the container: only inside a rule.
    let b = [7, 0, 0, 1, 0, 94, 0, 8, 0, 93, 0, 4, 6, 0, 0, 0];
    assert_eq!(kind(&b), DecodeErrorKind::MisplacedOption { code: 93 });
    // prefix6-len 129.
    let b = [
        7, 0, 0, 1, 0, 94, 0, 12, 0, 89, 0, 8, 0, 0, 32, 192, 0, 2, 1, 129,
    ];
    assert_eq!(kind(&b), DecodeErrorKind::BadPrefixLength);
    // prefix6-len 64 with only 4 octets of prefix.
    let b = [
        7, 0, 0, 1, 0, 94, 0, 16, 0, 89, 0, 12, 0, 0, 32, 192, 0, 2, 1, 64, 0x20, 1, 0xd, 0xb8,
    ];
    assert_eq!(kind(&b), DecodeErrorKind::BadLength { code: 89, len: 12 });
    // BR of 15 octets; port parameters of 3.
    let mut b = vec![7, 0, 0, 1, 0, 94, 0, 19, 0, 90, 0, 15];
    b.extend_from_slice(&[0; 15]);
    assert_eq!(kind(&b), DecodeErrorKind::BadLength { code: 90, len: 15 });
    // AFTR-Name with bytes after the name, or compressed.
    let b = [7, 0, 0, 1, 0, 64, 0, 4, 1, b'a', 0, 0];
    assert_eq!(kind(&b), DecodeErrorKind::BadLength { code: 64, len: 4 });
    let b = [7, 0, 0, 1, 0, 64, 0, 4, 1, b'a', 0xc0, 4];
    assert_eq!(kind(&b), DecodeErrorKind::CompressedName);
}

#[test]
fn s46_reply_truncated_anywhere_never_panics() {
    let b = s46_reply_bytes();
    for cut in 0..b.len() {
        if let Ok(m) = Message::decode(&b[..cut]) {
            assert_eq!(m.to_bytes().unwrap(), &b[..cut]);
        }
    }
}
