//! The sans-IO DHCPv4 server of one LAN (RFC 2131 4.3), following the
//! [`cpe_daemon::Engine`] contract: a datagram in, exactly one [`Action`]
//! out; offers, leases and quarantines end at `poll_timeout`.
//!
//! | request | answer |
//! |---|---|
//! | DISCOVER | OFFER of the client's current or last address, else the one it asks for, else a never-used one, else the free record unused longest; nothing when the pool is exhausted (counted, logged once), or when the client is unknown and [`PoolConfig::newcomer_offer_limit`] offers to unknown clients are outstanding (counted as `offer_limit`) |
//! | REQUEST, SELECTING (our server id) | ACK if it names what we offered, else NAK |
//! | REQUEST, SELECTING (another server id) | nothing; our offer to that client is withdrawn |
//! | REQUEST, INIT-REBOOT / RENEWING / REBINDING | ACK if the address is the client's or free in the pool; NAK if it is off this LAN or someone else's |
//! | DECLINE | the address is quarantined for [`DECLINE_QUARANTINE`] |
//! | RELEASE | the lease ends; the client keeps first claim on the address |
//! | INFORM | ACK with the options, no lease |
//!
//! Relayed requests (giaddr set) are dropped: this server serves only the
//! LAN it listens on.
//!
//! Starvation: a flood of DISCOVERs with made-up hardware addresses gets
//! at most [`PoolConfig::newcomer_offer_limit`] offers at once (a quarter
//! of the pool); from half that limit on, new offers are held
//! [`crate::config::OFFER_HOLD_UNDER_PRESSURE`] instead of
//! [`OFFER_HOLD`]; an offer not taken leaves no memory
//! ([`Lease::sticky`]); and a client's remembered address is never given
//! to another client while never-used addresses remain, so a returning
//! client gets its address back during the flood.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::Instant;

use cpe_daemon::RateLimiter;
use cpe_log::{LogThrottle, suppressed_note};
use cpe_wire::dhcpv4::{self, DecodeError, Message, MessageType, OP_REQUEST, code};

use crate::config::{DECLINE_QUARANTINE, OFFER_HOLD, OFFER_HOLD_UNDER_PRESSURE, PoolConfig};
use crate::counters::Counters;
use crate::lease::{ClientKey, Lease, LeaseState, LeaseTable, mac_text};
use crate::persist::clean_hostname;

/// Where a reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// 255.255.255.255:68 on the LAN: the client may have no address yet,
    /// and we cannot unicast to an unconfigured host without writing the
    /// ARP cache (RFC 2131 4.1 allows broadcast in every such case).
    Broadcast,
    /// The client's configured address (`ciaddr`), port 68.
    Unicast(Ipv4Addr),
}

/// What the driver feeds in.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A datagram from UDP port 67.
    Received(&'a [u8]),
    /// A datagram the driver dropped before decoding (oversized).
    DriverDrop(DropReason),
    /// A reply the driver could not send; `reason` is a counter key (see
    /// [`Counters::unsent`]).
    Unsent(&'static str),
    /// The ISP's IPv4 NTP servers (option 42 of the WAN's DHCPv4 lease),
    /// passed on in option 42 to clients that ask for it: the router runs
    /// no NTP server itself, so it hands out the ones the ISP runs, as
    /// dhcp6s does with option 56 (RFC 7084 WAA-5).
    WanNtp(&'a [Ipv4Addr]),
}

/// What to do with a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `payload`.
    Reply {
        /// Where.
        to: Destination,
        /// The encoded message.
        payload: Vec<u8>,
        /// Its type (for logs and counters).
        kind: MessageType,
    },
    /// Handled; the RFC has no reply for it (DECLINE, RELEASE).
    Handled,
    /// Send nothing.
    Drop(DropReason),
}

/// Why nothing was sent; each is a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Did not decode.
    Malformed(DecodeError),
    /// A BOOTREPLY or a server-to-client message type.
    NotARequest,
    /// No option 53 (plain BOOTP is not served).
    NoMessageType,
    /// Came through a relay (giaddr set).
    Relayed,
    /// SELECTING with another server's identifier: the client chose it.
    OtherServer,
    /// No address left in the pool.
    PoolExhausted,
    /// A DISCOVER from a client we do not remember while the most offers
    /// allowed to such clients are outstanding
    /// ([`PoolConfig::newcomer_offer_limit`]).
    OfferLimit,
    /// A DECLINE/RELEASE for an address the client does not hold, or a
    /// REQUEST that is neither ours nor answerable.
    NoSuchLease,
    /// A message missing what its type requires (e.g. INFORM without
    /// ciaddr, DECLINE without option 50).
    Incomplete,
    /// The datagram was larger than the driver's buffer.
    Oversized,
    /// The client (by hardware address) exceeded its rate.
    RateLimited,
}

