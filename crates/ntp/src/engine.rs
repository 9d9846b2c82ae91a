//! The SNTP client as a sans-IO state machine.
//!
//! One server is used at a time, in the order configured servers, then the
//! WAN's (DHCPv6 option 56). Each *burst* sends `burst` requests (one once
//! synchronised), `spacing` apart; a request not answered by the next one
//! is a timeout. At the end of a burst the sample with the least delay is
//! used: the clock is stepped if the offset exceeds `step_threshold` (or
//! only shown when `set_clock` is off), and the next burst comes one poll
//! interval later. The poll interval doubles after each good burst that
//! needed no step, from `min_poll` to `max_poll`, and returns to `min_poll`
//! after a step. A burst with no good sample moves to the next server; once
//! every server has failed in a row, the client waits the poll interval
//! (doubling again, up to `max_poll`) before the next round (RFC 4330
//! section 10: a client must back off when a server does not answer).
//!
//! Every reply is checked before its content is believed (RFC 5905
//! section 8 "packet sanity", RFC 4330 section 5): it must come from the
//! address *and port* the request went to, answer the outstanding request
//! (origin timestamp equal to the random transmit timestamp we sent, so a
//! blind spoofer must guess 64 bits, and a replayed or duplicated reply
//! finds no request), be in server mode with a non-zero transmit timestamp,
//! and come from a synchronised server (leap 3 and stratum 16 are
//! rejected). Only then is a Kiss-o'-Death (stratum 0) honoured: RATE
//! doubles the poll interval and ends the burst, DENY and RSTR retire the
//! server until the server list changes (RFC 5905 section 7.4).
//!
//! Offset and delay come from the four timestamps of RFC 5905 section 8:
//! T1 (our transmit), T2 (server receive), T3 (server transmit) and T4 (our
//! receive). Because the request carries a random value instead of T1,
//! T1 is recomputed as T4 minus the monotonic time the request was out,
//! which is also immune to the clock being stepped in between.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use cpe_bus::status::ntp::NtpStatus;
use cpe_sys::random::Rng;
use cpe_wire::ntp::{self, Leap, Message, Mode, Timestamp};

use crate::config::ClientConfig;
use crate::counters::Counters;

/// Unsynchronised after this many longest polls without a good sample.
pub const STALE_POLLS: u32 = 3;

/// What the driver feeds in.
#[derive(Debug)]
pub enum Input<'a> {
    /// The servers learned on the WAN (DHCPv6 option 56), in the ISP's
    /// order; replaces the previous list.
    WanServers(Vec<IpAddr>),
    /// A datagram received on the request's socket.
    Reply {
        /// Who sent it.
        from: SocketAddr,
        /// Its payload.
        data: &'a [u8],
        /// The system clock when it arrived (T4).
        wall: Timestamp,
    },
    /// The result of a [`Action::StepClock`].
    Stepped(Result<(), String>),
    /// A request could not be sent (the reason, for the status).
    SendFailed(String),
}

/// What the engine asks the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `packet` to `to` from a new socket (a new random source port;
    /// replies to the previous request's socket are no longer awaited).
    Send {
        /// The server.
        to: SocketAddr,
        /// A 48-octet client request.
        packet: Vec<u8>,
    },
    /// Step the system clock by this many nanoseconds (positive: forward).
    StepClock {
        /// The offset to add.
        offset_ns: i64,
    },
}

/// The request in flight.
#[derive(Debug, Clone, Copy)]
struct Pending {
    to: SocketAddr,
    nonce: Timestamp,
    sent_at: Instant,
}

/// One good reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    offset_ns: i64,
    delay_ns: i64,
    stratum: u8,
}

/// The last sample used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Synced {
    server: IpAddr,
    sample: Sample,
    at: Instant,
}

/// The client's status, as `cpectl show ntp` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// A good sample arrived within the last [`STALE_POLLS`] longest polls.
    pub synced: bool,
    /// The server of the last good sample.
    pub server: Option<IpAddr>,
    /// Its stratum.
    pub stratum: Option<u8>,
    /// The offset measured by the last good sample (before any step).
    pub offset_ns: Option<i64>,
    /// Its round-trip delay.
    pub delay_ns: Option<i64>,
    /// Seconds since the last good sample.
    pub last_sync_age: Option<Duration>,
    /// Why the client is not synchronised (or what is wrong now).
    pub reason: Option<String>,
}

/// Where the client is between two deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No server to ask.
    Idle,
    /// A burst starts at `next`.
    Waiting,
    /// Sending a burst: the next request (or the conclusion) at `next`.
    Burst,
}

