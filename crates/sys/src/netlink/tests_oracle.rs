//! Differential tests: `netlink-packet-route` (a dev-dependency, never in
//! the device binary) decodes what our rtnetlink code encodes and what it
//! decodes, and the two must agree field by field.
//!
//! - Encoding: every request shape the daemons send (RTM_NEWADDR and
//!   RTM_DELADDR, RTM_NEWROUTE and RTM_DELROUTE, RTM_NEWLINK for up/down and
//!   MTU) is built by our builders and decoded by the oracle; the oracle's
//!   reading must be the value we meant to send.
//! - Decoding: real kernel dumps (links, addresses with lifetimes, labels
//!   and peers, routes with gateways, metrics, tables, `unreachable` and
//!   expiry) captured in a test namespace, and the committed fuzz corpus of
//!   `crates/sys/fuzz` (golden datagrams and hostile ones), are decoded by
//!   both.
//!
//! Both sides are reduced to sorted "facts" (`"mtu=1454"`) so a difference
//! names the field. Where they disagree by design, the disagreement is
//! named, justified and asserted per input ([`KNOWN`]), so the test fails if
//! either side changes behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

use super::consts::*;
use super::tests_kernel::TestNs;
use super::*;

type Facts = BTreeSet<String>;

fn facts<const N: usize>(items: [(&str, String); N]) -> Facts {
    items.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// --- our values as facts ---------------------------------------------------

fn ours_link(l: &Link) -> Facts {
    facts([
        ("index", l.index.to_string()),
        ("name", l.name.clone()),
        ("flags", format!("{:#x}", l.flags.0)),
        ("hw_type", l.hw_type.to_string()),
        ("operstate", format!("{:?}", l.operstate)),
        ("carrier", opt(l.carrier)),
        ("mac", hex(&l.mac)),
        ("mtu", opt(l.mtu)),
    ])
}

fn ours_address(a: &Address) -> Facts {
    facts([
        ("index", a.index.to_string()),
        ("net", a.net.to_string()),
        ("peer", opt(a.peer)),
        ("scope", a.scope.0.to_string()),
        ("flags", format!("{:#x}", a.flags.0)),
        ("label", opt(a.label.as_ref())),
        ("preferred", opt(a.lifetimes.map(|l| l.preferred))),
        ("valid", opt(a.lifetimes.map(|l| l.valid))),
    ])
}

fn ours_route(r: &Route) -> Facts {
    facts([
        ("dst", r.dst.to_string()),
        ("gateway", opt(r.gateway)),
        ("oif", opt(r.oif)),
        ("type", r.kind.0.to_string()),
        ("protocol", r.protocol.0.to_string()),
        ("scope", r.scope.0.to_string()),
        ("table", r.table.to_string()),
        ("metric", opt(r.metric)),
        ("pref_src", opt(r.pref_src)),
        ("expires", opt(r.expires)),
    ])
}

// --- the oracle's values as the same facts ---------------------------------

fn theirs_link(m: &LinkMessage) -> Facts {
    let mut name = String::new();
    let (mut carrier, mut mac, mut mtu, mut oper) = (None, Vec::new(), None, 0u8);
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Carrier(c) => carrier = Some(*c != 0),
            LinkAttribute::Address(b) => mac = b.clone(),
            LinkAttribute::Mtu(v) => mtu = Some(*v),
            LinkAttribute::OperState(s) => oper = u8::from(*s),
            _ => {}
        }
    }
    facts([
        ("index", m.header.index.to_string()),
        ("name", name),
        ("flags", format!("{:#x}", m.header.flags.bits())),
        ("hw_type", u16::from(m.header.link_layer_type).to_string()),
        ("operstate", format!("{:?}", OperState::from_u8(oper))),
        ("carrier", opt(carrier)),
        ("mac", hex(&mac)),
        ("mtu", opt(mtu)),
    ])
}

