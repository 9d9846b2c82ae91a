//! Turning engine state into bus facts, the console status object, and log
//! lines.

use std::sync::OnceLock;
use std::time::Instant;

use cpe_bus::state::{DelegatedAddress, INFINITE};
use cpe_bus::status::dhcp6c as st;
use cpe_bus::{Dhcp6Facts, MonoTime, WanFacts, WanState};

use crate::counters::Counters;
use crate::engine::{Client, LeaseUpdate, OtherConfig, Refusal, State};
use crate::lease::{Deadline, DelegatedPrefix, secs_left};

/// This process's `Instant` and bus time at one moment, taken once.
static ANCHOR: OnceLock<(Instant, MonoTime)> = OnceLock::new();

/// Converts an engine deadline into bus time through a fixed anchor, so the
/// same deadline always gives the same [`MonoTime`]. Converting relative to
/// "now" each time (as `MonoTime::from_instant` does) rounds differently
/// from call to call; a re-published, unchanged lease then differs by a
/// millisecond and the supervisor takes it for a new delegation (a snapshot
/// pushed to every daemon and a "delegated prefixes now" log line for
/// nothing). Both clocks are `CLOCK_MONOTONIC`, so the offset holds for the
/// life of the process.
fn bus_time(at: Instant) -> MonoTime {
    let &(anchor_i, anchor_m) = ANCHOR.get_or_init(|| (Instant::now(), MonoTime::now()));
    if at >= anchor_i {
        anchor_m.after(at - anchor_i)
    } else {
        let back = (anchor_i - at).as_millis().min(u128::from(u64::MAX)) as u64;
        MonoTime(anchor_m.0.saturating_sub(back))
    }
}

fn mono(d: Deadline) -> MonoTime {
    d.map(bus_time).unwrap_or(INFINITE)
}

fn bus_prefix(p: &DelegatedPrefix) -> cpe_bus::DelegatedPrefix {
    cpe_bus::DelegatedPrefix {
        prefix: p.prefix,
        preferred_until: mono(p.preferred_until),
        valid_until: mono(p.valid_until),
    }
}

