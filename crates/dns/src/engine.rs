//! The forwarder state machine.
//!
//! [`Forwarder`] follows the router's one engine contract,
//! [`cpe_daemon::Engine`]: it takes one [`Input`] at `now`, queues the
//! resulting [`Action`]s for the driver to pull, and tells when its next
//! timer is due; it never reads a clock or touches a socket. The
//! outstanding-query table holds one entry per (name, type, class, DO, CD):
//! identical client questions join it, so a burst of the same lookup costs
//! one upstream query. Each upstream attempt has its own socket (fresh random
//! source port) and random ID, and a reply is accepted only on that socket,
//! from that exact upstream address and port, with that ID and the same
//! question. Every table is bounded and each refusal is counted by reason.

use crate::cache::{Cache, CacheKey};
use crate::config::ForwarderConfig;
use crate::counters::{CountDrops, Counters, DropReason};
use crate::local::LocalNames;
use crate::message::{
    self, Answer, AnswerParts, ClientQuery, ClientView, QueryReject, ReplyReject,
    parse_upstream_reply,
};
use crate::rng::Rng;
use crate::upstream::Upstreams;
use cpe_wire::dns::{self as wire, Header, NameBuf, Question, rcode};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Driver-assigned identifier of an accepted LAN TCP connection.
pub type ConnId = u64;
/// Engine-assigned identifier of an upstream socket (one UDP socket or one
/// TCP connection per attempt; never reused).
pub type SockId = u64;

