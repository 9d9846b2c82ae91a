//! The DHCPv6 client state machine (RFC 8415 section 18.2), sans I/O.
//!
//! [`Client`] follows the router's one engine contract,
//! [`cpe_daemon::Engine`]: the driver feeds [`Input`]s with the current time,
//! pulls and carries out the queued [`Action`]s, and calls `handle_timeout`
//! at `poll_timeout`. Nothing here reads a clock, opens a socket or draws
//! entropy, so every timer path is tested in virtual time.
//!
//! Choices the RFC leaves open, made for a home router:
//! - Every message goes to ff02::1:2; server unicast is never used.
//! - One Renew/Rebind carries both IAs; T1/T2 are the earliest over the IAs.
//! - Restart with a persisted lease, or a link that comes back: a Rebind
//!   with the Confirm timers (18.2.12: delegated prefixes are verified with
//!   Rebind, never Confirm). No answer within CNF_MAX_RD: keep the lease with
//!   its last known lifetimes and continue at T1/T2, as after a Confirm
//!   without answer (18.2.3).
//! - A Reply whose IA_PD carries live prefixes replaces prefixes it does not
//!   mention (the ISP renumbered us); those are reported once, with the
//!   deadlines hosts may still hold, as `previous_prefixes` in the same
//!   [`LeaseUpdate`] that brings the new ones.
//! - No Release on restart, reload or link loss (RFC 9096 WPD-9): only
//!   [`Input::Teardown`] releases.
//! - Stateless fallback: a router that gets no binding still needs the
//!   ISP's DNS servers. While soliciting without a lease, when a server has
//!   refused our IAs (NoPrefixAvail, NoAddrsAvail: a stateless-only server),
//!   or the ISP's RA says O=1 and three Solicits went unanswered, an
//!   Information-request exchange (18.2.6) runs beside the Solicit and
//!   learns DNS servers, search list and refresh time; the Solicit goes on
//!   untouched, so the prefix is still looked for on the RFC's timers. The
//!   Information-request stops after 4 transmissions and is tried again
//!   [`INFORM_RETRY`] later; learned configuration is refreshed at its
//!   Information Refresh Time (21.23) while nothing is bound. A server's
//!   refusal is kept with its status code and text for the console and
//!   reported once per change ([`Action::Refused`]).

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_bus::state::{MapEOffer, MapEOfferedRule};
use cpe_wire::dhcpv6::{
    DhcpOption, DomainName, Duid, Message, MessageType, Status, StatusCode, TransactionId, code,
};
use ipnet::Ipv6Net;

use crate::config::{AddressMode, ClientConfig};
use crate::counters::{Counters, DropReason};
use crate::incoming::{IaAnswer, address_answer, prefix_answer, prefix_exclusions};
use crate::lease::{
    DelegatedPrefix, Lease, LeasedAddress, apply_addresses, apply_prefixes, earliest, passed,
    renewal_times,
};
use crate::outgoing::{IaContents, build, set_elapsed};
use crate::retransmit::{Params, Retransmit, Timeout, rfc};
use cpe_sys::random::Rng;

/// Something that happened, for the engine to react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// Bindings persisted before a restart. They are reported at once (so
    /// the LAN keeps its prefix) and verified by a Rebind on the next
    /// [`Input::Start`].
    Restore(Lease),
    /// The link is usable (WAN up and RA says M or O, or always-ask): get
    /// or verify bindings.
    Start,
    /// The link went away: stop sending, keep bindings until they expire.
    Pause,
    /// Explicit teardown (`cpectl`, WAN disabled): Release, then idle.
    Teardown,
    /// Flags of the last Router Advertisement on the WAN.
    RaFlags {
        /// M: addresses by DHCPv6 (drives `request_address = auto`).
        managed: bool,
        /// O: other configuration by DHCPv6.
        other: bool,
    },
    /// A UDP payload received on port 546 of the WAN interface.
    Packet(&'a [u8]),
    /// Duplicate address detection failed for a leased IA_NA address on
    /// the WAN: it is withdrawn and declined (18.2.8).
    DadFailed(Ipv6Addr),
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this payload to ff02::1:2 port 547 on the WAN interface.
    Transmit(Vec<u8>),
    /// Bindings changed: publish, persist, adjust routes.
    Update(LeaseUpdate),
    /// The Release exchange after [`Input::Teardown`] finished.
    Released,
    /// Configuration learned by Information-request changed: publish it.
    OtherConfig,
    /// A server refused our IAs in a way not reported before: log it.
    Refused(Refusal),
}

/// How long after an unanswered Information-request fallback the next one
/// may start. Long enough that a server answering neither Solicit nor
/// Information-request costs the link little; short enough that DNS
/// arrives within minutes once such a server appears.
pub const INFORM_RETRY: Duration = Duration::from_secs(300);

/// Configuration learned without bindings, by Information-request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherConfig {
    /// The server that answered.
    pub server_id: Duid,
    /// Recursive DNS servers (option 23).
    pub dns_servers: Vec<Ipv6Addr>,
    /// Domain search list (option 24).
    pub domains: Vec<DomainName>,
    /// NTP server addresses (option 56).
    pub ntp_servers: Vec<Ipv6Addr>,
    /// The DS-Lite AFTR name (option 64, RFC 6334), lower-case text.
    pub aftr_name: Option<String>,
    /// The MAP-E container (option 94, RFC 7598).
    pub map_e: Option<MapEOffer>,
    /// When to ask again (Information Refresh Time, at least IRT_MINIMUM).
    pub refresh_at: Instant,
}

/// A server's refusal of our IAs, kept as the engineer needs to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refusing server.
    pub server_id: Duid,
    /// What was refused: `IA_PD`, `IA_NA`, or `message` (a status for the
    /// whole message).
    pub scope: &'static str,
    /// The status code and the server's text.
    pub status: StatusCode,
    /// When it was last seen.
    pub at: Instant,
}

