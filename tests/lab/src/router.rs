//! The router under test: our own supervisor (`cpe run`) in the router
//! namespace, driven through `cpectl` exactly as a field engineer would.
//!
//! Tests of every daemon start the whole product this way, so what they
//! prove is what ships: the same binary, config language, state bus and
//! console.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::error::{LabError, Result};
use crate::netns::Netns;
use crate::process::Process;
use crate::wait::{Check, wait_for};

/// The workspace's `cpe` binary: `$CPE_BIN`, else `target/<profile>/cpe`
/// next to the running test executable (`cargo build -p cpe` first).
pub fn cpe_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("CPE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| LabError::io("current_exe", e))?;
    let mut dir = exe.parent();
    // Test executables live in target/<profile>/deps, binaries one level up;
    // examples and bins of this crate live in target/<profile> itself.
    while let Some(d) = dir {
        let candidate = d.join("cpe");
        if candidate.is_file() {
            return Ok(candidate);
        }
        if d.file_name().is_some_and(|n| n == "target") {
            break;
        }
        dir = d.parent();
    }
    Err(LabError::new(
        "the cpe binary was not found: run `cargo build -p cpe` or set CPE_BIN",
    ))
}

/// A file of this repository (`config/default.toml`, ...).
pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Rewrites a config's `[system]` so `state_dir` and `run_dir` live in
/// `dir`, and, unless the config has an `[ntp]` table of its own, keeps the
/// NTP client from setting the clock: the realtime clock is not
/// namespaced, so a lab that stepped it would step the host's. Everything
/// else stays as the user wrote it.
pub fn relocate_system_dirs(source: &str, dir: &Path) -> String {
    let system = format!(
        "[system]\nstate_dir = \"{}\"\nrun_dir = \"{}\"",
        dir.join("state").display(),
        dir.join("run").display()
    );
    let mut out = if source.contains("[system]") {
        source.replacen("[system]", &system, 1)
    } else {
        format!("{system}\n{source}")
    };
    if !out.contains("[ntp]") {
        out.push_str("\n[ntp]\nset_clock = false\n");
    }
    out
}

/// `cpe run` in a namespace.
pub struct RouterUnderTest {
    /// The supervisor process (its log holds every daemon's log too).
    pub supervisor: Process,
    /// The config file it runs (tests edit it before a reload).
    pub config: PathBuf,
    /// The supervisor's socket.
    pub socket: PathBuf,
    /// `state_dir` of the config.
    pub state_dir: PathBuf,
}

impl RouterUnderTest {
    /// Writes `source` (with system dirs moved into the lab) and starts the
    /// supervisor in `ns`; returns once `cpectl status` shows every daemon
    /// running.
    pub fn start(ns: &Netns, source: &str) -> Result<RouterUnderTest> {
        let dir = ns.lab_dir().join("router");
        std::fs::create_dir_all(&dir).map_err(|e| LabError::io("mkdir router dir", e))?;
        let config = dir.join("config.toml");
        std::fs::write(&config, relocate_system_dirs(source, &dir))
            .map_err(|e| LabError::io("write config", e))?;
        let mut cmd = Command::new(cpe_bin()?);
        cmd.arg("run").arg("--config").arg(&config);
        let supervisor = ns.spawn("supervisor", cmd)?;
        let r = RouterUnderTest {
            supervisor,
            config,
            socket: dir.join("run").join("cpe.sock"),
            state_dir: dir.join("state"),
        };
        r.wait_status("every daemon running", Duration::from_secs(10), |s| {
            let d = s["daemons"].as_array()?;
            (!d.is_empty() && d.iter().all(|d| d["state"] == "running")).then_some(())
        })?;
        Ok(r)
    }

    /// Runs `cpectl --socket <socket> ARGS` (the binary under its console
    /// name, as installed on the device).
    pub fn cpectl(&self, args: &[&str]) -> Result<Output> {
        let link = self.config.with_file_name("cpectl");
        if !link.exists() {
            std::os::unix::fs::symlink(cpe_bin()?, &link)
                .map_err(|e| LabError::io("symlink cpectl", e))?;
        }
        Command::new(&link)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .map_err(|e| LabError::io("run cpectl", e))
    }

    /// `cpectl status --json`, parsed; `None` while the supervisor does not
    /// answer.
    pub fn status(&self) -> Option<Value> {
        let out = self.cpectl(&["status", "--json"]).ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Polls the status until `pred` returns a value. A timeout reports the
    /// last status and the supervisor's log tail.
    pub fn wait_status<T>(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> Option<T>,
    ) -> Result<T> {
        let probe = || {
            Ok(match self.status().and_then(|s| pred(&s)) {
                Some(v) => Check::Ready(v),
                None => Check::NotYet("condition false".into()),
            })
        };
        wait_for(what, timeout, probe).map_err(|e| {
            LabError::new(format!(
                "{}\nlast status: {}\nsupervisor log:\n{}",
                e.message(),
                self.status().map(|s| s.to_string()).unwrap_or_default(),
                self.supervisor.log_tail(80)
            ))
        })
    }

    /// The entry of daemon `name` in a status document.
    pub fn daemon<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
        status["daemons"]
            .as_array()?
            .iter()
            .find(|d| d["name"] == name)
    }

    /// `(name, pid)` of every daemon in a status document.
    pub fn pids(status: &Value) -> Vec<(String, u64)> {
        status["daemons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| {
                        (
                            d["name"].as_str().unwrap_or_default().to_string(),
                            d["pid"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A whole lab run of the product: the topology, the ISP's peers and the
/// router under test with a config. Dropped in field order: the router's
/// namespace peers, then the ISP, the supervisor, the lab.
pub struct RouterLab {
    /// The namespaces and links.
    pub topo: crate::IpoeTopology,
    /// The ISP's peers.
    pub isp: crate::Isp,
    /// `cpe run` in the router namespace.
    pub router: RouterUnderTest,
    /// The lab (its directory and cleanup).
    pub lab: crate::Lab,
}

impl RouterLab {
    /// A lab named after `hint` with the ISP of `isp`, and the router
    /// started with the config `source`.
    pub fn start(hint: &str, isp: &crate::IspOptions, source: &str) -> Result<RouterLab> {
        let lab = crate::Lab::new(hint)?;
        let topo = lab.ipoe(&crate::TopologyOptions::default())?;
        let isp = topo.start_isp(isp)?;
        let router = RouterUnderTest::start(&topo.router, source)?;
        Ok(RouterLab {
            topo,
            isp,
            router,
            lab,
        })
    }
}
