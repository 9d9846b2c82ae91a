//! Atomicity: a ping flood (1500 at 2 ms) from a LAN namespace through a
//! router namespace to a WAN namespace, while the router's ruleset changes.
//! Renumbering by set updates (what the firewall does on every prefix
//! change) and full replacements of the rules (config change, re-apply) as
//! the daemon commits them must lose nothing, and no drop class may count
//! a packet of the flood. Needs root.
//!
//! The full-replacement test failed before `Ruleset::batch` applied in place (0-4 of 1500
//! lost when every replacement deleted and rebuilt the table: the new
//! rules briefly saw an empty `lan6` set, `drop_bcp38_egress` counted it).

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used)]

use cpe_firewall::{LanSide, Policy, Snapshot, compile};
use cpe_sys::netlink::nftables::{Nftables, TableFamily};
use std::process::Command;

mod common;
use common::router_path;

fn snap(current: &[&str], deprecated: &[&str]) -> Snapshot {
    Snapshot {
        current: current.iter().map(|s| s.parse().unwrap()).collect(),
        deprecated: deprecated.iter().map(|s| s.parse().unwrap()).collect(),
        map_e: None,
    }
}

#[test]
fn ping_flood_loses_nothing_while_prefixes_are_renumbered_by_set_updates() {
    flood_while(false);
}

#[test]
fn ping_flood_loses_nothing_while_the_table_is_replaced_50_times() {
    flood_while(true);
}

/// Floods while renumbering back and forth 50 times by set updates, and
/// with `full`, also replacing the whole table each round.
fn flood_while(full: bool) {
    let (lan, rtr, _wan) = router_path();

    let policy = Policy {
        firewall: cpe_config::Firewall::default(),
        wan: "wan0".into(),
        softwire: Vec::new(),
        lan: vec![LanSide {
            interface: "br0".into(),
            ipv4: None,
        }],
    };
    // A config change: the same objects, different rules (one pinhole).
    let mut pinhole = policy.clone();
    pinhole.firewall.pinhole.push(cpe_config::Pinhole {
        name: "web".into(),
        proto: cpe_config::PinholeProto::Tcp,
        port: 8080,
        host: cpe_config::HostSpec::InterfaceId(0x1234),
    });
    // Renumbering: extra prefixes come and go; the host's stays current.
    let states = [
        snap(&["2001:db8:1:1::/64"], &[]),
        snap(
            &["2001:db8:1:1::/64", "2001:db8:2:1::/64"],
            &["2001:db8:3:1::/64"],
        ),
        snap(
            &["2001:db8:1:1::/64", "2001:db8:4:1::/64"],
            &["2001:db8:2:1::/64"],
        ),
    ];
    // rulesets[policy][state]
    let rulesets: Vec<Vec<_>> = [&policy, &pinhole]
        .iter()
        .map(|p| states.iter().map(|s| compile(p, s)).collect())
        .collect();
    let rtr = std::sync::Arc::new(rtr);
    let apply = {
        let rtr = rtr.clone();
        move |f: Box<dyn FnOnce(&mut Nftables) + Send>| {
            rtr.run(move || f(&mut Nftables::open().unwrap()));
        }
    };
    let first = rulesets[0][0].batch();
    apply(Box::new(move |nl| nl.commit(&first).unwrap()));
    // The path works before the flood starts.
    lan.exec(&["ping", "-6", "-c", "1", "-W", "2", "2001:db8:ffff::1"]);

    let flood = Command::new("ip")
        .args([
            "netns", "exec", &lan.0, "ping", "-6", "-q", "-i", "0.002", "-c", "1500",
        ])
        .args(["-W", "1", "2001:db8:ffff::1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let applier = std::thread::spawn(move || {
        apply(Box::new(move |nl| {
            for i in 0..50 {
                let p = if full { (i + 1) % 2 } else { 0 };
                let base = &rulesets[p][0];
                if full {
                    // What the engine commits for a config change.
                    nl.commit(&base.batch()).unwrap();
                }
                let next = &rulesets[p][1 + i % 2];
                nl.commit(&next.set_update(base)).unwrap();
                nl.commit(&base.set_update(next)).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            // In-place replacement keeps the counters: nothing of the
            // flood may have been dropped by any class.
            let counters = nl.counters(TableFamily::Inet, "cpe").unwrap();
            let dropped: Vec<_> = counters.values().filter(|c| c.packets > 0).collect();
            assert!(dropped.is_empty(), "{dropped:?}");
        }));
    });
    applier.join().unwrap();
    let out = flood.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(
        text.contains("1500 packets transmitted, 1500 received, 0% packet loss"),
        "{text}"
    );
}
