//! The WAN daemon's own status object (`cpectl show wan`'s daemon part):
//! what the facts do not carry, for an engineer chasing a problem.

use super::kernel::WanLink;
use crate::counters::Counters;
use crate::engine::Tracker;
use cpe_bus::status::wan::{
    IpoeCounters, IpoeStatus, Ipv4Status, LastRa, LinkStatus, RdnssStatus, WanStatus,
};
use std::time::Instant;

/// Renders the status object at `now`.
pub fn render(t: &Tracker, wan: &WanLink, c: &Counters, now: Instant) -> WanStatus {
    let facts = t.facts();
    let v = t.view();
    let last_ra = v.last_ra.as_ref().map(|(ra, at)| LastRa {
        from: ra.source.to_string(),
        age_s: now.saturating_duration_since(*at).as_secs(),
        managed: ra.managed,
        other_config: ra.other_config,
        router_lifetime: ra.router_lifetime,
        mtu: ra.mtu,
        interval_s: v.ra_interval.map(|d| d.as_secs()),
    });
    let rdnss = v
        .rdnss
        .iter()
        .map(|(server, until)| RdnssStatus {
            server: server.to_string(),
            lifetime_s: until.saturating_duration_since(now).as_secs(),
        })
        .collect();
    WanStatus {
        mode: facts.mode.clone(),
        interface: facts.interface.clone(),
        state: Some(facts.state),
        reason: Some(facts.reason.clone()),
        ipoe: Some(IpoeStatus {
            link: v.link.map(|l| LinkStatus {
                index: l.index,
                admin_up: l.admin_up,
                carrier: l.carrier,
                mtu: l.mtu,
                mac: wan.mac().map(mac_text),
            }),
            last_ra,
            rdnss,
            ipv4: v.ipv4.as_ref().map(|l| Ipv4Status {
                address: l.address.to_string(),
                router: l.router.map(|r| r.to_string()),
                dns: l.dns.iter().map(|d| d.to_string()).collect(),
            }),
            counters: IpoeCounters {
                ra_accepted: c.ra_accepted,
                ra_rejected: c.ra_rejected,
                rs_sent: c.rs_sent,
                netlink_malformed: c.netlink_malformed,
            },
            dhcpv4: None,
        }),
        pppoe: None,
        ipv4_over_ipv6: None,
    }
}

fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
