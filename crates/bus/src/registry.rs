//! Every daemon the product has, as one type.
//!
//! What the supervisor, the runner and the console know about a daemon
//! (its name on the command line and the bus, the signal that restarts it,
//! the facts it may publish, the part of the config it reads) lives here,
//! once. A daemon added to [`Daemon`] cannot be forgotten by one of them:
//! every `match` on it stops compiling until the new one is handled.

use cpe_config::Config;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::projection::{ConfigPath, config_path};
use crate::state::Fact;

/// A daemon of the router; [`Daemon::ALL`] lists them in start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Daemon {
    /// WAN link, the ISP's RAs, DHCPv4 or PPPoE discovery.
    Wan,
    /// DHCPv6 client: prefix delegation, IA_NA, stateless information.
    Dhcp6c,
    /// nftables ruleset and forwarding.
    Firewall,
    /// Router Advertisements on each LAN.
    Ra,
    /// Stateless DHCPv6 server on each LAN.
    Dhcp6s,
    /// DHCPv4 server on each LAN.
    Dhcp4s,
    /// DNS forwarder.
    Dns,
    /// NTP client: the router's clock from the ISP's time servers.
    Ntp,
}

/// Which kind of [`Fact`] a daemon may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    /// [`Fact::Wan`].
    Wan,
    /// [`Fact::Dhcp6`].
    Dhcp6,
    /// [`Fact::Dhcp4Names`].
    Dhcp4Names,
}

impl Fact {
    /// The kind of this fact.
    pub fn kind(&self) -> FactKind {
        match self {
            Fact::Wan(_) => FactKind::Wan,
            Fact::Dhcp6(_) => FactKind::Dhcp6,
            Fact::Dhcp4Names(_) => FactKind::Dhcp4Names,
        }
    }
}

impl Daemon {
    /// Every daemon in start order: the WAN first so that facts start
    /// flowing early, the firewall before the LAN services.
    pub const ALL: [Daemon; 8] = [
        Daemon::Wan,
        Daemon::Dhcp6c,
        Daemon::Firewall,
        Daemon::Ra,
        Daemon::Dhcp6s,
        Daemon::Dhcp4s,
        Daemon::Dns,
        Daemon::Ntp,
    ];

