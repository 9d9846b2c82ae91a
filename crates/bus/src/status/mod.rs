//! The status report behind `cpectl status` and `cpectl status --json`.
//!
//! This is a published interface: field engineers and ISP tooling parse the
//! JSON. Field names are documented in `docs/status-json.md`; add fields
//! freely, never rename or remove one. Lifetimes are seconds remaining at the
//! moment of the report; [`INFINITE_LFT`] means infinite, as on the wire.
//!
//! Each daemon's own status object is a struct in its own module here
//! ([`wan`], [`dhcp6c`], [`ra`], [`dhcp6s`], [`dhcp4s`], [`dns`], [`firewall`], [`ntp`]): the daemon
//! builds it, the supervisor passes it on as JSON, and the console
//! deserializes it with [`StatusReport::daemon`]. Every field has a
//! default, so a status from an older build or one cut short still shows
//! (a missing value as `-`) instead of failing the screen.

pub mod dhcp4s;
pub mod dhcp6c;
pub mod dhcp6s;
pub mod dns;
pub mod firewall;
pub mod json;
pub mod ntp;
pub mod ra;
pub mod wan;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::Ipv6Net;

use crate::state::{DelegatedPrefix, PrefixOrigin, SharedState, WanState};
use crate::time::MonoTime;

/// The value of a lifetime that never ends (DHCPv6's 0xffffffff).
pub const INFINITE_LFT: u64 = 0xffff_ffff;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StatusReport {
    /// Product version of the running supervisor.
    pub version: String,
    /// `system.hostname`.
    pub hostname: String,
    /// The config file in force.
    pub config_file: String,
    /// How many configs have been applied since start (1 = the first).
    pub config_generation: u64,
    /// Seconds since the supervisor started.
    pub uptime_s: u64,
    /// Every supervised daemon.
    pub daemons: Vec<DaemonReport>,
    /// The WAN side.
    pub wan: WanReport,
    /// One entry per LAN.
    pub lan: Vec<LanReport>,
    /// Upstream DNS servers learned from the WAN.
    pub upstream_dns: Vec<IpAddr>,
    /// Each daemon's own status object, by daemon name.
    pub daemon_status: BTreeMap<String, serde_json::Value>,
    /// What happened since the supervisor started (`cpectl log` has the
    /// events themselves).
    #[serde(default)]
    pub since_boot: crate::events::SinceBoot,
    /// The last reload was refused: what runs is not what the file says
    /// (until a reload is applied). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_refused: Option<ReloadRefused>,
}

/// A refused reload, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ReloadRefused {
    /// The first error, as `cpectl reload` printed it.
    pub error: String,
    /// How many errors there were.
    pub errors: usize,
    /// Seconds since.
    pub age_s: u64,
}

impl StatusReport {
    /// Daemon `daemon`'s own status as its typed struct: `None` when it has
    /// not reported, or reported something other than an object. Missing or
    /// unreadable fields take their defaults ([`json`]).
    pub fn daemon<T: json::FromJson>(&self, daemon: crate::Daemon) -> Option<T> {
        json::read(self.daemon_status.get(daemon.name())?)
    }
}

/// What any daemon's status may say about itself, whatever its shape: a
/// daemon that runs but does nothing says `"implemented": false`, with
/// the reason in `reason` or `note`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Common {
    /// `false`: the process runs but does not do its job.
    pub implemented: Option<bool>,
    /// Why, in words.
    pub reason: Option<String>,
    /// Why, in words (older builds).
    pub note: Option<String>,
}

crate::from_json! { Common { implemented, reason, note } }

/// One supervised daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DaemonReport {
    /// Daemon name (`wan`, `dhcp6c`, `ra`, ...).
    pub name: String,
    /// Process id while running.
    pub pid: Option<u32>,
    /// `running`, `backoff` (waiting to be restarted) or `stopped`.
    pub state: String,
    /// How many times it was restarted after dying.
    pub restarts: u32,
    /// Seconds since the current instance started.
    pub uptime_s: Option<u64>,
    /// How the previous instance ended ("signal 9", "exit 1").
    pub last_exit: Option<String>,
}

/// The WAN in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WanReport {
    /// ipoe | pppoe.
    pub mode: String,
    /// WAN interface.
    pub interface: String,
    /// unknown | down | connecting | up.
    pub state: WanState,
    /// Why, in words.
    pub reason: String,
    /// Carrier on the link.
    pub carrier: bool,
    /// Addresses with prefix length, RFC 5952 text.
    pub addresses: Vec<String>,
    /// IPv6 default router.
    pub default_router_v6: Option<IpAddr>,
    /// IPv4 gateway.
    pub default_router_v4: Option<IpAddr>,
    /// DNS servers learned on the WAN (all sources).
    pub dns_servers: Vec<IpAddr>,
    /// M flag of the ISP's last Router Advertisement.
    pub ra_managed: bool,
    /// O flag of the ISP's last Router Advertisement.
    pub ra_other_config: bool,
    /// Router lifetime of the ISP's last RA, seconds (0: not a default router).
    pub ra_router_lifetime: u32,
    /// Link MTU in use on the WAN.
    pub mtu: u32,
    /// IPv6 MTU in effect on the WAN (the ISP RA's MTU option applied);
    /// 0 = not reported.
    #[serde(default)]
    pub ipv6_mtu: u32,
    /// `wan.closed_prefixes` in force: a delegation inside one of them
    /// reaches only the carrier's closed network.
    #[serde(default)]
    pub closed_prefixes: Vec<Ipv6Net>,
    /// Current delegations with remaining lifetimes.
    pub delegated_prefixes: Vec<PrefixReport>,
    /// DHCPv6 client state.
    pub dhcpv6: Dhcp6Report,
}