fn theirs_address(m: &AddressMessage) -> Facts {
    let (mut local, mut address, mut label, mut cache) = (None, None, None, None);
    let mut flags = u32::from(m.header.flags.bits());
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Flags(f) => flags = f.bits(),
            AddressAttribute::CacheInfo(c) => cache = Some((c.ifa_preferred, c.ifa_valid)),
            _ => {}
        }
    }
    // The same reading of IFA_LOCAL/IFA_ADDRESS as ours (the peer on
    // point-to-point links), applied to the oracle's attributes.
    let (own, peer) = match (local, address) {
        (Some(l), Some(a)) if l != a => (l, Some(a)),
        (Some(l), _) => (l, None),
        (None, Some(a)) => (a, None),
        (None, None) => return facts([("missing", "IFA_ADDRESS".to_owned())]),
    };
    facts([
        ("index", m.header.index.to_string()),
        (
            "net",
            IpNet::new(own, m.header.prefix_len).unwrap().to_string(),
        ),
        ("peer", opt(peer)),
        ("scope", u8::from(m.header.scope).to_string()),
        ("flags", format!("{flags:#x}")),
        ("label", opt(label)),
        ("preferred", opt(cache.map(|c| c.0))),
        ("valid", opt(cache.map(|c| c.1))),
    ])
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn theirs_route(m: &RouteMessage) -> Facts {
    let h = &m.header;
    let mut dst: IpAddr = match u8::from(h.address_family) {
        AF_INET => std::net::Ipv4Addr::UNSPECIFIED.into(),
        _ => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let (mut gateway, mut oif, mut metric, mut pref_src, mut expires) =
        (None, None, None, None, None);
    let mut table = u32::from(h.table);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = route_ip(d).unwrap(),
            RouteAttribute::Gateway(g) => gateway = route_ip(g),
            RouteAttribute::PrefSource(p) => pref_src = route_ip(p),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = Some(*p),
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::CacheInfo(c) => {
                // rta_expires: signed clock ticks, 0 = does not expire.
                let ticks = c.expires as i32;
                if ticks > 0 {
                    expires = Some((ticks as u32).div_ceil(USER_HZ));
                }
            }
            _ => {}
        }
    }
    facts([
        (
            "dst",
            IpNet::new(dst, h.destination_prefix_length)
                .unwrap()
                .to_string(),
        ),
        ("gateway", opt(gateway)),
        ("oif", opt(oif)),
        ("type", u8::from(h.kind).to_string()),
        ("protocol", u8::from(h.protocol).to_string()),
        ("scope", u8::from(h.scope).to_string()),
        ("table", table.to_string()),
        ("metric", opt(metric)),
        ("pref_src", opt(pref_src)),
        ("expires", opt(expires)),
    ])
}

/// One message as both sides read it: its type and facts, or why not.
fn ours(msg: &[u8]) -> Result<(u16, Facts), String> {
    let mut all = parse_datagram(msg);
    assert!(all.len() <= 1, "one message at a time");
    let (h, m) = all.pop().ok_or("no message")?.map_err(|e| e.to_string())?;
    let f = match &m {
        Message::NewLink(l) | Message::DelLink(l) => ours_link(l),
        Message::NewAddress(a) | Message::DelAddress(a) => ours_address(a),
        Message::NewRoute(r) | Message::DelRoute(r) => ours_route(r),
        Message::Done => Facts::new(),
        Message::Ack(e) => facts([("errno", opt(e.as_ref().map(|e| e.errno)))]),
        Message::Other(_) | Message::NewNeighbour(_) => Facts::new(),
    };
    Ok((h.kind, f))
}

fn theirs(msg: &[u8]) -> Result<(u16, Facts), String> {
    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg).map_err(|e| e.to_string())?;
    let kind = m.header.message_type;
    let f = match &m.payload {
        NetlinkPayload::InnerMessage(inner) => match inner {
            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l) => theirs_link(l),
            RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a) => {
                theirs_address(a)
            }
            RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => theirs_route(r),
            _ => Facts::new(),
        },
        NetlinkPayload::Error(e) => facts([(
            "errno",
            opt(e.code.map(|c| c.get().checked_neg().unwrap_or(i32::MAX))),
        )]),
        _ => Facts::new(),
    };
    Ok((kind, f))
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Agree,
    BothReject,
    /// We reject it with this error; the oracle decodes something.
    OnlyTheyAccept(String),
    /// The oracle rejects it; we decode something.
    OnlyWeAccept(String),
    /// Both decode; these facts differ (ours minus theirs, theirs minus ours).
    Differ(Vec<String>, Vec<String>),
}

fn verdict(msg: &[u8]) -> Verdict {
    match (ours(msg), theirs(msg)) {
        (Ok(a), Ok(b)) if a == b => Verdict::Agree,
        (Ok((ka, fa)), Ok((kb, fb))) => {
            let mut only_a: Vec<String> = fa.difference(&fb).cloned().collect();
            let only_b: Vec<String> = fb.difference(&fa).cloned().collect();
            if ka != kb {
                only_a.push(format!("type={ka} vs {kb}"));
            }
            Verdict::Differ(only_a, only_b)
        }
        (Err(_), Err(_)) => Verdict::BothReject,
        (Err(e), Ok(_)) => Verdict::OnlyTheyAccept(e),
        (Ok(_), Err(e)) => Verdict::OnlyWeAccept(e),
    }
}

