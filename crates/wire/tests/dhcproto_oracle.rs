//! Differential tests: `dhcproto` (a dev-dependency, never in the device
//! binary) decodes the committed fuzz corpora and golden packets of DHCPv4
//! and DHCPv6 alongside our codecs, and the two must agree on what both
//! decode: message type, transaction id, and every option our codec types,
//! with its value.
//!
//! Both sides are reduced to sorted "facts" (`"opt 3 iaid=1 t1=0 t2=0"`) so
//! a difference names the field. Where the two disagree by design, the
//! disagreement is named, justified and asserted per input (`KNOWN_V4`,
//! `KNOWN_V6`), so the test fails if either codec starts behaving
//! differently, in either direction:
//! - dhcproto is lax where we are strict: it never fails on an option
//!   (a malformed option ends its option parse silently), does not check
//!   the magic cookie, the hardware type or option overload, and accepts
//!   relay messages and compressed names in DHCPv6 (RFC 8415 section 10
//!   forbids them). We reject all of these with a typed error.
//! - dhcproto leaves SOL_MAX_RT (82) and INF_MAX_RT (83) untyped; we type
//!   them. Their bytes must still be our value. Same for AFTR-Name (64)
//!   and the MAP-E container (94): dhcproto keeps them raw, and our
//!   re-encoded body must be those bytes.
//!
//! Split DHCPv4 options (RFC 3396) are not a disagreement: both
//! concatenate (`golden_offer_70_dns`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use cpe_wire::{dhcpv4, dhcpv6};
use dhcproto::{Decodable, Decoder};

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
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

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A domain name as text without the final dot, for both sides.
fn name_text(n: impl ToString) -> String {
    let t = n.to_string();
    t.strip_suffix('.').map(str::to_owned).unwrap_or(t)
}

type Facts = BTreeSet<String>;

// ---------------------------------------------------------------- DHCPv4

fn ours_v4(m: &dhcpv4::Message) -> Facts {
    let o = &m.options;
    let mut f = Facts::new();
    f.insert(format!(
        "op={} xid={:08x} chaddr={}",
        m.op,
        m.xid,
        hex(&m.chaddr)
    ));
    f.insert(format!(
        "ci={} yi={} si={} gi={}",
        m.ciaddr, m.yiaddr, m.siaddr, m.giaddr
    ));
    if let Some(t) = o.message_type {
        f.insert(format!("opt 53 {}", t.to_u8()));
    }
    let ips = |f: &mut Facts, code: u8, v: Option<Ipv4Addr>| {
        if let Some(a) = v {
            f.insert(format!("opt {code} {a}"));
        }
    };
    ips(&mut f, 54, o.server_id);
    ips(&mut f, 50, o.requested_ip);
    ips(&mut f, 1, o.subnet_mask);
    ips(&mut f, 28, o.broadcast_address);
    for (code, v) in [
        (51, o.lease_time),
        (58, o.renewal_time),
        (59, o.rebinding_time),
    ] {
        if let Some(v) = v {
            f.insert(format!("opt {code} {v}"));
        }
    }
    for (code, list) in [(3, &o.routers), (6, &o.dns_servers), (42, &o.ntp_servers)] {
        if !list.is_empty() {
            f.insert(format!("opt {code} {list:?}"));
        }
    }
    for (code, t) in [(12, &o.hostname), (15, &o.domain_name), (56, &o.message)] {
        if let Some(t) = t {
            f.insert(format!("opt {code} {t}"));
        }
    }
    if !o.client_id.is_empty() {
        f.insert(format!("opt 61 {}", hex(&o.client_id)));
    }
    if !o.parameter_list.is_empty() {
        f.insert(format!("opt 55 {:?}", o.parameter_list));
    }
    if let Some(s) = o.max_message_size {
        f.insert(format!("opt 57 {s}"));
    }
    if !o.domain_search.is_empty() {
        let names: Vec<String> = o.domain_search.iter().map(name_text).collect();
        f.insert(format!("opt 119 {names:?}"));
    }
    f
}

