//! Discovery in virtual time. The access concentrator's packets are built
//! with the codec the way RFC 2516 section 5 lays them out; the same engine
//! meets the real `pppoe-server` in the namespace lab (tests/lab/tests/pppoe.rs).

use super::*;
use cpe_daemon::engine::drive::{advance, drain};

const AC: Mac = [0x02, 0, 0, 0, 0xac, 1];
const OTHER_AC: Mac = [0x02, 0, 0, 0, 0xac, 2];
const UNIQ: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

fn config(service: &str, ac_name: &str) -> DiscoveryConfig {
    DiscoveryConfig::new(service, ac_name, UNIQ.to_vec(), Duration::from_secs(5))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The packets sent, decoded, with their destination.
fn sent(actions: &[Action]) -> Vec<(Mac, Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { dst, packet } => Some((*dst, Message::decode(packet).unwrap())),
            _ => None,
        })
        .collect()
}

fn bytes(m: &Message) -> Vec<u8> {
    let mut b = Vec::new();
    m.encode(&mut b).unwrap();
    b
}

fn pado(name: &str, services: &[&str], uniq: &[u8]) -> Message {
    let mut m = Message::new(Code::Pado, 0).with(Tag::AcName(name.as_bytes().to_vec()));
    for s in services {
        m = m.with(Tag::ServiceName(s.as_bytes().to_vec()));
    }
    m.with(Tag::HostUniq(uniq.to_vec()))
        .with(Tag::AcCookie(b"cookie-42".to_vec()))
}

fn pads(id: u16) -> Message {
    Message::new(Code::Pads, id)
        .with(Tag::ServiceName(Vec::new()))
        .with(Tag::HostUniq(UNIQ.to_vec()))
}

fn feed(d: &mut Discovery, src: Mac, m: &Message, now: Instant) -> Vec<Action> {
    d.handle(
        Input::Frame {
            src,
            packet: &bytes(m),
        },
        now,
    );
    drain(d)
}

/// Started at `t0`, its first PADI taken.
fn started(c: DiscoveryConfig, t0: Instant) -> Discovery {
    let mut d = Discovery::new(c);
    d.handle(Input::Start, t0);
    drain(&mut d);
    d
}

/// Start, PADO, PADR: returns the engine in `Request`.
fn requesting(t0: Instant) -> Discovery {
    let mut d = started(config("", ""), t0);
    feed(&mut d, AC, &pado("bras-1", &[""], &UNIQ), t0);
    assert_eq!(d.phase(), Phase::Request);
    d
}

#[test]
fn padi_pado_padr_pads_then_padt_from_us() {
    let t0 = Instant::now();
    let mut d = Discovery::new(config("", ""));
    assert_eq!(d.poll_timeout(), None);
    d.handle(Input::Start, t0);
    let out = sent(&drain(&mut d));
    assert_eq!(out.len(), 1);
    let (dst, padi) = &out[0];
    assert_eq!(*dst, BROADCAST);
    assert_eq!(padi.code, Code::Padi);
    assert_eq!(
        padi.tags,
        vec![Tag::ServiceName(vec![]), Tag::HostUniq(UNIQ.to_vec())],
        "RFC 2516 5.1: exactly one Service-Name"
    );

    let offer =
        pado("bras-1", &["", "internet"], &UNIQ).with(Tag::RelaySessionId(b"relay".to_vec()));
    let out = sent(&feed(&mut d, AC, &offer, t0 + secs(1)));
    let (dst, padr) = &out[0];
    assert_eq!(*dst, AC, "PADR goes unicast to the chosen AC");
    assert_eq!(padr.code, Code::Padr);
    assert_eq!(padr.service_names().collect::<Vec<_>>(), vec![&b""[..]]);
    assert_eq!(padr.host_uniq(), Some(&UNIQ[..]));
    assert_eq!(
        padr.ac_cookie(),
        Some(&b"cookie-42"[..]),
        "AC-Cookie echoed"
    );
    assert_eq!(
        padr.relay_session_id(),
        Some(&b"relay"[..]),
        "Relay-Session-Id echoed"
    );

    let acts = feed(&mut d, AC, &pads(0x1234), t0 + secs(1));
    let session = Session {
        id: 0x1234,
        ac: AccessConcentrator {
            mac: AC,
            name: b"bras-1".to_vec(),
        },
    };
    assert_eq!(acts, vec![Action::SessionUp(session.clone())]);
    assert_eq!(d.phase(), Phase::Session);
    assert_eq!(d.poll_timeout(), None, "no timer while the session stands");

    let why = "the kernel has no PPP support (socket(AF_PPPOX): EAFNOSUPPORT)";
    d.handle(Input::Close { reason: why.into() }, t0 + secs(2));
    let acts = drain(&mut d);
    let out = sent(&acts);
    assert_eq!(out.len(), 1);
    let (dst, padt) = &out[0];
    assert_eq!((*dst, padt.code, padt.session_id), (AC, Code::Padt, 0x1234));
    assert_eq!(padt.error(), Some(ErrorTag::Generic(why.as_bytes())));
    assert!(acts.contains(&Action::SessionDown {
        session,
        reason: why.into()
    }));
    assert_eq!(d.phase(), Phase::Stopped);
    assert_eq!(d.last_failure(), Some(why));
    assert_eq!(d.poll_timeout(), None, "stopped means stopped");
    assert_eq!(d.counters().sent.get("PADT"), Some(&1));
}

