//! The DHCPv4 client state machine (RFC 2131 4.4), sans-IO.
//!
//! It follows the router's one engine contract, [`cpe_daemon::Engine`].
//! Time comes in with every call; randomness comes from a seed given at
//! construction, so tests replay exactly. The driver sends what it is told
//! (pulled with `poll_action`), configures the lease it is handed, and calls
//! `handle_timeout` at `poll_timeout`.

use cpe_sys::random::Rng;
use cpe_wire::dhcpv4::{
    self, FLAG_BROADCAST, Message, MessageType, OP_REPLY, OP_REQUEST, Options, PARAMETERS_WANTED,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// RFC 2131 4.1: first retransmission after 4 s, doubling to 64 s.
const RETRANSMIT_FIRST: Duration = Duration::from_secs(4);
const RETRANSMIT_MAX: Duration = Duration::from_secs(64);
/// Requests in SELECTING / INIT-REBOOT before starting over.
const REQUEST_TRIES: u32 = 4;
/// RFC 2131 4.4.5: renew/rebind retransmissions no closer than 60 s.
const RENEW_MIN_GAP: Duration = Duration::from_secs(60);
/// Floor for a lease time, so a broken server cannot make us spin.
const MIN_LEASE: u32 = 60;

/// A lease as the client holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Our address.
    pub address: Ipv4Addr,
    /// Prefix length from the subnet mask (default /32 if absent).
    pub prefix_len: u8,
    /// Default gateway.
    pub router: Option<Ipv4Addr>,
    /// DNS servers.
    pub dns: Vec<Ipv4Addr>,
    /// NTP servers (option 42).
    pub ntp: Vec<Ipv4Addr>,
    /// The server that granted it (option 54).
    pub server: Ipv4Addr,
    /// Lease time, seconds.
    pub lease_secs: u32,
    /// When it was granted (the Request's send time, RFC 2131 4.4.1).
    pub granted_at: Instant,
    /// T1 deadline.
    pub t1: Instant,
    /// T2 deadline.
    pub t2: Instant,
    /// Expiry.
    pub expires: Instant,
}

/// What survives a restart: enough to ask for the same address again
/// (INIT-REBOOT). Times do not survive: the new ACK brings fresh ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// The address we held.
    pub address: Ipv4Addr,
    /// The server that granted it.
    pub server: Ipv4Addr,
}

/// Client state (RFC 2131 figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Link down or not started.
    Idle,
    /// Sent DISCOVER, collecting an OFFER.
    Selecting,
    /// Sent REQUEST for an OFFER.
    Requesting,
    /// Asking for the remembered address after a restart.
    Rebooting,
    /// Holding a lease.
    Bound,
    /// Past T1: unicast REQUEST to our server.
    Renewing,
    /// Past T2: broadcast REQUEST to any server.
    Rebinding,
}

impl State {
    /// The word shown in status.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Selecting => "selecting",
            State::Requesting => "requesting",
            State::Rebooting => "rebooting",
            State::Bound => "bound",
            State::Renewing => "renewing",
            State::Rebinding => "rebinding",
        }
    }
}

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// 255.255.255.255:67 from 0.0.0.0 or our address.
    Broadcast,
    /// The server's address, port 67, from our leased address.
    Unicast(Ipv4Addr),
}

/// Input to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The link can carry traffic (carrier up).
    LinkUp,
    /// Carrier lost: stop sending; keep the lease until it expires.
    LinkDown,
    /// A UDP payload received on port 68.
    Packet(Vec<u8>),
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this payload.
    Send(Vec<u8>, Destination),
    /// Put the lease on the interface (address, route); also on renewals,
    /// to refresh lifetimes.
    Configure(Lease),
    /// Take this lease off the interface.
    Deconfigure(Lease),
    /// Persist (or with `None`, forget) what a restart needs.
    Remember(Option<Remembered>),
}

/// Counters for status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets that did not decode.
    pub malformed: u64,
    /// Well-formed packets not for us or not expected now.
    pub ignored: u64,
    /// NAKs received.
    pub naks: u64,
}

