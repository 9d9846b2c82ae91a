//! The RFC 1661 section 4 option-negotiation automaton, shared by LCP, IPCP
//! and IPV6CP.
//!
//! One implementation of the state table (ten states, the events Up, Down,
//! Open, Close, TO+/TO-, RCR+/RCR-, RCA, RCN, RTR, RTA, RUC, RXJ+/RXJ-, RXR)
//! so that the three protocols cannot drift apart; each protocol supplies
//! only its option policy through [`Options`]. No I/O and no clock: events
//! carry `now`, packets to send and layer signals (This-Layer-Up/Down/
//! Started/Finished) come out as [`Event`]s.
//!
//! Two guards the RFC leaves to implementations: Max-Failure (5) turns our
//! Configure-Naks into Configure-Rejects when negotiation does not converge,
//! and a peer that keeps Nak'ing or Rejecting our requests for Max-Configure
//! rounds makes the layer finish (otherwise RCN's "irc, scr" would loop
//! forever without a timeout).

use super::{Frame, peer_text};
use cpe_daemon::Engine;
use cpe_wire::ppp::{Body, ConfigOption, Packet, protocol_name};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// RFC 1661 4.6 counters and timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Restart timer (3 s).
    pub restart: Duration,
    /// Configure-Requests sent without an answer before giving up (10).
    pub max_configure: u32,
    /// Terminate-Requests sent without a Terminate-Ack (2).
    pub max_terminate: u32,
    /// Configure-Naks sent before they become Configure-Rejects (5).
    pub max_failure: u32,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            restart: Duration::from_secs(3),
            max_configure: 10,
            max_terminate: 2,
            max_failure: 5,
        }
    }
}

/// The automaton's states (RFC 1661 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Lower layer down, no Open.
    Initial,
    /// Lower layer down, Open given.
    Starting,
    /// Lower layer up, no Open.
    Closed,
    /// Waiting for the peer after a failure or a Terminate.
    Stopped,
    /// Terminate-Request sent, closing.
    Closing,
    /// Terminate-Request sent, will stop.
    Stopping,
    /// Configure-Request sent.
    ReqSent,
    /// Our request was acknowledged.
    AckRcvd,
    /// We acknowledged the peer's request.
    AckSent,
    /// Both requests acknowledged: the layer is up.
    Opened,
}

impl State {
    /// The state's name as RFC 1661 4.2 spells it, for status output.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initial => "initial",
            State::Starting => "starting",
            State::Closed => "closed",
            State::Stopped => "stopped",
            State::Closing => "closing",
            State::Stopping => "stopping",
            State::ReqSent => "req-sent",
            State::AckRcvd => "ack-rcvd",
            State::AckSent => "ack-sent",
            State::Opened => "opened",
        }
    }
}

/// The peer's Configure-Request judged by the option policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Acceptable as is.
    Ack,
    /// These options with the values we would accept.
    Nak(Vec<ConfigOption>),
    /// These options, unchanged, are not acceptable at all.
    Reject(Vec<ConfigOption>),
}

impl Verdict {
    /// The verdict on a request whose options fell into these lists: any
    /// Reject wins (RFC 1661 5.4: Reject only the unacceptable options
    /// first), then Nak, else Ack.
    pub fn from_lists(naks: Vec<ConfigOption>, rejects: Vec<ConfigOption>) -> Verdict {
        if !rejects.is_empty() {
            Verdict::Reject(rejects)
        } else if !naks.is_empty() {
            Verdict::Nak(naks)
        } else {
            Verdict::Ack
        }
    }
}

/// What a protocol decides about options; the automaton does the rest.
pub trait Options {
    /// The options of our next Configure-Request.
    fn request(&mut self) -> Vec<ConfigOption>;
    /// Judges the peer's Configure-Request. Must not commit anything: the
    /// verdict may still turn from Nak into Reject.
    fn check(&mut self, options: &[ConfigOption]) -> Verdict;
    /// We acknowledged the peer's request: commit its values.
    fn peer_acked(&mut self, options: &[ConfigOption]);
    /// The peer acknowledged our request; `Err` names why the result is
    /// unusable (the layer then closes with that reason).
    fn acked(&mut self, options: &[ConfigOption]) -> Result<(), String>;
    /// The peer suggested other values; `Err` if we cannot go on.
    fn nakked(&mut self, options: &[ConfigOption]) -> Result<(), String>;
    /// The peer refused these options; `Err` if we cannot do without them.
    fn rejected(&mut self, options: &[ConfigOption]) -> Result<(), String>;
}

