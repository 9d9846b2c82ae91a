//! `[wan.ipv4_over_ipv6]`: DS-Lite and MAP-E, with the arithmetic checks
//! of a MAP-E rule (RFC 7597 section 5) so a rule that can never produce
//! an address is refused at load, at the key that breaks it.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use cpe_wire::map_e::{Rule, RuleError};

use crate::model::{Aftr, Ipv4OverIpv6, MapRule, S46Mode};
use crate::reader::{Ctx, Field, Problem, Table, quoted};
use crate::schema;
use crate::syntax;

const MODES: &[(&str, S46Mode)] = &[
    ("off", S46Mode::Off),
    ("auto", S46Mode::Auto),
    ("dslite", S46Mode::DsLite),
    ("map-e", S46Mode::MapE),
];

/// RFC 7597 5.1: the default PSID offset (a = 6) keeps ports 0..1023 out of
/// every port set.
const DEFAULT_PSID_OFFSET: u8 = 6;

pub(super) fn read(ctx: &mut Ctx<'_>, wan: &Table<'_, '_>) -> Ipv4OverIpv6 {
    let Some(t) = super::sub_table(ctx, wan, "ipv4_over_ipv6", &schema::WAN_IPV4_OVER_IPV6) else {
        return Ipv4OverIpv6::default();
    };
    let mode = t.choice(ctx, "mode", MODES);
    Ipv4OverIpv6 {
        mode: mode.or(S46Mode::Off),
        aftr: t.parsed(ctx, "aftr", aftr).or(None),
        map_rule: read_rule(ctx, &t),
    }
}

/// A name or an IPv6 address; never IPv4 (the AFTR is reached over IPv6).
fn aftr(text: &str) -> Result<Option<Aftr>, Problem> {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => Err(Problem::new(format!(
            "{} is an IPv4 address; the AFTR is reached over IPv6",
            quoted(text)
        ))
        .hint("write the AFTR's IPv6 address or its name")),
        Ok(IpAddr::V6(_)) => {
            let addr = syntax::ipv6_addr(text)?;
            if addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
                return Err(Problem::new(format!("{} is not unicast", quoted(text))));
            }
            Ok(Some(Aftr::Address(addr)))
        }
        Err(_) if text.contains(':') => Err(Problem::new(format!(
            "{} is not a valid IPv6 address",
            quoted(text)
        ))),
        Err(_) => syntax::domain_name(text).map(|name| Some(Aftr::Name(name))),
    }
}

/// A prefix of `family` ("IPv6" or "IPv4") without host bits.
fn rule_prefix(text: &str, family: &str, example: &str) -> Result<IpNet, Problem> {
    let net = text
        .parse::<IpNet>()
        .ok()
        .filter(|n| matches!(n, IpNet::V6(_)) == (family == "IPv6"))
        .ok_or_else(|| {
            Problem::new(format!("{} is not an {family} prefix", quoted(text)))
                .hint(format!("write it as address/length, e.g. \"{example}\""))
        })?;
    if net.addr() != net.network() {
        return Err(Problem::new(format!(
            "{} has bits set after the prefix length",
            quoted(text)
        ))
        .hint(format!("did you mean \"{}\"?", net.trunc())));
    }
    Ok(net)
}

fn ipv6_prefix(text: &str) -> Result<Ipv6Net, Problem> {
    match rule_prefix(text, "IPv6", "2001:db8::/40")? {
        IpNet::V6(net) if net.prefix_len() <= 64 => Ok(net),
        _ => Err(Problem::new(format!(
            "{} is longer than /64: the EA bits follow the rule prefix inside the first 64 bits",
            quoted(text)
        ))),
    }
}

fn ipv4_prefix(text: &str) -> Result<Ipv4Net, Problem> {
    match rule_prefix(text, "IPv4", "192.0.2.0/24")? {
        IpNet::V4(net) => Ok(net),
        IpNet::V6(_) => Err(Problem::new(format!(
            "{} is not an IPv4 prefix",
            quoted(text)
        ))),
    }
}

