//! The ruleset model: what the compiler produces, in terms a reviewer reads
//! (matches and statements, each with its `nft` spelling) and the kernel
//! runs (each with its nf_tables expressions).
//!
//! One model, two renderings that cannot drift apart because every match and
//! statement carries both: [`Ruleset::text`] (an `nft -f` script: the golden
//! files, the console, the oracle test) and [`Ruleset::batch`] (what the
//! driver commits). Pure: no I/O.

use cpe_sys::netlink::nftables::{
    BaseChain, Batch, ChainType, CmpOp, Element, Expr, Hook, MetaKey, PayloadBase, Reject, SetKey,
    TableFamily, Verdict,
};
use ipnet::{IpNet, Ipv6Net};
use std::fmt::Write;
use std::net::Ipv6Addr;

/// The one table the firewall owns; replaced as a whole on every full apply.
pub const TABLE: &str = "cpe";
const FAMILY: TableFamily = TableFamily::Inet;

/// Conntrack state bits (`ct state`), as the kernel defines them.
pub mod ct {
    /// A packet conntrack could not classify.
    pub const INVALID: u32 = 1;
    /// Part of a flow seen both ways.
    pub const ESTABLISHED: u32 = 2;
    /// Related to a flow (an ICMP error, an FTP data channel).
    pub const RELATED: u32 = 4;
}

/// Transport protocols by number.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;
/// ICMPv6.
pub const ICMPV6: u8 = 58;
/// ICMP (IPv4).
pub const ICMP: u8 = 1;

/// One condition of a rule. Each implies its protocol dependencies (an
/// `ip6 saddr` match first checks that the packet is IPv6), as `nft` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Arrived on this interface.
    Iif(String),
    /// Leaves on this interface.
    Oif(String),
    /// IPv4 packet.
    Ipv4,
    /// IPv6 packet.
    Ipv6,
    /// Transport protocol.
    L4(u8),
    /// Conntrack state has any of these bits.
    CtState(u32),
    /// IPv6 source in a prefix.
    Ip6SaddrIn(Ipv6Net),
    /// IPv6 destination in a prefix.
    Ip6DaddrIn(Ipv6Net),
    /// IPv6 source in (or with `false`, not in) a named set.
    Ip6SaddrSet(String, bool),
    /// IPv4 source in (or not in) a named set.
    Ip4SaddrSet(String, bool),
    /// IPv6 destination equals this address.
    Ip6Daddr(Ipv6Addr),
    /// IPv6 destination's low 64 bits equal this interface identifier.
    Ip6DaddrIid(u64),
    /// IPv6 hop limit equals.
    HopLimit(u8),
    /// ICMPv6 type, and code if given.
    Icmpv6(u8, Option<u8>),
    /// TCP or UDP destination port.
    Dport(u8, u16),
    /// UDP source and destination port together.
    UdpPorts(u16, u16),
    /// Routing header type 0 present.
    RoutingHeader0,
    /// TCP SYN flag set.
    TcpSyn,
    /// Transport protocol none of these.
    L4NoneOf(Vec<u8>),
    /// One draw of `numgen random mod N` came out 0 (probability 1/N).
    OneIn(u32),
}

/// What a rule does when every match holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// Count in the named counter object.
    Counter(String),
    /// At most `rate` packets per `per` ("second", "minute"...) of `seconds`.
    Limit {
        /// Packets per period.
        rate: u32,
        /// Period in seconds.
        seconds: u32,
        /// Unit word for the text ("second").
        unit: &'static str,
    },
    /// Accept.
    Accept,
    /// Drop.
    Drop,
    /// Answer with ICMPv6 Destination Unreachable of this code.
    RejectIcmpv6(u8),
    /// Answer with TCP RST.
    RejectTcpReset,
    /// Answer "administratively prohibited" (ICMP or ICMPv6).
    RejectAdmin,
    /// Clamp the TCP MSS to what the route's MTU allows.
    ClampMss,
    /// Source NAT to the output interface's address.
    Masquerade,
    /// Source NAT to an IPv4 address, the port (or ICMP identifier) in a
    /// range.
    Snat4 {
        /// The address.
        addr: std::net::Ipv4Addr,
        /// First and last port.
        ports: (u16, u16),
    },
}

