//! Oracle test: the compiled ruleset committed by our netlink driver holds,
//! in the kernel, exactly what `nft -f` makes of the ruleset's text (the
//! golden form): what we think we installed is what the kernel holds. Then
//! a renumbering applied as a set update lists like a full apply. Needs root
//! and the `nft` tool (a test oracle only; never on the device).

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cpe_firewall::{Policy, Snapshot, compile};
use cpe_sys::netlink::nftables::Nftables;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("cpe-fw-{tag}-{}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        Ns(name)
    }

    fn nft(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", &self.0, "nft"];
        full.extend_from_slice(args);
        sh(&full)
    }

    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap();
            // SAFETY: setns on a valid namespace fd affects only this thread.
            assert_eq!(
                unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

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

fn snapshot(current: &[&str], deprecated: &[&str]) -> Snapshot {
    Snapshot {
        current: current.iter().map(|s| s.parse().unwrap()).collect(),
        deprecated: deprecated.iter().map(|s| s.parse().unwrap()).collect(),
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
}
