//! The RFC 1035 limits at their edges, and every codec held to them.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::{dhcpv4, dhcpv6, dns, nd};

/// Labels of `a`s whose wire form (root included) is `total` octets.
fn labels_for(total: usize) -> Vec<usize> {
    let mut left = total - 1;
    let mut out = Vec::new();
    while left > 0 {
        let l = (left - 1).min(MAX_LABEL_LEN);
        out.push(l);
        left -= l + 1;
    }
    out
}

fn text(labels: &[usize]) -> String {
    labels
        .iter()
        .map(|&l| "a".repeat(l))
        .collect::<Vec<_>>()
        .join(".")
}

fn wire(labels: &[usize]) -> Vec<u8> {
    let mut w = Vec::new();
    for &l in labels {
        w.push(l as u8);
        w.extend(std::iter::repeat_n(b'a', l));
    }
    w.push(0);
    w
}

/// Every way [`Name`] is made, from `labels`: from labels, dotted text,
/// presentation text, and the wire under each compression policy.
fn made(labels: &[usize]) -> [Result<Name, NameError>; 6] {
    let (t, w) = (text(labels), wire(labels));
    let raw: Vec<Vec<u8>> = labels.iter().map(|&l| vec![b'a'; l]).collect();
    let dec = |c| Name::decode(&w, 0, c).map(|(n, _)| n);
    [
        Name::from_labels(raw.iter().map(Vec::as_slice)),
        Name::from_dotted(&t),
        Name::from_presentation(&t),
        dec(Compression::Forbidden),
        dec(Compression::Backward),
        dec(Compression::Any),
    ]
}

#[test]
fn label_of_63_octets_is_a_name_and_64_is_not() {
    for r in made(&[MAX_LABEL_LEN, 3]) {
        assert_eq!(r.unwrap().as_wire(), wire(&[MAX_LABEL_LEN, 3]));
    }
    let [labels, dotted, presentation, forbidden, backward, any] = made(&[MAX_LABEL_LEN + 1, 3]);
    assert_eq!(labels, Err(NameError::LabelTooLong));
    assert_eq!(dotted, Err(NameError::LabelTooLong));
    assert_eq!(presentation, Err(NameError::LabelTooLong));
    // On the wire 64 is 0b01_000000, a reserved label type (RFC 6891 9).
    for r in [forbidden, backward, any] {
        assert_eq!(r, Err(NameError::BadLabelType));
    }
}

#[test]
fn name_of_255_octets_is_a_name_and_256_is_not() {
    let at = labels_for(MAX_NAME_LEN);
    assert_eq!(wire(&at).len(), MAX_NAME_LEN);
    for r in made(&at) {
        let n = r.unwrap();
        assert_eq!(n.wire_len(), MAX_NAME_LEN);
        assert_eq!(n.as_wire(), wire(&at));
    }
    let over = labels_for(MAX_NAME_LEN + 1);
    assert_eq!(wire(&over).len(), MAX_NAME_LEN + 1);
    for r in made(&over) {
        assert_eq!(r, Err(NameError::NameTooLong));
    }
    // 253 characters of text (no final dot) is the longest dotted name.
    assert_eq!(text(&at).len(), 253);
}

#[test]
fn empty_labels_are_refused_and_root_is_a_name() {
    for t in ["a..b", ".a", "a.."] {
        assert_eq!(Name::from_dotted(t), Err(NameError::EmptyLabel), "{t}");
        assert_eq!(
            Name::from_presentation(t),
            Err(NameError::EmptyLabel),
            "{t}"
        );
    }
    assert_eq!(Name::from_presentation(""), Err(NameError::EmptyLabel));
    assert_eq!(Name::from_labels([&b""[..]]), Err(NameError::EmptyLabel));
    for root in [
        Name::root(),
        Name::from_dotted("").unwrap(),
        Name::from_dotted(".").unwrap(),
        Name::from_presentation(".").unwrap(),
        Name::decode(&[0], 0, Compression::Forbidden).unwrap().0,
    ] {
        assert!(root.is_root());
        assert_eq!(root.as_wire(), [0]);
        assert_eq!(root.to_string(), ".");
        assert_eq!(root.labels().count(), 0);
    }
}

