//! `[lan.ra]`: RFC 4861 section 6.2.1 ranges and the RFC 4191 preference.

use toml::de::DeValue;

use super::lan::items;
use crate::model::{LanRa, RaMtu, RouterPreference};
use crate::reader::{Ctx, Field, Problem, Span, Table, quoted, wrong_type};
use crate::schema;
use crate::syntax;

/// The RA settings as read, and where `other_config` is (or the nearest
/// header when defaulted).
pub(super) struct RaRead {
    pub model: LanRa,
    pub other_config_span: Span,
}

const PREFERENCES: &[(&str, RouterPreference)] = &[
    ("low", RouterPreference::Low),
    ("medium", RouterPreference::Medium),
    ("high", RouterPreference::High),
];

/// RFC 4861: MaxRtrAdvInterval 4..=1800 s.
const MAX_INTERVAL: std::ops::RangeInclusive<u32> = 4..=1800;
/// RFC 4861: MinRtrAdvInterval >= 3 s and <= 0.75 * MaxRtrAdvInterval.
const MIN_INTERVAL_FLOOR: u32 = 3;
/// RFC 4861: AdvDefaultLifetime 0 or MaxRtrAdvInterval..=9000 s.
const LIFETIME_MAX: u32 = 9000;

pub(super) fn read(ctx: &mut Ctx<'_>, lan: &Table<'_, '_>, local_domain: &str) -> RaRead {
    let defaults = LanRa {
        dnssl: vec![local_domain.to_owned()],
        ..LanRa::default()
    };
    let Some(t) = super::sub_table(ctx, lan, "ra", &schema::LAN_RA) else {
        return RaRead {
            model: defaults,
            other_config_span: lan.span.clone(),
        };
    };

    let managed = t.bool(ctx, "managed");
    if let Field::Set(true, span) = &managed {
        ctx.error(
            span,
            Problem::new(
                "managed = true (M flag) needs a stateful DHCPv6 server, and this router only \
                 has a stateless one: hosts would wait for addresses nobody hands out",
            )
            .hint("set managed = false; hosts get addresses by SLAAC from the /64"),
        );
    }
    let other_config = t.bool(ctx, "other_config");
    let other_config_span = other_config
        .span()
        .cloned()
        .unwrap_or_else(|| t.span.clone());

    let (min_interval, max_interval, router_lifetime) = intervals(ctx, &t);
    let autonomous = t.bool(ctx, "autonomous");
    if let Field::Set(false, span) = &autonomous {
        ctx.warning(
            span,
            Problem::new(
                "autonomous = false (PIO A flag): hosts form no address from this LAN's \
                 prefixes by SLAAC, and this router hands out none by DHCPv6 (stateless only)",
            )
            .hint("leave autonomous = true unless the hosts are numbered by hand"),
        );
    }

    RaRead {
        model: LanRa {
            enabled: t.bool(ctx, "enabled").or(defaults.enabled),
            managed: false,
            other_config: other_config.or(defaults.other_config),
            preference: t
                .choice(ctx, "preference", PREFERENCES)
                .or(defaults.preference),
            min_interval,
            max_interval,
            router_lifetime,
            mtu: ra_mtu(ctx, &t).or(defaults.mtu),
            rdnss: items(t.list(ctx, "rdnss", syntax::addr_or_self_v6)).or(defaults.rdnss),
            dnssl: items(t.list(ctx, "dnssl", syntax::domain_name)).or(defaults.dnssl),
            prefixes: prefixes(ctx, &t),
            autonomous: autonomous.or(defaults.autonomous),
            on_link: t.bool(ctx, "on_link").or(defaults.on_link),
        },
        other_config_span,
    }
}

