//! Text rendering of the status report for an 80-column serial console.
//!
//! Plain ASCII so every terminal shows it; colour (bold state words) only
//! when stdout is a TTY, so logs and scripts never see escape codes.

use std::fmt::Write;

use cpe_bus::status::dhcp4s::Dhcp4sStatus;
use cpe_bus::status::dhcp6c::Dhcp6cStatus;
use cpe_bus::status::dhcp6s::Dhcp6sStatus;
use cpe_bus::status::ra::RaStatus;
use cpe_bus::status::wan::{PppoeStatus, S46Status, WanStatus};
use cpe_bus::status::{Common, INFINITE_LFT, LanPrefixReport, PrefixReport, StatusReport};
use cpe_bus::{Daemon, WanState};

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
    let daemon = r.daemon::<WanStatus>(Daemon::Wan);
    let pppoe_status = daemon.as_ref().and_then(|s| s.pppoe.as_ref());
    // On PPPoE the link that matters is the session: the Ethernet carrier
    // under it is only worth a word when it is missing.
    let link = match (w.mode.as_str(), pppoe_status) {
        ("pppoe", _) if !w.carrier => "no carrier".to_owned(),
        ("pppoe", Some(p)) => p
            .session_id
            .as_ref()
            .map_or_else(|| "no session".to_owned(), |id| format!("session {id}")),
        ("pppoe", None) => "no session".to_owned(),
        _ => format!("carrier {}", if w.carrier { "yes" } else { "no" }),
    };
    let _ = writeln!(
        out,
        "WAN   {mode} on {iface}  {}  {link}",
        bold(state_word(w.state), colour),
    );
    // Up on IPoE the reason only restates the router and IPv4 lines below
    // ("default route via ..."): a screen line saved for what is wrong.
    let restates = w.state == WanState::Up && w.mode == "ipoe";
    if !w.reason.is_empty() && !restates {
        labelled(&mut out, "      why: ", &w.reason);
    }
    if let Some(p) = pppoe_status {
        pppoe(&mut out, p, &w.reason);
    }
    if let Some(s) = daemon.as_ref().and_then(|s| s.ipv4_over_ipv6.as_ref()) {
        if s.mode == "auto"
            && let Some(why) = &s.choice
        {
            let picked = s.chosen.as_deref().unwrap_or("none");
            let why = why.strip_prefix("auto: ").unwrap_or(why);
            labelled(&mut out, &format!("      auto -> {picked}: "), why);
        }
        match s.chosen.as_deref().unwrap_or(&s.mode) {
            "map-e" => map_e(&mut out, s),
            // `auto` with nothing offered: the line above says it all.
            "auto" if matches!(s.state.as_str(), "no-offer" | "waiting-dhcpv6") => {}
            _ => softwire(&mut out, s),
        }
    }
    // IPv6 addresses on the addr line, IPv4 with its gateway on the router
    // line; the WAN's own link-local address says nothing an engineer
    // needs (the ISP router's is on the router line). One screen line less.
    let (v4, v6): (Vec<String>, Vec<String>) = w
        .addresses
        .iter()
        .filter(|a| !a.starts_with("fe80:"))
        .cloned()
        .partition(|a| a.contains('.'));
    wrapped(&mut out, "      addr ", &v6);
    let router = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or("-".into());
    // The IPv6 router is link-local (at most 25 characters); a line that
    // grows past 80 columns with IPv4 and the MTU wraps.
    let mtu = mtu_text(w).map(|m| format!("  {m}")).unwrap_or_default();
    let gw4 = if v4.is_empty() {
        router(w.default_router_v4)
    } else {
        format!("{} via {}", v4.join(" "), router(w.default_router_v4))
    };
    let line = format!(
        "      router v6 {}  v4 {gw4}{mtu}",
        router(w.default_router_v6)
    );
    if line.chars().count() <= WIDTH {
        let _ = writeln!(out, "{line}");
    } else {
        labelled(
            &mut out,
            "      router ",
            line.trim_start().trim_start_matches("router "),
        );
    }
    if let Some(line) = ra_line(r) {
        labelled(&mut out, "      ra   ", &line);
    }
    wrapped(&mut out, "      dns  ", &dns_health(r));
    let d = &w.dhcpv6;
    let t = |v: Option<u64>| v.map(duration).unwrap_or("-".into());
    let own: Option<Dhcp6cStatus> = r.daemon(Daemon::Dhcp6c);
    match own.as_ref().and_then(crate::why::dhcpv6_reason) {
        // Bound: the timers; a refusal of part of it follows as its why.
        Some(reason) if d.state == "bound" => {
            let _ = writeln!(
                out,
                "      dhcpv6 bound  T1 {}  T2 {}",
                t(d.t1_s),
                t(d.t2_s)
            );
            let refusal = reason.strip_prefix("bound; ").unwrap_or(&reason);
            labelled(&mut out, "      why6: ", refusal);
        }
        Some(reason) => labelled(&mut out, "      dhcpv6 ", &reason),
        None => {
            let _ = writeln!(
                out,
                "      dhcpv6 {}  T1 {}  T2 {}",
                dash(&d.state),
                t(d.t1_s),
                t(d.t2_s)
            );
        }
    }
    if let Some(duid) = &d.server_duid {
        let shown = if duid.len() > 60 { &duid[..60] } else { duid };
        let _ = writeln!(out, "      server {shown}");
    }
    if w.delegated_prefixes.is_empty() {
        let _ = writeln!(out, "      prefix -");
    }
    for p in &w.delegated_prefixes {
        let _ = writeln!(out, "      prefix {}", prefix_line(p));
        if let Some(text) = cpe_config::closed_prefix_finding(&w.closed_prefixes, p.prefix) {
            problem_line(&mut out, &text);
        }
    }
    for p in &d.previous_prefixes {
        let _ = writeln!(out, "      old    {}", prefix_line(p));
    }
    out
}

