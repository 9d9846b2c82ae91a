//! Golden tests: config + state -> ruleset text. The files under
//! tests/golden/ are the reviewable form of what the router installs; run
//! with `UPDATE_GOLDEN=1` to rewrite them after an intended change, and
//! read the diff.

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cpe_firewall::{Policy, Snapshot, compile};
use ipnet::Ipv6Net;

fn policy(extra: &str) -> Policy {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/default.toml"
    ))
    .unwrap();
    let text = format!("{base}\n{extra}");
    let loaded = cpe_config::parse_str(&text, "test.toml").unwrap_or_else(|d| panic!("{d:?}"));
    Policy::from_config(&loaded.config)
}

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

fn check(name: &str, text: &str) {
    let path = format!("{}/tests/golden/{name}.nft", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(want == text, "{name}: ruleset differs from {path}:\n{text}");
}

pub fn renumbered() -> Snapshot {
    Snapshot {
        current: vec![net("2001:db8:2:101::/64"), net("fd12:3456:789a:1::/64")],
        deprecated: vec![net("2001:db8:1:101::/64")],
        map_e: None,
    }
}

#[test]
fn default_config_before_any_prefix() {
    check(
        "default-no-prefix",
        &compile(&policy(""), &Snapshot::default()).text(),
    );
}

#[test]
fn default_config_after_renumbering_with_pinholes() {
    let p = policy(
        r#"
[[firewall.pinhole]]
name = "ssh"
proto = "tcp"
port = 22
host = "::1234"

[[firewall.pinhole]]
name = "game"
proto = "udp"
port = 3074
host = "2001:db8:2:101::99"
"#,
    );
    check(
        "default-renumbered-pinholes",
        &compile(&p, &renumbered()).text(),
    );
}

#[test]
fn a_renumbering_changes_set_elements_only() {
    let p = policy("");
    let before = compile(
        &p,
        &Snapshot {
            current: vec![net("2001:db8:1:101::/64")],
            ..Snapshot::default()
        },
    );
    let after = compile(&p, &renumbered());
    assert_ne!(before, after);
    assert_eq!(before.structure(), after.structure());
    let update = after.set_update(&before);
    // lan6 and stale6 changed: a flush and an add each.
    assert_eq!(update.len(), 4);
}

#[test]
fn disabled_firewall_is_an_empty_table() {
    // default.toml ends in [firewall]: this line lands there.
    let p = policy("enabled = false\n");
    let r = compile(&p, &renumbered());
    assert!(r.chains.is_empty() && r.sets.is_empty() && r.counters.is_empty());
    assert_eq!(
        r.text(),
        "table inet cpe\ndelete table inet cpe\ntable inet cpe {\n}\n"
    );
}

/// DS-Lite: the softwire is clamped and guarded like the WAN, and the NAT
/// chain still masquerades out of the WAN only (the AFTR does DS-Lite's NAT).
#[test]
fn dslite_softwire_is_wan_side_without_nat() {
    let p = policy("[wan.ipv4_over_ipv6]\nmode = \"dslite\"\n");
    let text = compile(&p, &renumbered()).text();
    assert!(text.contains("oifname \"dslite0\" tcp flags syn"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.contains("dslite0") && l.contains("masquerade"))
    );
    check("dslite", &text);
}

/// The MAP-E ruleset for RFC 7597 appendix A example 1's port set
/// (192.0.2.18, PSID 0x34 of 8 bits, offset 6: 63 ranges of 4 ports).
pub fn map_e_example_1() -> Snapshot {
    Snapshot {
        map_e: Some(cpe_firewall::MapSnat {
            ipv4: std::net::Ipv4Addr::new(192, 0, 2, 18),
            ports: (1..64u16)
                .map(|a| {
                    let first = (a << 10) | (0x34 << 2);
                    (first, first + 3)
                })
                .collect(),
        }),
        ..renumbered()
    }
}

/// MAP-E: `map0` is WAN-side like DS-Lite's softwire, is never
/// masqueraded, and every IPv4 flow out of it is SNATed to the shared
/// address with a port of our set: per protocol, one rule per range, each
/// range drawn with probability 1/63, no port below 1232.
#[test]
fn map_e_snat_uses_only_our_port_set() {
    let p = policy("[wan.ipv4_over_ipv6]\nmode = \"map-e\"\n");
    let r = compile(&p, &map_e_example_1());
    let text = r.text();
    assert!(text.contains("oifname \"map0\" tcp flags syn"), "{text}");
    let nat: Vec<&str> = text.lines().filter(|l| l.contains("snat ip to")).collect();
    assert_eq!(nat.len(), 3 * 63);
    for proto in ["tcp", "udp", "icmp"] {
        let rules: Vec<&&str> = nat
            .iter()
            .filter(|l| l.contains(&format!("meta l4proto {proto} ")))
            .collect();
        assert_eq!(rules.len(), 63, "{proto}");
        assert!(rules[0].contains("numgen random mod 63 == 0 snat ip to 192.0.2.18:1232-1235"));
        assert!(rules[61].contains("numgen random mod 2 == 0 snat ip to 192.0.2.18:63696-63699"));
        assert!(!rules[62].contains("numgen"));
        assert!(rules[62].contains("snat ip to 192.0.2.18:64720-64723"));
    }
    for line in &nat {
        let ports = line.split("192.0.2.18:").nth(1).unwrap();
        let first: u16 = ports.split('-').next().unwrap().parse().unwrap();
        assert!(first >= 1024 && first & 0x3fc == 0x34 << 2, "{line}");
    }
    assert!(text.contains(
        "oifname \"map0\" meta nfproto ipv4 meta l4proto != tcp meta l4proto != udp \
         meta l4proto != icmp counter name \"drop_mape_protocol\" drop"
    ));
    assert!(
        !text
            .lines()
            .any(|l| l.contains("map0") && l.contains("masquerade"))
    );
    check("map-e", &text);
    // No mapping (no prefix yet): no SNAT, the WAN's masquerade stays.
    let none = compile(&p, &renumbered()).text();
    assert!(!none.contains("snat") && none.contains("masquerade"));
}

/// `auto`: both softwires are clamped and guarded like the WAN (the one
/// that does not exist matches nothing); the SNAT into the port set is
/// there while MAP-E runs and gone while DS-Lite does.
#[test]
fn auto_guards_both_softwires_and_snats_only_with_a_mapping() {
    let p = policy("[wan.ipv4_over_ipv6]\nmode = \"auto\"\n");
    let text = compile(&p, &map_e_example_1()).text();
    for sw in ["dslite0", "map0"] {
        assert!(
            text.contains(&format!("oifname \"{sw}\" tcp flags syn")),
            "{text}"
        );
    }
    assert_eq!(
        text.lines().filter(|l| l.contains("snat ip to")).count(),
        3 * 63
    );
    let dslite = compile(&p, &renumbered()).text();
    assert!(!dslite.contains("snat") && dslite.contains("masquerade"));
}
