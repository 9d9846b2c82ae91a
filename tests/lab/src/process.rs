//! Processes the lab started, and how they are stopped.
//!
//! Each server is the direct child of the test process and leads its own
//! process group, so the PID held here is the server's own PID (not a wrapper
//! shell's or `ip netns exec`'s) and helpers it forks (radvd's privilege
//! separation child) die with it when the group is signalled. The child is
//! only reaped after its group was signalled, so its PID cannot be reused by
//! an unrelated process while we still signal it.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};

/// Grace period between SIGTERM and SIGKILL when a [`Process`] is dropped.
pub const DROP_GRACE: Duration = Duration::from_millis(1000);

/// How often exit is polled while waiting for a process.
const POLL: Duration = Duration::from_millis(10);

/// Shared record of one started process: held by its [`Process`] handle and
/// by the lab, so whichever is dropped first stops it.
#[derive(Debug)]
pub(crate) struct ProcSlot {
    label: String,
    pid: u32,
    log_path: PathBuf,
    state: Mutex<ChildState>,
}

#[derive(Debug)]
enum ChildState {
    /// Not yet reaped: the PID still belongs to our child.
    Running(Child),
    /// Reaped; the PID must never be signalled again.
    Exited(ExitStatus),
}

impl ProcSlot {
    pub(crate) fn new(label: String, child: Child, log_path: PathBuf) -> Arc<Self> {
        Arc::new(ProcSlot {
            label,
            pid: child.id(),
            log_path,
            state: Mutex::new(ChildState::Running(child)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ChildState> {
        // A panic while holding this lock cannot leave the state invalid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `sig` to the process group (`group`) or the process alone, only
    /// while the child is unreaped.
    fn signal(&self, sig: i32, group: bool) -> bool {
        let state = self.lock();
        if !matches!(*state, ChildState::Running(_)) {
            return false;
        }
        let target = if group {
            -(self.pid as libc::pid_t)
        } else {
            self.pid as libc::pid_t
        };
        // SAFETY: kill(2) has no memory-safety preconditions; the target is
        // our own unreaped child (or its group), so the PID is not reused.
        unsafe { libc::kill(target, sig) == 0 }
    }

    /// Whether the main process has exited, without reaping it.
    fn has_exited(&self) -> bool {
        let state = self.lock();
        match *state {
            ChildState::Exited(_) => true,
            ChildState::Running(_) => exited_without_reaping(self.pid),
        }
    }

    /// Kills the whole group (the leader is at worst a zombie, so its PID
    /// still reserves the group), then reaps the leader.
    fn kill_and_reap(&self) -> Option<ExitStatus> {
        let mut state = self.lock();
        match &mut *state {
            ChildState::Exited(status) => Some(*status),
            ChildState::Running(child) => {
                // SAFETY: see `signal`; the leader is unreaped here.
                unsafe {
                    libc::kill(-(self.pid as libc::pid_t), libc::SIGKILL);
                }
                let status = child.wait().ok()?;
                *state = ChildState::Exited(status);
                Some(status)
            }
        }
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        match *self.lock() {
            ChildState::Exited(status) => Some(status),
            ChildState::Running(_) => None,
        }
    }

    /// SIGTERM to the group, up to `grace` for a clean exit, then SIGKILL.
    /// Returns how the main process ended.
    pub(crate) fn terminate(&self, grace: Duration) -> Option<ExitStatus> {
        terminate_all(std::slice::from_ref(&self), grace);
        self.exit_status()
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

/// Stops several processes in parallel: one SIGTERM round, one shared grace
/// period, then SIGKILL for whatever is left. Teardown therefore costs at
/// most one grace period, not one per process.
pub(crate) fn terminate_all<S: AsRef<ProcSlot>>(slots: &[S], grace: Duration) {
    let mut pending: Vec<&ProcSlot> = Vec::new();
    for slot in slots {
        let slot = slot.as_ref();
        if slot.signal(libc::SIGTERM, true) {
            log::debug!("sent SIGTERM to {} (pid {})", slot.label, slot.pid);
            pending.push(slot);
        }
    }
    let deadline = Instant::now() + grace;
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|s| !s.has_exited());
        if !pending.is_empty() {
            std::thread::sleep(POLL);
        }
    }
    for slot in slots {
        let slot = slot.as_ref();
        let forced = pending.iter().any(|p| std::ptr::eq(*p, slot));
        if forced {
            log::warn!(
                "{} (pid {}) ignored SIGTERM for {} ms; sending SIGKILL",
                slot.label,
                slot.pid,
                grace.as_millis()
            );
        }
        slot.kill_and_reap();
    }
}

impl AsRef<ProcSlot> for ProcSlot {
    fn as_ref(&self) -> &ProcSlot {
        self
    }
}

/// waitid(WNOWAIT): has `pid` exited? Leaves it unreaped.
fn exited_without_reaping(pid: u32) -> bool {
    // SAFETY: siginfo_t is plain data; zeroed is a valid initial value and
    // waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a local siginfo_t; WNOHANG means no blocking.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is valid to read for the SIGCHLD-style info waitid fills.
    rc == 0 && unsafe { info.si_pid() } != 0
}

/// A server or client the lab started inside a namespace.
///
/// Dropping the handle stops the process (SIGTERM, then SIGKILL after
/// [`DROP_GRACE`]); the lab also stops it when the lab is dropped, whichever
/// comes first. Its stdout and stderr go to [`Process::log_path`].
#[derive(Debug)]
pub struct Process {
    slot: Arc<ProcSlot>,
}

impl Process {
    pub(crate) fn new(slot: Arc<ProcSlot>) -> Self {
        Process { slot }
    }

    /// The process's own PID (the server itself, never a wrapper).
    pub fn pid(&self) -> u32 {
        self.slot.pid
    }

    /// The label given at spawn time (also the log file's stem).
    pub fn label(&self) -> &str {
        self.slot.label()
    }

    /// Sends `sig` to the process only (e.g. SIGHUP to make a server reload).
    /// Returns false if the process was already reaped.
    pub fn kill(&self, sig: i32) -> bool {
        self.slot.signal(sig, false)
    }

    /// Sends `sig` to the process and every helper it forked.
    pub fn kill_group(&self, sig: i32) -> bool {
        self.slot.signal(sig, true)
    }

    /// True while the main process has not exited.
    pub fn is_running(&self) -> bool {
        !self.slot.has_exited()
    }

    /// SIGTERM, wait up to 3 s for a clean exit, then SIGKILL. Returns how it
    /// ended (`None` only if it could not be reaped).
    pub fn stop(&self) -> Option<ExitStatus> {
        self.stop_within(Duration::from_secs(3))
    }

    /// Like [`Process::stop`] with an explicit grace period; use a long one
    /// for clients that send a Release on SIGTERM.
    pub fn stop_within(&self, grace: Duration) -> Option<ExitStatus> {
        self.slot.terminate(grace)
    }

    /// Waits for the process to exit on its own (one-shot clients).
    pub fn wait_exit(&self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.slot.has_exited() {
                return self.slot.kill_and_reap().ok_or_else(|| {
                    LabError::new(format!(
                        "could not reap {} (pid {})",
                        self.label(),
                        self.pid()
                    ))
                });
            }
            if Instant::now() >= deadline {
                return Err(LabError::new(format!(
                    "{} (pid {}) still running after {} ms; log tail:\n{}",
                    self.label(),
                    self.pid(),
                    timeout.as_millis(),
                    self.log_tail(20)
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// File receiving the process's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.slot.log_path
    }

    /// Everything the process has written so far (lossy UTF-8).
    pub fn log_text(&self) -> String {
        match std::fs::read(&self.slot.log_path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("<cannot read {}: {e}>", self.slot.log_path.display()),
        }
    }

    /// The last `lines` lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Fails with the log tail if the process has already exited: a server
    /// that died during start-up should fail the test with its own words.
    pub fn ensure_running(&self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let status = self.slot.kill_and_reap();
        Err(LabError::new(format!(
            "{} (pid {}) exited ({}); log tail:\n{}",
            self.label(),
            self.pid(),
            status.map_or_else(|| "unknown status".to_string(), |s| s.to_string()),
            self.log_tail(30)
        )))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.slot.terminate(DROP_GRACE);
    }
}
