//! Every `cpectl` command against a running router, the way an engineer
//! meets them on a serial console: the text fits 80 columns and has no
//! colour codes when stdout is not a terminal, `--json` gives a JSON
//! document, and a reader that goes away early (`cpectl why | head -1`)
//! ends the command quietly with the exit code it would have had, never a
//! panic on the console. `upgrade` and `factory-reset` write the flash
//! and are left to the QEMU tests (qemu/upgradetest, qemu/flashtest);
//! `--help` of each command is in crates/cpe/tests/usage.rs.
//!
//! Needs root, the lab packages and the `cpe` binary (`cargo build -p cpe`;
//! found through `$CPE_BIN` or next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cpe_lab::IspOptions;
use cpe_lab::router::{RouterLab, RouterUnderTest as Router, repo_file};

/// `cpectl --socket S ARGS` with stdout a pipe whose reader is already
/// gone: every write fails with EPIPE. Returns the exit status and
/// stderr; fails the test if the command does not end within 10 s.
fn with_closed_stdout(router: &Router, args: &[&str]) -> (ExitStatus, String) {
    // The console's name, linked by `router.cpectl`.
    let cpectl = router.config.with_file_name("cpectl");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(cpectl)
        .arg("--socket")
        .arg(&router.socket)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("cpectl {args:?} with a closed stdout did not end within 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

#[test]
fn every_cpectl_command_fits_80_columns_has_json_and_survives_a_closed_pipe() {
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let s = RouterLab::start("cc_all", &IspOptions::default(), &source).unwrap();
    s.router
        .wait_status("a delegated prefix", Duration::from_secs(30), |st| {
            st["wan"]["delegated_prefixes"]
                .as_array()
                .filter(|a| !a.is_empty())
                .map(|_| ())
        })
        .unwrap();
    let status = s.router.status().unwrap();
    let daemons: Vec<String> = status["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(daemons.len() >= 7, "{daemons:?}");
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["show", "wan"],
        vec!["show", "lan"],
        vec!["show", "daemons"],
        vec!["show", "prefix"],
        vec!["why"],
        vec!["log"],
        vec!["log", "-n", "3"],
        vec!["diag", "--timeout", "300"],
        vec!["reload"],
    ];
    for d in &daemons {
        commands.push(vec!["show", d]);
    }
    for args in &commands {
        let text = s.router.cpectl(args).unwrap();
        let stdout = String::from_utf8(text.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&text.stderr);
        let code = text.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "cpectl {args:?}: exit {code:?}\n{stdout}\n{stderr}"
        );
        assert!(!stdout.trim().is_empty(), "cpectl {args:?} printed nothing");
        for line in stdout.lines().chain(stderr.lines()) {
            assert!(
                line.chars().count() <= 80,
                "cpectl {args:?}: wider than 80 columns: {line}"
            );
            assert!(
                !line.contains('\x1b'),
                "cpectl {args:?}: colour codes on a pipe: {line:?}"
            );
        }
        let mut with_json = args.clone();
        with_json.push("--json");
        let json = s.router.cpectl(&with_json).unwrap();
        assert_eq!(json.status.code(), code, "cpectl {with_json:?}");
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&json.stdout);
        assert!(
            parsed.is_ok(),
            "cpectl {with_json:?}: not JSON: {}",
            String::from_utf8_lossy(&json.stdout)
        );
        let (closed, stderr) = with_closed_stdout(&s.router, args);
        assert!(
            !stderr.contains("panicked"),
            "cpectl {args:?} | head -0: {stderr}"
        );
        assert_eq!(
            closed.code(),
            code,
            "cpectl {args:?} with a closed stdout: {stderr}"
        );
        eprintln!("cpectl {} ok (exit {code:?})", args.join(" "));
    }
    // `log -f` ends when its reader goes away, too.
    let (closed, stderr) = with_closed_stdout(&s.router, &["log", "-f"]);
    assert!(
        closed.success() && !stderr.contains("panicked"),
        "{closed:?} {stderr}"
    );
    let _ = (&s.isp, &s.topo);
}
