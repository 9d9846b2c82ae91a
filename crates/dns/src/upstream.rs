//! Upstream resolvers and their health.
//!
//! Policy: the first healthy upstream in configured (or learned) order gets
//! the query, which is what operators expect from "primary/secondary". An
//! attempt that gets no answer within the retransmission timeout (RFC 6298
//! estimator, clamped to 150..800 ms so failover always happens well inside a
//! stub resolver's own 1 s retry) is re-sent to the next upstream; with no
//! other upstream left, the same one is asked again only after its unclamped
//! RTO (up to 3 s), doubled for each repeat, so a slow resolver is not buried
//! under copies. An upstream is marked down after three consecutive timeouts
//! or at once on an ICMP error (port, host or network unreachable); while
//! down it gets a probe query with backoff from 250 ms to at most 1 s, so a
//! resolver that comes back is used again within about a second (one small
//! query a second to a dead resolver is the price), and the first good
//! answer marks it up again so traffic returns to it.
//!
//! TCP is tracked separately: an upstream that refuses or drops a TCP
//! connection (RST, ICMP, timeout) gets no TCP attempts for a backoff that
//! doubles from 1 s to 64 s, so an upstream that truncates over UDP and
//! refuses TCP costs one UDP query per client question, not a storm.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

const RTO_MIN: Duration = Duration::from_millis(150);
const RTO_MAX: Duration = Duration::from_millis(800);
const RTO_INITIAL: Duration = Duration::from_millis(400);
const RTO_PATIENT_MAX: Duration = Duration::from_secs(3);
const DOWN_AFTER_TIMEOUTS: u32 = 3;
const PROBE_FIRST: Duration = Duration::from_millis(250);
const PROBE_MAX: Duration = Duration::from_secs(1);
const TCP_BACKOFF_FIRST: Duration = Duration::from_secs(1);
const TCP_BACKOFF_MAX: Duration = Duration::from_secs(64);
/// TCP connections opened to one upstream per second at most (truncated
/// answers are the only reason to open one; a home network needs a few).
pub const TCP_PER_SECOND: u32 = 20;

/// One upstream resolver's state.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Address and port queried.
    pub addr: SocketAddr,
    srtt_us: Option<u64>,
    rttvar_us: u64,
    consecutive_failures: u32,
    down: bool,
    probe_backoff: Duration,
    next_probe: Option<Instant>,
    /// No TCP attempts before this time (it refused or dropped the last one).
    tcp_blocked_until: Option<Instant>,
    tcp_backoff: Duration,
    /// Start of the current one-second window and TCP attempts in it.
    tcp_window: Option<(Instant, u32)>,
    /// Queries sent to it.
    pub queries: u64,
    /// Accepted answers from it.
    pub answers: u64,
    /// Attempts that timed out or were refused.
    pub failures: u64,
    /// TCP attempts that failed.
    pub tcp_failures: u64,
}

/// Status line for one upstream.
pub use cpe_bus::status::dns::UpstreamStatus;

impl Upstream {
    fn new(addr: SocketAddr) -> Upstream {
        Upstream {
            addr,
            srtt_us: None,
            rttvar_us: 0,
            consecutive_failures: 0,
            down: false,
            probe_backoff: PROBE_FIRST,
            next_probe: None,
            tcp_blocked_until: None,
            tcp_backoff: TCP_BACKOFF_FIRST,
            tcp_window: None,
            queries: 0,
            answers: 0,
            failures: 0,
            tcp_failures: 0,
        }
    }

    /// Whether it is currently considered down.
    pub fn is_down(&self) -> bool {
        self.down
    }
}

/// The ordered upstream set.
#[derive(Debug, Default)]
pub struct Upstreams {
    list: Vec<Upstream>,
}

/// Most upstreams tracked (bit mask of tried upstreams per query is a u64).
pub const MAX_UPSTREAMS: usize = 16;

impl Upstreams {
    /// Replaces the set; upstreams that stay keep their health and RTT.
    pub fn set(&mut self, addrs: &[SocketAddr]) {
        let mut next = Vec::with_capacity(addrs.len().min(MAX_UPSTREAMS));
        for a in addrs.iter().take(MAX_UPSTREAMS) {
            if next.iter().any(|u: &Upstream| u.addr == *a) {
                continue;
            }
            let kept = self.list.iter().find(|u| u.addr == *a).cloned();
            next.push(kept.unwrap_or_else(|| Upstream::new(*a)));
        }
        self.list = next;
    }

