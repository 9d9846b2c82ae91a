//! What DS-Lite's and MAP-E's drivers share: the ip6tnl (ipip6) link with
//! its IPv4 address and the IPv4 default route into it, its removal, and
//! the tail of their loops (status to the outlet, wait for the state or a
//! deadline). The engines differ; the kernel plumbing does not.

use std::net::Ipv4Addr;
use std::time::Instant;

use cpe_bus::SharedState;
use cpe_bus::status::wan::S46Status;
use cpe_sys::netlink::{Address, Ip6Tunnel, Netlink, Route};
use ipnet::{IpNet, Ipv4Net};
use tokio::sync::watch;

/// The retry back-off both engines keep after a refused tunnel or a failed
/// lookup: [`RETRY_MIN`](crate::dslite::RETRY_MIN), doubling up to
/// [`RETRY_MAX`](crate::dslite::RETRY_MAX); cleared on success.
#[derive(Debug)]
pub(crate) struct Retry {
    at: Option<Instant>,
    backoff: std::time::Duration,
}

impl Retry {
    pub(crate) fn new() -> Retry {
        Retry {
            at: None,
            backoff: crate::dslite::RETRY_MIN,
        }
    }

    /// Success (or nothing to retry): the next failure waits the minimum.
    pub(crate) fn reset(&mut self) {
        *self = Retry::new();
    }

    /// A failure at `now`: wait the current back-off, then double it.
    pub(crate) fn arm(&mut self, now: Instant) {
        self.at = now.checked_add(self.backoff);
        self.backoff = (self.backoff * 2).min(crate::dslite::RETRY_MAX);
    }

    /// Whether a retry is still being waited for at `now`.
    pub(crate) fn waiting(&self, now: Instant) -> bool {
        self.at.is_some_and(|t| now < t)
    }

    /// The wait is over at `now`: the next attempt may run.
    pub(crate) fn expire(&mut self, now: Instant) {
        if self.at.is_some_and(|t| t <= now) {
            self.at = None;
        }
    }

    /// When the next attempt is due.
    pub(crate) fn at(&self) -> Option<Instant> {
        self.at
    }
}

/// Where a driver reports its status (the WAN outlet merges it into the
/// daemon's status object).
pub type StatusSlot = std::rc::Rc<std::cell::RefCell<Option<S46Status>>>;

/// Deletes the link `name` if it exists; whether it did.
pub(crate) fn remove_link(nl: &mut Netlink, name: &str) -> Result<bool, String> {
    match nl.link_by_name(name).map_err(|e| e.to_string())? {
        Some(link) => {
            nl.del_link(link.index).map_err(|e| e.to_string())?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Creates the ip6tnl `t` (over the WAN link `t.link`), puts `ipv4` on
/// it, sets it up and replaces the IPv4 default route into it.
pub(crate) fn tunnel_up(nl: &mut Netlink, t: &Ip6Tunnel, ipv4: Ipv4Net) -> Result<(), String> {
    nl.create_ip6_tunnel(t).map_err(|e| e.to_string())?;
    let tunnel = nl
        .link_by_name(&t.name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} vanished after creation", t.name))?;
    nl.add_address(&Address::new(tunnel.index, IpNet::V4(ipv4)))
        .map_err(|e| e.to_string())?;
    nl.set_link_up(tunnel.index, true)
        .map_err(|e| e.to_string())?;
    let default = IpNet::V4(Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).map_err(|e| e.to_string())?);
    nl.replace_route(&Route::unicast(default, None, Some(tunnel.index)))
        .map_err(|e| e.to_string())
}

/// The index of the WAN link `wan`.
pub(crate) fn wan_index(nl: &mut Netlink, wan: &str) -> Result<u32, String> {
    nl.link_by_name(wan)
        .map_err(|e| e.to_string())?
        .map(|l| l.index)
        .ok_or_else(|| format!("no interface {wan}"))
}

/// Puts `status` in `slot` and calls `changed` when it differs from what
/// is there; whether it did.
pub(crate) fn publish(slot: &StatusSlot, status: S46Status, changed: &mut impl FnMut()) -> bool {
    if slot.borrow().as_ref() == Some(&status) {
        return false;
    }
    *slot.borrow_mut() = Some(status);
    changed();
    true
}

/// Waits for a change of the shared state or for `deadline`.
pub(crate) async fn wait(
    states: &mut watch::Receiver<SharedState>,
    deadline: Option<Instant>,
) -> Wake {
    tokio::select! {
        r = states.changed() => if r.is_err() { Wake::Closed } else { Wake::State },
        () = sleep_until(deadline) => Wake::Timeout,
    }
}

/// Why [`wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The shared state changed.
    State,
    /// The deadline passed.
    Timeout,
    /// The state channel closed: the daemon is stopping.
    Closed,
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}
