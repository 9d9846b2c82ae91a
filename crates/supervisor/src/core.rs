//! The supervisor's state logic, sans IO: which daemon to start, signal or
//! restart, when, and what the shared state is.
//!
//! The driver (`crate::run`) owns the sockets, the child processes, the
//! clock and the config file; it feeds this core what happened (a child
//! started or exited, a daemon published a fact, a reload was asked with the
//! config it read) and performs the [`Action`]s the core queues: spawn a
//! daemon, signal one, program the LAN addresses, push a snapshot, answer a
//! reload. It follows the `cpe_daemon::Engine` contract, so reload, restart
//! backoff and fact ownership are tested in virtual time without a process.

use std::collections::{BTreeMap, VecDeque};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use cpe_bus::events::{Events, Level, Query, Ring, SinceBoot};
use cpe_bus::proto::ReloadOutcome;
use cpe_bus::status::{DaemonReport, StatusReport, network_reports};
use cpe_bus::{Daemon, DelegatedPrefix, Dhcp6Facts, Fact, MonoTime, SharedState, WanFacts};
use cpe_config::Config;
use ipnet::Ipv6Net;

use crate::children::{Child, Intent, restart_delay};
use crate::derive;
use crate::lan_addr;
use crate::plan::{self, DaemonSpec};
use crate::timeline::{self, Note};

/// A config read from disk and validated, handed to [`Input::Reload`].
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// Its text, sent to every daemon as it was validated.
    pub source: String,
    /// Warnings, one line each.
    pub warnings: Vec<String>,
}

/// What the driver feeds in.
#[derive(Debug)]
pub enum Input {
    /// Start every daemon the config needs (once, at start).
    Start,
    /// The persisted ULA /48, loaded by the driver; used from the next
    /// derivation on.
    Ula(Ipv6Net),
    /// A [`Action::Spawn`] succeeded.
    Spawned {
        /// The daemon.
        daemon: Daemon,
        /// Its process id.
        pid: u32,
    },
    /// A [`Action::Spawn`] failed.
    SpawnFailed {
        /// The daemon.
        daemon: Daemon,
        /// Why, for the log.
        error: String,
    },
    /// A child process ended.
    Exited {
        /// The daemon.
        daemon: Daemon,
        /// Its pid.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// A connected daemon published a fact.
    Publish {
        /// Who published it (as the connection said hello).
        daemon: Daemon,
        /// The fact.
        fact: Fact,
    },
    /// A connected daemon replaced its status object.
    Status {
        /// The daemon.
        daemon: Daemon,
        /// Its status.
        value: serde_json::Value,
    },
    /// The result of [`Action::ApplyAddresses`]: whether something was left
    /// undone (retried on the next derivation).
    AddressErrors(bool),
    /// Apply a config re-read from disk, or report why it was refused
    /// (one `FILE:LINE:COL: error: ...` line per problem).
    Reload(Result<Box<Loaded>, Vec<String>>),
    /// Stop every daemon for good (the supervisor is going away).
    Shutdown,
    /// Kill every daemon still running (the shutdown grace is over).
    KillAll,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start `cpe daemon <name>`; answer with [`Input::Spawned`] or
    /// [`Input::SpawnFailed`].
    Spawn(Daemon),
    /// Send `signal` to the daemon's process.
    Signal {
        /// The daemon.
        daemon: Daemon,
        /// Its pid.
        pid: u32,
        /// The signal.
        signal: i32,
    },
    /// Program the router's own LAN addresses; answer with
    /// [`Input::AddressErrors`].
    ApplyAddresses(Vec<lan_addr::Wanted>),
    /// Send this snapshot to every connected daemon.
    PushState(Box<SharedState>),
    /// A reload was handled (applied or refused): answer whoever asked.
    Reloaded(ReloadOutcome),
}

/// The supervisor's state.
pub struct Core {
    config: Config,
    source: String,
    config_generation: u64,
    plan: Vec<DaemonSpec>,
    children: BTreeMap<Daemon, Child>,
    daemon_status: BTreeMap<Daemon, serde_json::Value>,
    /// The last WAN facts published by the `wan` daemon.
    wan_in: WanFacts,
    /// The last DHCPv6 facts published by `dhcp6c`.
    dhcp6_in: Dhcp6Facts,
    /// The last lease names `dhcp4s` published, by LAN interface.
    dhcp4_names_in: BTreeMap<String, Vec<cpe_bus::LeaseName>>,
    /// The last snapshot derived and pushed to the daemons.
    state: SharedState,
    retired: Vec<DelegatedPrefix>,
    ula: Option<Ipv6Net>,
    /// The last address programming left something undone.
    address_errors: bool,
    /// Per LAN (config order): why it is not numbered as configured from
    /// the current delegations (RFC 7084 WPD-3), as last logged.
    lan_problems: Vec<Vec<String>>,
    /// The time of the latest input, to express prefix expiries (bus time)
    /// as a deadline.
    last_now: Option<Instant>,
    /// The last reload was refused (first error, count, when): the file
    /// on disk is not what runs, which `cpectl status` must say.
    reload_refused: Option<(String, usize, Instant)>,
    actions: VecDeque<Action>,
    /// The event timeline behind `cpectl log`.
    ring: Ring,
    /// The counters behind the "since boot" line of `cpectl status`.
    since_boot: SinceBoot,
    /// An instant and the wall clock (ms UTC) at it, set by the driver, to
    /// stamp events with the time an engineer reads.
    wall: Option<(Instant, u64)>,
    /// When the snapshot was last derived: a preferred lifetime that ran
    /// out since then is an event.
    last_derived: Option<MonoTime>,
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

impl Core {
    /// A core for `config` (validated, with its text); nothing runs until
    /// [`Input::Start`].
    pub fn new(config: Config, source: String) -> Core {
        Core {
            plan: plan::plan(&config),
            config,
            source,
            config_generation: 1,
            children: BTreeMap::new(),
            daemon_status: BTreeMap::new(),
            wan_in: WanFacts::default(),
            dhcp6_in: Dhcp6Facts::default(),
            dhcp4_names_in: BTreeMap::new(),
            state: SharedState::default(),
            retired: Vec::new(),
            ula: None,
            address_errors: false,
            lan_problems: Vec::new(),
            last_now: None,
            reload_refused: None,
            actions: VecDeque::new(),
            ring: Ring::default(),
            since_boot: SinceBoot::default(),
            wall: None,
            last_derived: None,
        }
    }

