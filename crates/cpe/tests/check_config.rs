//! `cpe check-config` as a field engineer runs it: exit status and the
//! exact `FILE:LINE:COL: error: ...` lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::path::Path;
use std::process::Command;

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn every_example_config_is_valid() {
    for example in [
        "config/default.toml",
        "config/ntt-ipoe.toml",
        "config/pppoe-dualstack.toml",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cpe"))
            .args(["check-config", &repo(example)])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{example}:\n{stdout}");
        assert!(stdout.trim_end().ends_with(": ok"), "{example}:\n{stdout}");
    }
}

#[test]
fn a_48_pio_an_unknown_key_and_a_bad_address_are_three_lines_and_exit_1() {
    let dir = std::env::temp_dir().join(format!("cpe-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[wan]\ninterface = \"wan0\"\n\n[[lan]]\ninterface = \"br0\"\nintreface = \"x\"\n\n\
         [lan.ra]\nprefixes = [\"2001:db8:1::/48\"]\nrdnss = [\"2001:db8::g\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cpe"))
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let f = file.display().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{f}:6:1: error: ")),
        "{stdout}"
    );
    assert!(lines[0].contains("did you mean \"interface\""), "{stdout}");
    assert!(
        lines[1].starts_with(&format!("{f}:9:13: error: ")),
        "{stdout}"
    );
    assert!(lines[1].contains("/64"), "{stdout}");
    assert!(
        lines[2].starts_with(&format!("{f}:10:10: error: ")),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

mod common;

/// Runs `cpe check-config PATH`, failing the test instead of hanging it
/// after 5 s (a blocking open of a FIFO never returns).
fn check_within_5s(path: &Path) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpe"));
    cmd.arg("check-config").arg(path);
    let out = common::output_within(cmd, std::time::Duration::from_secs(5));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A fresh temporary directory holding a FIFO named `config.toml`.
fn dir_with_fifo(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("config.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    (dir, fifo)
}

#[test]
fn a_fifo_a_directory_and_a_device_are_refused_at_once() {
    let (dir, fifo) = dir_with_fifo("cpe-check-kinds");
    let huge = dir.join("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    for (path, what) in [
        (fifo.as_path(), "not a regular file (fifo)"),
        (dir.as_path(), "not a regular file (directory)"),
        (
            Path::new("/dev/zero"),
            "not a regular file (character device)",
        ),
        (huge.as_path(), "file is larger than the 1048576 bytes"),
    ] {
        let (code, stdout) = check_within_5s(path);
        assert_eq!(code, Some(1), "{}: {stdout}", path.display());
        assert!(
            stdout.starts_with(&format!("{}: error: {what}", path.display())),
            "{}: {stdout}",
            path.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cpe_run_refuses_a_fifo_config_at_once() {
    let (dir, fifo) = dir_with_fifo("cpe-run-fifo");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpe"));
    cmd.arg("run").arg("--config").arg(&fifo);
    let out = common::output_within(cmd, std::time::Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: error: not a regular file (fifo)",
            fifo.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("refusing to start"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A WAN interface this machine does not have is a warning, not an error
/// (configs are often checked away from the router they are for).
#[test]
fn a_wan_interface_that_does_not_exist_is_warned_of() {
    let dir = std::env::temp_dir().join(format!("cpe-check-wan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |iface: &str| {
        let path = dir.join(format!("{iface}.toml"));
        std::fs::write(
            &path,
            format!("[wan]\ninterface = \"{iface}\"\n\n[[lan]]\ninterface = \"br0\"\n"),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_cpe"))
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = check("cpenosuch0");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("warning: wan.interface \"cpenosuch0\" does not exist on this system"),
        "{stdout}"
    );
    let (code, stdout) = check("lo");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("does not exist"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `openssl passwd -6 -salt abcdefgh secret`.
const ROOT_HASH: &str = "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

/// Without `root_password_hash` the serial console has no login: valid,
/// but said; with one, not; the hash itself is never printed.
#[test]
fn a_console_without_login_is_warned_of_and_the_hash_never_printed() {
    let dir = std::env::temp_dir().join(format!("cpe-check-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |name: &str, system: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{system}[wan]\n[[lan]]\n")).unwrap();
        let (code, stdout) = check_within_5s(&path);
        assert_eq!(code, Some(0), "{stdout}");
        stdout
    };
    let open = check("open.toml", "");
    assert!(
        open.contains(
            "warning: [system] root_password_hash is not set: the serial console has no login"
        ),
        "{open}"
    );
    let locked = check(
        "locked.toml",
        &format!("[system]\nroot_password_hash = \"{ROOT_HASH}\"\n"),
    );
    assert!(!locked.contains("root_password_hash"), "{locked}");
    assert!(!locked.contains("ltjgWl"), "{locked}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `cpe console-login CONFIG SHADOW` as the image's /init runs it before
/// the console starts: root's entry from the hash, locked without one; an
/// invalid config leaves the shadow file as it was.
#[test]
fn console_login_writes_roots_shadow_entry_from_the_config() {
    let dir = std::env::temp_dir().join(format!("cpe-console-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shadow = dir.join("run").join("shadow");
    let login = |system: &str| {
        let config = dir.join("config.toml");
        std::fs::write(&config, format!("{system}[wan]\n[[lan]]\n")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpe"));
        cmd.arg("console-login").arg(&config).arg(&shadow);
        let out = common::output_within(cmd, std::time::Duration::from_secs(5));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!stdout.contains("ltjgWl"), "{stdout}");
        (out.status.code(), stdout)
    };
    let (code, stdout) = login(&format!("[system]\nroot_password_hash = \"{ROOT_HASH}\"\n"));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("asks for root's password"), "{stdout}");
    let text = std::fs::read_to_string(&shadow).unwrap();
    assert!(text.starts_with(&format!("root:{ROOT_HASH}:")), "{text}");

    let (code, stdout) = login("[system]\nroot_password_hash = \"secret\"\n");
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(std::fs::read_to_string(&shadow).unwrap(), text, "untouched");

    let (code, stdout) = login("");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("console login: none"), "{stdout}");
    assert!(
        std::fs::read_to_string(&shadow)
            .unwrap()
            .starts_with("root:*:")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
