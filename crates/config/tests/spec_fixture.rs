//! The users' contract file (config-spec.toml, every key with its default)
//! must load, and give exactly the documented values.

use std::net::{IpAddr, Ipv4Addr};

use cpe_config::*;

fn spec() -> Loaded {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config-spec.toml"
    );
    match load_file(std::path::Path::new(path)) {
        Ok(loaded) => loaded,
        Err(diags) => panic!("spec fixture rejected:\n{diags}"),
    }
}

#[test]
fn spec_file_loads_without_warnings() {
    let loaded = spec();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn spec_values_are_the_documented_ones() {
    let c = spec().config;
    assert_eq!(c.system, System::default());
    assert_eq!(c.wan.interface, "wan0");
    assert_eq!(c.wan.mode, Mode::Ipoe);
    assert_eq!(c.wan.mtu, 1500);
    assert!(c.wan.ipv4);
    let pppoe = c.wan.pppoe.as_ref().expect("[wan.pppoe] present");
    assert_eq!(pppoe.username, "user@example.jp");
    assert_eq!(pppoe.password, "secret");
    assert_eq!(pppoe.lcp_echo_interval, 10);
    assert_eq!(pppoe.lcp_echo_failure, 3);
    assert_eq!((pppoe.reconnect_min, pppoe.reconnect_max), (5, 300));
    assert_eq!(c.wan.dhcpv6, WanDhcpv6::default());

    assert_eq!(c.lan.len(), 1);
    let lan = &c.lan[0];
    assert_eq!(lan.interface, "br0");
    assert_eq!(lan.subnet_id, 1);
    assert!(lan.ula);
    assert_eq!(lan.ra, LanRa::default());
    assert_eq!(lan.ipv4, Some(LanIpv4::default()));
    assert_eq!(lan.dhcpv6, LanDhcpv6::default());

    assert_eq!(c.dns, Dns::default());
    assert_eq!(c.firewall.pinhole.len(), 1);
    assert_eq!(c.ntp, Ntp::default());
    let pinhole = &c.firewall.pinhole[0];
    assert_eq!(pinhole.name, "nas-https");
    assert_eq!(pinhole.proto, PinholeProto::Tcp);
    assert_eq!(pinhole.port, 443);
    assert_eq!(pinhole.host, HostSpec::InterfaceId(0x1234));
    let mut fw = c.firewall.clone();
    fw.pinhole.clear();
    assert_eq!(fw, Firewall::default());
}

#[test]
fn minimal_config_equals_spec_defaults() {
    let minimal = parse_str("[wan]\n[[lan]]\n", "min.toml").expect("minimal config");
    assert!(minimal.warnings.is_empty());
    let mut spec = spec().config;
    spec.wan.pppoe = None;
    spec.firewall.pinhole.clear();
    assert_eq!(minimal.config, spec);
}

#[test]
fn ipv4_hosts_stay_ipv4() {
    let src = "[wan]\n[[lan]]\n[dns]\nhosts = [{ name = \"nas\", addresses = [\"::ffff:192.168.1.10\"] }]\n";
    let c = parse_str(src, "x.toml").expect("valid").config;
    assert_eq!(
        c.dns.hosts[0].addresses,
        vec![AddrOrSelf::Addr(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)))]
    );
}
