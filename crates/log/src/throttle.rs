//! Rate limiting for log lines a LAN host can trigger at will.
//!
//! A host in a loop (or an attacker) can make a daemon log one line per
//! datagram: a DHCPNAK per REQUEST, a failed send per reply. On a router
//! the log goes to a small RAM buffer or a serial console, so a flood
//! pushes out every line an engineer needs and costs CPU at 115200 baud.
//! A [`LogThrottle`] per log site lets the first lines of a burst through,
//! counts the rest, and reports the count with the next line that passes
//! (or from the daemon's periodic tick with [`LogThrottle::take_summary`]),
//! so nothing is lost silently: the engineer sees that lines were dropped
//! and how many.
//!
//! It never reads the clock: callers pass `now`, as the engines do, so
//! tests run in virtual time.

use std::time::{Duration, Instant};

/// Lets `burst` lines through per `window`; counts the others.
#[derive(Debug, Clone)]
pub struct LogThrottle {
    burst: u32,
    window: Duration,
    /// Start of the current window; `None` before the first line.
    start: Option<Instant>,
    passed: u32,
    suppressed: u64,
}

impl LogThrottle {
    /// A throttle passing `burst` lines per `window`.
    pub const fn new(burst: u32, window: Duration) -> Self {
        Self {
            burst,
            window,
            start: None,
            passed: 0,
            suppressed: 0,
        }
    }

    /// Asks whether a line may be logged at `now`. `Some(n)`: log it, and
    /// say that `n` similar lines were suppressed before it (see
    /// [`suppressed_note`]); `None`: drop it (it is counted).
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        let fresh = self
            .start
            .is_none_or(|s| now.saturating_duration_since(s) >= self.window);
        if fresh {
            self.start = Some(now);
            self.passed = 0;
        }
        if self.passed < self.burst {
            self.passed += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }

    /// Lines suppressed and not yet reported, once their window is over:
    /// a daemon calls this from its periodic tick and logs one summary
    /// line, so a burst that simply stops is still accounted for.
    pub fn take_summary(&mut self, now: Instant) -> Option<u64> {
        let over = self
            .start
            .is_some_and(|s| now.saturating_duration_since(s) >= self.window);
        if over && self.suppressed > 0 {
            self.start = None;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            None
        }
    }

    /// Lines suppressed so far and not yet reported.
    pub fn pending(&self) -> u64 {
        self.suppressed
    }
}

/// The tail appended to a line that passed after others were suppressed:
/// empty for 0, else ` (N similar lines suppressed)`.
pub fn suppressed_note(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => " (1 similar line suppressed)".to_string(),
        n => format!(" ({n} similar lines suppressed)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_the_rest_is_counted_and_reported() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = LogThrottle::new(3, Duration::from_secs(1));
        let got: Vec<_> = (0..1000).map(|i| t.check(t0 + ms(i))).collect();
        assert_eq!(&got[..3], &[Some(0), Some(0), Some(0)]);
        assert!(got[3..].iter().all(Option::is_none), "997 suppressed");
        assert_eq!(t.pending(), 997);
        // Next window: the first line carries the count.
        assert_eq!(t.check(t0 + ms(1000)), Some(997));
        assert_eq!(t.check(t0 + ms(1001)), Some(0));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn a_burst_that_stops_is_summarised_after_its_window() {
        let t0 = Instant::now();
        let mut t = LogThrottle::new(1, Duration::from_secs(2));
        assert_eq!(t.check(t0), Some(0));
        assert_eq!(t.check(t0), None);
        assert_eq!(t.check(t0), None);
        assert_eq!(
            t.take_summary(t0 + Duration::from_secs(1)),
            None,
            "window open"
        );
        assert_eq!(t.take_summary(t0 + Duration::from_secs(2)), Some(2));
        assert_eq!(t.take_summary(t0 + Duration::from_secs(9)), None, "once");
        assert_eq!(t.check(t0 + Duration::from_secs(9)), Some(0));
    }

    #[test]
    fn notes_read_well() {
        assert_eq!(suppressed_note(0), "");
        assert_eq!(suppressed_note(1), " (1 similar line suppressed)");
        assert_eq!(suppressed_note(12), " (12 similar lines suppressed)");
    }
}
