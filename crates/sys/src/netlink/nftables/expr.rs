//! Rule expressions: the small register machine nf_tables rules are written
//! in. Every expression here loads into, or reads from, register 1 (16 bytes,
//! wide enough for an IPv6 address), which is how `nft` itself compiles the
//! rules a router needs; there is never more than one value in flight,
//! except for [`Expr::Snat4`], which (as `nft` does) takes the address from
//! register 1 and the port bounds from registers 2 and 3.

use super::consts::*;
use super::encode::Attrs;

/// What a `meta` expression loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// Network protocol of an `inet` packet (`NFPROTO_IPV4`/`NFPROTO_IPV6`), 1 byte.
    Nfproto,
    /// Transport protocol number after extension headers, 1 byte.
    L4proto,
    /// Input interface name, 16 bytes (IFNAMSIZ), NUL padded.
    Iifname,
    /// Output interface name, 16 bytes.
    Oifname,
}

impl MetaKey {
    fn code(self) -> u32 {
        match self {
            MetaKey::Nfproto => 15,
            MetaKey::L4proto => 16,
            MetaKey::Iifname => 6,
            MetaKey::Oifname => 7,
        }
    }
}

/// Where a `payload` offset counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadBase {
    /// The IP header.
    Network,
    /// The transport (TCP/UDP/ICMP) header.
    Transport,
}

/// Comparison of register 1 with a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
}

/// What a rule ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accept the packet (this hook).
    Accept,
    /// Drop the packet.
    Drop,
    /// Evaluate the named chain, then come back.
    Jump(String),
    /// Return from a jumped-to chain.
    Return,
}

/// How a `reject` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// ICMPv6 Destination Unreachable with this code (the rule must match
    /// IPv6 only), e.g. 5 = source address failed ingress/egress policy.
    Icmpv6Unreachable(u8),
    /// TCP RST (the rule must match TCP only).
    TcpReset,
    /// Family-independent "administratively prohibited" (ICMP or ICMPv6).
    AdminProhibited,
}

/// One expression of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Load packet metadata into register 1.
    Meta(MetaKey),
    /// Load `len` bytes at `offset` from `base` into register 1.
    Payload {
        /// Header the offset counts from.
        base: PayloadBase,
        /// Byte offset.
        offset: u32,
        /// Byte count (1..=16).
        len: u32,
    },
    /// Load a field of an IPv6 extension header (`type`) into register 1;
    /// the rule does not match when the header is absent.
    Ipv6Exthdr {
        /// Extension header type (43 = routing).
        header: u8,
        /// Byte offset in the header.
        offset: u32,
        /// Byte count.
        len: u32,
    },
    /// Load the conntrack state bitmask (4 bytes, host order).
    CtState,
    /// Load the TCP MSS the route to the destination allows (host order).
    RtTcpMss,
    /// Convert register 1 (a `size`-byte host-order integer) to network order.
    Hton {
        /// Bytes to convert.
        len: u32,
        /// Integer size.
        size: u32,
    },
    /// Register 1 = (register 1 & mask) ^ xor; mask and xor have one length.
    Bitwise {
        /// AND mask.
        mask: Vec<u8>,
        /// XOR value.
        xor: Vec<u8>,
    },
    /// Stop evaluating the rule unless register 1 compares true with `data`.
    Cmp {
        /// Comparison.
        op: CmpOp,
        /// Constant, as many bytes as were loaded.
        data: Vec<u8>,
    },
    /// Stop unless register 1 is (or with `invert`, is not) in the named set.
    Lookup {
        /// Set name, in the rule's table.
        set: String,
        /// Match when absent instead.
        invert: bool,
    },
    /// Count the packet in the named counter object of the rule's table.
    Counter(String),
    /// Stop unless the packet is within `rate` per `per_seconds`, with
    /// a burst allowance of `burst` packets.
    Limit {
        /// Packets per period.
        rate: u64,
        /// Period length in seconds.
        per_seconds: u64,
        /// Burst allowance.
        burst: u32,
    },
    /// Write register 1 into the TCP option `kind` at `offset` (`len`
    /// bytes), only if smaller (the kernel's MSS-clamp semantics).
    TcpOptionWrite {
        /// TCP option kind (2 = maximum segment size).
        kind: u8,
        /// Byte offset in the option.
        offset: u32,
        /// Byte count.
        len: u32,
    },
    /// Rewrite the source address to the output interface's (IPv4 NAT).
    Masquerade,
    /// Register 1 = a random number below `modulus` (`numgen random`).
    Numgen {
        /// Exclusive upper bound.
        modulus: u32,
    },
    /// Source NAT of IPv4 to `addr`, with the source port (or ICMP
    /// identifier) chosen in `ports`: loads the three values into
    /// registers 1-3 and runs `nat` on them (three expressions, as `nft`
    /// compiles `snat ip to A:P-Q`).
    Snat4 {
        /// The address.
        addr: std::net::Ipv4Addr,
        /// First and last port.
        ports: (u16, u16),
    },
    /// Refuse with an answer.
    Reject(Reject),
    /// End the rule with a verdict.
    Verdict(Verdict),
}

