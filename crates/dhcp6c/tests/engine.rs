//! The client engine against scripted servers, in virtual time.
//!
//! Every test drives the real engine through its public API; the "server"
//! side is a few lines that build Advertise/Reply messages with the codec
//! from what the client actually sent. Time is `t0 + offset`, so hours of
//! protocol time take microseconds.

// Test helpers outside `#[test]` functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_dhcp6c::{
    Action, AddressMode, Client, ClientConfig, INFORM_RETRY, Input, LeaseUpdate, Refusal,
    SavedLease, State, UpdateReason,
};
use cpe_wire::dhcpv6::{
    DhcpOption, DomainName, Duid, IaAddress, IaNa, IaPd, IaPrefix, Message, MessageType,
    NtpSuboption, PdExclude, Status, StatusCode, code,
};
use ipnet::Ipv6Net;

const IAID_PD: u32 = 0x1111;
const IAID_NA: u32 = 0x2222;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn config() -> ClientConfig {
    ClientConfig {
        request_prefix: true,
        prefix_hint: 56,
        request_address: AddressMode::Never,
        rapid_commit: false,
        iaid_pd: IAID_PD,
        iaid_na: IAID_NA,
        extra_oro: Vec::new(),
    }
}

fn client_duid() -> Duid {
    Duid::link_layer(1, &[2, 0, 0, 0, 0, 1]).unwrap()
}

fn server(n: u8) -> Duid {
    Duid::link_layer(1, &[2, 0, 0, 0, 0xee, n]).unwrap()
}

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

/// The engine plus a record of everything it did.
struct Lab {
    client: Client,
    t0: Instant,
    now: Instant,
    sent: Vec<(Duration, Message)>,
    updates: Vec<LeaseUpdate>,
    released: usize,
    other_configs: usize,
    refusals: Vec<Refusal>,
}

impl Lab {
    fn new(config: ClientConfig) -> Self {
        Self::with_seed(config, 1)
    }

    fn with_seed(config: ClientConfig, seed: u64) -> Self {
        let t0 = Instant::now();
        Self {
            client: Client::new(config, client_duid(), seed),
            t0,
            now: t0,
            sent: Vec::new(),
            updates: Vec::new(),
            released: 0,
            other_configs: 0,
            refusals: Vec::new(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn record(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Transmit(bytes) => {
                    let m = Message::decode(&bytes).expect("the client sends valid messages");
                    self.sent.push((self.elapsed(), m));
                }
                Action::Update(u) => self.updates.push(u),
                Action::Released => self.released += 1,
                Action::OtherConfig => self.other_configs += 1,
                Action::Refused(r) => self.refusals.push(r),
            }
        }
    }

    fn event(&mut self, e: Input<'_>) {
        let actions = drive::feed(&mut self.client, e, self.now);
        self.record(actions);
    }

    /// Advances virtual time to `t0 + until`, ticking at every deadline.
    fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        let mut ticks = 0;
        while let Some(d) = self.client.poll_timeout() {
            if d > end {
                break;
            }
            self.now = self.now.max(d);
            let actions = drive::timeout(&mut self.client, self.now);
            self.record(actions);
            ticks += 1;
            assert!(ticks < 100_000, "engine keeps waking without progress");
        }
        self.now = end;
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.elapsed() + d;
        self.run_until(until);
    }

    fn deliver(&mut self, bytes: &[u8]) {
        self.event(Input::Packet(bytes));
    }

    fn last(&self) -> &Message {
        &self.sent.last().expect("something was sent").1
    }

    fn sent_of(&self, t: MessageType) -> Vec<(Duration, &Message)> {
        self.sent
            .iter()
            .filter(|(_, m)| m.msg_type == t)
            .map(|(d, m)| (*d, m))
            .collect()
    }

    /// Solicit (answered by rapid-commit-less Advertise + Reply) to Bound.
    fn bind(&mut self, ia: DhcpOption) {
        self.event(Input::Start);
        self.run_for(secs(1.0));
        let solicit = self.last().clone();
        assert_eq!(solicit.msg_type, MessageType::Solicit);
        self.deliver(&answer(
            &solicit,
            MessageType::Advertise,
            1,
            vec![pref(255), ia.clone()],
        ));
        let request = self.last().clone();
        assert_eq!(request.msg_type, MessageType::Request);
        self.deliver(&answer(&request, MessageType::Reply, 1, vec![ia, dns()]));
        assert_eq!(self.client.state(), State::Bound);
    }
}

fn pref(p: u8) -> DhcpOption {
    DhcpOption::Preference(p)
}

fn dns() -> DhcpOption {
    DhcpOption::DnsServers(vec!["2001:db8::53".parse().unwrap()])
}

fn ia_pd(t1: u32, t2: u32, prefixes: &[(&str, u32, u32)]) -> DhcpOption {
    DhcpOption::IaPd(IaPd {
        iaid: IAID_PD,
        t1,
        t2,
        options: prefixes
            .iter()
            .map(|(p, preferred, valid)| {
                let n = net(p);
                DhcpOption::IaPrefix(IaPrefix {
                    preferred: *preferred,
                    valid: *valid,
                    prefix_len: n.prefix_len(),
                    prefix: n.addr(),
                    options: vec![],
                })
            })
            .collect(),
    })
}

fn ia_pd_status(status: Status) -> DhcpOption {
    DhcpOption::IaPd(IaPd {
        iaid: IAID_PD,
        t1: 0,
        t2: 0,
        options: vec![DhcpOption::StatusCode(StatusCode {
            status,
            message: String::new(),
        })],
    })
}

/// The first IA Prefix of the first IA_PD of `m`.
fn first_ia_prefix(m: &Message) -> IaPrefix {
    m.ia_pds()
        .next()
        .unwrap()
        .prefixes()
        .next()
        .unwrap()
        .clone()
}

/// A server's answer to `to`: same transaction id, our Client ID echoed.
fn answer(to: &Message, t: MessageType, server_n: u8, extra: Vec<DhcpOption>) -> Vec<u8> {
    let mut m = Message::new(t, to.transaction_id);
    m.options.push(DhcpOption::ServerId(server(server_n)));
    m.options
        .push(DhcpOption::ClientId(to.client_id().unwrap().clone()));
    m.options.extend(extra);
    m.to_bytes().unwrap()
}

fn elapsed_of(m: &Message) -> u16 {
    m.options
        .iter()
        .find_map(|o| match o {
            DhcpOption::ElapsedTime(t) => Some(*t),
            _ => None,
        })
        .expect("every client message has Elapsed Time")
}

fn gaps(times: &[Duration]) -> Vec<f64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect()
}

