//! The supervisor: `cpe run --config FILE`.
//!
//! It is the root of the router's userland. It validates the config, starts
//! one child process per daemon (all of them this same binary), restarts the
//! ones that die, owns the shared state (WAN facts in, LAN facts out), serves
//! the engineer's console, and applies config reloads without disturbing
//! daemons whose settings did not change. See `docs/architecture.md`.

pub mod children;
pub mod derive;
pub mod lan_addr;
pub mod minimal;
pub mod plan;
mod server;
pub mod ula;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use cpe_bus::proto::{FromSupervisor, ReloadOutcome, Request, encode_line};
use cpe_bus::status::{DaemonReport, StatusReport, network_reports};
use cpe_bus::{DelegatedPrefix, Fact, MonoTime, SharedState};
use cpe_config::Config;
use ipnet::Ipv6Net;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

use children::{Child, Intent};
use plan::DaemonSpec;

/// Everything that can happen to the supervisor; the main loop handles them
/// one at a time, which is what keeps the shared state consistent.
#[derive(Debug)]
pub enum Event {
    /// A child process ended.
    ChildExited {
        /// Its daemon name.
        name: &'static str,
        /// Its pid.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// A daemon connected and said hello.
    DaemonHello {
        /// Connection id.
        conn: u64,
        /// The name it gave.
        daemon: String,
        /// The pid it gave.
        pid: u32,
        /// Where to write messages for it.
        out: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A daemon connection closed.
    DaemonGone {
        /// Connection id.
        conn: u64,
    },
    /// A daemon published a fact.
    Publish {
        /// Connection id.
        conn: u64,
        /// The fact.
        fact: Fact,
    },
    /// A daemon replaced its status object.
    DaemonStatus {
        /// Connection id.
        conn: u64,
        /// The status.
        value: serde_json::Value,
    },
    /// The console asked something.
    Console {
        /// What.
        request: Request,
        /// Where the answer goes.
        reply: oneshot::Sender<FromSupervisor>,
    },
}

/// Default config location on the device.
pub const DEFAULT_CONFIG: &str = "/etc/cpe/config.toml";

/// How long an orderly stop may take in total before children are killed.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(4000);

/// Entry point of `cpe run`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let mut config_path = PathBuf::from(DEFAULT_CONFIG);
    let mut parser = lexopt::Parser::from_args(args);
    loop {
        match parser.next() {
            Ok(Some(lexopt::Arg::Long("config")) | Some(lexopt::Arg::Short('c'))) => {
                match parser.value() {
                    Ok(v) => config_path = PathBuf::from(v),
                    Err(e) => return usage(&e.to_string()),
                }
            }
            Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => {
                println!(
                    "usage: cpe run [--config FILE]\n\nRuns the supervisor in the foreground, logging to stderr."
                );
                return ExitCode::SUCCESS;
            }
            Ok(None) => break,
            Ok(Some(other)) => return usage(&format!("unexpected {}", other.unexpected())),
            Err(e) => return usage(&e.to_string()),
        }
    }
    let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
    let (loaded, source) = match cpe_config::load_file_with_source(&config_path) {
        Ok(l) => l,
        Err(diags) => {
            for d in &diags.0 {
                eprintln!("{d}");
            }
            eprintln!("cpe run: refusing to start with an invalid config");
            return ExitCode::FAILURE;
        }
    };
    cpe_log::init(
        "supervisor",
        cpe_log::parse_level(loaded.config.system.log_level.as_str()),
    );
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(config_path, loaded.config, source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("cpe run: {msg}\nusage: cpe run [--config FILE]");
    ExitCode::from(2)
}

struct Conn {
    daemon: &'static str,
    out: mpsc::UnboundedSender<Vec<u8>>,
}

struct Supervisor {
    config_path: PathBuf,
    config: Config,
    source: String,
    config_generation: u64,
    plan: Vec<DaemonSpec>,
    children: BTreeMap<&'static str, Child>,
    conns: HashMap<u64, Conn>,
    daemon_status: BTreeMap<String, serde_json::Value>,
    /// The last WAN facts published by the `wan` daemon.
    wan_in: cpe_bus::WanFacts,
    /// The last DHCPv6 facts published by `dhcp6c`.
    dhcp6_in: cpe_bus::Dhcp6Facts,
    /// The last lease names `dhcp4s` published, by LAN interface.
    dhcp4_names_in: BTreeMap<String, Vec<cpe_bus::LeaseName>>,
    /// The last snapshot derived and pushed to the daemons.
    state: SharedState,
    retired: Vec<DelegatedPrefix>,
    ula: Option<Ipv6Net>,
    lan_addrs: lan_addr::LanAddresses,
    /// Per LAN (config order): why it is not numbered as configured from
    /// the current delegations (RFC 7084 WPD-3), as last logged.
    lan_problems: Vec<Vec<String>>,
    started: Instant,
    exe: PathBuf,
    bus_path: PathBuf,
    events: mpsc::UnboundedSender<Event>,
}

async fn run(config_path: PathBuf, config: Config, source: String) -> std::io::Result<()> {
    let run_dir = config.system.run_dir.clone();
    let bus_path = run_dir.join(cpe_bus::SOCKET_NAME);
    let listener = server::bind(&bus_path)?;
    let exe = std::env::current_exe()?;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    tokio::spawn(server::accept_loop(listener, events_tx.clone()));
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let mut sup = Supervisor {
        plan: plan::plan(&config),
        config_path,
        config,
        source,
        config_generation: 1,
        children: BTreeMap::new(),
        conns: HashMap::new(),
        daemon_status: BTreeMap::new(),
        wan_in: cpe_bus::WanFacts::default(),
        dhcp6_in: cpe_bus::Dhcp6Facts::default(),
        dhcp4_names_in: BTreeMap::new(),
        state: SharedState::default(),
        retired: Vec::new(),
        ula: None,
        lan_addrs: lan_addr::LanAddresses::default(),
        lan_problems: Vec::new(),
        started: Instant::now(),
        exe,
        bus_path: bus_path.clone(),
        events: events_tx,
    };
    sup.load_ula();
    sup.recompute();
    log::info!(
        "supervisor started with {} (pid {}), socket {}",
        sup.config_path.display(),
        std::process::id(),
        bus_path.display()
    );
    let names: Vec<&'static str> = sup.plan.iter().map(|d| d.name).collect();
    for name in names {
        sup.children.insert(name, Child::new(name));
        sup.start(name);
    }

    loop {
        let wake = sup.next_wake();
        tokio::select! {
            ev = events_rx.recv() => match ev {
                Some(ev) => sup.handle(ev),
                None => break,
            },
            _ = hup.recv() => {
                log::info!("SIGHUP: reloading {}", sup.config_path.display());
                sup.reload();
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = tokio::time::sleep_until(wake.into()) => sup.on_timer(),
        }
    }
    sup.shutdown(&mut events_rx).await;
    let _ = std::fs::remove_file(&bus_path);
    log::info!("supervisor stopped");
    Ok(())
}

/// The lease names of the LANs that still serve DHCPv4, in config order
/// (a LAN whose server was switched off by a reload keeps none).
fn lease_names(
    config: &Config,
    by_lan: &BTreeMap<String, Vec<cpe_bus::LeaseName>>,
) -> Vec<cpe_bus::Dhcp4Names> {
    config
        .lan
        .iter()
        .filter(|l| l.ipv4.as_ref().is_some_and(|v| v.dhcp))
        .filter_map(|l| {
            let names = by_lan.get(&l.interface)?;
            Some(cpe_bus::Dhcp4Names {
                interface: l.interface.clone(),
                names: names.clone(),
            })
        })
        .collect()
}

impl Supervisor {
    fn load_ula(&mut self) {
        if self.ula.is_none() && self.config.lan.iter().any(|l| l.ula) {
            match ula::load_or_create(&self.config.system.state_dir) {
                Ok(p) => self.ula = Some(p),
                Err(e) => log::error!(
                    "cannot load or persist the ULA prefix in {}: {e}; LANs get no ULA",
                    self.config.system.state_dir.display()
                ),
            }
        }
    }

    fn start(&mut self, name: &'static str) {
        let Some(child) = self.children.get_mut(name) else {
            return;
        };
        child.restart_at = None;
        match children::spawn(
            name,
            &self.exe,
            &self.config_path,
            &self.bus_path,
            self.events.clone(),
        ) {
            Ok(pid) => {
                child.pid = Some(pid);
                child.started_at = Some(Instant::now());
                child.intent = Intent::Run;
                if child.crash_pending {
                    child.crash_pending = false;
                    child.restarts += 1;
                    log::warn!(
                        "restarted daemon {name} as pid {pid} (restart #{})",
                        child.restarts
                    );
                } else {
                    log::info!("started daemon {name} as pid {pid}");
                }
            }
            Err(e) => {
                log::error!("cannot start daemon {name}: {e}");
                child.quick_failures += 1;
                child.restart_at =
                    Some(Instant::now() + children::restart_delay(child.quick_failures));
            }
        }
    }

    fn next_wake(&self) -> Instant {
        let now = Instant::now();
        let mut wake = now + Duration::from_secs(3600);
        for c in self.children.values() {
            for t in [c.restart_at, c.kill_at].into_iter().flatten() {
                wake = wake.min(t);
            }
        }
        // Re-derive when a phased-out or current prefix expires.
        let mono_now = MonoTime::now();
        let expiries = self
            .retired
            .iter()
            .chain(&self.state.dhcp6.delegated_prefixes)
            .map(|p| p.valid_until)
            .filter(|t| *t > mono_now && *t != cpe_bus::state::INFINITE);
        if let Some(t) = expiries.min() {
            wake = wake.min(now + Duration::from_millis(t.0 - mono_now.0));
        }
        wake
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let due: Vec<&'static str> = self
            .children
            .values()
            .filter(|c| c.restart_at.is_some_and(|t| t <= now) && c.pid.is_none())
            .map(|c| c.name)
            .collect();
        for name in due {
            self.start(name);
        }
        for c in self.children.values_mut() {
            if let (Some(pid), Some(t)) = (c.pid, c.kill_at)
                && t <= now
            {
                log::warn!("daemon {} (pid {pid}) ignored SIGTERM; killing it", c.name);
                children::signal(pid, libc::SIGKILL);
                c.kill_at = None;
            }
        }
        self.recompute();
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::ChildExited { name, pid, status } => self.child_exited(name, pid, status),
            Event::DaemonHello {
                conn,
                daemon,
                pid,
                out,
            } => self.hello(conn, &daemon, pid, out),
            Event::DaemonGone { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    log::debug!("daemon {} disconnected", c.daemon);
                }
            }
            Event::Publish { conn, fact } => self.publish(conn, fact),
            Event::DaemonStatus { conn, value } => {
                if let Some(c) = self.conns.get(&conn) {
                    self.daemon_status.insert(c.daemon.to_string(), value);
                }
            }
            Event::Console { request, reply } => {
                let answer = match request {
                    Request::Status => FromSupervisor::Status(Box::new(self.report())),
                    Request::Reload => {
                        log::info!("reload requested from the console");
                        FromSupervisor::Reload(self.reload())
                    }
                };
                let _ = reply.send(answer);
            }
        }
    }

    fn child_exited(&mut self, name: &'static str, pid: u32, status: ExitStatus) {
        let in_plan = self.plan.iter().any(|d| d.name == name);
        let Some(child) = self.children.get_mut(name) else {
            return;
        };
        if child.pid != Some(pid) {
            return;
        }
        child.exited(status, Instant::now());
        let exit = child.last_exit.clone().unwrap_or_default();
        match (child.intent, child.restart_at) {
            (Intent::Run, Some(at)) if child.crash_pending => log::warn!(
                "daemon {name} (pid {pid}) died: {exit}; restarting in {} ms",
                at.saturating_duration_since(Instant::now()).as_millis()
            ),
            _ => log::info!("daemon {name} (pid {pid}) stopped: {exit}"),
        }
        if child.intent == Intent::Stop && !in_plan {
            self.children.remove(name);
            self.daemon_status.remove(name);
        } else if child.restart_at.is_some_and(|t| t <= Instant::now()) {
            self.start(name);
        }
    }

    fn hello(&mut self, conn: u64, daemon: &str, pid: u32, out: mpsc::UnboundedSender<Vec<u8>>) {
        let Some(child) = self.children.get(daemon) else {
            log::warn!("connection claims to be unknown daemon {daemon:?} (pid {pid}); refused");
            let _ = out.send(encode_line(&FromSupervisor::Error {
                message: format!("no daemon {daemon:?} in the running config"),
            }));
            return;
        };
        if child.pid != Some(pid) {
            log::warn!(
                "daemon {daemon} connected from pid {pid}, expected {:?}",
                child.pid
            );
        }
        let _ = out.send(encode_line(&FromSupervisor::Config {
            file: self.config_path.display().to_string(),
            source: self.source.clone(),
        }));
        let _ = out.send(encode_line(&FromSupervisor::State(Box::new(
            self.state.clone(),
        ))));
        self.conns.insert(
            conn,
            Conn {
                daemon: child.name,
                out,
            },
        );
    }

    fn publish(&mut self, conn: u64, fact: Fact) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        match (c.daemon, fact) {
            ("wan", Fact::Wan(w)) => self.wan_in = w,
            ("dhcp6c", Fact::Dhcp6(d)) => {
                let now = MonoTime::now();
                derive::update_retired(&mut self.retired, &self.dhcp6_in, &d, now);
                let set = |f: &cpe_bus::Dhcp6Facts| -> Vec<ipnet::Ipv6Net> {
                    f.delegated_prefixes.iter().map(|p| p.prefix).collect()
                };
                // A Renew moves lifetimes only: pushed, but not a change worth
                // a log line. A different set of prefixes is.
                if set(&d) != set(&self.dhcp6_in) {
                    let new: Vec<String> = d
                        .delegated_prefixes
                        .iter()
                        .map(|p| p.prefix.to_string())
                        .collect();
                    let old: Vec<String> =
                        self.retired.iter().map(|p| p.prefix.to_string()).collect();
                    log::info!(
                        "delegated prefixes now [{}], phasing out [{}]",
                        new.join(", "),
                        old.join(", ")
                    );
                }
                self.dhcp6_in = d;
            }
            ("dhcp4s", Fact::Dhcp4Names(n))
                if self.config.lan.iter().any(|l| l.interface == n.interface) =>
            {
                self.dhcp4_names_in.insert(n.interface, n.names);
            }
            (daemon, fact) => {
                log::warn!("daemon {daemon} published a fact it does not own: {fact:?}");
                return;
            }
        }
        self.recompute();
    }