impl Refusal {
    /// The same refusal as `other`, whenever seen.
    fn same_as(&self, other: &Refusal) -> bool {
        self.server_id == other.server_id
            && self.scope == other.scope
            && self.status == other.status
    }
}

/// Why bindings changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateReason {
    /// New bindings from Request (or a rapid-commit Solicit).
    Bound,
    /// Extended by Renew.
    Renewed,
    /// Extended by Rebind (possibly by another server).
    Rebound,
    /// Loaded from `state_dir` after a restart.
    Restored,
    /// Valid lifetimes ran out.
    Expired,
    /// Given back by Teardown.
    Released,
    /// An address failed DAD and was declined.
    Declined,
}

/// One change of bindings: the full current set plus what left it.
///
/// A renumbering is one update whose `prefixes` hold the new prefix and
/// whose `previous_prefixes` hold the old one with the deadlines hosts were
/// given, so LAN services deprecate the old prefix while announcing the new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseUpdate {
    /// Why.
    pub reason: UpdateReason,
    /// Current prefixes after the change.
    pub prefixes: Vec<DelegatedPrefix>,
    /// Prefixes that stopped being delegated in this change.
    pub previous_prefixes: Vec<DelegatedPrefix>,
    /// Current addresses after the change.
    pub addresses: Vec<LeasedAddress>,
    /// Addresses that stopped being leased in this change.
    pub previous_addresses: Vec<LeasedAddress>,
}

/// Client state, as shown on the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started, paused, or torn down.
    Idle,
    /// Looking for servers (including the initial random delay).
    Soliciting,
    /// Asking the chosen server for bindings.
    Requesting,
    /// Holding bindings, waiting for T1.
    Bound,
    /// Extending with the bound server (T1..T2).
    Renewing,
    /// Extending with any server (T2..expiry, or verifying after restart).
    Rebinding,
    /// Giving bindings back after Teardown.
    Releasing,
    /// Telling the server an address failed DAD.
    Declining,
}

impl State {
    /// Lower-case name for status output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Soliciting => "soliciting",
            Self::Requesting => "requesting",
            Self::Bound => "bound",
            Self::Renewing => "renewing",
            Self::Rebinding => "rebinding",
            Self::Releasing => "releasing",
            Self::Declining => "declining",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Solicit,
    Request,
    Renew,
    Rebind { verify: bool },
    Release,
    Decline,
    Information,
}

/// A client-initiated exchange in progress.
#[derive(Debug, Clone)]
struct Exchange {
    kind: Kind,
    message: Message,
    /// Server named in the message; its Reply must come from it.
    server: Option<Duid>,
    params: Params,
    /// Absolute end beyond MRD (T2 for Renew, last expiry for Rebind).
    end: Option<Instant>,
    /// Pending initial random delay: the first transmission is due then.
    send_at: Option<Instant>,
    first_sent: Option<Instant>,
    rtx: Option<Retransmit>,
}

/// A usable Advertise, kept until the collection window closes.
#[derive(Debug, Clone)]
struct Advert {
    server: Duid,
    preference: u8,
    prefixes: Vec<Ipv6Net>,
    addresses: Vec<Ipv6Addr>,
}

/// The DHCPv6 client engine for one interface.
#[derive(Debug, Clone)]
pub struct Client {
    config: ClientConfig,
    duid: Duid,
    rng: Rng,
    state: State,
    exchange: Option<Exchange>,
    lease: Option<Lease>,
    adverts: Vec<Advert>,
    ra_managed: bool,
    ra_other: bool,
    sol_max_rt: Duration,
    inf_max_rt: Duration,
    /// The Information-request running beside the Solicit, if any.
    info: Option<Exchange>,
    other: Option<OtherConfig>,
    /// The AFTR name of the last Reply that bound or extended the lease
    /// (kept beside the lease, which travels in inputs and stays small).
    lease_aftr: Option<String>,
    /// The MAP-E container of that Reply, kept the same way.
    lease_map_e: Option<MapEOffer>,
    refusal: Option<Refusal>,
    /// No Information-request fallback before this (after one went
    /// unanswered).
    inform_not_before: Option<Instant>,
    counters: Counters,
    /// Actions not yet pulled by the driver, oldest first.
    actions: VecDeque<Action>,
}

