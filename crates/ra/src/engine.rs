//! The RA engine of one LAN interface: a sans-IO state machine.
//!
//! It follows the [`cpe_daemon::Engine`] contract: inputs with `now` passed
//! in, actions pulled, one deadline polled, so RFC timers run on virtual time
//! in tests and the fuzzer can drive it. The driver owns sockets, clocks,
//! persistence and logging of the actions. A config change restarts the
//! daemon (the supervisor compares config slices), so there is no reload
//! input: a new engine starts from the remembered prefixes instead.

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_daemon::Engine as EngineContract;

use cpe_wire::nd::{self, NdMessage, RouterAdvertisement, RouterSolicitation};
use ipnet::Ipv6Net;
use log::{debug, warn};

use crate::config::{REMEMBERED_GRACE, RaConfig};
use crate::content::{self, Built};
use crate::counters::Counters;
use crate::facts::LanFacts;
use crate::prefixes::{LanPrefix, PrefixTable};
use crate::rogue::{RogueSummary, RogueWatch};
use crate::schedule::Schedule;
use crate::status::{PrefixStatus, RaStatus};
use cpe_sys::random::Rng;

/// Hop limit every valid ND message carries (RFC 4861 6.1): proof it was not
/// forwarded from off-link.
pub const ND_HOP_LIMIT: u8 = 255;

/// Unsolicited RAs hosts hear within the shortest delegated preferred
/// lifetime, at the least: two may be lost and the address stays preferred.
pub const RAS_PER_PREFERRED_LIFETIME: u32 = 3;

/// An ICMPv6 message received on the LAN interface.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// IPv6 source address.
    pub source: Ipv6Addr,
    /// IPv6 hop limit from ancillary data (`None` if the kernel gave none).
    pub hop_limit: Option<u8>,
    /// The ICMPv6 message (header included).
    pub message: &'a [u8],
}

/// Something that happened (time passing is `handle_timeout`).
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// A packet arrived on the raw ICMPv6 socket.
    Received(Received<'a>),
    /// New LAN/WAN facts (complete snapshot).
    Facts(LanFacts),
    /// Orderly shutdown: send the final RA, then stop.
    Shutdown,
}

/// Why an RA is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaKind {
    /// Periodic.
    Unsolicited,
    /// Answers at least one RS.
    Solicited,
    /// Router lifetime 0 before stopping.
    Final,
}

/// Something the driver must do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send this ICMPv6 message to ff02::1 on the interface (checksum left
    /// to the kernel).
    SendRa {
        /// Encoded RA.
        message: Vec<u8>,
        /// Why.
        kind: RaKind,
    },
    /// Store this list with `atomic_write` (RFC 9096 3.5, stable storage): the prefixes
    /// hosts may hold, to deprecate after a restart.
    RememberPrefixes(Vec<Ipv6Net>),
    /// A router we had not seen advertises on this LAN (report it once).
    RogueRouter(RogueSummary),
    /// The final RA was handed out; the engine is done.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Advertising,
    Stopping,
    Stopped,
}

/// RA sender and rogue watch for one LAN interface.
#[derive(Debug, Clone)]
pub struct Engine {
    config: RaConfig,
    facts: LanFacts,
    rng: Rng,
    schedule: Schedule,
    prefixes: PrefixTable,
    rogue: RogueWatch,
    counters: Counters,
    phase: Phase,
    started: Instant,
    remembered_written: Vec<Ipv6Net>,
    queue: VecDeque<Action>,
}

impl Engine {
    /// Starts advertising at `now`. `remembered` is what the previous run
    /// stored via [`Action::RememberPrefixes`]; `seed` drives timing jitter.
    pub fn new(config: RaConfig, remembered: &[Ipv6Net], seed: u64, now: Instant) -> Self {
        let config = config.sanitized();
        let prefixes = PrefixTable::with_remembered(remembered);
        let remembered_written = prefixes.to_remember();
        Engine {
            schedule: Schedule::new(config.min_interval, config.max_interval, now),
            config,
            facts: LanFacts::default(),
            rng: Rng::new(seed),
            prefixes,
            rogue: RogueWatch::default(),
            counters: Counters::default(),
            phase: Phase::Advertising,
            started: now,
            remembered_written,
            queue: VecDeque::new(),
        }
    }

