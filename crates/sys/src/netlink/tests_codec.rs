//! Codec tests on hand-built and round-tripped messages (no kernel needed).

use super::consts::*;
use super::wire::RequestBuilder;
use super::*;
use ipnet::IpNet;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Turns a request into the datagram form the kernel would send back
/// (requests and notifications share the layout).
fn as_datagram(req: RequestBuilder) -> Vec<u8> {
    req.finish(42)
}

fn only_message(buf: &[u8]) -> Message {
    let mut all = parse_datagram(buf);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0).expect("parses").1
}

#[test]
fn address_request_decodes_back() {
    let mut a = Address::new(7, "2001:db8::1/64".parse().unwrap());
    a.flags = AddrFlags(AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE);
    a.lifetimes = Some(Lifetimes {
        preferred: 100,
        valid: 200,
    });
    let buf = as_datagram(addr::change_request(RTM_NEWADDR, 0, &a));
    assert_eq!(only_message(&buf), Message::NewAddress(a));
}

#[test]
fn unreachable_route_request_decodes_back() {
    let r = Route::unreachable("2001:db8:1::/56".parse().unwrap());
    let buf = as_datagram(route::change_request(RTM_NEWROUTE, 0, &r));
    assert_eq!(only_message(&buf), Message::NewRoute(r));
}

#[test]
fn every_truncation_of_a_message_is_an_error_not_a_panic() {
    let mut a = Address::new(3, "192.0.2.5/24".parse().unwrap());
    a.lifetimes = Some(Lifetimes::FOREVER);
    let buf = as_datagram(addr::change_request(RTM_NEWADDR, 0, &a));
    for cut in 0..buf.len() {
        let r = parse_datagram(&buf[..cut]);
        // A cut datagram either has no message or a failing one; never a
        // silently shortened address.
        assert!(r.iter().all(|m| m.is_err()), "cut at {cut}: {r:?}");
    }
}

#[test]
fn attribute_with_wrong_size_is_rejected() {
    // IFA_CACHEINFO of 8 bytes instead of 16.
    let buf = RequestBuilder::new(RTM_NEWADDR, 0)
        .fixed(&[AF_INET6, 64, 0, 0, 1, 0, 0, 0])
        .attr(IFA_ADDRESS, &Ipv6Addr::LOCALHOST.octets())
        .attr(IFA_CACHEINFO, &[0; 8])
        .finish(1);
    let r = parse_datagram(&buf);
    assert_eq!(
        r[0],
        Err(ParseError::BadAttribute {
            what: "IFA_CACHEINFO",
            len: 8
        })
    );
}

#[test]
fn address_size_must_match_family() {
    let buf = RequestBuilder::new(RTM_NEWADDR, 0)
        .fixed(&[AF_INET6, 64, 0, 0, 1, 0, 0, 0])
        .attr(IFA_ADDRESS, &[192, 0, 2, 1])
        .finish(1);
    assert!(matches!(
        parse_datagram(&buf)[0],
        Err(ParseError::BadAttribute {
            what: "IFA_ADDRESS",
            len: 4
        })
    ));
}

#[test]
fn prefix_length_beyond_address_is_rejected() {
    let buf = RequestBuilder::new(RTM_NEWADDR, 0)
        .fixed(&[AF_INET, 33, 0, 0, 1, 0, 0, 0])
        .attr(IFA_LOCAL, &[192, 0, 2, 1])
        .finish(1);
    assert_eq!(parse_datagram(&buf)[0], Err(ParseError::BadPrefixLen(33)));
}