impl DropReason {
    /// Stable counter key.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.reason(),
            Self::NotARequest => "not_a_request",
            Self::NoMessageType => "no_message_type",
            Self::Relayed => "relayed",
            Self::OtherServer => "other_server_chosen",
            Self::PoolExhausted => "pool_exhausted",
            Self::OfferLimit => "offer_limit",
            Self::NoSuchLease => "no_such_lease",
            Self::Incomplete => "incomplete",
            Self::Oversized => "oversized",
            Self::RateLimited => "rate_limited",
        }
    }
}

fn request_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Discover => "discover",
        MessageType::Request => "request",
        MessageType::Decline => "decline",
        MessageType::Release => "release",
        MessageType::Inform => "inform",
        MessageType::Offer => "offer",
        MessageType::Ack => "ack",
        MessageType::Nak => "nak",
    }
}

/// Clients tracked by the rate limiter. An honest DHCPv4 client sends a
/// few messages per exchange and retransmits after 4 s and more (RFC 2131
/// 4.1), so it never meets the limits below; a client in a loop cannot make
/// the server rewrite the lease file on flash many times a second.
const LIMITER_CLIENTS: usize = 256;
/// Messages a client may send at once.
const LIMITER_BURST: u32 = 10;
/// Messages per second a client may send on average.
const LIMITER_RATE: u32 = 2;

/// The server of one LAN.
#[derive(Debug, Clone)]
pub struct Engine {
    queue: VecDeque<Action>,
    config: PoolConfig,
    leases: LeaseTable,
    limiter: RateLimiter<[u8; 6]>,
    counters: Counters,
    dirty: bool,
    exhausted_logged: bool,
    /// DHCPNAK lines: a REQUEST flood makes one per datagram.
    nak_log: LogThrottle,
    /// Lines about DISCOVERs refused at the newcomer offer limit.
    offer_limit_log: LogThrottle,
    /// "bound" and "released" lines: a REQUEST flood from made-up clients
    /// makes one per datagram.
    lease_log: LogThrottle,
    /// The ISP's IPv4 NTP servers ([`Input::WanNtp`]).
    wan_ntp: Vec<Ipv4Addr>,
}

/// DHCPNAK lines logged per [`NAK_LOG_WINDOW`] before the rest are only
/// counted (the NAK itself is always sent and counted in `replies.nak`).
const NAK_LOG_BURST: u32 = 5;
/// "bound"/"released" lines logged per [`NAK_LOG_WINDOW`]: every one in a
/// home's normal life (a few devices at a time), a count in a flood.
const LEASE_LOG_BURST: u32 = 20;
/// See [`NAK_LOG_BURST`].
const NAK_LOG_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// The name a client gave for itself, as kept for the console and DNS:
/// the Client FQDN (option 81, RFC 4702, either name form) when it sent a
/// readable one (RFC 4702 section 3.1: it is the more specific), else the
/// host name (option 12); through [`clean_hostname`] either way.
fn sent_name(m: &Message) -> Option<String> {
    m.options
        .client_fqdn
        .as_ref()
        .and_then(|f| f.name_text())
        .and_then(|n| clean_hostname(&n))
        .or_else(|| m.options.hostname.as_deref().and_then(clean_hostname))
}

