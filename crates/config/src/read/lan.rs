//! `[[lan]]`, the checks across LANs, and `[lan.dhcpv6]`.

use std::collections::HashMap;

use ipnet::Ipv6Net;
use toml::de::DeValue;

use super::dns::DnsRead;
use super::wan::WanRead;
use super::{lan_ipv4, lan_ra};
use crate::model::{AddrOrSelf, Dhcpv6Mode, Lan, LanDhcpv6};
use crate::reader::{Ctx, Field, Problem, Span, Table, quoted, wrong_type};
use crate::schema;
use crate::syntax;

/// One LAN as read, with the positions later checks point at.
pub(super) struct LanRead {
    pub model: Lan,
    /// The `[[lan]]` header.
    pub header: Span,
}

impl LanRead {
    /// Whether hosts on this LAN are told to use the router as resolver.
    pub fn announces_self_dns(&self) -> bool {
        let lan = &self.model;
        let by_ra = lan.ra.enabled && lan.ra.rdnss.contains(&AddrOrSelf::SelfAddr);
        let by_dhcpv6 = lan.dhcpv6.mode == Dhcpv6Mode::Stateless
            && lan.dhcpv6.dns.contains(&AddrOrSelf::SelfAddr);
        let by_dhcpv4 = lan.ipv4.as_ref().is_some_and(|v4| v4.dhcp);
        by_ra || by_dhcpv6 || by_dhcpv4
    }
}

pub(super) fn read_all(
    ctx: &mut Ctx<'_>,
    root: &Table<'_, '_>,
    wan: &WanRead,
    dns: &DnsRead,
) -> Vec<LanRead> {
    let Some(tables) = super::table_array(ctx, root, "lan", &schema::LAN) else {
        ctx.error(
            &(0..0),
            Problem::new("missing [[lan]]: at least one LAN is required")
                .hint("a minimal config is [wan] and one [[lan]]"),
        );
        return Vec::new();
    };
    if let Some(node) = root.get("lan")
        && let DeValue::Array(items) = node.get_ref()
        && items.is_empty()
    {
        ctx.error(
            &node.span(),
            Problem::new("lan is empty: at least one LAN is required"),
        );
    }

    let mut lans = Vec::with_capacity(tables.len());
    let mut interfaces: HashMap<String, usize> = HashMap::new();
    let mut subnet_ids: HashMap<u16, usize> = HashMap::new();
    let mut ipv4_nets: Vec<(ipnet::Ipv4Net, String)> = Vec::new();
    for (index, t) in tables.iter().enumerate() {
        let lan = read_lan(ctx, t, index, wan, dns);

        let name = lan.model.interface.clone();
        if let Some(first) = interfaces.get(&name) {
            ctx.error(
                &lan.interface_span,
                Problem::new(format!(
                    "lan interface {} is already used by LAN #{}",
                    quoted(&name),
                    first + 1
                ))
                .hint("each [[lan]] needs its own interface"),
            );
        } else {
            interfaces.insert(name.clone(), index);
        }

        if let Some(first) = subnet_ids.get(&lan.model.subnet_id) {
            ctx.error(
                &lan.subnet_id_span,
                Problem::new(format!(
                    "subnet_id {} is already used by LAN #{} ({})",
                    lan.model.subnet_id,
                    first + 1,
                    lans.get(*first)
                        .map_or(String::new(), |l: &LanRead| quoted(&l.model.interface))
                ))
                .hint(if lan.subnet_id_defaulted {
                    format!(
                        "this LAN's subnet_id defaults to its position ({}): set subnet_id \
                         explicitly",
                        lan.model.subnet_id
                    )
                } else {
                    "each LAN needs its own /64: give it another subnet_id".to_owned()
                }),
            );
        } else {
            subnet_ids.insert(lan.model.subnet_id, index);
        }

        if let Some(v4) = &lan.model.ipv4 {
            let net = v4.address.trunc();
            if let Some((other, other_name)) = ipv4_nets
                .iter()
                .find(|(o, _)| o.contains(&net.network()) || net.contains(&o.network()))
            {
                ctx.error(
                    &lan.ipv4.span,
                    Problem::new(format!(
                        "lan.ipv4 subnet {net} of {} overlaps {other} of {}",
                        quoted(&name),
                        quoted(other_name)
                    ))
                    .hint(if lan.ipv4.defaulted {
                        "this LAN has the default 192.168.1.1/24: set [lan.ipv4] address, \
                         or ipv4 = false"
                    } else {
                        "give each LAN its own IPv4 subnet"
                    }),
                );
            } else {
                ipv4_nets.push((net, name.clone()));
            }
        }
        lans.push(LanRead {
            model: lan.model,
            header: t.span.clone(),
        });
    }
    lans
}

/// A LAN before the checks across LANs.
struct OneLan {
    model: Lan,
    interface_span: Span,
    subnet_id_span: Span,
    subnet_id_defaulted: bool,
    ipv4: lan_ipv4::Ipv4Read,
}

