//! One PPP session over a PPPoE link: the phases of RFC 1661 3.2 (Dead,
//! Establish, Authenticate, Network, Terminate) tying LCP, PAP/CHAP, IPCP
//! and IPV6CP together, as one [`Engine`].
//!
//! Frames are routed by Protocol field: LCP always; PAP/CHAP only from the
//! Authenticate phase on; IPCP/IPV6CP only in the Network phase (earlier
//! ones are discarded, RFC 1661 3.4); a protocol we do not run is
//! Protocol-Rejected by LCP. The two NCPs are independent (RFC 7084 WLL-3/
//! WLL-4): one failing, or being Protocol-Rejected by an ISP without IPv6,
//! reports only its own family down while LCP and the other NCP stay up.
//! Only when every configured NCP has finished does LCP close, since a link
//! that carries nothing is worth a reconnect.

use super::auth::{Auth, AuthAction, AuthFailure, AuthInput, Credentials};
use super::fsm::{self, Event, State, Timers};
use super::ipcp::{Ipcp, Ipv4Params, ipcp};
use super::ipv6cp::{Ipv6Params, Ipv6cp, ipv6cp};
use super::lcp::{Lcp, LcpConfig, LcpInput, LinkParams};
use super::{Frame, Rng, protocol_of};
use cpe_daemon::Engine;
use cpe_wire::ppp::{PROTO_CHAP, PROTO_IPCP, PROTO_IPV6CP, PROTO_LCP, PROTO_PAP};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Everything a session needs from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// MRU and echo settings.
    pub lcp: LcpConfig,
    /// PAP/CHAP credentials.
    pub credentials: Credentials,
    /// Run IPCP (`wan.ipv4`).
    pub ipv4: bool,
    /// Run IPV6CP.
    pub ipv6: bool,
    /// Interface identifier to propose (random if `None`).
    pub interface_id: Option<[u8; 8]>,
    /// RFC 1661 timer and counters.
    pub timers: Timers,
}

impl SessionConfig {
    /// The session settings of a PPPoE config; `None` without `[wan.pppoe]`.
    pub fn from_config(c: &cpe_config::Config) -> Option<SessionConfig> {
        c.wan.pppoe.as_ref()?;
        Some(Self::from_settings(
            &crate::config::WanSettings::from_config(c),
        ))
    }

    /// The session settings of the WAN's settings: MRU from `wan.mtu`, echo
    /// from `[wan.pppoe]`, IPCP when `wan.ipv4`. IPV6CP always runs: DHCPv6
    /// over the PPP link needs the link-local address it yields.
    pub fn from_settings(settings: &crate::config::WanSettings) -> SessionConfig {
        let p = &settings.pppoe;
        SessionConfig {
            lcp: LcpConfig {
                mru: u16::try_from(settings.mtu).unwrap_or(u16::MAX),
                echo_interval: Duration::from_secs(u64::from(p.lcp_echo_interval)),
                echo_failure: p.lcp_echo_failure,
            },
            credentials: p.credentials.clone(),
            ipv4: settings.ipv4,
            ipv6: true,
            interface_id: None,
            timers: Timers::default(),
        }
    }
}

/// RFC 1661 3.2 link phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No session.
    Dead,
    /// LCP negotiating.
    Establish,
    /// PAP/CHAP running.
    Authenticate,
    /// NCPs running.
    Network,
    /// LCP closing.
    Terminate,
}

impl Phase {
    /// The word shown by `cpectl show wan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dead => "dead",
            Phase::Establish => "lcp",
            Phase::Authenticate => "auth",
            Phase::Network => "network",
            Phase::Terminate => "terminate",
        }
    }
}

