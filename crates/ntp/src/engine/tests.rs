//! The client in virtual time against a simulated server whose clock is
//! a known offset from the router's.

use super::*;
use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive::{advance, drain, feed};

const SERVER: &str = "192.0.2.123";
const OTHER: &str = "2001:db8::123";
const SECOND: i64 = 1_000_000_000;

/// The router's wall clock: `base` at `t0`, running with the monotonic
/// clock, moved by every step the engine asks for.
struct World {
    t0: Instant,
    base: Duration,
    stepped_ns: i64,
}

impl World {
    fn new() -> (World, Instant) {
        let t0 = Instant::now();
        // Booted at the Unix epoch plus a day, like a router with no RTC.
        (
            World {
                t0,
                base: Duration::from_secs(86_400),
                stepped_ns: 0,
            },
            t0,
        )
    }

    /// The router's clock as it booted, before any step: the servers'
    /// clocks are a fixed offset from this one.
    fn true_ns(&self, now: Instant) -> i128 {
        (self.base + now.duration_since(self.t0)).as_nanos() as i128
    }

    fn wall_ns(&self, now: Instant) -> i128 {
        self.true_ns(now) + i128::from(self.stepped_ns)
    }

    fn wall(&self, now: Instant) -> Timestamp {
        ts(self.wall_ns(now))
    }

    fn apply(&mut self, actions: &[Action]) {
        for a in actions {
            if let Action::StepClock { offset_ns } = a {
                self.stepped_ns += offset_ns;
            }
        }
    }
}

fn ts(unix_ns: i128) -> Timestamp {
    Timestamp::from_unix(Duration::from_nanos(u64::try_from(unix_ns).unwrap()))
}

fn cfg(servers: &[&str]) -> ClientConfig {
    ClientConfig {
        servers: servers.iter().map(|s| s.parse().unwrap()).collect(),
        ..ClientConfig::default()
    }
}

fn sends(actions: &[Action]) -> Vec<(SocketAddr, Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, packet } => Some((*to, Message::decode(packet).unwrap())),
            Action::StepClock { .. } => None,
        })
        .collect()
}

/// What a server `offset_ns` ahead of the router's boot clock answers to
/// `req` sent at `router_true_at_send`, the request having taken `out_ns`
/// on the way there and the server `hold_ns`.
fn answer(
    req: &Message,
    router_true_at_send: i128,
    offset_ns: i128,
    out_ns: i128,
    hold_ns: i128,
) -> Message {
    let t2 = router_true_at_send + offset_ns + out_ns;
    Message {
        leap: Leap::NoWarning,
        version: 4,
        mode: Mode::Server,
        stratum: 9,
        poll: 6,
        precision: -20,
        root_delay: 0,
        root_dispersion: 0,
        reference_id: [127, 127, 1, 1],
        reference: ts(t2 - 10 * i128::from(SECOND)),
        origin: req.transmit,
        receive: ts(t2),
        transmit: ts(t2 + hold_ns),
    }
}

fn from(addr: &str) -> SocketAddr {
    SocketAddr::new(addr.parse().unwrap(), 123)
}

/// Runs one burst starting at `at`: each request is answered after its
/// round trip in `rtts_ms` (split evenly), by a server `offset_ns` ahead.
/// Returns every action.
fn burst(
    e: &mut Engine,
    w: &mut World,
    at: Instant,
    offset_ns: i128,
    rtts_ms: &[u64],
) -> Vec<Action> {
    let mut all = Vec::new();
    let mut now = at;
    for &rtt in rtts_ms {
        let acts = advance(e, now, 10);
        w.apply(&acts);
        let sent = sends(&acts);
        assert_eq!(sent.len(), 1, "one request at {:?}: {acts:?}", now - w.t0);
        all.extend(acts);
        let (to, req) = &sent[0];
        let out = i128::from(rtt) * 1_000_000 / 2;
        let reply = answer(req, w.true_ns(now), offset_ns, out, 0);
        let back = now + Duration::from_millis(rtt);
        let acts = feed(
            e,
            Input::Reply {
                from: *to,
                data: &reply.to_bytes(),
                wall: w.wall(back),
            },
            back,
        );
        w.apply(&acts);
        all.extend(acts);
        now += e.cfg.spacing;
    }
    all
}