    /// Whatever is due at `now` after an input or a deadline.
    fn settle(&mut self, now: Instant, mut actions: Vec<Action>) {
        self.keep_lifetimes_fresh(now);
        self.on_time(now, &mut actions);
        self.queue.extend(actions);
    }

    fn remembered_pending(&self) -> bool {
        self.prefixes.has_remembered() && !self.prefixes.delegation_seen()
    }

    fn all_prefixes(&self) -> Vec<LanPrefix> {
        let mut all = self.facts.prefixes.clone();
        all.extend(self.config.static_prefixes.iter().map(|p| LanPrefix {
            prefix: *p,
            preferred_until: None,
            valid_until: None,
            deprecated: false,
        }));
        all
    }

    fn on_facts(&mut self, facts: LanFacts, now: Instant) {
        let visible_before = self.visible_content(now);
        self.facts = facts;
        // Idempotent for an unchanged list, so every snapshot is applied.
        let known = self.facts.delegation_known;
        let table_changed = self.prefixes.update(&self.all_prefixes(), known, now);
        if table_changed || visible_before != self.visible_content(now) {
            self.schedule.information_changed(now);
        }
    }

    /// Keeps hosts' prefix lifetimes from running out between RAs: caps
    /// MaxRtrAdvInterval at a third of the shortest delegated preferred
    /// lifetime (the RFC 8106 5.1 rule of three RAs per lifetime, applied to
    /// PIOs; RFC 9096 section 4 caps lifetimes to make lost RAs matter less,
    /// not so they may lapse), and sends an RA early when hosts hold
    /// lifetimes a Renew refreshed or the ISP cut (docs/architecture.md).
    fn keep_lifetimes_fresh(&mut self, now: Instant) {
        if self.phase != Phase::Advertising {
            return;
        }
        let cap = self
            .prefixes
            .smallest_lease_preferred()
            .map(|p| Duration::from_secs(u64::from(p / RAS_PER_PREFERRED_LIFETIME)));
        self.schedule.limit_interval(cap, now);
        if self.prefixes.hosts_need_refresh(now) {
            self.schedule.refresh(now);
        }
    }

    /// The parts of an RA that hosts act on, excluding lifetimes counting
    /// down; a change here is worth fast RAs.
    fn visible_content(&self, now: Instant) -> String {
        let Built { ra, .. } =
            content::build(&self.config, &self.facts, &self.prefixes, now, false);
        let mut parts = format!("{}|{}", ra.router_lifetime, ra.mtu().unwrap_or(0));
        for s in ra.dns_servers() {
            parts.push_str(&format!("|{s}"));
        }
        for r in ra.routes() {
            parts.push_str(&format!("|{}/{}", r.prefix, r.prefix_len));
        }
        parts
    }

    fn on_packet(&mut self, packet: Received<'_>, now: Instant, actions: &mut Vec<Action>) {
        let hop_ok = packet.hop_limit == Some(ND_HOP_LIMIT);
        let message = match NdMessage::decode(packet.message) {
            Ok(m) => m,
            Err(e) => {
                self.counters.drop_for(e.reason());
                debug!("dropped ND message from {}: {e}", packet.source);
                let is_ra = packet.message.first() == Some(&nd::TYPE_ROUTER_ADVERTISEMENT);
                if hop_ok && is_ra && self.is_foreign_router(packet.source) {
                    let summary =
                        RogueSummary::malformed(packet.source, packet.message, e.reason());
                    self.report_rogue(summary, now, actions);
                }
                return;
            }
        };
        if !hop_ok {
            self.counters.drop_for("hop_limit");
            debug!(
                "dropped ND message from {}: hop limit {:?}, must be 255",
                packet.source, packet.hop_limit
            );
            return;
        }
        match message {
            NdMessage::RouterSolicitation(rs) => self.on_rs(packet.source, &rs, now),
            NdMessage::RouterAdvertisement(ra) => self.on_ra(packet.source, &ra, now, actions),
        }
    }

    /// A link-local source that is not one of ours (RFC 4861 6.1.2: RAs come
    /// from link-local addresses).
    fn is_foreign_router(&self, source: Ipv6Addr) -> bool {
        source.is_unicast_link_local() && !self.facts.link_local.contains(&source)
    }