/// A prefix with remaining lifetimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixReport {
    /// The prefix.
    pub prefix: Ipv6Net,
    /// Seconds of preferred lifetime left.
    pub preferred_lft: u64,
    /// Seconds of valid lifetime left.
    pub valid_lft: u64,
}

/// DHCPv6 client in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Dhcp6Report {
    /// State machine state.
    pub state: String,
    /// Server DUID, hex.
    pub server_duid: Option<String>,
    /// Seconds until Renew.
    pub t1_s: Option<u64>,
    /// Seconds until Rebind.
    pub t2_s: Option<u64>,
    /// IA_NA addresses.
    pub addresses: Vec<IpAddr>,
    /// Prefixes being phased out after a renumbering.
    pub previous_prefixes: Vec<PrefixReport>,
}

/// A LAN in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LanReport {
    /// LAN interface.
    pub interface: String,
    /// Its subnet id.
    pub subnet_id: u64,
    /// Its /64s.
    pub prefixes: Vec<LanPrefixReport>,
    /// Why it is not numbered as configured (a delegation too small for
    /// its `subnet_id`, RFC 7084 WPD-3), one line each.
    #[serde(default)]
    pub problems: Vec<String>,
}

/// A LAN /64 in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanPrefixReport {
    /// The /64.
    pub prefix: Ipv6Net,
    /// The router's address in it.
    pub router_address: IpAddr,
    /// Seconds of preferred lifetime left.
    pub preferred_lft: u64,
    /// Seconds of valid lifetime left.
    pub valid_lft: u64,
    /// Being phased out.
    pub deprecated: bool,
    /// delegated | ula | static.
    pub origin: PrefixOrigin,
}

/// Counters kept by static key (no allocation per count in an engine) as
/// published: keyed by owned strings, so a status reads back from JSON.
pub fn named_counts(counts: &BTreeMap<&'static str, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Seconds left until `until`, with the infinite deadline kept infinite.
pub fn lifetime_left(until: MonoTime, now: MonoTime) -> u64 {
    if until == crate::state::INFINITE {
        INFINITE_LFT
    } else {
        until.secs_after(now).min(INFINITE_LFT - 1)
    }
}

fn prefix_report(p: &DelegatedPrefix, now: MonoTime) -> PrefixReport {
    PrefixReport {
        prefix: p.prefix,
        preferred_lft: lifetime_left(p.preferred_until, now),
        valid_lft: lifetime_left(p.valid_until, now),
    }
}

/// Builds the WAN and LAN parts of a report from the shared state.
pub fn network_reports(state: &SharedState, now: MonoTime) -> (WanReport, Vec<LanReport>) {
    let w = &state.wan;
    let d = &state.dhcp6;
    let wan = WanReport {
        mode: w.mode.clone(),
        interface: w.interface.clone(),
        state: w.state,
        reason: w.reason.clone(),
        carrier: w.carrier,
        addresses: w.addresses.iter().map(|a| a.to_string()).collect(),
        default_router_v6: w.default_router_v6.map(IpAddr::V6),
        default_router_v4: w.default_router_v4.map(IpAddr::V4),
        // Already merged (DHCPv6 first, de-duplicated, unmapped) by the
        // supervisor when it derived the snapshot.
        dns_servers: state.upstream_dns.clone(),
        ra_managed: w.ra_managed,
        ra_other_config: w.ra_other_config,
        ra_router_lifetime: w.ra_router_lifetime,
        mtu: w.mtu,
        ipv6_mtu: w.ipv6_mtu,
        closed_prefixes: Vec::new(),
        delegated_prefixes: d
            .delegated_prefixes
            .iter()
            .map(|p| prefix_report(p, now))
            .collect(),
        dhcpv6: Dhcp6Report {
            state: d.state.clone(),
            server_duid: d.server_duid.clone(),
            t1_s: d.t1.map(|t| lifetime_left(t, now)),
            t2_s: d.t2.map(|t| lifetime_left(t, now)),
            addresses: d.addresses.iter().map(|a| IpAddr::V6(a.address)).collect(),
            previous_prefixes: d
                .previous_prefixes
                .iter()
                .map(|p| prefix_report(p, now))
                .collect(),
        },
    };
    let lan = state
        .lan
        .iter()
        .map(|l| LanReport {
            interface: l.interface.clone(),
            subnet_id: l.subnet_id,
            prefixes: l
                .prefixes
                .iter()
                .map(|p| LanPrefixReport {
                    prefix: p.prefix,
                    router_address: IpAddr::V6(p.router_address),
                    preferred_lft: lifetime_left(p.preferred_until, now),
                    valid_lft: lifetime_left(p.valid_until, now),
                    deprecated: p.deprecated,
                    origin: p.origin,
                })
                .collect(),
            problems: Vec::new(),
        })
        .collect();
    (wan, lan)
}
