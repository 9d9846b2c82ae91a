//! Property tests: rendering any valid config and loading the text gives
//! the same config back; loading never panics on TOML-shaped noise; and
//! diagnostics always point inside the text.
#![allow(
    clippy::unwrap_used,
    reason = "strategy helpers build values that are valid by construction"
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use cpe_config::*;
use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;

fn domain() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}[a-z0-9](\\.[a-z][a-z0-9]{0,6}){0,2}"
}

fn doc_v6() -> impl Strategy<Value = Ipv6Addr> {
    // 2001:db8::/32 with random lower bits: global unicast, never mapped.
    any::<u128>()
        .prop_map(|bits| Ipv6Addr::from((0x2001_0db8u128 << 96) | (bits & ((1u128 << 96) - 1)) | 1))
}

fn v4_host() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=223, any::<u8>(), any::<u8>(), 1u8..=254)
        .prop_filter("not loopback", |(a, ..)| *a != 127)
        .prop_map(|(a, b, c, d)| Ipv4Addr::new(a, b, c, d))
}

fn addr_or_self_v6() -> impl Strategy<Value = AddrOrSelf> {
    prop_oneof![
        Just(AddrOrSelf::SelfAddr),
        doc_v6().prop_map(|a| AddrOrSelf::Addr(IpAddr::V6(a))),
    ]
}

fn addr_or_self_any() -> impl Strategy<Value = AddrOrSelf> {
    prop_oneof![
        Just(AddrOrSelf::SelfAddr),
        doc_v6().prop_map(|a| AddrOrSelf::Addr(IpAddr::V6(a))),
        v4_host().prop_map(|a| AddrOrSelf::Addr(IpAddr::V4(a))),
    ]
}

fn system() -> impl Strategy<Value = System> {
    (
        "[a-z][a-z0-9-]{0,10}[a-z]",
        prop_oneof![
            Just(LogLevel::Error),
            Just(LogLevel::Warn),
            Just(LogLevel::Info),
            Just(LogLevel::Debug),
            Just(LogLevel::Trace)
        ],
        "/[a-z]{1,8}(/[a-z0-9_.-]{1,8})?",
        "/[a-z]{1,8}",
    )
        .prop_map(|(hostname, log_level, state, run)| System {
            hostname,
            log_level,
            state_dir: PathBuf::from(state),
            run_dir: PathBuf::from(run),
            // Only the reader makes a CryptHash; the hash's render/load
            // round trip is in tests/validation.rs.
            root_password_hash: None,
        })
}

fn pppoe() -> impl Strategy<Value = Pppoe> {
    (
        "\\PC{1,40}",
        "\\PC{0,40}",
        "[ -~]{0,20}",
        "[ -~]{0,20}",
        0u32..=3600,
        1u32..=100,
        1u32..=3600,
        0u32..=3600,
    )
        .prop_map(
            |(username, password, service, ac_name, echo, failure, min, extra)| Pppoe {
                username,
                password,
                password_file: None,
                service,
                ac_name,
                lcp_echo_interval: echo,
                lcp_echo_failure: failure,
                reconnect_min: min,
                reconnect_max: (min + extra).min(86400),
            },
        )
}

/// A consistent MAP-E rule: the EA bits are the IPv4 suffix plus a PSID
/// that fits after the offset, and end within 64 bits.
fn map_rule() -> impl Strategy<Value = MapRule> {
    (16u8..=32, 0u8..=8, 0u8..=8, 24u8..=40, doc_v6()).prop_map(|(p4, psid, off, p6, br)| {
        let ea_bits = (32 - p4) + psid;
        MapRule {
            ipv6_prefix: Ipv6Net::new("2001:db8::".parse().unwrap(), p6.min(64 - ea_bits))
                .unwrap()
                .trunc(),
            ipv4_prefix: Ipv4Net::new(Ipv4Addr::new(192, 0, 2, 0), p4)
                .unwrap()
                .trunc(),
            ea_bits,
            psid_offset: off,
            br,
        }
    })
}

fn s46() -> impl Strategy<Value = Ipv4OverIpv6> {
    (
        0usize..4,
        proptest::option::of(prop_oneof![
            domain().prop_map(Aftr::Name),
            doc_v6().prop_map(Aftr::Address)
        ]),
        proptest::option::of(map_rule()),
    )
        .prop_map(|(mode, aftr, map_rule)| Ipv4OverIpv6 {
            mode: [S46Mode::Off, S46Mode::Auto, S46Mode::DsLite, S46Mode::MapE][mode],
            aftr,
            map_rule,
        })
}