/// The WAN MTU as the LAN sees it: one number, or the link's and the
/// IPv6 one when the ISP's RA lowered IPv6's (`mtu 1500 v6 1454`).
fn mtu_text(w: &cpe_bus::status::WanReport) -> Option<String> {
    match (w.mtu, w.ipv6_mtu) {
        (0, _) => None,
        (l, v6) if v6 == 0 || v6 == l => Some(format!("mtu {l}")),
        (l, v6) => Some(format!("mtu {l} v6 {v6}")),
    }
}

/// The ISP's last RA as the WAN daemon saw it: router, flags, router
/// lifetime, MTU option and age; `None` on PPPoE (no RA of its own there
/// before IPv6CP) or before the WAN daemon reports.
fn ra_line(r: &StatusReport) -> Option<String> {
    let s: WanStatus = r.daemon(Daemon::Wan)?;
    let i = s.ipoe?;
    let Some(ra) = i.last_ra else {
        return Some(format!("none seen ({} RS sent)", i.counters.rs_sent));
    };
    Some(format!(
        "{} M={} O={} lifetime {} mtu {} seen {} ago",
        dash(&ra.from),
        u8::from(ra.managed),
        u8::from(ra.other_config),
        duration(u64::from(ra.router_lifetime)),
        opt(ra.mtu),
        duration(ra.age_s)
    ))
}