#[test]
fn solicit_backs_off_to_sol_max_rt_with_rfc_jitter() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    assert_eq!(lab.client.state(), State::Soliciting);
    assert!(lab.sent.is_empty(), "SOL_MAX_DELAY: nothing at t=0");
    lab.run_until(secs(6.0 * 3600.0));
    let solicits = lab.sent_of(MessageType::Solicit);
    let times: Vec<Duration> = solicits.iter().map(|s| s.0).collect();
    assert!(times[0] <= secs(1.0), "first Solicit within SOL_MAX_DELAY");
    let g = gaps(&times);
    assert!(
        g[0] > 1.0 && g[0] <= 1.1,
        "first RT strictly above IRT: {}",
        g[0]
    );
    for w in g.windows(2) {
        let (prev, rt) = (w[0], w[1]);
        let doubled = rt >= 1.9 * prev - 1e-6 && rt <= 2.1 * prev + 1e-6;
        let capped = (3240.0..=3960.0).contains(&rt);
        assert!(doubled || capped, "{prev} -> {rt}");
    }
    assert!(
        g.iter()
            .rev()
            .take(3)
            .all(|rt| (3240.0..=3960.0).contains(rt))
    );
    // Same transaction throughout; Elapsed Time counts up and saturates.
    let xid = solicits[0].1.transaction_id;
    assert!(solicits.iter().all(|s| s.1.transaction_id == xid));
    assert_eq!(elapsed_of(solicits[0].1), 0);
    assert_eq!(elapsed_of(solicits.last().unwrap().1), 0xffff);
    let e1 = elapsed_of(solicits[1].1);
    assert_eq!(
        u64::from(e1),
        ((times[1] - times[0]).as_millis() / 10) as u64
    );
    assert_eq!(
        lab.client.counters().retransmissions as usize,
        solicits.len() - 1
    );
    // What a Solicit carries.
    let s = solicits[0].1;
    assert_eq!(s.client_id(), Some(&client_duid()));
    assert!(s.server_id().is_none());
    assert!(!s.has_rapid_commit());
    let ia = s.ia_pds().next().unwrap();
    assert_eq!(ia.iaid, IAID_PD);
    let hint = ia.prefixes().next().unwrap();
    assert_eq!((hint.prefix, hint.prefix_len), (Ipv6Addr::UNSPECIFIED, 56));
    assert_eq!(s.ia_nas().count(), 0);
    assert!(s.options.contains(&DhcpOption::Oro(vec![
        code::DNS_SERVERS,
        code::DOMAIN_LIST,
        code::NTP_SERVER,
        code::SOL_MAX_RT,
        code::PD_EXCLUDE
    ])));
}

#[test]
fn server_sol_max_rt_caps_backoff_and_bad_values_are_ignored() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    // Out of bounds (60..=86400): ignored.
    let bad = answer(
        &s,
        MessageType::Advertise,
        1,
        vec![DhcpOption::SolMaxRt(10)],
    );
    lab.deliver(&bad);
    assert_eq!(lab.client.sol_max_rt(), secs(3600.0));
    // An Advertise with no prefix (NoPrefixAvail) is ignored, but its
    // SOL_MAX_RT is honoured (RFC 8415 18.2.9).
    let adv = answer(
        &s,
        MessageType::Advertise,
        1,
        vec![
            ia_pd_status(Status::NoPrefixAvail),
            DhcpOption::SolMaxRt(120),
        ],
    );
    lab.deliver(&adv);
    assert_eq!(lab.client.sol_max_rt(), secs(120.0));
    assert_eq!(lab.client.state(), State::Soliciting);
    // Both Advertises offered nothing, so neither was used.
    assert_eq!(lab.client.counters().dropped["advertise_without_leases"], 2);
    lab.run_until(secs(3600.0));
    let times: Vec<Duration> = lab
        .sent_of(MessageType::Solicit)
        .iter()
        .map(|s| s.0)
        .collect();
    let g = gaps(&times);
    assert!(
        g.iter().all(|rt| *rt <= 132.0),
        "capped at 120 s + 10%: {g:?}"
    );
    assert!(g.iter().rev().take(5).all(|rt| *rt >= 108.0));
}

#[test]
fn advertises_are_collected_for_the_first_rt_and_the_best_is_requested() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    let first_rt_ends = lab.client.poll_timeout().unwrap();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![pref(10), ia_pd(0, 0, &[("2001:db8:1::/56", 100, 200)])],
    ));
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        2,
        vec![pref(50), ia_pd(0, 0, &[("2001:db8:2::/56", 100, 200)])],
    ));
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        3,
        vec![pref(50), ia_pd(0, 0, &[("2001:db8:3::/56", 100, 200)])],
    ));
    assert_eq!(lab.client.state(), State::Soliciting, "still collecting");
    assert_eq!(lab.sent.len(), 1);
    lab.run_until(first_rt_ends - lab.t0);
    let r = lab.last();
    assert_eq!(r.msg_type, MessageType::Request);
    assert_eq!(
        r.server_id(),
        Some(&server(2)),
        "highest preference, first of equals"
    );
    assert_ne!(r.transaction_id, s.transaction_id, "new exchange, new id");
    assert_eq!(elapsed_of(r), 0);
    let p = r.ia_pds().next().unwrap().prefixes().next().unwrap();
    assert_eq!(p.prefix, "2001:db8:2::".parse::<Ipv6Addr>().unwrap());
    assert!(!r.has_rapid_commit());
}

#[test]
fn preference_255_requests_at_once_and_late_advertise_is_taken_immediately() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        4,
        vec![pref(255), ia_pd(0, 0, &[("2001:db8:4::/56", 100, 200)])],
    ));
    assert_eq!(lab.client.state(), State::Requesting);
    assert_eq!(lab.last().server_id(), Some(&server(4)));

    // No Advertise during the first RT: the first one after it is taken.
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(2.5));
    assert_eq!(lab.sent_of(MessageType::Solicit).len(), 2);
    let s = lab.last().clone();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        5,
        vec![ia_pd(0, 0, &[("2001:db8:5::/56", 100, 200)])],
    ));
    assert_eq!(lab.client.state(), State::Requesting);
    assert_eq!(lab.last().server_id(), Some(&server(5)));
}

#[test]
fn request_gives_up_after_req_max_rc_and_solicits_again() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![pref(255), ia_pd(0, 0, &[("2001:db8:1::/56", 100, 200)])],
    ));
    let start = lab.elapsed();
    lab.run_for(secs(400.0));
    let requests = lab.sent_of(MessageType::Request);
    assert_eq!(requests.len(), 10, "REQ_MAX_RC");
    let g = gaps(&requests.iter().map(|r| r.0).collect::<Vec<_>>());
    assert!(
        g.iter().all(|rt| *rt <= 33.0),
        "REQ_MAX_RT 30 s + 10%: {g:?}"
    );
    let solicits_after: Vec<_> = lab
        .sent_of(MessageType::Solicit)
        .into_iter()
        .filter(|(t, _)| *t > start)
        .collect();
    assert!(!solicits_after.is_empty(), "back to Solicit");
    assert_ne!(solicits_after[0].1.transaction_id, s.transaction_id);
    assert!(lab.updates.is_empty());
}

