//! Fixtures written by hand from the RFC layouts, cross-checks against
//! etherparse, malformed-input cases and property round trips.

use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

/// RA as a home router sends it; each option laid out by hand from its RFC.
#[rustfmt::skip]
const RA_FIXTURE: &[u8] = &[
    // type 134, code 0, checksum 0
    0x86, 0x00, 0x00, 0x00,
    // hop limit 64, M=0 O=1 Prf=high(01), router lifetime 1800
    0x40, 0x48, 0x07, 0x08,
    // reachable time, retrans timer
    0, 0, 0, 0, 0, 0, 0, 0,
    // SLLA 02:00:5e:00:53:01 (RFC 4861 4.6.1)
    0x01, 0x01, 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01,
    // PIO 2001:db8:1:1::/64 L=1 A=1 valid 5400 preferred 2700 (RFC 4861 4.6.2)
    0x03, 0x04, 0x40, 0xc0, 0x00, 0x00, 0x15, 0x18, 0x00, 0x00, 0x0a, 0x8c, 0, 0, 0, 0,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
    // MTU 1492 (RFC 4861 4.6.4)
    0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xd4,
    // RIO fd00:1:2::/48 medium lifetime 1800, 8-octet prefix field (RFC 4191 2.3)
    0x18, 0x02, 0x30, 0x00, 0x00, 0x00, 0x07, 0x08,
    0xfd, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
    // RDNSS 2001:db8:1:1::1 lifetime 1800 (RFC 8106 5.1)
    0x19, 0x03, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01,
    // DNSSL "lan" lifetime 1800, padded to 16 octets (RFC 8106 5.2)
    0x1f, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08,
    0x03, b'l', b'a', b'n', 0x00, 0x00, 0x00, 0x00,
];

fn ra_fixture_value() -> RouterAdvertisement {
    RouterAdvertisement {
        cur_hop_limit: 64,
        managed: false,
        other_config: true,
        preference: RouterPreference::High,
        other_flags: 0,
        router_lifetime: 1800,
        reachable_time: 0,
        retrans_timer: 0,
        options: vec![
            NdOption::SourceLinkLayerAddress(vec![0x02, 0x00, 0x5e, 0x00, 0x53, 0x01]),
            NdOption::PrefixInformation(PrefixInformation {
                prefix_len: 64,
                on_link: true,
                autonomous: true,
                other_flags: 0,
                valid_lifetime: 5400,
                preferred_lifetime: 2700,
                prefix: ip("2001:db8:1:1::"),
            }),
            NdOption::Mtu(1492),
            NdOption::RouteInformation(RouteInformation {
                prefix_len: 48,
                preference: RouterPreference::Medium,
                route_lifetime: 1800,
                prefix: ip("fd00:1:2::"),
            }),
            NdOption::RecursiveDnsServers(RecursiveDnsServers {
                lifetime: 1800,
                servers: vec![ip("2001:db8:1:1::1")],
            }),
            NdOption::DnsSearchList(DnsSearchList {
                lifetime: 1800,
                domains: vec![name("lan")],
            }),
        ],
    }
}

#[test]
fn ra_fixture_encodes_exactly() {
    assert_eq!(ra_fixture_value().to_bytes().unwrap(), RA_FIXTURE);
}

#[test]
fn ra_fixture_decodes_exactly() {
    let NdMessage::RouterAdvertisement(ra) = NdMessage::decode(RA_FIXTURE).unwrap() else {
        panic!("not an RA");
    };
    assert_eq!(ra, ra_fixture_value());
    assert_eq!(ra.mtu(), Some(1492));
    assert_eq!(
        ra.dns_servers().copied().collect::<Vec<_>>(),
        [ip("2001:db8:1:1::1")]
    );
    assert_eq!(ra.prefixes().count(), 1);
    assert_eq!(
        ra.source_link_layer_address(),
        Some(&[2, 0, 0x5e, 0, 0x53, 1][..])
    );
}

#[test]
fn rs_with_slla_fixture() {
    let bytes = [0x85, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 2, 0, 0, 0, 0, 1];
    let rs = RouterSolicitation {
        options: vec![NdOption::SourceLinkLayerAddress(vec![2, 0, 0, 0, 0, 1])],
    };
    assert_eq!(rs.to_bytes().unwrap(), bytes);
    assert_eq!(
        NdMessage::decode(&bytes).unwrap(),
        NdMessage::RouterSolicitation(rs)
    );
}