#[test]
fn comparison_ignores_ascii_case_only() {
    use std::collections::hash_map::DefaultHasher;
    let hash = |n: &Name| {
        let mut h = DefaultHasher::new();
        n.hash(&mut h);
        h.finish()
    };
    let a = Name::from_dotted("Router.LAN").unwrap();
    let b = Name::from_dotted("router.lan").unwrap();
    assert_eq!(a, b);
    assert_eq!(hash(&a), hash(&b));
    assert_eq!(a.as_wire(), b"\x06Router\x03LAN\x00", "octets kept as sent");
    assert_eq!(a.to_lowercase().as_wire(), b.as_wire());
    // Only ASCII letters fold: 0xC4 and 0xE4 (Latin-1 Ä/ä) differ.
    let upper = Name::from_labels([&[0xc4][..]]).unwrap();
    let lower = Name::from_labels([&[0xe4][..]]).unwrap();
    assert_ne!(upper, lower);
    assert!(a.is_subdomain_of(&Name::from_dotted("lan").unwrap()));
    assert!(!a.is_subdomain_of(&Name::from_dotted("an").unwrap()));
}

#[test]
fn compression_pointers_follow_the_format() {
    // "lan" at 0, then "router" + pointer to 0 at 5.
    let msg = b"\x03lan\x00\x06router\xc0\x00";
    let (n, end) = Name::decode(msg, 5, Compression::Any).unwrap();
    assert_eq!(n.as_wire(), b"\x06router\x03lan\x00");
    assert_eq!(end, msg.len());
    assert_eq!(
        Name::decode(msg, 5, Compression::Backward).unwrap(),
        (n, end)
    );
    assert_eq!(
        Name::decode(msg, 5, Compression::Forbidden),
        Err(NameError::Compressed)
    );
    // A pointer to itself: refused as not backwards, or as a loop.
    let msg = b"\x01a\xc0\x02";
    assert_eq!(
        Name::decode(msg, 0, Compression::Backward),
        Err(NameError::BadPointer)
    );
    assert_eq!(
        Name::decode(msg, 0, Compression::Any),
        Err(NameError::PointerLoop)
    );
    assert_eq!(
        Name::decode(b"\x01a\xc0", 0, Compression::Any),
        Err(NameError::Truncated)
    );
    assert_eq!(
        Name::decode(b"\x03ab", 0, Compression::Any),
        Err(NameError::Truncated)
    );
    assert_eq!(
        Name::decode(b"\x80", 0, Compression::Any),
        Err(NameError::BadLabelType)
    );
}

#[test]
fn presentation_form_escapes_odd_octets_and_reads_back() {
    let n = Name::decode(b"\x03a.b\x02\x01z\x00", 0, Compression::Forbidden)
        .unwrap()
        .0;
    assert_eq!(n.to_string(), "a\\.b.\\001z");
    assert_eq!(
        Name::from_presentation("a\\.b.\\001z").unwrap().as_wire(),
        n.as_wire()
    );
    let esc = |t: &str| Name::from_presentation(t);
    assert_eq!(esc("a\\\\b").unwrap().as_wire(), b"\x03a\\b\x00");
    assert_eq!(esc("a\\"), Err(NameError::BadEscape));
    assert_eq!(esc("a\\25"), Err(NameError::BadEscape));
    assert_eq!(esc("a\\256"), Err(NameError::BadEscape));
    for plain in ["example.com", "example.com.", "."] {
        assert_eq!(
            esc(plain).unwrap().as_wire(),
            Name::from_dotted(plain).unwrap().as_wire()
        );
    }
    // A label of 63 escaped octets is 63 octets, not 252 characters.
    let long = "\\255".repeat(MAX_LABEL_LEN);
    assert_eq!(esc(&long).unwrap().wire_len(), MAX_LABEL_LEN + 2);
    assert_eq!(esc(&format!("{long}\\255")), Err(NameError::LabelTooLong));
}

