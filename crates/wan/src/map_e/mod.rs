//! MAP-E CE (RFC 7597): IPv4 to the Internet through an IPv4-in-IPv6
//! tunnel to the ISP's Border Relay, from a shared IPv4 address and a
//! port set that the rule derives from our delegated prefix.
//!
//! The same shape as [`crate::dslite`]: a sans-IO engine on the one engine
//! contract ([`cpe_daemon::Engine`]) fed the WAN as the shared state shows
//! it ([`View`]: delegated prefixes, the DHCPv6 MAP-E offer, the WAN MTU),
//! asking the [`driver`] to create or remove the tunnel. Which rule is in
//! force and what it maps to is [`cpe_bus::map_e::in_force`], the function
//! the firewall calls on the same facts to SNAT into the same port set.
//!
//! What the tunnel is (RFC 7597 sections 5, 6 and 8): the MAP IPv6 address
//! (subnet 0 of the delegated prefix, interface identifier 16 zero bits,
//! the IPv4 address, the PSID) as a /128 on the WAN; an ip6tnl (ipip6)
//! `map0` from it to the BR; the MAP IPv4 address as a /32 on `map0`; the
//! IPv4 default route into it; MTU = WAN MTU - 40. Only the BR is reached
//! through the tunnel: Forwarding Mapping Rules (direct CE-to-CE paths)
//! would need one tunnel per peer or a kernel with the MAP-E mode of
//! ip6tnl, and the BR hairpins that traffic (RFC 7597 8.2).

pub mod driver;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use cpe_bus::map_e::{InForce, NotMapped, in_force};
use cpe_bus::state::MapEOffer;
use cpe_config::MapRule;
use ipnet::Ipv6Net;

/// The tunnel interface.
pub const TUNNEL: &str = cpe_config::MAPE_INTERFACE;
/// The encapsulation overhead and the retry schedule are DS-Lite's: the
/// same ip6tnl, the same kernel that may refuse it.
pub use crate::dslite::{ENCAP_OVERHEAD, RETRY_MAX, RETRY_MIN};

/// The WAN as the engine needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Delegated prefixes, in the DHCPv6 client's order.
    pub delegated: Vec<Ipv6Net>,
    /// The MAP-E container of DHCPv6 (option 94), if sent.
    pub offer: Option<MapEOffer>,
    /// The WAN link MTU.
    pub mtu: u32,
}

/// The tunnel as installed or wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    /// The MAP IPv6 address (put on the WAN; the tunnel's local end).
    pub local: Ipv6Addr,
    /// The Border Relay.
    pub remote: Ipv6Addr,
    /// The shared IPv4 address (a /32 on the tunnel).
    pub ipv4: Ipv4Addr,
    /// Tunnel MTU (WAN MTU - 40).
    pub mtu: u32,
}

/// What the driver reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The shared state changed.
    View(View),
    /// The outcome of [`Action::Create`].
    Created(Result<(), String>),
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create the tunnel: the MAP IPv6 address on the WAN, `map0`, its
    /// IPv4 address, the IPv4 default route into it. On failure the
    /// driver removes what it made.
    Create(Tunnel),
    /// Remove this tunnel and its MAP IPv6 address from the WAN.
    Remove(Tunnel),
}

/// Where the tunnel stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No mapping: why.
    NotMapped(NotMapped),
    /// Creating the tunnel.
    Creating,
    /// The kernel refused: why.
    Failed(String),
    /// Up.
    Up,
}

impl Phase {
    /// One word for status.
    pub fn word(&self) -> &'static str {
        match self {
            Phase::NotMapped(n) => n.word(),
            Phase::Creating => "creating",
            Phase::Failed(_) => "failed",
            Phase::Up => "up",
        }
    }
}

/// The MAP-E engine.
#[derive(Debug)]
pub struct MapE {
    configured: Option<MapRule>,
    view: View,
    phase: Phase,
    in_force: Option<InForce>,
    installed: Option<Tunnel>,
    creating: Option<Tunnel>,
    retry: crate::softwire::Retry,
    actions: VecDeque<Action>,
}

impl MapE {
    /// An engine with the rule from the config, if written there.
    pub fn new(configured: Option<MapRule>) -> Self {
        MapE {
            configured,
            view: View::default(),
            phase: Phase::NotMapped(NotMapped::NoPrefix),
            in_force: None,
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

    /// The mapping in force, if any (also while the tunnel is not up).
    pub fn in_force(&self) -> Option<&InForce> {
        self.in_force.as_ref()
    }

    /// The tunnel as installed.
    pub fn installed(&self) -> Option<Tunnel> {
        self.installed
    }

    /// Another mechanism takes over (`auto`): remove the tunnel and its
    /// MAP address, if installed.
    pub fn stop(&mut self) {
        self.remove();
    }

    fn remove(&mut self) {
        if let Some(t) = self.installed.take() {
            self.actions.push_back(Action::Remove(t));
        }
    }

    /// Brings what is installed in line with the mapping the view gives.
    fn reconcile(&mut self, now: Instant) {
        if self.creating.is_some() {
            return;
        }
        let f = match in_force(
            self.configured.as_ref(),
            self.view.offer.as_ref(),
            &self.view.delegated,
        ) {
            Ok(f) => f,
            Err(why) => {
                self.in_force = None;
                self.remove();
                self.retry.reset();
                self.phase = Phase::NotMapped(why);
                return;
            }
        };
        self.in_force = Some(f);
        let want = Tunnel {
            local: f.mapping.ipv6,
            remote: f.br,
            ipv4: f.mapping.ipv4,
            mtu: self.view.mtu.saturating_sub(ENCAP_OVERHEAD).max(1280),
        };
        if self.installed == Some(want) {
            self.phase = Phase::Up;
            return;
        }
        if self.retry.waiting(now) {
            return;
        }
        // A new prefix or rule: the old address and port set go first.
        self.remove();
        self.creating = Some(want);
        self.phase = Phase::Creating;
        self.actions.push_back(Action::Create(want));
    }
}

impl cpe_daemon::Engine for MapE {
    type Input<'a> = Input;
    type Action = Action;

    fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::View(v) => {
                if v != self.view {
                    // Other facts: a refused tunnel may now be made.
                    self.retry.reset();
                }
                self.view = v;
            }
            Input::Created(result) => {
                let made = self.creating.take();
                match result {
                    Ok(()) => {
                        self.installed = made;
                        self.retry.reset();
                        self.phase = Phase::Up;
                    }
                    Err(why) => {
                        self.phase = Phase::Failed(why);
                        self.retry.arm(now);
                    }
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
        self.retry.at()
    }
}

#[cfg(test)]
mod tests;
