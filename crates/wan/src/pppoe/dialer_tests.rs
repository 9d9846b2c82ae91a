//! The dialer in virtual time: PADS -> kernel session -> PPP against the
//! modelled access concentrator of the PPP engine tests -> facts, and every
//! way a session ends (PADT from the AC, dead peer, wrong password, a
//! kernel without PPP, shutdown) with the reconnect policy after it.

use super::dialer::{AUTH_FAILURE_HOLDOFF, DialAction, DialInput, Dialer, DialerConfig};
use super::status;
use crate::config::WanSettings;
use crate::ppp::lcp::AuthKind;
use crate::ppp::tests::{AC_ADDR, AC_IID, ASSIGNED, Ac, DNS1, DNS2, PASSWORD, fire_next};
use cpe_bus::WanState;
use cpe_daemon::Engine;
use cpe_wire::pppoe::{Code, Message, Tag};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

const AC_MAC: [u8; 6] = [2, 0, 0, 0, 0xac, 1];
const UNIQ: [u8; 8] = [7; 8];
const SID: u16 = 0x1234;

fn settings() -> WanSettings {
    let src = format!(
        "[wan]\ninterface = \"eth1\"\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"user@example.jp\"\n\
         password = \"{PASSWORD}\"\nreconnect_min = 4\nreconnect_max = 30\n[[lan]]\n"
    );
    WanSettings::from_config(&cpe_config::parse_str(&src, "t.toml").unwrap().config)
}

fn encode(m: Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out).unwrap();
    out
}

/// The kernel's answer to [`DialAction::Attach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Ppp,
    NoPpp,
}

/// The dialer, an AC answering discovery and running PPP, and a kernel.
struct World {
    t0: Instant,
    now: Instant,
    d: Dialer,
    ac: Ac,
    kernel: Kernel,
    auth: Option<AuthKind>,
    /// Whether the AC answers PADI at all.
    ac_online: bool,
    /// Everything but PPP frames and PADI/PADR, with the time.
    log: Vec<(Duration, DialAction)>,
    padi: u32,
}

impl World {
    fn new(auth: Option<AuthKind>, kernel: Kernel) -> World {
        let t0 = Instant::now();
        let mut d = Dialer::new(DialerConfig::new(&settings(), UNIQ.to_vec(), 42));
        d.handle(DialInput::Start, t0);
        World {
            t0,
            now: t0,
            d,
            ac: Ac::new(auth),
            kernel,
            auth,
            ac_online: true,
            log: Vec::new(),
            padi: 0,
        }
    }

    fn at(&self) -> Duration {
        self.now - self.t0
    }

    fn discovery_answer(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        let m = Message::decode(packet).unwrap();
        let uniq = Tag::HostUniq(UNIQ.to_vec());
        match m.code {
            Code::Padi => {
                self.padi += 1;
                self.ac_online.then(|| {
                    encode(
                        Message::new(Code::Pado, 0)
                            .with(Tag::AcName(b"bras".to_vec()))
                            .with(Tag::ServiceName(Vec::new()))
                            .with(uniq),
                    )
                })
            }
            Code::Padr => Some(encode(Message::new(Code::Pads, SID).with(uniq))),
            _ => None,
        }
    }