#[test]
fn padi_waits_double_up_to_the_ceiling_and_never_give_up() {
    let t0 = Instant::now();
    let mut d = started(config("", ""), t0);
    let mut times = vec![0];
    for _ in 0..7 {
        let at = d.poll_timeout().unwrap();
        let out = sent(&advance(&mut d, at, 10));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.code, Code::Padi);
        times.push((at - t0).as_secs());
    }
    assert_eq!(times, vec![0, 2, 6, 14, 30, 62, 94, 126]);
    assert_eq!(d.phase(), Phase::Discovery);
    assert_eq!(d.last_failure(), Some("no PADO after 7 PADI (waited 32 s)"));
    assert_eq!(d.counters().sent.get("PADI"), Some(&8));
}

#[test]
fn the_configured_ac_name_is_the_only_one_taken() {
    let t0 = Instant::now();
    let mut d = started(config("", "bras-2"), t0);
    assert!(feed(&mut d, AC, &pado("bras-1", &[""], &UNIQ), t0).is_empty());
    assert_eq!(d.phase(), Phase::Discovery);
    assert_eq!(d.counters().dropped.get("unselected_ac"), Some(&1));
    let out = sent(&feed(&mut d, OTHER_AC, &pado("bras-2", &[""], &UNIQ), t0));
    assert_eq!(out[0].0, OTHER_AC);
    assert_eq!(out[0].1.code, Code::Padr);
    // A PADS from the AC we did not select is not ours.
    assert!(feed(&mut d, AC, &pads(7), t0).is_empty());
    assert_eq!(d.counters().dropped.get("pads_from_other_ac"), Some(&1));
    assert_eq!(d.phase(), Phase::Request);
}

#[test]
fn the_configured_service_must_be_offered_and_is_requested() {
    let t0 = Instant::now();
    let mut d = Discovery::new(config("flets", ""));
    d.handle(Input::Start, t0);
    let out = sent(&drain(&mut d));
    assert_eq!(
        out[0].1.service_names().collect::<Vec<_>>(),
        vec![&b"flets"[..]]
    );
    assert!(feed(&mut d, AC, &pado("bras-1", &["other"], &UNIQ), t0).is_empty());
    assert_eq!(d.counters().dropped.get("service_not_offered"), Some(&1));
    assert_eq!(
        d.last_failure(),
        Some("AC 'bras-1' (02:00:00:00:ac:01) does not offer service 'flets' (offers 'other')")
    );
    let out = sent(&feed(
        &mut d,
        AC,
        &pado("bras-1", &["other", "flets"], &UNIQ),
        t0,
    ));
    assert_eq!(
        out[0].1.service_names().collect::<Vec<_>>(),
        vec![&b"flets"[..]]
    );
}

