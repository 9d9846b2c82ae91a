//! The nf_tables codec: byte layout without a kernel, then against the
//! kernel in throwaway network namespaces with `nft` as the oracle (the tool
//! is never on the device; here it tells us what the kernel holds).

use super::*;
use crate::netlink::tests_kernel::{TestNs, sh};
use crate::netlink::wire::messages;
use std::process::Command;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

#[test]
fn batch_is_framed_by_begin_and_end_markers_with_consecutive_sequence_numbers() {
    let mut b = Batch::new();
    b.add_table(TableFamily::Inet, "cpe");
    b.add_rule(
        TableFamily::Inet,
        "cpe",
        "input",
        &[Expr::Verdict(Verdict::Accept)],
        Some("x"),
    );
    let (bytes, seqs) = b.encode(100);
    let msgs: Vec<_> = messages(&bytes).map(|m| m.unwrap()).collect();
    assert_eq!(msgs.len(), 4);
    let kinds: Vec<u16> = msgs.iter().map(|(h, _)| h.kind).collect();
    assert_eq!(kinds, [0x10, 0x0a00, 0x0a06, 0x11]);
    let nums: Vec<u32> = msgs.iter().map(|(h, _)| h.seq).collect();
    assert_eq!(nums, [100, 101, 102, 103]);
    assert_eq!(
        seqs,
        [(101, "add table cpe"), (102, "add rule input \"x\"")]
    );
    // Markers carry the nftables subsystem as big-endian resource id.
    assert_eq!(msgs[0].1, [0, 0, 0, 10]);
    // Messages carry family inet, request + ack flags.
    assert_eq!(msgs[1].1[0], 1);
    assert_eq!(msgs[1].0.flags & 0x05, 0x05);
    // The rule's expression list is nested (NLA_F_NESTED set).
    let rule = &msgs[2].1[4..];
    let mut at = 0;
    let mut nested = false;
    while at + 4 <= rule.len() {
        let len = u16_at(rule, at) as usize;
        let kind = u16_at(rule, at + 2);
        if kind & 0x3fff == 4 {
            nested = kind & 0x8000 != 0;
        }
        at += (len + 3) & !3;
    }
    assert!(nested);
}

#[test]
fn a_rule_names_the_kernel_modules_its_expressions_need() {
    // A kernel without the module refuses the rule with a bare ENOENT: the
    // description is the only place the module's name can come from.
    let mut b = Batch::new();
    b.add_rule(
        TableFamily::Inet,
        "cpe",
        "postrouting",
        &[
            Expr::Numgen { modulus: 2 },
            Expr::Snat4 {
                addr: std::net::Ipv4Addr::new(192, 0, 2, 18),
                ports: (1232, 1235),
            },
            Expr::Snat4 {
                addr: std::net::Ipv4Addr::new(192, 0, 2, 18),
                ports: (2256, 2259),
            },
        ],
        Some("snat"),
    );
    b.add_rule(
        TableFamily::Inet,
        "cpe",
        "input",
        &[Expr::Verdict(Verdict::Accept)],
        None,
    );
    let (_, seqs) = b.encode(1);
    assert_eq!(
        seqs,
        [
            (
                2,
                "add rule postrouting \"snat\" (needs nft_nat, nft_numgen)"
            ),
            (3, "add rule input"),
        ]
    );
}

#[test]
fn prefixes_become_kernel_intervals_outermost_only() {
    let mut b = Batch::new();
    b.add_elements(
        TableFamily::Inet,
        "t",
        "s",
        &[
            Element::Prefix("2001:db8:0:100::/56".parse().unwrap()),
            Element::Prefix("2001:db8::/48".parse().unwrap()),
            Element::Prefix("2001:db8:0:1::/64".parse().unwrap()),
            Element::Prefix("ff00::/8".parse().unwrap()),
        ],
    );
    let (bytes, _) = b.encode(1);
    let msg = messages(&bytes).nth(1).unwrap().unwrap().1;
    let hex: String = msg.iter().map(|b| format!("{b:02x}")).collect();
    // Leading end at ::, then 2001:db8::/48 as [start, end), the nested /56
    // and /64 dropped, and ff00::/8 open-ended (no address past it).
    let zero = "0".repeat(32);
    let start = format!("20010db8{}", "0".repeat(24));
    let end = format!("20010db80001{}", "0".repeat(20));
    let ff = format!("ff{}", "0".repeat(30));
    let pos = |s: &str| hex.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(pos(&zero) < pos(&start) && pos(&start) < pos(&end) && pos(&end) < pos(&ff));
    assert!(!hex.contains(&format!("20010db800000100{}", "0".repeat(16))));
    assert_eq!(hex.matches("20010db8").count(), 2);
}