    /// Tells the core the wall clock (ms since 1970, UTC) at `at`; events
    /// are stamped from the latest anchor (the wall clock may be stepped
    /// by NTP, so the driver sets it before every input).
    pub fn set_wall_clock(&mut self, at: Instant, unix_ms: u64) {
        self.wall = Some((at, unix_ms));
    }

    fn wall_ms(&self, now: Instant) -> u64 {
        match self.wall {
            Some((at, ms)) if now >= at => ms.saturating_add((now - at).as_millis() as u64),
            Some((at, ms)) => ms.saturating_sub((at - now).as_millis() as u64),
            None => 0,
        }
    }

    /// Puts one event into the ring, stamped `now`.
    fn record(&mut self, now: Instant, n: Note) {
        let wall = self.wall_ms(now);
        self.ring.push(
            MonoTime::from_instant(now).0,
            wall,
            n.level,
            n.daemon,
            &n.text,
            n.prefix,
        );
    }

    fn record_all(&mut self, now: Instant, notes: Vec<Note>) {
        for n in notes {
            self.record(now, n);
        }
    }

    fn event(&mut self, now: Instant, level: Level, daemon: &'static str, text: String) {
        self.record(
            now,
            Note {
                level,
                daemon,
                text,
                prefix: None,
            },
        );
    }

    /// The events `q` asks for (`cpectl log`, `cpectl show prefix`).
    pub fn log(&self, q: &Query, now: Instant) -> Events {
        self.ring.query(q, MonoTime::from_instant(now).0)
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Its text, as handed to daemons on hello.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The last snapshot pushed.
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// The ULA prefix in use, if loaded.
    pub fn ula(&self) -> Option<Ipv6Net> {
        self.ula
    }

    /// The supervised daemon called `name` with its current pid, if the
    /// config has it (a hello from anything else is refused).
    pub fn child(&self, name: &str) -> Option<(Daemon, Option<u32>)> {
        let d = Daemon::from_name(name)?;
        self.children.get(&d).map(|c| (d, c.pid))
    }

    /// Whether any daemon process is still alive.
    pub fn any_running(&self) -> bool {
        self.children.values().any(|c| c.pid.is_some())
    }

    fn start(&mut self, name: Daemon) {
        if let Some(child) = self.children.get_mut(&name) {
            child.restart_at = None;
            self.actions.push_back(Action::Spawn(name));
        }
    }

    fn spawned(&mut self, name: Daemon, pid: u32, now: Instant) {
        let Some(child) = self.children.get_mut(&name) else {
            return;
        };
        child.pid = Some(pid);
        child.started_at = Some(now);
        child.intent = Intent::Run;
        if child.crash_pending {
            child.crash_pending = false;
            child.restarts += 1;
            self.since_boot.restarts += 1;
            log::warn!(
                "restarted daemon {name} as pid {pid} (restart #{})",
                child.restarts
            );
        } else {
            log::info!("started daemon {name} as pid {pid}");
        }
    }

    fn spawn_failed(&mut self, name: Daemon, error: &str, now: Instant) {
        log::error!("cannot start daemon {name}: {error}");
        self.event(
            now,
            Level::Error,
            name.name(),
            format!("cannot start: {error}"),
        );
        if let Some(child) = self.children.get_mut(&name) {
            child.quick_failures += 1;
            child.restart_at = Some(now + restart_delay(child.quick_failures));
        }
    }

    fn request_stop(&mut self, name: Daemon, intent: Intent, now: Instant) {
        if let Some(c) = self.children.get_mut(&name)
            && let Some((pid, signal)) = c.request_stop(intent, now)
        {
            self.actions.push_back(Action::Signal {
                daemon: name,
                pid,
                signal,
            });
        }
    }

    fn on_timer(&mut self, now: Instant) {
        let due: Vec<Daemon> = self
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
                self.actions.push_back(Action::Signal {
                    daemon: c.name,
                    pid,
                    signal: libc::SIGKILL,
                });
                c.kill_at = None;
            }
        }
        self.recompute(now);
    }