/// The facts the supervisor merges into shared state. `previous` are the
/// prefixes being phased out (see [`Previous`]).
pub fn facts(client: &Client, previous: &[DelegatedPrefix]) -> Dhcp6Facts {
    let lease = client.lease();
    Dhcp6Facts {
        state: client.state().name().to_string(),
        server_duid: lease.map(|l| l.server_id.to_hex()),
        delegated_prefixes: lease
            .map(|l| l.prefixes.iter().map(bus_prefix).collect())
            .unwrap_or_default(),
        previous_prefixes: previous.iter().map(bus_prefix).collect(),
        excluded_prefixes: lease
            .map(|l| l.live_excluded().copied().collect())
            .unwrap_or_default(),
        addresses: lease
            .map(|l| {
                l.addresses
                    .iter()
                    .map(|a| DelegatedAddress {
                        address: a.address,
                        preferred_until: mono(a.preferred_until),
                        valid_until: mono(a.valid_until),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        dns_servers: client.dns_servers().to_vec(),
        domains: client.domains().iter().map(|d| d.to_string()).collect(),
        ntp_servers: client.ntp_servers().to_vec(),
        aftr_name: client.aftr_name().map(str::to_owned),
        map_e: client.map_e().cloned(),
        t1: lease.and_then(|l| l.t1).map(bus_time),
        t2: lease.and_then(|l| l.t2).map(bus_time),
    }
}

/// Prefixes that left the delegation but that hosts may still hold; kept
/// in the facts until their valid lifetime ends so LAN services deprecate
/// rather than drop them.
#[derive(Debug, Default)]
pub struct Previous(Vec<DelegatedPrefix>);

impl Previous {
    /// Folds in an update: new previous prefixes are added, prefixes that
    /// came back are removed.
    pub fn apply(&mut self, u: &LeaseUpdate, now: Instant, released: bool) {
        for p in &u.previous_prefixes {
            let mut p = *p;
            if released {
                // Given back: the ISP no longer routes it to us.
                p.preferred_until = Some(now);
                p.valid_until = Some(now);
            }
            self.0.retain(|q| q.prefix != p.prefix);
            self.0.push(p);
        }
        self.0
            .retain(|q| !u.prefixes.iter().any(|c| c.prefix == q.prefix));
    }

    /// Drops entries whose valid lifetime has ended; true if any was dropped.
    pub fn prune(&mut self, now: Instant) -> bool {
        let before = self.0.len();
        self.0.retain(|p| p.valid_until.is_none_or(|v| v > now));
        self.0.len() != before
    }

    /// The list.
    pub fn list(&self) -> &[DelegatedPrefix] {
        &self.0
    }
}

fn texts<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(T::to_string).collect()
}

fn lifetimed(p: &DelegatedPrefix, now: Instant) -> st::Lifetimed {
    st::Lifetimed {
        prefix: p.prefix.to_string(),
        preferred_lft: Some(u64::from(secs_left(p.preferred_until, now))),
        valid_lft: Some(u64::from(secs_left(p.valid_until, now))),
    }
}

/// The object `cpectl show dhcp6c` prints (the driver adds the WAN
/// addresses it programmed).
pub fn status(
    client: &Client,
    previous: &[DelegatedPrefix],
    interface: &str,
    now: Instant,
) -> st::Dhcp6cStatus {
    let lease = client.lease();
    let left = |d| Some(u64::from(secs_left(d, now)));
    st::Dhcp6cStatus {
        state: client.state().name().into(),
        interface: interface.to_owned(),
        duid: client.duid().to_hex(),
        server_duid: lease.map(|l| l.server_id.to_hex()),
        delegated_prefixes: lease
            .map(|l| l.prefixes.iter().map(|p| lifetimed(p, now)).collect())
            .unwrap_or_default(),
        previous_prefixes: previous.iter().map(|p| lifetimed(p, now)).collect(),
        addresses: lease
            .map(|l| {
                l.addresses
                    .iter()
                    .map(|a| st::LeasedAddress {
                        address: a.address.to_string(),
                        preferred_lft: left(a.preferred_until),
                        valid_lft: left(a.valid_until),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        t1: lease.and_then(|l| left(l.t1)),
        t2: lease.and_then(|l| left(l.t2)),
        dns_servers: texts(client.dns_servers()),
        domains: texts(client.domains()),
        ntp_servers: texts(client.ntp_servers()),
        other_config: client.other_config().map(|o| st::OtherConfig {
            server_duid: o.server_id.to_hex(),
            dns_servers: texts(&o.dns_servers),
            domains: texts(&o.domains),
            refresh_in: o.refresh_at.saturating_duration_since(now).as_secs(),
        }),
        refusal: client.refusal().map(|r| st::Refusal {
            server_duid: r.server_id.to_hex(),
            scope: r.scope.into(),
            status: r.status.status.name().into(),
            status_code: r.status.status.to_u16(),
            message: r.status.message.clone(),
            age: now.saturating_duration_since(r.at).as_secs(),
        }),
        sol_max_rt: client.sol_max_rt().as_secs(),
        counters: client.counters().to_status(),
        wan_addresses: Vec::new(),
        ..Default::default()
    }
}

/// One log line per binding change, with lifetimes in seconds.
pub fn describe(u: &LeaseUpdate, client: &Client, now: Instant) -> String {
    let list = |ps: &[DelegatedPrefix]| {
        ps.iter()
            .map(|p| {
                format!(
                    "{} (preferred {}s, valid {}s)",
                    p.prefix,
                    secs_left(p.preferred_until, now),
                    secs_left(p.valid_until, now)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("{:?}", u.reason).to_lowercase();
    if !u.prefixes.is_empty() {
        s.push_str(&format!(": prefixes {}", list(&u.prefixes)));
    }
    if !u.previous_prefixes.is_empty() {
        s.push_str(&format!("; withdrawn {}", list(&u.previous_prefixes)));
    }
    for x in client.lease().into_iter().flat_map(|l| l.live_excluded()) {
        s.push_str(&format!(
            "; {x} excluded by the server (RFC 6603 Prefix Exclude): no LAN is numbered from it"
        ));
    }
    for a in &u.addresses {
        s.push_str(&format!(
            "; address {} (valid {}s)",
            a.address,
            secs_left(a.valid_until, now)
        ));
    }
    if let Some(l) = client.lease() {
        s.push_str(&format!("; server {}", l.server_id));
    }
    s
}

/// Unanswered messages are logged at most once per this interval.
pub const UNANSWERED_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// How the current state is going, for the console's DHCPv6 line
/// (`soliciting 1m17s: 7 Solicit, 0 replies`) and for the log line that
/// says a server is silent long before anything expires.
#[derive(Debug, Clone)]
pub struct Progress {
    state: State,
    since: Instant,
    answers_at_start: u64,
    answers: u64,
    last_answer: Option<Instant>,
    logged_sent: u64,
    logged_at: Option<Instant>,
}

impl Progress {
    /// Progress from `now`, in `state`, with the counters as they stand.
    pub fn new(state: State, c: &Counters, now: Instant) -> Progress {
        Progress {
            state,
            since: now,
            answers_at_start: c.answers(),
            answers: c.answers(),
            last_answer: None,
            logged_sent: 0,
            logged_at: None,
        }
    }

    /// Takes in the client after an event: a new state starts the counts
    /// afresh; an answer is timed.
    pub fn observe(&mut self, state: State, c: &Counters, now: Instant) {
        let answers = c.answers();
        if answers > self.answers {
            self.last_answer = Some(now);
        }
        self.answers = answers;
        if state != self.state {
            let last = self.last_answer;
            *self = Progress::new(state, c, now);
            self.last_answer = last;
        }
    }

    /// Answers received in the current state.
    pub fn answers(&self, c: &Counters) -> u64 {
        c.answers().saturating_sub(self.answers_at_start)
    }

    /// Fills the progress fields of `st`; `sent` is what the client sent
    /// in its current exchange ([`Client::transmissions`]: Information-
    /// requests running beside a Solicit are not Solicits).
    pub fn fill(&self, st: &mut st::Dhcp6cStatus, c: &Counters, sent: u64, now: Instant) {
        let answers = self.answers(c);
        st.state_age = Some(now.saturating_duration_since(self.since).as_secs());
        st.sent_in_state = sent;
        st.replies_in_state = answers;
        st.last_reply_age = self
            .last_answer
            .map(|t| now.saturating_duration_since(t).as_secs());
    }

    /// The warning for messages no server answered, at most once per
    /// [`UNANSWERED_LOG_INTERVAL`] and only when more went out since the
    /// last one: "no reply to 7 Solicit in 77 s".
    pub fn unanswered(&mut self, c: &Counters, sent: u64, now: Instant) -> Option<String> {
        let what = match self.state {
            State::Soliciting => "Solicit",
            State::Requesting => "Request",
            State::Renewing => "Renew",
            State::Rebinding => "Rebind",
            _ => return None,
        };
        let answers = self.answers(c);
        if answers > 0 || sent < 3 || sent == self.logged_sent {
            return None;
        }
        if self
            .logged_at
            .is_some_and(|t| now.saturating_duration_since(t) < UNANSWERED_LOG_INTERVAL)
        {
            return None;
        }
        self.logged_sent = sent;
        self.logged_at = Some(now);
        let mut line = format!(
            "no reply to {sent} {what} in {} s",
            now.saturating_duration_since(self.since).as_secs()
        );
        match self.last_answer {
            Some(t) => line.push_str(&format!(
                "; a server last answered {} s ago",
                now.saturating_duration_since(t).as_secs()
            )),
            None => line.push_str("; no server has answered since start"),
        }
        Some(line)
    }
}

/// Why DHCPv6 waits, in the client's own words: the WAN's reason is the
/// WAN's, and "ISP RA has M=0 O=0" is a different cause from "no carrier".
pub fn waiting_reason(wan: &WanFacts, pppoe: bool, start_always: bool) -> String {
    if pppoe {
        return format!(
            "PPPoE session not up (WAN {})",
            match wan.state {
                WanState::Unknown => "state unknown",
                WanState::Down => "down",
                WanState::Connecting => "connecting",
                WanState::Up => "up",
            }
        );
    }
    if !wan.carrier {
        return "no carrier on the WAN".into();
    }
    if wan.state == WanState::Down {
        return "WAN down".into();
    }
    if !start_always && !wan.ra_managed && !wan.ra_other_config {
        return if wan.ra_router_lifetime == 0 && wan.default_router_v6.is_none() {
            "no ISP RA with M or O yet; wan.dhcpv6.start = \"ra\"".into()
        } else {
            "ISP RA has M=0 O=0; wan.dhcpv6.start = \"ra\"".into()
        };
    }
    "waiting for the WAN".into()
}

/// Whether the WAN is ready for DHCPv6: on IPoE when the link has carrier
/// and the ISP's RA asked for DHCPv6 (M or O), or at once with
/// `wan.dhcpv6.start = "always"`; on PPPoE once the session is up
/// (DHCPv6-PD runs over the PPP link whether or not an RA came yet).
pub fn wan_ready(wan: &WanFacts, pppoe: bool, start_always: bool) -> bool {
    if pppoe {
        wan.state == WanState::Up
    } else {
        wan.carrier
            && wan.state != WanState::Down
            && (start_always || wan.ra_managed || wan.ra_other_config)
    }
}

/// The log line for configuration learned by Information-request.
pub fn describe_other(o: &OtherConfig, now: Instant) -> String {
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "stateless DHCPv6 from server {}: DNS {}; search {}; refresh in {} s",
        o.server_id.to_hex(),
        list(o.dns_servers.iter().map(|a| a.to_string()).collect()),
        list(o.domains.iter().map(|d| d.to_string()).collect()),
        o.refresh_at.saturating_duration_since(now).as_secs(),
    )
}

/// The log line for a server's refusal: its status code and its own text,
/// which is what an ISP's support desk asks for.
pub fn describe_refusal(r: &Refusal) -> String {
    let what = match r.scope {
        "message" => "our request".to_string(),
        ia => ia.to_string(),
    };
    let text = if r.status.message.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", r.status.message.escape_debug())
    };
    format!(
        "server {} refuses {what}: {} ({}){text}",
        r.server_id.to_hex(),
        r.status.status.name(),
        r.status.status.to_u16(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_same_deadline_is_the_same_bus_time_whenever_converted() {
        let base = Instant::now();
        let deadlines: Vec<Instant> = (0..200u64)
            .map(|i| base + Duration::from_micros(i * 7_919 + 333))
            .chain([base - Duration::from_micros(1_500)])
            .collect();
        let first: Vec<MonoTime> = deadlines.iter().map(|d| bus_time(*d)).collect();
        std::thread::sleep(Duration::from_millis(3));
        let again: Vec<MonoTime> = deadlines.iter().map(|d| bus_time(*d)).collect();
        assert_eq!(first, again);
        // And it is the real monotonic clock: a deadline 10 s ahead is
        // 10 s (+-1 ms of rounding) after the bus's now.
        let ahead = bus_time(Instant::now() + Duration::from_secs(10));
        let diff = ahead.0.abs_diff(MonoTime::now().0 + 10_000);
        assert!(diff <= 2, "off by {diff} ms");
    }

    #[test]
    fn progress_counts_per_state_and_logs_silence_at_a_rate_limit() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut c = Counters::default();
        let mut p = Progress::new(State::Idle, &c, t0);
        p.observe(State::Soliciting, &c, at(1));
        let mut log = Vec::new();
        // Solicits at 1, 2, 4, 8, 16, 32, 64 s (RT doubling), none answered;
        // the status tick looks every 10 s.
        let sends = [1u64, 2, 4, 8, 16, 32, 64];
        let mut sent = 0;
        for now in 1..=78u64 {
            sent += sends.iter().filter(|s| **s == now).count() as u64;
            p.observe(State::Soliciting, &c, at(now));
            if now % 10 == 0
                && let Some(l) = p.unanswered(&c, sent, at(now))
            {
                log.push((now, l));
            }
        }
        assert_eq!(
            log,
            [
                (
                    10,
                    "no reply to 4 Solicit in 9 s; no server has answered since start".to_owned()
                ),
                (
                    70,
                    "no reply to 7 Solicit in 69 s; no server has answered since start".to_owned()
                ),
            ]
        );
        let mut st = st::Dhcp6cStatus::default();
        p.fill(&mut st, &c, sent, at(78));
        assert_eq!(
            (
                st.state_age,
                st.sent_in_state,
                st.replies_in_state,
                st.last_reply_age
            ),
            (Some(77), 7, 0, None)
        );
        // An answer (a refusal counts: the server is there) ends the
        // warnings; a new state counts afresh and remembers the answer.
        c.received += 1;
        c.drop(crate::counters::DropReason::AdvertiseWithoutLeases);
        p.observe(State::Soliciting, &c, at(80));
        assert_eq!(p.unanswered(&c, 8, at(200)), None);
        p.observe(State::Renewing, &c, at(290));
        p.observe(State::Rebinding, &c, at(300));
        p.fill(&mut st, &c, 3, at(340));
        assert_eq!(
            (
                st.state_age,
                st.sent_in_state,
                st.replies_in_state,
                st.last_reply_age
            ),
            (Some(40), 3, 0, Some(260))
        );
        assert_eq!(
            p.unanswered(&c, 3, at(340)).as_deref(),
            Some("no reply to 3 Rebind in 40 s; a server last answered 260 s ago")
        );
        // A datagram that is not an answer to us does not count.
        c.received += 1;
        c.drop(crate::counters::DropReason::WrongTransactionId);
        p.fill(&mut st, &c, 3, at(341));
        assert_eq!(st.replies_in_state, 0);
    }

    #[test]
    fn the_waiting_reason_is_dhcpv6s_own() {
        let mut wan = WanFacts {
            carrier: true,
            state: WanState::Up,
            reason: "no Router Advertisement from the ISP for 30s".into(),
            ra_router_lifetime: 1800,
            default_router_v6: Some("fe80::1".parse().unwrap()),
            ..WanFacts::default()
        };
        assert_eq!(
            waiting_reason(&wan, false, false),
            "ISP RA has M=0 O=0; wan.dhcpv6.start = \"ra\""
        );
        wan.default_router_v6 = None;
        wan.ra_router_lifetime = 0;
        assert_eq!(
            waiting_reason(&wan, false, false),
            "no ISP RA with M or O yet; wan.dhcpv6.start = \"ra\""
        );
        wan.carrier = false;
        assert_eq!(waiting_reason(&wan, false, false), "no carrier on the WAN");
        wan.state = WanState::Connecting;
        assert_eq!(
            waiting_reason(&wan, true, false),
            "PPPoE session not up (WAN connecting)"
        );
    }

    #[test]
    fn dhcp_starts_on_ra_flags_or_pppoe_up() {
        let mut wan = WanFacts {
            carrier: true,
            state: WanState::Connecting,
            ..WanFacts::default()
        };
        assert!(!wan_ready(&wan, false, false), "no RA yet");
        assert!(wan_ready(&wan, false, true), "start = always needs no RA");
        wan.ra_other_config = true;
        assert!(wan_ready(&wan, false, false));
        wan.carrier = false;
        assert!(!wan_ready(&wan, false, false));
        assert!(!wan_ready(&wan, false, true), "never without carrier");
        assert!(!wan_ready(&wan, true, false));
        wan.state = WanState::Up;
        assert!(wan_ready(&wan, true, false));
    }
}
