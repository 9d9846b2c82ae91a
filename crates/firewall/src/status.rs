//! The firewall's status as the console shows it (`cpectl show firewall`).

use crate::counters::Counters;
use crate::engine::{ApplyKind, Engine, Forwarding};
use cpe_config::{HostSpec, InboundPolicy, PinholeProto};
use cpe_sys::netlink::nftables::CounterValue;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Instant;

/// Everything the console shows about the firewall.
#[derive(Debug, Serialize)]
pub struct FirewallStatus {
    /// Always true: this is the real firewall, not the stand-in.
    pub implemented: bool,
    /// "active", "installing" or "failed".
    pub state: &'static str,
    /// One line for the serial console, with the cause on failure.
    pub reason: String,
    /// IPv6/IPv4 forwarding as the firewall set it.
    pub forwarding: Forwarding,
    /// What the policy says.
    pub policy: PolicySummary,
    /// Installed set elements by set name.
    pub sets: BTreeMap<&'static str, Vec<String>>,
    /// Pinholes and the addresses they currently open.
    pub pinholes: Vec<PinholeStatus>,
    /// The last commit.
    pub last_apply: Option<ApplyStatus>,
    /// Applies and failures.
    pub applies: Counters,
    /// Drop counters as the kernel holds them, by class.
    pub drops: BTreeMap<String, DropCount>,
    /// Why the counters could not be read, if they could not.
    pub counters_error: Option<String>,
    /// Rules installed.
    pub rules: usize,
}

/// The policy in a few words.
#[derive(Debug, Serialize)]
pub struct PolicySummary {
    /// WAN interface.
    pub wan: String,
    /// LAN interfaces.
    pub lan: Vec<String>,
    /// Verdict for unsolicited inbound.
    pub wan_inbound: InboundPolicy,
    /// IPv4 masquerade.
    pub ipv4_nat: bool,
    /// TCP MSS clamp.
    pub mss_clamp: bool,
    /// Echo request rate from the WAN.
    pub echo_request_limit: String,
}

/// One pinhole.
#[derive(Debug, Serialize)]
pub struct PinholeStatus {
    /// Its name.
    pub name: String,
    /// "tcp" or "udp".
    pub proto: &'static str,
    /// Port.
    pub port: u16,
    /// The host as configured.
    pub host: String,
    /// Addresses it opens now (an interface identifier under each prefix).
    pub addresses: Vec<String>,
}

/// The last commit, for the console.
#[derive(Debug, Serialize)]
pub struct ApplyStatus {
    /// Full or set update.
    pub kind: ApplyKind,
    /// Seconds since it finished.
    pub seconds_ago: u64,
    /// Kernel time in microseconds (success only).
    pub duration_us: Option<u64>,
    /// "ok" or "refused".
    pub result: &'static str,
    /// The kernel's error text on failure.
    pub error: Option<String>,
}

/// One kernel counter.
#[derive(Debug, Serialize)]
pub struct DropCount {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

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
                .map(|s| (s.name, s.elements.iter().map(|e| e.to_string()).collect()))
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
                },
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
        implemented: true,
        state,
        reason,
        forwarding: engine.forwarding().clone(),
        policy: PolicySummary {
            wan: p.wan.clone(),
            lan: p.lan.iter().map(|l| l.interface.clone()).collect(),
            wan_inbound: p.firewall.wan_inbound,
            ipv4_nat: p.firewall.ipv4_nat,
            mss_clamp: p.firewall.mss_clamp,
            echo_request_limit: format!("{}/{}s", l.count, l.per.seconds()),
        },
        sets,
        pinholes,
        last_apply: last.map(|l| ApplyStatus {
            kind: l.kind,
            seconds_ago: now.saturating_duration_since(l.at).as_secs(),
            duration_us: l.duration.map(|d| d.as_micros() as u64),
            result: if l.error.is_some() { "refused" } else { "ok" },
            error: l.error.clone(),
        }),
        applies: engine.counters().clone(),
        drops,
        counters_error,
        rules: installed
            .map(|r| r.chains.iter().map(|c| c.rules.len()).sum())
            .unwrap_or(0),
    }
}
