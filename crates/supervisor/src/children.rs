//! Child processes: one per daemon, all of them this same binary.
//!
//! Each daemon runs as its own process so a crash in one (say the DNS
//! forwarder) cannot take the WAN session down. A child that dies is
//! restarted after a delay that doubles with each quick failure, so a daemon
//! that crashes at start cannot spin the CPU of a small router.

use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use cpe_bus::Daemon;
use tokio::sync::mpsc;

use crate::Event;

/// First restart delay; doubles per consecutive quick failure.
pub const RESTART_BASE: Duration = Duration::from_millis(250);
/// Longest restart delay.
pub const RESTART_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long before dying is not "failing quickly": its
/// next restart starts again from the base delay.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// How long a child gets to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the supervisor wants of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Keep it running (restart when it dies).
    Run,
    /// Stop it and start it again at once (config slice changed).
    Restart,
    /// Stop it for good (removed from the config, or shutdown).
    Stop,
}

/// The supervisor's view of one daemon.
#[derive(Debug)]
pub struct Child {
    /// Daemon name.
    pub name: Daemon,
    /// Process id of the running instance.
    pub pid: Option<u32>,
    /// When the running instance started.
    pub started_at: Option<Instant>,
    /// Restarts after unexpected exits.
    pub restarts: u32,
    /// Unexpected exits in a row that came soon after start.
    pub quick_failures: u32,
    /// When a pending restart is due.
    pub restart_at: Option<Instant>,
    /// When to escalate from SIGTERM to SIGKILL.
    pub kill_at: Option<Instant>,
    /// How the previous instance ended.
    pub last_exit: Option<String>,
    /// What we want.
    pub intent: Intent,
    /// The pending restart follows an unexpected exit (counts as a restart).
    pub crash_pending: bool,
}

impl Child {
    /// A daemon not started yet.
    pub fn new(name: Daemon) -> Child {
        Child {
            name,
            pid: None,
            started_at: None,
            restarts: 0,
            quick_failures: 0,
            restart_at: None,
            kill_at: None,
            last_exit: None,
            intent: Intent::Run,
            crash_pending: false,
        }
    }

    /// One word for `cpectl status`.
    pub fn state_word(&self) -> &'static str {
        match (self.pid, self.intent) {
            (Some(_), Intent::Run) => "running",
            (Some(_), _) => "stopping",
            (None, Intent::Stop) => "stopped",
            (None, _) => "backoff",
        }
    }

    /// Records an exit and, if the child should run, when to restart it.
    pub fn exited(&mut self, status: ExitStatus, now: Instant) {
        let ran = self.started_at.map(|s| now - s).unwrap_or_default();
        self.pid = None;
        self.started_at = None;
        self.kill_at = None;
        self.last_exit = Some(describe_exit(status));
        match self.intent {
            Intent::Run => {
                if ran >= STABLE_AFTER {
                    self.quick_failures = 0;
                }
                let delay = restart_delay(self.quick_failures);
                self.quick_failures = self.quick_failures.saturating_add(1);
                self.restart_at = Some(now + delay);
                self.crash_pending = true;
            }
            Intent::Restart => {
                self.intent = Intent::Run;
                self.restart_at = Some(now);
            }
            Intent::Stop => self.restart_at = None,
        }
    }

    /// Asks the running instance to stop (a signal now, SIGKILL at
    /// `kill_at`): returns the pid and the signal to send, if it runs.
    pub fn request_stop(&mut self, intent: Intent, now: Instant) -> Option<(u32, libc::c_int)> {
        self.intent = intent;
        match self.pid {
            Some(pid) => {
                let sig = match intent {
                    Intent::Restart => self.name.restart_signal(),
                    _ => libc::SIGTERM,
                };
                self.kill_at = Some(now + STOP_GRACE);
                Some((pid, sig))
            }
            None if intent == Intent::Restart => {
                self.intent = Intent::Run;
                self.restart_at = Some(now);
                None
            }
            None => {
                self.restart_at = None;
                None
            }
        }
    }
}

/// Delay before the n-th quick restart: base * 2^n, capped.
pub fn restart_delay(quick_failures: u32) -> Duration {
    RESTART_BASE
        .checked_mul(1u32 << quick_failures.min(16))
        .unwrap_or(RESTART_MAX)
        .min(RESTART_MAX)
}

/// "exit 1" or "signal 9", the way an engineer wants to read it.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown".into(),
    }
}

/// Sends a signal to a child by PID.
pub fn signal(pid: u32, sig: libc::c_int) {
    // A stale PID (the child just exited) is ESRCH: nothing left to signal.
    let _ = cpe_sys::process::signal(pid, sig);
}

/// Starts `exe daemon <name>` and reports its exit as an [`Event`].
pub fn spawn(
    name: Daemon,
    exe: &Path,
    config_path: &Path,
    bus_path: &Path,
    events: mpsc::UnboundedSender<Event>,
) -> io::Result<u32> {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("daemon")
        .arg(name.name())
        .env(cpe_bus::ENV_BUS, bus_path)
        .env("CPE_CONFIG", config_path)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(false);
    // Die with the supervisor: a daemon must never outlive the process
    // that owns the shared state.
    cpe_sys::process::die_with_parent(&mut cmd);
    let mut child = cmd.spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("child exited before we saw its pid"))?;
    tokio::spawn(async move {
        let status = child.wait().await;
        let status = match status {
            Ok(s) => s,
            Err(_) => std::os::unix::process::ExitStatusExt::from_raw(0),
        };
        let _ = events.send(Event::ChildExited { name, pid, status });
    });
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(restart_delay(0), Duration::from_millis(250));
        assert_eq!(restart_delay(1), Duration::from_millis(500));
        assert_eq!(restart_delay(3), Duration::from_secs(2));
        assert_eq!(restart_delay(10), RESTART_MAX);
        assert_eq!(restart_delay(u32::MAX), RESTART_MAX);
    }

    #[test]
    fn exits_schedule_restarts_by_intent() {
        let t0 = Instant::now();
        let mut c = Child::new(Daemon::Dns);
        c.pid = Some(10);
        c.started_at = Some(t0);
        c.exited(ExitStatus::from_raw(9), t0 + Duration::from_secs(1));
        assert_eq!(c.last_exit.as_deref(), Some("signal 9"));
        assert_eq!(c.restart_at, Some(t0 + Duration::from_millis(1250)));
        assert_eq!(c.state_word(), "backoff");

        // A child that ran for a long time restarts fast again.
        c.pid = Some(11);
        c.started_at = Some(t0);
        c.exited(ExitStatus::from_raw(256), t0 + Duration::from_secs(100));
        assert_eq!(c.last_exit.as_deref(), Some("exit 1"));
        assert_eq!(c.restart_at, Some(t0 + Duration::from_millis(100_250)));

        c.pid = Some(12);
        c.intent = Intent::Stop;
        c.exited(ExitStatus::from_raw(0), t0);
        assert_eq!(c.restart_at, None);
        assert_eq!(c.state_word(), "stopped");
    }
}