/// The DHCPv4 client.
#[derive(Debug)]
pub struct Client {
    mac: [u8; 6],
    hostname: Option<String>,
    rng: Rng,
    state: State,
    xid: u32,
    started: Instant,
    last_sent: Instant,
    link_up: bool,
    next_send: Option<Instant>,
    interval: Duration,
    tries: u32,
    offer: Option<(Ipv4Addr, Ipv4Addr)>, // (address, server)
    lease: Option<Lease>,
    remembered: Option<Remembered>,
    counters: Counters,
    /// Actions not yet pulled by the driver, oldest first.
    actions: VecDeque<Action>,
}

impl Client {
    /// A client for the interface with `mac`. `seed` feeds the transaction
    /// ids and retransmission jitter; `remembered` is the persisted lease.
    pub fn new(
        mac: [u8; 6],
        hostname: Option<String>,
        seed: u64,
        remembered: Option<Remembered>,
        now: Instant,
    ) -> Client {
        Client {
            mac,
            hostname,
            rng: Rng::new(seed),
            state: State::Idle,
            xid: 0,
            started: now,
            last_sent: now,
            link_up: false,
            next_send: None,
            interval: RETRANSMIT_FIRST,
            tries: 0,
            offer: None,
            lease: None,
            remembered,
            counters: Counters::default(),
            actions: VecDeque::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Current lease.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }
    /// Counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// `d` randomised by ±1 s (RFC 2131 4.1).
    fn jitter(&mut self, d: Duration) -> Duration {
        let ms = self.random() % 2001;
        (d + Duration::from_millis(ms)).saturating_sub(Duration::from_secs(1))
    }

    fn begin(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.remembered.is_some() {
            self.start_exchange(State::Rebooting, now, out);
        } else {
            self.start_exchange(State::Selecting, now, out);
        }
    }

    fn start_exchange(&mut self, state: State, now: Instant, out: &mut Vec<Action>) {
        self.state = state;
        self.xid = self.random() as u32;
        self.started = now;
        self.tries = 0;
        self.interval = RETRANSMIT_FIRST;
        self.send_now(now, out);
    }

    /// Sends the current state's message and schedules its retransmission.
    fn send_now(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !self.link_up {
            self.next_send = None;
            return;
        }
        self.tries += 1;
        self.last_sent = now;
        let (msg, dst) = match self.state {
            State::Selecting => (
                self.message(MessageType::Discover, now),
                Destination::Broadcast,
            ),
            State::Requesting => {
                let Some((addr, server)) = self.offer else {
                    return;
                };
                let mut m = self.message(MessageType::Request, now);
                m.options.requested_ip = Some(addr);
                m.options.server_id = Some(server);
                (m, Destination::Broadcast)
            }
            State::Rebooting => {
                let Some(r) = self.remembered.clone() else {
                    return;
                };
                let mut m = self.message(MessageType::Request, now);
                m.options.requested_ip = Some(r.address);
                (m, Destination::Broadcast)
            }
            State::Renewing | State::Rebinding => {
                let Some(l) = self.lease.clone() else { return };
                let mut m = self.message(MessageType::Request, now);
                m.ciaddr = l.address;
                m.flags = 0;
                let dst = if self.state == State::Renewing {
                    Destination::Unicast(l.server)
                } else {
                    Destination::Broadcast
                };
                (m, dst)
            }
            State::Idle | State::Bound => return,
        };
        out.push(Action::Send(
            msg.to_bytes().unwrap_or_else(|e| match e {}),
            dst,
        ));
        let gap = match self.state {
            State::Renewing | State::Rebinding => {
                // Half the time left to the next stage, at least 60 s.
                let end = self.lease.as_ref().map(|l| {
                    if self.state == State::Renewing {
                        l.t2
                    } else {
                        l.expires
                    }
                });
                let left = end.map_or(RENEW_MIN_GAP, |e| e.saturating_duration_since(now));
                (left / 2).max(RENEW_MIN_GAP)
            }
            _ => {
                let g = self.jitter(self.interval);
                self.interval = (self.interval * 2).min(RETRANSMIT_MAX);
                g
            }
        };
        self.next_send = Some(now + gap);
    }

    fn message(&self, t: MessageType, now: Instant) -> Message {
        let secs = u16::try_from(now.saturating_duration_since(self.started).as_secs())
            .unwrap_or(u16::MAX);
        let mut client_id = vec![1u8];
        client_id.extend_from_slice(&self.mac);
        Message {
            op: OP_REQUEST,
            hops: 0,
            xid: self.xid,
            secs,
            flags: FLAG_BROADCAST,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: self.mac,
            options: Options {
                message_type: Some(t),
                client_id,
                parameter_list: PARAMETERS_WANTED.to_vec(),
                max_message_size: Some(1500),
                hostname: self.hostname.clone(),
                ..Options::default()
            },
        }
    }

    fn on_time(&mut self, now: Instant, out: &mut Vec<Action>) {
        // Lease milestones first: they change what is sent.
        if let Some(l) = self.lease.clone() {
            if now >= l.expires {
                log::warn!("DHCPv4 lease {} expired", l.address);
                self.lease = None;
                out.push(Action::Deconfigure(l));
                self.remembered = None;
                out.push(Action::Remember(None));
                if self.link_up {
                    self.start_exchange(State::Selecting, now, out);
                } else {
                    self.state = State::Idle;
                }
                return;
            }
            if !self.link_up {
                // Nothing can be sent; the expiry above still applies.
            } else if now >= l.t2 && matches!(self.state, State::Bound | State::Renewing) {
                self.state = State::Rebinding;
                self.send_now(now, out);
                return;
            } else if now >= l.t1 && self.state == State::Bound {
                self.state = State::Renewing;
                self.xid = self.random() as u32;
                self.send_now(now, out);
                return;
            }
        }
        if let Some(t) = self.next_send
            && now >= t
        {
            match self.state {
                State::Requesting | State::Rebooting if self.tries >= REQUEST_TRIES => {
                    // No answer: forget the offer / remembered address.
                    if self.state == State::Rebooting {
                        self.remembered = None;
                    }
                    self.offer = None;
                    self.start_exchange(State::Selecting, now, out);
                }
                _ => self.send_now(now, out),
            }
        }
    }

    fn receive(&mut self, bytes: &[u8], now: Instant, out: &mut Vec<Action>) {
        let msg = match dhcpv4::Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.counters.malformed += 1;
                if self.counters.malformed <= 10 || self.counters.malformed.is_power_of_two() {
                    log::warn!(
                        "dropped malformed DHCPv4 packet: {e} ({} so far)",
                        self.counters.malformed
                    );
                }
                return;
            }
        };
        if msg.op != OP_REPLY || msg.xid != self.xid || msg.chaddr != self.mac {
            self.counters.ignored += 1;
            return;
        }
        match (self.state, msg.options.message_type) {
            (State::Selecting, Some(MessageType::Offer)) => {
                let Some(server) = msg.options.server_id else {
                    self.counters.ignored += 1;
                    return;
                };
                if msg.yiaddr.is_unspecified() || msg.yiaddr.is_broadcast() {
                    self.counters.ignored += 1;
                    return;
                }
                log::info!("DHCPv4 offer {} from {server}", msg.yiaddr);
                self.offer = Some((msg.yiaddr, server));
                self.state = State::Requesting;
                self.tries = 0;
                self.interval = RETRANSMIT_FIRST;
                self.send_now(now, out);
            }
            (
                State::Requesting | State::Rebooting | State::Renewing | State::Rebinding,
                Some(MessageType::Ack),
            ) => {
                self.take_ack(&msg, now, out);
            }
            (
                State::Requesting | State::Rebooting | State::Renewing | State::Rebinding,
                Some(MessageType::Nak),
            ) => {
                self.counters.naks += 1;
                log::warn!(
                    "DHCPv4 NAK from {}: {}",
                    msg.options
                        .server_id
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    msg.options.message.as_deref().unwrap_or("no reason given")
                );
                if let Some(l) = self.lease.take() {
                    out.push(Action::Deconfigure(l));
                }
                self.remembered = None;
                self.offer = None;
                out.push(Action::Remember(None));
                self.start_exchange(State::Selecting, now, out);
            }
            _ => self.counters.ignored += 1,
        }
    }

    fn take_ack(&mut self, msg: &Message, now: Instant, out: &mut Vec<Action>) {
        let o = &msg.options;
        let server = o
            .server_id
            .or(self.lease.as_ref().map(|l| l.server))
            .or(self.offer.map(|(_, s)| s));
        let (Some(server), false) = (server, msg.yiaddr.is_unspecified()) else {
            self.counters.ignored += 1;
            return;
        };
        let lease_secs = o.lease_time.unwrap_or(MIN_LEASE).max(MIN_LEASE);
        let t1_secs = o
            .renewal_time
            .filter(|t| *t < lease_secs)
            .unwrap_or(lease_secs / 2);
        let t2_secs = o
            .rebinding_time
            .filter(|t| *t < lease_secs && *t >= t1_secs)
            .unwrap_or((u64::from(lease_secs) * 7 / 8) as u32)
            .max(t1_secs);
        let prefix_len = o
            .subnet_mask
            .map(|m| u32::from(m).leading_ones() as u8)
            .filter(|l| (1..=32).contains(l))
            .unwrap_or(32);
        // RFC 2131 4.4.1: lease times count from when the Request was sent.
        let granted_at = self.last_sent.min(now);
        let at = |s: u32| granted_at + Duration::from_secs(u64::from(s));
        let lease = Lease {
            address: msg.yiaddr,
            prefix_len,
            router: o.routers.first().copied(),
            dns: o.dns_servers.clone(),
            ntp: o.ntp_servers.clone(),
            server,
            lease_secs,
            granted_at,
            t1: at(t1_secs),
            t2: at(t2_secs),
            expires: at(lease_secs),
        };
        if let Some(old) = self.lease.take()
            && (old.address != lease.address
                || old.prefix_len != lease.prefix_len
                || old.router != lease.router)
        {
            out.push(Action::Deconfigure(old));
        }
        log::info!(
            "DHCPv4 bound {}/{} via {} from {server}, lease {lease_secs} s",
            lease.address,
            lease.prefix_len,
            lease
                .router
                .map(|r| r.to_string())
                .unwrap_or_else(|| "no router".into())
        );
        self.state = State::Bound;
        self.next_send = None;
        self.offer = None;
        let remembered = Remembered {
            address: lease.address,
            server,
        };
        if self.remembered.as_ref() != Some(&remembered) {
            self.remembered = Some(remembered.clone());
            out.push(Action::Remember(Some(remembered)));
        }
        self.lease = Some(lease.clone());
        out.push(Action::Configure(lease));
    }
}

