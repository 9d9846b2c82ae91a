//! A handle on one of the lab's namespaces: run commands, start servers,
//! run Rust code, set sysctls inside it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::command::{CmdOutput, DEFAULT_EXEC_TIMEOUT, display_argv, run_argv};
use crate::error::{Context, LabError, Result};
use crate::lab::LabShared;
use crate::process::{ProcSlot, Process};
use crate::spawn::ChildSetup;
use crate::sweep::{NETNS_DIR, pids_in_netns};

/// Options for [`Netns::spawn_with`].
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// `(source, target)` bind mounts made in the child's private mount
    /// namespace only (the host's view is unchanged), e.g. a private
    /// directory over a tool's hard-coded state directory.
    pub bind_mounts: Vec<(PathBuf, PathBuf)>,
    /// File for stdout + stderr; default `<role>-<label>[.N].log` in the lab
    /// directory.
    pub log_path: Option<PathBuf>,
}

/// The common stem of one process instance's files in the lab directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBase {
    base: PathBuf,
}

impl FileBase {
    /// `<stem>.<ext>`.
    pub fn path(&self, ext: &str) -> PathBuf {
        let mut p = self.base.clone().into_os_string();
        p.push(".");
        p.push(ext);
        PathBuf::from(p)
    }

    /// Spawn options that log to `<stem>.log`.
    pub fn spawn_options(&self) -> SpawnOptions {
        SpawnOptions {
            log_path: Some(self.path("log")),
            ..SpawnOptions::default()
        }
    }
}

/// One network namespace of a lab. Cheap to clone; valid until the lab is
/// torn down.
#[derive(Clone)]
pub struct Netns {
    name: String,
    role: String,
    lab: Arc<LabShared>,
}

impl std::fmt::Debug for Netns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netns").field("name", &self.name).finish()
    }
}

impl Netns {
    pub(crate) fn new(name: String, role: String, lab: Arc<LabShared>) -> Self {
        Netns { name, role, lab }
    }

    /// Full namespace name (for `ip netns exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role it was created with (`isp`, `rtr`, ...).
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The owning lab's temp directory.
    pub fn lab_dir(&self) -> &Path {
        &self.lab.dir
    }

    /// A fresh file stem in the lab's temp directory, prefixed with this
    /// namespace's role (`rtr-dhclient`, then `rtr-dhclient.1`, ...), for
    /// the files of one process instance.
    pub fn file_base(&self, stem: &str) -> FileBase {
        FileBase {
            base: self.lab.claim_base(&format!("{}-{stem}", self.role)),
        }
    }

    /// A fresh path `<role>-<stem>[.N].<ext>` in the lab's temp directory.
    pub fn unique_path(&self, stem: &str, ext: &str) -> PathBuf {
        self.file_base(stem).path(ext)
    }

    /// Runs `argv` via `ip netns exec` and returns what it printed, whatever
    /// its exit status; fails only if it could not run or ran longer than
    /// 10 s.
    pub fn exec<S: AsRef<str>>(&self, argv: &[S]) -> Result<CmdOutput> {
        self.exec_timeout(argv, DEFAULT_EXEC_TIMEOUT)
    }

    /// [`Netns::exec`] with an explicit timeout.
    pub fn exec_timeout<S: AsRef<str>>(&self, argv: &[S], timeout: Duration) -> Result<CmdOutput> {
        self.lab.ensure_live()?;
        if argv.is_empty() {
            return Err(LabError::new("exec: empty command line"));
        }
        let mut full: Vec<&str> = vec!["ip", "netns", "exec", &self.name];
        full.extend(argv.iter().map(AsRef::as_ref));
        run_argv(&full, timeout)
    }

    /// [`Netns::exec`] that also fails on a non-zero exit, with the command
    /// line and its stderr in the message.
    pub fn exec_ok<S: AsRef<str>>(&self, argv: &[S]) -> Result<CmdOutput> {
        self.exec(argv)?.ok()
    }

    /// Runs `ip -n <ns> <args>` and fails on a non-zero exit.
    pub fn ip<S: AsRef<str>>(&self, args: &[S]) -> Result<CmdOutput> {
        self.lab.ensure_live()?;
        let mut full: Vec<&str> = vec!["ip", "-n", &self.name];
        full.extend(args.iter().map(AsRef::as_ref));
        run_argv(&full, Duration::from_secs(5))?.ok()
    }

