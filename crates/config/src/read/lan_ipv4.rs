//! `[lan.ipv4]`: the LAN's IPv4 subnet and DHCPv4 pool.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use toml::de::DeValue;

use crate::model::LanIpv4;
use crate::reader::{Ctx, Field, Problem, Span, Table, wrong_type};
use crate::schema;
use crate::syntax;

/// IPv4 of one LAN as read.
#[derive(Clone)]
pub(super) struct Ipv4Read {
    pub model: Option<LanIpv4>,
    /// Where the subnet is given (address, table, or the LAN header).
    pub span: Span,
    /// True when the subnet is the built-in default, for a better hint
    /// when two LANs collide.
    pub defaulted: bool,
}

/// `ipv4 = false` turns IPv4 off on this LAN; an absent table (or
/// `ipv4 = true`) means the defaults.
pub(super) fn read(ctx: &mut Ctx<'_>, lan: &Table<'_, '_>) -> Ipv4Read {
    let defaulted = |span: Span| Ipv4Read {
        model: Some(LanIpv4::default()),
        span,
        defaulted: true,
    };
    let Some(node) = lan.get("ipv4") else {
        return defaulted(lan.span.clone());
    };
    match node.get_ref() {
        DeValue::Boolean(false) => Ipv4Read {
            model: None,
            span: node.span(),
            defaulted: false,
        },
        DeValue::Boolean(true) => defaulted(node.span()),
        DeValue::Table(_) => match Table::open(ctx, node, &schema::LAN_IPV4) {
            Some(t) => read_table(ctx, &t),
            None => defaulted(node.span()),
        },
        _ => {
            wrong_type(ctx, node, "lan.ipv4", "a [lan.ipv4] table or false");
            Ipv4Read {
                model: None,
                span: node.span(),
                defaulted: false,
            }
        }
    }
}

fn read_table(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Ipv4Read {
    let defaults = LanIpv4::default();
    let address = t.parsed(ctx, "address", syntax::ipv4_interface);
    let defaulted = matches!(address, Field::Absent);
    let span = address.span().cloned().unwrap_or_else(|| t.span.clone());
    let address_bad = address.is_bad();
    let address = address.or(defaults.address);
    let dhcp = t.bool(ctx, "dhcp").or(defaults.dhcp);

    let pool = match t.parsed(ctx, "pool", syntax::ipv4_range) {
        Field::Set(pool, pool_span) => {
            if !address_bad {
                check_pool(ctx, pool, address, &pool_span);
            }
            pool
        }
        Field::Bad => defaults.pool,
        Field::Absent => match default_pool(address) {
            Some(pool) => pool,
            None => {
                if dhcp && !address_bad {
                    ctx.error(
                        &t.span,
                        Problem::new(format!(
                            "[lan.ipv4] has no pool and {address} leaves no default one"
                        ))
                        .hint("set pool = \"FIRST-LAST\" or dhcp = false"),
                    );
                }
                defaults.pool
            }
        },
    };

    Ipv4Read {
        model: Some(LanIpv4 {
            address,
            dhcp,
            pool,
            lease_time: t
                .u32(ctx, "lease_time", 120..=31_536_000, " seconds")
                .or(defaults.lease_time),
        }),
        span,
        defaulted,
    }
}

/// The pool must hold only host addresses of the subnet, without the
/// router's own.
fn check_pool(ctx: &mut Ctx<'_>, pool: (Ipv4Addr, Ipv4Addr), address: Ipv4Net, span: &Span) {
    let subnet = address.trunc();
    let (first, last) = (u32::from(pool.0), u32::from(pool.1));
    let network = u32::from(subnet.network());
    let broadcast = u32::from(subnet.broadcast());
    let router = u32::from(address.addr());
    let problem = if !subnet.contains(&pool.0) || !subnet.contains(&pool.1) {
        Some(
            Problem::new(format!(
                "lan.ipv4.pool {}-{} is outside the LAN subnet {subnet}",
                pool.0, pool.1
            ))
            .hint(format!(
                "addresses must lie in {subnet} (hosts {}-{})",
                Ipv4Addr::from(network.saturating_add(1)),
                Ipv4Addr::from(broadcast.saturating_sub(1))
            )),
        )
    } else if first == network || last == broadcast {
        Some(Problem::new(format!(
            "lan.ipv4.pool {}-{} includes the network or broadcast address of {subnet}",
            pool.0, pool.1
        )))
    } else if (first..=last).contains(&router) {
        Some(
            Problem::new(format!(
                "lan.ipv4.pool {}-{} includes the router's own address {}",
                pool.0,
                pool.1,
                address.addr()
            ))
            .hint("move the pool or the router address so they do not overlap"),
        )
    } else {
        None
    };
    if let Some(problem) = problem {
        ctx.error(span, problem);
    }
}

/// Hosts .100 to .199 of the subnet (the spec's default for a /24), or, if
/// that does not fit or contains the router, the larger run of host
/// addresses on either side of the router's.
pub(crate) fn default_pool(address: Ipv4Net) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let network = u32::from(address.network());
    let first_host = network.checked_add(1)?;
    let last_host = u32::from(address.broadcast()).checked_sub(1)?;
    let router = u32::from(address.addr());
    let start = network.checked_add(100)?;
    let end = network.checked_add(199)?.min(last_host);
    if start <= end && !(start..=end).contains(&router) {
        return Some((Ipv4Addr::from(start), Ipv4Addr::from(end)));
    }
    let below = (router > first_host).then(|| (first_host, router - 1));
    let above = (router < last_host).then(|| (router + 1, last_host));
    let size = |r: &(u32, u32)| r.1 - r.0;
    let best = match (below, above) {
        (Some(b), Some(a)) => Some(if size(&a) >= size(&b) { a } else { b }),
        (b, a) => b.or(a),
    }?;
    Some((Ipv4Addr::from(best.0), Ipv4Addr::from(best.1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn pool(a: &str, b: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
        Some((a.parse().unwrap(), b.parse().unwrap()))
    }

    #[test]
    fn default_pool_follows_the_subnet() {
        assert_eq!(
            default_pool(net("192.168.1.1/24")),
            pool("192.168.1.100", "192.168.1.199")
        );
        assert_eq!(
            default_pool(net("10.0.0.1/8")),
            pool("10.0.0.100", "10.0.0.199")
        );
        assert_eq!(
            default_pool(net("192.168.1.1/25")),
            pool("192.168.1.100", "192.168.1.126")
        );
        assert_eq!(
            default_pool(net("192.168.1.1/26")),
            pool("192.168.1.2", "192.168.1.62")
        );
        assert_eq!(
            default_pool(net("192.168.1.1/30")),
            pool("192.168.1.2", "192.168.1.2")
        );
    }
}
