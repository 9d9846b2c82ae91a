//! The WAN's view of itself, as a sans-IO state machine.
//!
//! It follows the router's one engine contract, [`cpe_daemon::Engine`]: the
//! driver feeds it what the kernel and the ISP say (link, addresses, routes,
//! RAs, the DHCPv4 lease) with the current time, and pulls the facts to
//! publish when they changed and when to send a Router Solicitation. The decision of what state and reason follow from those
//! observations is [`assess`], a plain function, so every case an engineer
//! may see on the console has a unit test.

use crate::ra::RaInfo;
use cpe_bus::{WanFacts, WanState};
use ipnet::IpNet;
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// RFC 4861 RTR_SOLICITATION_INTERVAL: the first retransmission.
pub const RS_INITIAL_INTERVAL: Duration = Duration::from_secs(4);
/// RFC 7559 MAX_RTR_SOLICITATION_INTERVAL: a CPE keeps soliciting, backing
/// off to once an hour, rather than giving up after three tries.
pub const RS_MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Shortest gap between two Router Solicitations sent to confirm a default
/// router's withdrawal: forged withdrawals arriving faster than this cost
/// the ISP router no more than one RS per second.
pub const RS_CONFIRM_GAP: Duration = Duration::from_secs(1);
/// How long after an RA with a router lifetime the kernel's default route
/// may still be missing without that meaning anything: the kernel installs
/// it while processing the same RA, and the netlink event reaches us a
/// moment after the packet. Until then the console says it is waiting,
/// rather than suggesting a misconfiguration on every boot.
pub const ROUTE_GRACE: Duration = Duration::from_secs(2);
/// RFC 8200 5: every IPv6 link carries at least 1280-byte packets; an RA
/// MTU option below it is ignored.
pub const IPV6_MIN_MTU: u32 = 1280;

/// RFC 4861 MIN_DELAY_BETWEEN_RAS: multicast RAs come no closer; a
/// quicker one is an answer to our Router Solicitation.
const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);

/// The link as far as the WAN state cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkView {
    /// Interface index.
    pub index: u32,
    /// Administratively up.
    pub admin_up: bool,
    /// Layer-1 carrier.
    pub carrier: bool,
    /// Operationally up (`IFF_RUNNING`): the kernel has finished bringing
    /// the link up and can send on it (a few ms after carrier).
    pub running: bool,
    /// Current MTU.
    pub mtu: u32,
}

/// One address on the WAN interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrView {
    /// Address and prefix length.
    pub net: IpNet,
    /// DAD still running.
    pub tentative: bool,
    /// DAD found a duplicate.
    pub dad_failed: bool,
}

/// A default route through the WAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DefaultRoute {
    /// The next hop (IPv6: the ISP router's link-local address).
    pub gateway: IpAddr,
}

/// What the DHCPv4 client holds, if bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Lease {
    /// Our address with its prefix length.
    pub address: IpNet,
    /// Default gateway.
    pub router: Option<Ipv4Addr>,
    /// DNS servers.
    pub dns: Vec<Ipv4Addr>,
    /// NTP servers (option 42).
    pub ntp: Vec<Ipv4Addr>,
}

/// Something the driver observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The WAN link's current state; `None` when the interface does not exist.
    Link(Option<LinkView>),
    /// An address appeared or changed on the WAN.
    AddressUp(AddrView),
    /// An address was removed from the WAN.
    AddressGone(IpNet),
    /// A default route through the WAN appeared.
    RouteUp(DefaultRoute),
    /// A default route through the WAN was removed.
    RouteGone(DefaultRoute),
    /// A full re-read after a monitor overrun or at start: replaces all
    /// address and route knowledge.
    Resync {
        /// Every address on the WAN.
        addresses: Vec<AddrView>,
        /// Every default route through the WAN.
        routes: Vec<DefaultRoute>,
    },
    /// A valid RA arrived on the WAN.
    Ra(RaInfo),
    /// The DHCPv4 client's lease changed (`None`: no lease).
    Ipv4(Option<Ipv4Lease>),
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a Router Solicitation to ff02::2 with our MAC in a Source
    /// Link-Layer Address option (allowed: it is only asked for once the
    /// link-local source address is usable, never from `::`).
    SendRs,
    /// The facts changed: publish them.
    Publish(WanFacts),
}