/// What the session takes.
#[derive(Debug, Clone, Copy)]
pub enum SessionInput<'a> {
    /// A frame from the PPP channel, Protocol field first.
    Frame(&'a [u8]),
    /// The PPPoE session is established: start LCP.
    Start,
    /// The PPPoE session is gone (PADT, carrier loss).
    LowerDown,
    /// Shutdown: terminate the link with this reason.
    Stop(&'a str),
}

/// What the session asks for, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAction {
    /// Send this frame on the PPP channel.
    Send(Frame),
    /// The link phase changed.
    Phase(Phase),
    /// LCP opened with these parameters (the interface MTU follows
    /// `peer_mru`, the MSS clamp and RA MTU with it).
    LinkUp(LinkParams),
    /// The server accepted us, with its message.
    Authenticated(String),
    /// The server refused us or never answered (hold off before redialling).
    AuthFailed(AuthFailure),
    /// IPv4 is up.
    Ipv4Up(Ipv4Params),
    /// IPv4 went down or never came up, with the reason.
    Ipv4Down(String),
    /// IPv6 (link-local) is up.
    Ipv6Up(Ipv6Params),
    /// IPv6 went down or never came up, with the reason.
    Ipv6Down(String),
    /// LCP went down (every NCP with it), with the reason.
    LinkDown(String),
    /// LCP finished: the PPPoE session can be torn down (PADT), with the
    /// reason (peer dead, Terminate, negotiation failure, ...).
    Finished(String),
}

/// An NCP's family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// The PPP session engine.
#[derive(Debug)]
pub struct Session {
    lcp: Lcp,
    auth: Auth,
    ipcp: Option<Ipcp>,
    ipv6cp: Option<Ipv6cp>,
    phase: Phase,
    actions: VecDeque<SessionAction>,
    dropped: BTreeMap<&'static str, u64>,
    ipv4: Option<Ipv4Params>,
    ipv6: Option<Ipv6Params>,
    ipv4_failure: Option<String>,
    ipv6_failure: Option<String>,
    last_failure: Option<String>,
    auth_failure: Option<AuthFailure>,
}

/// What `cpectl show wan` shows of the PPP session: plain values, addresses
/// as RFC 5952 / dotted-quad text, never the password.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionStatus {
    /// Link phase ([`Phase::as_str`]).
    pub phase: &'static str,
    /// LCP automaton state.
    pub lcp: &'static str,
    /// Our MRU, once LCP opened.
    pub mru: Option<u16>,
    /// The peer's MRU (what we may send), once LCP opened.
    pub peer_mru: Option<u16>,
    /// Authentication the peer asked for.
    pub auth: Option<&'static str>,
    /// Echo-Requests sent and not answered.
    pub echoes_pending: u32,
    /// IPCP, if it runs.
    pub ipv4: Option<NcpStatus>,
    /// IPV6CP, if it runs.
    pub ipv6: Option<NcpStatus>,
    /// Why the link last went down or finished.
    pub last_failure: Option<String>,
    /// The last authentication failure, with the server's text.
    pub auth_failure: Option<String>,
    /// Frames dropped, `engine.reason` -> count.
    pub dropped: BTreeMap<String, u64>,
}

/// One NCP in [`SessionStatus`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NcpStatus {
    /// Automaton state.
    pub state: &'static str,
    /// Our address (IPv4) or link-local address (IPv6) while up.
    pub local: Option<String>,
    /// The peer's address or link-local address while up.
    pub peer: Option<String>,
    /// IPv4 resolvers from IPCP (empty for IPv6).
    pub dns: Vec<String>,
    /// Why it last went down or never came up.
    pub failure: Option<String>,
}

