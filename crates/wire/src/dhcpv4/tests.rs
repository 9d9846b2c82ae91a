//! Codec tests: hand-built packets, truncation sweeps, and property tests.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;

/// A DHCPDISCOVER as busybox udhcpc sends it (built by hand from RFC 2131).
fn discover_bytes() -> Vec<u8> {
    let mut b = vec![0u8; HEADER_LEN];
    b[..4].copy_from_slice(&[1, 1, 6, 0]);
    b[4..8].copy_from_slice(&0xdead_beef_u32.to_be_bytes());
    b[10] = 0x80; // broadcast
    b[28..34].copy_from_slice(&[2, 0, 0, 0, 3, 1]);
    b.extend_from_slice(&MAGIC_COOKIE);
    b.extend_from_slice(&[53, 1, 1]);
    b.extend_from_slice(&[61, 7, 1, 2, 0, 0, 0, 3, 1]);
    b.extend_from_slice(&[57, 2, 2, 64]);
    b.extend_from_slice(&[55, 7, 1, 3, 6, 12, 15, 28, 119]);
    b.extend_from_slice(&[12, 5, b'h', b'o', b's', b't', b'1']);
    b.extend_from_slice(&[50, 4, 192, 168, 1, 120]);
    b.push(255);
    b
}

#[test]
fn decodes_discover() {
    let m = Message::decode(&discover_bytes()).unwrap();
    assert_eq!(m.op, OP_REQUEST);
    assert_eq!(m.xid, 0xdead_beef);
    assert!(m.broadcast());
    assert_eq!(m.chaddr, [2, 0, 0, 0, 3, 1]);
    assert_eq!(m.message_type(), Some(MessageType::Discover));
    assert_eq!(m.options.client_id, [1, 2, 0, 0, 0, 3, 1]);
    assert_eq!(m.options.max_message_size, Some(576));
    assert_eq!(m.options.parameter_list, [1, 3, 6, 12, 15, 28, 119]);
    assert!(m.options.requested(119));
    assert_eq!(m.options.hostname.as_deref(), Some("host1"));
    assert_eq!(
        m.options.requested_ip,
        Some(Ipv4Addr::new(192, 168, 1, 120))
    );
}

#[test]
fn every_truncation_inside_an_option_is_an_error() {
    let full = discover_bytes();
    // Cutting exactly at an option boundary leaves a valid (shorter) message;
    // cutting inside an option header or value must fail.
    let mut boundaries = vec![HEADER_LEN + 4];
    let mut at = HEADER_LEN + 4;
    while at < full.len() && full[at] != 255 {
        at += 2 + usize::from(full[at + 1]);
        boundaries.push(at);
    }
    for cut in 0..full.len() {
        let r = Message::decode(&full[..cut]);
        if cut < HEADER_LEN + 4 {
            assert!(matches!(r, Err(DecodeError::TooShort(_))), "cut {cut}");
        } else if boundaries.contains(&cut) {
            assert!(r.is_ok(), "cut {cut} at a boundary: {r:?}");
        } else {
            assert!(
                matches!(r, Err(DecodeError::TruncatedOption(_))),
                "cut {cut}: {r:?}"
            );
        }
    }
}

fn with_options(opts: &[u8]) -> Vec<u8> {
    let mut b = discover_bytes();
    b.truncate(HEADER_LEN + 4);
    b.extend_from_slice(opts);
    b
}