    /// Re-derives the LAN side and pushes a snapshot if anything changed.
    fn recompute(&mut self) {
        let now = MonoTime::now();
        self.retired.retain(|r| r.valid_until > now);
        let mut next = SharedState {
            generation: self.state.generation,
            wan: self.wan_in.clone(),
            dhcp6: self.dhcp6_in.clone(),
            ..SharedState::default()
        };
        next.dhcp6.previous_prefixes = self.retired.clone();
        next.dhcp6
            .delegated_prefixes
            .retain(|p| p.valid_until > now);
        let lans: Vec<derive::LanInput> = self
            .config
            .lan
            .iter()
            .map(|l| derive::LanInput {
                interface: l.interface.clone(),
                subnet_id: u64::from(l.subnet_id),
                ula: l.ula,
                static_prefixes: l.ra.prefixes.clone(),
            })
            .collect();
        next.lan = derive::derive_lans(&lans, &next.dhcp6, self.ula, now);
        let problems = derive::lan_problems(&lans, &next.dhcp6, now);
        if problems != self.lan_problems {
            for line in problems.iter().flatten() {
                if !self.lan_problems.iter().flatten().any(|old| old == line) {
                    log::error!("{line}");
                }
            }
            self.lan_problems = problems;
        }
        next.upstream_dns = derive::upstream_dns(&next.dhcp6, &next.wan);
        next.lease_names = lease_names(&self.config, &self.dhcp4_names_in);
        if next.lan != self.state.lan || self.state.generation == 0 || self.lan_addrs.has_errors() {
            let v4: Vec<_> = self
                .config
                .lan
                .iter()
                .map(|l| l.ipv4.as_ref().map(|v| v.address))
                .collect();
            self.lan_addrs.apply(&lan_addr::wanted(&next.lan, &v4, now));
        }
        if next != self.state || self.state.generation == 0 {
            next.generation = self.state.generation + 1;
            self.state = next;
            let line = encode_line(&FromSupervisor::State(Box::new(self.state.clone())));
            for c in self.conns.values() {
                let _ = c.out.send(line.clone());
            }
        }
    }