#[test]
fn rapid_commit_binds_in_two_messages() {
    let mut cfg = config();
    cfg.rapid_commit = true;
    let mut lab = Lab::new(cfg);
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    assert!(s.has_rapid_commit());
    let reply = answer(
        &s,
        MessageType::Reply,
        1,
        vec![
            DhcpOption::RapidCommit,
            ia_pd(1800, 2880, &[("2001:db8:1200::/56", 3600, 7200)]),
            dns(),
            DhcpOption::DomainList(vec![
                cpe_wire::dhcpv6::DomainName::from_dotted("isp.example").unwrap(),
            ]),
        ],
    );
    lab.deliver(&reply);
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(lab.sent.len(), 1, "no Request");
    let u = &lab.updates[0];
    assert_eq!(u.reason, UpdateReason::Bound);
    assert_eq!(u.prefixes[0].prefix, net("2001:db8:1200::/56"));
    assert_eq!(u.prefixes[0].valid_until, Some(lab.now + secs(7200.0)));
    assert_eq!(u.prefixes[0].preferred_until, Some(lab.now + secs(3600.0)));
    let lease = lab.client.lease().unwrap();
    assert_eq!(lease.t1, Some(lab.now + secs(1800.0)));
    assert_eq!(lease.t2, Some(lab.now + secs(2880.0)));
    assert_eq!(lease.server_id, server(1));
    assert_eq!(
        lease.dns_servers,
        vec!["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(lease.domains[0].to_string(), "isp.example");
}

/// With DS-Lite configured the ORO asks for AFTR-Name (RFC 6334 3), and
/// the name in the Reply is the client's until a Reply without it.
#[test]
fn aftr_name_is_requested_and_kept_from_the_reply() {
    let mut cfg = config();
    cfg.extra_oro = cpe_dhcp6c::s46_oro(cpe_config::S46Mode::DsLite);
    let mut lab = Lab::new(cfg);
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let solicit = lab.last().clone();
    let oro = solicit
        .options
        .iter()
        .find_map(|o| match o {
            DhcpOption::Oro(codes) => Some(codes.clone()),
            _ => None,
        })
        .unwrap();
    assert!(oro.contains(&code::AFTR_NAME), "{oro:?}");
    assert!(!oro.contains(&code::S46_CONT_MAPE), "{oro:?}");
    let aftr = DomainName::from_dotted("aftr.isp.example").unwrap();
    let ia = ia_pd(1800, 2880, &[("2001:db8:1200::/56", 3600, 7200)]);
    lab.deliver(&answer(
        &solicit,
        MessageType::Advertise,
        1,
        vec![pref(255), ia.clone()],
    ));
    let request = lab.last().clone();
    assert_eq!(request.msg_type, MessageType::Request);
    lab.deliver(&answer(
        &request,
        MessageType::Reply,
        1,
        vec![ia, dns(), DhcpOption::AftrName(aftr)],
    ));
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(lab.client.aftr_name(), Some("aftr.isp.example"));
}

/// With MAP-E configured the Reply's MAP-E container (option 94, RFC
/// 7598) is kept as the client's offer: the rule with its PSID offset from
/// option 93 (RFC 7597 appendix A example 1's BMR), and the BR.
#[test]
fn map_e_container_is_kept_from_the_reply() {
    use cpe_wire::dhcpv6::{S46PortParams, S46Rule};
    let mut cfg = config();
    cfg.extra_oro = cpe_dhcp6c::s46_oro(cpe_config::S46Mode::MapE);
    let mut lab = Lab::new(cfg);
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let solicit = lab.last().clone();
    let ia = ia_pd(1800, 2880, &[("2001:db8:12:3400::/56", 3600, 7200)]);
    lab.deliver(&answer(
        &solicit,
        MessageType::Advertise,
        1,
        vec![pref(255), ia.clone()],
    ));
    let request = lab.last().clone();
    let br: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let rule = S46Rule {
        flags: 1,
        ea_len: 16,
        prefix4_len: 24,
        ipv4_prefix: std::net::Ipv4Addr::new(192, 0, 2, 0),
        prefix6_len: 40,
        ipv6_prefix: "2001:db8::".parse().unwrap(),
        options: vec![DhcpOption::S46PortParams(S46PortParams {
            offset: 4,
            psid_len: 0,
            psid: 0,
        })],
    };
    lab.deliver(&answer(
        &request,
        MessageType::Reply,
        1,
        vec![
            ia,
            dns(),
            DhcpOption::S46ContMapE(vec![DhcpOption::S46Rule(rule), DhcpOption::S46Br(br)]),
        ],
    ));
    assert_eq!(lab.client.state(), State::Bound);
    let offer = lab.client.map_e().unwrap();
    assert_eq!(offer.br, vec![br]);
    assert_eq!(offer.rules.len(), 1);
    let r = offer.rules[0];
    assert_eq!(r.ipv6_prefix, "2001:db8::/40".parse::<Ipv6Net>().unwrap());
    assert_eq!((r.ipv4_prefix.octets(), r.ipv4_len), ([192, 0, 2, 0], 24));
    assert_eq!((r.ea_bits, r.psid_offset, r.fmr), (16, 4, true));
}

#[test]
fn s46_oro_follows_the_mode() {
    use cpe_config::S46Mode;
    use cpe_dhcp6c::s46_oro;
    assert!(s46_oro(S46Mode::Off).is_empty());
    assert_eq!(s46_oro(S46Mode::MapE), vec![code::S46_CONT_MAPE]);
    assert_eq!(
        s46_oro(S46Mode::Auto),
        vec![code::AFTR_NAME, code::S46_CONT_MAPE]
    );
}

#[test]
fn reply_to_solicit_without_rapid_commit_option_is_dropped() {
    let mut cfg = config();
    cfg.rapid_commit = true;
    let mut lab = Lab::new(cfg);
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    lab.deliver(&answer(
        &s,
        MessageType::Reply,
        1,
        vec![ia_pd(0, 0, &[("2001:db8:1::/56", 100, 200)])],
    ));
    assert_eq!(lab.client.state(), State::Soliciting);
    assert_eq!(
        lab.client.counters().dropped["reply_without_rapid_commit"],
        1
    );
}

#[test]
fn renew_unanswered_then_rebind_then_expiry_withdraws_prefix() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    let bound_at = lab.elapsed();
    lab.run_for(secs(99.0));
    assert_eq!(lab.client.state(), State::Bound);
    lab.run_for(secs(1.0));
    assert_eq!(lab.client.state(), State::Renewing);
    let renews = lab.sent_of(MessageType::Renew);
    assert_eq!(renews.len(), 1);
    assert_eq!(renews[0].0, bound_at + secs(100.0), "Renew at T1");
    assert_eq!(renews[0].1.server_id(), Some(&server(1)));
    let held = first_ia_prefix(renews[0].1);
    assert_eq!((held.prefix_len, held.valid, held.preferred), (56, 0, 0));

    lab.run_for(secs(60.0));
    assert_eq!(lab.client.state(), State::Rebinding, "Rebind at T2");
    let renews = lab.sent_of(MessageType::Renew);
    // REN_TIMEOUT 10 s doubling: ~0, 10, 30 s after T1, then T2 at 60 s.
    assert_eq!(
        renews.len(),
        3,
        "{:?}",
        renews.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let rebinds = lab.sent_of(MessageType::Rebind);
    assert_eq!(rebinds[0].0, bound_at + secs(160.0));
    assert!(
        rebinds[0].1.server_id().is_none(),
        "Rebind goes to any server"
    );
    assert!(
        lab.updates
            .iter()
            .all(|u| u.reason != UpdateReason::Expired)
    );

    lab.run_until(bound_at + secs(300.0));
    let expired = lab.updates.last().unwrap();
    assert_eq!(expired.reason, UpdateReason::Expired);
    assert!(expired.prefixes.is_empty());
    assert_eq!(expired.previous_prefixes[0].prefix, net("2001:db8:1::/56"));
    assert!(lab.client.lease().is_none());
    assert_eq!(lab.client.state(), State::Soliciting);
    let rebinds = lab.sent_of(MessageType::Rebind);
    assert!(rebinds.iter().all(|r| r.0 < bound_at + secs(300.0)));
    // REB_TIMEOUT 10 s doubling within 140 s: ~0, 10, 30, 70 s.
    assert_eq!(rebinds.len(), 4);
    lab.run_for(secs(2.0));
    assert_eq!(lab.last().msg_type, MessageType::Solicit);
}

#[test]
fn renew_reply_extends_lifetimes() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    lab.run_for(secs(100.0));
    let renew = lab.last().clone();
    lab.deliver(&answer(
        &renew,
        MessageType::Reply,
        1,
        vec![ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)])],
    ));
    assert_eq!(lab.client.state(), State::Bound);
    let u = lab.updates.last().unwrap();
    assert_eq!(u.reason, UpdateReason::Renewed);
    assert!(u.previous_prefixes.is_empty());
    assert_eq!(u.prefixes[0].valid_until, Some(lab.now + secs(300.0)));
    lab.run_for(secs(99.0));
    assert_eq!(lab.client.state(), State::Bound);
}

