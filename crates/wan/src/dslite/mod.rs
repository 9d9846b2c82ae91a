//! DS-Lite B4 (RFC 6333): IPv4 to the Internet through an IPv4-in-IPv6
//! softwire to the ISP's AFTR, which does the NAT44.
//!
//! The engine is sans-IO on the one engine contract ([`cpe_daemon::Engine`]):
//! it is fed the WAN as the shared state shows it ([`View`]: our IPv6
//! address, the ISP's DNS servers, the AFTR name from DHCPv6 option 64),
//! and the outcomes of what it asked for; it asks to resolve the AFTR name,
//! create the tunnel, or remove it. [`driver`] performs that with rtnetlink
//! and a DNS query. It lives in the WAN daemon, not a daemon of its own:
//! the tunnel is part of the WAN, its status belongs in `cpectl show wan`,
//! and a new daemon would cost a process, a registry entry and a restart
//! policy for a few hundred lines.
//!
//! The AFTR name is resolved with the ISP's DNS servers directly (DHCPv6
//! option 23, then RA RDNSS), not through the router's forwarder: the
//! forwarder may be disabled or pointed at other upstreams, and ISPs
//! publish AFTR names in zones only their resolvers answer.

pub mod driver;
pub mod resolve;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use cpe_config::Aftr;

/// The tunnel interface.
pub const TUNNEL: &str = cpe_config::DSLITE_INTERFACE;
/// The B4's IPv4 address on the softwire (RFC 6333 5.7: 192.0.0.2 of the
/// well-known 192.0.0.0/29, the AFTR being 192.0.0.1).
pub const B4_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 2);
/// Prefix length of [`B4_ADDRESS`].
pub const B4_PREFIX_LEN: u8 = 29;
/// IPv6 header the softwire adds to every IPv4 packet.
pub const ENCAP_OVERHEAD: u32 = 40;
/// First retry after a failure; doubles up to [`RETRY_MAX`].
pub const RETRY_MIN: Duration = Duration::from_secs(5);
/// Longest wait between retries.
pub const RETRY_MAX: Duration = Duration::from_secs(300);
/// How often a resolved AFTR name is looked up again, so an ISP moving its
/// AFTR is followed without a DHCPv6 event.
pub const REFRESH: Duration = Duration::from_secs(3600);

/// The WAN as the engine needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Our IPv6 address on the WAN (the softwire's local end).
    pub local: Option<Ipv6Addr>,
    /// The ISP's DNS servers, in order of preference.
    pub dns: Vec<Ipv6Addr>,
    /// AFTR name from DHCPv6 option 64.
    pub aftr_name: Option<String>,
    /// The WAN link MTU.
    pub mtu: u32,
}

/// The softwire as installed or wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Softwire {
    /// WAN address.
    pub local: Ipv6Addr,
    /// The AFTR's address.
    pub remote: Ipv6Addr,
    /// Tunnel MTU (WAN MTU - 40).
    pub mtu: u32,
}

/// What the driver reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The shared state changed.
    View(View),
    /// The answer to [`Action::Resolve`]: an address, or why none.
    Resolved(Result<Ipv6Addr, String>),
    /// The outcome of [`Action::Create`].
    Created(Result<(), String>),
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Look up the AAAA record of `name` at `servers`.
    Resolve {
        /// The AFTR name.
        name: String,
        /// The ISP's DNS servers.
        servers: Vec<Ipv6Addr>,
    },
    /// Delete the tunnel (if any), then create it: link, 192.0.0.2/29,
    /// IPv4 default route into it.
    Create(Softwire),
    /// Delete the tunnel.
    Remove,
}

/// Where the softwire stands, as the console says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No global IPv6 address on the WAN yet.
    WaitingAddress,
    /// No AFTR: none configured and none in DHCPv6.
    NoAftr,
    /// The AFTR is a name and there is no DNS server to ask.
    NoDns,
    /// Asking DNS.
    Resolving,
    /// The name did not resolve: why.
    ResolveFailed(String),
    /// Creating the tunnel.
    Creating,
    /// The kernel refused the tunnel: why.
    Failed(String),
    /// Up.
    Up,
}

impl Phase {
    /// One word for status.
    pub fn word(&self) -> &'static str {
        match self {
            Phase::WaitingAddress => "waiting-address",
            Phase::NoAftr => "no-aftr",
            Phase::NoDns => "no-dns",
            Phase::Resolving => "resolving",
            Phase::ResolveFailed(_) => "resolve-failed",
            Phase::Creating => "creating",
            Phase::Failed(_) => "failed",
            Phase::Up => "up",
        }
    }
}

/// The DS-Lite engine.
#[derive(Debug)]
pub struct DsLite {
    configured: Option<Aftr>,
    view: View,
    phase: Phase,
    /// The name last resolved and its address.
    resolved: Option<(String, Ipv6Addr)>,
    resolving: bool,
    /// Look the name up again at this time.
    refresh_at: Option<Instant>,
    installed: Option<Softwire>,
    creating: Option<Softwire>,
    retry: crate::softwire::Retry,
    actions: VecDeque<Action>,
}

