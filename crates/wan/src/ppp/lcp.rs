//! LCP (RFC 1661) for a PPPoE link: the automaton of [`super::fsm`] with
//! the link's option policy, plus what only LCP does: Echo-Request
//! keepalive, Protocol-Reject, Discard, and loop detection by Magic-Number.
//!
//! Policy, as the router's side of an access concentrator link:
//! - We ask for MRU = `wan.mtu` (1492 on PPPoE, RFC 2516 7) and a random
//!   Magic-Number; we never ask to authenticate the peer.
//! - The peer's MRU below 128 is Nak'd (pppd does the same); its
//!   Authentication-Protocol is accepted for PAP and CHAP-MD5 and Nak'd
//!   towards CHAP-MD5 otherwise; ACCM, ACFC and PFC are Rejected (RFC 2516
//!   7 forbids the first two on PPPoE and PFC gains nothing over Ethernet),
//!   as is any option we do not know.
//! - A Magic-Number equal to ours is Nak'd with a fresh value and ours is
//!   changed too (RFC 1661 6.4); ten such clashes in a row mean the link is
//!   looped back and LCP closes saying so.
//! - Once opened, an Echo-Request goes out every `lcp_echo_interval`; when
//!   `lcp_echo_failure` of them are outstanding at the next interval, the
//!   peer is declared dead and LCP closes with that reason (pppd's
//!   semantics, so field engineers' habits carry over).

use super::Rng;
use super::fsm::{self, Event, Fsm, Options, State, Timers, Verdict};
use cpe_daemon::Engine;
use cpe_wire::ppp::{Body, CHAP_MD5, ConfigOption, PROTO_CHAP, PROTO_LCP, PROTO_PAP, Packet};
use std::time::{Duration, Instant};

/// Smallest MRU we accept from the peer (pppd's MINMRU).
pub const MIN_MRU: u16 = 128;
/// MRU assumed when none is negotiated (RFC 1661 6.1).
pub const DEFAULT_MRU: u16 = 1500;
/// Magic-Number clashes in a row after which the link is looped back.
pub const LOOPBACK_CLASHES: u32 = 10;

/// How the peer wants us to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// PAP (RFC 1334).
    Pap,
    /// CHAP with MD5 (RFC 1994).
    ChapMd5,
}

impl AuthKind {
    /// The word shown in status output.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Pap => "pap",
            AuthKind::ChapMd5 => "chap-md5",
        }
    }
}

/// LCP settings from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcpConfig {
    /// The MRU to ask for (`wan.mtu`).
    pub mru: u16,
    /// Seconds between Echo-Requests; zero disables them.
    pub echo_interval: Duration,
    /// Outstanding Echo-Requests that declare the peer dead.
    pub echo_failure: u32,
}

/// What LCP negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkParams {
    /// What we receive (our MRU as acknowledged).
    pub mru: u16,
    /// What we may send (the peer's MRU).
    pub peer_mru: u16,
    /// Authentication the peer asked for, if any.
    pub auth: Option<AuthKind>,
}

/// The LCP option policy.
#[derive(Debug)]
pub struct LcpOptions {
    want_mru: u16,
    mru: Option<u16>,
    magic: Option<u32>,
    peer_mru: u16,
    auth: Option<AuthKind>,
    /// Values judged in the peer's last request, committed on Ack.
    pending: (u16, Option<AuthKind>),
    clashes: u32,
    rng: Rng,
}

impl LcpOptions {
    /// Our policy with `mru` requested and a magic number from `rng`.
    pub fn new(mru: u16, mut rng: Rng) -> LcpOptions {
        LcpOptions {
            want_mru: mru,
            mru: Some(mru),
            magic: Some(rng.nonzero_u32()),
            peer_mru: DEFAULT_MRU,
            auth: None,
            pending: (DEFAULT_MRU, None),
            clashes: 0,
            rng,
        }
    }

    /// The negotiated link parameters.
    pub fn params(&self) -> LinkParams {
        LinkParams {
            mru: self.mru.unwrap_or(DEFAULT_MRU),
            peer_mru: self.peer_mru,
            auth: self.auth,
        }
    }

    /// Our Magic-Number (0 when the peer rejected the option).
    pub fn magic(&self) -> u32 {
        self.magic.unwrap_or(0)
    }

    /// True once Magic-Numbers clashed often enough to mean a loop.
    pub fn looped(&self) -> bool {
        self.clashes >= LOOPBACK_CLASHES
    }

    fn clash(&mut self) -> u32 {
        self.clashes += 1;
        let mut fresh = self.rng.nonzero_u32();
        while Some(fresh) == self.magic {
            fresh = self.rng.nonzero_u32();
        }
        self.magic = Some(fresh);
        fresh
    }
}