    fn exited(&mut self, name: Daemon, pid: u32, status: ExitStatus, now: Instant) {
        let in_plan = self.plan.iter().any(|d| d.name == name);
        let Some(child) = self.children.get_mut(&name) else {
            return;
        };
        if child.pid != Some(pid) {
            return;
        }
        child.exited(status, now);
        let exit = child.last_exit.clone().unwrap_or_default();
        let crashed = match (child.intent, child.restart_at) {
            (Intent::Run, Some(at)) if child.crash_pending => {
                Some(at.saturating_duration_since(now).as_millis())
            }
            _ => None,
        };
        match crashed {
            Some(ms) => {
                log::warn!("daemon {name} (pid {pid}) died: {exit}; restarting in {ms} ms");
                self.event(
                    now,
                    Level::Warn,
                    name.name(),
                    format!("died (pid {pid}): {exit}; restarting in {ms} ms"),
                );
            }
            None => log::info!("daemon {name} (pid {pid}) stopped: {exit}"),
        }
        let Some(child) = self.children.get_mut(&name) else {
            return;
        };
        if child.intent == Intent::Stop && !in_plan {
            self.children.remove(&name);
            self.daemon_status.remove(&name);
        } else if child.restart_at.is_some_and(|t| t <= now) {
            self.start(name);
        }
    }

    fn publish(&mut self, daemon: Daemon, fact: Fact, now: Instant) {
        if !daemon.owns(&fact) {
            log::warn!("daemon {daemon} published a fact it does not own: {fact:?}");
            return;
        }
        match fact {
            Fact::Wan(w) => {
                let notes = timeline::wan_changes(&self.wan_in, &w);
                if self.wan_in.state == cpe_bus::WanState::Up && w.state != cpe_bus::WanState::Up {
                    self.since_boot.wan_down += 1;
                    self.since_boot.wan_down_last_ms = Some(self.wall_ms(now));
                }
                self.record_all(now, notes);
                self.wan_in = *w;
            }
            Fact::Dhcp6(d) => {
                let notes = timeline::dhcp6_changes(&self.dhcp6_in, &d);
                self.record_all(now, notes);
                let mono = MonoTime::from_instant(now);
                derive::update_retired(&mut self.retired, &self.dhcp6_in, &d, mono);
                let set = |f: &Dhcp6Facts| -> Vec<Ipv6Net> {
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
                    // Once per prefix as it arrives, not on every Renew.
                    let before = set(&self.dhcp6_in);
                    for p in set(&d).into_iter().filter(|p| !before.contains(p)) {
                        if let Some(text) =
                            cpe_config::closed_prefix_finding(&self.config.wan.closed_prefixes, p)
                        {
                            log::warn!("{text}");
                        }
                    }
                }
                self.dhcp6_in = *d;
            }
            Fact::Dhcp4Names(n) => {
                if !self.config.lan.iter().any(|l| l.interface == n.interface) {
                    log::warn!(
                        "dhcp4s published lease names for {}, which is no LAN",
                        n.interface
                    );
                    return;
                }
                self.dhcp4_names_in.insert(n.interface, n.names);
            }
        }
        self.recompute(now);
    }

    /// Re-derives the LAN side; programs the addresses and pushes a
    /// snapshot if anything changed.
    fn recompute(&mut self, at: Instant) {
        let now = MonoTime::from_instant(at);
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
                ula_prefix: l.ula_prefix,
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
        let last = self.last_derived.unwrap_or(now);
        let notes = timeline::prefix_changes(&self.state, &next, last, now);
        if !self.state.dhcp6.delegated_prefixes.is_empty()
            && next.dhcp6.delegated_prefixes.is_empty()
        {
            self.since_boot.pd_lost += 1;
            self.since_boot.pd_lost_last_ms = Some(self.wall_ms(at));
        }
        self.record_all(at, notes);
        self.last_derived = Some(now);
        if next.lan != self.state.lan || self.state.generation == 0 || self.address_errors {
            let v4: Vec<_> = self
                .config
                .lan
                .iter()
                .map(|l| l.ipv4.as_ref().map(|v| v.address))
                .collect();
            self.actions
                .push_back(Action::ApplyAddresses(lan_addr::wanted(
                    &next.lan, &v4, now,
                )));
        }
        if next != self.state || self.state.generation == 0 {
            next.generation = self.state.generation + 1;
            self.state = next;
            self.actions
                .push_back(Action::PushState(Box::new(self.state.clone())));
        }
    }