/// What the automaton feeds in.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A frame of this protocol, Protocol field first.
    Frame(&'a [u8]),
    /// The lower layer is ready (for an NCP: LCP opened and authenticated).
    Up,
    /// The lower layer is gone.
    Down,
    /// Administrative open.
    Open,
    /// Administrative close, with the reason to report.
    Close(&'a str),
    /// The peer Protocol-Rejected this protocol (RXJ-).
    ProtocolRejected,
}

/// What the automaton asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this frame.
    Send(Frame),
    /// This-Layer-Up: negotiation done.
    Up,
    /// This-Layer-Down, with the reason.
    Down(String),
    /// This-Layer-Started: the lower layer is needed.
    Started,
    /// This-Layer-Finished, with the reason: the lower layer is no longer
    /// needed (for LCP: tear the PPPoE session down).
    Finished(String),
    /// LCP only: the peer rejected this protocol (an NCP must stop).
    PeerRejected(u16),
}

/// One RFC 1661 automaton for `protocol` with the option policy `O`.
#[derive(Debug)]
pub struct Fsm<O> {
    protocol: u16,
    options: O,
    state: State,
    timers: Timers,
    restart_count: u32,
    deadline: Option<Instant>,
    /// Identifier of our last Configure-Request or Terminate-Request.
    id: u8,
    /// The options of our last Configure-Request (an Ack must match them).
    sent: Vec<ConfigOption>,
    naks_sent: u32,
    naks_received: u32,
    /// Why the layer is going down or finished, for the engineer.
    reason: String,
    events: VecDeque<Event>,
    dropped: BTreeMap<&'static str, u64>,
}

