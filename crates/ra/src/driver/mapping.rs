//! Turns the router configuration and shared-state snapshots into the
//! engine's inputs. Kept apart from the engine so the engine does not depend
//! on the configuration or bus crates.

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use cpe_bus::{MonoTime, SharedState};
use cpe_wire::nd::{DomainName, RouterPreference};
use ipnet::Ipv6Net;
use log::warn;

use super::iface::IfaceInfo;
use crate::config::{DnsServer, MtuSetting, RaConfig};
use crate::facts::{LanFacts, RouteAdvert};
use crate::prefixes::LanPrefix;

/// `[lan.ra]` as the engine's configuration.
pub fn ra_config(ra: &cpe_config::LanRa) -> RaConfig {
    RaConfig {
        managed: ra.managed,
        other_config: ra.other_config,
        autonomous: ra.autonomous,
        on_link: ra.on_link,
        preference: match ra.preference {
            cpe_config::RouterPreference::Low => RouterPreference::Low,
            cpe_config::RouterPreference::Medium => RouterPreference::Medium,
            cpe_config::RouterPreference::High => RouterPreference::High,
        },
        min_interval: Duration::from_secs(u64::from(ra.min_interval)),
        max_interval: Duration::from_secs(u64::from(ra.max_interval)),
        router_lifetime: u16::try_from(ra.router_lifetime).unwrap_or(u16::MAX),
        cur_hop_limit: RaConfig::default().cur_hop_limit,
        mtu: match ra.mtu {
            cpe_config::RaMtu::Auto => MtuSetting::Auto,
            cpe_config::RaMtu::Value(v) => MtuSetting::Fixed(v),
            cpe_config::RaMtu::Off => MtuSetting::Off,
        },
        rdnss: ra
            .rdnss
            .iter()
            .filter_map(|a| match a {
                cpe_config::AddrOrSelf::SelfAddr => Some(DnsServer::SelfAddress),
                cpe_config::AddrOrSelf::Addr(IpAddr::V6(v6)) => Some(DnsServer::Address(*v6)),
                cpe_config::AddrOrSelf::Addr(IpAddr::V4(_)) => None,
            })
            .collect(),
        dnssl: ra
            .dnssl
            .iter()
            .filter_map(|d| match DomainName::parse(d) {
                Ok(n) => Some(n),
                Err(e) => {
                    warn!("search domain {d:?} not advertised: {e}");
                    None
                }
            })
            .collect(),
        static_prefixes: ra.prefixes.clone(),
    }
}

/// Converts bus deadlines (CLOCK_MONOTONIC ms) into this process's
/// `Instant`s using one reading of both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    mono: MonoTime,
    instant: Instant,
}

impl Clock {
    /// Reads both clocks now.
    pub fn now() -> Clock {
        Clock {
            mono: MonoTime::now(),
            instant: Instant::now(),
        }
    }

    /// A pairing for tests.
    #[cfg(test)]
    pub fn pair(mono: MonoTime, instant: Instant) -> Clock {
        Clock { mono, instant }
    }

    /// The `Instant` of a bus deadline; `None` for "infinite".
    pub fn instant(&self, at: MonoTime) -> Option<Instant> {
        if at == cpe_bus::state::INFINITE {
            return None;
        }
        Some(if at >= self.mono {
            self.instant + Duration::from_millis(at.0 - self.mono.0)
        } else {
            self.instant
                .checked_sub(Duration::from_millis(self.mono.0 - at.0))
                .unwrap_or(self.instant)
        })
    }
}

/// Whether the WAN offers an IPv6 default route (RFC 7084 G-4/G-5).
pub fn upstream_default_route(state: &SharedState) -> bool {
    state.wan.state == cpe_bus::WanState::Up && state.wan.default_router_v6.is_some()
}

/// The ULA /48 a ULA /64 belongs to (RFC 4193 global ID + subnet).
fn ula_48(p: &Ipv6Net) -> Option<Ipv6Net> {
    (p.addr().octets()[0] & 0xfe == 0xfc)
        .then(|| Ipv6Net::new(p.network(), 48).ok().map(|n| n.trunc()))
        .flatten()
}

