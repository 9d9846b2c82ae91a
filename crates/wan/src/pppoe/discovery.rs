//! PPPoE Discovery as the host (RFC 2516 section 5), sans-IO.
//!
//! This engine never touches a socket and never reads the clock: the driver
//! feeds it received discovery packets with the sender's MAC and the time,
//! pulls [`Action`]s (packets to send, session up/down), and calls
//! [`handle_timeout`](Engine::handle_timeout) at [`poll_timeout`](Engine::poll_timeout).
//!
//! The exchange: PADI (broadcast, one Service-Name, our Host-Uniq) until a
//! PADO arrives whose Host-Uniq is ours and that fits the configured
//! `service` and `ac_name`; PADR to that AC echoing its AC-Cookie and any
//! Relay-Session-Id; PADS gives the session id. PADI waits double after
//! each unanswered PADI (RFC 2516 5.5: "resend ... and double the waiting
//! period"), up to a ceiling, and discovery never gives up (a router has
//! nothing better to do than keep trying); unanswered PADRs fall back to
//! PADI after `padr_attempts`. A PADT from the AC ends the session, a PADT
//! from us ends it when the driver says the session cannot be used or the
//! daemon stops.
//!
//! The error tags an AC sends (Service-Name-Error, AC-System-Error,
//! Generic-Error) are the only explanation an engineer gets from the ISP's
//! side, so they become the failure reason verbatim, with control
//! characters escaped and the length bounded (see [`display_text`]).
//!
//! Every frame that does not belong to our exchange (wrong Host-Uniq, an AC
//! we did not select, a PADS or PADT for another session, a truncated or
//! malformed packet) is counted under a stable reason and dropped.

use cpe_daemon::Engine;
use cpe_wire::pppoe::{Code, ErrorTag, Message, Tag};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A MAC address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address, where PADI goes.
pub const BROADCAST: Mac = [0xff; 6];

/// Longest AC text kept for display, in characters.
const MAX_SHOWN: usize = 160;
/// Longest reason we put into our own PADT's Generic-Error, in octets.
const MAX_PADT_TEXT: usize = 200;

/// What the engine is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Service-Name to ask for; empty asks for any service.
    pub service: String,
    /// Accept offers only from the AC with this AC-Name; empty takes the
    /// first acceptable PADO.
    pub ac_name: String,
    /// Our Host-Uniq (random, from the driver): it pairs answers with our
    /// requests on a segment shared with other hosts.
    pub host_uniq: Vec<u8>,
    /// Wait after the first PADI (and PADR); doubles after each retry.
    pub first_timeout: Duration,
    /// Ceiling of the doubling.
    pub max_timeout: Duration,
    /// PADRs sent to one AC before starting over with PADI.
    pub padr_attempts: u32,
    /// Pause before discovering again after the AC refused us (error tag
    /// in PADS) or ended the session (PADT).
    pub restart_after: Duration,
}

impl DiscoveryConfig {
    /// The defaults for a WAN link: first wait 2 s doubling to 32 s (the
    /// rp-pppoe client uses 5 s and gives up after 3 PADIs; a router keeps
    /// trying instead), 3 PADRs per AC, restart after `restart_after`.
    pub fn new(service: &str, ac_name: &str, host_uniq: Vec<u8>, restart_after: Duration) -> Self {
        DiscoveryConfig {
            service: service.to_owned(),
            ac_name: ac_name.to_owned(),
            host_uniq,
            first_timeout: Duration::from_secs(2),
            max_timeout: Duration::from_secs(32),
            padr_attempts: 3,
            restart_after,
        }
    }
}

/// Where discovery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started, or the link is down.
    Idle,
    /// PADI sent, waiting for an acceptable PADO.
    Discovery,
    /// PADR sent to the chosen AC, waiting for PADS.
    Request,
    /// PADS received: the session exists on the AC.
    Session,
    /// Waiting before discovering again (the AC refused or ended a session).
    Holdoff,
    /// Ended by the driver ([`Input::Close`] or [`Input::Stop`]); only
    /// [`Input::Start`] starts again.
    Stopped,
}

impl Phase {
    /// The word shown in status.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Discovery => "discovery",
            Phase::Request => "request",
            Phase::Session => "session",
            Phase::Holdoff => "holdoff",
            Phase::Stopped => "stopped",
        }
    }
}

