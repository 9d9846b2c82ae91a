//! Starting long-running processes inside a namespace.
//!
//! The child joins the namespace itself between fork and exec (`setns` on
//! the `/run/netns/<name>` file), so there is no `ip netns exec` wrapper and
//! the PID we hold is the server's. Like `ip netns exec`, it also gets a
//! private mount namespace with `/sys` remounted, so tools that read
//! `/sys/class/net` see the lab's interfaces; optional bind mounts live in
//! that private mount namespace only (dhcp6c's hard-coded DUID directory).
//!
//! All spawns happen on one long-lived thread per lab with
//! `PR_SET_PDEATHSIG=SIGKILL`: if the test binary is killed (Ctrl-C, CI
//! timeout) the servers die with it instead of outliving the run. The
//! death signal follows the forking *thread*, hence the dedicated thread.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::error::{LabError, Result};

type Job = Box<dyn FnOnce() + Send>;

/// The lab's spawning thread.
pub(crate) struct Spawner {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Spawner {
    pub(crate) fn start(name: &str) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-spawn"))
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .map_err(|e| LabError::io("cannot start the lab's spawner thread", e))?;
        Ok(Spawner {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Spawns `cmd` on the spawner thread.
    pub(crate) fn spawn(&self, mut cmd: Command) -> Result<Child> {
        let (reply_tx, reply_rx) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = reply_tx.send(cmd.spawn());
        });
        {
            let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = tx
                .as_ref()
                .ok_or_else(|| LabError::new("lab already torn down; cannot spawn"))?;
            tx.send(job)
                .map_err(|_| LabError::new("lab spawner thread is gone"))?;
        }
        reply_rx
            .recv()
            .map_err(|_| LabError::new("lab spawner thread is gone"))?
            .map_err(|e| LabError::io("spawn failed", e))
    }

    /// Stops the thread; processes it forked get SIGKILL from the kernel, so
    /// call this only after they were stopped.
    pub(crate) fn shutdown(&self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = t.join();
        }
    }
}

/// Everything the child does between fork and exec, prepared in the parent
/// (no allocation after fork).
pub(crate) struct ChildSetup {
    netns: OwnedFd,
    sysfs_source: CString,
    binds: Vec<(CString, CString)>,
    parent_pid: libc::pid_t,
}

impl ChildSetup {
    /// Opens the namespace file and prepares the bind mounts (`source` is
    /// mounted over `target` in the child's private mount namespace).
    pub(crate) fn new(netns_name: &str, binds: &[(PathBuf, PathBuf)]) -> Result<Self> {
        let path = Path::new("/run/netns").join(netns_name);
        let netns: OwnedFd = File::open(&path)
            .map_err(|e| LabError::io(format!("opening {}", path.display()), e))?
            .into();
        let binds = binds
            .iter()
            .map(|(s, t)| Ok((path_cstring(s)?, path_cstring(t)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(ChildSetup {
            netns,
            sysfs_source: CString::new(netns_name)
                .map_err(|_| LabError::new("namespace name contains NUL"))?,
            binds,
            // SAFETY: getpid has no preconditions.
            parent_pid: unsafe { libc::getpid() },
        })
    }

    /// Installs the setup as the command's pre-exec hook and puts the child
    /// in its own process group.
    pub(crate) fn apply(self, cmd: &mut Command) {
        cmd.process_group(0);
        // SAFETY: the hook only makes async-signal-safe system calls on data
        // prepared before fork; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || self.in_child());
        }
    }

    fn in_child(&self) -> io::Result<()> {
        // SAFETY: each call is a plain system call on valid, NUL-terminated
        // strings and an open descriptor owned by `self`.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != self.parent_pid {
                // The test process died between fork and prctl.
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            check(libc::setns(self.netns.as_raw_fd(), libc::CLONE_NEWNET))?;
            check(libc::unshare(libc::CLONE_NEWNS))?;
            let root = c"/";
            check(libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_SLAVE | libc::MS_REC,
                std::ptr::null(),
            ))?;
            let sys = c"/sys";
            check(libc::umount2(sys.as_ptr(), libc::MNT_DETACH))?;
            check(libc::mount(
                self.sysfs_source.as_ptr(),
                sys.as_ptr(),
                c"sysfs".as_ptr(),
                0,
                std::ptr::null(),
            ))?;
            for (source, target) in &self.binds {
                check(libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
        }
        Ok(())
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn path_cstring(p: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| LabError::new(format!("path {} contains NUL", p.display())))
}