    fn on_rs(&mut self, source: Ipv6Addr, rs: &RouterSolicitation, now: Instant) {
        // RFC 4861 6.1.1: no SLLA from the unspecified address.
        if source.is_unspecified() && rs.source_link_layer_address().is_some() {
            self.counters.drop_for("rs_unspecified_with_slla");
            debug!("dropped RS from :: carrying a source link-layer address");
            return;
        }
        if self.phase != Phase::Advertising {
            return;
        }
        self.counters.rs_received = self.counters.rs_received.saturating_add(1);
        self.schedule.solicited(now, &mut self.rng);
    }

    fn on_ra(
        &mut self,
        source: Ipv6Addr,
        ra: &RouterAdvertisement,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        // RFC 4861 6.1.2: RAs come from link-local addresses.
        if !source.is_unicast_link_local() {
            self.counters.drop_for("ra_source_not_link_local");
            debug!("dropped RA from non-link-local {source}");
            return;
        }
        if self.facts.link_local.contains(&source) {
            self.counters.ra_received_own = self.counters.ra_received_own.saturating_add(1);
            return;
        }
        self.report_rogue(RogueSummary::new(source, ra), now, actions);
    }

    fn report_rogue(&mut self, summary: RogueSummary, now: Instant, actions: &mut Vec<Action>) {
        self.counters.ra_received_rogue = self.counters.ra_received_rogue.saturating_add(1);
        if let Some(summary) = self.rogue.observe(summary, now) {
            warn!(
                "foreign router advertising on this LAN: {} mac {} M={} O={} preference {} router lifetime {} s prefixes [{}] rdnss [{}]{}",
                summary.source,
                summary.link_layer_address.as_deref().unwrap_or("-"),
                u8::from(summary.managed),
                u8::from(summary.other_config),
                summary.preference,
                summary.router_lifetime,
                summary.prefixes.join(", "),
                summary
                    .dns_servers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                summary
                    .malformed
                    .map(|r| format!(" (malformed: {r})"))
                    .unwrap_or_default(),
            );
            actions.push(Action::RogueRouter(summary));
        }
    }

    fn on_time(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.phase == Phase::Stopped {
            return;
        }
        if self.remembered_pending()
            && now >= self.started + REMEMBERED_GRACE
            && self.prefixes.give_up_remembered(now)
        {
            self.schedule.information_changed(now);
        }
        // A prefix reaching the end of its valid lifetime can take the last
        // global prefix away (router lifetime drops to 0, RFC 7084 L-4/G-5):
        // tell hosts at once, not at the next periodic RA.
        let visible_before = self.visible_content(now);
        if self.prefixes.expire(now) && self.visible_content(now) != visible_before {
            self.schedule.information_changed(now);
        }
        if let Some(due) = self.schedule.due(now) {
            let final_ra = self.phase == Phase::Stopping;
            let kind = if final_ra {
                RaKind::Final
            } else if due.solicitations > 0 {
                RaKind::Solicited
            } else {
                RaKind::Unsolicited
            };
            self.send(now, kind, due.solicitations, actions);
            if final_ra {
                self.phase = Phase::Stopped;
            }
        }
        let remember = self.prefixes.to_remember();
        if remember != self.remembered_written {
            self.remembered_written = remember.clone();
            actions.push(Action::RememberPrefixes(remember));
        }
        if self.phase == Phase::Stopped {
            actions.push(Action::Stopped);
        }
    }