/// The WAN's DNS servers with the forwarder's verdict on each (`up`, or
/// `DOWN` with its failures), then upstreams the forwarder uses that the
/// WAN did not learn (configured ones).
fn dns_health(r: &StatusReport) -> Vec<String> {
    let dns = r
        .daemon::<cpe_bus::status::dns::DnsStatus>(Daemon::Dns)
        .unwrap_or_default();
    let verdict = |addr: &str| -> String {
        match dns.upstreams.iter().find(|u| u.host() == addr) {
            Some(u) if u.health == "down" => format!(
                "{addr} DOWN ({} failures, {} answers)",
                u.failures, u.answers
            ),
            Some(u) if !u.health.is_empty() => format!("{addr} {}", u.health),
            _ => addr.to_owned(),
        }
    };
    let mut hosts: Vec<String> = r.wan.dns_servers.iter().map(|a| a.to_string()).collect();
    for u in &dns.upstreams {
        let host = u.host();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    // Every one up (the usual case): said once, so the line stays one line.
    let all_up = !hosts.is_empty()
        && hosts.iter().all(|h| {
            dns.upstreams
                .iter()
                .any(|u| u.host() == *h && u.health == "up")
        });
    if all_up {
        if let Some(last) = hosts.last_mut() {
            last.push_str(" (all up)");
        }
        return hosts;
    }
    hosts.iter().map(|h| verdict(h)).collect()
}

/// The WARN block: every finding of `cpectl why` that no line above
/// already shows, wrapped like `why` does; nothing when there is none.
fn warnings(r: &StatusReport) -> String {
    let mut out = String::new();
    for f in crate::why::findings(r).iter().filter(|f| !f.on_own_line) {
        crate::why::push_wrapped(&mut out, "WARN  ", &format!("{}: {}", f.subject, f.text));
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

/// The DS-Lite lines of the WAN section: state, tunnel, the AFTR and
/// where it came from, and why it is not up.
fn softwire(out: &mut String, s: &S46Status) {
    let mut line = format!("      ds-lite {}  {}", dash(&s.state), dash(&s.tunnel));
    if let Some(v4) = &s.ipv4 {
        let _ = write!(line, " {v4}");
    }
    if let Some(mtu) = s.mtu {
        let _ = write!(line, " mtu {mtu}");
    }
    fitted(out, &line);
    if let Some(aftr) = &s.aftr {
        let mut line = format!("aftr {aftr}");
        if let Some(src) = &s.aftr_source {
            let _ = write!(line, " ({src})");
        }
        if let Some(a) = &s.aftr_address
            && a != aftr
        {
            let _ = write!(line, " {a}");
        }
        if let Some(l) = &s.local {
            let _ = write!(line, "  from {l}");
        }
        fitted(out, &format!("      {line}"));
    }
    if let Some(why) = &s.reason {
        labelled(out, "      ds-lite why: ", why);
    }
}

/// The MAP-E lines of the WAN section: state and tunnel, the BR and the
/// rule, the shared IPv4 address with the PSID, the port set (first
/// ranges and the count), the MAP IPv6 address and its delegated prefix,
/// and why it is not up.
fn map_e(out: &mut String, s: &S46Status) {
    let mut line = format!("      map-e {}  {}", dash(&s.state), dash(&s.tunnel));
    if let Some(v4) = &s.ipv4 {
        let _ = write!(line, " {v4}");
    }
    if let Some(mtu) = s.mtu {
        let _ = write!(line, " mtu {mtu}");
    }
    fitted(out, &line);
    if let Some(br) = &s.br {
        let mut line = format!("      br {br}");
        if let Some(rule) = &s.rule_prefix {
            let _ = write!(line, "  rule {rule}");
        }
        if let Some(src) = &s.rule_source {
            let _ = write!(line, " ({src})");
        }
        fitted(out, &line);
    }
    if let (Some(v4), Some(psid)) = (&s.map_ipv4, s.psid) {
        let mut line = format!("      ipv4 {v4}  psid {psid:#x}");
        if let (Some(len), Some(off)) = (s.psid_len, s.psid_offset) {
            let _ = write!(line, " ({len} bits, offset {off})");
        }
        fitted(out, &line);
    }
    if let Some(ports) = &s.port_ranges {
        fitted(out, &format!("      ports {ports}"));
    }
    if let Some(v6) = &s.map_ipv6 {
        let mut line = format!("      map6 {v6}");
        if let Some(d) = &s.delegated {
            let _ = write!(line, "  from {d}");
        }
        fitted(out, &line);
    }
    if let Some(why) = &s.reason {
        labelled(out, "      ", why);
    }
}

/// An indented status line as built when it fits the console; a longer one
/// (a long name in it) gives up its double spaces and wraps.
fn fitted(out: &mut String, line: &str) {
    if line.len() <= WIDTH {
        let _ = writeln!(out, "{line}");
    } else {
        labelled(out, "      ", line.trim_start());
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
    fitted(out, &line);
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
            problem_line(&mut out, problem);
        }
    }
    out
}

/// A problem under its section: `!` and the text, wrapped under itself.
fn problem_line(out: &mut String, problem: &str) {
    for (i, line) in wrap_words(problem, WIDTH - 8).iter().enumerate() {
        let mark = if i == 0 { "!" } else { " " };
        let _ = writeln!(out, "      {mark} {line}");
    }
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
    let own: Common = cpe_bus::status::json::read(r.daemon_status.get(name)?)?;
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
    let head = format!(
        "{} (cpe {})  up {}  config",
        r.hostname,
        r.version,
        duration(r.uptime_s)
    );
    let config = format!("{} (gen {})", r.config_file, r.config_generation);
    // One line when the path is short (the device's /etc/cpe/config.toml).
    if head.len() + 1 + config.len() <= WIDTH {
        let _ = writeln!(out, "{head} {config}");
    } else {
        let _ = writeln!(out, "{head} gen {}", r.config_generation);
        let _ = writeln!(out, "config {}", r.config_file);
    }
    out.push_str(&wan(r, colour));
    out.push_str(&lan(r));
    if let Some(l) = crate::firewall::status_line(r) {
        out.push_str(&l);
        out.push('\n');
    }
    if let Some(l) = time_line(r) {
        out.push_str(&l);
    }
    out.push_str(&crate::timeline::since_boot_line(r));
    out.push_str(&warnings(r));
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
            "synced to {} (stratum {})  offset {:+.3} ms",
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
        format!("NOT synced: {}", n.reason.as_deref().unwrap_or("unknown"))
    };
    // Wrapped under its label, never cut: the end of a reason is often the
    // server's address or how long it has been silent.
    let line = clip(&line, usize::MAX);
    let mut out = String::new();
    if line.chars().count() + 10 <= WIDTH {
        let _ = writeln!(out, "time      {line}");
    } else {
        labelled(&mut out, "time      ", &line);
    }
    Some(out)
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
                        item(out, indent, &format!("{k}: "), &scalar(v));
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for v in a {
                    if v.is_object() || v.is_array() {
                        let _ = writeln!(out, "{:indent$}-", "");
                        walk(out, v, indent + 2);
                    } else {
                        item(out, indent, "- ", &scalar(v));
                    }
                }
            }
            other => item(out, indent, "", &scalar(other)),
        }
    }
    /// `head value` at `indent`, wrapped at [`WIDTH`] under the value (or
    /// two columns in, when the head is long); a word wider than the
    /// room left (a DUID, a long path) is cut into pieces that fit.
    fn item(out: &mut String, indent: usize, head: &str, value: &str) {
        let first = format!("{:indent$}{head}", "");
        if first.chars().count() + value.chars().count() <= WIDTH {
            let _ = writeln!(out, "{first}{value}");
            return;
        }
        let next = " ".repeat(if first.len() <= WIDTH / 2 {
            first.len()
        } else {
            indent + 2
        });
        let room = WIDTH - next.len();
        let mut pieces: Vec<String> = Vec::new();
        for word in value.split_whitespace() {
            let chars: Vec<char> = word.chars().collect();
            pieces.extend(chars.chunks(room).map(|c| c.iter().collect()));
        }
        let mut line = first.clone();
        let mut fresh = true;
        for p in pieces {
            let sep = usize::from(!fresh);
            if !fresh && line.chars().count() + sep + p.chars().count() > WIDTH {
                let _ = writeln!(out, "{line}");
                line = next.clone();
                fresh = true;
            }
            if !fresh {
                line.push(' ');
            }
            line.push_str(&p);
            fresh = false;
        }
        let _ = writeln!(out, "{line}");
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
    fn map_e_shows_br_address_psid_ports_and_why() {
        let mut r = sample();
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "map-e", "state": "up", "tunnel": "map0",
                "ipv4": "192.0.2.18/32", "mtu": 1460, "br": "2001:db8:ffff::1",
                "rule_source": "dhcpv6", "rule_prefix": "2001:db8::/40",
                "delegated": "2001:db8:12:3400::/56", "map_ipv4": "192.0.2.18",
                "map_ipv6": "2001:db8:12:3400:0:c000:212:34", "psid": 52, "psid_len": 8,
                "psid_offset": 6,
                "port_ranges": "1232-1235 2256-2259 3280-3283 ... (63 ranges, 252 ports)",
                "local": "2001:db8:12:3400:0:c000:212:34"}}),
        );
        let text = wan(&r, false);
        for want in [
            "      map-e up  map0 192.0.2.18/32 mtu 1460\n",
            "      br 2001:db8:ffff::1  rule 2001:db8::/40 (dhcpv6)\n",
            "      ipv4 192.0.2.18  psid 0x34 (8 bits, offset 6)\n",
            "      ports 1232-1235 2256-2259 3280-3283 ... (63 ranges, 252 ports)\n",
            "      map6 2001:db8:12:3400:0:c000:212:34  from 2001:db8:12:3400::/56\n",
        ] {
            assert!(text.contains(want), "{want}{text}");
        }
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "map-e", "state": "rule-mismatch", "tunnel": "map0",
                "reason": "MAP-E: delegated prefix 2001:db8:1::/56 is not inside the rule's 2001:db9::/40"}}),
        );
        let text = wan(&r, false);
        assert!(text.contains("      map-e rule-mismatch  map0\n"), "{text}");
        assert!(
            text.contains("      MAP-E: delegated prefix 2001:db8:1::/56 is not inside the rule's"),
            "{text}"
        );
    }

    #[test]
    fn dslite_shows_tunnel_aftr_and_why() {
        let mut r = sample();
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "dslite", "state": "up", "tunnel": "dslite0",
                "ipv4": "192.0.0.2/29", "mtu": 1460, "aftr": "aftr.isp.example",
                "aftr_source": "dhcpv6", "aftr_address": "2001:db8:aa::1",
                "local": "2001:db8:1::2"}}),
        );
        let text = wan(&r, false);
        assert!(
            text.contains("      ds-lite up  dslite0 192.0.0.2/29 mtu 1460\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "      aftr aftr.isp.example (dhcpv6) 2001:db8:aa::1  from 2001:db8:1::2\n"
            ),
            "{text}"
        );
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "dslite", "state": "resolve-failed", "tunnel": "dslite0",
                "aftr": "aftr.isp.example", "aftr_source": "dhcpv6",
                "reason": "AFTR name does not resolve: aftr.isp.example does not exist (NXDOMAIN)"}}),
        );
        let text = wan(&r, false);
        assert!(
            text.contains("      ds-lite resolve-failed  dslite0\n"),
            "{text}"
        );
        assert!(
            text.contains("      ds-lite why: AFTR name does not resolve"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide: {line}");
        }
    }

    #[test]
    fn auto_says_what_it_picked_and_why() {
        let mut r = sample();
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "auto", "chosen": "map-e",
                "choice": "auto: the MAP-E rule of option 94 maps the delegated prefix \
                           2001:db8:12:3400::/56",
                "state": "up", "tunnel": "map0", "ipv4": "192.0.2.18/32", "mtu": 1460,
                "br": "2001:db8:ffff::1", "rule_source": "dhcpv6",
                "rule_prefix": "2001:db8::/40"}}),
        );
        let text = wan(&r, false);
        assert!(
            text.contains(
                "      auto -> map-e: the MAP-E rule of option 94 maps the delegated prefix\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("      map-e up  map0 192.0.2.18/32 mtu 1460\n"),
            "{text}"
        );
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "auto", "chosen": "dslite",
                "choice": "auto: AFTR-Name aftr.isp.example (option 64), no MAP-E rule (option 94)",
                "state": "up", "tunnel": "dslite0", "ipv4": "192.0.0.2/29", "mtu": 1460}}),
        );
        let text = wan(&r, false);
        assert!(
            text.contains("      auto -> dslite: AFTR-Name aftr.isp.example"),
            "{text}"
        );
        assert!(
            text.contains("      ds-lite up  dslite0 192.0.0.2/29 mtu 1460\n"),
            "{text}"
        );
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"ipv4_over_ipv6": {
                "mode": "auto", "state": "no-offer", "tunnel": "",
                "choice": "auto: the ISP offered neither option 64 nor 94",
                "reason": "auto: the ISP offered neither option 64 nor 94"}}),
        );
        let text = wan(&r, false);
        assert!(
            text.contains("      auto -> none: the ISP offered neither option 64 nor 94\n"),
            "{text}"
        );
        assert!(
            !text.contains("ds-lite") && !text.contains("map-e"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide: {line}");
        }
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
        r.wan.carrier = true;
        let text = wan(&r, false);
        assert!(
            text.starts_with("WAN   pppoe on wan0  DOWN  no session\n"),
            "{text}"
        );
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
        r.wan.carrier = true;
        r.wan.interface = "ppp0".into();
        let text = wan(&r, false);
        // The first line speaks of the session, not of the Ethernet
        // carrier under it.
        assert!(
            text.starts_with("WAN   pppoe on ppp0  UP  session 0x0001\n"),
            "{text}"
        );
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

    /// The WAN's MTU, and the IPv6 one when the ISP's RA lowered it, on
    /// the router line, which still fits with the longest values.
    #[test]
    fn the_wan_mtu_shows_the_ipv6_mtu_from_the_isp_ra() {
        let mut r = sample();
        r.wan.mtu = 1500;
        assert!(wan(&r, false).contains("router v6 -  v4 -  mtu 1500\n"));
        r.wan.ipv6_mtu = 1454;
        assert!(wan(&r, false).contains("router v6 -  v4 -  mtu 1500 v6 1454\n"));
        r.wan.default_router_v6 = Some("fe80::aaaa:bbbb:cccc:dddd".parse().unwrap());
        r.wan.default_router_v4 = Some("198.151.100.100".parse().unwrap());
        let text = wan(&r, false);
        assert!(
            text.contains("v4 198.151.100.100  mtu 1500 v6 1454\n"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide ({}): {line}", line.len());
        }
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
        assert!(!daemons(&r).contains("not active"));
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
    fn a_daemon_shown_as_text_fits_80_columns() {
        let v = serde_json::json!({
            "reason": "no server known: none in [ntp] servers and none from the WAN \
                       (DHCPv6 option 56)",
            "duid": "00:01:00:01:32:a4:39:84:02:00:00:00:01:01:00:01:00:01:32:a4:39:84:02:00:00",
            "servers": ["2001:db8::123"],
            "nested": {"a_rather_long_key_name_that_takes_up_most_of_the_room_itself":
                "and a value of several words after it"},
        });
        let text = json_as_text(&v);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(
            text.contains(
                "reason: no server known: none in [ntp] servers and none from the WAN (DHCPv6\n\
                 \x20       option 56)\n"
            ),
            "{text}"
        );
        assert!(text.contains("servers:\n  - 2001:db8::123\n"), "{text}");
        let joined: String = text.split_whitespace().collect();
        assert!(
            joined.contains("duid:00:01:00:01:32:a4:39:84:02:00:00:00:01:01:00:01:00:01:32:a4"),
            "{text}"
        );
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
        // A long reason wraps under its label; nothing is cut at 80 columns.
        let long = "no reply from 2001:db8:ffff:ffff:ffff:ffff:ffff:123, \
                    2001:db8:ffff:ffff:ffff:ffff:ffff:124 for 1m20s";
        r.daemon_status.insert(
            "ntp".into(),
            serde_json::json!({"synced": false, "reason": long}),
        );
        let text = status(&r, false);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            joined.contains(&format!("time NOT synced: {long}")),
            "{text}"
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

    /// The healthy lab router as `cpectl status --json` gives it: every
    /// daemon of `config/default.toml`, the ISP's RA, DNS up, time synced.
    fn healthy_lab() -> StatusReport {
        let mut r = crate::why::tests::healthy();
        r.wan.addresses = vec![
            "2001:db8:ffff::2/128".into(),
            "2001:db8:ffff:0:ff:fe00:201/64".into(),
            "192.0.2.2/24".into(),
        ];
        r.wan.default_router_v6 = Some("fe80::1".parse().unwrap());
        r.wan.default_router_v4 = Some("192.0.2.1".parse().unwrap());
        r.wan.dns_servers = vec!["2001:db8::53".parse().unwrap()];
        r.wan.dhcpv6.state = "bound".into();
        r.wan.dhcpv6.t1_s = Some(1800);
        r.wan.dhcpv6.t2_s = Some(2880);
        r.wan.dhcpv6.server_duid = Some("000100012f0b4d6a0200000000a1".into());
        r.lan[0].prefixes = vec![
            LanPrefixReport {
                prefix: "2001:db8:1201::/64".parse().unwrap(),
                router_address: "2001:db8:1201::1".parse().unwrap(),
                preferred_lft: 3600,
                valid_lft: 7200,
                deprecated: false,
                origin: cpe_bus::PrefixOrigin::Delegated,
            },
            LanPrefixReport {
                prefix: "fd12:3456:789a:1::/64".parse().unwrap(),
                router_address: "fd12:3456:789a:1::1".parse().unwrap(),
                preferred_lft: INFINITE_LFT,
                valid_lft: INFINITE_LFT,
                deprecated: false,
                origin: cpe_bus::PrefixOrigin::Ula,
            },
        ];
        r.daemons = [
            "wan", "dhcp6c", "firewall", "ra", "dhcp6s", "dhcp4s", "dns", "ntp",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| DaemonReport {
            name: (*n).into(),
            pid: Some(1000 + i as u32),
            state: "running".into(),
            restarts: 0,
            uptime_s: Some(3600),
            last_exit: None,
        })
        .collect();
        let st = &mut r.daemon_status;
        st.insert(
            "wan".into(),
            serde_json::json!({"mode": "ipoe", "last_ra": {"from": "fe80::1", "age_s": 12,
                "managed": true, "other_config": true, "router_lifetime": 1800,
                "mtu": 1500, "interval_s": 200}}),
        );
        st.insert(
            "dhcp6c".into(),
            serde_json::json!({"state": "bound", "state_age": 600, "sent_in_state": 2,
                "replies_in_state": 2, "last_reply_age": 600}),
        );
        st.insert(
            "ntp".into(),
            serde_json::json!({"synced": true, "server": "2001:db8::123", "stratum": 2,
                "offset_ms": 0.1, "last_sync_age": 30}),
        );
        st.insert(
            "firewall".into(),
            serde_json::json!({"implemented": true, "state": "active"}),
        );
        r
    }

    fn fits(text: &str) {
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "too wide: {line}\n{text}");
        }
    }

    #[test]
    fn the_healthy_screen_fits_80x24_with_the_ra_and_dns_health_and_no_warn() {
        let text = status(&healthy_lab(), false);
        fits(&text);
        assert!(
            text.lines().count() <= 24,
            "{} lines:\n{text}",
            text.lines().count()
        );
        assert!(!text.contains("WARN"), "{text}");
        assert!(
            text.contains("      ra   fe80::1 M=1 O=1 lifetime 30m00s mtu 1500 seen 12s ago\n"),
            "{text}"
        );
        assert!(
            text.contains("      dns  2001:db8::53 (all up)\n"),
            "{text}"
        );
        assert!(
            text.starts_with("cpe (cpe 0.1.0)  up 1h02m  config /etc/cpe/config.toml (gen 1)\n"),
            "{text}"
        );
        // Up on IPoE: no `why:` restating the router line; no link-local.
        let mut r = healthy_lab();
        r.wan.reason = "default route via fe80::1 on wan0 (router lifetime 1800 s)".into();
        r.wan.addresses.push("fe80::ff:fe00:201/64".into());
        let text = status(&r, false);
        assert!(
            !text.contains("why:") && !text.contains("fe80::ff"),
            "{text}"
        );
        r.wan.state = WanState::Connecting;
        assert!(status(&r, false).contains("      why: default route via"));
        // A long config path keeps its own line.
        r.config_file = format!("/tmp/{}/config.toml", "x".repeat(40));
        let text = status(&r, false);
        fits(&text);
        assert!(text.starts_with("cpe (cpe 0.1.0)  up 1h02m  config gen 1\nconfig /tmp/xx"));
        assert!(
            text.contains("      dhcpv6 bound  T1 30m00s  T2 48m00s\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "      addr 2001:db8:ffff::2/128, 2001:db8:ffff:0:ff:fe00:201/64\n      \
                 router v6 fe80::1  v4 192.0.2.2/24 via 192.0.2.1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_dhcpv6_line_says_why_there_is_no_prefix() {
        let mut r = healthy_lab();
        r.wan.delegated_prefixes.clear();
        r.wan.dhcpv6.state = "soliciting".into();
        let set = |r: &mut StatusReport, v: serde_json::Value| {
            r.daemon_status.insert("dhcp6c".into(), v);
            let text = status(r, false);
            fits(&text);
            text
        };
        let text = set(
            &mut r,
            serde_json::json!({"state": "soliciting", "state_age": 77,
            "sent_in_state": 7, "replies_in_state": 0}),
        );
        assert!(
            text.contains("      dhcpv6 soliciting 1m17s: 7 Solicit, 0 replies\n"),
            "{text}"
        );
        // Shown on its line, not again in the WARN block.
        assert!(!text.contains("WARN"), "{text}");
        let text = set(
            &mut r,
            serde_json::json!({"state": "idle",
            "waiting": "ISP RA has M=0 O=0; wan.dhcpv6.start = \"ra\""}),
        );
        assert!(
            text.contains("      dhcpv6 idle: ISP RA has M=0 O=0; wan.dhcpv6.start = \"ra\"\n"),
            "{text}"
        );
        let text = set(
            &mut r,
            serde_json::json!({"state": "rebinding", "state_age": 40,
            "sent_in_state": 5, "replies_in_state": 0, "last_reply_age": 190}),
        );
        assert!(
            text.contains(
                "      dhcpv6 rebinding 40s: 5 Rebind, 0 replies; last reply 3m10s ago\n"
            ),
            "{text}"
        );
        let text = set(
            &mut r,
            serde_json::json!({"state": "soliciting", "state_age": 30,
            "sent_in_state": 5, "replies_in_state": 5,
            "refusal": {"server_duid": "000100012f0b4d6a0200000000a1", "scope": "IA_PD",
                "status": "NoPrefixAvail", "status_code": 6,
                "message": "no prefixes available", "age": 4}}),
        );
        assert!(
            text.contains(
                "      dhcpv6 soliciting 30s: 5 Solicit, 5 replies; IA_PD refused: NoPrefixAvail\n             \
                 (code 6, server 000100012f0b4d6a0200000000a1: \"no prefixes\n             \
                 available\") 4s ago\n"
            ),
            "{text}"
        );
        // Bound (an address, say) with the prefix refused: the timers, then why.
        r.wan.dhcpv6.state = "bound".into();
        let text = set(
            &mut r,
            serde_json::json!({"state": "bound", "state_age": 30,
            "refusal": {"server_duid": "0001", "scope": "IA_PD", "status": "NoPrefixAvail",
                "status_code": 6, "age": 4}}),
        );
        assert!(
            text.contains(
                "      dhcpv6 bound  T1 30m00s  T2 48m00s\n      why6: IA_PD refused: \
                 NoPrefixAvail (code 6, server 0001) 4s ago\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn dns_health_names_each_upstream_and_the_warn_block_says_when_all_are_down() {
        let mut r = healthy_lab();
        r.daemon_status.insert(
            "dns".into(),
            serde_json::json!({"upstreams": [
                {"address": "[2001:db8::53]:53", "health": "down", "queries": 9, "failures": 9},
                {"address": "192.0.2.53:53", "health": "up", "answers": 3}]}),
        );
        let text = status(&r, false);
        fits(&text);
        assert!(
            text.contains("      dns  2001:db8::53 DOWN (9 failures, 0 answers), 192.0.2.53 up\n"),
            "{text}"
        );
        assert!(!text.contains("WARN"), "one upstream works: {text}");
        r.daemon_status.insert(
            "dns".into(),
            serde_json::json!({"upstreams": [
                {"address": "2001:db8::53", "health": "down", "queries": 9, "failures": 9}]}),
        );
        let text = status(&r, false);
        assert!(
            text.contains("WARN  dns: every upstream DNS server is down: 2001:db8::53 (9"),
            "{text}"
        );
    }

    #[test]
    fn the_warn_block_lists_what_no_line_above_shows() {
        let mut r = healthy_lab();
        // Everything at once: RAs stopped, a refused reload, a LAN RA
        // interval longer than the prefix's lifetime, a rogue router, the
        // firewall down, a closed-network prefix.
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"mode": "ipoe", "last_ra": {"from": "fe80::1", "age_s": 31,
                "managed": true, "other_config": true, "router_lifetime": 1800,
                "interval_s": 10}}),
        );
        r.reload_refused = Some(cpe_bus::status::ReloadRefused {
            error: "config.toml:3:1: error: unknown key `foo`".into(),
            errors: 2,
            age_s: 65,
        });
        r.daemon_status.insert(
            "ra".into(),
            serde_json::json!({"lans": [{"interface": "br0", "last_ra_secs_ago": 100,
                "next_ra_in_ms": 500_000,
                "prefixes": [{"prefix": "2001:db8:1201::/64", "preferred_lifetime": 300,
                    "valid_lifetime": 900}],
                "rogue_routers": [{"source": "fe80::bad", "count": 2,
                    "last_seen_secs_ago": 1, "router_lifetime": 1800}]}]}),
        );
        r.daemon_status.insert(
            "firewall".into(),
            serde_json::json!({"implemented": true, "state": "failed", "reason": "no nft"}),
        );
        r.wan.delegated_prefixes[0].prefix = "2408:210:1200::/56".parse().unwrap();
        r.wan.closed_prefixes = cpe_config::default_closed_prefixes();
        let text = status(&r, false);
        fits(&text);
        let warn: Vec<&str> = text.lines().filter(|l| l.starts_with("WARN  ")).collect();
        let all = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for want in [
            "! delegated 2408:210:1200::/56 is inside 2408::/22",
            "WARN wan: no RA from the ISP router fe80::1 for 31s (one every 10s before; router \
             lifetime 30m00s)",
            "WARN lan br0: RA interval ~10m00s is longer than 2001:db8:1201::/64's preferred \
             lifetime 5m00s (valid 15m00s): hosts deprecate their addresses between two RAs",
            "WARN lan br0: another router advertises on br0: fe80::bad",
            "WARN firewall: firewall not active (failed): no nft",
            "WARN config: running config differs from /etc/cpe/config.toml: reload refused \
             1m05s ago: config.toml:3:1: error: unknown key `foo` (and 1 more)",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{text}");
        }
        assert_eq!(
            warn.len(),
            5,
            "the closed range is under its prefix: {text}"
        );
        // Same findings as `why`, no second copy of the logic.
        let why = crate::why::findings(&r);
        assert_eq!(why.len(), 6, "{why:?}");
        // 30 s without an RA after one every 10 s is not yet late.
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"last_ra": {"from": "fe80::1", "age_s": 30,
                "router_lifetime": 1800, "interval_s": 10}}),
        );
        assert!(!status(&r, false).contains("WARN  wan:"));
        // Past the router lifetime, without a known interval.
        r.daemon_status.insert(
            "wan".into(),
            serde_json::json!({"last_ra": {"from": "fe80::1", "age_s": 10,
                "router_lifetime": 9}}),
        );
        assert!(
            status(&r, false).contains(
                "WARN  wan: no RA from the ISP router fe80::1 for 10s (router lifetime 9s)"
            ),
            "{}",
            status(&r, false)
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
