//! The tokio side of the client: socket, timers, bus, persistence, routes.
//!
//! A thin loop around [`Client`]: every input becomes an [`Input`] with the
//! current time, every queued [`Action`] is pulled and carried out here. It
//! runs on the shared runner ([`cpe_daemon::runner`]), whose signal policy
//! it follows: every stop (SIGTERM, SIGINT, SIGUSR1, supervisor gone) exits
//! **without** Release, because a restart, a reload or a reboot must keep
//! the prefix (RFC 9096 WPD-9); the lease is on disk. The client has no
//! goodbye to say.
//!
//! Without arguments it runs under the supervisor; with them (lab and
//! benchmark runs) standalone:
//! `cpe daemon dhcp6c --interface IF --state-dir DIR [--status-file FILE]
//! [--hint LEN] [--no-rapid-commit] [--address]` starts at once and the
//! runner writes the status object to FILE (atomically).

mod publish;
mod routes;
mod socket;
mod store;
mod wan_addr;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpe_bus::SharedState;
use cpe_daemon::runner::{self, Context, Mode, Outlet};
use ipnet::Ipv6Net;

use crate::config::{AddressMode, ClientConfig, IaKind, iaid_for, s46_oro};
use crate::engine::{Action, Client, Input, State, UpdateReason};
use cpe_daemon::Engine as _;
use cpe_wire::dhcpv6::code;
use publish::{Previous, Progress, describe, facts, status, waiting_reason, wan_ready};
use socket::ClientSocket;
use store::Store;
use wan_addr::WanAddresses;

/// How often the status object is refreshed and drops are summarised.
const STATUS_INTERVAL: Duration = Duration::from_secs(10);
/// Drops are logged at most once per this interval.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Command-line options of a standalone run.
#[derive(Debug, Default)]
struct Standalone {
    interface: String,
    state_dir: std::path::PathBuf,
    status_file: Option<std::path::PathBuf>,
    hint: u8,
    rapid_commit: bool,
    address: bool,
}

fn parse_args(args: Vec<OsString>) -> Result<Option<Standalone>, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut s = Standalone {
        hint: 56,
        rapid_commit: true,
        ..Standalone::default()
    };
    let mut any = false;
    let text = cpe_daemon::args::value;
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        any = true;
        match arg {
            Long("interface") => s.interface = text(&mut p)?,
            Long("state-dir") => s.state_dir = text(&mut p)?.into(),
            Long("status-file") => s.status_file = Some(text(&mut p)?.into()),
            Long("hint") => s.hint = text(&mut p)?.parse().map_err(|_| "--hint takes 0..=128")?,
            Long("no-rapid-commit") => s.rapid_commit = false,
            Long("address") => s.address = true,
            other => return Err(other.unexpected().to_string()),
        }
    }
    if !any {
        return Ok(None);
    }
    if s.interface.is_empty() || s.state_dir.as_os_str().is_empty() {
        return Err("usage: cpe daemon dhcp6c --interface IF --state-dir DIR [--status-file FILE] [--hint LEN] [--no-rapid-commit] [--address]".into());
    }
    Ok(Some(s))
}

/// Entry point for `cpe daemon dhcp6c`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let standalone = match parse_args(args) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match standalone {
        Some(s) => {
            let mode = Mode::Standalone {
                status_file: s.status_file.clone(),
                log_level: log::LevelFilter::Info,
            };
            runner::run(cpe_bus::Daemon::Dhcp6c, mode, move |ctx| {
                run_standalone(ctx, s)
            })
        }
        None => runner::run(cpe_bus::Daemon::Dhcp6c, Mode::Supervised, run),
    }
}

/// Everything the loop owns besides the engine.
struct Driver {
    client: Client,
    ctx: Context,
    outlet: Outlet,
    store: Store,
    config_interface: String,
    pppoe: bool,
    /// `wan.dhcpv6.start = "always"`: do not wait for the RA's M/O flags.
    start_always: bool,
    socket: Option<ClientSocket>,
    running: bool,
    previous: Previous,
    routed: BTreeSet<Ipv6Net>,
    last_state: State,
    drops_logged: u64,
    drops_logged_at: Option<Instant>,
    wan_addresses: WanAddresses,
    /// How the current state is going (console line, unanswered log).
    progress: Progress,
    /// Why the client does not run; `None` while it runs.
    waiting: Option<String>,
    /// The reason last logged: it is logged once it has lasted a status
    /// interval, so the boot's passing states (no carrier yet, no RA yet)
    /// do not reach the console.
    waiting_logged: Option<String>,
}