/// The SNTP client.
pub struct Engine {
    phase: Phase,
    cfg: ClientConfig,
    rng: Rng,
    counters: Counters,
    wan: Vec<IpAddr>,
    /// Configured then WAN servers, de-duplicated.
    servers: Vec<IpAddr>,
    /// Servers retired by a DENY or RSTR kiss, with the code.
    retired: Vec<(IpAddr, String)>,
    /// Index into `servers` of the server in use.
    current: usize,
    /// Servers that failed in a row (a full round means back off).
    failed_in_row: usize,
    pending: Option<Pending>,
    /// Requests left to send in this burst.
    burst_left: u32,
    samples: Vec<Sample>,
    /// When the next request is sent, or the burst concluded.
    next: Option<Instant>,
    poll: Duration,
    synced: Option<Synced>,
    /// When the server in use was first asked without an answer since.
    silent_since: Option<Instant>,
    reason: Option<String>,
    /// What went wrong in this burst besides silence (a send error, an
    /// unsynchronised server): the reason if the burst yields no sample.
    burst_note: Option<String>,
    queue: VecDeque<Action>,
}

impl Engine {
    /// A client with `cfg`, drawing its transmit timestamps from a
    /// generator seeded with `seed` (from the kernel in the driver); the
    /// configured servers are asked from `now`.
    pub fn new(cfg: ClientConfig, seed: u64, now: Instant) -> Engine {
        let mut e = Engine {
            phase: Phase::Idle,
            poll: cfg.min_poll,
            cfg,
            rng: Rng::new(seed),
            counters: Counters::default(),
            wan: Vec::new(),
            servers: Vec::new(),
            retired: Vec::new(),
            current: 0,
            failed_in_row: 0,
            pending: None,
            burst_left: 0,
            samples: Vec::new(),
            next: None,
            synced: None,
            silent_since: None,
            reason: None,
            burst_note: None,
            queue: VecDeque::new(),
        };
        e.rebuild_servers(Some(now));
        e
    }

    /// What was counted.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The servers in use, in order.
    pub fn servers(&self) -> &[IpAddr] {
        &self.servers
    }

    /// The current poll interval.
    pub fn poll_interval(&self) -> Duration {
        self.poll
    }

    /// The status at `now`.
    pub fn status(&self, now: Instant) -> Status {
        let age = self.synced.map(|s| now.saturating_duration_since(s.at));
        let stale = self.cfg.max_poll * STALE_POLLS;
        let synced = age.is_some_and(|a| a <= stale);
        let reason = if self.servers.is_empty() {
            Some(self.no_server_reason())
        } else if let Some(r) = &self.reason {
            Some(r.clone())
        } else if !synced && self.synced.is_some() {
            Some(format!(
                "no good sample for {} s",
                age.unwrap_or_default().as_secs()
            ))
        } else if !synced {
            Some("waiting for the first replies".to_string())
        } else {
            None
        };
        Status {
            synced,
            server: self.synced.map(|s| s.server),
            stratum: self.synced.map(|s| s.sample.stratum),
            offset_ns: self.synced.map(|s| s.sample.offset_ns),
            delay_ns: self.synced.map(|s| s.sample.delay_ns),
            last_sync_age: age,
            reason,
        }
    }

    /// The status and counters as JSON for the console.
    pub fn status_report(&self, now: Instant) -> NtpStatus {
        let st = self.status(now);
        let ms = |ns: Option<i64>| ns.map(|n| n as f64 / 1e6);
        NtpStatus {
            synced: st.synced,
            server: st.server.map(|a| a.to_string()),
            stratum: st.stratum,
            offset_ms: ms(st.offset_ns),
            delay_ms: ms(st.delay_ns),
            last_sync_age: st.last_sync_age.map(|a| a.as_secs()),
            reason: st.reason,
            set_clock: self.cfg.set_clock,
            servers: self.servers.iter().map(|a| a.to_string()).collect(),
            retired: self
                .retired
                .iter()
                .map(|(a, c)| format!("{a} (KoD {c})"))
                .collect(),
            poll: self.poll.as_secs(),
            counters: self.counters.to_status(),
        }
    }

    fn no_server_reason(&self) -> String {
        if let Some((addr, code)) = self.retired.first() {
            format!("every server refused us: KoD {code} from {addr}")
        } else if self.cfg.use_wan {
            "no server known: none in [ntp] servers and none from the WAN (DHCPv6 option 56)"
                .to_string()
        } else {
            "no server known: [ntp] servers is empty and use_wan is off".to_string()
        }
    }