fn theirs_v4(m: &dhcproto::v4::Message) -> Facts {
    use dhcproto::v4::DhcpOption as O;
    let mut f = Facts::new();
    let chaddr = m.chaddr().get(..6).unwrap_or(&[]);
    f.insert(format!(
        "op={} xid={:08x} chaddr={}",
        u8::from(m.opcode()),
        m.xid(),
        hex(chaddr)
    ));
    f.insert(format!(
        "ci={} yi={} si={} gi={}",
        m.ciaddr(),
        m.yiaddr(),
        m.siaddr(),
        m.giaddr()
    ));
    for (_, opt) in m.opts().iter() {
        let fact = match opt {
            O::MessageType(t) => format!("opt 53 {}", u8::from(*t)),
            O::ServerIdentifier(a) => format!("opt 54 {a}"),
            O::RequestedIpAddress(a) => format!("opt 50 {a}"),
            O::SubnetMask(a) => format!("opt 1 {a}"),
            O::BroadcastAddr(a) => format!("opt 28 {a}"),
            O::AddressLeaseTime(v) => format!("opt 51 {v}"),
            O::Renewal(v) => format!("opt 58 {v}"),
            O::Rebinding(v) => format!("opt 59 {v}"),
            O::Router(l) if !l.is_empty() => format!("opt 3 {l:?}"),
            O::DomainNameServer(l) if !l.is_empty() => format!("opt 6 {l:?}"),
            O::NtpServers(l) if !l.is_empty() => format!("opt 42 {l:?}"),
            O::Hostname(t) => format!("opt 12 {t}"),
            O::DomainName(t) => format!("opt 15 {t}"),
            O::Message(t) => format!("opt 56 {t}"),
            O::ClientIdentifier(b) if !b.is_empty() => format!("opt 61 {}", hex(b)),
            O::ParameterRequestList(l) if !l.is_empty() => {
                let codes: Vec<u8> = l.iter().map(|c| u8::from(*c)).collect();
                format!("opt 55 {codes:?}")
            }
            O::MaxMessageSize(s) => format!("opt 57 {s}"),
            O::DomainSearch(l) if !l.is_empty() => {
                let names: Vec<String> = l.iter().map(name_text).collect();
                format!("opt 119 {names:?}")
            }
            _ => continue,
        };
        f.insert(fact);
    }
    f
}

/// What happened to one input, for the known-disagreement tables.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Both decode and every compared fact agrees.
    Agree,
    /// Both reject it.
    BothReject,
    /// We reject it with this reason; dhcproto decodes something.
    OnlyTheyAccept(&'static str),
    /// Both decode, and these facts differ (ours minus theirs, theirs
    /// minus ours).
    Differ(Vec<String>, Vec<String>),
}

fn verdict<A, B>(
    ours: Result<A, &'static str>,
    theirs: Option<B>,
    facts_a: impl Fn(&A) -> Facts,
    facts_b: impl Fn(&B) -> Facts,
) -> Verdict {
    match (ours, theirs) {
        (Ok(a), Some(b)) => {
            let (fa, fb) = (facts_a(&a), facts_b(&b));
            if fa == fb {
                Verdict::Agree
            } else {
                Verdict::Differ(
                    fa.difference(&fb).cloned().collect(),
                    fb.difference(&fa).cloned().collect(),
                )
            }
        }
        (Ok(_), None) => panic!("we accept what dhcproto rejects: not expected"),
        (Err(_), None) => Verdict::BothReject,
        (Err(r), Some(_)) => Verdict::OnlyTheyAccept(r),
    }
}

fn v4(bytes: &[u8]) -> Verdict {
    verdict(
        dhcpv4::Message::decode(bytes).map_err(|e| e.reason()),
        dhcproto::v4::Message::decode(&mut Decoder::new(bytes)).ok(),
        ours_v4,
        theirs_v4,
    )
}