#[test]
fn hostile_frames_are_counted_by_reason_and_change_nothing() {
    let t0 = Instant::now();
    let mut d = started(config("", ""), t0);
    let deadline = d.poll_timeout();
    // Someone else's exchange on a shared segment.
    assert!(feed(&mut d, AC, &pado("bras-1", &[""], b"not-ours"), t0).is_empty());
    assert!(feed(&mut d, AC, &pado("bras-1", &[""], b""), t0).is_empty());
    // A PADO without AC-Name (RFC 2516 5.2 requires it).
    let nameless = Message::new(Code::Pado, 0).with(Tag::HostUniq(UNIQ.to_vec()));
    assert!(feed(&mut d, AC, &nameless, t0).is_empty());
    // Truncated and malformed packets.
    for junk in [&[0x11u8, 0x07, 0][..], &[0x11, 0x07, 0, 0, 0, 9, 1, 2]] {
        d.handle(
            Input::Frame {
                src: AC,
                packet: junk,
            },
            t0,
        );
    }
    // Answers to nothing we asked.
    assert!(feed(&mut d, AC, &pads(9), t0).is_empty());
    assert!(feed(&mut d, AC, &Message::new(Code::Padt, 9), t0).is_empty());
    // Another host's PADI, and a frame from a multicast source.
    assert!(feed(&mut d, OTHER_AC, &Message::new(Code::Padi, 0), t0).is_empty());
    assert!(
        feed(
            &mut d,
            [0x01, 0, 0x5e, 0, 0, 1],
            &pado("x", &[""], &UNIQ),
            t0
        )
        .is_empty()
    );
    assert_eq!(d.phase(), Phase::Discovery);
    assert_eq!(d.poll_timeout(), deadline, "no drop moves the timer");
    let dropped: Vec<(&str, u64)> = d.counters().dropped.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        dropped,
        vec![
            ("host_packet", 1),
            ("length_overrun", 1),
            ("multicast_source", 1),
            ("pado_without_ac_name", 1),
            ("padt_other_session", 1),
            ("truncated", 1),
            ("unexpected_pads", 1),
            ("wrong_host_uniq", 2),
        ]
    );

    // In a session: PADS replays, a PADT for another session or from
    // another MAC, a late PADO.
    let mut d = requesting(t0);
    feed(&mut d, AC, &pads(0x10), t0);
    assert!(feed(&mut d, AC, &pads(0x11), t0).is_empty());
    assert!(feed(&mut d, AC, &Message::new(Code::Padt, 0x11), t0).is_empty());
    assert!(feed(&mut d, OTHER_AC, &Message::new(Code::Padt, 0x10), t0).is_empty());
    assert!(feed(&mut d, OTHER_AC, &pado("late", &[""], &UNIQ), t0).is_empty());
    assert_eq!(d.phase(), Phase::Session);
    assert_eq!(d.counters().dropped.get("padt_other_session"), Some(&2));
    assert_eq!(d.counters().dropped.get("unexpected_pado"), Some(&1));
    assert_eq!(d.counters().dropped.get("unexpected_pads"), Some(&1));
}

#[test]
fn a_pads_with_service_name_error_is_the_failure_in_the_acs_words() {
    let t0 = Instant::now();
    let mut d = requesting(t0);
    let refusal = Message::new(Code::Pads, 0)
        .with(Tag::HostUniq(UNIQ.to_vec()))
        .with(Tag::ServiceNameError(b"No such service\x1b[2J".to_vec()));
    assert!(feed(&mut d, AC, &refusal, t0 + secs(1)).is_empty());
    assert_eq!(d.phase(), Phase::Holdoff);
    assert_eq!(
        d.last_failure(),
        Some(
            "AC 'bras-1' (02:00:00:00:ac:01) refused PADR with Service-Name-Error: \
             'No such service\\x1b[2J'"
        ),
        "verbatim, with the escape sequence made harmless"
    );
    // Discovery starts again after the hold-off, not before.
    assert!(advance(&mut d, t0 + secs(5), 10).is_empty());
    let out = sent(&advance(&mut d, t0 + secs(6), 10));
    assert_eq!(out[0].1.code, Code::Padi);
    assert_eq!(d.phase(), Phase::Discovery);
}

#[test]
fn ac_system_error_in_a_pado_is_shown_and_the_offer_not_taken() {
    let t0 = Instant::now();
    let mut d = started(config("", ""), t0);
    let busy = pado("bras-1", &[""], &UNIQ).with(Tag::AcSystemError(b"out of sessions".to_vec()));
    assert!(feed(&mut d, AC, &busy, t0).is_empty());
    assert_eq!(d.phase(), Phase::Discovery);
    assert_eq!(
        d.last_failure(),
        Some(
            "AC 'bras-1' (02:00:00:00:ac:01) answered PADI with AC-System-Error: 'out of sessions'"
        )
    );
}

#[test]
fn padt_from_the_ac_ends_the_session_and_discovery_restarts() {
    let t0 = Instant::now();
    let mut d = requesting(t0);
    feed(&mut d, AC, &pads(0x42), t0);
    let padt = Message::new(Code::Padt, 0x42).with(Tag::GenericError(b"admin reset".to_vec()));
    let acts = feed(&mut d, AC, &padt, t0 + secs(10));
    let reason = "AC 'bras-1' (02:00:00:00:ac:01) ended session 0x0042 (PADT) with \
                  Generic-Error: 'admin reset'";
    assert!(
        matches!(&acts[..], [Action::SessionDown { session, reason: r }]
        if session.id == 0x42 && r == reason)
    );
    assert!(sent(&acts).is_empty(), "no PADT back for the AC's PADT");
    assert_eq!(d.phase(), Phase::Holdoff);
    assert_eq!(d.poll_timeout(), Some(t0 + secs(15)));
    let out = sent(&advance(&mut d, t0 + secs(15), 10));
    assert_eq!(out[0].1.code, Code::Padi);
}

