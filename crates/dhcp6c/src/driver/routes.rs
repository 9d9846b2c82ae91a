//! Unreachable routes for delegated prefixes (RFC 7084 WPD-5): traffic to
//! parts of the delegation that no LAN uses is answered with ICMPv6
//! unreachable instead of bouncing between us and the ISP. The LAN /64s are
//! more specific, so they still win.

use cpe_sys::netlink::{Netlink, Route, kernel_errno};
use ipnet::{IpNet, Ipv6Net};

/// Installs (or refreshes) the unreachable route for `prefix`. Idempotent,
/// so a restarted client simply re-applies what it restored.
pub fn install(prefix: Ipv6Net) {
    let r = Route::unreachable(IpNet::V6(prefix));
    match Netlink::open().and_then(|mut nl| nl.replace_route(&r)) {
        Ok(()) => log::debug!("unreachable route for {prefix} installed"),
        Err(e) => log::warn!("{e}"),
    }
}

/// Removes the unreachable route for `prefix`; one already gone is fine.
pub fn remove(prefix: Ipv6Net) {
    let r = Route::unreachable(IpNet::V6(prefix));
    match Netlink::open().and_then(|mut nl| nl.del_route(&r)) {
        Ok(()) => log::debug!("unreachable route for {prefix} removed"),
        Err(e) if kernel_errno(&e) == Some(libc::ESRCH) => {}
        Err(e) => log::warn!("{e}"),
    }
}
