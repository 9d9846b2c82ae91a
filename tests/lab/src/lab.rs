//! The lab: owner of namespaces, links, processes and the temp directory.
//!
//! Cleanup is the lab's first duty. Dropping a [`Lab`] (also while a test
//! panics) stops every process it started by PID, kills anything else still
//! inside its namespaces, deletes its veths and namespaces and removes its
//! temp directory. A run that never got to drop (SIGKILL, abort) is swept by
//! the next [`Lab::new`] on the machine (see `sweep.rs`).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::command::run_argv;
use crate::error::{Context, LabError, Result};
use crate::naming::{self, LabId};
use crate::netns::Netns;
use crate::process::{ProcSlot, terminate_all};
use crate::spawn::Spawner;
use crate::sweep::{
    KEEP_MARKER, OWNER_FILE, delete_netns, kill_all_in_netns, pids_in_netns, sweep_stale,
};

/// Grace between SIGTERM and SIGKILL at lab teardown.
pub const TEARDOWN_GRACE: Duration = Duration::from_millis(1000);

/// Set this environment variable to keep every lab's temp directory (logs,
/// configs, leases) after the lab is dropped. Labs dropped during a panic
/// keep theirs anyway.
pub const KEEP_ENV: &str = "CPE_LAB_KEEP";

/// State shared by the lab and every [`Netns`] handle.
pub(crate) struct LabShared {
    pub(crate) id: LabId,
    pub(crate) dir: PathBuf,
    namespaces: Mutex<Vec<String>>,
    veths: Mutex<Vec<(String, String)>>,
    processes: Mutex<Vec<Arc<ProcSlot>>>,
    claimed: Mutex<HashSet<String>>,
    pub(crate) spawner: Spawner,
    torn_down: AtomicBool,
    keep_dir: AtomicBool,
}

impl LabShared {
    pub(crate) fn register_process(&self, slot: Arc<ProcSlot>) {
        lock(&self.processes).push(slot);
    }

    pub(crate) fn ensure_live(&self) -> Result<()> {
        if self.torn_down.load(Ordering::SeqCst) {
            Err(LabError::new(format!(
                "lab {} was already torn down",
                self.id.stem()
            )))
        } else {
            Ok(())
        }
    }