fn value(a: &mut Attrs, kind: u16, data: &[u8]) {
    a.nest(kind, |a| a.bytes(NFTA_DATA_VALUE, data));
}

impl Expr {
    /// Appends this expression as `NFTA_LIST_ELEM`s (one, or four for
    /// [`Expr::Snat4`]).
    pub(crate) fn encode(&self, a: &mut Attrs) {
        if let Expr::Snat4 { addr, ports } = self {
            let load = |a: &mut Attrs, reg: u32, data: &[u8]| {
                a.nest(NFTA_LIST_ELEM, |a| {
                    a.string(NFTA_EXPR_NAME, "immediate");
                    a.nest(NFTA_EXPR_DATA, |a| {
                        a.be32(NFTA_IMMEDIATE_DREG, reg);
                        value(a, NFTA_IMMEDIATE_DATA, data);
                    });
                });
            };
            load(a, NFT_REG_1, &addr.octets());
            load(a, NFT_REG_2, &ports.0.to_be_bytes());
            load(a, NFT_REG_3, &ports.1.to_be_bytes());
        }
        a.nest(NFTA_LIST_ELEM, |a| {
            a.string(NFTA_EXPR_NAME, self.kernel_name());
            a.nest(NFTA_EXPR_DATA, |a| self.encode_data(a));
        });
    }