    /// The name in `cpe daemon NAME`, the bus hello, logs and status.
    pub const fn name(self) -> &'static str {
        match self {
            Daemon::Wan => "wan",
            Daemon::Dhcp6c => "dhcp6c",
            Daemon::Firewall => "firewall",
            Daemon::Ra => "ra",
            Daemon::Dhcp6s => "dhcp6s",
            Daemon::Dhcp4s => "dhcp4s",
            Daemon::Dns => "dns",
            Daemon::Ntp => "ntp",
        }
    }

    /// The daemon called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Daemon> {
        Daemon::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Every name, for usage texts: `wan, dhcp6c, ...`.
    pub fn names() -> String {
        Daemon::ALL.map(Daemon::name).join(", ")
    }

    /// The signal that stops a daemon the supervisor restarts at once (its
    /// config slice changed). SIGTERM is a goodbye: the RA sender then tells
    /// every LAN host that it is no longer a router (router lifetime 0),
    /// which would cut the household off for a moment during a mere reload.
    /// Every daemon runs on `cpe_daemon::runner`, which treats SIGUSR1 as
    /// "stop quietly, I am coming back" (docs/architecture.md, signal
    /// policy), so today the answer is the same for all of them.
    pub const fn restart_signal(self) -> i32 {
        libc::SIGUSR1
    }

    /// The kind of fact this daemon owns, if any: the supervisor merges a
    /// fact only from its owner, so a confused LAN daemon cannot overwrite
    /// what the WAN learned.
    pub const fn owned_fact(self) -> Option<FactKind> {
        match self {
            Daemon::Wan => Some(FactKind::Wan),
            Daemon::Dhcp6c => Some(FactKind::Dhcp6),
            Daemon::Dhcp4s => Some(FactKind::Dhcp4Names),
            Daemon::Firewall | Daemon::Ra | Daemon::Dhcp6s | Daemon::Dns | Daemon::Ntp => None,
        }
    }

    /// Whether this daemon may publish `fact`.
    pub fn owns(self, fact: &Fact) -> bool {
        self.owned_fact() == Some(fact.kind())
    }

    /// The config paths this daemon reads: the one declaration behind both
    /// [`Daemon::project`] (what the daemon receives) and
    /// [`Daemon::config_slice`] (what a reload compares). A field a daemon
    /// reads must be here, or the daemon sees its default.
    ///
    /// Left out on purpose: the WAN reads neither `wan.dhcpv6` (dhcp6c's)
    /// nor `wan.closed_prefixes` (the supervisor's and the console's alone),
    /// so a new list restarts no daemon. `system.log_level` is applied by
    /// the runner from the whole config before the projection.
    pub fn reads(self) -> &'static [ConfigPath] {
        const STATE_DIR: ConfigPath = config_path!(system.state_dir);
        match self {
            Daemon::Wan => &[
                config_path!(wan.interface),
                config_path!(wan.mode),
                config_path!(wan.mtu),
                config_path!(wan.ipv4),
                config_path!(wan.pppoe),
                // The softwires run in the WAN daemon.
                config_path!(wan.ipv4_over_ipv6),
                STATE_DIR,
            ],
            Daemon::Dhcp6c => &[
                config_path!(wan.interface),
                config_path!(wan.mode),
                config_path!(wan.dhcpv6),
                // Its Option Request Option follows this mode (64, 94).
                config_path!(wan.ipv4_over_ipv6.mode),
                STATE_DIR,
            ],
            Daemon::Firewall => &[
                config_path!(firewall),
                config_path!(wan.interface),
                config_path!(wan.mode),
                // The softwire is WAN side; MAP-E's SNAT takes the rule from
                // here when the config writes one.
                config_path!(wan.ipv4_over_ipv6),
                config_path!(lan[].interface),
                // The NAT44 source subnet of each LAN.
                config_path!(lan[].ipv4),
            ],
            Daemon::Ra => &[
                config_path!(lan[].interface),
                config_path!(lan[].ra),
                // The first RA waits for a delegation the client asks for.
                config_path!(wan.dhcpv6.enabled),
                config_path!(wan.dhcpv6.request_prefix),
                STATE_DIR,
            ],
            Daemon::Dhcp6s => &[
                config_path!(lan[].interface),
                config_path!(lan[].dhcpv6),
                STATE_DIR,
            ],
            Daemon::Dhcp4s => &[
                config_path!(lan[].interface),
                config_path!(lan[].ipv4),
                config_path!(dns.local_domain),
                STATE_DIR,
            ],
            Daemon::Dns => &[
                config_path!(dns),
                config_path!(lan[].interface),
                // The router's own IPv4 address per LAN: `self` and PTR.
                config_path!(lan[].ipv4),
                // `listen = ["wan"]` and the upstreams learned on the WAN.
                config_path!(wan.interface),
                config_path!(system.hostname),
            ],
            Daemon::Ntp => &[config_path!(ntp)],
        }
    }

    /// The config this daemon runs with: `config` projected on
    /// [`Daemon::reads`], every other field at its default.
    pub fn project(self, config: &Config) -> Config {
        crate::projection::project(self.reads(), config)
    }

    /// Whether `config` needs this daemon at all; decided on the daemon's
    /// projection, so only from fields it reads.
    fn needed(self, view: &Config) -> bool {
        match self {
            // Always needed: the firewall owns forwarding, which it turns
            // on after its first commit (an empty table when disabled).
            Daemon::Wan | Daemon::Firewall => true,
            Daemon::Dhcp6c => view.wan.dhcpv6.enabled,
            Daemon::Ra => view.lan.iter().any(|l| l.ra.enabled),
            Daemon::Dhcp6s => view
                .lan
                .iter()
                .any(|l| l.dhcpv6.mode != cpe_config::Dhcpv6Mode::Off),
            Daemon::Dhcp4s => view
                .lan
                .iter()
                .any(|l| l.ipv4.as_ref().is_some_and(|v4| v4.dhcp)),
            Daemon::Dns => view.dns.enabled,
            Daemon::Ntp => view.ntp.enabled,
        }
    }

    /// The part of `config` this daemon reads, as canonical JSON (its
    /// projection, [`Daemon::project`]), or `None` when `config` does not
    /// need the daemon at all.
    ///
    /// A reload must not disturb a daemon whose settings did not change (the
    /// WAN session must survive an edit of the DNS cache size), so the
    /// supervisor compares two configs slice by slice; the slice being the
    /// projection, it holds everything the daemon reads.
    pub fn config_slice(self, config: &Config) -> Option<Value> {
        let view = self.project(config);
        if !self.needed(&view) {
            return None;
        }
        let mut slice = to_value(&view);
        // The PPPoE password is redacted when serialized, so a new one
        // would not change the slice and the session would keep the old
        // secret after a reload. Its fingerprint does change; slices stay
        // in the supervisor's memory and are never shown.
        if let (Some(p), Some(obj)) = (&view.wan.pppoe, slice.as_object_mut()) {
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&p.password, &mut h);
            obj.insert(
                "password_fingerprint".into(),
                std::hash::Hasher::finish(&h).into(),
            );
        }
        Some(slice)
    }
}

