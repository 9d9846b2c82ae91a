//! Per-source rate limiting, so one LAN host in a loop cannot eat the CPU
//! of a router with one slow core.
//!
//! A token bucket per source, keyed by whatever the daemon knows the sender
//! by (a hardware address, an IPv6 address). Honest clients send a few
//! messages per exchange and retransmit seconds apart (RFC 2131 4.1,
//! RFC 8415 15), so a burst of [`RateLimiter::burst`] and a refill of
//! [`RateLimiter::per_second`] chosen by the daemon never touch them, while
//! a client in a loop is dropped before it costs parsing, replies or flash
//! writes. The table has a fixed capacity; when full, the entry seen
//! longest ago is replaced, so a flood of spoofed sources costs bounded
//! memory and only the flooders share the penalty.
//!
//! Time is passed in, never read, so the engines that use it stay sans-IO
//! and their tests run in virtual time.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by source.
#[derive(Debug, Clone)]
pub struct RateLimiter<K> {
    buckets: HashMap<K, Bucket>,
    capacity: usize,
    burst: f64,
    per_second: f64,
}

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// A limiter allowing `burst` messages at once and `per_second` on
    /// average from each of at most `capacity` tracked sources.
    pub fn new(capacity: usize, burst: u32, per_second: u32) -> Self {
        Self {
            buckets: HashMap::with_capacity(capacity.min(64)),
            capacity: capacity.max(1),
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_second),
        }
    }

    /// The burst size.
    pub fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// The sustained rate.
    pub fn per_second(&self) -> u32 {
        self.per_second as u32
    }

    /// Takes a token for `source` at `now`; false means "drop this one".
    pub fn allow(&mut self, source: K, now: Instant) -> bool {
        if !self.buckets.contains_key(&source) && self.buckets.len() >= self.capacity {
            let oldest = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.buckets.remove(&k);
            }
        }
        let (burst, rate) = (self.burst, self.per_second);
        let b = self.buckets.entry(source).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now.max(b.last);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Number of sources tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_source() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(4, 3, 2);
        assert!((0..3).all(|_| l.allow(1u32, t0)));
        assert!(!l.allow(1, t0), "burst used up");
        assert!(l.allow(2, t0), "other sources unaffected");
        assert!(!l.allow(1, t0 + Duration::from_millis(400)));
        assert!(
            l.allow(1, t0 + Duration::from_millis(500)),
            "one token per 0.5 s"
        );
        assert!(!l.allow(1, t0 + Duration::from_millis(600)));
        // Refill is capped at the burst.
        let later = t0 + Duration::from_secs(100);
        assert!((0..3).all(|_| l.allow(1, later)));
        assert!(!l.allow(1, later));
    }

    #[test]
    fn table_is_bounded_and_evicts_the_stalest() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(2, 1, 0);
        assert!(l.allow(1u32, t0));
        assert!(l.allow(2, t0 + Duration::from_secs(1)));
        assert!(l.allow(3, t0 + Duration::from_secs(2)), "evicts source 1");
        assert_eq!(l.tracked(), 2);
        assert!(
            !l.allow(2, t0 + Duration::from_secs(3)),
            "source 2 kept its state"
        );
        assert!(
            l.allow(1, t0 + Duration::from_secs(4)),
            "source 1 starts afresh"
        );
    }
}
