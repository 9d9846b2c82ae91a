//! `cpectl why`: the diagnosis alone. Each line is one finding (what is
//! wrong, where, and the evidence the daemons reported), computed from the
//! same status report `cpectl status` shows, so the two never disagree.
//!
//! The exit code is for scripts and monitoring: 0 healthy, 1 degraded
//! (something the customer may notice: no IPv6, DNS, a rogue router), 2
//! down (no WAN, or the supervisor does not answer), 64 usage.

use std::fmt::Write;

use cpe_bus::Daemon;
use cpe_bus::WanState;
use cpe_bus::status::StatusReport;
use cpe_bus::status::dhcp6c::Dhcp6cStatus;
use cpe_bus::status::dns::DnsStatus;
use cpe_bus::status::firewall::FirewallStatus;
use cpe_bus::status::ntp::NtpStatus;
use cpe_bus::status::ra::RaStatus;
use cpe_bus::status::wan::WanStatus;
use serde::Serialize;

use crate::render::{WIDTH, dash, duration, wrap_words};

/// How bad a finding is; the worst one sets the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Works, but not as it should: the customer may notice.
    Degraded,
    /// No Internet through this router.
    Down,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Degraded => "DEGRADED",
            Severity::Down => "DOWN",
        }
    }
}

/// One finding: what is wrong with what, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What it is about: `wan`, `lan br0`, `dns`, `firewall`, `time`, ...
    pub subject: String,
    /// The finding with its evidence, one sentence.
    pub text: String,
    /// `cpectl status` already says it on a line of its own (the WAN's
    /// `why:`, the DHCPv6 line), so its WARN block leaves it out.
    #[serde(skip)]
    pub on_own_line: bool,
}

impl Finding {
    fn new(severity: Severity, subject: impl Into<String>, text: impl Into<String>) -> Finding {
        Finding {
            severity,
            subject: subject.into(),
            text: text.into(),
            on_own_line: false,
        }
    }

    fn on_own_line(mut self) -> Finding {
        self.on_own_line = true;
        self
    }
}

/// Why DHCPv6 has no (or a refused) delegation, in the words of the
/// status screen's DHCPv6 line and of `why`: `soliciting 1m17s: 7
/// Solicit, 0 replies`, `IA_PD refused: NoPrefixAvail (server 0001...:
/// "pool exhausted") 1m15s ago`, `idle: ISP RA has M=0 O=0; ...`,
/// `rebinding 40s: 5 Rebind, 0 replies; last reply 3m10s ago`. `None`
/// while bound and nothing was refused.
pub fn dhcpv6_reason(d: &Dhcp6cStatus) -> Option<String> {
    let state = dash(&d.state);
    let mut text = match state {
        "idle" => format!(
            "idle: {}",
            d.waiting.as_deref().unwrap_or("not started by the WAN")
        ),
        // An older client without per-state counts: the state alone.
        "soliciting" | "requesting" | "renewing" | "rebinding" if d.state_age.is_some() => {
            let what = match state {
                "soliciting" => "Solicit",
                "requesting" => "Request",
                "renewing" => "Renew",
                _ => "Rebind",
            };
            let mut t = state.to_owned();
            if let Some(age) = d.state_age {
                let _ = write!(t, " {}", duration(age));
            }
            let _ = write!(
                t,
                ": {} {what}, {} {}",
                d.sent_in_state,
                d.replies_in_state,
                if d.replies_in_state == 1 {
                    "reply"
                } else {
                    "replies"
                }
            );
            if d.replies_in_state == 0 && state != "soliciting" {
                match d.last_reply_age {
                    Some(age) => {
                        let _ = write!(t, "; last reply {} ago", duration(age));
                    }
                    None => t.push_str("; no reply since start"),
                }
            }
            t
        }
        _ if d.refusal.is_none() => return None,
        other => other.to_owned(),
    };
    if let Some(f) = &d.refusal {
        let scope = if f.scope.is_empty() {
            "IA_PD"
        } else {
            &f.scope
        };
        let _ = write!(
            text,
            "; {scope} refused: {} (code {}, server {}",
            dash(&f.status),
            f.status_code,
            dash(&f.server_duid)
        );
        if !f.message.is_empty() {
            let _ = write!(text, ": {:?}", f.message);
        }
        let _ = write!(text, ") {} ago", duration(f.age));
    }
    Some(text)
}

