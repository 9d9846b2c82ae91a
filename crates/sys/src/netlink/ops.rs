//! The operations the router's daemons need, as methods on [`Netlink`].

use super::addr::{self, Address};
use super::consts::*;
use super::link::{self, Ip6Tunnel, Link};
use super::message::{Message, kernel_errno};
use super::neigh::{self, Neighbour};
use super::route::{self, Route};
use super::socket::Netlink;
use std::io;

/// Which address family a dump covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
    /// Both.
    Any,
}

impl Family {
    fn af(self) -> u8 {
        match self {
            Family::V4 => AF_INET,
            Family::V6 => AF_INET6,
            Family::Any => AF_UNSPEC,
        }
    }
}

fn route_text(r: &Route) -> String {
    let mut s = format!("{} {}", r.dst, r.kind);
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(oif) = r.oif {
        s.push_str(&format!(" dev #{oif}"));
    }
    s
}

impl Netlink {
    /// The kernel's neighbour caches (NDP for IPv6, ARP for IPv4), every
    /// interface.
    pub fn neighbours(&mut self, family: Family) -> io::Result<Vec<Neighbour>> {
        self.request_collect(
            || neigh::dump_request(family.af()),
            "dump neighbours",
            |m| match m {
                Message::NewNeighbour(n) => Some(n),
                _ => None,
            },
        )
    }

    /// All links.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        self.request_collect(link::dump_request, "dump links", |m| match m {
            Message::NewLink(l) => Some(l),
            _ => None,
        })
    }

    /// The link called `name`, or `None` if there is none.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<Link>> {
        let context = format!("get link {name}");
        let r = self.request_collect(
            || link::get_by_name_request(name),
            &context,
            |m| match m {
                Message::NewLink(l) => Some(l),
                _ => None,
            },
        );
        not_found_is_none(r)
    }

    /// The link with index `index`, or `None` if there is none.
    pub fn link_by_index(&mut self, index: u32) -> io::Result<Option<Link>> {
        let context = format!("get link #{index}");
        let r = self.request_collect(
            || link::get_by_index_request(index),
            &context,
            |m| match m {
                Message::NewLink(l) => Some(l),
                _ => None,
            },
        );
        not_found_is_none(r)
    }

    /// Sets a link administratively up or down.
    pub fn set_link_up(&mut self, index: u32, up: bool) -> io::Result<()> {
        let what = if up { "up" } else { "down" };
        self.request_ack(
            link::set_up_request(index, up),
            &format!("set link #{index} {what}"),
        )
    }

    /// Sets a link's MTU.
    pub fn set_link_mtu(&mut self, index: u32, mtu: u32) -> io::Result<()> {
        self.request_ack(
            link::set_mtu_request(index, mtu),
            &format!("set link #{index} mtu {mtu}"),
        )
    }

    /// Creates an ip6tnl (IPv4-in-IPv6) tunnel; EEXIST if the name is
    /// taken. The link is left down.
    pub fn create_ip6_tunnel(&mut self, t: &Ip6Tunnel) -> io::Result<()> {
        self.request_ack(
            link::new_ip6tnl_request(t),
            &format!(
                "create ip6tnl {} {} -> {} mtu {}",
                t.name, t.local, t.remote, t.mtu
            ),
        )
    }

    /// Deletes the link with index `index`.
    pub fn del_link(&mut self, index: u32) -> io::Result<()> {
        self.request_ack(link::del_request(index), &format!("delete link #{index}"))
    }

    /// All addresses of a family, on every interface.
    pub fn addresses(&mut self, family: Family) -> io::Result<Vec<Address>> {
        self.request_collect(
            || addr::dump_request(family.af()),
            "dump addresses",
            |m| match m {
                Message::NewAddress(a) => Some(a),
                _ => None,
            },
        )
    }

    /// Adds an address; fails with `AlreadyExists` if it is there.
    pub fn add_address(&mut self, a: &Address) -> io::Result<()> {
        self.request_ack(
            addr::change_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, a),
            &format!("add address {} on #{}", a.net, a.index),
        )
    }

    /// Adds an address or updates it in place (lifetimes, flags): the call to
    /// use when refreshing an address whose lifetimes follow a lease.
    pub fn replace_address(&mut self, a: &Address) -> io::Result<()> {
        self.request_ack(
            addr::change_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, a),
            &format!("replace address {} on #{}", a.net, a.index),
        )
    }

    /// Removes an address.
    pub fn del_address(&mut self, a: &Address) -> io::Result<()> {
        self.request_ack(
            addr::change_request(RTM_DELADDR, 0, a),
            &format!("delete address {} on #{}", a.net, a.index),
        )
    }

    /// All routes of a family, in every table.
    pub fn routes(&mut self, family: Family) -> io::Result<Vec<Route>> {
        self.request_collect(
            || route::dump_request(family.af()),
            "dump routes",
            |m| match m {
                Message::NewRoute(r) => Some(r),
                _ => None,
            },
        )
    }

    /// Adds a route; fails with `AlreadyExists` if an equal one is there.
    pub fn add_route(&mut self, r: &Route) -> io::Result<()> {
        self.request_ack(
            route::change_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r),
            &format!("add route {}", route_text(r)),
        )
    }

    /// Adds a route or replaces the one with the same destination, table and
    /// metric: idempotent, so a daemon restart can simply re-apply.
    pub fn replace_route(&mut self, r: &Route) -> io::Result<()> {
        self.request_ack(
            route::change_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r),
            &format!("replace route {}", route_text(r)),
        )
    }

    /// Removes a route (matched on destination, table, type and, when set,
    /// gateway, interface and metric).
    pub fn del_route(&mut self, r: &Route) -> io::Result<()> {
        self.request_ack(
            route::change_request(RTM_DELROUTE, 0, r),
            &format!("delete route {}", route_text(r)),
        )
    }
}

fn not_found_is_none<T>(r: io::Result<Vec<T>>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(v.into_iter().next()),
        Err(e) if kernel_errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}