#[test]
fn replies_decode_acks_errors_and_counters_and_reject_garbage() {
    // An error ack (capped, errno 2) for seq 7.
    let mut err = Vec::new();
    err.extend_from_slice(&36u32.to_ne_bytes());
    err.extend_from_slice(&2u16.to_ne_bytes());
    err.extend_from_slice(&0x100u16.to_ne_bytes());
    err.extend_from_slice(&7u32.to_ne_bytes());
    err.extend_from_slice(&0u32.to_ne_bytes());
    err.extend_from_slice(&(-2i32).to_ne_bytes());
    err.extend_from_slice(&[0u8; 16]);
    let r = parse_replies(&err);
    assert_eq!(r.len(), 1);
    match &r[0] {
        Ok((h, Reply::Ack(Some(e)))) => {
            assert_eq!(h.seq, 7);
            assert_eq!(e.errno, 2);
        }
        other => panic!("{other:?}"),
    }
    // A counter object missing its data is an error, not a panic or a zero.
    let mut obj = Vec::new();
    let body = [
        &[1u8, 0, 0, 0][..],
        &[8, 0, 1, 0, b't', 0, 0, 0],
        &[8, 0, 2, 0, b'c', 0, 0, 0],
        &[8, 0, 3, 0, 0, 0, 0, 1],
    ]
    .concat();
    obj.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
    obj.extend_from_slice(&0x0a12u16.to_ne_bytes());
    obj.extend_from_slice(&0u16.to_ne_bytes());
    obj.extend_from_slice(&[0u8; 8]);
    obj.extend_from_slice(&body);
    assert!(matches!(
        parse_replies(&obj)[0],
        Err(crate::netlink::ParseError::Missing(_))
    ));
    assert!(parse_replies(&[1, 2, 3]).iter().all(|r| r.is_err()));
}

