//! What PPPoE mode reports: the facts (state, reason on one console line,
//! and once a family is up the `pppN` interface with its addresses, routers,
//! resolvers and MTU), and the daemon's `pppoe` status object (phase, AC,
//! session id, MRU, IPCP/IPV6CP results, last failure with the AC's own
//! words, reconnects, counters). The password is nowhere in either.

use super::dialer::Dialer;
use super::discovery::{Phase, Snapshot, display_text, mac_text};
use crate::config::WanSettings;
use crate::ppp::session::{NcpStatus, Phase as PppPhase};
use cpe_bus::status::named_counts;
use cpe_bus::status::wan::{AcStatus, PppoeStatus, WanStatus};
use cpe_bus::{WanFacts, WanState};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::IpAddr;
use std::time::Instant;

/// The facts for the bus (or the status file).
pub fn facts(
    settings: &WanSettings,
    dialer: Option<&Dialer>,
    reason: &str,
    carrier: bool,
) -> WanFacts {
    let mut f = WanFacts {
        mode: "pppoe".into(),
        interface: settings.interface.clone(),
        state: WanState::Down,
        reason: reason.to_owned(),
        carrier,
        mtu: settings.mtu,
        ..WanFacts::default()
    };
    let Some(d) = dialer.filter(|_| carrier) else {
        return f;
    };
    let stopped = matches!(d.discovery().phase(), Phase::Stopped | Phase::Idle);
    f.state = if d.is_up() {
        WanState::Up
    } else if stopped && d.next_attempt().is_none() && d.ppp().is_none() {
        WanState::Down
    } else {
        WanState::Connecting
    };
    if let Some(unit) = d.unit().filter(|_| d.is_up()) {
        // DHCPv6, the firewall and the routes follow the PPP unit.
        f.interface = unit.to_owned();
        if let Some(mtu) = d.link_mtu() {
            f.mtu = mtu;
        }
        if let Some(v4) = d.ipv4() {
            f.addresses.push(IpNet::V4(Ipv4Net::from(v4.local)));
            f.default_router_v4 = v4.peer;
            f.dns_servers.extend(v4.dns.iter().copied().map(IpAddr::V4));
        }
        if let Some(v6) = d.ipv6() {
            if let Ok(net) = Ipv6Net::new(v6.link_local(), 64) {
                f.addresses.push(IpNet::V6(net));
            }
            f.default_router_v6 = v6.peer_link_local();
        }
    }
    f
}

/// The one-line reason for the console.
pub fn reason(d: &Dialer, carrier: bool, ifname: &str) -> String {
    if !carrier {
        return format!("no carrier on {ifname}");
    }
    let s = d.discovery().snapshot();
    let ac = s.ac.as_ref().map(|a| a.describe()).unwrap_or_default();
    let session = format!(
        "PPPoE session 0x{:04x} with AC {ac}",
        s.session_id.unwrap_or_default()
    );
    if let Some(phase) = d.ppp_phase() {
        let ppp = d.ppp_status();
        return match phase {
            _ if d.is_up() => {
                let mut up = Vec::new();
                if let Some(v4) = d.ipv4() {
                    up.push(format!("IPv4 {}", v4.local));
                }
                if let Some(v6) = d.ipv6() {
                    up.push(format!("IPv6 {}", v6.link_local()));
                }
                format!(
                    "{session} up on {}: {}",
                    d.unit().unwrap_or("ppp"),
                    up.join(", ")
                )
            }
            PppPhase::Authenticate => format!(
                "{session}: authenticating ({})",
                ppp.and_then(|p| p.auth).unwrap_or("-")
            ),
            PppPhase::Network => format!("{session}: IPCP/IPV6CP negotiating"),
            PppPhase::Terminate => format!("{session}: terminating"),
            PppPhase::Establish | PppPhase::Dead => format!("{session}: LCP negotiating"),
        };
    }
    if d.gave_up()
        && let Some(why) = s.last_failure.as_deref()
    {
        // Still true after a carrier bounce: nothing will change it.
        return why.to_owned();
    }
    // The wait as chosen when the session ended: a fixed text (the reason
    // is a fact, republished on change only); `show wan` counts it down.
    let retry = match d.next_wait() {
        Some((wait, true)) => format!(
            "; next attempt {} s after it (hold-off after an authentication failure)",
            wait.as_secs()
        ),
        Some((wait, false)) => format!("; reconnecting {} s after it", wait.as_secs().max(1)),
        None => String::new(),
    };
    match (s.phase, s.last_failure.as_deref()) {
        (Phase::Idle, _) => "PPPoE discovery not started".into(),
        (Phase::Discovery, None) => "PPPoE discovery: PADI sent, waiting for PADO".into(),
        (Phase::Discovery, Some(why)) => format!("PPPoE discovery: {why}"),
        (Phase::Request, _) => {
            format!("PPPoE discovery: PADR sent to AC {ac}, waiting for PADS")
        }
        (Phase::Session, _) => session,
        (Phase::Holdoff, why) => format!(
            "{}; discovering again shortly",
            why.unwrap_or("PPPoE discovery paused")
        ),
        (Phase::Stopped, why) => format!("{}{retry}", why.unwrap_or("PPPoE stopped")),
    }
}

/// The daemon's status object before the interface exists.
pub fn waiting(settings: &WanSettings, why: &str) -> WanStatus {
    WanStatus {
        mode: "pppoe".into(),
        interface: settings.interface.clone(),
        reason: Some(why.to_owned()),
        pppoe: Some(PppoeStatus {
            phase: Phase::Idle.as_str().into(),
            ..PppoeStatus::default()
        }),
        ..WanStatus::default()
    }
}