    /// Runs until quiet, then fires deadlines, up to `t` seconds.
    fn run_to(&mut self, t: u64) {
        let until = self.t0 + Duration::from_secs(t);
        for _ in 0..100_000 {
            let mut quiet = true;
            while let Some(a) = self.d.poll_action() {
                quiet = false;
                match a {
                    DialAction::SendDiscovery { packet, .. } => {
                        if let Some(answer) = self.discovery_answer(&packet) {
                            self.d.handle(
                                DialInput::Discovery {
                                    src: AC_MAC,
                                    packet: &answer,
                                },
                                self.now,
                            );
                        }
                        if Message::decode(&packet).unwrap().code == Code::Padt {
                            self.log.push((
                                self.at(),
                                DialAction::SendDiscovery {
                                    dst: AC_MAC,
                                    packet,
                                },
                            ));
                        }
                    }
                    DialAction::SendPpp(f) => self.ac.receive(&f.0, self.now),
                    DialAction::Attach(s) => {
                        self.log.push((self.at(), DialAction::Attach(s)));
                        match self.kernel {
                            Kernel::Ppp => {
                                // A fresh AC side for each session.
                                let dead = self.ac.dead;
                                let password = self.ac.password;
                                self.ac = Ac::new(self.auth);
                                self.ac.dead = dead;
                                self.ac.password = password;
                                self.ac.start(self.now);
                                self.d.handle(DialInput::Attached { unit: "ppp0" }, self.now);
                            }
                            Kernel::NoPpp => self.d.handle(
                                DialInput::AttachFailed {
                                    cause: "the kernel has no PPP support (socket(AF_PPPOX): EAFNOSUPPORT)",
                                    retry: false,
                                },
                                self.now,
                            ),
                        }
                    }
                    other => self.log.push((self.at(), other)),
                }
            }
            for raw in std::mem::take(&mut self.ac.out) {
                quiet = false;
                self.d.handle(DialInput::Ppp(&raw), self.now);
            }
            if !quiet {
                continue;
            }
            if !fire_next(&mut self.d, &mut self.ac, &mut self.now, until) {
                return;
            }
        }
        panic!("the world did not settle");
    }

    fn padts(&self) -> Vec<Duration> {
        self.log
            .iter()
            .filter(|(_, a)| matches!(a, DialAction::SendDiscovery { .. }))
            .map(|(t, _)| *t)
            .collect()
    }

    fn count(&self, pred: impl Fn(&DialAction) -> bool) -> usize {
        self.log.iter().filter(|(_, a)| pred(a)).count()
    }

    fn facts(&self) -> cpe_bus::WanFacts {
        let reason = status::reason(&self.d, true, "eth1");
        status::facts(&settings(), Some(&self.d), &reason, true)
    }
}

#[test]
fn pads_to_ppp_to_wan_facts_on_the_ppp_unit() {
    let mut w = World::new(Some(AuthKind::ChapMd5), Kernel::Ppp);
    w.run_to(5);
    assert_eq!(w.count(|a| *a == DialAction::Save(Some((SID, AC_MAC)))), 1);
    assert_eq!(
        w.count(|a| *a
            == DialAction::LinkUp {
                mru: 1492,
                mtu: 1492
            }),
        1,
        "{:?}",
        w.log
    );
    let f = w.facts();
    assert_eq!(f.state, WanState::Up, "{}", f.reason);
    assert_eq!(f.interface, "ppp0");
    assert_eq!(f.mtu, 1492);
    assert_eq!(f.default_router_v4, Some(AC_ADDR));
    let mut ac_ll = [0u8; 16];
    ac_ll[..2].copy_from_slice(&[0xfe, 0x80]);
    ac_ll[8..].copy_from_slice(&AC_IID);
    assert_eq!(f.default_router_v6, Some(Ipv6Addr::from(ac_ll)));
    assert_eq!(f.dns_servers, vec![IpAddr::V4(DNS1), IpAddr::V4(DNS2)]);
    assert_eq!(f.addresses[0].to_string(), format!("{ASSIGNED}/32"));
    let v6 = f.addresses[1];
    assert_eq!(v6.prefix_len(), 64);
    assert!(v6.to_string().starts_with("fe80::"), "{v6}");
    assert!(
        f.reason
            .starts_with("PPPoE session 0x1234 with AC 'bras' (02:00:00:00:ac:01) up on ppp0: IPv4 192.0.2.10, IPv6 fe80::"),
        "{}",
        f.reason
    );
    let v = serde_json::to_value(status::render(&settings(), &w.d, 0, w.now)).unwrap();
    let p = &v["pppoe"];
    assert_eq!(p["phase"], "network");
    assert_eq!(p["unit"], "ppp0");
    assert_eq!(p["mru"], 1492);
    assert_eq!(
        p["ipcp"],
        "up 192.0.2.10 peer 10.0.0.1 dns 198.51.100.1, 198.51.100.2"
    );
    assert!(
        p["ipv6cp"].as_str().unwrap().starts_with("up fe80::"),
        "{p}"
    );
    assert_eq!(p["reconnects"], 0);
    assert!(!v.to_string().contains(PASSWORD));
}