/// The same ruleset, as our expressions and as `nft` text.
fn sample(batch: &mut Batch) {
    let f = TableFamily::Inet;
    batch.add_table(f, "cpe");
    batch.delete_table(f, "cpe");
    batch.add_table(f, "cpe");
    batch.add_counter(f, "cpe", "drop_invalid");
    batch.add_set(f, "cpe", "lan6", SetKey::Ipv6Addr, true);
    batch.add_elements(
        f,
        "cpe",
        "lan6",
        &[
            Element::Prefix("2001:db8:0:100::/56".parse().unwrap()),
            Element::Prefix("fd00:1:2::/48".parse().unwrap()),
        ],
    );
    batch.add_set(f, "cpe", "closed", SetKey::InetService, false);
    batch.add_elements(f, "cpe", "closed", &[Element::Port(53), Element::Port(67)]);
    batch.add_chain(
        f,
        "cpe",
        "forward",
        Some(BaseChain {
            hook: Hook::Forward,
            kind: ChainType::Filter,
            priority: 0,
            accept: false,
        }),
    );
    batch.add_chain(f, "cpe", "from_wan", None);
    batch.add_chain(
        f,
        "cpe",
        "postrouting",
        Some(BaseChain {
            hook: Hook::Postrouting,
            kind: ChainType::Nat,
            priority: 100,
            accept: true,
        }),
    );
    let name = |n: &str| {
        let mut v = n.as_bytes().to_vec();
        v.resize(16, 0);
        v
    };
    let ip6 = [
        Expr::Meta(MetaKey::Nfproto),
        Expr::Cmp {
            op: CmpOp::Eq,
            data: vec![10],
        },
    ];
    let icmp6 = [
        ip6.to_vec(),
        vec![
            Expr::Meta(MetaKey::L4proto),
            Expr::Cmp {
                op: CmpOp::Eq,
                data: vec![58],
            },
        ],
    ]
    .concat();
    let rules: Vec<(Vec<Expr>, &str)> = vec![
        (
            vec![
                Expr::CtState,
                Expr::Bitwise {
                    mask: 6u32.to_ne_bytes().to_vec(),
                    xor: vec![0; 4],
                },
                Expr::Cmp {
                    op: CmpOp::Neq,
                    data: vec![0; 4],
                },
                Expr::Verdict(Verdict::Accept),
            ],
            "established",
        ),
        (
            [
                icmp6.clone(),
                vec![
                    Expr::Payload {
                        base: PayloadBase::Transport,
                        offset: 0,
                        len: 2,
                    },
                    Expr::Cmp {
                        op: CmpOp::Eq,
                        data: vec![4, 1],
                    },
                    Expr::Verdict(Verdict::Accept),
                ],
            ]
            .concat(),
            "param problem 1",
        ),
        (
            [
                icmp6.clone(),
                vec![
                    Expr::Payload {
                        base: PayloadBase::Transport,
                        offset: 0,
                        len: 1,
                    },
                    Expr::Cmp {
                        op: CmpOp::Eq,
                        data: vec![128],
                    },
                    Expr::Limit {
                        rate: 10,
                        per_seconds: 1,
                        burst: 5,
                    },
                    Expr::Verdict(Verdict::Accept),
                ],
            ]
            .concat(),
            "echo",
        ),
        (
            vec![
                Expr::CtState,
                Expr::Bitwise {
                    mask: 1u32.to_ne_bytes().to_vec(),
                    xor: vec![0; 4],
                },
                Expr::Cmp {
                    op: CmpOp::Neq,
                    data: vec![0; 4],
                },
                Expr::Counter("drop_invalid".into()),
                Expr::Verdict(Verdict::Drop),
            ],
            "invalid",
        ),
        (
            [
                vec![
                    Expr::Meta(MetaKey::Iifname),
                    Expr::Cmp {
                        op: CmpOp::Eq,
                        data: name("wan0"),
                    },
                ],
                ip6.to_vec(),
                vec![
                    Expr::Payload {
                        base: PayloadBase::Network,
                        offset: 8,
                        len: 16,
                    },
                    Expr::Lookup {
                        set: "lan6".into(),
                        invert: false,
                    },
                    Expr::Verdict(Verdict::Drop),
                ],
            ]
            .concat(),
            "spoofed",
        ),
        (
            [
                ip6.to_vec(),
                vec![
                    Expr::Payload {
                        base: PayloadBase::Network,
                        offset: 8,
                        len: 16,
                    },
                    Expr::Lookup {
                        set: "lan6".into(),
                        invert: true,
                    },
                    Expr::Reject(Reject::Icmpv6Unreachable(5)),
                ],
            ]
            .concat(),
            "not ours",
        ),
        (
            [
                ip6.to_vec(),
                vec![
                    Expr::Ipv6Exthdr {
                        header: 43,
                        offset: 2,
                        len: 1,
                    },
                    Expr::Cmp {
                        op: CmpOp::Eq,
                        data: vec![0],
                    },
                    Expr::Verdict(Verdict::Drop),
                ],
            ]
            .concat(),
            "rh0",
        ),
        (
            vec![
                Expr::Meta(MetaKey::Oifname),
                Expr::Cmp {
                    op: CmpOp::Eq,
                    data: name("wan0"),
                },
                Expr::Meta(MetaKey::L4proto),
                Expr::Cmp {
                    op: CmpOp::Eq,
                    data: vec![6],
                },
                Expr::Payload {
                    base: PayloadBase::Transport,
                    offset: 13,
                    len: 1,
                },
                Expr::Bitwise {
                    mask: vec![2],
                    xor: vec![0],
                },
                Expr::Cmp {
                    op: CmpOp::Neq,
                    data: vec![0],
                },
                Expr::RtTcpMss,
                Expr::Hton { len: 2, size: 2 },
                Expr::TcpOptionWrite {
                    kind: 2,
                    offset: 2,
                    len: 2,
                },
            ],
            "mss",
        ),
        (
            vec![
                Expr::Meta(MetaKey::L4proto),
                Expr::Cmp {
                    op: CmpOp::Eq,
                    data: vec![17],
                },
                Expr::Payload {
                    base: PayloadBase::Transport,
                    offset: 2,
                    len: 2,
                },
                Expr::Lookup {
                    set: "closed".into(),
                    invert: false,
                },
                Expr::Reject(Reject::AdminProhibited),
            ],
            "closed",
        ),
        (
            vec![
                Expr::Meta(MetaKey::Iifname),
                Expr::Cmp {
                    op: CmpOp::Eq,
                    data: name("wan0"),
                },
                Expr::Verdict(Verdict::Jump("from_wan".into())),
            ],
            "wan",
        ),
    ];
    for (exprs, comment) in &rules {
        batch.add_rule(f, "cpe", "forward", exprs, Some(comment));
    }
    batch.add_rule(
        f,
        "cpe",
        "from_wan",
        &[
            Expr::Meta(MetaKey::L4proto),
            Expr::Cmp {
                op: CmpOp::Eq,
                data: vec![6],
            },
            Expr::Reject(Reject::TcpReset),
        ],
        None,
    );
    batch.add_rule(
        f,
        "cpe",
        "from_wan",
        &[Expr::Verdict(Verdict::Return)],
        None,
    );
    batch.add_rule(
        f,
        "cpe",
        "postrouting",
        &[
            Expr::Meta(MetaKey::Oifname),
            Expr::Cmp {
                op: CmpOp::Eq,
                data: name("wan0"),
            },
            Expr::Meta(MetaKey::Nfproto),
            Expr::Cmp {
                op: CmpOp::Eq,
                data: vec![2],
            },
            Expr::Masquerade,
        ],
        None,
    );
}