    /// Applies a reloaded config: daemons whose slice changed are restarted
    /// (quietly), new ones started, dropped ones stopped; a refused config
    /// changes nothing that runs.
    fn reload(&mut self, loaded: Result<Box<Loaded>, Vec<String>>, now: Instant) -> ReloadOutcome {
        let loaded = match loaded {
            Ok(l) => *l,
            Err(errors) => {
                for e in &errors {
                    log::error!("reload refused: {e}");
                }
                log::error!("reload refused; still running the previous config");
                self.since_boot.reloads_refused += 1;
                let more = match errors.len() {
                    0 | 1 => String::new(),
                    n => format!(" (+{} more)", n - 1),
                };
                let first = errors.first().map_or("", String::as_str);
                self.event(
                    now,
                    Level::Error,
                    "supervisor",
                    format!("reload refused, previous config kept: {first}{more}"),
                );
                self.reload_refused = Some((first.to_owned(), errors.len(), now));
                return ReloadOutcome {
                    applied: false,
                    errors,
                    warnings: vec![],
                    changed: vec![],
                };
            }
        };
        for w in &loaded.warnings {
            log::warn!("{w}");
        }
        self.reload_refused = None;
        let new_plan = plan::plan(&loaded.config);
        let change = plan::diff(&self.plan, &new_plan);
        self.config = loaded.config;
        self.source = loaded.source;
        self.plan = new_plan;
        self.config_generation += 1;
        for name in &change.stop {
            self.request_stop(*name, Intent::Stop, now);
            if self.children.get(name).is_some_and(|c| c.pid.is_none()) {
                self.children.remove(name);
                self.daemon_status.remove(name);
            }
        }
        for name in &change.restart {
            self.request_stop(*name, Intent::Restart, now);
        }
        for name in &change.start {
            self.children.insert(*name, Child::new(*name));
            self.start(*name);
        }
        self.on_timer(now);
        let changed = change.touched();
        let text = format!(
            "reload applied (config generation {}): {}",
            self.config_generation,
            if changed.is_empty() {
                "no daemon affected".to_string()
            } else {
                format!("restarted/started/stopped [{}]", changed.join(", "))
            }
        );
        log::info!("{text}");
        self.event(now, Level::Info, "supervisor", text);
        ReloadOutcome {
            applied: true,
            errors: vec![],
            warnings: loaded.warnings,
            changed,
        }
    }

