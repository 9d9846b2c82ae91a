//! The sans-IO server for one LAN: a datagram in, a reply or a drop reason
//! out, following the [`cpe_daemon::Engine`] contract (it holds no
//! bindings, so it has no timers: `poll_timeout` is always `None`).
//!
//! What each client message gets (RFC 8415; we hold no bindings and assign
//! nothing):
//!
//! | message | answer |
//! |---|---|
//! | Information-request | Reply: Server ID, the client's Client ID, the ORO options we have, Information Refresh Time (18.3.6) |
//! | Solicit | none. 18.3.1 lets a server that will assign nothing answer with NoAddrsAvail *or* be configured not to answer; silence keeps dual clients looking for a stateful server and is what stateless servers usually do |
//! | Request, Renew (our Server ID) | Reply, each IA with NoAddrsAvail / NoPrefixAvail (Request, 18.3.2) or NoBinding (Renew, 18.3.4) |
//! | Release, Decline (our Server ID) | Reply: Success, each IA with NoBinding (18.3.7, 18.3.8) |
//! | Rebind, Confirm | none: without bindings or addresses of our own we cannot tell whether the addresses are valid (18.3.5, 18.3.3) |
//! | anything for another server, Relay-forward, server-to-client types | none |
//!
//! The validation rules of RFC 8415 section 16 are applied first (Client ID
//! required, Server ID forbidden or required and ours, no IA options in an
//! Information-request); every drop is counted by reason.

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::Instant;

use cpe_daemon::RateLimiter;
use cpe_wire::dhcpv6::{
    CLIENT_PORT, DecodeErrorKind, DhcpOption, Duid, Message, MessageType, Status, code,
};

use crate::config::ServerConfig;
use crate::counters::Counters;
use crate::reply;

/// Sources tracked by the rate limiter. An honest DHCPv6 client
/// retransmits at most about once a second (RFC 8415 INF_TIMEOUT is 1 s),
/// so it never meets the limits below.
const LIMITER_SOURCES: usize = 256;
/// Messages a source may send at once.
const LIMITER_BURST: u32 = 10;
/// Messages per second a source may send on average.
const LIMITER_RATE: u32 = 2;

/// A datagram as the driver received it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// UDP payload.
    pub payload: &'a [u8],
    /// Source address (normally the client's link-local).
    pub source: Ipv6Addr,
}

/// What the driver feeds in.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A datagram from a client.
    Received(Received<'a>),
    /// The router's address on this LAN (what `"self"` means) from the
    /// latest LAN facts; the next Reply uses it.
    SelfAddress(Option<Ipv6Addr>),
    /// The ISP's NTP servers (DHCPv6 option 56 on the WAN), served when
    /// `[lan.dhcpv6] ntp` is empty.
    WanNtp(&'a [Ipv6Addr]),
    /// A datagram the driver dropped before the engine could see it
    /// (oversized, wrong interface): counted like the engine's own drops.
    DriverDrop(DropReason),
    /// A Reply the driver could not send; `reason` is a counter key (see
    /// [`Counters::unsent`]).
    Unsent(&'static str),
}

/// What to do with a datagram: exactly one action per
/// [`Input::Received`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `payload` to `to`, UDP port `port`, on the arrival interface.
    Reply {
        /// Destination (the request's source).
        to: Ipv6Addr,
        /// Destination port (546).
        port: u16,
        /// Encoded Reply.
        payload: Vec<u8>,
    },
    /// Send nothing (the driver may log why).
    Drop(DropReason),
}

/// Why nothing was sent; each is a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The source exceeded its rate.
    RateLimited,
    /// The message did not decode.
    Malformed(DecodeErrorKind),
    /// A Relay-forward (we serve only directly attached clients).
    Relay,
    /// A server-to-client message type, or an unknown one.
    NotForServer,
    /// Solicit: stateless servers do not advertise.
    SolicitIgnored,
    /// Rebind or Confirm: no bindings to judge them by.
    NoBindings,
    /// RFC 8415 16: a required Client ID is missing (or repeated).
    MissingClientId,
    /// RFC 8415 16: a Server ID where none may be, or a repeated one.
    UnexpectedServerId,
    /// RFC 8415 16: addressed to another server (or no Server ID at all
    /// where ours is required).
    OtherServer,
    /// RFC 8415 16.12: an Information-request carrying an IA option.
    IaInInformationRequest,
    /// The driver saw a datagram larger than its buffer.
    Oversized,
    /// Arrived on another interface than the socket serves (IPV6_PKTINFO).
    WrongInterface,
    /// Our reply could not be encoded (never expected).
    EncodeFailed,
}

impl DropReason {
    /// Stable counter key.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::Malformed(k) => k.reason(),
            Self::Relay => "relay_forward",
            Self::NotForServer => "not_for_server",
            Self::SolicitIgnored => "solicit_ignored",
            Self::NoBindings => "no_bindings",
            Self::MissingClientId => "missing_client_id",
            Self::UnexpectedServerId => "unexpected_server_id",
            Self::OtherServer => "other_server",
            Self::IaInInformationRequest => "ia_in_information_request",
            Self::Oversized => "oversized",
            Self::WrongInterface => "wrong_interface",
            Self::EncodeFailed => "encode_failed",
        }
    }

    /// Whether the datagram was malformed (as opposed to well-formed but
    /// not ours to answer).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Self::Malformed(_) | Self::Oversized)
    }
}

/// The server of one LAN.
#[derive(Debug, Clone)]
pub struct Engine {
    config: ServerConfig,
    duid: Duid,
    self_address: Option<Ipv6Addr>,
    wan_ntp: Vec<Ipv6Addr>,
    limiter: RateLimiter<Ipv6Addr>,
    counters: Counters,
    queue: VecDeque<Action>,
}