const SAMPLE_NFT: &str = r#"
table inet cpe {
  counter drop_invalid { }
  set lan6 { type ipv6_addr; flags interval; elements = { 2001:db8:0:100::/56, fd00:1:2::/48 } }
  set closed { type inet_service; elements = { 53, 67 } }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept comment "established"
    icmpv6 type parameter-problem icmpv6 code 1 accept comment "param problem 1"
    icmpv6 type echo-request limit rate 10/second burst 5 packets accept comment "echo"
    ct state invalid counter name "drop_invalid" drop comment "invalid"
    iifname "wan0" ip6 saddr @lan6 drop comment "spoofed"
    ip6 saddr != @lan6 reject with icmpv6 policy-fail comment "not ours"
    rt type 0 drop comment "rh0"
    oifname "wan0" tcp flags syn tcp option maxseg size set rt mtu comment "mss"
    udp dport @closed reject with icmpx admin-prohibited comment "closed"
    iifname "wan0" jump from_wan comment "wan"
  }
  chain from_wan {
    meta l4proto tcp reject with tcp reset
    return
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "wan0" meta nfproto ipv4 masquerade
  }
}
"#;

fn nft(ns: &TestNs, args: &[&str]) -> String {
    let mut full = vec!["ip", "netns", "exec", &ns.name, "nft"];
    full.extend_from_slice(args);
    sh(&full)
}

fn nft_available() -> bool {
    Command::new("nft").arg("--version").output().is_ok()
}

/// `nft list ruleset` without the per-boot handles.
fn listing(ns: &TestNs) -> String {
    nft(ns, &["list", "ruleset"])
}

#[test]
fn committed_ruleset_equals_what_nft_installs_from_the_same_text() {
    if !nft_available() {
        eprintln!("skipped: nft (the test oracle) is not installed");
        return;
    }
    let ours = TestNs::new();
    let reference = TestNs::new();
    ours.run(|| {
        let mut b = Batch::new();
        sample(&mut b);
        Nftables::open().unwrap().commit(&b).unwrap();
    });
    let path = format!("/tmp/{}.nft", reference.name);
    std::fs::write(&path, SAMPLE_NFT).unwrap();
    nft(&reference, &["-f", &path]);
    let _ = std::fs::remove_file(&path);
    let expected = listing(&reference);
    assert!(expected.contains("policy-fail"), "{expected}");
    assert_eq!(listing(&ours), expected);
    // JSON form parses and holds what we sent.
    let json: serde_json::Value =
        serde_json::from_str(&nft(&ours, &["-j", "list", "ruleset"])).unwrap();
    let items = json["nftables"].as_array().unwrap();
    let rules = items.iter().filter(|i| i.get("rule").is_some()).count();
    assert_eq!(rules, 13);
}

#[test]
fn a_refused_batch_leaves_the_old_ruleset_and_names_the_message() {
    if !nft_available() {
        eprintln!("skipped: nft (the test oracle) is not installed");
        return;
    }
    let ns = TestNs::new();
    let (err, counters) = ns.run(|| {
        let mut nl = Nftables::open().unwrap();
        let mut good = Batch::new();
        sample(&mut good);
        nl.commit(&good).unwrap();
        let mut bad = Batch::new();
        bad.add_table(TableFamily::Inet, "cpe");
        bad.delete_table(TableFamily::Inet, "cpe");
        bad.add_table(TableFamily::Inet, "cpe");
        bad.add_chain(TableFamily::Inet, "cpe", "input", None);
        bad.add_rule(
            TableFamily::Inet,
            "cpe",
            "input",
            &[
                Expr::Meta(MetaKey::L4proto),
                Expr::Lookup {
                    set: "no_such_set".into(),
                    invert: false,
                },
                Expr::Verdict(Verdict::Drop),
            ],
            Some("bad lookup"),
        );
        let err = nl.commit(&bad).unwrap_err();
        let counters = nl.counters(TableFamily::Inet, "cpe").unwrap();
        (err, counters)
    });
    let text = err.to_string();
    assert!(text.contains("add rule input \"bad lookup\""), "{text}");
    assert_eq!(
        crate::netlink::kernel_errno(&err),
        Some(libc::ENOENT),
        "{text}"
    );
    // The old ruleset is intact: its counter is still there and the listing
    // still has the forward chain.
    assert!(counters.contains_key("drop_invalid"));
    let now = listing(&ns);
    assert!(
        now.contains("chain forward") && !now.contains("chain input"),
        "{now}"
    );
}

