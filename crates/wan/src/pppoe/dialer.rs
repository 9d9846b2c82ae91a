//! The whole PPPoE connection as one sans-IO engine: discovery, the kernel
//! session, the PPP session on top, and the reconnect policy around them.
//!
//! [`Discovery`] finds the access concentrator and gets a session id; the
//! driver then hands the session to the kernel ([`DialAction::Attach`]) and
//! reports back ([`DialInput::Attached`] with the `pppN` name, or why not).
//! From there [`Session`] negotiates LCP, authentication and the NCPs over
//! the kernel's channel, and every fact the WAN needs (MRU, addresses,
//! resolvers) leaves as an action for the driver to configure on `pppN`.
//!
//! Every end of a session goes through one path: deconfigure the families,
//! close the kernel session, PADT when the session is still ours to end
//! (not when the AC ended it or the carrier went), then a reconnect after a
//! backoff. The backoff starts at `reconnect_min`, doubles per failed try up
//! to `reconnect_max` and gets up to a quarter added at random, so routers
//! behind one BRAS that lost the same line do not all redial in the same
//! second; it starts over once a session reaches the Network phase. After
//! an authentication failure the wait is at least [`AUTH_FAILURE_HOLDOFF`].
//!
//! A kernel without PPP (no `AF_PPPOX`, no `/dev/ppp`) is not retried: it
//! cannot grow PPP support at runtime, and each retry would only make the
//! BRAS allocate a session for nothing. The console says so, once.

use super::discovery::{self, Discovery, Input, Mac};
use crate::config::WanSettings;
use crate::ppp::ipcp::Ipv4Params;
use crate::ppp::ipv6cp::Ipv6Params;
use crate::ppp::session::{Phase, Session, SessionAction, SessionConfig, SessionInput};
use crate::ppp::{Frame, Rng};
use cpe_daemon::Engine;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The least wait before redialling after the AC refused our credentials.
/// A wrong password is not fixed by redialling, only by the engineer, and
/// BRASes behind RADIUS count rejects per line (some lock the line after a
/// burst); two minutes keeps us under 30 attempts an hour while a corrected
/// password is still picked up soon.
pub const AUTH_FAILURE_HOLDOFF: Duration = Duration::from_secs(120);

/// What the dialer is configured with.
#[derive(Debug, Clone)]
pub struct DialerConfig {
    /// PPPoE discovery.
    pub discovery: discovery::DiscoveryConfig,
    /// The PPP session (credentials redacted in `Debug`).
    pub session: SessionConfig,
    /// First reconnect wait.
    pub reconnect_min: Duration,
    /// Ceiling of the doubling.
    pub reconnect_max: Duration,
    /// `wan.mtu`: the most `pppN` may send, whatever the peer's MRU.
    pub mtu: u32,
    /// Seed for the engines' generators and the jitter.
    pub seed: u64,
}

impl DialerConfig {
    /// The dialer for `settings`, with our Host-Uniq and a seed from the OS.
    pub fn new(settings: &WanSettings, host_uniq: Vec<u8>, seed: u64) -> DialerConfig {
        let p = &settings.pppoe;
        let secs = |s: u32| Duration::from_secs(u64::from(s));
        DialerConfig {
            discovery: discovery::DiscoveryConfig::new(
                &p.service,
                &p.ac_name,
                host_uniq,
                secs(p.reconnect_min),
            ),
            session: SessionConfig::from_settings(settings),
            reconnect_min: secs(p.reconnect_min),
            reconnect_max: secs(p.reconnect_max.max(p.reconnect_min)),
            mtu: settings.mtu,
            seed,
        }
    }
}