impl std::fmt::Display for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for d in Daemon::ALL {
            assert_eq!(Daemon::from_name(d.name()), Some(d));
            assert_eq!(
                serde_json::to_value(d).unwrap(),
                Value::String(d.name().into())
            );
            assert_eq!(d.to_string(), d.name());
        }
        assert_eq!(Daemon::from_name("ntpd"), None);
        assert_eq!(
            Daemon::names(),
            "wan, dhcp6c, firewall, ra, dhcp6s, dhcp4s, dns, ntp"
        );
    }

    #[test]
    fn only_the_owner_may_publish_a_fact() {
        let wan = Fact::Wan(Box::default());
        let dhcp6 = Fact::Dhcp6(Box::default());
        let names = Fact::Dhcp4Names(crate::Dhcp4Names::default());
        for d in Daemon::ALL {
            assert_eq!(d.owns(&wan), d == Daemon::Wan, "{d}");
            assert_eq!(d.owns(&dhcp6), d == Daemon::Dhcp6c, "{d}");
            assert_eq!(d.owns(&names), d == Daemon::Dhcp4s, "{d}");
        }
    }

    #[test]
    fn a_daemon_the_config_does_not_need_has_no_slice() {
        let config = cpe_config::parse_str("[wan]\n[[lan]]\n", "t.toml")
            .unwrap()
            .config;
        let needed: Vec<Daemon> = Daemon::ALL
            .into_iter()
            .filter(|d| d.config_slice(&config).is_some())
            .collect();
        assert!(needed.contains(&Daemon::Wan) && needed.contains(&Daemon::Firewall));
        let mut off = config.clone();
        off.dns.enabled = false;
        assert_eq!(Daemon::Dns.config_slice(&off), None);
    }

    /// A new PPPoE password restarts the WAN (the session must use it),
    /// though the password itself is in no slice.
    #[test]
    fn a_new_pppoe_password_changes_the_wan_slice_without_showing_it() {
        let load = |pw: &str| {
            let src = format!(
                "[wan]\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword = \"{pw}\"\n[[lan]]\n"
            );
            cpe_config::parse_str(&src, "t.toml").unwrap().config
        };
        let (old, new) = (load("first-secret"), load("second-secret"));
        let (a, b) = (
            Daemon::Wan.config_slice(&old).unwrap(),
            Daemon::Wan.config_slice(&new).unwrap(),
        );
        assert_ne!(a, b);
        for (slice, pw) in [(&a, "first-secret"), (&b, "second-secret")] {
            assert!(!slice.to_string().contains(pw), "{slice}");
        }
        assert_eq!(Daemon::Wan.config_slice(&load("first-secret")), Some(a));
    }

    /// dhcp6c asks for option 64 or 94 by `[wan.ipv4_over_ipv6] mode`: a
    /// reload from DS-Lite to MAP-E must restart it, or its Renews keep
    /// asking for the AFTR name only and the MAP-E rule never comes.
    #[test]
    fn a_new_ipv4_over_ipv6_mode_changes_the_dhcp6c_slice() {
        let load = |mode: &str| {
            let src = format!("[wan]\n[wan.ipv4_over_ipv6]\nmode = \"{mode}\"\n[[lan]]\n");
            cpe_config::parse_str(&src, "t.toml").unwrap().config
        };
        let (dslite, map_e) = (load("dslite"), load("map-e"));
        assert_ne!(
            Daemon::Dhcp6c.config_slice(&dslite),
            Daemon::Dhcp6c.config_slice(&map_e)
        );
    }

    /// The firewall SNATs into the MAP-E port set only when the mode is
    /// map-e, from the rule in the config when there is one: a reload from
    /// DS-Lite to MAP-E (or a new rule) must restart it, or LAN IPv4 leaves
    /// `map0` with its private source and never comes back.
    #[test]
    fn a_new_ipv4_over_ipv6_section_changes_the_firewall_slice() {
        let load = |s46: &str| {
            let src = format!("[wan]\n[wan.ipv4_over_ipv6]\n{s46}\n[[lan]]\n");
            cpe_config::parse_str(&src, "t.toml").unwrap().config
        };
        let slice = |s46: &str| Daemon::Firewall.config_slice(&load(s46));
        assert_ne!(slice("mode = \"dslite\""), slice("mode = \"map-e\""));
        assert_eq!(slice("mode = \"map-e\""), slice("mode = \"map-e\""));
    }

    /// A new `wan.closed_prefixes` changes what the console warns about,
    /// not the link: no daemon's slice changes, so nothing restarts.
    #[test]
    fn closed_prefixes_restart_no_daemon() {
        let load = |src: &str| cpe_config::parse_str(src, "t.toml").unwrap().config;
        let old = load("[wan]\n[[lan]]\n");
        let new = load("[wan]\nclosed_prefixes = [\"2001:db8::/32\"]\n[[lan]]\n");
        for d in Daemon::ALL {
            assert_eq!(d.config_slice(&old), d.config_slice(&new), "{d}");
        }
    }
}
