//! The policy compiler: [`Policy`] + [`Snapshot`] -> [`Ruleset`]. Pure.
//!
//! What it builds, and why (RFC 6092, RFC 4890, RFC 7084):
//! - `input` (to the router): loopback and LAN accepted; from the WAN only
//!   flows the router started, DHCPv6/DHCPv4 client replies, ND with hop
//!   limit 255 and RFC 4890 section 4.4's ICMPv6 types; DNS, DHCP servers
//!   and the console are therefore closed on the WAN.
//! - `forward`: MSS clamp, RH0 drop, BCP 38 both ways with the named sets of
//!   our prefixes, no ULA across the WAN, code 5 for sources in a deprecated
//!   prefix, RFC 4890 section 4.3's ICMPv6 types, then established/related,
//!   invalid dropped, LAN-initiated flows accepted, pinholes, and the
//!   `wan_inbound` verdict for everything unsolicited from the WAN.
//! - `postrouting` (nat): IPv4 masquerade out of the WAN; with MAP-E, SNAT
//!   out of `map0` into the port set ([`map_e_snat`]).
//!
//! ICMPv6 accepts come before `ct state invalid drop`: errors that match no
//! flow are "invalid" to conntrack, and Path MTU Discovery depends on them.

use crate::config::{MapSnat, Policy, Snapshot};
use crate::model::*;
use cpe_config::{HostSpec, InboundPolicy, PinholeProto};
use cpe_sys::netlink::nftables::{BaseChain, ChainType, Hook, SetKey};
use ipnet::{IpNet, Ipv6Net};

/// Named sets: renumbering changes their elements, never the rules.
pub const SET_LAN6: &str = "lan6";
/// Prefixes being phased out (code 5 for their sources).
pub const SET_STALE6: &str = "stale6";
/// LAN IPv4 subnets.
pub const SET_LAN4: &str = "lan4";
/// The NAT chain (absent with `ipv4_nat = false` and no MAP-E SNAT).
pub const POSTROUTING: &str = "postrouting";

/// One named counter per drop class, shown by `cpectl show firewall`.
pub const COUNTERS: &[&str] = &[
    "drop_invalid",
    "drop_wan_input",
    "drop_wan_inbound",
    "drop_bcp38_ingress",
    "drop_bcp38_egress",
    "drop_ula_wan",
    "drop_rh0",
    "reject_stale_source",
    "drop_icmpv6_input",
    "drop_icmpv6_forward",
    "drop_unmatched",
];

/// The last rule of `input` and `forward`; the chains' own policy is
/// accept. Should a transaction ever create a base chain next to a live one
/// (the rebuild fallback of `Ruleset::rebuild`), the new chain is hooked
/// with no committed rules while it is prepared, and its policy decides;
/// with `accept` there the old, committed chain decides alone, and this
/// drop takes over with the new rules at commit. (The loss of a few pings
/// per 50 full replacements had another cause: see `Ruleset::batch`.)
fn default_deny() -> Rule {
    r(Vec::new(), count_drop("drop_unmatched"), "default deny")
}

fn r(matches: Vec<Match>, statements: Vec<Statement>, comment: &str) -> Rule {
    Rule {
        matches,
        statements,
        comment: comment.to_string(),
    }
}

fn count_drop(counter: &str) -> Vec<Statement> {
    vec![Statement::Counter(counter.into()), Statement::Drop]
}

fn link_local() -> Ipv6Net {
    Ipv6Net::new(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10).unwrap_or_default()
}

fn ula() -> Ipv6Net {
    Ipv6Net::new(std::net::Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7).unwrap_or_default()
}

/// ICMPv6 types (and codes) that must or normally should pass, for the
/// router itself (RFC 4890 4.4.1/4.4.2) or in transit (4.3.1/4.3.2).
/// Errors first; echo is handled separately (rate limit from the WAN).
const ERRORS: &[(u8, Option<u8>, &str)] = &[
    (1, None, "RFC 4890: destination unreachable, all codes"),
    (2, None, "RFC 4890: packet too big (path MTU discovery)"),
    (3, Some(0), "RFC 4890: time exceeded, hop limit"),
    (3, Some(1), "RFC 4890: time exceeded, reassembly"),
    (4, Some(0), "RFC 4890: parameter problem, header field"),
    (4, Some(1), "RFC 4890: parameter problem, next header"),
    (4, Some(2), "RFC 4890: parameter problem, option"),
];