/// The rule keys: all absent = no configured rule (DHCPv6 provides it);
/// any present = a complete, arithmetically consistent rule.
fn read_rule(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<MapRule> {
    let p6 = t.parsed(ctx, "rule_ipv6_prefix", ipv6_prefix);
    let p4 = t.parsed(ctx, "rule_ipv4_prefix", ipv4_prefix);
    let ea = t.int(ctx, "ea_bits", 0..=48, " bits");
    let offset = t.int(ctx, "psid_offset", 0..=15, " bits");
    let br = t.parsed(ctx, "br", syntax::ipv6_addr);
    let any = [
        matches!(p6, Field::Absent),
        matches!(p4, Field::Absent),
        matches!(ea, Field::Absent),
        matches!(offset, Field::Absent),
        matches!(br, Field::Absent),
    ]
    .iter()
    .any(|absent| !absent);
    if !any {
        return None;
    }
    super::require(
        ctx,
        t,
        &[
            (
                "rule_ipv6_prefix",
                matches!(p6, Field::Absent),
                "a MAP-E rule needs its IPv6 prefix",
            ),
            (
                "rule_ipv4_prefix",
                matches!(p4, Field::Absent),
                "a MAP-E rule needs its IPv4 prefix",
            ),
            (
                "ea_bits",
                matches!(ea, Field::Absent),
                "a MAP-E rule needs its EA-bits length",
            ),
            (
                "br",
                matches!(br, Field::Absent),
                "a MAP-E rule needs the Border Relay's IPv6 address",
            ),
        ],
    );
    let (Field::Set(p6, _), Field::Set(p4, _), Field::Set(ea, ea_span), Field::Set(br, _)) =
        (p6, p4, ea, br)
    else {
        return None;
    };
    let offset_span = offset.span().cloned();
    let psid_offset = match offset {
        Field::Set(v, _) => u8::try_from(v).unwrap_or(DEFAULT_PSID_OFFSET),
        Field::Absent => DEFAULT_PSID_OFFSET,
        Field::Bad => return None,
    };
    let ea_bits = u8::try_from(ea).unwrap_or(0);
    let suffix = 32 - p4.prefix_len();
    let checked = Rule::new(
        p6.network(),
        p6.prefix_len(),
        p4.network(),
        p4.prefix_len(),
        ea_bits,
        psid_offset,
    );
    let (span, problem) = match checked {
        Ok(_) => {
            return Some(MapRule {
                ipv6_prefix: p6,
                ipv4_prefix: p4,
                ea_bits,
                psid_offset,
                br,
            });
        }
        Err(RuleError::EaBelowSuffix { suffix }) => (
            ea_span,
            Problem::new(format!(
                "ea_bits = {ea_bits} is less than the {suffix} IPv4 suffix bits of \
                 rule_ipv4_prefix {p4}: EA bits are the IPv4 suffix followed by the PSID \
                 (RFC 7597 5.2)"
            ))
            .hint(format!("ea_bits must be at least {suffix}")),
        ),
        Err(RuleError::PsidTooLong { psid_len }) => (
            ea_span,
            Problem::new(format!(
                "ea_bits = {ea_bits} leaves a {psid_len}-bit PSID after the {suffix} IPv4 \
                 suffix bits of {p4}, but a port has 16 bits"
            ))
            .hint(format!("ea_bits must be at most {}", suffix + 16)),
        ),
        Err(RuleError::PortBits { total }) => (
            offset_span.unwrap_or(ea_span),
            Problem::new(format!(
                "psid_offset = {psid_offset} plus the {}-bit PSID (ea_bits {ea_bits} - \
                 {suffix} IPv4 suffix bits) is {total}, more than the 16 bits of a port",
                total - psid_offset
            )),
        ),
        Err(RuleError::PastSixtyFour { total }) => (
            ea_span,
            Problem::new(format!(
                "rule_ipv6_prefix {p6} (/{}) plus ea_bits = {ea_bits} is {total} bits: the EA \
                 bits must end within the first 64 bits of the delegated prefix \
                 (RFC 7597 5.2)",
                p6.prefix_len()
            ))
            .hint(format!("ea_bits must be at most {}", 64 - p6.prefix_len())),
        ),
        // The readers above bound every length.
        Err(RuleError::PrefixLength) => (ea_span, Problem::new("prefix length out of range")),
    };
    ctx.error(&span, problem);
    None
}