/// One rule: matches, statements, and a comment saying why it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Conditions, all of which must hold.
    pub matches: Vec<Match>,
    /// Actions, in order.
    pub statements: Vec<Statement>,
    /// Why (shown by `nft list ruleset` and in the golden files).
    pub comment: String,
}

/// A chain and its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Name.
    pub name: &'static str,
    /// Hook attachment (every chain here is a base chain).
    pub base: BaseChain,
    /// Rules, evaluated in order.
    pub rules: Vec<Rule>,
}

/// A named set whose elements change at run time (renumbering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// Name.
    pub name: &'static str,
    /// Key type.
    pub key: SetKey,
    /// Elements (prefixes), sorted.
    pub elements: Vec<IpNet>,
}

/// Chains and sets that other policies compile to and this ruleset lacks
/// (NAT off: no `postrouting`; no LAN IPv4: no `lan4`). A full apply
/// removes them in case an earlier config left them in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Retired {
    /// Chain names.
    pub chains: Vec<&'static str>,
    /// Set names with their key types.
    pub sets: Vec<(&'static str, SetKey)>,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// Named counters, one per drop class.
    pub counters: Vec<&'static str>,
    /// Named sets.
    pub sets: Vec<Set>,
    /// Chains.
    pub chains: Vec<Chain>,
    /// What a full apply removes if present.
    pub retired: Retired,
}

/// The compare data of an interface-name match: the name padded to
/// IFNAMSIZ, or for a wildcard (`ppp*`) only the prefix, so the compare
/// covers just those octets (what `nft` makes of `iifname "ppp*"`).
fn ifname(name: &str) -> Vec<u8> {
    if let Some(prefix) = name.strip_suffix('*') {
        return prefix.as_bytes().to_vec();
    }
    let mut v = name.as_bytes().to_vec();
    v.resize(16, 0);
    v
}

fn cmp_eq(data: Vec<u8>) -> Expr {
    Expr::Cmp {
        op: CmpOp::Eq,
        data,
    }
}

fn payload(base: PayloadBase, offset: u32, len: u32) -> Expr {
    Expr::Payload { base, offset, len }
}

fn ip6_prefix(offset: u32, net: &Ipv6Net) -> Vec<Expr> {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(net.prefix_len()))
        .unwrap_or(0);
    vec![
        payload(PayloadBase::Network, offset, 16),
        Expr::Bitwise {
            mask: mask.to_be_bytes().to_vec(),
            xor: vec![0; 16],
        },
        cmp_eq(net.trunc().network().octets().to_vec()),
    ]
}

fn nfproto(v: u8) -> [Expr; 2] {
    [Expr::Meta(MetaKey::Nfproto), cmp_eq(vec![v])]
}

fn l4(p: u8) -> [Expr; 2] {
    [Expr::Meta(MetaKey::L4proto), cmp_eq(vec![p])]
}

fn proto_name(p: u8) -> &'static str {
    match p {
        TCP => "tcp",
        UDP => "udp",
        ICMP => "icmp",
        _ => "ipv6-icmp",
    }
}