impl Driver {
    /// A driver before its first event, for either mode: not running, no
    /// socket yet, DHCPv6 started without waiting for an RA.
    fn new(client: Client, ctx: Context, store: Store, config_interface: String) -> Driver {
        let progress = Progress::new(client.state(), client.counters(), Instant::now());
        Driver {
            progress,
            waiting: None,
            waiting_logged: None,
            client,
            outlet: ctx.outlet(),
            ctx,
            store,
            config_interface,
            pppoe: false,
            start_always: true,
            socket: None,
            running: false,
            previous: Previous::default(),
            routed: BTreeSet::new(),
            last_state: State::Idle,
            drops_logged: 0,
            drops_logged_at: None,
            wan_addresses: WanAddresses::default(),
        }
    }

    /// Picks up the lease saved before a restart, if still valid (no
    /// Release was sent when the process stopped).
    async fn resume_saved_lease(&mut self, now: Instant) {
        if let Some(lease) = self.store.load_lease(now) {
            log::info!("resuming the lease saved before restart (no Release was sent)");
            self.client.handle(Input::Restore(lease), now);
            self.perform(now).await;
        }
    }
}

fn seed() -> Result<u64, String> {
    cpe_sys::random::seed().map_err(|e| format!("no randomness: {e}"))
}

async fn run_standalone(ctx: Context, s: Standalone) -> Result<(), String> {
    let engine_config = ClientConfig {
        request_prefix: true,
        prefix_hint: s.hint,
        request_address: if s.address {
            AddressMode::Always
        } else {
            AddressMode::Never
        },
        rapid_commit: s.rapid_commit,
        iaid_pd: iaid_for(&s.interface, IaKind::Prefix),
        iaid_na: iaid_for(&s.interface, IaKind::Address),
        extra_oro: vec![code::AFTR_NAME],
    };
    let store = Store::new(&s.state_dir);
    let duid = store
        .load_or_create_duid()
        .map_err(|e| format!("DUID: {e}"))?;
    log::info!("standalone on {}, DUID {duid}", s.interface);
    let socket =
        ClientSocket::open(&s.interface).map_err(|e| format!("UDP 546 on {}: {e}", s.interface))?;
    let client = Client::new(engine_config, duid, seed()?);
    let mut d = Driver::new(client, ctx, store, s.interface);
    d.socket = Some(socket);
    d.running = true;
    let now = Instant::now();
    d.resume_saved_lease(now).await;
    d.client.handle(Input::Start, now);
    d.perform(now).await;
    d.publish(Instant::now());
    d.run_loop().await
}

async fn run(ctx: Context) -> Result<(), String> {
    let cfg = ctx.config().ok_or("no config from the supervisor")?.clone();
    let welcome = ctx.states().borrow().clone();
    let d6 = &cfg.wan.dhcpv6;
    let iface = cfg.wan.interface.clone();
    let engine_config = ClientConfig {
        request_prefix: d6.request_prefix,
        prefix_hint: d6.prefix_hint,
        request_address: match d6.request_address {
            cpe_config::RequestAddress::Auto => AddressMode::Auto,
            cpe_config::RequestAddress::Always => AddressMode::Always,
            cpe_config::RequestAddress::Never => AddressMode::Never,
        },
        rapid_commit: d6.rapid_commit,
        iaid_pd: iaid_for(&iface, IaKind::Prefix),
        iaid_na: iaid_for(&iface, IaKind::Address),
        extra_oro: s46_oro(cfg.wan.ipv4_over_ipv6.mode),
    };
    let store = Store::new(&cfg.system.state_dir);
    let duid = store
        .load_or_create_duid()
        .map_err(|e| format!("DUID: {e}"))?;
    let seed = seed()?;
    log::info!(
        "on {iface}, DUID {duid}, IAID PD {:#010x} NA {:#010x}, hint /{}, rapid commit {}",
        engine_config.iaid_pd,
        engine_config.iaid_na,
        engine_config.prefix_hint,
        engine_config.rapid_commit
    );
    let mut d = Driver::new(Client::new(engine_config, duid, seed), ctx, store, iface);
    d.pppoe = matches!(cfg.wan.mode, cpe_config::Mode::Pppoe);
    d.start_always = cfg.wan.dhcpv6.start == cpe_config::Dhcpv6Start::Always;
    d.resume_saved_lease(Instant::now()).await;
    d.on_state(&welcome, Instant::now()).await;
    d.publish(Instant::now());
    d.run_loop().await
}