/// What the dialer takes.
#[derive(Debug, Clone, Copy)]
pub enum DialInput<'a> {
    /// The WAN link has carrier: discover.
    Start,
    /// Carrier lost: the session is gone without PADT.
    LinkDown,
    /// A discovery packet (ethertype 0x8863) from `src`.
    Discovery {
        /// Source MAC.
        src: Mac,
        /// The PPPoE packet.
        packet: &'a [u8],
    },
    /// The kernel session for [`DialAction::Attach`] exists as `unit`.
    Attached {
        /// `pppN`.
        unit: &'a str,
    },
    /// The kernel session could not be set up.
    AttachFailed {
        /// Why, naming the call and errno.
        cause: &'a str,
        /// False when trying again cannot help (the kernel has no PPP).
        retry: bool,
    },
    /// A PPP control frame from the kernel (Protocol field first).
    Ppp(&'a [u8]),
    /// The kernel closed the PPP channel, or reading it failed.
    ChannelClosed(&'a str),
    /// The daemon is stopping.
    Stop,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialAction {
    /// Send a discovery packet.
    SendDiscovery {
        /// Destination MAC.
        dst: Mac,
        /// The PPPoE packet.
        packet: Vec<u8>,
    },
    /// Persist the live session (`None`: forget it).
    Save(Option<(u16, Mac)>),
    /// Create the kernel session (AF_PPPOX, /dev/ppp, `pppN`) for this.
    Attach(discovery::Session),
    /// Send a PPP control frame on the channel.
    SendPpp(Frame),
    /// LCP is up: set the unit's MRU and MTU and bring `pppN` up.
    LinkUp {
        /// Our MRU (`PPPIOCSMRU`).
        mru: u16,
        /// The interface MTU: the peer's MRU, at most `wan.mtu`.
        mtu: u32,
    },
    /// Configure IPv4 from IPCP.
    Ipv4Up(Ipv4Params),
    /// Remove it.
    Ipv4Down,
    /// Configure the IPv6 link-local address from IPV6CP.
    Ipv6Up(Ipv6Params),
    /// Remove it.
    Ipv6Down,
    /// Close the kernel session (unit, channel, PPPoX socket).
    Detach,
}

/// The dialer.
#[derive(Debug)]
pub struct Dialer {
    config: DialerConfig,
    discovery: Discovery,
    /// The session waiting for [`DialInput::Attached`].
    attaching: Option<discovery::Session>,
    /// The PPP session, while a kernel session exists.
    ppp: Option<Session>,
    unit: Option<String>,
    rng: Rng,
    carrier: bool,
    stopping: bool,
    /// The kernel cannot carry PPP: no more attempts.
    fatal: bool,
    backoff: Duration,
    next_attempt: Option<Instant>,
    /// The wait chosen for [`Self::next_attempt`], and whether it is the
    /// hold-off after an authentication failure (for the reason line).
    next_wait: Option<(Duration, bool)>,
    reconnects: u64,
    auth_failed: bool,
    link_mtu: Option<u32>,
    ipv4: Option<Ipv4Params>,
    ipv6: Option<Ipv6Params>,
    /// The last PPP session's status, kept after it ended for the console.
    last_ppp: Option<crate::ppp::session::SessionStatus>,
    actions: VecDeque<DialAction>,
}

impl Dialer {
    /// An idle dialer; [`DialInput::Start`] begins discovery.
    pub fn new(config: DialerConfig) -> Dialer {
        let rng = Rng::new(config.seed);
        Dialer {
            discovery: Discovery::new(config.discovery.clone()),
            backoff: config.reconnect_min,
            config,
            attaching: None,
            ppp: None,
            unit: None,
            rng,
            carrier: false,
            stopping: false,
            fatal: false,
            next_attempt: None,
            next_wait: None,
            reconnects: 0,
            auth_failed: false,
            link_mtu: None,
            ipv4: None,
            ipv6: None,
            last_ppp: None,
            actions: VecDeque::new(),
        }
    }

    /// PADT for a session left from before a restart (crash, power cut).
    pub fn clear_stale(&mut self, session_id: u16, ac: Mac, now: Instant) {
        self.discovery_input(Input::ClearStale { session_id, ac }, now);
    }

    /// The discovery engine (phase, AC, counters).
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The PPP session while one runs.
    pub fn ppp(&self) -> Option<&Session> {
        self.ppp.as_ref()
    }

    /// The status of the running PPP session, else of the last one.
    pub fn ppp_status(&self) -> Option<crate::ppp::session::SessionStatus> {
        self.ppp
            .as_ref()
            .map(Session::status)
            .or_else(|| self.last_ppp.clone())
    }

    /// `pppN` while the kernel session exists.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// IPv4 from IPCP while up.
    pub fn ipv4(&self) -> Option<&Ipv4Params> {
        self.ipv4.as_ref()
    }

    /// IPv6 from IPV6CP while up.
    pub fn ipv6(&self) -> Option<&Ipv6Params> {
        self.ipv6.as_ref()
    }

    /// The MTU set on `pppN` once LCP opened.
    pub fn link_mtu(&self) -> Option<u32> {
        self.link_mtu.filter(|_| self.ppp.is_some())
    }

    /// Reconnect attempts made so far.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// When the next reconnect is due, if one is scheduled.
    pub fn next_attempt(&self) -> Option<Instant> {
        self.next_attempt
    }

    /// How long the wait before [`Self::next_attempt`] was when chosen, and
    /// whether it is the authentication-failure hold-off.
    pub fn next_wait(&self) -> Option<(Duration, bool)> {
        self.next_attempt.and(self.next_wait)
    }

    /// The PPP phase while a session runs past discovery, else `None`.
    pub fn ppp_phase(&self) -> Option<Phase> {
        self.ppp
            .as_ref()
            .map(Session::phase)
            .filter(|p| *p != Phase::Dead)
    }

    /// Whether the dialer gave up for good (the kernel has no PPP).
    pub fn gave_up(&self) -> bool {
        self.fatal
    }

    /// Whether at least one family is up (the WAN can route).
    pub fn is_up(&self) -> bool {
        self.ipv4.is_some() || self.ipv6.is_some()
    }

    fn discovery_input(&mut self, input: Input<'_>, now: Instant) {
        self.discovery.handle(input, now);
        self.pump(now);
    }

    /// Moves discovery's and the session's actions into the queue.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut quiet = true;
            while let Some(a) = self.discovery.poll_action() {
                quiet = false;
                self.on_discovery(a, now);
            }
            while let Some(a) = self.ppp.as_mut().and_then(Session::poll_action) {
                quiet = false;
                self.on_ppp(a, now);
            }
            if quiet {
                return;
            }
        }
    }

    fn on_discovery(&mut self, action: discovery::Action, now: Instant) {
        match action {
            discovery::Action::Send { dst, packet } => {
                self.actions
                    .push_back(DialAction::SendDiscovery { dst, packet });
            }
            discovery::Action::SessionUp(s) => {
                // Remembered before anything can crash, so a restart can
                // free it on the AC.
                self.actions
                    .push_back(DialAction::Save(Some((s.id, s.ac.mac))));
                self.attaching = Some(s.clone());
                self.actions.push_back(DialAction::Attach(s));
            }
            discovery::Action::SessionDown { session, reason } => {
                log::info!("pppoe: session 0x{:04x} down: {reason}", session.id);
                self.actions.push_back(DialAction::Save(None));
                self.attaching = None;
                self.detach(now);
                // The AC's PADT put discovery in its own short hold-off;
                // the reconnect policy here takes over.
                if self.discovery.phase() == discovery::Phase::Holdoff {
                    self.discovery.handle(Input::Close { reason }, now);
                    self.schedule(now);
                }
            }
        }
    }

    fn on_ppp(&mut self, action: SessionAction, now: Instant) {
        match action {
            SessionAction::Send(f) => self.actions.push_back(DialAction::SendPpp(f)),
            SessionAction::Phase(p) => log::info!("ppp: phase {}", p.as_str()),
            SessionAction::LinkUp(params) => {
                let mtu = u32::from(params.peer_mru).min(self.config.mtu);
                self.link_mtu = Some(mtu);
                log::info!(
                    "ppp: LCP up (MRU {}, peer MRU {}, MTU {mtu}, auth {})",
                    params.mru,
                    params.peer_mru,
                    params.auth.map_or("none", |a| a.as_str())
                );
                self.actions.push_back(DialAction::LinkUp {
                    mru: params.mru,
                    mtu,
                });
            }
            SessionAction::Authenticated(msg) => {
                self.auth_failed = false;
                log::info!(
                    "ppp: authenticated: {}",
                    crate::ppp::peer_text(msg.as_bytes())
                );
            }
            SessionAction::AuthFailed(f) => {
                self.auth_failed = true;
                log::warn!("ppp: authentication failed: {f}");
            }
            SessionAction::Ipv4Up(p) => {
                self.backoff = self.config.reconnect_min;
                self.ipv4 = Some(p.clone());
                self.actions.push_back(DialAction::Ipv4Up(p));
            }
            SessionAction::Ipv4Down(reason) => {
                log::warn!("ppp: IPv4 down: {reason}");
                if self.ipv4.take().is_some() {
                    self.actions.push_back(DialAction::Ipv4Down);
                }
            }
            SessionAction::Ipv6Up(p) => {
                self.backoff = self.config.reconnect_min;
                self.ipv6 = Some(p);
                self.actions.push_back(DialAction::Ipv6Up(p));
            }
            SessionAction::Ipv6Down(reason) => {
                log::warn!("ppp: IPv6 down: {reason}");
                if self.ipv6.take().is_some() {
                    self.actions.push_back(DialAction::Ipv6Down);
                }
            }
            SessionAction::LinkDown(reason) => log::warn!("ppp: link down: {reason}"),
            SessionAction::Finished(reason) => self.end(&reason, now),
        }
    }

    /// Ends the session on our side: PPP down, kernel session closed, PADT
    /// (while discovery still holds the session), reconnect later.
    fn end(&mut self, reason: &str, now: Instant) {
        self.detach(now);
        let reason = match self.discovery.session() {
            Some(s) => format!(
                "PPPoE session 0x{:04x} with AC {}: {reason}",
                s.id,
                s.ac.describe()
            ),
            None => reason.to_owned(),
        };
        self.discovery.handle(Input::Close { reason }, now);
        self.schedule(now);
        self.pump(now);
    }

    /// Drops the PPP session and the kernel session, deconfiguring first.
    fn detach(&mut self, now: Instant) {
        if let Some(mut s) = self.ppp.take() {
            s.handle(SessionInput::LowerDown, now);
            while let Some(a) = s.poll_action() {
                if matches!(a, SessionAction::Ipv4Down(_) | SessionAction::Ipv6Down(_)) {
                    self.on_ppp(a, now);
                }
            }
            self.last_ppp = Some(s.status());
        }
        if self.ipv4.take().is_some() {
            self.actions.push_back(DialAction::Ipv4Down);
        }
        if self.ipv6.take().is_some() {
            self.actions.push_back(DialAction::Ipv6Down);
        }
        if self.unit.take().is_some() {
            self.actions.push_back(DialAction::Detach);
        }
        self.link_mtu = None;
    }

    /// Schedules the next attempt per the backoff (nothing while stopping,
    /// without carrier or on a kernel without PPP).
    fn schedule(&mut self, now: Instant) {
        if self.stopping || !self.carrier || self.fatal || self.next_attempt.is_some() {
            return;
        }
        let base = self.backoff;
        let quarter = u64::try_from(base.as_millis() / 4).unwrap_or(u64::MAX);
        let jitter = Duration::from_millis(self.rng.next_u64() % quarter.saturating_add(1));
        let mut wait = (base + jitter).min(self.config.reconnect_max.max(base));
        let auth = std::mem::take(&mut self.auth_failed);
        if auth {
            wait = wait.max(AUTH_FAILURE_HOLDOFF);
        }
        self.next_wait = Some((wait, auth));
        self.backoff = (base * 2).min(self.config.reconnect_max.max(self.config.reconnect_min));
        log::info!("pppoe: reconnecting in {:.1} s", wait.as_secs_f32());
        self.next_attempt = Some(now + wait);
    }

    fn describe(s: &discovery::Session) -> String {
        format!("PPPoE session 0x{:04x} with AC {}", s.id, s.ac.describe())
    }
}

