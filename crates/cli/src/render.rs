//! Text rendering of the status report for an 80-column serial console.
//!
//! Plain ASCII so every terminal shows it; colour (bold state words) only
//! when stdout is a TTY, so logs and scripts never see escape codes.

use std::fmt::Write;

use cpe_bus::WanState;
use cpe_bus::status::{INFINITE_LFT, LanPrefixReport, PrefixReport, StatusReport};

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
        let _ = writeln!(out, "      why: {}", w.reason);
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
    }
    out
}

fn num(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

/// The entry for `iface` in a daemon status of the form `{"lans": [...]}`.
fn lan_entry<'a>(r: &'a StatusReport, daemon: &str, iface: &str) -> Option<&'a serde_json::Value> {
    r.daemon_status
        .get(daemon)?
        .get("lans")?
        .as_array()?
        .iter()
        .find(|l| l["interface"] == iface)
}

fn counter_sum(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        serde_json::Value::Object(m) => m.values().map(counter_sum).sum(),
        _ => 0,
    }
}

/// `cpectl show lan`: per LAN what is advertised and served, from the
/// supervisor's LAN facts and the RA, DHCPv6 and DHCPv4 daemons' status.
pub fn lan_detail(r: &StatusReport) -> String {
    let mut out = lan(r);
    for l in &r.lan {
        let iface = l.interface.as_str();
        if let Some(ra) = lan_entry(r, "ra", iface) {
            let flag = |k: &str| if ra[k] == true { 1 } else { 0 };
            let _ = writeln!(
                out,
                "RA    {iface}: M={} O={} preference {} router lifetime {} mtu {}",
                flag("managed"),
                flag("other_config"),
                num(&ra["preference"]),
                num(&ra["router_lifetime"]),
                num(&ra["mtu"])
            );
            wrapped(&mut out, "      rdnss ", &list(&ra["rdnss"]));
            wrapped(&mut out, "      dnssl ", &list(&ra["dnssl"]));
            for p in ra["prefixes"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "      pio {} pref {} valid {}{}",
                    num(&p["prefix"]),
                    num(&p["preferred_lifetime"]),
                    num(&p["valid_lifetime"]),
                    if p["deprecated"] == true {
                        " deprecated"
                    } else {
                        ""
                    }
                );
            }
            let c = &ra["counters"];
            let _ = writeln!(
                out,
                "      sent {} unsolicited, {} solicited; RS {} in, {} answered; {} dropped",
                num(&c["ra_sent_unsolicited"]),
                num(&c["ra_sent_solicited"]),
                num(&c["rs_received"]),
                num(&c["rs_answered"]),
                counter_sum(&c["dropped"])
            );
            for rogue in ra["rogue_routers"].as_array().into_iter().flatten() {
                let prefixes: Vec<String> = rogue["prefixes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p.get("prefix").map(num).unwrap_or_else(|| num(p)))
                    .collect();
                let _ = writeln!(
                    out,
                    "      ROGUE {} ({}) seen {}x",
                    num(&rogue["source"]),
                    num(&rogue["link_layer_address"]),
                    num(&rogue["count"])
                );
                wrapped(&mut out, "            prefixes ", &prefixes);
            }
        }
        if let Some(d6) = lan_entry(r, "dhcp6s", iface) {
            let c = &d6["counters"];
            let _ = writeln!(
                out,
                "DHCPv6 {iface}: {} received, {} replies, {} dropped",
                num(&c["received"]),
                num(&c["replies"]),
                num(&c["dropped"])
            );
            wrapped(&mut out, "      dns ", &list(&d6["dns"]));
        }
        if let Some(d4) = lan_entry(r, "dhcp4s", iface) {
            let _ = writeln!(
                out,
                "DHCPv4 {iface}: {}, {} bound, {} offered",
                num(&d4["address"]),
                num(&d4["bound"]),
                num(&d4["offered"])
            );
            let _ = writeln!(
                out,
                "      pool {} ({} addresses)",
                num(&d4["pool"]),
                num(&d4["pool_size"])
            );
            for lease in d4["leases"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "      {:<15} {} {:<8} {} {}",
                    num(&lease["address"]),
                    num(&lease["mac"]),
                    num(&lease["state"]),
                    num(&lease["expires_in"]),
                    num(&lease["hostname"])
                );
            }
        }
    }
    out
}

/// The daemon table.
pub fn daemons(r: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:<9} {:>8} {:>8}  LAST EXIT",
        "DAEMON", "PID", "STATE", "RESTARTS", "UPTIME"
    );
    for d in &r.daemons {
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:<9} {:>8} {:>8}  {}",
            d.name,
            d.pid.map(|p| p.to_string()).unwrap_or("-".into()),
            d.state,
            d.restarts,
            d.uptime_s.map(duration).unwrap_or("-".into()),
            d.last_exit.as_deref().unwrap_or("-")
        );
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
    out.push_str(&daemons(r));
    out
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
mod tests {
    use super::*;
    use cpe_bus::status::{DaemonReport, LanReport};

    fn sample() -> StatusReport {
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
    fn durations_read_well() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(61), "1m01s");
        assert_eq!(duration(3723), "1h02m");
        assert_eq!(duration(90_000), "1d01h");
        assert_eq!(duration(INFINITE_LFT), "infinite");
    }
}
