//! RFC 8415 section 15: reliability of client-initiated exchanges.
//!
//! Each exchange has IRT (initial retransmission time), MRT (maximum), MRC
//! (maximum count of transmissions) and MRD (maximum duration). Timeouts
//! follow, with RAND uniform in [-0.1, +0.1]:
//!
//! ```text
//! RT = IRT + RAND*IRT                    first timeout
//! RT = 2*RTprev + RAND*RTprev            each following one
//! RT = MRT + RAND*MRT                    if that exceeded MRT (MRT != 0)
//! ```
//!
//! For Solicit the first RAND is strictly positive (section 18.2.1), so the
//! Advertise collection window is always longer than IRT. Arithmetic is in
//! microseconds with RAND in millionths, so no floating point is needed.

use std::time::{Duration, Instant};

use cpe_sys::random::Rng;

/// The four parameters of one message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Initial retransmission time.
    pub irt: Duration,
    /// Maximum retransmission time; zero means no cap.
    pub mrt: Duration,
    /// Maximum number of transmissions; zero means no limit.
    pub mrc: u32,
    /// Maximum duration, measured from the first transmission; `None` means
    /// no limit (Renew and Rebind use absolute ends instead, see [`Retransmit::start`]).
    pub mrd: Option<Duration>,
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// RFC 8415 section 7.6 constants, one [`Params`] per exchange.
pub mod rfc {
    use super::{Duration, Params, secs};

    /// Random delay before the first Solicit (SOL_MAX_DELAY).
    pub const SOL_MAX_DELAY: Duration = secs(1);
    /// Random delay before a verifying Rebind after restart (CNF_MAX_DELAY).
    pub const CNF_MAX_DELAY: Duration = secs(1);
    /// Default SOL_MAX_RT; a server may change it (option 82).
    pub const SOL_MAX_RT: Duration = secs(3600);
    /// Default INF_MAX_RT; a server may change it (option 83).
    pub const INF_MAX_RT: Duration = secs(3600);
    /// Bounds a server-sent SOL_MAX_RT / INF_MAX_RT must respect (21.24, 21.25).
    pub const MAX_RT_BOUNDS: std::ops::RangeInclusive<u32> = 60..=86400;

    /// Solicit: SOL_TIMEOUT 1 s, SOL_MAX_RT (default 3600 s), no MRC/MRD.
    pub fn solicit(sol_max_rt: Duration) -> Params {
        Params {
            irt: secs(1),
            mrt: sol_max_rt,
            mrc: 0,
            mrd: None,
        }
    }
    /// Request: REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10.
    pub const REQUEST: Params = Params {
        irt: secs(1),
        mrt: secs(30),
        mrc: 10,
        mrd: None,
    };
    /// Renew: REN_TIMEOUT 10 s, REN_MAX_RT 600 s, until T2.
    pub const RENEW: Params = Params {
        irt: secs(10),
        mrt: secs(600),
        mrc: 0,
        mrd: None,
    };
    /// Rebind: REB_TIMEOUT 10 s, REB_MAX_RT 600 s, until all leases expire.
    pub const REBIND: Params = Params {
        irt: secs(10),
        mrt: secs(600),
        mrc: 0,
        mrd: None,
    };
    /// Rebind that verifies bindings after a restart or link change uses the
    /// Confirm parameters (18.2.12): CNF_TIMEOUT 1 s, CNF_MAX_RT 4 s,
    /// CNF_MAX_RD 10 s.
    pub const VERIFY_REBIND: Params = Params {
        irt: secs(1),
        mrt: secs(4),
        mrc: 0,
        mrd: Some(secs(10)),
    };
    /// Decline: DEC_TIMEOUT 1 s, DEC_MAX_RC 4.
    pub const DECLINE: Params = Params {
        irt: secs(1),
        mrt: Duration::ZERO,
        mrc: 4,
        mrd: None,
    };
    /// Release: REL_TIMEOUT 1 s, REL_MAX_RC 4.
    pub const RELEASE: Params = Params {
        irt: secs(1),
        mrt: Duration::ZERO,
        mrc: 4,
        mrd: None,
    };
    /// Random delay before the first Information-request (INF_MAX_DELAY).
    pub const INF_MAX_DELAY: Duration = secs(1);
    /// Information Refresh Time when the server sends none (IRT_DEFAULT).
    pub const IRT_DEFAULT: Duration = secs(86400);
    /// Shortest refresh time a client accepts (IRT_MINIMUM).
    pub const IRT_MINIMUM: Duration = secs(600);
    /// Information-request as a fallback beside Solicit: INF_TIMEOUT 1 s,
    /// INF_MAX_RT (default 3600 s), and, unlike a stateless-only client's
    /// endless exchange, at most 4 transmissions (about 15 s): the
    /// suspended Solicit must go on looking for a prefix, and the fallback
    /// is tried again later (see `Client`'s fallback rules).
    pub fn information_fallback(inf_max_rt: Duration) -> Params {
        Params {
            irt: secs(1),
            mrt: inf_max_rt,
            mrc: 4,
            mrd: None,
        }
    }
}

/// RAND bounds in millionths: [-0.1, +0.1].
const RAND_MAX: i64 = 100_000;
const MILLION: i128 = 1_000_000;

/// `base + RAND*base` for RAND in millionths, never negative.
fn jittered(base: Duration, rand_millionths: i64) -> Duration {
    let us = base.as_micros() as i128;
    let v = us + us * i128::from(rand_millionths) / MILLION;
    Duration::from_micros(v.clamp(0, i128::from(u64::MAX)) as u64)
}

