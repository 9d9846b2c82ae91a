//! The firewall engine: a sans-IO state machine that decides what to commit
//! and when forwarding may be switched on.
//!
//! It never touches the kernel or reads a clock. It follows the router's one
//! engine contract, [`cpe_daemon::Engine`]: inputs arrive by kind with `now`,
//! actions are pulled, and the next retry is polled. The driver
//! commits batches and writes sysctls, and reports back how that went.
//!
//! Rules it keeps:
//! - A state change that only moves prefixes becomes a set update; anything
//!   else a full replace of the table. Both are single kernel transactions.
//! - Forwarding is asked for only after the first commit succeeded (RFC 7084
//!   G-3/S-1): no packet is routed before the ruleset is in.
//! - A refused commit leaves the installed ruleset as it was; the engine
//!   retries a full apply with backoff and says why in its status.

use crate::compile::compile;
use crate::config::{Policy, Snapshot};
use crate::counters::Counters;
use crate::model::Ruleset;
use cpe_sys::netlink::nftables::Batch;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// First retry delay after a refused commit; doubles up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(10);

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Input {
    /// The router's state changed (or is first known).
    State(Snapshot),
    /// The driver committed (or failed to commit) the last [`Action::Commit`];
    /// `Ok` carries how long the kernel took.
    Committed(Result<Duration, String>),
    /// The driver switched forwarding on, or could not.
    ForwardingSet(Result<(), String>),
}

pub use cpe_bus::status::firewall::{ApplyKind, Forwarding};

/// What the driver must do.
pub enum Action {
    /// Commit this batch in one transaction and report [`Input::Committed`].
    Commit {
        /// Full or set update.
        kind: ApplyKind,
        /// The transaction.
        batch: Batch,
    },
    /// Switch IPv6 and IPv4 forwarding on and report [`Input::ForwardingSet`].
    EnableForwarding,
}

/// The outcome of the last commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastApply {
    /// Full or set update.
    pub kind: ApplyKind,
    /// When it finished.
    pub at: Instant,
    /// Kernel time, if it succeeded.
    pub duration: Option<Duration>,
    /// The kernel's refusal, if it failed.
    pub error: Option<String>,
}

/// The firewall's decision state.
pub struct Engine {
    policy: Policy,
    desired: Ruleset,
    installed: Option<Ruleset>,
    in_flight: Option<(ApplyKind, Ruleset)>,
    forwarding: Forwarding,
    retry_at: Option<Instant>,
    retry_delay: Duration,
    /// Next commit must be a full apply (after a refused set update).
    force_full: bool,
    last: Option<LastApply>,
    counters: Counters,
    actions: VecDeque<Action>,
}

impl Engine {
    /// An engine for `policy`, before any state is known: the first
    /// [`Input::State`] triggers the first commit.
    pub fn new(policy: Policy) -> Engine {
        let desired = compile(&policy, &Snapshot::default());
        Engine {
            policy,
            desired,
            installed: None,
            in_flight: None,
            forwarding: Forwarding::Off,
            retry_at: None,
            retry_delay: RETRY_FIRST,
            force_full: false,
            last: None,
            counters: Counters::default(),
            actions: VecDeque::new(),
        }
    }

    fn committed(&mut self, result: Result<Duration, String>, now: Instant) {
        let Some((kind, ruleset)) = self.in_flight.take() else {
            return;
        };
        match result {
            Ok(d) => {
                match kind {
                    ApplyKind::Full => self.counters.full_applies += 1,
                    ApplyKind::Sets => self.counters.set_updates += 1,
                }
                self.installed = Some(ruleset);
                self.retry_delay = RETRY_FIRST;
                self.force_full = false;
                self.last = Some(LastApply {
                    kind,
                    at: now,
                    duration: Some(d),
                    error: None,
                });
                if self.forwarding == Forwarding::Off {
                    self.request_forwarding();
                }
                // The state may have moved while this commit was out.
                self.converge();
            }
            Err(e) => {
                self.counters.apply_failures += 1;
                self.last = Some(LastApply {
                    kind,
                    at: now,
                    duration: None,
                    error: Some(e),
                });
                self.retry_at = Some(now + self.retry_delay);
                self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
                // After a refused set update, retry with a full apply: the
                // kernel still holds the old ruleset, but a full replace is
                // the one path that does not depend on what is installed.
                self.force_full = true;
            }
        }
    }

    fn request_forwarding(&mut self) {
        self.forwarding = Forwarding::Requested;
        self.actions.push_back(Action::EnableForwarding);
    }

    /// Queues the commit that brings the kernel to `desired`, if any and if
    /// none is outstanding or waiting for its retry time.
    fn converge(&mut self) {
        if self.in_flight.is_some() || self.retry_at.is_some() {
            return;
        }
        let (kind, batch) = match &self.installed {
            Some(inst) if *inst == self.desired && !self.force_full => return,
            Some(inst) if !self.force_full && inst.structure() == self.desired.structure() => {
                (ApplyKind::Sets, self.desired.set_update(inst))
            }
            // After a refused commit, rebuild: it does not depend on what
            // the table holds.
            _ if self.force_full => (ApplyKind::Full, self.desired.rebuild()),
            _ => (ApplyKind::Full, self.desired.batch()),
        };
        self.in_flight = Some((kind, self.desired.clone()));
        self.actions.push_back(Action::Commit { kind, batch });
    }

    /// The ruleset the kernel holds, as far as we know.
    pub fn installed(&self) -> Option<&Ruleset> {
        self.installed.as_ref()
    }

    /// The ruleset the current state calls for.
    pub fn desired(&self) -> &Ruleset {
        &self.desired
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Forwarding state.
    pub fn forwarding(&self) -> &Forwarding {
        &self.forwarding
    }

    /// The last commit's outcome.
    pub fn last_apply(&self) -> Option<&LastApply> {
        self.last.as_ref()
    }

    /// Engine counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl cpe_daemon::Engine for Engine {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::State(s) => {
                self.desired = compile(&self.policy, &s);
                self.converge();
            }
            Input::Committed(result) => self.committed(result, now),
            Input::ForwardingSet(Ok(())) => self.forwarding = Forwarding::On,
            Input::ForwardingSet(Err(e)) => {
                self.counters.forwarding_failures += 1;
                self.forwarding = Forwarding::Failed(e);
            }
        }
    }

    /// Retries a refused commit once its backoff has run out. A failed
    /// forwarding switch is retried on every call, due or not: the driver
    /// wakes the engine at least once per status period, which paces it.
    fn handle_timeout(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|t| now >= t) {
            self.retry_at = None;
            self.converge();
        }
        if let Forwarding::Failed(_) = self.forwarding
            && self.installed.is_some()
        {
            self.request_forwarding();
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When the next commit retry is due, if one waits.
    fn poll_timeout(&self) -> Option<Instant> {
        self.retry_at
    }
}
