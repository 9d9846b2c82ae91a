//! The loop of one LAN: socket in, engine, socket out; LAN facts from the
//! bus update what `"self"` means; status every second while it changes.

use std::time::{Duration, Instant};

use cpe_bus::SharedState;
use cpe_bus::status::dhcp6s::Dhcp6sLanStatus;
use cpe_daemon::runner::Lan;
use cpe_log::{LogThrottle, suppressed_note};
use cpe_wire::dhcpv6::Duid;
use log::{debug, info, warn};

use super::socket::{Datagram, RECV_BUF, ServerSocket};
use crate::config::ServerConfig;
use crate::engine::{Action, DropReason, Engine, Input, Received};
use cpe_daemon::Engine as _;

/// Pause between attempts to open the socket (the interface may appear late).
const REOPEN: Duration = Duration::from_secs(2);
/// Lines about unsent replies: a few per this window, then a count.
pub const SEND_LOG_WINDOW: Duration = Duration::from_secs(10);
/// Status is pushed at most this often.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// Everything one LAN's task needs.
pub struct LanTask {
    /// The LAN interface, state snapshots, its status entry, the stop request.
    pub lan: Lan,
    /// Position of this LAN in the config (and in `SharedState::lan`).
    pub lan_index: usize,
    /// What to serve.
    pub config: ServerConfig,
    /// Our DUID.
    pub duid: Duid,
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
    fn status(&self, engine: &Engine, listening: bool) -> Dhcp6sLanStatus {
        let c = engine.config();
        Dhcp6sLanStatus {
            interface: self.lan.interface.clone(),
            listening,
            self_address: engine.self_address().map(|a| a.to_string()),
            dns: c
                .resolved_dns(engine.self_address())
                .iter()
                .map(|a| a.to_string())
                .collect(),
            domain_search: c.domain_search.iter().map(|d| d.to_string()).collect(),
            ntp: engine.ntp().iter().map(|a| a.to_string()).collect(),
            information_refresh: Some(c.information_refresh),
            counters: engine.counters().to_status(),
        }
    }

    fn follow_state(&mut self, engine: &mut Engine) {
        let state = self.lan.states.borrow_and_update().clone();
        if state.dhcp6.ntp_servers != engine.ntp() && engine.config().ntp.is_empty() {
            engine.handle(Input::WanNtp(&state.dhcp6.ntp_servers), Instant::now());
        }
        let addr = self_address(&state, &self.lan.interface, self.lan_index);
        if addr != engine.self_address() {
            match addr {
                Some(a) => info!(
                    "{}: \"self\" is now {a} (state generation {})",
                    self.lan.interface, state.generation
                ),
                None => info!(
                    "{}: no router address on the LAN yet; \"self\" left out of DNS answers",
                    self.lan.interface
                ),
            }
            engine.handle(Input::SelfAddress(addr), Instant::now());
        }
    }

    /// Runs until a stop is requested.
    pub async fn run(mut self) {
        let mut engine = Engine::new(self.config.clone(), self.duid.clone());
        self.follow_state(&mut engine);
        self.lan.set_status(&self.status(&engine, false));
        let mut warned = false;
        let socket = loop {
            match ServerSocket::open(&self.lan.interface) {
                Ok(s) => break s,
                Err(e) => {
                    if !warned {
                        warn!(
                            "{}: cannot listen on UDP 547 ({e}); retrying every {REOPEN:?}",
                            self.lan.interface
                        );
                        warned = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(REOPEN) => {}
                        _ = self.lan.stop.requested() => return,
                    }
                }
            }
        };
        info!(
            "{}: stateless DHCPv6 server listening on [::]:547 (ifindex {})",
            self.lan.interface, socket.ifindex
        );
        let mut buf = vec![0u8; RECV_BUF];
        let mut tick = tokio::time::interval(STATUS_EVERY);
        let mut last_status = None;
        loop {
            tokio::select! {
                r = socket.recv(&mut buf) => match r {
                    Ok(d) => self.serve(&socket, &mut engine, d, &buf),
                    Err(e) => {
                        warn!("{}: receive failed: {e}", self.lan.interface);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                changed = self.lan.states.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.follow_state(&mut engine);
                }
                _ = self.lan.stop.requested() => return,
                _ = tick.tick() => {
                    if let Some(n) = self.send_log.take_summary(Instant::now()) {
                        warn!("{}: {n} more Replies dropped (see counters.unsent)", self.lan.interface);
                    }
                    let status = self.status(&engine, true);
                    if last_status.as_ref() != Some(&status) {
                        self.lan.set_status(&status);
                        last_status = Some(status);
                    }
                }
            }
        }
    }

    fn serve(&mut self, socket: &ServerSocket, engine: &mut Engine, d: Datagram, buf: &[u8]) {
        if d.truncated {
            engine.handle(Input::DriverDrop(DropReason::Oversized), Instant::now());
            return;
        }
        if d.ifindex != 0 && d.ifindex != socket.ifindex {
            engine.handle(
                Input::DriverDrop(DropReason::WrongInterface),
                Instant::now(),
            );
            return;
        }
        let rx = Received {
            payload: buf.get(..d.len).unwrap_or(&[]),
            source: d.source,
        };
        engine.handle(Input::Received(rx), Instant::now());
        while let Some(action) = engine.poll_action() {
            self.perform(socket, engine, action, d.source);
        }
    }

    fn perform(
        &mut self,
        socket: &ServerSocket,
        engine: &mut Engine,
        action: Action,
        source: std::net::Ipv6Addr,
    ) {
        match action {
            Action::Reply { to, port, payload } => {
                debug!(
                    "{}: Reply to {to} ({} octets)",
                    self.lan.interface,
                    payload.len()
                );
                if let Err(e) = socket.try_send(&payload, to, port) {
                    let reason = cpe_sys::sockbuf::unsent_reason(&e);
                    engine.handle(Input::Unsent(reason), Instant::now());
                    if let Some(n) = self.send_log.check(Instant::now()) {
                        warn!(
                            "{}: Reply to {to} dropped ({reason}: {e}){}",
                            self.lan.interface,
                            suppressed_note(n)
                        );
                    }
                }
            }
            Action::Drop(reason) if reason.is_malformed() => {
                // Counted; logged at debug only, so a hostile host cannot
                // flood the log.
                debug!(
                    "{}: malformed message from {}: {}",
                    self.lan.interface,
                    source,
                    reason.name()
                );
            }
            Action::Drop(reason) => {
                debug!(
                    "{}: no answer to {}: {}",
                    self.lan.interface,
                    source,
                    reason.name()
                );
            }
        }
    }
}