impl Match {
    /// Expressions, with the protocol checks this match implies unless an
    /// earlier match of the rule already made them (`have_*`).
    fn exprs(&self, have_ip6: &mut bool, have_l4: &mut Option<u8>) -> Vec<Expr> {
        let mut out = Vec::new();
        let mut need6 = |out: &mut Vec<Expr>| {
            if !*have_ip6 {
                out.extend(nfproto(10));
                *have_ip6 = true;
            }
        };
        match self {
            Match::Iif(n) => out.extend([Expr::Meta(MetaKey::Iifname), cmp_eq(ifname(n))]),
            Match::Oif(n) => out.extend([Expr::Meta(MetaKey::Oifname), cmp_eq(ifname(n))]),
            Match::Ipv4 => out.extend(nfproto(2)),
            Match::Ipv6 => need6(&mut out),
            Match::L4(p) => {
                out.extend(l4(*p));
                *have_l4 = Some(*p);
            }
            Match::CtState(bits) => out.extend([
                Expr::CtState,
                Expr::Bitwise {
                    mask: bits.to_ne_bytes().to_vec(),
                    xor: vec![0; 4],
                },
                Expr::Cmp {
                    op: CmpOp::Neq,
                    data: vec![0; 4],
                },
            ]),
            Match::Ip6SaddrIn(net) => {
                need6(&mut out);
                out.extend(ip6_prefix(8, net));
            }
            Match::Ip6DaddrIn(net) => {
                need6(&mut out);
                out.extend(ip6_prefix(24, net));
            }
            Match::Ip6SaddrSet(set, member) => {
                need6(&mut out);
                out.push(payload(PayloadBase::Network, 8, 16));
                out.push(Expr::Lookup {
                    set: set.clone(),
                    invert: !member,
                });
            }
            Match::Ip4SaddrSet(set, member) => {
                out.extend(nfproto(2));
                out.push(payload(PayloadBase::Network, 12, 4));
                out.push(Expr::Lookup {
                    set: set.clone(),
                    invert: !member,
                });
            }
            Match::Ip6Daddr(a) => {
                need6(&mut out);
                out.push(payload(PayloadBase::Network, 24, 16));
                out.push(cmp_eq(a.octets().to_vec()));
            }
            Match::Ip6DaddrIid(iid) => {
                need6(&mut out);
                out.push(payload(PayloadBase::Network, 24, 16));
                out.push(Expr::Bitwise {
                    mask: u128::from(u64::MAX).to_be_bytes().to_vec(),
                    xor: vec![0; 16],
                });
                out.push(cmp_eq(u128::from(*iid).to_be_bytes().to_vec()));
            }
            Match::HopLimit(h) => {
                need6(&mut out);
                out.push(payload(PayloadBase::Network, 7, 1));
                out.push(cmp_eq(vec![*h]));
            }
            Match::Icmpv6(ty, code) => {
                need6(&mut out);
                if *have_l4 != Some(ICMPV6) {
                    out.extend(l4(ICMPV6));
                    *have_l4 = Some(ICMPV6);
                }
                match code {
                    None => out.extend([payload(PayloadBase::Transport, 0, 1), cmp_eq(vec![*ty])]),
                    Some(c) => {
                        out.extend([payload(PayloadBase::Transport, 0, 2), cmp_eq(vec![*ty, *c])])
                    }
                }
            }
            Match::Dport(p, port) => {
                if *have_l4 != Some(*p) {
                    out.extend(l4(*p));
                    *have_l4 = Some(*p);
                }
                out.extend([
                    payload(PayloadBase::Transport, 2, 2),
                    cmp_eq(port.to_be_bytes().to_vec()),
                ]);
            }
            Match::UdpPorts(s, d) => {
                if *have_l4 != Some(UDP) {
                    out.extend(l4(UDP));
                    *have_l4 = Some(UDP);
                }
                let mut v = s.to_be_bytes().to_vec();
                v.extend_from_slice(&d.to_be_bytes());
                out.extend([payload(PayloadBase::Transport, 0, 4), cmp_eq(v)]);
            }
            Match::RoutingHeader0 => {
                need6(&mut out);
                out.extend([
                    Expr::Ipv6Exthdr {
                        header: 43,
                        offset: 2,
                        len: 1,
                    },
                    cmp_eq(vec![0]),
                ]);
            }
            Match::L4NoneOf(protos) => {
                for p in protos {
                    out.extend([
                        Expr::Meta(MetaKey::L4proto),
                        Expr::Cmp {
                            op: CmpOp::Neq,
                            data: vec![*p],
                        },
                    ]);
                }
            }
            Match::OneIn(n) => out.extend([Expr::Numgen { modulus: *n }, cmp_eq(vec![0; 4])]),
            Match::TcpSyn => {
                if *have_l4 != Some(TCP) {
                    out.extend(l4(TCP));
                    *have_l4 = Some(TCP);
                }
                out.extend([
                    payload(PayloadBase::Transport, 13, 1),
                    Expr::Bitwise {
                        mask: vec![2],
                        xor: vec![0],
                    },
                    Expr::Cmp {
                        op: CmpOp::Neq,
                        data: vec![0],
                    },
                ]);
            }
        }
        out
    }

