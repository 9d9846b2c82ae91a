//! The firewall's status (`cpectl show firewall`, the firewall line of
//! `cpectl status`).

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything the console shows about the firewall.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirewallStatus {
    /// True for the real firewall (`false` is how a daemon without its
    /// engine says so; the console then shows it "not active").
    pub implemented: Option<bool>,
    /// "active", "installing" or "failed".
    pub state: String,
    /// One line for the serial console, with the cause on failure.
    pub reason: String,
    /// IPv6/IPv4 forwarding as the firewall set it.
    pub forwarding: Option<Forwarding>,
    /// What the policy says.
    pub policy: PolicySummary,
    /// Installed set elements by set name.
    pub sets: BTreeMap<String, Vec<String>>,
    /// Pinholes and the addresses they currently open.
    pub pinholes: Vec<PinholeStatus>,
    /// The last commit.
    pub last_apply: Option<ApplyStatus>,
    /// Applies and failures.
    pub applies: FirewallCounters,
    /// Drop counters as the kernel holds them, by class.
    pub drops: BTreeMap<String, DropCount>,
    /// Why the counters could not be read, if they could not.
    pub counters_error: Option<String>,
    /// Rules installed.
    pub rules: u64,
}

/// Where forwarding stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Forwarding {
    /// Off: no ruleset committed yet.
    Off,
    /// Asked for, not yet confirmed.
    Requested,
    /// On.
    On,
    /// The sysctl write failed (text says why).
    Failed(String),
}

/// How much of the ruleset a commit replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyKind {
    /// The whole table, atomically.
    Full,
    /// Elements of the named sets only (a renumbering).
    Sets,
}

/// Applies and failures since the daemon started; the engine counts into
/// this struct.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirewallCounters {
    /// Full table replacements committed.
    pub full_applies: u64,
    /// Set-only updates committed (renumberings).
    pub set_updates: u64,
    /// Commits the kernel refused.
    pub apply_failures: u64,
    /// Failed attempts to switch forwarding on.
    pub forwarding_failures: u64,
}

/// The policy in a few words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    /// WAN interface.
    pub wan: String,
    /// LAN interfaces.
    pub lan: Vec<String>,
    /// Verdict for unsolicited inbound: `drop`, `reject` or `accept`.
    pub wan_inbound: String,
    /// IPv4 masquerade.
    pub ipv4_nat: Option<bool>,
    /// TCP MSS clamp.
    pub mss_clamp: Option<bool>,
    /// Echo request rate from the WAN.
    pub echo_request_limit: String,
}

/// One pinhole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PinholeStatus {
    /// Its name.
    pub name: String,
    /// "tcp" or "udp".
    pub proto: String,
    /// Port.
    pub port: u16,
    /// The host as configured.
    pub host: String,
    /// Addresses it opens now (an interface identifier under each prefix).
    pub addresses: Vec<String>,
}

/// The last commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyStatus {
    /// Full or set update.
    pub kind: Option<ApplyKind>,
    /// Seconds since it finished.
    pub seconds_ago: u64,
    /// Kernel time in microseconds (success only).
    pub duration_us: Option<u64>,
    /// "ok" or "refused".
    pub result: String,
    /// The kernel's error text on failure.
    pub error: Option<String>,
}

/// One kernel counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DropCount {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

crate::from_json! {
    FirewallStatus { implemented, state, reason, forwarding, policy, sets, pinholes, last_apply, applies, drops, counters_error, rules }
    FirewallCounters { full_applies, set_updates, apply_failures, forwarding_failures }
    PolicySummary { wan, lan, wan_inbound, ipv4_nat, mss_clamp, echo_request_limit }
    PinholeStatus { name, proto, port, host, addresses }
    ApplyStatus { kind, seconds_ago, duration_us, result, error }
    DropCount { packets, bytes }
}

crate::from_json_enum! { ApplyKind { Full = "full", Sets = "sets" } }

impl crate::status::json::FromJson for Forwarding {
    /// Unit variants are strings; `Failed` is `{"failed": "why"}` (serde's
    /// external tagging, as the daemon writes it).
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        if let Some(why) = v.get("failed") {
            return Some(Forwarding::Failed(why.as_str()?.to_owned()));
        }
        match v.as_str()? {
            "off" => Some(Forwarding::Off),
            "requested" => Some(Forwarding::Requested),
            "on" => Some(Forwarding::On),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::json::read;

    #[test]
    fn enums_read_back_what_serde_writes() {
        for f in [
            Forwarding::Off,
            Forwarding::Requested,
            Forwarding::On,
            Forwarding::Failed("EPERM".into()),
        ] {
            let v = serde_json::to_value(&f).unwrap();
            assert_eq!(read::<Forwarding>(&v), Some(f));
        }
        for k in [ApplyKind::Full, ApplyKind::Sets] {
            let v = serde_json::to_value(k).unwrap();
            assert_eq!(read::<ApplyKind>(&v), Some(k));
        }
    }
}