fn wan() -> impl Strategy<Value = Wan> {
    (
        prop_oneof![Just(Mode::Ipoe), Just(Mode::Pppoe)],
        1280u32..=9000,
        any::<bool>(),
        proptest::option::of(pppoe()),
        pppoe(),
        (
            any::<bool>(),
            any::<bool>(),
            48u8..=64,
            0u8..3,
            any::<bool>(),
            any::<bool>(),
        ),
        proptest::collection::vec((any::<u16>(), 16u8..=64), 0..4),
        s46(),
    )
        .prop_map(|(mode, mtu, ipv4, pppoe, fallback, d, closed, s46)| Wan {
            interface: "wan0".to_owned(),
            mode,
            mtu,
            ipv4,
            pppoe: match mode {
                Mode::Pppoe => Some(pppoe.unwrap_or(fallback)),
                Mode::Ipoe => pppoe,
            },
            dhcpv6: WanDhcpv6 {
                enabled: d.0,
                request_prefix: d.1,
                prefix_hint: d.2,
                request_address: [
                    RequestAddress::Auto,
                    RequestAddress::Always,
                    RequestAddress::Never,
                ][usize::from(d.3)],
                rapid_commit: d.4,
                start: if d.5 {
                    Dhcpv6Start::Always
                } else {
                    Dhcpv6Start::Ra
                },
            },
            // Disjoint ranges (one per distinct first segment), no host bits.
            closed_prefixes: {
                let mut seen = Vec::new();
                closed
                    .into_iter()
                    .filter(|(s, _)| {
                        let new = !seen.contains(s);
                        seen.push(*s);
                        new
                    })
                    .map(|(s, len)| {
                        let a = Ipv6Addr::new(0x2000 | (s & 0x0fff), s, 0, 0, 0, 0, 0, 0);
                        ipnet::Ipv6Net::new(a, len.max(32)).unwrap().trunc()
                    })
                    .collect()
            },
            ipv4_over_ipv6: s46,
        })
}

fn ra() -> impl Strategy<Value = LanRa> {
    (4u32..=1800)
        .prop_flat_map(|max| {
            let min_top = (max * 3 / 4).min(max - 1);
            (
                Just(max),
                3u32..=min_top.max(3),
                prop_oneof![Just(0u32), max..=9000],
            )
        })
        .prop_flat_map(|(max, min, lifetime)| {
            (
                Just((max, min, lifetime)),
                (
                    any::<bool>(),
                    any::<bool>(),
                    0usize..3,
                    any::<bool>(),
                    any::<bool>(),
                ),
                prop_oneof![
                    Just(RaMtu::Auto),
                    Just(RaMtu::Off),
                    (1280u32..=9000).prop_map(RaMtu::Value)
                ],
                prop::collection::vec(addr_or_self_v6(), 0..3),
                prop::collection::vec(domain(), 0..3),
                prop::collection::btree_set(any::<u32>(), 0..3),
            )
        })
        .prop_map(
            |((max, min, lifetime), flags, mtu, rdnss, dnssl, prefixes)| LanRa {
                enabled: flags.0,
                managed: false,
                other_config: flags.1,
                autonomous: flags.3,
                on_link: flags.4,
                preference: [
                    RouterPreference::Low,
                    RouterPreference::Medium,
                    RouterPreference::High,
                ][flags.2],
                min_interval: min,
                max_interval: max,
                router_lifetime: lifetime,
                mtu,
                rdnss,
                dnssl,
                prefixes: prefixes
                    .into_iter()
                    .map(|n| {
                        let addr = Ipv6Addr::from((0x2001_0db8u128 << 96) | (u128::from(n) << 64));
                        Ipv6Net::new(addr, 64).unwrap()
                    })
                    .collect(),
            },
        )
}