    /// The report behind `cpectl status`: `now` for uptimes, `uptime` of
    /// the supervisor, `config_file` as shown.
    pub fn report(&self, now: Instant, uptime: Duration, config_file: &str) -> StatusReport {
        // In start order: the map's order is the registry's.
        let (mut wan, mut lan) = network_reports(&self.state, MonoTime::from_instant(now));
        wan.closed_prefixes = self.config.wan.closed_prefixes.clone();
        for (report, problems) in lan.iter_mut().zip(&self.lan_problems) {
            report.problems = problems.clone();
        }
        StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            hostname: self.config.system.hostname.clone(),
            config_file: config_file.to_string(),
            config_generation: self.config_generation,
            uptime_s: uptime.as_secs(),
            daemons: self
                .children
                .values()
                .map(|c| DaemonReport {
                    name: c.name.name().to_string(),
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
            daemon_status: self
                .daemon_status
                .iter()
                .map(|(d, v)| (d.name().to_string(), v.clone()))
                .collect(),
            since_boot: self.since_boot.clone(),
            reload_refused: self.reload_refused.as_ref().map(|(error, errors, at)| {
                cpe_bus::status::ReloadRefused {
                    error: error.clone(),
                    errors: *errors,
                    age_s: now.saturating_duration_since(*at).as_secs(),
                }
            }),
        }
    }
}

impl cpe_daemon::Engine for Core {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        self.last_now = Some(now);
        match input {
            Input::Start => {
                let names: Vec<Daemon> = self.plan.iter().map(|d| d.name).collect();
                // The first snapshot (and the LAN addresses) before any
                // daemon asks for it.
                self.recompute(now);
                for name in names {
                    self.children.insert(name, Child::new(name));
                    self.start(name);
                }
            }
            Input::Ula(p) => self.ula = Some(p),
            Input::Spawned { daemon, pid } => self.spawned(daemon, pid, now),
            Input::SpawnFailed { daemon, error } => self.spawn_failed(daemon, &error, now),
            Input::Exited {
                daemon,
                pid,
                status,
            } => self.exited(daemon, pid, status, now),
            Input::Publish { daemon, fact } => self.publish(daemon, fact, now),
            Input::Status { daemon, value } => {
                if self.children.contains_key(&daemon) {
                    let notes =
                        timeline::status_changes(daemon, self.daemon_status.get(&daemon), &value);
                    self.record_all(now, notes);
                    self.daemon_status.insert(daemon, value);
                }
            }
            Input::AddressErrors(failed) => self.address_errors = failed,
            Input::Reload(loaded) => {
                let outcome = self.reload(loaded, now);
                self.actions.push_back(Action::Reloaded(outcome));
            }
            Input::Shutdown => {
                log::info!("stopping all daemons");
                let names: Vec<Daemon> = self.children.keys().copied().collect();
                for name in names {
                    self.request_stop(name, Intent::Stop, now);
                }
            }
            Input::KillAll => {
                for c in self.children.values() {
                    if let Some(pid) = c.pid {
                        log::warn!(
                            "daemon {} (pid {pid}) did not stop in time; killing it",
                            c.name
                        );
                        self.actions.push_back(Action::Signal {
                            daemon: c.name,
                            pid,
                            signal: libc::SIGKILL,
                        });
                    }
                }
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        self.on_timer(now);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let children = self
            .children
            .values()
            .flat_map(|c| [c.restart_at, c.kill_at])
            .flatten()
            .min();
        // Re-derive when a phased-out or current prefix expires.
        let expiry = self.last_now.and_then(|at| {
            let mono = MonoTime::from_instant(at);
            // A preferred lifetime that runs out is an event (deprecated).
            self.retired
                .iter()
                .map(|p| p.valid_until)
                .chain(
                    self.state
                        .dhcp6
                        .delegated_prefixes
                        .iter()
                        .flat_map(|p| [p.preferred_until, p.valid_until]),
                )
                .filter(|t| *t > mono && *t != cpe_bus::state::INFINITE)
                .min()
                .map(|t| at + Duration::from_millis(t.0 - mono.0))
        });
        children.into_iter().chain(expiry).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpe_bus::{LanFacts, WanState};
    use cpe_daemon::Engine as _;
    use cpe_daemon::engine::drive::{advance, feed};
    use std::os::unix::process::ExitStatusExt;

    const CONFIG: &str = "[wan]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"br0\"\n[dns]\n";

    fn loaded(src: &str) -> Loaded {
        let l = cpe_config::parse_str(src, "t.toml").expect("valid config");
        Loaded {
            config: l.config,
            source: src.to_string(),
            warnings: vec![],
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// A core whose every daemon was spawned at `t0` with pid 100 + its
    /// index in start order; returns it with the daemons it runs.
    fn running(t0: Instant) -> (Core, Vec<Daemon>) {
        let l = loaded(CONFIG);
        let mut core = Core::new(l.config, l.source);
        let actions = feed(&mut core, Input::Start, t0);
        let spawned: Vec<Daemon> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Spawn(d) => Some(*d),
                _ => None,
            })
            .collect();
        assert!(
            spawned.contains(&Daemon::Wan) && spawned.contains(&Daemon::Dns),
            "{spawned:?}"
        );
        assert!(
            matches!(actions.last(), Some(Action::Spawn(_))),
            "the first snapshot goes out before any daemon starts: {actions:?}"
        );
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::PushState(s) if s.generation == 1))
        );
        for (i, d) in spawned.iter().enumerate() {
            let pid = 100 + i as u32;
            assert!(feed(&mut core, Input::Spawned { daemon: *d, pid }, t0).is_empty());
        }
        (core, spawned)
    }

    fn pid_of(core: &Core, d: Daemon) -> u32 {
        core.child(d.name())
            .and_then(|(_, pid)| pid)
            .expect("running")
    }

    fn crash(core: &mut Core, d: Daemon, at: Instant) -> Vec<Action> {
        let pid = pid_of(core, d);
        feed(
            core,
            Input::Exited {
                daemon: d,
                pid,
                status: ExitStatus::from_raw(9),
            },
            at,
        )
    }

    #[test]
    fn a_refused_reload_changes_nothing_that_runs() {
        let t0 = Instant::now();
        let (mut core, _) = running(t0);
        let before = core.report(t0, secs(0), "t.toml");
        let actions = feed(
            &mut core,
            Input::Reload(Err(vec!["t.toml:3:1: error: unknown key".into()])),
            t0 + secs(5),
        );
        assert_eq!(
            actions,
            vec![Action::Reloaded(ReloadOutcome {
                applied: false,
                errors: vec!["t.toml:3:1: error: unknown key".into()],
                warnings: vec![],
                changed: vec![],
            })],
            "no spawn, no signal, no snapshot"
        );
        let mut after = core.report(t0, secs(0), "t.toml");
        assert_eq!(after.since_boot.reloads_refused, 1, "counted, nothing else");
        after.since_boot = before.since_boot.clone();
        assert!(after.reload_refused.take().is_some());
        assert_eq!(
            core.report(t0 + secs(7), secs(0), "t.toml").reload_refused,
            Some(cpe_bus::status::ReloadRefused {
                error: "t.toml:3:1: error: unknown key".into(),
                errors: 1,
                age_s: 2,
            })
        );
        assert_eq!(after, before);
        assert_eq!(core.source(), CONFIG);
        // A reload that applies clears it.
        feed(
            &mut core,
            Input::Reload(Ok(Box::new(loaded(CONFIG)))),
            t0 + secs(8),
        );
        assert_eq!(
            core.report(t0 + secs(9), secs(9), "t.toml").reload_refused,
            None
        );
    }