/// Golden DHCPv4 messages from our encoder: what the server and the client
/// send, including values long enough to be split (RFC 3396).
fn golden_v4() -> Vec<(String, Vec<u8>)> {
    let mut offer = dhcpv4::Message {
        op: dhcpv4::OP_REPLY,
        hops: 0,
        xid: 0x1234_5678,
        secs: 0,
        flags: dhcpv4::FLAG_BROADCAST,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::new(192, 168, 1, 50),
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr: [2, 0, 0, 0, 0, 1],
        options: dhcpv4::Options::default(),
    };
    let o = &mut offer.options;
    o.message_type = Some(dhcpv4::MessageType::Offer);
    o.server_id = Some(Ipv4Addr::new(192, 168, 1, 1));
    o.lease_time = Some(3600);
    o.renewal_time = Some(1800);
    o.rebinding_time = Some(3150);
    o.subnet_mask = Some(Ipv4Addr::new(255, 255, 255, 0));
    o.broadcast_address = Some(Ipv4Addr::new(192, 168, 1, 255));
    o.routers = vec![Ipv4Addr::new(192, 168, 1, 1)];
    o.dns_servers = vec![Ipv4Addr::new(192, 168, 1, 1)];
    o.domain_name = Some("lan".into());
    o.domain_search = vec!["lan".into(), "home.example".into()];
    let mut big = offer.clone();
    big.options.dns_servers = (0..70).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    let mut request = offer.clone();
    request.op = dhcpv4::OP_REQUEST;
    request.yiaddr = Ipv4Addr::UNSPECIFIED;
    request.options = dhcpv4::Options {
        message_type: Some(dhcpv4::MessageType::Request),
        server_id: Some(Ipv4Addr::new(192, 168, 1, 1)),
        requested_ip: Some(Ipv4Addr::new(192, 168, 1, 50)),
        client_id: vec![1, 2, 0, 0, 0, 0, 1],
        hostname: Some("laptop".into()),
        parameter_list: dhcpv4::PARAMETERS_WANTED.to_vec(),
        max_message_size: Some(1500),
        ..dhcpv4::Options::default()
    };
    [
        ("golden_offer", offer),
        ("golden_offer_70_dns", big),
        ("golden_request", request),
    ]
    .into_iter()
    .map(|(n, m)| {
        let Ok(b) = m.to_bytes();
        (n.to_owned(), b)
    })
    .collect()
}

/// DHCPv4 inputs the two decoders do not both decode the same way: the
/// input, what happens, and why that is right for a router.
const KNOWN_V4: &[(&str, Verdict, &str)] = &[
    (
        "offer_search",
        Verdict::OnlyTheyAccept("bad_domain_name"),
        "option 119 ends inside a compression pointer; dhcproto drops the \
         option and keeps the message, we count the damaged message",
    ),
    (
        "overload",
        Verdict::OnlyTheyAccept("option_overload"),
        "option 52 moves options into sname/file; dhcproto ignores it and \
         acts on half the options, we refuse the message",
    ),
    (
        "pointer_loop",
        Verdict::OnlyTheyAccept("bad_domain_name"),
        "a compression loop in option 119; dhcproto drops the option",
    ),
    (
        "truncated_option",
        Verdict::OnlyTheyAccept("truncated_option"),
        "an option runs past the message; dhcproto silently stops reading \
         options there",
    ),
    (
        "short",
        Verdict::BothReject,
        "shorter than the fixed header",
    ),
];

