//! What the config loader does with paths that are not a config file: it
//! must answer at once with a diagnostic, never wait on a FIFO or read an
//! endless device; and what the console's lenient `run_dir` read finds in a
//! file that is otherwise invalid.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use cpe_config::{load_file, run_dir_lenient};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpe-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads `path` on a thread and fails (rather than hangs) if that takes
/// more than two seconds: a blocking open of a FIFO would never return.
fn load_within_2s(path: &Path) -> String {
    let (tx, rx) = mpsc::channel();
    let owned = path.to_owned();
    std::thread::spawn(move || {
        let out = match load_file(&owned) {
            Ok(_) => "ok".to_owned(),
            Err(d) => d.to_string(),
        };
        let _ = tx.send(out);
    });
    rx.recv_timeout(Duration::from_secs(2))
        .unwrap_or_else(|_| panic!("loading {} blocked", path.display()))
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_is_refused_at_once() {
    let dir = temp_dir("fifo");
    let fifo = dir.join("config.toml");
    mkfifo(&fifo);
    assert_eq!(
        load_within_2s(&fifo),
        format!("{}: error: not a regular file (fifo)", fifo.display())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_directory_and_devices_are_refused() {
    let dir = temp_dir("dir");
    assert_eq!(
        load_within_2s(&dir),
        format!("{}: error: not a regular file (directory)", dir.display())
    );
    assert_eq!(
        load_within_2s(Path::new("/dev/zero")),
        "/dev/zero: error: not a regular file (character device)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_symlink_to_a_fifo_is_refused_and_to_a_file_is_read() {
    let dir = temp_dir("link");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let link = dir.join("to-fifo.toml");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    assert!(load_within_2s(&link).ends_with("error: not a regular file (fifo)"));

    let real = dir.join("real.toml");
    std::fs::write(&real, "[wan]\n[[lan]]\n").unwrap();
    let link = dir.join("to-real.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(load_within_2s(&link), "ok");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_file_is_refused_without_reading_it_all() {
    let dir = temp_dir("huge");
    let path = dir.join("huge.toml");
    // Sparse: 1 GiB apparent size, no disk used.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let out = load_within_2s(&path);
    assert_eq!(
        out,
        format!(
            "{}: error: file is larger than the {} bytes accepted for a config",
            path.display(),
            cpe_config::MAX_CONFIG_BYTES
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_dir_is_found_in_an_invalid_file() {
    let dir = temp_dir("rundir");
    let path = dir.join("broken.toml");
    // A schema error (unknown key, bad value) and no [[lan]].
    std::fs::write(
        &path,
        "[system]\nrun_dir = \"/tmp/cpe-x\"\nlog_level = \"loud\"\n[wan]\nmtu = \"big\"\n",
    )
    .unwrap();
    assert!(load_file(&path).is_err());
    assert_eq!(run_dir_lenient(&path), Some(PathBuf::from("/tmp/cpe-x")));

    // A TOML syntax error after the [system] table.
    std::fs::write(
        &path,
        "[system]\nrun_dir = \"/tmp/cpe-y\"\n[wan\ninterface = \"wan0\n",
    )
    .unwrap();
    assert!(load_file(&path).is_err());
    assert_eq!(run_dir_lenient(&path), Some(PathBuf::from("/tmp/cpe-y")));

    // Absent, relative, or not a string: no answer, the caller's default.
    for text in [
        "[wan]\n",
        "[system]\nrun_dir = \"relative\"\n",
        "[system]\nrun_dir = 3\n",
        "system = 1\n",
    ] {
        std::fs::write(&path, text).unwrap();
        assert_eq!(run_dir_lenient(&path), None, "{text}");
    }
    let fifo = dir.join("fifo.toml");
    mkfifo(&fifo);
    assert_eq!(run_dir_lenient(&fifo), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_as_the_pppoe_password_file_is_refused_at_once() {
    let dir = temp_dir("secret");
    let fifo = dir.join("pppoe.secret");
    mkfifo(&fifo);
    let path = dir.join("cpe.toml");
    std::fs::write(
        &path,
        "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\n\
         password_file = \"pppoe.secret\"\n[[lan]]\n",
    )
    .unwrap();
    let out = load_within_2s(&path);
    assert!(
        out.contains("password_file: cannot read") && out.contains("not a regular file (fifo)"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
