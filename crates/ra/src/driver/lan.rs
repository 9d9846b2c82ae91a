//! One LAN interface's I/O loop around its [`Engine`]: socket, timers,
//! kernel polling, persistence of remembered prefixes, status.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cpe_bus::SharedState;
use cpe_daemon::runner::{Lan, Stop};
use ipnet::Ipv6Net;
use log::{debug, info, warn};
use tokio::sync::watch;

use super::iface::{self, IfaceInfo};
use super::mapping::{self, Clock};
use super::socket::{MAX_MESSAGE, RaSocket};
use crate::config::RaConfig;
use crate::engine::{Action, Engine, Input, Received};
use crate::facts::LanFacts;
use crate::memory;
use cpe_daemon::Engine as _;

/// How often the kernel's view of the interface (addresses, MAC) is re-read
/// and the status refreshed.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// Wait between attempts while the interface is missing or the socket fails.
const RETRY_EVERY: Duration = Duration::from_secs(3);

/// Longest wait for a delegated prefix before the first RA goes out.
///
/// RFC 4861 allows one multicast RA per 3 s (MIN_DELAY_BETWEEN_RAS). If the
/// first RA went out at start-up carrying only the ULA, the delegated prefix
/// arriving a moment later (DHCPv6 waits 0-1 s before its first Solicit)
/// would have to wait out those 3 s, and LAN hosts with it. Holding the
/// first RA until the delegation is known, at most this long, gives hosts
/// the whole configuration in one RA; without a WAN they wait no longer
/// than the rate limit would have made them wait anyway.
pub const FIRST_RA_HOLD: Duration = Duration::from_secs(3);

/// Where the facts that are not in the kernel come from.
#[derive(Clone)]
pub enum Upstream {
    /// Snapshots from the supervisor ([`Lan::states`]).
    Bus,
    /// Fixed (standalone mode for labs and benchmarks).
    Fixed {
        /// Advertise as default router.
        default_route: bool,
        /// WAN MTU for `mtu = auto`.
        wan_mtu: Option<u32>,
    },
}

/// Everything one LAN task needs.
pub struct LanTask {
    /// Interface name, state snapshots, status entry and stop request.
    pub lan: Lan,
    /// RA settings.
    pub config: RaConfig,
    /// Where remembered prefixes are stored.
    pub state_dir: PathBuf,
    /// How long the first RA may wait for a delegation under way (zero when
    /// no prefix is requested or in standalone mode).
    pub first_ra_hold: Duration,
    /// Facts source.
    pub upstream: Upstream,
    /// Timing jitter seed.
    pub seed: u64,
}

fn facts(
    upstream: &Upstream,
    states: &watch::Receiver<SharedState>,
    interface: &str,
    kernel: &IfaceInfo,
    clock: &Clock,
) -> LanFacts {
    match upstream {
        Upstream::Bus => mapping::lan_facts(&states.borrow(), interface, kernel, clock),
        Upstream::Fixed {
            default_route,
            wan_mtu,
        } => LanFacts {
            prefixes: Vec::new(),
            // Static prefixes are all there is: the list is final.
            delegation_known: true,
            router_addresses: kernel.global.clone(),
            link_local: kernel.link_local.clone(),
            link_layer_address: kernel.mac,
            upstream_default_route: *default_route,
            wan_mtu: *wan_mtu,
            routes: Vec::new(),
        },
    }
}

async fn changed(upstream: &Upstream, states: &mut watch::Receiver<SharedState>) -> bool {
    match upstream {
        Upstream::Bus => states.changed().await.is_ok(),
        Upstream::Fixed { .. } => std::future::pending().await,
    }
}

