//! Apply-time figures (ignored by default; run with
//! `cargo test --release -p cpe-firewall --test apply_time -- --ignored --nocapture`):
//! medians over 30 runs, in a throwaway namespace, of a full apply of the
//! default ruleset by our driver, the same ruleset by `nft -f`, and a
//! renumbering applied as a set update. Needs root and `nft`.

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used)]

use cpe_firewall::{Policy, Snapshot, compile};
use cpe_sys::netlink::nftables::Nftables;
use std::time::{Duration, Instant};

mod common;
use common::Ns;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly"]
fn apply_time_full_vs_nft_and_set_update() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/default.toml"
    ))
    .unwrap();
    let p = Policy::from_config(&cpe_config::parse_str(&text, "d.toml").unwrap().config);
    let snap = |cur: &str| Snapshot {
        current: vec![cur.parse().unwrap(), "fd00:1:2:1::/64".parse().unwrap()],
        deprecated: Vec::new(),
        map_e: None,
    };
    let a = compile(&p, &snap("2001:db8:1:101::/64"));
    let b = compile(&p, &snap("2001:db8:2:101::/64"));
    let ns = Ns::new("bench");
    let (full, sets) = ns.run(move || {
        let mut nl = Nftables::open().unwrap();
        let (mut full, mut sets) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            let batch = a.batch();
            let t = Instant::now();
            nl.commit(&batch).unwrap();
            full.push(t.elapsed());
            let up = b.set_update(&a);
            let t = Instant::now();
            nl.commit(&up).unwrap();
            sets.push(t.elapsed());
            nl.commit(&a.set_update(&b)).unwrap();
        }
        (median(full), median(sets))
    });
    let path = format!("/tmp/{}.nft", ns.0);
    std::fs::write(&path, compile(&p, &snap("2001:db8:1:101::/64")).text()).unwrap();
    let mut nft = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        ns.nft(&["-f", &path]);
        nft.push(t.elapsed());
    }
    let _ = std::fs::remove_file(&path);
    let nft = median(nft);
    eprintln!(
        "full apply {:?} (ours) vs {:?} (nft -f, process included): {:.1}x; set update {:?}",
        full,
        nft,
        nft.as_secs_f64() / full.as_secs_f64(),
        sets
    );
}