#[test]
fn padt_from_the_ac_tears_down_and_redials_after_the_backoff() {
    let mut w = World::new(None, Kernel::Ppp);
    w.run_to(5);
    assert_eq!(w.facts().state, WanState::Up);
    let padt = encode(
        Message::new(Code::Padt, SID).with(Tag::GenericError(b"RADIUS: session timeout".to_vec())),
    );
    let padi_before = w.padi;
    w.d.handle(
        DialInput::Discovery {
            src: AC_MAC,
            packet: &padt,
        },
        w.now,
    );
    let ended = w.now;
    w.run_to(5);
    for down in [
        DialAction::Ipv4Down,
        DialAction::Ipv6Down,
        DialAction::Detach,
        DialAction::Save(None),
    ] {
        assert_eq!(w.count(|a| *a == down), 1, "{down:?} in {:?}", w.log);
    }
    // The AC ended it: no PADT of ours.
    assert!(w.padts().is_empty());
    let f = w.facts();
    assert_eq!(f.state, WanState::Connecting);
    assert_eq!(f.interface, "eth1");
    assert!(f.reason.contains("RADIUS: session timeout"), "{}", f.reason);
    assert!(
        f.reason.ends_with("; reconnecting 4 s after it")
            || f.reason.ends_with("; reconnecting 5 s after it"),
        "{}",
        f.reason
    );
    // reconnect_min 4 s plus at most a quarter.
    let next = w.d.next_attempt().unwrap() - ended;
    assert!(
        next >= Duration::from_secs(4) && next <= Duration::from_secs(5),
        "{next:?}"
    );
    w.run_to(11);
    assert_eq!(w.d.reconnects(), 1);
    assert!(w.padi > padi_before);
    assert_eq!(w.facts().state, WanState::Up);
    assert_eq!(w.count(|a| matches!(a, DialAction::Attach(_))), 2);
}

#[test]
fn a_dead_ac_is_found_by_echo_then_padt_after_the_terminate_tries() {
    let mut w = World::new(None, Kernel::Ppp);
    w.run_to(5);
    assert_eq!(w.facts().state, WanState::Up);
    // The AC dies and stays away: no LCP answers, no PADO.
    w.ac.dead = true;
    w.ac_online = false;
    w.run_to(51);
    // Echo every 10 s, 3 misses (up at ~0 s: dead by ~40 s), then LCP's two
    // Terminate-Requests 3 s apart, then PADT (the AC may be back before its
    // own timeout and must not keep the session).
    let padts = w.padts();
    assert_eq!(padts.len(), 1, "{:?}", w.log);
    assert!(
        padts[0] >= Duration::from_secs(30) && padts[0] <= Duration::from_secs(50),
        "{padts:?}"
    );
    let s = w.d.discovery().last_failure().unwrap().to_owned();
    assert!(s.starts_with("PPPoE session 0x1234"), "{s}");
    assert!(s.contains("Echo"), "{s}");
    w.run_to(300);
    assert_eq!(w.facts().state, WanState::Connecting);
    assert!(w.d.reconnects() >= 1);
}

#[test]
fn wrong_password_holds_off_for_the_auth_failure_wait() {
    let mut w = World::new(Some(AuthKind::Pap), Kernel::Ppp);
    w.ac.password = "another";
    w.run_to(20);
    let padts = w.padts();
    assert_eq!(padts.len(), 1, "{:?}", w.log);
    let next = w.d.next_attempt().expect("a redial is scheduled");
    assert!(next - w.t0 >= padts[0] + AUTH_FAILURE_HOLDOFF, "{next:?}");
    let v = serde_json::to_value(status::render(&settings(), &w.d, 0, w.now)).unwrap();
    let p = &v["pppoe"];
    assert!(
        p["auth_failure"]
            .as_str()
            .unwrap()
            .contains("E=691 R=0 C=00 V=0 M=Authentication failure"),
        "{p}"
    );
    assert!(p["next_attempt_s"].as_u64().unwrap() >= 100, "{p}");
    let f = w.facts();
    assert_eq!(f.state, WanState::Connecting);
    assert_eq!(
        f.reason,
        "PPPoE session 0x1234 with AC 'bras' (02:00:00:00:ac:01): authentication failed: \
         PAP: the server refused the user name or password: \"E=691 R=0 C=00 V=0 M=Authentication \
         failure\"; next attempt 120 s after it (hold-off after an authentication failure)"
    );
    assert!(!v.to_string().contains(PASSWORD));
    assert!(!format!("{:?}", w.d).contains(PASSWORD));
}