fn load_remembered(path: &std::path::Path) -> Vec<Ipv6Net> {
    match cpe_sys::persist::read_optional(path) {
        Ok(Some(bytes)) => memory::decode(&bytes).unwrap_or_else(|e| {
            warn!("ignoring {}: {e}", path.display());
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(e) => {
            warn!("cannot read {}: {e}", path.display());
            Vec::new()
        }
    }
}

impl LanTask {
    /// Waits for the interface, then advertises until stopped.
    pub async fn run(mut self) {
        let (kernel, socket) = loop {
            if self.lan.stop.get().is_some() {
                return;
            }
            match iface::read(&self.lan.interface) {
                None => debug!("{} does not exist yet", self.lan.interface),
                Some(info) => match RaSocket::open(&self.lan.interface, info.index) {
                    Ok(s) => break (info, s),
                    Err(e) => warn!("cannot open the RA socket on {}: {e}", self.lan.interface),
                },
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY_EVERY) => {}
                _ = self.lan.stop.requested() => {}
            }
        };
        self.advertise(kernel, socket).await;
    }

    async fn advertise(mut self, mut kernel: IfaceInfo, socket: RaSocket) {
        let memory_path = self.state_dir.join(memory::file_name(&self.lan.interface));
        let remembered = load_remembered(&memory_path);
        self.hold_first_ra(&kernel).await;
        if self.lan.stop.get() == Some(Stop::Quiet) {
            return;
        }
        let now = Instant::now();
        let mut engine = Engine::new(self.config.clone(), &remembered, self.seed, now);
        info!(
            "advertising on {} (ifindex {}), {} prefix(es) remembered from before",
            self.lan.interface,
            kernel.index,
            remembered.len()
        );
        let mut clock = Clock::now();
        let mut last_facts = facts(
            &self.upstream,
            &self.lan.states,
            &self.lan.interface,
            &kernel,
            &clock,
        );
        engine.handle(Input::Facts(last_facts.clone()), now);
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut poll = tokio::time::interval(POLL_EVERY);
        let mut send_errors = 0u64;
        let mut advertised = Vec::new();
        let mut shutting_down = false;
        loop {
            let (stopped, sent) = self
                .execute(&mut engine, &socket, &memory_path, &mut send_errors)
                .await;
            if stopped {
                break;
            }
            if sent {
                // Prefix changes become visible with the RA that carries them.
                self.log_prefix_changes(&engine, &mut advertised);
            }
            let Some(deadline) = engine.poll_timeout() else {
                break;
            };
            let now = tokio::select! {
                r = socket.recv(&mut buf) => {
                    let now = Instant::now();
                    match r {
                        Ok(meta) if meta.truncated => debug!("dropped oversized packet from {}", meta.source),
                        Ok(meta) if meta.ifindex.is_some_and(|i| i != kernel.index) => {}
                        Ok(meta) => {
                            let message = buf.get(..meta.len).unwrap_or_default();
                            engine.handle(Input::Received(Received {
                                source: meta.source,
                                hop_limit: meta.hop_limit,
                                message,
                            }), now);
                        }
                        Err(e) => {
                            warn!("receive on {} failed: {e}", self.lan.interface);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline.into()) => Instant::now(),
                ok = changed(&self.upstream, &mut self.lan.states) => {
                    if !ok {
                        // Supervisor gone: the main task is shutting down.
                        self.upstream = Upstream::Fixed { default_route: last_facts.upstream_default_route, wan_mtu: last_facts.wan_mtu };
                    }
                    clock = Clock::now();
                    let now = Instant::now();
                    last_facts = facts(&self.upstream, &self.lan.states, &self.lan.interface, &kernel, &clock);
                    engine.handle(Input::Facts(last_facts.clone()), now);
                    continue;
                }
                _ = poll.tick() => {
                    let now = Instant::now();
                    if let Some(fresh) = iface::read(&self.lan.interface) && fresh != kernel {
                        kernel = fresh;
                        let f = facts(&self.upstream, &self.lan.states, &self.lan.interface, &kernel, &clock);
                        if f != last_facts {
                            last_facts = f;
                            engine.handle(Input::Facts(last_facts.clone()), now);
                        }
                    }
                    self.publish_status(&engine, now, send_errors);
                    continue;
                }
                stop = self.lan.stop.requested(), if !shutting_down => {
                    if stop == Stop::Quiet {
                        // A restart: the next instance advertises at once,
                        // so no final RA that would make hosts drop their
                        // default route for a moment.
                        return;
                    }
                    shutting_down = true;
                    engine.handle(Input::Shutdown, Instant::now());
                    continue;
                }
            };
            engine.handle_timeout(now);
        }
        self.publish_status(&engine, Instant::now(), send_errors);
        info!("stopped on {}", self.lan.interface);
    }

    /// Waits (at most [`LanTask::first_ra_hold`]) until the LAN's delegated
    /// prefix is known, so the first RA carries it.
    async fn hold_first_ra(&mut self, kernel: &IfaceInfo) {
        let until = Instant::now() + self.first_ra_hold;
        let interface = self.lan.interface.clone();
        let known = |u: &Upstream, states: &watch::Receiver<SharedState>| {
            facts(u, states, &interface, kernel, &Clock::now()).delegation_known
        };
        if self.first_ra_hold.is_zero() || known(&self.upstream, &self.lan.states) {
            return;
        }
        debug!(
            "{}: first RA waits for the delegated prefix",
            self.lan.interface
        );
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => break,
                ok = changed(&self.upstream, &mut self.lan.states) => {
                    if !ok || known(&self.upstream, &self.lan.states) {
                        break;
                    }
                }
                _ = self.lan.stop.requested() => break,
            }
        }
    }

    /// Carries out the engine's actions; returns (engine stopped, an RA was
    /// sent).
    async fn execute(
        &self,
        engine: &mut Engine,
        socket: &RaSocket,
        memory_path: &std::path::Path,
        send_errors: &mut u64,
    ) -> (bool, bool) {
        let mut stopped = false;
        let mut sent = false;
        while let Some(action) = engine.poll_action() {
            match action {
                Action::SendRa { message, kind } => {
                    sent = true;
                    if let Err(e) = socket.try_send_all_nodes(&message) {
                        *send_errors += 1;
                        warn!(
                            "{kind:?} RA on {} not sent ({}: {e}); the next scheduled RA repeats it",
                            self.lan.interface,
                            cpe_sys::sockbuf::unsent_reason(&e)
                        );
                    } else {
                        debug!(
                            "sent {kind:?} RA on {} ({} octets)",
                            self.lan.interface,
                            message.len()
                        );
                    }
                }
                Action::RememberPrefixes(list) => {
                    // fsync on flash can take hundreds of ms: keep it off the
                    // runtime thread so other LANs and the bus carry on.
                    let path = memory_path.to_path_buf();
                    let bytes = memory::encode(&list);
                    let write = move || cpe_sys::persist::atomic_write(&path, &bytes);
                    match tokio::task::spawn_blocking(write).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => warn!("cannot write {}: {e}", memory_path.display()),
                        Err(e) => warn!("writing {} failed: {e}", memory_path.display()),
                    }
                }
                Action::RogueRouter(_) => {}
                Action::Stopped => stopped = true,
            }
        }
        (stopped, sent)
    }

    fn log_prefix_changes(&self, engine: &Engine, advertised: &mut Vec<(String, bool)>) {
        let now: Vec<(String, bool)> = engine
            .status(Instant::now())
            .prefixes
            .into_iter()
            .map(|p| (p.prefix, p.deprecated))
            .collect();
        if &now != advertised {
            let text: Vec<String> = now
                .iter()
                .map(|(p, d)| {
                    if *d {
                        format!("{p} (deprecated)")
                    } else {
                        p.clone()
                    }
                })
                .collect();
            info!(
                "{} now advertises [{}]",
                self.lan.interface,
                text.join(", ")
            );
            *advertised = now;
        }
    }

    fn publish_status(&self, engine: &Engine, now: Instant, send_errors: u64) {
        let mut status = engine.status(now);
        status.interface = self.lan.interface.clone();
        status.send_errors = send_errors;
        self.lan.set_status(&status);
    }
}