proptest::proptest! {
    /// Text written by `Display` (status, the DHCPv6 client's lease file)
    /// reads back as the same octets, whatever the labels hold, and the wire
    /// form decodes to them too.
    #[test]
    fn presentation_and_wire_forms_round_trip(
        labels in proptest::collection::vec(
            proptest::collection::vec(proptest::prelude::any::<u8>(), 1..=MAX_LABEL_LEN),
            0..6,
        ),
    ) {
        if let Ok(n) = Name::from_labels(labels.iter().map(Vec::as_slice)) {
            let (back, end) = Name::decode(n.as_wire(), 0, Compression::Forbidden).unwrap();
            proptest::prop_assert_eq!(back.as_wire(), n.as_wire());
            proptest::prop_assert_eq!(end, n.wire_len());
            let text = Name::from_presentation(&n.to_string()).unwrap();
            proptest::prop_assert_eq!(text.as_wire(), n.as_wire());
        }
    }

    /// Any bytes: decoding never panics, and what it returns is within the
    /// limits and re-decodes to itself.
    #[test]
    fn decode_of_any_bytes_stays_within_limits(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        off in 0usize..300,
    ) {
        for c in [Compression::Forbidden, Compression::Backward, Compression::Any] {
            if let Ok((n, end)) = Name::decode(&bytes, off, c) {
                proptest::prop_assert!(n.wire_len() <= MAX_NAME_LEN);
                proptest::prop_assert!(n.labels().all(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN));
                proptest::prop_assert!(end <= bytes.len());
                let again = Name::decode(n.as_wire(), 0, Compression::Forbidden).unwrap().0;
                proptest::prop_assert_eq!(again.as_wire(), n.as_wire());
            }
        }
    }
}

/// A DHCPv6 Reply whose only option is a Domain Search List (24).
fn dhcpv6_with(name: &[u8]) -> Vec<u8> {
    let mut m = vec![7, 0, 0, 1, 0, 24];
    m.extend_from_slice(&(name.len() as u16).to_be_bytes());
    m.extend_from_slice(name);
    m
}

/// Whether each codec accepts the name, from text and from the wire:
/// (dns, dhcpv6, nd, dhcpv4) x (text, wire).
fn accepted(labels: &[usize]) -> [bool; 8] {
    let (t, w) = (text(labels), wire(labels));
    [
        dns::NameBuf::from_text(&t).is_some(),
        dns::read_name(&w, 0).is_ok(),
        dhcpv6::DomainName::from_dotted(&t).is_ok(),
        dhcpv6::Message::decode(&dhcpv6_with(&w)).is_ok(),
        nd::DomainName::parse(&t).is_ok(),
        nd::DomainName::read_wire(&w).is_ok(),
        dhcpv4::encode_domain_search(std::slice::from_ref(&t)).is_ok(),
        dhcpv4::decode_domain_search(&w).is_ok(),
    ]
}

#[test]
fn every_codec_has_the_rfc_1035_limits() {
    assert_eq!(accepted(&labels_for(MAX_NAME_LEN)), [true; 8], "255 octets");
    assert_eq!(
        accepted(&labels_for(MAX_NAME_LEN + 1)),
        [false; 8],
        "256 octets"
    );
    assert_eq!(accepted(&[MAX_LABEL_LEN, 3]), [true; 8], "63-octet label");
    let long_label = [MAX_LABEL_LEN + 1, 3];
    let (t, w) = (text(&long_label), wire(&long_label));
    // From text every codec refuses; on the wire a length byte of 64 is a
    // reserved label type (0b01), which every decoder refuses too.
    assert_eq!(accepted(&long_label), [false; 8], "{t} / {w:02x?}");
}
