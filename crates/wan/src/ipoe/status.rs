//! The WAN daemon's own status object (`cpectl show wan`'s daemon part):
//! what the facts do not carry, for an engineer chasing a problem.

use super::kernel::WanLink;
use crate::counters::Counters;
use crate::engine::Tracker;
use serde_json::{Value, json};
use std::time::Instant;

/// Renders the status object at `now`.
pub fn render(t: &Tracker, wan: &WanLink, c: &Counters, now: Instant) -> Value {
    let facts = t.facts();
    let v = t.view();
    let last_ra = v.last_ra.as_ref().map(|(ra, at)| {
        json!({
            "from": ra.source.to_string(),
            "age_s": now.saturating_duration_since(*at).as_secs(),
            "managed": ra.managed,
            "other_config": ra.other_config,
            "router_lifetime": ra.router_lifetime,
            "mtu": ra.mtu,
        })
    });
    let rdnss: Vec<Value> = v
        .rdnss
        .iter()
        .map(|(server, until)| {
            json!({
                "server": server.to_string(),
                "lifetime_s": until.saturating_duration_since(now).as_secs(),
            })
        })
        .collect();
    json!({
        "mode": facts.mode,
        "interface": facts.interface,
        "state": facts.state,
        "reason": facts.reason,
        "link": v.link.map(|l| json!({
            "index": l.index,
            "admin_up": l.admin_up,
            "carrier": l.carrier,
            "mtu": l.mtu,
            "mac": wan.mac().map(mac_text),
        })),
        "last_ra": last_ra,
        "rdnss": rdnss,
        "ipv4": v.ipv4.as_ref().map(|l| json!({
            "address": l.address.to_string(),
            "router": l.router.map(|r| r.to_string()),
            "dns": l.dns.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        })),
        "counters": {
            "ra_accepted": c.ra_accepted,
            "ra_rejected": c.ra_rejected,
            "rs_sent": c.rs_sent,
            "netlink_malformed": c.netlink_malformed,
        },
    })
}

fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