#[test]
fn rejects_malformed_options() {
    let cases: &[(&[u8], DecodeError)] = &[
        (&[53, 1, 9], DecodeError::BadMessageType(9)),
        (
            &[53, 2, 1, 1],
            DecodeError::BadOptionLength { code: 53, len: 2 },
        ),
        (&[53, 1, 1, 53, 1, 3], DecodeError::Duplicate(53)),
        (
            &[54, 3, 1, 2, 3],
            DecodeError::BadOptionLength { code: 54, len: 3 },
        ),
        (
            &[3, 5, 1, 2, 3, 4, 5],
            DecodeError::BadOptionLength { code: 3, len: 5 },
        ),
        (&[3, 0], DecodeError::BadOptionLength { code: 3, len: 0 }),
        (
            &[61, 1, 1],
            DecodeError::BadOptionLength { code: 61, len: 1 },
        ),
        (&[12, 0], DecodeError::BadOptionLength { code: 12, len: 0 }),
        (&[52, 1, 3], DecodeError::Overload),
        (
            &[57, 1, 2],
            DecodeError::BadOptionLength { code: 57, len: 1 },
        ),
        (&[119, 3, 0xc0, 0x00, 0], DecodeError::BadDomainName(119)),
        (&[119, 2, 1, b'a'], DecodeError::BadDomainName(119)),
        (&[119, 3, 1, 0x00, 0], DecodeError::BadDomainName(119)),
    ];
    for (opts, want) in cases {
        assert_eq!(Message::decode(&with_options(opts)), Err(*want), "{opts:?}");
    }
    let mut not_eth = discover_bytes();
    not_eth[1] = 6;
    assert_eq!(Message::decode(&not_eth), Err(DecodeError::NotEthernet));
    let mut cookie = discover_bytes();
    cookie[HEADER_LEN] = 0;
    assert_eq!(Message::decode(&cookie), Err(DecodeError::BadCookie));
}

#[test]
fn split_options_are_concatenated() {
    // RFC 3396: client id and hostname split over two instances.
    let m = Message::decode(&with_options(&[
        61, 2, 1, 2, 61, 2, 3, 4, 12, 2, b'a', b'b', 12, 1, b'c', 255,
    ]))
    .unwrap();
    assert_eq!(m.options.client_id, [1, 2, 3, 4]);
    assert_eq!(m.options.hostname.as_deref(), Some("abc"));
}

#[test]
fn client_id_is_bounded_across_split_instances() {
    // RFC 3396 splitting must not make an identifier longer than the
    // server can key a lease by and write to its lease file.
    let split = |len: usize| {
        let mut opts = Vec::new();
        for part in vec![7u8; len].chunks(200) {
            opts.extend_from_slice(&[61, part.len() as u8]);
            opts.extend_from_slice(part);
        }
        opts.push(255);
        Message::decode(&with_options(&opts))
    };
    assert_eq!(
        split(MAX_CLIENT_ID_LEN).unwrap().options.client_id.len(),
        MAX_CLIENT_ID_LEN
    );
    assert_eq!(
        split(MAX_CLIENT_ID_LEN + 1),
        Err(DecodeError::BadOptionLength {
            code: 61,
            len: MAX_CLIENT_ID_LEN + 1
        })
    );
    assert_eq!(
        split(1),
        Err(DecodeError::BadOptionLength { code: 61, len: 1 })
    );
}

#[test]
fn domain_search_compression_is_followed_but_never_sent() {
    // "home.example" then "lan" + pointer to "example" (RFC 3397 example).
    let data = [
        4, b'h', b'o', b'm', b'e', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, 3, b'l', b'a',
        b'n', 0xc0, 5,
    ];
    assert_eq!(
        decode_domain_search(&data).unwrap(),
        ["home.example", "lan.example"]
    );
    let names = vec!["home.example".to_string(), "lan.example".to_string()];
    let wire = encode_domain_search(&names).unwrap();
    assert!(wire.iter().all(|b| *b < 0xc0), "no pointers: {wire:?}");
    assert_eq!(decode_domain_search(&wire).unwrap(), names);
    // A pointer to itself or forwards is refused.
    assert_eq!(
        decode_domain_search(&[1, b'a', 0xc0, 2]),
        Err(NameError::BadPointer)
    );
    assert_eq!(
        encode_domain_search(&["a..b".into()]),
        Err(NameError::EmptyLabel)
    );
    assert_eq!(
        encode_domain_search(&["x".repeat(64)]),
        Err(NameError::LabelTooLong)
    );
}

