//! One nf_tables transaction: the messages between `NFNL_MSG_BATCH_BEGIN`
//! and `NFNL_MSG_BATCH_END`, which the kernel applies all together or not at
//! all. Building is pure (no socket, no clock), so a ruleset's bytes can be
//! tested without a kernel.

use super::super::consts::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NLMSG_HDRLEN};
use super::consts::*;
use super::encode::Attrs;
use super::expr::Expr;
use ipnet::IpNet;
use std::net::IpAddr;

/// Table family: `inet` serves IPv4 and IPv6 with one ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFamily {
    /// IPv4 and IPv6.
    Inet,
    /// IPv4 only.
    Ip,
    /// IPv6 only.
    Ip6,
}

impl TableFamily {
    pub(crate) fn code(self) -> u8 {
        match self {
            TableFamily::Inet => NFPROTO_INET,
            TableFamily::Ip => NFPROTO_IPV4,
            TableFamily::Ip6 => NFPROTO_IPV6,
        }
    }
}

/// Where a base chain hooks into the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Before routing.
    Prerouting,
    /// To the router itself.
    Input,
    /// Through the router.
    Forward,
    /// From the router itself.
    Output,
    /// After routing, on the way out.
    Postrouting,
}

impl Hook {
    fn code(self) -> u32 {
        match self {
            Hook::Prerouting => NF_INET_PRE_ROUTING,
            Hook::Input => NF_INET_LOCAL_IN,
            Hook::Forward => NF_INET_FORWARD,
            Hook::Output => NF_INET_LOCAL_OUT,
            Hook::Postrouting => NF_INET_POST_ROUTING,
        }
    }
}

/// Base-chain type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainType {
    /// Filtering.
    Filter,
    /// Address translation (consulted for the first packet of a flow).
    Nat,
}

/// A base chain's attachment: hook, type, priority and default verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseChain {
    /// Hook.
    pub hook: Hook,
    /// Type.
    pub kind: ChainType,
    /// Priority (lower runs first; filter = 0, srcnat = 100).
    pub priority: i32,
    /// Policy: true = accept, false = drop.
    pub accept: bool,
}

/// Key type of a named set, with nft's datatype number so that `nft list`
/// shows the elements as addresses and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKey {
    /// IPv4 addresses or prefixes.
    Ipv4Addr,
    /// IPv6 addresses or prefixes.
    Ipv6Addr,
    /// Transport ports.
    InetService,
}

impl SetKey {
    fn datatype(self) -> u32 {
        match self {
            SetKey::Ipv4Addr => 7,
            SetKey::Ipv6Addr => 8,
            SetKey::InetService => 13,
        }
    }

    fn len(self) -> u32 {
        match self {
            SetKey::Ipv4Addr => 4,
            SetKey::Ipv6Addr => 16,
            SetKey::InetService => 2,
        }
    }
}

/// One set element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// A prefix (interval sets only).
    Prefix(IpNet),
    /// A port.
    Port(u16),
}

/// Longest table/chain/set/object name we send: the kernel's limit is 256
/// bytes with the NUL; ours are short words, so anything longer is a bug.
const MAX_NAME: usize = 64;

/// A batch under construction. Each message gets a description, so that an
/// error the kernel returns for it can be reported as "add rule ...".
#[derive(Default)]
pub struct Batch {
    messages: Vec<(Vec<u8>, String)>,
    next_set_id: u32,
}