    /// The kernel's name for the expression type (the module that runs it).
    pub fn kernel_name(&self) -> &'static str {
        match self {
            Expr::Meta(_) => "meta",
            Expr::Payload { .. } => "payload",
            Expr::Ipv6Exthdr { .. } | Expr::TcpOptionWrite { .. } => "exthdr",
            Expr::CtState => "ct",
            Expr::RtTcpMss => "rt",
            Expr::Hton { .. } => "byteorder",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Cmp { .. } => "cmp",
            Expr::Lookup { .. } => "lookup",
            Expr::Counter(_) => "objref",
            Expr::Limit { .. } => "limit",
            Expr::Masquerade => "masq",
            Expr::Numgen { .. } => "numgen",
            Expr::Snat4 { .. } => "nat",
            Expr::Reject(_) => "reject",
            Expr::Verdict(_) => "immediate",
        }
    }

    /// The kernel module that provides this expression when it is not part
    /// of `nf_tables` itself. A rule whose expression the kernel does not
    /// know is refused with ENOENT and nothing else; naming the module turns
    /// that into something an integrator can act on (a MAP-E image once
    /// shipped without `nft_numgen` and `nft_nat`, and the only evidence was
    /// "No such file or directory").
    pub fn kernel_module(&self) -> Option<&'static str> {
        match self {
            Expr::CtState => Some("nft_ct"),
            Expr::Limit { .. } => Some("nft_limit"),
            Expr::Masquerade => Some("nft_masq"),
            Expr::Numgen { .. } => Some("nft_numgen"),
            Expr::Snat4 { .. } => Some("nft_nat"),
            Expr::Reject(_) => Some("nft_reject_inet"),
            Expr::Meta(_)
            | Expr::Payload { .. }
            | Expr::Ipv6Exthdr { .. }
            | Expr::TcpOptionWrite { .. }
            | Expr::RtTcpMss
            | Expr::Hton { .. }
            | Expr::Bitwise { .. }
            | Expr::Cmp { .. }
            | Expr::Lookup { .. }
            | Expr::Counter(_)
            | Expr::Verdict(_) => None,
        }
    }

    fn encode_data(&self, a: &mut Attrs) {
        match self {
            Expr::Meta(key) => {
                a.be32(NFTA_META_KEY, key.code());
                a.be32(NFTA_META_DREG, NFT_REG_1);
            }
            Expr::Payload { base, offset, len } => {
                a.be32(NFTA_PAYLOAD_DREG, NFT_REG_1);
                let base = match base {
                    PayloadBase::Network => 1,
                    PayloadBase::Transport => 2,
                };
                a.be32(NFTA_PAYLOAD_BASE, base);
                a.be32(NFTA_PAYLOAD_OFFSET, *offset);
                a.be32(NFTA_PAYLOAD_LEN, *len);
            }
            Expr::Ipv6Exthdr {
                header,
                offset,
                len,
            } => {
                a.be32(NFTA_EXTHDR_DREG, NFT_REG_1);
                a.bytes(NFTA_EXTHDR_TYPE, &[*header]);
                a.be32(NFTA_EXTHDR_OFFSET, *offset);
                a.be32(NFTA_EXTHDR_LEN, *len);
                a.be32(NFTA_EXTHDR_OP, NFT_EXTHDR_OP_IPV6);
            }
            Expr::TcpOptionWrite { kind, offset, len } => {
                a.be32(NFTA_EXTHDR_SREG, NFT_REG_1);
                a.bytes(NFTA_EXTHDR_TYPE, &[*kind]);
                a.be32(NFTA_EXTHDR_OFFSET, *offset);
                a.be32(NFTA_EXTHDR_LEN, *len);
                a.be32(NFTA_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
            }
            Expr::CtState => {
                a.be32(NFTA_CT_KEY, 0); // NFT_CT_STATE
                a.be32(NFTA_CT_DREG, NFT_REG_1);
            }
            Expr::RtTcpMss => {
                a.be32(NFTA_RT_KEY, 3); // NFT_RT_TCPMSS
                a.be32(NFTA_RT_DREG, NFT_REG_1);
            }
            Expr::Hton { len, size } => {
                a.be32(NFTA_BYTEORDER_SREG, NFT_REG_1);
                a.be32(NFTA_BYTEORDER_DREG, NFT_REG_1);
                a.be32(NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON);
                a.be32(NFTA_BYTEORDER_LEN, *len);
                a.be32(NFTA_BYTEORDER_SIZE, *size);
            }
            Expr::Bitwise { mask, xor } => {
                a.be32(NFTA_BITWISE_SREG, NFT_REG_1);
                a.be32(NFTA_BITWISE_DREG, NFT_REG_1);
                a.be32(NFTA_BITWISE_LEN, mask.len() as u32);
                value(a, NFTA_BITWISE_MASK, mask);
                value(a, NFTA_BITWISE_XOR, xor);
            }
            Expr::Cmp { op, data } => {
                a.be32(NFTA_CMP_SREG, NFT_REG_1);
                a.be32(
                    NFTA_CMP_OP,
                    match op {
                        CmpOp::Eq => 0,
                        CmpOp::Neq => 1,
                    },
                );
                value(a, NFTA_CMP_DATA, data);
            }
            Expr::Lookup { set, invert } => {
                a.string(NFTA_LOOKUP_SET, set);
                a.be32(NFTA_LOOKUP_SREG, NFT_REG_1);
                if *invert {
                    a.be32(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
                }
            }
            Expr::Counter(name) => {
                a.be32(NFTA_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
                a.string(NFTA_OBJREF_IMM_NAME, name);
            }
            Expr::Limit {
                rate,
                per_seconds,
                burst,
            } => {
                a.be64(NFTA_LIMIT_RATE, *rate);
                a.be64(NFTA_LIMIT_UNIT, *per_seconds);
                a.be32(NFTA_LIMIT_BURST, *burst);
                a.be32(NFTA_LIMIT_TYPE, 0); // packets
                a.be32(NFTA_LIMIT_FLAGS, 0);
            }
            Expr::Masquerade => {}
            Expr::Numgen { modulus } => {
                a.be32(NFTA_NG_DREG, NFT_REG_1);
                a.be32(NFTA_NG_MODULUS, *modulus);
                a.be32(NFTA_NG_TYPE, NFT_NG_RANDOM);
            }
            Expr::Snat4 { .. } => {
                a.be32(NFTA_NAT_TYPE, NFT_NAT_SNAT);
                a.be32(NFTA_NAT_FAMILY, u32::from(NFPROTO_IPV4));
                a.be32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
                a.be32(NFTA_NAT_REG_ADDR_MAX, NFT_REG_1);
                a.be32(NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
                a.be32(NFTA_NAT_REG_PROTO_MAX, NFT_REG_3);
                a.be32(NFTA_NAT_FLAGS, NF_NAT_RANGE_IPS_AND_PROTO);
            }
            Expr::Reject(r) => {
                let (ty, code) = match r {
                    Reject::Icmpv6Unreachable(code) => (0, *code),
                    Reject::TcpReset => (1, 0),
                    Reject::AdminProhibited => (2, 3),
                };
                a.be32(NFTA_REJECT_TYPE, ty);
                a.bytes(NFTA_REJECT_ICMP_CODE, &[code]);
            }
            Expr::Verdict(v) => {
                a.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                a.nest(NFTA_IMMEDIATE_DATA, |a| {
                    a.nest(NFTA_DATA_VERDICT, |a| {
                        let code = match v {
                            Verdict::Accept => NF_ACCEPT,
                            Verdict::Drop => NF_DROP,
                            Verdict::Jump(_) => NFT_JUMP as u32,
                            Verdict::Return => NFT_RETURN as u32,
                        };
                        a.be32(NFTA_VERDICT_CODE, code);
                        if let Verdict::Jump(chain) = v {
                            a.string(NFTA_VERDICT_CHAIN, chain);
                        }
                    });
                });
            }
        }
    }
}