impl Client {
    /// A client identified by `duid`; `seed` drives jitter and transaction
    /// ids (the driver seeds it from getrandom).
    pub fn new(config: ClientConfig, duid: Duid, seed: u64) -> Self {
        Self {
            config,
            duid,
            rng: Rng::new(seed),
            state: State::Idle,
            exchange: None,
            lease: None,
            adverts: Vec::new(),
            ra_managed: false,
            ra_other: false,
            sol_max_rt: rfc::SOL_MAX_RT,
            inf_max_rt: rfc::INF_MAX_RT,
            info: None,
            other: None,
            lease_aftr: None,
            lease_map_e: None,
            refusal: None,
            inform_not_before: None,
            counters: Counters::default(),
            actions: VecDeque::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Current bindings and configuration, if any.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// Our DUID.
    pub fn duid(&self) -> &Duid {
        &self.duid
    }

    /// Traffic and drop counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Transmissions of the exchange under way (the Solicits of this
    /// round of soliciting, the Renews of this renewal, ...; not the
    /// Information-requests beside a Solicit); 0 with none.
    pub fn transmissions(&self) -> u64 {
        self.exchange
            .as_ref()
            .and_then(|e| e.rtx.as_ref())
            .map_or(0, |r| u64::from(r.count()))
    }

    /// SOL_MAX_RT in force (default, or what a server set).
    pub fn sol_max_rt(&self) -> Duration {
        self.sol_max_rt
    }

    /// Configuration learned by Information-request, if any.
    pub fn other_config(&self) -> Option<&OtherConfig> {
        self.other.as_ref()
    }

    /// The last refusal of our IAs, while no prefix is bound.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.refusal.as_ref()
    }

    /// DNS servers in force: the lease's, else those learned statelessly.
    pub fn dns_servers(&self) -> &[Ipv6Addr] {
        match (&self.lease, &self.other) {
            (Some(l), _) if !l.dns_servers.is_empty() => &l.dns_servers,
            (_, Some(o)) => &o.dns_servers,
            (Some(l), None) => &l.dns_servers,
            (None, None) => &[],
        }
    }

    /// NTP servers in force, chosen like [`Client::dns_servers`].
    pub fn ntp_servers(&self) -> &[Ipv6Addr] {
        match (&self.lease, &self.other) {
            (Some(l), _) if !l.ntp_servers.is_empty() => &l.ntp_servers,
            (_, Some(o)) => &o.ntp_servers,
            (Some(l), None) => &l.ntp_servers,
            (None, None) => &[],
        }
    }

    /// The AFTR name in force, chosen like [`Client::dns_servers`].
    pub fn aftr_name(&self) -> Option<&str> {
        match (&self.lease, &self.other) {
            (Some(_), _) if self.lease_aftr.is_some() => self.lease_aftr.as_deref(),
            (_, Some(o)) => o.aftr_name.as_deref(),
            (Some(_), None) => self.lease_aftr.as_deref(),
            (None, None) => None,
        }
    }

    /// The MAP-E container in force, chosen like [`Client::aftr_name`].
    pub fn map_e(&self) -> Option<&MapEOffer> {
        match (&self.lease, &self.other) {
            (Some(_), _) if self.lease_map_e.is_some() => self.lease_map_e.as_ref(),
            (_, Some(o)) => o.map_e.as_ref(),
            (Some(_), None) => self.lease_map_e.as_ref(),
            (None, None) => None,
        }
    }

    /// Search list in force, chosen like [`Client::dns_servers`].
    pub fn domains(&self) -> &[DomainName] {
        match (&self.lease, &self.other) {
            (Some(l), _) if !l.domains.is_empty() => &l.domains,
            (_, Some(o)) => &o.domains,
            (Some(l), None) => &l.domains,
            (None, None) => &[],
        }
    }

    // ------------------------------------------------- stateless fallback

    /// Starts the Information-request fallback when its rules (module doc)
    /// say so.
    fn consider_information(&mut self, now: Instant) {
        if !self.may_inform() {
            return;
        }
        if let Some(t) = self.inform_not_before {
            if now < t {
                return;
            }
            self.inform_not_before = None;
        }
        let due = match &self.other {
            Some(o) => now >= o.refresh_at,
            None => {
                let solicits = self
                    .exchange
                    .as_ref()
                    .and_then(|e| e.rtx.as_ref())
                    .map_or(0, Retransmit::count);
                self.refusal.is_some() || (self.ra_other && solicits >= 3)
            }
        };
        if due {
            let send_at = self.random_delay(rfc::INF_MAX_DELAY, now);
            let params = rfc::information_fallback(self.inf_max_rt);
            self.info = Some(self.new_exchange(
                Kind::Information,
                None,
                &IaContents::default(),
                params,
                None,
                Some(send_at),
            ));
        }
    }

    /// Soliciting without a lease and without an Information-request
    /// running: the only state in which the fallback starts.
    fn may_inform(&self) -> bool {
        self.state == State::Soliciting
            && self
                .exchange
                .as_ref()
                .is_some_and(|e| e.kind == Kind::Solicit)
            && self.lease.is_none()
            && self.info.is_none()
    }

    /// Timers of the Information-request exchange.
    fn on_info_tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(ex) = self.info.as_mut() else {
            return;
        };
        if let Some(at) = ex.send_at {
            if now >= at {
                start_transmitting(ex, now, &mut self.rng, &mut self.counters, out);
            }
            return;
        }
        let Some(rtx) = ex.rtx.as_mut() else {
            return;
        };
        match rtx.on_timer(now, &mut self.rng) {
            Timeout::NotYet => {}
            Timeout::Retransmit => {
                self.counters.retransmissions += 1;
                transmit(ex, now, &mut self.counters, out);
            }
            Timeout::GiveUp => {
                self.info = None;
                self.inform_not_before = now.checked_add(INFORM_RETRY);
            }
        }
    }

    fn on_information_reply(&mut self, msg: &Message, now: Instant, out: &mut Vec<Action>) {
        if let Some(status) = msg.status()
            && status.status != Status::Success
        {
            // 18.2.10: keep retransmitting; the engineer sees the count.
            return self.counters.drop(DropReason::ReplyFailureStatus);
        }
        let Some(server_id) = msg.server_id().cloned() else {
            return self.counters.drop(DropReason::BadServerId);
        };
        let refresh = msg
            .information_refresh_time()
            .map_or(rfc::IRT_DEFAULT, |s| Duration::from_secs(u64::from(s)))
            .max(rfc::IRT_MINIMUM);
        let refresh_at = now
            .checked_add(refresh)
            .or_else(|| now.checked_add(rfc::IRT_DEFAULT))
            .unwrap_or(now);
        self.other = Some(OtherConfig {
            server_id,
            dns_servers: msg.dns_servers(),
            domains: msg.domain_list(),
            ntp_servers: msg.ntp_servers(),
            aftr_name: aftr_text(msg),
            map_e: map_e_offer(msg),
            refresh_at,
        });
        self.inform_not_before = None;
        self.info = None;
        out.push(Action::OtherConfig);
    }

