//! RA timing jitter from the shared deterministic generator
//! ([`cpe_daemon::SplitMix64`]).
//!
//! The engine must not read entropy itself (sans-IO: tests replay exact
//! schedules from a seed); the driver seeds it once. Timing jitter only has to
//! desynchronise routers on a link (RFC 4861 6.2.4), not resist prediction.

use cpe_daemon::SplitMix64;
use std::time::Duration;

/// The RA engine's generator.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform duration in `[low, high]` at nanosecond resolution (`low` if
    /// the range is empty or inverted).
    pub fn duration_between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_nanos();
        if span == 0 {
            return low;
        }
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        let offset = if span == u64::MAX {
            self.next_u64()
        } else {
            self.next_u64() % (span + 1)
        };
        low + Duration::from_nanos(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let (lo, hi) = (Duration::from_secs(200), Duration::from_secs(600));
        let samples: Vec<_> = (0..10_000).map(|_| rng.duration_between(lo, hi)).collect();
        assert!(samples.iter().all(|d| *d >= lo && *d <= hi));
        // Uniform enough: both the lowest and highest tenth are hit.
        assert!(samples.iter().any(|d| *d < Duration::from_secs(240)));
        assert!(samples.iter().any(|d| *d > Duration::from_secs(560)));
        assert_eq!(rng.duration_between(hi, lo), hi);
    }
}
