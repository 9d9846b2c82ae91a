//! What goes into the event ring (`cpectl log`), derived from changes.
//!
//! The supervisor already sees every fact and every daemon's status, so
//! events are found by comparing the old with the new here, and the daemons
//! stay as they are: a WAN that leaves `up`, a prefix that appears, is
//! renewed, passes its preferred lifetime, expires or is withdrawn, a
//! DHCPv6 state change or refusal, an upstream DNS server that stops
//! answering, a rogue router on a LAN. Each function is pure; the core
//! stamps the times and keeps the counters.

use std::net::IpAddr;

use cpe_bus::events::{Level, PrefixChange};
use cpe_bus::status::lifetime_left;
use cpe_bus::{DelegatedPrefix, Dhcp6Facts, MonoTime, SharedState, WanFacts, WanState};
use serde_json::Value;

/// One event before it is stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// How bad.
    pub level: Level,
    /// The daemon it is about.
    pub daemon: &'static str,
    /// The line.
    pub text: String,
    /// Set for prefix events.
    pub prefix: Option<PrefixChange>,
}

fn note(level: Level, daemon: &'static str, text: String) -> Note {
    Note {
        level,
        daemon,
        text,
        prefix: None,
    }
}

fn flags(m: bool, o: bool) -> String {
    format!("M={} O={}", u8::from(m), u8::from(o))
}

/// What changed in the WAN daemon's facts.
pub fn wan_changes(old: &WanFacts, new: &WanFacts) -> Vec<Note> {
    let mut out = Vec::new();
    if old.state != new.state {
        let (level, word) = match new.state {
            WanState::Up => (Level::Info, "up"),
            WanState::Connecting => (Level::Info, "connecting"),
            WanState::Down => (Level::Warn, "down"),
            WanState::Unknown => (Level::Warn, "unknown"),
        };
        let level = if old.state == WanState::Up {
            Level::Warn
        } else {
            level
        };
        let mut text = format!("WAN {} {word}", new.interface);
        if !new.reason.is_empty() {
            text.push_str(": ");
            text.push_str(&new.reason);
        }
        out.push(note(level, "wan", text));
    }
    if old.default_router_v6 != new.default_router_v6 {
        match (old.default_router_v6, new.default_router_v6) {
            (_, Some(r)) => out.push(note(
                Level::Info,
                "wan",
                format!("ISP router {r} is the IPv6 default router"),
            )),
            (Some(r), None) => out.push(note(
                Level::Warn,
                "wan",
                format!("ISP router {r} gone: no IPv6 default router"),
            )),
            (None, None) => {}
        }
    }
    if (old.ra_managed, old.ra_other_config) != (new.ra_managed, new.ra_other_config) {
        out.push(note(
            Level::Info,
            "wan",
            format!(
                "ISP RA flags now {} (were {})",
                flags(new.ra_managed, new.ra_other_config),
                flags(old.ra_managed, old.ra_other_config)
            ),
        ));
    }
    if old.default_router_v4 != new.default_router_v4 {
        out.push(match new.default_router_v4 {
            Some(g) => note(Level::Info, "wan", format!("IPv4 gateway {g}")),
            None => note(Level::Warn, "wan", "IPv4 gateway gone".to_string()),
        });
    }
    out
}

/// What changed in the DHCPv6 client's facts besides its prefixes (those
/// are compared on the derived snapshot by [`prefix_changes`]).
pub fn dhcp6_changes(old: &Dhcp6Facts, new: &Dhcp6Facts) -> Vec<Note> {
    if old.state == new.state || new.state.is_empty() {
        return Vec::new();
    }
    let level = match new.state.as_str() {
        "rebinding" => Level::Warn,
        "soliciting" if !old.delegated_prefixes.is_empty() => Level::Warn,
        _ => Level::Info,
    };
    let mut text = format!("DHCPv6 {}", new.state);
    if !old.state.is_empty() {
        text.push_str(&format!(" (was {})", old.state));
    }
    // The server is news after a Solicit, not after every renewal.
    let renewal = matches!(old.state.as_str(), "renewing" | "rebinding")
        && old.server_duid == new.server_duid;
    if new.state == "bound"
        && !renewal
        && let Some(s) = &new.server_duid
    {
        text.push_str(&format!(", server {s}"));
    }
    vec![note(level, "dhcp6c", text)]
}

