//! Oracle test: the compiled ruleset committed by our netlink driver holds,
//! in the kernel, exactly what `nft -f` makes of the ruleset's text (the
//! golden form): what we think we installed is what the kernel holds. Then
//! a renumbering applied as a set update lists like a full apply. Needs root
//! and the `nft` tool (a test oracle only; never on the device).

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cpe_firewall::{Policy, Snapshot, compile};
use cpe_sys::netlink::nftables::Nftables;
use std::process::Command;

mod common;
use common::Ns;

fn policy() -> Policy {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/default.toml"
    ))
    .unwrap();
    let text = format!(
        "{base}\n[[firewall.pinhole]]\nname = \"ssh\"\nproto = \"tcp\"\nport = 22\nhost = \"::1234\"\n"
    );
    Policy::from_config(&cpe_config::parse_str(&text, "t.toml").unwrap().config)
}

/// The PPPoE demo config: the WAN is every `pppN`.
fn pppoe_policy() -> Policy {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/pppoe-dualstack.toml"
    ))
    .unwrap();
    Policy::from_config(&cpe_config::parse_str(&text, "t.toml").unwrap().config)
}

#[test]
fn pppoe_ruleset_with_the_ppp_wildcard_matches_nft_reading_of_its_text() {
    if Command::new("nft").arg("--version").output().is_err() {
        eprintln!("skipped: nft (the test oracle) is not installed");
        return;
    }
    let p = pppoe_policy();
    assert_eq!(p.wan, "ppp*");
    let c = compile(&p, &snapshot(&["2001:db8:1:101::/64"], &[]));
    let ours = Ns::new("ppp-ours");
    let reference = Ns::new("ppp-ref");
    let b = c.batch();
    ours.run(move || Nftables::open().unwrap().commit(&b).unwrap());
    let path = format!("/tmp/{}.nft", reference.0);
    std::fs::write(&path, c.text()).unwrap();
    reference.nft(&["-f", &path]);
    let _ = std::fs::remove_file(&path);
    let listed = ours.nft(&["list", "ruleset"]);
    assert_eq!(listed, reference.nft(&["list", "ruleset"]));
    assert!(listed.contains("oifname \"ppp*\""), "{listed}");
    assert!(!listed.contains("wan0"), "{listed}");
}

fn snapshot(current: &[&str], deprecated: &[&str]) -> Snapshot {
    Snapshot {
        current: current.iter().map(|s| s.parse().unwrap()).collect(),
        deprecated: deprecated.iter().map(|s| s.parse().unwrap()).collect(),
        map_e: None,
    }
}

#[test]
fn installed_ruleset_matches_nft_reading_of_its_text_and_set_updates_follow() {
    if Command::new("nft").arg("--version").output().is_err() {
        eprintln!("skipped: nft (the test oracle) is not installed");
        return;
    }
    let p = policy();
    let first = compile(
        &p,
        &snapshot(&["2001:db8:1:101::/64", "fd00:1:2:1::/64"], &[]),
    );
    let second = compile(
        &p,
        &snapshot(
            &["2001:db8:2:101::/64", "fd00:1:2:1::/64"],
            &["2001:db8:1:101::/64"],
        ),
    );
    let ours = Ns::new("ours");
    let reference = Ns::new("ref");

    let (b1, b2, b3) = (first.batch(), second.set_update(&first), second.batch());
    ours.run(move || {
        let mut nl = Nftables::open().unwrap();
        nl.commit(&b1).unwrap();
        // A full re-apply over an installed ruleset works too.
        nl.commit(&b1).unwrap();
    });
    let load = |ns: &Ns, text: &str| {
        let path = format!("/tmp/{}.nft", ns.0);
        std::fs::write(&path, text).unwrap();
        ns.nft(&["-f", &path]);
        let _ = std::fs::remove_file(&path);
    };
    load(&reference, &first.text());
    assert_eq!(
        ours.nft(&["list", "ruleset"]),
        reference.nft(&["list", "ruleset"])
    );

    ours.run(move || Nftables::open().unwrap().commit(&b2).unwrap());
    load(&reference, &second.text());
    let after_update = ours.nft(&["list", "ruleset"]);
    assert_eq!(after_update, reference.nft(&["list", "ruleset"]));
    assert!(after_update.contains("2001:db8:2:101::/64"));

    ours.run(move || Nftables::open().unwrap().commit(&b3).unwrap());
    assert_eq!(ours.nft(&["list", "ruleset"]), after_update);

    // A config without NAT and without LAN IPv4, applied in place over the
    // installed table: `postrouting` and `lan4` go, the rest is rewritten.
    let mut q = p.clone();
    q.firewall.ipv4_nat = false;
    for l in &mut q.lan {
        l.ipv4 = None;
    }
    let third = compile(&q, &snapshot(&["2001:db8:2:101::/64"], &[]));
    let b4 = third.batch();
    ours.run(move || Nftables::open().unwrap().commit(&b4).unwrap());
    load(&reference, &third.text());
    let listed = ours.nft(&["list", "ruleset"]);
    assert_eq!(listed, reference.nft(&["list", "ruleset"]));
    assert!(!listed.contains("postrouting") && !listed.contains("lan4"));

    // And back, with the rebuild the engine falls back to after a refusal.
    let b5 = second.rebuild();
    ours.run(move || Nftables::open().unwrap().commit(&b5).unwrap());
    load(&reference, &second.text());
    assert_eq!(
        ours.nft(&["list", "ruleset"]),
        reference.nft(&["list", "ruleset"])
    );
}

/// MAP-E's SNAT (numgen, immediate port bounds, nat) as committed over
/// netlink lists exactly as `nft -f` makes it from the text.
#[test]
fn map_e_snat_ruleset_matches_nft_reading_of_its_text() {
    if Command::new("nft").arg("--version").output().is_err() {
        eprintln!("skipped: nft (the test oracle) is not installed");
        return;
    }
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/default.toml"
    ))
    .unwrap();
    let text = format!("{base}\n[wan.ipv4_over_ipv6]\nmode = \"map-e\"\n");
    let p = Policy::from_config(&cpe_config::parse_str(&text, "t.toml").unwrap().config);
    let mut snap = snapshot(&["2001:db8:12:3401::/64"], &[]);
    snap.map_e = Some(cpe_firewall::MapSnat {
        ipv4: std::net::Ipv4Addr::new(192, 0, 2, 18),
        ports: vec![(1232, 1235), (2256, 2259), (64720, 64723)],
    });
    let c = compile(&p, &snap);
    let ours = Ns::new("mape-ours");
    let reference = Ns::new("mape-ref");
    let b = c.batch();
    ours.run(move || Nftables::open().unwrap().commit(&b).unwrap());
    let path = format!("/tmp/{}.nft", reference.0);
    std::fs::write(&path, c.text()).unwrap();
    reference.nft(&["-f", &path]);
    let _ = std::fs::remove_file(&path);
    let listed = ours.nft(&["list", "ruleset"]);
    assert_eq!(listed, reference.nft(&["list", "ruleset"]));
    assert!(
        listed.contains("snat ip to 192.0.2.18:2256-2259"),
        "{listed}"
    );
}