impl cpe_daemon::Engine for Client {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        let mut out = Vec::new();
        match input {
            Input::LinkUp => {
                self.link_up = true;
                if self.state == State::Idle {
                    self.begin(now, &mut out);
                } else if matches!(
                    self.state,
                    State::Bound | State::Renewing | State::Rebinding
                ) {
                    // Possibly another network now: verify the lease
                    // (RFC 2131 3.2, INIT-REBOOT with the current address).
                    if let Some(l) = &self.lease {
                        self.remembered = Some(Remembered {
                            address: l.address,
                            server: l.server,
                        });
                    }
                    self.start_exchange(State::Rebooting, now, &mut out);
                }
            }
            Input::LinkDown => {
                self.link_up = false;
                self.next_send = None;
                self.state = if self.lease.is_some() {
                    State::Bound
                } else {
                    State::Idle
                };
                if self.lease.is_none() {
                    self.offer = None;
                }
            }
            Input::Packet(bytes) => self.receive(&bytes, now, &mut out),
        }
        self.on_time(now, &mut out);
        self.actions.extend(out);
    }

    fn handle_timeout(&mut self, now: Instant) {
        let mut out = Vec::new();
        self.on_time(now, &mut out);
        self.actions.extend(out);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next (re)transmission or lease milestone (T1, T2, expiry).
    fn poll_timeout(&self) -> Option<Instant> {
        let lease_deadline = self.lease.as_ref().map(|l| match self.state {
            _ if !self.link_up => l.expires,
            State::Bound => l.t1,
            State::Renewing => l.t2,
            _ => l.expires,
        });
        [self.next_send, lease_deadline].into_iter().flatten().min()
    }
}
