//! Each daemon's settings are the same from its config view
//! (`Daemon::project`: only the paths it declares it reads, every other
//! field at its default) as from the whole config. A daemon that reads a
//! field it does not declare would run with the default, and a reload that
//! changes that field would not restart it; with a config whose every field
//! differs from its default, such a read shows up here as a difference.
//!
//! Covers the daemons whose settings come from the config through one
//! function (wan, firewall, dns, ntp, dhcp4s, dhcp6s); dhcp6c's and the RA
//! sender's few reads are in their drivers and checked by their lab tests.

use cpe_bus::Daemon;
use cpe_config::Config;

/// Every value differs from its default where the reader allows it.
const EVERYTHING_SET: &str = r#"
[system]
hostname = "gw7"
log_level = "debug"
state_dir = "/var/lib/view"
run_dir = "/run/view"

[wan]
interface = "eth7"
mode = "pppoe"
mtu = 1454
ipv4 = false
closed_prefixes = ["2001:db8::/32"]

[wan.pppoe]
username = "u@isp.example"
password = "pw"
service = "svc"
ac_name = "ac"
lcp_echo_interval = 7
lcp_echo_failure = 5
reconnect_min = 3
reconnect_max = 90

[wan.dhcpv6]
prefix_hint = 60
request_address = "always"
rapid_commit = false

[wan.ipv4_over_ipv6]
mode = "map-e"
rule_ipv6_prefix = "2001:db8::/40"
rule_ipv4_prefix = "192.0.2.0/24"
ea_bits = 16
psid_offset = 4
br = "2001:db8:ffff::1"

[[lan]]
interface = "lan7"
subnet_id = 7
ula = "fd12:3456:789a::/48"
[lan.ra]
preference = "high"
mtu = 1400
rdnss = ["2001:db8::53"]
dnssl = ["home.arpa"]
[lan.ipv4]
address = "10.7.1.1/24"
pool = "10.7.1.50-10.7.1.60"
lease_time = 600
[lan.dhcpv6]
dns = ["2001:db8::53"]
domain_search = ["home.arpa"]
ntp = ["2001:db8::123"]
information_refresh = 3600

[[lan]]
interface = "lan8"
subnet_id = 8
ula = false
[lan.ipv4]
address = "10.7.2.1/24"
pool = "10.7.2.50-10.7.2.60"

[dns]
listen = ["lan", "wan"]
upstream = ["2001:db8::53"]
cache_size = 77
local_domain = "home.arpa"
hosts = [ { name = "nas", addresses = ["10.7.1.10"] } ]

[firewall]
wan_inbound = "reject"
echo_request_limit = "3/minute"
ipv4_nat = false
mss_clamp = false
[[firewall.pinhole]]
name = "web"
proto = "udp"
port = 8443
host = "::1234"

[ntp]
servers = ["2001:db8::123"]
use_wan = false
set_clock = false
"#;

fn config() -> Config {
    match cpe_config::parse_str(EVERYTHING_SET, "everything.toml") {
        Ok(l) => l.config,
        Err(d) => panic!("{d}"),
    }
}

#[test]
fn the_fixture_sets_every_field_away_from_its_default() {
    let c = config();
    let d = Config::default();
    assert_ne!(c.system.hostname, d.system.hostname);
    assert_ne!(c.wan.interface, d.wan.interface);
    assert_ne!(c.lan[0].interface, d.lan[0].interface);
    assert_ne!(c.lan[0].ipv4, d.lan[0].ipv4);
    assert_ne!(c.dns, d.dns);
    assert_ne!(c.firewall, d.firewall);
    assert_ne!(c.ntp, d.ntp);
}

#[test]
fn the_wan_settings_come_from_its_view() {
    let c = config();
    let view = Daemon::Wan.project(&c);
    assert_eq!(
        cpe_wan::config::WanSettings::from_config(&view),
        cpe_wan::config::WanSettings::from_config(&c)
    );
    // The softwires read these beside the settings.
    assert_eq!(view.wan.ipv4_over_ipv6, c.wan.ipv4_over_ipv6);
    assert_eq!(view.wan.mtu, c.wan.mtu);
}

#[test]
fn the_firewall_policy_comes_from_its_view() {
    let c = config();
    let view = Daemon::Firewall.project(&c);
    assert_eq!(
        cpe_firewall::Policy::from_config(&view),
        cpe_firewall::Policy::from_config(&c)
    );
    assert_eq!(
        view.wan.ipv4_over_ipv6.map_rule,
        c.wan.ipv4_over_ipv6.map_rule
    );
}

#[test]
fn the_dns_settings_come_from_its_view() {
    let c = config();
    let view = Daemon::Dns.project(&c);
    let settings = |c: &Config| format!("{:?}", cpe_dns::driver::setup::BusConfig::from_config(c));
    assert_eq!(settings(&view), settings(&c));
}

#[test]
fn the_ntp_settings_come_from_its_view() {
    let c = config();
    let view = Daemon::Ntp.project(&c);
    assert_eq!(
        cpe_ntp::config::ClientConfig::from_config(&view.ntp),
        cpe_ntp::config::ClientConfig::from_config(&c.ntp)
    );
}

#[test]
fn the_lan_servers_settings_come_from_their_views() {
    let c = config();
    let v4 = Daemon::Dhcp4s.project(&c);
    let v6 = Daemon::Dhcp6s.project(&c);
    assert_eq!(v4.system.state_dir, c.system.state_dir);
    assert_eq!(v6.system.state_dir, c.system.state_dir);
    for (i, lan) in c.lan.iter().enumerate() {
        assert_eq!(v4.lan[i].interface, lan.interface);
        assert_eq!(v6.lan[i].interface, lan.interface);
        if let Some(ipv4) = &lan.ipv4 {
            assert_eq!(
                cpe_dhcp4s::config::PoolConfig::from_lan(
                    v4.lan[i].ipv4.as_ref().unwrap(),
                    &v4.dns.local_domain
                ),
                cpe_dhcp4s::config::PoolConfig::from_lan(ipv4, &c.dns.local_domain)
            );
        }
        assert_eq!(
            format!(
                "{:?}",
                cpe_dhcp6s::config::ServerConfig::from_lan(&v6.lan[i].dhcpv6)
            ),
            format!(
                "{:?}",
                cpe_dhcp6s::config::ServerConfig::from_lan(&lan.dhcpv6)
            )
        );
    }
}
