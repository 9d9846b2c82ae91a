//! The firewall's status as the console shows it (`cpectl show firewall`).

use crate::engine::Engine;
pub use cpe_bus::status::firewall::{
    ApplyStatus, DropCount, FirewallStatus, PinholeStatus, PolicySummary,
};
use cpe_config::{HostSpec, InboundPolicy, PinholeProto};
use cpe_sys::netlink::nftables::CounterValue;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Instant;

/// Builds the status from the engine and the counters read from the kernel.
pub fn status(
    engine: &Engine,
    kernel: Result<&BTreeMap<String, CounterValue>, &str>,
    now: Instant,
) -> FirewallStatus {
    let p = engine.policy();
    let installed = engine.installed();
    let last = engine.last_apply();
    let (state, reason) = match (installed, last) {
        (_, Some(l)) if l.error.is_some() => (
            "failed",
            format!(
                "ruleset refused by the kernel: {}{}",
                l.error.as_deref().unwrap_or(""),
                if installed.is_some() {
                    "; the previous ruleset stays in force"
                } else {
                    "; forwarding stays off"
                }
            ),
        ),
        (Some(_), _) if !p.firewall.enabled => (
            "active",
            "disabled by config (firewall.enabled = false): forwarding without filtering"
                .to_string(),
        ),
        (Some(_), _) => ("active", "ruleset installed".to_string()),
        (None, _) => (
            "installing",
            "no ruleset committed yet; forwarding off".to_string(),
        ),
    };
    let sets = installed
        .map(|r| {
            r.sets
                .iter()
                .map(|s| {
                    (
                        s.name.to_string(),
                        s.elements.iter().map(|e| e.to_string()).collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let current: Vec<ipnet::Ipv6Net> = installed
        .and_then(|r| r.sets.iter().find(|s| s.name == crate::compile::SET_LAN6))
        .map(|s| {
            s.elements
                .iter()
                .filter_map(|e| match e {
                    ipnet::IpNet::V6(n) => Some(*n),
                    ipnet::IpNet::V4(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let pinholes = p
        .firewall
        .pinhole
        .iter()
        .map(|ph| {
            let (host, addresses) = match ph.host {
                HostSpec::Address(a) => (a.to_string(), vec![a.to_string()]),
                HostSpec::InterfaceId(iid) => (
                    Ipv6Addr::from(u128::from(iid)).to_string(),
                    current
                        .iter()
                        .filter(|n| n.prefix_len() <= 64)
                        .map(|n| {
                            let hi = u128::from(n.network()) & !u128::from(u64::MAX);
                            Ipv6Addr::from(hi | u128::from(iid)).to_string()
                        })
                        .collect(),
                ),
            };
            PinholeStatus {
                name: ph.name.clone(),
                proto: match ph.proto {
                    PinholeProto::Tcp => "tcp",
                    PinholeProto::Udp => "udp",
                }
                .into(),
                port: ph.port,
                host,
                addresses,
            }
        })
        .collect();
    let (drops, counters_error) = match kernel {
        Ok(map) => (
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        DropCount {
                            packets: v.packets,
                            bytes: v.bytes,
                        },
                    )
                })
                .collect(),
            None,
        ),
        Err(e) => (BTreeMap::new(), Some(e.to_string())),
    };
    let l = p.firewall.echo_request_limit;
    FirewallStatus {
        implemented: Some(true),
        state: state.into(),
        reason,
        forwarding: Some(engine.forwarding().clone()),
        policy: PolicySummary {
            wan: p.wan.clone(),
            lan: p.lan.iter().map(|l| l.interface.clone()).collect(),
            wan_inbound: match p.firewall.wan_inbound {
                InboundPolicy::Drop => "drop",
                InboundPolicy::Reject => "reject",
                InboundPolicy::Accept => "accept",
            }
            .into(),
            ipv4_nat: Some(p.firewall.ipv4_nat),
            mss_clamp: Some(p.firewall.mss_clamp),
            echo_request_limit: format!("{}/{}s", l.count, l.per.seconds()),
        },
        sets,
        pinholes,
        last_apply: last.map(|l| ApplyStatus {
            kind: Some(l.kind),
            seconds_ago: now.saturating_duration_since(l.at).as_secs(),
            duration_us: l.duration.map(|d| d.as_micros() as u64),
            result: if l.error.is_some() { "refused" } else { "ok" }.into(),
            error: l.error.clone(),
        }),
        applies: engine.counters().clone(),
        drops,
        counters_error,
        rules: installed
            .map(|r| r.chains.iter().map(|c| c.rules.len() as u64).sum())
            .unwrap_or(0),
    }
}
