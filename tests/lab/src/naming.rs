//! Names of the kernel and filesystem objects a lab creates.
//!
//! Every namespace and temp directory carries the PID of the process that
//! created it (`cl<pid>-<seq>-<role>`), so a later run can tell whether its
//! creator is still alive and sweep what a crashed or killed run left behind
//! without ever touching the objects of a lab that is still running in
//! another test binary. Interface names live inside those namespaces, so they
//! stay fixed and readable (`wan0`, `br0`) and never collide between labs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Prefix of every lab namespace and temp directory name.
pub const NAME_PREFIX: &str = "cl";

/// Longest role accepted; keeps `ip netns list` readable.
const MAX_ROLE_LEN: usize = 12;

static NEXT_SEQ: AtomicU32 = AtomicU32::new(0);

/// Identity of one lab instance: creator PID plus a per-process sequence
/// number, so parallel tests in one binary get distinct names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabId {
    /// PID of the process that created the lab.
    pub pid: u32,
    /// Sequence number of the lab within that process.
    pub seq: u32,
}

impl LabId {
    /// A fresh identity for a lab created by this process.
    pub fn next() -> Self {
        LabId {
            pid: std::process::id(),
            seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The common name stem, `cl<pid>-<seq>`.
    pub fn stem(&self) -> String {
        format!("{NAME_PREFIX}{}-{}", self.pid, self.seq)
    }

    /// Name of the namespace playing `role` in this lab.
    pub fn netns_name(&self, role: &str) -> String {
        format!("{}-{role}", self.stem())
    }
}

/// Checks a namespace role: short, lowercase ASCII letters and digits only,
/// so names stay valid for `ip netns` and unambiguous for the sweeper.
pub fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= MAX_ROLE_LEN
        && role
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Reduces a free-form test name to `[a-z0-9_]`, at most 24 characters, for
/// use in the temp directory name.
pub fn sanitize_hint(hint: &str) -> String {
    let mut out: String = hint
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    if out.is_empty() {
        out.push_str("lab");
    }
    out
}

/// Extracts the creator identity from a lab object name
/// (`cl<pid>-<seq>-<rest>`); `None` for names the lab did not make.
pub fn parse_owner(name: &str) -> Option<LabId> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let mut parts = rest.splitn(3, '-');
    let pid = parse_digits(parts.next()?)?;
    let seq = parse_digits(parts.next()?)?;
    let tail = parts.next()?;
    if tail.is_empty() {
        return None;
    }
    Some(LabId { pid, seq })
}

fn parse_digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Directory under which every lab keeps its private temp directory.
pub fn lab_root() -> PathBuf {
    std::env::temp_dir().join("cpe-lab")
}

/// Start time of a process in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`). Together with the PID it identifies a process even
/// after PID reuse.
pub fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_start_ticks(&stat)
}

/// Parses the start time out of a `/proc/<pid>/stat` line. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted from
/// the last `)`.
pub fn parse_stat_start_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields after the command start at field 3 (state); start time is 22.
    after_comm.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Process state letter from `/proc/<pid>/stat` (`R`, `S`, `Z`, ...).
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().next()?.chars().next()
}

/// True if `pid` names a process that still runs (exists and is not a
/// zombie or dead). Tests use it to prove teardown left nothing behind.
pub fn pid_alive(pid: u32) -> bool {
    !matches!(process_state(pid), None | Some('Z') | Some('X') | Some('x'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_parser() {
        let id = LabId { pid: 4242, seq: 7 };
        assert_eq!(id.netns_name("isp"), "cl4242-7-isp");
        assert_eq!(parse_owner(&id.netns_name("isp")), Some(id));
        assert_eq!(parse_owner("cl4242-7-dhcp_test"), Some(id));
    }

    #[test]
    fn foreign_names_are_not_claimed() {
        for name in [
            "labisp",
            "cl",
            "cl-1-2-x",
            "cl12-isp",
            "cl12-3-",
            "client-1-2",
            "cl1x-2-isp",
            "cl99999999999-1-isp",
        ] {
            assert_eq!(parse_owner(name), None, "{name}");
        }
    }

    #[test]
    fn roles_and_hints_are_restricted() {
        assert!(valid_role("isp"));
        assert!(valid_role("host2"));
        assert!(!valid_role("Host"));
        assert!(!valid_role("a-b"));
        assert!(!valid_role(""));
        assert!(!valid_role("thirteenchars"));
        assert_eq!(sanitize_hint("pd/renumber Test!"), "pd_renumber_test_");
        assert_eq!(sanitize_hint(""), "lab");
    }

    #[test]
    fn stat_start_time_survives_odd_command_names() {
        let stat =
            "123 (a) b (c)) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_stat_start_ticks(stat), Some(98765));
        assert_eq!(parse_stat_start_ticks("garbage"), None);
        assert_eq!(parse_stat_start_ticks("1 (x) S 1"), None);
    }

    #[test]
    fn own_process_is_alive() {
        assert!(pid_alive(std::process::id()));
        assert!(process_start_ticks(std::process::id()).is_some());
    }
}