impl Driver {
    async fn run_loop(&mut self) -> Result<(), String> {
        let mut states = self.ctx.states();
        let mut stop = self.ctx.stop();
        // Standalone there is no supervisor: no snapshot ever comes.
        let supervised = self.ctx.config().is_some();
        let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
        let mut buf = vec![0u8; 65536];
        loop {
            let deadline =
                crate::lease::earliest(self.client.poll_timeout(), self.wan_addresses.next_check());
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let recv = async {
                match &self.socket {
                    Some(s) => s.udp.recv_from(&mut buf).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {
                    let now = Instant::now();
                    if self.wan_addresses.next_check().is_some_and(|t| t <= now) {
                        let iface = self.wan_interface();
                        for addr in self.wan_addresses.check_dad(&iface, now) {
                            self.client.handle(Input::DadFailed(addr), now);
                            self.perform(now).await;
                        }
                        self.publish_status(now);
                    }
                    self.client.handle_timeout(now);
                    self.perform(now).await;
                }
                r = recv => match r {
                    Ok((n, from)) if from.port() == cpe_wire::dhcpv6::SERVER_PORT => {
                        let now = Instant::now();
                        let payload = buf.get(..n).unwrap_or(&[]).to_vec();
                        self.client.handle(Input::Packet(&payload), now);
                        self.perform(now).await;
                    }
                    Ok((_, from)) => log::debug!("ignoring datagram from {from} (not port 547)"),
                    Err(e) => {
                        log::warn!("receive failed: {e}; reopening the socket");
                        self.socket = None;
                    }
                },
                changed = states.changed(), if supervised => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let state = states.borrow_and_update().clone();
                    self.on_state(&state, Instant::now()).await;
                }
                _ = stop.requested() => {
                    log::info!("exiting without Release (lease kept in state_dir)");
                    return Ok(());
                }
                _ = status_tick.tick() => {
                    let now = Instant::now();
                    if self.previous.prune(now) {
                        self.publish_facts();
                    }
                    self.log_drops(now);
                    if let Some(line) = self.progress.unanswered(
                        self.client.counters(),
                        self.client.transmissions(),
                        now,
                    ) {
                        log::warn!("{line}");
                    }
                    if self.waiting.is_some() && self.waiting != self.waiting_logged {
                        log::info!("not started: {}", self.waiting.as_deref().unwrap_or(""));
                        self.waiting_logged = self.waiting.clone();
                    }
                    self.publish_status(now);
                }
            }
            self.after_event(Instant::now());
        }
    }

    /// The interface DHCPv6 runs on: the PPP unit on PPPoE (from the WAN
    /// daemon's facts), else the configured WAN interface.
    fn interface(&self, state: &SharedState) -> String {
        if state.wan.interface.is_empty() {
            self.config_interface.clone()
        } else {
            state.wan.interface.clone()
        }
    }

    async fn on_state(&mut self, state: &SharedState, now: Instant) {
        let ra = Input::RaFlags {
            managed: state.wan.ra_managed,
            other: state.wan.ra_other_config,
        };
        self.client.handle(ra, now);
        self.perform(now).await;
        let ready = wan_ready(&state.wan, self.pppoe, self.start_always);
        if ready && !self.running {
            let iface = self.interface(state);
            if self.socket.as_ref().is_none_or(|s| s.interface != iface) {
                match ClientSocket::open(&iface) {
                    Ok(s) => self.socket = Some(s),
                    Err(e) => {
                        log::warn!("cannot open UDP 546 on {iface}: {e}");
                        return;
                    }
                }
            }
            log::info!(
                "WAN {iface} ready (RA M={} O={}); starting",
                u8::from(state.wan.ra_managed),
                u8::from(state.wan.ra_other_config)
            );
            self.running = true;
            self.waiting = None;
            self.waiting_logged = None;
            self.client.handle(Input::Start, now);
            self.perform(now).await;
        } else if !ready {
            // The client's own reason, logged once per change: the WAN's
            // reason ("no Router Advertisement ...") is not why DHCPv6
            // waits when the ISP's RA simply says M=0 O=0.
            let why = waiting_reason(&state.wan, self.pppoe, self.start_always);
            if self.running {
                log::info!("paused: {why}; bindings kept until they expire");
                self.running = false;
                self.client.handle(Input::Pause, now);
                self.perform(now).await;
            }
            if self.waiting.as_deref() != Some(why.as_str()) {
                self.waiting = Some(why);
                self.publish_status(now);
            }
        }
    }

