//! The event timeline on the console: the ISP's DHCPv6 server (Kea) goes
//! away long enough for the delegation to expire, then comes back. The
//! status screen alone no longer shows that anything happened; `cpectl log`,
//! `cpectl show prefix` and the "since boot" line must.
//!
//! Needs root, the lab packages and the `cpe` binary (`cargo build -p cpe`;
//! found through `$CPE_BIN` or next to this test executable). Kea's
//! lifetimes are scaled down (valid 12 s) so the outage takes seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{KeaOptions, Lab, LeaseTimers, RadvdOptions, TopologyOptions};
use serde_json::Value;

fn delegated(s: &Value) -> Vec<String> {
    s["wan"]["delegated_prefixes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["prefix"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn text(router: &Router, args: &[&str]) -> String {
    let out = router.cpectl(args).unwrap();
    assert!(
        out.status.success(),
        "cpectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8(out.stdout).unwrap();
    for l in t.lines() {
        assert!(l.len() <= 80, "cpectl {args:?}: wider than 80: {l:?}");
    }
    t
}

/// The index of the first line after `from` containing every needle.
fn find(lines: &[&str], from: usize, needles: &[&str]) -> usize {
    lines
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, l)| needles.iter().all(|n| l.contains(n)))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no line with {needles:?} after line {from}:\n{lines:#?}"))
}

/// `cpectl` under its console name, as `Router::cpectl` runs it, but as a
/// child whose output the test reads as it comes.
fn cpectl_child(router: &Router, args: &[&str]) -> std::process::Child {
    let _ = router.cpectl(&["help"]).unwrap(); // makes the link
    Command::new(router.config.with_file_name("cpectl"))
        .arg("--socket")
        .arg(&router.socket)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_dhcpv6_outage_that_passed_is_in_the_log_the_prefix_timeline_and_status() {
    let started = Instant::now();
    let lab = Lab::new("con_log").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let kea_opts = KeaOptions {
        timers: LeaseTimers {
            renew: 4,
            rebind: 6,
            preferred: 8,
            valid: 12,
        },
        ..KeaOptions::default()
    };
    let kea = topo.start_kea_dhcp6(&kea_opts).unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let wait = |what: &str, secs: u64, f: &dyn Fn(&Value) -> bool| {
        router
            .wait_status(what, Duration::from_secs(secs), |s| f(s).then_some(()))
            .unwrap()
    };
    wait("a delegated prefix", 30, &|s| !delegated(s).is_empty());
    let prefix = delegated(&router.status().unwrap())[0].clone();

    // One renewal (T1 4 s), then the outage: Kea stops; the delegation
    // expires.
    cpe_lab::wait_until("a renewal", Duration::from_secs(15), || {
        text(&router, &["log"]).contains("renewed")
    })
    .unwrap();
    drop(kea);
    wait("the delegation expired", 40, &|s| delegated(s).is_empty());
    let kea = topo.start_kea_dhcp6(&kea_opts).unwrap();
    wait("delegated again", 40, &|s| !delegated(s).is_empty());
    let again = delegated(&router.status().unwrap())[0].clone();

    // Everything looks fine now; the log tells what happened, in order.
    let log = text(&router, &["log", "--since", "5m"]);
    eprintln!("{log}");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("-- 20") && lines[0].ends_with(" (UTC) --"));
    let got = find(&lines, 0, &["prefix", &prefix, "delegated: preferred"]);
    let dep = find(&lines, got, &["warn", "dhcp6c", &prefix, "deprecated"]);
    let lost = find(&lines, dep, &["warn", "dhcp6c", &prefix, "expired"]);
    find(&lines, lost, &["no longer advertises"]);
    find(&lines, lost, &["prefix", &again, "delegated: preferred"]);
    find(&lines, got, &["DHCPv6 rebinding"]);
    // Every event line starts with a UTC time.
    for l in lines
        .iter()
        .filter(|l| !l.starts_with("-- ") && !l.starts_with(' '))
    {
        let b = l.as_bytes();
        assert!(
            b.len() > 9 && b[2] == b':' && b[5] == b':' && b[8] == b' ',
            "{l:?}"
        );
    }

    // The warnings alone, and the JSON with wall-clock stamps of now.
    let warn = text(&router, &["log", "--level", "warn"]);
    eprintln!("{warn}");
    assert!(
        warn.contains("expired") && !warn.contains(" info "),
        "{warn}"
    );
    let out = router.cpectl(&["log", "--since", "5m", "--json"]).unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let events = j["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        let w = e["wall_ms"].as_u64().unwrap();
        assert!(w <= now_ms && now_ms - w < 300_000, "{e}");
    }
    assert_eq!(j["dropped"], 0);
    let two = text(&router, &["log", "-n", "2"]);
    let firsts = two
        .lines()
        .filter(|l| !l.starts_with("-- ") && !l.starts_with(' '));
    assert_eq!(firsts.count(), 2, "{two}");

    // The prefix's own timeline.
    let show = text(&router, &["show", "prefix"]);
    eprintln!("{show}");
    let slines: Vec<&str> = show.lines().collect();
    let head = find(&slines, 0, &[&prefix, "delegated by the ISP"]);
    let exp = find(&slines, head, &["expired"]);
    find(&slines, head, &["renewed", "preferred", "valid"]);
    if again == prefix {
        find(&slines, exp, &["delegated", "preferred"]);
    }
    find(&slines, 0, &["on LAN br0"]);
    let out = router.cpectl(&["show", "prefix", "--json"]).unwrap();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        j["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["prefix"]["prefix"].is_string())
    );

    // The status screen counts it.
    let status = text(&router, &["status"]);
    eprintln!("{status}");
    let since = status
        .lines()
        .find(|l| l.starts_with("since boot: "))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        since.starts_with("since boot: PD lost 1x (last "),
        "{since}"
    );
    assert!(since.contains("restarts 0"), "{since}");

    // --follow shows a new event (a reload) within its poll, and ends
    // quietly once its reader has gone and the next event is written.
    let mut follow = cpectl_child(&router, &["log", "-f", "-n", "1"]);
    let (tx, rx) = mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let done = line.contains("reload applied");
            let _ = tx.send(line);
            if done {
                break; // drops the pipe's read end
            }
        }
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(5)).is_ok(),
        "first line"
    );
    text(&router, &["reload"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("reload applied")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("--follow did not show the reload: {seen:?}"),
        }
    }
    reader.join().unwrap();
    text(&router, &["reload"]);
    let ended = cpe_lab::wait_until("cpectl log -f to end", Duration::from_secs(5), || {
        follow.try_wait().unwrap().is_some()
    });
    if ended.is_err() {
        let _ = follow.kill();
    }
    let status = follow.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut follow.stderr.take().unwrap(), &mut err).unwrap();
    assert!(ended.is_ok() && status.success(), "{status:?} {err}");
    assert!(!err.contains("panicked"), "{err}");

    // A closed pipe before anything is written is no panic either.
    for args in [&["log", "--help"][..], &["log"], &["show", "prefix"]] {
        let mut c = cpectl_child(&router, args);
        drop(c.stdout.take());
        let out = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // As a shell pipeline, as the engineer types it.
    let link = router.config.with_file_name("cpectl");
    let sock = router.socket.display().to_string();
    let sh = format!(
        "{l} --socket {sock} log --help | head -1; {l} --socket {sock} log | head -1",
        l = link.display()
    );
    let out = Command::new("sh").arg("-c").arg(&sh).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("usage: cpectl log"), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Usage errors are 64, like every other command's.
    for bad in [&["log", "--since", "10x"][..], &["log", "--level", "loud"]] {
        let out = router.cpectl(bad).unwrap();
        assert_eq!(out.status.code(), Some(64), "{bad:?}");
    }
    drop(kea);
    let took = started.elapsed();
    eprintln!("test took {} ms", took.as_millis());
}