/// Splits a datagram into its messages by `nlmsg_len` (both decoders read
/// one message from the start of a buffer); a length that does not fit
/// leaves the rest as one last piece.
fn split(datagram: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        let len = rest
            .get(..4)
            .map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap()) as usize);
        if len < 16 || len > rest.len() {
            out.push(rest);
            break;
        }
        out.push(&rest[..len]);
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    out
}

/// Disagreements by design: (input#message, verdict, why).
const KNOWN: &[(&str, &str, &str)] = &[(
    "error-ack-min#0",
    "OnlyTheyAccept(\"bad nlmsgerr errno length 2147483647\")",
    "an ack whose error is i32::MIN (no errno negates to it): the oracle \
     keeps the raw code, we refuse an errno outside 1..4096 rather than \
     report a made-up one",
)];

/// Every message of every input agrees, or is named in `known` with exactly
/// that verdict; every entry of `known` was seen.
fn check(inputs: &[(String, Vec<u8>)], known: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    let mut seen = 0;
    for (name, datagram) in inputs {
        for (i, msg) in split(datagram).into_iter().enumerate() {
            let id = format!("{name}#{i}");
            let got = verdict(msg);
            match known.iter().find(|(n, _, _)| *n == id) {
                Some((_, want, why)) => {
                    seen += 1;
                    if format!("{got:?}") != *want {
                        failures.push(format!("{id}: {got:?}, known as {want} ({why})"));
                    }
                }
                // Both refusing hostile bytes is agreement.
                None if matches!(got, Verdict::Agree | Verdict::BothReject) => {}
                None => failures.push(format!("{id}: {got:?}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with netlink-packet-route:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        seen,
        known.len(),
        "an input named in the known list is missing"
    );
}

// --- encoding ----------------------------------------------------------------

fn new_flags() -> u16 {
    NLM_F_CREATE | NLM_F_REPLACE
}

/// The oracle's reading of a request we built, as (type, flags, facts).
fn oracle_reads(req: wire::RequestBuilder) -> (u16, u16, Facts) {
    let bytes = req.finish(7);
    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
    let (kind, f) = theirs(&bytes).unwrap();
    assert_eq!(m.header.sequence_number, 7);
    assert_eq!(usize::try_from(m.header.length).unwrap(), bytes.len());
    (kind, m.header.flags, f)
}

#[test]
fn address_requests_read_back_as_meant() {
    let mut v6 = Address::new(3, "2001:db8:0:1::1/64".parse().unwrap());
    v6.flags = AddrFlags(AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE);
    v6.lifetimes = Some(Lifetimes {
        preferred: 600,
        valid: 1200,
    });
    let mut v4 = Address::new(2, "192.0.2.10/24".parse().unwrap());
    v4.label = Some("wan0:1".into());
    v4.lifetimes = Some(Lifetimes::FOREVER);
    let mut ppp = Address::new(9, "100.64.0.2/32".parse().unwrap());
    ppp.peer = Some("100.64.0.1".parse().unwrap());
    for a in [&v6, &v4, &ppp] {
        let (kind, flags, f) = oracle_reads(addr::change_request(RTM_NEWADDR, new_flags(), a));
        assert_eq!(kind, RTM_NEWADDR);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | new_flags());
        assert_eq!(f, ours_address(a), "{a:?}");
        // A delete names the address only: no flags, lifetimes or label.
        let (kind, _, f) = oracle_reads(addr::change_request(RTM_DELADDR, 0, a));
        assert_eq!(kind, RTM_DELADDR);
        let bare = Address {
            flags: AddrFlags(a.flags.0 & 0xff),
            label: None,
            lifetimes: None,
            ..a.clone()
        };
        assert_eq!(f, ours_address(&bare), "{a:?}");
    }
}

#[test]
fn route_requests_read_back_as_meant() {
    let default6 = Route::unicast(
        "::/0".parse().unwrap(),
        Some("fe80::1".parse().unwrap()),
        Some(2),
    );
    let mut lan = Route::unicast("192.168.1.0/24".parse().unwrap(), None, Some(4));
    lan.metric = Some(100);
    lan.pref_src = Some("192.168.1.1".parse().unwrap());
    let mut other_table = Route::unreachable("2001:db8:0:ff00::/56".parse().unwrap());
    other_table.table = 1000;
    for r in [&default6, &lan, &other_table] {
        for (kind, extra) in [(RTM_NEWROUTE, new_flags()), (RTM_DELROUTE, 0)] {
            let (got, flags, f) = oracle_reads(route::change_request(kind, extra, r));
            assert_eq!((got, flags), (kind, NLM_F_REQUEST | NLM_F_ACK | extra));
            assert_eq!(f, ours_route(r), "{r:?}");
        }
    }
}

#[test]
fn link_requests_read_back_as_meant() {
    for up in [true, false] {
        let bytes = link::set_up_request(5, up).finish(1);
        let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) = m.payload else {
            panic!("not RTM_NEWLINK: {m:?}");
        };
        assert_eq!(l.header.index, 5);
        assert_eq!(l.header.flags.bits(), if up { LinkFlags::UP } else { 0 });
        assert_eq!(l.header.change_mask.bits(), LinkFlags::UP);
        assert!(l.attributes.is_empty());
    }
    let bytes = link::set_mtu_request(5, 1454).finish(1);
    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) = m.payload else {
        panic!("not RTM_NEWLINK: {m:?}");
    };
    assert_eq!((l.header.index, l.header.change_mask.bits()), (5, 0));
    assert_eq!(l.attributes, vec![LinkAttribute::Mtu(1454)]);
    let bytes = link::get_by_name_request("wan0").finish(1);
    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetLink(l)) = m.payload else {
        panic!("not RTM_GETLINK: {m:?}");
    };
    assert_eq!(l.attributes, vec![LinkAttribute::IfName("wan0".into())]);
}