fn prefix_note(
    level: Level,
    p: &DelegatedPrefix,
    link: &str,
    what: &str,
    now: MonoTime,
    text: String,
) -> Note {
    // Lifetimes left mean nothing once a prefix is gone from where it was.
    let gone = what == "expired" || (what == "withdrawn" && link != "wan");
    let (preferred_s, valid_s) = if gone {
        (None, None)
    } else {
        (
            Some(lifetime_left(p.preferred_until, now)),
            Some(lifetime_left(p.valid_until, now)),
        )
    };
    Note {
        level,
        daemon: if link == "wan" { "dhcp6c" } else { "ra" },
        text,
        prefix: Some(PrefixChange {
            prefix: p.prefix,
            link: link.to_string(),
            what: what.to_string(),
            preferred_s,
            valid_s,
        }),
    }
}

/// A lifetime for a log line: `300 s`, `infinite`.
fn lft(s: u64) -> String {
    if s == cpe_bus::status::INFINITE_LFT {
        "infinite".into()
    } else {
        format!("{s} s")
    }
}

/// Prefix events between two snapshots: delegations (obtained, renewed,
/// deprecated when the preferred lifetime passed between `last` and `now`
/// unrenewed, withdrawn, expired) and the /64s each LAN advertises.
pub fn prefix_changes(
    old: &SharedState,
    new: &SharedState,
    last: MonoTime,
    now: MonoTime,
) -> Vec<Note> {
    let mut out = Vec::new();
    let (was, is) = (&old.dhcp6.delegated_prefixes, &new.dhcp6.delegated_prefixes);
    for p in is {
        let pl = |p: &DelegatedPrefix| {
            format!(
                "preferred {}, valid {}",
                lft(lifetime_left(p.preferred_until, now)),
                lft(lifetime_left(p.valid_until, now))
            )
        };
        match was.iter().find(|o| o.prefix == p.prefix) {
            None => out.push(prefix_note(
                Level::Info,
                p,
                "wan",
                "delegated",
                now,
                format!("prefix {} delegated: {}", p.prefix, pl(p)),
            )),
            Some(o) if (o.preferred_until, o.valid_until) != (p.preferred_until, p.valid_until) => {
                out.push(prefix_note(
                    Level::Info,
                    p,
                    "wan",
                    "renewed",
                    now,
                    format!("prefix {} renewed: {}", p.prefix, pl(p)),
                ))
            }
            Some(_) if p.preferred_until > last && p.preferred_until <= now => {
                out.push(prefix_note(
                    Level::Warn,
                    p,
                    "wan",
                    "deprecated",
                    now,
                    format!(
                        "prefix {} deprecated: preferred lifetime over without a renewal, valid {}",
                        p.prefix,
                        lft(lifetime_left(p.valid_until, now))
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    for o in was
        .iter()
        .filter(|o| !is.iter().any(|p| p.prefix == o.prefix))
    {
        let n = if o.valid_until <= now {
            prefix_note(
                Level::Warn,
                o,
                "wan",
                "expired",
                now,
                format!("prefix {} expired: valid lifetime over", o.prefix),
            )
        } else {
            prefix_note(
                Level::Warn,
                o,
                "wan",
                "withdrawn",
                now,
                format!(
                    "prefix {} withdrawn by the DHCPv6 client; LANs phase it out ({} valid)",
                    o.prefix,
                    lft(lifetime_left(o.valid_until, now))
                ),
            )
        };
        out.push(n);
    }
    for lan in &new.lan {
        let before = old
            .lan
            .iter()
            .find(|l| l.interface == lan.interface)
            .map_or(&[][..], |l| &l.prefixes[..]);
        for p in &lan.prefixes {
            let as_delegated = DelegatedPrefix {
                prefix: p.prefix,
                preferred_until: p.preferred_until,
                valid_until: p.valid_until,
            };
            let origin = match p.origin {
                cpe_bus::PrefixOrigin::Delegated => "delegated",
                cpe_bus::PrefixOrigin::Ula => "ULA",
                cpe_bus::PrefixOrigin::Static => "static",
            };
            match before.iter().find(|b| b.prefix == p.prefix) {
                None => out.push(prefix_note(
                    Level::Info,
                    &as_delegated,
                    &lan.interface,
                    "advertised",
                    now,
                    format!("{} advertises {} ({origin})", lan.interface, p.prefix),
                )),
                Some(b) if p.deprecated && !b.deprecated => out.push(prefix_note(
                    Level::Info,
                    &as_delegated,
                    &lan.interface,
                    "deprecated",
                    now,
                    format!(
                        "{} deprecates {} ({origin}), valid {}",
                        lan.interface,
                        p.prefix,
                        lft(lifetime_left(p.valid_until, now))
                    ),
                )),
                Some(_) => {}
            }
        }
        for b in before
            .iter()
            .filter(|b| !lan.prefixes.iter().any(|p| p.prefix == b.prefix))
        {
            let as_delegated = DelegatedPrefix {
                prefix: b.prefix,
                preferred_until: b.preferred_until,
                valid_until: b.valid_until,
            };
            out.push(prefix_note(
                Level::Info,
                &as_delegated,
                &lan.interface,
                "withdrawn",
                now,
                format!("{} no longer advertises {}", lan.interface, b.prefix),
            ));
        }
    }
    out
}

fn text_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An upstream as the DNS forwarder names it (`[2001:db8::53]:53`,
/// `192.0.2.53:53`), without the usual port.
fn upstream_name(text: &str) -> String {
    match text.parse::<std::net::SocketAddr>() {
        Ok(sa) if sa.port() == 53 => match sa.ip() {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            },
            v4 => v4.to_string(),
        },
        _ => text.to_string(),
    }
}

/// What changed in a daemon's own status object that the facts do not
/// carry: a DHCPv6 refusal, an upstream DNS server's health, a rogue
/// router on a LAN, a PPPoE failure. `old` is the previous status, if any.
pub fn status_changes(daemon: cpe_bus::Daemon, old: Option<&Value>, new: &Value) -> Vec<Note> {
    use cpe_bus::Daemon;
    let null = Value::Null;
    let old = old.unwrap_or(&null);
    let mut out = Vec::new();
    match daemon {
        Daemon::Dhcp6c => {
            let key = |v: &Value| {
                let r = v.get("refusal").filter(|r| r.is_object())?;
                Some((
                    text_of(r, "scope").to_string(),
                    text_of(r, "status").to_string(),
                    text_of(r, "server_duid").to_string(),
                    text_of(r, "message").to_string(),
                ))
            };
            if let Some((scope, status, server, message)) = key(new)
                && key(old).as_ref().map(|k| (&k.0, &k.1, &k.2)) != Some((&scope, &status, &server))
            {
                let mut text = format!("server {server} refused {scope}: {status}");
                if !message.is_empty() {
                    text.push_str(&format!(" \"{message}\""));
                }
                out.push(note(Level::Warn, "dhcp6c", text));
            }
        }
        Daemon::Dns => {
            let health = |v: &Value| -> Vec<(String, bool)> {
                v.get("upstreams")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|u| {
                                (
                                    text_of(u, "address").to_string(),
                                    text_of(u, "health") == "down",
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let before = health(old);
            for (addr, down) in health(new) {
                let was = before.iter().find(|(a, _)| *a == addr).map(|(_, d)| *d);
                match (was, down) {
                    (Some(false) | None, true) => out.push(note(
                        Level::Warn,
                        "dns",
                        format!("upstream DNS {} not answering", upstream_name(&addr)),
                    )),
                    (Some(true), false) => out.push(note(
                        Level::Info,
                        "dns",
                        format!("upstream DNS {} answering again", upstream_name(&addr)),
                    )),
                    _ => {}
                }
            }
        }
        Daemon::Ra => {
            let rogues = |v: &Value| -> Vec<(String, String)> {
                let mut all = Vec::new();
                for lan in v
                    .get("lans")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for r in lan
                        .get("rogue_routers")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        all.push((
                            text_of(lan, "interface").to_string(),
                            text_of(r, "source").to_string(),
                        ));
                    }
                }
                all
            };
            let before = rogues(old);
            for (lan, source) in rogues(new) {
                if !before.contains(&(lan.clone(), source.clone())) {
                    out.push(note(
                        Level::Warn,
                        "ra",
                        format!("another router {source} advertises on {lan}"),
                    ));
                }
            }
        }
        Daemon::Wan => {
            let failure = |v: &Value| {
                v.get("pppoe")
                    .map(|p| text_of(p, "last_failure").to_string())
                    .unwrap_or_default()
            };
            let f = failure(new);
            if !f.is_empty() && f != failure(old) {
                out.push(note(Level::Warn, "wan", format!("PPPoE: {f}")));
            }
        }
        Daemon::Firewall | Daemon::Dhcp6s | Daemon::Dhcp4s | Daemon::Ntp => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(notes: &[Note]) -> Vec<String> {
        notes
            .iter()
            .map(|n| format!("{} {}", n.level.word(), n.text))
            .collect()
    }

    #[test]
    fn wan_changes_name_the_router_flags_and_state() {
        let up = WanFacts {
            interface: "wan0".into(),
            state: WanState::Up,
            reason: "default route via fe80::1 on wan0".into(),
            default_router_v6: Some("fe80::1".parse().unwrap()),
            ra_managed: true,
            ra_other_config: true,
            ..WanFacts::default()
        };
        assert_eq!(
            texts(&wan_changes(&WanFacts::default(), &up)),
            [
                "info WAN wan0 up: default route via fe80::1 on wan0",
                "info ISP router fe80::1 is the IPv6 default router",
                "info ISP RA flags now M=1 O=1 (were M=0 O=0)",
            ]
        );
        assert!(
            wan_changes(&up, &up.clone()).is_empty(),
            "no change, no event"
        );
        let gone = WanFacts {
            state: WanState::Connecting,
            reason: "waiting for RA".into(),
            default_router_v6: None,
            default_router_v4: None,
            ..up.clone()
        };
        assert_eq!(
            texts(&wan_changes(&up, &gone)),
            [
                "warn WAN wan0 connecting: waiting for RA",
                "warn ISP router fe80::1 gone: no IPv6 default router",
            ]
        );
    }

    #[test]
    fn a_refusal_and_a_rogue_router_are_events_once() {
        let refused = serde_json::json!({"refusal": {"scope": "IA_PD", "status": "NoPrefixAvail",
            "server_duid": "0001", "message": "no prefixes", "age": 1}});
        let later = serde_json::json!({"refusal": {"scope": "IA_PD", "status": "NoPrefixAvail",
            "server_duid": "0001", "message": "no prefixes", "age": 9}});
        let d = cpe_bus::Daemon::Dhcp6c;
        assert_eq!(
            texts(&status_changes(d, None, &refused)),
            ["warn server 0001 refused IA_PD: NoPrefixAvail \"no prefixes\""]
        );
        assert!(status_changes(d, Some(&refused), &later).is_empty());
        let rogue = serde_json::json!({"lans": [{"interface": "br0",
            "rogue_routers": [{"source": "fe80::bad"}]}]});
        let ra = cpe_bus::Daemon::Ra;
        assert_eq!(
            texts(&status_changes(ra, Some(&Value::Null), &rogue)),
            ["warn another router fe80::bad advertises on br0"]
        );
        assert!(status_changes(ra, Some(&rogue), &rogue).is_empty());
        // Garbage is no event and no panic.
        for junk in [serde_json::json!(5), serde_json::json!({"upstreams": "x"})] {
            for daemon in cpe_bus::Daemon::ALL {
                assert!(status_changes(daemon, Some(&junk), &junk).is_empty());
            }
        }
        assert_eq!(upstream_name("192.0.2.53:53"), "192.0.2.53");
        assert_eq!(upstream_name("[::ffff:192.0.2.53]:53"), "192.0.2.53");
        assert_eq!(upstream_name("[2001:db8::53]:5353"), "[2001:db8::53]:5353");
    }
}