/// The access concentrator we talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConcentrator {
    /// Its MAC (the source of its PADO).
    pub mac: Mac,
    /// Its AC-Name, raw.
    pub name: Vec<u8>,
}

impl AccessConcentrator {
    /// `'name' (02:00:00:00:00:01)`, for logs and status.
    pub fn describe(&self) -> String {
        format!("'{}' ({})", display_text(&self.name), mac_text(&self.mac))
    }
}

/// An established PPPoE session (what the kernel's PPPoX socket needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SESSION_ID from the PADS (never 0).
    pub id: u16,
    /// The AC that granted it.
    pub ac: AccessConcentrator,
}

/// Inputs of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The link is up: start discovering (again, after `Stopped`).
    Start,
    /// A discovery packet arrived from `src`.
    Frame {
        /// Source MAC of the Ethernet frame.
        src: Mac,
        /// The PPPoE packet (after the Ethernet header).
        packet: &'a [u8],
    },
    /// The driver cannot use the session (e.g. the kernel has no PPP): send
    /// PADT so the AC frees it, keep `reason` as the failure, and stop.
    Close {
        /// Why, in words for the console.
        reason: String,
    },
    /// The daemon is stopping: send PADT for an established session.
    Stop,
    /// Carrier lost: the session is gone without a PADT (none can be sent).
    LinkDown,
    /// A session from before a restart (crash, power cut) may still exist
    /// on the AC: send PADT for it so the AC frees it.
    ClearStale {
        /// Its SESSION_ID.
        session_id: u16,
        /// The AC's MAC.
        ac: Mac,
    },
}

/// Actions, in the order they must be performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this PPPoE discovery packet to `dst`.
    Send {
        /// Destination MAC.
        dst: Mac,
        /// The encoded packet.
        packet: Vec<u8>,
    },
    /// PADS received: the session can be attached to the kernel.
    SessionUp(Session),
    /// The session ended (PADT either way, or the link went down).
    SessionDown {
        /// The session that ended.
        session: Session,
        /// Why, for the console.
        reason: String,
    },
}

/// The discovery engine.
#[derive(Debug)]
pub struct Discovery {
    config: DiscoveryConfig,
    phase: Phase,
    /// The AC chosen from a PADO, and what its PADO asked us to echo.
    offer: Option<Offer>,
    session: Option<Session>,
    /// The last session that ended, kept for the console.
    ended: Option<Session>,
    /// PADIs (or PADRs) sent in the current round.
    attempts: u32,
    /// The wait after the packet just sent.
    timeout: Duration,
    deadline: Option<Instant>,
    last_failure: Option<String>,
    counters: Counters,
    actions: VecDeque<Action>,
}

/// What a chosen PADO asked us to echo.
#[derive(Debug, Clone)]
struct Offer {
    ac: AccessConcentrator,
    service: Vec<u8>,
    cookie: Option<Vec<u8>>,
    relay: Option<Vec<u8>>,
}

/// Packets sent and received, and drops by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Sent, by packet name (PADI, PADR, PADT).
    pub sent: BTreeMap<&'static str, u64>,
    /// Accepted, by packet name.
    pub received: BTreeMap<&'static str, u64>,
    /// Dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
}

/// A snapshot for status output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Where discovery stands.
    pub phase: Phase,
    /// The AC chosen (from its PADO), else the one of the last session.
    pub ac: Option<AccessConcentrator>,
    /// The session id, once PADS arrived.
    pub session_id: Option<u16>,
    /// The last session that ended (PADT either way, link loss), so the
    /// console still names it after the fact.
    pub ended: Option<Session>,
    /// PADIs or PADRs sent in the current round.
    pub attempts: u32,
    /// The last failure, with the AC's own text when it sent one.
    pub last_failure: Option<String>,
    /// Counters.
    pub counters: Counters,
}

impl Discovery {
    /// An idle engine; [`Input::Start`] sends the first PADI.
    pub fn new(config: DiscoveryConfig) -> Discovery {
        let timeout = config.first_timeout;
        Discovery {
            config,
            phase: Phase::Idle,
            offer: None,
            session: None,
            ended: None,
            attempts: 0,
            timeout,
            deadline: None,
            last_failure: None,
            counters: Counters::default(),
            actions: VecDeque::new(),
        }
    }