    /// Configured addresses in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.list.iter().map(|u| u.addr).collect()
    }

    /// Whether no upstream is known.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether every known upstream is marked down (false with none known):
    /// then a query gets one short try per upstream and SERVFAIL, not the
    /// whole query deadline.
    pub fn all_down(&self) -> bool {
        !self.list.is_empty() && self.list.iter().all(|u| u.down)
    }

    /// Whether a TCP attempt to upstream `idx` may be made at `now`: not
    /// backing off after a failure, and fewer than [`TCP_PER_SECOND`] in the
    /// current second. A `true` answer counts as an attempt made.
    pub fn take_tcp(&mut self, idx: usize, now: Instant) -> bool {
        let Some(u) = self.list.get_mut(idx) else {
            return true;
        };
        if u.tcp_blocked_until.is_some_and(|t| t > now) {
            return false;
        }
        match &mut u.tcp_window {
            Some((start, n)) if now.saturating_duration_since(*start) < Duration::from_secs(1) => {
                if *n >= TCP_PER_SECOND {
                    return false;
                }
                *n += 1;
            }
            w => *w = Some((now, 1)),
        }
        true
    }

    /// Records a failed TCP attempt (refused, reset or timed out): no TCP to
    /// this upstream for the backoff, which doubles while failures repeat.
    /// Returns the backoff if TCP was allowed until now (the caller logs
    /// once per episode).
    pub fn on_tcp_failure(&mut self, idx: usize, now: Instant) -> Option<Duration> {
        let u = self.list.get_mut(idx)?;
        u.tcp_failures += 1;
        let was_open = u.tcp_blocked_until.is_none_or(|t| t <= now);
        let backoff = u.tcp_backoff;
        u.tcp_blocked_until = Some(now + backoff);
        u.tcp_backoff = (backoff * 2).min(TCP_BACKOFF_MAX);
        was_open.then_some(backoff)
    }

    /// Records a TCP answer: TCP works again, the backoff restarts.
    pub fn on_tcp_answer(&mut self, idx: usize) {
        if let Some(u) = self.list.get_mut(idx) {
            if u.tcp_backoff != TCP_BACKOFF_FIRST {
                log::info!(
                    "upstream {} answers over TCP again ({} TCP failures so far)",
                    u.addr,
                    u.tcp_failures
                );
            }
            u.tcp_blocked_until = None;
            u.tcp_backoff = TCP_BACKOFF_FIRST;
        }
    }

    /// Index of an upstream by address.
    pub fn find(&self, addr: SocketAddr) -> Option<usize> {
        self.list.iter().position(|u| u.addr == addr)
    }

    /// Upstream by index.
    pub fn get(&self, idx: usize) -> Option<&Upstream> {
        self.list.get(idx)
    }

    /// Chooses the upstream for the next attempt: the first healthy one not
    /// yet tried for this query, else the first down one not yet tried.
    pub fn pick(&self, tried: u64) -> Option<usize> {
        let untried = |i: &usize| tried & (1u64 << i) == 0;
        let healthy = (0..self.list.len())
            .filter(untried)
            .find(|&i| self.list.get(i).is_some_and(|u| !u.down));
        healthy.or_else(|| (0..self.list.len()).find(untried))
    }

    /// Retransmission timeout for an attempt to upstream `idx`.
    pub fn rto(&self, idx: usize) -> Duration {
        match self
            .list
            .get(idx)
            .and_then(|u| u.srtt_us.map(|s| s + 4 * u.rttvar_us))
        {
            Some(us) => Duration::from_micros(us).clamp(RTO_MIN, RTO_MAX),
            None => RTO_INITIAL,
        }
    }

    /// Retransmission timeout when no other upstream is left to try: the
    /// estimator's own value, not clamped for fast failover (a slow but
    /// working resolver must not get the same query again and again).
    pub fn rto_patient(&self, idx: usize) -> Duration {
        match self
            .list
            .get(idx)
            .and_then(|u| u.srtt_us.map(|s| s + 4 * u.rttvar_us))
        {
            Some(us) => Duration::from_micros(us).clamp(RTO_MIN, RTO_PATIENT_MAX),
            None => RTO_INITIAL,
        }
    }

    /// Counts a query sent.
    pub fn on_sent(&mut self, idx: usize) {
        if let Some(u) = self.list.get_mut(idx) {
            u.queries += 1;
        }
    }

    /// Records an answer and its round-trip time (RFC 6298 2.2/2.3).
    pub fn on_answer(&mut self, idx: usize, rtt: Duration) {
        let Some(u) = self.list.get_mut(idx) else {
            return;
        };
        let r = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX / 8);
        match u.srtt_us {
            None => {
                u.srtt_us = Some(r);
                u.rttvar_us = r / 2;
            }
            Some(s) => {
                u.rttvar_us = (3 * u.rttvar_us + s.abs_diff(r)) / 4;
                u.srtt_us = Some((7 * s + r) / 8);
            }
        }
        u.answers += 1;
        u.consecutive_failures = 0;
        if u.down {
            log::info!("upstream {} answers again, marked up", u.addr);
        }
        u.down = false;
        u.probe_backoff = PROBE_FIRST;
        u.next_probe = None;
    }

    /// Records a failed attempt; `hard` (an ICMP error or a refused
    /// connection, named by `why`) marks it down at once. Returns the time of
    /// the next probe if it just went down.
    pub fn on_failure(&mut self, idx: usize, hard: Option<&str>, now: Instant) -> Option<Instant> {
        let u = self.list.get_mut(idx)?;
        u.failures += 1;
        u.consecutive_failures += 1;
        if !u.down && (hard.is_some() || u.consecutive_failures >= DOWN_AFTER_TIMEOUTS) {
            u.down = true;
            match hard {
                Some(why) => log::warn!("upstream {} marked down ({why})", u.addr),
                None => log::warn!(
                    "upstream {} marked down ({} timeouts in a row)",
                    u.addr,
                    u.consecutive_failures
                ),
            }
            let at = now + u.probe_backoff;
            u.next_probe = Some(at);
            return Some(at);
        }
        None
    }

    /// Upstreams whose probe is due; each gets its next probe time pushed out
    /// with exponential backoff. Returns (index, next probe time).
    pub fn due_probes(&mut self, now: Instant) -> Vec<(usize, Instant)> {
        let mut due = Vec::new();
        for (i, u) in self.list.iter_mut().enumerate() {
            if let Some(t) = u.next_probe
                && u.down
                && t <= now
            {
                u.probe_backoff = (u.probe_backoff * 2).min(PROBE_MAX);
                let next = now + u.probe_backoff;
                u.next_probe = Some(next);
                due.push((i, next));
            }
        }
        due
    }

    /// Status for operators.
    pub fn status(&self) -> Vec<UpstreamStatus> {
        self.list
            .iter()
            .map(|u| UpstreamStatus {
                address: u.addr.to_string(),
                health: if u.down { "down" } else { "up" }.to_string(),
                srtt_ms: u.srtt_us.map(|s| s as f64 / 1000.0),
                queries: u.queries,
                answers: u.answers,
                failures: u.failures,
                tcp_failures: u.tcp_failures,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> Vec<SocketAddr> {
        vec![
            "192.0.2.1:53".parse().unwrap(),
            "[2001:db8::1]:53".parse().unwrap(),
        ]
    }

    #[test]
    fn picks_first_healthy_then_fails_over_and_returns() {
        let t0 = Instant::now();
        let mut u = Upstreams::default();
        u.set(&addrs());
        assert_eq!(u.pick(0), Some(0));
        assert_eq!(u.pick(0b1), Some(1));
        assert_eq!(u.pick(0b11), None);
        let probe_at = u.on_failure(0, Some("port unreachable"), t0).unwrap();
        assert_eq!(probe_at, t0 + PROBE_FIRST);
        assert_eq!(u.pick(0), Some(1));
        assert_eq!(u.pick(0b10), Some(0), "a down upstream is the last resort");
        assert!(u.due_probes(t0).is_empty());
        assert_eq!(u.due_probes(probe_at).len(), 1);
        u.on_answer(0, Duration::from_millis(5));
        assert_eq!(u.pick(0), Some(0));
    }

    #[test]
    fn soft_failures_mark_down_after_three() {
        let t0 = Instant::now();
        let mut u = Upstreams::default();
        u.set(&addrs());
        assert!(u.on_failure(0, None, t0).is_none());
        assert!(u.on_failure(0, None, t0).is_none());
        assert!(u.on_failure(0, None, t0).is_some());
        assert!(u.get(0).unwrap().is_down());
    }

    #[test]
    fn rto_tracks_rtt_within_clamps() {
        let mut u = Upstreams::default();
        u.set(&addrs());
        assert_eq!(u.rto(0), RTO_INITIAL);
        u.on_answer(0, Duration::from_micros(200));
        assert_eq!(u.rto(0), RTO_MIN);
        for _ in 0..20 {
            u.on_answer(1, Duration::from_secs(2));
        }
        assert_eq!(u.rto(1), RTO_MAX);
        assert!(u.rto_patient(1) > RTO_MAX);
        assert!(u.rto_patient(1) <= RTO_PATIENT_MAX);
    }

    #[test]
    fn tcp_is_rate_bounded_and_backs_off_after_failures() {
        let t0 = Instant::now();
        let mut u = Upstreams::default();
        u.set(&addrs());
        let granted = (0..100).filter(|_| u.take_tcp(0, t0)).count();
        assert_eq!(granted, TCP_PER_SECOND as usize);
        assert!(u.take_tcp(1, t0), "per upstream");
        let t1 = t0 + Duration::from_secs(1);
        assert!(u.take_tcp(0, t1), "next second");
        assert_eq!(u.on_tcp_failure(0, t1), Some(TCP_BACKOFF_FIRST));
        assert_eq!(u.on_tcp_failure(0, t1), None, "logged once per episode");
        assert!(!u.take_tcp(0, t1 + Duration::from_millis(1500)));
        assert!(u.take_tcp(0, t1 + Duration::from_secs(2)));
        u.on_tcp_answer(0);
        assert_eq!(u.on_tcp_failure(0, t1), Some(TCP_BACKOFF_FIRST));
        assert!(
            !u.get(0).unwrap().is_down(),
            "TCP failures leave UDP health alone"
        );
    }

    #[test]
    fn set_keeps_state_of_retained_upstreams() {
        let t0 = Instant::now();
        let mut u = Upstreams::default();
        u.set(&addrs());
        u.on_failure(1, Some("port unreachable"), t0);
        let a = addrs();
        u.set(&[a[1], "198.51.100.1:53".parse().unwrap()]);
        assert!(u.get(0).unwrap().is_down());
        assert!(!u.get(1).unwrap().is_down());
    }
}