#[test]
fn bad_message_does_not_hide_the_next_one() {
    let bad = RequestBuilder::new(RTM_NEWROUTE, 0)
        .fixed(&[99; 12])
        .finish(1);
    let good = RequestBuilder::new(RTM_NEWLINK, 0)
        .fixed(&[0; 16])
        .attr(IFLA_IFNAME, b"wan0\0")
        .finish(2);
    let mut both = bad.clone();
    both.extend_from_slice(&good);
    let r = parse_datagram(&both);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0], Err(ParseError::UnknownFamily(99)));
    match &r[1] {
        Ok((_, Message::NewLink(l))) => assert_eq!(l.name, "wan0"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn length_field_past_the_end_stops_framing() {
    let mut buf = RequestBuilder::new(RTM_NEWLINK, 0)
        .fixed(&[0; 16])
        .finish(1);
    buf[0] = 200; // claims 200 bytes
    assert_eq!(
        parse_datagram(&buf),
        vec![Err(ParseError::BadLength {
            what: "nlmsghdr",
            len: 200
        })]
    );
}

#[test]
fn error_ack_carries_errno_and_extended_text() {
    let mut payload = (-17i32).to_ne_bytes().to_vec();
    // capped echo of the request header
    payload.extend_from_slice(&[16, 0, 0, 0, 24, 0, 5, 6, 1, 0, 0, 0, 0, 0, 0, 0]);
    // NLMSGERR_ATTR_MSG "exists"
    payload.extend_from_slice(&[11, 0, 1, 0]);
    payload.extend_from_slice(b"exists\0\0");
    let buf = RequestBuilder::new(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS)
        .fixed(&payload)
        .finish(1);
    match only_message(&buf) {
        Message::Ack(Some(e)) => {
            assert_eq!(e.errno, 17);
            assert_eq!(e.message.as_deref(), Some("exists"));
            let io = e.to_io("add route x");
            assert_eq!(kernel_errno(&io), Some(17));
            assert!(
                io.to_string().starts_with("add route x: File exists"),
                "{io}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn route_expiry_is_read_in_seconds() {
    let mut ci = [0u8; 32];
    ci[8..12].copy_from_slice(&(150_001i32).to_ne_bytes()); // 1500.01 s
    let buf = RequestBuilder::new(RTM_NEWROUTE, 0)
        .fixed(&[AF_INET6, 0, 0, 0, 254, 9, 0, 1, 0, 0, 0, 0])
        .attr(
            RTA_GATEWAY,
            &"fe80::1".parse::<Ipv6Addr>().unwrap().octets(),
        )
        .attr_u32(RTA_OIF, 2)
        .attr(RTA_CACHEINFO, &ci)
        .finish(1);
    match only_message(&buf) {
        Message::NewRoute(r) => {
            assert!(r.is_default());
            assert_eq!(r.protocol, RouteProtocol::RA);
            assert_eq!(r.expires, Some(1501));
            assert_eq!(r.gateway, Some("fe80::1".parse().unwrap()));
        }
        other => panic!("{other:?}"),
    }
}

fn any_ip_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, l)| IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), l).unwrap()),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, l)| IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), l).unwrap()),
    ]
}

proptest! {
    #[test]
    fn address_round_trips(net in any_ip_net(), index in any::<u32>(), flags in any::<u32>(),
                           scope in any::<u8>(), lt in proptest::option::of((any::<u32>(), any::<u32>()))) {
        let mut a = Address::new(index, net);
        a.flags = AddrFlags(flags);
        a.scope = Scope(scope);
        a.lifetimes = lt.map(|(preferred, valid)| Lifetimes { preferred, valid });
        let buf = addr::change_request(RTM_NEWADDR, 0, &a).finish(9);
        prop_assert_eq!(only_message(&buf), Message::NewAddress(a));
    }

    #[test]
    fn route_round_trips(dst in any_ip_net(), oif in proptest::option::of(any::<u32>()),
                         metric in proptest::option::of(any::<u32>()), kind in any::<u8>(),
                         proto in any::<u8>(), table in any::<u32>(), gw in any::<u128>()) {
        let dst = dst.trunc();
        let gateway = match dst {
            IpNet::V4(_) => IpAddr::V4(Ipv4Addr::from(gw as u32)),
            IpNet::V6(_) => IpAddr::V6(Ipv6Addr::from(gw)),
        };
        let mut r = Route::unicast(dst, Some(gateway), oif);
        r.metric = metric;
        r.kind = RouteType(kind);
        r.protocol = RouteProtocol(proto);
        r.table = if table == 0 { 254 } else { table };
        let buf = route::change_request(RTM_NEWROUTE, 0, &r).finish(9);
        prop_assert_eq!(only_message(&buf), Message::NewRoute(r));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_datagram(&data);
        let mut n = 0;
        let _ = decode_events(&data, &mut n);
    }
}
