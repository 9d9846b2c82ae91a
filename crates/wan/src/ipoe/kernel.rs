//! The WAN link as the kernel sees it: preparing it (sysctls, up, MTU) and
//! turning netlink dumps and notifications into tracker inputs.

use crate::config::WanSettings;
use crate::engine::{AddrView, DefaultRoute, Input, LinkView};
use cpe_sys::netlink::{Address, Event, Family, Link, Netlink, Route, RouteType};
use cpe_sys::sysctl::{self, SysctlKey};
use std::io;

/// Main routing table.
const MAIN_TABLE: u32 = 254;

/// What the driver knows about the WAN link between events.
pub struct WanLink {
    settings: WanSettings,
    index: Option<u32>,
    mac: Vec<u8>,
}

impl WanLink {
    /// Knows nothing yet.
    pub fn new(settings: WanSettings) -> WanLink {
        WanLink {
            settings,
            index: None,
            mac: Vec::new(),
        }
    }

    /// The WAN's MAC, once known.
    pub fn mac(&self) -> Option<&[u8]> {
        self.index.map(|_| self.mac.as_slice())
    }

    /// Looks the WAN link up by name; `None` (and the index forgotten) if
    /// it does not exist.
    pub fn find(&mut self, nl: &mut Netlink) -> io::Result<Option<Link>> {
        let link = nl.link_by_name(&self.settings.interface)?;
        if link.is_none() {
            log::warn!(
                "{} does not exist (yet); waiting for it",
                self.settings.interface
            );
            self.index = None;
        }
        Ok(link)
    }

    /// Takes `link` as the WAN: prepares it if it is new to us, and reads
    /// its addresses and default routes. The result describes it completely.
    pub fn adopt(&mut self, nl: &mut Netlink, link: Link) -> io::Result<Vec<Input>> {
        let idx = link.index;
        let link = if self.index != Some(idx) {
            self.index = Some(idx);
            self.prepare(nl, link)
        } else {
            link
        };
        self.mac = link.mac.clone();
        let mut inputs = vec![Input::Link(Some(view(&link)))];
        let addresses = nl
            .addresses(Family::Any)?
            .into_iter()
            .filter(|a| a.index == idx)
            .map(|a| addr_view(&a))
            .collect();
        let routes = nl
            .routes(Family::Any)?
            .into_iter()
            .filter_map(|r| default_route(&r, idx))
            .collect();
        inputs.push(Input::Resync { addresses, routes });
        Ok(inputs)
    }

    /// Sysctls first (so the kernel honours RAs once forwarding is on), then
    /// the link up with the configured MTU. Failures are logged, not fatal:
    /// the daemon still reports what it sees, which is what the engineer
    /// needs to find the cause.
    fn prepare(&mut self, nl: &mut Netlink, link: Link) -> Link {
        let ifname = self.settings.interface.clone();
        log::info!(
            "preparing {ifname} (#{}, {}): sysctls, link up, mtu {}",
            link.index,
            link.mac_text(),
            self.settings.mtu
        );
        for (key, value) in router_wan_sysctls(&ifname) {
            match key.and_then(|k| sysctl::ensure(&k, value).map(|changed| (k, changed))) {
                Ok((k, true)) => log::info!("set {k}={value}"),
                Ok((_, false)) => {}
                Err(e) => log::error!("{e}"),
            }
        }
        if link.mtu != Some(self.settings.mtu)
            && let Err(e) = nl.set_link_mtu(link.index, self.settings.mtu)
        {
            log::error!("{e}");
        }
        if !link.flags.up()
            && let Err(e) = nl.set_link_up(link.index, true)
        {
            log::error!("{e}");
        }
        match nl.link_by_index(link.index) {
            Ok(Some(l)) => l,
            _ => link,
        }
    }

    /// Turns one notification into inputs (none when it is about something
    /// else). `None` means the WAN link (re)appeared under a new index and
    /// must be found and adopted again.
    pub fn on_event(&mut self, ev: Event) -> Option<Vec<Input>> {
        let ifname = &self.settings.interface;
        Some(match ev {
            Event::NewLink(l) if l.name == *ifname && Some(l.index) != self.index => {
                log::info!("{ifname} appeared as #{}", l.index);
                return None;
            }
            Event::NewLink(l) if Some(l.index) == self.index => {
                if !l.mac.is_empty() {
                    self.mac = l.mac.clone();
                }
                vec![Input::Link(Some(view(&l)))]
            }
            Event::DelLink(l) if Some(l.index) == self.index => {
                log::warn!("{ifname} was removed");
                self.index = None;
                vec![Input::Link(None)]
            }
            Event::NewAddress(a) if Some(a.index) == self.index => {
                vec![Input::AddressUp(addr_view(&a))]
            }
            Event::DelAddress(a) if Some(a.index) == self.index => vec![Input::AddressGone(a.net)],
            Event::NewRoute(r) => self
                .index
                .and_then(|idx| default_route(&r, idx))
                .map(Input::RouteUp)
                .into_iter()
                .collect(),
            Event::DelRoute(r) => self
                .index
                .and_then(|idx| default_route(&r, idx))
                .map(Input::RouteGone)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        })
    }
}

/// The sysctls a router's WAN needs. `accept_ra=2` keeps RAs honoured
/// whether or not forwarding is on: the WAN comes up (and learns its
/// address and default route) with forwarding still off, and stays up when
/// the firewall switches forwarding on after its first ruleset commit
/// (RFC 7084 G-3/S-1). Forwarding itself is never set here.
pub fn router_wan_sysctls(ifname: &str) -> Vec<(io::Result<SysctlKey>, &'static str)> {
    vec![
        (SysctlKey::ipv6_conf(ifname, "accept_ra"), "2"),
        (SysctlKey::ipv6_conf(ifname, "accept_ra_defrtr"), "1"),
        (SysctlKey::ipv6_conf(ifname, "accept_ra_pinfo"), "1"),
        (SysctlKey::ipv6_conf(ifname, "autoconf"), "1"),
        // The ISP RA's MTU option sets the IPv6 MTU (not the link MTU, so
        // IPv4 keeps `wan.mtu`); the tracker publishes the same value.
        (SysctlKey::ipv6_conf(ifname, "accept_ra_mtu"), "1"),
    ]
}

fn view(l: &Link) -> LinkView {
    LinkView {
        index: l.index,
        admin_up: l.flags.up(),
        carrier: l.has_carrier(),
        running: l.flags.running(),
        mtu: l.mtu.unwrap_or(0),
    }
}

fn addr_view(a: &Address) -> AddrView {
    AddrView {
        net: a.net,
        tentative: a.flags.tentative(),
        dad_failed: a.flags.dad_failed(),
    }
}

/// A default route through the WAN in the main table, if `r` is one.
fn default_route(r: &Route, wan_index: u32) -> Option<DefaultRoute> {
    (r.is_default()
        && r.table == MAIN_TABLE
        && r.kind == RouteType::UNICAST
        && r.oif == Some(wan_index))
    .then_some(())?;
    r.gateway.map(|gateway| DefaultRoute { gateway })
}