    /// Carries out every action the engine has queued, oldest first.
    async fn perform(&mut self, now: Instant) {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Transmit(bytes) => match &self.socket {
                    Some(s) => {
                        if let Err(e) = s.send(&bytes).await {
                            log::warn!("send on {} failed: {e}", s.interface);
                        }
                    }
                    None => log::debug!("no socket; message not sent"),
                },
                Action::Update(u) => {
                    let level =
                        if u.reason == UpdateReason::Expired || !u.previous_prefixes.is_empty() {
                            log::Level::Warn
                        } else {
                            log::Level::Info
                        };
                    log::log!(level, "{}", describe(&u, &self.client, now));
                    self.previous
                        .apply(&u, now, u.reason == UpdateReason::Released);
                    self.sync_routes(&u.prefixes.iter().map(|p| p.prefix).collect());
                    let iface = self.wan_interface();
                    self.wan_addresses.sync(&iface, &u.addresses, now);
                    if let Err(e) = self.store.save_lease(self.client.lease(), now) {
                        log::error!("cannot save lease: {e}");
                    }
                    self.publish(now);
                }
                Action::Released => {
                    log::info!("Release exchange finished; idle until restarted");
                    self.publish(now);
                }
                Action::OtherConfig => {
                    if let Some(o) = self.client.other_config() {
                        log::info!("{}", publish::describe_other(o, now));
                    }
                    self.publish(now);
                }
                Action::Refused(r) => {
                    log::warn!("{}", publish::describe_refusal(&r));
                    self.publish(now);
                }
            }
        }
    }

    /// Keeps exactly one unreachable route per delegated prefix.
    fn sync_routes(&mut self, want: &BTreeSet<Ipv6Net>) {
        for p in want.difference(&self.routed) {
            routes::install(*p);
        }
        for p in self.routed.difference(want) {
            routes::remove(*p);
        }
        self.routed = want.clone();
    }

    fn after_event(&mut self, now: Instant) {
        let state = self.client.state();
        self.progress.observe(state, self.client.counters(), now);
        if state != self.last_state {
            log::info!("{} -> {}", self.last_state.name(), state.name());
            self.last_state = state;
            self.publish(now);
        }
        if self.drops_logged_at.is_none() {
            self.log_drops(now);
        }
    }

    /// Logs drop counters at most once per [`DROP_LOG_INTERVAL`].
    fn log_drops(&mut self, now: Instant) {
        let total = self.client.counters().total_dropped();
        if total == self.drops_logged {
            return;
        }
        if self
            .drops_logged_at
            .is_some_and(|t| now.saturating_duration_since(t) < DROP_LOG_INTERVAL)
        {
            return;
        }
        let c = self.client.counters();
        log::warn!(
            "dropped {} message(s) since last report; malformed {:?}, unacceptable {:?}",
            total - self.drops_logged,
            c.malformed,
            c.dropped
        );
        self.drops_logged = total;
        self.drops_logged_at = Some(now);
    }

    fn publish_facts(&self) {
        self.outlet.publish(cpe_bus::Fact::Dhcp6(Box::new(facts(
            &self.client,
            self.previous.list(),
        ))));
    }

    /// The interface DHCPv6 runs on now.
    fn wan_interface(&self) -> String {
        self.socket
            .as_ref()
            .map(|s| s.interface.clone())
            .unwrap_or_else(|| self.config_interface.clone())
    }

    fn publish_status(&self, now: Instant) {
        let iface = self.wan_interface();
        let mut st = status(&self.client, self.previous.list(), &iface, now);
        self.progress.fill(
            &mut st,
            self.client.counters(),
            self.client.transmissions(),
            now,
        );
        st.waiting = self.waiting.clone();
        st.wan_addresses = self
            .wan_addresses
            .list()
            .map(|(a, dad)| cpe_bus::status::dhcp6c::WanAddress {
                address: a.to_string(),
                dad: match dad {
                    wan_addr::DadState::Pending => "tentative",
                    wan_addr::DadState::Done => "done",
                }
                .into(),
            })
            .collect();
        self.outlet.set_status(&st);
    }

    fn publish(&self, now: Instant) {
        self.publish_facts();
        self.publish_status(now);
    }
}