/// Something that happened, as seen by the driver.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A UDP datagram on a listening socket.
    ClientUdp {
        /// Client address and port.
        peer: SocketAddr,
        /// Local address it was sent to (from IP_PKTINFO).
        local: IpAddr,
        /// Interface index it arrived on.
        iface: u32,
        /// Payload.
        data: &'a [u8],
    },
    /// A LAN TCP connection was accepted.
    ClientTcpOpened {
        /// Connection.
        conn: ConnId,
        /// Client address.
        peer: SocketAddr,
        /// Local address of the connection.
        local: IpAddr,
        /// Interface index (0 if unknown).
        iface: u32,
    },
    /// One complete DNS message (length prefix removed) on a LAN TCP connection.
    ClientTcp {
        /// Connection.
        conn: ConnId,
        /// Message.
        data: &'a [u8],
    },
    /// A LAN TCP connection closed (by the peer or after an error).
    ClientTcpClosed {
        /// Connection.
        conn: ConnId,
    },
    /// A datagram on an upstream socket.
    UpstreamUdp {
        /// Socket.
        sock: SockId,
        /// Source address and port.
        from: SocketAddr,
        /// Payload.
        data: &'a [u8],
    },
    /// One complete DNS message on an upstream TCP connection.
    UpstreamTcp {
        /// Connection.
        sock: SockId,
        /// Message.
        data: &'a [u8],
    },
    /// An upstream socket failed: ICMP error, refused or reset connection,
    /// connect or send error, or the driver's TCP timeout.
    UpstreamError {
        /// Socket.
        sock: SockId,
        /// What the kernel said.
        cause: UpstreamFailure,
    },
    /// The upstream set changed (configured or learned from the WAN).
    UpstreamsChanged(&'a [SocketAddr]),
    /// The router's LAN addresses changed (interface index, address).
    LanAddrsChanged(&'a [(u32, IpAddr)]),
    /// The host names of bound DHCPv4 leases changed (name as the client
    /// sent it, address), all LANs together.
    LeaseNamesChanged(&'a [(String, std::net::Ipv4Addr)]),
}

/// Why an upstream socket failed, as far as the kernel tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// ECONNREFUSED: ICMP port unreachable on a UDP socket, RST on TCP.
    Refused,
    /// EHOSTUNREACH / ENETUNREACH: an ICMP destination unreachable for the
    /// host or network (IP_RECVERR), or no route.
    Unreachable,
    /// The driver gave up waiting (TCP connect or answer).
    Timeout,
    /// Anything else (e.g. no socket could be opened): not the upstream's
    /// fault, so it does not mark the upstream down.
    Other,
}

impl UpstreamFailure {
    /// Evidence for the log line, by transport.
    pub fn describe(self, tcp: bool) -> &'static str {
        match (self, tcp) {
            (UpstreamFailure::Refused, false) => "ICMP port unreachable",
            (UpstreamFailure::Refused, true) => "TCP connection refused or reset",
            (UpstreamFailure::Unreachable, _) => "ICMP host or network unreachable",
            (UpstreamFailure::Timeout, _) => "timed out",
            (UpstreamFailure::Other, _) => "local socket error",
        }
    }
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a UDP response from `local` (same address the query came to).
    SendClientUdp {
        /// Client.
        peer: SocketAddr,
        /// Source address to use.
        local: IpAddr,
        /// Interface index the query came in on.
        iface: u32,
        /// Message.
        data: Vec<u8>,
    },
    /// Send a message on a LAN TCP connection (driver adds the length prefix).
    SendClientTcp {
        /// Connection.
        conn: ConnId,
        /// Message.
        data: Vec<u8>,
    },
    /// Close a LAN TCP connection.
    CloseClientTcp {
        /// Connection.
        conn: ConnId,
    },
    /// Open a fresh UDP socket bound to `local_port` (random; if taken, the
    /// driver lets the kernel choose), connect it to `upstream`, send `data`.
    SendUpstreamUdp {
        /// New socket's id.
        sock: SockId,
        /// Random source port.
        local_port: u16,
        /// Upstream.
        upstream: SocketAddr,
        /// Query.
        data: Vec<u8>,
    },
    /// Open a TCP connection to `upstream` and send `data` (length-prefixed
    /// by the driver); deliver the first reply as [`Input::UpstreamTcp`].
    OpenUpstreamTcp {
        /// New connection's id.
        sock: SockId,
        /// Upstream.
        upstream: SocketAddr,
        /// Query.
        data: Vec<u8>,
    },
    /// Close an upstream socket or connection.
    CloseUpstream {
        /// Socket.
        sock: SockId,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientRef {
    Udp {
        peer: SocketAddr,
        local: IpAddr,
        iface: u32,
    },
    Tcp {
        conn: ConnId,
    },
}

#[derive(Debug, Clone)]
struct Waiter {
    to: ClientRef,
    id: u16,
    echo_flags: u16,
    wants_ad: bool,
    edns: Option<wire::Edns>,
    question: Question,
}

#[derive(Debug, Clone)]
struct Attempt {
    sock: SockId,
    upstream: SocketAddr,
    id: u16,
    sent_at: Instant,
    tcp: bool,
    failed: bool,
}

#[derive(Debug)]
struct Pending {
    key: CacheKey,
    serial: u64,
    waiters: Vec<Waiter>,
    attempts: Vec<Attempt>,
    tried: u64,
    /// Attempts made so far (live and closed): bounded by [`MAX_ATTEMPTS`]
    /// so no failure pattern can turn one question into a flood.
    sent: usize,
    /// A TCP retry of a truncated answer failed: do not start another round
    /// over the upstreams (they would truncate again).
    tcp_failed: bool,
    /// Counted once under `attempts_capped`.
    capped: bool,
}

#[derive(Debug)]
struct Probe {
    upstream: SocketAddr,
    id: u16,
    key: CacheKey,
    sent_at: Instant,
}

#[derive(Debug)]
struct TcpClient {
    peer: IpAddr,
    /// Whole messages received; none yet = the first-message deadline runs.
    messages: u64,
    last_active: Instant,
    inflight: usize,
    local: IpAddr,
    iface: u32,
    /// The client closed its side; close ours after the last answer
    /// (RFC 7766 6.2.4: queries sent before a half-close are still answered).
    peer_closed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Attempt(SockId),
    Deadline { slot: usize, serial: u64 },
    ClientIdle(ConnId),
    ProbeDue,
    ProbeTimeout(SockId),
}

/// Most attempts (sockets) per question, across all upstreams, retries and
/// transports, counted over the question's whole life.
pub const MAX_ATTEMPTS: usize = 6;
/// Total time a question may take while every upstream is known down: each
/// upstream gets one short try (its retransmission timeout) and then the
/// client gets SERVFAIL, instead of waiting for the full query deadline.
const ALL_DOWN_DEADLINE: Duration = Duration::from_millis(1000);
/// How long a health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Snapshot for `cpectl show dns` (the driver adds its own counts).
pub type Status = cpe_bus::status::dns::DnsStatus;

/// The DNS forwarder engine.
pub struct Forwarder {
    opts: ForwarderConfig,
    rng: Rng,
    cache: Cache,
    local: LocalNames,
    upstreams: Upstreams,
    slots: Vec<Option<Pending>>,
    free_slots: Vec<usize>,
    by_key: HashMap<CacheKey, usize>,
    by_sock: HashMap<SockId, usize>,
    probes: HashMap<SockId, Probe>,
    tcp_clients: HashMap<ConnId, TcpClient>,
    timers: BinaryHeap<Reverse<(Instant, TimerKind)>>,
    /// Actions not yet pulled by the driver, oldest first.
    queue: VecDeque<Action>,
    /// Reused buffer the handlers append to (no allocation per packet).
    scratch: Vec<Action>,
    next_sock: SockId,
    next_serial: u64,
    last_good: Option<CacheKey>,
    tcp_cap_logged: Option<Instant>,
    counters: Counters,
    qps_mark: (Instant, u64),
}

impl Forwarder {
    /// A forwarder with its RNG keyed by `seed` (32 bytes from getrandom in
    /// production) and `now` as its time origin.
    pub fn new(opts: ForwarderConfig, seed: [u8; 32], now: Instant) -> Forwarder {
        Forwarder {
            cache: Cache::new(opts.cache_size, now),
            local: LocalNames::new(&opts.local),
            rng: Rng::from_seed(seed),
            upstreams: Upstreams::default(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            by_key: HashMap::new(),
            by_sock: HashMap::new(),
            probes: HashMap::new(),
            tcp_clients: HashMap::new(),
            timers: BinaryHeap::new(),
            queue: VecDeque::new(),
            scratch: Vec::new(),
            next_sock: 1,
            next_serial: 1,
            last_good: None,
            tcp_cap_logged: None,
            counters: Counters::default(),
            qps_mark: (now, 0),
            opts,
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Number of outstanding upstream questions.
    pub fn outstanding(&self) -> usize {
        self.by_key.len()
    }

    /// Cache entries.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Status snapshot; also restarts the queries-per-second window.
    pub fn status(&mut self, now: Instant) -> Status {
        let q = self.counters.queries();
        let secs = now.saturating_duration_since(self.qps_mark.0).as_secs_f64();
        let qps = if secs > 0.0 {
            (q - self.qps_mark.1) as f64 / secs
        } else {
            0.0
        };
        self.qps_mark = (now, q);
        let cs = self.cache.stats();
        let lookups = cs.hits + cs.misses;
        let len = |n: usize| n as u64;
        Status {
            upstreams: self.upstreams.status(),
            cache_entries: len(self.cache.len()),
            cache_capacity: len(self.cache.capacity()),
            cache_hit_rate: if lookups > 0 {
                cs.hits as f64 / lookups as f64
            } else {
                0.0
            },
            cache_bytes_per_entry: len(self
                .cache
                .memory_bytes()
                .checked_div(self.cache.len())
                .unwrap_or(0)),
            outstanding: len(self.by_key.len()),
            tcp_clients: len(self.tcp_clients.len()),
            queries_per_second: qps,
            counters: self.counters.clone(),
            lease_names: len(self.local.lease_counts().0),
            lease_names_refused: len(self.local.lease_counts().1),
            udp_send_errors: 0,
            tcp_overflows: 0,
            tcp_stalled: 0,
        }
    }

    /// Processes one input at `now`, appending actions to `out`.
    fn input(&mut self, input: Input<'_>, now: Instant, out: &mut Vec<Action>) {
        match input {
            Input::ClientUdp {
                peer,
                local,
                iface,
                data,
            } => {
                self.counters.queries_udp += 1;
                if !self.opts.lan_ifaces.is_empty() && !self.opts.lan_ifaces.contains(&iface) {
                    self.counters.drop(DropReason::NotLan);
                } else {
                    self.client_query(
                        ClientRef::Udp { peer, local, iface },
                        local,
                        iface,
                        data,
                        now,
                        out,
                    );
                }
            }
            Input::ClientTcpOpened {
                conn,
                peer,
                local,
                iface,
            } => {
                let from_peer = self
                    .tcp_clients
                    .values()
                    .filter(|c| c.peer == peer.ip())
                    .count();
                if self.tcp_clients.len() >= self.opts.max_tcp_clients
                    || (!self.opts.lan_ifaces.is_empty()
                        && iface != 0
                        && !self.opts.lan_ifaces.contains(&iface))
                {
                    self.counters.drop(DropReason::TcpClientsFull);
                    out.push(Action::CloseClientTcp { conn });
                } else if from_peer >= self.opts.max_tcp_per_client {
                    self.counters.drop(DropReason::TcpPerClientFull);
                    self.log_tcp_cap(peer.ip(), now);
                    out.push(Action::CloseClientTcp { conn });
                } else {
                    self.tcp_clients.insert(
                        conn,
                        TcpClient {
                            peer: peer.ip(),
                            messages: 0,
                            last_active: now,
                            inflight: 0,
                            local,
                            iface,
                            peer_closed: false,
                        },
                    );
                    let first = self.opts.tcp_first_message.min(self.opts.tcp_idle);
                    self.timers
                        .push(Reverse((now + first, TimerKind::ClientIdle(conn))));
                }
            }
            Input::ClientTcp { conn, data } => self.client_tcp(conn, data, now, out),
            Input::ClientTcpClosed { conn } => {
                if let Some(c) = self.tcp_clients.get_mut(&conn) {
                    c.peer_closed = true;
                    if c.inflight == 0 {
                        self.tcp_clients.remove(&conn);
                        out.push(Action::CloseClientTcp { conn });
                    }
                }
            }
            Input::UpstreamUdp { sock, from, data } => {
                self.upstream_reply(sock, Some(from), data, now, out)
            }
            Input::UpstreamTcp { sock, data } => self.upstream_reply(sock, None, data, now, out),
            Input::UpstreamError { sock, cause } => self.upstream_error(sock, cause, now, out),
            Input::UpstreamsChanged(addrs) if self.upstreams.addrs() == addrs => {}
            Input::UpstreamsChanged(addrs) => {
                self.upstreams.set(addrs);
                for p in self.slots.iter_mut().flatten() {
                    p.tried = 0;
                }
                log::info!(
                    "upstreams now {:?} (cache of {} entries kept)",
                    self.upstreams.addrs(),
                    self.cache.len()
                );
            }
            Input::LanAddrsChanged(addrs) => self.local.set_lan_addrs(addrs.to_vec()),
            Input::LeaseNamesChanged(names) => {
                for (name, addr, why) in self.local.set_lease_names(names) {
                    log::warn!(
                        "DHCPv4 host {addr} asked for the name {name:?}: refused ({}); \
                         it is not answered while the claim lasts",
                        why.name()
                    );
                }
            }
        }
    }

    /// Runs `step` with the reused action buffer and queues what it added.
    fn queue_from(&mut self, step: impl FnOnce(&mut Self, &mut Vec<Action>)) {
        let mut out = std::mem::take(&mut self.scratch);
        step(self, &mut out);
        self.queue.extend(out.drain(..));
        self.scratch = out;
    }

    /// One warning per 10 s about clients over the per-client TCP cap (a
    /// flood would otherwise flood the log too); the counter has the total.
    fn log_tcp_cap(&mut self, peer: IpAddr, now: Instant) {
        if self
            .tcp_cap_logged
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(10))
        {
            return;
        }
        self.tcp_cap_logged = Some(now);
        log::warn!(
            "TCP client {peer} already has {} connections open, further ones closed \
             ({} refused so far)",
            self.opts.max_tcp_per_client,
            self.counters.drops_by(DropReason::TcpPerClientFull)
        );
    }

    fn client_tcp(&mut self, conn: ConnId, data: &[u8], now: Instant, out: &mut Vec<Action>) {
        self.counters.queries_tcp += 1;
        let Some(c) = self.tcp_clients.get_mut(&conn) else {
            self.counters.drop(DropReason::UnknownSocket);
            return;
        };
        c.last_active = now;
        c.messages += 1;
        let (local, iface) = (c.local, c.iface);
        if c.inflight >= self.opts.max_tcp_pipeline {
            self.counters.drop(DropReason::TcpPipelineFull);
            if let Ok(q) = ClientQuery::parse(data) {
                self.counters.servfail += 1;
                let msg =
                    message::error_response(q.id, q.echo_flags, Some(&q.question), rcode::SERVFAIL);
                out.push(Action::SendClientTcp { conn, data: msg });
            }
            return;
        }
        self.client_query(ClientRef::Tcp { conn }, local, iface, data, now, out);
    }

    fn client_query(
        &mut self,
        to: ClientRef,
        local: IpAddr,
        iface: u32,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let q = match ClientQuery::parse(data) {
            Ok(q) => q,
            Err(QueryReject::Drop(_)) => return self.counters.drop(DropReason::ClientMalformed),
            Err(QueryReject::NotAQuery) => return self.counters.drop(DropReason::ClientNotQuery),
            Err(QueryReject::Respond(msg)) => {
                self.counters.error_responses += 1;
                return self.send_to(to, msg, out);
            }
        };
        let view = ClientView {
            id: q.id,
            echo_flags: q.echo_flags,
            wants_ad: q.wants_ad(),
            edns: q.edns,
            limit: self.limit_for(to, &q),
        };
        let key = CacheKey {
            name: q.question.name.to_lowercase(),
            qtype: q.question.qtype,
            qclass: q.question.qclass,
            dnssec_ok: q.dnssec_ok(),
            checking_disabled: q.checking_disabled(),
        };
        if let Some(ans) = self
            .local
            .answer(&key.name, key.qtype, key.qclass, local, iface)
        {
            self.counters.answered_local += 1;
            return self.respond(to, &view, &q.question, ans.parts(), 0, out);
        }
        if let Some(hit) = self.cache.get(&key, now) {
            self.counters.answered_cache += 1;
            let mut buf = Vec::with_capacity(HEADER_GUESS + hit.answer.body.len());
            message::compose(&mut buf, &view, &q.question, hit.answer, hit.age);
            self.note_truncation(&buf);
            return self.send_to(to, buf, out);
        }
        let waiter = Waiter {
            to,
            id: q.id,
            echo_flags: q.echo_flags,
            wants_ad: view.wants_ad,
            edns: q.edns,
            question: q.question.clone(),
        };
        if let Some(&slot) = self.by_key.get(&key) {
            let max = self.opts.max_waiters;
            if let Some(p) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                if p.waiters.iter().any(|w| w.to == to && w.id == waiter.id) {
                    return self.counters.drop(DropReason::DuplicateQuery);
                }
                if p.waiters.len() >= max {
                    self.counters.drop(DropReason::TooManyWaiters);
                    return self.servfail(to, &view, &q.question, out);
                }
                p.waiters.push(waiter);
                self.counters.joined += 1;
                self.tcp_inflight(to, 1);
            }
            return;
        }
        if self.upstreams.is_empty() {
            self.counters.drop(DropReason::NoUpstream);
            return self.servfail(to, &view, &q.question, out);
        }
        if self.by_key.len() >= self.opts.max_outstanding {
            self.counters.drop(DropReason::TableFull);
            return self.servfail(to, &view, &q.question, out);
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        let pending = Pending {
            key: key.clone(),
            serial,
            waiters: vec![waiter],
            attempts: Vec::with_capacity(2),
            tried: 0,
            sent: 0,
            tcp_failed: false,
            capped: false,
        };
        let slot = match self.free_slots.pop() {
            Some(s) => {
                if let Some(x) = self.slots.get_mut(s) {
                    *x = Some(pending);
                }
                s
            }
            None => {
                self.slots.push(Some(pending));
                self.slots.len() - 1
            }
        };
        self.by_key.insert(key, slot);
        self.tcp_inflight(to, 1);
        let budget = if self.upstreams.all_down() {
            self.counters.all_down_queries += 1;
            self.opts.query_deadline.min(ALL_DOWN_DEADLINE)
        } else {
            self.opts.query_deadline
        };
        self.timers.push(Reverse((
            now + budget,
            TimerKind::Deadline { slot, serial },
        )));
        self.send_attempt(slot, false, None, now, out);
    }

    fn limit_for(&self, to: ClientRef, q: &ClientQuery) -> usize {
        match to {
            ClientRef::Udp { .. } => q.udp_limit(),
            ClientRef::Tcp { .. } => usize::from(u16::MAX),
        }
    }

    fn tcp_inflight(&mut self, to: ClientRef, delta: isize) {
        if let ClientRef::Tcp { conn } = to
            && let Some(c) = self.tcp_clients.get_mut(&conn)
        {
            c.inflight = c.inflight.saturating_add_signed(delta);
        }
    }

    /// Closes half-closed TCP connections whose last answer just went out.
    fn close_drained(&mut self, to: ClientRef, out: &mut Vec<Action>) {
        if let ClientRef::Tcp { conn } = to
            && self
                .tcp_clients
                .get(&conn)
                .is_some_and(|c| c.peer_closed && c.inflight == 0)
        {
            self.tcp_clients.remove(&conn);
            out.push(Action::CloseClientTcp { conn });
        }
    }

    fn note_truncation(&mut self, msg: &[u8]) {
        if Header::parse(msg).is_ok_and(|h| h.flags & wire::FLAG_TC != 0) {
            self.counters.truncated_to_client += 1;
        }
    }

    fn respond(
        &mut self,
        to: ClientRef,
        view: &ClientView,
        q: &Question,
        ans: AnswerParts<'_>,
        age: u32,
        out: &mut Vec<Action>,
    ) {
        let mut buf = Vec::with_capacity(HEADER_GUESS + ans.body.len());
        message::compose(&mut buf, view, q, ans, age);
        self.note_truncation(&buf);
        self.send_to(to, buf, out);
    }

    fn servfail(&mut self, to: ClientRef, view: &ClientView, q: &Question, out: &mut Vec<Action>) {
        self.counters.servfail += 1;
        let mut msg = message::error_response(view.id, view.echo_flags, Some(q), rcode::SERVFAIL);
        message::add_opt(&mut msg, view.edns);
        self.send_to(to, msg, out);
    }

    fn send_to(&mut self, to: ClientRef, data: Vec<u8>, out: &mut Vec<Action>) {
        match to {
            ClientRef::Udp { peer, local, iface } => out.push(Action::SendClientUdp {
                peer,
                local,
                iface,
                data,
            }),
            ClientRef::Tcp { conn } => {
                if self.tcp_clients.contains_key(&conn) {
                    out.push(Action::SendClientTcp { conn, data });
                }
            }
        }
    }

    /// Sends one attempt for the question in `slot`: over TCP to `tcp_to`
    /// (after a truncated reply), else over UDP to the next upstream.
    fn send_attempt(
        &mut self,
        slot: usize,
        tcp: bool,
        tcp_to: Option<SocketAddr>,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> bool {
        let Some(p) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return false;
        };
        if p.sent >= MAX_ATTEMPTS {
            if !p.capped {
                p.capped = true;
                self.counters.attempts_capped += 1;
            }
            return false;
        }
        let all_down = self.upstreams.all_down();
        let (idx, upstream) = match tcp_to {
            Some(a) => {
                let idx = self.upstreams.find(a);
                if idx.is_some_and(|i| !self.upstreams.take_tcp(i, now)) {
                    self.counters.upstream_tcp_skipped += 1;
                    return false;
                }
                (idx, a)
            }
            None => {
                let pick = self.upstreams.pick(p.tried).or_else(|| {
                    // Every upstream was tried: start another round, unless
                    // they are all known down (each had its short try) or
                    // they truncate and refuse TCP (they would do it again).
                    if all_down || p.tcp_failed {
                        return None;
                    }
                    p.tried = 0;
                    self.upstreams.pick(0)
                });
                let Some(i) = pick else { return false };
                let Some(u) = self.upstreams.get(i) else {
                    return false;
                };
                p.tried |= 1u64 << i;
                (Some(i), u.addr)
            }
        };
        let id = self.rng.next_u16();
        let sock = self.next_sock;
        self.next_sock += 1;
        let data = message::upstream_query(
            id,
            &p.key.name,
            p.key.qtype,
            p.key.qclass,
            p.key.dnssec_ok,
            p.key.checking_disabled,
        );
        // Retransmissions to an upstream already asked for this question back
        // off exponentially (RFC 6298 5.5): a slow but working upstream must
        // not be buried under copies of the same query.
        let repeats = p.attempts.iter().filter(|a| a.upstream == upstream).count();
        let backoff = 1u32 << repeats.min(4);
        p.attempts.push(Attempt {
            sock,
            upstream,
            id,
            sent_at: now,
            tcp,
            failed: false,
        });
        p.sent += 1;
        self.by_sock.insert(sock, slot);
        self.counters.upstream_queries += 1;
        if let Some(i) = idx {
            self.upstreams.on_sent(i);
        }
        let timeout = if tcp {
            self.opts.upstream_tcp_timeout
        } else {
            // Fast failover only helps when there is somewhere to fail over to.
            let alternative = self
                .slots
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|p| self.upstreams.pick(p.tried).is_some());
            let rto = match idx {
                // All down: one short try, no patience for a dead resolver.
                Some(i) if alternative || all_down => self.upstreams.rto(i),
                Some(i) => self.upstreams.rto_patient(i),
                None => Duration::from_millis(400),
            };
            rto * backoff
        };
        self.timers
            .push(Reverse((now + timeout, TimerKind::Attempt(sock))));
        if tcp {
            out.push(Action::OpenUpstreamTcp {
                sock,
                upstream,
                data,
            });
        } else {
            out.push(Action::SendUpstreamUdp {
                sock,
                local_port: self.rng.port(),
                upstream,
                data,
            });
        }
        true
    }

    fn upstream_reply(
        &mut self,
        sock: SockId,
        from: Option<SocketAddr>,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.probes.contains_key(&sock) {
            return self.probe_reply(sock, from, data, now, out);
        }
        let Some(&slot) = self.by_sock.get(&sock) else {
            return self.counters.drop(DropReason::UnknownSocket);
        };
        let Some(p) = self.slots.get(slot).and_then(Option::as_ref) else {
            return self.counters.drop(DropReason::UnknownSocket);
        };
        let Some(att) = p.attempts.iter().find(|a| a.sock == sock).cloned() else {
            return self.counters.drop(DropReason::UnknownSocket);
        };
        if from.is_some_and(|f| !same_endpoint(f, att.upstream)) {
            return self.counters.drop(DropReason::WrongSource);
        }
        match wire::u16_at(data, 0) {
            Ok(id) if id == att.id => {}
            Ok(_) => return self.counters.drop(DropReason::WrongId),
            Err(_) => return self.counters.drop(DropReason::UpstreamMalformed),
        }
        let (header, answer) =
            match parse_upstream_reply(data, &p.key.name, p.key.qtype, p.key.qclass) {
                Ok(x) => x,
                Err(ReplyReject::WrongQuestion) => {
                    return self.counters.drop(DropReason::WrongQuestion);
                }
                Err(ReplyReject::Malformed(_) | ReplyReject::NotAResponse) => {
                    return self.counters.drop(DropReason::UpstreamMalformed);
                }
            };
        let idx = self.upstreams.find(att.upstream);
        let code = header.rcode();
        if matches!(
            code,
            rcode::REFUSED | rcode::NOTIMP | rcode::FORMERR | rcode::SERVFAIL
        ) {
            // This upstream cannot answer; try another one if there is one
            // not tried yet, else pass the error on.
            if let Some(i) = idx {
                if code == rcode::SERVFAIL {
                    self.upstreams
                        .on_answer(i, now.saturating_duration_since(att.sent_at));
                } else {
                    self.upstreams.on_failure(i, None, now);
                }
            }
            self.close_attempt(slot, sock, out);
            let untried = self
                .slots
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|p| self.upstreams.pick(p.tried).is_some());
            if untried && self.send_attempt(slot, false, None, now, out) {
                return;
            }
            return self.finish(slot, answer, now, out);
        }
        if let Some(i) = idx {
            self.upstreams
                .on_answer(i, now.saturating_duration_since(att.sent_at));
            if att.tcp {
                self.upstreams.on_tcp_answer(i);
            }
        }
        if header.flags & wire::FLAG_TC != 0 {
            if !att.tcp {
                self.counters.upstream_truncated += 1;
            }
            self.close_attempt(slot, sock, out);
            if !att.tcp && self.send_attempt(slot, true, Some(att.upstream), now, out) {
                return;
            }
            // No whole answer from this upstream (its TCP is backing off, or
            // the attempt cap is reached): another upstream, else SERVFAIL.
            // Passing the truncated answer on would read as NODATA.
            if let Some(p) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                p.tcp_failed = true;
            }
            return self.retry_or_wait(slot, now, out);
        }
        self.finish(slot, answer, now, out);
    }

    fn upstream_error(
        &mut self,
        sock: SockId,
        cause: UpstreamFailure,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Some(probe) = self.probes.remove(&sock) {
            out.push(Action::CloseUpstream { sock });
            let _ = probe;
            return;
        }
        let Some(&slot) = self.by_sock.get(&sock) else {
            return;
        };
        let att = self
            .slots
            .get(slot)
            .and_then(Option::as_ref)
            .and_then(|p| p.attempts.iter().find(|a| a.sock == sock).cloned());
        let Some(att) = att else { return };
        if att.tcp {
            self.tcp_failed(slot, att.upstream, cause.describe(true), now);
        } else if let Some(i) = self.upstreams.find(att.upstream) {
            let hard = match cause {
                UpstreamFailure::Refused | UpstreamFailure::Unreachable => {
                    Some(cause.describe(false))
                }
                UpstreamFailure::Timeout | UpstreamFailure::Other => None,
            };
            if let Some(at) = self.upstreams.on_failure(i, hard, now) {
                self.timers.push(Reverse((at, TimerKind::ProbeDue)));
            }
        }
        self.close_attempt(slot, sock, out);
        self.retry_or_wait(slot, now, out);
    }

    /// A TCP retry of a truncated answer failed: TCP to that upstream backs
    /// off (logged once per episode) and the question does not go round the
    /// upstreams again over UDP only to be truncated again.
    fn tcp_failed(&mut self, slot: usize, upstream: SocketAddr, why: &str, now: Instant) {
        self.counters.upstream_tcp_failed += 1;
        if let Some(p) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            p.tcp_failed = true;
        }
        if let Some(i) = self.upstreams.find(upstream)
            && let Some(backoff) = self.upstreams.on_tcp_failure(i, now)
        {
            log::warn!(
                "upstream {upstream} truncates over UDP and its TCP failed ({why}); \
                 no TCP to it for {} s, such questions get SERVFAIL meanwhile \
                 ({} TCP failures, {} truncated answers not retried so far)",
                backoff.as_secs(),
                self.counters.upstream_tcp_failed,
                self.counters.upstream_tcp_skipped
            );
        }
    }

    /// After an attempt failed: send the next one unless another attempt is
    /// still live (then its own timer decides).
    fn retry_or_wait(&mut self, slot: usize, now: Instant, out: &mut Vec<Action>) {
        let Some(p) = self.slots.get(slot).and_then(Option::as_ref) else {
            return;
        };
        let live = p.attempts.iter().any(|a| !a.failed);
        if !live && !self.send_attempt(slot, false, None, now, out) {
            self.fail(slot, out);
        }
    }

    fn close_attempt(&mut self, slot: usize, sock: SockId, out: &mut Vec<Action>) {
        if let Some(p) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            p.attempts.retain(|a| a.sock != sock);
        }
        if self.by_sock.remove(&sock).is_some() {
            out.push(Action::CloseUpstream { sock });
        }
    }

    fn take_pending(&mut self, slot: usize, out: &mut Vec<Action>) -> Option<Pending> {
        let p = self.slots.get_mut(slot)?.take()?;
        self.free_slots.push(slot);
        self.by_key.remove(&p.key);
        for a in &p.attempts {
            if self.by_sock.remove(&a.sock).is_some() {
                out.push(Action::CloseUpstream { sock: a.sock });
            }
        }
        Some(p)
    }

    fn finish(&mut self, slot: usize, answer: Answer, now: Instant, out: &mut Vec<Action>) {
        let Some(p) = self.take_pending(slot, out) else {
            return;
        };
        if let Some(ttl) = answer.cache_ttl {
            self.cache.insert(&p.key, answer.parts(), ttl, now);
        }
        if answer.rcode == rcode::NOERROR || answer.rcode == rcode::NXDOMAIN {
            self.last_good = Some(p.key.clone());
        }
        for w in &p.waiters {
            self.counters.answered_upstream += 1;
            self.tcp_inflight(w.to, -1);
            let view = ClientView {
                id: w.id,
                echo_flags: w.echo_flags,
                wants_ad: w.wants_ad,
                edns: w.edns,
                limit: match w.to {
                    ClientRef::Udp { .. } => message::udp_limit(w.edns),
                    ClientRef::Tcp { .. } => usize::from(u16::MAX),
                },
            };
            self.respond(w.to, &view, &w.question, answer.parts(), 0, out);
            self.close_drained(w.to, out);
        }
    }

    fn fail(&mut self, slot: usize, out: &mut Vec<Action>) {
        let Some(p) = self.take_pending(slot, out) else {
            return;
        };
        let reason = if p.tcp_failed {
            DropReason::UpstreamNoTcp
        } else if self.upstreams.all_down() {
            DropReason::UpstreamsDown
        } else {
            DropReason::UpstreamTimeout
        };
        self.counters.drop(reason);
        log::debug!(
            "no upstream answered {} type {} ({})",
            p.key.name,
            p.key.qtype,
            reason.name()
        );
        for w in &p.waiters {
            self.tcp_inflight(w.to, -1);
            let view = ClientView {
                id: w.id,
                echo_flags: w.echo_flags,
                wants_ad: w.wants_ad,
                edns: w.edns,
                limit: 512,
            };
            self.servfail(w.to, &view, &w.question, out);
            self.close_drained(w.to, out);
        }
    }

    fn timers_due(&mut self, now: Instant, out: &mut Vec<Action>) {
        while let Some(Reverse((t, kind))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            match kind {
                TimerKind::Attempt(sock) => self.attempt_timeout(sock, now, out),
                TimerKind::Deadline { slot, serial } => self.deadline(slot, serial, now, out),
                TimerKind::ClientIdle(conn) => {
                    if let Some(c) = self.tcp_clients.get(&conn) {
                        let due = if c.messages == 0 {
                            c.last_active + self.opts.tcp_first_message.min(self.opts.tcp_idle)
                        } else {
                            c.last_active + self.opts.tcp_idle
                        };
                        if c.inflight == 0 && due <= now {
                            if c.messages == 0 {
                                self.counters.drop(DropReason::TcpNoMessage);
                            }
                            self.tcp_clients.remove(&conn);
                            out.push(Action::CloseClientTcp { conn });
                        } else {
                            let next = if c.inflight > 0 {
                                now + self.opts.tcp_idle
                            } else {
                                due
                            };
                            self.timers
                                .push(Reverse((next, TimerKind::ClientIdle(conn))));
                        }
                    }
                }
                TimerKind::ProbeDue => self.send_probes(now, out),
                TimerKind::ProbeTimeout(sock) => {
                    if self.probes.remove(&sock).is_some() {
                        out.push(Action::CloseUpstream { sock });
                    }
                }
            }
        }
    }

    /// The query's total time ran out: attempts still unanswered count
    /// against their upstreams and the waiting clients get SERVFAIL.
    fn deadline(&mut self, slot: usize, serial: u64, now: Instant, out: &mut Vec<Action>) {
        let attempts = match self.slots.get(slot).and_then(Option::as_ref) {
            Some(p) if p.serial == serial => p.attempts.clone(),
            _ => return,
        };
        for a in attempts.iter().filter(|a| !a.failed && !a.tcp) {
            if let Some(i) = self.upstreams.find(a.upstream)
                && let Some(at) = self.upstreams.on_failure(i, None, now)
            {
                self.timers.push(Reverse((at, TimerKind::ProbeDue)));
            }
        }
        self.fail(slot, out);
    }

    fn attempt_timeout(&mut self, sock: SockId, now: Instant, out: &mut Vec<Action>) {
        let Some(&slot) = self.by_sock.get(&sock) else {
            return;
        };
        let Some(p) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let Some(a) = p.attempts.iter_mut().find(|a| a.sock == sock) else {
            return;
        };
        if a.failed {
            return;
        }
        a.failed = true;
        let (upstream, tcp) = (a.upstream, a.tcp);
        if tcp {
            self.tcp_failed(slot, upstream, "timed out", now);
            self.close_attempt(slot, sock, out);
        } else if let Some(i) = self.upstreams.find(upstream)
            && let Some(at) = self.upstreams.on_failure(i, None, now)
        {
            self.timers.push(Reverse((at, TimerKind::ProbeDue)));
        }
        // Keep a timed-out UDP socket open: a late answer is still accepted.
        if !self.send_attempt(slot, false, None, now, out) {
            let live = self
                .slots
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|p| p.attempts.iter().any(|a| !a.failed));
            if !live {
                self.fail(slot, out);
            }
        }
    }

    fn send_probes(&mut self, now: Instant, out: &mut Vec<Action>) {
        for (idx, next) in self.upstreams.due_probes(now) {
            self.timers.push(Reverse((next, TimerKind::ProbeDue)));
            let Some(u) = self.upstreams.get(idx) else {
                continue;
            };
            let key = self.last_good.clone().unwrap_or(CacheKey {
                name: NameBuf::root(),
                qtype: wire::rtype::NS,
                qclass: wire::CLASS_IN,
                dnssec_ok: false,
                checking_disabled: false,
            });
            let id = self.rng.next_u16();
            let sock = self.next_sock;
            self.next_sock += 1;
            let data = message::upstream_query(
                id,
                &key.name,
                key.qtype,
                key.qclass,
                key.dnssec_ok,
                key.checking_disabled,
            );
            let upstream = u.addr;
            log::debug!("probing upstream {upstream}");
            self.probes.insert(
                sock,
                Probe {
                    upstream,
                    id,
                    key,
                    sent_at: now,
                },
            );
            self.timers.push(Reverse((
                now + PROBE_TIMEOUT,
                TimerKind::ProbeTimeout(sock),
            )));
            out.push(Action::SendUpstreamUdp {
                sock,
                local_port: self.rng.port(),
                upstream,
                data,
            });
        }
    }

    fn probe_reply(
        &mut self,
        sock: SockId,
        from: Option<SocketAddr>,
        data: &[u8],
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(probe) = self.probes.get(&sock) else {
            return;
        };
        if from.is_some_and(|f| !same_endpoint(f, probe.upstream)) {
            return self.counters.drop(DropReason::WrongSource);
        }
        if wire::u16_at(data, 0).ok() != Some(probe.id) {
            return self.counters.drop(DropReason::WrongId);
        }
        match parse_upstream_reply(data, &probe.key.name, probe.key.qtype, probe.key.qclass) {
            Ok((h, _)) if matches!(h.rcode(), rcode::NOERROR | rcode::NXDOMAIN) => {
                if let Some(i) = self.upstreams.find(probe.upstream) {
                    self.upstreams
                        .on_answer(i, now.saturating_duration_since(probe.sent_at));
                }
            }
            Ok(_) => {}
            Err(ReplyReject::WrongQuestion) => {
                return self.counters.drop(DropReason::WrongQuestion);
            }
            Err(_) => return self.counters.drop(DropReason::UpstreamMalformed),
        }
        self.probes.remove(&sock);
        out.push(Action::CloseUpstream { sock });
    }
}

/// Whether a reply's source is exactly the upstream queried: address, port
/// and (for link-local) scope; the IPv6 flow label is not part of identity.
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    let scope = |s: SocketAddr| match s {
        SocketAddr::V6(v6) => v6.scope_id(),
        SocketAddr::V4(_) => 0,
    };
    a.ip() == b.ip() && a.port() == b.port() && scope(a) == scope(b)
}

/// Header plus a typical question, for response buffer sizing.
const HEADER_GUESS: usize = 64;

impl cpe_daemon::Engine for Forwarder {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        self.queue_from(|fw, out| fw.input(input, now, out));
    }

    /// Fires every timer due at `now` (retransmissions, query deadlines,
    /// idle LAN TCP connections, upstream probes).
    fn handle_timeout(&mut self, now: Instant) {
        self.queue_from(|fw, out| fw.timers_due(now, out));
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.queue.pop_front()
    }

    /// The earliest timer. A timer whose subject is gone (an answered
    /// attempt, a closed connection) still wakes the driver once, harmlessly:
    /// dropping it here would cost a search of the heap on every poll.
    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }
}