    /// Keeps the server's refusal of our IAs in `msg`, if any; reports it
    /// when it differs from the last one.
    fn note_refusal(&mut self, msg: &Message, now: Instant, out: &mut Vec<Action>) {
        let refused = |sc: Option<&StatusCode>| {
            sc.filter(|s| !matches!(s.status, Status::Success | Status::NoBinding))
                .cloned()
        };
        let found = refused(msg.status())
            .map(|s| ("message", s))
            .or_else(|| {
                msg.ia_pds()
                    .find(|ia| ia.iaid == self.config.iaid_pd)
                    .and_then(|ia| refused(ia.status()))
                    .map(|s| ("IA_PD", s))
            })
            .or_else(|| {
                msg.ia_nas()
                    .find(|ia| ia.iaid == self.config.iaid_na)
                    .and_then(|ia| refused(ia.status()))
                    .map(|s| ("IA_NA", s))
            });
        let (Some((scope, status)), Some(server_id)) = (found, msg.server_id().cloned()) else {
            return;
        };
        let refusal = Refusal {
            server_id,
            scope,
            status,
            at: now,
        };
        if self.refusal.as_ref().is_none_or(|r| !r.same_as(&refusal)) {
            out.push(Action::Refused(refusal.clone()));
        }
        self.refusal = Some(refusal);
    }

    // ------------------------------------------------------------ events