/// Every input either agrees or is in `known` with exactly that verdict,
/// and every entry of `known` was seen.
fn check(
    inputs: Vec<(String, Vec<u8>)>,
    known: &[(&str, Verdict, &str)],
    run: fn(&[u8]) -> Verdict,
) {
    let mut failures = Vec::new();
    let mut seen = 0;
    for (name, bytes) in inputs {
        let got = run(&bytes);
        match known.iter().find(|(n, _, _)| *n == name) {
            Some((_, want, why)) => {
                seen += 1;
                if got != *want {
                    failures.push(format!("{name}: {got:?}, known as {want:?} ({why})"));
                }
            }
            None if got == Verdict::Agree => {}
            None => failures.push(format!("{name}: {got:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with dhcproto:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        seen,
        known.len(),
        "an input named in the known list is missing"
    );
}

#[test]
fn dhcpv4_corpus_and_golden_packets_agree_with_dhcproto() {
    let inputs: Vec<_> = corpus("dhcpv4_decode")
        .into_iter()
        .chain(golden_v4())
        .collect();
    check(inputs, KNOWN_V4, v4);
}

// ---------------------------------------------------------------- DHCPv6

fn ours_v6_opts(prefix: &str, opts: &[dhcpv6::DhcpOption], f: &mut Facts) {
    use dhcpv6::DhcpOption as O;
    for o in opts {
        let fact = match o {
            O::ClientId(d) => format!("{prefix}1 {}", hex(d.as_bytes())),
            O::ServerId(d) => format!("{prefix}2 {}", hex(d.as_bytes())),
            O::IaNa(ia) => {
                ours_v6_opts(&format!("{prefix}3/"), &ia.options, f);
                format!("{prefix}3 iaid={} t1={} t2={}", ia.iaid, ia.t1, ia.t2)
            }
            O::IaAddr(a) => {
                ours_v6_opts(&format!("{prefix}5/"), &a.options, f);
                format!("{prefix}5 {} {} {}", a.addr, a.preferred, a.valid)
            }
            O::Oro(l) => format!("{prefix}6 {l:?}"),
            O::Preference(p) => format!("{prefix}7 {p}"),
            O::ElapsedTime(t) => format!("{prefix}8 {t}"),
            O::StatusCode(s) => format!("{prefix}13 {} {}", s.status.to_u16(), s.message),
            O::RapidCommit => format!("{prefix}14"),
            O::DnsServers(l) => format!("{prefix}23 {l:?}"),
            O::DomainList(l) => {
                let names: Vec<String> = l.iter().map(name_text).collect();
                format!("{prefix}24 {names:?}")
            }
            O::IaPd(ia) => {
                ours_v6_opts(&format!("{prefix}25/"), &ia.options, f);
                format!("{prefix}25 iaid={} t1={} t2={}", ia.iaid, ia.t1, ia.t2)
            }
            O::IaPrefix(p) => {
                ours_v6_opts(&format!("{prefix}26/"), &p.options, f);
                let (pre, len) = (p.prefix, p.prefix_len);
                format!("{prefix}26 {pre}/{len} {} {}", p.preferred, p.valid)
            }
            O::InformationRefreshTime(v) => format!("{prefix}32 {v}"),
            O::SolMaxRt(v) => format!("{prefix}82 {v}"),
            O::InfMaxRt(v) => format!("{prefix}83 {v}"),
            // dhcproto keeps AFTR-Name and the MAP-E container raw: the
            // option must cover the same bytes on both sides.
            O::AftrName(_) | O::S46ContMapE(_) => {
                let mut wire = Vec::new();
                o.encode(&mut wire).unwrap();
                format!("{prefix}{} {}", o.code(), hex(&wire[4..]))
            }
            // Typed by one side only (NTP, reconfigure) or by neither.
            _ => continue,
        };
        f.insert(fact);
    }
}

fn theirs_v6_opts(prefix: &str, opts: &dhcproto::v6::DhcpOptions, f: &mut Facts) {
    use dhcproto::v6::DhcpOption as O;
    for o in opts.iter() {
        let fact = match o {
            O::ClientId(d) => format!("{prefix}1 {}", hex(d)),
            O::ServerId(d) => format!("{prefix}2 {}", hex(d)),
            O::IANA(ia) => {
                theirs_v6_opts(&format!("{prefix}3/"), &ia.opts, f);
                format!("{prefix}3 iaid={} t1={} t2={}", ia.id, ia.t1, ia.t2)
            }
            O::IAAddr(a) => {
                theirs_v6_opts(&format!("{prefix}5/"), &a.opts, f);
                format!("{prefix}5 {} {} {}", a.addr, a.preferred_life, a.valid_life)
            }
            O::ORO(l) => {
                let codes: Vec<u16> = l.opts.iter().map(|c| u16::from(*c)).collect();
                format!("{prefix}6 {codes:?}")
            }
            O::Preference(p) => format!("{prefix}7 {p}"),
            O::ElapsedTime(t) => format!("{prefix}8 {t}"),
            O::StatusCode(s) => format!("{prefix}13 {} {}", u16::from(s.status), s.msg),
            O::RapidCommit => format!("{prefix}14"),
            O::DomainNameServers(l) => format!("{prefix}23 {l:?}"),
            O::DomainSearchList(l) => {
                let names: Vec<String> = l.iter().map(name_text).collect();
                format!("{prefix}24 {names:?}")
            }
            O::IAPD(ia) => {
                theirs_v6_opts(&format!("{prefix}25/"), &ia.opts, f);
                format!("{prefix}25 iaid={} t1={} t2={}", ia.id, ia.t1, ia.t2)
            }
            O::IAPrefix(p) => {
                theirs_v6_opts(&format!("{prefix}26/"), &p.opts, f);
                let (pre, len) = (p.prefix_ip, p.prefix_len);
                let (pl, vl) = (p.preferred_lifetime, p.valid_lifetime);
                format!("{prefix}26 {pre}/{len} {pl} {vl}")
            }
            O::InformationRefreshTime(v) => format!("{prefix}32 {v}"),
            // Untyped by dhcproto; the bytes must be our typed value.
            O::Unknown(u) if [32, 82, 83].contains(&u16::from(u.code())) => {
                match <[u8; 4]>::try_from(u.data()) {
                    Ok(b) => format!("{prefix}{} {}", u16::from(u.code()), u32::from_be_bytes(b)),
                    Err(_) => continue,
                }
            }
            O::Unknown(u) if [64, 94].contains(&u16::from(u.code())) => {
                format!("{prefix}{} {}", u16::from(u.code()), hex(u.data()))
            }
            _ => continue,
        };
        f.insert(fact);
    }
}

fn ours_v6(m: &dhcpv6::Message) -> Facts {
    let mut f = Facts::new();
    f.insert(format!(
        "type={} xid={:06x}",
        m.msg_type.to_u8(),
        m.transaction_id.get()
    ));
    ours_v6_opts("opt ", &m.options, &mut f);
    f
}

fn theirs_v6(m: &dhcproto::v6::Message) -> Facts {
    let mut f = Facts::new();
    f.insert(format!(
        "type={} xid={:06x}",
        u8::from(m.msg_type()),
        m.xid_num()
    ));
    theirs_v6_opts("opt ", m.opts(), &mut f);
    f
}

fn v6(bytes: &[u8]) -> Verdict {
    verdict(
        dhcpv6::Message::decode(bytes).map_err(|e| e.reason()),
        dhcproto::v6::Message::decode(&mut Decoder::new(bytes)).ok(),
        ours_v6,
        theirs_v6,
    )
}

/// DHCPv6 inputs the two decoders do not both decode the same way.
const KNOWN_V6: &[(&str, Verdict, &str)] = &[
    (
        "advertise_truncated_in_iaprefix",
        Verdict::OnlyTheyAccept("option_overrun"),
        "an IA Prefix runs past its IA_PD; dhcproto silently stops reading \
         options there and the client would see an Advertise without it",
    ),
    (
        "domain_compressed",
        Verdict::OnlyTheyAccept("compressed_name"),
        "RFC 8415 section 10 forbids compressed names; dhcproto follows \
         the pointer",
    ),
    (
        "relay_forw",
        Verdict::OnlyTheyAccept("relay_message"),
        "a client or a directly attached server never receives relay \
         messages; dhcproto reads the relay header as a client message",
    ),
    (
        "reply_truncated_header",
        Verdict::BothReject,
        "shorter than the header",
    ),
];

/// Golden DHCPv6 messages from our encoder: a server's Reply with every
/// option the client reads, and the client's Solicit.
fn golden_v6() -> Vec<(String, Vec<u8>)> {
    use dhcpv6::{DhcpOption as O, Duid, IaPd, IaPrefix, Message, MessageType, TransactionId};
    let client = Duid::link_layer(dhcpv6::HW_TYPE_ETHERNET, &[2, 0, 0, 0, 0, 1]).unwrap();
    let server = Duid::link_layer(dhcpv6::HW_TYPE_ETHERNET, &[2, 0, 0, 0, 0, 2]).unwrap();
    let mut reply = Message::new(MessageType::Reply, TransactionId::new(0x00ab_cdef));
    reply.options = vec![
        O::ServerId(server),
        O::ClientId(client.clone()),
        O::IaPd(IaPd {
            iaid: 1,
            t1: 1800,
            t2: 2880,
            options: vec![O::IaPrefix(IaPrefix {
                preferred: 3600,
                valid: 7200,
                prefix_len: 56,
                prefix: "2001:db8:1200::".parse().unwrap(),
                options: Vec::new(),
            })],
        }),
        O::DnsServers(vec!["2001:db8::53".parse().unwrap()]),
        O::DomainList(vec![
            dhcpv6::DomainName::from_dotted("home.example").unwrap(),
            dhcpv6::DomainName::from_dotted("example").unwrap(),
        ]),
        O::InformationRefreshTime(86_400),
        O::SolMaxRt(3600),
        O::InfMaxRt(3600),
        O::Preference(255),
    ];
    let mut solicit = Message::new(MessageType::Solicit, TransactionId::new(0x0012_3456));
    solicit.options = vec![
        O::ClientId(client),
        O::ElapsedTime(0),
        O::Oro(vec![23, 24, 32, 82]),
        O::RapidCommit,
        O::IaPd(IaPd {
            iaid: 1,
            t1: 0,
            t2: 0,
            options: Vec::new(),
        }),
    ];
    [("golden_reply", reply), ("golden_solicit", solicit)]
        .into_iter()
        .map(|(n, m)| (n.to_owned(), m.to_bytes().unwrap()))
        .collect()
}

#[test]
fn dhcpv6_corpus_and_golden_packets_agree_with_dhcproto() {
    let inputs: Vec<_> = corpus("dhcpv6_decode")
        .into_iter()
        .chain(golden_v6())
        .collect();
    check(inputs, KNOWN_V6, v6);
}

/// The oracle can fail: a message where one option value was changed after
/// encoding is a `Differ` naming the field, on both protocols.
#[test]
fn a_changed_value_is_reported_as_a_difference() {
    let (_, mut b) = golden_v6().remove(0);
    let ours = dhcpv6::Message::decode(&b).unwrap();
    let theirs = dhcproto::v6::Message::decode(&mut Decoder::new(&b)).unwrap();
    assert_eq!(ours_v6(&ours), theirs_v6(&theirs));
    // Flip a bit in the last octet (Preference) of our decoded copy only.
    let mut changed = ours.clone();
    if let Some(dhcpv6::DhcpOption::Preference(p)) = changed.options.last_mut() {
        *p = 7;
    }
    match verdict(Ok(changed), Some(theirs), ours_v6, theirs_v6) {
        Verdict::Differ(a, b) => {
            assert_eq!((a, b), (vec!["opt 7 7".into()], vec!["opt 7 255".into()]))
        }
        other => panic!("{other:?}"),
    }
    // And on the wire: a lease time changed in the bytes both decode.
    let (_, mut v4b) = golden_v4().remove(0);
    let at = v4b.windows(2).position(|w| w == [51, 4]).unwrap() + 2;
    v4b[at + 3] ^= 1;
    assert_eq!(v4(&v4b), Verdict::Agree, "both see the same changed value");
    b.truncate(3);
    assert_eq!(v6(&b), Verdict::BothReject);
}