    /// Where discovery stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The established session, if any.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The last failure, if any.
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A snapshot for status output.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            phase: self.phase,
            ac: self
                .session
                .as_ref()
                .map(|s| s.ac.clone())
                .or_else(|| self.offer.as_ref().map(|o| o.ac.clone()))
                .or_else(|| self.ended.as_ref().map(|s| s.ac.clone())),
            session_id: self.session.as_ref().map(|s| s.id),
            ended: self.ended.clone(),
            attempts: self.attempts,
            last_failure: self.last_failure.clone(),
            counters: self.counters.clone(),
        }
    }

    fn drop(&mut self, reason: &'static str) {
        *self.counters.dropped.entry(reason).or_default() += 1;
    }

    /// Keeps `why` as the last failure; logs it only when it differs from
    /// the previous one, so a peer repeating itself (or replaying our
    /// Host-Uniq in a flood of refusals) cannot flood the log.
    fn fail(&mut self, why: String) {
        if self.last_failure.as_deref() != Some(why.as_str()) {
            log::warn!("pppoe: {why}");
        }
        self.last_failure = Some(why);
    }

    fn send(&mut self, dst: Mac, msg: &Message) {
        let mut packet = Vec::new();
        match msg.encode(&mut packet) {
            Ok(()) => {
                *self.counters.sent.entry(msg.code.name()).or_default() += 1;
                self.actions.push_back(Action::Send { dst, packet });
            }
            // Only reachable with a config past the packet's limits (the
            // config reader bounds service and AC names to 255 octets).
            Err(e) => self.fail(format!("cannot encode {}: {e}", msg.code.name())),
        }
    }

    /// Starts a round of PADIs now.
    fn begin_discovery(&mut self, now: Instant) {
        self.phase = Phase::Discovery;
        self.offer = None;
        self.attempts = 0;
        self.timeout = self.config.first_timeout;
        self.send_padi(now);
    }

    fn send_padi(&mut self, now: Instant) {
        let padi = Message::new(Code::Padi, 0)
            .with(Tag::ServiceName(self.config.service.as_bytes().to_vec()))
            .with(Tag::HostUniq(self.config.host_uniq.clone()));
        self.send(BROADCAST, &padi);
        self.attempts += 1;
        self.deadline = Some(now + self.timeout);
    }

    fn send_padr(&mut self, now: Instant) {
        let Some(offer) = &self.offer else { return };
        let mut padr = Message::new(Code::Padr, 0)
            .with(Tag::ServiceName(offer.service.clone()))
            .with(Tag::HostUniq(self.config.host_uniq.clone()));
        if let Some(c) = &offer.cookie {
            padr = padr.with(Tag::AcCookie(c.clone()));
        }
        if let Some(r) = &offer.relay {
            padr = padr.with(Tag::RelaySessionId(r.clone()));
        }
        let dst = offer.ac.mac;
        self.send(dst, &padr);
        self.attempts += 1;
        self.deadline = Some(now + self.timeout);
    }

    fn double_timeout(&mut self) {
        self.timeout = (self.timeout * 2).min(self.config.max_timeout);
    }

    /// Sends PADT for the current session and forgets it.
    fn terminate(&mut self, text: &str) -> Option<Session> {
        let session = self.session.take()?;
        let mut bytes = text.as_bytes().to_vec();
        bytes.truncate(MAX_PADT_TEXT);
        let padt = Message::new(Code::Padt, session.id).with(Tag::GenericError(bytes));
        self.send(session.ac.mac, &padt);
        Some(session)
    }

    fn on_frame(&mut self, src: Mac, packet: &[u8], now: Instant) {
        let msg = match Message::decode(packet) {
            Ok(m) => m,
            Err(e) => {
                log::debug!("pppoe: dropped a packet from {}: {e}", mac_text(&src));
                return self.drop(e.reason());
            }
        };
        if src[0] & 1 != 0 {
            return self.drop("multicast_source");
        }
        match msg.code {
            // Other hosts' requests on a shared segment: not for us.
            Code::Padi | Code::Padr => self.drop("host_packet"),
            Code::Pado => self.on_pado(src, &msg, now),
            Code::Pads => self.on_pads(src, &msg, now),
            Code::Padt => self.on_padt(src, &msg, now),
        }
    }

    fn ours(&self, msg: &Message) -> bool {
        msg.host_uniq() == Some(self.config.host_uniq.as_slice())
    }

    fn on_pado(&mut self, src: Mac, msg: &Message, now: Instant) {
        if self.phase != Phase::Discovery {
            // A slower AC's offer after we chose one is normal.
            return self.drop("unexpected_pado");
        }
        if !self.ours(msg) {
            return self.drop("wrong_host_uniq");
        }
        let Some(name) = msg.ac_name() else {
            // RFC 2516 5.2: a PADO MUST carry AC-Name.
            return self.drop("pado_without_ac_name");
        };
        let ac = AccessConcentrator {
            mac: src,
            name: name.to_vec(),
        };
        if let Some(err) = msg.error() {
            self.drop("pado_error");
            return self.fail(format!(
                "AC {} answered PADI with {}",
                ac.describe(),
                error_text(&err)
            ));
        }
        if !self.config.ac_name.is_empty() && name != self.config.ac_name.as_bytes() {
            self.drop("unselected_ac");
            return self.fail(format!(
                "ignored PADO from AC {}: ac_name is '{}'",
                ac.describe(),
                display_text(self.config.ac_name.as_bytes())
            ));
        }
        let wanted = self.config.service.clone().into_bytes();
        let wanted = wanted.as_slice();
        // RFC 2516 5.2: an AC lists the services it offers; an empty
        // request takes any service, and we echo what we asked for.
        if !wanted.is_empty() && !msg.service_names().any(|s| s == wanted) {
            self.drop("service_not_offered");
            let offered: Vec<String> = msg
                .service_names()
                .map(|s| format!("'{}'", display_text(s)))
                .collect();
            return self.fail(format!(
                "AC {} does not offer service '{}' (offers {})",
                ac.describe(),
                display_text(wanted),
                if offered.is_empty() {
                    "none".to_owned()
                } else {
                    offered.join(", ")
                }
            ));
        }
        *self.counters.received.entry("PADO").or_default() += 1;
        log::info!("pppoe: PADO from AC {}", ac.describe());
        self.offer = Some(Offer {
            ac,
            service: wanted.to_vec(),
            cookie: msg.ac_cookie().map(<[u8]>::to_vec),
            relay: msg.relay_session_id().map(<[u8]>::to_vec),
        });
        self.phase = Phase::Request;
        self.attempts = 0;
        self.timeout = self.config.first_timeout;
        self.send_padr(now);
    }

    fn on_pads(&mut self, src: Mac, msg: &Message, now: Instant) {
        let Some(offer) = self.offer.clone().filter(|_| self.phase == Phase::Request) else {
            return self.drop("unexpected_pads");
        };
        if src != offer.ac.mac {
            return self.drop("pads_from_other_ac");
        }
        if !self.ours(msg) {
            return self.drop("wrong_host_uniq");
        }
        if let Some(err) = msg.error() {
            *self.counters.received.entry("PADS").or_default() += 1;
            self.fail(format!(
                "AC {} refused PADR with {}",
                offer.ac.describe(),
                error_text(&err)
            ));
            return self.hold_off(now);
        }
        if msg.session_id == 0 {
            // RFC 2516 5.4: only a PADS with an error tag may carry 0.
            return self.drop("pads_without_session");
        }
        *self.counters.received.entry("PADS").or_default() += 1;
        let session = Session {
            id: msg.session_id,
            ac: offer.ac,
        };
        log::info!(
            "pppoe: session 0x{:04x} with AC {}",
            session.id,
            session.ac.describe()
        );
        self.phase = Phase::Session;
        self.deadline = None;
        self.attempts = 0;
        self.session = Some(session.clone());
        self.actions.push_back(Action::SessionUp(session));
    }

    fn on_padt(&mut self, src: Mac, msg: &Message, now: Instant) {
        let Some(session) = self
            .session
            .clone()
            .filter(|s| s.id == msg.session_id && s.ac.mac == src)
        else {
            return self.drop("padt_other_session");
        };
        *self.counters.received.entry("PADT").or_default() += 1;
        self.session = None;
        let reason = match msg.error() {
            Some(err) => format!(
                "AC {} ended session 0x{:04x} (PADT) with {}",
                session.ac.describe(),
                session.id,
                error_text(&err)
            ),
            None => format!(
                "AC {} ended session 0x{:04x} (PADT)",
                session.ac.describe(),
                session.id
            ),
        };
        self.fail(reason.clone());
        self.ended(session, reason);
        self.hold_off(now);
    }

    /// Reports the end of `session` and keeps it for the console.
    fn ended(&mut self, session: Session, reason: String) {
        self.ended = Some(session.clone());
        self.actions
            .push_back(Action::SessionDown { session, reason });
    }

    fn hold_off(&mut self, now: Instant) {
        self.phase = Phase::Holdoff;
        self.offer = None;
        self.deadline = Some(now + self.config.restart_after);
    }
}