#[test]
fn unanswered_padrs_fall_back_to_padi() {
    let t0 = Instant::now();
    let mut d = requesting(t0);
    let out = sent(&advance(&mut d, t0 + secs(6), 10));
    assert_eq!(
        out.iter().map(|(_, m)| m.code).collect::<Vec<_>>(),
        vec![Code::Padr, Code::Padr],
        "PADR again at 2 s and 6 s (the wait doubles)"
    );
    let out = sent(&advance(&mut d, t0 + secs(14), 10));
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, out[0].1.code), (BROADCAST, Code::Padi));
    assert_eq!(d.phase(), Phase::Discovery);
    assert_eq!(
        d.last_failure(),
        Some("no PADS from AC 'bras-1' (02:00:00:00:ac:01) after 3 PADR; discovering again")
    );
}

#[test]
fn stop_sends_padt_and_link_down_cannot() {
    let t0 = Instant::now();
    let mut d = requesting(t0);
    feed(&mut d, AC, &pads(5), t0);
    d.handle(Input::Stop, t0);
    let out = sent(&drain(&mut d));
    assert_eq!((out[0].1.code, out[0].1.session_id), (Code::Padt, 5));

    let mut d = requesting(t0);
    feed(&mut d, AC, &pads(6), t0);
    d.handle(Input::LinkDown, t0);
    let acts = drain(&mut d);
    assert!(sent(&acts).is_empty());
    assert!(matches!(&acts[..], [Action::SessionDown { .. }]));
    assert_eq!(d.phase(), Phase::Idle);
    d.handle(Input::Start, t0 + secs(1));
    assert_eq!(sent(&drain(&mut d))[0].1.code, Code::Padi);
}

#[test]
fn an_early_wakeup_does_nothing() {
    let t0 = Instant::now();
    let mut d = started(config("", ""), t0);
    d.handle_timeout(t0 + secs(1));
    assert!(drain(&mut d).is_empty());
    assert_eq!(d.poll_timeout(), Some(t0 + secs(2)));
}

#[test]
fn display_text_is_safe_for_a_serial_console() {
    assert_eq!(display_text(b"plain"), "plain");
    assert_eq!(display_text(b"a\r\nb\x07"), "a\\x0d\\x0ab\\x07");
    assert_eq!(display_text(b"\xff ok"), "\u{fffd} ok");
    assert_eq!(display_text("\u{9b}2J".as_bytes()), "\\x9b2J");
    let long = display_text(&[b'x'; 500]);
    assert_eq!(long.chars().count(), 161);
    assert!(long.ends_with('…'));
}

#[test]
fn a_stale_session_gets_its_padt_and_discovery_is_unaffected() {
    let t0 = Instant::now();
    let mut d = Discovery::new(config("", ""));
    d.handle(
        Input::ClearStale {
            session_id: 0x0007,
            ac: AC,
        },
        t0,
    );
    d.handle(Input::Start, t0);
    let out = sent(&drain(&mut d));
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].0, out[0].1.code, out[0].1.session_id),
        (AC, Code::Padt, 7)
    );
    assert_eq!(
        out[0].1.error(),
        Some(ErrorTag::Generic(b"stale session from before a restart"))
    );
    assert_eq!(
        (out[1].0, out[1].1.code),
        (BROADCAST, Code::Padi),
        "PADT first, then PADI"
    );
    assert_eq!(d.phase(), Phase::Discovery);
    // A damaged record is not sent.
    d.handle(
        Input::ClearStale {
            session_id: 0,
            ac: AC,
        },
        t0,
    );
    d.handle(
        Input::ClearStale {
            session_id: 1,
            ac: BROADCAST,
        },
        t0,
    );
    assert!(drain(&mut d).is_empty());
    assert_eq!(d.counters().dropped.get("bad_stale_session"), Some(&2));
}

/// Counts log lines that mention "flood-ac" (other tests' lines never do).
struct FloodCounter(std::sync::atomic::AtomicUsize);

impl log::Log for FloodCounter {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.args().to_string().contains("flood-ac") {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    fn flush(&self) {}
}

static FLOOD_LOG: FloodCounter = FloodCounter(std::sync::atomic::AtomicUsize::new(0));

#[test]
fn a_repeated_refusal_is_logged_once() {
    // The test binary has no other logger; if one were set, this test
    // would fail loudly below rather than pass without checking.
    let _ = log::set_logger(&FLOOD_LOG);
    log::set_max_level(log::LevelFilter::Trace);
    let t0 = Instant::now();
    let mut d = started(config("", ""), t0);
    let refusing = pado("flood-ac", &[""], &UNIQ).with(Tag::AcSystemError(b"busy".to_vec()));
    for _ in 0..1000 {
        feed(&mut d, AC, &refusing, t0);
    }
    assert_eq!(d.counters().dropped.get("pado_error"), Some(&1000));
    assert_eq!(
        FLOOD_LOG.0.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "one warning for 1000 identical refusals"
    );
}
