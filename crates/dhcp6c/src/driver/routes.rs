//! Unreachable routes for delegated prefixes (RFC 7084 WPD-5): traffic to
//! parts of the delegation that no LAN uses is answered with ICMPv6
//! unreachable instead of bouncing between us and the ISP. The LAN /64s are
//! more specific, so they still win.
//!
//! STOP-GAP: this runs the `ip` command. It is to be replaced by
//! `cpe_sys::netlink` (`Netlink::replace_route(&Route::unreachable(..))` and
//! `del_route`) as soon as that module is in the tree; the call sites do not
//! change.

use ipnet::Ipv6Net;
use tokio::process::Command;

/// Installs (or refreshes) the unreachable route for `prefix`.
pub async fn install(prefix: Ipv6Net) {
    run(&[
        "-6",
        "route",
        "replace",
        "unreachable",
        &prefix.to_string(),
        "proto",
        "static",
    ])
    .await;
}

/// Removes the unreachable route for `prefix` (a no-op if it is gone).
pub async fn remove(prefix: Ipv6Net) {
    run(&[
        "-6",
        "route",
        "del",
        "unreachable",
        &prefix.to_string(),
        "proto",
        "static",
    ])
    .await;
}

async fn run(args: &[&str]) {
    match Command::new("ip").args(args).output().await {
        Ok(out) if out.status.success() => log::debug!("dhcp6c: ip {}", args.join(" ")),
        Ok(out) => log::warn!(
            "dhcp6c: ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => log::warn!("dhcp6c: cannot run ip: {e}"),
    }
}
