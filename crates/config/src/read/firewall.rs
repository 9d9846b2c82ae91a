//! `[firewall]` and `[[firewall.pinhole]]`.

use crate::model::{Firewall, Icmpv6Policy, InboundPolicy, Mode, Pinhole, PinholeProto, Wan};
use crate::reader::{Ctx, Field, Problem, Table, quoted};
use crate::schema;
use crate::syntax;

const INBOUND: &[(&str, InboundPolicy)] = &[
    ("drop", InboundPolicy::Drop),
    ("reject", InboundPolicy::Reject),
    ("accept", InboundPolicy::Accept),
];
const ICMPV6: &[(&str, Icmpv6Policy)] = &[("rfc4890", Icmpv6Policy::Rfc4890)];
const PROTOS: &[(&str, PinholeProto)] = &[("tcp", PinholeProto::Tcp), ("udp", PinholeProto::Udp)];

pub(super) fn read(ctx: &mut Ctx<'_>, root: &Table<'_, '_>, wan: &Wan) -> Firewall {
    let defaults = Firewall::default();
    let Some(t) = super::sub_table(ctx, root, "firewall", &schema::FIREWALL) else {
        return defaults;
    };
    let enabled = t.bool(ctx, "enabled");
    if let Field::Set(false, span) = &enabled {
        ctx.warning(
            span,
            Problem::new(
                "firewall.enabled = false: every LAN host is reachable from the Internet over IPv6",
            ),
        );
    }
    let inbound = t.choice(ctx, "wan_inbound", INBOUND);
    if let Field::Set(InboundPolicy::Accept, span) = &inbound {
        ctx.warning(
            span,
            Problem::new(
                "firewall.wan_inbound = \"accept\": unsolicited traffic from the WAN reaches every \
                 LAN host over IPv6 (there is no NAT to hide them)",
            )
            .hint("keep \"drop\" and open single services with [[firewall.pinhole]]"),
        );
    }
    let mss_clamp = t.bool(ctx, "mss_clamp");
    if let (Mode::Pppoe, Field::Set(false, span)) = (wan.mode, &mss_clamp) {
        ctx.warning(
            span,
            Problem::new(
                "firewall.mss_clamp = false on a PPPoE WAN: TCP sessions through hosts or paths \
                 that filter ICMP Packet Too Big will hang on large transfers",
            ),
        );
    }
    Firewall {
        enabled: enabled.or(defaults.enabled),
        wan_inbound: inbound.or(defaults.wan_inbound),
        icmpv6: t.choice(ctx, "icmpv6", ICMPV6).or(defaults.icmpv6),
        echo_request_limit: t
            .parsed(ctx, "echo_request_limit", syntax::rate)
            .or(defaults.echo_request_limit),
        ipv4_nat: t.bool(ctx, "ipv4_nat").or(defaults.ipv4_nat),
        mss_clamp: mss_clamp.or(defaults.mss_clamp),
        pinhole: pinholes(ctx, &t),
    }
}

fn pinholes(ctx: &mut Ctx<'_>, firewall: &Table<'_, '_>) -> Vec<Pinhole> {
    let Some(tables) = super::table_array(ctx, firewall, "pinhole", &schema::FIREWALL_PINHOLE)
    else {
        return Vec::new();
    };
    let mut out: Vec<Pinhole> = Vec::with_capacity(tables.len());
    for t in &tables {
        let name = t.parsed(ctx, "name", syntax::rule_name);
        let proto = t.choice(ctx, "proto", PROTOS);
        let port = t.int(ctx, "port", 1..=65535, "");
        let host = t.parsed(ctx, "host", syntax::pinhole_host);
        super::require(
            ctx,
            t,
            &[
                (
                    "name",
                    matches!(name, Field::Absent),
                    "a label such as \"nas-https\"",
                ),
                (
                    "proto",
                    matches!(proto, Field::Absent),
                    "\"tcp\" or \"udp\"",
                ),
                (
                    "port",
                    matches!(port, Field::Absent),
                    "the destination port, 1..65535",
                ),
                (
                    "host",
                    matches!(host, Field::Absent),
                    "an interface identifier such as \"::1234\", or a full address",
                ),
            ],
        );
        let (
            Field::Set(name, name_span),
            Field::Set(proto, _),
            Field::Set(port, _),
            Field::Set(host, _),
        ) = (name, proto, port, host)
        else {
            continue;
        };
        if out.iter().any(|p| p.name == name) {
            ctx.error(
                &name_span,
                Problem::new(format!(
                    "firewall.pinhole name {} is used twice",
                    quoted(&name)
                )),
            );
            continue;
        }
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        out.push(Pinhole {
            name,
            proto,
            port,
            host,
        });
    }
    out
}
