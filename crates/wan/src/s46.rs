//! IPv4 over IPv6 in the WAN daemon: the mechanism that
//! [`cpe_bus::s46::choose`] picks (the configured one, or in `auto` the
//! one DHCPv6 offers) runs its engine ([`crate::dslite`] or
//! [`crate::map_e`]); the other has none.
//!
//! [`S46`] is sans-IO like the engines it holds: fed the facts (the choice
//! and each engine's view of the shared state) and the outcomes of what it
//! asked for, it asks for the active engine's actions. When the choice
//! changes (option 94 appears in a Renew's Reply, or goes; a new prefix
//! that a rule now maps), the old engine first asks to remove its tunnel
//! (and MAP-E its MAP address), then the new one starts from nothing; the
//! firewall follows on the same facts through the same function, so its
//! MAP-E SNAT comes and goes with the `map0` tunnel.

use std::collections::VecDeque;
use std::time::Instant;

use cpe_bus::SharedState;
use cpe_bus::s46::{Choice, Mechanism, choose};
use cpe_bus::status::wan::S46Status;
use cpe_config::{Ipv4OverIpv6, S46Mode};
use cpe_daemon::Engine as _;
use cpe_sys::netlink::Netlink;
use tokio::sync::watch;

use crate::dslite::{self, DsLite};
use crate::map_e::{self, MapE};
use crate::softwire::{StatusSlot, Wake, publish, wait};

/// What the engine decides from: the choice and both engines' views (each
/// is cheap, and computing both keeps the facts one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// What runs, and why.
    pub choice: Choice,
    /// DS-Lite's view of the WAN.
    pub dslite: dslite::View,
    /// MAP-E's view of the WAN.
    pub map_e: map_e::View,
}

impl Facts {
    /// From the config and the supervisor's shared state; `mtu` is the
    /// configured WAN MTU, used while the WAN reports none.
    pub fn from_state(cfg: &Ipv4OverIpv6, s: &SharedState, mtu: u32) -> Facts {
        Facts {
            choice: choose(cfg, &s.dhcp6),
            dslite: dslite::driver::view(s, mtu),
            map_e: map_e::driver::view(s, mtu),
        }
    }
}

/// Inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The shared state changed.
    Facts(Facts),
    /// An outcome for the DS-Lite engine (dropped if it no longer runs).
    DsLite(dslite::Input),
    /// An outcome for the MAP-E engine (dropped if it no longer runs).
    MapE(map_e::Input),
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A DS-Lite engine's action.
    DsLite(dslite::Action),
    /// A MAP-E engine's action.
    MapE(map_e::Action),
}

/// The engine of the mechanism that runs.
#[derive(Debug)]
enum Active {
    None,
    DsLite(DsLite),
    MapE(MapE),
}

impl Active {
    fn mechanism(&self) -> Option<Mechanism> {
        match self {
            Active::None => None,
            Active::DsLite(_) => Some(Mechanism::DsLite),
            Active::MapE(_) => Some(Mechanism::MapE),
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        match self {
            Active::None => None,
            Active::DsLite(e) => e.poll_action().map(Action::DsLite),
            Active::MapE(e) => e.poll_action().map(Action::MapE),
        }
    }
}

/// The IPv4-over-IPv6 engine: the choice and the engine that runs.
#[derive(Debug)]
pub struct S46 {
    cfg: Ipv4OverIpv6,
    facts: Option<Facts>,
    active: Active,
    /// The stopped engine's removals, performed before anything the new
    /// one asks.
    leaving: VecDeque<Action>,
}

impl S46 {
    /// Nothing runs until the first facts.
    pub fn new(cfg: Ipv4OverIpv6) -> S46 {
        S46 {
            cfg,
            facts: None,
            active: Active::None,
            leaving: VecDeque::new(),
        }
    }

    /// The mechanism that runs.
    pub fn mechanism(&self) -> Option<Mechanism> {
        self.active.mechanism()
    }

    /// The status object: the running engine's, with the mode as
    /// configured and the choice; `auto` with nothing running says why
    /// (`no-offer`); `None` when off.
    pub fn status(&self) -> Option<S46Status> {
        let choice = self.facts.as_ref().map(|f| &f.choice);
        let mut s = match &self.active {
            Active::DsLite(e) => dslite::driver::status(self.cfg.mode, e),
            Active::MapE(e) => map_e::driver::status(e),
            Active::None if self.cfg.mode == S46Mode::Auto => S46Status {
                state: if choice.is_some_and(|c| c.waiting) {
                    "waiting-dhcpv6"
                } else {
                    "no-offer"
                }
                .to_owned(),
                reason: choice.map(|c| c.why.clone()),
                ..S46Status::default()
            },
            Active::None => return None,
        };
        s.mode = self.cfg.mode.as_str().to_owned();
        s.chosen = self.mechanism().map(|m| m.as_str().to_owned());
        s.choice = choice.map(|c| c.why.clone());
        Some(s)
    }