/// min/max interval and router lifetime, with RFC 4861's derived defaults
/// (min = max/3, lifetime = 3 * max) and their relations.
fn intervals(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> (u32, u32, u32) {
    let max = t.u32(ctx, "max_interval", MAX_INTERVAL, " seconds (RFC 4861)");
    let min = t.u32(
        ctx,
        "min_interval",
        MIN_INTERVAL_FLOOR..=1350,
        " seconds (RFC 4861)",
    );
    let lifetime = t.u32(
        ctx,
        "router_lifetime",
        0..=LIFETIME_MAX,
        " seconds (RFC 4861)",
    );

    let max_known = !max.is_bad();
    let max_span = max.span().cloned();
    let max_value = max.or(600);
    let min_value = match min {
        Field::Set(value, span) => {
            if max_known {
                check_min_against_max(ctx, value, max_value, &span, max_span.is_some());
            }
            value
        }
        Field::Absent | Field::Bad => (max_value / 3).max(MIN_INTERVAL_FLOOR),
    };
    let lifetime_value = match lifetime {
        Field::Set(value, span) => {
            if max_known && value != 0 && value < max_value {
                ctx.error(
                    &span,
                    Problem::new(format!(
                        "lan.ra.router_lifetime = {value} is below max_interval ({max_value}): \
                         hosts would drop the default route between two RAs"
                    ))
                    .hint(format!(
                        "use 0 (not a default router) or {max_value}..={LIFETIME_MAX}"
                    )),
                );
            }
            value
        }
        Field::Absent | Field::Bad => max_value.saturating_mul(3).min(LIFETIME_MAX),
    };
    (min_value, max_value, lifetime_value)
}

fn check_min_against_max(ctx: &mut Ctx<'_>, min: u32, max: u32, span: &Span, max_given: bool) {
    let max_name = if max_given {
        format!("max_interval ({max})")
    } else {
        format!("the default max_interval ({max})")
    };
    if min >= max {
        ctx.error(
            span,
            Problem::new(format!(
                "lan.ra.min_interval = {min} must be less than {max_name}"
            ))
            .hint(format!("at most {} (0.75 x max_interval)", max * 3 / 4)),
        );
    } else if u64::from(min) * 4 > u64::from(max) * 3 {
        ctx.error(
            span,
            Problem::new(format!(
                "lan.ra.min_interval = {min} exceeds 0.75 x {max_name} = {} (RFC 4861 6.2.1)",
                max * 3 / 4
            )),
        );
    }
}

/// `"auto"`, `"off"`, or a number 1280..=9000.
fn ra_mtu(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Field<RaMtu> {
    let Some(node) = t.get("mtu") else {
        return Field::Absent;
    };
    match node.get_ref() {
        DeValue::String(text) => match text.as_ref() {
            "auto" => Field::Set(RaMtu::Auto, node.span()),
            "off" => Field::Set(RaMtu::Off, node.span()),
            other => {
                ctx.error(
                    &node.span(),
                    Problem::new(format!(
                        "lan.ra.mtu: {} is not \"auto\", \"off\" or a number",
                        quoted(other)
                    )),
                );
                Field::Bad
            }
        },
        DeValue::Integer(_) => t
            .u32(ctx, "mtu", 1280..=9000, " bytes (IPv6 needs at least 1280)")
            .map(RaMtu::Value),
        _ => {
            wrong_type(ctx, node, "lan.ra.mtu", "\"auto\", \"off\" or a number");
            Field::Bad
        }
    }
}

/// Extra /64s; a duplicate is reported at its second occurrence.
fn prefixes(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Vec<ipnet::Ipv6Net> {
    let Field::Set(list, _) = t.list(ctx, "prefixes", syntax::advertised_prefix) else {
        return Vec::new();
    };
    let mut out: Vec<ipnet::Ipv6Net> = Vec::with_capacity(list.len());
    for (net, span) in list {
        if out.contains(&net) {
            ctx.error(
                &span,
                Problem::new(format!("lan.ra.prefixes lists {net} twice")),
            );
        } else {
            out.push(net);
        }
    }
    out
}