impl Session {
    /// A session in the Dead phase; `seed` feeds Magic-Numbers and
    /// interface identifiers (the driver takes it from the OS).
    pub fn new(config: SessionConfig, seed: u64) -> Session {
        let mut rng = Rng::new(seed);
        let lcp_rng = Rng::new(rng.next_u64());
        let v6_rng = Rng::new(rng.next_u64());
        Session {
            lcp: Lcp::new(config.lcp, config.timers, lcp_rng),
            auth: Auth::new(config.credentials, config.timers),
            ipcp: config.ipv4.then(|| ipcp(config.timers)),
            ipv6cp: config
                .ipv6
                .then(|| ipv6cp(config.interface_id, v6_rng, config.timers)),
            phase: Phase::Dead,
            actions: VecDeque::new(),
            dropped: BTreeMap::new(),
            ipv4: None,
            ipv6: None,
            ipv4_failure: None,
            ipv6_failure: None,
            last_failure: None,
            auth_failure: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The LCP engine (state, negotiated parameters, echo counters).
    pub fn lcp(&self) -> &Lcp {
        &self.lcp
    }

    /// IPCP's state, if IPCP runs.
    pub fn ipcp_state(&self) -> Option<State> {
        self.ipcp.as_ref().map(|n| n.state())
    }

    /// IPV6CP's state, if IPV6CP runs.
    pub fn ipv6cp_state(&self) -> Option<State> {
        self.ipv6cp.as_ref().map(|n| n.state())
    }

    /// Frames the session itself dropped (routing), by reason; each engine
    /// counts its own too.
    pub fn dropped(&self) -> &BTreeMap<&'static str, u64> {
        &self.dropped
    }

    /// The session as the console shows it.
    pub fn status(&self) -> SessionStatus {
        let opened = self.lcp.state() == State::Opened;
        let params = self.lcp.params();
        let mut dropped = BTreeMap::new();
        let mut add = |engine: &str, counts: &BTreeMap<&'static str, u64>| {
            for (reason, n) in counts {
                dropped.insert(format!("{engine}.{reason}"), *n);
            }
        };
        add("session", &self.dropped);
        add("lcp", self.lcp.dropped());
        add("auth", self.auth.dropped());
        if let Some(n) = &self.ipcp {
            add("ipcp", n.dropped());
        }
        if let Some(n) = &self.ipv6cp {
            add("ipv6cp", n.dropped());
        }
        SessionStatus {
            phase: self.phase.as_str(),
            lcp: self.lcp.state().as_str(),
            mru: opened.then_some(params.mru),
            peer_mru: opened.then_some(params.peer_mru),
            auth: params.auth.filter(|_| opened).map(|a| a.as_str()),
            echoes_pending: self.lcp.echoes_pending(),
            ipv4: self.ipcp.as_ref().map(|n| NcpStatus {
                state: n.state().as_str(),
                local: self.ipv4.as_ref().map(|p| p.local.to_string()),
                peer: self
                    .ipv4
                    .as_ref()
                    .and_then(|p| p.peer)
                    .map(|a| a.to_string()),
                dns: self
                    .ipv4
                    .iter()
                    .flat_map(|p| &p.dns)
                    .map(|a| a.to_string())
                    .collect(),
                failure: self.ipv4_failure.clone(),
            }),
            ipv6: self.ipv6cp.as_ref().map(|n| NcpStatus {
                state: n.state().as_str(),
                local: self.ipv6.map(|p| p.link_local().to_string()),
                peer: self
                    .ipv6
                    .and_then(|p| p.peer_link_local())
                    .map(|a| a.to_string()),
                dns: Vec::new(),
                failure: self.ipv6_failure.clone(),
            }),
            last_failure: self.last_failure.clone(),
            auth_failure: self.auth_failure.as_ref().map(|f| f.to_string()),
            dropped,
        }
    }

    fn drop_input(&mut self, reason: &'static str) {
        *self.dropped.entry(reason).or_default() += 1;
    }

    fn set_phase(&mut self, phase: Phase) {
        if self.phase != phase {
            self.phase = phase;
            self.actions.push_back(SessionAction::Phase(phase));
        }
    }

    fn ncp_input(&mut self, family: Family, input: fsm::Input<'_>, now: Instant) {
        match family {
            Family::V4 => {
                if let Some(n) = self.ipcp.as_mut() {
                    n.handle(input, now);
                }
            }
            Family::V6 => {
                if let Some(n) = self.ipv6cp.as_mut() {
                    n.handle(input, now);
                }
            }
        }
    }

    fn enter_network(&mut self, now: Instant) {
        self.set_phase(Phase::Network);
        for family in [Family::V4, Family::V6] {
            self.ncp_input(family, fsm::Input::Open, now);
            self.ncp_input(family, fsm::Input::Up, now);
        }
    }

