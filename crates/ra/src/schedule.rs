//! When the next multicast RA goes out (RFC 4861 6.2.4 and 6.2.6).
//!
//! One deadline drives everything: unsolicited RAs, answers to Router
//! Solicitations (merged into the next RA when it is due soon anyway) and the
//! MIN_DELAY_BETWEEN_RAS rate limit. Keeping this apart from RA content makes
//! the timing rules testable on their own.

use std::time::{Duration, Instant};

use crate::config::{
    MAX_INITIAL_RTR_ADVERT_INTERVAL, MAX_INITIAL_RTR_ADVERTISEMENTS, MAX_RA_DELAY_TIME,
    MIN_DELAY_BETWEEN_RAS,
};
use cpe_sys::random::Rng;

/// Timing state of one advertising interface.
#[derive(Debug, Clone)]
pub struct Schedule {
    min_interval: Duration,
    max_interval: Duration,
    /// Upper bound on MaxRtrAdvInterval from the advertised lifetimes (see
    /// [`Schedule::limit_interval`]).
    lifetime_cap: Option<Duration>,
    /// Fast (capped-interval) RAs still to send.
    initial_left: u8,
    next_unsolicited: Instant,
    last_multicast: Option<Instant>,
    /// Solicitations waiting for an answer, and when it is due.
    pending_rs: Option<PendingAnswer>,
}

#[derive(Debug, Clone, Copy)]
struct PendingAnswer {
    due: Instant,
    solicitations: u32,
}

/// What a due RA is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// Solicitations this RA answers (0 = purely unsolicited).
    pub solicitations: u32,
}

impl Schedule {
    /// Starts advertising: the first RA is due at once, the next ones fast.
    pub fn new(min_interval: Duration, max_interval: Duration, now: Instant) -> Self {
        Schedule {
            min_interval,
            max_interval,
            lifetime_cap: None,
            initial_left: MAX_INITIAL_RTR_ADVERTISEMENTS,
            next_unsolicited: now,
            last_multicast: None,
            pending_rs: None,
        }
    }

    /// Earliest moment a multicast RA may leave (rate limit).
    fn earliest_allowed(&self, now: Instant) -> Instant {
        match self.last_multicast {
            Some(last) => now.max(last + MIN_DELAY_BETWEEN_RAS),
            None => now,
        }
    }

    /// When the next RA is due.
    pub fn deadline(&self) -> Instant {
        match self.pending_rs {
            Some(p) => p.due.min(self.next_unsolicited),
            None => self.next_unsolicited,
        }
    }

    /// Whether an RA is due at `now`, and how many solicitations it answers.
    pub fn due(&self, now: Instant) -> Option<Due> {
        (now >= self.deadline()).then(|| Due {
            solicitations: self.pending_rs.map_or(0, |p| p.solicitations),
        })
    }

    /// Records that a multicast RA left at `now` and arms the next one.
    pub fn sent(&mut self, now: Instant, rng: &mut Rng) {
        self.last_multicast = Some(now);
        self.pending_rs = None;
        let (min, max) = self.intervals();
        let mut interval = rng.duration_between(min, max);
        if self.initial_left > 0 {
            self.initial_left -= 1;
            if self.initial_left > 0 {
                interval = interval.min(MAX_INITIAL_RTR_ADVERT_INTERVAL);
            }
        }
        self.next_unsolicited = now + interval.max(MIN_DELAY_BETWEEN_RAS);
    }

    /// MinRtrAdvInterval and MaxRtrAdvInterval in force: the configured ones,
    /// with the maximum lowered to the lifetime cap and the minimum kept at
    /// 0.75 of it (RFC 4861 6.2.1), never below MIN_DELAY_BETWEEN_RAS.
    fn intervals(&self) -> (Duration, Duration) {
        match self.lifetime_cap {
            Some(cap) if cap < self.max_interval => {
                let max = cap.max(MIN_DELAY_BETWEEN_RAS);
                let min = self
                    .min_interval
                    .min(max.mul_f64(0.75))
                    .max(MIN_DELAY_BETWEEN_RAS);
                (min, max)
            }
            _ => (self.min_interval, self.max_interval),
        }
    }

    /// Caps MaxRtrAdvInterval at `cap` (None: no cap) so hosts hear an RA
    /// several times within the shortest preferred lifetime advertised;
    /// the current deadline is pulled in if it is now too far.
    pub fn limit_interval(&mut self, cap: Option<Duration>, now: Instant) {
        if cap == self.lifetime_cap {
            return;
        }
        self.lifetime_cap = cap;
        let (_, max) = self.intervals();
        let latest = self.earliest_allowed(now).max(now + max);
        self.next_unsolicited = self.next_unsolicited.min(latest);
    }

    /// Hosts hold stale lifetimes: send one RA as soon as the rate limit
    /// allows, without the fast series of an information change.
    pub fn refresh(&mut self, now: Instant) {
        self.next_unsolicited = self.next_unsolicited.min(self.earliest_allowed(now));
    }

    /// A valid RS arrived (RFC 4861 6.2.6).
    pub fn solicited(&mut self, now: Instant, rng: &mut Rng) {
        if let Some(p) = &mut self.pending_rs {
            // One answer for several solicitations: its delay counts from the first.
            p.solicitations = p.solicitations.saturating_add(1);
            return;
        }
        let delay = rng.duration_between(Duration::ZERO, MAX_RA_DELAY_TIME);
        let due = match self.last_multicast {
            Some(last) if now < last + MIN_DELAY_BETWEEN_RAS => {
                last + MIN_DELAY_BETWEEN_RAS + delay
            }
            _ => now + delay,
        };
        // An RA already scheduled earlier answers it as well.
        let due = due.min(self.next_unsolicited.max(now));
        self.pending_rs = Some(PendingAnswer {
            due,
            solicitations: 1,
        });
    }

    /// The advertised information changed (RFC 4861 6.2.4): send soon, then
    /// up to MAX_INITIAL_RTR_ADVERTISEMENTS fast ones, still rate limited.
    pub fn information_changed(&mut self, now: Instant) {
        self.initial_left = MAX_INITIAL_RTR_ADVERTISEMENTS;
        self.refresh(now);
    }

    /// Schedules one RA as soon as the rate limit allows (final RA).
    pub fn send_asap(&mut self, now: Instant) {
        self.next_unsolicited = self.earliest_allowed(now);
    }

    /// When the last multicast RA left.
    pub fn last_multicast(&self) -> Option<Instant> {
        self.last_multicast
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn information_change_respects_rate_limit() {
        let t0 = Instant::now();
        let mut rng = Rng::new(1);
        let mut s = Schedule::new(secs(200), secs(600), t0);
        assert!(s.due(t0).is_some());
        s.sent(t0, &mut rng);
        s.information_changed(t0 + secs(1));
        assert_eq!(s.deadline(), t0 + secs(3));
    }

    #[test]
    fn rs_answer_is_merged_into_an_earlier_unsolicited_ra() {
        let t0 = Instant::now();
        let mut rng = Rng::new(2);
        let mut s = Schedule::new(secs(3), secs(4), t0);
        s.sent(t0, &mut rng);
        let next = s.deadline();
        // RS right after the rate-limit window opens but the unsolicited RA is
        // due within the random delay anyway.
        s.solicited(next - Duration::from_millis(1), &mut rng);
        assert!(s.deadline() <= next);
        assert_eq!(s.due(next), Some(Due { solicitations: 1 }));
    }
}
