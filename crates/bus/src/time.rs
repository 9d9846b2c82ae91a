//! A point in time that means the same thing in every process of the router.
//!
//! Lifetimes (of prefixes, leases) cross process boundaries on the bus.
//! `std::time::Instant` cannot be serialised and wall-clock time jumps when NTP
//! syncs, so deadlines travel as milliseconds of `CLOCK_MONOTONIC`, which is
//! one clock for the whole system and never goes backwards.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Milliseconds of `CLOCK_MONOTONIC` (time since boot, excluding suspend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MonoTime(pub u64);

impl MonoTime {
    /// The current monotonic time.
    pub fn now() -> MonoTime {
        MonoTime(cpe_sys::process::monotonic_ms())
    }

    /// Converts an `Instant` of this process (as used by the sans-IO engines)
    /// into bus time.
    ///
    /// The conversion goes through one anchor pair taken once per process,
    /// so the same `Instant` always maps to the same `MonoTime`: a lease
    /// republished unchanged must not look like a new one to the supervisor.
    pub fn from_instant(at: Instant) -> MonoTime {
        static ANCHOR: std::sync::OnceLock<(Instant, MonoTime)> = std::sync::OnceLock::new();
        let (anchor_i, anchor_m) = *ANCHOR.get_or_init(|| (Instant::now(), MonoTime::now()));
        if at >= anchor_i {
            anchor_m.after(at - anchor_i)
        } else {
            MonoTime(
                anchor_m
                    .0
                    .saturating_sub((anchor_i - at).as_millis() as u64),
            )
        }
    }

    /// This time plus a duration (saturating: "infinite" stays infinite).
    pub fn after(self, d: Duration) -> MonoTime {
        MonoTime(
            self.0
                .saturating_add(d.as_millis().min(u64::MAX as u128) as u64),
        )
    }

    /// Whole seconds from `now` until this time; 0 once it has passed.
    pub fn secs_after(self, now: MonoTime) -> u64 {
        self.0.saturating_sub(now.0) / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_map_to_monotonic_time() {
        let now = MonoTime::now();
        let later = MonoTime::from_instant(Instant::now() + Duration::from_secs(10));
        let diff = later.0 - now.0;
        assert!((9_900..=10_100).contains(&diff), "diff {diff}");
        assert_eq!(later.secs_after(later), 0);
        assert_eq!(MonoTime(5000).secs_after(MonoTime(1000)), 4);
        assert_eq!(MonoTime(1000).secs_after(MonoTime(5000)), 0);
        let at = Instant::now() + Duration::from_millis(1234);
        let first = MonoTime::from_instant(at);
        std::thread::sleep(Duration::from_millis(3));
        assert_eq!(
            MonoTime::from_instant(at),
            first,
            "conversion must be stable"
        );
    }
}