fn read_lan(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    index: usize,
    wan: &WanRead,
    dns: &DnsRead,
) -> OneLan {
    let interface = t.parsed(ctx, "interface", syntax::interface_name);
    let interface_span = interface.span().cloned().unwrap_or_else(|| t.span.clone());
    let interface = interface.or_else(|| "br0".to_owned());
    if interface == wan.model.interface {
        ctx.error(
            &interface_span,
            Problem::new(format!(
                "lan interface {} is also the WAN interface",
                quoted(&interface)
            ))
            .hint("the WAN and each LAN need their own interface"),
        );
    }

    let subnet_field = t.int(
        ctx,
        "subnet_id",
        0..=65535,
        " (16 bits at most: /48 prefix)",
    );
    let subnet_id_span = subnet_field
        .span()
        .cloned()
        .unwrap_or_else(|| t.span.clone());
    let default_id = u16::try_from(index + 1).unwrap_or(u16::MAX);
    let subnet_bad = subnet_field.is_bad();
    let subnet_id_defaulted = matches!(subnet_field, Field::Absent);
    let subnet_id = subnet_field
        .map(|v| u16::try_from(v).unwrap_or(default_id))
        .or(default_id);
    if !subnet_bad && wan.requests_prefix() {
        check_subnet_fits(ctx, subnet_id, &subnet_id_span, wan);
    }

    let local_domain = &dns.model.local_domain;
    let ra = lan_ra::read(ctx, t, local_domain);
    let ipv4 = lan_ipv4::read(ctx, t);
    let (dhcpv6, mode_span) = read_dhcpv6(ctx, t, local_domain);

    if ra.model.enabled && dhcpv6.mode == Dhcpv6Mode::Stateless && !ra.model.other_config {
        ctx.warning(
            &ra.other_config_span,
            Problem::new(
                "other_config = false while lan.dhcpv6.mode = \"stateless\": hosts never send \
                 Information-Request, so the DHCPv6 server's DNS, NTP and domain search never \
                 reach them",
            )
            .hint("set other_config = true, or lan.dhcpv6.mode = \"off\""),
        );
    }
    if ra.model.enabled && ra.model.other_config && dhcpv6.mode == Dhcpv6Mode::Off {
        ctx.warning(
            &mode_span.unwrap_or_else(|| t.span.clone()),
            Problem::new(
                "lan.dhcpv6.mode = \"off\" while the RA sets other_config (O=1): hosts ask a \
                 DHCPv6 server that never answers",
            )
            .hint("set lan.ra.other_config = false, or lan.dhcpv6.mode = \"stateless\""),
        );
    }

    let (ula, ula_prefix) = read_ula(ctx, t);
    OneLan {
        model: Lan {
            interface,
            subnet_id,
            ula,
            ula_prefix,
            ra: ra.model,
            ipv4: ipv4.model.clone(),
            dhcpv6,
        },
        interface_span,
        subnet_id_span,
        subnet_id_defaulted,
        ipv4,
    }
}

/// `lan.ula`: `true` (the generated /48, the default), `false`, or a /48
/// of fd00::/8 to use instead of the generated one.
fn read_ula(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> (bool, Option<Ipv6Net>) {
    let Some(node) = t.get("ula") else {
        return (true, None);
    };
    match node.get_ref() {
        DeValue::Boolean(b) => (*b, None),
        DeValue::String(text) => match syntax::ula_prefix(text) {
            Ok(net) => (true, Some(net)),
            Err(problem) => {
                ctx.error(&node.span(), problem);
                (true, None)
            }
        },
        _ => {
            wrong_type(
                ctx,
                node,
                "lan.ula",
                "true, false or a ULA /48 such as \"fd12:3456:789a::/48\"",
            );
            (true, None)
        }
    }
}

/// A /N delegated prefix holds 2^(64-N) /64s; `subnet_id` must index one.
fn check_subnet_fits(ctx: &mut Ctx<'_>, subnet_id: u16, span: &Span, wan: &WanRead) {
    let hint_len = u32::from(wan.model.dhcpv6.prefix_hint);
    let bits = 64u32.saturating_sub(hint_len);
    let count: u32 = 1u32 << bits.min(31);
    if u32::from(subnet_id) < count {
        return;
    }
    let needed_bits = 16 - subnet_id.leading_zeros();
    ctx.error(
        span,
        Problem::new(format!(
            "subnet_id = {subnet_id} does not fit the /{hint_len} prefix hint: a /{hint_len} \
             holds {count} /64s (subnet_id 0..={})",
            count - 1
        ))
        .hint(format!(
            "use a smaller subnet_id, or wan.dhcpv6.prefix_hint = {} or shorter",
            64 - needed_bits
        )),
    );
}

const DHCPV6_MODES: &[(&str, Dhcpv6Mode)] = &[
    ("stateless", Dhcpv6Mode::Stateless),
    ("off", Dhcpv6Mode::Off),
];

/// `[lan.dhcpv6]`, and where `mode` is (for the O-flag check).
fn read_dhcpv6(
    ctx: &mut Ctx<'_>,
    lan: &Table<'_, '_>,
    local_domain: &str,
) -> (LanDhcpv6, Option<Span>) {
    let defaults = LanDhcpv6 {
        domain_search: vec![local_domain.to_owned()],
        ..LanDhcpv6::default()
    };
    let Some(t) = super::sub_table(ctx, lan, "dhcpv6", &schema::LAN_DHCPV6) else {
        return (defaults, None);
    };
    let mode = t.choice(ctx, "mode", DHCPV6_MODES);
    let mode_span = mode.span().cloned();
    let model = LanDhcpv6 {
        mode: mode.or(defaults.mode),
        dns: items(t.list(ctx, "dns", syntax::addr_or_self_v6)).or(defaults.dns),
        domain_search: items(t.list(ctx, "domain_search", syntax::domain_name))
            .or(defaults.domain_search),
        ntp: items(t.list(ctx, "ntp", syntax::ipv6_server)).or(defaults.ntp),
        information_refresh: t
            .u32(
                ctx,
                "information_refresh",
                600..=u32::MAX,
                " seconds (RFC 8415 IRT_MINIMUM is 600; 4294967295 = infinity)",
            )
            .or(defaults.information_refresh),
    };
    (model, mode_span)
}

/// Drops the per-item spans of a list.
pub(super) fn items<T>(field: Field<Vec<(T, Span)>>) -> Field<Vec<T>> {
    field.map(|list| list.into_iter().map(|(v, _)| v).collect())
}