    /// Re-reads and applies the config file. Runs inside the main loop, which
    /// is safe because reading the file never blocks: a FIFO, device or
    /// directory put in its place is refused at once (see
    /// `cpe_config::read_file_bytes`), and the text validated is the text
    /// kept, so the daemons get exactly what was checked.
    fn reload(&mut self) -> ReloadOutcome {
        let (loaded, source) = match cpe_config::load_file_with_source(&self.config_path) {
            Ok(l) => l,
            Err(diags) => {
                let errors: Vec<String> = diags.0.iter().map(|d| d.to_string()).collect();
                for e in &errors {
                    log::error!("reload refused: {e}");
                }
                log::error!("reload refused; still running the previous config");
                return ReloadOutcome {
                    applied: false,
                    errors,
                    warnings: vec![],
                    changed: vec![],
                };
            }
        };
        let warnings: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
        for w in &warnings {
            log::warn!("{w}");
        }
        let new_plan = plan::plan(&loaded.config);
        let change = plan::diff(&self.plan, &new_plan);
        self.config = loaded.config;
        self.source = source;
        self.plan = new_plan;
        self.config_generation += 1;
        cpe_log::set_level(cpe_log::parse_level(self.config.system.log_level.as_str()));
        self.load_ula();
        let now = Instant::now();
        for name in &change.stop {
            if let Some(c) = self.children.get_mut(name) {
                c.request_stop(Intent::Stop, now);
                if c.pid.is_none() {
                    self.children.remove(name);
                    self.daemon_status.remove(*name);
                }
            }
        }
        for name in &change.restart {
            if let Some(c) = self.children.get_mut(name) {
                c.request_stop(Intent::Restart, now);
            }
        }
        for name in &change.start {
            self.children.insert(name, Child::new(name));
            self.start(name);
        }
        self.on_timer();
        let changed = change.touched();
        log::info!(
            "reload applied (config generation {}): {}",
            self.config_generation,
            if changed.is_empty() {
                "no daemon affected".to_string()
            } else {
                format!("restarted/started/stopped [{}]", changed.join(", "))
            }
        );
        ReloadOutcome {
            applied: true,
            errors: vec![],
            warnings,
            changed,
        }
    }

