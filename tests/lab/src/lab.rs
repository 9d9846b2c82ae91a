//! The lab: owner of namespaces, links, processes and the temp directory.
//!
//! Cleanup is the lab's first duty. Dropping a [`Lab`] (also while a test
//! panics) stops every process it started by PID, kills anything else still
//! inside its namespaces, deletes its veths and namespaces and removes its
//! temp directory. A run that never got to drop (SIGKILL, abort) is swept by
//! the next [`Lab::new`] on the machine, which removes the namespaces and
//! temp directories whose creator process no longer exists.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::command::run_argv;
use crate::error::{Context, LabError, Result};
use crate::naming::{self, LabId, pid_alive};
use crate::netns::Netns;
use crate::process::{ProcSlot, terminate_all};
use crate::spawn::Spawner;

/// Directory where `ip netns add` puts namespace files.
pub(crate) const NETNS_DIR: &str = "/run/netns";

/// Grace between SIGTERM and SIGKILL at lab teardown.
pub const TEARDOWN_GRACE: Duration = Duration::from_millis(1000);

/// Set this environment variable to keep every lab's temp directory (logs,
/// configs, leases) after the lab is dropped. Labs dropped during a panic
/// keep theirs anyway.
pub const KEEP_ENV: &str = "CPE_LAB_KEEP";

/// Marker file in a kept temp directory; the sweeper leaves such
/// directories alone for [`KEEP_FOR`].
const KEEP_MARKER: &str = "KEEP";

/// How long a kept temp directory survives sweeps: long enough for a
/// post-mortem, short enough that failed runs do not pile up.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

/// Creator identity file in the temp directory (PID start time).
const OWNER_FILE: &str = "owner";

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
fn kill_all_in_netns(name: &str) {
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

fn delete_netns(name: &str) {
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