    /// Starts a long-running process in the namespace; see
    /// [`Netns::spawn_with`].
    pub fn spawn(&self, label: &str, cmd: Command) -> Result<Process> {
        self.spawn_with(label, cmd, &SpawnOptions::default())
    }

    /// Starts `cmd` inside the namespace as a direct child (its PID is the
    /// program's own), with stdin from /dev/null and stdout + stderr to a
    /// log file in the lab directory named after `label`. The process is
    /// stopped when the returned handle or the lab is dropped.
    pub fn spawn_with(
        &self,
        label: &str,
        mut cmd: Command,
        opts: &SpawnOptions,
    ) -> Result<Process> {
        self.lab.ensure_live()?;
        let log_path = match &opts.log_path {
            Some(p) => p.clone(),
            None => self.unique_path(label, "log"),
        };
        let log = File::create(&log_path).context(format!("creating {}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .context(format!("duplicating {}", log_path.display()))?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
        ChildSetup::new(&self.name, &opts.bind_mounts)?.apply(&mut cmd);
        let shown = format!("{cmd:?}");
        let child = self
            .lab
            .spawner
            .spawn(cmd)
            .map_err(|e| LabError::new(format!("starting {shown} in {}: {e}", self.name)))?;
        let slot = ProcSlot::new(label.to_string(), child, log_path);
        self.lab.register_process(slot.clone());
        let proc = Process::new(slot);
        log::info!(
            "started {label} (pid {}) in {}: {shown}",
            proc.pid(),
            self.name
        );
        Ok(proc)
    }

    /// Runs `f` on a fresh thread that joined this namespace, and returns
    /// its result. Sockets opened inside `f` live in the namespace, so tests
    /// can send and receive from a lab host without a helper binary. A panic
    /// in `f` propagates to the caller.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        self.lab.ensure_live()?;
        let path = Path::new(NETNS_DIR).join(&self.name);
        let file = File::open(&path).context(format!("opening {}", path.display()))?;
        std::thread::scope(|s| {
            let handle = s.spawn(move || {
                // SAFETY: setns on an open namespace descriptor; it only
                // changes this (short-lived) thread's network namespace.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(LabError::io(
                        format!("setns into {}", path.display()),
                        std::io::Error::last_os_error(),
                    ));
                }
                Ok(f())
            });
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Sets a sysctl in this namespace. `key` is dotted
    /// (`net.ipv6.conf.wan0.accept_ra`) or slash-separated when an interface
    /// name contains dots (`net/ipv6/conf/wan0.10/accept_ra`).
    pub fn sysctl_set(&self, key: &str, value: &str) -> Result<()> {
        self.sysctls_set(&[(key, value)])
    }

    /// Sets several sysctls in order with one namespace switch.
    pub fn sysctls_set(&self, pairs: &[(&str, &str)]) -> Result<()> {
        let ns = self.name.clone();
        self.run(move || {
            for (key, value) in pairs {
                let path = sysctl_path(key);
                std::fs::write(&path, value.as_bytes())
                    .context(format!("sysctl {key}={value} in {ns}"))?;
            }
            Ok(())
        })?
    }

    /// Reads a sysctl in this namespace (trimmed).
    pub fn sysctl_get(&self, key: &str) -> Result<String> {
        let path = sysctl_path(key);
        let ns = self.name.clone();
        self.run(move || {
            std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .context(format!("reading sysctl {key} in {ns}"))
        })?
    }

    /// PIDs of every process in this namespace.
    pub fn pids(&self) -> Vec<u32> {
        pids_in_netns(&self.name)
    }

    /// Formats a command for messages the way `exec` would run it.
    pub fn describe<S: AsRef<str>>(&self, argv: &[S]) -> String {
        format!("[{}] {}", self.name, display_argv(argv))
    }
}

fn sysctl_path(key: &str) -> PathBuf {
    let rel = if key.contains('/') {
        key.to_string()
    } else {
        key.replace('.', "/")
    };
    Path::new("/proc/sys").join(rel.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_map_to_proc_paths() {
        assert_eq!(
            sysctl_path("net.ipv6.conf.all.forwarding"),
            Path::new("/proc/sys/net/ipv6/conf/all/forwarding")
        );
        assert_eq!(
            sysctl_path("net/ipv6/conf/wan0.10/accept_ra"),
            Path::new("/proc/sys/net/ipv6/conf/wan0.10/accept_ra")
        );
    }
}