fn steps(actions: &[Action]) -> Vec<i64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StepClock { offset_ns } => Some(*offset_ns),
            Action::Send { .. } => None,
        })
        .collect()
}

fn reply_at(e: &mut Engine, src: SocketAddr, m: &Message, wall: Timestamp, at: Instant) {
    feed(
        e,
        Input::Reply {
            from: src,
            data: &m.to_bytes(),
            wall,
        },
        at,
    );
}

#[test]
fn first_burst_steps_a_1970_clock_to_the_server_time() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER]), 1, t0);
    // The server is 56 years ahead (2026 against 1970 plus a day).
    let offset = 1_764_000_000i128 * i128::from(SECOND);
    let acts = burst(&mut e, &mut w, t0, offset, &[30, 20, 40, 25]);
    let step = steps(&acts);
    assert_eq!(step.len(), 1, "{acts:?}");
    assert!(
        (i128::from(step[0]) - offset).abs() < 1_000,
        "step {} vs {offset}",
        step[0]
    );
    let done = t0 + Duration::from_millis(6_025);
    let st = e.status(done);
    assert!(st.synced, "{st:?}");
    assert_eq!(st.server, Some(SERVER.parse().unwrap()));
    assert_eq!(st.stratum, Some(9));
    assert_eq!(
        st.delay_ns,
        Some(20_000_000),
        "the least delay of the burst"
    );
    assert_eq!(st.reason, None);
    feed(&mut e, Input::Stepped(Ok(())), done);
    assert_eq!(e.counters().steps, 1);
    // Now in step with the server: one request a poll (64 s) later, no step.
    let next = e.poll_timeout().unwrap();
    assert_eq!(next, done + Duration::from_secs(64));
    let acts = burst(&mut e, &mut w, next, offset, &[20]);
    assert_eq!(sends(&acts).len(), 1);
    assert!(steps(&acts).is_empty(), "{acts:?}");
    assert!(
        e.status(next + Duration::from_secs(1))
            .offset_ns
            .unwrap()
            .abs()
            < 1_000
    );
    assert_eq!(
        e.poll_interval(),
        Duration::from_secs(128),
        "doubles after a good poll"
    );
}

#[test]
fn every_request_has_a_fresh_random_transmit_timestamp_and_only_that() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER]), 7, t0);
    let acts = advance(&mut e, t0 + Duration::from_secs(7), 10);
    w.apply(&acts);
    let sent = sends(&acts);
    assert_eq!(sent.len(), 4, "burst of four, 2 s apart");
    let mut seen = std::collections::HashSet::new();
    for (to, m) in &sent {
        assert_eq!(*to, from(SERVER));
        assert_eq!(m, &Message::request(m.transmit));
        assert!(seen.insert(m.transmit), "transmit timestamps repeat");
        // Not the clock: nothing about the router's time leaks.
        assert!(m.transmit.minus_nanos(w.wall(t0)).abs() > 1_000 * SECOND);
    }
}

