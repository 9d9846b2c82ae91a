//! The PPP engines in virtual time: whole sessions against an access
//! concentrator modelled on RFC behaviour (its own RFC 1661 automata with
//! an AC's option policy, a PAP/CHAP authenticator that checks the MD5
//! response), and hand-made frames for the edge cases.

use super::auth::{AuthFailure, Credentials, chap_md5};
use super::fsm::{self, Event, Fsm, Options, State, Timers, Verdict};
use super::lcp::{AuthKind, Lcp, LcpConfig, LcpInput};
use super::session::{Phase, Session, SessionAction, SessionConfig, SessionInput};
use super::{Frame, Rng};
use cpe_daemon::Engine;
use cpe_daemon::engine::drive::drain;
use cpe_wire::ppp::{
    Body, CHAP_MD5, ConfigOption, PROTO_CHAP, PROTO_IPCP, PROTO_IPV6CP, PROTO_LCP, PROTO_PAP,
    Packet, Secret,
};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub(crate) const PASSWORD: &str = "s3cr3t-pw";
pub(crate) const AC_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(crate) const ASSIGNED: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
pub(crate) const DNS1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
pub(crate) const DNS2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
pub(crate) const AC_IID: [u8; 8] = [0x02, 0, 0x5e, 0xff, 0xfe, 0, 0x53, 1];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn config() -> SessionConfig {
    SessionConfig {
        lcp: LcpConfig {
            mru: 1492,
            echo_interval: secs(10),
            echo_failure: 3,
        },
        credentials: Credentials::new("user@example.jp", PASSWORD),
        ipv4: true,
        ipv6: true,
        interface_id: Some([0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
        timers: Timers::default(),
    }
}

fn packet(raw: &[u8]) -> Packet {
    Packet::decode(raw).expect("our frames decode")
}

fn frame(protocol: u16, id: u8, body: Body) -> Vec<u8> {
    let mut out = Vec::new();
    Packet::new(protocol, id, body).encode(&mut out).unwrap();
    out
}

// ---- the access concentrator -------------------------------------------

#[derive(Debug)]
struct AcLcp {
    magic: u32,
    auth: Option<AuthKind>,
    client_mru: u16,
}

impl Options for AcLcp {
    fn request(&mut self) -> Vec<ConfigOption> {
        let mut o = vec![ConfigOption::Mru(1492)];
        match self.auth {
            Some(AuthKind::Pap) => o.push(ConfigOption::AuthProtocol {
                protocol: PROTO_PAP,
                data: vec![],
            }),
            Some(AuthKind::ChapMd5) => o.push(ConfigOption::AuthProtocol {
                protocol: PROTO_CHAP,
                data: vec![CHAP_MD5],
            }),
            None => {}
        }
        o.push(ConfigOption::MagicNumber(self.magic));
        o
    }
    fn check(&mut self, options: &[ConfigOption]) -> Verdict {
        let mut rejects = Vec::new();
        for o in options {
            match o {
                ConfigOption::Mru(m) if *m > 1492 => {
                    return Verdict::Nak(vec![ConfigOption::Mru(1492)]);
                }
                ConfigOption::Mru(m) => self.client_mru = *m,
                ConfigOption::MagicNumber(m) if *m == self.magic => {
                    return Verdict::Nak(vec![ConfigOption::MagicNumber(self.magic ^ 0xffff)]);
                }
                ConfigOption::MagicNumber(_) => {}
                _ => rejects.push(o.clone()),
            }
        }
        Verdict::from_lists(Vec::new(), rejects)
    }
    fn peer_acked(&mut self, _: &[ConfigOption]) {}
    fn acked(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
    fn nakked(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        self.magic = self.magic.wrapping_add(1);
        Ok(())
    }
    fn rejected(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Default)]
struct AcIpcp {
    reject_dns: bool,
    reject_address: bool,
}

impl Options for AcIpcp {
    fn request(&mut self) -> Vec<ConfigOption> {
        vec![ConfigOption::IpAddress(AC_ADDR)]
    }
    fn check(&mut self, options: &[ConfigOption]) -> Verdict {
        let (mut naks, mut rejects) = (Vec::new(), Vec::new());
        for o in options {
            match o {
                ConfigOption::IpAddress(_) if self.reject_address => rejects.push(o.clone()),
                ConfigOption::PrimaryDns(_) | ConfigOption::SecondaryDns(_) if self.reject_dns => {
                    rejects.push(o.clone())
                }
                ConfigOption::IpAddress(a) if *a != ASSIGNED => {
                    naks.push(ConfigOption::IpAddress(ASSIGNED))
                }
                ConfigOption::PrimaryDns(a) if *a != DNS1 => {
                    naks.push(ConfigOption::PrimaryDns(DNS1))
                }
                ConfigOption::SecondaryDns(a) if *a != DNS2 => {
                    naks.push(ConfigOption::SecondaryDns(DNS2))
                }
                ConfigOption::IpAddress(_)
                | ConfigOption::PrimaryDns(_)
                | ConfigOption::SecondaryDns(_) => {}
                _ => rejects.push(o.clone()),
            }
        }
        Verdict::from_lists(naks, rejects)
    }
    fn peer_acked(&mut self, _: &[ConfigOption]) {}
    fn acked(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
    fn nakked(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
    fn rejected(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug)]
struct AcIpv6cp {
    iid: [u8; 8],
}

impl Options for AcIpv6cp {
    fn request(&mut self) -> Vec<ConfigOption> {
        vec![ConfigOption::InterfaceId(self.iid)]
    }
    fn check(&mut self, options: &[ConfigOption]) -> Verdict {
        match options {
            [ConfigOption::InterfaceId(id)] if *id == self.iid || *id == [0; 8] => {
                Verdict::Nak(vec![ConfigOption::InterfaceId([0x0a; 8])])
            }
            _ => Verdict::Ack,
        }
    }
    fn peer_acked(&mut self, _: &[ConfigOption]) {}
    fn acked(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
    fn nakked(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        if let [ConfigOption::InterfaceId(id)] = options {
            self.iid = *id;
        }
        Ok(())
    }
    fn rejected(&mut self, _: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }
}

/// An access concentrator: pppd-like server side of one session.
pub(crate) struct Ac {
    lcp: Fsm<AcLcp>,
    ipcp: Fsm<AcIpcp>,
    ipv6cp: Fsm<AcIpv6cp>,
    auth: Option<AuthKind>,
    pub(crate) password: &'static str,
    failure_message: &'static [u8],
    /// Answers nothing at all (cable cut, AC crashed).
    pub(crate) dead: bool,
    /// Runs no IPv6: Protocol-Rejects IPV6CP.
    no_ipv6: bool,
    /// Ignores IPCP entirely (a broken BRAS).
    ignore_ipcp: bool,
    challenge: Vec<u8>,
    pub(crate) out: Vec<Vec<u8>>,
    rejects: u8,
}

impl Ac {
    pub(crate) fn new(auth: Option<AuthKind>) -> Ac {
        let t = Timers::default();
        Ac {
            lcp: Fsm::new(
                PROTO_LCP,
                AcLcp {
                    magic: 0x5eed_0001,
                    auth,
                    client_mru: 1500,
                },
                t,
            ),
            ipcp: Fsm::new(PROTO_IPCP, AcIpcp::default(), t),
            ipv6cp: Fsm::new(PROTO_IPV6CP, AcIpv6cp { iid: AC_IID }, t),
            auth,
            password: PASSWORD,
            failure_message: b"E=691 R=0 C=00 V=0 M=Authentication failure",
            dead: false,
            no_ipv6: false,
            ignore_ipcp: false,
            challenge: (0u8..16).collect(),
            out: Vec::new(),
            rejects: 0,
        }
    }

    pub(crate) fn start(&mut self, now: Instant) {
        if self.dead {
            return;
        }
        self.lcp.handle(fsm::Input::Open, now);
        self.lcp.handle(fsm::Input::Up, now);
        self.pump(now);
    }

    fn open_ncps(&mut self, now: Instant) {
        for ncp in [fsm::Input::Open, fsm::Input::Up] {
            self.ipcp.handle(ncp, now);
            self.ipv6cp.handle(ncp, now);
        }
    }

    pub(crate) fn receive(&mut self, raw: &[u8], now: Instant) {
        if self.dead {
            return;
        }
        let p = packet(raw);
        match p.protocol {
            PROTO_LCP => match p.body {
                Body::EchoRequest { data, .. } => self.out.push(frame(
                    PROTO_LCP,
                    p.identifier,
                    Body::EchoReply {
                        magic: self.lcp.options().magic,
                        data,
                    },
                )),
                Body::EchoReply { .. } => {}
                _ => self.lcp.handle(fsm::Input::Frame(raw), now),
            },
            PROTO_PAP => {
                let Body::PapRequest { password, .. } = p.body else {
                    panic!("client sent {p:?}")
                };
                let body = if password.0 == self.password.as_bytes() {
                    self.open_ncps(now);
                    Body::PapAck(b"Login ok".to_vec())
                } else {
                    Body::PapNak(self.failure_message.to_vec())
                };
                self.out.push(frame(PROTO_PAP, p.identifier, body));
            }
            PROTO_CHAP => {
                let Body::ChapResponse { value, .. } = p.body else {
                    panic!("client sent {p:?}")
                };
                let expected = chap_md5(p.identifier, self.password.as_bytes(), &self.challenge);
                let body = if value == expected {
                    self.open_ncps(now);
                    Body::ChapSuccess(b"Welcome".to_vec())
                } else {
                    Body::ChapFailure(self.failure_message.to_vec())
                };
                self.out.push(frame(PROTO_CHAP, p.identifier, body));
            }
            PROTO_IPCP if self.ignore_ipcp => {}
            PROTO_IPCP => self.ipcp.handle(fsm::Input::Frame(raw), now),
            PROTO_IPV6CP if self.no_ipv6 => {
                self.rejects += 1;
                self.out.push(frame(
                    PROTO_LCP,
                    self.rejects,
                    Body::ProtocolReject {
                        protocol: PROTO_IPV6CP,
                        information: raw[2..].to_vec(),
                    },
                ));
            }
            PROTO_IPV6CP => self.ipv6cp.handle(fsm::Input::Frame(raw), now),
            other => panic!("client sent protocol {other:04x}"),
        }
        self.pump(now);
    }

    fn pump(&mut self, now: Instant) {
        for e in drain(&mut self.lcp) {
            match e {
                Event::Send(f) => self.out.push(f.0),
                Event::Up => match self.auth {
                    Some(AuthKind::ChapMd5) => self.out.push(frame(
                        PROTO_CHAP,
                        0x42,
                        Body::ChapChallenge {
                            value: self.challenge.clone(),
                            name: b"bras-1".to_vec(),
                        },
                    )),
                    Some(AuthKind::Pap) => {}
                    None => self.open_ncps(now),
                },
                _ => {}
            }
        }
        for e in drain(&mut self.ipcp)
            .into_iter()
            .chain(drain(&mut self.ipv6cp))
        {
            if let Event::Send(f) = e {
                self.out.push(f.0);
            }
        }
    }

    pub(crate) fn timeout(&mut self, now: Instant) {
        if self.dead {
            return;
        }
        self.lcp.handle_timeout(now);
        self.ipcp.handle_timeout(now);
        self.ipv6cp.handle_timeout(now);
        self.pump(now);
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.dead {
            return None;
        }
        [
            self.lcp.poll_timeout(),
            self.ipcp.poll_timeout(),
            self.ipv6cp.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Fires the earliest deadline of `engine` or `ac` if it is not after
/// `until`, moving `now` to it; otherwise moves `now` to `until` and
/// returns false.
pub(crate) fn fire_next<E: Engine>(
    engine: &mut E,
    ac: &mut Ac,
    now: &mut Instant,
    until: Instant,
) -> bool {
    let next = [engine.poll_timeout(), ac.deadline()]
        .into_iter()
        .flatten()
        .min();
    match next {
        Some(at) if at <= until => {
            *now = (*now).max(at);
            engine.handle_timeout(*now);
            ac.timeout(*now);
            true
        }
        _ => {
            *now = until;
            false
        }
    }
}

/// Our session and the AC on one virtual wire.
struct Lab {
    t0: Instant,
    now: Instant,
    s: Session,
    ac: Ac,
    /// Everything the session reported except frames, with the time.
    events: Vec<(Duration, SessionAction)>,
    /// Frames we sent, with the time.
    sent: Vec<(Duration, Packet)>,
    /// Percent of frames lost in each direction, drawn from this generator.
    loss: Option<(Rng, u64)>,
}

impl Lab {
    fn new(config: SessionConfig, auth: Option<AuthKind>) -> Lab {
        let t0 = Instant::now();
        Lab {
            t0,
            now: t0,
            s: Session::new(config, 7),
            ac: Ac::new(auth),
            events: Vec::new(),
            sent: Vec::new(),
            loss: None,
        }
    }

    fn lost(&mut self) -> bool {
        self.loss
            .as_mut()
            .is_some_and(|(rng, percent)| rng.next_u64() % 100 < *percent)
    }

    fn start(&mut self) {
        self.ac.start(self.now);
        self.s.handle(SessionInput::Start, self.now);
    }

    /// Moves frames both ways until quiet, then fires deadlines, up to `t`
    /// seconds after the start.
    fn run_to(&mut self, t: u64) {
        let until = self.t0 + secs(t);
        for _ in 0..100_000 {
            let mut quiet = true;
            for a in drain(&mut self.s) {
                quiet = false;
                let at = self.now - self.t0;
                match a {
                    SessionAction::Send(f) => {
                        self.sent.push((at, packet(&f.0)));
                        if !self.lost() {
                            self.ac.receive(&f.0, self.now);
                        }
                    }
                    other => self.events.push((at, other)),
                }
            }
            for raw in std::mem::take(&mut self.ac.out) {
                quiet = false;
                if !self.lost() {
                    self.s.handle(SessionInput::Frame(&raw), self.now);
                }
            }
            if !quiet {
                continue;
            }
            if !fire_next(&mut self.s, &mut self.ac, &mut self.now, until) {
                return;
            }
        }
        panic!("the lab did not settle");
    }

    fn find(&self, pred: impl Fn(&SessionAction) -> bool) -> Option<&(Duration, SessionAction)> {
        self.events.iter().find(|(_, a)| pred(a))
    }

    fn auth_failure(&self) -> AuthFailure {
        self.events
            .iter()
            .find_map(|(_, a)| match a {
                SessionAction::AuthFailed(f) => Some(f.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no authentication failure: {:?}", self.events))
    }

    fn count_sent(&self, protocol: u16, code: u8) -> usize {
        self.sent
            .iter()
            .filter(|(_, p)| p.protocol == protocol && p.code() == code)
            .count()
    }
}

fn is_v4_up(a: &SessionAction) -> bool {
    matches!(a, SessionAction::Ipv4Up(_))
}

fn is_v6_up(a: &SessionAction) -> bool {
    matches!(a, SessionAction::Ipv6Up(_))
}

// ---- whole sessions ------------------------------------------------------

#[test]
fn pap_session_comes_up_dual_stack_at_once() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.start();
    lab.run_to(1);
    let Some((_, SessionAction::LinkUp(link))) =
        lab.find(|a| matches!(a, SessionAction::LinkUp(_)))
    else {
        panic!("no LinkUp: {:?}", lab.events)
    };
    assert_eq!(
        (link.mru, link.peer_mru, link.auth),
        (1492, 1492, Some(AuthKind::Pap))
    );
    assert!(
        lab.find(|a| *a == SessionAction::Authenticated("Login ok".into()))
            .is_some()
    );
    let Some((t4, SessionAction::Ipv4Up(v4))) = lab.find(is_v4_up) else {
        panic!("no IPv4: {:?}", lab.events)
    };
    assert_eq!(v4.local, ASSIGNED);
    assert_eq!(v4.peer, Some(AC_ADDR));
    assert_eq!(v4.dns, vec![DNS1, DNS2]);
    let Some((t6, SessionAction::Ipv6Up(v6))) = lab.find(is_v6_up) else {
        panic!("no IPv6: {:?}", lab.events)
    };
    assert_eq!(v6.local, [0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]);
    assert_eq!(
        v6.link_local().to_string(),
        "fe80::211:22ff:fe33:4455",
        "RFC 5952 text of the link-local address"
    );
    assert_eq!(v6.peer, Some(AC_IID));
    assert_eq!(
        (*t4, *t6),
        (Duration::ZERO, Duration::ZERO),
        "no timer needed"
    );
    assert_eq!(lab.s.phase(), Phase::Network);
    // Our first IPCP request asked for everything with zeros (RFC 1877).
    let first_ipcp = lab
        .sent
        .iter()
        .find(|(_, p)| p.protocol == PROTO_IPCP)
        .unwrap();
    assert_eq!(
        first_ipcp.1.body,
        Body::ConfigureRequest(vec![
            ConfigOption::IpAddress(Ipv4Addr::UNSPECIFIED),
            ConfigOption::PrimaryDns(Ipv4Addr::UNSPECIFIED),
            ConfigOption::SecondaryDns(Ipv4Addr::UNSPECIFIED),
        ])
    );
    let phases: Vec<Phase> = lab
        .events
        .iter()
        .filter_map(|(_, a)| match a {
            SessionAction::Phase(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(
        phases,
        [Phase::Establish, Phase::Authenticate, Phase::Network]
    );
}

#[test]
fn chap_session_answers_the_challenge_with_md5() {
    let mut lab = Lab::new(config(), Some(AuthKind::ChapMd5));
    lab.start();
    lab.run_to(1);
    assert!(
        lab.find(|a| *a == SessionAction::Authenticated("Welcome".into()))
            .is_some()
    );
    assert!(lab.find(is_v4_up).is_some() && lab.find(is_v6_up).is_some());
    let response = lab
        .sent
        .iter()
        .find(|(_, p)| p.protocol == PROTO_CHAP)
        .unwrap();
    assert_eq!(
        response.1.identifier, 0x42,
        "the Response echoes the Challenge id"
    );
    let Body::ChapResponse { name, .. } = &response.1.body else {
        panic!()
    };
    assert_eq!(name, b"user@example.jp");
}

#[test]
fn chap_md5_matches_an_independent_digest() {
    // MD5(0x07 || "secret" || 00..0f), computed outside this code base.
    let challenge: Vec<u8> = (0u8..16).collect();
    let hex: String = chap_md5(7, b"secret", &challenge)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, "821643665b430359e52ac524d29c8f95");
}

#[test]
fn session_without_authentication_goes_straight_to_network() {
    let mut lab = Lab::new(config(), None);
    lab.start();
    lab.run_to(1);
    assert!(
        lab.find(|a| matches!(a, SessionAction::Authenticated(_)))
            .is_none()
    );
    assert!(lab.find(is_v4_up).is_some() && lab.find(is_v6_up).is_some());
}

#[test]
fn mru_and_echo_settings_follow_the_config() {
    let src = "[wan]\ninterface = \"eth1\"\nmode = \"pppoe\"\nmtu = 1454\n\
               [wan.pppoe]\nusername = \"u\"\npassword = \"p\"\nlcp_echo_interval = 20\n\
               lcp_echo_failure = 5\n[[lan]]\n";
    let loaded = cpe_config::parse_str(src, "t.toml").unwrap();
    let c = SessionConfig::from_config(&loaded.config).unwrap();
    assert_eq!(
        c.lcp,
        LcpConfig {
            mru: 1454,
            echo_interval: secs(20),
            echo_failure: 5
        }
    );
    let mut s = Session::new(c, 1);
    s.handle(SessionInput::Start, Instant::now());
    let first = drain(&mut s)
        .into_iter()
        .find_map(|a| match a {
            SessionAction::Send(f) => Some(packet(&f.0)),
            _ => None,
        })
        .unwrap();
    let Body::ConfigureRequest(o) = first.body else {
        panic!("{first:?}")
    };
    assert_eq!(o[0], ConfigOption::Mru(1454));
    // Default PPPoE MTU: 1492.
    let src = "[wan]\ninterface = \"eth1\"\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\n\
               password = \"p\"\n[[lan]]\n";
    let loaded = cpe_config::parse_str(src, "t.toml").unwrap();
    assert_eq!(
        SessionConfig::from_config(&loaded.config).unwrap().lcp.mru,
        1492
    );
}

#[test]
fn silent_peer_gets_ten_configure_requests_three_seconds_apart() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.ac.dead = true;
    lab.start();
    lab.run_to(100);
    let times: Vec<u64> = lab
        .sent
        .iter()
        .filter(|(_, p)| p.protocol == PROTO_LCP)
        .map(|(t, _)| t.as_secs())
        .collect();
    assert_eq!(times, (0..10).map(|i| i * 3).collect::<Vec<_>>());
    let (t, finished) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    assert_eq!(*t, secs(30));
    assert_eq!(
        *finished,
        SessionAction::Finished("no answer to 10 LCP Configure-Requests".into())
    );
    assert_eq!(lab.s.phase(), Phase::Dead);
}

#[test]
fn dead_peer_is_found_by_echo_and_the_link_finishes() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.start();
    lab.run_to(300);
    assert!(
        lab.find(|a| matches!(a, SessionAction::LinkDown(_)))
            .is_none(),
        "answered echoes keep it up"
    );
    assert_eq!(lab.count_sent(PROTO_LCP, 9), 30, "one echo every 10 s");
    assert_eq!(lab.s.lcp().echoes_pending(), 0);
    lab.ac.dead = true;
    lab.run_to(400);
    let (t, down) = lab
        .find(|a| matches!(a, SessionAction::LinkDown(_)))
        .unwrap();
    // Echoes at 310, 320, 330 unanswered; at 340 three are pending.
    assert_eq!(*t, secs(340));
    assert_eq!(
        *down,
        SessionAction::LinkDown("peer did not answer 3 LCP Echo-Requests (10 s apart)".into())
    );
    assert!(
        lab.find(|a| matches!(a, SessionAction::Ipv4Down(_)))
            .is_some()
    );
    assert!(
        lab.find(|a| matches!(a, SessionAction::Ipv6Down(_)))
            .is_some()
    );
    // Max-Terminate 2: Terminate-Requests at 340 and 343, finished at 346.
    let terms: Vec<u64> = lab
        .sent
        .iter()
        .filter(|(_, p)| matches!(p.body, Body::TerminateRequest(_)) && p.protocol == PROTO_LCP)
        .map(|(t, _)| t.as_secs())
        .collect();
    assert_eq!(terms, [340, 343]);
    let (t, _) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    assert_eq!(*t, secs(346));
}

#[test]
fn shutdown_terminates_the_link_and_finishes_on_the_ack() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.start();
    lab.run_to(5);
    lab.s
        .handle(SessionInput::Stop("router shutting down"), lab.now);
    lab.run_to(6);
    let term = lab
        .sent
        .iter()
        .find(|(_, p)| matches!(p.body, Body::TerminateRequest(_)))
        .unwrap();
    assert_eq!(term.1.protocol, PROTO_LCP);
    assert_eq!(
        term.1.body,
        Body::TerminateRequest(b"router shutting down".to_vec())
    );
    let (t, f) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    assert_eq!(*t, secs(5), "the AC's Terminate-Ack ends it at once");
    assert_eq!(*f, SessionAction::Finished("router shutting down".into()));
    assert_eq!(lab.ac.lcp.state(), State::Stopping);
}

#[test]
fn shutdown_with_a_dead_peer_gives_up_after_two_terminate_requests() {
    let mut lab = Lab::new(config(), None);
    lab.start();
    lab.run_to(5);
    lab.ac.dead = true;
    lab.s.handle(SessionInput::Stop("bye"), lab.now);
    lab.run_to(60);
    assert_eq!(lab.count_sent(PROTO_LCP, 5), 2);
    let (t, _) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    assert_eq!(*t, secs(11));
}

#[test]
fn peer_terminate_is_reported_with_its_text_and_acknowledged() {
    let mut lab = Lab::new(config(), None);
    lab.start();
    lab.run_to(5);
    lab.ac
        .lcp
        .handle(fsm::Input::Close("Administrative disconnect"), lab.now);
    lab.ac.pump(lab.now);
    lab.run_to(20);
    let (_, down) = lab
        .find(|a| matches!(a, SessionAction::LinkDown(_)))
        .unwrap();
    assert_eq!(
        *down,
        SessionAction::LinkDown("peer terminated LCP: Administrative disconnect".into())
    );
    assert_eq!(lab.count_sent(PROTO_LCP, 6), 1, "one Terminate-Ack");
    // Stopping for one restart period (zrc), then finished.
    let (t, _) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    assert_eq!(*t, secs(8));
}

#[test]
fn pap_nak_fails_with_the_server_message_verbatim() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.ac.password = "other";
    lab.start();
    lab.run_to(30);
    let f = lab.auth_failure();
    assert_eq!(f.protocol, "PAP");
    assert_eq!(
        f.server_message.as_deref(),
        Some("E=691 R=0 C=00 V=0 M=Authentication failure")
    );
    assert!(lab.find(is_v4_up).is_none() && lab.find(is_v6_up).is_none());
    let (_, fin) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    let SessionAction::Finished(reason) = fin else {
        unreachable!()
    };
    assert!(
        reason.contains("authentication failed") && reason.contains("M=Authentication failure"),
        "{reason}"
    );
    assert_eq!(lab.count_sent(PROTO_PAP, 1), 1, "no retry after a Nak");
}

#[test]
fn chap_failure_fails_with_the_server_message_verbatim() {
    let mut lab = Lab::new(config(), Some(AuthKind::ChapMd5));
    lab.ac.password = "other";
    lab.ac.failure_message = b"Authentication failed: \x1b[2J bad user";
    lab.start();
    lab.run_to(30);
    let f = lab.auth_failure();
    assert_eq!(f.protocol, "CHAP");
    // Verbatim, except that the escape character cannot reach the console.
    assert_eq!(
        f.server_message.as_deref(),
        Some("Authentication failed: \\u{1b}[2J bad user")
    );
    assert!(
        lab.find(|a| matches!(a, SessionAction::Finished(_)))
            .is_some()
    );
}

#[test]
fn pap_without_answer_retries_then_fails() {
    // An AC that asks for PAP and then never answers it.
    let mut s = Session::new(config(), 7);
    let t0 = Instant::now();
    s.handle(SessionInput::Start, t0);
    // Bring LCP up by hand with an AC request demanding PAP.
    let mut out = drain(&mut s);
    let req = out
        .iter()
        .find_map(|a| match a {
            SessionAction::Send(f) => Some(packet(&f.0)),
            _ => None,
        })
        .unwrap();
    let Body::ConfigureRequest(o) = req.body.clone() else {
        panic!()
    };
    s.handle(
        SessionInput::Frame(&frame(PROTO_LCP, req.identifier, Body::ConfigureAck(o))),
        t0,
    );
    let ac_req = frame(
        PROTO_LCP,
        1,
        Body::ConfigureRequest(vec![
            ConfigOption::AuthProtocol {
                protocol: PROTO_PAP,
                data: vec![],
            },
            ConfigOption::MagicNumber(1),
        ]),
    );
    s.handle(SessionInput::Frame(&ac_req), t0);
    out.extend(cpe_daemon::engine::drive::advance(
        &mut s,
        t0 + secs(60),
        100,
    ));
    let pap: Vec<&SessionAction> = out
        .iter()
        .filter(|a| matches!(a, SessionAction::Send(f) if f.protocol() == Some(PROTO_PAP)))
        .collect();
    assert_eq!(pap.len(), 10, "Max-Configure Authenticate-Requests");
    let failure = out
        .iter()
        .find_map(|a| match a {
            SessionAction::AuthFailed(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        failure.to_string(),
        "PAP: no answer to 10 Authenticate-Requests"
    );
    assert_eq!(failure.server_message, None);
}

#[test]
fn the_password_never_shows_in_debug_output() {
    for auth in [AuthKind::Pap, AuthKind::ChapMd5] {
        let mut lab = Lab::new(config(), Some(auth));
        lab.start();
        lab.run_to(1);
        let mut text = format!("{:?}{:?}{:?}", config(), lab.s, lab.events);
        // Frames as the driver would log them.
        text += &format!("{:?}", lab.sent);
        let pap = frame(
            PROTO_PAP,
            1,
            Body::PapRequest {
                peer_id: b"u".to_vec(),
                password: Secret(PASSWORD.into()),
            },
        );
        assert!(
            pap.windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "on the wire it is there"
        );
        text += &format!("{:?}", Frame(pap));
        assert!(!text.contains(PASSWORD), "password leaked: {text}");
        assert!(text.contains("<redacted>"));
    }
}

// ---- NCP independence (RFC 7084 WLL-3/WLL-4) -------------------------------

#[test]
fn ipv6cp_protocol_rejected_leaves_ipv4_and_the_link_up() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.ac.no_ipv6 = true;
    lab.start();
    lab.run_to(120);
    assert!(lab.find(is_v4_up).is_some());
    assert!(lab.find(is_v6_up).is_none());
    assert_eq!(
        lab.find(|a| matches!(a, SessionAction::Ipv6Down(_)))
            .unwrap()
            .1,
        SessionAction::Ipv6Down("peer does not run IPV6CP".into())
    );
    assert!(
        lab.find(|a| matches!(a, SessionAction::Ipv4Down(_) | SessionAction::LinkDown(_)))
            .is_none()
    );
    assert_eq!(lab.s.lcp().state(), State::Opened);
    assert_eq!(lab.s.ipcp_state(), Some(State::Opened));
    assert_eq!(lab.s.phase(), Phase::Network);
}

#[test]
fn ipcp_timing_out_leaves_ipv6_and_the_link_up() {
    let mut lab = Lab::new(config(), Some(AuthKind::ChapMd5));
    lab.ac.ignore_ipcp = true;
    lab.start();
    lab.run_to(120);
    assert!(lab.find(is_v6_up).is_some());
    let (t, down) = lab
        .find(|a| matches!(a, SessionAction::Ipv4Down(_)))
        .unwrap();
    assert_eq!(*t, secs(30));
    assert_eq!(
        *down,
        SessionAction::Ipv4Down("no answer to 10 IPCP Configure-Requests".into())
    );
    assert_eq!(lab.count_sent(PROTO_IPCP, 1), 10);
    assert!(
        lab.find(|a| matches!(a, SessionAction::Ipv6Down(_) | SessionAction::LinkDown(_)))
            .is_none()
    );
    assert_eq!(lab.s.lcp().state(), State::Opened);
}

#[test]
fn without_any_ncp_the_link_closes() {
    let mut lab = Lab::new(config(), None);
    lab.ac.no_ipv6 = true;
    lab.ac.ipcp.options_mut().reject_address = true;
    lab.start();
    lab.run_to(60);
    let (_, f) = lab
        .find(|a| matches!(a, SessionAction::Finished(_)))
        .unwrap();
    assert_eq!(
        *f,
        SessionAction::Finished(
            "no network protocol is up (IPCP: the peer rejected IP-Address: no IPv4 address is \
             assigned; IPV6CP: peer does not run IPV6CP)"
                .into()
        )
    );
}

#[test]
fn ipcp_without_dns_still_comes_up() {
    let mut lab = Lab::new(config(), None);
    lab.ac.ipcp.options_mut().reject_dns = true;
    lab.start();
    lab.run_to(1);
    let Some((_, SessionAction::Ipv4Up(v4))) = lab.find(is_v4_up) else {
        panic!()
    };
    assert_eq!(v4.local, ASSIGNED);
    assert!(v4.dns.is_empty());
}

#[test]
fn ipv6cp_collision_gets_a_new_identifier_for_the_peer() {
    let mut c = config();
    c.interface_id = Some(AC_IID);
    let mut lab = Lab::new(c, None);
    lab.start();
    lab.run_to(1);
    // Both sides proposed AC_IID; the AC Naked ours with 0x0a.., we Naked
    // its one: the identifiers differ and neither is zero.
    let Some((_, SessionAction::Ipv6Up(v6))) = lab.find(is_v6_up) else {
        panic!("{:?}", lab.events)
    };
    let peer = v6.peer.unwrap();
    assert_eq!(v6.local, [0x0a; 8]);
    assert_ne!(peer, v6.local);
    assert_ne!(peer, [0; 8]);
    assert_ne!(peer, AC_IID, "the AC took our suggestion");
}

// ---- LCP edge cases with hand-made frames -----------------------------------

fn lcp() -> (Lcp, Instant) {
    let t0 = Instant::now();
    let mut l = Lcp::new(
        LcpConfig {
            mru: 1492,
            echo_interval: secs(10),
            echo_failure: 3,
        },
        Timers::default(),
        Rng::new(3),
    );
    l.handle(LcpInput::Start, t0);
    (l, t0)
}

fn sent(events: Vec<Event>) -> Vec<Packet> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Send(f) => Some(packet(&f.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn lcp_rejects_what_pppoe_forbids_before_it_naks() {
    let (mut l, t0) = lcp();
    let ours = sent(drain(&mut l));
    assert_eq!(ours.len(), 1);
    let req = frame(
        PROTO_LCP,
        9,
        Body::ConfigureRequest(vec![
            ConfigOption::Mru(64),
            ConfigOption::Accm(0),
            ConfigOption::MagicNumber(0),
            ConfigOption::Pfc,
            ConfigOption::Acfc,
            ConfigOption::Unknown {
                kind: 13,
                data: vec![6],
            },
        ]),
    );
    l.handle(LcpInput::Frame(&req), t0);
    let out = sent(drain(&mut l));
    assert_eq!(
        out,
        [Packet::new(
            PROTO_LCP,
            9,
            Body::ConfigureReject(vec![
                ConfigOption::Accm(0),
                ConfigOption::Pfc,
                ConfigOption::Acfc,
                ConfigOption::Unknown {
                    kind: 13,
                    data: vec![6]
                },
            ])
        )]
    );
    let req = frame(
        PROTO_LCP,
        10,
        Body::ConfigureRequest(vec![
            ConfigOption::Mru(64),
            ConfigOption::AuthProtocol {
                protocol: 0xc227,
                data: vec![],
            },
            ConfigOption::MagicNumber(0),
        ]),
    );
    l.handle(LcpInput::Frame(&req), t0);
    let out = sent(drain(&mut l));
    let Body::ConfigureNak(naks) = &out[0].body else {
        panic!("{out:?}")
    };
    assert_eq!(naks[0], ConfigOption::Mru(128));
    assert_eq!(
        naks[1],
        ConfigOption::AuthProtocol {
            protocol: PROTO_CHAP,
            data: vec![CHAP_MD5]
        },
        "EAP is Naked towards CHAP-MD5"
    );
    assert!(matches!(naks[2], ConfigOption::MagicNumber(m) if m != 0));
    assert_eq!(l.state(), State::ReqSent);
}

#[test]
fn lcp_follows_the_peers_nak_and_reject_of_our_options() {
    let (mut l, t0) = lcp();
    let first = sent(drain(&mut l)).remove(0);
    let Body::ConfigureRequest(o) = &first.body else {
        panic!()
    };
    assert_eq!(o[0], ConfigOption::Mru(1492));
    let ConfigOption::MagicNumber(magic) = o[1] else {
        panic!()
    };
    // A smaller MRU is taken.
    l.handle(
        LcpInput::Frame(&frame(
            PROTO_LCP,
            first.identifier,
            Body::ConfigureNak(vec![ConfigOption::Mru(1400)]),
        )),
        t0,
    );
    let second = sent(drain(&mut l)).remove(0);
    assert_eq!(
        second.body,
        Body::ConfigureRequest(vec![
            ConfigOption::Mru(1400),
            ConfigOption::MagicNumber(magic)
        ])
    );
    assert_ne!(second.identifier, first.identifier);
    // A Nak with the wrong identifier is ignored.
    l.handle(
        LcpInput::Frame(&frame(
            PROTO_LCP,
            first.identifier,
            Body::ConfigureNak(vec![ConfigOption::Mru(600)]),
        )),
        t0,
    );
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.dropped().get("nak_mismatch"), Some(&1));
    // A larger MRU than PPPoE carries is not taken.
    l.handle(
        LcpInput::Frame(&frame(
            PROTO_LCP,
            second.identifier,
            Body::ConfigureNak(vec![ConfigOption::Mru(1500)]),
        )),
        t0,
    );
    let third = sent(drain(&mut l)).remove(0);
    let Body::ConfigureRequest(o) = &third.body else {
        panic!()
    };
    assert_eq!(o[0], ConfigOption::Mru(1400));
    // A Reject of MRU drops it; a Reject of something we never sent is invalid.
    l.handle(
        LcpInput::Frame(&frame(
            PROTO_LCP,
            third.identifier,
            Body::ConfigureReject(vec![ConfigOption::Pfc]),
        )),
        t0,
    );
    assert!(drain(&mut l).is_empty());
    l.handle(
        LcpInput::Frame(&frame(
            PROTO_LCP,
            third.identifier,
            Body::ConfigureReject(vec![ConfigOption::Mru(1400)]),
        )),
        t0,
    );
    let fourth = sent(drain(&mut l)).remove(0);
    assert_eq!(
        fourth.body,
        Body::ConfigureRequest(vec![ConfigOption::MagicNumber(magic)])
    );
    // A Nak of our Magic-Number makes us pick another.
    l.handle(
        LcpInput::Frame(&frame(
            PROTO_LCP,
            fourth.identifier,
            Body::ConfigureNak(vec![ConfigOption::MagicNumber(magic)]),
        )),
        t0,
    );
    let fifth = sent(drain(&mut l)).remove(0);
    let Body::ConfigureRequest(o) = &fifth.body else {
        panic!()
    };
    assert!(matches!(o[0], ConfigOption::MagicNumber(m) if m != magic && m != 0));
}

#[test]
fn max_failure_turns_naks_into_rejects() {
    let (mut l, t0) = lcp();
    drain(&mut l);
    let mut replies = Vec::new();
    for id in 0..7 {
        let req = frame(
            PROTO_LCP,
            id,
            Body::ConfigureRequest(vec![ConfigOption::Mru(64)]),
        );
        l.handle(LcpInput::Frame(&req), t0);
        replies.extend(sent(drain(&mut l)).into_iter().map(|p| p.code()));
    }
    assert_eq!(replies, [3, 3, 3, 3, 3, 4, 4], "five Naks, then Rejects");
}

#[test]
fn endless_naks_from_the_peer_end_the_negotiation() {
    let (mut l, t0) = lcp();
    let mut out = drain(&mut l);
    let mut finished = None;
    for _ in 0..20 {
        let Some(req) = sent(out).into_iter().rev().find(|p| p.code() == 1) else {
            break;
        };
        let nak = frame(
            PROTO_LCP,
            req.identifier,
            Body::ConfigureNak(vec![ConfigOption::Mru(1500)]),
        );
        l.handle(LcpInput::Frame(&nak), t0);
        out = drain(&mut l);
        if let Some(Event::Finished(r)) = out.iter().find(|e| matches!(e, Event::Finished(_))) {
            finished = Some(r.clone());
            break;
        }
    }
    assert_eq!(
        finished.as_deref(),
        Some("LCP does not converge: 10 Configure-Naks from the peer")
    );
    assert_eq!(l.state(), State::Stopped);
}

#[test]
fn a_looped_back_link_is_detected() {
    let (mut l, t0) = lcp();
    let mut finished = None;
    for _ in 0..200 {
        let out = drain(&mut l);
        if out.is_empty() {
            break;
        }
        for e in out {
            match e {
                // The wire hands every frame straight back.
                Event::Send(f) => l.handle(LcpInput::Frame(&f.0), t0),
                Event::Finished(r) => finished = Some(r),
                _ => {}
            }
        }
    }
    // The close sends Terminate-Requests; their looped Acks... the loop
    // answers itself, so the link finishes with the loop as reason.
    assert_eq!(
        finished.as_deref(),
        Some("the link is looped back (own Magic-Number seen)")
    );
}

#[test]
fn unknown_codes_and_protocols_are_rejected_once_open() {
    let mut lab = Lab::new(config(), None);
    lab.start();
    lab.run_to(1);
    let t = lab.now;
    let ident = frame(
        PROTO_LCP,
        77,
        Body::Unknown {
            code: 12,
            data: b"\0\0\0\0hello".to_vec(),
        },
    );
    lab.s.handle(SessionInput::Frame(&ident), t);
    // A Link Quality Report (0xc025) we do not run.
    let lqr = [0xc0, 0x25, 1, 2, 3, 4];
    lab.s.handle(SessionInput::Frame(&lqr), t);
    let out: Vec<Packet> = drain(&mut lab.s)
        .into_iter()
        .filter_map(|a| match a {
            SessionAction::Send(f) => Some(packet(&f.0)),
            _ => None,
        })
        .collect();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].body, Body::CodeReject(ident[2..].to_vec()));
    assert_eq!(
        out[1].body,
        Body::ProtocolReject {
            protocol: 0xc025,
            information: vec![1, 2, 3, 4]
        }
    );
    assert_eq!(lab.s.lcp().state(), State::Opened);
}

#[test]
fn ncp_frames_before_the_network_phase_are_discarded() {
    let t0 = Instant::now();
    let mut s = Session::new(config(), 1);
    s.handle(SessionInput::Start, t0);
    drain(&mut s);
    let ipcp_req = frame(
        PROTO_IPCP,
        1,
        Body::ConfigureRequest(vec![ConfigOption::IpAddress(AC_ADDR)]),
    );
    s.handle(SessionInput::Frame(&ipcp_req), t0);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.dropped().get("ncp_out_of_phase"), Some(&1));
    // Garbage is counted, never a panic.
    for junk in [
        &[][..],
        &[0xc0][..],
        &[0xc0, 0x21, 1][..],
        &[0x80, 0x57, 1, 1, 0, 200][..],
    ] {
        s.handle(SessionInput::Frame(junk), t0);
    }
    assert!(drain(&mut s).is_empty());
}

#[test]
fn lower_layer_loss_takes_everything_down_at_once() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.start();
    lab.run_to(5);
    lab.events.clear();
    lab.s.handle(SessionInput::LowerDown, lab.now);
    let out = drain(&mut lab.s);
    assert!(
        out.contains(&SessionAction::Ipv4Down("lower layer down".into())),
        "{out:?}"
    );
    assert!(out.contains(&SessionAction::Ipv6Down("lower layer down".into())));
    assert!(out.contains(&SessionAction::LinkDown("lower layer down".into())));
    assert_eq!(lab.s.phase(), Phase::Dead);
    assert!(
        !out.iter().any(|a| matches!(a, SessionAction::Send(_))),
        "nothing to send on a dead link"
    );
    assert_eq!(lab.s.poll_timeout(), None);
}

#[test]
fn lcp_renegotiation_takes_the_ncps_down_and_up_again() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.start();
    lab.run_to(5);
    // The AC restarts LCP negotiation (RFC 1661: RCR in Opened).
    lab.ac.lcp.handle(fsm::Input::Down, lab.now);
    lab.ac.lcp.handle(fsm::Input::Up, lab.now);
    lab.ac.pump(lab.now);
    lab.run_to(10);
    let downs: Vec<&SessionAction> = lab
        .events
        .iter()
        .map(|(_, a)| a)
        .filter(|a| matches!(a, SessionAction::LinkDown(_)))
        .collect();
    assert_eq!(
        downs,
        [&SessionAction::LinkDown("peer renegotiates LCP".into())]
    );
    let ups = |f: fn(&SessionAction) -> bool| lab.events.iter().filter(|(_, a)| f(a)).count();
    assert_eq!(ups(is_v4_up), 2, "{:?}", lab.events);
    assert_eq!(ups(is_v6_up), 2);
    assert_eq!(lab.count_sent(PROTO_PAP, 1), 2, "authenticated again");
    assert_eq!(lab.s.phase(), Phase::Network);
}

#[test]
fn chap_rechallenge_in_the_network_phase_is_answered() {
    let mut lab = Lab::new(config(), Some(AuthKind::ChapMd5));
    lab.start();
    lab.run_to(5);
    lab.ac.out.push(frame(
        PROTO_CHAP,
        0x43,
        Body::ChapChallenge {
            value: lab.ac.challenge.clone(),
            name: b"bras-1".to_vec(),
        },
    ));
    lab.run_to(10);
    let responses: Vec<u8> = lab
        .sent
        .iter()
        .filter(|(_, p)| p.protocol == PROTO_CHAP)
        .map(|(_, p)| p.identifier)
        .collect();
    assert_eq!(responses, [0x42, 0x43]);
    assert!(
        lab.find(|a| matches!(a, SessionAction::AuthFailed(_) | SessionAction::LinkDown(_)))
            .is_none()
    );
    assert_eq!(lab.s.phase(), Phase::Network);
}

#[test]
fn the_same_session_comes_up_again_on_a_new_pppoe_session() {
    let mut lab = Lab::new(config(), Some(AuthKind::ChapMd5));
    lab.start();
    lab.run_to(5);
    lab.s.handle(SessionInput::LowerDown, lab.now);
    lab.run_to(6);
    assert_eq!(lab.s.phase(), Phase::Dead);
    assert_eq!(
        lab.s.poll_timeout(),
        None,
        "no timer survives the lower layer"
    );
    // Reconnect: a fresh AC side, the same engine.
    lab.ac = Ac::new(Some(AuthKind::ChapMd5));
    lab.events.clear();
    lab.start();
    lab.run_to(7);
    assert!(
        lab.find(is_v4_up).is_some() && lab.find(is_v6_up).is_some(),
        "{:?}",
        lab.events
    );
    assert_eq!(lab.s.phase(), Phase::Network);
}

#[test]
fn status_shows_what_was_negotiated_and_never_the_password() {
    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.start();
    lab.run_to(1);
    let st = lab.s.status();
    assert_eq!((st.phase, st.lcp), ("network", "opened"));
    assert_eq!(
        (st.mru, st.peer_mru, st.auth),
        (Some(1492), Some(1492), Some("pap"))
    );
    let v4 = st.ipv4.clone().unwrap();
    assert_eq!(v4.state, "opened");
    assert_eq!(v4.local.as_deref(), Some("192.0.2.10"));
    assert_eq!(v4.peer.as_deref(), Some("10.0.0.1"));
    assert_eq!(v4.dns, ["198.51.100.1", "198.51.100.2"]);
    let v6 = st.ipv6.clone().unwrap();
    assert_eq!(v6.local.as_deref(), Some("fe80::211:22ff:fe33:4455"));
    assert_eq!(v6.peer.as_deref(), Some("fe80::200:5eff:fe00:5301"));
    let json = serde_json::to_string(&st).unwrap();
    assert!(!json.contains(PASSWORD), "{json}");

    let mut lab = Lab::new(config(), Some(AuthKind::Pap));
    lab.ac.password = "other";
    lab.ac.no_ipv6 = true;
    lab.start();
    lab.run_to(30);
    let st = lab.s.status();
    assert_eq!(st.phase, "dead");
    assert_eq!(
        st.auth_failure.as_deref(),
        Some(
            "PAP: the server refused the user name or password: \
             \"E=691 R=0 C=00 V=0 M=Authentication failure\""
        )
    );
    assert!(
        st.last_failure
            .unwrap()
            .starts_with("authentication failed: PAP")
    );
    let json = serde_json::to_string(&lab.s.status()).unwrap();
    assert!(!json.contains(PASSWORD), "{json}");
}

#[test]
fn status_counts_what_was_dropped_and_why() {
    let mut lab = Lab::new(config(), None);
    lab.ac.no_ipv6 = true;
    lab.start();
    lab.run_to(1);
    let t = lab.now;
    lab.s
        .handle(SessionInput::Frame(&[0xc0, 0x21, 1, 1, 0, 6, 1, 0]), t);
    lab.s
        .handle(SessionInput::Frame(&[0xc0, 0x23, 2, 1, 0, 4]), t);
    let st = lab.s.status();
    assert_eq!(
        st.dropped.get("lcp.option_too_short"),
        Some(&1),
        "{:?}",
        st.dropped
    );
    assert_eq!(st.dropped.get("auth.unexpected"), Some(&1));
    let v6 = st.ipv6.unwrap();
    assert_eq!(v6.state, "stopped");
    assert_eq!(v6.failure.as_deref(), Some("peer does not run IPV6CP"));
    assert_eq!(v6.local, None);
}

#[test]
fn crossed_acks_and_a_nak_once_open_restart_the_request() {
    let (mut l, t0) = lcp();
    let req = |out: Vec<Event>| {
        sent(out)
            .into_iter()
            .find(|p| p.code() == 1)
            .expect("a Configure-Request")
    };
    let ack_of = |p: &Packet| {
        let Body::ConfigureRequest(o) = &p.body else {
            panic!()
        };
        frame(PROTO_LCP, p.identifier, Body::ConfigureAck(o.clone()))
    };
    let first = req(drain(&mut l));
    l.handle(LcpInput::Frame(&ack_of(&first)), t0);
    assert_eq!(l.state(), State::AckRcvd);
    // RCA in Ack-Rcvd (RFC 1661 4.1 "crossed connection"): scr, Req-Sent.
    l.handle(LcpInput::Frame(&ack_of(&first)), t0);
    assert_eq!(l.state(), State::ReqSent);
    let second = req(drain(&mut l));
    assert_ne!(second.identifier, first.identifier);
    l.handle(LcpInput::Frame(&ack_of(&second)), t0);
    let peer = frame(
        PROTO_LCP,
        1,
        Body::ConfigureRequest(vec![ConfigOption::MagicNumber(9)]),
    );
    l.handle(LcpInput::Frame(&peer), t0);
    assert_eq!(l.state(), State::Opened);
    assert!(drain(&mut l).contains(&Event::Up));
    // RCN in Opened: tld, scr, Req-Sent.
    let nak = frame(
        PROTO_LCP,
        second.identifier,
        Body::ConfigureNak(vec![ConfigOption::Mru(1400)]),
    );
    l.handle(LcpInput::Frame(&nak), t0);
    let out = drain(&mut l);
    assert_eq!(out[0], Event::Down("peer renegotiates LCP".into()));
    assert_eq!(l.state(), State::ReqSent);
    let third = req(out);
    assert_eq!(
        third.body,
        Body::ConfigureRequest(vec![
            ConfigOption::Mru(1400),
            ConfigOption::MagicNumber(match &second.body {
                Body::ConfigureRequest(o) => match o[1] {
                    ConfigOption::MagicNumber(m) => m,
                    _ => panic!(),
                },
                _ => panic!(),
            })
        ])
    );
    assert_eq!(
        l.poll_timeout(),
        Some(t0 + secs(3)),
        "restart timer armed again"
    );
}

#[test]
fn sessions_come_up_through_heavy_frame_loss() {
    // 30 % of frames lost each way: retransmission on the restart timer
    // must still bring LCP, PAP and both NCPs up well within Max-Configure.
    let mut slowest = Duration::ZERO;
    for seed in 0..40 {
        let mut c = config();
        c.lcp.echo_interval = Duration::ZERO;
        let mut lab = Lab::new(c, Some(AuthKind::Pap));
        lab.loss = Some((Rng::new(seed), 30));
        lab.start();
        lab.run_to(60);
        let (t4, _) = lab
            .find(is_v4_up)
            .unwrap_or_else(|| panic!("seed {seed}: no IPv4 in 60 s: {:?}", lab.events));
        let (t6, _) = lab
            .find(is_v6_up)
            .unwrap_or_else(|| panic!("seed {seed}: no IPv6 in 60 s: {:?}", lab.events));
        slowest = slowest.max(*t4).max(*t6);
        assert_eq!(
            lab.count_sent(PROTO_LCP, 9),
            0,
            "echo_interval 0 disables echoes"
        );
    }
    assert!(
        slowest > Duration::ZERO,
        "the loss really cost retransmissions"
    );
}