/// Link-scoped ICMPv6 the router needs (RFC 4890 4.4.1): ND, inverse ND and
/// SEND only with hop limit 255 (proof they were not routed).
const HOP_LIMIT_255: &[(u8, &str)] = &[
    (133, "RFC 4890: router solicitation"),
    (134, "RFC 4890: router advertisement"),
    (135, "RFC 4890: neighbor solicitation"),
    (136, "RFC 4890: neighbor advertisement"),
    (141, "RFC 4890: inverse ND solicitation"),
    (142, "RFC 4890: inverse ND advertisement"),
    (148, "RFC 4890: SEND certification path solicitation"),
    (149, "RFC 4890: SEND certification path advertisement"),
];

/// MLD and multicast router discovery: only from link-local sources.
const FROM_LINK_LOCAL: &[(u8, &str)] = &[
    (130, "RFC 4890: MLD query"),
    (131, "RFC 4890: MLD report"),
    (132, "RFC 4890: MLD done"),
    (143, "RFC 4890: MLDv2 report"),
    (151, "RFC 4890: multicast router advertisement"),
    (152, "RFC 4890: multicast router solicitation"),
    (153, "RFC 4890: multicast router termination"),
];

/// Transit types normally not dropped (RFC 4890 4.3.2): Mobile IPv6
/// home-agent discovery and mobile prefix messages for hosts that roam.
const TRANSIT_MOBILE: &[(u8, &str)] = &[
    (144, "RFC 4890: home agent address discovery request"),
    (145, "RFC 4890: home agent address discovery reply"),
    (146, "RFC 4890: mobile prefix solicitation"),
    (147, "RFC 4890: mobile prefix advertisement"),
];

fn echo_limit(p: &Policy) -> Statement {
    let l = p.firewall.echo_request_limit;
    let unit = match l.per {
        cpe_config::RatePeriod::Second => "second",
        cpe_config::RatePeriod::Minute => "minute",
        cpe_config::RatePeriod::Hour => "hour",
        cpe_config::RatePeriod::Day => "day",
    };
    Statement::Limit {
        rate: l.count,
        seconds: l.per.seconds(),
        unit,
    }
}

fn icmpv6_errors(rules: &mut Vec<Rule>) {
    for (ty, code, why) in ERRORS {
        rules.push(r(
            vec![Match::Icmpv6(*ty, *code)],
            vec![Statement::Accept],
            why,
        ));
    }
}

fn echo(p: &Policy, rules: &mut Vec<Rule>) {
    let wan = Match::Iif(p.wan.clone());
    rules.push(r(
        vec![wan, Match::Icmpv6(128, None)],
        vec![echo_limit(p), Statement::Accept],
        "RFC 4890: echo request from the WAN, rate limited",
    ));
    for lan in &p.lan {
        rules.push(r(
            vec![Match::Iif(lan.interface.clone()), Match::Icmpv6(128, None)],
            vec![Statement::Accept],
            "RFC 4890: echo request from the LAN",
        ));
    }
    rules.push(r(
        vec![Match::Icmpv6(129, None)],
        vec![Statement::Accept],
        "RFC 4890: echo reply",
    ));
}

