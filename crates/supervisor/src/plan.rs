//! Which daemons a config needs, and which part of the config each one reads.
//!
//! A reload must not disturb a daemon whose settings did not change (the WAN
//! session must survive an edit of the DNS cache size), so each daemon is
//! given a *slice*: the canonical JSON of exactly the config it reads. Two
//! configs are compared slice by slice.

use cpe_config::Config;
use serde_json::{Value, json};

/// One daemon the config asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSpec {
    /// Name of the daemon (also its `cpe daemon <name>` argument).
    pub name: &'static str,
    /// Canonical JSON of the config this daemon depends on.
    pub slice: String,
}

/// Every daemon the product knows, in start order: the WAN first so that
/// facts start flowing early, the firewall before the LAN services.
pub const ALL_DAEMONS: &[&str] = &[
    "wan", "dhcp6c", "firewall", "ra", "dhcp6s", "dhcp4s", "dns", "ntp",
];

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The daemons `config` needs, each with its config slice.
pub fn plan(config: &Config) -> Vec<DaemonSpec> {
    let state_dir = to_value(&config.system.state_dir);
    let lan_ifaces: Vec<&str> = config.lan.iter().map(|l| l.interface.as_str()).collect();
    let mut wan = to_value(&config.wan);
    if let Some(obj) = wan.as_object_mut() {
        obj.remove("dhcpv6");
    }
    let mut out = Vec::new();
    for name in ALL_DAEMONS {
        let slice = match *name {
            "wan" => Some(json!({ "wan": wan, "state_dir": state_dir })),
            "dhcp6c" if config.wan.dhcpv6.enabled => Some(json!({
                "interface": config.wan.interface,
                "mode": to_value(&config.wan.mode),
                "dhcpv6": to_value(&config.wan.dhcpv6),
                "state_dir": state_dir,
            })),
            // Always planned: the firewall owns forwarding, which it turns
            // on after its first commit (an empty table when disabled).
            "firewall" => Some(json!({
                "firewall": to_value(&config.firewall),
                "wan": config.wan.interface,
                "mode": to_value(&config.wan.mode),
                "lan": lan_ifaces,
            })),
            "ra" if config.lan.iter().any(|l| l.ra.enabled) => Some(json!({
                "lan": config.lan.iter().map(|l| json!({
                    "interface": l.interface,
                    "subnet_id": l.subnet_id,
                    "ula": l.ula,
                    "ra": to_value(&l.ra),
                    "dhcpv6": to_value(&l.dhcpv6),
                })).collect::<Vec<_>>(),
                "wan_mtu": config.wan.mtu,
                "mode": to_value(&config.wan.mode),
                "state_dir": state_dir,
            })),
            "dhcp6s"
                if config
                    .lan
                    .iter()
                    .any(|l| l.dhcpv6.mode != cpe_config::Dhcpv6Mode::Off) =>
            {
                Some(json!({
                    "lan": config.lan.iter().map(|l| json!({
                        "interface": l.interface,
                        "dhcpv6": to_value(&l.dhcpv6),
                    })).collect::<Vec<_>>(),
                    "state_dir": state_dir,
                }))
            }
            "dhcp4s"
                if config
                    .lan
                    .iter()
                    .any(|l| l.ipv4.as_ref().is_some_and(|v4| v4.dhcp)) =>
            {
                Some(json!({
                    "lan": config.lan.iter().map(|l| json!({
                        "interface": l.interface,
                        "ipv4": to_value(&l.ipv4),
                    })).collect::<Vec<_>>(),
                    "local_domain": config.dns.local_domain,
                    "state_dir": state_dir,
                }))
            }
            "ntp" if config.ntp.enabled => Some(json!({ "ntp": to_value(&config.ntp) })),
            "dns" if config.dns.enabled => Some(json!({
                "dns": to_value(&config.dns),
                "lan": lan_ifaces,
                "hostname": config.system.hostname,
            })),
            _ => None,
        };
        if let Some(slice) = slice {
            out.push(DaemonSpec {
                name,
                slice: slice.to_string(),
            });
        }
    }
    out
}

/// What a reload has to do to go from one plan to another.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanChange {
    /// Daemons the new config adds.
    pub start: Vec<&'static str>,
    /// Daemons the new config no longer has.
    pub stop: Vec<&'static str>,
    /// Daemons whose slice changed.
    pub restart: Vec<&'static str>,
}

impl PlanChange {
    /// Every daemon touched, for the reload report.
    pub fn touched(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .start
            .iter()
            .chain(&self.stop)
            .chain(&self.restart)
            .map(|s| s.to_string())
            .collect();
        v.sort();
        v
    }
}

/// Compares two plans.
pub fn diff(old: &[DaemonSpec], new: &[DaemonSpec]) -> PlanChange {
    let mut change = PlanChange::default();
    for n in new {
        match old.iter().find(|o| o.name == n.name) {
            None => change.start.push(n.name),
            Some(o) if o.slice != n.slice => change.restart.push(n.name),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            change.stop.push(o.name);
        }
    }
    change
}