/// Every finding in `r`, the worst first; empty when healthy.
pub fn findings(r: &StatusReport) -> Vec<Finding> {
    let mut out = Vec::new();
    wan(r, &mut out);
    softwire(r, &mut out);
    prefix(r, &mut out);
    for l in &r.lan {
        for p in &l.problems {
            out.push(Finding::new(
                Severity::Degraded,
                format!("lan {}", l.interface),
                p.clone(),
            ));
        }
    }
    isp_ra(r, &mut out);
    lan_ra_interval(r, &mut out);
    rogues(r, &mut out);
    dns(r, &mut out);
    firewall(r, &mut out);
    ntp(r, &mut out);
    reload(r, &mut out);
    daemons(r, &mut out);
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn wan(r: &StatusReport, out: &mut Vec<Finding>) {
    let w = &r.wan;
    if w.state == WanState::Up {
        return;
    }
    let state = match w.state {
        WanState::Unknown => "state unknown",
        WanState::Down => "down",
        WanState::Connecting => "connecting",
        WanState::Up => "up",
    };
    let mode = if w.mode.is_empty() { "WAN" } else { &w.mode };
    let iface = dash(&w.interface);
    let mut text = format!("WAN {iface} ({mode}) {state}");
    if !w.reason.is_empty() {
        let _ = write!(text, ": {}", w.reason);
    }
    if let Some(p) = r.daemon::<WanStatus>(Daemon::Wan).and_then(|s| s.pppoe) {
        if !p.phase.is_empty() && !w.reason.contains(&p.phase) {
            let _ = write!(text, "; PPPoE {}", p.phase);
            if p.attempts > 0 {
                let _ = write!(text, " (attempt {})", p.attempts);
            }
        }
        if let Some(f) = p.last_failure.as_deref()
            && !w.reason.contains(f)
        {
            let _ = write!(text, "; last failure: {f}");
        }
    }
    if !w.carrier && w.mode != "pppoe" {
        text.push_str("; no carrier on the link");
    }
    out.push(Finding::new(Severity::Down, "wan", text).on_own_line());
}

/// A DS-Lite softwire or MAP-E tunnel that is not up: IPv4 to the
/// Internet is out, with the engine's reason (no AFTR-Name from the DHCPv6
/// server, the name not resolving; no MAP-E rule, a rule that does not
/// match the delegated prefix; the kernel refusing the tunnel).
fn softwire(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(s) = r
        .daemon::<WanStatus>(Daemon::Wan)
        .and_then(|s| s.ipv4_over_ipv6)
    else {
        return;
    };
    if s.state == "up" {
        return;
    }
    // `auto` offered nothing: wrong only when the WAN has no IPv4 of its
    // own either (an ISP with native IPv4 offers no softwire). `no-aftr`
    // is how a WAN daemon of before MAP-E in `auto` said it.
    // Before DHCPv6's first Reply the DHCPv6 client's finding says why.
    if s.mode == "auto" && s.state == "waiting-dhcpv6" {
        return;
    }
    if s.mode == "auto" && matches!(s.state.as_str(), "no-offer" | "no-aftr") {
        if !r.wan.addresses.iter().any(|a| a.contains('.')) {
            let why = s.reason.as_deref().unwrap_or(cpe_bus::s46::NOTHING_OFFERED);
            out.push(Finding::new(
                Severity::Degraded,
                "ipv4",
                format!("no IPv4 to the Internet: no IPv4 on the WAN, and {why}"),
            ));
        }
        return;
    }
    let name = if s.chosen.as_deref().unwrap_or(&s.mode) == "map-e" {
        "MAP-E"
    } else {
        "DS-Lite"
    };
    let mut text = format!(
        "{name} {} {}: no IPv4 to the Internet",
        dash(&s.tunnel),
        dash(&s.state)
    );
    if let Some(why) = &s.reason {
        let why = why.strip_prefix("MAP-E: ").unwrap_or(why);
        let _ = write!(text, "; {why}");
    }
    out.push(Finding::new(Severity::Degraded, "ipv4", text));
}

/// No prefix delegated while the WAN is up: every LAN is without IPv6
/// (ULA only), with the DHCPv6 client's evidence and the ISP's RA flags.
fn prefix(r: &StatusReport, out: &mut Vec<Finding>) {
    let w = &r.wan;
    if w.state != WanState::Up || !w.delegated_prefixes.is_empty() {
        silent_server(r, out);
        for p in &w.delegated_prefixes {
            // `status` shows it under the prefix line itself.
            if let Some(text) = cpe_config::closed_prefix_finding(&w.closed_prefixes, p.prefix) {
                out.push(Finding::new(Severity::Degraded, "prefix", text).on_own_line());
            }
        }
        return;
    }
    // A config without a DHCPv6 client asks for no delegation.
    let client = Daemon::Dhcp6c.name();
    if !r.daemons.iter().any(|d| d.name == client) && !r.daemon_status.contains_key(client) {
        return;
    }
    let lans: Vec<&str> = r.lan.iter().map(|l| l.interface.as_str()).collect();
    let mut text = if lans.is_empty() {
        "no IPv6 on the LAN: no prefix delegated".to_owned()
    } else {
        format!("no IPv6 on LAN {}: no prefix delegated", lans.join(", "))
    };
    let d: Option<Dhcp6cStatus> = r.daemon(Daemon::Dhcp6c);
    let state = d
        .as_ref()
        .map(|d| d.state.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or(w.dhcpv6.state.as_str());
    let reason = d.as_ref().and_then(dhcpv6_reason);
    let _ = write!(
        text,
        ": DHCPv6 {}",
        match (&reason, state) {
            (Some(reason), _) => reason.as_str(),
            (None, "") => "not reporting",
            (None, state) => state,
        }
    );
    // The totals, when the client does not count per state (older build).
    if let Some(d) = d.as_ref().filter(|d| d.state_age.is_none()) {
        let c = &d.counters;
        let _ = write!(
            text,
            "; {} sent ({} retransmissions), {} received",
            c.transmitted, c.retransmissions, c.received
        );
        let dropped: u64 = c.dropped.values().chain(c.malformed.values()).sum();
        if dropped > 0 {
            let _ = write!(text, ", {dropped} dropped");
        }
    }
    let flags = |m: bool, o: bool| format!("M={} O={}", u8::from(m), u8::from(o));
    match r
        .daemon::<WanStatus>(Daemon::Wan)
        .and_then(|s| s.ipoe)
        .and_then(|i| i.last_ra)
    {
        Some(ra) => {
            let _ = write!(
                text,
                "; ISP RA seen {} ago with {}",
                duration(ra.age_s),
                flags(ra.managed, ra.other_config)
            );
            if !ra.managed && !ra.other_config {
                text.push_str(" (the ISP does not offer DHCPv6 on this link)");
            }
        }
        None if w.mode == "pppoe" => {}
        None => {
            let _ = write!(
                text,
                "; no ISP RA reported (last known {})",
                flags(w.ra_managed, w.ra_other_config)
            );
        }
    }
    out.push(Finding::new(Severity::Degraded, "prefix", text).on_own_line());
}

/// A delegation held while its server does not answer Renew or Rebind,
/// or answers it refusing the prefix: the prefix goes when its valid
/// lifetime does, long before which the engineer should know.
fn silent_server(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(d) = r.daemon::<Dhcp6cStatus>(Daemon::Dhcp6c) else {
        return;
    };
    let left = |text: &mut String| {
        for p in &r.wan.delegated_prefixes {
            let _ = write!(text, "; {} valid {} more", p.prefix, duration(p.valid_lft));
        }
    };
    if d.refusal.is_some() && !r.wan.delegated_prefixes.is_empty() {
        if let Some(reason) = dhcpv6_reason(&d) {
            let mut text = format!("DHCPv6 server no longer delegates: {reason}");
            left(&mut text);
            text.push_str("; the LANs lose IPv6 when it ends");
            out.push(Finding::new(Severity::Degraded, "dhcpv6", text).on_own_line());
        }
        return;
    }
    // Rebinding: the bound server already let every Renew go unanswered.
    let silent = match d.state.as_str() {
        "renewing" => d.sent_in_state >= 2,
        "rebinding" => d.sent_in_state >= 1,
        _ => false,
    };
    if !silent || d.replies_in_state > 0 {
        return;
    }
    let Some(reason) = dhcpv6_reason(&d) else {
        return;
    };
    let mut text = format!("DHCPv6 server not answering: {reason}");
    left(&mut text);
    out.push(Finding::new(Severity::Degraded, "dhcpv6", text).on_own_line());
}

/// The ISP's RAs stopped: none for longer than the router lifetime, or
/// than three of the intervals seen before (RFC 4861 repeats an RA well
/// within its lifetime), while the WAN still counts on its default route.
fn isp_ra(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(ra) = r
        .daemon::<WanStatus>(Daemon::Wan)
        .and_then(|s| s.ipoe)
        .and_then(|i| i.last_ra)
    else {
        return;
    };
    let lifetime = u64::from(ra.router_lifetime);
    let late = ra.interval_s.filter(|i| *i > 0 && ra.age_s > 3 * i);
    if !(lifetime > 0 && ra.age_s > lifetime) && late.is_none() {
        return;
    }
    let mut text = format!(
        "no RA from the ISP router {} for {}",
        dash(&ra.from),
        duration(ra.age_s)
    );
    if let Some(i) = ra.interval_s {
        let _ = write!(text, " (one every {} before", duration(i));
    } else {
        text.push_str(" (");
    }
    let _ = write!(
        text,
        "{}router lifetime {})",
        if ra.interval_s.is_some() { "; " } else { "" },
        duration(lifetime)
    );
    text.push_str(": the ISP router may be gone; the default route ends with the lifetime");
    out.push(Finding::new(Severity::Degraded, "wan", text));
}

/// Our own RAs on a LAN come less often than a prefix they advertise stays
/// preferred: hosts deprecate (or lose) their addresses between two RAs.
fn lan_ra_interval(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(ra) = r.daemon::<RaStatus>(Daemon::Ra) else {
        return;
    };
    for lan in &ra.lans {
        let (Some(last), Some(next)) = (lan.last_ra_secs_ago, lan.next_ra_in_ms) else {
            continue;
        };
        let interval = last + next / 1000;
        for p in lan.prefixes.iter().filter(|p| !p.deprecated) {
            let (pref, valid) = (u64::from(p.preferred_lifetime), u64::from(p.valid_lifetime));
            if pref == 0 || pref >= interval {
                continue;
            }
            let what = if valid < interval {
                "lose"
            } else {
                "deprecate"
            };
            out.push(Finding::new(
                Severity::Degraded,
                format!("lan {}", lan.interface),
                format!(
                    "RA interval ~{} is longer than {}'s preferred lifetime {} (valid {}): \
                     hosts {what} their addresses between two RAs",
                    duration(interval),
                    dash(&p.prefix),
                    duration(pref),
                    duration(valid)
                ),
            ));
        }
    }
}

/// The last reload was refused: the file on disk is not what runs, and the
/// next reboot will fail the same way.
fn reload(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(f) = &r.reload_refused else {
        return;
    };
    let mut text = format!(
        "running config differs from {}: reload refused {} ago: {}",
        dash(&r.config_file),
        duration(f.age_s),
        dash(&f.error)
    );
    if f.errors > 1 {
        let _ = write!(text, " (and {} more)", f.errors - 1);
    }
    out.push(Finding::new(Severity::Degraded, "config", text));
}

fn rogues(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(ra) = r.daemon::<RaStatus>(Daemon::Ra) else {
        return;
    };
    for lan in &ra.lans {
        // A router whose last RA has run out on the hosts (it left, or
        // said goodbye with lifetime 0) is history: `show lan` and the
        // log keep it, the diagnosis does not.
        for g in lan
            .rogue_routers
            .iter()
            .filter(|g| g.holds_secs_left != Some(0))
        {
            let mut text = format!(
                "another router advertises on {}: {} ({}) seen {}x, last {} ago",
                lan.interface,
                g.source.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                g.link_layer_address.as_deref().unwrap_or("-"),
                g.count,
                duration(g.last_seen_secs_ago)
            );
            if !g.prefixes.is_empty() {
                let _ = write!(text, ", prefixes {}", g.prefixes.join(" "));
            }
            if g.router_lifetime > 0 {
                text.push_str("; hosts may send traffic through it");
            }
            out.push(Finding::new(
                Severity::Degraded,
                format!("lan {}", lan.interface),
                text,
            ));
        }
        if lan.rogue_untracked > 0 {
            out.push(Finding::new(
                Severity::Degraded,
                format!("lan {}", lan.interface),
                format!(
                    "{} more RAs from routers not tracked (table full)",
                    lan.rogue_untracked
                ),
            ));
        }
    }
}

fn dns(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(d) = r.daemon::<DnsStatus>(Daemon::Dns) else {
        return;
    };
    if d.upstreams.is_empty() {
        // The supervisor already hands servers to the forwarder, whose
        // status has not caught up yet (it refreshes every few seconds):
        // not a finding, and not a contradiction of the `dns` line.
        if r.wan.state == WanState::Up && r.upstream_dns.is_empty() {
            out.push(Finding::new(
                Severity::Degraded,
                "dns",
                "no upstream DNS server known (none configured, none learned from the WAN): \
                 LAN names beyond the router's own do not resolve",
            ));
        }
        return;
    }
    if d.upstreams.iter().any(|u| u.health == "up") {
        return;
    }
    let each: Vec<String> = d
        .upstreams
        .iter()
        .map(|u| {
            format!(
                "{} ({} queries, {} answers, {} failures)",
                u.host(),
                u.queries,
                u.answers,
                u.failures
            )
        })
        .collect();
    out.push(Finding::new(
        Severity::Degraded,
        "dns",
        format!(
            "every upstream DNS server is down: {}; clients get SERVFAIL",
            each.join(", ")
        ),
    ));
}

fn firewall(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(f) = r.daemon::<FirewallStatus>(Daemon::Firewall) else {
        return;
    };
    if f.implemented != Some(false) && f.state == "active" {
        return;
    }
    let state = if f.implemented == Some(false) {
        "no engine in this build"
    } else {
        dash(&f.state)
    };
    let mut text = format!("firewall not active ({state})");
    if !f.reason.is_empty() {
        let _ = write!(text, ": {}", f.reason);
    }
    text.push_str("; traffic is not filtered as configured");
    out.push(Finding::new(Severity::Degraded, "firewall", text));
}

fn ntp(r: &StatusReport, out: &mut Vec<Finding>) {
    let Some(n) = r.daemon::<NtpStatus>(Daemon::Ntp) else {
        return;
    };
    if n.synced {
        return;
    }
    out.push(Finding::new(
        Severity::Degraded,
        "time",
        format!(
            "clock not synchronised: {}; log times may be wrong",
            n.reason.as_deref().unwrap_or("no reason reported")
        ),
    ));
}

/// A daemon that is not running (waiting to be restarted, or stopped).
fn daemons(r: &StatusReport, out: &mut Vec<Finding>) {
    for d in r.daemons.iter().filter(|d| d.state != "running") {
        let mut text = format!("daemon {} is {}", d.name, d.state);
        if d.restarts > 0 {
            let _ = write!(text, " after {} restarts", d.restarts);
        }
        if let Some(e) = &d.last_exit {
            let _ = write!(text, "; last exit: {e}");
        }
        out.push(Finding::new(Severity::Degraded, d.name.clone(), text));
    }
}

/// The exit code for `findings`: 0 healthy, 1 degraded, 2 down.
pub fn exit_code(findings: &[Finding]) -> u8 {
    match findings.iter().map(|f| f.severity).max() {
        None => 0,
        Some(Severity::Degraded) => 1,
        Some(Severity::Down) => 2,
    }
}

/// The findings as text, 80 columns: `DOWN     wan: ...`, the evidence
/// wrapped under the text; one `healthy: ...` line when there are none.
pub fn render(r: &StatusReport, findings: &[Finding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        let prefixes: Vec<String> = r
            .wan
            .delegated_prefixes
            .iter()
            .map(|p| p.prefix.to_string())
            .collect();
        let line = format!(
            "healthy: WAN {} up, prefix {}, {} LAN(s), {} daemons running",
            dash(&r.wan.interface),
            if prefixes.is_empty() {
                "-".to_owned()
            } else {
                prefixes.join(" ")
            },
            r.lan.len(),
            r.daemons.len()
        );
        push_wrapped(&mut out, "", &line);
        return out;
    }
    for f in findings {
        let label = format!("{:<9}", f.severity.word());
        push_wrapped(&mut out, &label, &format!("{}: {}", f.subject, f.text));
    }
    out
}

/// `text` after `label`, wrapped at spaces to [`WIDTH`], continuation lines
/// indented under the text; control characters from a daemon become
/// spaces and a word longer than a line is cut, so nothing widens the
/// screen.
pub(crate) fn push_wrapped(out: &mut String, label: &str, text: &str) {
    let width = WIDTH - label.len();
    let mut words = String::new();
    for word in text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
    {
        let chars: Vec<char> = word.chars().collect();
        for piece in chars.chunks(width) {
            words.extend(piece);
            words.push(' ');
        }
    }
    let indent = " ".repeat(label.len());
    for (i, l) in wrap_words(&words, width).iter().enumerate() {
        let _ = writeln!(out, "{}{l}", if i == 0 { label } else { &indent });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cpe_bus::status::DaemonReport;
    use serde_json::json;

    /// A healthy router: WAN up with a /56, one LAN, daemons running and
    /// reporting well.
    pub(crate) fn healthy() -> StatusReport {
        let mut r = crate::render::tests::sample();
        r.wan.carrier = true;
        r.lan[0].prefixes.clear();
        r.lan[0].problems.clear();
        r.daemons = ["wan", "dhcp6c", "ra", "dns", "firewall", "ntp"]
            .iter()
            .map(|n| DaemonReport {
                name: (*n).into(),
                pid: Some(100),
                state: "running".into(),
                ..Default::default()
            })
            .collect();
        let st = &mut r.daemon_status;
        st.insert(
            "dns".into(),
            json!({"upstreams": [{"address": "2001:db8::53", "health": "up"}]}),
        );
        st.insert(
            "firewall".into(),
            json!({"implemented": true, "state": "active"}),
        );
        st.insert("ntp".into(), json!({"synced": true}));
        st.insert("ra".into(), json!({"lans": [{"interface": "br0"}]}));
        r
    }

    fn text_of(r: &StatusReport) -> (String, u8) {
        let f = findings(r);
        let text = render(r, &f);
        for l in text.lines() {
            assert!(l.chars().count() <= WIDTH, "too wide: {l}");
        }
        (text, exit_code(&f))
    }

    #[test]
    fn healthy_is_one_line_and_exit_0() {
        let (text, code) = text_of(&healthy());
        assert_eq!(
            text,
            "healthy: WAN wan0 up, prefix 2001:db8:1200::/56, 1 LAN(s), 6 daemons running\n"
        );
        assert_eq!(code, 0);
        assert_eq!(serde_json::to_string(&findings(&healthy())).unwrap(), "[]");
    }

    #[test]
    fn dslite_not_up_names_the_missing_aftr_and_up_is_quiet() {
        let mut r = healthy();
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {
                "mode": "dslite", "state": "no-aftr", "tunnel": "dslite0",
                "reason": "no AFTR: none in the config and the DHCPv6 server sent no \
                           AFTR-Name (option 64)"}}),
        );
        let (text, code) = text_of(&r);
        assert_eq!(code, 1, "{text}");
        assert!(
            text.contains("ipv4: DS-Lite dslite0 no-aftr: no IPv4 to the Internet; no AFTR"),
            "{text}"
        );
        assert!(text.contains("AFTR-Name (option 64)"), "{text}");
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {"mode": "dslite", "state": "up", "tunnel": "dslite0"}}),
        );
        assert_eq!(text_of(&r).1, 0);
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {"mode": "auto", "state": "no-aftr", "tunnel": "dslite0"}}),
        );
        r.wan.addresses.push("198.51.100.7/24".into());
        assert_eq!(text_of(&r).1, 0, "auto without an AFTR is not a fault");
    }

    #[test]
    fn auto_with_nothing_offered_is_a_fault_only_without_wan_ipv4() {
        let mut r = healthy();
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {
                "mode": "auto", "state": "no-offer", "tunnel": "",
                "reason": "auto: the ISP offered neither option 64 nor 94"}}),
        );
        let (text, code) = text_of(&r);
        assert_eq!(code, 1, "{text}");
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            joined.contains(
                "ipv4: no IPv4 to the Internet: no IPv4 on the WAN, and auto: the ISP offered \
                 neither option 64 nor 94"
            ),
            "{text}"
        );
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {
                "mode": "auto", "state": "waiting-dhcpv6", "tunnel": "",
                "reason": "auto: no DHCPv6 Reply yet to offer option 64 or 94"}}),
        );
        assert_eq!(text_of(&r).1, 0, "DHCPv6's own finding covers the wait");
        r.wan.addresses.push("198.51.100.7/24".into());
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {"mode": "auto", "state": "no-offer", "tunnel": ""}}),
        );
        assert_eq!(text_of(&r).1, 0, "native IPv4 needs no softwire");
        // auto running MAP-E with a rule that does not map: MAP-E's reason.
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {
                "mode": "auto", "chosen": "map-e", "state": "rule-mismatch", "tunnel": "map0",
                "reason": "MAP-E: delegated prefix 2001:db8:1::/56 is not inside the rule's \
                           2001:db9::/40"}}),
        );
        let (text, _) = text_of(&r);
        assert!(text.contains("ipv4: MAP-E map0 rule-mismatch"), "{text}");
    }

    #[test]
    fn map_e_not_up_names_the_rule_mismatch() {
        let mut r = healthy();
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {
                "mode": "map-e", "state": "rule-mismatch", "tunnel": "map0",
                "reason": "MAP-E: delegated prefix 2001:db8:1::/56 is not inside the rule's \
                           2001:db9::/40"}}),
        );
        let (text, code) = text_of(&r);
        assert_eq!(code, 1, "{text}");
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            joined.contains(
                "ipv4: MAP-E map0 rule-mismatch: no IPv4 to the Internet; delegated prefix \
                 2001:db8:1::/56 is not inside the rule's 2001:db9::/40"
            ),
            "{text}"
        );
        r.daemon_status.insert(
            "wan".into(),
            json!({"ipv4_over_ipv6": {"mode": "map-e", "state": "up", "tunnel": "map0"}}),
        );
        assert_eq!(text_of(&r).1, 0);
    }

    #[test]
    fn wan_down_is_down_with_its_reason_and_exit_2() {
        let mut r = healthy();
        r.wan.state = WanState::Connecting;
        r.wan.delegated_prefixes.clear();
        r.wan.reason = "no Router Advertisement from the ISP for 30s (4 RS sent)".into();
        let (text, code) = text_of(&r);
        assert_eq!(code, 2);
        assert!(
            text.starts_with(
                "DOWN     wan: WAN wan0 (ipoe) connecting: no Router Advertisement from the ISP\n"
            ),
            "{text}"
        );
        // No prefix is a consequence of the WAN, not a second finding.
        assert!(!text.contains("prefix:"), "{text}");
        // PPPoE: the phase and the AC's own words.
        r.wan.mode = "pppoe".into();
        r.wan.state = WanState::Down;
        r.wan.reason = "PPPoE discovery: PADI sent, no PADO".into();
        r.daemon_status.insert(
            "wan".into(),
            json!({"pppoe": {"phase": "holdoff", "attempts": 3,
                "last_failure": "PADS from AC 'lab-ac': Service-Name-Error \"no such service\""}}),
        );
        let (text, code) = text_of(&r);
        assert_eq!(code, 2);
        let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            one.contains(
                "PADI sent, no PADO; PPPoE holdoff (attempt 3); last failure: PADS from AC \
                 'lab-ac': Service-Name-Error \"no such service\""
            ),
            "{text}"
        );
        assert!(!one.contains("carrier"), "{text}");
    }

    #[test]
    fn no_prefix_names_the_dhcpv6_evidence_and_the_isp_ra_flags() {
        let mut r = healthy();
        r.wan.delegated_prefixes.clear();
        r.daemon_status.insert(
            "dhcp6c".into(),
            json!({"state": "soliciting", "state_age": 133, "sent_in_state": 14,
                "replies_in_state": 0, "counters": {"transmitted": 14,
                "retransmissions": 13, "received": 0}}),
        );
        r.daemon_status.insert(
            "wan".into(),
            json!({"mode": "ipoe", "last_ra": {"from": "fe80::1", "age_s": 12,
                "managed": true, "other_config": true, "router_lifetime": 1800}}),
        );
        let (text, code) = text_of(&r);
        assert_eq!(code, 1);
        assert_eq!(
            text,
            "DEGRADED prefix: no IPv6 on LAN br0: no prefix delegated: DHCPv6 soliciting\n         \
             2m13s: 14 Solicit, 0 replies; ISP RA seen 12s ago with M=1 O=1\n"
        );
        // An older client without per-state counts: its totals.
        r.daemon_status.insert(
            "dhcp6c".into(),
            json!({"state": "soliciting", "counters": {"transmitted": 14,
                "retransmissions": 13, "received": 0}}),
        );
        assert!(
            findings(&r)[0]
                .text
                .contains("DHCPv6 soliciting; 14 sent (13 retransmissions), 0 received; ISP RA")
        );
        // The server's refusal, with its status code and text.
        r.daemon_status.insert(
            "dhcp6c".into(),
            json!({"state": "bound", "refusal": {"server_duid": "0001", "scope": "IA_PD",
                "status": "NoPrefixAvail", "status_code": 6, "message": "pool exhausted",
                "age": 75}, "counters": {"transmitted": 3, "received": 3}}),
        );
        let f = findings(&r);
        assert!(
            f[0].text.contains(
                "DHCPv6 bound; IA_PD refused: NoPrefixAvail (code 6, server 0001: \"pool exhausted\") \
                 1m15s ago; 3 sent (0 retransmissions), 3 received"
            ),
            "{f:?}"
        );
        // A bound prefix whose server stopped answering.
        let mut held = r.clone();
        held.wan.delegated_prefixes = healthy().wan.delegated_prefixes;
        held.daemon_status.insert(
            "dhcp6c".into(),
            json!({"state": "rebinding", "state_age": 40, "sent_in_state": 5,
                "replies_in_state": 0, "last_reply_age": 190}),
        );
        let f = findings(&held);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].text,
            "DHCPv6 server not answering: rebinding 40s: 5 Rebind, 0 replies; last reply \
             3m10s ago; 2001:db8:1200::/56 valid 2h00m more"
        );
        // The server refuses the prefix on Renew while the old one runs out.
        held.daemon_status.insert(
            "dhcp6c".into(),
            json!({"state": "bound", "state_age": 2, "refusal": {"server_duid": "0001",
                "scope": "IA_PD", "status": "NoPrefixAvail", "status_code": 6, "age": 2}}),
        );
        let f = findings(&held);
        assert_eq!(
            f[0].text,
            "DHCPv6 server no longer delegates: bound; IA_PD refused: NoPrefixAvail (code 6, \
             server 0001) 2s ago; 2001:db8:1200::/56 valid 2h00m more; the LANs lose IPv6 when \
             it ends"
        );
        // No DHCPv6 client configured: no delegation is expected.
        let mut v4 = r.clone();
        v4.daemons.retain(|d| d.name != "dhcp6c");
        v4.daemon_status.remove("dhcp6c");
        assert_eq!(findings(&v4), []);
        // M=0 O=0: the ISP offers no DHCPv6 here at all.
        r.daemon_status.insert(
            "wan".into(),
            json!({"last_ra": {"age_s": 5, "managed": false, "other_config": false}}),
        );
        let f = findings(&r);
        assert!(
            f[0].text.ends_with(
                "ISP RA seen 5s ago with M=0 O=0 (the ISP does not offer DHCPv6 on this link)"
            ),
            "{f:?}"
        );
    }

    #[test]
    fn a_rogue_router_whose_last_ra_ran_out_is_no_longer_a_finding() {
        let mut r = healthy();
        let rogue = |left: Option<u64>| {
            json!({"lans": [{"interface": "br0", "rogue_routers": [{"source": "fe80::bad",
                "count": 7, "last_seen_secs_ago": 40, "router_lifetime": 0,
                "prefixes": ["2001:db8:bad::/64"], "holds_secs_left": left}]}]})
        };
        r.daemon_status.insert("ra".into(), rogue(Some(0)));
        assert_eq!(text_of(&r).1, 0, "{:?}", findings(&r));
        for left in [Some(5), None] {
            r.daemon_status.insert("ra".into(), rogue(left));
            assert_eq!(text_of(&r).1, 1, "{left:?}");
        }
    }

    #[test]
    fn lan_problems_rogues_dns_firewall_time_and_daemons_each_degrade() {
        let mut r = healthy();
        r.lan[0].problems =
            vec!["delegated 2001:db8:1200::/64 has no subnet 1 for br0: numbered with 0".into()];
        r.daemon_status.insert(
            "ra".into(),
            json!({"lans": [{"interface": "br0", "rogue_routers": [{"source": "fe80::bad",
                "link_layer_address": "02:00:00:00:0b:ad", "count": 7, "last_seen_secs_ago": 3,
                "router_lifetime": 1800, "prefixes": ["2001:db8:bad::/64"]}]}]}),
        );
        r.daemon_status.insert(
            "dns".into(),
            json!({"upstreams": [
                {"address": "2001:db8::53", "health": "down", "queries": 9, "failures": 9},
                {"address": "192.0.2.53", "health": "down", "queries": 2, "failures": 2}]}),
        );
        r.daemon_status.insert(
            "firewall".into(),
            json!({"implemented": true, "state": "failed",
                "reason": "ruleset refused by the kernel: Operation not permitted"}),
        );
        r.daemon_status.insert(
            "ntp".into(),
            json!({"synced": false, "reason": "no reply from 2001:db8::123 for 8 s"}),
        );
        r.daemons[1].state = "backoff".into();
        r.daemons[1].restarts = 4;
        r.daemons[1].last_exit = Some("signal 11".into());
        let (text, code) = text_of(&r);
        assert_eq!(code, 1);
        let f = findings(&r);
        let subjects: Vec<&str> = f.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(
            subjects,
            ["lan br0", "lan br0", "dns", "firewall", "time", "dhcp6c"]
        );
        assert!(f.iter().all(|f| f.severity == Severity::Degraded));
        let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for want in [
            "DEGRADED lan br0: delegated 2001:db8:1200::/64 has no subnet 1",
            "another router advertises on br0: fe80::bad (02:00:00:00:0b:ad) seen 7x, last 3s \
             ago, prefixes 2001:db8:bad::/64; hosts may send traffic through it",
            "every upstream DNS server is down: 2001:db8::53 (9 queries, 0 answers, 9 failures), \
             192.0.2.53 (2 queries",
            "firewall not active (failed): ruleset refused by the kernel",
            "clock not synchronised: no reply from 2001:db8::123 for 8 s",
            "daemon dhcp6c is backoff after 4 restarts; last exit: signal 11",
        ] {
            assert!(one.contains(want), "missing {want:?} in\n{text}");
        }
        // No upstream known: a finding, unless the forwarder's status only
        // lags the servers the supervisor already gave it.
        let mut none = r.clone();
        none.daemon_status
            .insert("dns".into(), json!({"upstreams": []}));
        assert!(
            findings(&none)
                .iter()
                .any(|f| f.text.starts_with("no upstream DNS"))
        );
        none.upstream_dns = vec!["2001:db8::53".parse().unwrap()];
        assert!(!findings(&none).iter().any(|f| f.subject == "dns"));
        // One upstream up is enough: DNS works.
        r.daemon_status.insert(
            "dns".into(),
            json!({"upstreams": [{"address": "2001:db8::53", "health": "down"},
                {"address": "192.0.2.53", "health": "up"}]}),
        );
        assert!(!findings(&r).iter().any(|f| f.subject == "dns"));
        // A firewall without its engine is not active either.
        r.daemon_status.insert(
            "firewall".into(),
            json!({"implemented": false, "note": "protocol engine not in this build yet"}),
        );
        assert!(findings(&r).iter().any(|f| f.text.starts_with(
            "firewall not active (no engine in this build); traffic is not filtered"
        )));
    }

    #[test]
    fn a_prefix_in_a_carrier_closed_range_says_what_it_means() {
        let mut r = healthy();
        r.wan.closed_prefixes = cpe_config::default_closed_prefixes();
        r.wan.delegated_prefixes[0].prefix = "2408:210:1200::/48".parse().unwrap();
        let f = findings(&r);
        assert_eq!(exit_code(&f), 1);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].text.starts_with(
            "delegated 2408:210:1200::/48 is inside 2408::/22, an NTT NGN closed-network range: \
             LAN clients numbered from it reach the carrier's own services but not the Internet"
        ));
        // The configured list is the one used: another carrier's range, or
        // none at all (`closed_prefixes = []`).
        r.wan.closed_prefixes = vec!["2408:200::/23".parse().unwrap()];
        let f = findings(&r);
        assert!(
            f[0].text.starts_with(
                "delegated 2408:210:1200::/48 is inside 2408:200::/23, a closed-network range \
             (wan.closed_prefixes): LAN clients"
            ),
            "{f:?}"
        );
        r.wan.closed_prefixes.clear();
        assert_eq!(exit_code(&findings(&r)), 0);
        r.wan.closed_prefixes = cpe_config::default_closed_prefixes();
        for (p, closed) in [
            ("2001:c90:1::/48", true),
            ("2001:d73:ffff::/48", true),
            ("2001:d74::/48", false),
            ("2001:a7ff:1::/48", true),
            ("2404:1a8:7f01::/48", true),
            ("2408:400::/48", false),
            ("2001:db8::/48", false),
        ] {
            r.wan.delegated_prefixes[0].prefix = p.parse().unwrap();
            assert_eq!(exit_code(&findings(&r)), u8::from(closed), "{p}");
        }
    }

    #[test]
    fn json_is_an_array_of_severity_subject_text_and_the_worst_comes_first() {
        let mut r = healthy();
        r.daemon_status
            .insert("ntp".into(), json!({"synced": false, "reason": "x"}));
        r.wan.state = WanState::Down;
        r.wan.carrier = false;
        let f = findings(&r);
        assert_eq!(exit_code(&f), 2);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            v,
            json!([
                {"severity": "down", "subject": "wan",
                 "text": "WAN wan0 (ipoe) down; no carrier on the link"},
                {"severity": "degraded", "subject": "time",
                 "text": "clock not synchronised: x; log times may be wrong"}
            ])
        );
    }

    #[test]
    fn hostile_daemon_text_cannot_widen_or_break_the_screen() {
        let mut r = healthy();
        r.daemon_status.insert(
            "ntp".into(),
            json!({"synced": false, "reason": format!("a\n\x1b[2Jb{}", "x".repeat(300))}),
        );
        let (text, code) = text_of(&r);
        assert_eq!(code, 1);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.lines().count() >= 5, "{text}");
    }
}