impl Options for LcpOptions {
    fn request(&mut self) -> Vec<ConfigOption> {
        let mut o = Vec::new();
        if let Some(m) = self.mru {
            o.push(ConfigOption::Mru(m));
        }
        if let Some(m) = self.magic {
            o.push(ConfigOption::MagicNumber(m));
        }
        o
    }

    fn check(&mut self, options: &[ConfigOption]) -> Verdict {
        let (mut naks, mut rejects) = (Vec::new(), Vec::new());
        let mut pending = (DEFAULT_MRU, None);
        for option in options {
            match option {
                ConfigOption::Mru(m) if *m < MIN_MRU => naks.push(ConfigOption::Mru(MIN_MRU)),
                ConfigOption::Mru(m) => pending.0 = *m,
                ConfigOption::AuthProtocol { protocol, data } => {
                    match (*protocol, data.as_slice()) {
                        (PROTO_PAP, []) => pending.1 = Some(AuthKind::Pap),
                        (PROTO_CHAP, [CHAP_MD5]) => pending.1 = Some(AuthKind::ChapMd5),
                        _ => naks.push(ConfigOption::AuthProtocol {
                            protocol: PROTO_CHAP,
                            data: vec![CHAP_MD5],
                        }),
                    }
                }
                ConfigOption::MagicNumber(0) => {
                    naks.push(ConfigOption::MagicNumber(self.rng.nonzero_u32()))
                }
                ConfigOption::MagicNumber(m) if Some(*m) == self.magic => {
                    // RFC 1661 6.4: Nak with another value and change ours.
                    let mut theirs = self.rng.nonzero_u32();
                    let ours = self.clash();
                    while theirs == ours {
                        theirs = self.rng.nonzero_u32();
                    }
                    naks.push(ConfigOption::MagicNumber(theirs));
                }
                ConfigOption::MagicNumber(_) => {}
                _ => rejects.push(option.clone()),
            }
        }
        self.pending = pending;
        Verdict::from_lists(naks, rejects)
    }

    fn peer_acked(&mut self, _options: &[ConfigOption]) {
        (self.peer_mru, self.auth) = self.pending;
    }

    fn acked(&mut self, _options: &[ConfigOption]) -> Result<(), String> {
        self.clashes = 0;
        Ok(())
    }