#[test]
fn prefix_change_at_renew_is_one_update_with_old_and_new() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    let old_valid = lab.client.lease().unwrap().prefixes[0].valid_until;
    lab.run_for(secs(100.0));
    let renew = lab.last().clone();
    let n = lab.updates.len();
    // Kea's way: the old prefix with lifetimes 0 next to the new one.
    lab.deliver(&answer(
        &renew,
        MessageType::Reply,
        1,
        vec![ia_pd(
            100,
            160,
            &[("2001:db8:1::/56", 0, 0), ("2001:db8:2::/56", 200, 300)],
        )],
    ));
    assert_eq!(lab.updates.len(), n + 1, "exactly one event");
    let u = lab.updates.last().unwrap();
    assert_eq!(u.prefixes.len(), 1);
    assert_eq!(u.prefixes[0].prefix, net("2001:db8:2::/56"));
    assert_eq!(u.previous_prefixes.len(), 1);
    assert_eq!(u.previous_prefixes[0].prefix, net("2001:db8:1::/56"));
    assert_eq!(
        u.previous_prefixes[0].valid_until, old_valid,
        "remaining lifetime as hosts hold it"
    );

    // A server that simply stops mentioning the old prefix: same outcome.
    lab.run_for(secs(100.0));
    let renew = lab.last().clone();
    assert_eq!(renew.msg_type, MessageType::Renew);
    lab.deliver(&answer(
        &renew,
        MessageType::Reply,
        1,
        vec![ia_pd(100, 160, &[("2001:db8:3::/56", 200, 300)])],
    ));
    let u = lab.updates.last().unwrap();
    assert_eq!(
        u.prefixes.iter().map(|p| p.prefix).collect::<Vec<_>>(),
        vec![net("2001:db8:3::/56")]
    );
    assert_eq!(
        u.previous_prefixes
            .iter()
            .map(|p| p.prefix)
            .collect::<Vec<_>>(),
        vec![net("2001:db8:2::/56")]
    );
}

#[test]
fn no_binding_at_renew_requests_from_that_server_and_reports_the_change_once() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    lab.run_for(secs(100.0));
    let renew = lab.last().clone();
    // The server restarted and lost its leases.
    lab.deliver(&answer(
        &renew,
        MessageType::Reply,
        1,
        vec![ia_pd_status(Status::NoBinding)],
    ));
    assert_eq!(lab.client.state(), State::Requesting);
    let req = lab.last().clone();
    assert_eq!(req.msg_type, MessageType::Request);
    assert_eq!(req.server_id(), Some(&server(1)));
    assert_eq!(
        lab.client.lease().unwrap().prefixes.len(),
        1,
        "kept meanwhile"
    );
    let n = lab.updates.len();
    lab.deliver(&answer(
        &req,
        MessageType::Reply,
        1,
        vec![ia_pd(100, 160, &[("2001:db8:9::/56", 200, 300)])],
    ));
    assert_eq!(lab.updates.len(), n + 1);
    let u = lab.updates.last().unwrap();
    assert_eq!(u.prefixes[0].prefix, net("2001:db8:9::/56"));
    assert_eq!(u.previous_prefixes[0].prefix, net("2001:db8:1::/56"));
}

#[test]
fn zero_t1_t2_are_derived_from_preferred_lifetime() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(0, 0, &[("2001:db8:1::/56", 1000, 2000)]));
    let lease = lab.client.lease().unwrap();
    assert_eq!(lease.t1, Some(lab.now + secs(500.0)));
    assert_eq!(lease.t2, Some(lab.now + secs(800.0)));
}

#[test]
fn t1_greater_than_t2_discards_the_ia() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![pref(255), ia_pd(300, 200, &[("2001:db8:1::/56", 500, 600)])],
    ));
    assert_eq!(lab.client.state(), State::Soliciting);
    assert_eq!(lab.client.counters().dropped["advertise_without_leases"], 1);
}

#[test]
fn restart_resumes_persisted_lease_with_a_verifying_rebind_and_no_release() {
    // Life before the restart.
    let mut before = Lab::new(config());
    before.bind(ia_pd(1800, 2880, &[("2001:db8:1::/56", 3600, 7200)]));
    let saved = SavedLease::capture(before.client.lease().unwrap(), before.now, 1_000_000);
    let json = serde_json::to_string(&saved).unwrap();

    // 50 s later, a new process.
    let mut lab = Lab::with_seed(config(), 99);
    let loaded: SavedLease = serde_json::from_str(&json).unwrap();
    let lease = loaded.restore(lab.now, 1_000_050).unwrap();
    lab.event(Input::Restore(lease));
    let u = &lab.updates[0];
    assert_eq!(u.reason, UpdateReason::Restored);
    assert_eq!(u.prefixes[0].prefix, net("2001:db8:1::/56"));
    assert_eq!(u.prefixes[0].valid_until, Some(lab.now + secs(7150.0)));
    assert_eq!(lab.client.lease().unwrap().t1, Some(lab.now + secs(1750.0)));

    lab.event(Input::Start);
    assert_eq!(lab.client.state(), State::Rebinding);
    lab.run_for(secs(30.0));
    let rebinds = lab.sent_of(MessageType::Rebind);
    assert!(rebinds[0].0 <= secs(1.0), "CNF_MAX_DELAY");
    // CNF timers: ~1, 2, 4, 4 s apart, all within CNF_MAX_RD 10 s.
    let g = gaps(&rebinds.iter().map(|r| r.0).collect::<Vec<_>>());
    assert!(g[0] > 0.89 && g[0] < 1.11, "{g:?}");
    assert!(g.iter().all(|rt| *rt <= 4.4), "{g:?}");
    assert!(rebinds.last().unwrap().0 - rebinds[0].0 < secs(10.0));
    let p = rebinds[0]
        .1
        .ia_pds()
        .next()
        .unwrap()
        .prefixes()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        (p.prefix, p.prefix_len),
        ("2001:db8:1::".parse().unwrap(), 56)
    );
    // No answer: keep the lease with last known lifetimes, no Solicit, no Release.
    assert_eq!(lab.client.state(), State::Bound);
    assert!(lab.sent_of(MessageType::Solicit).is_empty());
    assert!(lab.sent_of(MessageType::Release).is_empty());
    assert_eq!(lab.updates.len(), 1);
    // T1 from the saved lease still drives the Renew.
    lab.run_until(secs(1750.0));
    assert_eq!(lab.last().msg_type, MessageType::Renew);
}

#[test]
fn restart_rebind_answered_with_a_new_prefix_reports_old_and_new() {
    let mut before = Lab::new(config());
    before.bind(ia_pd(1800, 2880, &[("2001:db8:1::/56", 3600, 7200)]));
    let saved = SavedLease::capture(before.client.lease().unwrap(), before.now, 500);
    let mut lab = Lab::new(config());
    lab.event(Input::Restore(saved.restore(lab.now, 500).unwrap()));
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let rebind = lab.last().clone();
    assert_eq!(rebind.msg_type, MessageType::Rebind);
    lab.deliver(&answer(
        &rebind,
        MessageType::Reply,
        7,
        vec![ia_pd(1800, 2880, &[("2001:db8:77::/56", 3600, 7200)])],
    ));
    let u = lab.updates.last().unwrap();
    assert_eq!(u.reason, UpdateReason::Rebound);
    assert_eq!(u.prefixes[0].prefix, net("2001:db8:77::/56"));
    assert_eq!(u.previous_prefixes[0].prefix, net("2001:db8:1::/56"));
    assert_eq!(
        lab.client.lease().unwrap().server_id,
        server(7),
        "Rebind may change server"
    );
}

