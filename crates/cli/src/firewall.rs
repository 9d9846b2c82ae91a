//! `cpectl show firewall` and the firewall line of `cpectl status`, from
//! the firewall daemon's status object (see `cpe_firewall::status`).
//! Missing fields render as "-": an older or restarting daemon must not
//! blank the screen.

use crate::render::{WIDTH, duration};
use cpe_bus::Daemon;
use cpe_bus::status::StatusReport;
use cpe_bus::status::firewall::{ApplyKind, FirewallStatus, Forwarding};

fn s(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

fn on_off(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "on",
        Some(false) => "off",
        None => "-",
    }
}

fn forwarding(v: &Option<Forwarding>) -> String {
    match v {
        Some(Forwarding::Off) => "off".into(),
        Some(Forwarding::Requested) => "requested".into(),
        Some(Forwarding::On) => "on".into(),
        Some(Forwarding::Failed(e)) => format!("failed: {}", s(e)),
        None => "-".into(),
    }
}

fn total_drops(v: &FirewallStatus) -> u64 {
    v.drops.values().fold(0, |a, c| a.saturating_add(c.packets))
}

/// Cuts a line to the console width.
fn fit(mut line: String) -> String {
    if line.len() > WIDTH {
        let mut end = WIDTH - 1;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('~');
    }
    line
}

/// The `cpectl show firewall` screen.
pub fn show(v: &FirewallStatus) -> String {
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&fit(l));
        out.push('\n');
    };
    line(format!("firewall {}  {}", s(&v.state), s(&v.reason)));
    let a = &v.applies;
    line(format!(
        "forwarding {}  rules {}  applies {} full, {} sets, {} refused",
        forwarding(&v.forwarding),
        v.rules,
        a.full_applies,
        a.set_updates,
        a.apply_failures,
    ));
    if let Some(l) = &v.last_apply {
        let took = l
            .duration_us
            .map(|us| format!("{}.{:03} ms", us / 1000, us % 1000))
            .unwrap_or_else(|| "-".into());
        let kind = match l.kind {
            Some(ApplyKind::Full) => "full",
            Some(ApplyKind::Sets) => "sets",
            None => "-",
        };
        line(format!(
            "last apply {kind} {} in {}, {} ago",
            s(&l.result),
            took,
            duration(l.seconds_ago)
        ));
        if let Some(e) = &l.error {
            line(format!("  error: {e}"));
        }
    }
    let p = &v.policy;
    line(format!(
        "policy wan {} lan {}  inbound {}  nat44 {}  mss clamp {}  echo {}",
        s(&p.wan),
        p.lan.join(","),
        s(&p.wan_inbound),
        on_off(p.ipv4_nat),
        on_off(p.mss_clamp),
        s(&p.echo_request_limit),
    ));
    for (name, elems) in &v.sets {
        let shown = if elems.is_empty() {
            "-".to_string()
        } else {
            elems.join(" ")
        };
        line(format!("set {name:<7} {shown}"));
    }
    for ph in &v.pinholes {
        line(format!(
            "pinhole {} {}/{} host {} -> {}",
            s(&ph.name),
            s(&ph.proto),
            ph.port,
            s(&ph.host),
            if ph.addresses.is_empty() {
                "-".to_string()
            } else {
                ph.addresses.join(" ")
            }
        ));
    }
    line(format!(
        "{:<28} {:>14} {:>16}",
        "COUNTER", "PACKETS", "BYTES"
    ));
    for (name, c) in &v.drops {
        line(format!("{:<28} {:>14} {:>16}", name, c.packets, c.bytes));
    }
    if let Some(e) = &v.counters_error {
        line(format!("counters unavailable: {e}"));
    }
    out
}

/// One line for `cpectl status`, if the firewall reported.
pub fn status_line(r: &StatusReport) -> Option<String> {
    let v: FirewallStatus = r.daemon(Daemon::Firewall)?;
    Some(fit(format!(
        "firewall {}, forwarding {}, {} packets dropped",
        s(&v.state),
        forwarding(&v.forwarding),
        total_drops(&v)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "implemented": true,
            "state": "failed",
            "reason": "ruleset refused by the kernel: nftables batch refused at add table cpe: Operation not permitted (os error 1); the previous ruleset stays in force",
            "forwarding": "on",
            "policy": {"wan": "wan0", "lan": ["br0"], "wan_inbound": "drop", "ipv4_nat": true, "mss_clamp": true, "echo_request_limit": "10/1s"},
            "sets": {"lan6": ["2001:db8:1000:1::/64", "fd1a:672f:22a1:1::/64"], "stale6": []},
            "pinholes": [{"name": "web", "proto": "tcp", "port": 8080, "host": "::1234", "addresses": ["2001:db8:1000:1::1234"]}],
            "last_apply": {"kind": "full", "seconds_ago": 75, "duration_us": null, "result": "refused", "error": "Operation not permitted"},
            "applies": {"full_applies": 1, "set_updates": 2, "apply_failures": 1, "forwarding_failures": 0},
            "drops": {"drop_invalid": {"packets": 3, "bytes": 240}, "drop_wan_inbound": {"packets": 12345678901u64, "bytes": 987654321012u64}},
            "counters_error": null,
            "rules": 96
        })
    }

    #[test]
    fn show_firewall_fits_80_columns_and_says_why() {
        let text = show(&cpe_bus::status::json::read(&sample()).unwrap());
        for l in text.lines() {
            assert!(l.len() <= WIDTH, "too wide ({}): {l}", l.len());
        }
        assert!(text.contains("firewall failed  ruleset refused by the kernel"));
        assert!(text.contains("forwarding on  rules 96  applies 1 full, 2 sets, 1 refused"));
        assert!(text.contains("last apply full refused in -, 1m15s ago"));
        assert!(text.contains("set lan6    2001:db8:1000:1::/64 fd1a:672f:22a1:1::/64"));
        assert!(text.contains("set stale6  -"));
        assert!(text.contains("pinhole web tcp/8080 host ::1234 -> 2001:db8:1000:1::1234"));
        assert!(text.contains("drop_wan_inbound"));
        // A status cut short (an older build, a restarting daemon) renders
        // with dashes instead of failing.
        let short: FirewallStatus =
            cpe_bus::status::json::read(&serde_json::json!({"implemented": false})).unwrap();
        let text = show(&short);
        assert!(text.contains("firewall -  -"), "{text}");
        assert!(
            text.contains("policy wan - lan   inbound -  nat44 -"),
            "{text}"
        );
    }

    #[test]
    fn status_line_sums_drops() {
        let mut r = StatusReport::default();
        assert_eq!(status_line(&r), None);
        r.daemon_status.insert("firewall".into(), sample());
        assert_eq!(
            status_line(&r).unwrap(),
            "firewall failed, forwarding on, 12345678904 packets dropped"
        );
    }
}