    /// A path stem in the temp dir that no earlier call returned
    /// (`<stem>`, then `<stem>.1`, ...): the config, log and pid files of two
    /// instances of one peer never overwrite each other, and one instance's
    /// files share one stem.
    pub(crate) fn claim_base(&self, stem: &str) -> PathBuf {
        let clean: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut claimed = lock(&self.claimed);
        let mut n = 0u32;
        loop {
            let name = if n == 0 {
                clean.clone()
            } else {
                format!("{clean}.{n}")
            };
            if claimed.insert(name.clone()) {
                return self.dir.join(name);
            }
            n += 1;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One emulated network: a set of namespaces with the processes in them.
///
/// Create one per test; labs are independent, so tests run in parallel.
/// See the crate documentation for an example.
pub struct Lab {
    shared: Arc<LabShared>,
}

impl Lab {
    /// Creates an empty lab. `name_hint` (e.g. the test name) appears in the
    /// temp directory name, to find a failed test's logs.
    ///
    /// Needs root (namespaces). Sweeps what crashed earlier runs left behind.
    pub fn new(name_hint: &str) -> Result<Lab> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(LabError::new(
                "the namespace lab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)",
            ));
        }
        sweep_stale();
        let id = LabId::next();
        let dir = naming::lab_root().join(format!(
            "{}-{}",
            id.stem(),
            naming::sanitize_hint(name_hint)
        ));
        fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
        let ticks = naming::process_start_ticks(id.pid).unwrap_or(0);
        fs::write(dir.join(OWNER_FILE), format!("{} {ticks}\n", id.pid))
            .context("writing the lab owner file")?;
        let spawner = Spawner::start(&id.stem())?;
        log::info!("lab {} created, files in {}", id.stem(), dir.display());
        Ok(Lab {
            shared: Arc::new(LabShared {
                id,
                dir,
                namespaces: Mutex::new(Vec::new()),
                veths: Mutex::new(Vec::new()),
                processes: Mutex::new(Vec::new()),
                claimed: Mutex::new(HashSet::new()),
                spawner,
                torn_down: AtomicBool::new(false),
                keep_dir: AtomicBool::new(std::env::var_os(KEEP_ENV).is_some()),
            }),
        })
    }

    /// Name stem shared by all of this lab's namespaces (`cl<pid>-<seq>`).
    pub fn stem(&self) -> String {
        self.shared.id.stem()
    }

    /// The lab's private temp directory (configs, leases, logs, sockets).
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Keeps the temp directory after the lab is dropped (for post-mortems).
    pub fn keep_dir(&self) {
        self.shared.keep_dir.store(true, Ordering::SeqCst);
    }

    /// Creates a namespace for `role` (lowercase letters and digits, at most
    /// 12), with loopback up.
    pub fn netns(&self, role: &str) -> Result<Netns> {
        self.shared.ensure_live()?;
        if !naming::valid_role(role) {
            return Err(LabError::new(format!(
                "bad namespace role {role:?}: use 1-12 lowercase letters or digits"
            )));
        }
        let name = self.shared.id.netns_name(role);
        if lock(&self.shared.namespaces).contains(&name) {
            return Err(LabError::new(format!(
                "namespace role {role:?} already exists"
            )));
        }
        run_argv(&["ip", "netns", "add", &name], Duration::from_secs(5))?.ok()?;
        lock(&self.shared.namespaces).push(name.clone());
        let ns = Netns::new(name, role.to_string(), self.shared.clone());
        ns.ip(&["link", "set", "lo", "up"])?;
        log::debug!("namespace {} created", ns.name());
        Ok(ns)
    }

    /// Creates a veth pair whose ends are born directly in their namespaces
    /// (so they inherit that namespace's `default` sysctls), with fixed MACs
    /// when given (fixed MACs give fixed link-local addresses). Links stay
    /// down.
    pub fn veth(&self, a: VethEnd<'_>, b: VethEnd<'_>) -> Result<()> {
        self.shared.ensure_live()?;
        let mut argv = vec!["ip", "link", "add", a.ifname, "netns", a.netns.name()];
        if let Some(mac) = a.mac {
            argv.extend(["address", mac]);
        }
        argv.extend([
            "type",
            "veth",
            "peer",
            "name",
            b.ifname,
            "netns",
            b.netns.name(),
        ]);
        if let Some(mac) = b.mac {
            argv.extend(["address", mac]);
        }
        run_argv(&argv, Duration::from_secs(5))?.ok()?;
        lock(&self.shared.veths).push((a.netns.name().to_string(), a.ifname.to_string()));
        Ok(())
    }

    /// PIDs of every process currently inside one of the lab's namespaces
    /// (including helpers the lab did not start itself).
    pub fn pids(&self) -> Vec<u32> {
        lock(&self.shared.namespaces)
            .iter()
            .flat_map(|ns| pids_in_netns(ns))
            .collect()
    }

    /// Names of the namespaces this lab created.
    pub fn namespaces(&self) -> Vec<String> {
        lock(&self.shared.namespaces).clone()
    }

    /// Tears the lab down now (what drop does); later calls do nothing.
    pub fn teardown(&self) {
        if self.shared.torn_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        let procs: Vec<Arc<ProcSlot>> = lock(&self.shared.processes).drain(..).collect();
        terminate_all(&procs, TEARDOWN_GRACE);
        let namespaces: Vec<String> = lock(&self.shared.namespaces).drain(..).collect();
        for ns in &namespaces {
            kill_all_in_netns(ns);
        }
        for (ns, ifname) in lock(&self.shared.veths).drain(..) {
            let _ = run_argv(
                &["ip", "-n", &ns, "link", "del", "dev", &ifname],
                Duration::from_secs(5),
            );
        }
        for ns in &namespaces {
            delete_netns(ns);
        }
        self.shared.spawner.shutdown();
        let keep = self.shared.keep_dir.load(Ordering::SeqCst) || std::thread::panicking();
        if keep {
            let _ = fs::write(self.shared.dir.join(KEEP_MARKER), b"");
            // Printed, not logged: the one line a developer needs after a
            // failed test, shown by the test runner even without a logger.
            eprintln!(
                "cpe-lab: kept {} (logs, configs, leases)",
                self.shared.dir.display()
            );
        } else if let Err(e) = fs::remove_dir_all(&self.shared.dir) {
            log::warn!("cannot remove {}: {e}", self.shared.dir.display());
        }
        log::info!(
            "lab {} torn down in {} ms ({} processes, {} namespaces)",
            self.shared.id.stem(),
            started.elapsed().as_millis(),
            procs.len(),
            namespaces.len()
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// One end of a veth pair for [`Lab::veth`].
#[derive(Clone, Copy)]
pub struct VethEnd<'a> {
    /// Namespace the end lives in.
    pub netns: &'a Netns,
    /// Interface name inside that namespace.
    pub ifname: &'a str,
    /// Fixed MAC address, if any.
    pub mac: Option<&'a str>,
}

impl<'a> VethEnd<'a> {
    /// An end with a fixed MAC.
    pub fn new(netns: &'a Netns, ifname: &'a str, mac: &'a str) -> Self {
        VethEnd {
            netns,
            ifname,
            mac: Some(mac),
        }
    }
}