    fn on_start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Idle {
            return;
        }
        self.expire(now, out);
        if self.lease.is_some() {
            self.start_rebind(true, now, out);
        } else {
            self.start_solicit(now);
        }
    }

    /// 18.2.8: an address that failed DAD is not used; the server is told
    /// with a Decline so it does not hand it out again, and what is left
    /// of the lease stays bound (with no address left in it, the client
    /// asks again).
    fn on_dad_failed(&mut self, address: Ipv6Addr, now: Instant, out: &mut Vec<Action>) {
        let Some(lease) = self.lease.as_mut() else {
            return;
        };
        let Some(pos) = lease.addresses.iter().position(|a| a.address == address) else {
            return;
        };
        let gone = lease.addresses.remove(pos);
        let server = lease.server_id.clone();
        self.counters.declined += 1;
        out.push(Action::Update(LeaseUpdate {
            reason: UpdateReason::Declined,
            prefixes: lease.prefixes.clone(),
            previous_prefixes: Vec::new(),
            addresses: lease.addresses.clone(),
            previous_addresses: vec![gone],
        }));
        let ias = IaContents {
            pd: None,
            pd_excluded: Vec::new(),
            na: Some((self.config.iaid_na, vec![address])),
        };
        // Whatever was under way (a Renew, say) starts again after the
        // Decline from the T1/T2 logic.
        self.begin(
            Kind::Decline,
            Some(server),
            ias,
            rfc::DECLINE,
            None,
            None,
            now,
        );
        self.state = State::Declining;
        self.transmit_first(now, out);
    }

    /// The Decline exchange ended (Reply or DEC_MAX_RC).
    fn after_decline(&mut self, now: Instant) {
        self.exchange = None;
        let empty = self.lease.as_ref().is_none_or(Lease::is_empty);
        if empty {
            self.lease = None;
            self.start_solicit(now);
        } else {
            self.state = State::Bound;
        }
    }

    fn on_teardown(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.adverts.clear();
        let Some(lease) = self.lease.take() else {
            self.exchange = None;
            self.state = State::Idle;
            out.push(Action::Released);
            return;
        };
        // 18.2.7: stop using the bindings before the Release goes out.
        out.push(Action::Update(LeaseUpdate {
            reason: UpdateReason::Released,
            prefixes: Vec::new(),
            previous_prefixes: lease.prefixes.clone(),
            addresses: Vec::new(),
            previous_addresses: lease.addresses.clone(),
        }));
        let ias = IaContents {
            pd: (!lease.prefixes.is_empty()).then(|| {
                (
                    self.config.iaid_pd,
                    lease.prefixes.iter().map(|p| p.prefix).collect(),
                )
            }),
            pd_excluded: lease.live_excluded().copied().collect(),
            na: (!lease.addresses.is_empty()).then(|| {
                (
                    self.config.iaid_na,
                    lease.addresses.iter().map(|a| a.address).collect(),
                )
            }),
        };
        self.begin(
            Kind::Release,
            Some(lease.server_id),
            ias,
            rfc::RELEASE,
            None,
            None,
            now,
        );
        self.state = State::Releasing;
        self.transmit_first(now, out);
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.expire(now, out);
        if self.exchange.is_none() {
            if self.state == State::Bound
                && let Some(l) = &self.lease
            {
                if passed(l.t2, now) {
                    self.start_rebind(false, now, out);
                } else if passed(l.t1, now) {
                    self.start_renew(now, out);
                }
            }
            return;
        }
        let Some(ex) = self.exchange.as_mut() else {
            return;
        };
        if let Some(at) = ex.send_at {
            if now >= at {
                self.transmit_first(now, out);
            }
            return;
        }
        let Some(rtx) = ex.rtx.as_mut() else {
            return;
        };
        match rtx.on_timer(now, &mut self.rng) {
            Timeout::NotYet => {}
            Timeout::Retransmit if ex.kind == Kind::Solicit && !self.adverts.is_empty() => {
                // The collection window (first RT) closed with offers in hand.
                self.request_best(now, out);
            }
            Timeout::Retransmit => {
                self.counters.retransmissions += 1;
                self.transmit(now, out);
            }
            Timeout::GiveUp => self.exchange_failed(now, out),
        }
    }

    fn exchange_failed(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(kind) = self.exchange.as_ref().map(|e| e.kind) else {
            return;
        };
        self.exchange = None;
        match kind {
            // Solicit never gives up (MRC = MRD = 0).
            Kind::Solicit | Kind::Request => self.start_solicit(now),
            Kind::Renew => self.start_rebind(false, now, out),
            Kind::Rebind { verify: true } if self.lease.is_some() => self.state = State::Bound,
            Kind::Rebind { .. } => {
                self.lease = None;
                self.start_solicit(now);
            }
            Kind::Release => {
                self.state = State::Idle;
                out.push(Action::Released);
            }
            // 18.2.8: after DEC_MAX_RC, the client abandons the Decline.
            Kind::Decline => self.after_decline(now),
            // Runs in `info`, never as the main exchange.
            Kind::Information => {}
        }
    }

    /// Drops bindings whose valid lifetime passed; with none left, starts
    /// over with Solicit.
    fn expire(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(lease) = self.lease.as_mut() else {
            return;
        };
        let (gone_p, gone_a) = lease.take_expired(now);
        if gone_p.is_empty() && gone_a.is_empty() {
            return;
        }
        out.push(Action::Update(LeaseUpdate {
            reason: UpdateReason::Expired,
            prefixes: lease.prefixes.clone(),
            previous_prefixes: gone_p,
            addresses: lease.addresses.clone(),
            previous_addresses: gone_a,
        }));
        if lease.is_empty() {
            self.lease = None;
            if matches!(
                self.state,
                State::Bound | State::Renewing | State::Rebinding
            ) {
                self.start_solicit(now);
            }
        }
    }

    // ------------------------------------------------------ starting exchanges

    fn include_address(&self) -> bool {
        match self.config.request_address {
            AddressMode::Always => true,
            AddressMode::Never => false,
            AddressMode::Auto => self.ra_managed,
        }
    }

    /// The IAs we ask for, filled with what we hold.
    fn current_ias(&self) -> IaContents {
        let lease = self.lease.as_ref();
        let held_p: Vec<Ipv6Net> = lease
            .map(|l| l.prefixes.iter().map(|p| p.prefix).collect())
            .unwrap_or_default();
        let held_a: Vec<Ipv6Addr> = lease
            .map(|l| l.addresses.iter().map(|a| a.address).collect())
            .unwrap_or_default();
        IaContents {
            pd: (self.config.request_prefix || !held_p.is_empty())
                .then_some((self.config.iaid_pd, held_p)),
            pd_excluded: lease
                .map(|l| l.live_excluded().copied().collect())
                .unwrap_or_default(),
            na: (self.include_address() || !held_a.is_empty())
                .then_some((self.config.iaid_na, held_a)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn begin(
        &mut self,
        kind: Kind,
        server: Option<Duid>,
        ias: IaContents,
        params: Params,
        end: Option<Instant>,
        send_at: Option<Instant>,
        _now: Instant,
    ) {
        self.exchange = Some(self.new_exchange(kind, server, &ias, params, end, send_at));
    }

    /// A new exchange: its message built, nothing sent yet.
    fn new_exchange(
        &mut self,
        kind: Kind,
        server: Option<Duid>,
        ias: &IaContents,
        params: Params,
        end: Option<Instant>,
        send_at: Option<Instant>,
    ) -> Exchange {
        let msg_type = match kind {
            Kind::Solicit => MessageType::Solicit,
            Kind::Request => MessageType::Request,
            Kind::Renew => MessageType::Renew,
            Kind::Rebind { .. } => MessageType::Rebind,
            Kind::Release => MessageType::Release,
            Kind::Decline => MessageType::Decline,
            Kind::Information => MessageType::InformationRequest,
        };
        // A new transaction id per exchange, kept across retransmissions.
        let xid = TransactionId::new(self.rng.next_u64() as u32);
        let message = build(
            msg_type,
            xid,
            &self.duid,
            server.as_ref(),
            ias,
            self.config.rapid_commit,
            &self.config.extra_oro,
        );
        Exchange {
            kind,
            message,
            server,
            params,
            end,
            send_at,
            first_sent: None,
            rtx: None,
        }
    }

    fn random_delay(&mut self, max: Duration, now: Instant) -> Instant {
        let us = self.rng.below(max.as_micros() as u64);
        now.checked_add(Duration::from_micros(us)).unwrap_or(now)
    }

    fn start_solicit(&mut self, now: Instant) {
        self.adverts.clear();
        let mut ias = self.current_ias();
        if let Some((_, prefixes)) = ias.pd.as_mut()
            && prefixes.is_empty()
            && self.config.prefix_hint != 0
        {
            // The length hint: an IA Prefix `::/hint` (RFC 8415 18.2.1).
            if let Ok(hint) = Ipv6Net::new(Ipv6Addr::UNSPECIFIED, self.config.prefix_hint) {
                prefixes.push(hint);
            }
        }
        // SOL_MAX_DELAY: a random 0..1 s wait before the first Solicit, so a
        // neighbourhood of routers powered on together does not flood the
        // server. This is the floor of our time-to-prefix.
        let send_at = self.random_delay(rfc::SOL_MAX_DELAY, now);
        let params = rfc::solicit(self.sol_max_rt);
        self.begin(Kind::Solicit, None, ias, params, None, Some(send_at), now);
        self.state = State::Soliciting;
    }

    fn start_request(
        &mut self,
        server: Duid,
        ias: IaContents,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.adverts.clear();
        self.begin(
            Kind::Request,
            Some(server),
            ias,
            rfc::REQUEST,
            None,
            None,
            now,
        );
        self.state = State::Requesting;
        self.transmit_first(now, out);
    }

    fn start_renew(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(lease) = &self.lease else { return };
        let (server, end) = (lease.server_id.clone(), lease.t2);
        let ias = self.current_ias();
        self.begin(Kind::Renew, Some(server), ias, rfc::RENEW, end, None, now);
        self.state = State::Renewing;
        self.transmit_first(now, out);
    }

    fn start_rebind(&mut self, verify: bool, now: Instant, out: &mut Vec<Action>) {
        let Some(lease) = &self.lease else { return };
        let end = lease.last_expiry();
        let ias = self.current_ias();
        let (params, send_at) = if verify {
            let at = self.random_delay(rfc::CNF_MAX_DELAY, now);
            (rfc::VERIFY_REBIND, Some(at))
        } else {
            (rfc::REBIND, None)
        };
        self.begin(
            Kind::Rebind { verify },
            None,
            ias,
            params,
            end,
            send_at,
            now,
        );
        self.state = State::Rebinding;
        if send_at.is_none() {
            self.transmit_first(now, out);
        }
    }

    fn request_best(&mut self, now: Instant, out: &mut Vec<Action>) {
        // Highest preference wins; among equals, the first received.
        let best = self
            .adverts
            .iter()
            .fold(None::<&Advert>, |best, a| match best {
                Some(b) if b.preference >= a.preference => Some(b),
                _ => Some(a),
            });
        let Some(best) = best.cloned() else { return };
        let ias = IaContents {
            pd: self
                .config
                .request_prefix
                .then(|| (self.config.iaid_pd, best.prefixes.clone())),
            pd_excluded: Vec::new(),
            na: (self.include_address() || !best.addresses.is_empty())
                .then(|| (self.config.iaid_na, best.addresses.clone())),
        };
        self.start_request(best.server, ias, now, out);
    }

    // ------------------------------------------------------------ sending

    fn transmit_first(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(ex) = self.exchange.as_mut() {
            start_transmitting(ex, now, &mut self.rng, &mut self.counters, out);
        }
    }

    fn transmit(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(ex) = self.exchange.as_mut() {
            transmit(ex, now, &mut self.counters, out);
        }
    }

    // ------------------------------------------------------------ receiving

    fn on_packet(&mut self, bytes: &[u8], now: Instant, out: &mut Vec<Action>) {
        self.counters.received += 1;
        let msg = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => return self.counters.malformed(e.reason()),
        };
        // A Reply to the Information-request running beside the Solicit.
        let to_info = self.info.as_ref().is_some_and(|ex| {
            ex.first_sent.is_some() && msg.transaction_id == ex.message.transaction_id
        });
        let checked = if to_info {
            self.validate(&msg, self.info.as_ref())
        } else {
            self.validate(&msg, self.exchange.as_ref())
        };
        if let Err(reason) = checked {
            return self.counters.drop(reason);
        }
        // 21.24: honour SOL_MAX_RT from any valid Advertise or Reply, even
        // one we otherwise ignore.
        if let Some(v) = msg.sol_max_rt()
            && rfc::MAX_RT_BOUNDS.contains(&v)
        {
            self.sol_max_rt = Duration::from_secs(u64::from(v));
            if let Some(ex) = self.exchange.as_mut().filter(|e| e.kind == Kind::Solicit)
                && let Some(rtx) = ex.rtx.as_mut()
            {
                rtx.set_mrt(self.sol_max_rt);
            }
        }
        // 21.25: the same for INF_MAX_RT.
        if let Some(v) = msg.inf_max_rt()
            && rfc::MAX_RT_BOUNDS.contains(&v)
        {
            self.inf_max_rt = Duration::from_secs(u64::from(v));
        }
        if to_info {
            return match msg.msg_type {
                MessageType::Reply => self.on_information_reply(&msg, now, out),
                _ => self.counters.drop(DropReason::UnexpectedType),
            };
        }
        let Some(kind) = self.exchange.as_ref().map(|e| e.kind) else {
            return;
        };
        match (kind, msg.msg_type) {
            (Kind::Solicit, MessageType::Advertise) => self.on_advertise(&msg, now, out),
            (Kind::Solicit, MessageType::Reply) => {
                if self.config.rapid_commit && msg.has_rapid_commit() {
                    self.on_reply(&msg, kind, now, out);
                } else {
                    self.counters.drop(DropReason::ReplyWithoutRapidCommit);
                }
            }
            (_, MessageType::Reply) => self.on_reply(&msg, kind, now, out),
            _ => self.counters.drop(DropReason::UnexpectedType),
        }
    }

    /// The checks every Advertise/Reply must pass (16.3, 16.10).
    fn validate(&self, msg: &Message, exchange: Option<&Exchange>) -> Result<(), DropReason> {
        if !matches!(msg.msg_type, MessageType::Advertise | MessageType::Reply) {
            return Err(DropReason::UnexpectedType);
        }
        let ex = exchange
            .filter(|e| e.first_sent.is_some())
            .ok_or(DropReason::NoExchange)?;
        if msg.transaction_id != ex.message.transaction_id {
            return Err(DropReason::WrongTransactionId);
        }
        if msg.count(code::SERVER_ID) != 1 {
            return Err(DropReason::BadServerId);
        }
        if msg.count(code::CLIENT_ID) != 1 || msg.client_id() != Some(&self.duid) {
            return Err(DropReason::BadClientId);
        }
        if let Some(server) = &ex.server
            && msg.server_id() != Some(server)
        {
            return Err(DropReason::WrongServer);
        }
        Ok(())
    }

    fn on_advertise(&mut self, msg: &Message, now: Instant, out: &mut Vec<Action>) {
        let pd = self
            .config
            .request_prefix
            .then(|| prefix_answer(msg, self.config.iaid_pd))
            .flatten();
        let na = address_answer(msg, self.config.iaid_na);
        let prefixes: Vec<Ipv6Net> = pd.iter().flat_map(|a| a.live().map(|l| l.0)).collect();
        let addresses: Vec<Ipv6Addr> = na.iter().flat_map(|a| a.live().map(|l| l.0)).collect();
        // 18.2.9: an Advertise with neither prefix nor address is ignored
        // (NoPrefixAvail / NoAddrsAvail included).
        let (Some(server), false) = (
            msg.server_id().cloned(),
            prefixes.is_empty() && addresses.is_empty(),
        ) else {
            self.note_refusal(msg, now, out);
            return self.counters.drop(DropReason::AdvertiseWithoutLeases);
        };
        let preference = msg.preference();
        self.adverts.push(Advert {
            server,
            preference,
            prefixes,
            addresses,
        });
        let window_open = self
            .exchange
            .as_ref()
            .and_then(|e| e.rtx.as_ref())
            .is_some_and(|r| r.count() == 1);
        // 255: act at once; after the first RT: act on the first offer.
        if preference == 255 || !window_open {
            self.request_best(now, out);
        }
    }

    fn on_reply(&mut self, msg: &Message, kind: Kind, now: Instant, out: &mut Vec<Action>) {
        if kind == Kind::Release {
            // Any Reply ends a Release, whatever its status (18.2.10.2).
            self.exchange = None;
            self.state = State::Idle;
            out.push(Action::Released);
            return;
        }
        if kind == Kind::Decline {
            // Any Reply ends a Decline (18.2.10.3).
            return self.after_decline(now);
        }
        self.note_refusal(msg, now, out);
        if let Some(status) = msg.status().map(|s| s.status)
            && status != Status::Success
        {
            if status == Status::NotOnLink && matches!(kind, Kind::Solicit | Kind::Request) {
                self.exchange = None;
                return self.start_solicit(now);
            }
            // UnspecFail, UseMulticast (we already multicast), ...: keep
            // retransmitting at the RFC's pace.
            return self.counters.drop(DropReason::ReplyFailureStatus);
        }
        let Some(server) = msg.server_id().cloned() else {
            return self.counters.drop(DropReason::BadServerId);
        };
        let pd = self
            .config
            .request_prefix
            .then(|| prefix_answer(msg, self.config.iaid_pd))
            .flatten();
        let na = address_answer(msg, self.config.iaid_na);
        let extending = matches!(kind, Kind::Renew | Kind::Rebind { .. });
        let no_binding =
            matches!(pd, Some(IaAnswer::NoBinding)) || matches!(na, Some(IaAnswer::NoBinding));
        if extending && no_binding {
            // 18.2.10.1: the server lost our binding (e.g. it restarted):
            // Request it from that server, keeping what we hold meanwhile.
            let ias = self.current_ias();
            self.exchange = None;
            return self.start_request(server, ias, now, out);
        }
        let pd_update = match &pd {
            Some(IaAnswer::Leases(u)) => Some(u),
            _ => None,
        };
        let na_update = match &na {
            Some(IaAnswer::Leases(u)) => Some(u),
            _ => None,
        };
        if pd_update.is_none() && na_update.is_none() {
            match kind {
                // Nothing granted: try the servers again.
                Kind::Request => {
                    self.exchange = None;
                    self.start_solicit(now);
                }
                // A rapid-commit Reply without bindings: like an empty
                // Advertise, keep soliciting at the current pace.
                Kind::Solicit => self.counters.drop(DropReason::AdvertiseWithoutLeases),
                // 18.2.10.1: as if no Reply had come; retransmit normally.
                _ => self.counters.drop(DropReason::ReplyWithoutIa),
            }
            return;
        }
        self.bind(msg, server, pd_update, na_update, kind, now, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn bind(
        &mut self,
        msg: &Message,
        server: Duid,
        pd: Option<&crate::lease::IaUpdate<Ipv6Net>>,
        na: Option<&crate::lease::IaUpdate<Ipv6Addr>>,
        kind: Kind,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let mut lease = self.lease.take().unwrap_or_else(|| Lease {
            server_id: server.clone(),
            prefixes: Vec::new(),
            addresses: Vec::new(),
            t1: None,
            t2: None,
            dns_servers: Vec::new(),
            domains: Vec::new(),
            excluded: Vec::new(),
            ntp_servers: Vec::new(),
        });
        lease.server_id = server;
        let mut previous_prefixes = Vec::new();
        let mut previous_addresses = Vec::new();
        let (mut t1, mut t2) = (None, None);
        let mut first = true;
        let mut fold_times = |(a, b): (Option<Instant>, Option<Instant>)| {
            if first {
                (t1, t2) = (a, b);
                first = false;
            } else {
                (t1, t2) = (earliest(t1, a), earliest(t2, b));
            }
        };
        if let Some(u) = pd {
            previous_prefixes = apply_prefixes(&mut lease.prefixes, u, now);
            // RFC 6603 4.2: "Any prefix excluded from the delegated prefix
            // MUST be contained in OPTION_PD_EXCLUDE options within the
            // corresponding OPTION_IAPREFIX", so each answer says it anew.
            let (excluded, bad) = prefix_exclusions(msg, self.config.iaid_pd);
            bad.into_iter().for_each(|r| self.counters.malformed(r));
            lease.excluded = excluded;
            let kept: Vec<Ipv6Net> = lease.live_excluded().copied().collect();
            lease.excluded = kept;
            let live = u.leases.iter().filter(|l| l.2 != 0).map(|l| l.1);
            fold_times(renewal_times(u.t1, u.t2, live, now));
        }
        if let Some(u) = na {
            previous_addresses = apply_addresses(&mut lease.addresses, u, now);
            let live = u.leases.iter().filter(|l| l.2 != 0).map(|l| l.1);
            fold_times(renewal_times(u.t1, u.t2, live, now));
        }
        // Granted only when this answer's IA_PD carries a live prefix; a
        // Renew answered with the address and IA_PD NoPrefixAvail keeps
        // the old prefix (on its own lifetimes) and the refusal.
        let pd_granted = pd.is_some_and(|u| u.leases.iter().any(|l| l.2 != 0));
        lease.t1 = t1;
        lease.t2 = t2;
        lease.dns_servers = msg.dns_servers();
        lease.domains = msg.domain_list();
        lease.ntp_servers = msg.ntp_servers();
        self.lease_aftr = aftr_text(msg);
        self.lease_map_e = map_e_offer(msg);
        let reason = match kind {
            Kind::Renew => UpdateReason::Renewed,
            Kind::Rebind { .. } => UpdateReason::Rebound,
            _ => UpdateReason::Bound,
        };
        out.push(Action::Update(LeaseUpdate {
            reason,
            prefixes: lease.prefixes.clone(),
            previous_prefixes,
            addresses: lease.addresses.clone(),
            previous_addresses,
        }));
        self.exchange = None;
        self.adverts.clear();
        if lease.is_empty() {
            // The server withdrew everything (valid lifetime 0).
            self.lease = None;
            self.start_solicit(now);
        } else {
            if pd_granted {
                // What was refused has been granted.
                self.refusal = None;
            }
            // Bound: the lease's Renew and Rebind bring the options now.
            self.info = None;
            self.lease = Some(lease);
            self.state = State::Bound;
        }
    }
}

/// Arms retransmission for `ex` and sends its first transmission.
fn start_transmitting(
    ex: &mut Exchange,
    now: Instant,
    rng: &mut Rng,
    counters: &mut Counters,
    out: &mut Vec<Action>,
) {
    ex.send_at = None;
    ex.first_sent = Some(now);
    let positive = ex.kind == Kind::Solicit;
    ex.rtx = Some(Retransmit::start(ex.params, now, ex.end, positive, rng));
    transmit(ex, now, counters, out);
}

/// Sends `ex`'s message with Elapsed Time brought up to date.
fn transmit(ex: &mut Exchange, now: Instant, counters: &mut Counters, out: &mut Vec<Action>) {
    let elapsed = ex
        .first_sent
        .map(|t| now.saturating_duration_since(t))
        .unwrap_or_default();
    set_elapsed(&mut ex.message, elapsed);
    match ex.message.to_bytes() {
        Ok(bytes) => {
            counters.transmitted += 1;
            out.push(Action::Transmit(bytes));
        }
        Err(e) => log::error!("cannot encode {:?}: {e}", ex.message.msg_type),
    }
}

impl cpe_daemon::Engine for Client {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        let mut out = Vec::new();
        match input {
            Input::Restore(lease) => {
                out.push(Action::Update(LeaseUpdate {
                    reason: UpdateReason::Restored,
                    prefixes: lease.prefixes.clone(),
                    previous_prefixes: Vec::new(),
                    addresses: lease.addresses.clone(),
                    previous_addresses: Vec::new(),
                }));
                self.lease = Some(lease);
            }
            Input::Start => self.on_start(now, &mut out),
            Input::Pause => {
                self.exchange = None;
                self.info = None;
                self.adverts.clear();
                self.state = State::Idle;
            }
            Input::Teardown => {
                self.info = None;
                self.on_teardown(now, &mut out);
            }
            Input::RaFlags { managed, other } => {
                self.ra_managed = managed;
                self.ra_other = other;
            }
            Input::Packet(bytes) => {
                self.expire(now, &mut out);
                self.on_packet(bytes, now, &mut out);
                self.consider_information(now);
            }
            Input::DadFailed(address) => self.on_dad_failed(address, now, &mut out),
        }
        self.actions.extend(out);
    }

    fn handle_timeout(&mut self, now: Instant) {
        let mut out = Vec::new();
        self.on_tick(now, &mut out);
        self.on_info_tick(now, &mut out);
        self.consider_information(now);
        self.actions.extend(out);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest of: the pending exchange's (re)transmission, the
    /// lease's T1/T2 or first expiry, the stateless fallback's wake-up.
    fn poll_timeout(&self) -> Option<Instant> {
        let due = |ex: &Exchange| {
            ex.send_at
                .or_else(|| ex.rtx.as_ref().map(Retransmit::deadline))
        };
        let exchange = earliest(
            self.exchange.as_ref().and_then(due),
            self.info.as_ref().and_then(due),
        );
        let lease = self.lease.as_ref().and_then(|l| {
            let renew = if self.state == State::Bound {
                earliest(l.t1, l.t2)
            } else {
                None
            };
            earliest(l.first_expiry(), renew)
        });
        // The fallback's own wake-ups (a refresh, the end of a retry
        // wait), only under the conditions in which `consider_information`
        // acts on them: anything else would wake the driver in a loop.
        let fallback = if self.may_inform() {
            match (&self.other, self.inform_not_before) {
                (Some(o), t) => Some(t.map_or(o.refresh_at, |t| t.max(o.refresh_at))),
                (None, t) => t,
            }
        } else {
            None
        };
        earliest(earliest(exchange, lease), fallback)
    }
}

/// The MAP-E container of `msg` (RFC 7598 5.1): its S46 Rules with their
/// PSID offset (S46_PORTPARAMS, else RFC 7597's default 6) and its BRs.
/// An empty container counts as absent.
fn map_e_offer(msg: &Message) -> Option<MapEOffer> {
    let mut offer = MapEOffer::default();
    for o in msg.map_e()? {
        match o {
            DhcpOption::S46Rule(r) => {
                let Ok(ipv6_prefix) = Ipv6Net::new(r.ipv6_prefix, r.prefix6_len) else {
                    continue;
                };
                offer.rules.push(MapEOfferedRule {
                    ipv6_prefix: ipv6_prefix.trunc(),
                    ipv4_prefix: r.ipv4_prefix,
                    ipv4_len: r.prefix4_len,
                    ea_bits: r.ea_len,
                    psid_offset: r.port_params().map_or(6, |p| p.offset),
                    fmr: r.is_fmr(),
                });
            }
            DhcpOption::S46Br(a) => offer.br.push(*a),
            _ => {}
        }
    }
    (!offer.rules.is_empty() || !offer.br.is_empty()).then_some(offer)
}

/// The AFTR name of `msg` as lower-case text without the final dot; the
/// root name (no labels) counts as absent: there is no tunnel to it.
fn aftr_text(msg: &Message) -> Option<String> {
    let text = msg.aftr_name()?.to_string().to_ascii_lowercase();
    let text = text.strip_suffix('.').unwrap_or(&text).to_owned();
    (!text.is_empty()).then_some(text)
}