/// The engine's facts for LAN `interface` from a snapshot and the kernel.
pub fn lan_facts(
    state: &SharedState,
    interface: &str,
    kernel: &IfaceInfo,
    clock: &Clock,
) -> LanFacts {
    let ours = state.lan.iter().find(|l| l.interface == interface);
    let prefixes: Vec<LanPrefix> = ours
        .map(|l| {
            l.prefixes
                .iter()
                .map(|p| LanPrefix {
                    prefix: p.prefix,
                    preferred_until: clock.instant(p.preferred_until),
                    valid_until: clock.instant(p.valid_until),
                    deprecated: p.deprecated,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut router_addresses: Vec<Ipv6Addr> = ours
        .map(|l| {
            l.prefixes
                .iter()
                .filter(|p| !p.deprecated)
                .map(|p| p.router_address)
                .collect()
        })
        .unwrap_or_default();
    for a in &kernel.global {
        if !router_addresses.contains(a) {
            router_addresses.push(*a);
        }
    }
    let mut routes: Vec<RouteAdvert> = Vec::new();
    for p in ours.map(|l| l.prefixes.as_slice()).unwrap_or_default() {
        if let Some(ula) = ula_48(&p.prefix).filter(|u| !routes.iter().any(|r| r.prefix == *u)) {
            routes.push(RouteAdvert {
                prefix: ula,
                valid_until: None,
            });
        }
    }
    // RFC 7084 L-3: "An IPv6 CE router MUST advertise itself as a router
    // for the delegated prefix(es) (and ULA prefix if configured to provide
    // ULA addressing) using the "Route Information Option" specified in
    // Section 2.3 of [RFC4191]. This advertisement is independent of having
    // or not having IPv6 connectivity on the WAN interface." The route lives
    // as long as the delegation (RFC 4191 2.3: Route Lifetime is how long the
    // prefix is valid for route determination); the engine caps it like the
    // other routes. Other LANs' /64s inside it need no route of their own.
    for d in &state.dhcp6.delegated_prefixes {
        let prefix = d.prefix.trunc();
        if !routes.iter().any(|r| r.prefix.contains(&prefix)) {
            routes.push(RouteAdvert {
                prefix,
                valid_until: clock.instant(d.valid_until),
            });
        }
    }
    for other in state.lan.iter().filter(|l| l.interface != interface) {
        for p in other.prefixes.iter().filter(|p| !p.deprecated) {
            if !routes.iter().any(|r| r.prefix.contains(&p.prefix)) {
                routes.push(RouteAdvert {
                    prefix: p.prefix,
                    valid_until: clock.instant(p.valid_until),
                });
            }
        }
    }
    let delegation_known = ours.is_some_and(|l| {
        l.prefixes
            .iter()
            .any(|p| p.origin == cpe_bus::PrefixOrigin::Delegated)
    });
    LanFacts {
        prefixes,
        delegation_known,
        router_addresses,
        link_local: kernel.link_local.clone(),
        link_layer_address: kernel.mac,
        upstream_default_route: upstream_default_route(state),
        wan_mtu: Some(wan_ipv6_mtu(&state.wan)).filter(|m| *m >= 1280),
        routes,
    }
}

/// The MTU `lan.ra.mtu = "auto"` follows: the WAN's IPv6 MTU (the ISP
/// RA's MTU option applied), or its link MTU from a WAN daemon that does
/// not report one. A LAN host told more than the WAN carries would depend on
/// Packet Too Big from us for every large packet.
fn wan_ipv6_mtu(w: &cpe_bus::WanFacts) -> u32 {
    if w.ipv6_mtu > 0 { w.ipv6_mtu } else { w.mtu }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpe_bus::state::{LanFacts as BusLan, LanPrefix as BusPrefix, PrefixOrigin};

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    /// RFC 7084 L-7: `lan.ra.autonomous` / `lan.ra.on_link` reach the engine.
    #[test]
    fn pio_flags_come_from_the_lan_config() {
        let c = ra_config(&cpe_config::LanRa::default());
        assert!(c.autonomous && c.on_link);
        let c = ra_config(&cpe_config::LanRa {
            autonomous: false,
            on_link: false,
            ..cpe_config::LanRa::default()
        });
        assert!(!c.autonomous && !c.on_link);
    }

    #[test]
    fn snapshot_maps_to_engine_facts() {
        let t = Instant::now();
        let clock = Clock::pair(MonoTime(1_000_000), t);
        let mut state = SharedState::default();
        state.wan.state = cpe_bus::WanState::Up;
        state.wan.default_router_v6 = Some("fe80::1".parse().unwrap());
        state.wan.mtu = 1492;
        let prefix = |p: &str, r: &str, valid: u64, deprecated, origin| BusPrefix {
            prefix: net(p),
            router_address: r.parse().unwrap(),
            preferred_until: MonoTime(1_000_000 + valid / 2),
            valid_until: if valid == u64::MAX {
                cpe_bus::state::INFINITE
            } else {
                MonoTime(1_000_000 + valid)
            },
            deprecated,
            origin,
        };
        state.lan = vec![
            BusLan {
                interface: "br0".into(),
                subnet_id: 1,
                prefixes: vec![
                    prefix(
                        "2001:db8:1:1::/64",
                        "2001:db8:1:1::1",
                        7_200_000,
                        false,
                        PrefixOrigin::Delegated,
                    ),
                    prefix(
                        "2001:db8:9:1::/64",
                        "2001:db8:9:1::1",
                        60_000,
                        true,
                        PrefixOrigin::Delegated,
                    ),
                    prefix(
                        "fd00:1:2:1::/64",
                        "fd00:1:2:1::1",
                        u64::MAX,
                        false,
                        PrefixOrigin::Ula,
                    ),
                ],
            },
            BusLan {
                interface: "br1".into(),
                subnet_id: 2,
                prefixes: vec![
                    prefix(
                        "2001:db8:1:2::/64",
                        "2001:db8:1:2::1",
                        7_200_000,
                        false,
                        PrefixOrigin::Delegated,
                    ),
                    prefix(
                        "fd00:1:2:2::/64",
                        "fd00:1:2:2::1",
                        u64::MAX,
                        false,
                        PrefixOrigin::Ula,
                    ),
                ],
            },
        ];
        let kernel = IfaceInfo {
            index: 5,
            mac: Some([2, 0, 0, 0, 0, 1]),
            link_local: vec!["fe80::1".parse().unwrap()],
            global: vec!["2001:db8:1:1::1".parse().unwrap()],
        };
        let f = lan_facts(&state, "br0", &kernel, &clock);
        assert_eq!(f.prefixes.len(), 3);
        assert_eq!(
            f.prefixes[0].valid_until,
            Some(t + Duration::from_secs(7200))
        );
        assert_eq!(
            f.prefixes[0].preferred_until,
            Some(t + Duration::from_secs(3600))
        );
        assert!(f.prefixes[1].deprecated);
        assert_eq!(f.prefixes[2].valid_until, None);
        assert_eq!(
            f.router_addresses,
            [
                "2001:db8:1:1::1".parse::<Ipv6Addr>().unwrap(),
                "fd00:1:2:1::1".parse().unwrap()
            ]
        );
        assert!(f.upstream_default_route);
        assert!(f.delegation_known);
        assert_eq!(f.wan_mtu, Some(1492));
        // `mtu = "auto"` follows the ISP RA's MTU once the WAN applied it.
        state.wan.ipv6_mtu = 1454;
        assert_eq!(
            lan_facts(&state, "br0", &kernel, &clock).wan_mtu,
            Some(1454)
        );
        let routes: Vec<Ipv6Net> = f.routes.iter().map(|r| r.prefix).collect();
        // The ULA /48 covers br1's ULA /64; br1's global /64 gets its own route.
        assert_eq!(routes, [net("fd00:1:2::/48"), net("2001:db8:1:2::/64")]);
        assert_eq!(f.link_layer_address, Some([2, 0, 0, 0, 0, 1]));

        state.wan.default_router_v6 = None;
        assert!(!lan_facts(&state, "br0", &kernel, &clock).upstream_default_route);
        assert!(
            lan_facts(&state, "br9", &kernel, &clock)
                .prefixes
                .is_empty()
        );
    }

    /// RFC 7084 L-3: the RA on a LAN carries a Route Information option
    /// for the delegated prefix, with its length and a lifetime following the
    /// delegation (capped like the other routes); other LANs' /64s inside it
    /// need no route of their own. Failed before: no RIO for the /56.
    #[test]
    fn delegated_prefix_is_advertised_as_a_route() {
        let t = Instant::now();
        let clock = Clock::pair(MonoTime(1_000_000), t);
        let mut state = SharedState::default();
        state.wan.state = cpe_bus::WanState::Up;
        state.wan.default_router_v6 = Some("fe80::1".parse().unwrap());
        state.dhcp6.delegated_prefixes = vec![cpe_bus::state::DelegatedPrefix {
            prefix: net("2001:db8:1::/56"),
            preferred_until: MonoTime(1_000_000 + 600_000),
            valid_until: MonoTime(1_000_000 + 1_200_000),
        }];
        let lan = |interface: &str, subnet: u64| BusLan {
            interface: interface.into(),
            subnet_id: subnet,
            prefixes: vec![BusPrefix {
                prefix: net(&format!("2001:db8:1:{subnet}::/64")),
                router_address: format!("2001:db8:1:{subnet}::1").parse().unwrap(),
                preferred_until: MonoTime(1_000_000 + 600_000),
                valid_until: MonoTime(1_000_000 + 1_200_000),
                deprecated: false,
                origin: PrefixOrigin::Delegated,
            }],
        };
        state.lan = vec![lan("br0", 1), lan("br1", 2)];
        let kernel = IfaceInfo {
            index: 5,
            mac: Some([2, 0, 0, 0, 0, 1]),
            link_local: vec!["fe80::1".parse().unwrap()],
            global: Vec::new(),
        };
        let facts = lan_facts(&state, "br0", &kernel, &clock);
        let routes: Vec<Ipv6Net> = facts.routes.iter().map(|r| r.prefix).collect();
        assert_eq!(routes, [net("2001:db8:1::/56")]);

        let config = RaConfig::default();
        let mut engine = crate::Engine::new(config.clone(), &[], 1, t);
        cpe_daemon::Engine::handle(&mut engine, crate::Input::Facts(facts), t);
        let ra = engine.current_ra(t + Duration::from_secs(1000));
        let rio: Vec<(Ipv6Addr, u8, u32)> = ra
            .routes()
            .map(|r| (r.prefix, r.prefix_len, r.route_lifetime))
            .collect();
        assert_eq!(
            rio,
            [(
                "2001:db8:1::".parse().unwrap(),
                56,
                200_u32.min(config.dns_lifetime())
            )]
        );
    }

    #[test]
    fn config_maps_to_engine_config() {
        let loaded = cpe_config::parse_str(
            "[wan]\n[[lan]]\n[lan.ra]\npreference = \"high\"\nmtu = 1400\nrdnss = [\"self\", \"2001:db8::53\"]\ndnssl = [\"home.arpa\"]\n",
            "t.toml",
        )
        .unwrap();
        let c = ra_config(&loaded.config.lan[0].ra);
        assert_eq!(c.preference, RouterPreference::High);
        assert_eq!(c.mtu, MtuSetting::Fixed(1400));
        assert_eq!(
            c.rdnss,
            [
                DnsServer::SelfAddress,
                DnsServer::Address("2001:db8::53".parse().unwrap())
            ]
        );
        assert_eq!(c.dnssl[0].to_string(), "home.arpa");
        assert_eq!(c.min_interval, Duration::from_secs(200));
        assert_eq!(c.router_lifetime, 1800);
    }
}