/// Everything observed, as plain data; the input to [`assess`].
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Interface name (for reasons).
    pub interface: String,
    /// The link, if it exists.
    pub link: Option<LinkView>,
    /// Addresses by prefix.
    pub addresses: BTreeMap<IpNet, AddrView>,
    /// Default routes through the WAN.
    pub routes: Vec<DefaultRoute>,
    /// The most recent RA, with when it came.
    pub last_ra: Option<(RaInfo, Instant)>,
    /// Time between the last two RAs from the same router (at least
    /// MIN_DELAY_BETWEEN_RAS, RFC 4861: a quicker one answered our RS),
    /// so the console can say RAs stopped before the lifetime runs out.
    pub ra_interval: Option<Duration>,
    /// RDNSS servers with their expiry.
    pub rdnss: BTreeMap<Ipv6Addr, Instant>,
    /// The DHCPv4 lease, if any.
    pub ipv4: Option<Ipv4Lease>,
    /// Until when a missing IPv6 default route is the kernel still
    /// processing the latest RA ([`ROUTE_GRACE`]), not a fault.
    pub route_grace_until: Option<Instant>,
    /// The MTU option of the latest RA that carried one. Kept while RAs
    /// without the option come and after the RA expires, as the kernel
    /// keeps it (RFC 4861 6.3.4 only updates on an option present); forgotten when
    /// the link MTU changes or the link goes, as the kernel resets its
    /// IPv6 MTU to the link MTU then.
    pub ra_mtu: Option<u32>,
}

impl View {
    /// The IPv6 default router, unless its latest RA withdrew it (router
    /// lifetime 0): the kernel is removing that route, so it is not counted
    /// even in the moment before the netlink event says so.
    fn default_v6(&self) -> Option<Ipv6Addr> {
        self.routes.iter().find_map(|r| match r.gateway {
            IpAddr::V6(g) if !self.withdrawn(g) => Some(g),
            _ => None,
        })
    }

    /// Whether the latest RA from `router` said router lifetime 0.
    fn withdrawn(&self, router: Ipv6Addr) -> bool {
        matches!(&self.last_ra, Some((ra, _)) if ra.source == router && ra.router_lifetime == 0)
    }

    /// Whether `router` is (or until its latest RA was) our default router.
    fn is_default_router(&self, router: Ipv6Addr) -> bool {
        let routed = self.routes.iter().any(|r| r.gateway == IpAddr::V6(router));
        let advertised = matches!(&self.last_ra,
            Some((ra, _)) if ra.source == router && ra.router_lifetime > 0);
        routed || advertised
    }

    /// The IPv6 MTU on the WAN: the ISP's RA MTU option when it is one a
    /// host may apply (RFC 4861 6.3.4: not below the IPv6 minimum of 1280,
    /// RFC 8200 5; not above the link MTU, which the daemon set to
    /// `wan.mtu`), else the link MTU; 0 while there is no link. This is the
    /// rule the kernel applies to `net.ipv6.conf.IF.mtu` with
    /// `accept_ra_mtu=1`, so the value published is the one in effect.
    pub fn ipv6_mtu(&self) -> u32 {
        let Some(link) = self.link else { return 0 };
        match self.ra_mtu {
            Some(m) if (IPV6_MIN_MTU..=link.mtu).contains(&m) => m,
            _ => link.mtu,
        }
    }

    fn default_v4(&self) -> Option<Ipv4Addr> {
        self.routes.iter().find_map(|r| match r.gateway {
            IpAddr::V4(g) => Some(g),
            IpAddr::V6(_) => None,
        })
    }