    fn route(&mut self, raw: &[u8], now: Instant) {
        let Some(protocol) = protocol_of(raw) else {
            return self.drop_input("truncated");
        };
        let family = match protocol {
            PROTO_LCP => return self.lcp.handle(LcpInput::Frame(raw), now),
            PROTO_PAP | PROTO_CHAP => {
                if matches!(self.phase, Phase::Authenticate | Phase::Network) {
                    self.auth.handle(AuthInput::Frame(raw), now);
                } else {
                    self.drop_input("auth_out_of_phase");
                }
                return;
            }
            PROTO_IPCP => Family::V4,
            PROTO_IPV6CP => Family::V6,
            _ => return self.lcp.handle(LcpInput::Unsupported(raw), now),
        };
        let runs = match family {
            Family::V4 => self.ipcp.is_some(),
            Family::V6 => self.ipv6cp.is_some(),
        };
        if !runs {
            self.lcp.handle(LcpInput::Unsupported(raw), now);
        } else if self.phase == Phase::Network {
            self.ncp_input(family, fsm::Input::Frame(raw), now);
        } else {
            self.drop_input("ncp_out_of_phase");
        }
    }

    fn on_lcp(&mut self, event: Event, now: Instant) {
        match event {
            Event::Send(f) => self.actions.push_back(SessionAction::Send(f)),
            Event::Up => {
                let params = self.lcp.params();
                self.actions.push_back(SessionAction::LinkUp(params));
                match params.auth {
                    Some(kind) => {
                        self.set_phase(Phase::Authenticate);
                        self.auth.handle(AuthInput::Start(kind), now);
                    }
                    None => self.enter_network(now),
                }
            }
            Event::Down(reason) => {
                self.auth.handle(AuthInput::Stop, now);
                for family in [Family::V4, Family::V6] {
                    self.ncp_input(family, fsm::Input::Down, now);
                }
                let next = if self.lcp.state() == State::Closing {
                    Phase::Terminate
                } else {
                    Phase::Establish
                };
                self.set_phase(next);
                self.last_failure = Some(reason.clone());
                self.actions.push_back(SessionAction::LinkDown(reason));
            }
            Event::Started => {}
            Event::Finished(reason) => {
                self.set_phase(Phase::Dead);
                self.last_failure = Some(reason.clone());
                self.actions.push_back(SessionAction::Finished(reason));
            }
            Event::PeerRejected(PROTO_IPCP) => {
                self.ncp_input(Family::V4, fsm::Input::ProtocolRejected, now)
            }
            Event::PeerRejected(PROTO_IPV6CP) => {
                self.ncp_input(Family::V6, fsm::Input::ProtocolRejected, now)
            }
            Event::PeerRejected(_) => self.drop_input("protocol_reject_ignored"),
        }
    }

    fn on_auth(&mut self, action: AuthAction, now: Instant) {
        match action {
            AuthAction::Send(f) => self.actions.push_back(SessionAction::Send(f)),
            AuthAction::Success(message) => {
                self.auth_failure = None;
                self.actions
                    .push_back(SessionAction::Authenticated(message));
                if self.phase == Phase::Authenticate {
                    self.enter_network(now);
                }
            }
            AuthAction::Failure(failure) => {
                let reason = format!("authentication failed: {failure}");
                self.auth_failure = Some(failure.clone());
                self.actions.push_back(SessionAction::AuthFailed(failure));
                self.lcp.handle(LcpInput::Close(&reason), now);
                self.set_phase(Phase::Terminate);
            }
        }
    }

    fn on_ncp(&mut self, family: Family, event: Event, now: Instant) {
        match event {
            Event::Send(f) => self.actions.push_back(SessionAction::Send(f)),
            Event::Up => match family {
                Family::V4 => {
                    if let Some(p) = self.ipcp.as_ref().map(|n| n.options().params()) {
                        self.ipv4 = Some(p.clone());
                        self.ipv4_failure = None;
                        self.actions.push_back(SessionAction::Ipv4Up(p));
                    }
                }
                Family::V6 => {
                    if let Some(p) = self.ipv6cp.as_ref().map(|n| n.options().params()) {
                        self.ipv6 = Some(p);
                        self.ipv6_failure = None;
                        self.actions.push_back(SessionAction::Ipv6Up(p));
                    }
                }
            },
            Event::Down(reason) => self.ncp_down(family, reason),
            Event::Finished(reason) => {
                self.ncp_down(family, reason);
                self.close_if_no_ncp(now);
            }
            Event::Started | Event::PeerRejected(_) => {}
        }
    }

