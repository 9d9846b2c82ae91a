//! Text rendering of the status report for an 80-column serial console.
//!
//! Plain ASCII so every terminal shows it; colour (bold state words) only
//! when stdout is a TTY, so logs and scripts never see escape codes.

use std::fmt::Write;

use cpe_bus::status::dhcp4s::Dhcp4sStatus;
use cpe_bus::status::dhcp6s::Dhcp6sStatus;
use cpe_bus::status::ra::RaStatus;
use cpe_bus::status::wan::{PppoeStatus, WanStatus};
use cpe_bus::status::{Common, INFINITE_LFT, LanPrefixReport, PrefixReport, StatusReport};
use cpe_bus::{Daemon, WanState};
use serde::Deserialize;

/// Longest line we print; serial consoles are 80 columns.
pub const WIDTH: usize = 80;

/// A lifetime in seconds as an engineer reads it: `1h02m`, `45s`, `infinite`.
pub fn duration(secs: u64) -> String {
    if secs == INFINITE_LFT {
        return "infinite".into();
    }
    let (d, h, m, s) = (
        secs / 86_400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

fn bold(text: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn state_word(s: WanState) -> &'static str {
    match s {
        WanState::Unknown => "UNKNOWN",
        WanState::Down => "DOWN",
        WanState::Connecting => "CONNECTING",
        WanState::Up => "UP",
    }
}

/// Appends `items` after `label`, wrapping at [`WIDTH`] with an indent.
fn wrapped(out: &mut String, label: &str, items: &[String]) {
    let indent = " ".repeat(label.len());
    let mut line = label.to_string();
    let mut first = true;
    for it in items {
        let sep = if first { "" } else { ", " };
        if !first && line.len() + sep.len() + it.len() > WIDTH {
            let _ = writeln!(out, "{}", line.trim_end_matches(' ').trim_end_matches(','));
            line = format!("{indent}{it}");
        } else {
            line.push_str(sep);
            line.push_str(it);
        }
        first = false;
    }
    if items.is_empty() {
        line.push('-');
    }
    let _ = writeln!(out, "{line}");
}

fn prefix_line(p: &PrefixReport) -> String {
    format!(
        "{}  pref {}  valid {}",
        p.prefix,
        duration(p.preferred_lft),
        duration(p.valid_lft)
    )
}

fn lan_prefix_line(p: &LanPrefixReport) -> String {
    let tag = match (p.deprecated, p.origin) {
        (true, _) => "deprecated",
        (false, cpe_bus::PrefixOrigin::Delegated) => "delegated",
        (false, cpe_bus::PrefixOrigin::Ula) => "ula",
        (false, cpe_bus::PrefixOrigin::Static) => "static",
    };
    format!(
        "{:<24} pref {:<8} valid {:<8} {tag}",
        p.prefix.to_string(),
        duration(p.preferred_lft),
        duration(p.valid_lft)
    )
}

/// The WAN section.
pub fn wan(r: &StatusReport, colour: bool) -> String {
    let w = &r.wan;
    let mut out = String::new();
    let mode = if w.mode.is_empty() { "-" } else { &w.mode };
    let iface = if w.interface.is_empty() {
        "-"
    } else {
        &w.interface
    };
    let _ = writeln!(
        out,
        "WAN   {mode} on {iface}  {}  carrier {}",
        bold(state_word(w.state), colour),
        if w.carrier { "yes" } else { "no" }
    );
    if !w.reason.is_empty() {
        labelled(&mut out, "      why: ", &w.reason);
    }
    if let Some(p) = r.daemon::<WanStatus>(Daemon::Wan).and_then(|s| s.pppoe) {
        pppoe(&mut out, &p, &w.reason);
    }
    wrapped(&mut out, "      addr ", &w.addresses);
    let router = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or("-".into());
    let _ = writeln!(
        out,
        "      router v6 {}  v4 {}",
        router(w.default_router_v6),
        router(w.default_router_v4)
    );
    let dns: Vec<String> = w.dns_servers.iter().map(|a| a.to_string()).collect();
    wrapped(&mut out, "      dns  ", &dns);
    let d = &w.dhcpv6;
    let t = |v: Option<u64>| v.map(duration).unwrap_or("-".into());
    let _ = writeln!(
        out,
        "      dhcpv6 {}  T1 {}  T2 {}",
        if d.state.is_empty() { "-" } else { &d.state },
        t(d.t1_s),
        t(d.t2_s)
    );
    if let Some(duid) = &d.server_duid {
        let shown = if duid.len() > 60 { &duid[..60] } else { duid };
        let _ = writeln!(out, "      server {shown}");
    }
    if w.delegated_prefixes.is_empty() {
        let _ = writeln!(out, "      prefix -");
    }
    for p in &w.delegated_prefixes {
        let _ = writeln!(out, "      prefix {}", prefix_line(p));
    }
    for p in &d.previous_prefixes {
        let _ = writeln!(out, "      old    {}", prefix_line(p));
    }
    out
}

/// `text` after `label`, wrapped at word boundaries to the console width,
/// continuation lines indented under the text.
fn labelled(out: &mut String, label: &str, text: &str) {
    let indent = " ".repeat(label.len());
    for (i, line) in wrap_words(text, WIDTH - label.len()).iter().enumerate() {
        let _ = writeln!(out, "{}{line}", if i == 0 { label } else { &indent });
    }
}

/// The PPPoE lines of the WAN section, from the WAN daemon's own status:
/// discovery phase, the access concentrator, the session id (or the one
/// that ended), and the last failure when the reason above does not
/// already say it.
fn pppoe(out: &mut String, p: &PppoeStatus, reason: &str) {
    let mut line = format!("      pppoe {}", dash(&p.phase));
    if let Some(ac) = &p.ac {
        let _ = write!(line, "  AC '{}' {}", dash(&ac.name), dash(&ac.mac));
    }
    match (p.session_id.as_deref(), p.last_session_id.as_deref()) {
        (Some(id), _) => {
            let _ = write!(line, "  session {id}");
        }
        (None, Some(id)) => {
            let _ = write!(line, "  session {id} (ended)");
        }
        (None, None) => {}
    }
    if line.len() <= WIDTH {
        let _ = writeln!(out, "{line}");
    } else {
        // A long AC name: give up the double spaces to stay in 80 columns.
        labelled(out, "      ", line.trim_start());
    }
    if let Some(f) = p.last_failure.as_deref()
        && !reason.contains(f)
    {
        labelled(out, "      last failure: ", f);
    }
    ppp(out, p, reason);
}

/// The PPP lines under the PPPoE line: the unit with MRU/MTU, each NCP's
/// result, an authentication failure, and the reconnect count with the
/// next attempt.
fn ppp(out: &mut String, p: &PppoeStatus, reason: &str) {
    if let Some(unit) = &p.unit {
        let mut line = format!("      {unit}");
        if let Some(mru) = p.mru {
            let _ = write!(line, "  MRU {mru}");
        }
        if let Some(mtu) = p.mtu {
            let _ = write!(line, "  MTU {mtu}");
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(t) = &p.ipcp {
        labelled(out, "      ipcp   ", t);
    }
    if let Some(t) = &p.ipv6cp {
        labelled(out, "      ipv6cp ", t);
    }
    if let Some(f) = p.auth_failure.as_deref()
        && !reason.contains(f)
    {
        labelled(out, "      auth failure: ", f);
    }
    if p.reconnects > 0 || p.next_attempt_s.is_some() {
        let mut line = format!("      reconnects {}", p.reconnects);
        if let Some(s) = p.next_attempt_s {
            let _ = write!(line, ", next in {s} s");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The LAN section.
pub fn lan(r: &StatusReport) -> String {
    let mut out = String::new();
    for l in &r.lan {
        let _ = writeln!(out, "LAN   {} (subnet {})", l.interface, l.subnet_id);
        if l.prefixes.is_empty() {
            let _ = writeln!(out, "      no prefix yet");
        }
        for p in &l.prefixes {
            let _ = writeln!(out, "      {}", lan_prefix_line(p));
        }
        for problem in &l.problems {
            for (i, line) in wrap_words(problem, 80 - 8).iter().enumerate() {
                let mark = if i == 0 { "!" } else { " " };
                let _ = writeln!(out, "      {mark} {line}");
            }
        }
    }
    out
}

/// Splits `text` into lines of at most `width` characters at spaces (a
/// word longer than `width` stands alone), so the screen stays 80 columns.
pub(crate) fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Text as shown, `-` for nothing (a field the daemon did not send).
pub(crate) fn dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// An optional value as shown, `-` for none.
fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn texts<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(T::to_string).collect()
}

/// `cpectl show lan`: per LAN what is advertised and served, from the
/// supervisor's LAN facts and the RA, DHCPv6 and DHCPv4 daemons' status.
pub fn lan_detail(r: &StatusReport) -> String {
    let mut out = lan(r);
    let ra: RaStatus = r.daemon(Daemon::Ra).unwrap_or_default();
    let d6: Dhcp6sStatus = r.daemon(Daemon::Dhcp6s).unwrap_or_default();
    let d4: Dhcp4sStatus = r.daemon(Daemon::Dhcp4s).unwrap_or_default();
    for l in &r.lan {
        let iface = l.interface.as_str();
        if let Some(ra) = ra.lans.iter().find(|e| e.interface == iface) {
            let flag = |b: bool| u8::from(b);
            let _ = writeln!(
                out,
                "RA    {iface}: M={} O={} preference {} router lifetime {} mtu {}",
                flag(ra.managed),
                flag(ra.other_config),
                dash(&ra.preference),
                ra.router_lifetime,
                opt(ra.mtu)
            );
            wrapped(&mut out, "      rdnss ", &texts(&ra.rdnss));
            wrapped(&mut out, "      dnssl ", &ra.dnssl);
            for p in &ra.prefixes {
                let _ = writeln!(
                    out,
                    "      pio {} pref {} valid {}{}",
                    dash(&p.prefix),
                    p.preferred_lifetime,
                    p.valid_lifetime,
                    if p.deprecated { " deprecated" } else { "" }
                );
            }
            let c = &ra.counters;
            let _ = writeln!(
                out,
                "      sent {} unsolicited, {} solicited; RS {} in, {} answered; {} dropped",
                c.ra_sent_unsolicited,
                c.ra_sent_solicited,
                c.rs_received,
                c.rs_answered,
                c.dropped_total()
            );
            for rogue in &ra.rogue_routers {
                let _ = writeln!(
                    out,
                    "      ROGUE {} ({}) seen {}x",
                    opt(rogue.source),
                    rogue.link_layer_address.as_deref().unwrap_or("-"),
                    rogue.count
                );
                wrapped(&mut out, "            prefixes ", &rogue.prefixes);
            }
        }
        if let Some(d6) = d6.lans.iter().find(|e| e.interface == iface) {
            let c = &d6.counters;
            let _ = writeln!(
                out,
                "DHCPv6 {iface}: {} received, {} replies, {} dropped",
                c.received, c.replies, c.dropped
            );
            wrapped(&mut out, "      dns ", &d6.dns);
        }
        if let Some(d4) = d4.lans.iter().find(|e| e.interface == iface) {
            let _ = writeln!(
                out,
                "DHCPv4 {iface}: {}, {} bound, {} offered",
                dash(&d4.address),
                opt(d4.bound),
                opt(d4.offered)
            );
            let _ = writeln!(
                out,
                "      pool {} ({} addresses)",
                dash(&d4.pool),
                opt(d4.pool_size)
            );
            for lease in &d4.leases {
                let _ = writeln!(
                    out,
                    "      {:<15} {} {:<8} {} {}",
                    dash(&lease.address),
                    dash(&lease.mac),
                    dash(&lease.state),
                    opt(lease.expires_in),
                    lease.hostname.as_deref().unwrap_or("-")
                );
            }
        }
    }
    out
}

/// Why a running daemon does nothing, if it says so in its own status
/// (`"implemented": false`, with the reason in `reason` or `note`).
///
/// A process that is alive and supervised is reported `running` by the
/// supervisor; printed as such, a `firewall running` line would tell the
/// engineer the router filters traffic when nothing is installed.
fn not_active_reason(r: &StatusReport, name: &str) -> Option<String> {
    let own: Common = Common::deserialize(r.daemon_status.get(name)?).ok()?;
    if own.implemented != Some(false) {
        return None;
    }
    Some(
        own.reason
            .or(own.note)
            .unwrap_or_else(|| "the daemon reports \"implemented\": false".to_owned()),
    )
}

/// The first `max` characters of one line of `text` (control characters
/// shown as spaces), so text from a daemon cannot widen or break the screen.
fn clip(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// The daemon table. A daemon that runs but reports it does nothing is
/// `not active`, with its reason on the next line.
pub fn daemons(r: &StatusReport) -> String {
    const REASON_INDENT: &str = "           reason: ";
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:<10} {:>8} {:>8}  LAST EXIT",
        "DAEMON", "PID", "STATE", "RESTARTS", "UPTIME"
    );
    for d in &r.daemons {
        let inactive = (d.state == "running")
            .then(|| not_active_reason(r, &d.name))
            .flatten();
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:<10} {:>8} {:>8}  {}",
            d.name,
            d.pid.map(|p| p.to_string()).unwrap_or("-".into()),
            if inactive.is_some() {
                "not active"
            } else {
                &d.state
            },
            d.restarts,
            d.uptime_s.map(duration).unwrap_or("-".into()),
            d.last_exit.as_deref().unwrap_or("-")
        );
        if let Some(reason) = inactive {
            let _ = writeln!(
                out,
                "{REASON_INDENT}{}",
                clip(&reason, WIDTH - REASON_INDENT.len())
            );
        }
    }
    out
}

/// The whole screen.
pub fn status(r: &StatusReport, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (cpe {})  up {}  config gen {}",
        r.hostname,
        r.version,
        duration(r.uptime_s),
        r.config_generation
    );
    let _ = writeln!(out, "config {}", r.config_file);
    out.push_str(&wan(r, colour));
    out.push_str(&lan(r));
    if let Some(l) = crate::firewall::status_line(r) {
        out.push_str(&l);
        out.push('\n');
    }
    if let Some(l) = time_line(r) {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str(&daemons(r));
    out
}

/// The NTP client's one line: whom the clock follows and how far off it
/// was, or why it is not synchronised (a router without RTC logs lies
/// until this line says "synced").
fn time_line(r: &StatusReport) -> Option<String> {
    let n: cpe_bus::status::ntp::NtpStatus = r.daemon(Daemon::Ntp)?;
    let line = if n.synced {
        let mut l = format!(
            "time      synced to {} (stratum {})  offset {:+.3} ms",
            n.server.as_deref().unwrap_or("?"),
            n.stratum.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            n.offset_ms.unwrap_or_default()
        );
        if let Some(age) = n.last_sync_age {
            let _ = write!(l, "  {} ago", duration(age));
        }
        if let Some(reason) = &n.reason {
            let _ = write!(l, "; {reason}");
        }
        l
    } else {
        format!(
            "time      NOT synced: {}",
            n.reason.as_deref().unwrap_or("unknown")
        )
    };
    Some(clip(&line, WIDTH))
}

/// A daemon's own status object as indented `key: value` lines.
pub fn json_as_text(v: &serde_json::Value) -> String {
    fn walk(out: &mut String, v: &serde_json::Value, indent: usize) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if v.is_object() || v.is_array() {
                        let _ = writeln!(out, "{:indent$}{k}:", "");
                        walk(out, v, indent + 2);
                    } else {
                        let _ = writeln!(out, "{:indent$}{k}: {}", "", scalar(v));
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for v in a {
                    if v.is_object() || v.is_array() {
                        let _ = writeln!(out, "{:indent$}-", "");
                        walk(out, v, indent + 2);
                    } else {
                        let _ = writeln!(out, "{:indent$}- {}", "", scalar(v));
                    }
                }
            }
            other => {
                let _ = writeln!(out, "{:indent$}{}", "", scalar(other));
            }
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    walk(&mut out, v, 0);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cpe_bus::status::{DaemonReport, LanReport};

    /// A report with a bit of everything, shared with `why`'s tests.
    pub(crate) fn sample() -> StatusReport {
        let mut r = StatusReport {
            version: "0.1.0".into(),
            hostname: "cpe".into(),
            config_file: "/etc/cpe/config.toml".into(),
            config_generation: 1,
            uptime_s: 3723,
            ..Default::default()
        };
        r.wan.mode = "ipoe".into();
        r.wan.interface = "wan0".into();
        r.wan.state = WanState::Up;
        r.wan.addresses = (0..6).map(|i| format!("2001:db8:ffff::{i:x}/64")).collect();
        r.wan.dhcpv6.server_duid = Some("00".repeat(64));
        r.wan.delegated_prefixes = vec![PrefixReport {
            prefix: "2001:db8:1200::/56".parse().unwrap(),
            preferred_lft: 3600,
            valid_lft: 7200,
        }];
        r.lan = vec![LanReport {
            interface: "br0".into(),
            subnet_id: 1,
            prefixes: vec![LanPrefixReport {
                prefix: "2001:db8:1201::/64".parse().unwrap(),
                router_address: "2001:db8:1201::1".parse().unwrap(),
                preferred_lft: INFINITE_LFT,
                valid_lft: INFINITE_LFT,
                deprecated: true,
                origin: cpe_bus::PrefixOrigin::Delegated,
            }],
            problems: vec![
                "delegated 2001:db8:1200::/64 has no subnet 1 for br0 (a /64 holds subnet 0 \
                 only; subnet_id 1 needs a /63 or shorter): numbered with subnet 0 instead"
                    .into(),
            ],
        }];
        r.daemons = vec![DaemonReport {
            name: "dhcp6c".into(),
            pid: Some(4_194_303),
            state: "running".into(),
            restarts: 12,
            uptime_s: Some(86_400 * 3),
            last_exit: Some("signal 9".into()),
        }];
        r
    }

    #[test]
    fn pppoe_shows_phase_ac_session_and_a_wrapped_reason() {
        let mut r = sample();
        r.wan.mode = "pppoe".into();
        r.wan.state = WanState::Down;
        r.wan.reason = "PPPoE session 0x0001 with AC 'lab-ac' (02:00:00:00:ac:01): the kernel \
                        has no PPP support (socket(AF_PPPOX): EAFNOSUPPORT)"
            .into();
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"pppoe": {
                "phase": "stopped",
                "ac": {"name": "lab-ac", "mac": "02:00:00:00:ac:01"},
                "session_id": null,
                "last_session_id": "0x0001",
                "last_failure": "the kernel has no PPP support (socket(AF_PPPOX): EAFNOSUPPORT)",
            }}),
        );
        let text = wan(&r, false);
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide ({}): {line}", line.len());
        }
        assert!(text.contains(
            "      why: PPPoE session 0x0001 with AC 'lab-ac' (02:00:00:00:ac:01): the kernel\n           has no PPP support"
        ), "{text}");
        assert!(
            text.contains(
                "      pppoe stopped  AC 'lab-ac' 02:00:00:00:ac:01  session 0x0001 (ended)\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("last failure"),
            "the reason already says it: {text}"
        );
        r.wan.reason = "PPPoE discovery: PADI sent, waiting for PADO".into();
        assert!(wan(&r, false).contains("      last failure: the kernel has no PPP support"));
    }

    #[test]
    fn pppoe_shows_the_ppp_unit_ncps_and_reconnects() {
        let mut r = sample();
        r.wan.mode = "pppoe".into();
        r.wan.reason = "PPPoE session 0x0001 with AC 'lab-ac' (02:00:00:00:ac:01) up on ppp0: \
                        IPv4 192.0.2.10"
            .into();
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"pppoe": {
                "phase": "network",
                "ac": {"name": "lab-ac", "mac": "02:00:00:00:ac:01"},
                "session_id": "0x0001",
                "unit": "ppp0", "mru": 1492, "mtu": 1492,
                "ipcp": "up 192.0.2.10 peer 10.0.0.1 dns 198.51.100.1, 198.51.100.2",
                "ipv6cp": "stopped: peer rejected IPV6CP",
                "auth_failure": "PAP: refused: \"bad password\"",
                "reconnects": 2, "next_attempt_s": null,
            }}),
        );
        let text = wan(&r, false);
        assert!(
            text.contains("      pppoe network  AC 'lab-ac' 02:00:00:00:ac:01  session 0x0001\n"),
            "{text}"
        );
        assert!(text.contains("      ppp0  MRU 1492  MTU 1492\n"), "{text}");
        assert!(
            text.contains(
                "      ipcp   up 192.0.2.10 peer 10.0.0.1 dns 198.51.100.1, 198.51.100.2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("      ipv6cp stopped: peer rejected IPV6CP\n"),
            "{text}"
        );
        assert!(
            text.contains("      auth failure: PAP: refused: \"bad password\"\n"),
            "{text}"
        );
        assert!(text.contains("      reconnects 2\n"), "{text}");
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide ({}): {line}", line.len());
        }
    }

    #[test]
    fn fits_80_columns_without_colour() {
        let text = status(&sample(), false);
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide ({}): {line}", line.len());
        }
        assert!(!text.contains('\x1b'));
        assert!(text.contains("prefix 2001:db8:1200::/56  pref 1h00m  valid 2h00m"));
        assert!(text.contains("deprecated"));
        assert!(status(&sample(), true).contains("\x1b[1mUP\x1b[0m"));
    }

    #[test]
    fn a_daemon_that_reports_no_engine_is_not_active_with_its_reason() {
        let mut r = sample();
        for name in ["firewall", "dns"] {
            r.daemons.push(DaemonReport {
                name: name.into(),
                pid: Some(4242),
                state: "running".into(),
                restarts: 0,
                uptime_s: Some(60),
                last_exit: None,
            });
        }
        r.daemon_status.insert(
            "firewall".into(),
            serde_json::json!({
                "implemented": false,
                "note": "protocol engine not in this build yet",
            }),
        );
        r.daemon_status
            .insert("dns".into(), serde_json::json!({"implemented": true}));
        let text = status(&r, false);
        let lines: Vec<&str> = text.lines().collect();
        // The daemon table's row (the screen also has a firewall line).
        let table = lines.iter().position(|l| l.starts_with("DAEMON")).unwrap();
        let fw = table
            + lines[table..]
                .iter()
                .position(|l| l.starts_with("firewall "))
                .unwrap();
        assert!(lines[fw].contains(" not active "), "{text}");
        assert!(!lines[fw].contains("running"), "{text}");
        assert_eq!(
            lines[fw + 1].trim(),
            "reason: protocol engine not in this build yet"
        );
        let dns = lines.iter().find(|l| l.starts_with("dns ")).unwrap();
        assert!(dns.contains(" running "), "{text}");

        // A long or multi-line reason stays on one 80-column line.
        r.daemon_status.insert(
            "firewall".into(),
            serde_json::json!({"implemented": false, "reason": format!("a\nb{}", "x".repeat(200))}),
        );
        let text = status(&r, false);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.contains("reason: a bxxx"), "{text}");
        // Not running (backoff, stopped): the supervisor's word stands.
        r.daemons
            .iter_mut()
            .for_each(|d| d.state = "backoff".into());
        assert!(!status(&r, false).contains("not active"));
    }

    #[test]
    fn a_status_cut_short_or_of_another_shape_shows_dashes_not_a_panic() {
        let mut r = sample();
        r.daemon_status.insert(
            "ra".into(),
            serde_json::json!({"lans": [{"interface": "br0", "counters": {"rs_received": 7}}]}),
        );
        r.daemon_status.insert(
            "dhcp4s".into(),
            serde_json::json!({"lans": [{"interface": "br0", "leases": [{"mac": "02:00:00:00:00:01"}]}]}),
        );
        r.daemon_status
            .insert("dhcp6s".into(), serde_json::json!({"lans": 5}));
        let text = lan_detail(&r);
        assert!(
            text.contains("RA    br0: M=0 O=0 preference - router lifetime 0 mtu -"),
            "{text}"
        );
        assert!(text.contains("RS 7 in, 0 answered"), "{text}");
        assert!(text.contains("DHCPv4 br0: -, - bound, - offered"), "{text}");
        assert!(text.contains("      pool - (- addresses)"), "{text}");
        assert!(text.contains("02:00:00:00:00:01 -"), "{text}");
        assert!(!text.contains("DHCPv6"), "{text}");
        // The console and the daemons agree on field names: what a daemon
        // serializes is what the console reads back.
        let mut lan = cpe_bus::status::ra::RaLanStatus {
            interface: "br0".into(),
            mtu: Some(1500),
            ..Default::default()
        };
        lan.counters.drop_for("hop_limit");
        let ra = cpe_bus::status::ra::RaStatus { lans: vec![lan] };
        r.daemon_status
            .insert("ra".into(), serde_json::to_value(&ra).unwrap());
        let text = lan_detail(&r);
        assert!(text.contains("mtu 1500"), "{text}");
        assert!(text.contains("; 1 dropped"), "{text}");
    }

    #[test]
    fn the_time_line_says_whom_the_clock_follows_or_why_not() {
        let mut r = sample();
        assert!(
            !status(&r, false).contains("time "),
            "no NTP client, no line"
        );
        r.daemon_status.insert(
            "ntp".into(),
            serde_json::json!({"synced": false, "reason": "no reply from 2001:db8::123 for 8 s"}),
        );
        assert!(
            status(&r, false).contains("time      NOT synced: no reply from 2001:db8::123 for 8 s")
        );
        r.daemon_status.insert(
            "ntp".into(),
            serde_json::json!({"synced": true, "server": "2001:db8::123", "stratum": 9,
                "offset_ms": -0.25, "last_sync_age": 75, "reason": null}),
        );
        let text = status(&r, false);
        assert!(
            text.contains(
                "time      synced to 2001:db8::123 (stratum 9)  offset -0.250 ms  1m15s ago"
            ),
            "{text}"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(61), "1m01s");
        assert_eq!(duration(3723), "1h02m");
        assert_eq!(duration(90_000), "1d01h");
        assert_eq!(duration(INFINITE_LFT), "infinite");
    }
}