/// IPv4 for LAN number `index`: 10.index.0.0/16..24, router .1, pool inside.
fn lan_ipv4(index: u8) -> impl Strategy<Value = Option<LanIpv4>> {
    proptest::option::of((
        16u8..=24,
        any::<bool>(),
        10u8..100,
        0u8..100,
        120u32..=31_536_000,
    ))
    .prop_map(move |v| {
        v.map(|(len, dhcp, start, span, lease_time)| LanIpv4 {
            address: Ipv4Net::new(Ipv4Addr::new(10, index, 0, 1), len).unwrap(),
            dhcp,
            pool: (
                Ipv4Addr::new(10, index, 0, start),
                Ipv4Addr::new(10, index, 0, start + span),
            ),
            lease_time,
        })
    })
}

fn lan_dhcpv6() -> impl Strategy<Value = LanDhcpv6> {
    (
        any::<bool>(),
        prop::collection::vec(addr_or_self_v6(), 0..3),
        prop::collection::vec(domain(), 0..3),
        prop::collection::vec(doc_v6(), 0..2),
        600u32..=u32::MAX,
    )
        .prop_map(
            |(on, dns, domain_search, ntp, information_refresh)| LanDhcpv6 {
                mode: if on {
                    Dhcpv6Mode::Stateless
                } else {
                    Dhcpv6Mode::Off
                },
                dns,
                domain_search,
                ntp,
                information_refresh,
            },
        )
}

fn lan(index: u8, subnet_id: u16) -> impl Strategy<Value = Lan> {
    (
        any::<bool>(),
        prop::option::of(any::<[u8; 5]>()),
        ra(),
        lan_ipv4(index),
        lan_dhcpv6(),
    )
        .prop_map(move |(ula, id, ra, ipv4, dhcpv6)| Lan {
            interface: format!("br{index}"),
            subnet_id,
            ula,
            // A configured /48 of fd00::/8 (RFC 4193: fd + 40-bit Global ID).
            ula_prefix: id.filter(|_| ula).map(|id| {
                let mut octets = [0u8; 16];
                octets[0] = 0xfd;
                octets[1..6].copy_from_slice(&id);
                Ipv6Net::new(Ipv6Addr::from(octets), 48).unwrap()
            }),
            ra,
            ipv4,
            dhcpv6,
        })
}

fn dns() -> impl Strategy<Value = Dns> {
    (
        any::<bool>(),
        prop::collection::vec(prop_oneof![Just("lan"), Just("lo"), Just("br0")], 0..3),
        prop::collection::vec(
            prop_oneof![
                Just(UpstreamSpec::Auto),
                doc_v6().prop_map(|a| UpstreamSpec::Addr(IpAddr::V6(a))),
                v4_host().prop_map(|a| UpstreamSpec::Addr(IpAddr::V4(a))),
            ],
            1..3,
        ),
        0u32..=100_000,
        domain(),
        prop::collection::btree_map(
            domain(),
            prop::collection::vec(addr_or_self_any(), 1..3),
            0..3,
        ),
    )
        .prop_map(
            |(enabled, listen, upstream, cache_size, local_domain, hosts)| Dns {
                enabled,
                listen: listen.into_iter().map(str::to_owned).collect(),
                upstream,
                cache_size,
                local_domain,
                hosts: hosts
                    .into_iter()
                    .map(|(name, addresses)| HostEntry { name, addresses })
                    .collect(),
            },
        )
}

fn firewall() -> impl Strategy<Value = Firewall> {
    let pinhole = (
        any::<bool>(),
        1u16..=65535,
        prop_oneof![
            (1u64..).prop_map(HostSpec::InterfaceId),
            doc_v6().prop_map(HostSpec::Address),
        ],
    );
    (
        (any::<bool>(), 0usize..3, 1u32..=1_000_000, 0usize..4),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(pinhole, 0..4),
    )
        .prop_map(|(a, ipv4_nat, mss_clamp, pinholes)| Firewall {
            enabled: a.0,
            wan_inbound: [
                InboundPolicy::Drop,
                InboundPolicy::Reject,
                InboundPolicy::Accept,
            ][a.1],
            icmpv6: Icmpv6Policy::Rfc4890,
            echo_request_limit: RateLimit {
                count: a.2,
                per: [
                    RatePeriod::Second,
                    RatePeriod::Minute,
                    RatePeriod::Hour,
                    RatePeriod::Day,
                ][a.3],
            },
            ipv4_nat,
            mss_clamp,
            pinhole: pinholes
                .into_iter()
                .enumerate()
                .map(|(i, (tcp, port, host))| Pinhole {
                    name: format!("rule-{i}"),
                    proto: if tcp {
                        PinholeProto::Tcp
                    } else {
                        PinholeProto::Udp
                    },
                    port,
                    host,
                })
                .collect(),
        })
}

