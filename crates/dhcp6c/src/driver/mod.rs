//! The tokio side of the client: socket, timers, bus, persistence, routes.
//!
//! A thin loop around [`Client`]: every input becomes an [`Event`] with the
//! current time, every [`Action`] is carried out here. Signals:
//! - SIGTERM / SIGINT / supervisor gone: exit **without** Release (restart
//!   or reload must keep the prefix, RFC 9096 WPD-9); the lease is on disk.
//! - SIGUSR1: explicit teardown: Release, withdraw, stay idle until
//!   restarted.

mod publish;
mod routes;
mod socket;
mod store;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpe_bus::SharedState;
use cpe_bus::client::Bus;
use ipnet::Ipv6Net;
use tokio::signal::unix::{SignalKind, signal};

use crate::client::{Action, Client, Event, State, UpdateReason};
use crate::config::{AddressMode, ClientConfig, IaKind, iaid_for};
use publish::{Previous, describe, facts, status, wan_ready};
use socket::ClientSocket;
use store::{Store, random_bytes};

/// How often the status object is refreshed and drops are summarised.
const STATUS_INTERVAL: Duration = Duration::from_secs(10);
/// Drops are logged at most once per this interval.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Entry point for `cpe daemon dhcp6c`.
pub fn main(_args: Vec<OsString>) -> ExitCode {
    cpe_log::init("dhcp6c", log::LevelFilter::Info);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("dhcp6c: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("dhcp6c: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything the loop owns besides the engine.
struct Driver {
    client: Client,
    bus: Bus,
    store: Store,
    config_interface: String,
    pppoe: bool,
    socket: Option<ClientSocket>,
    running: bool,
    torn_down: bool,
    previous: Previous,
    routed: BTreeSet<Ipv6Net>,
    last_state: State,
    drops_logged: u64,
    drops_logged_at: Option<Instant>,
}

async fn run() -> Result<(), String> {
    let (bus, welcome) = cpe_bus::client::connect("dhcp6c")
        .await
        .map_err(|e| format!("bus: {e}"))?;
    let loaded = cpe_config::parse_str(&welcome.config_source, &welcome.config_file)
        .map_err(|e| format!("config {}: {e:?}", welcome.config_file))?;
    let cfg = loaded.config;
    cpe_log::set_level(cpe_log::parse_level(cfg.system.log_level.as_str()));
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
    };
    let store = Store::new(&cfg.system.state_dir);
    let duid = store
        .load_or_create_duid(&iface)
        .map_err(|e| format!("DUID: {e}"))?;
    let seed = random_bytes().map_err(|e| format!("no randomness: {e}"))?;
    let seed = u64::from_le_bytes([
        seed[0], seed[1], seed[2], seed[3], seed[4], seed[5], seed[6], seed[7],
    ]);
    log::info!(
        "dhcp6c: on {iface}, DUID {duid}, IAID PD {:#010x} NA {:#010x}, hint /{}, rapid commit {}",
        engine_config.iaid_pd,
        engine_config.iaid_na,
        engine_config.prefix_hint,
        engine_config.rapid_commit
    );
    let mut d = Driver {
        client: Client::new(engine_config, duid, seed),
        bus,
        store,
        config_interface: iface,
        pppoe: matches!(cfg.wan.mode, cpe_config::Mode::Pppoe),
        socket: None,
        running: false,
        torn_down: false,
        previous: Previous::default(),
        routed: BTreeSet::new(),
        last_state: State::Idle,
        drops_logged: 0,
        drops_logged_at: None,
    };
    let now = Instant::now();
    if let Some(lease) = d.store.load_lease(now) {
        log::info!("dhcp6c: resuming the lease saved before restart (no Release was sent)");
        let actions = d.client.restore(lease);
        d.perform(actions, now).await;
    }
    d.on_state(&welcome.state, Instant::now()).await;
    d.publish(Instant::now());
    d.run_loop().await
}

impl Driver {
    async fn run_loop(&mut self) -> Result<(), String> {
        let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let mut usr1 = signal(SignalKind::user_defined1()).map_err(|e| e.to_string())?;
        let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
        let mut buf = vec![0u8; 65536];
        loop {
            let deadline = self.client.next_deadline();
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
                    let actions = self.client.handle(Event::Tick, now);
                    self.perform(actions, now).await;
                }
                r = recv => match r {
                    Ok((n, from)) if from.port() == cpe_wire::dhcpv6::SERVER_PORT => {
                        let now = Instant::now();
                        let payload = buf.get(..n).unwrap_or(&[]).to_vec();
                        let actions = self.client.handle(Event::Packet(&payload), now);
                        self.perform(actions, now).await;
                    }
                    Ok((_, from)) => log::debug!("dhcp6c: ignoring datagram from {from} (not port 547)"),
                    Err(e) => {
                        log::warn!("dhcp6c: receive failed: {e}; reopening the socket");
                        self.socket = None;
                    }
                },
                s = self.bus.next_state() => match s {
                    Some(state) => self.on_state(&state, Instant::now()).await,
                    None => {
                        log::info!("dhcp6c: supervisor gone; exiting without Release");
                        return Ok(());
                    }
                },
                _ = term.recv() => {
                    log::info!("dhcp6c: SIGTERM; exiting without Release (lease kept in state_dir)");
                    return Ok(());
                }
                _ = int.recv() => {
                    log::info!("dhcp6c: SIGINT; exiting without Release (lease kept in state_dir)");
                    return Ok(());
                }
                _ = usr1.recv() => {
                    log::info!("dhcp6c: teardown requested: releasing bindings");
                    self.torn_down = true;
                    self.running = false;
                    let now = Instant::now();
                    let actions = self.client.handle(Event::Teardown, now);
                    self.perform(actions, now).await;
                }
                _ = status_tick.tick() => {
                    let now = Instant::now();
                    if self.previous.prune(now) {
                        self.publish_facts();
                    }
                    self.log_drops(now);
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
        let ra = Event::RaFlags {
            managed: state.wan.ra_managed,
            other: state.wan.ra_other_config,
        };
        let actions = self.client.handle(ra, now);
        self.perform(actions, now).await;
        let ready = wan_ready(&state.wan, self.pppoe) && !self.torn_down;
        if ready && !self.running {
            let iface = self.interface(state);
            if self.socket.as_ref().is_none_or(|s| s.interface != iface) {
                match ClientSocket::open(&iface) {
                    Ok(s) => self.socket = Some(s),
                    Err(e) => {
                        log::warn!("dhcp6c: cannot open UDP 546 on {iface}: {e}");
                        return;
                    }
                }
            }
            log::info!(
                "dhcp6c: WAN {iface} ready (RA M={} O={}); starting",
                state.wan.ra_managed,
                state.wan.ra_other_config
            );
            self.running = true;
            let actions = self.client.handle(Event::Start, now);
            self.perform(actions, now).await;
        } else if !ready && self.running {
            log::info!(
                "dhcp6c: WAN not ready ({}); pausing, bindings kept until they expire",
                state.wan.reason
            );
            self.running = false;
            let actions = self.client.handle(Event::Pause, now);
            self.perform(actions, now).await;
        }
    }

    async fn perform(&mut self, actions: Vec<Action>, now: Instant) {
        for action in actions {
            match action {
                Action::Transmit(bytes) => match &self.socket {
                    Some(s) => {
                        if let Err(e) = s.send(&bytes).await {
                            log::warn!("dhcp6c: send on {} failed: {e}", s.interface);
                        }
                    }
                    None => log::debug!("dhcp6c: no socket; message not sent"),
                },
                Action::Update(u) => {
                    let level =
                        if u.reason == UpdateReason::Expired || !u.previous_prefixes.is_empty() {
                            log::Level::Warn
                        } else {
                            log::Level::Info
                        };
                    log::log!(level, "dhcp6c: {}", describe(&u, &self.client, now));
                    self.previous
                        .apply(&u, now, u.reason == UpdateReason::Released);
                    self.sync_routes(&u.prefixes.iter().map(|p| p.prefix).collect())
                        .await;
                    if let Err(e) = self.store.save_lease(self.client.lease(), now) {
                        log::error!("dhcp6c: cannot save lease: {e}");
                    }
                    self.publish(now);
                }
                Action::Released => {
                    log::info!("dhcp6c: Release exchange finished; idle until restarted");
                    self.publish(now);
                }
            }
        }
    }

    /// Keeps exactly one unreachable route per delegated prefix.
    async fn sync_routes(&mut self, want: &BTreeSet<Ipv6Net>) {
        for p in want.difference(&self.routed.clone()) {
            routes::install(*p).await;
        }
        for p in self.routed.clone().difference(want) {
            routes::remove(*p).await;
        }
        self.routed = want.clone();
    }

    fn after_event(&mut self, now: Instant) {
        let state = self.client.state();
        if state != self.last_state {
            log::info!("dhcp6c: {} -> {}", self.last_state.name(), state.name());
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
            "dhcp6c: dropped {} message(s) since last report; malformed {:?}, unacceptable {:?}",
            total - self.drops_logged,
            c.malformed,
            c.dropped
        );
        self.drops_logged = total;
        self.drops_logged_at = Some(now);
    }

    fn publish_facts(&self) {
        self.bus.publish(cpe_bus::Fact::Dhcp6(facts(
            &self.client,
            self.previous.list(),
        )));
    }

    fn publish_status(&self, now: Instant) {
        let iface = self
            .socket
            .as_ref()
            .map(|s| s.interface.clone())
            .unwrap_or_else(|| self.config_interface.clone());
        self.bus
            .set_status(status(&self.client, self.previous.list(), &iface, now));
    }

    fn publish(&self, now: Instant) {
        self.publish_facts();
        self.publish_status(now);
    }
}