fn input(p: &Policy) -> Chain {
    let wan = || Match::Iif(p.wan.clone());
    let mut rules = vec![r(
        vec![Match::Iif("lo".into())],
        vec![Statement::Accept],
        "loopback",
    )];
    icmpv6_errors(&mut rules);
    echo(p, &mut rules);
    for (ty, why) in HOP_LIMIT_255 {
        rules.push(r(
            vec![Match::Icmpv6(*ty, None), Match::HopLimit(255)],
            vec![Statement::Accept],
            why,
        ));
    }
    for (ty, why) in FROM_LINK_LOCAL {
        rules.push(r(
            vec![Match::Ip6SaddrIn(link_local()), Match::Icmpv6(*ty, None)],
            vec![Statement::Accept],
            why,
        ));
    }
    rules.push(r(
        vec![Match::L4(ICMPV6)],
        count_drop("drop_icmpv6_input"),
        "RFC 4890 4.4.3-4.4.5: every other ICMPv6 type to the router",
    ));
    rules.push(r(
        vec![Match::CtState(ct::ESTABLISHED | ct::RELATED)],
        vec![Statement::Accept],
        "flows the router started",
    ));
    rules.push(r(
        vec![Match::CtState(ct::INVALID)],
        count_drop("drop_invalid"),
        "not part of any flow",
    ));
    rules.push(r(
        vec![
            wan(),
            Match::Ip6SaddrIn(link_local()),
            Match::UdpPorts(547, 546),
        ],
        vec![Statement::Accept],
        "DHCPv6 replies (conntrack does not tie them to the multicast Solicit)",
    ));
    rules.push(r(
        vec![wan(), Match::Ipv4, Match::UdpPorts(67, 68)],
        vec![Statement::Accept],
        "DHCPv4 client replies",
    ));
    rules.push(r(
        vec![wan()],
        count_drop("drop_wan_input"),
        "RFC 6092: no DNS, DHCP or console service from the WAN",
    ));
    for lan in &p.lan {
        rules.push(r(
            vec![Match::Iif(lan.interface.clone())],
            vec![Statement::Accept],
            "LAN services (DNS, DHCP, RA, console)",
        ));
    }
    rules.push(default_deny());
    Chain {
        name: "input",
        base: BaseChain {
            hook: Hook::Input,
            kind: ChainType::Filter,
            priority: 0,
            accept: true,
        },
        rules,
    }
}

