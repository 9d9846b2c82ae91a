//! Cleanup of what crashed runs left behind, and of a lab's own namespaces.
//!
//! Every lab object carries its creator's PID in its name (and the
//! creator's start time in the temp directory's `owner` file), so a sweep
//! removes exactly the namespaces and directories whose creator is gone and
//! never those of a lab another test binary is running right now.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::command::run_argv;
use crate::naming::{self, LabId, pid_alive};

/// Directory where `ip netns add` puts namespace files.
pub(crate) const NETNS_DIR: &str = "/run/netns";

/// Marker file in a kept temp directory; the sweeper leaves such
/// directories alone for [`KEEP_FOR`].
pub(crate) const KEEP_MARKER: &str = "KEEP";

/// How long a kept temp directory survives sweeps: long enough for a
/// post-mortem, short enough that failed runs do not pile up.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

/// Creator identity file in the temp directory (`<pid> <start ticks>`).
pub(crate) const OWNER_FILE: &str = "owner";

/// PIDs whose network namespace is the named one (what `ip netns pids`
/// prints), found by comparing namespace inodes in `/proc`.
pub(crate) fn pids_in_netns(name: &str) -> Vec<u32> {
    let Ok(target) = fs::metadata(Path::new(NETNS_DIR).join(name)) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::metadata(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|m| m.ino() == target.ino() && m.dev() == target.dev())
        })
        .collect()
}

/// SIGKILLs everything left in a namespace and waits (up to 2 s) until it
/// is gone, so deleting the namespace really frees it.
pub(crate) fn kill_all_in_netns(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let pids: Vec<u32> = pids_in_netns(name)
            .into_iter()
            .filter(|&p| pid_alive(p))
            .collect();
        if pids.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            log::warn!("processes {pids:?} survive in namespace {name}");
            return;
        }
        for pid in pids {
            log::debug!("killing leftover pid {pid} in {name}");
            // SAFETY: kill(2) has no memory-safety preconditions. The PID
            // was just seen inside a namespace this lab owns.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn delete_netns(name: &str) {
    match run_argv(&["ip", "netns", "del", name], Duration::from_secs(5)).and_then(|o| o.ok()) {
        Ok(_) => log::debug!("namespace {name} deleted"),
        Err(e) => log::warn!("cannot delete namespace {name}: {e}"),
    }
}

/// Whether the lab named by `id` may still be in use: its creator PID runs
/// and, if the lab recorded it, with the same start time (PID reuse).
fn creator_alive(id: LabId, owner_ticks: Option<u64>) -> bool {
    if !pid_alive(id.pid) {
        return false;
    }
    match (owner_ticks, naming::process_start_ticks(id.pid)) {
        (Some(recorded), Some(now)) if recorded != 0 => recorded == now,
        _ => true,
    }
}

/// A kept directory (failed test or `CPE_LAB_KEEP`) younger than
/// [`KEEP_FOR`].
fn kept_recently(dir: &Path) -> bool {
    fs::metadata(dir.join(KEEP_MARKER))
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().map_or(true, |age| age < KEEP_FOR))
}

/// Removes namespaces and temp directories of labs whose creator is gone
/// (kept directories after a day).
/// Labs of live processes (other test binaries running now) are untouched.
pub fn sweep_stale() {
    let root = naming::lab_root();
    // Start times recorded by labs, keyed by stem, for the PID-reuse check.
    let mut owners: Vec<(LabId, Option<u64>, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir(&root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = naming::parse_owner(&name) {
                let ticks = fs::read_to_string(e.path().join(OWNER_FILE))
                    .ok()
                    .and_then(|s| s.split_whitespace().nth(1)?.parse().ok());
                owners.push((id, ticks, e.path()));
            }
        }
    }
    let ticks_of = |id: LabId| owners.iter().find(|(o, _, _)| *o == id).and_then(|o| o.1);
    if let Ok(entries) = fs::read_dir(NETNS_DIR) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = naming::parse_owner(&name) else {
                continue;
            };
            if creator_alive(id, ticks_of(id)) {
                continue;
            }
            log::info!("sweeping namespace {name} left by dead pid {}", id.pid);
            kill_all_in_netns(&name);
            delete_netns(&name);
        }
    }
    for (id, ticks, path) in &owners {
        if !creator_alive(*id, *ticks) && !kept_recently(path) {
            log::info!("sweeping stale lab directory {}", path.display());
            let _ = fs::remove_dir_all(path);
        }
    }
}