#[test]
fn spoofed_replayed_and_unsynchronised_replies_are_counted_and_dropped() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER]), 3, t0);
    let acts = advance(&mut e, t0, 10);
    w.apply(&acts);
    let (to, req) = sends(&acts).remove(0);
    let good = answer(&req, w.wall_ns(t0), 5 * i128::from(SECOND), 10_000_000, 0);
    let at = t0 + Duration::from_millis(20);
    let wall = w.wall(at);
    // Another address, then the right address from another port.
    reply_at(&mut e, from(OTHER), &good, wall, at);
    reply_at(&mut e, SocketAddr::new(to.ip(), 1234), &good, wall, at);
    // The right source, but not our origin timestamp (a blind spoofer).
    let mut forged = good.clone();
    forged.origin = Timestamp(forged.origin.0 ^ 1);
    reply_at(&mut e, to, &forged, wall, at);
    // A client-mode packet with our origin (a reflection), and our own
    // request looped back.
    let mut wrong_mode = good.clone();
    wrong_mode.mode = Mode::Client;
    reply_at(&mut e, to, &wrong_mode, wall, at);
    assert_eq!(e.counters().accepted, 0);
    let drops = &e.counters().drops;
    assert_eq!(drops.get("wrong_source"), Some(&2));
    assert_eq!(drops.get("bogus_origin"), Some(&1));
    assert_eq!(drops.get("bad_mode"), Some(&1));
    // The genuine reply still counts, once: its replay finds no request.
    reply_at(&mut e, to, &good, wall, at);
    reply_at(&mut e, to, &good, wall, at);
    assert_eq!(e.counters().drops.get("no_request"), Some(&1));
    assert_eq!(e.samples.len(), 1);
    // An unsynchronised server (leap 3, or stratum 16) gives no sample.
    let at2 = t0 + Duration::from_secs(2);
    let acts = advance(&mut e, at2, 10);
    let (to, req) = sends(&acts).remove(0);
    let mut unsync = answer(&req, w.wall_ns(at2), 0, 0, 0);
    unsync.leap = Leap::Unsynchronised;
    reply_at(&mut e, to, &unsync, w.wall(at2), at2);
    let at4 = t0 + Duration::from_secs(4);
    let acts = advance(&mut e, at4, 10);
    let (to, req) = sends(&acts).remove(0);
    let mut s16 = answer(&req, w.wall_ns(at4), 0, 0, 0);
    s16.stratum = 16;
    reply_at(&mut e, to, &s16, w.wall(at4), at4);
    assert_eq!(e.counters().drops.get("unsynchronised"), Some(&2));
    assert_eq!(e.samples.len(), 1);
    // Garbage from the server's address is a decode drop.
    let at6 = t0 + Duration::from_secs(6);
    let acts = advance(&mut e, at6, 10);
    let (to, _) = sends(&acts).remove(0);
    feed(
        &mut e,
        Input::Reply {
            from: to,
            data: &[0x24; 12],
            wall: w.wall(at6),
        },
        at6,
    );
    assert_eq!(e.counters().drops.get("too_short"), Some(&1));
    // The burst ends with the one good sample: stepped by 5 s.
    let acts = advance(&mut e, t0 + Duration::from_secs(8), 10);
    let step = steps(&acts);
    assert_eq!(step.len(), 1);
    assert!((step[0] - 5 * SECOND).abs() < 1_000, "{step:?}");
}

#[test]
fn a_small_offset_is_not_stepped_and_the_poll_backs_off_to_1024_s() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER]), 5, t0);
    // 100 ms ahead: below the 128 ms threshold.
    let acts = burst(&mut e, &mut w, t0, 100_000_000, &[10, 10, 10, 10]);
    assert!(steps(&acts).is_empty(), "{acts:?}");
    let st = e.status(t0 + Duration::from_secs(8));
    assert!(st.synced);
    assert!((st.offset_ns.unwrap() - 100_000_000).abs() < 1_000);
    let mut polls = vec![e.poll_interval().as_secs()];
    for _ in 0..6 {
        let at = e.poll_timeout().unwrap();
        let acts = burst(&mut e, &mut w, at, 100_000_000, &[10]);
        assert!(steps(&acts).is_empty());
        polls.push(e.poll_interval().as_secs());
    }
    assert_eq!(polls, [128, 256, 512, 1024, 1024, 1024, 1024]);
}

