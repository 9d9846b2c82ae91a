//! What PPPoE mode reports: the facts' state and reason (one line on the
//! console), and the daemon's `pppoe` status object (phase, AC, session id,
//! last failure with the AC's own words, counters).

use super::discovery::{Discovery, Phase, Snapshot, display_text, mac_text};
use crate::config::WanSettings;
use cpe_bus::status::named_counts;
use cpe_bus::status::wan::{AcStatus, PppoeStatus, WanStatus};
use cpe_bus::{WanFacts, WanState};

/// The facts for the bus (or the status file).
pub fn facts(
    settings: &WanSettings,
    engine: Option<&Discovery>,
    reason: &str,
    carrier: bool,
) -> WanFacts {
    let state = match engine.map(Discovery::phase) {
        _ if !carrier => WanState::Down,
        None | Some(Phase::Stopped | Phase::Idle) => WanState::Down,
        Some(_) => WanState::Connecting,
    };
    WanFacts {
        mode: "pppoe".into(),
        interface: settings.interface.clone(),
        state,
        reason: reason.to_owned(),
        carrier,
        mtu: settings.mtu,
        ..WanFacts::default()
    }
}

/// The one-line reason for the console.
pub fn reason(engine: &Discovery, carrier: bool, ifname: &str) -> String {
    if !carrier {
        return format!("no carrier on {ifname}");
    }
    let s = engine.snapshot();
    let ac = s.ac.as_ref().map(|a| a.describe()).unwrap_or_default();
    match (s.phase, s.last_failure.as_deref()) {
        (Phase::Idle, _) => "PPPoE discovery not started".into(),
        (Phase::Discovery, None) => "PPPoE discovery: PADI sent, waiting for PADO".into(),
        (Phase::Discovery, Some(why)) => format!("PPPoE discovery: {why}"),
        (Phase::Request, _) => {
            format!("PPPoE discovery: PADR sent to AC {ac}, waiting for PADS")
        }
        (Phase::Session, _) => format!(
            "PPPoE session 0x{:04x} with AC {ac}",
            s.session_id.unwrap_or_default()
        ),
        (Phase::Holdoff, why) => format!(
            "{}; discovering again shortly",
            why.unwrap_or("PPPoE discovery paused")
        ),
        (Phase::Stopped, why) => why.unwrap_or("PPPoE stopped").to_owned(),
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

/// The daemon's status object.
pub fn render(settings: &WanSettings, engine: &Discovery, send_errors: u64) -> WanStatus {
    let s: Snapshot = engine.snapshot();
    WanStatus {
        mode: "pppoe".into(),
        interface: settings.interface.clone(),
        pppoe: Some(PppoeStatus {
            phase: s.phase.as_str().into(),
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
        }),
        ..WanStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::discovery::{DiscoveryConfig, Input};
    use super::*;
    use cpe_daemon::Engine;
    use cpe_daemon::engine::drive::drain;
    use cpe_wire::pppoe::{Code, Message, Tag};
    use std::time::{Duration, Instant};

    #[test]
    fn status_names_the_phase_the_ac_and_the_failure() {
        let src = "[wan]\ninterface = \"eth1\"\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\n\
                   password = \"p\"\n[[lan]]\n";
        let settings =
            WanSettings::from_config(&cpe_config::parse_str(src, "t.toml").unwrap().config);
        let uniq = vec![9; 4];
        let mut d = Discovery::new(DiscoveryConfig::new(
            "",
            "",
            uniq.clone(),
            Duration::from_secs(5),
        ));
        let t0 = Instant::now();
        assert_eq!(reason(&d, true, "eth1"), "PPPoE discovery not started");
        assert_eq!(facts(&settings, Some(&d), "", true).state, WanState::Down);
        d.handle(Input::Start, t0);
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
            Input::Frame {
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
            Input::Frame {
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
            Input::Close {
                reason: "no PPP".into(),
            },
            t0,
        );
        drain(&mut d);
        assert_eq!(reason(&d, true, "eth1"), "no PPP");
        let v = serde_json::to_value(render(&settings, &d, 0)).unwrap();
        assert_eq!(v["pppoe"]["phase"], "stopped");
        assert_eq!(v["pppoe"]["ac"]["name"], "bras");
        assert_eq!(v["pppoe"]["ac"]["mac"], "02:00:00:00:00:01");
        assert_eq!(v["pppoe"]["last_failure"], "no PPP");
        assert_eq!(v["pppoe"]["session_id"], serde_json::Value::Null);
        assert_eq!(v["pppoe"]["last_session_id"], "0x1234");
        assert_eq!(v["pppoe"]["sent"]["PADT"], 1);
        assert_eq!(facts(&settings, Some(&d), "", true).state, WanState::Down);
    }
}