#[test]
fn ip6tnl_request_reads_back_as_meant() {
    use netlink_packet_route::link::{InfoData, InfoIpTunnel, InfoKind, LinkInfo};
    let t = Ip6Tunnel {
        name: "dslite0".into(),
        link: 4,
        local: "2001:db8:1::2".parse().unwrap(),
        remote: "2001:db8:aa::1".parse().unwrap(),
        mtu: 1460,
    };
    let bytes = link::new_ip6tnl_request(&t).finish(1);
    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
    assert_eq!(
        m.header.flags,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    );
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) = m.payload else {
        panic!("not RTM_NEWLINK: {m:?}");
    };
    assert_eq!(l.header.index, 0);
    assert_eq!(l.attributes[0], LinkAttribute::IfName("dslite0".into()));
    assert_eq!(l.attributes[1], LinkAttribute::Mtu(1460));
    let LinkAttribute::LinkInfo(info) = &l.attributes[2] else {
        panic!("{:?}", l.attributes);
    };
    assert_eq!(info[0], LinkInfo::Kind(InfoKind::Ip6Tnl));
    let LinkInfo::Data(InfoData::IpTunnel(data)) = &info[1] else {
        panic!("{info:?}");
    };
    let text: Vec<String> = data.iter().map(|a| format!("{a:?}")).collect();
    assert_eq!(data[0], InfoIpTunnel::Link(4));
    assert_eq!(data[1], InfoIpTunnel::Local(IpAddr::V6(t.local)));
    assert_eq!(data[2], InfoIpTunnel::Remote(IpAddr::V6(t.remote)));
    assert_eq!(data[3], InfoIpTunnel::Ttl(64));
    assert_eq!(data[4], InfoIpTunnel::EncapLimit(0));
    assert!(
        text[5].contains("IGN_ENCAP_LIMIT") || text[5].contains("IgnEncapLimit"),
        "{}",
        text[5]
    );
    assert!(
        text[6].contains("Ipip") || text[6].contains("IpIp"),
        "{}",
        text[6]
    );
    assert_eq!(data.len(), 7);
    let bytes = link::del_request(9).finish(1);
    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) = m.payload else {
        panic!("not RTM_DELLINK: {m:?}");
    };
    assert_eq!(l.header.index, 9);
}

// --- decoding ------------------------------------------------------------------

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/netlink_parse");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} is empty", dir.display());
    out
}

#[test]
fn fuzz_corpus_decodes_alike() {
    check(&corpus(), KNOWN);
}

