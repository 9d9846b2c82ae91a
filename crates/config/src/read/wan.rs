//! `[wan]`, `[wan.pppoe]`, `[wan.dhcpv6]`.

use std::path::{Path, PathBuf};

use ipnet::Ipv6Net;
use toml::de::DeValue;

use crate::model::{
    Dhcpv6Start, IPOE_DEFAULT_MTU, Mode, PPPOE_DEFAULT_MTU, Pppoe, RequestAddress, Wan, WanDhcpv6,
};
use crate::reader::{Ctx, Field, Problem, Span, Table, choose, quoted, wrong_type};
use crate::schema;
use crate::syntax;

/// The WAN as read, with the positions later checks point at.
pub(super) struct WanRead {
    pub model: Wan,
}

impl WanRead {
    /// Whether LAN prefixes come from a delegated prefix at all.
    pub fn requests_prefix(&self) -> bool {
        self.model.dhcpv6.enabled && self.model.dhcpv6.request_prefix
    }
}

const MODES: &[(&str, Mode)] = &[("ipoe", Mode::Ipoe), ("pppoe", Mode::Pppoe)];

pub(super) fn read(ctx: &mut Ctx<'_>, root: &super::Table<'_, '_>) -> WanRead {
    let Some(t) = super::sub_table(ctx, root, "wan", &schema::WAN) else {
        if root.get("wan").is_none() {
            ctx.error(
                &(0..0),
                Problem::new("missing [wan] table")
                    .hint("a minimal config is [wan] and one [[lan]]"),
            );
        }
        return WanRead {
            model: Wan::default(),
        };
    };
    let defaults = Wan::default();

    let interface = t.parsed(ctx, "interface", syntax::interface_name);
    let mode_field = t.choice(ctx, "mode", MODES);
    let mode_span = mode_field.span().cloned();
    let mode = mode_field.or(defaults.mode);
    let default_mtu = match mode {
        Mode::Ipoe => IPOE_DEFAULT_MTU,
        Mode::Pppoe => PPPOE_DEFAULT_MTU,
    };
    let mtu_field = t.u32(ctx, "mtu", 1280..=9000, " bytes (IPv6 needs at least 1280)");
    if let (Mode::Pppoe, Field::Set(mtu, span)) = (mode, &mtu_field)
        && *mtu > PPPOE_DEFAULT_MTU
    {
        ctx.warning(
            span,
            Problem::new(format!(
                "wan.mtu = {mtu} exceeds 1492 in pppoe mode: this needs RFC 4638 support from \
                 the access concentrator and an Ethernet MTU of {} on {}",
                mtu + 8,
                interface
                    .value()
                    .map_or("the WAN interface", |s| s.as_str())
            )),
        );
    }

    let pppoe = match t.get("pppoe") {
        Some(node) => Table::open(ctx, node, &schema::WAN_PPPOE).map(|p| read_pppoe(ctx, &p)),
        None => {
            if mode == Mode::Pppoe {
                ctx.error(
                    &mode_span.unwrap_or_else(|| t.span.clone()),
                    Problem::new("mode = \"pppoe\" needs a [wan.pppoe] table with credentials")
                        .hint("add [wan.pppoe] with username and password (or password_file)"),
                );
            }
            None
        }
    };

    let dhcpv6 = read_dhcpv6(ctx, &t);
    let ipv4_over_ipv6 = super::wan_s46::read(ctx, &t);
    WanRead {
        model: Wan {
            interface: interface.or(defaults.interface),
            mode,
            mtu: mtu_field.or(default_mtu),
            ipv4: t.bool(ctx, "ipv4").or(defaults.ipv4),
            pppoe,
            dhcpv6,
            closed_prefixes: closed_prefixes(ctx, &t).unwrap_or(defaults.closed_prefixes),
            ipv4_over_ipv6,
        },
    }
}