#[test]
fn with_set_clock_off_the_offset_is_shown_and_the_clock_never_stepped() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(
        ClientConfig {
            set_clock: false,
            ..cfg(&[SERVER])
        },
        5,
        t0,
    );
    let acts = burst(
        &mut e,
        &mut w,
        t0,
        3 * i128::from(SECOND),
        &[10, 10, 10, 10],
    );
    assert!(steps(&acts).is_empty());
    let st = e.status(t0 + Duration::from_secs(8));
    assert!(st.synced);
    assert!((st.offset_ns.unwrap() - 3 * SECOND).abs() < 1_000);
    assert!(!e.status_report(t0).set_clock);
}

#[test]
fn a_silent_server_is_left_for_the_next_and_a_silent_round_backs_off() {
    let (_, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER, OTHER]), 5, t0);
    let acts = advance(&mut e, t0 + Duration::from_secs(8), 20);
    let sent = sends(&acts);
    assert_eq!(sent.len(), 5, "{acts:?}");
    assert!(sent[..4].iter().all(|(to, _)| *to == from(SERVER)));
    assert_eq!(sent[4].0, from(OTHER), "next server at once");
    assert_eq!(
        e.status(t0 + Duration::from_secs(8)).reason.as_deref(),
        Some("no reply from 192.0.2.123 for 8 s")
    );
    // Both silent: the next round waits 64 s, then 128 s, ... 1024 s.
    let mut waits = Vec::new();
    let mut at = t0 + Duration::from_secs(16);
    advance(&mut e, at, 20);
    for _ in 0..6 {
        let next = e.poll_timeout().unwrap();
        waits.push((next - at).as_secs());
        at = next + Duration::from_secs(16);
        let acts = advance(&mut e, at, 20);
        assert_eq!(sends(&acts).len(), 8, "a burst to each server");
    }
    assert_eq!(waits, [64, 128, 256, 512, 1024, 1024]);
    assert!(e.counters().timeouts >= 8);
    assert!(!e.status(at).synced);
}

#[test]
fn kiss_of_death_deny_retires_the_server_rate_slows_down_and_spoofed_kisses_do_nothing() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER, OTHER]), 9, t0);
    let acts = advance(&mut e, t0, 10);
    w.apply(&acts);
    let (to, req) = sends(&acts).remove(0);
    let mut kod = answer(&req, w.wall_ns(t0), 0, 0, 0);
    kod.stratum = 0;
    kod.reference_id = *b"DENY";
    let at = t0 + Duration::from_millis(5);
    let wall = w.wall(at);
    let mut spoofed = kod.clone();
    spoofed.origin = Timestamp(0);
    reply_at(&mut e, to, &spoofed, wall, at);
    reply_at(&mut e, from(OTHER), &kod, wall, at);
    assert_eq!(
        e.servers().len(),
        2,
        "an unauthenticated kiss is not believed"
    );
    reply_at(&mut e, to, &kod, wall, at);
    assert_eq!(e.servers(), [OTHER.parse::<IpAddr>().unwrap()]);
    assert_eq!(e.counters().kisses.get("DENY"), Some(&1));
    let acts = advance(&mut e, at, 10);
    let (to, req) = sends(&acts).remove(0);
    assert_eq!(to, from(OTHER), "moved on at once");
    // RATE from the other: it is left for this round and the poll doubles.
    let mut rate = answer(&req, w.wall_ns(at), 0, 0, 0);
    rate.stratum = 0;
    rate.reference_id = *b"RATE";
    reply_at(&mut e, to, &rate, wall, at);
    assert_eq!(
        e.poll_interval(),
        Duration::from_secs(256),
        "doubled by RATE, then by the failed round"
    );
    assert_eq!(
        e.status(at).reason.as_deref(),
        Some("KoD RATE from 2001:db8::123: polling less often")
    );
    // Restricted by the only server left: nothing to ask, and the status
    // says why.
    let later = e.poll_timeout().unwrap();
    let acts = advance(&mut e, later, 10);
    let (to, req) = sends(&acts).remove(0);
    let mut rstr = answer(&req, w.wall_ns(later), 0, 0, 0);
    rstr.stratum = 0;
    rstr.reference_id = *b"RSTR";
    reply_at(&mut e, to, &rstr, w.wall(later), later);
    assert!(e.servers().is_empty());
    assert_eq!(e.poll_timeout(), None);
    assert_eq!(
        e.status(later).reason.as_deref(),
        Some("every server refused us: KoD DENY from 192.0.2.123")
    );
}