    /// Recomputes the server list; (re)starts a burst at `now` when the
    /// server in use changed.
    fn rebuild_servers(&mut self, now: Option<Instant>) {
        let before = self.servers.get(self.current).copied();
        let mut list: Vec<IpAddr> = Vec::new();
        let wan = if self.cfg.use_wan { &self.wan[..] } else { &[] };
        for a in self.cfg.servers.iter().chain(wan) {
            let a = a.to_canonical();
            if !list.contains(&a) && !self.retired.iter().any(|(r, _)| *r == a) {
                list.push(a);
            }
        }
        self.servers = list;
        let now_current = before.and_then(|b| self.servers.iter().position(|a| *a == b));
        match (now_current, now) {
            (Some(i), _) => self.current = i,
            (None, Some(now)) => {
                self.current = 0;
                self.failed_in_row = 0;
                self.start_burst(now);
            }
            (None, None) => self.current = 0,
        }
        if self.servers.is_empty() {
            self.pending = None;
            self.next = None;
            self.phase = Phase::Idle;
        }
    }

    fn start_burst(&mut self, now: Instant) {
        self.pending = None;
        self.samples.clear();
        self.silent_since = None;
        self.burst_note = None;
        if self.servers.is_empty() {
            self.next = None;
            self.phase = Phase::Idle;
            return;
        }
        self.phase = Phase::Burst;
        self.burst_left = if self.status(now).synced {
            1
        } else {
            self.cfg.burst.max(1)
        };
        self.next = Some(now);
    }

    fn send(&mut self, now: Instant) {
        let Some(&server) = self.servers.get(self.current) else {
            return;
        };
        let nonce = Timestamp(self.rng.next_u64());
        let to = SocketAddr::new(server, ntp::PORT);
        self.pending = Some(Pending {
            to,
            nonce,
            sent_at: now,
        });
        self.silent_since.get_or_insert(now);
        self.counters.sent += 1;
        self.queue.push_back(Action::Send {
            to,
            packet: Message::request(nonce).to_bytes(),
        });
    }

    /// The burst is over: use its best sample, or give up on the server.
    fn conclude(&mut self, now: Instant) {
        self.pending = None;
        self.burst_left = 0;
        let Some(&server) = self.servers.get(self.current) else {
            self.next = None;
            self.phase = Phase::Idle;
            return;
        };
        let best = self.samples.iter().min_by_key(|s| s.delay_ns).copied();
        self.samples.clear();
        match best {
            Some(sample) => {
                self.failed_in_row = 0;
                self.reason = None;
                self.counters.accepted += 1;
                let step = sample.offset_ns.unsigned_abs()
                    > self
                        .cfg
                        .step_threshold
                        .as_nanos()
                        .try_into()
                        .unwrap_or(u64::MAX);
                if step && self.cfg.set_clock {
                    self.queue.push_back(Action::StepClock {
                        offset_ns: sample.offset_ns,
                    });
                    self.poll = self.cfg.min_poll;
                } else {
                    self.poll = (self.poll * 2).min(self.cfg.max_poll);
                }
                self.synced = Some(Synced {
                    server,
                    sample,
                    at: now,
                });
                self.next_burst(now + self.poll);
            }
            None => {
                let since = self.silent_since.unwrap_or(now);
                self.reason = Some(self.burst_note.take().unwrap_or_else(|| {
                    format!(
                        "no reply from {server} for {} s",
                        now.saturating_duration_since(since).as_secs()
                    )
                }));
                self.next_server(now);
            }
        }
    }

    /// Moves to the next server: at once, or after the poll interval (and
    /// doubles it) when every server has now failed in a row.
    fn next_server(&mut self, now: Instant) {
        self.failed_in_row += 1;
        if self.servers.is_empty() {
            self.next = None;
            self.phase = Phase::Idle;
            return;
        }
        self.current = (self.current + 1) % self.servers.len();
        if self.failed_in_row >= self.servers.len() {
            self.failed_in_row = 0;
            let wait = self.poll;
            self.poll = (self.poll * 2).min(self.cfg.max_poll);
            self.next_burst(now + wait);
        } else {
            self.start_burst(now);
        }
    }

    fn next_burst(&mut self, at: Instant) {
        self.pending = None;
        self.burst_left = 0;
        self.samples.clear();
        self.phase = Phase::Waiting;
        self.next = Some(at);
    }