#[test]
fn a_kernel_without_ppp_is_said_once_with_padt_and_not_redialled() {
    let mut w = World::new(None, Kernel::NoPpp);
    w.run_to(600);
    assert_eq!(w.padts().len(), 1);
    assert_eq!(w.count(|a| matches!(a, DialAction::Attach(_))), 1);
    assert_eq!(w.d.next_attempt(), None);
    let f = w.facts();
    assert_eq!(f.state, WanState::Down);
    assert_eq!(
        f.reason,
        "PPPoE session 0x1234 with AC 'bras' (02:00:00:00:ac:01): the kernel has no PPP \
         support (socket(AF_PPPOX): EAFNOSUPPORT)"
    );
    let v = serde_json::to_value(status::render(&settings(), &w.d, 0, w.now)).unwrap();
    assert_eq!(v["pppoe"]["phase"], "stopped");
    assert_eq!(v["pppoe"]["last_session_id"], "0x1234");
    // A carrier bounce changes nothing, and the console still says why.
    w.d.handle(DialInput::LinkDown, w.now);
    w.d.handle(DialInput::Start, w.now);
    w.run_to(700);
    assert_eq!(w.count(|a| matches!(a, DialAction::Attach(_))), 1);
    assert_eq!(w.facts().reason, f.reason);
}

#[test]
fn shutdown_sends_terminate_then_padt_and_does_not_redial() {
    let mut w = World::new(None, Kernel::Ppp);
    w.run_to(5);
    w.d.handle(DialInput::Stop, w.now);
    let mut sent_terminate = false;
    let mut order = Vec::new();
    while let Some(a) = w.d.poll_action() {
        match &a {
            DialAction::SendPpp(f) => {
                sent_terminate |= format!("{f:?}").contains("TerminateRequest");
            }
            DialAction::SendDiscovery { packet, .. } => {
                order.push(format!("{:?}", Message::decode(packet).unwrap().code));
            }
            other => order.push(format!("{other:?}")),
        }
    }
    assert!(sent_terminate);
    assert_eq!(
        order.last().map(String::as_str),
        Some("Save(None)"),
        "{order:?}"
    );
    assert!(order.iter().any(|o| o == "Padt"), "{order:?}");
    assert!(order.iter().any(|o| o == "Detach"), "{order:?}");
    assert_eq!(w.d.next_attempt(), None);
}

#[test]
fn a_closed_channel_ends_the_session_with_padt_and_a_redial() {
    let mut w = World::new(None, Kernel::Ppp);
    w.run_to(5);
    w.d.handle(
        DialInput::ChannelClosed("the kernel closed the PPP channel"),
        w.now,
    );
    w.run_to(5);
    assert_eq!(w.padts().len(), 1, "{:?}", w.log);
    assert_eq!(w.count(|a| *a == DialAction::Detach), 1);
    assert!(w.d.next_attempt().is_some());
    assert_eq!(
        w.d.discovery().last_failure(),
        Some(
            "PPPoE session 0x1234 with AC 'bras' (02:00:00:00:ac:01): the kernel closed the \
             PPP channel"
        )
    );
}

#[test]
fn carrier_loss_ends_the_session_without_padt_and_waits_for_carrier() {
    let mut w = World::new(None, Kernel::Ppp);
    w.run_to(5);
    let padi = w.padi;
    w.d.handle(DialInput::LinkDown, w.now);
    w.run_to(120);
    assert!(w.padts().is_empty());
    assert_eq!(w.count(|a| *a == DialAction::Detach), 1);
    assert_eq!(w.d.next_attempt(), None);
    assert_eq!(w.padi, padi, "nothing is sent without carrier");
    let f = status::facts(&settings(), Some(&w.d), "no carrier on eth1", false);
    assert_eq!(f.state, WanState::Down);
    w.d.handle(DialInput::Start, w.now);
    w.run_to(125);
    assert_eq!(w.facts().state, WanState::Up);
}