impl Engine for Dialer {
    type Input<'a> = DialInput<'a>;
    type Action = DialAction;

    fn handle(&mut self, input: DialInput<'_>, now: Instant) {
        match input {
            DialInput::Start => {
                self.carrier = true;
                self.stopping = false;
                if !self.fatal && self.next_attempt.is_none() {
                    self.discovery_input(Input::Start, now);
                }
            }
            DialInput::LinkDown => {
                self.carrier = false;
                self.next_attempt = None;
                self.detach(now);
                self.discovery_input(Input::LinkDown, now);
            }
            DialInput::Discovery { src, packet } => {
                self.discovery_input(Input::Frame { src, packet }, now);
            }
            DialInput::Attached { unit } => {
                let Some(s) = self.attaching.take() else {
                    // The session ended while the kernel set it up.
                    self.actions.push_back(DialAction::Detach);
                    return;
                };
                log::info!("pppoe: {} attached as {unit}", Self::describe(&s));
                self.unit = Some(unit.to_owned());
                let seed = self.rng.next_u64();
                let mut ppp = Session::new(self.config.session.clone(), seed);
                ppp.handle(SessionInput::Start, now);
                self.ppp = Some(ppp);
                self.pump(now);
            }
            DialInput::AttachFailed { cause, retry } => {
                if self.attaching.take().is_none() {
                    return;
                }
                self.fatal |= !retry;
                self.end(cause, now);
            }
            DialInput::Ppp(frame) => {
                if let Some(s) = self.ppp.as_mut() {
                    s.handle(SessionInput::Frame(frame), now);
                    self.pump(now);
                }
            }
            DialInput::ChannelClosed(why) => {
                if self.ppp.is_some() {
                    self.end(why, now);
                }
            }
            DialInput::Stop => {
                self.stopping = true;
                self.next_attempt = None;
                // PADT at once: a daemon that is stopping may not get to
                // wait for LCP's Terminate-Ack.
                if let Some(s) = self.ppp.as_mut() {
                    s.handle(SessionInput::Stop("shutting down"), now);
                    self.pump(now);
                }
                self.detach(now);
                self.discovery_input(Input::Stop, now);
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.discovery.handle_timeout(now);
        if let Some(s) = self.ppp.as_mut() {
            s.handle_timeout(now);
        }
        self.pump(now);
        if self.next_attempt.is_some_and(|at| now >= at) {
            self.next_attempt = None;
            self.reconnects += 1;
            self.discovery_input(Input::Start, now);
        }
    }

    fn poll_action(&mut self) -> Option<DialAction> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [
            self.discovery.poll_timeout(),
            self.ppp.as_ref().and_then(Session::poll_timeout),
            self.next_attempt,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
