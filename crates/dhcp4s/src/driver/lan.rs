//! The loop of one LAN: socket in, server, socket out; lease expiry on the
//! server's own deadlines; the lease file written by a [`LeaseStore`]
//! (changes coalesced, at most [`crate::store::SAVE_DELAY`] late, flushed
//! at shutdown).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpe_bus::status::dhcp4s::{Dhcp4sLanStatus, Dhcp4sLease, LeaseFile};
use cpe_daemon::runner::Lan;
use log::{debug, info, warn};

use super::address::{self, Ensured};
use super::socket::{RECV_BUF, ServerSocket};
use crate::config::PoolConfig;
use crate::engine::{Action, DropReason, Engine, Input};
use crate::lease::{LeaseState, mac_text};
use crate::persist;
use crate::store::LeaseStore;
use cpe_daemon::Engine as _;
use cpe_log::{LogThrottle, suppressed_note};

/// Pause between attempts to set up the interface (it may appear late).
const RETRY: Duration = Duration::from_secs(2);
/// Lines about unsent replies and failed lease writes: a few per this
/// window, then a count.
pub const LOG_WINDOW: Duration = Duration::from_secs(10);
/// Status is pushed at most this often.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// Everything one LAN's task needs.
pub struct LanTask {
    /// The LAN interface, its status entry and the stop request.
    pub lan: Lan,
    /// What to serve.
    pub config: PoolConfig,
    /// Where the leases are kept.
    pub lease_file: PathBuf,
    /// Lines a LAN host can trigger (failed sends) and failed writes.
    pub log: LogThrottle,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl LanTask {
    fn load(&self, now: Instant) -> crate::lease::LeaseTable {
        match cpe_sys::persist::read_optional(&self.lease_file) {
            Ok(Some(bytes)) => {
                let (table, skipped) =
                    persist::parse(&String::from_utf8_lossy(&bytes), now, unix_now());
                if skipped > 0 {
                    warn!(
                        "{}: {skipped} unreadable lines in {} skipped",
                        self.lan.interface,
                        self.lease_file.display()
                    );
                }
                info!(
                    "{}: {} lease records loaded from {}",
                    self.lan.interface,
                    table.len(),
                    self.lease_file.display()
                );
                table
            }
            Ok(None) => crate::lease::LeaseTable::new(),
            Err(e) => {
                warn!(
                    "{}: cannot read {}: {e}; starting with no leases",
                    self.lan.interface,
                    self.lease_file.display()
                );
                crate::lease::LeaseTable::new()
            }
        }
    }

    /// Writes the lease file if a write is due (`flush`: whatever is
    /// pending, at shutdown).
    fn save(&mut self, store: &mut LeaseStore, server: &mut Engine, flush: bool) {
        let now = Instant::now();
        let r = if flush {
            store.flush(server, now, unix_now())
        } else {
            store.save_if_due(server, now, unix_now())
        };
        if let Err(e) = r
            && let Some(n) = self.log.check(now)
        {
            warn!(
                "{}: cannot save leases to {}: {e}; retrying in {} s{}",
                self.lan.interface,
                store.path().display(),
                crate::store::RETRY_DELAY.as_secs(),
                suppressed_note(n)
            );
        }
    }

    fn status(
        &self,
        server: &Engine,
        store: &LeaseStore,
        listening: bool,
        now: Instant,
    ) -> Dhcp4sLanStatus {
        let c = server.config();
        let leases = server
            .leases()
            .iter()
            .filter(|(_, l)| l.state != LeaseState::Free)
            .map(|(a, l)| Dhcp4sLease {
                address: a.to_string(),
                mac: mac_text(&l.mac),
                client: l.client.to_string(),
                hostname: l.hostname.clone(),
                state: l.state.name().into(),
                expires_in: Some(l.until.saturating_duration_since(now).as_secs()),
            })
            .collect();
        let count = |s| Some(server.leases().count(s) as u64);
        Dhcp4sLanStatus {
            interface: self.lan.interface.clone(),
            listening,
            address: c.address.to_string(),
            pool: format!("{}-{}", c.pool.0, c.pool.1),
            pool_size: Some(c.pool_size()),
            lease_time: Some(c.lease_time),
            domain: c.domain.clone(),
            ntp: server.ntp().iter().map(|a| a.to_string()).collect(),
            bound: count(LeaseState::Bound),
            offered: count(LeaseState::Offered),
            declined: count(LeaseState::Declined),
            leases,
            counters: server.counters().to_status(),
            lease_file: LeaseFile {
                writes: store.writes(),
                pending: store.pending(),
            },
        }
    }

    /// Takes the WAN's IPv4 NTP servers (DHCPv4 option 42 there) from the
    /// shared state when they changed.
    fn follow_state(&mut self, server: &mut Engine) {
        let ntp: Vec<std::net::Ipv4Addr> = self
            .lan
            .states
            .borrow_and_update()
            .wan
            .ntp_servers
            .iter()
            .filter_map(|a| match a {
                std::net::IpAddr::V4(a) => Some(*a),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        if ntp != server.ntp() {
            info!(
                "{}: NTP servers handed out (option 42): {}",
                self.lan.interface,
                if ntp.is_empty() {
                    "none".to_string()
                } else {
                    ntp.iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            server.handle(Input::WanNtp(&ntp), Instant::now());
        }
    }

    /// Runs until shutdown.
    pub async fn run(mut self) {
        let mut server = Engine::new(self.config.clone(), self.load(Instant::now()));
        self.follow_state(&mut server);
        let mut store = LeaseStore::new(self.lease_file.clone());
        server.handle_timeout(Instant::now());
        self.lan
            .set_status(&self.status(&server, &store, false, Instant::now()));
        let mut warned = false;
        let socket = loop {
            let setup = address::ensure(&self.lan.interface, self.config.address)
                .and_then(|e| ServerSocket::open(&self.lan.interface).map(|s| (e, s)));
            match setup {
                Ok((ensured, s)) => {
                    if ensured == Ensured::Added {
                        info!("{}: added {}", self.lan.interface, self.config.address);
                    }
                    break s;
                }
                Err(e) => {
                    if !warned {
                        warn!(
                            "{}: cannot serve DHCPv4 yet ({e}); retrying every {RETRY:?}",
                            self.lan.interface
                        );
                        warned = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = self.lan.stop.requested() => {
                            self.save(&mut store, &mut server, true);
                            return;
                        }
                    }
                }
            }
        };
        info!(
            "{}: DHCPv4 server on 0.0.0.0:67, pool {}-{}, lease {} s",
            self.lan.interface, self.config.pool.0, self.config.pool.1, self.config.lease_time
        );
        store.note(&mut server, Instant::now());
        let mut buf = vec![0u8; RECV_BUF];
        let mut tick = tokio::time::interval(STATUS_EVERY);
        let mut last_status = None;
        // `None`: nothing published yet, so the first call always does
        // (it replaces what an earlier instance left in the shared state).
        let mut names = None;
        self.publish_names(&server, &mut names);
        loop {
            let deadline = [server.poll_timeout(), store.deadline()]
                .into_iter()
                .flatten()
                .min()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                r = socket.recv(&mut buf) => match r {
                    Ok((n, from, truncated)) => {
                        if truncated {
                            server.handle(Input::DriverDrop(DropReason::Oversized), Instant::now());
                            continue;
                        }
                        let payload = buf.get(..n).unwrap_or(&[]);
                        self.serve(&socket, &mut server, payload, from);
                        store.note(&mut server, Instant::now());
                        self.publish_names(&server, &mut names);
                    }
                    Err(e) => {
                        warn!("{}: receive failed: {e}", self.lan.interface);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                changed = self.lan.states.changed() => {
                    if changed.is_err() {
                        // The runner is gone: the stop follows.
                        self.save(&mut store, &mut server, true);
                        return;
                    }
                    self.follow_state(&mut server);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    server.handle_timeout(Instant::now());
                    self.save(&mut store, &mut server, false);
                    self.publish_names(&server, &mut names);
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    server.log_summaries(now);
                    if let Some(n) = self.log.take_summary(now) {
                        warn!("{}: {n} more send or save failures (see counters.unsent)", self.lan.interface);
                    }
                    // `expires_in` is part of the comparison: it is what
                    // the engineer reads to see a lease run down, so it is
                    // recomputed on every tick and republished when it
                    // moved (at most once a second, the runner's cadence).
                    let status = self.status(&server, &store, true, now);
                    if last_status.as_ref() != Some(&status) {
                        self.lan.set_status(&status);
                        last_status = Some(status);
                    }
                }
                _ = self.lan.stop.requested() => {
                    self.save(&mut store, &mut server, true);
                    return;
                }
            }
        }
    }

    /// Publishes the host names of the bound leases when they changed
    /// since `last` (a bind, a release, an expiry), for the DNS
    /// forwarder's local names.
    fn publish_names(&self, server: &Engine, last: &mut Option<Vec<cpe_bus::LeaseName>>) {
        let names = server.lease_names();
        if last.as_ref() != Some(&names) {
            *last = Some(names.clone());
            self.lan
                .publish(cpe_bus::Fact::Dhcp4Names(cpe_bus::Dhcp4Names {
                    interface: self.lan.interface.clone(),
                    names,
                }));
        }
    }

    fn serve(
        &mut self,
        socket: &ServerSocket,
        server: &mut Engine,
        payload: &[u8],
        from: std::net::SocketAddr,
    ) {
        server.handle(Input::Received(payload), Instant::now());
        while let Some(action) = server.poll_action() {
            self.perform(socket, server, action, from);
        }
    }

    fn perform(
        &mut self,
        socket: &ServerSocket,
        server: &mut Engine,
        action: Action,
        from: std::net::SocketAddr,
    ) {
        match action {
            Action::Reply { to, payload, kind } => {
                debug!("{}: {} to {to:?}", self.lan.interface, kind.name());
                if let Err(e) = socket.try_send(&payload, to) {
                    let reason = cpe_sys::sockbuf::unsent_reason(&e);
                    server.handle(Input::Unsent(reason), Instant::now());
                    if let Some(n) = self.log.check(Instant::now()) {
                        warn!(
                            "{}: {} to {to:?} dropped ({reason}: {e}){}",
                            self.lan.interface,
                            kind.name(),
                            suppressed_note(n)
                        );
                    }
                }
            }
            Action::Handled => {}
            Action::Drop(reason) => {
                debug!(
                    "{}: no answer to {}: {}",
                    self.lan.interface,
                    from.ip().to_canonical(),
                    reason.name()
                );
            }
        }
    }
}