/// Every datagram of a dump, raw, as the kernel sent it.
fn raw_dump(req: wire::RequestBuilder) -> Vec<Vec<u8>> {
    let fd = socket::open_socket(false).unwrap();
    socket::set_recv_timeout(&fd, 2).unwrap();
    socket::send_to_kernel(&fd, &req.finish(1)).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = socket::recv_from_kernel(&fd, &mut buf).unwrap().unwrap();
        let d = buf[..n].to_vec();
        let done = split(&d)
            .iter()
            .any(|m| m.len() >= 6 && u16::from_ne_bytes([m[4], m[5]]) == NLMSG_DONE);
        out.push(d);
        if done {
            return out;
        }
    }
}

#[test]
fn kernel_dumps_decode_alike() {
    let ns = TestNs::new();
    ns.ip(&[
        "link", "add", "wan0", "mtu", "1454", "type", "veth", "peer", "name", "isp0",
    ]);
    ns.ip(&["link", "set", "wan0", "up"]);
    ns.ip(&["link", "set", "isp0", "up"]);
    for args in [
        &[
            "addr",
            "add",
            "2001:db8:0:1::1/64",
            "dev",
            "wan0",
            "valid_lft",
            "1200",
            "preferred_lft",
            "600",
            "nodad",
        ][..],
        &[
            "addr",
            "add",
            "192.0.2.10/24",
            "dev",
            "wan0",
            "label",
            "wan0:1",
        ],
        &[
            "addr",
            "add",
            "100.64.0.2",
            "peer",
            "100.64.0.1/32",
            "dev",
            "isp0",
        ],
        &[
            "route",
            "add",
            "198.51.100.0/24",
            "via",
            "192.0.2.1",
            "metric",
            "50",
        ],
        &[
            "route",
            "add",
            "203.0.113.0/24",
            "dev",
            "wan0",
            "table",
            "1000",
            "src",
            "192.0.2.10",
        ],
        &["-6", "route", "add", "unreachable", "2001:db8:0:ff00::/56"],
        &[
            "-6",
            "route",
            "add",
            "2001:db8:5::/64",
            "via",
            "fe80::1",
            "dev",
            "wan0",
            "expires",
            "300",
        ],
    ] {
        ns.ip(args);
    }
    let dumps = ns.run(|| {
        let mut all = Vec::new();
        for (what, req) in [
            ("link", link::dump_request()),
            ("addr", addr::dump_request(AF_UNSPEC)),
            ("route4", route::dump_request(AF_INET)),
            ("route6", route::dump_request(AF_INET6)),
        ] {
            for (i, d) in raw_dump(req).into_iter().enumerate() {
                all.push((format!("kernel-{what}-{i}"), d));
            }
        }
        all
    });
    // The dump holds what was set up (so the comparison is not vacuous).
    let mut kinds = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (_, d) in &dumps {
        for m in split(d) {
            if let Ok((k, f)) = ours(m) {
                kinds.insert(k);
                seen.extend(f);
            }
        }
    }
    for want in [
        "mtu=1454",
        "net=2001:db8:0:1::1/64",
        "preferred=600",
        "label=wan0:1",
        "peer=100.64.0.1",
        "metric=50",
        "table=1000",
        "type=7",
        "expires=300",
    ] {
        assert!(seen.contains(want), "{want} not in the dump: {seen:?}");
    }
    assert!(kinds.is_superset(&[RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE].into()));
    check(&dumps, &[]);
}

#[test]
fn a_changed_field_is_reported_by_name() {
    let mut a = Address::new(3, "2001:db8::1/64".parse().unwrap());
    a.lifetimes = Some(Lifetimes {
        preferred: 600,
        valid: 1200,
    });
    let mut bytes = addr::change_request(RTM_NEWADDR, 0, &a).finish(1);
    assert_eq!(verdict(&bytes), Verdict::Agree);
    // Our reading and the oracle's must both see a changed valid lifetime
    // (IFA_CACHEINFO is last: preferred, valid, cstamp, tstamp), and a
    // one-sided change is named.
    let at = bytes.len() - 12;
    bytes[at..at + 4].copy_from_slice(&7u32.to_ne_bytes());
    assert_eq!(verdict(&bytes), Verdict::Agree);
    let (_, ours_f) = ours(&bytes).unwrap();
    assert!(ours_f.contains("valid=7"), "{ours_f:?}");
    let (_, mut theirs_f) = theirs(&bytes).unwrap();
    theirs_f.remove("valid=7");
    theirs_f.insert("valid=8".into());
    let diff: Vec<_> = ours_f.difference(&theirs_f).cloned().collect();
    assert_eq!(diff, vec!["valid=7".to_owned()]);
}
