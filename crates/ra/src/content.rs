//! Builds the RA a LAN should receive right now from configuration, facts
//! and the prefix table.
//!
//! Everything time-dependent (lifetimes counting down) is computed from
//! `now`, so each RA tells hosts the truth at the moment it leaves.

use std::net::Ipv6Addr;
use std::time::Instant;

use ipnet::Ipv6Net;

use cpe_wire::nd::{
    DnsSearchList, NdOption, PrefixInformation, RecursiveDnsServers, RouteInformation,
    RouterAdvertisement, RouterPreference,
};

use crate::config::{DnsServer, MtuSetting, RaConfig};
use crate::facts::LanFacts;
use crate::prefixes::{PioLifetimes, PrefixTable};

/// IPv6 minimum link MTU (RFC 8200 5); an MTU option below it is never sent.
const IPV6_MIN_MTU: u32 = 1280;

/// Largest RA we send: the IPv6 minimum MTU minus the IPv6 header, so it is
/// never fragmented on any link (RFC 6980: hosts drop fragmented ND).
pub const MAX_RA_OCTETS: usize = 1280 - 40;

/// An RA ready to encode plus what it promised per prefix.
#[derive(Debug, Clone)]
pub struct Built {
    /// The message.
    pub ra: RouterAdvertisement,
    /// PIO lifetimes it carries.
    pub pios: Vec<PioLifetimes>,
    /// Options left out to stay within [`MAX_RA_OCTETS`].
    pub skipped: usize,
    /// Why router lifetime is 0 (see [`not_default_router`]).
    pub not_default_router: Option<&'static str>,
}

/// Which options go first when space is short: what hosts need to get an
/// address, a route and a resolver, then the withdrawal of old prefixes,
/// then the extras.
fn priority(option: &NdOption) -> u8 {
    match option {
        NdOption::SourceLinkLayerAddress(_) | NdOption::Mtu(_) => 0,
        NdOption::RecursiveDnsServers(_) => 1,
        NdOption::PrefixInformation(p) if p.preferred_lifetime > 0 => 2,
        NdOption::PrefixInformation(_) => 3,
        NdOption::DnsSearchList(_) => 4,
        _ => 5,
    }
}

/// Keeps the options that fit in [`MAX_RA_OCTETS`] by priority, in their
/// original order; returns them and how many were left out.
fn fit(options: Vec<NdOption>) -> (Vec<NdOption>, usize) {
    let mut ranked: Vec<(u8, usize, usize)> = options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut buf = Vec::new();
            let size = o.encode(&mut buf).map_or(usize::MAX, |()| buf.len());
            (priority(o), i, size)
        })
        .collect();
    ranked.sort_unstable();
    let mut budget = MAX_RA_OCTETS.saturating_sub(cpe_wire::nd::RA_FIXED_LEN);
    let mut keep = vec![false; options.len()];
    for (_, i, size) in ranked {
        if size <= budget
            && let Some(k) = keep.get_mut(i)
        {
            budget -= size;
            *k = true;
        }
    }
    let skipped = keep.iter().filter(|k| !**k).count();
    let kept = options
        .into_iter()
        .zip(keep)
        .filter_map(|(o, k)| k.then_some(o))
        .collect();
    (kept, skipped)
}

fn is_ula(a: &Ipv6Addr) -> bool {
    a.octets()[0] & 0xfe == 0xfc
}

/// The address "self" stands for: a ULA one first (survives renumbering),
/// else one inside an active prefix. None if the LAN has no usable address.
pub fn self_address(facts: &LanFacts, table: &PrefixTable) -> Option<Ipv6Addr> {
    let in_active = |a: &Ipv6Addr| table.active().any(|p| p.contains(a));
    facts
        .router_addresses
        .iter()
        .find(|a| is_ula(a) && in_active(a))
        .or_else(|| facts.router_addresses.iter().find(|a| in_active(a)))
        .copied()
}

/// RDNSS addresses after resolving "self", without duplicates.
pub fn dns_servers(config: &RaConfig, facts: &LanFacts, table: &PrefixTable) -> Vec<Ipv6Addr> {
    let mut out = Vec::new();
    for entry in &config.rdnss {
        let addr = match entry {
            DnsServer::SelfAddress => self_address(facts, table),
            DnsServer::Address(a) => Some(*a),
        };
        if let Some(a) = addr.filter(|a| !out.contains(a)) {
            out.push(a);
        }
    }
    out
}

/// The MTU option value, if one is to be sent.
pub fn mtu(config: &RaConfig, facts: &LanFacts) -> Option<u32> {
    match config.mtu {
        MtuSetting::Auto => facts.wan_mtu,
        MtuSetting::Fixed(m) => Some(m),
        MtuSetting::Off => None,
    }
    .filter(|m| *m >= IPV6_MIN_MTU)
}

/// Whether hosts could reach the Internet from `prefix`: not a ULA and not
/// link-local, so a global (or other routable) prefix.
fn is_global(prefix: &Ipv6Net) -> bool {
    let a = prefix.network();
    !is_ula(&a) && !a.is_unicast_link_local()
}