impl Engine for Discovery {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Start => {
                if matches!(self.phase, Phase::Idle | Phase::Stopped) {
                    self.begin_discovery(now);
                }
            }
            Input::Frame { src, packet } => self.on_frame(src, packet, now),
            Input::Close { reason } => {
                if let Some(session) = self.terminate(&reason) {
                    self.ended(session, reason.clone());
                }
                self.fail(reason);
                self.phase = Phase::Stopped;
                self.offer = None;
                self.deadline = None;
            }
            Input::Stop => {
                if let Some(session) = self.terminate("shutting down") {
                    self.ended(session, "shutting down".into());
                }
                self.phase = Phase::Stopped;
                self.offer = None;
                self.deadline = None;
            }
            Input::ClearStale { session_id, ac } => {
                if session_id == 0 || ac[0] & 1 != 0 {
                    return self.drop("bad_stale_session");
                }
                log::info!(
                    "pppoe: PADT for session 0x{session_id:04x} with {} left from before a restart",
                    mac_text(&ac)
                );
                let padt = Message::new(Code::Padt, session_id).with(Tag::GenericError(
                    b"stale session from before a restart".to_vec(),
                ));
                self.send(ac, &padt);
            }
            Input::LinkDown => {
                if let Some(session) = self.session.take() {
                    let reason = format!(
                        "link down: session 0x{:04x} with AC {} lost",
                        session.id,
                        session.ac.describe()
                    );
                    self.fail(reason.clone());
                    self.ended(session, reason);
                }
                self.phase = Phase::Idle;
                self.offer = None;
                self.deadline = None;
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|at| now < at) {
            return;
        }
        match self.phase {
            Phase::Discovery => {
                let waited = self.timeout;
                self.fail(format!(
                    "no PADO{} after {} PADI (waited {} s)",
                    if self.config.service.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " for service '{}'",
                            display_text(self.config.service.as_bytes())
                        )
                    },
                    self.attempts,
                    waited.as_secs_f32()
                ));
                self.double_timeout();
                self.send_padi(now);
            }
            Phase::Request => {
                if self.attempts >= self.config.padr_attempts {
                    let ac = self.offer.as_ref().map(|o| o.ac.describe());
                    self.fail(format!(
                        "no PADS from AC {} after {} PADR; discovering again",
                        ac.unwrap_or_default(),
                        self.attempts
                    ));
                    self.begin_discovery(now);
                } else {
                    self.double_timeout();
                    self.send_padr(now);
                }
            }
            Phase::Holdoff => self.begin_discovery(now),
            Phase::Idle | Phase::Session | Phase::Stopped => self.deadline = None,
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
}

/// `Service-Name-Error: 'text'` (or just the tag name when the AC gave no
/// text).
fn error_text(err: &ErrorTag<'_>) -> String {
    if err.text().is_empty() {
        err.name().to_owned()
    } else {
        format!("{}: '{}'", err.name(), display_text(err.text()))
    }
}

/// An AC's text made safe for a serial console: invalid UTF-8 becomes
/// U+FFFD, control characters (which could move the cursor or clear the
/// screen of the engineer's terminal) are escaped as `\xNN` / `\u{..}`, and
/// the result is cut at 160 characters with an ellipsis.
pub fn display_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX_SHOWN {
            out.push('…');
            break;
        }
        if c.is_control() {
            if (c as u32) < 0x100 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `02:00:00:00:00:01`.
pub fn mac_text(mac: &Mac) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