fn type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Solicit => "solicit",
        MessageType::Request => "request",
        MessageType::Confirm => "confirm",
        MessageType::Renew => "renew",
        MessageType::Rebind => "rebind",
        MessageType::Release => "release",
        MessageType::Decline => "decline",
        MessageType::InformationRequest => "information_request",
        _ => "other",
    }
}

impl Engine {
    /// A server identified by `duid` serving `config`.
    pub fn new(config: ServerConfig, duid: Duid) -> Self {
        Self {
            config,
            duid,
            self_address: None,
            wan_ntp: Vec::new(),
            limiter: RateLimiter::new(LIMITER_SOURCES, LIMITER_BURST, LIMITER_RATE),
            counters: Counters::default(),
            queue: VecDeque::new(),
        }
    }

    /// The address `"self"` currently stands for.
    pub fn self_address(&self) -> Option<Ipv6Addr> {
        self.self_address
    }

    /// The NTP servers served now (configured, else the ISP's).
    pub fn ntp(&self) -> &[Ipv6Addr] {
        self.config.resolved_ntp(&self.wan_ntp)
    }

    /// The config served.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Our DUID.
    pub fn duid(&self) -> &Duid {
        &self.duid
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Handles one datagram received at `now`.
    fn on_datagram(&mut self, rx: Received<'_>, now: Instant) {
        self.counters.received += 1;
        let action = self.decide(rx, now);
        match &action {
            Action::Reply { .. } => self.counters.replies += 1,
            Action::Drop(r) => self.counters.drop(r.name()),
        }
        self.queue.push_back(action);
    }

    fn decide(&mut self, rx: Received<'_>, now: Instant) -> Action {
        if !self.limiter.allow(rx.source, now) {
            return Action::Drop(DropReason::RateLimited);
        }
        let msg = match Message::decode(rx.payload) {
            Ok(m) => m,
            Err(e) if e.kind == DecodeErrorKind::RelayMessage => {
                return Action::Drop(DropReason::Relay);
            }
            Err(e) => return Action::Drop(DropReason::Malformed(e.kind)),
        };
        let t = msg.msg_type;
        if matches!(
            t,
            MessageType::Advertise
                | MessageType::Reply
                | MessageType::Reconfigure
                | MessageType::Other(_)
        ) {
            return Action::Drop(DropReason::NotForServer);
        }
        self.counters.request(type_name(t));
        if let Err(r) = self.validate(&msg) {
            return Action::Drop(r);
        }
        let reply = match t {
            MessageType::InformationRequest => reply::information(
                &msg,
                &self.duid,
                &self.config,
                self.self_address,
                self.ntp(),
            ),
            MessageType::Request => {
                reply::no_bindings(&msg, &self.duid, None, Status::NoAddrsAvail)
            }
            MessageType::Renew => reply::no_bindings(&msg, &self.duid, None, Status::NoBinding),
            MessageType::Release | MessageType::Decline => {
                reply::no_bindings(&msg, &self.duid, Some(Status::Success), Status::NoBinding)
            }
            MessageType::Solicit => return Action::Drop(DropReason::SolicitIgnored),
            _ => return Action::Drop(DropReason::NoBindings),
        };
        match reply.to_bytes() {
            Ok(payload) => Action::Reply {
                to: rx.source,
                port: CLIENT_PORT,
                payload,
            },
            Err(_) => Action::Drop(DropReason::EncodeFailed),
        }
    }

    /// RFC 8415 section 16 checks on identifiers and IAs.
    fn validate(&self, msg: &Message) -> Result<(), DropReason> {
        let client_ids = msg.count(code::CLIENT_ID);
        let server_ids = msg.count(code::SERVER_ID);
        if client_ids > 1 {
            return Err(DropReason::MissingClientId);
        }
        if server_ids > 1 {
            return Err(DropReason::UnexpectedServerId);
        }
        let ours = msg.server_id() == Some(&self.duid);
        match msg.msg_type {
            MessageType::InformationRequest => {
                if server_ids == 1 && !ours {
                    return Err(DropReason::OtherServer);
                }
                let has_ia = msg.options.iter().any(|o| {
                    matches!(o, DhcpOption::IaNa(_) | DhcpOption::IaPd(_)) || o.code() == IA_TA_CODE
                });
                if has_ia {
                    return Err(DropReason::IaInInformationRequest);
                }
            }
            MessageType::Solicit | MessageType::Confirm | MessageType::Rebind => {
                if client_ids == 0 {
                    return Err(DropReason::MissingClientId);
                }
                if server_ids != 0 {
                    return Err(DropReason::UnexpectedServerId);
                }
            }
            _ => {
                if client_ids == 0 {
                    return Err(DropReason::MissingClientId);
                }
                if !ours {
                    return Err(DropReason::OtherServer);
                }
            }
        }
        Ok(())
    }
}

impl cpe_daemon::Engine for Engine {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Received(rx) => self.on_datagram(rx, now),
            Input::SelfAddress(address) => self.self_address = address,
            Input::WanNtp(servers) => self.wan_ntp = servers.to_vec(),
            Input::DriverDrop(reason) => {
                self.counters.received += 1;
                self.counters.drop(reason.name());
            }
            Input::Unsent(reason) => self.counters.unsent(reason),
        }
    }

    /// No timers: nothing happens with time alone.
    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_action(&mut self) -> Option<Action> {
        self.queue.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// IA_TA (RFC 8415 21.5, deprecated but still an IA option); the codec
/// keeps it raw.
const IA_TA_CODE: u16 = 4;