#[test]
fn server_reply_encodes_what_clients_read() {
    let req = Message::decode(&discover_bytes()).unwrap();
    let mut offer = Message::reply_to(&req, MessageType::Offer);
    offer.yiaddr = Ipv4Addr::new(192, 168, 1, 100);
    let o = &mut offer.options;
    o.server_id = Some(Ipv4Addr::new(192, 168, 1, 1));
    o.lease_time = Some(43200);
    o.subnet_mask = Some(Ipv4Addr::new(255, 255, 255, 0));
    o.routers = vec![Ipv4Addr::new(192, 168, 1, 1)];
    o.dns_servers = vec![Ipv4Addr::new(192, 168, 1, 1)];
    o.domain_name = Some("lan".into());
    o.domain_search = vec!["lan".into(), "bad..name".into()];
    let bytes = offer.to_bytes().unwrap_or_else(|e| match e {});
    assert!(bytes.len() >= MIN_SEND_LEN);
    assert_eq!(bytes[0], OP_REPLY);
    // Option 53 comes first.
    assert_eq!(&bytes[HEADER_LEN + 4..HEADER_LEN + 7], &[53, 1, 2]);
    let back = Message::decode(&bytes).unwrap();
    assert_eq!(back.xid, req.xid);
    assert_eq!(back.chaddr, req.chaddr);
    assert_eq!(back.flags, req.flags);
    assert_eq!(back.options.domain_search, ["lan"], "invalid name left out");
    assert_eq!(back.options.domain_name.as_deref(), Some("lan"));
    assert_eq!(back.yiaddr, Ipv4Addr::new(192, 168, 1, 100));
}

fn arb_ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn arb_label() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,20}"
}

fn arb_name() -> impl Strategy<Value = String> {
    prop::collection::vec(arb_label(), 1..4).prop_map(|l| l.join("."))
}

fn arb_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[ -~]{1,300}")
}

prop_compose! {
    fn arb_options()(
        message_type in prop::option::of((1u8..=8).prop_filter_map("type", MessageType::from_u8)),
        server_id in prop::option::of(arb_ip()),
        lease_time in prop::option::of(any::<u32>()),
        renewal_time in prop::option::of(any::<u32>()),
        rebinding_time in prop::option::of(any::<u32>()),
        subnet_mask in prop::option::of(arb_ip()),
        broadcast_address in prop::option::of(arb_ip()),
        routers in prop::collection::vec(arb_ip(), 0..70),
        dns_servers in prop::collection::vec(arb_ip(), 0..5),
        ntp_servers in prop::collection::vec(arb_ip(), 0..5),
        requested_ip in prop::option::of(arb_ip()),
        parameter_list in prop::collection::vec(any::<u8>(), 0..300),
        client_id in prop::option::of(prop::collection::vec(any::<u8>(), MIN_CLIENT_ID_LEN..=MAX_CLIENT_ID_LEN)),
        hostname in arb_text(),
        domain_name in arb_text(),
        domain_search in prop::collection::vec(arb_name(), 0..20),
        message in arb_text(),
        max_message_size in prop::option::of(any::<u16>()),
        client_fqdn in prop::option::of((any::<u8>(), prop::collection::vec(any::<u8>(), 0..300))),
    ) -> Options {
        Options {
            message_type, server_id, lease_time, renewal_time, rebinding_time, subnet_mask,
            broadcast_address, routers, dns_servers, ntp_servers, requested_ip, parameter_list,
            client_id: client_id.unwrap_or_default(), hostname, domain_name, domain_search,
            message, max_message_size,
            client_fqdn: client_fqdn.map(|(flags, name)| ClientFqdn { flags, name }),
        }
    }
}