    fn nakked(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        for option in options {
            match option {
                // A smaller MRU we can live with; a larger one we cannot
                // receive on PPPoE, so we keep asking (the convergence
                // guard ends it if the peer insists).
                ConfigOption::Mru(m) if (MIN_MRU..=self.want_mru).contains(m) => {
                    self.mru = Some(*m)
                }
                ConfigOption::MagicNumber(_) if self.magic.is_some() => {
                    self.clash();
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn rejected(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        for option in options {
            match option {
                ConfigOption::Mru(_) => self.mru = None,
                ConfigOption::MagicNumber(_) => self.magic = None,
                _ => {}
            }
        }
        Ok(())
    }
}

/// What the LCP engine takes.
#[derive(Debug, Clone, Copy)]
pub enum LcpInput<'a> {
    /// An LCP frame.
    Frame(&'a [u8]),
    /// A frame of a protocol nobody here runs: Protocol-Reject it.
    Unsupported(&'a [u8]),
    /// The PPPoE session exists: open and start negotiating.
    Start,
    /// The PPPoE session is gone (PADT, carrier loss).
    LowerDown,
    /// Shutdown: Terminate-Request, then finish.
    Close(&'a str),
}

/// The LCP engine.
#[derive(Debug)]
pub struct Lcp {
    fsm: Fsm<LcpOptions>,
    config: LcpConfig,
    next_echo: Option<Instant>,
    echo_id: u8,
    echoes_pending: u32,
    reject_id: u8,
}

impl Lcp {
    /// An LCP engine in the Initial state.
    pub fn new(config: LcpConfig, timers: Timers, rng: Rng) -> Lcp {
        Lcp {
            fsm: Fsm::new(PROTO_LCP, LcpOptions::new(config.mru, rng), timers),
            config,
            next_echo: None,
            echo_id: 0,
            echoes_pending: 0,
            reject_id: 0,
        }
    }

    /// The automaton's state.
    pub fn state(&self) -> State {
        self.fsm.state()
    }

    /// What was negotiated (meaningful once opened).
    pub fn params(&self) -> LinkParams {
        self.fsm.options().params()
    }

    /// Echo-Requests sent and not answered.
    pub fn echoes_pending(&self) -> u32 {
        self.echoes_pending
    }

    /// Why the link last went down or finished.
    pub fn reason(&self) -> &str {
        self.fsm.reason()
    }

    /// Received frames dropped, by reason.
    pub fn dropped(&self) -> &std::collections::BTreeMap<&'static str, u64> {
        self.fsm.dropped()
    }

    fn close(&mut self, reason: &str, now: Instant) {
        self.next_echo = None;
        self.fsm.handle(fsm::Input::Close(reason), now);
    }

    fn frame(&mut self, raw: &[u8], now: Instant) {
        let packet = match Packet::decode(raw) {
            Ok(p) if p.protocol == PROTO_LCP => p,
            Ok(_) => return self.fsm.count_drop("wrong_protocol"),
            Err(e) => return self.fsm.count_drop(e.reason()),
        };
        let opened = self.fsm.state() == State::Opened;
        let ours = self.fsm.options().magic();
        match packet.body {
            Body::EchoRequest { magic, data } => {
                if !opened {
                    return self.fsm.count_drop("echo_not_opened");
                }
                if magic != 0 && magic == ours {
                    return self.fsm.count_drop("echo_own_magic");
                }
                let mut data = data;
                data.truncate(usize::from(self.params().peer_mru).saturating_sub(8));
                self.fsm
                    .send(packet.identifier, Body::EchoReply { magic: ours, data });
            }
            Body::EchoReply { magic, .. } => {
                if magic != 0 && magic == ours {
                    // Our own request came back: a loop, not a live peer.
                    return self.fsm.count_drop("echo_own_magic");
                }
                self.echoes_pending = 0;
            }
            Body::DiscardRequest { .. } => {}
            Body::ProtocolReject { protocol, .. } => {
                if !opened {
                    return self.fsm.count_drop("protocol_reject_not_opened");
                }
                if protocol == PROTO_LCP {
                    self.fsm.handle(fsm::Input::ProtocolRejected, now);
                } else {
                    self.fsm.push_event(Event::PeerRejected(protocol));
                }
            }
            _ => {
                self.fsm.receive(packet, raw, now);
                if self.fsm.options().looped() && self.fsm.state() != State::Closing {
                    self.close("the link is looped back (own Magic-Number seen)", now);
                }
            }
        }
    }

    fn unsupported(&mut self, raw: &[u8]) {
        let Some(protocol) = super::protocol_of(raw) else {
            return self.fsm.count_drop("truncated");
        };
        if self.fsm.state() != State::Opened {
            // RFC 1661 5.7: only in the Opened state.
            return self.fsm.count_drop("unsupported_not_opened");
        }
        self.reject_id = self.reject_id.wrapping_add(1);
        let mut information = raw[2..].to_vec();
        information.truncate(usize::from(self.params().peer_mru).saturating_sub(6));
        self.fsm.send(
            self.reject_id,
            Body::ProtocolReject {
                protocol,
                information,
            },
        );
        self.fsm.count_drop("unsupported_protocol");
    }

    fn echo_tick(&mut self, now: Instant) {
        let Some(at) = self.next_echo.filter(|at| now >= *at) else {
            return;
        };
        if self.echoes_pending >= self.config.echo_failure {
            let reason = format!(
                "peer did not answer {} LCP Echo-Requests ({} s apart)",
                self.echoes_pending,
                self.config.echo_interval.as_secs()
            );
            self.close(&reason, now);
            return;
        }
        self.echo_id = self.echo_id.wrapping_add(1);
        let magic = self.fsm.options().magic();
        self.fsm.send(
            self.echo_id,
            Body::EchoRequest {
                magic,
                data: Vec::new(),
            },
        );
        self.echoes_pending += 1;
        self.next_echo = Some(at + self.config.echo_interval);
    }

    /// Keeps the echo timer in step with the automaton's state.
    fn follow_state(&mut self, now: Instant) {
        let opened = self.fsm.state() == State::Opened;
        if opened && self.next_echo.is_none() && !self.config.echo_interval.is_zero() {
            self.echoes_pending = 0;
            self.next_echo = Some(now + self.config.echo_interval);
        } else if !opened {
            self.next_echo = None;
        }
    }
}

impl Engine for Lcp {
    type Input<'a> = LcpInput<'a>;
    type Action = Event;

    fn handle(&mut self, input: LcpInput<'_>, now: Instant) {
        match input {
            LcpInput::Frame(raw) => self.frame(raw, now),
            LcpInput::Unsupported(raw) => self.unsupported(raw),
            LcpInput::Start => {
                self.fsm.handle(fsm::Input::Open, now);
                self.fsm.handle(fsm::Input::Up, now);
            }
            LcpInput::LowerDown => self.fsm.handle(fsm::Input::Down, now),
            LcpInput::Close(reason) => self.close(reason, now),
        }
        self.follow_state(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.fsm.handle_timeout(now);
        self.echo_tick(now);
        self.follow_state(now);
    }

    fn poll_action(&mut self) -> Option<Event> {
        self.fsm.poll_action()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.fsm.poll_timeout(), self.next_echo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