    fn text(&self) -> String {
        match self {
            Match::Iif(n) => format!("iifname \"{n}\""),
            Match::Oif(n) => format!("oifname \"{n}\""),
            Match::Ipv4 => "meta nfproto ipv4".into(),
            Match::Ipv6 => "meta nfproto ipv6".into(),
            Match::L4(p) => format!("meta l4proto {}", proto_name(*p)),
            Match::CtState(bits) => {
                let mut names = Vec::new();
                for (bit, name) in [
                    (ct::INVALID, "invalid"),
                    (ct::ESTABLISHED, "established"),
                    (ct::RELATED, "related"),
                ] {
                    if bits & bit != 0 {
                        names.push(name);
                    }
                }
                format!("ct state {}", names.join(","))
            }
            Match::Ip6SaddrIn(n) => format!("ip6 saddr {n}"),
            Match::Ip6DaddrIn(n) => format!("ip6 daddr {n}"),
            Match::Ip6SaddrSet(s, true) => format!("ip6 saddr @{s}"),
            Match::Ip6SaddrSet(s, false) => format!("ip6 saddr != @{s}"),
            Match::Ip4SaddrSet(s, true) => format!("ip saddr @{s}"),
            Match::Ip4SaddrSet(s, false) => format!("ip saddr != @{s}"),
            Match::Ip6Daddr(a) => format!("ip6 daddr {a}"),
            Match::Ip6DaddrIid(iid) => {
                format!(
                    "ip6 daddr & ::ffff:ffff:ffff:ffff == {}",
                    Ipv6Addr::from(u128::from(*iid))
                )
            }
            Match::HopLimit(h) => format!("ip6 hoplimit {h}"),
            Match::Icmpv6(t, None) => format!("icmpv6 type {t}"),
            Match::Icmpv6(t, Some(c)) => format!("icmpv6 type {t} icmpv6 code {c}"),
            Match::Dport(p, port) => format!("{} dport {port}", proto_name(*p)),
            Match::UdpPorts(s, d) => format!("udp sport {s} udp dport {d}"),
            Match::RoutingHeader0 => "rt type 0".into(),
            Match::TcpSyn => "tcp flags syn".into(),
            Match::L4NoneOf(protos) => protos
                .iter()
                .map(|p| format!("meta l4proto != {}", proto_name(*p)))
                .collect::<Vec<_>>()
                .join(" "),
            Match::OneIn(n) => format!("numgen random mod {n} == 0"),
        }
    }
}

impl Statement {
    fn exprs(&self) -> Vec<Expr> {
        match self {
            Statement::Counter(n) => vec![Expr::Counter(n.clone())],
            Statement::Limit { rate, seconds, .. } => vec![Expr::Limit {
                rate: u64::from(*rate),
                per_seconds: u64::from(*seconds),
                burst: 5,
            }],
            Statement::Accept => vec![Expr::Verdict(Verdict::Accept)],
            Statement::Drop => vec![Expr::Verdict(Verdict::Drop)],
            Statement::RejectIcmpv6(c) => vec![Expr::Reject(Reject::Icmpv6Unreachable(*c))],
            Statement::RejectTcpReset => vec![Expr::Reject(Reject::TcpReset)],
            Statement::RejectAdmin => vec![Expr::Reject(Reject::AdminProhibited)],
            Statement::ClampMss => vec![
                Expr::RtTcpMss,
                Expr::Hton { len: 2, size: 2 },
                Expr::TcpOptionWrite {
                    kind: 2,
                    offset: 2,
                    len: 2,
                },
            ],
            Statement::Masquerade => vec![Expr::Masquerade],
            Statement::Snat4 { addr, ports } => vec![Expr::Snat4 {
                addr: *addr,
                ports: *ports,
            }],
        }
    }