impl<O: Options> Fsm<O> {
    /// A fresh automaton in the Initial state.
    pub fn new(protocol: u16, options: O, timers: Timers) -> Fsm<O> {
        Fsm {
            protocol,
            options,
            state: State::Initial,
            timers,
            restart_count: 0,
            deadline: None,
            id: 0,
            sent: Vec::new(),
            naks_sent: 0,
            naks_received: 0,
            reason: String::new(),
            events: VecDeque::new(),
            dropped: BTreeMap::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The option policy (negotiated values).
    pub fn options(&self) -> &O {
        &self.options
    }

    /// The option policy, mutably (for the owning engine).
    pub fn options_mut(&mut self) -> &mut O {
        &mut self.options
    }

    /// Why the layer last went down or finished.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Received frames dropped, by reason.
    pub fn dropped(&self) -> &BTreeMap<&'static str, u64> {
        &self.dropped
    }

    /// Counts a dropped input under `reason`.
    pub fn count_drop(&mut self, reason: &'static str) {
        *self.dropped.entry(reason).or_default() += 1;
    }

    /// Sends `body` with `identifier` (frames that cannot be encoded are
    /// counted, never sent half).
    pub fn send(&mut self, identifier: u8, body: Body) {
        match Frame::encode(&Packet::new(self.protocol, identifier, body)) {
            Some(f) => self.events.push_back(Event::Send(f)),
            None => self.count_drop("encode_failed"),
        }
    }

    /// Queues an event for the owner (LCP uses it for Protocol-Reject).
    pub fn push_event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    fn set_state(&mut self, s: State) {
        self.state = s;
        if !matches!(
            s,
            State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent
        ) {
            self.deadline = None;
        }
    }

    fn arm(&mut self, now: Instant) {
        self.deadline = Some(now + self.timers.restart);
    }

    fn irc_configure(&mut self) {
        self.restart_count = self.timers.max_configure;
    }

    fn irc_terminate(&mut self) {
        self.restart_count = self.timers.max_terminate;
    }

    fn zrc(&mut self, now: Instant) {
        self.restart_count = 0;
        self.arm(now);
    }

    fn tlu(&mut self) {
        self.naks_received = 0;
        self.events.push_back(Event::Up);
    }

    fn tld(&mut self) {
        self.events.push_back(Event::Down(self.reason.clone()));
    }

    fn tls(&mut self) {
        self.events.push_back(Event::Started);
    }

    fn tlf(&mut self) {
        self.events.push_back(Event::Finished(self.reason.clone()));
    }

    fn scr(&mut self, now: Instant) {
        self.sent = self.options.request();
        self.id = self.id.wrapping_add(1);
        self.send(self.id, Body::ConfigureRequest(self.sent.clone()));
        self.restart_count = self.restart_count.saturating_sub(1);
        self.arm(now);
    }

    fn str(&mut self, now: Instant) {
        self.id = self.id.wrapping_add(1);
        let data = self.reason.as_bytes().to_vec();
        self.send(self.id, Body::TerminateRequest(data));
        self.restart_count = self.restart_count.saturating_sub(1);
        self.arm(now);
    }

    fn sta(&mut self, identifier: u8) {
        self.send(identifier, Body::TerminateAck(Vec::new()));
    }

    fn open(&mut self, now: Instant) {
        match self.state {
            State::Initial => {
                self.tls();
                self.set_state(State::Starting);
            }
            State::Closed => {
                self.reason.clear();
                self.irc_configure();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            State::Closing => self.set_state(State::Stopping),
            _ => {}
        }
    }

    fn close(&mut self, reason: &str, now: Instant) {
        self.reason = reason.to_string();
        match self.state {
            State::Starting => {
                self.tlf();
                self.set_state(State::Initial);
            }
            State::Stopped => self.set_state(State::Closed),
            State::Stopping => self.set_state(State::Closing),
            State::ReqSent | State::AckRcvd | State::AckSent => {
                self.irc_terminate();
                self.str(now);
                self.set_state(State::Closing);
            }
            State::Opened => {
                self.tld();
                self.irc_terminate();
                self.str(now);
                self.set_state(State::Closing);
            }
            State::Initial | State::Closed | State::Closing => {}
        }
    }

    fn up(&mut self, now: Instant) {
        match self.state {
            State::Initial => self.set_state(State::Closed),
            State::Starting => {
                self.naks_sent = 0;
                self.naks_received = 0;
                self.irc_configure();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            _ => self.count_drop("up_in_wrong_state"),
        }
    }

    fn down(&mut self) {
        match self.state {
            State::Closed | State::Closing => self.set_state(State::Initial),
            State::Stopped => {
                self.tls();
                self.set_state(State::Starting);
            }
            State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => {
                self.set_state(State::Starting)
            }
            State::Opened => {
                self.reason = "lower layer down".into();
                self.tld();
                self.set_state(State::Starting);
            }
            State::Initial | State::Starting => {}
        }
    }

    fn timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|d| now < d) {
            return;
        }
        self.deadline = None;
        if self.restart_count > 0 {
            match self.state {
                State::Closing | State::Stopping => self.str(now),
                State::ReqSent | State::AckRcvd => {
                    self.scr(now);
                    self.set_state(State::ReqSent);
                }
                State::AckSent => self.scr(now),
                _ => {}
            }
            return;
        }
        match self.state {
            State::Closing => {
                self.tlf();
                self.set_state(State::Closed);
            }
            State::Stopping => {
                self.tlf();
                self.set_state(State::Stopped);
            }
            State::ReqSent | State::AckRcvd | State::AckSent => {
                self.reason = format!(
                    "no answer to {} {} Configure-Requests",
                    self.timers.max_configure,
                    protocol_name(self.protocol)
                );
                self.tlf();
                self.set_state(State::Stopped);
            }
            _ => {}
        }
    }

    /// Handles a decoded packet of this protocol; `raw` is the whole frame
    /// (for Code-Reject). LCP-only codes must be handled by the owner first.
    pub fn receive(&mut self, packet: Packet, raw: &[u8], now: Instant) {
        if matches!(self.state, State::Initial | State::Starting) {
            self.count_drop("lower_layer_down");
            return;
        }
        let id = packet.identifier;
        match packet.body {
            Body::ConfigureRequest(options) => self.rcr(id, &options, now),
            Body::ConfigureAck(options) => {
                if id != self.id || options != self.sent {
                    self.count_drop("ack_mismatch");
                    return;
                }
                self.rca(&options, now);
            }
            Body::ConfigureNak(options) | Body::ConfigureReject(options)
                if id != self.id || options.is_empty() =>
            {
                let _ = options;
                self.count_drop("nak_mismatch");
            }
            Body::ConfigureNak(options) => {
                let r = self.options.nakked(&options);
                self.rcn(r, "Configure-Nak", now);
            }
            Body::ConfigureReject(options) => {
                let r = if options.iter().all(|o| self.sent.contains(o)) {
                    self.options.rejected(&options)
                } else {
                    // RFC 1661 5.4: a Reject must list options of our
                    // request unchanged; anything else is invalid.
                    self.count_drop("reject_mismatch");
                    return;
                };
                self.rcn(r, "Configure-Reject", now);
            }
            Body::TerminateRequest(data) => self.rtr(id, &data, now),
            Body::TerminateAck(_) => self.rta(now),
            Body::CodeReject(data) => {
                // RXJ- if the peer cannot do negotiation or Terminate at all.
                let fatal = data.first().is_some_and(|c| (1..=7).contains(c));
                if fatal {
                    self.rxj_minus(
                        format!(
                            "peer rejected {} code {}",
                            protocol_name(self.protocol),
                            data[0]
                        ),
                        now,
                    );
                } else if self.state == State::AckRcvd {
                    self.set_state(State::ReqSent);
                }
            }
            _ => {
                // RUC: Code-Reject carrying the packet from its Code field.
                self.id = self.id.wrapping_add(1);
                let mut data = raw.get(2..).unwrap_or_default().to_vec();
                data.truncate(1400);
                self.send(self.id, Body::CodeReject(data));
                self.count_drop("unknown_code");
            }
        }
    }

    fn rcr(&mut self, id: u8, options: &[ConfigOption], now: Instant) {
        match self.state {
            State::Closed => {
                self.sta(id);
                return;
            }
            State::Closing | State::Stopping => return,
            _ => {}
        }
        let mut verdict = self.options.check(options);
        if let Verdict::Nak(naks) = &verdict {
            self.naks_sent += 1;
            if self.naks_sent > self.timers.max_failure {
                // Max-Failure: not converging; refuse the options outright.
                let kinds: Vec<u8> = naks.iter().map(ConfigOption::kind).collect();
                let rejected = options
                    .iter()
                    .filter(|o| kinds.contains(&o.kind()))
                    .cloned()
                    .collect();
                verdict = Verdict::Reject(rejected);
            }
        }
        let good = verdict == Verdict::Ack;
        if self.state == State::Opened {
            self.renegotiate(now);
        } else if self.state == State::Stopped {
            self.irc_configure();
            self.scr(now);
        }
        match verdict {
            Verdict::Ack => {
                self.naks_sent = 0;
                self.options.peer_acked(options);
                self.send(id, Body::ConfigureAck(options.to_vec()));
            }
            Verdict::Nak(o) => self.send(id, Body::ConfigureNak(o)),
            Verdict::Reject(o) => self.send(id, Body::ConfigureReject(o)),
        }
        let next = match (self.state, good) {
            (State::AckRcvd, true) => {
                self.tlu();
                State::Opened
            }
            (State::AckRcvd, false) => State::AckRcvd,
            (_, true) => State::AckSent,
            (_, false) => State::ReqSent,
        };
        self.set_state(next);
    }

    fn rca(&mut self, options: &[ConfigOption], now: Instant) {
        match self.state {
            State::Closed | State::Stopped => self.sta(self.id),
            State::ReqSent | State::AckSent => {
                if let Err(reason) = self.options.acked(options) {
                    self.close(&reason, now);
                    return;
                }
                self.irc_configure();
                if self.state == State::AckSent {
                    self.tlu();
                    self.set_state(State::Opened);
                } else {
                    self.set_state(State::AckRcvd);
                }
            }
            State::AckRcvd | State::Opened => self.request_again(now),
            _ => {}
        }
    }

    fn rcn(&mut self, policy: Result<(), String>, what: &str, now: Instant) {
        match self.state {
            State::Closed | State::Stopped => {
                self.sta(self.id);
                return;
            }
            State::Closing | State::Stopping => return,
            _ => {}
        }
        if let Err(reason) = policy {
            self.close(&reason, now);
            return;
        }
        self.naks_received += 1;
        if self.naks_received > self.timers.max_configure {
            self.reason = format!(
                "{} does not converge: {} {what}s from the peer",
                protocol_name(self.protocol),
                self.naks_received - 1
            );
            if self.state == State::Opened {
                self.tld();
            }
            self.tlf();
            self.set_state(State::Stopped);
            return;
        }
        match self.state {
            State::ReqSent | State::AckSent => {
                self.irc_configure();
                self.scr(now);
            }
            State::AckRcvd | State::Opened => self.request_again(now),
            _ => {}
        }
    }

    /// Opened and the peer starts over: this layer goes down and we send
    /// our request again (tld, scr).
    fn renegotiate(&mut self, now: Instant) {
        self.reason = format!("peer renegotiates {}", protocol_name(self.protocol));
        self.tld();
        self.scr(now);
    }

    /// RCA or RCN in Ack-Rcvd or Opened: our request goes out again and we
    /// wait in Req-Sent (scr, plus tld when the layer was up).
    fn request_again(&mut self, now: Instant) {
        if self.state == State::Opened {
            self.renegotiate(now);
        } else {
            self.scr(now);
        }
        self.set_state(State::ReqSent);
    }

    fn rtr(&mut self, id: u8, data: &[u8], now: Instant) {
        match self.state {
            State::ReqSent | State::AckRcvd | State::AckSent => {
                self.sta(id);
                self.set_state(State::ReqSent);
            }
            State::Opened => {
                self.reason = if data.is_empty() {
                    format!("peer terminated {}", protocol_name(self.protocol))
                } else {
                    format!(
                        "peer terminated {}: {}",
                        protocol_name(self.protocol),
                        peer_text(data)
                    )
                };
                self.tld();
                self.zrc(now);
                self.sta(id);
                self.set_state(State::Stopping);
            }
            _ => self.sta(id),
        }
    }

    fn rta(&mut self, now: Instant) {
        match self.state {
            State::Closing => {
                self.tlf();
                self.set_state(State::Closed);
            }
            State::Stopping => {
                self.tlf();
                self.set_state(State::Stopped);
            }
            State::AckRcvd => self.set_state(State::ReqSent),
            State::Opened => {
                self.reason = format!("peer reset {}", protocol_name(self.protocol));
                self.tld();
                self.scr(now);
                self.set_state(State::ReqSent);
            }
            _ => {}
        }
    }

    fn rxj_minus(&mut self, reason: String, now: Instant) {
        self.reason = reason;
        match self.state {
            State::Closed | State::Stopped => self.tlf(),
            State::Closing => {
                self.tlf();
                self.set_state(State::Closed);
            }
            State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent => {
                self.tlf();
                self.set_state(State::Stopped);
            }
            State::Opened => {
                self.tld();
                self.irc_terminate();
                self.str(now);
                self.set_state(State::Stopping);
            }
            State::Initial | State::Starting => {}
        }
    }
}

impl<O: Options> Engine for Fsm<O> {
    type Input<'a> = Input<'a>;
    type Action = Event;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Frame(raw) => match Packet::decode(raw) {
                Ok(p) if p.protocol == self.protocol => self.receive(p, raw, now),
                Ok(_) => self.count_drop("wrong_protocol"),
                Err(e) => self.count_drop(e.reason()),
            },
            Input::Up => self.up(now),
            Input::Down => self.down(),
            Input::Open => self.open(now),
            Input::Close(reason) => self.close(reason, now),
            Input::ProtocolRejected => self.rxj_minus(
                format!("peer does not run {}", protocol_name(self.protocol)),
                now,
            ),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.timeout(now);
    }

    fn poll_action(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
}