    fn send(&mut self, now: Instant, kind: RaKind, solicitations: u32, actions: &mut Vec<Action>) {
        let built = content::build(
            &self.config,
            &self.facts,
            &self.prefixes,
            now,
            kind == RaKind::Final,
        );
        if built.skipped > 0 {
            self.counters.options_skipped = self
                .counters
                .options_skipped
                .saturating_add(built.skipped as u64);
            warn!(
                "RA would exceed {} octets: {} option(s) left out (too many prefixes, routes or DNS entries)",
                content::MAX_RA_OCTETS,
                built.skipped
            );
        }
        // Arm the next RA even if encoding fails, so a bad option can never
        // turn into a busy loop.
        self.schedule.sent(now, &mut self.rng);
        match built.ra.to_bytes() {
            Ok(message) => {
                self.prefixes.advertised(&built.pios, now);
                let c = &mut self.counters;
                match kind {
                    RaKind::Unsolicited => c.ra_sent_unsolicited += 1,
                    RaKind::Solicited => c.ra_sent_solicited += 1,
                    RaKind::Final => c.ra_sent_final += 1,
                }
                c.rs_answered = c.rs_answered.saturating_add(u64::from(solicitations));
                actions.push(Action::SendRa { message, kind });
            }
            Err(e) => {
                self.counters.encode_errors += 1;
                warn!("RA not sent: {e}");
            }
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The RA hosts would get at `now` (decoded form), for status and tests.
    pub fn current_ra(&self, now: Instant) -> RouterAdvertisement {
        self.current(now).ra
    }

    fn current(&self, now: Instant) -> Built {
        content::build(
            &self.config,
            &self.facts,
            &self.prefixes,
            now,
            self.phase != Phase::Advertising,
        )
    }

    /// Status for `cpectl show lan` at `now`.
    pub fn status(&self, now: Instant) -> RaStatus {
        let Built {
            ra,
            not_default_router,
            ..
        } = self.current(now);
        RaStatus {
            interface: String::new(),
            send_errors: 0,
            state: match self.phase {
                Phase::Advertising => "advertising",
                Phase::Stopping => "stopping",
                Phase::Stopped => "stopped",
            }
            .into(),
            managed: ra.managed,
            other_config: ra.other_config,
            preference: ra.preference.as_str().into(),
            router_lifetime: ra.router_lifetime,
            upstream_default_route: self.facts.upstream_default_route,
            not_default_router: not_default_router.map(Into::into),
            mtu: ra.mtu(),
            prefixes: self
                .prefixes
                .lifetimes(now)
                .into_iter()
                .map(|l| PrefixStatus {
                    prefix: l.prefix.to_string(),
                    valid_lifetime: l.valid,
                    preferred_lifetime: l.preferred,
                    deprecated: l.deprecated,
                })
                .collect(),
            remembered_prefixes: if self.remembered_pending() {
                let shown: Vec<Ipv6Net> = self
                    .prefixes
                    .lifetimes(now)
                    .iter()
                    .map(|l| l.prefix)
                    .collect();
                self.prefixes
                    .to_remember()
                    .into_iter()
                    .filter(|p| !shown.contains(p))
                    .map(|p| p.to_string())
                    .collect()
            } else {
                Vec::new()
            },
            routes: ra
                .routes()
                .map(|r| format!("{}/{}", r.prefix, r.prefix_len))
                .collect(),
            rdnss: ra.dns_servers().copied().collect(),
            dnssl: ra
                .dnssl()
                .flat_map(|d| d.domains.iter().map(|n| n.to_string()))
                .collect(),
            dns_lifetime: self.config.dns_lifetime(),
            next_ra_in_ms: self.poll_timeout().map(|d| {
                u64::try_from(d.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
            }),
            last_ra_secs_ago: self
                .schedule
                .last_multicast()
                .map(|t| now.saturating_duration_since(t).as_secs()),
            counters: self.counters.clone(),
            rogue_untracked: self.rogue.untracked(),
            rogue_routers: self.rogue.status(now),
        }
    }
}

impl EngineContract for Engine {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        let mut actions = Vec::new();
        match input {
            Input::Received(packet) => self.on_packet(packet, now, &mut actions),
            Input::Facts(facts) => self.on_facts(facts, now),
            Input::Shutdown => {
                if self.phase == Phase::Advertising {
                    self.phase = Phase::Stopping;
                    self.schedule.send_asap(now);
                }
            }
        }
        self.settle(now, actions);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.settle(now, Vec::new());
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.queue.pop_front()
    }

    /// `None` once stopped.
    fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Stopped {
            return None;
        }
        let mut next = self.schedule.deadline();
        if let Some(t) = self.prefixes.next_change() {
            next = next.min(t);
        }
        if self.remembered_pending() {
            next = next.min(self.started + REMEMBERED_GRACE);
        }
        Some(next)
    }
}