impl Engine {
    /// A server for `config` starting from `leases` (loaded from disk).
    /// Records outside the pool are dropped.
    pub fn new(config: PoolConfig, mut leases: LeaseTable) -> Self {
        let dropped = leases.retain_pool(&config);
        if dropped > 0 {
            log::info!("{dropped} saved leases are outside the pool now; forgotten");
        }
        Self {
            queue: VecDeque::new(),
            config,
            leases,
            limiter: RateLimiter::new(LIMITER_CLIENTS, LIMITER_BURST, LIMITER_RATE),
            counters: Counters::default(),
            dirty: dropped > 0,
            exhausted_logged: false,
            nak_log: LogThrottle::new(NAK_LOG_BURST, NAK_LOG_WINDOW),
            offer_limit_log: LogThrottle::new(1, NAK_LOG_WINDOW),
            lease_log: LogThrottle::new(LEASE_LOG_BURST, NAK_LOG_WINDOW),
            wan_ntp: Vec::new(),
        }
    }

    /// Host names of the bound leases, by address: what the DNS forwarder
    /// answers under the local domain (`cpe_bus::Fact::Dhcp4Names`). An
    /// offered, declined, released or expired lease has no name.
    pub fn lease_names(&self) -> Vec<cpe_bus::LeaseName> {
        self.leases
            .iter()
            .filter(|(_, l)| l.state == LeaseState::Bound)
            .filter_map(|(a, l)| {
                Some(cpe_bus::LeaseName {
                    name: l.hostname.clone()?,
                    address: *a,
                })
            })
            .collect()
    }

    /// The lease table.
    pub fn leases(&self) -> &LeaseTable {
        &self.leases
    }

    /// The NTP servers handed out in option 42 (the ISP's, as last learned).
    pub fn ntp(&self) -> &[Ipv4Addr] {
        &self.wan_ntp
    }

    /// The config served.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether the table changed in a way worth saving since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Ends offers, leases and quarantines whose time has come.
    fn expire(&mut self, now: Instant) {
        if self.leases.expire(now) {
            self.dirty = true;
            self.exhausted_logged = false;
        }
    }

    /// Logs how many lines were suppressed in rate-limited log sites whose
    /// window has ended (the driver calls it every second), so a burst that
    /// stops is still accounted for in the log.
    pub fn log_summaries(&mut self, now: Instant) {
        if let Some(n) = self.nak_log.take_summary(now) {
            log::info!("{n} more DHCPNAK lines suppressed (counted in replies.nak)");
        }
        if let Some(n) = self.lease_log.take_summary(now) {
            log::info!("{n} more \"bound\"/\"released\" lines suppressed (see the lease list)");
        }
        if let Some(n) = self.offer_limit_log.take_summary(now) {
            log::warn!(
                "{n} more DISCOVERs refused at the offer limit (counted in drops.offer_limit)"
            );
        }
    }

    /// Handles one datagram received at `now`.
    fn on_datagram(&mut self, payload: &[u8], now: Instant) -> Action {
        self.counters.received += 1;
        self.expire(now);
        let outcome = match dhcpv4::Message::decode(payload) {
            Ok(m) => self.decide(&m, now),
            Err(e) => Action::Drop(DropReason::Malformed(e)),
        };
        match &outcome {
            Action::Reply { kind, .. } => self.counters.reply(request_name(*kind)),
            Action::Handled => {}
            Action::Drop(r) => self.counters.drop(r.name()),
        }
        outcome
    }

