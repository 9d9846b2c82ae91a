//! `cpe save-config`: how an engineer's edit on the console becomes the
//! config on flash. Only a valid file is installed, whole; an invalid one
//! leaves the config as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpe-save-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn save_config(new: &Path, dest: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpe"))
        .arg("save-config")
        .args([new, dest])
        .output()
        .unwrap()
}

const GOOD: &str = "[system]\nhostname = \"field-fix\"\n\n[wan]\ninterface = \"wan0\"\n\n\
                    [[lan]]\ninterface = \"br0\"\n";

#[test]
fn a_valid_file_replaces_the_config_and_leaves_no_temporary() {
    let dir = scratch("ok");
    let (new, dest) = (dir.join("new.toml"), dir.join("config.toml"));
    fs::write(&new, GOOD).unwrap();
    fs::write(&dest, "[wan]\ninterface = \"wan0\"\n").unwrap();
    let out = save_config(&new, &dest);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("saved as"), "{stdout}");
    assert_eq!(fs::read_to_string(&dest).unwrap(), GOOD);
    assert!(!dir.join("config.toml.tmp").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_invalid_file_is_refused_with_its_errors_and_the_config_is_unchanged() {
    let dir = scratch("bad");
    let (new, dest) = (dir.join("new.toml"), dir.join("config.toml"));
    fs::write(&new, "[system]\nhostnam = \"typo\"\n").unwrap();
    fs::write(&dest, GOOD).unwrap();
    let out = save_config(&new, &dest);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(":2:1: error: "), "{stdout}");
    assert!(stdout.contains("not saved"), "{stdout}");
    assert_eq!(fs::read_to_string(&dest).unwrap(), GOOD);
    fs::remove_dir_all(&dir).unwrap();
}