#[test]
fn wan_servers_start_the_client_and_a_new_list_replaces_the_old() {
    let (_, t0) = World::new();
    let mut e = Engine::new(cfg(&[]), 1, t0);
    assert_eq!(e.poll_timeout(), None);
    assert!(e.status(t0).reason.unwrap().starts_with("no server known"));
    let acts = feed(&mut e, Input::WanServers(vec![OTHER.parse().unwrap()]), t0);
    assert!(acts.is_empty() && drain(&mut e).is_empty());
    let acts = advance(&mut e, t0, 10);
    assert_eq!(sends(&acts)[0].0, from(OTHER));
    // The ISP renumbers its NTP server: the next request goes to the new one.
    let new: IpAddr = "2001:db8::456".parse().unwrap();
    let t1 = t0 + Duration::from_secs(1);
    feed(&mut e, Input::WanServers(vec![new]), t1);
    let acts = advance(&mut e, t1, 10);
    assert_eq!(sends(&acts)[0].0.ip(), new);
    // The same list again changes nothing.
    feed(&mut e, Input::WanServers(vec![new]), t1);
    assert_eq!(e.poll_timeout(), Some(t1 + Duration::from_secs(2)));
    // Without use_wan, the WAN's servers are ignored.
    let mut off = Engine::new(
        ClientConfig {
            use_wan: false,
            ..cfg(&[])
        },
        1,
        t0,
    );
    feed(&mut off, Input::WanServers(vec![new]), t0);
    assert_eq!(off.poll_timeout(), None);
    assert!(off.status(t0).reason.unwrap().contains("use_wan is off"));
}

/// At boot the WAN is not up: requests to the configured server cannot be
/// sent, the client backs off. Servers from the WAN (it is up now) restart
/// it at once instead of after the back-off, and the status names the send
/// error rather than silence.
#[test]
fn servers_from_the_wan_end_a_back_off_earned_while_nothing_was_reachable() {
    let (mut w, t0) = World::new();
    let mut e = Engine::new(cfg(&[SERVER]), 1, t0);
    for i in 0..4 {
        let at = t0 + Duration::from_secs(2 * i);
        let acts = advance(&mut e, at, 10);
        assert_eq!(sends(&acts).len(), 1);
        feed(&mut e, Input::SendFailed("network unreachable".into()), at);
    }
    advance(&mut e, t0 + Duration::from_secs(8), 10);
    assert_eq!(
        e.status(t0 + Duration::from_secs(8)).reason.as_deref(),
        Some("cannot send to 192.0.2.123: network unreachable")
    );
    assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_secs(6 + 2 + 64)));
    let up = t0 + Duration::from_secs(20);
    feed(&mut e, Input::WanServers(vec![OTHER.parse().unwrap()]), up);
    assert_eq!(e.poll_timeout(), Some(up), "restarted at once");
    assert_eq!(e.poll_interval(), Duration::from_secs(64));
    // The configured server first (still silent), then the WAN's, which
    // answers.
    let acts = advance(&mut e, up + Duration::from_secs(7), 10);
    assert!(sends(&acts).iter().all(|(to, _)| *to == from(SERVER)));
    let at = up + Duration::from_secs(8);
    let acts = burst(&mut e, &mut w, at, 0, &[10, 10, 10, 10]);
    assert!(sends(&acts).iter().all(|(to, _)| *to == from(OTHER)));
    assert!(steps(&acts).is_empty());
    let st = e.status(at + Duration::from_secs(7));
    assert!(st.synced, "{st:?}");
    assert_eq!(st.server, Some(OTHER.parse().unwrap()));
}