    fn decide(&mut self, m: &Message, now: Instant) -> Action {
        if m.op != OP_REQUEST {
            return Action::Drop(DropReason::NotARequest);
        }
        let Some(t) = m.message_type() else {
            return Action::Drop(DropReason::NoMessageType);
        };
        if !m.giaddr.is_unspecified() {
            return Action::Drop(DropReason::Relayed);
        }
        if !self.limiter.allow(m.chaddr, now) {
            return Action::Drop(DropReason::RateLimited);
        }
        self.counters.request(request_name(t));
        let client = ClientKey::of(&m.options.client_id, m.chaddr);
        match t {
            MessageType::Discover => self.discover(m, &client, now),
            MessageType::Request => self.request(m, &client, now),
            MessageType::Decline => self.decline(m, &client, now),
            MessageType::Release => self.release(m, &client, now),
            MessageType::Inform => self.inform(m),
            MessageType::Offer | MessageType::Ack | MessageType::Nak => {
                Action::Drop(DropReason::NotARequest)
            }
        }
    }

    fn discover(&mut self, m: &Message, client: &ClientKey, now: Instant) -> Action {
        let newcomer = !self.leases.knows(client);
        let outstanding = self.leases.newcomer_offers(now);
        let limit = self.config.newcomer_offer_limit();
        let offered_already = self
            .leases
            .address_of(client)
            .and_then(|a| self.leases.get(a))
            .is_some_and(|l| l.state == LeaseState::Offered && l.until > now);
        if newcomer && !offered_already && outstanding >= limit {
            if let Some(n) = self.offer_limit_log.check(now) {
                log::warn!(
                    "{limit} offers to unknown clients outstanding: no OFFER for {} (a DISCOVER flood?){}",
                    mac_text(&m.chaddr),
                    suppressed_note(n)
                );
            }
            return Action::Drop(DropReason::OfferLimit);
        }
        let hold = if outstanding * 2 >= limit {
            OFFER_HOLD_UNDER_PRESSURE
        } else {
            OFFER_HOLD
        };
        let Some(addr) = self
            .leases
            .choose(&self.config, client, m.options.requested_ip, now)
        else {
            if !self.exhausted_logged {
                log::warn!(
                    "pool {}-{} exhausted: no OFFER for {} (logged once until an address frees up)",
                    self.config.pool.0,
                    self.config.pool.1,
                    mac_text(&m.chaddr)
                );
                self.exhausted_logged = true;
            }
            return Action::Drop(DropReason::PoolExhausted);
        };
        let keep_bound = self
            .leases
            .get(addr)
            .is_some_and(|l| l.state == LeaseState::Bound && l.client == *client && l.until > now);
        if !keep_bound {
            // A retransmitted DISCOVER never shortens the hold it got.
            let held = self
                .leases
                .get(addr)
                .filter(|l| l.state == LeaseState::Offered && l.client == *client)
                .map(|l| l.until);
            let until = held.map_or(now + hold, |u| u.max(now + hold));
            self.put(addr, m, client, LeaseState::Offered, until);
        }
        self.reply(m, MessageType::Offer, addr, true)
    }

    fn request(&mut self, m: &Message, client: &ClientKey, now: Instant) -> Action {
        let ours = self.config.server_address();
        if let Some(sid) = m.options.server_id {
            // SELECTING.
            if sid != ours {
                self.withdraw_offer(client);
                return Action::Drop(DropReason::OtherServer);
            }
            let Some(want) = m.options.requested_ip else {
                return self.nak(m, "no requested address", now);
            };
            let offered = self.leases.get(want).is_some_and(|l| {
                l.client == *client && matches!(l.state, LeaseState::Offered | LeaseState::Bound)
            });
            if offered || self.leases.is_available(&self.config, want, client, now) {
                return self.bind(m, client, want, now);
            }
            return self.nak(m, "address not offered to this client", now);
        }
        // INIT-REBOOT (option 50) or RENEWING/REBINDING (ciaddr).
        let want = match (m.options.requested_ip, m.ciaddr) {
            (Some(r), _) => r,
            (None, c) if !c.is_unspecified() => c,
            _ => return Action::Drop(DropReason::Incomplete),
        };
        if !self.config.on_subnet(want) {
            return self.nak(m, "address is not on this network", now);
        }
        if self.leases.is_available(&self.config, want, client, now) {
            return self.bind(m, client, want, now);
        }
        if !self.config.in_pool(want) {
            return self.nak(m, "address is not in this server's pool", now);
        }
        self.nak(m, "address belongs to another client", now)
    }

