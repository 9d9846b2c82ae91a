//! Maps the router config and shared state onto the engine's options,
//! listening sockets and upstream list. Kept apart from the engine so the
//! engine does not depend on the config crate.

use super::io::ListenSpec;
use super::sockets::ifindex;
use crate::config::ForwarderConfig;
use crate::local::{HostAddr, LocalConfig};
use cpe_config::{AddrOrSelf, Config, UpstreamSpec};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// DNS port.
const PORT: u16 = 53;

/// Parses `IP:PORT[%DEV]` (`[v6]:port` for IPv6).
pub fn parse_listen(text: &str) -> Result<ListenSpec, String> {
    let (addr, device) = match text.rsplit_once('%') {
        Some((a, d)) if !a.ends_with('[') && a.contains(':') && !d.contains(']') => {
            (a, Some(d.to_string()))
        }
        _ => (text, None),
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("bad listen address {text:?} (want IP:PORT[%DEV])"))?;
    Ok(ListenSpec { addr, device })
}

/// Parses `IP` or `IP:PORT` / `[IPv6]:PORT`.
pub fn parse_upstream(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip.to_canonical(), PORT));
    }
    let sa: SocketAddr = text.parse().map_err(|_| format!("bad upstream {text:?}"))?;
    Ok(SocketAddr::new(sa.ip().to_canonical(), sa.port()))
}

/// What the daemon takes from the config once at start.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Engine options.
    pub options: ForwarderConfig,
    /// Interfaces to listen on.
    pub interfaces: Vec<String>,
    /// Upstream specs in order.
    pub upstream: Vec<UpstreamSpec>,
    /// WAN interface of the config: the scope of link-local upstreams
    /// until the WAN daemon names its own (the PPP unit on PPPoE).
    pub wan_interface: String,
    /// (LAN interface, its IPv4 address) from the config.
    pub lan_v4: Vec<(String, Ipv4Addr)>,
    /// LAN interfaces in config order (matches `SharedState.lan`).
    pub lan_interfaces: Vec<String>,
}

impl BusConfig {
    /// Reads `[dns]` and the interface names it refers to.
    pub fn from_config(cfg: &Config) -> BusConfig {
        let dns = &cfg.dns;
        let mut interfaces: Vec<String> = Vec::new();
        for l in &dns.listen {
            let names: Vec<String> = match l.as_str() {
                "lan" => cfg.lan.iter().map(|x| x.interface.clone()).collect(),
                "wan" => vec![cfg.wan.interface.clone()],
                other => vec![other.to_string()],
            };
            for n in names {
                if !interfaces.contains(&n) {
                    interfaces.push(n);
                }
            }
        }
        let mut hosts: Vec<(String, Vec<HostAddr>)> = dns
            .hosts
            .iter()
            .map(|h| {
                let addrs = h
                    .addresses
                    .iter()
                    .map(|a| match a {
                        AddrOrSelf::SelfAddr => HostAddr::SelfAddr,
                        AddrOrSelf::Addr(ip) => HostAddr::Addr(ip.to_canonical()),
                    })
                    .collect();
                (h.name.clone(), addrs)
            })
            .collect();
        if !hosts.iter().any(|(n, _)| *n == cfg.system.hostname) {
            hosts.push((cfg.system.hostname.clone(), vec![HostAddr::SelfAddr]));
        }
        let options = ForwarderConfig {
            cache_size: dns.cache_size as usize,
            local: LocalConfig {
                domain: dns.local_domain.clone(),
                hosts,
            },
            ..ForwarderConfig::default()
        };
        BusConfig {
            options,
            interfaces,
            upstream: dns.upstream.clone(),
            wan_interface: cfg.wan.interface.clone(),
            lan_v4: cfg
                .lan
                .iter()
                .filter_map(|l| {
                    l.ipv4
                        .as_ref()
                        .map(|v| (l.interface.clone(), v.address.addr()))
                })
                .collect(),
            lan_interfaces: cfg.lan.iter().map(|l| l.interface.clone()).collect(),
        }
    }

    /// One IPv4 and one IPv6 wildcard socket per interface, bound to it.
    pub fn listen_specs(&self) -> Vec<ListenSpec> {
        let mut v = Vec::new();
        for i in &self.interfaces {
            for ip in [
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ] {
                v.push(ListenSpec {
                    addr: SocketAddr::new(ip, PORT),
                    device: Some(i.clone()),
                });
            }
        }
        v
    }

    /// Interface indexes queries may arrive on.
    pub fn ifindexes(&self) -> Vec<u32> {
        self.interfaces.iter().filter_map(|i| ifindex(i)).collect()
    }