#[test]
fn pause_and_start_never_release() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    lab.event(Input::Pause);
    assert_eq!(lab.client.state(), State::Idle);
    lab.run_for(secs(50.0));
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    assert_eq!(lab.last().msg_type, MessageType::Rebind);
    assert!(lab.sent_of(MessageType::Release).is_empty());
    assert_eq!(lab.released, 0);
}

#[test]
fn teardown_releases_with_rel_max_rc_and_withdraws_at_once() {
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    lab.event(Input::Teardown);
    let u = lab.updates.last().unwrap();
    assert_eq!(u.reason, UpdateReason::Released);
    assert!(u.prefixes.is_empty());
    assert_eq!(u.previous_prefixes[0].prefix, net("2001:db8:1::/56"));
    let rel = lab.last().clone();
    assert_eq!(rel.msg_type, MessageType::Release);
    assert_eq!(rel.server_id(), Some(&server(1)));
    assert_eq!(rel.ia_pds().next().unwrap().prefixes().count(), 1);
    assert_eq!(lab.client.state(), State::Releasing);
    lab.run_for(secs(60.0));
    assert_eq!(lab.sent_of(MessageType::Release).len(), 4, "REL_MAX_RC");
    assert_eq!(lab.released, 1);
    assert_eq!(lab.client.state(), State::Idle);

    // Answered Release ends at once.
    let mut lab = Lab::new(config());
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    lab.event(Input::Teardown);
    let rel = lab.last().clone();
    lab.deliver(&answer(&rel, MessageType::Reply, 1, vec![]));
    assert_eq!(lab.released, 1);
    assert_eq!(lab.sent_of(MessageType::Release).len(), 1);
    assert_eq!(lab.client.poll_timeout(), None);
}

/// RFC 7084 WPD-8 / RFC 6603: Prefix Exclude is asked for in every ORO
/// that goes with an IA_PD, the excluded prefix of a Reply is kept with the
/// lease (and an option that cannot apply to its IA Prefix is ignored and
/// counted), and a Release names it again (6.1).
#[test]
fn prefix_exclude_is_requested_kept_with_the_lease_and_named_in_release() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    assert!(
        oro_of(lab.last()).contains(&code::PD_EXCLUDE),
        "Solicit ORO"
    );

    let delegated = net("2001:db8:1200::/56");
    let link = net("2001:db8:1200::/64");
    let exclude = |x: Ipv6Net| {
        DhcpOption::PdExclude(
            PdExclude::new(
                (delegated.network(), delegated.prefix_len()),
                (x.network(), x.prefix_len()),
            )
            .unwrap(),
        )
    };
    let bad = DhcpOption::PdExclude(PdExclude {
        prefix_len: 48,
        subnet_id: vec![0],
    });
    // The /56 with these options in its IA Prefix.
    let pd = |options| {
        DhcpOption::IaPd(IaPd {
            iaid: IAID_PD,
            t1: 100,
            t2: 160,
            options: vec![DhcpOption::IaPrefix(IaPrefix {
                preferred: 200,
                valid: 300,
                prefix_len: 56,
                prefix: delegated.network(),
                options,
            })],
        })
    };
    lab.bind(pd(vec![exclude(link), bad]));
    let lease = lab.client.lease().unwrap();
    assert_eq!(lease.prefixes[0].prefix, delegated);
    assert_eq!(lease.excluded, vec![link]);
    assert_eq!(
        lab.client.counters().malformed["pd_exclude_bad_prefix_length"],
        1
    );
    let request = lab.sent_of(MessageType::Request)[0].1.clone();
    assert!(oro_of(&request).contains(&code::PD_EXCLUDE), "Request ORO");

    // A Renew asks again; what its Reply excludes replaces what was
    // excluded (RFC 6603 4.2: every excluded prefix is named in its IA
    // Prefix, each time).
    lab.run_for(secs(101.0));
    let renew = lab.last().clone();
    assert_eq!(renew.msg_type, MessageType::Renew);
    assert!(oro_of(&renew).contains(&code::PD_EXCLUDE), "Renew ORO");
    lab.deliver(&answer(
        &renew,
        MessageType::Reply,
        1,
        vec![pd(vec![exclude(net("2001:db8:1200:ff::/64"))])],
    ));
    assert_eq!(
        lab.client.lease().unwrap().excluded,
        vec![net("2001:db8:1200:ff::/64")]
    );

    lab.event(Input::Teardown);
    let rel = lab.last().clone();
    assert_eq!(rel.msg_type, MessageType::Release);
    let p = first_ia_prefix(&rel);
    let named: Vec<_> = p.excluded().collect();
    assert_eq!(
        named,
        vec![Ok(("2001:db8:1200:ff::".parse().unwrap(), 64))],
        "Release names the excluded prefix"
    );
}

#[test]
fn ia_na_follows_ra_managed_flag_in_auto_mode() {
    let mut cfg = config();
    cfg.request_address = AddressMode::Auto;
    let mut lab = Lab::new(cfg.clone());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    assert_eq!(lab.last().ia_nas().count(), 0);

    let mut lab = Lab::new(cfg);
    lab.event(Input::RaFlags {
        managed: true,
        other: true,
    });
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    assert_eq!(s.ia_nas().next().unwrap().iaid, IAID_NA);
    let na = DhcpOption::IaNa(IaNa {
        iaid: IAID_NA,
        t1: 0,
        t2: 0,
        options: vec![DhcpOption::IaAddr(IaAddress {
            addr: "2001:db8::abcd".parse().unwrap(),
            preferred: 1000,
            valid: 2000,
            options: vec![],
        })],
    });
    let pd = ia_pd(0, 0, &[("2001:db8:1::/56", 3000, 4000)]);
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![pref(255), pd.clone(), na.clone()],
    ));
    let req = lab.last().clone();
    assert_eq!(req.ia_nas().next().unwrap().addresses().count(), 1);
    lab.deliver(&answer(&req, MessageType::Reply, 1, vec![pd, na]));
    let lease = lab.client.lease().unwrap();
    assert_eq!(
        lease.addresses[0].address,
        "2001:db8::abcd".parse::<Ipv6Addr>().unwrap()
    );
    // T1 = 0.5 x the shortest preferred lifetime over both IAs.
    assert_eq!(lease.t1, Some(lab.now + secs(500.0)));
}

#[test]
fn malformed_and_unexpected_messages_are_counted_and_change_nothing() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    let good = answer(
        &s,
        MessageType::Advertise,
        1,
        vec![pref(255), ia_pd(0, 0, &[("2001:db8:1::/56", 100, 200)])],
    );

    lab.deliver(&[2, 0, 0]);
    lab.deliver(&good[..good.len() - 3]);
    lab.deliver(&[12, 0, 0, 0]);
    let mut wrong_xid = good.clone();
    wrong_xid[3] ^= 0xff;
    lab.deliver(&wrong_xid);
    // No Server ID.
    let mut m = Message::decode(&good).unwrap();
    m.options.retain(|o| !matches!(o, DhcpOption::ServerId(_)));
    lab.deliver(&m.to_bytes().unwrap());
    // Someone else's Client ID.
    let mut m = Message::decode(&good).unwrap();
    for o in &mut m.options {
        if let DhcpOption::ClientId(d) = o {
            *d = server(9);
        }
    }
    lab.deliver(&m.to_bytes().unwrap());
    // Two Client IDs.
    let mut m = Message::decode(&good).unwrap();
    m.options.push(DhcpOption::ClientId(client_duid()));
    lab.deliver(&m.to_bytes().unwrap());
    // A Solicit (not a server message).
    let mut m = Message::decode(&good).unwrap();
    m.msg_type = MessageType::Solicit;
    lab.deliver(&m.to_bytes().unwrap());

    assert_eq!(lab.client.state(), State::Soliciting);
    assert_eq!(lab.sent.len(), 1, "nothing sent in response");
    let c = lab.client.counters();
    assert_eq!(c.received, 8);
    assert_eq!(c.malformed["too_short"], 1);
    assert_eq!(c.malformed["option_overrun"], 1);
    assert_eq!(c.malformed["relay_message"], 1);
    assert_eq!(c.dropped["wrong_transaction_id"], 1);
    assert_eq!(c.dropped["bad_server_id"], 1);
    assert_eq!(c.dropped["bad_client_id"], 2);
    assert_eq!(c.dropped["unexpected_type"], 1);
    assert_eq!(c.total_dropped(), 8);

    // And the good one still works afterwards.
    lab.deliver(&good);
    assert_eq!(lab.client.state(), State::Requesting);
    // A Reply from another server to our Request is not accepted.
    let req = lab.last().clone();
    lab.deliver(&answer(
        &req,
        MessageType::Reply,
        2,
        vec![ia_pd(0, 0, &[("2001:db8:1::/56", 100, 200)])],
    ));
    assert_eq!(lab.client.counters().dropped["wrong_server"], 1);
    assert_eq!(lab.client.state(), State::Requesting);
}