fn forward(p: &Policy, has_v4: bool) -> Chain {
    let wan = || Match::Iif(p.wan.clone());
    let to_wan = || Match::Oif(p.wan.clone());
    let mut rules = Vec::new();
    let softwire = || p.softwire.iter().map(|t| Match::Iif(t.clone()));
    let to_softwire = || p.softwire.iter().map(|t| Match::Oif(t.clone()));
    if p.firewall.mss_clamp {
        for m in [wan(), to_wan()]
            .into_iter()
            .chain(softwire())
            .chain(to_softwire())
        {
            rules.push(r(
                vec![m, Match::TcpSyn],
                vec![Statement::ClampMss],
                "clamp TCP MSS to the route MTU",
            ));
        }
    }
    rules.push(r(
        vec![Match::RoutingHeader0],
        count_drop("drop_rh0"),
        "RFC 5095: routing header type 0",
    ));
    rules.push(r(
        vec![wan(), Match::Ip6SaddrSet(SET_LAN6.into(), true)],
        count_drop("drop_bcp38_ingress"),
        "BCP 38: our prefixes never come from the WAN",
    ));
    rules.push(r(
        vec![wan(), Match::Ip6SaddrIn(ula())],
        count_drop("drop_ula_wan"),
        "RFC 7084 ULA-4: no ULA across the WAN",
    ));
    rules.push(r(
        vec![to_wan(), Match::Ip6DaddrIn(ula())],
        count_drop("drop_ula_wan"),
        "RFC 7084 ULA-4: no ULA across the WAN",
    ));
    rules.push(r(
        vec![to_wan(), Match::Ip6SaddrIn(ula())],
        count_drop("drop_ula_wan"),
        "RFC 7084 ULA-4: no ULA across the WAN",
    ));
    for lan in &p.lan {
        let iif = || Match::Iif(lan.interface.clone());
        rules.push(r(
            vec![iif(), Match::Ip6SaddrSet(SET_STALE6.into(), true)],
            vec![
                Statement::Counter("reject_stale_source".into()),
                Statement::RejectIcmpv6(5),
            ],
            "RFC 7084 L-14: source in a deprecated prefix",
        ));
        rules.push(r(
            vec![iif(), Match::Ip6SaddrSet(SET_LAN6.into(), false)],
            count_drop("drop_bcp38_egress"),
            "BCP 38: LAN sources only from our prefixes",
        ));
        if has_v4 {
            rules.push(r(
                vec![iif(), Match::Ip4SaddrSet(SET_LAN4.into(), false)],
                count_drop("drop_bcp38_egress"),
                "BCP 38: LAN sources only from our subnets",
            ));
        }
    }
    if has_v4 {
        for m in std::iter::once(wan()).chain(softwire()) {
            rules.push(r(
                vec![m, Match::Ip4SaddrSet(SET_LAN4.into(), true)],
                count_drop("drop_bcp38_ingress"),
                "BCP 38: our subnets never come from the WAN",
            ));
        }
    }
    icmpv6_errors(&mut rules);
    echo(p, &mut rules);
    for (ty, why) in TRANSIT_MOBILE {
        rules.push(r(
            vec![Match::Icmpv6(*ty, None)],
            vec![Statement::Accept],
            why,
        ));
    }
    rules.push(r(
        vec![Match::L4(ICMPV6)],
        count_drop("drop_icmpv6_forward"),
        "RFC 4890 4.3.3-4.3.5: every other ICMPv6 type in transit",
    ));
    rules.push(r(
        vec![Match::CtState(ct::ESTABLISHED | ct::RELATED)],
        vec![Statement::Accept],
        "RFC 6092: replies to flows the LAN started",
    ));
    rules.push(r(
        vec![Match::CtState(ct::INVALID)],
        count_drop("drop_invalid"),
        "not part of any flow",
    ));
    for lan in &p.lan {
        rules.push(r(
            vec![Match::Iif(lan.interface.clone())],
            vec![Statement::Accept],
            "flows the LAN starts",
        ));
    }
    for ph in &p.firewall.pinhole {
        let host = match ph.host {
            HostSpec::InterfaceId(iid) => Match::Ip6DaddrIid(iid),
            HostSpec::Address(a) => Match::Ip6Daddr(a),
        };
        let proto = match ph.proto {
            PinholeProto::Tcp => TCP,
            PinholeProto::Udp => UDP,
        };
        for lan in &p.lan {
            rules.push(r(
                vec![
                    wan(),
                    Match::Oif(lan.interface.clone()),
                    host.clone(),
                    Match::Dport(proto, ph.port),
                ],
                vec![Statement::Accept],
                &format!("pinhole {}", ph.name),
            ));
        }
    }
    for from in std::iter::once(wan()).chain(softwire()) {
        match p.firewall.wan_inbound {
            InboundPolicy::Drop => rules.push(r(
                vec![from.clone()],
                count_drop("drop_wan_inbound"),
                "RFC 6092: unsolicited from the WAN",
            )),
            InboundPolicy::Reject => {
                rules.push(r(
                    vec![from.clone(), Match::L4(TCP)],
                    vec![
                        Statement::Counter("drop_wan_inbound".into()),
                        Statement::RejectTcpReset,
                    ],
                    "RFC 6092: unsolicited from the WAN, refused",
                ));
                rules.push(r(
                    vec![from.clone()],
                    vec![
                        Statement::Counter("drop_wan_inbound".into()),
                        Statement::RejectAdmin,
                    ],
                    "RFC 6092: unsolicited from the WAN, refused",
                ));
            }
            InboundPolicy::Accept => rules.push(r(
                vec![from.clone()],
                vec![Statement::Accept],
                "wan_inbound = accept: the LAN is open to the Internet",
            )),
        }
    }
    rules.push(default_deny());
    Chain {
        name: "forward",
        base: BaseChain {
            hook: Hook::Forward,
            kind: ChainType::Filter,
            priority: 0,
            accept: true,
        },
        rules,
    }
}

/// Counter of IPv4 packets MAP-E cannot carry (no ports: see [`map_e_snat`]).
pub const DROP_MAPE_PROTOCOL: &str = "drop_mape_protocol";