    fn text(&self) -> String {
        match self {
            Statement::Counter(n) => format!("counter name \"{n}\""),
            Statement::Limit { rate, unit, .. } => {
                format!("limit rate {rate}/{unit} burst 5 packets")
            }
            Statement::Accept => "accept".into(),
            Statement::Drop => "drop".into(),
            Statement::RejectIcmpv6(c) => format!("reject with icmpv6 {}", icmpv6_code_name(*c)),
            Statement::RejectTcpReset => "reject with tcp reset".into(),
            Statement::RejectAdmin => "reject with icmpx admin-prohibited".into(),
            Statement::ClampMss => "tcp option maxseg size set rt mtu".into(),
            Statement::Masquerade => "masquerade".into(),
            Statement::Snat4 { addr, ports } => {
                format!("snat ip to {addr}:{}-{}", ports.0, ports.1)
            }
        }
    }
}

/// nft's names for ICMPv6 Destination Unreachable codes (RFC 4443).
fn icmpv6_code_name(code: u8) -> &'static str {
    match code {
        0 => "no-route",
        1 => "admin-prohibited",
        3 => "addr-unreachable",
        4 => "port-unreachable",
        5 => "policy-fail",
        _ => "reject-route",
    }
}

impl Rule {
    /// The rule's expressions, in order.
    pub fn exprs(&self) -> Vec<Expr> {
        let mut have_ip6 = false;
        let mut have_l4 = None;
        let mut out = Vec::new();
        for m in &self.matches {
            out.extend(m.exprs(&mut have_ip6, &mut have_l4));
        }
        for s in &self.statements {
            out.extend(s.exprs());
        }
        out
    }

    /// The rule in `nft` syntax.
    pub fn text(&self) -> String {
        let mut parts: Vec<String> = self.matches.iter().map(Match::text).collect();
        parts.extend(self.statements.iter().map(Statement::text));
        parts.push(format!("comment \"{}\"", self.comment));
        parts.join(" ")
    }
}

fn set_type(key: SetKey) -> &'static str {
    match key {
        SetKey::Ipv4Addr => "ipv4_addr",
        SetKey::Ipv6Addr => "ipv6_addr",
        SetKey::InetService => "inet_service",
    }
}

fn hook_name(h: Hook) -> &'static str {
    match h {
        Hook::Prerouting => "prerouting",
        Hook::Input => "input",
        Hook::Forward => "forward",
        Hook::Output => "output",
        Hook::Postrouting => "postrouting",
    }
}

impl Ruleset {
    /// The ruleset without set elements: equal structures mean a change of
    /// state needs only a set update, not a reload.
    pub fn structure(&self) -> Ruleset {
        let mut s = self.clone();
        for set in &mut s.sets {
            set.elements.clear();
        }
        s
    }