#[test]
fn nothing_received_while_idle_or_bound_is_acted_on() {
    let mut lab = Lab::new(config());
    let stray = {
        let m = Message::new(MessageType::Reply, cpe_wire::dhcpv6::TransactionId::new(5));
        m.to_bytes().unwrap()
    };
    lab.deliver(&stray);
    assert_eq!(lab.client.counters().dropped["no_exchange"], 1);
    lab.bind(ia_pd(100, 160, &[("2001:db8:1::/56", 200, 300)]));
    let req = lab.sent_of(MessageType::Request)[0].1.clone();
    lab.deliver(&answer(
        &req,
        MessageType::Reply,
        1,
        vec![ia_pd(100, 160, &[("2001:db8:5::/56", 200, 300)])],
    ));
    assert_eq!(lab.client.counters().dropped["no_exchange"], 2);
    assert_eq!(
        lab.client.lease().unwrap().prefixes[0].prefix,
        net("2001:db8:1::/56")
    );
}

// ------------------------------------------------ stateless fallback

fn top_status(status: Status, text: &str) -> DhcpOption {
    DhcpOption::StatusCode(StatusCode {
        status,
        message: text.to_string(),
    })
}

fn last_ir(lab: &Lab) -> Message {
    lab.sent_of(MessageType::InformationRequest)
        .last()
        .expect("an Information-request within INF_MAX_DELAY")
        .1
        .clone()
}

fn oro_of(m: &Message) -> Vec<u16> {
    m.options
        .iter()
        .find_map(|o| match o {
            DhcpOption::Oro(v) => Some(v.clone()),
            _ => None,
        })
        .expect("an ORO")
}

/// A stateless-only server (dnsmasq with a `static` range answers every
/// Solicit with NoAddrsAvail): the client reports the refusal once, learns
/// DNS by Information-request, and keeps soliciting for a prefix.
#[test]
fn refused_solicit_falls_back_to_information_request_and_keeps_soliciting() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let solicit = lab.last().clone();
    assert_eq!(solicit.msg_type, MessageType::Solicit);
    lab.deliver(&answer(
        &solicit,
        MessageType::Advertise,
        1,
        vec![top_status(Status::NoAddrsAvail, "no addresses available")],
    ));
    assert_eq!(lab.refusals.len(), 1, "the refusal is reported");
    let r = &lab.refusals[0];
    assert_eq!(
        (r.scope, r.status.status),
        ("message", Status::NoAddrsAvail)
    );
    assert_eq!(r.status.message, "no addresses available");
    assert_eq!(lab.client.state(), State::Soliciting);

    // INF_MAX_DELAY: the Information-request goes out within 1 s.
    lab.run_for(secs(1.0));
    let ir = last_ir(&lab);
    assert_eq!(ir.msg_type, MessageType::InformationRequest);
    assert_eq!(
        ir.ia_pds().count() + ir.ia_nas().count(),
        0,
        "no IA in an Information-request"
    );
    let oro = oro_of(&ir);
    for c in [
        code::DNS_SERVERS,
        code::DOMAIN_LIST,
        code::NTP_SERVER,
        code::INFORMATION_REFRESH_TIME,
        code::INF_MAX_RT,
    ] {
        assert!(oro.contains(&c), "ORO asks for option {c}");
    }
    assert!(
        !oro.contains(&code::SOL_MAX_RT),
        "21.25: INF_MAX_RT, not SOL_MAX_RT"
    );

    lab.deliver(&answer(
        &ir,
        MessageType::Reply,
        1,
        vec![dns(), DhcpOption::InformationRefreshTime(900)],
    ));
    assert_eq!(lab.other_configs, 1);
    assert_eq!(
        lab.client.dns_servers(),
        &["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(
        lab.client.state(),
        State::Soliciting,
        "back to looking for a prefix"
    );

    // The Solicit goes on with its backoff; the same refusal again is not
    // reported again and starts no second Information-request.
    lab.run_for(secs(10.0));
    let solicits = lab.sent_of(MessageType::Solicit);
    assert!(solicits.len() >= 2, "soliciting continues: {solicits:?}");
    let s = solicits.last().unwrap().1.clone();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![top_status(Status::NoAddrsAvail, "no addresses available")],
    ));
    assert_eq!(lab.refusals.len(), 1);
    assert_eq!(lab.sent_of(MessageType::InformationRequest).len(), 1);

    // At the refresh time (900 s after the Reply) it is asked for again.
    let replied_at = lab.sent_of(MessageType::InformationRequest)[0].0;
    lab.run_until(secs(950.0));
    let irs = lab.sent_of(MessageType::InformationRequest);
    assert!(irs.len() >= 2);
    let again = irs[1].0 - replied_at;
    assert!(
        again >= secs(900.0) && again <= secs(902.0),
        "refreshed after {again:?}"
    );
}

/// A client whose Solicit a server refused (NoPrefixAvail), so it asks for
/// stateless configuration: the lab and its first Information-request.
fn stateless_after_refusal() -> (Lab, Message) {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![ia_pd_status(Status::NoPrefixAvail)],
    ));
    assert_eq!(lab.refusals.last().map(|r| r.scope), Some("IA_PD"));
    lab.run_for(secs(1.0));
    let ir = last_ir(&lab);
    (lab, ir)
}

/// A refresh time below IRT_MINIMUM (600 s) is raised to it (21.23).
#[test]
fn information_refresh_time_has_a_floor() {
    let (mut lab, ir) = stateless_after_refusal();
    lab.deliver(&answer(
        &ir,
        MessageType::Reply,
        1,
        vec![dns(), DhcpOption::InformationRefreshTime(5)],
    ));
    lab.run_for(secs(590.0));
    assert_eq!(
        lab.sent_of(MessageType::InformationRequest).len(),
        1,
        "not before 600 s"
    );
    lab.run_for(secs(15.0));
    assert!(lab.sent_of(MessageType::InformationRequest).len() >= 2);
}