    fn ncp_down(&mut self, family: Family, reason: String) {
        match family {
            Family::V4 => {
                self.ipv4 = None;
                self.ipv4_failure = Some(reason.clone());
                self.actions.push_back(SessionAction::Ipv4Down(reason));
            }
            Family::V6 => {
                self.ipv6 = None;
                self.ipv6_failure = Some(reason.clone());
                self.actions.push_back(SessionAction::Ipv6Down(reason));
            }
        }
    }

    /// RFC 1661 3.4 lets LCP close when the last NCP is gone; we do, so the
    /// supervisor's reconnect logic gets a chance at a working session.
    fn close_if_no_ncp(&mut self, now: Instant) {
        let finished =
            |s: Option<State>| s.is_none_or(|s| matches!(s, State::Stopped | State::Closed));
        if self.phase == Phase::Network
            && finished(self.ipcp_state())
            && finished(self.ipv6cp_state())
        {
            let reasons: Vec<String> = [
                self.ipcp.as_ref().map(|n| format!("IPCP: {}", n.reason())),
                self.ipv6cp
                    .as_ref()
                    .map(|n| format!("IPV6CP: {}", n.reason())),
            ]
            .into_iter()
            .flatten()
            .collect();
            let reason = format!("no network protocol is up ({})", reasons.join("; "));
            self.lcp.handle(LcpInput::Close(&reason), now);
            self.set_phase(Phase::Terminate);
        }
    }

    /// Moves every engine's output into the session's queue until quiet.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut quiet = true;
            while let Some(e) = self.lcp.poll_action() {
                quiet = false;
                self.on_lcp(e, now);
            }
            while let Some(a) = self.auth.poll_action() {
                quiet = false;
                self.on_auth(a, now);
            }
            while let Some(e) = self.ipcp.as_mut().and_then(|n| n.poll_action()) {
                quiet = false;
                self.on_ncp(Family::V4, e, now);
            }
            while let Some(e) = self.ipv6cp.as_mut().and_then(|n| n.poll_action()) {
                quiet = false;
                self.on_ncp(Family::V6, e, now);
            }
            if quiet {
                return;
            }
        }
    }
}

impl Engine for Session {
    type Input<'a> = SessionInput<'a>;
    type Action = SessionAction;

    fn handle(&mut self, input: SessionInput<'_>, now: Instant) {
        match input {
            SessionInput::Frame(raw) => self.route(raw, now),
            SessionInput::Start => {
                self.set_phase(Phase::Establish);
                self.lcp.handle(LcpInput::Start, now);
            }
            SessionInput::LowerDown => {
                self.lcp.handle(LcpInput::LowerDown, now);
                self.pump(now);
                self.set_phase(Phase::Dead);
            }
            SessionInput::Stop(reason) => {
                self.lcp.handle(LcpInput::Close(reason), now);
                if self.phase != Phase::Dead {
                    self.set_phase(Phase::Terminate);
                }
            }
        }
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.lcp.handle_timeout(now);
        self.auth.handle_timeout(now);
        if let Some(n) = self.ipcp.as_mut() {
            n.handle_timeout(now);
        }
        if let Some(n) = self.ipv6cp.as_mut() {
            n.handle_timeout(now);
        }
        self.pump(now);
    }

    fn poll_action(&mut self) -> Option<SessionAction> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [
            self.lcp.poll_timeout(),
            self.auth.poll_timeout(),
            self.ipcp.as_ref().and_then(|n| n.poll_timeout()),
            self.ipv6cp.as_ref().and_then(|n| n.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