proptest! {
    #[test]
    fn encode_decode_round_trip(
        op in 1u8..=2, hops in any::<u8>(), xid in any::<u32>(), secs in any::<u16>(),
        flags in any::<u16>(), ciaddr in arb_ip(), yiaddr in arb_ip(), siaddr in arb_ip(),
        giaddr in arb_ip(), chaddr in any::<[u8; 6]>(), options in arb_options(),
    ) {
        let m = Message { op, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, options };
        prop_assert_eq!(Message::decode(&m.to_bytes().unwrap_or_else(|e| match e {})), Ok(m));
    }

    #[test]
    fn decode_never_panics_and_is_stable(tail in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut b = discover_bytes();
        b.truncate(HEADER_LEN + 4);
        b.extend_from_slice(&tail);
        if let Ok(m) = Message::decode(&b) {
            prop_assert_eq!(Message::decode(&m.to_bytes().unwrap_or_else(|e| match e {})), Ok(m));
        }
    }
}

/// RFC 4702: the Client FQDN option as dhcpcd (E=1, wire format) and
/// busybox udhcpc `-F` (E=0, text) send it; fewer than the three fixed
/// octets is an error; encoding gives the same option back.
#[test]
fn client_fqdn_in_both_name_forms() {
    let wire = with_options(&[
        81, 13, 0x05, 0, 0, 4, b'h', b'o', b's', b't', 3, b'l', b'a', b'n', 0,
    ]);
    let m = Message::decode(&wire).unwrap();
    let f = m.options.client_fqdn.clone().unwrap();
    assert_eq!(f.flags, 0x05);
    assert_eq!(f.name_text().as_deref(), Some("host.lan"));
    let again = Message::decode(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(again.options.client_fqdn, Some(f));

    let text = with_options(&[81, 7, 0x01, 0, 0, b'P', b'c', b'-', b'1']);
    let f = Message::decode(&text).unwrap().options.client_fqdn.unwrap();
    assert_eq!(f.name_text().as_deref(), Some("Pc-1"));

    for (flags, name) in [
        (0x04, &[9, b'a'][..]),         // label past the end
        (0x04, &[1, b'a', 0, 1, b'b']), // data after the root
        (0x04, &[1, b'.']),             // dot inside a label
        (0x00, b"a..b"),                // empty label
        (0x00, b"a b"),                 // not printable
        (0x00, b""),
    ] {
        let f = ClientFqdn {
            flags,
            name: name.to_vec(),
        };
        assert_eq!(f.name_text(), None, "{flags} {name:?}");
    }
    assert_eq!(
        Message::decode(&with_options(&[81, 2, 0, 0])),
        Err(DecodeError::BadOptionLength {
            code: code::CLIENT_FQDN,
            len: 2
        })
    );
}

#[test]
fn ntp_servers_option_42_round_trips_and_is_length_checked() {
    let req = Message::decode(&discover_bytes()).unwrap();
    let mut offer = Message::reply_to(&req, MessageType::Offer);
    offer.options.server_id = Some(Ipv4Addr::new(192, 0, 2, 1));
    offer.options.ntp_servers = vec![Ipv4Addr::new(192, 0, 2, 123), Ipv4Addr::new(192, 0, 2, 124)];
    let bytes = offer.to_bytes().unwrap_or_else(|e| match e {});
    let back = Message::decode(&bytes).unwrap();
    assert_eq!(back.options.ntp_servers, offer.options.ntp_servers);
    // Option 42 of five octets: not a list of addresses.
    let at = bytes
        .windows(2)
        .position(|w| w == [42, 8])
        .expect("option 42 encoded");
    let mut bad = bytes.clone();
    bad[at + 1] = 5;
    bad.remove(at + 2 + 5);
    bad.remove(at + 2 + 5);
    bad.remove(at + 2 + 5);
    assert_eq!(
        Message::decode(&bad).unwrap_err().reason(),
        "bad_option_length"
    );
    assert!(PARAMETERS_WANTED.contains(&code::NTP_SERVERS));
}