    fn start(&mut self, to: Option<Mechanism>) {
        let old = std::mem::replace(
            &mut self.active,
            match to {
                None => Active::None,
                Some(Mechanism::DsLite) => Active::DsLite(DsLite::new(self.cfg.aftr.clone())),
                Some(Mechanism::MapE) => Active::MapE(MapE::new(self.cfg.map_rule.clone())),
            },
        );
        let mut old = match old {
            Active::DsLite(mut e) => {
                e.stop();
                Active::DsLite(e)
            }
            Active::MapE(mut e) => {
                e.stop();
                Active::MapE(e)
            }
            Active::None => Active::None,
        };
        while let Some(a) = old.poll_action() {
            self.leaving.push_back(a);
        }
    }

    /// Feeds the active engine its view of `f`.
    fn see(&mut self, f: &Facts, now: Instant) {
        match &mut self.active {
            Active::None => {}
            Active::DsLite(e) => e.handle(dslite::Input::View(f.dslite.clone()), now),
            Active::MapE(e) => e.handle(map_e::Input::View(f.map_e.clone()), now),
        }
    }
}

impl cpe_daemon::Engine for S46 {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        match (input, &mut self.active) {
            (Input::Facts(f), _) => {
                if self.facts.as_ref() == Some(&f) {
                    return;
                }
                let to = f.choice.mechanism;
                if to != self.active.mechanism() {
                    let from = self.active.mechanism().map_or("none", Mechanism::as_str);
                    let name = to.map_or("none", Mechanism::as_str);
                    log::info!(
                        "IPv4 over IPv6: {} {from} -> {name}: {}",
                        self.cfg.mode.as_str(),
                        f.choice.why
                    );
                    self.start(to);
                }
                self.see(&f, now);
                self.facts = Some(f);
            }
            (Input::DsLite(i), Active::DsLite(e)) => e.handle(i, now),
            (Input::MapE(i), Active::MapE(e)) => e.handle(i, now),
            // The outcome of what a stopped engine asked for.
            (Input::DsLite(_) | Input::MapE(_), _) => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match &mut self.active {
            Active::None => {}
            Active::DsLite(e) => e.handle_timeout(now),
            Active::MapE(e) => e.handle_timeout(now),
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.leaving
            .pop_front()
            .or_else(|| self.active.poll_action())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match &self.active {
            Active::None => None,
            Active::DsLite(e) => e.poll_timeout(),
            Active::MapE(e) => e.poll_timeout(),
        }
    }
}

/// Runs IPv4 over IPv6 for `cfg` on the WAN link `wan` until the task is
/// dropped. First removes both tunnels left from an earlier run; with mode
/// `off` that is all.
pub async fn run(
    cfg: Ipv4OverIpv6,
    wan: String,
    wan_mtu: u32,
    mut states: watch::Receiver<SharedState>,
    slot: StatusSlot,
    mut changed: impl FnMut(),
) {
    let mut nl = match Netlink::open() {
        Ok(nl) => nl,
        Err(e) => {
            log::error!("IPv4 over IPv6: netlink: {e}");
            return;
        }
    };
    if let Err(e) = dslite::driver::remove(&mut nl) {
        log::warn!("DS-Lite: removing a stale {}: {e}", dslite::TUNNEL);
    }
    if let Err(e) = map_e::driver::remove(&mut nl, &wan, None) {
        log::warn!("MAP-E: removing a stale {}: {e}", map_e::TUNNEL);
    }
    if cfg.mode == S46Mode::Off {
        return;
    }
    let mut engine = S46::new(cfg.clone());
    let mut xid: u16 = (std::process::id() & 0xffff) as u16;
    loop {
        let facts = Facts::from_state(&cfg, &states.borrow_and_update(), wan_mtu);
        engine.handle(Input::Facts(facts), Instant::now());
        while let Some(action) = engine.poll_action() {
            let input = match action {
                Action::DsLite(a) => dslite::driver::perform(&mut nl, &wan, a, &mut xid)
                    .await
                    .map(Input::DsLite),
                Action::MapE(a) => map_e::driver::perform(&mut nl, &wan, a).map(Input::MapE),
            };
            if let Some(input) = input {
                engine.handle(input, Instant::now());
            }
        }
        if let Some(status) = engine.status() {
            let why = status.reason.clone();
            let mapping = status.chosen.as_deref() == Some(Mechanism::MapE.as_str());
            if publish(&slot, status, &mut changed)
                && mapping
                && let Some(why) = why
            {
                log::warn!("{why}");
            }
        }
        match wait(&mut states, engine.poll_timeout()).await {
            Wake::Closed => return,
            Wake::State => {}
            Wake::Timeout => engine.handle_timeout(Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests;