fn ntp() -> impl Strategy<Value = Ntp> {
    let server = prop_oneof![
        doc_v6().prop_map(IpAddr::V6),
        (1u8..=223, any::<[u8; 2]>(), 1u8..=254)
            .prop_map(|(a, [b, c], d)| IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
    ];
    (
        any::<bool>(),
        prop::collection::vec(server, 1..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(enabled, servers, use_wan, set_clock)| Ntp {
            enabled,
            servers,
            use_wan,
            set_clock,
        })
}

fn config() -> impl Strategy<Value = Config> {
    wan()
        .prop_flat_map(|wan| {
            // Distinct subnet ids that fit the hint when a prefix is asked for.
            let capacity: u32 = 1 << (64 - u32::from(wan.dhcpv6.prefix_hint)).min(16);
            let count = capacity.min(3);
            (Just(wan), 1..=count, 0..=capacity - count)
        })
        .prop_flat_map(|(wan, count, base)| {
            let lans: Vec<_> = (0..count)
                .map(|i| lan(u8::try_from(i).unwrap(), u16::try_from(base + i).unwrap()))
                .collect();
            (Just(wan), system(), lans, dns(), firewall(), ntp())
        })
        .prop_map(|(wan, system, lan, dns, firewall, ntp)| Config {
            system,
            wan,
            lan,
            dns,
            firewall,
            ntp,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn render_then_load_gives_the_same_config(config in config()) {
        let text = to_toml(&config);
        match parse_str(&text, "rendered.toml") {
            Ok(loaded) => prop_assert_eq!(loaded.config, config, "text:\n{}", text),
            Err(diags) => prop_assert!(false, "rendered config rejected:\n{}\n---\n{}", diags, text),
        }
    }

    #[test]
    fn loading_toml_shaped_noise_never_panics_and_positions_are_inside(
        lines in prop::collection::vec(
            prop_oneof![
                Just("[wan]".to_owned()),
                Just("[[lan]]".to_owned()),
                Just("[lan.ra]".to_owned()),
                Just("[dns]".to_owned()),
                Just("[[firewall.pinhole]]".to_owned()),
                "[a-z_]{1,12} = [0-9]{1,6}",
                "[a-z_]{1,12} = \"[ -~]{0,20}\"",
                "[a-z_]{1,12} = \\[\"[0-9a-f:./]{0,20}\"\\]",
                "\\PC{0,20}",
            ],
            0..12,
        )
    ) {
        let text = lines.join("\n");
        let line_count = text.split('\n').count();
        let diags = match parse_str(&text, "n.toml") {
            Ok(loaded) => loaded.warnings,
            Err(diags) => {
                prop_assert!(diags.has_errors());
                diags.0
            }
        };
        for d in diags {
            prop_assert!(d.line >= 1 && d.line <= line_count && d.col >= 1, "{:?}", d);
            prop_assert!(!d.to_string().contains('\n'));
        }
    }

    #[test]
    fn a_misspelt_key_is_caught_where_it_is(index in 0usize..4, junk in "[xq]{1,2}") {
        // Appending junk to a key of [lan.ra] makes it unknown; the error
        // names the line and suggests the real key.
        let keys = ["min_interval", "max_interval", "router_lifetime", "other_config"];
        let key = keys[index];
        let text = format!("[wan]\n[[lan]]\n[lan.ra]\n{key}{junk} = 1\n");
        let diags = parse_str(&text, "k.toml").unwrap_err();
        prop_assert_eq!(diags.0.len(), 1);
        prop_assert_eq!((diags.0[0].line, diags.0[0].col), (4, 1));
        let expected_hint = format!("did you mean \"{key}\"?");
        prop_assert_eq!(diags.0[0].hint.as_deref(), Some(expected_hint.as_str()));
    }
}

#[test]
fn examples_round_trip() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    for name in ["default.toml", "ntt-ipoe.toml", "pppoe-dualstack.toml"] {
        let config = load_file(&dir.join(name)).unwrap().config;
        let again = parse_str(&to_toml(&config), name).unwrap().config;
        assert_eq!(again, config, "{name}");
    }
}
