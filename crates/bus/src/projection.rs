//! A daemon's view of the config: the paths it reads, and nothing else.
//!
//! Each daemon declares once the config paths it reads
//! ([`Daemon::reads`](crate::Daemon::reads)). That one declaration gives
//! both what the daemon receives ([`project`]: the declared fields copied
//! from the running config, every other field at its default) and what a
//! reload compares ([`Daemon::config_slice`](crate::Daemon::config_slice):
//! the projection's JSON). So a field cannot be read yet left out of the
//! comparison: a daemon that reads an undeclared field sees its default in
//! every lab test, where a hand-written slice would have missed a restart
//! silently (the firewall and dhcp6c once kept their DS-Lite settings after
//! a reload to MAP-E that way).

use cpe_config::Config;

/// One config path a daemon reads: its name as in the TOML (`lan[].x` is
/// `x` of every `[[lan]]`) and how to copy it from one config to another.
/// Built with [`config_path!`](crate::projection::config_path).
#[derive(Clone, Copy)]
pub struct ConfigPath {
    /// `wan.interface`, `lan[].ipv4`, `firewall`, ...
    pub name: &'static str,
    /// Copies the field(s) at `name` from the second config into the first.
    pub copy: fn(&mut Config, &Config),
}

impl ConfigPath {
    /// Whether this path is `other` or lies under it (`wan.dhcpv6.enabled`
    /// is under `wan.dhcpv6`; `wan.mtu` is not under `wan.m`).
    pub fn is_under(&self, other: &str) -> bool {
        is_under(self.name, other)
    }
}

impl std::fmt::Debug for ConfigPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Whether the dotted path `path` is `prefix` or lies under it.
pub fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// A [`ConfigPath`] from the field's path: `config_path!(wan.interface)`, or
/// `config_path!(lan[].ipv4)` for a field of every LAN.
macro_rules! config_path {
    (lan[] . $first:ident $(. $rest:ident)*) => {
        $crate::projection::ConfigPath {
            name: concat!("lan[].", stringify!($first) $(, ".", stringify!($rest))*),
            copy: |dst, src| {
                for (d, s) in dst.lan.iter_mut().zip(&src.lan) {
                    d.$first $(.$rest)* = s.$first $(.$rest)*.clone();
                }
            },
        }
    };
    ($first:ident $(. $rest:ident)*) => {
        $crate::projection::ConfigPath {
            name: concat!(stringify!($first) $(, ".", stringify!($rest))*),
            copy: |dst, src| dst.$first $(.$rest)* = src.$first $(.$rest)*.clone(),
        }
    };
}
pub(crate) use config_path;