    #[test]
    fn a_reload_restarts_only_the_daemon_whose_slice_changed_and_quietly() {
        let t0 = Instant::now();
        let (mut core, _) = running(t0);
        let dns = pid_of(&core, Daemon::Dns);
        let edited = CONFIG.replace("[dns]\n", "[dns]\ncache_size = 500\n");
        let t1 = t0 + secs(60);
        let actions = feed(&mut core, Input::Reload(Ok(Box::new(loaded(&edited)))), t1);
        let signals: Vec<&Action> = actions
            .iter()
            .filter(|a| matches!(a, Action::Signal { .. } | Action::Spawn(_)))
            .collect();
        assert_eq!(
            signals,
            vec![&Action::Signal {
                daemon: Daemon::Dns,
                pid: dns,
                signal: Daemon::Dns.restart_signal(),
            }],
            "{actions:?}"
        );
        assert!(matches!(
            actions.last(),
            Some(Action::Reloaded(o)) if o.applied && o.changed == ["dns"]
        ));
        // Once it has stopped, it comes back at once (not as a crash).
        let back = feed(
            &mut core,
            Input::Exited {
                daemon: Daemon::Dns,
                pid: dns,
                status: ExitStatus::from_raw(0),
            },
            t1 + secs(1),
        );
        assert_eq!(back, vec![Action::Spawn(Daemon::Dns)]);
        feed(
            &mut core,
            Input::Spawned {
                daemon: Daemon::Dns,
                pid: 999,
            },
            t1 + secs(1),
        );
        let report = core.report(t1 + secs(2), secs(62), "t.toml");
        assert_eq!(report.config_generation, 2);
        let d = report.daemons.iter().find(|d| d.name == "dns").unwrap();
        assert_eq!((d.pid, d.restarts), (Some(999), 0));
        // A daemon that ignores the stop is killed after the grace.
        let wan = pid_of(&core, Daemon::Wan);
        let off = CONFIG.replace("[wan]\n", "[wan]\nmtu = 1400\n");
        feed(
            &mut core,
            Input::Reload(Ok(Box::new(loaded(&off)))),
            t1 + secs(10),
        );
        let kill = advance(&mut core, t1 + secs(20), 10);
        assert!(
            kill.contains(&Action::Signal {
                daemon: Daemon::Wan,
                pid: wan,
                signal: libc::SIGKILL,
            }),
            "{kill:?}"
        );
    }