/// `2*prev + RAND*prev` for RAND in millionths.
fn doubled_jittered(prev: Duration, rand_millionths: i64) -> Duration {
    let us = prev.as_micros() as i128;
    let v = 2 * us + us * i128::from(rand_millionths) / MILLION;
    Duration::from_micros(v.clamp(0, i128::from(u64::MAX)) as u64)
}

/// Retransmission state of the exchange in progress.
#[derive(Debug, Clone)]
pub struct Retransmit {
    params: Params,
    /// Transmissions so far (the first one included).
    count: u32,
    /// The current timeout.
    rt: Duration,
    /// When the current timeout runs out.
    next_at: Instant,
    /// When the whole exchange gives up (MRD, or an absolute end such as T2).
    end: Option<Instant>,
}

/// What to do when [`Retransmit::deadline`] has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Send the message again (the retransmission count was advanced).
    Retransmit,
    /// MRC or MRD reached: the exchange failed.
    GiveUp,
    /// Not yet.
    NotYet,
}

impl Retransmit {
    /// Starts the timer for a message transmitted at `now`.
    ///
    /// `end` is an absolute limit on top of MRD (T2 for Renew, the last
    /// valid lifetime for Rebind); `first_rand_positive` is set for Solicit.
    pub fn start(
        params: Params,
        now: Instant,
        end: Option<Instant>,
        first_rand_positive: bool,
        rng: &mut Rng,
    ) -> Self {
        let lo = if first_rand_positive { 1 } else { -RAND_MAX };
        let rt = jittered(params.irt, rng.between(lo, RAND_MAX));
        let mrd_end = params.mrd.and_then(|d| now.checked_add(d));
        let end = match (mrd_end, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            params,
            count: 1,
            rt,
            next_at: now.checked_add(rt).unwrap_or(now),
            end,
        }
    }

    /// The earliest moment [`Retransmit::on_timer`] has something to do.
    pub fn deadline(&self) -> Instant {
        match self.end {
            Some(e) => e.min(self.next_at),
            None => self.next_at,
        }
    }

    /// Transmissions so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The current timeout (for tests and status).
    pub fn rt(&self) -> Duration {
        self.rt
    }

    /// Applies a new MRT from now on (a server's SOL_MAX_RT / INF_MAX_RT).
    pub fn set_mrt(&mut self, mrt: Duration) {
        self.params.mrt = mrt;
    }

    /// Decides at `now` whether to retransmit or give up.
    pub fn on_timer(&mut self, now: Instant, rng: &mut Rng) -> Timeout {
        if self.end.is_some_and(|e| now >= e) {
            return Timeout::GiveUp;
        }
        if now < self.next_at {
            return Timeout::NotYet;
        }
        if self.params.mrc != 0 && self.count >= self.params.mrc {
            return Timeout::GiveUp;
        }
        let mut rt = doubled_jittered(self.rt, rng.between(-RAND_MAX, RAND_MAX));
        if !self.params.mrt.is_zero() && rt > self.params.mrt {
            rt = jittered(self.params.mrt, rng.between(-RAND_MAX, RAND_MAX));
        }
        self.rt = rt;
        self.count += 1;
        self.next_at = now.checked_add(rt).unwrap_or(now);
        Timeout::Retransmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_solicit_timeout_is_strictly_above_irt() {
        let now = Instant::now();
        for seed in 1..500 {
            let mut rng = Rng::new(seed);
            let r = Retransmit::start(rfc::solicit(rfc::SOL_MAX_RT), now, None, true, &mut rng);
            assert!(
                r.rt() > secs(1) && r.rt() <= Duration::from_millis(1100),
                "{:?}",
                r.rt()
            );
        }
    }

    #[test]
    fn request_gives_up_after_ten_transmissions() {
        let mut rng = Rng::new(7);
        let mut now = Instant::now();
        let mut r = Retransmit::start(rfc::REQUEST, now, None, false, &mut rng);
        let mut sent = 1;
        loop {
            now = r.deadline();
            match r.on_timer(now, &mut rng) {
                Timeout::Retransmit => sent += 1,
                Timeout::GiveUp => break,
                Timeout::NotYet => unreachable!(),
            }
            assert!(r.rt() <= Duration::from_secs(33), "capped near REQ_MAX_RT");
        }
        assert_eq!(sent, 10);
    }

    #[test]
    fn timeouts_double_within_jitter_and_cap_at_mrt() {
        let mut rng = Rng::new(3);
        let mut now = Instant::now();
        let mut r = Retransmit::start(rfc::RENEW, now, None, false, &mut rng);
        let mut prev = r.rt();
        for _ in 0..20 {
            now = r.deadline();
            assert_eq!(r.on_timer(now, &mut rng), Timeout::Retransmit);
            let rt = r.rt();
            let capped = rt >= secs(540) && rt <= secs(660);
            let doubled = rt >= prev.mul_f64(1.9) && rt <= prev.mul_f64(2.1);
            assert!(capped || doubled, "{prev:?} -> {rt:?}");
            prev = rt;
        }
        assert!(prev >= secs(540));
    }

    #[test]
    fn absolute_end_stops_the_exchange() {
        let mut rng = Rng::new(3);
        let now = Instant::now();
        let end = now + secs(15);
        let mut r = Retransmit::start(rfc::RENEW, now, Some(end), false, &mut rng);
        assert_eq!(r.on_timer(r.deadline(), &mut rng), Timeout::Retransmit);
        assert_eq!(r.deadline(), end, "second RT (~20 s) is cut at the end");
        assert_eq!(r.on_timer(end, &mut rng), Timeout::GiveUp);
    }
}
