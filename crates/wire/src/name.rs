//! The RFC 1035 limits every domain name in these codecs obeys, in one
//! place: a label holds at most 63 octets, a name at most 255 octets in
//! uncompressed wire form, root label included (RFC 1035 2.3.4).
//!
//! Each protocol keeps its own name type because what else it allows
//! differs by RFC: DNS and DHCPv6 carry any octets ([`crate::dns::NameBuf`],
//! [`crate::dhcpv6::DomainName`]), DHCPv4's search list printable ASCII
//! ([`crate::dhcpv4::decode_domain_search`]), and ND's DNSSL host-name
//! characters only ([`crate::nd::DomainName`]). The lengths are the same
//! for all four, and the test below holds them to it.

/// Longest label (RFC 1035 2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in uncompressed wire form, root label included
/// (RFC 1035 2.3.4).
pub const MAX_NAME_LEN: usize = 255;

#[cfg(test)]
mod tests {
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

    /// A DHCPv6 Reply whose only option is a Domain Search List (24).
    fn dhcpv6_with(name: &[u8]) -> Vec<u8> {
        let mut m = vec![7, 0, 0, 1, 0, 24];
        m.extend_from_slice(&(name.len() as u16).to_be_bytes());
        m.extend_from_slice(name);
        m
    }

    /// Whether each of the four codecs accepts the name, from text and from
    /// the wire: (dns, dhcpv6, nd, dhcpv4) x (text, wire).
    fn accepted(labels: &[usize]) -> [bool; 8] {
        let (t, w) = (text(labels), wire(labels));
        [
            dns::NameBuf::from_text(&t).is_some(),
            dns::NameBuf::read(&w, 0).is_ok(),
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
        assert_eq!(wire(&labels_for(MAX_NAME_LEN)).len(), MAX_NAME_LEN);
        assert_eq!(accepted(&labels_for(MAX_NAME_LEN)), [true; 8], "255 octets");
        assert_eq!(
            accepted(&labels_for(MAX_NAME_LEN + 1)),
            [false; 8],
            "256 octets"
        );
        assert_eq!(accepted(&[MAX_LABEL_LEN, 3]), [true; 8], "63-octet label");
        let long_label = [MAX_LABEL_LEN + 1, 3];
        let (t, w) = (text(&long_label), wire(&long_label));
        // From text every type refuses; on the wire a length byte of 64 is
        // a reserved label type (0b01), which every decoder refuses too.
        assert_eq!(accepted(&long_label), [false; 8], "{t} / {w:02x?}");
    }
}