#[test]
fn counters_read_back_what_the_kernel_counted() {
    let ns = TestNs::new();
    ns.run(|| {
        let f = TableFamily::Inet;
        let mut b = Batch::new();
        b.add_table(f, "cpe");
        b.add_counter(f, "cpe", "seen");
        b.add_chain(
            f,
            "cpe",
            "output",
            Some(BaseChain {
                hook: Hook::Output,
                kind: ChainType::Filter,
                priority: 0,
                accept: true,
            }),
        );
        b.add_rule(f, "cpe", "output", &[Expr::Counter("seen".into())], None);
        Nftables::open().unwrap().commit(&b).unwrap();
    });
    sh(&[
        "ip",
        "netns",
        "exec",
        &ns.name,
        "ping",
        "-c",
        "3",
        "-i",
        "0.01",
        "-q",
        "127.0.0.1",
    ]);
    let c = ns.run(|| {
        Nftables::open()
            .unwrap()
            .counters(TableFamily::Inet, "cpe")
            .unwrap()
    });
    let seen = &c["seen"];
    // Three echo requests and three replies leave through output.
    assert!(seen.packets >= 6, "{seen:?}");
    assert!(seen.bytes >= 6 * 84, "{seen:?}");
}

#[test]
fn committed_fuzz_corpus_decodes_as_labelled() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/nftables_reply");
    let read = |n: &str| std::fs::read(format!("{dir}/{n}")).unwrap();
    let dump = parse_replies(&read("counter-dump"));
    match &dump[0] {
        Ok((_, Reply::Counter(c))) => {
            assert_eq!((c.table.as_str(), c.name.as_str()), ("cpe", "drop_invalid"));
            assert_eq!((c.packets, c.bytes), (123, 4567));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(dump[1], Ok((_, Reply::Done))));
    match &parse_replies(&read("ack-enoent-exttext"))[0] {
        Ok((_, Reply::Ack(Some(e)))) => {
            assert_eq!(e.errno, 2);
            assert!(
                e.message
                    .as_deref()
                    .unwrap()
                    .contains("Could not process rule")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        parse_replies(&read("counter-truncated"))
            .iter()
            .any(|r| r.is_err())
    );
    assert!(
        parse_replies(&read("counter-bad-len"))
            .iter()
            .any(|r| r.is_err())
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let _ = parse_replies(&std::fs::read(entry.unwrap().path()).unwrap());
    }
}

#[test]
fn every_board_ships_the_modules_our_expressions_need() {
    // The lab runs on a host kernel that autoloads modules; an image has
    // only what its board.env lists (or, for a kernel built from source,
    // what its kernel.config builds in). MAP-E's SNAT once failed in QEMU
    // only, with ENOENT, because nft_numgen and nft_nat were not listed.
    let exprs = [
        Expr::CtState,
        Expr::Limit {
            rate: 1,
            per_seconds: 1,
            burst: 1,
        },
        Expr::Masquerade,
        Expr::Numgen { modulus: 1 },
        Expr::Snat4 {
            addr: std::net::Ipv4Addr::UNSPECIFIED,
            ports: (1, 1),
        },
        Expr::Reject(Reject::TcpReset),
    ];
    let needed: std::collections::BTreeSet<&str> =
        exprs.iter().filter_map(Expr::kernel_module).collect();
    let boards = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board");
    let mut checked = 0;
    for entry in std::fs::read_dir(&boards).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(env) = std::fs::read_to_string(dir.join("board.env")) else {
            continue;
        };
        let var = |name: &str| -> String {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=\"")))
                .map(|v| v.trim_end_matches('"').to_string())
                .unwrap_or_default()
        };
        let from_source = !var("KERNEL_FROM_SOURCE").is_empty();
        let config = std::fs::read_to_string(dir.join("kernel.config")).unwrap_or_default();
        let listed = format!("{} {}", var("MODULES"), var("MODULES_LATE"));
        for m in &needed {
            let ok = if from_source {
                let symbol = format!("CONFIG_{}=y", m.to_uppercase());
                config.lines().any(|l| l.trim() == symbol)
            } else {
                listed.split_whitespace().any(|l| l == *m)
            };
            assert!(ok, "{}: {m} is not in the image", dir.display());
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} boards found in {}",
        boards.display()
    );
}