    /// Upstreams in config order, `auto` expanded from the shared state.
    pub fn upstreams(&self, state: &cpe_bus::SharedState) -> Vec<SocketAddr> {
        // The WAN daemon's facts name the interface the WAN is reached on
        // now: on PPPoE the PPP unit (`ppp0`), not the Ethernet port of the
        // config, which only carries the session.
        let wan = Some(state.wan.interface.as_str())
            .filter(|i| !i.is_empty())
            .unwrap_or(&self.wan_interface);
        let wan_scope = ifindex(wan).unwrap_or(0);
        let mut out = Vec::new();
        for spec in &self.upstream {
            let ips: Vec<IpAddr> = match spec {
                UpstreamSpec::Auto => state.upstream_dns.clone(),
                UpstreamSpec::Addr(ip) => vec![*ip],
            };
            for ip in ips {
                let sa = match ip.to_canonical() {
                    IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => {
                        SocketAddr::V6(SocketAddrV6::new(v6, PORT, 0, wan_scope))
                    }
                    ip => SocketAddr::new(ip, PORT),
                };
                if !out.contains(&sa) {
                    out.push(sa);
                }
            }
        }
        out
    }

    /// Host names of the DHCPv4 leases of every LAN, in config order.
    pub fn lease_names(state: &cpe_bus::SharedState) -> Vec<(String, Ipv4Addr)> {
        state
            .lease_names
            .iter()
            .flat_map(|lan| lan.names.iter().map(|n| (n.name.clone(), n.address)))
            .collect()
    }

    /// The router's LAN addresses by interface index, for `self` and PTR.
    pub fn lan_addrs(&self, state: &cpe_bus::SharedState) -> Vec<(u32, IpAddr)> {
        let mut out = Vec::new();
        for (name, v4) in &self.lan_v4 {
            if let Some(i) = ifindex(name) {
                out.push((i, IpAddr::V4(*v4)));
            }
        }
        for (lan, facts) in self.lan_interfaces.iter().zip(&state.lan) {
            let Some(i) = ifindex(lan) else { continue };
            for p in facts.prefixes.iter().filter(|p| !p.deprecated) {
                out.push((i, IpAddr::V6(p.router_address)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_and_upstream_syntax() {
        let l = parse_listen("[::]:53%br0").unwrap();
        assert_eq!(l.addr, "[::]:53".parse().unwrap());
        assert_eq!(l.device.as_deref(), Some("br0"));
        let l = parse_listen("192.168.1.1:5300").unwrap();
        assert_eq!(l.device, None);
        assert!(parse_listen("192.168.1.1").is_err());
        assert_eq!(
            parse_upstream("2001:db8::1").unwrap(),
            "[2001:db8::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_upstream("::ffff:192.0.2.1").unwrap(),
            "192.0.2.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_upstream("192.0.2.1:5353").unwrap(),
            "192.0.2.1:5353".parse().unwrap()
        );
    }

    #[test]
    fn config_maps_listen_roles_hosts_and_auto_upstreams() {
        let text = "[wan]\ninterface = \"wan0\"\n[[lan]]\ninterface = \"br0\"\nsubnet_id = 1\n[dns]\nupstream = [\"auto\", \"192.0.2.53\"]\nhosts = [ { name = \"nas\", addresses = [\"192.168.1.10\"] } ]\n";
        let cfg = cpe_config::parse_str(text, "t.toml").unwrap().config;
        let bc = BusConfig::from_config(&cfg);
        assert_eq!(bc.interfaces, vec!["br0".to_string()]);
        assert!(bc.options.local.hosts.iter().any(|(n, _)| n == "nas"));
        assert!(
            bc.options
                .local
                .hosts
                .iter()
                .any(|(n, a)| *n == cfg.system.hostname && a == &[HostAddr::SelfAddr])
        );
        let state = cpe_bus::SharedState {
            upstream_dns: vec!["2001:db8::53".parse().unwrap()],
            ..Default::default()
        };
        assert_eq!(
            bc.upstreams(&state),
            vec![
                "[2001:db8::53]:53".parse().unwrap(),
                "192.0.2.53:53".parse::<SocketAddr>().unwrap()
            ]
        );
        let specs = bc.listen_specs();
        assert_eq!(specs.len(), 2);
        assert!(specs.iter().all(|s| s.device.as_deref() == Some("br0")));
    }

    /// On PPPoE the config's `wan.interface` is the Ethernet port under
    /// the session; a link-local upstream lives on the PPP unit the WAN
    /// daemon names in its facts (`ppp0`). `lo` stands in for the unit:
    /// it exists on every test machine, `wan0` does not.
    #[test]
    fn a_link_local_upstream_is_scoped_to_the_wan_facts_interface() {
        let text = "[wan]\ninterface = \"wan0\"\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\npassword = \"p\"\n[[lan]]\ninterface = \"br0\"\nsubnet_id = 1\n";
        let cfg = cpe_config::parse_str(text, "t.toml").unwrap().config;
        let bc = BusConfig::from_config(&cfg);
        let mut state = cpe_bus::SharedState {
            upstream_dns: vec!["fe80::53".parse().unwrap()],
            ..Default::default()
        };
        state.wan.interface = "lo".into();
        let lo = ifindex("lo").unwrap();
        let ups = bc.upstreams(&state);
        assert!(
            matches!(ups.as_slice(), [SocketAddr::V6(a)] if a.scope_id() == lo),
            "{ups:?}"
        );
        // No facts yet: the configured port.
        state.wan.interface.clear();
        let ups = bc.upstreams(&state);
        assert!(matches!(ups.as_slice(), [SocketAddr::V6(a)] if a.scope_id() == 0));
    }
}