/// RFC 7084 WAA-10, RFC 8415 21.23: the stateless configuration is asked
/// for again when the server's Information Refresh Time runs out (here
/// 3600 s, above the floor), and after IRT_DEFAULT (one day) when the Reply
/// carries none.
#[test]
fn information_refresh_time_is_honoured_and_defaults_to_a_day() {
    // Each Information-request exchange (one transaction id) and when it
    // was first sent.
    let exchanges = |lab: &Lab| {
        let mut out: Vec<(u32, Duration)> = Vec::new();
        for (at, m) in lab.sent_of(MessageType::InformationRequest) {
            if !out.iter().any(|(x, _)| *x == m.transaction_id.get()) {
                out.push((m.transaction_id.get(), at));
            }
        }
        out
    };
    let (mut lab, ir) = stateless_after_refusal();
    assert!(oro_of(&ir).contains(&code::INFORMATION_REFRESH_TIME));
    let answered = lab.elapsed();
    lab.deliver(&answer(
        &ir,
        MessageType::Reply,
        1,
        vec![dns(), DhcpOption::InformationRefreshTime(3600)],
    ));
    // The refresh starts at 3600 s, after the 0..1 s INF_MAX_DELAY.
    lab.run_until(answered + secs(3602.0));
    let ex = exchanges(&lab);
    assert_eq!(ex.len(), 2, "refreshed once: {ex:?}");
    assert!(ex[1].1 >= answered + secs(3600.0) && ex[1].1 <= answered + secs(3601.0));

    // No option in the Reply: as if IRT_DEFAULT (86400 s) had been sent.
    let ir = last_ir(&lab);
    let answered = lab.elapsed();
    lab.deliver(&answer(&ir, MessageType::Reply, 1, vec![dns()]));
    lab.run_until(answered + secs(86402.0));
    let ex = exchanges(&lab);
    assert_eq!(ex.len(), 3, "{ex:?}");
    assert!(ex[2].1 >= answered + secs(86400.0) && ex[2].1 <= answered + secs(86401.0));
}

/// RA with O=1 and no server answering Solicit: after three Solicits the
/// client asks for configuration; an unanswered Information-request gives
/// way to the Solicit after 4 transmissions and waits INFORM_RETRY.
#[test]
fn ra_other_flag_and_silent_solicits_try_information_request_then_back_off() {
    let mut lab = Lab::new(config());
    lab.event(Input::RaFlags {
        managed: false,
        other: true,
    });
    lab.event(Input::Start);
    lab.run_for(secs(60.0));
    let kinds: Vec<MessageType> = lab.sent.iter().map(|(_, m)| m.msg_type).collect();
    let first_ir = kinds
        .iter()
        .position(|t| *t == MessageType::InformationRequest)
        .expect("an Information-request");
    assert_eq!(first_ir, 3, "after three unanswered Solicits: {kinds:?}");
    assert_eq!(
        lab.sent_of(MessageType::InformationRequest).len(),
        4,
        "INF_TIMEOUT backoff, 4 tries"
    );
    // The Solicit kept its own RFC pace beside it: 1, 2, 4, 8, 16 s...
    let times: Vec<Duration> = lab
        .sent_of(MessageType::Solicit)
        .iter()
        .map(|s| s.0)
        .collect();
    let g = gaps(&times);
    assert!(
        g.windows(2)
            .all(|w| w[1] >= 1.7 * w[0] && w[1] <= 2.3 * w[0]),
        "Solicit backoff untouched: {g:?}"
    );
    lab.run_for(INFORM_RETRY - secs(60.0));
    assert_eq!(
        lab.sent_of(MessageType::InformationRequest).len(),
        4,
        "no retry before INFORM_RETRY"
    );
    lab.run_for(secs(200.0));
    assert!(
        lab.sent_of(MessageType::InformationRequest).len() > 4,
        "tried again later"
    );
}

/// Without the O flag and without a refusal, a silent network gets only
/// Solicits (the fallback is not a second way to flood the link).
#[test]
fn no_fallback_without_refusal_or_o_flag() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(300.0));
    assert!(lab.sent_of(MessageType::InformationRequest).is_empty());
}

/// A rapid-commit Reply refusing everything is reported with its status
/// and text, and a later binding clears the refusal; the lease's DNS then
/// wins over the one learned statelessly.
#[test]
fn refusal_in_rapid_commit_reply_is_reported_and_cleared_by_a_binding() {
    let mut cfg = config();
    cfg.rapid_commit = true;
    let mut lab = Lab::new(cfg);
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    let mut refuse = vec![DhcpOption::RapidCommit, ia_pd_status(Status::NoPrefixAvail)];
    if let Some(DhcpOption::IaPd(ia)) = refuse.get_mut(1)
        && let Some(DhcpOption::StatusCode(sc)) = ia.options.get_mut(0)
    {
        sc.message = "pool exhausted".into();
    }
    lab.deliver(&answer(&s, MessageType::Reply, 1, refuse));
    let r = lab.client.refusal().expect("refusal kept").clone();
    assert_eq!(
        (r.scope, r.status.status, r.status.message.as_str()),
        ("IA_PD", Status::NoPrefixAvail, "pool exhausted")
    );
    lab.run_for(secs(1.0));
    let ir = last_ir(&lab);
    lab.deliver(&answer(
        &ir,
        MessageType::Reply,
        1,
        vec![DhcpOption::DnsServers(vec![
            "2001:db8::99".parse().unwrap(),
        ])],
    ));
    // The server gets a prefix later.
    lab.run_for(secs(3.0));
    let s = lab.sent_of(MessageType::Solicit).last().unwrap().1.clone();
    lab.deliver(&answer(
        &s,
        MessageType::Reply,
        1,
        vec![
            DhcpOption::RapidCommit,
            ia_pd(0, 0, &[("2001:db8:1::/56", 3600, 7200)]),
            dns(),
        ],
    ));
    assert_eq!(lab.client.state(), State::Bound);
    assert!(lab.client.refusal().is_none());
    assert_eq!(
        lab.client.dns_servers(),
        &["2001:db8::53".parse::<Ipv6Addr>().unwrap()]
    );
}

// ------------------------------------------------ DAD failure: Decline

fn ia_na_with(addr: &str) -> DhcpOption {
    DhcpOption::IaNa(IaNa {
        iaid: IAID_NA,
        t1: 0,
        t2: 0,
        options: vec![DhcpOption::IaAddr(IaAddress {
            addr: addr.parse().unwrap(),
            preferred: 1000,
            valid: 2000,
            options: vec![],
        })],
    })
}

fn bound_with_address(with_prefix: bool) -> Lab {
    let mut cfg = config();
    cfg.request_address = AddressMode::Always;
    cfg.request_prefix = with_prefix;
    let mut lab = Lab::new(cfg);
    let mut ias = vec![pref(255), ia_na_with("2001:db8::abcd")];
    if with_prefix {
        ias.push(ia_pd(0, 0, &[("2001:db8:1::/56", 3000, 4000)]));
    }
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    lab.deliver(&answer(&s, MessageType::Advertise, 1, ias.clone()));
    let req = lab.last().clone();
    lab.deliver(&answer(&req, MessageType::Reply, 1, ias[1..].to_vec()));
    assert_eq!(lab.client.state(), State::Bound);
    lab
}

/// RFC 8415 18.2.8: an address that failed DAD is withdrawn at once and
/// declined to the server that leased it; the prefix stays bound.
#[test]
fn dad_failure_withdraws_the_address_and_declines_it() {
    let mut lab = bound_with_address(true);
    let addr: Ipv6Addr = "2001:db8::abcd".parse().unwrap();
    lab.event(Input::DadFailed(addr));
    let u = lab.updates.last().unwrap();
    assert_eq!(u.reason, UpdateReason::Declined);
    assert!(u.addresses.is_empty());
    assert_eq!(u.previous_addresses[0].address, addr);
    assert_eq!(u.prefixes.len(), 1, "the prefix is not touched");
    let decline = lab.last().clone();
    assert_eq!(decline.msg_type, MessageType::Decline);
    assert_eq!(decline.server_id(), Some(&server(1)));
    let na = decline.ia_nas().next().unwrap();
    assert_eq!(
        na.addresses().map(|a| a.addr).collect::<Vec<_>>(),
        vec![addr]
    );
    assert_eq!(decline.ia_pds().count(), 0);
    assert_eq!(lab.client.counters().declined, 1);
    lab.deliver(&answer(&decline, MessageType::Reply, 1, vec![]));
    assert_eq!(lab.client.state(), State::Bound);
    assert!(lab.client.lease().unwrap().addresses.is_empty());
    // An unknown address changes nothing.
    let sent = lab.sent.len();
    lab.event(Input::DadFailed("2001:db8::1".parse().unwrap()));
    assert_eq!(lab.sent.len(), sent);
}

