//! The loop of one LAN: socket in, engine, socket out; LAN facts from the
//! bus update what `"self"` means; status every second while it changes.

use std::time::{Duration, Instant};

use cpe_bus::SharedState;
use cpe_log::{LogThrottle, suppressed_note};
use cpe_wire::dhcpv6::Duid;
use log::{debug, info, warn};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::socket::{Datagram, RECV_BUF, ServerSocket};
use crate::config::ServerConfig;
use crate::engine::{DropReason, Engine, Outcome, Received};

/// Pause between attempts to open the socket (the interface may appear late).
const REOPEN: Duration = Duration::from_secs(2);
/// Lines about unsent replies: a few per this window, then a count.
pub const SEND_LOG_WINDOW: Duration = Duration::from_secs(10);
/// Status is pushed at most this often.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// Everything one LAN's task needs.
pub struct LanTask {
    /// The LAN interface.
    pub interface: String,
    /// Position of this LAN in the config (and in `SharedState::lan`).
    pub lan_index: usize,
    /// What to serve.
    pub config: ServerConfig,
    /// Our DUID.
    pub duid: Duid,
    /// State snapshots from the bus.
    pub states: watch::Receiver<SharedState>,
    /// Where status objects go, keyed by interface.
    pub status: mpsc::UnboundedSender<(String, Value)>,
    /// Lines about replies that could not be sent (a flood makes many).
    pub send_log: LogThrottle,
}

/// The router's address on this LAN in `state`: the LAN entry with our
/// interface name (config order as a fallback).
fn self_address(state: &SharedState, interface: &str, index: usize) -> Option<std::net::Ipv6Addr> {
    state
        .lan
        .iter()
        .find(|l| l.interface == interface)
        .or_else(|| state.lan.get(index))
        .and_then(|l| l.self_address())
}

impl LanTask {
    fn status_json(&self, engine: &Engine, listening: bool) -> Value {
        let c = engine.config();
        json!({
            "interface": self.interface,
            "listening": listening,
            "self_address": engine.self_address().map(|a| a.to_string()),
            "dns": c.resolved_dns(engine.self_address()).iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "domain_search": c.domain_search.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "ntp": c.ntp.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "information_refresh": c.information_refresh,
            "counters": engine.counters().to_json(),
        })
    }

    fn follow_state(&mut self, engine: &mut Engine) {
        let state = self.states.borrow_and_update().clone();
        let addr = self_address(&state, &self.interface, self.lan_index);
        if addr != engine.self_address() {
            match addr {
                Some(a) => info!(
                    "{}: \"self\" is now {a} (state generation {})",
                    self.interface, state.generation
                ),
                None => info!(
                    "{}: no router address on the LAN yet; \"self\" left out of DNS answers",
                    self.interface
                ),
            }
            engine.set_self_address(addr);
        }
    }

    /// Runs until the process ends.
    pub async fn run(mut self) {
        let mut engine = Engine::new(self.config.clone(), self.duid.clone());
        self.follow_state(&mut engine);
        let _ = self
            .status
            .send((self.interface.clone(), self.status_json(&engine, false)));
        let mut warned = false;
        let socket = loop {
            match ServerSocket::open(&self.interface) {
                Ok(s) => break s,
                Err(e) => {
                    if !warned {
                        warn!(
                            "{}: cannot listen on UDP 547 ({e}); retrying every {REOPEN:?}",
                            self.interface
                        );
                        warned = true;
                    }
                    tokio::time::sleep(REOPEN).await;
                }
            }
        };
        info!(
            "{}: stateless DHCPv6 server listening on [::]:547 (ifindex {})",
            self.interface, socket.ifindex
        );
        let mut buf = vec![0u8; RECV_BUF];
        let mut tick = tokio::time::interval(STATUS_EVERY);
        let mut last_status = Value::Null;
        loop {
            tokio::select! {
                r = socket.recv(&mut buf) => match r {
                    Ok(d) => self.serve(&socket, &mut engine, d, &buf),
                    Err(e) => {
                        warn!("{}: receive failed: {e}", self.interface);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                changed = self.states.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.follow_state(&mut engine);
                }
                _ = tick.tick() => {
                    if let Some(n) = self.send_log.take_summary(Instant::now()) {
                        warn!("{}: {n} more Replies dropped (see counters.unsent)", self.interface);
                    }
                    let status = self.status_json(&engine, true);
                    if status != last_status {
                        last_status = status.clone();
                        let _ = self.status.send((self.interface.clone(), status));
                    }
                }
            }
        }
    }

    fn serve(&mut self, socket: &ServerSocket, engine: &mut Engine, d: Datagram, buf: &[u8]) {
        if d.truncated {
            engine.count_driver_drop(DropReason::Oversized);
            return;
        }
        if d.ifindex != 0 && d.ifindex != socket.ifindex {
            engine.count_driver_drop(DropReason::WrongInterface);
            return;
        }
        let rx = Received {
            payload: buf.get(..d.len).unwrap_or(&[]),
            source: d.source,
        };
        match engine.handle(rx, Instant::now()) {
            Outcome::Reply { to, port, payload } => {
                debug!(
                    "{}: Reply to {to} ({} octets)",
                    self.interface,
                    payload.len()
                );
                if let Err(e) = socket.try_send(&payload, to, port) {
                    let reason = cpe_sys::sockbuf::unsent_reason(&e);
                    engine.count_unsent(reason);
                    if let Some(n) = self.send_log.check(Instant::now()) {
                        warn!(
                            "{}: Reply to {to} dropped ({reason}: {e}){}",
                            self.interface,
                            suppressed_note(n)
                        );
                    }
                }
            }
            Outcome::Drop(reason) if reason.is_malformed() => {
                // Counted; logged at debug only, so a hostile host cannot
                // flood the log.
                debug!(
                    "{}: malformed message from {}: {}",
                    self.interface,
                    d.source,
                    reason.name()
                );
            }
            Outcome::Drop(reason) => {
                debug!(
                    "{}: no answer to {}: {}",
                    self.interface,
                    d.source,
                    reason.name()
                );
            }
        }
    }
}