/// Router lifetime to advertise, given the PIOs this RA carries.
///
/// Zero in the final RA (RFC 4861 6.2.5) and without an upstream default
/// route (RFC 7084 G-4/G-5). Also zero unless at least one global prefix
/// that is still delegated or configured (not being withdrawn) is
/// advertised here, because RFC 7084 says:
///
/// > ULA-5: An IPv6 CE router MUST NOT advertise itself as a default router
/// > with a Router Lifetime greater than zero whenever all of its
/// > configured and delegated prefixes are ULA prefixes.
///
/// > L-4: An IPv6 CE router MUST NOT advertise itself as a default router
/// > with a Router Lifetime [RFC4861] greater than zero if it has no
/// > prefixes configured or delegated to it.
///
/// Hosts holding only a ULA (or nothing) would otherwise send Internet
/// traffic to a router that cannot source it, instead of falling back to
/// IPv4. A prefix being withdrawn (deprecated after renumbering or loss of
/// the delegation) no longer counts: it is no longer delegated, and G-5
/// asks for the zero at once.
pub fn router_lifetime(
    config: &RaConfig,
    facts: &LanFacts,
    pios: &[PioLifetimes],
    final_ra: bool,
) -> u16 {
    if not_default_router(facts, pios, final_ra).is_some() {
        0
    } else {
        config.router_lifetime
    }
}

/// Why [`router_lifetime`] is forced to 0, in words for the status; `None`
/// when the configured lifetime is advertised.
pub fn not_default_router(
    facts: &LanFacts,
    pios: &[PioLifetimes],
    final_ra: bool,
) -> Option<&'static str> {
    let global = pios
        .iter()
        .any(|p| !p.deprecated && p.valid > 0 && is_global(&p.prefix));
    if final_ra {
        Some("final RA (stopping)")
    } else if !facts.upstream_default_route {
        Some("no IPv6 default route on the WAN")
    } else if !global {
        Some("no global prefix on this LAN (ULA only or none)")
    } else {
        None
    }
}

/// The RA to send at `now`.
pub fn build(
    config: &RaConfig,
    facts: &LanFacts,
    table: &PrefixTable,
    now: Instant,
    final_ra: bool,
) -> Built {
    let mut options = Vec::new();
    if let Some(mac) = facts.link_layer_address {
        options.push(NdOption::SourceLinkLayerAddress(mac.to_vec()));
    }
    if let Some(m) = mtu(config, facts) {
        options.push(NdOption::Mtu(m));
    }
    let pios = table.lifetimes(now);
    for p in &pios {
        options.push(NdOption::PrefixInformation(PrefixInformation {
            prefix_len: p.prefix.prefix_len(),
            on_link: config.on_link,
            autonomous: config.autonomous,
            other_flags: 0,
            valid_lifetime: p.valid,
            preferred_lifetime: p.preferred,
            prefix: p.prefix.network(),
        }));
    }
    let dns_lifetime = config.dns_lifetime();
    let preference = match config.preference {
        RouterPreference::Reserved => RouterPreference::Medium,
        p => p,
    };
    for r in &facts.routes {
        // A route to a prefix that is on-link here would be pointless.
        if pios.iter().any(|p| p.prefix == r.prefix) {
            continue;
        }
        let remaining = r.valid_until.map_or(u32::MAX, |v| {
            u32::try_from(v.saturating_duration_since(now).as_secs()).unwrap_or(u32::MAX)
        });
        let lifetime = remaining.min(dns_lifetime);
        if lifetime > 0 {
            options.push(NdOption::RouteInformation(RouteInformation {
                prefix_len: r.prefix.prefix_len(),
                preference,
                route_lifetime: lifetime,
                prefix: r.prefix.network(),
            }));
        }
    }
    let servers = dns_servers(config, facts, table);
    if !servers.is_empty() {
        options.push(NdOption::RecursiveDnsServers(RecursiveDnsServers {
            lifetime: dns_lifetime,
            servers,
        }));
    }
    if !config.dnssl.is_empty() {
        options.push(NdOption::DnsSearchList(DnsSearchList {
            lifetime: dns_lifetime,
            domains: config.dnssl.clone(),
        }));
    }
    let (options, skipped) = fit(options);
    let sent: Vec<Ipv6Addr> = options
        .iter()
        .filter_map(|o| match o {
            NdOption::PrefixInformation(p) => Some(p.prefix),
            _ => None,
        })
        .collect();
    let pios: Vec<PioLifetimes> = pios
        .into_iter()
        .filter(|p| sent.contains(&p.prefix.network()))
        .collect();
    let ra = RouterAdvertisement {
        cur_hop_limit: config.cur_hop_limit,
        managed: config.managed,
        other_config: config.other_config,
        preference,
        other_flags: 0,
        router_lifetime: router_lifetime(config, facts, &pios, final_ra),
        reachable_time: 0,
        retrans_timer: 0,
        options,
    };
    let not_default_router = not_default_router(facts, &pios, final_ra);
    Built {
        ra,
        pios,
        skipped,
        not_default_router,
    }
}