    fn report(&self) -> StatusReport {
        let now = Instant::now();
        let mut daemons: Vec<&Child> = self.children.values().collect();
        daemons.sort_by_key(|c| plan::ALL_DAEMONS.iter().position(|d| *d == c.name));
        let (wan, mut lan) = network_reports(&self.state, MonoTime::now());
        for (report, problems) in lan.iter_mut().zip(&self.lan_problems) {
            report.problems = problems.clone();
        }
        StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            hostname: self.config.system.hostname.clone(),
            config_file: self.config_path.display().to_string(),
            config_generation: self.config_generation,
            uptime_s: (now - self.started).as_secs(),
            daemons: daemons
                .into_iter()
                .map(|c| DaemonReport {
                    name: c.name.to_string(),
                    pid: c.pid,
                    state: c.state_word().to_string(),
                    restarts: c.restarts,
                    uptime_s: c.started_at.map(|s| (now - s).as_secs()),
                    last_exit: c.last_exit.clone(),
                })
                .collect(),
            wan,
            lan,
            upstream_dns: self.state.upstream_dns.clone(),
            daemon_status: self.daemon_status.clone(),
        }
    }

    async fn shutdown(&mut self, events: &mut mpsc::UnboundedReceiver<Event>) {
        log::info!("stopping all daemons");
        let now = Instant::now();
        for c in self.children.values_mut() {
            c.request_stop(Intent::Stop, now);
        }
        let deadline = now + SHUTDOWN_GRACE;
        let mut killed = false;
        while self.children.values().any(|c| c.pid.is_some()) {
            let wait_until = if killed {
                deadline + Duration::from_millis(500)
            } else {
                deadline
            };
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(Event::ChildExited { name, pid, status }) => {
                        if let Some(c) = self.children.get_mut(name)
                            && c.pid == Some(pid)
                        {
                            c.exited(status, Instant::now());
                        }
                    }
                    Some(Event::Console { reply, .. }) => {
                        let _ = reply.send(FromSupervisor::Error { message: "shutting down".into() });
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = tokio::time::sleep_until(wait_until.into()) => {
                    if killed {
                        break;
                    }
                    for c in self.children.values() {
                        if let Some(pid) = c.pid {
                            log::warn!("daemon {} (pid {pid}) did not stop in time; killing it", c.name);
                            children::signal(pid, libc::SIGKILL);
                        }
                    }
                    killed = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lease names reach the snapshot in config order, and only for LANs
    /// that still serve DHCPv4 (names from a LAN whose server a reload
    /// switched off, or from an interface that is no LAN, are dropped).
    #[test]
    fn lease_names_follow_the_lans_that_serve_dhcpv4() {
        let text = "[wan]\ninterface = \"wan0\"\n\
                    [[lan]]\ninterface = \"br0\"\nsubnet_id = 1\n[lan.ipv4]\naddress = \"192.168.1.1/24\"\n\
                    [[lan]]\ninterface = \"br1\"\nsubnet_id = 2\n[lan.ipv4]\naddress = \"192.168.2.1/24\"\n\
                    [[lan]]\ninterface = \"br2\"\nsubnet_id = 3\n[lan.ipv4]\naddress = \"192.168.3.1/24\"\ndhcp = false\n";
        let config = cpe_config::parse_str(text, "t.toml").unwrap().config;
        let name = |n: &str, last: u8| cpe_bus::LeaseName {
            name: n.into(),
            address: std::net::Ipv4Addr::new(192, 168, 1, last),
        };
        let by_lan = BTreeMap::from([
            ("br1".to_string(), vec![name("b", 100)]),
            ("br0".to_string(), vec![name("a", 100), name("c", 101)]),
            ("br2".to_string(), vec![name("off", 100)]),
            ("eth9".to_string(), vec![name("stray", 100)]),
        ]);
        let got = lease_names(&config, &by_lan);
        let lans: Vec<&str> = got.iter().map(|l| l.interface.as_str()).collect();
        assert_eq!(lans, ["br0", "br1"]);
        assert_eq!(got[0].names, vec![name("a", 100), name("c", 101)]);
    }
}
