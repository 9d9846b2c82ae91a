//! Links, addresses, routes and sockets of a namespace, and waiting on them.
//!
//! Queries go through `ip -j` (the kernel's view, as an engineer would
//! check it) and `/proc/net` read from inside the namespace; waits poll
//! those until the kernel shows what the test expects.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use ipnet::IpNet;

use crate::error::{Context, Result};
use crate::netns::Netns;
use crate::parse::iproute::{IfAddr, Route, parse_addresses, parse_routes};
use crate::parse::proc_net::{SocketEntry, TCP_LISTEN, UDP_UNCONNECTED, parse_socket_table};
use crate::wait::{Check, wait_for};

/// Address family selector for route queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    fn flag(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
}

/// Transport selector for socket queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP (bound, unconnected sockets).
    Udp,
    /// TCP (listening sockets).
    Tcp,
}

impl Netns {
    /// Brings a link up.
    pub fn link_up(&self, ifname: &str) -> Result<()> {
        self.ip(&["link", "set", "dev", ifname, "up"]).map(drop)
    }

    /// Takes a link down (e.g. to emulate a WAN cable pull).
    pub fn link_down(&self, ifname: &str) -> Result<()> {
        self.ip(&["link", "set", "dev", ifname, "down"]).map(drop)
    }

    /// Adds a static address; IPv6 addresses skip DAD (`nodad`) because a
    /// static lab address is known unique.
    pub fn add_address(&self, ifname: &str, net: IpNet) -> Result<()> {
        let text = net.to_string();
        let mut args = vec!["addr", "add", text.as_str(), "dev", ifname];
        if matches!(net, IpNet::V6(_)) {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// Removes an address.
    pub fn del_address(&self, ifname: &str, net: IpNet) -> Result<()> {
        self.ip(&["addr", "del", &net.to_string(), "dev", ifname])
            .map(drop)
    }

    /// Adds or replaces a route to `dst` via `gateway` and/or `dev`.
    pub fn replace_route(
        &self,
        dst: IpNet,
        gateway: Option<IpAddr>,
        dev: Option<&str>,
    ) -> Result<()> {
        let family = match dst {
            IpNet::V4(_) => "-4",
            IpNet::V6(_) => "-6",
        };
        let dst_s = dst.to_string();
        let gw_s = gateway.map(|g| g.to_canonical().to_string());
        let mut args = vec![family, "route", "replace", dst_s.as_str()];
        if let Some(gw) = gw_s.as_deref() {
            args.extend(["via", gw]);
        }
        if let Some(dev) = dev {
            args.extend(["dev", dev]);
        }
        self.ip(&args).map(drop)
    }

    /// Addresses on `ifname` (all families).
    pub fn addresses(&self, ifname: &str) -> Result<Vec<IfAddr>> {
        let out = self.ip(&["-j", "addr", "show", "dev", ifname])?;
        parse_addresses(&out.stdout)
    }

    /// Routes of the main table for `family`.
    pub fn routes(&self, family: Family) -> Result<Vec<Route>> {
        let out = self.ip(&["-j", family.flag(), "route", "show"])?;
        parse_routes(&out.stdout)
    }

    /// The interface's IPv6 link-local address, if it has one yet.
    pub fn link_local(&self, ifname: &str) -> Result<Option<Ipv6Addr>> {
        Ok(self
            .addresses(ifname)?
            .into_iter()
            .find_map(|a| match a.addr() {
                IpAddr::V6(v6) if a.scope == "link" => Some(v6),
                _ => None,
            }))
    }

    /// Sockets bound in this namespace for `transport` (UDP: bound and
    /// unconnected; TCP: listening), read from `/proc/net` inside it.
    pub fn listening(&self, transport: Transport) -> Result<Vec<SocketEntry>> {
        let (files, state) = match transport {
            Transport::Udp => (["udp", "udp6"], UDP_UNCONNECTED),
            Transport::Tcp => (["tcp", "tcp6"], TCP_LISTEN),
        };
        self.run(move || {
            let mut all = Vec::new();
            for f in files {
                let path = format!("/proc/thread-self/net/{f}");
                let text = std::fs::read_to_string(&path).context(format!("reading {path}"))?;
                all.extend(
                    parse_socket_table(&text)
                        .into_iter()
                        .filter(|s| s.state == state),
                );
            }
            Ok(all)
        })?
    }

    /// Waits for an address on `ifname` matching `pred`.
    pub fn wait_for_address(
        &self,
        ifname: &str,
        timeout: Duration,
        pred: impl Fn(&IfAddr) -> bool,
    ) -> Result<IfAddr> {
        let what = format!("an address on {ifname} in {}", self.name());
        wait_for(&what, timeout, || {
            let addrs = self.addresses(ifname)?;
            Ok(match addrs.iter().find(|a| pred(a)) {
                Some(a) => Check::Ready(a.clone()),
                None => Check::NotYet(describe_addrs(&addrs)),
            })
        })
    }

    /// Waits for a global IPv6 address on `ifname` that finished DAD.
    pub fn wait_for_global_v6(&self, ifname: &str, timeout: Duration) -> Result<IfAddr> {
        self.wait_for_address(ifname, timeout, |a| {
            a.addr().is_ipv6() && a.is_usable_global()
        })
    }

    /// Waits for a route matching `pred`.
    pub fn wait_for_route(
        &self,
        family: Family,
        timeout: Duration,
        pred: impl Fn(&Route) -> bool,
    ) -> Result<Route> {
        let what = format!("a route in {}", self.name());
        wait_for(&what, timeout, || {
            let routes = self.routes(family)?;
            Ok(match routes.iter().find(|r| pred(r)) {
                Some(r) => Check::Ready(r.clone()),
                None => Check::NotYet(format!("{routes:?}")),
            })
        })
    }

    /// Waits for an IPv6 default route (e.g. learned from an RA).
    pub fn wait_for_default_route_v6(&self, timeout: Duration) -> Result<Route> {
        self.wait_for_route(Family::V6, timeout, Route::is_default)
    }

    /// Waits until something listens on UDP `port` (on `addr`, or on any
    /// address when `addr` is `None`).
    pub fn wait_for_udp_listen(
        &self,
        addr: Option<IpAddr>,
        port: u16,
        timeout: Duration,
    ) -> Result<()> {
        self.wait_for_listen(Transport::Udp, addr, port, timeout)
    }

    /// Waits until something listens on TCP `port` (see
    /// [`Netns::wait_for_udp_listen`]).
    pub fn wait_for_tcp_listen(
        &self,
        addr: Option<IpAddr>,
        port: u16,
        timeout: Duration,
    ) -> Result<()> {
        self.wait_for_listen(Transport::Tcp, addr, port, timeout)
    }

    fn wait_for_listen(
        &self,
        transport: Transport,
        addr: Option<IpAddr>,
        port: u16,
        timeout: Duration,
    ) -> Result<()> {
        let shown = addr.map_or_else(|| "*".to_string(), |a| a.to_canonical().to_string());
        let what = format!(
            "{transport:?} listener on {shown} port {port} in {}",
            self.name()
        );
        wait_for(&what, timeout, || {
            let socks = self.listening(transport)?;
            let hit = socks.iter().any(|s| {
                s.port == port && addr.is_none_or(|a| s.local.to_canonical() == a.to_canonical())
            });
            Ok(if hit {
                Check::Ready(())
            } else {
                Check::NotYet(format!("{} sockets, none matching", socks.len()))
            })
        })
    }
}

fn describe_addrs(addrs: &[IfAddr]) -> String {
    if addrs.is_empty() {
        return "no addresses".to_string();
    }
    addrs
        .iter()
        .map(|a| {
            let mut s = format!("{} {}", a.net, a.scope);
            if a.tentative {
                s.push_str(" tentative");
            }
            if a.dadfailed {
                s.push_str(" dadfailed");
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}