    fn decline(&mut self, m: &Message, client: &ClientKey, now: Instant) -> Action {
        if m.options
            .server_id
            .is_some_and(|s| s != self.config.server_address())
        {
            return Action::Drop(DropReason::OtherServer);
        }
        let Some(addr) = m.options.requested_ip else {
            return Action::Drop(DropReason::Incomplete);
        };
        if self.leases.get(addr).is_none_or(|l| l.client != *client) {
            return Action::Drop(DropReason::NoSuchLease);
        }
        log::warn!(
            "{} ({}) declined {addr}: another host uses it; out of the pool for {} s",
            mac_text(&m.chaddr),
            client,
            DECLINE_QUARANTINE.as_secs()
        );
        if let Some(l) = self.leases.get_mut(addr) {
            l.state = LeaseState::Declined;
            l.until = now + DECLINE_QUARANTINE;
        }
        self.dirty = true;
        // RFC 2131 4.3.3: no reply to a DECLINE.
        Action::Handled
    }

    fn release(&mut self, m: &Message, client: &ClientKey, now: Instant) -> Action {
        if m.options
            .server_id
            .is_some_and(|s| s != self.config.server_address())
        {
            return Action::Drop(DropReason::OtherServer);
        }
        let addr = m.ciaddr;
        let held = self.leases.get(addr).is_some_and(|l| {
            l.client == *client && matches!(l.state, LeaseState::Bound | LeaseState::Offered)
        });
        if !held {
            return Action::Drop(DropReason::NoSuchLease);
        }
        if let Some(n) = self.lease_log.check(now) {
            log::info!(
                "{} released {addr}{}",
                mac_text(&m.chaddr),
                suppressed_note(n)
            );
        }
        self.leases.end(addr);
        self.dirty = true;
        self.exhausted_logged = false;
        // RFC 2131 4.3.4: no reply to a RELEASE.
        Action::Handled
    }

    fn inform(&mut self, m: &Message) -> Action {
        if m.ciaddr.is_unspecified() {
            return Action::Drop(DropReason::Incomplete);
        }
        self.reply(m, MessageType::Ack, Ipv4Addr::UNSPECIFIED, false)
    }

    /// Records `addr` for the client in `state` until `until`.
    fn put(
        &mut self,
        addr: Ipv4Addr,
        m: &Message,
        client: &ClientKey,
        state: LeaseState,
        until: Instant,
    ) {
        let hostname = sent_name(m)
            // A client that does not repeat its name keeps it; a record
            // another client left behind lends the newcomer nothing (its
            // name would be answered in DNS for the wrong host).
            .or_else(|| {
                self.leases
                    .get(addr)
                    .filter(|l| l.client == *client)
                    .and_then(|l| l.hostname.clone())
            });
        // A binding earns the claim; an offer keeps the one the client had.
        let sticky = state == LeaseState::Bound
            || self
                .leases
                .get(addr)
                .is_some_and(|l| l.sticky && l.client == *client);
        self.leases.insert(
            addr,
            Lease {
                client: client.clone(),
                mac: m.chaddr,
                hostname,
                state,
                until,
                sticky,
            },
        );
    }

    /// The client chose another server: its offer here is void (and
    /// leaves no claim unless the client had one before).
    fn withdraw_offer(&mut self, client: &ClientKey) {
        if let Some(a) = self.leases.address_of(client)
            && self
                .leases
                .get(a)
                .is_some_and(|l| l.state == LeaseState::Offered)
        {
            self.leases.end(a);
        }
    }