/// `closed_prefixes`: carrier ranges; a duplicate or a range inside
/// another listed one is reported where it stands.
fn closed_prefixes(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Vec<Ipv6Net>> {
    let Field::Set(list, _) = t.list(ctx, "closed_prefixes", syntax::network_prefix) else {
        return None;
    };
    let mut out: Vec<Ipv6Net> = Vec::with_capacity(list.len());
    for (net, span) in list {
        match out.iter().find(|o| o.contains(&net)) {
            Some(o) => ctx.error(
                &span,
                Problem::new(format!(
                    "wan.closed_prefixes: {net} is already covered by {o}"
                )),
            ),
            None => out.push(net),
        }
    }
    Some(out)
}

/// At most 255 bytes: PAP carries lengths in one octet, and PPPoE tags this
/// long are already unusual.
fn short_text(text: &str) -> Result<String, Problem> {
    if text.len() > 255 {
        return Err(Problem::new("longer than 255 bytes"));
    }
    Ok(text.to_owned())
}

fn read_pppoe(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Pppoe {
    let defaults = Pppoe::default();
    let username = t.parsed(ctx, "username", |s| {
        if s.is_empty() {
            return Err(Problem::new("username is empty"));
        }
        short_text(s)
    });
    if matches!(username, Field::Absent) {
        super::missing(
            ctx,
            t,
            "username",
            "PAP/CHAP needs a user name from the ISP",
        );
    }

    let password = t.parsed(ctx, "password", short_text);
    let password_file = t.string(ctx, "password_file");
    let (password, password_file) = match (password, password_file) {
        (Field::Set(..), Field::Set(_, file_span)) => {
            ctx.error(
                &t.key_span("password_file").unwrap_or(file_span),
                Problem::new("set either password or password_file, not both")
                    .hint("keep password_file so the secret stays out of the config"),
            );
            (String::new(), None)
        }
        (Field::Set(pw, _), _) => (pw, None),
        (_, Field::Set(path, span)) => match read_password_file(ctx, path, &span) {
            Some((pw, file)) => (pw, Some(file)),
            None => (String::new(), None),
        },
        (Field::Absent, Field::Absent) => {
            super::missing(
                ctx,
                t,
                "password",
                "set password, or password_file with the path of a file holding it",
            );
            (String::new(), None)
        }
        _ => (String::new(), None),
    };

    let lcp_echo_interval = t.u32(ctx, "lcp_echo_interval", 0..=3600, " seconds (0 disables)");
    let lcp_echo_failure = t.u32(ctx, "lcp_echo_failure", 1..=100, " missed echoes");
    let reconnect_min = t.u32(ctx, "reconnect_min", 1..=3600, " seconds");
    let reconnect_max = t.u32(ctx, "reconnect_max", 1..=86400, " seconds");
    let max_span = reconnect_max.span().cloned();
    let result = Pppoe {
        username: username.or(defaults.username),
        password,
        password_file,
        service: t.parsed(ctx, "service", short_text).or(defaults.service),
        ac_name: t.parsed(ctx, "ac_name", short_text).or(defaults.ac_name),
        lcp_echo_interval: lcp_echo_interval.or(defaults.lcp_echo_interval),
        lcp_echo_failure: lcp_echo_failure.or(defaults.lcp_echo_failure),
        reconnect_min: reconnect_min.or(defaults.reconnect_min),
        reconnect_max: reconnect_max.or(defaults.reconnect_max),
    };
    if result.reconnect_min > result.reconnect_max {
        let span = max_span
            .or_else(|| t.get("reconnect_min").map(|n| n.span()))
            .unwrap_or_else(|| t.span.clone());
        ctx.error(
            &span,
            Problem::new(format!(
                "reconnect_max ({}) is below reconnect_min ({})",
                result.reconnect_max, result.reconnect_min
            )),
        );
    }
    result
}

/// Reads the secret now so a missing file is a load error, not a PPP
/// authentication failure at 3 a.m. Relative paths are taken from the
/// config file's directory.
fn read_password_file(ctx: &mut Ctx<'_>, path: &str, span: &Span) -> Option<(String, PathBuf)> {
    let given = Path::new(path);
    let full = if given.is_absolute() {
        given.to_path_buf()
    } else {
        ctx.base_dir.join(given)
    };
    let bytes = match read_small_regular_file(&full) {
        Ok(bytes) => bytes,
        Err(reason) => {
            ctx.error(
                span,
                Problem::new(format!(
                    "wan.pppoe.password_file: cannot read {}: {reason}",
                    quoted(&full.display().to_string())
                )),
            );
            return None;
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        ctx.error(
            span,
            Problem::new("wan.pppoe.password_file: the file is not valid UTF-8"),
        );
        return None;
    };
    let secret = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if secret.is_empty() {
        ctx.error(
            span,
            Problem::new("wan.pppoe.password_file: the file is empty"),
        );
        return None;
    }
    if secret.len() > 255 || secret.contains('\n') {
        ctx.error(
            span,
            Problem::new("wan.pppoe.password_file: expected one line of at most 255 bytes"),
        );
        return None;
    }
    warn_if_world_readable(ctx, &full, span);
    Some((secret.to_owned(), full))
}

/// Largest secret file read; a password is one short line.
const SECRET_FILE_MAX: u64 = 4096;

/// Reads at most [`SECRET_FILE_MAX`] bytes of a regular file. Anything else
/// (a FIFO would block the loader, a device could be endless) is refused
/// without blocking; see `crate::file::read_regular_file`.
fn read_small_regular_file(path: &Path) -> Result<Vec<u8>, String> {
    crate::file::read_regular_file(path, SECRET_FILE_MAX).map_err(|r| r.to_string())
}

#[cfg(unix)]
fn warn_if_world_readable(ctx: &mut Ctx<'_>, path: &Path, span: &Span) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        ctx.warning(
            span,
            Problem::new(format!(
                "wan.pppoe.password_file {} is readable by every user",
                quoted(&path.display().to_string())
            ))
            .hint("chmod 600 it"),
        );
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_ctx: &mut Ctx<'_>, _path: &Path, _span: &Span) {}

fn read_dhcpv6(ctx: &mut Ctx<'_>, wan: &Table<'_, '_>) -> WanDhcpv6 {
    let defaults = WanDhcpv6::default();
    let Some(t) = super::sub_table(ctx, wan, "dhcpv6", &schema::WAN_DHCPV6) else {
        return defaults;
    };
    let prefix_hint = t
        .int(ctx, "prefix_hint", 48..=64, " (prefix length)")
        .map(|v| u8::try_from(v).unwrap_or(defaults.prefix_hint))
        .or(defaults.prefix_hint);
    WanDhcpv6 {
        enabled: t.bool(ctx, "enabled").or(defaults.enabled),
        request_prefix: t.bool(ctx, "request_prefix").or(defaults.request_prefix),
        prefix_hint,
        request_address: request_address(ctx, &t).or(defaults.request_address),
        rapid_commit: t.bool(ctx, "rapid_commit").or(defaults.rapid_commit),
        start: t
            .choice(
                ctx,
                "start",
                &[("ra", Dhcpv6Start::Ra), ("always", Dhcpv6Start::Always)],
            )
            .or(defaults.start),
    }
}

/// `"auto"`, `true` or `false` (also `"always"` / `"never"`).
fn request_address(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Field<RequestAddress> {
    let Some(node) = t.get("request_address") else {
        return Field::Absent;
    };
    match node.get_ref() {
        DeValue::Boolean(true) => Field::Set(RequestAddress::Always, node.span()),
        DeValue::Boolean(false) => Field::Set(RequestAddress::Never, node.span()),
        DeValue::String(text) => {
            let options = [
                ("auto", RequestAddress::Auto),
                ("always", RequestAddress::Always),
                ("never", RequestAddress::Never),
            ];
            match choose(text, &options) {
                Ok(v) => Field::Set(v, node.span()),
                Err(problem) => {
                    ctx.error(
                        &node.span(),
                        Problem {
                            message: format!("wan.dhcpv6.request_address: {}", problem.message),
                            hint: problem.hint,
                        },
                    );
                    Field::Bad
                }
            }
        }
        _ => {
            wrong_type(
                ctx,
                node,
                "wan.dhcpv6.request_address",
                "\"auto\", true or false",
            );
            Field::Bad
        }
    }
}