    #[test]
    fn a_crash_loop_slows_down_and_a_long_run_resets_the_backoff() {
        let t0 = Instant::now();
        let (mut core, _) = running(t0);
        let mut now = t0 + secs(1);
        let mut delays = Vec::new();
        for pid in 500..505 {
            assert!(crash(&mut core, Daemon::Dns, now).is_empty());
            let due = core.poll_timeout().expect("a restart is scheduled");
            delays.push(due - now);
            assert_eq!(
                advance(&mut core, due, 10),
                vec![Action::Spawn(Daemon::Dns)]
            );
            feed(
                &mut core,
                Input::Spawned {
                    daemon: Daemon::Dns,
                    pid,
                },
                due,
            );
            now = due + Duration::from_millis(10);
        }
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000].map(Duration::from_millis),
            "each quick failure doubles the delay"
        );
        let report = core.report(now, secs(0), "t.toml");
        let dns = report.daemons.iter().find(|d| d.name == "dns").unwrap();
        assert_eq!(dns.restarts, 5);
        assert_eq!(dns.last_exit.as_deref(), Some("signal 9"));
        // Ran longer than STABLE_AFTER: the next restart is quick again.
        let later = now + secs(31);
        crash(&mut core, Daemon::Dns, later);
        assert_eq!(
            core.poll_timeout(),
            Some(later + Duration::from_millis(250))
        );
        // A failing spawn backs off too instead of spinning.
        let due = later + Duration::from_millis(250);
        assert_eq!(
            advance(&mut core, due, 10),
            vec![Action::Spawn(Daemon::Dns)]
        );
        feed(
            &mut core,
            Input::SpawnFailed {
                daemon: Daemon::Dns,
                error: "ENOMEM".into(),
            },
            due,
        );
        assert!(core.poll_timeout().is_some_and(|t| t > due));
    }

    #[test]
    fn a_daemon_can_publish_only_the_facts_it_owns() {
        let t0 = Instant::now();
        let (mut core, _) = running(t0);
        let generation = core.state().generation;
        let up = WanFacts {
            mode: "ipoe".into(),
            interface: "wan0".into(),
            state: WanState::Up,
            ..WanFacts::default()
        };
        for intruder in [Daemon::Ra, Daemon::Dns, Daemon::Dhcp6c, Daemon::Firewall] {
            let out = feed(
                &mut core,
                Input::Publish {
                    daemon: intruder,
                    fact: Fact::Wan(Box::new(up.clone())),
                },
                t0,
            );
            assert!(out.is_empty(), "{intruder}: {out:?}");
        }
        let forged = Dhcp6Facts {
            state: "bound".into(),
            delegated_prefixes: vec![DelegatedPrefix {
                prefix: "2001:db8:1200::/56".parse().unwrap(),
                preferred_until: cpe_bus::state::INFINITE,
                valid_until: cpe_bus::state::INFINITE,
            }],
            ..Dhcp6Facts::default()
        };
        let out = feed(
            &mut core,
            Input::Publish {
                daemon: Daemon::Wan,
                fact: Fact::Dhcp6(Box::new(forged.clone())),
            },
            t0,
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(core.state().generation, generation);
        assert_eq!(core.state().wan.state, WanState::Unknown);

        // The owners are heard: one snapshot each, the LAN numbered from
        // the delegation and its address programmed first.
        let out = feed(
            &mut core,
            Input::Publish {
                daemon: Daemon::Wan,
                fact: Fact::Wan(Box::new(up)),
            },
            t0,
        );
        assert!(matches!(&out[..], [Action::PushState(s)] if s.wan.state == WanState::Up));
        let out = feed(
            &mut core,
            Input::Publish {
                daemon: Daemon::Dhcp6c,
                fact: Fact::Dhcp6(Box::new(forged)),
            },
            t0,
        );
        let lan: Vec<&LanFacts> = match &out[..] {
            [Action::ApplyAddresses(w), Action::PushState(s)] => {
                assert_eq!(w[0].interface, "br0");
                s.lan.iter().collect()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            lan[0].prefixes[0].prefix,
            "2001:db8:1200:1::/64".parse::<Ipv6Net>().unwrap()
        );
    }

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

    fn texts(core: &Core, q: Query, now: Instant) -> Vec<String> {
        core.log(&q, now)
            .events
            .iter()
            .map(|e| format!("{} {} {}", e.level.word(), e.daemon, e.text))
            .collect()
    }

    /// The timeline of a delegation lost and regained, derived from the
    /// facts alone: obtained, renewed, deprecated and expired while the
    /// server is away, delegated again; the LAN /64 follows, and the
    /// "since boot" counters count the loss. Stamped with the wall clock.
    #[test]
    fn a_lost_and_regained_delegation_is_a_timeline() {
        let t0 = Instant::now();
        let (mut core, _) = running(t0);
        core.set_wall_clock(t0, 1_796_295_861_000);
        let m0 = MonoTime::from_instant(t0);
        let pd = |pref: u64, valid: u64| Dhcp6Facts {
            state: "bound".into(),
            server_duid: Some("000100ab".into()),
            delegated_prefixes: vec![DelegatedPrefix {
                prefix: "2001:db8:1200::/56".parse().unwrap(),
                preferred_until: m0.after(secs(pref)),
                valid_until: m0.after(secs(valid)),
            }],
            ..Dhcp6Facts::default()
        };
        let publish = |core: &mut Core, d: Dhcp6Facts, at: Instant| {
            feed(
                core,
                Input::Publish {
                    daemon: Daemon::Dhcp6c,
                    fact: Fact::Dhcp6(Box::new(d)),
                },
                at,
            )
        };
        publish(&mut core, pd(60, 120), t0);
        // Renewed at 30 s; the server is gone after that.
        publish(&mut core, pd(90, 150), t0 + secs(30));
        let mut renewing = pd(90, 150);
        renewing.state = "rebinding".into();
        publish(&mut core, renewing, t0 + secs(60));
        // Virtual time runs on: the preferred lifetime ends at 90 s, the
        // valid one at 150 s; each is a timer of the core.
        let mut now = t0 + secs(60);
        while let Some(due) = core.poll_timeout().filter(|d| *d <= t0 + secs(200)) {
            now = due;
            advance(&mut core, due, 10);
        }
        assert!(now >= t0 + secs(150), "expiry is a deadline: {now:?}");
        let back = pd(300, 600);
        publish(&mut core, back, t0 + secs(170));
        let all = texts(&core, Query::default(), t0 + secs(170));
        let expected = [
            "info dhcp6c DHCPv6 bound, server 000100ab",
            "info dhcp6c prefix 2001:db8:1200::/56 delegated: preferred 60 s, valid 120 s",
            "info ra br0 advertises 2001:db8:1200:1::/64 (delegated)",
            "info dhcp6c prefix 2001:db8:1200::/56 renewed: preferred 60 s, valid 120 s",
            "warn dhcp6c DHCPv6 rebinding (was bound)",
            "warn dhcp6c prefix 2001:db8:1200::/56 deprecated: preferred lifetime over without a renewal, valid 60 s",
            "warn dhcp6c prefix 2001:db8:1200::/56 expired: valid lifetime over",
            "info ra br0 no longer advertises 2001:db8:1200:1::/64",
            "info dhcp6c DHCPv6 bound (was rebinding)",
            "info dhcp6c prefix 2001:db8:1200::/56 delegated: preferred 130 s, valid 430 s",
            "info ra br0 advertises 2001:db8:1200:1::/64 (delegated)",
        ];
        let from = all
            .iter()
            .position(|t| t.starts_with("info dhcp6c DHCPv6 bound"))
            .unwrap();
        assert_eq!(&all[from..], expected, "{all:#?}");
        let report = core.report(t0 + secs(170), secs(170), "t.toml");
        assert_eq!(report.since_boot.pd_lost, 1);
        let lost = report.since_boot.pd_lost_last_ms.unwrap();
        assert_eq!(cpe_bus::events::clock_text(lost), "11:06:51", "t0 + 150 s");
        assert_eq!(report.since_boot.wan_down, 0);
        // Filters: the prefix timeline, the warnings, the last 2 minutes.
        let prefixes = core.log(
            &Query {
                prefixes_only: true,
                ..Query::default()
            },
            t0 + secs(170),
        );
        let whats: Vec<&str> = prefixes
            .events
            .iter()
            .filter(|e| e.prefix.as_ref().unwrap().link == "wan")
            .map(|e| e.prefix.as_ref().unwrap().what.as_str())
            .collect();
        assert_eq!(
            whats,
            ["delegated", "renewed", "deprecated", "expired", "delegated"]
        );
        let warns = texts(
            &core,
            Query {
                min_level: Level::Warn,
                since_s: Some(100),
                ..Query::default()
            },
            t0 + secs(170),
        );
        assert_eq!(warns.len(), 2, "{warns:#?}");
        assert!(warns[0].contains("deprecated") && warns[1].contains("expired"));
    }

    /// Restarts, refused and applied reloads, the WAN going down and a
    /// dead upstream are events; a daemon's status republished unchanged
    /// is not.
    #[test]
    fn restarts_reloads_wan_and_upstream_health_are_events() {
        let t0 = Instant::now();
        let (mut core, _) = running(t0);
        crash(&mut core, Daemon::Dns, t0 + secs(1));
        advance(&mut core, t0 + secs(2), 10);
        feed(
            &mut core,
            Input::Spawned {
                daemon: Daemon::Dns,
                pid: 900,
            },
            t0 + secs(2),
        );
        feed(
            &mut core,
            Input::Reload(Err(vec![
                "t.toml:3:1: error: unknown key".into(),
                "x".into(),
            ])),
            t0 + secs(3),
        );
        let wan = |state| WanFacts {
            interface: "wan0".into(),
            state,
            reason: "no carrier on wan0".into(),
            ..WanFacts::default()
        };
        for st in [WanState::Up, WanState::Down] {
            feed(
                &mut core,
                Input::Publish {
                    daemon: Daemon::Wan,
                    fact: Fact::Wan(Box::new(wan(st))),
                },
                t0 + secs(4),
            );
        }
        let dns = |health: &str| serde_json::json!({"upstreams": [{"address": "[2001:db8::53]:53", "health": health}]});
        for h in ["up", "down", "down", "up"] {
            feed(
                &mut core,
                Input::Status {
                    daemon: Daemon::Dns,
                    value: dns(h),
                },
                t0 + secs(5),
            );
        }
        let all = texts(&core, Query::default(), t0 + secs(5));
        let expected = [
            "warn dns died (pid 106): signal 9; restarting in 250 ms",
            "error supervisor reload refused, previous config kept: t.toml:3:1: error: unknown key (+1 more)",
            "info wan WAN wan0 up: no carrier on wan0",
            "warn wan WAN wan0 down: no carrier on wan0",
            "warn dns upstream DNS 2001:db8::53 not answering",
            "info dns upstream DNS 2001:db8::53 answering again",
        ];
        let from = all.iter().position(|t| t.contains("died")).unwrap();
        assert_eq!(&all[from..], expected, "{all:#?}");
        let since = core.report(t0 + secs(5), secs(5), "t.toml").since_boot;
        assert_eq!(
            (since.restarts, since.wan_down, since.reloads_refused),
            (1, 1, 1)
        );
    }
}