    fn bind(&mut self, m: &Message, client: &ClientKey, addr: Ipv4Addr, now: Instant) -> Action {
        // A client moving to another address gives up its old one.
        if let Some(old) = self.leases.address_of(client)
            && old != addr
            && self
                .leases
                .get(old)
                .is_some_and(|l| matches!(l.state, LeaseState::Offered | LeaseState::Bound))
        {
            self.leases.end(old);
        }
        let renewal = self
            .leases
            .get(addr)
            .is_some_and(|l| l.state == LeaseState::Bound && l.client == *client);
        self.put(
            addr,
            m,
            client,
            LeaseState::Bound,
            now + self.config.lease_duration(),
        );
        // A renewal only moves the end of the lease: not worth a flash
        // write. After a restart the older end may pass first, but the
        // record stays the client's (sticky), so its next renewal is
        // acknowledged all the same.
        if !renewal {
            self.dirty = true;
        }
        if !renewal && let Some(n) = self.lease_log.check(now) {
            log::info!(
                "{addr} bound to {} ({}{}) for {} s{}",
                mac_text(&m.chaddr),
                client,
                sent_name(m).map(|h| format!(", {h}")).unwrap_or_default(),
                self.config.lease_time,
                suppressed_note(n)
            );
        }
        self.reply(m, MessageType::Ack, addr, true)
    }

    fn nak(&mut self, m: &Message, why: &str, now: Instant) -> Action {
        if let Some(n) = self.nak_log.check(now) {
            log::info!(
                "DHCPNAK to {}: {why}{}",
                mac_text(&m.chaddr),
                suppressed_note(n)
            );
        }
        let mut r = Message::reply_to(m, MessageType::Nak);
        r.options.server_id = Some(self.config.server_address());
        r.options.message = Some(why.to_string());
        // RFC 2131 4.3.2: a NAK is broadcast when there is no relay.
        Action::Reply {
            to: Destination::Broadcast,
            payload: r.to_bytes().unwrap_or_else(|e| match e {}),
            kind: MessageType::Nak,
        }
    }

    /// OFFER/ACK with the configuration options; `lease` false for INFORM
    /// (RFC 2131 4.3.5: no lease time, no yiaddr).
    fn reply(&self, m: &Message, kind: MessageType, addr: Ipv4Addr, lease: bool) -> Action {
        let c = &self.config;
        let server = c.server_address();
        let mut r = Message::reply_to(m, kind);
        r.yiaddr = addr;
        r.ciaddr = if kind == MessageType::Ack {
            m.ciaddr
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        let o = &mut r.options;
        o.server_id = Some(server);
        o.subnet_mask = Some(c.address.netmask());
        o.broadcast_address = Some(c.address.broadcast());
        o.routers = vec![server];
        o.dns_servers = vec![server];
        o.domain_name = c.domain.clone();
        if m.options.requested(code::DOMAIN_SEARCH) {
            o.domain_search = c.domain.iter().cloned().collect();
        }
        // RFC 2132 9.8: beyond the basics, only what the client asked for.
        if m.options.requested(code::NTP_SERVERS) {
            o.ntp_servers = self.wan_ntp.clone();
        }
        if lease {
            let t = c.lease_time;
            o.lease_time = Some(t);
            // RFC 2131 4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease.
            o.renewal_time = Some(t / 2);
            o.rebinding_time = Some((u64::from(t) * 7 / 8) as u32);
        }
        let to = if !m.ciaddr.is_unspecified() {
            Destination::Unicast(m.ciaddr)
        } else {
            Destination::Broadcast
        };
        Action::Reply {
            to,
            payload: r.to_bytes().unwrap_or_else(|e| match e {}),
            kind,
        }
    }
}

impl cpe_daemon::Engine for Engine {
    type Input<'a> = Input<'a>;
    type Action = Action;

    fn handle(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Received(payload) => {
                let action = self.on_datagram(payload, now);
                self.queue.push_back(action);
            }
            Input::DriverDrop(reason) => {
                self.counters.received += 1;
                self.counters.drop(reason.name());
            }
            Input::Unsent(reason) => self.counters.unsent(reason),
            Input::WanNtp(servers) => self.wan_ntp = servers.to_vec(),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.queue.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.leases.next_deadline()
    }
}
