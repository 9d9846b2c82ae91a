//! PAP (RFC 1334) and CHAP-MD5 (RFC 1994) as the side that authenticates
//! itself to the access concentrator.
//!
//! The password lives in [`Credentials`] only, whose `Debug` is redacted;
//! it leaves this module in exactly two ways: inside a PAP
//! Authenticate-Request frame (whose `Debug` is redacted by the codec) and
//! hashed into a CHAP Response. Failure reasons carry the server's own
//! message verbatim (the ISP's text is what the engineer quotes to the ISP),
//! made safe for a console by [`super::peer_text`] only.
//!
//! The MD5 digest is RustCrypto's `md-5`: a hand-written digest would be one
//! more thing to get wrong for no saving.

use super::fsm::Timers;
use super::lcp::AuthKind;
use super::{Frame, peer_text};
use cpe_daemon::Engine;
use cpe_wire::ppp::{Body, PROTO_CHAP, PROTO_PAP, Packet, Secret};
use md5::{Digest, Md5};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Instant;

/// User name and password for PAP/CHAP.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// PAP Peer-ID / CHAP Name.
    pub username: String,
    password: Secret,
}

impl Credentials {
    /// Credentials from the config.
    pub fn new(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_string(),
            password: Secret(password.as_bytes().to_vec()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// The CHAP-MD5 response value: MD5(Identifier || secret || Challenge)
/// (RFC 1994 4.1).
pub fn chap_md5(identifier: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([identifier]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    /// "PAP" or "CHAP".
    pub protocol: &'static str,
    /// The server's message, verbatim (escaped for the console only), when
    /// it refused us; `None` when it never answered.
    pub server_message: Option<String>,
    /// What happened, for the engineer.
    pub detail: String,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.server_message {
            Some(m) => write!(f, "{}: {}: \"{m}\"", self.protocol, self.detail),
            None => write!(f, "{}: {}", self.protocol, self.detail),
        }
    }
}

/// What the authentication engine takes.
#[derive(Debug, Clone, Copy)]
pub enum AuthInput<'a> {
    /// LCP opened and the peer asked for this protocol.
    Start(AuthKind),
    /// A PAP or CHAP frame.
    Frame(&'a [u8]),
    /// LCP went down.
    Stop,
}

/// What it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAction {
    /// Send this frame.
    Send(Frame),
    /// The server accepted us, with its message.
    Success(String),
    /// The server refused us or never answered.
    Failure(AuthFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// PAP: request sent, waiting for Ack/Nak; CHAP: waiting for a
    /// Challenge or the verdict on our Response.
    Pending(AuthKind),
    /// Accepted (CHAP may still re-challenge).
    Done(AuthKind),
    Failed,
}

/// The PAP/CHAP client.
#[derive(Debug)]
pub struct Auth {
    credentials: Credentials,
    timers: Timers,
    phase: Phase,
    id: u8,
    /// Identifier of the Challenge we last answered.
    answered: Option<u8>,
    tries: u32,
    deadline: Option<Instant>,
    actions: VecDeque<AuthAction>,
    dropped: BTreeMap<&'static str, u64>,
}

impl Auth {
    /// A client with these credentials; PAP retransmits on the restart
    /// timer up to Max-Configure times, CHAP waits as long for a Challenge.
    pub fn new(credentials: Credentials, timers: Timers) -> Auth {
        Auth {
            credentials,
            timers,
            phase: Phase::Idle,
            id: 0,
            answered: None,
            tries: 0,
            deadline: None,
            actions: VecDeque::new(),
            dropped: BTreeMap::new(),
        }
    }

    /// True once the server accepted us.
    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    /// Received frames dropped, by reason.
    pub fn dropped(&self) -> &BTreeMap<&'static str, u64> {
        &self.dropped
    }

    fn drop_input(&mut self, reason: &'static str) {
        *self.dropped.entry(reason).or_default() += 1;
    }

    fn send(&mut self, packet: Packet) {
        match Frame::encode(&packet) {
            Some(f) => self.actions.push_back(AuthAction::Send(f)),
            None => self.drop_input("encode_failed"),
        }
    }

    fn fail(&mut self, protocol: &'static str, server_message: Option<&[u8]>, detail: &str) {
        self.phase = Phase::Failed;
        self.deadline = None;
        self.actions.push_back(AuthAction::Failure(AuthFailure {
            protocol,
            server_message: server_message.map(peer_text),
            detail: detail.to_string(),
        }));
    }

    fn pap_request(&mut self, now: Instant) {
        self.id = self.id.wrapping_add(1);
        self.tries += 1;
        let body = Body::PapRequest {
            peer_id: self.credentials.username.as_bytes().to_vec(),
            password: self.credentials.password.clone(),
        };
        self.send(Packet::new(PROTO_PAP, self.id, body));
        self.deadline = Some(now + self.timers.restart);
    }

    fn start(&mut self, kind: AuthKind, now: Instant) {
        self.phase = Phase::Pending(kind);
        self.tries = 0;
        self.answered = None;
        match kind {
            AuthKind::Pap => self.pap_request(now),
            AuthKind::ChapMd5 => {
                self.deadline = Some(now + self.timers.restart * self.timers.max_configure.max(1));
            }
        }
    }

    fn frame(&mut self, raw: &[u8], now: Instant) {
        let packet = match Packet::decode(raw) {
            Ok(p) => p,
            Err(e) => return self.drop_input(e.reason()),
        };
        let id = packet.identifier;
        match (self.phase, packet.body) {
            (Phase::Pending(AuthKind::Pap), Body::PapAck(message)) if id == self.id => {
                self.phase = Phase::Done(AuthKind::Pap);
                self.deadline = None;
                self.actions
                    .push_back(AuthAction::Success(peer_text(&message)));
            }
            (Phase::Pending(AuthKind::Pap), Body::PapNak(message)) if id == self.id => {
                self.fail(
                    "PAP",
                    Some(&message),
                    "the server refused the user name or password",
                );
            }
            (
                Phase::Pending(AuthKind::ChapMd5) | Phase::Done(AuthKind::ChapMd5),
                Body::ChapChallenge { value, .. },
            ) => {
                if value.is_empty() {
                    return self.drop_input("empty_challenge");
                }
                let response = chap_md5(id, &self.credentials.password.0, &value);
                let body = Body::ChapResponse {
                    value: response.to_vec(),
                    name: self.credentials.username.as_bytes().to_vec(),
                };
                self.send(Packet::new(PROTO_CHAP, id, body));
                self.answered = Some(id);
                if self.phase == Phase::Pending(AuthKind::ChapMd5) {
                    // The server's verdict is what we wait for now; it
                    // retransmits its Challenge if our Response is lost.
                    self.deadline =
                        Some(now + self.timers.restart * self.timers.max_configure.max(1));
                }
            }
            (Phase::Pending(AuthKind::ChapMd5), Body::ChapSuccess(message))
                if self.answered == Some(id) =>
            {
                self.phase = Phase::Done(AuthKind::ChapMd5);
                self.deadline = None;
                self.actions
                    .push_back(AuthAction::Success(peer_text(&message)));
            }
            (Phase::Done(AuthKind::ChapMd5), Body::ChapSuccess(_)) => {}
            (
                Phase::Pending(AuthKind::ChapMd5) | Phase::Done(AuthKind::ChapMd5),
                Body::ChapFailure(message),
            ) if self.answered == Some(id) => {
                self.fail("CHAP", Some(&message), "the server refused our response");
            }
            _ => self.drop_input("unexpected"),
        }
    }
}

impl Engine for Auth {
    type Input<'a> = AuthInput<'a>;
    type Action = AuthAction;

    fn handle(&mut self, input: AuthInput<'_>, now: Instant) {
        match input {
            AuthInput::Start(kind) => self.start(kind, now),
            AuthInput::Frame(raw) => self.frame(raw, now),
            AuthInput::Stop => {
                self.phase = Phase::Idle;
                self.deadline = None;
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|d| now < d) {
            return;
        }
        match self.phase {
            Phase::Pending(AuthKind::Pap) if self.tries < self.timers.max_configure => {
                self.pap_request(now)
            }
            Phase::Pending(AuthKind::Pap) => {
                let detail = format!("no answer to {} Authenticate-Requests", self.tries);
                self.fail("PAP", None, &detail);
            }
            Phase::Pending(AuthKind::ChapMd5) => {
                let detail = match self.answered {
                    None => "the server never sent a Challenge",
                    Some(_) => "no Success or Failure after our Response",
                };
                self.fail("CHAP", None, detail);
            }
            _ => self.deadline = None,
        }
    }

    fn poll_action(&mut self) -> Option<AuthAction> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
}