/// One NCP's line: `up <local> peer <peer> dns <a>, <b>` or why not.
fn ncp_text(n: &NcpStatus) -> String {
    match &n.local {
        Some(local) => {
            let mut t = format!("up {local}");
            if let Some(peer) = &n.peer {
                t.push_str(&format!(" peer {peer}"));
            }
            if !n.dns.is_empty() {
                t.push_str(&format!(" dns {}", n.dns.join(", ")));
            }
            t
        }
        None => match &n.failure {
            Some(f) => format!("{}: {f}", n.state),
            None => n.state.to_owned(),
        },
    }
}

/// The daemon's status object.
pub fn render(settings: &WanSettings, d: &Dialer, send_errors: u64, now: Instant) -> WanStatus {
    let s: Snapshot = d.discovery().snapshot();
    let ppp = d.ppp_status();
    let running = d.ppp().is_some();
    WanStatus {
        mode: "pppoe".into(),
        interface: settings.interface.clone(),
        pppoe: Some(PppoeStatus {
            phase: d
                .ppp_phase()
                .map_or(s.phase.as_str(), PppPhase::as_str)
                .into(),
            service: Some(settings.pppoe.service.clone()),
            ac_name_wanted: Some(settings.pppoe.ac_name.clone()),
            ac: s.ac.as_ref().map(|a| AcStatus {
                name: display_text(&a.name),
                mac: mac_text(&a.mac),
            }),
            session_id: s.session_id.map(|id| format!("0x{id:04x}")),
            last_session_id: s.ended.as_ref().map(|e| format!("0x{:04x}", e.id)),
            attempts: u64::from(s.attempts),
            last_failure: s.last_failure.clone(),
            sent: named_counts(&s.counters.sent),
            received: named_counts(&s.counters.received),
            dropped: named_counts(&s.counters.dropped),
            send_errors,
            unit: d.unit().map(str::to_owned),
            mru: ppp.as_ref().and_then(|p| p.mru).filter(|_| running),
            mtu: d.link_mtu(),
            ipcp: ppp.as_ref().and_then(|p| p.ipv4.as_ref()).map(ncp_text),
            ipv6cp: ppp.as_ref().and_then(|p| p.ipv6.as_ref()).map(ncp_text),
            auth_failure: ppp.as_ref().and_then(|p| p.auth_failure.clone()),
            reconnects: d.reconnects(),
            next_attempt_s: d
                .next_attempt()
                .map(|at| at.saturating_duration_since(now).as_secs()),
        }),
        ..WanStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::dialer::{DialInput, DialerConfig};
    use super::*;
    use cpe_daemon::Engine;
    use cpe_daemon::engine::drive::drain;
    use cpe_wire::pppoe::{Code, Message, Tag};
    use std::time::Instant;

    #[test]
    fn status_names_the_phase_the_ac_and_the_failure() {
        let src = "[wan]\ninterface = \"eth1\"\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\n\
                   password = \"p\"\n[[lan]]\n";
        let settings =
            WanSettings::from_config(&cpe_config::parse_str(src, "t.toml").unwrap().config);
        let uniq = vec![9; 4];
        let mut d = Dialer::new(DialerConfig::new(&settings, uniq.clone(), 1));
        let t0 = Instant::now();
        assert_eq!(reason(&d, true, "eth1"), "PPPoE discovery not started");
        assert_eq!(facts(&settings, Some(&d), "", true).state, WanState::Down);
        d.handle(DialInput::Start, t0);
        drain(&mut d);
        assert_eq!(reason(&d, false, "eth1"), "no carrier on eth1");
        assert_eq!(
            facts(&settings, Some(&d), "", true).state,
            WanState::Connecting
        );
        let mut pado = Vec::new();
        Message::new(Code::Pado, 0)
            .with(Tag::AcName(b"bras".to_vec()))
            .with(Tag::HostUniq(uniq.clone()))
            .encode(&mut pado)
            .unwrap();
        let ac = [2, 0, 0, 0, 0, 1];
        d.handle(
            DialInput::Discovery {
                src: ac,
                packet: &pado,
            },
            t0,
        );
        let mut pads = Vec::new();
        Message::new(Code::Pads, 0x1234)
            .with(Tag::HostUniq(uniq))
            .encode(&mut pads)
            .unwrap();
        d.handle(
            DialInput::Discovery {
                src: ac,
                packet: &pads,
            },
            t0,
        );
        assert_eq!(
            reason(&d, true, "eth1"),
            "PPPoE session 0x1234 with AC 'bras' (02:00:00:00:00:01)"
        );
        d.handle(
            DialInput::AttachFailed {
                cause: "no PPP",
                retry: false,
            },
            t0,
        );
        drain(&mut d);
        let why = "PPPoE session 0x1234 with AC 'bras' (02:00:00:00:00:01): no PPP";
        assert_eq!(reason(&d, true, "eth1"), why);
        let v = serde_json::to_value(render(&settings, &d, 0, t0)).unwrap();
        assert_eq!(v["pppoe"]["phase"], "stopped");
        assert_eq!(v["pppoe"]["ac"]["name"], "bras");
        assert_eq!(v["pppoe"]["ac"]["mac"], "02:00:00:00:00:01");
        assert_eq!(v["pppoe"]["last_failure"], why);
        assert_eq!(v["pppoe"]["session_id"], serde_json::Value::Null);
        assert_eq!(v["pppoe"]["last_session_id"], "0x1234");
        assert_eq!(v["pppoe"]["sent"]["PADT"], 1);
        assert_eq!(facts(&settings, Some(&d), "", true).state, WanState::Down);
    }
}
