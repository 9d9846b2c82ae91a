//! From the spanned TOML tree to a validated [`Config`]: one module per
//! top-level table, read in dependency order (the WAN before the LANs that
//! are checked against it, `dns.local_domain` before the LAN defaults that
//! follow it, the LANs before `dns.listen` that names them).

mod dns;
mod firewall;
mod lan;
mod lan_ipv4;
mod lan_ra;
mod ntp;
mod system;
mod wan;
mod wan_s46;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::model::Config;
use crate::reader::{Ctx, Problem, Table, type_name};
use crate::schema::{self, TableSchema};

/// Reads the whole document. Problems are recorded in `ctx`; the returned
/// config is only meaningful when `ctx` holds no error.
pub(crate) fn read_config(ctx: &mut Ctx<'_>, document: &Spanned<DeTable<'_>>) -> Config {
    let root = Table::from_entries(document.get_ref(), 0..0, &schema::ROOT);
    root.report_unknown_keys(ctx);

    let system = system::read(ctx, &root);
    let wan = wan::read(ctx, &root);
    let dns = dns::read(ctx, &root);
    let lans = lan::read_all(ctx, &root, &wan, &dns);
    dns::check_against_lans(ctx, &dns, &wan.model, &lans);
    let firewall = firewall::read(ctx, &root, &wan.model);
    let ntp = ntp::read(ctx, &root);

    Config {
        system,
        wan: wan.model,
        lan: lans.into_iter().map(|l| l.model).collect(),
        dns: dns.model,
        firewall,
        ntp,
    }
}

/// An optional sub-table: `None` if absent or not a table (reported).
fn sub_table<'a, 'i>(
    ctx: &mut Ctx<'_>,
    parent: &Table<'a, 'i>,
    key: &str,
    schema: &'static TableSchema,
) -> Option<Table<'a, 'i>> {
    parent
        .get(key)
        .and_then(|node| Table::open(ctx, node, schema))
}

/// An array of tables (`[[lan]]`, inline `{...}` entries): `None` if absent;
/// entries that are not tables are reported and skipped.
fn table_array<'a, 'i>(
    ctx: &mut Ctx<'_>,
    parent: &Table<'a, 'i>,
    key: &str,
    schema: &'static TableSchema,
) -> Option<Vec<Table<'a, 'i>>> {
    let node = parent.get(key)?;
    let DeValue::Array(items) = node.get_ref() else {
        ctx.error(
            &node.span(),
            Problem::new(format!(
                "{} must be an array of tables, found {}",
                schema.path,
                type_name(node.get_ref())
            ))
            .hint(format!("write {} once per entry", schema.header)),
        );
        return Some(Vec::new());
    };
    Some(
        items
            .iter()
            .filter_map(|item| Table::open(ctx, item, schema))
            .collect(),
    )
}

/// Reports a required key that is missing, at the table header, unless an
/// unknown key in the same table is a near miss of it (that key's own
/// "did you mean" already says what is wrong).
fn missing(ctx: &mut Ctx<'_>, table: &Table<'_, '_>, key: &str, hint: &str) {
    if table.has_misspelling_of(key) {
        return;
    }
    ctx.error(
        &table.span,
        Problem::new(format!(
            "{} is missing required key \"{key}\"",
            table.schema.header
        ))
        .hint(hint.to_owned()),
    );
}

/// [`missing`] for each `(key, absent, hint)` whose key is absent: the
/// required keys of one table, reported together.
fn require(ctx: &mut Ctx<'_>, table: &Table<'_, '_>, keys: &[(&str, bool, &str)]) {
    for (key, absent, hint) in keys {
        if *absent {
            missing(ctx, table, key, hint);
        }
    }
}
