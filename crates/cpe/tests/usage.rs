//! Every command of `cpe` and `cpectl` answers `--help` and `-h` with its
//! usage on stdout and exit 0, without doing anything else (no file read as
//! "--help", no daemon started, no socket searched for).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

mod common;

/// Runs a command, failing after 5 s (a daemon started by mistake would
/// run forever).
fn run(cmd: Command) -> Output {
    common::output_within(cmd, Duration::from_secs(5))
}

fn assert_usage(cmd: Command, expect: &str) {
    let shown = format!("{cmd:?}");
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{shown}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.starts_with("usage: ") && stdout.contains(expect),
        "{shown}: expected a usage naming {expect:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn every_cpe_command_answers_help() {
    let commands: &[(&[&str], &str)] = &[
        (&[], "cpe COMMAND"),
        (&["help"], "cpe COMMAND"),
        (&["run"], "cpe run"),
        (&["check-config"], "cpe check-config"),
        (&["check-config", "/etc/some.toml"], "cpe check-config"),
        (&["save-config"], "cpe save-config"),
        (&["save-config", "/tmp/new.toml"], "cpe save-config"),
        (&["console-login"], "cpe console-login"),
        (
            &["console-login", "/etc/cpe/config.toml", "/run/shadow"],
            "cpe console-login",
        ),
        (&["ctl"], "cpectl"),
        (&["ctl", "status"], "cpectl"),
        (&["daemon"], "cpe daemon NAME"),
        (&["version"], "cpe version"),
    ];
    let daemons = ["wan", "dhcp6c", "ra", "dns", "dhcp6s", "dhcp4s", "firewall"];
    let with_daemons = daemons
        .iter()
        .map(|d| (vec!["daemon", *d], "cpe daemon NAME"));
    let all = commands
        .iter()
        .map(|(args, expect)| (args.to_vec(), *expect))
        .chain(with_daemons);
    for (args, expect) in all {
        for flag in ["--help", "-h"] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpe"));
            cmd.args(&args).arg(flag);
            assert_usage(cmd, expect);
        }
    }
}

#[test]
fn every_cpectl_command_answers_help() {
    // cpectl is the same binary under another name (a link on the device).
    let dir = std::env::temp_dir().join(format!("cpe-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cpectl: PathBuf = dir.join("cpectl");
    let _ = std::fs::remove_file(&cpectl);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cpe"), &cpectl).unwrap();
    let commands: &[&[&str]] = &[
        &["--help"],
        &["-h"],
        &["help"],
        &["status", "--help"],
        &["status", "--json", "-h"],
        &["show", "wan", "--help"],
        &["reload", "--help"],
        &["reload", "-h"],
        &["why", "--help"],
        &["why", "--json", "-h"],
        &["diag", "--help"],
        &["diag", "--target", "2001:db8::1", "--timeout", "500", "-h"],
        &["--config", "/nonexistent.toml", "reload", "--help"],
    ];
    for args in commands {
        let mut cmd = Command::new(&cpectl);
        cmd.args(*args);
        assert_usage(cmd, "cpectl [--config FILE | --socket PATH] COMMAND");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_config_reads_a_file_named_like_an_option_only_after_double_dash() {
    let out = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.args(["check-config", "--bogus"]);
        c
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option \"--bogus\""));

    let dir = std::env::temp_dir().join(format!("cpe-usage-dd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("--help"), "[wan]\n[[lan]]\n").unwrap();
    let out = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.current_dir(&dir).args(["check-config", "--", "--help"]);
        c
    });
    assert_eq!(out.status.code(), Some(0));
    // (A warning that wan0 does not exist here may come first.)
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().last(), Some("--help: ok"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cpectl why` is for scripts: a usage error must not read as one of its
/// answers (1 degraded, 2 down), and a supervisor that does not answer is
/// "down", not a usage error.
#[test]
fn cpectl_why_exits_64_on_usage_and_2_without_a_supervisor() {
    let help = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.args(["ctl", "why", "--help"]);
        c
    });
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("why [--json]"), "{text}");
    assert!(text.contains("Example"), "{text}");

    let out = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.args(["ctl", "why", "--bogus"]);
        c
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "stderr: {stderr}");
    assert!(stderr.contains("--bogus"), "stderr: {stderr}");
    assert!(out.stdout.is_empty());

    let out = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.args(["ctl", "why", "extra"]);
        c
    });
    assert_eq!(out.status.code(), Some(64));

    let sock = std::env::temp_dir().join(format!("cpe-why-none-{}.sock", std::process::id()));
    let out = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.arg("ctl").arg("--socket").arg(&sock).arg("why");
        c
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("supervisor not reachable"),
        "stderr: {stderr}"
    );
}

/// `cpectl --help | head -1`: the reader is gone before the console writes.
/// The console must end quietly with success (it panicked with a backtrace
/// on the serial console before), and a full disk behind a redirect is
/// named on stderr with a failure, not a panic.
#[test]
fn the_console_survives_a_closed_or_full_stdout() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write now fails with EPIPE
    // `output()` keeps an explicitly set stdout and captures stderr.
    let out = Command::new(env!("CARGO_BIN_EXE_cpe"))
        .args(["ctl", "--help"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cpe"))
        .args(["ctl", "help"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cpectl: cannot write the output") && !stderr.contains("panicked"),
        "stderr: {stderr}"
    );
}

/// `cpectl upgrade` and `cpectl factory-reset` run the flash code in the
/// console's process; a usage error there is 64 like every `cpectl`
/// command's, and `cpe upgrade` keeps `cpe`'s 2.
#[test]
fn cpectl_upgrade_and_factory_reset_usage_errors_are_64() {
    let dir = std::env::temp_dir().join(format!("cpe-usage-flash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cpectl: PathBuf = dir.join("cpectl");
    let _ = std::fs::remove_file(&cpectl);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cpe"), &cpectl).unwrap();
    for args in [
        &["upgrade", "--bogus"][..],
        &["upgrade"],
        &["factory-reset", "--bogus"],
    ] {
        let out = run({
            let mut c = Command::new(&cpectl);
            c.args(args);
            c
        });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("usage:"), "{args:?}: {stderr}");
    }
    let out = run({
        let mut c = Command::new(env!("CARGO_BIN_EXE_cpe"));
        c.args(["upgrade", "--bogus"]);
        c
    });
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