/// `config` as seen through `paths`: the declared fields copied, every
/// other field at its default ([`Config::default`]). With a `lan[]` path
/// the projection has as many LANs as `config` (the count is read too);
/// without one, the default single LAN.
pub fn project(paths: &[ConfigPath], config: &Config) -> Config {
    let mut out = Config::default();
    if paths.iter().any(|p| p.is_under("lan[]")) {
        let one = out.lan.first().cloned().unwrap_or_default();
        out.lan = vec![one; config.lan.len()];
    }
    for p in paths {
        (p.copy)(&mut out, config);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_named_as_in_the_file() {
        assert_eq!(config_path!(wan.interface).name, "wan.interface");
        assert_eq!(config_path!(wan.dhcpv6.enabled).name, "wan.dhcpv6.enabled");
        assert_eq!(config_path!(lan[].ipv4).name, "lan[].ipv4");
        assert_eq!(config_path!(firewall).name, "firewall");
        assert!(config_path!(wan.dhcpv6.enabled).is_under("wan.dhcpv6"));
        assert!(config_path!(wan.dhcpv6).is_under("wan.dhcpv6"));
        assert!(!config_path!(wan.mtu).is_under("wan.m"));
        assert!(!config_path!(wan.dhcpv6).is_under("wan.dhcpv6.enabled"));
    }

    #[test]
    fn a_projection_copies_the_declared_fields_and_defaults_the_rest() {
        let src = "[system]\nhostname = \"gw\"\n[wan]\ninterface = \"eth9\"\nmtu = 1400\n\
                   [[lan]]\ninterface = \"lan1\"\n[[lan]]\ninterface = \"lan2\"\nula = false\nipv4 = false\n";
        let config = cpe_config::parse_str(src, "t.toml").unwrap().config;
        let p = project(
            &[config_path!(wan.mtu), config_path!(lan[].interface)],
            &config,
        );
        assert_eq!(p.wan.mtu, 1400);
        assert_eq!(p.wan.interface, "wan0");
        assert_eq!(p.system.hostname, "cpe");
        let lans: Vec<_> = p
            .lan
            .iter()
            .map(|l| (l.interface.as_str(), l.ula))
            .collect();
        assert_eq!(lans, [("lan1", true), ("lan2", true)]);
        assert_eq!(
            project(&[config_path!(wan.mtu)], &config).lan,
            Config::default().lan
        );
    }

    use crate::Daemon;
    use serde_json::Value;

    /// Every field of the config, at least as fine as any daemon's
    /// declaration: the universe the property below walks. A new field of
    /// [`Config`] fails `every_field_of_the_config_is_listed` until it is
    /// listed here.
    const EVERY_FIELD: &[ConfigPath] = &[
        config_path!(system.hostname),
        config_path!(system.log_level),
        config_path!(system.state_dir),
        config_path!(system.run_dir),
        config_path!(system.root_password_hash),
        config_path!(wan.interface),
        config_path!(wan.mode),
        config_path!(wan.mtu),
        config_path!(wan.ipv4),
        config_path!(wan.pppoe),
        config_path!(wan.dhcpv6.enabled),
        config_path!(wan.dhcpv6.request_prefix),
        config_path!(wan.dhcpv6.prefix_hint),
        config_path!(wan.dhcpv6.request_address),
        config_path!(wan.dhcpv6.rapid_commit),
        config_path!(wan.dhcpv6.start),
        config_path!(wan.closed_prefixes),
        config_path!(wan.ipv4_over_ipv6.mode),
        config_path!(wan.ipv4_over_ipv6.aftr),
        config_path!(wan.ipv4_over_ipv6.map_rule),
        config_path!(lan[].interface),
        config_path!(lan[].subnet_id),
        config_path!(lan[].ula),
        config_path!(lan[].ula_prefix),
        config_path!(lan[].ra),
        config_path!(lan[].ipv4),
        config_path!(lan[].dhcpv6),
        config_path!(dns.enabled),
        config_path!(dns.listen),
        config_path!(dns.upstream),
        config_path!(dns.cache_size),
        config_path!(dns.local_domain),
        config_path!(dns.hosts),
        config_path!(firewall),
        config_path!(ntp),
    ];

    const HASH_A: &str = "$6$salta$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    /// Two configs that differ in every field of [`EVERY_FIELD`].
    fn a_and_z() -> (Config, Config) {
        let a = format!(
            r#"[system]
hostname = "alpha"
log_level = "info"
state_dir = "/var/lib/a"
run_dir = "/run/a"
root_password_hash = "{HASH_A}"
[wan]
interface = "eth0"
mode = "ipoe"
mtu = 1500
ipv4 = true
closed_prefixes = ["2001:db8::/32"]
[wan.dhcpv6]
enabled = true
request_prefix = true
prefix_hint = 56
request_address = "auto"
rapid_commit = true
start = "ra"
[wan.ipv4_over_ipv6]
mode = "dslite"
aftr = "aftr.example.net"
[[lan]]
interface = "lan1"
subnet_id = 1
ula = true
[lan.ipv4]
address = "192.168.1.1/24"
[[lan]]
interface = "lan2"
subnet_id = 2
ula = true
[lan.ipv4]
address = "192.168.2.1/24"
[dns]
enabled = true
listen = ["lan"]
upstream = ["auto"]
cache_size = 1000
local_domain = "lan"
hosts = [ {{ name = "nas", addresses = ["self"] }} ]
[ntp]
servers = []
"#
        );
        let z = r#"[system]
hostname = "zulu"
log_level = "debug"
state_dir = "/var/lib/z"
run_dir = "/run/z"
[wan]
interface = "eth9"
mode = "pppoe"
mtu = 1454
ipv4 = false
closed_prefixes = []
[wan.pppoe]
username = "z"
password = "zz"
[wan.dhcpv6]
enabled = false
request_prefix = false
prefix_hint = 60
request_address = "never"
rapid_commit = false
start = "always"
[wan.ipv4_over_ipv6]
mode = "map-e"
rule_ipv6_prefix = "2001:db8::/40"
rule_ipv4_prefix = "192.0.2.0/24"
ea_bits = 16
br = "2001:db8:ffff::1"
[[lan]]
interface = "lan8"
subnet_id = 8
ula = "fd12:3456:789a::/48"
ipv4 = false
dhcpv6 = { mode = "off" }
ra = { enabled = false }
[[lan]]
interface = "lan9"
subnet_id = 9
ula = false
ipv4 = false
dhcpv6 = { mode = "off" }
ra = { enabled = false }
[dns]
enabled = false
listen = ["wan"]
upstream = ["2001:db8::53"]
cache_size = 99
local_domain = "home.arpa"
hosts = []
[firewall]
enabled = false
[ntp]
enabled = false
"#;
        let load = |src: &str| match cpe_config::parse_str(src, "t.toml") {
            Ok(l) => l.config,
            Err(d) => panic!("{d}"),
        };
        (load(&a), load(z))
    }

    /// The dotted paths of every leaf of `v` (`lan` elements as `lan[]`).
    fn leaves(v: &Value, at: &str, out: &mut Vec<String>) {
        let join = |k: &str| {
            if at.is_empty() {
                k.to_owned()
            } else {
                format!("{at}.{k}")
            }
        };
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| leaves(v, &join(k), out)),
            Value::Array(items) if at == "lan" => {
                items.iter().for_each(|v| leaves(v, "lan[]", out))
            }
            _ => out.push(at.to_owned()),
        }
    }

    #[test]
    fn every_field_of_the_config_is_listed() {
        let (a, z) = a_and_z();
        let mut paths = Vec::new();
        for c in [&a, &z, &Config::default()] {
            leaves(&serde_json::to_value(c).unwrap(), "", &mut paths);
        }
        for leaf in paths {
            assert!(
                EVERY_FIELD.iter().any(|f| is_under(&leaf, f.name)),
                "{leaf} is in no entry of EVERY_FIELD"
            );
        }
        // As fine as any declaration, so each entry is wholly inside a
        // daemon's view or wholly outside it.
        for d in Daemon::ALL {
            for r in d.reads() {
                assert!(
                    EVERY_FIELD.iter().any(|f| f.name == r.name)
                        || !EVERY_FIELD.iter().any(|f| is_under(r.name, f.name)),
                    "{d} reads {}, finer than EVERY_FIELD",
                    r.name
                );
            }
        }
    }

    /// For every daemon and every field: changing the field changes the
    /// daemon's slice exactly when the daemon declares it (the slice is
    /// what a reload compares, so a declared field always restarts the
    /// daemon and any other field never does).
    #[test]
    fn a_slice_changes_exactly_with_the_fields_its_daemon_reads() {
        let (a, z) = a_and_z();
        for field in EVERY_FIELD {
            let mut changed = a.clone();
            (field.copy)(&mut changed, &z);
            assert_ne!(changed, a, "the fixtures agree on {}", field.name);
            for d in Daemon::ALL {
                let declared = d.reads().iter().any(|r| field.is_under(r.name));
                let differs = d.config_slice(&changed) != d.config_slice(&a);
                assert_eq!(
                    differs,
                    declared,
                    "{d}: {} {} the slice",
                    field.name,
                    if differs {
                        "changes"
                    } else {
                        "does not change"
                    }
                );
            }
        }
    }

    /// A daemon receives its projection: the fields it declares from the
    /// running config, every other one at its default.
    #[test]
    fn a_daemon_receives_only_what_it_declares() {
        let (_, z) = a_and_z();
        let defaults = Config::default();
        for d in Daemon::ALL {
            let view = d.project(&z);
            for field in EVERY_FIELD {
                let declared = d.reads().iter().any(|r| field.is_under(r.name));
                let mut from_z = view.clone();
                (field.copy)(&mut from_z, &z);
                let mut from_defaults = view.clone();
                (field.copy)(&mut from_defaults, &defaults);
                let expected = if declared { &from_z } else { &from_defaults };
                assert_eq!(&view, expected, "{d}: {}", field.name);
            }
        }
    }
}