fn name_ok(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && !name.contains('\0')
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Number of messages (without the begin/end markers).
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True if nothing was added.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    fn push(
        &mut self,
        kind: u16,
        flags: u16,
        family: TableFamily,
        what: String,
        f: impl FnOnce(&mut Attrs),
    ) {
        let mut a = Attrs::default();
        a.buf.extend_from_slice(&[0u8; NLMSG_HDRLEN]);
        // nfgenmsg: family, version, resource id (big-endian, 0 here).
        a.buf
            .extend_from_slice(&[family.code(), NFNETLINK_V0, 0, 0]);
        f(&mut a);
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | kind;
        set_header(&mut a.buf, ty, flags | NLM_F_REQUEST | NLM_F_ACK);
        self.messages.push((a.buf, what));
    }

    /// Creates a table (no error if it exists; an existing one is kept).
    pub fn add_table(&mut self, family: TableFamily, name: &str) {
        debug_assert!(name_ok(name));
        self.push(
            NFT_MSG_NEWTABLE,
            NLM_F_CREATE,
            family,
            format!("add table {name}"),
            |a| a.string(NFTA_TABLE_NAME, name),
        );
    }

    /// Deletes a table and everything in it.
    pub fn delete_table(&mut self, family: TableFamily, name: &str) {
        self.push(
            NFT_MSG_DELTABLE,
            0,
            family,
            format!("delete table {name}"),
            |a| a.string(NFTA_TABLE_NAME, name),
        );
    }

    /// Creates a chain; with `base`, attached to a hook. An existing chain is
    /// kept (with its rules and hook; the policy is updated).
    pub fn add_chain(
        &mut self,
        family: TableFamily,
        table: &str,
        name: &str,
        base: Option<BaseChain>,
    ) {
        debug_assert!(name_ok(name));
        self.push(
            NFT_MSG_NEWCHAIN,
            NLM_F_CREATE,
            family,
            format!("add chain {name}"),
            |a| {
                a.string(NFTA_CHAIN_TABLE, table);
                a.string(NFTA_CHAIN_NAME, name);
                if let Some(b) = base {
                    a.nest(NFTA_CHAIN_HOOK, |a| {
                        a.be32(NFTA_HOOK_HOOKNUM, b.hook.code());
                        a.be32(NFTA_HOOK_PRIORITY, b.priority as u32);
                    });
                    a.be32(
                        NFTA_CHAIN_POLICY,
                        if b.accept { NF_ACCEPT } else { NF_DROP },
                    );
                    a.string(
                        NFTA_CHAIN_TYPE,
                        match b.kind {
                            ChainType::Filter => "filter",
                            ChainType::Nat => "nat",
                        },
                    );
                }
            },
        );
    }

    /// Removes every rule of a chain (a rule delete without a handle) and
    /// keeps the chain, so a base chain stays hooked while its rules are
    /// replaced in the same transaction.
    pub fn flush_chain(&mut self, family: TableFamily, table: &str, chain: &str) {
        self.push(
            NFT_MSG_DELRULE,
            0,
            family,
            format!("flush chain {chain}"),
            |a| {
                a.string(NFTA_RULE_TABLE, table);
                a.string(NFTA_RULE_CHAIN, chain);
            },
        );
    }

    /// Deletes a chain and its rules.
    pub fn delete_chain(&mut self, family: TableFamily, table: &str, chain: &str) {
        self.push(
            NFT_MSG_DELCHAIN,
            0,
            family,
            format!("delete chain {chain}"),
            |a| {
                a.string(NFTA_CHAIN_TABLE, table);
                a.string(NFTA_CHAIN_NAME, chain);
            },
        );
    }

    /// Deletes a named set (no rule may refer to it at commit).
    pub fn delete_set(&mut self, family: TableFamily, table: &str, set: &str) {
        self.push(
            NFT_MSG_DELSET,
            0,
            family,
            format!("delete set {set}"),
            |a| {
                a.string(NFTA_SET_TABLE, table);
                a.string(NFTA_SET_NAME, set);
            },
        );
    }

    /// Creates a named set; `interval` sets hold prefixes. An existing set
    /// of the same type is kept with its elements.
    pub fn add_set(
        &mut self,
        family: TableFamily,
        table: &str,
        name: &str,
        key: SetKey,
        interval: bool,
    ) {
        debug_assert!(name_ok(name));
        self.next_set_id += 1;
        let id = self.next_set_id;
        self.push(
            NFT_MSG_NEWSET,
            NLM_F_CREATE,
            family,
            format!("add set {name}"),
            |a| {
                a.string(NFTA_SET_TABLE, table);
                a.string(NFTA_SET_NAME, name);
                if interval {
                    a.be32(NFTA_SET_FLAGS, NFT_SET_INTERVAL);
                }
                a.be32(NFTA_SET_KEY_TYPE, key.datatype());
                a.be32(NFTA_SET_KEY_LEN, key.len());
                a.be32(NFTA_SET_ID, id);
            },
        );
    }

    /// Adds elements to a set. Prefixes become the kernel's interval form:
    /// a start key, and an end key (one past the last address) flagged
    /// `INTERVAL_END`; a leading "end" at address zero closes the gap below
    /// the first interval, as `nft` sends it.
    pub fn add_elements(
        &mut self,
        family: TableFamily,
        table: &str,
        set: &str,
        elements: &[Element],
    ) {
        let keys = element_keys(elements);
        self.push(
            NFT_MSG_NEWSETELEM,
            NLM_F_CREATE,
            family,
            format!("add elements to set {set}"),
            |a| {
                a.string(NFTA_SET_ELEM_LIST_TABLE, table);
                a.string(NFTA_SET_ELEM_LIST_SET, set);
                a.nest(NFTA_SET_ELEM_LIST_ELEMENTS, |a| {
                    for (key, end) in &keys {
                        a.nest(NFTA_LIST_ELEM, |a| {
                            a.nest(NFTA_SET_ELEM_KEY, |a| a.bytes(NFTA_DATA_VALUE, key));
                            if *end {
                                a.be32(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
                            }
                        });
                    }
                });
            },
        );
    }

    /// Removes every element of a set (a delete without an element list).
    pub fn flush_set(&mut self, family: TableFamily, table: &str, set: &str) {
        self.push(
            NFT_MSG_DELSETELEM,
            0,
            family,
            format!("flush set {set}"),
            |a| {
                a.string(NFTA_SET_ELEM_LIST_TABLE, table);
                a.string(NFTA_SET_ELEM_LIST_SET, set);
            },
        );
    }

    /// Creates a named counter object (read back with
    /// [`Nftables::counters`](super::Nftables::counters)); an existing one
    /// keeps its counts.
    pub fn add_counter(&mut self, family: TableFamily, table: &str, name: &str) {
        debug_assert!(name_ok(name));
        self.push(
            NFT_MSG_NEWOBJ,
            NLM_F_CREATE,
            family,
            format!("add counter {name}"),
            |a| {
                a.string(NFTA_OBJ_TABLE, table);
                a.string(NFTA_OBJ_NAME, name);
                a.be32(NFTA_OBJ_TYPE, NFT_OBJECT_COUNTER);
                a.nest(NFTA_OBJ_DATA, |a| {
                    a.be64(NFTA_COUNTER_BYTES, 0);
                    a.be64(NFTA_COUNTER_PACKETS, 0);
                });
            },
        );
    }

    /// Appends a rule to a chain; the comment shows in `nft list ruleset`.
    pub fn add_rule(
        &mut self,
        family: TableFamily,
        table: &str,
        chain: &str,
        exprs: &[Expr],
        comment: Option<&str>,
    ) {
        let mut what = match comment {
            Some(c) => format!("add rule {chain} \"{c}\""),
            None => format!("add rule {chain}"),
        };
        let mut modules: Vec<&str> = exprs.iter().filter_map(Expr::kernel_module).collect();
        modules.sort_unstable();
        modules.dedup();
        if !modules.is_empty() {
            what.push_str(&format!(" (needs {})", modules.join(", ")));
        }
        self.push(
            NFT_MSG_NEWRULE,
            NLM_F_CREATE | NLM_F_APPEND,
            family,
            what,
            |a| {
                a.string(NFTA_RULE_TABLE, table);
                a.string(NFTA_RULE_CHAIN, chain);
                a.nest(NFTA_RULE_EXPRESSIONS, |a| {
                    for e in exprs {
                        e.encode(a);
                    }
                });
                if let Some(c) = comment {
                    // nft's userdata TLV: type, length (with the NUL), text.
                    let text: Vec<u8> = c.bytes().take(250).chain([0]).collect();
                    let mut u = vec![UDATA_RULE_COMMENT, text.len() as u8];
                    u.extend_from_slice(&text);
                    a.bytes(NFTA_RULE_USERDATA, &u);
                }
            },
        );
    }

    /// The datagram to send: begin marker, messages numbered from
    /// `first_seq`, end marker. Returns it with each message's sequence
    /// number and description, for matching acks.
    pub fn encode(&self, first_seq: u32) -> (Vec<u8>, Vec<(u32, &str)>) {
        let mut out = Vec::new();
        let mut seqs = Vec::with_capacity(self.messages.len());
        let mut seq = first_seq;
        out.extend_from_slice(&marker(NFNL_MSG_BATCH_BEGIN, seq));
        for (msg, what) in &self.messages {
            seq = seq.wrapping_add(1);
            let start = out.len();
            out.extend_from_slice(msg);
            if let Some(dst) = out.get_mut(start + 8..start + 12) {
                dst.copy_from_slice(&seq.to_ne_bytes());
            }
            seqs.push((seq, what.as_str()));
        }
        seq = seq.wrapping_add(1);
        out.extend_from_slice(&marker(NFNL_MSG_BATCH_END, seq));
        (out, seqs)
    }
}

/// Writes length, type and flags into a message's header.
fn set_header(buf: &mut [u8], ty: u16, flags: u16) {
    let len = (buf.len() as u32).to_ne_bytes();
    if let Some(h) = buf.get_mut(..8) {
        h[..4].copy_from_slice(&len);
        h[4..6].copy_from_slice(&ty.to_ne_bytes());
        h[6..8].copy_from_slice(&flags.to_ne_bytes());
    }
}

/// A batch begin/end marker: `nfgenmsg` with the subsystem as resource id.
fn marker(ty: u16, seq: u32) -> Vec<u8> {
    let mut m = vec![0u8; NLMSG_HDRLEN];
    m.extend_from_slice(&[0, NFNETLINK_V0]);
    m.extend_from_slice(&NFNL_SUBSYS_NFTABLES.to_be_bytes());
    set_header(&mut m, ty, NLM_F_REQUEST);
    if let Some(dst) = m.get_mut(8..12) {
        dst.copy_from_slice(&seq.to_ne_bytes());
    }
    m
}

/// Set keys in kernel order, with their interval-end flag.
fn element_keys(elements: &[Element]) -> Vec<(Vec<u8>, bool)> {
    let mut keys = Vec::new();
    let mut intervals: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    for e in elements {
        match e {
            Element::Port(p) => keys.push((p.to_be_bytes().to_vec(), false)),
            Element::Prefix(net) => {
                let net = net.trunc();
                let (start, end) = match (net.network(), net.broadcast()) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => (
                        a.octets().to_vec(),
                        u32::from(b)
                            .checked_add(1)
                            .map(|e| e.to_be_bytes().to_vec()),
                    ),
                    (IpAddr::V6(a), IpAddr::V6(b)) => (
                        a.octets().to_vec(),
                        u128::from(b)
                            .checked_add(1)
                            .map(|e| e.to_be_bytes().to_vec()),
                    ),
                    _ => continue,
                };
                intervals.push((start, end));
            }
        }
    }
    if !intervals.is_empty() {
        intervals.sort();
        let width = intervals.first().map_or(0, |(s, _)| s.len());
        if intervals
            .first()
            .is_some_and(|(s, _)| s.iter().any(|&b| b != 0))
        {
            keys.push((vec![0; width], true));
        }
        // Prefixes either nest or are disjoint: keep the outermost only, as
        // the kernel refuses overlapping intervals.
        let mut covered_until: Option<Vec<u8>> = None;
        for (start, end) in intervals {
            if let Some(limit) = &covered_until
                && start < *limit
            {
                continue;
            }
            covered_until = Some(end.clone().unwrap_or_else(|| vec![0xff; width + 1]));
            keys.push((start, false));
            if let Some(end) = end {
                keys.push((end, true));
            }
        }
    }
    keys
}