#[test]
fn rio_prefix_field_sizes() {
    let mut out = Vec::new();
    let rio = |len, prefix| {
        NdOption::RouteInformation(RouteInformation {
            prefix_len: len,
            preference: RouterPreference::Low,
            route_lifetime: 600,
            prefix: ip(prefix),
        })
    };
    rio(0, "::").encode(&mut out).unwrap();
    assert_eq!(out, [0x18, 0x01, 0x00, 0x18, 0x00, 0x00, 0x02, 0x58]);
    out.clear();
    // Host bits past the prefix length are zeroed on the wire.
    rio(72, "2001:db8:0:0:ffff::1").encode(&mut out).unwrap();
    assert_eq!(out.len(), 24);
    assert_eq!(out[1], 3);
    assert_eq!(&out[8..], &ip("2001:db8:0:0:ff00::").octets());
}

#[test]
fn dnssl_multiple_names_padding() {
    let opt = NdOption::DnsSearchList(DnsSearchList {
        lifetime: 600,
        domains: vec![name("home.example"), name("lan.")],
    });
    let mut out = Vec::new();
    opt.encode(&mut out).unwrap();
    // 8 header octets + 14 + 5 name octets = 27, padded to 32.
    assert_eq!(out.len(), 32);
    assert_eq!(out[1], 4);
    assert_eq!(&out[8..22], b"\x04home\x07example\x00");
    assert_eq!(&out[22..27], b"\x03lan\x00");
    assert!(out[27..].iter().all(|&b| b == 0));
}

#[test]
fn checksum_matches_etherparse() {
    let src = ip("fe80::200:5eff:fe00:5301");
    let dst = ip("ff02::1");
    let mut msg = RA_FIXTURE.to_vec();
    set_checksum(&src, &dst, &mut msg);
    assert!(checksum_is_valid(&src, &dst, &msg));
    let slice = etherparse::Icmpv6Slice::from_slice(&msg).unwrap();
    assert!(slice.is_checksum_valid(src.octets(), dst.octets()));
    msg[20] ^= 1;
    assert!(!checksum_is_valid(&src, &dst, &msg));
    assert!(
        !etherparse::Icmpv6Slice::from_slice(&msg)
            .unwrap()
            .is_checksum_valid(src.octets(), dst.octets())
    );
}

#[test]
fn header_fields_match_etherparse() {
    let slice = etherparse::Icmpv6Slice::from_slice(RA_FIXTURE).unwrap();
    match slice.icmp_type() {
        etherparse::Icmpv6Type::RouterAdvertisement(h) => {
            assert_eq!(h.cur_hop_limit, 64);
            assert!(!h.managed_address_config);
            assert!(h.other_config);
            assert_eq!(h.router_lifetime, 1800);
        }
        other => panic!("etherparse saw {other:?}"),
    }
}