    fn usable_link_local(&self) -> bool {
        self.addresses.values().any(|a| {
            matches!(a.net.addr(), IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
                && !a.tentative
                && !a.dad_failed
        })
    }

    fn link_local_dad_failed(&self) -> bool {
        self.addresses.values().any(|a| {
            matches!(a.net.addr(), IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
                && a.dad_failed
        })
    }
}

/// The WAN state and the reason shown to an engineer, from what is observed.
pub fn assess(v: &View) -> (WanState, String) {
    let ifname = &v.interface;
    let Some(link) = v.link else {
        return (WanState::Down, format!("{ifname} does not exist"));
    };
    if !link.admin_up {
        return (WanState::Down, format!("{ifname} is administratively down"));
    }
    if !link.carrier {
        return (WanState::Down, format!("no carrier on {ifname}"));
    }
    let v4_note = match (&v.ipv4, v.default_v4()) {
        (Some(lease), Some(gw)) => format!("; IPv4 {} via {gw}", lease.address),
        _ => String::new(),
    };
    if let Some(gw) = v.default_v6() {
        let lifetime = match &v.last_ra {
            Some((ra, _)) if IpAddr::V6(ra.source) == IpAddr::V6(gw) => {
                format!(" (router lifetime {} s)", ra.router_lifetime)
            }
            _ => String::new(),
        };
        return (
            WanState::Up,
            format!("default route via {gw} on {ifname}{lifetime}{v4_note}"),
        );
    }
    if v.link_local_dad_failed() && !v.usable_link_local() {
        return (
            WanState::Connecting,
            format!("duplicate link-local address on {ifname} (DAD failed){v4_note}"),
        );
    }
    match &v.last_ra {
        None => (
            WanState::Connecting,
            format!("waiting for a Router Advertisement on {ifname}{v4_note}"),
        ),
        Some((ra, _)) if ra.router_lifetime == 0 => (
            WanState::Connecting,
            format!(
                "no default route: ISP router lifetime 0 (RA from {}){v4_note}",
                ra.source
            ),
        ),
        Some((ra, _)) if v.route_grace_until.is_some() => (
            WanState::Connecting,
            format!(
                "RA from {} (router lifetime {} s); waiting for the kernel's default route{v4_note}",
                ra.source, ra.router_lifetime
            ),
        ),
        Some((ra, _)) => (
            WanState::Connecting,
            format!(
                "RA from {} has router lifetime {} s but no default route is installed \
                 (is accept_ra=2 on {ifname}?){v4_note}",
                ra.source, ra.router_lifetime
            ),
        ),
    }
}

/// Router Solicitation schedule (RFC 4861 6.3.7 with RFC 7559 backoff).
#[derive(Debug, Clone, Default)]
struct Solicit {
    next: Option<Instant>,
    interval: Duration,
    /// When the last confirming solicitation was sent.
    last_confirm: Option<Instant>,
    /// The next solicitation confirms a withdrawal.
    confirming: bool,
}

impl Solicit {
    /// Solicits at once (at most one per [`RS_CONFIRM_GAP`]) to confirm
    /// that the default router withdrew, then backs off as usual until an
    /// RA answers.
    fn confirm(&mut self, now: Instant) {
        let at = self
            .last_confirm
            .map_or(now, |t| now.max(t + RS_CONFIRM_GAP));
        self.confirming = true;
        self.next = Some(self.next.map_or(at, |n| n.min(at)));
        self.interval = RS_INITIAL_INTERVAL;
    }
    fn start(&mut self, now: Instant) {
        self.next = Some(now);
        self.interval = RS_INITIAL_INTERVAL;
        self.confirming = false;
    }
    fn stop(&mut self) {
        self.next = None;
        self.confirming = false;
    }
    /// Whether one is due now; schedules the next with doubled interval.
    fn due(&mut self, now: Instant) -> bool {
        match self.next {
            Some(t) if t <= now => {
                if std::mem::take(&mut self.confirming) {
                    self.last_confirm = Some(now);
                }
                self.next = Some(now + self.interval);
                self.interval = (self.interval * 2).min(RS_MAX_INTERVAL);
                true
            }
            _ => false,
        }
    }
}

/// Static settings of the tracker.
#[derive(Debug, Clone)]
pub struct TrackerConfig {
    /// `"ipoe"`.
    pub mode: String,
    /// The WAN interface name.
    pub interface: String,
}

/// The sans-IO WAN tracker.
#[derive(Debug)]
pub struct Tracker {
    mode: String,
    view: View,
    solicit: Solicit,
    published: Option<WanFacts>,
    /// Actions not yet pulled by the driver, oldest first.
    actions: VecDeque<Action>,
}

impl Tracker {
    /// A tracker that has seen nothing yet.
    pub fn new(cfg: TrackerConfig) -> Tracker {
        Tracker {
            mode: cfg.mode,
            view: View {
                interface: cfg.interface,
                ..View::default()
            },
            solicit: Solicit::default(),
            published: None,
            actions: VecDeque::new(),
        }
    }

    /// The current view (for the status object).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Takes one observation into the view.
    fn observe(&mut self, input: Input, now: Instant) {
        match input {
            Input::Link(link) => {
                if link.map(|l| (l.index, l.mtu)) != self.view.link.map(|l| (l.index, l.mtu)) {
                    self.view.ra_mtu = None;
                }
                self.view.link = link;
            }
            Input::AddressUp(a) => {
                self.view.addresses.insert(a.net, a);
            }
            Input::AddressGone(net) => {
                self.view.addresses.remove(&net);
            }
            Input::RouteUp(r) => {
                if !self.view.routes.contains(&r) {
                    self.view.routes.push(r);
                    self.view.routes.sort();
                }
            }
            Input::RouteGone(r) => self.view.routes.retain(|x| *x != r),
            Input::Resync { addresses, routes } => {
                self.view.addresses = addresses.into_iter().map(|a| (a.net, a)).collect();
                self.view.routes = routes;
                self.view.routes.sort();
                self.view.routes.dedup();
            }
            Input::Ra(ra) => self.take_ra(ra, now),
            Input::Ipv4(lease) => self.view.ipv4 = lease,
        }
    }

    /// What follows from the view at `now`, whether an observation or
    /// only time passed: expiries, solicitations, changed facts.
    /// `was_ready` and `had_default` describe the view before the change.
    fn settle(&mut self, was_ready: bool, had_default: bool, now: Instant) {
        self.expire(now);

        let ready = self.link_ready();
        if ready && !was_ready {
            // Carrier (re)gained: the ISP router does not know us yet.
            self.view.last_ra = None;
            self.solicit.start(now);
        } else if !ready {
            self.solicit.stop();
        } else if had_default && self.view.default_v6().is_none() && self.view.last_ra.is_none() {
            self.solicit.start(now);
        }

        // A Router Solicitation needs a source: until the link-local address
        // has passed DAD the kernel has none to send from, so a due RS waits
        // for it (the kernel's own first RS waits the same way).
        if ready && self.view.usable_link_local() && self.solicit.due(now) {
            self.actions.push_back(Action::SendRs);
        }
        let facts = self.facts();
        if self.published.as_ref() != Some(&facts) {
            self.published = Some(facts.clone());
            self.actions.push_back(Action::Publish(facts));
        }
    }

    fn link_ready(&self) -> bool {
        self.view.link.is_some_and(|l| l.admin_up && l.carrier)
    }

    fn take_ra(&mut self, ra: RaInfo, now: Instant) {
        for (server, lifetime) in &ra.rdnss {
            if *lifetime == 0 {
                self.view.rdnss.remove(server);
            } else {
                let until = now + Duration::from_secs(u64::from(*lifetime));
                self.view.rdnss.insert(*server, until);
            }
        }
        // RFC 7084 G-5 makes us stop being the LAN's default router when
        // the ISP's only default router withdraws. One forged RA from its
        // address would do the same, so ask at once: a genuine router answers
        // within a round trip and the route is back (issue 9 item 7).
        if ra.router_lifetime == 0 && self.view.is_default_router(ra.source) {
            self.solicit.confirm(now);
        } else {
            self.solicit.stop();
        }
        self.view.route_grace_until = (ra.router_lifetime > 0).then_some(now + ROUTE_GRACE);
        if ra.mtu.is_some() {
            self.view.ra_mtu = ra.mtu;
        }
        if let Some((last, at)) = &self.view.last_ra
            && last.source == ra.source
        {
            let gap = now.saturating_duration_since(*at);
            if gap >= MIN_DELAY_BETWEEN_RAS {
                self.view.ra_interval = Some(gap);
            }
        } else {
            self.view.ra_interval = None;
        }
        self.view.last_ra = Some((ra, now));
    }

    fn expire(&mut self, now: Instant) {
        self.view.rdnss.retain(|_, until| *until > now);
        if self.view.route_grace_until.is_some_and(|t| t <= now) || self.view.default_v6().is_some()
        {
            self.view.route_grace_until = None;
        }
        // An RA whose router lifetime ran out no longer describes a default
        // router; forget it so a new solicitation round starts.
        if let Some((ra, at)) = &self.view.last_ra
            && ra.router_lifetime > 0
            && *at + Duration::from_secs(u64::from(ra.router_lifetime)) <= now
        {
            self.view.last_ra = None;
            if self.link_ready() {
                self.solicit.start(now);
            }
        }
    }

    /// The facts as they stand.
    pub fn facts(&self) -> WanFacts {
        let v = &self.view;
        let (state, reason) = assess(v);
        let mut addresses: Vec<IpNet> = v
            .addresses
            .values()
            .filter(|a| !a.tentative && !a.dad_failed)
            .map(|a| a.net)
            .collect();
        // Global IPv6 first, then link-local, then IPv4: what an engineer
        // looks for first.
        addresses.sort_by_key(|n| match n.addr() {
            IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => (1, *n),
            IpAddr::V6(_) => (0, *n),
            IpAddr::V4(_) => (2, *n),
        });
        let mut dns: Vec<IpAddr> = v.rdnss.keys().map(|a| IpAddr::V6(*a)).collect();
        let mut ntp: Vec<IpAddr> = Vec::new();
        if let Some(lease) = &v.ipv4 {
            dns.extend(lease.dns.iter().map(|a| IpAddr::V4(*a)));
            ntp.extend(lease.ntp.iter().map(|a| IpAddr::V4(*a)));
        }
        let (managed, other, lifetime) = match &v.last_ra {
            Some((ra, _)) => (ra.managed, ra.other_config, u32::from(ra.router_lifetime)),
            None => (false, false, 0),
        };
        WanFacts {
            mode: self.mode.clone(),
            interface: v.interface.clone(),
            state,
            reason,
            carrier: v.link.is_some_and(|l| l.carrier),
            addresses,
            default_router_v6: v.default_v6(),
            default_router_v4: v.default_v4(),
            ra_managed: managed,
            ra_other_config: other,
            ra_router_lifetime: lifetime,
            dns_servers: dns,
            ntp_servers: ntp,
            mtu: v.link.map(|l| l.mtu).unwrap_or(0),
            ipv6_mtu: v.ipv6_mtu(),
        }
    }
}

impl cpe_daemon::Engine for Tracker {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        let was_ready = self.link_ready();
        let had_default = self.view.default_v6().is_some();
        self.observe(input, now);
        self.settle(was_ready, had_default, now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        let was_ready = self.link_ready();
        let had_default = self.view.default_v6().is_some();
        self.settle(was_ready, had_default, now);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next solicitation, DNS server expiry or end of the default
    /// router's lifetime. A due solicitation that waits for a link-local
    /// address is not a deadline: the address arriving is the input that
    /// sends it.
    fn poll_timeout(&self) -> Option<Instant> {
        let rs = self
            .solicit
            .next
            .filter(|_| self.view.usable_link_local() && self.link_ready());
        let ra_end = self.view.last_ra.as_ref().and_then(|(ra, at)| {
            (ra.router_lifetime > 0)
                .then(|| *at + Duration::from_secs(u64::from(ra.router_lifetime)))
        });
        [
            rs,
            self.view.rdnss.values().min().copied(),
            ra_end,
            self.view.route_grace_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
mod tests;