/// MAP-E's SNAT (RFC 7597 5.1, 8.1): every IPv4 packet leaving `map0`
/// (from the LAN and from the router itself) gets the shared address and
/// a source port, or ICMP identifier, of our port set, since the BR hands
/// a packet to the CE whose set holds its destination port and other
/// CEs share the address.
///
/// The port set is `2^a - 1` ranges of `2^m` ports (one range when the
/// PSID offset is 0), and an nf_tables `nat` expression takes one range.
/// Spreading new flows over the ranges, three ways were open: `numgen`
/// with a verdict map jumping to one chain per range; a NAT map with
/// concatenated address . port-range data (newer kernels, and a map type
/// the netlink code here does not have); or, chosen, a cascade in the one
/// chain: rule `i` of `N` holds with probability `1/(N-i)`
/// (`numgen random mod N-i == 0`), which makes every range exactly `1/N`
/// likely, the last rule taking what is left. It needs only `numgen`,
/// `cmp` and `nat`, adds no chains or maps, and only a flow's first
/// packet walks it (`N/2` rules on average). Each of TCP, UDP and ICMP
/// has its own cascade, since a port range needs a transport match;
/// every other protocol has no port to tell CEs apart and is dropped
/// (counted in [`DROP_MAPE_PROTOCOL`]). With a PSID offset over 0 no
/// range starts below `2^(16-a)`, so ports 0-1023 are never used (a = 6).
///
/// What it does not do: the range is drawn before the kernel looks for a
/// free port in it, so when all `2^m` ports of the drawn range are taken
/// toward one destination address and port, that new flow fails though
/// other ranges have room. With the default 6-bit offset and a /24 of 8
/// PSID bits that is 4 ports per range.
fn map_e_snat(iface: &str, m: &MapSnat, rules: &mut Vec<Rule>) {
    let out = || vec![Match::Oif(iface.to_owned()), Match::Ipv4];
    let mut drop = out();
    drop.push(Match::L4NoneOf(vec![TCP, UDP, ICMP]));
    rules.push(r(
        drop,
        count_drop(DROP_MAPE_PROTOCOL),
        "MAP-E: a shared IPv4 address carries only TCP, UDP and ICMP",
    ));
    let n = m.ports.len();
    for proto in [TCP, UDP, ICMP] {
        for (i, &(first, last)) in m.ports.iter().enumerate() {
            let mut matches = out();
            matches.push(Match::L4(proto));
            let left = u32::try_from(n - i).unwrap_or(u32::MAX);
            if left > 1 {
                matches.push(Match::OneIn(left));
            }
            rules.push(r(
                matches,
                vec![Statement::Snat4 {
                    addr: m.ipv4,
                    ports: (first, last),
                }],
                "MAP-E: SNAT into our port set",
            ));
        }
    }
}

fn postrouting(p: &Policy, s: &Snapshot) -> Option<Chain> {
    let mut rules = Vec::new();
    if let (Some(iface), Some(m)) = (p.map_e(), &s.map_e) {
        map_e_snat(iface, m, &mut rules);
    }
    if p.firewall.ipv4_nat {
        rules.push(r(
            vec![Match::Oif(p.wan.clone()), Match::Ipv4],
            vec![Statement::Masquerade],
            "IPv4 NAT out of the WAN",
        ));
    }
    (!rules.is_empty()).then_some(Chain {
        name: POSTROUTING,
        base: BaseChain {
            hook: Hook::Postrouting,
            kind: ChainType::Nat,
            priority: 100,
            accept: true,
        },
        rules,
    })
}

/// Compiles the policy for the current state. With `enabled = false` the
/// table is empty: nothing is filtered, but the daemon still owns the
/// table and switches forwarding on after committing it.
pub fn compile(p: &Policy, s: &Snapshot) -> Ruleset {
    if !p.firewall.enabled {
        return Ruleset {
            counters: Vec::new(),
            sets: Vec::new(),
            chains: Vec::new(),
            retired: Retired::default(),
        };
    }
    let lan4: Vec<IpNet> = p.lan.iter().filter_map(|l| l.ipv4.map(IpNet::V4)).collect();
    let has_v4 = !lan4.is_empty();
    let mut sets = vec![
        Set {
            name: SET_LAN6,
            key: SetKey::Ipv6Addr,
            elements: s.current.iter().map(|n| IpNet::V6(*n)).collect(),
        },
        Set {
            name: SET_STALE6,
            key: SetKey::Ipv6Addr,
            elements: s.deprecated.iter().map(|n| IpNet::V6(*n)).collect(),
        },
    ];
    if has_v4 {
        sets.push(Set {
            name: SET_LAN4,
            key: SetKey::Ipv4Addr,
            elements: lan4,
        });
    }
    for set in &mut sets {
        set.elements.sort();
        set.elements.dedup();
    }
    let mut retired = Retired::default();
    if !has_v4 {
        retired.sets.push((SET_LAN4, SetKey::Ipv4Addr));
    }
    let mut chains = vec![input(p), forward(p, has_v4)];
    match postrouting(p, s) {
        Some(c) => chains.push(c),
        None => retired.chains.push(POSTROUTING),
    }
    let mut counters = COUNTERS.to_vec();
    if p.map_e().is_some() {
        counters.push(DROP_MAPE_PROTOCOL);
    }
    Ruleset {
        counters,
        sets,
        chains,
        retired,
    }
}