    fn reply(&mut self, from: SocketAddr, data: &[u8], wall: Timestamp, now: Instant) {
        self.counters.received += 1;
        let Some(p) = self.pending.filter(|_| self.phase == Phase::Burst) else {
            // Nothing outstanding: a late, duplicated or replayed reply.
            self.counters.drop("no_request");
            return;
        };
        if from != p.to && !(from.ip().to_canonical() == p.to.ip() && from.port() == p.to.port()) {
            self.counters.drop("wrong_source");
            return;
        }
        let msg = match Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                self.counters.drop(e.reason());
                return;
            }
        };
        if msg.origin != p.nonce {
            self.counters.drop("bogus_origin");
            return;
        }
        if msg.mode != Mode::Server {
            self.counters.drop("bad_mode");
            return;
        }
        // From here on the reply answers our request: it is consumed.
        self.pending = None;
        if let Some(code) = msg.kiss_code() {
            self.kiss(code, p.to.ip(), now);
            return;
        }
        if msg.leap == Leap::Unsynchronised || msg.stratum >= 16 {
            self.counters.drop("unsynchronised");
            self.burst_note = Some(format!(
                "{} is not synchronised (leap {:?}, stratum {})",
                p.to.ip(),
                msg.leap,
                msg.stratum
            ));
            return;
        }
        if msg.transmit == Timestamp::ZERO {
            self.counters.drop("zero_transmit");
            return;
        }
        let out = now.saturating_duration_since(p.sent_at);
        let out_ns = i64::try_from(out.as_nanos()).unwrap_or(i64::MAX);
        // T1 on our clock = T4 - time out (see the module docs).
        let t4 = wall;
        let t1_ns_before_t4 = out_ns;
        let t2_minus_t4 = msg.receive.minus_nanos(t4);
        let t3_minus_t4 = msg.transmit.minus_nanos(t4);
        // offset = ((T2 - T1) + (T3 - T4)) / 2, with T2 - T1 = (T2 - T4) + out.
        let offset =
            (i128::from(t2_minus_t4) + i128::from(t1_ns_before_t4) + i128::from(t3_minus_t4)) / 2;
        // delay = (T4 - T1) - (T3 - T2).
        let server_time = msg.transmit.minus_nanos(msg.receive);
        let delay = (out_ns - server_time).max(0);
        self.samples.push(Sample {
            offset_ns: i64::try_from(offset).unwrap_or(i64::MAX),
            delay_ns: delay,
            stratum: msg.stratum,
        });
        self.silent_since = None;
        if self.burst_left == 0 {
            self.conclude(now);
        }
    }

    fn kiss(&mut self, code: [u8; 4], server: IpAddr, now: Instant) {
        let text: String = code
            .iter()
            .map(|&c| if c.is_ascii_graphic() { c as char } else { '?' })
            .collect();
        *self.counters.kisses.entry(text.clone()).or_insert(0) += 1;
        match &code {
            b"RATE" => {
                self.reason = Some(format!("KoD RATE from {server}: polling less often"));
                self.poll = (self.poll * 2).min(self.cfg.max_poll);
                self.samples.clear();
                self.next_server(now);
            }
            b"DENY" | b"RSTR" => {
                self.reason = Some(format!("KoD {text} from {server}: not asking it again"));
                self.retired.push((server, text));
                self.samples.clear();
                self.rebuild_servers(None);
                if self.servers.is_empty() {
                    self.reason = Some(self.no_server_reason());
                } else {
                    self.current %= self.servers.len();
                    self.start_burst(now);
                }
            }
            // Other codes are status words (RFC 5905 figure 13): no sample.
            _ => {}
        }
    }
}

impl cpe_daemon::Engine for Engine {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::WanServers(list) => {
                let list: Vec<IpAddr> = list.into_iter().map(|a| a.to_canonical()).collect();
                if list == self.wan {
                    return;
                }
                self.wan = list;
                // A new list from the ISP gives refused servers a new chance.
                self.retired.clear();
                self.rebuild_servers(Some(now));
                // New servers while unsynchronised and backing off (the WAN
                // just came up, say): start over now rather than after up
                // to 1024 s of a back-off earned while nothing was reachable.
                if self.phase == Phase::Waiting && !self.status(now).synced {
                    self.current = 0;
                    self.failed_in_row = 0;
                    self.poll = self.cfg.min_poll;
                    self.start_burst(now);
                }
            }
            Input::Reply { from, data, wall } => self.reply(from, data, wall, now),
            Input::Stepped(Ok(())) => self.counters.steps += 1,
            Input::Stepped(Err(e)) => self.reason = Some(format!("cannot set the clock: {e}")),
            Input::SendFailed(e) => {
                self.pending = None;
                if let Some(server) = self.servers.get(self.current) {
                    self.burst_note = Some(format!("cannot send to {server}: {e}"));
                }
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let Some(at) = self.next else {
            return;
        };
        if now < at {
            return;
        }
        if self.phase == Phase::Waiting {
            self.start_burst(now);
        }
        if self.phase != Phase::Burst {
            return;
        }
        if self.pending.take().is_some() {
            self.counters.timeouts += 1;
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            self.send(now);
            self.next = Some(now + self.cfg.spacing);
        } else {
            self.conclude(now);
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.queue.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }
}

#[cfg(test)]
mod tests;
