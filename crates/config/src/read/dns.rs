//! `[dns]` and the checks of `dns.listen` against the interfaces.

use super::lan::{LanRead, items};
use crate::model::{Dns, HostEntry, UpstreamSpec, Wan};
use crate::reader::{Ctx, Field, Problem, Span, Table, quoted};
use crate::schema;
use crate::suggest;
use crate::syntax;

/// `[dns]` as read, with the positions the LAN checks point at.
pub(super) struct DnsRead {
    pub model: Dns,
    /// Each `listen` entry and where it is (the table header or the top of
    /// the file when defaulted).
    pub listen: Vec<(String, Span)>,
    /// Where `enabled` is, or the `[dns]` header.
    pub enabled_span: Option<Span>,
}

/// Roles `listen` accepts besides interface names.
const ROLES: &[&str] = &["lan", "wan", "lo"];

pub(super) fn read(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> DnsRead {
    let defaults = Dns::default();
    let Some(t) = super::sub_table(ctx, root, "dns", &schema::DNS) else {
        return DnsRead {
            listen: vec![("lan".to_owned(), 0..0)],
            model: defaults,
            enabled_span: None,
        };
    };
    let enabled = t.bool(ctx, "enabled");
    let enabled_span = Some(enabled.span().cloned().unwrap_or_else(|| t.span.clone()));
    let listen = match t.list(ctx, "listen", |s| Ok(s.to_owned())) {
        Field::Set(list, _) => list,
        Field::Absent | Field::Bad => vec![("lan".to_owned(), t.span.clone())],
    };
    let local_domain = t.parsed(ctx, "local_domain", syntax::domain_name);
    if let Field::Set(name, span) = &local_domain
        && name == "local"
    {
        ctx.warning(
            span,
            Problem::new("dns.local_domain = \"local\" collides with mDNS (RFC 6762)")
                .hint("use \"home.arpa\" (RFC 8375) or \"lan\""),
        );
    }
    let upstream = items(t.list(ctx, "upstream", upstream_entry)).or(defaults.upstream);
    if upstream.is_empty() {
        ctx.warning(
            &t.get("upstream")
                .map_or_else(|| t.span.clone(), |n| n.span()),
            Problem::new("dns.upstream is empty: only local names will resolve")
                .hint("use [\"auto\"] to follow the servers learned on the WAN"),
        );
    }
    DnsRead {
        model: Dns {
            enabled: enabled.or(defaults.enabled),
            listen: listen.iter().map(|(name, _)| name.clone()).collect(),
            upstream,
            cache_size: t
                .u32(
                    ctx,
                    "cache_size",
                    0..=100_000,
                    " entries (0 disables the cache)",
                )
                .or(defaults.cache_size),
            local_domain: local_domain.or(defaults.local_domain),
            hosts: hosts(ctx, &t).unwrap_or(defaults.hosts),
        },
        listen,
        enabled_span,
    }
}

fn upstream_entry(text: &str) -> Result<UpstreamSpec, Problem> {
    if text == "auto" {
        return Ok(UpstreamSpec::Auto);
    }
    match syntax::addr_or_self_any(text) {
        Ok(crate::model::AddrOrSelf::Addr(addr)) => Ok(UpstreamSpec::Addr(addr)),
        Ok(crate::model::AddrOrSelf::SelfAddr) => {
            Err(Problem::new("\"self\" would forward to this router itself"))
        }
        Err(problem) => Err(problem.hint("use \"auto\" or a server address")),
    }
}

/// `hosts = [ { name = ..., addresses = [...] }, ... ]`; `None` if absent.
fn hosts(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Vec<HostEntry>> {
    let tables = super::table_array(ctx, t, "hosts", &schema::DNS_HOSTS)?;
    let mut out: Vec<HostEntry> = Vec::with_capacity(tables.len());
    for entry in &tables {
        let name = entry.parsed(ctx, "name", syntax::domain_name);
        if matches!(name, Field::Absent) {
            super::missing(
                ctx,
                entry,
                "name",
                "e.g. { name = \"nas\", addresses = [\"192.168.1.10\"] }",
            );
        }
        let addresses = items(entry.list(ctx, "addresses", syntax::addr_or_self_any));
        match &addresses {
            Field::Absent => super::missing(
                ctx,
                entry,
                "addresses",
                "list one or more addresses, or \"self\"",
            ),
            Field::Set(list, span) if list.is_empty() => {
                ctx.error(span, Problem::new("dns.hosts.addresses is empty"))
            }
            _ => {}
        }
        if let (Field::Set(name, span), Field::Set(addresses, _)) = (name, addresses) {
            if out.iter().any(|h| h.name == name) {
                ctx.error(
                    &span,
                    Problem::new(format!("dns.hosts names {} twice", quoted(&name)))
                        .hint("list all addresses of a name in one entry"),
                );
                continue;
            }
            out.push(HostEntry { name, addresses });
        }
    }
    Some(out)
}

/// `listen` names must be roles or configured interfaces; the resolver
/// should answer where the LANs are told to find it.
pub(super) fn check_against_lans(ctx: &mut Ctx<'_>, dns: &DnsRead, wan: &Wan, lans: &[LanRead]) {
    let mut valid: Vec<&str> = ROLES.to_vec();
    valid.push(&wan.interface);
    valid.extend(lans.iter().map(|l| l.model.interface.as_str()));

    for (name, span) in &dns.listen {
        if !valid.contains(&name.as_str()) {
            let mut problem = Problem::new(format!(
                "dns.listen: {} is neither a role (lan, wan, lo) nor a configured interface",
                quoted(name)
            ));
            problem = match suggest::closest(name, &valid) {
                Some(best) => problem.hint(format!("did you mean \"{best}\"?")),
                None => problem.hint(format!("valid here: {}", valid.join(", "))),
            };
            ctx.error(span, problem);
        } else if name == "wan" || *name == wan.interface {
            ctx.warning(
                span,
                Problem::new(
                    "dns.listen includes the WAN: the forwarder becomes an open resolver that \
                     attackers use for amplification",
                )
                .hint("answer only the LANs unless the WAN side is a trusted network"),
            );
        }
    }

    for lan in lans.iter().filter(|l| l.announces_self_dns()) {
        let name = &lan.model.interface;
        if !dns.model.enabled {
            if let Some(span) = &dns.enabled_span {
                ctx.warning(
                    span,
                    Problem::new(format!(
                        "dns.enabled = false, but LAN {} announces this router as DNS server",
                        quoted(name)
                    ))
                    .hint(
                        "enable the forwarder, or list other servers in rdnss and lan.dhcpv6.dns",
                    ),
                );
            }
            break;
        }
        let served = dns.listen.iter().any(|(l, _)| l == "lan" || l == name);
        if !served {
            ctx.warning(
                &lan.header,
                Problem::new(format!(
                    "LAN {} announces this router as DNS server, but dns.listen does not include it",
                    quoted(name)
                ))
                .hint(format!("add \"{name}\" or \"lan\" to dns.listen")),
            );
        }
    }
}