    /// The stable text form: an `nft -f` script that replaces the table.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "table inet {TABLE}");
        let _ = writeln!(o, "delete table inet {TABLE}");
        let _ = writeln!(o, "table inet {TABLE} {{");
        for c in &self.counters {
            let _ = writeln!(o, "\tcounter {c} {{\n\t}}");
        }
        for s in &self.sets {
            let _ = writeln!(o, "\tset {} {{", s.name);
            let _ = writeln!(o, "\t\ttype {}", set_type(s.key));
            let _ = writeln!(o, "\t\tflags interval");
            if !s.elements.is_empty() {
                let list: Vec<String> = s.elements.iter().map(|e| e.to_string()).collect();
                let _ = writeln!(o, "\t\telements = {{ {} }}", list.join(", "));
            }
            let _ = writeln!(o, "\t}}");
        }
        for c in &self.chains {
            let _ = writeln!(o, "\tchain {} {{", c.name);
            let kind = match c.base.kind {
                ChainType::Filter => "filter",
                ChainType::Nat => "nat",
            };
            let policy = if c.base.accept { "accept" } else { "drop" };
            let _ = writeln!(
                o,
                "\t\ttype {kind} hook {} priority {}; policy {policy};",
                hook_name(c.base.hook),
                c.base.priority
            );
            for r in &c.rules {
                let _ = writeln!(o, "\t\t{}", r.text());
            }
            let _ = writeln!(o, "\t}}");
        }
        let _ = writeln!(o, "}}");
        o
    }

    /// One transaction that installs this ruleset over whatever `inet cpe`
    /// holds, in place: the table, counters, sets and chains are created or
    /// kept (counters keep counting, base chains stay hooked), each chain
    /// is flushed and refilled, each set flushed and refilled, and the
    /// [`Retired`] objects are created-then-deleted so that an earlier
    /// config's extra chain or set goes whether it exists or not. The
    /// kernel switches old rules and elements for new at commit.
    ///
    /// Why not delete and rebuild the table ([`Ruleset::rebuild`]): in such
    /// a transaction the new rules start to run a moment before the
    /// elements of the new sets are visible to them. Under a ping flood,
    /// 50 rebuilds dropped 0-4 pings, counted by `drop_bcp38_egress` (the
    /// LAN source looked absent from a still-empty `lan6`); in place, the
    /// sets never look empty (tests/atomicity.rs).
    ///
    /// A disabled firewall (no chains) is installed by a rebuild: an empty
    /// table filters nothing, so there is nothing to keep.
    pub fn batch(&self) -> Batch {
        if self.chains.is_empty() {
            return self.rebuild();
        }
        let mut b = Batch::new();
        b.add_table(FAMILY, TABLE);
        for c in &self.counters {
            b.add_counter(FAMILY, TABLE, c);
        }
        for c in &self.chains {
            b.add_chain(FAMILY, TABLE, c.name, Some(c.base));
            b.flush_chain(FAMILY, TABLE, c.name);
        }
        for name in &self.retired.chains {
            b.add_chain(FAMILY, TABLE, name, None);
            b.delete_chain(FAMILY, TABLE, name);
        }
        for s in &self.sets {
            b.add_set(FAMILY, TABLE, s.name, s.key, true);
            b.flush_set(FAMILY, TABLE, s.name);
            if !s.elements.is_empty() {
                b.add_elements(FAMILY, TABLE, s.name, &elements(s));
            }
        }
        for (name, key) in &self.retired.sets {
            b.add_set(FAMILY, TABLE, name, *key, true);
            b.delete_set(FAMILY, TABLE, name);
        }
        self.add_rules(&mut b);
        b
    }

    /// One transaction that replaces the table as a whole: create (so the
    /// delete cannot fail), delete, then build anew. Atomic (never a moment
    /// without a ruleset) but see [`Ruleset::batch`] for why it is only the
    /// fallback: after a refused commit, when the table may hold objects
    /// the in-place form cannot reuse (e.g. a set of another type).
    pub fn rebuild(&self) -> Batch {
        let mut b = Batch::new();
        b.add_table(FAMILY, TABLE);
        b.delete_table(FAMILY, TABLE);
        b.add_table(FAMILY, TABLE);
        for c in &self.counters {
            b.add_counter(FAMILY, TABLE, c);
        }
        for s in &self.sets {
            b.add_set(FAMILY, TABLE, s.name, s.key, true);
            if !s.elements.is_empty() {
                b.add_elements(FAMILY, TABLE, s.name, &elements(s));
            }
        }
        for c in &self.chains {
            b.add_chain(FAMILY, TABLE, c.name, Some(c.base));
        }
        self.add_rules(&mut b);
        b
    }

    fn add_rules(&self, b: &mut Batch) {
        for c in &self.chains {
            for r in &c.rules {
                b.add_rule(FAMILY, TABLE, c.name, &r.exprs(), Some(&r.comment));
            }
        }
    }

    /// One transaction that brings the sets of an installed ruleset with
    /// the same structure to this ruleset's elements (flush, then add).
    pub fn set_update(&self, installed: &Ruleset) -> Batch {
        let mut b = Batch::new();
        for (new, old) in self.sets.iter().zip(&installed.sets) {
            if new.elements != old.elements {
                b.flush_set(FAMILY, TABLE, new.name);
                if !new.elements.is_empty() {
                    b.add_elements(FAMILY, TABLE, new.name, &elements(new));
                }
            }
        }
        b
    }
}

fn elements(s: &Set) -> Vec<Element> {
    s.elements.iter().map(|n| Element::Prefix(*n)).collect()
}