/// DEC_MAX_RC: an unanswered Decline is sent 4 times; with no binding
/// left the client asks for new ones.
#[test]
fn unanswered_decline_gives_up_after_four_and_solicits_when_nothing_is_left() {
    let mut lab = bound_with_address(false);
    lab.event(Input::DadFailed("2001:db8::abcd".parse().unwrap()));
    lab.run_for(secs(30.0));
    assert_eq!(lab.sent_of(MessageType::Decline).len(), 4);
    assert!(
        !lab.sent_of(MessageType::Solicit).is_empty()
            && lab.sent.last().unwrap().1.msg_type == MessageType::Solicit,
        "nothing bound any more: Solicit again"
    );
}

/// RFC 7084 WPD-6: asking for both IAs, an Advertise and a Reply that carry
/// a prefix but refuse the address (NoAddrsAvail inside the IA_NA) are
/// taken: the prefix is bound, and the WAN simply has no DHCPv6 address.
/// Many ISPs delegate prefixes and number their customers' WAN only by
/// SLAAC, or not at all.
#[test]
fn prefix_without_address_is_bound_when_both_were_asked_for() {
    let mut cfg = config();
    cfg.request_address = AddressMode::Always;
    let mut lab = Lab::new(cfg);
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let s = lab.last().clone();
    assert_eq!(s.msg_type, MessageType::Solicit);
    assert_eq!((s.ia_nas().count(), s.ia_pds().count()), (1, 1));
    let no_address = DhcpOption::IaNa(IaNa {
        iaid: IAID_NA,
        t1: 0,
        t2: 0,
        options: vec![DhcpOption::StatusCode(StatusCode {
            status: Status::NoAddrsAvail,
            message: String::new(),
        })],
    });
    let pd = ia_pd(0, 0, &[("2001:db8:1::/56", 3000, 4000)]);
    lab.deliver(&answer(
        &s,
        MessageType::Advertise,
        1,
        vec![pref(255), pd.clone(), no_address.clone()],
    ));
    let req = lab.last().clone();
    assert_eq!(req.msg_type, MessageType::Request, "Advertise not taken");
    lab.deliver(&answer(
        &req,
        MessageType::Reply,
        1,
        vec![pd, no_address, dns()],
    ));
    assert_eq!(lab.client.state(), State::Bound);
    let lease = lab.client.lease().expect("bound to the prefix");
    assert_eq!(lease.prefixes[0].prefix, net("2001:db8:1::/56"));
    assert!(lease.addresses.is_empty(), "{:?}", lease.addresses);
}

// ------------------------------------------------ NTP servers (RFC 7084 WAA-5)

/// RFC 7084 WAA-5: the client asks for option 56 and uses the servers it
/// gets; only server addresses are kept (no multicast NTP, and a name needs
/// DNS the clock may be needed for).
#[test]
fn ntp_server_addresses_from_option_56_are_kept_with_the_lease() {
    let mut lab = Lab::new(config());
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let solicit = lab.last().clone();
    let ntp = DhcpOption::NtpServer(vec![
        NtpSuboption::ServerAddress("2001:db8::123".parse().unwrap()),
        NtpSuboption::MulticastAddress("ff05::101".parse().unwrap()),
        NtpSuboption::ServerFqdn(DomainName::from_presentation("ntp.example").unwrap()),
        NtpSuboption::ServerAddress("2001:db8::124".parse().unwrap()),
    ]);
    let ia = ia_pd(0, 0, &[("2001:db8:1::/56", 3600, 7200)]);
    lab.deliver(&answer(
        &solicit,
        MessageType::Advertise,
        1,
        vec![pref(255), ia.clone()],
    ));
    let request = lab.last().clone();
    lab.deliver(&answer(&request, MessageType::Reply, 1, vec![ia, ntp]));
    assert_eq!(lab.client.state(), State::Bound);
    assert_eq!(
        lab.client.ntp_servers(),
        &[
            "2001:db8::123".parse::<Ipv6Addr>().unwrap(),
            "2001:db8::124".parse().unwrap()
        ]
    );
}

/// The console's "N Solicit" counts the Solicits of this round only: the
/// Information-requests that run beside them (RA O=1, three Solicits
/// unanswered) are other messages.
#[test]
fn transmissions_count_the_exchange_under_way_not_the_information_requests_beside_it() {
    let mut lab = Lab::new(config());
    lab.event(Input::RaFlags {
        managed: true,
        other: true,
    });
    lab.event(Input::Start);
    assert_eq!(lab.client.transmissions(), 0, "initial random delay");
    lab.run_until(secs(20.0));
    let solicits = lab.sent_of(MessageType::Solicit).len() as u64;
    assert!(!lab.sent_of(MessageType::InformationRequest).is_empty());
    assert!(solicits >= 4, "{solicits}");
    assert_eq!(lab.client.transmissions(), solicits);
    assert!(lab.client.counters().transmitted > solicits);
}

/// Issue 14: the server stops delegating under a bound client (its pool
/// is gone) and answers every Renew with IA_PD NoPrefixAvail while it
/// renews the address. The refusal is kept for the console while the old
/// prefix runs out, and reported once, not on every Renew.
#[test]
fn a_prefix_refused_on_renew_is_kept_and_reported_once() {
    let mut lab = Lab::new(ClientConfig {
        request_address: AddressMode::Always,
        ..config()
    });
    let mut ias = vec![
        ia_pd(10, 16, &[("2001:db8:1::/56", 30, 60)]),
        ia_na_with("2001:db8::abcd"),
    ];
    lab.event(Input::Start);
    lab.run_for(secs(1.0));
    let solicit = lab.last().clone();
    let mut adv = vec![pref(255)];
    adv.extend(ias.clone());
    lab.deliver(&answer(&solicit, MessageType::Advertise, 1, adv));
    let request = lab.last().clone();
    ias.push(dns());
    lab.deliver(&answer(&request, MessageType::Reply, 1, ias));
    assert_eq!(lab.client.state(), State::Bound);
    for round in 0..3 {
        lab.run_for(secs(10.0));
        let renew = lab.last().clone();
        assert_eq!(renew.msg_type, MessageType::Renew, "round {round}");
        let refused = DhcpOption::IaPd(IaPd {
            iaid: IAID_PD,
            t1: 0,
            t2: 0,
            options: vec![top_status(Status::NoPrefixAvail, "no prefixes")],
        });
        let mut na = ia_na_with("2001:db8::abcd");
        if let DhcpOption::IaNa(ia) = &mut na {
            (ia.t1, ia.t2) = (10, 16);
        }
        lab.deliver(&answer(&renew, MessageType::Reply, 1, vec![refused, na]));
        assert_eq!(lab.client.state(), State::Bound, "round {round}");
        let r = lab.client.refusal().expect("the refusal is kept");
        assert_eq!(r.scope, "IA_PD");
        assert_eq!(r.status.status, Status::NoPrefixAvail);
        assert_eq!(
            lab.client.lease().unwrap().prefixes[0].prefix,
            net("2001:db8:1::/56"),
            "the old prefix runs out on its own lifetimes"
        );
    }
    assert_eq!(lab.refusals.len(), 1, "{:?}", lab.refusals);
}