impl DsLite {
    /// An engine with the AFTR from the config, if written there.
    pub fn new(configured: Option<Aftr>) -> Self {
        DsLite {
            configured,
            view: View::default(),
            phase: Phase::WaitingAddress,
            resolved: None,
            resolving: false,
            refresh_at: None,
            installed: None,
            creating: None,
            retry: crate::softwire::Retry::new(),
            actions: VecDeque::new(),
        }
    }

    /// Current phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The AFTR in force and where it came from (`config` or `dhcpv6`).
    pub fn aftr(&self) -> Option<(String, &'static str)> {
        match (&self.configured, &self.view.aftr_name) {
            (Some(a), _) => Some((a.to_string(), "config")),
            (None, Some(n)) => Some((n.clone(), "dhcpv6")),
            (None, None) => None,
        }
    }

    /// The AFTR's address, once known.
    pub fn aftr_address(&self) -> Option<Ipv6Addr> {
        match (&self.configured, &self.resolved) {
            (Some(Aftr::Address(a)), _) => Some(*a),
            (_, Some((name, addr))) if self.aftr().is_some_and(|(n, _)| n == *name) => Some(*addr),
            _ => None,
        }
    }

    /// The softwire as installed.
    pub fn installed(&self) -> Option<Softwire> {
        self.installed
    }

    /// Another mechanism takes over (`auto`): remove the tunnel, if any.
    pub fn stop(&mut self) {
        self.remove();
    }

    fn fail(&mut self, phase: Phase, now: Instant) {
        self.phase = phase;
        self.retry.arm(now);
    }

    fn remove(&mut self) {
        if self.installed.take().is_some() || self.creating.take().is_some() {
            self.actions.push_back(Action::Remove);
        }
    }

    /// Brings what is installed in line with what the view asks for.
    fn reconcile(&mut self, now: Instant) {
        if self.resolving || self.creating.is_some() {
            return;
        }
        let Some((name, _)) = self.aftr() else {
            self.remove();
            self.phase = Phase::NoAftr;
            return;
        };
        let Some(local) = self.view.local else {
            self.remove();
            self.phase = Phase::WaitingAddress;
            return;
        };
        let waiting = self.retry.waiting(now);
        let remote = match &self.configured {
            Some(Aftr::Address(a)) => *a,
            _ => {
                let fresh = self.refresh_at.is_some_and(|t| now < t);
                match &self.resolved {
                    Some((n, a)) if *n == name && (fresh || waiting) => *a,
                    _ if waiting => return,
                    _ if self.view.dns.is_empty() => {
                        self.remove();
                        self.phase = Phase::NoDns;
                        return;
                    }
                    _ => {
                        self.resolving = true;
                        if self.installed.is_none() {
                            self.phase = Phase::Resolving;
                        }
                        self.actions.push_back(Action::Resolve {
                            name,
                            servers: self.view.dns.clone(),
                        });
                        return;
                    }
                }
            }
        };
        let want = Softwire {
            local,
            remote,
            mtu: self.view.mtu.saturating_sub(ENCAP_OVERHEAD).max(1280),
        };
        if self.installed == Some(want) {
            self.phase = Phase::Up;
            return;
        }
        if waiting {
            return;
        }
        self.installed = None;
        self.creating = Some(want);
        self.phase = Phase::Creating;
        self.actions.push_back(Action::Create(want));
    }
}

impl cpe_daemon::Engine for DsLite {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::View(v) => {
                if v.aftr_name != self.view.aftr_name || v.dns != self.view.dns {
                    // A new name or new servers: a failed lookup may now
                    // succeed, so do not sit out the backoff.
                    self.retry.reset();
                }
                self.view = v;
            }
            Input::Resolved(result) => {
                self.resolving = false;
                let name = self.aftr().map(|(n, _)| n).unwrap_or_default();
                match result {
                    Ok(addr) => {
                        self.resolved = Some((name, addr));
                        self.refresh_at = now.checked_add(REFRESH);
                        self.retry.reset();
                    }
                    Err(why) if self.installed.is_some() => {
                        // The tunnel keeps working with the last address;
                        // try again later.
                        log::warn!("DS-Lite: AFTR {name} did not resolve again: {why}");
                        self.refresh_at = now.checked_add(RETRY_MAX);
                    }
                    Err(why) => self.fail(Phase::ResolveFailed(why), now),
                }
            }
            Input::Created(result) => {
                let made = self.creating.take();
                match result {
                    Ok(()) => {
                        self.installed = made;
                        self.retry.reset();
                        self.phase = Phase::Up;
                    }
                    Err(why) => self.fail(Phase::Failed(why), now),
                }
            }
        }
        self.reconcile(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.retry.expire(now);
        self.reconcile(now);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.retry.at(), self.refresh_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests;