#[test]
fn malformed_messages_give_typed_errors() {
    let cases: &[(&[u8], DecodeError)] = &[
        (
            &[],
            DecodeError::Truncated {
                needed: 8,
                actual: 0,
            },
        ),
        (
            &[0x85, 0, 0, 0],
            DecodeError::Truncated {
                needed: 8,
                actual: 4,
            },
        ),
        (
            &[0x86, 0, 0, 0, 0, 0, 0, 0],
            DecodeError::Truncated {
                needed: 16,
                actual: 8,
            },
        ),
        (
            &[0x87, 0, 0, 0, 0, 0, 0, 0],
            DecodeError::UnexpectedType(0x87),
        ),
        (&[0x85, 1, 0, 0, 0, 0, 0, 0], DecodeError::NonZeroCode(1)),
        (
            &[0x85, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            DecodeError::OptionLengthZero { offset: 8 },
        ),
        (
            &[0x85, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0],
            DecodeError::OptionOverrun { offset: 8 },
        ),
        (
            &[0x85, 0, 0, 0, 0, 0, 0, 0, 1],
            DecodeError::OptionOverrun { offset: 8 },
        ),
        (
            &[
                0x85, 0, 0, 0, 0, 0, 0, 0, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            DecodeError::MalformedOption {
                kind: 5,
                offset: 8,
                fault: OptionFault::BadLength,
            },
        ),
        (
            // RDNSS with even length
            &[
                0x85, 0, 0, 0, 0, 0, 0, 0, 25, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            DecodeError::MalformedOption {
                kind: 25,
                offset: 8,
                fault: OptionFault::BadLength,
            },
        ),
        (
            // RIO /65 in an 8-octet prefix field
            &[
                0x85, 0, 0, 0, 0, 0, 0, 0, 24, 2, 65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            DecodeError::MalformedOption {
                kind: 24,
                offset: 8,
                fault: OptionFault::PrefixFieldTooShort,
            },
        ),
        (
            // DNSSL with a compression pointer
            &[
                0x85, 0, 0, 0, 0, 0, 0, 0, 31, 2, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 0, 0, 0, 0, 0,
            ],
            DecodeError::MalformedOption {
                kind: 31,
                offset: 8,
                fault: OptionFault::BadDomainName(DomainNameError::CompressedLabel),
            },
        ),
        (
            // DNSSL with garbage after the padding started
            &[
                0x85, 0, 0, 0, 0, 0, 0, 0, 31, 2, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 7, 0, 0, 0,
            ],
            DecodeError::MalformedOption {
                kind: 31,
                offset: 8,
                fault: OptionFault::NonZeroPadding,
            },
        ),
        (
            // DNSSL with only padding
            &[
                0x85, 0, 0, 0, 0, 0, 0, 0, 31, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            DecodeError::MalformedOption {
                kind: 31,
                offset: 8,
                fault: OptionFault::EmptySearchList,
            },
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(NdMessage::decode(bytes), Err(*want), "input {bytes:02x?}");
    }
}

#[test]
fn pio_prefix_length_over_128_is_rejected() {
    let mut bytes = RA_FIXTURE.to_vec();
    bytes[26] = 129;
    assert_eq!(
        NdMessage::decode(&bytes),
        Err(DecodeError::MalformedOption {
            kind: 3,
            offset: 24,
            fault: OptionFault::PrefixLengthTooLong
        })
    );
}

#[test]
fn encode_refuses_what_the_wire_cannot_carry() {
    let mut out = Vec::new();
    let empty = NdOption::RecursiveDnsServers(RecursiveDnsServers {
        lifetime: 1,
        servers: vec![],
    });
    assert_eq!(empty.encode(&mut out), Err(EncodeError::EmptyRdnss));
    let big = NdOption::Unknown(UnknownOption {
        kind: 99,
        body: vec![0; 2039],
    });
    assert_eq!(
        big.encode(&mut out),
        Err(EncodeError::OptionTooLong { kind: 99 })
    );
    assert!(out.is_empty(), "a failed option leaves nothing behind");
    let fits = NdOption::Unknown(UnknownOption {
        kind: 99,
        body: vec![0; 2038],
    });
    fits.encode(&mut out).unwrap();
    assert_eq!(out.len(), 2040);
}

#[test]
fn domain_name_validation() {
    assert_eq!(DomainName::parse(""), Err(DomainNameError::Empty));
    assert_eq!(DomainName::parse("."), Err(DomainNameError::Empty));
    assert_eq!(DomainName::parse("a..b"), Err(DomainNameError::EmptyLabel));
    assert_eq!(DomainName::parse("a b"), Err(DomainNameError::BadCharacter));
    assert_eq!(
        DomainName::parse(&"a".repeat(64)),
        Err(DomainNameError::LabelTooLong)
    );
    let long = vec!["a".repeat(63); 4].join(".");
    assert_eq!(DomainName::parse(&long), Err(DomainNameError::NameTooLong));
    assert_eq!(name("Example.COM.").to_string(), "Example.COM");
}

fn arb_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn arb_pref() -> impl Strategy<Value = RouterPreference> {
    (0u8..4).prop_map(RouterPreference::from_bits)
}

fn arb_name() -> impl Strategy<Value = DomainName> {
    prop::collection::vec("[a-zA-Z0-9_-]{1,20}", 1..5)
        .prop_map(|labels| DomainName::parse(&labels.join(".")).unwrap())
}

/// Body lengths that decode back to themselves: `8n - 2`.
fn arb_raw_body() -> impl Strategy<Value = Vec<u8>> {
    (1usize..6).prop_flat_map(|units| prop::collection::vec(any::<u8>(), units * 8 - 2))
}

fn arb_option() -> impl Strategy<Value = NdOption> {
    prop_oneof![
        arb_raw_body().prop_map(NdOption::SourceLinkLayerAddress),
        arb_raw_body().prop_map(NdOption::TargetLinkLayerAddress),
        (
            0u8..=128,
            any::<bool>(),
            any::<bool>(),
            any::<u8>(),
            any::<u32>(),
            any::<u32>(),
            arb_addr()
        )
            .prop_map(
                |(
                    prefix_len,
                    on_link,
                    autonomous,
                    f,
                    valid_lifetime,
                    preferred_lifetime,
                    prefix,
                )| {
                    NdOption::PrefixInformation(PrefixInformation {
                        prefix_len,
                        on_link,
                        autonomous,
                        other_flags: f & 0x3f,
                        valid_lifetime,
                        preferred_lifetime,
                        prefix,
                    })
                }
            ),
        any::<u32>().prop_map(NdOption::Mtu),
        (0u8..=128, arb_pref(), any::<u32>(), arb_addr()).prop_map(|(len, preference, life, a)| {
            NdOption::RouteInformation(RouteInformation {
                prefix_len: len,
                preference,
                route_lifetime: life,
                prefix: option::mask_prefix(a, len),
            })
        }),
        (any::<u32>(), prop::collection::vec(arb_addr(), 1..8)).prop_map(|(lifetime, servers)| {
            NdOption::RecursiveDnsServers(RecursiveDnsServers { lifetime, servers })
        }),
        (any::<u32>(), prop::collection::vec(arb_name(), 1..5)).prop_map(|(lifetime, domains)| {
            NdOption::DnsSearchList(DnsSearchList { lifetime, domains })
        }),
        (
            any::<u8>().prop_filter("unknown kinds only", |k| ![1, 2, 3, 5, 24, 25, 31]
                .contains(k)),
            arb_raw_body()
        )
            .prop_map(|(kind, body)| NdOption::Unknown(UnknownOption { kind, body })),
    ]
}

fn arb_ra() -> impl Strategy<Value = RouterAdvertisement> {
    (
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
        arb_pref(),
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(arb_option(), 0..8),
    )
        .prop_map(
            |(hop, m, o, preference, f, life, reach, retrans, options)| RouterAdvertisement {
                cur_hop_limit: hop,
                managed: m,
                other_config: o,
                preference,
                other_flags: f & 0x27,
                router_lifetime: life,
                reachable_time: reach,
                retrans_timer: retrans,
                options,
            },
        )
}

proptest! {
    #[test]
    fn ra_round_trip(ra in arb_ra()) {
        let bytes = ra.to_bytes().unwrap();
        prop_assert_eq!(bytes.len() % 8, 0);
        prop_assert_eq!(NdMessage::decode(&bytes).unwrap(), NdMessage::RouterAdvertisement(ra));
    }

    #[test]
    fn rs_round_trip(options in prop::collection::vec(arb_option(), 0..6)) {
        let rs = RouterSolicitation { options };
        let bytes = rs.to_bytes().unwrap();
        prop_assert_eq!(NdMessage::decode(&bytes).unwrap(), NdMessage::RouterSolicitation(rs));
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = NdMessage::decode(&bytes);
    }

    #[test]
    fn decoded_input_reencodes_to_a_decodable_message(
        ra in arb_ra(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        // Corrupt a valid message; whatever still decodes must re-encode and
        // decode to the same value (no lossy acceptance).
        let mut bytes = ra.to_bytes().unwrap();
        for (i, v) in flips {
            let at = i.index(bytes.len());
            bytes[at] = v;
        }
        if let Ok(msg) = NdMessage::decode(&bytes) {
            let again = msg.to_bytes().unwrap();
            prop_assert_eq!(NdMessage::decode(&again).unwrap(), msg);
        }
    }

    #[test]
    fn checksum_agrees_with_etherparse(ra in arb_ra(), src in arb_addr(), dst in arb_addr()) {
        let mut bytes = ra.to_bytes().unwrap();
        set_checksum(&src, &dst, &mut bytes);
        let slice = etherparse::Icmpv6Slice::from_slice(&bytes).unwrap();
        prop_assert!(slice.is_checksum_valid(src.octets(), dst.octets()));
    }
}

proptest! {
    /// An independent parser (etherparse's NDP option iterator) reads our
    /// encoded options the same way: same count, kinds and lengths, and the
    /// same values for the options it types (SLLA, PIO, MTU).
    #[test]
    fn options_agree_with_etherparse(ra in arb_ra()) {
        use etherparse::icmpv6::{NdpOptionSlice, NdpOptionsIterator};
        let bytes = ra.to_bytes().unwrap();
        let theirs: Vec<NdpOptionSlice<'_>> = NdpOptionsIterator::from_slice(&bytes[RA_FIXED_LEN..])
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(theirs.len(), ra.options.len());
        for (ours, theirs) in ra.options.iter().zip(&theirs) {
            let mut encoded = Vec::new();
            ours.encode(&mut encoded).unwrap();
            prop_assert_eq!(theirs.as_bytes(), &encoded[..]);
            match (ours, theirs) {
                (NdOption::SourceLinkLayerAddress(a), NdpOptionSlice::SourceLinkLayerAddress(b)) => {
                    prop_assert_eq!(&a[..], b.link_layer_address());
                }
                (NdOption::PrefixInformation(a), NdpOptionSlice::PrefixInformation(b)) => {
                    prop_assert_eq!(a.prefix_len, b.prefix_length());
                    prop_assert_eq!(a.on_link, b.on_link());
                    prop_assert_eq!(a.autonomous, b.autonomous_address_configuration());
                    prop_assert_eq!(a.valid_lifetime, b.valid_lifetime());
                    prop_assert_eq!(a.preferred_lifetime, b.preferred_lifetime());
                    prop_assert_eq!(a.prefix.octets(), b.prefix());
                }
                (NdOption::Mtu(a), NdpOptionSlice::Mtu(b)) => prop_assert_eq!(*a, b.mtu()),
                (NdOption::SourceLinkLayerAddress(_) | NdOption::PrefixInformation(_) | NdOption::Mtu(_), other) => {
                    prop_assert!(false, "etherparse typed {:?} differently", other);
                }
                _ => {}
            }
        }
    }
}
