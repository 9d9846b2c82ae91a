//! The one contract every protocol engine of the router follows.
//!
//! An engine is a sans-IO state machine: it never reads the clock, never
//! touches a socket and never sleeps. Its driver (a thin loop run by the
//! shared runner) feeds it what happened, with the time it happened, then
//! pulls what to do until there is nothing left, then sleeps until the
//! engine's next deadline or the next input, whichever comes first:
//!
//! ```text
//! loop {
//!     select! { input = io => engine.handle(input, now),
//!               _ = sleep_until(engine.poll_timeout()) => engine.handle_timeout(now) }
//!     while let Some(action) = engine.poll_action() { perform(action) }
//! }
//! ```
//!
//! Because time is an argument, tests drive an engine in virtual time (a base
//! `Instant` plus durations) through hours of lease and lifetime expiry in
//! microseconds, and a fuzz target can feed it any sequence of inputs. The
//! shape follows the QUIC and TCP/IP stacks that are models of this style:
//! inputs by kind, actions pulled, one deadline polled.
//!
//! Rules every engine keeps, so that a reader of one can read them all:
//! - `handle` and `handle_timeout` never fail and never panic: a hostile or
//!   malformed input is counted (in the engine's counters) and dropped.
//! - Actions are queued in the order they must be performed; the driver
//!   performs every queued action before it blocks again.
//! - `poll_timeout` is cheap and side-effect free; `None` means "only an
//!   input can change anything".
//! - `handle_timeout(now)` with `now` before the deadline does nothing
//!   harmful (a driver may wake early).

use std::time::Instant;

/// A sans-IO protocol engine: inputs by kind, actions pulled, one deadline.
pub trait Engine {
    /// What the driver feeds in: a received packet (borrowed from the
    /// driver's buffer, hence the lifetime), a kernel event, a new shared
    /// state snapshot, a command from the console.
    type Input<'a>;
    /// What the engine asks the driver to do: send a packet, apply an
    /// address, publish a fact, write a state file.
    type Action;

    /// Takes one input that arrived at `now`.
    fn handle(&mut self, input: Self::Input<'_>, now: Instant);

    /// Lets time pass to `now`: retransmissions, expiries, periodic sends.
    fn handle_timeout(&mut self, now: Instant);

    /// The next action to perform, oldest first; `None` once drained.
    fn poll_action(&mut self) -> Option<Self::Action>;

    /// When `handle_timeout` must next be called; `None` if no timer runs.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Test and fuzz helpers that drive any [`Engine`] in virtual time.
pub mod drive {
    use super::Engine;
    use std::time::Instant;

    /// Every queued action, in order.
    pub fn drain<E: Engine>(engine: &mut E) -> Vec<E::Action> {
        std::iter::from_fn(|| engine.poll_action()).collect()
    }

    /// Feeds one input at `now` and returns every action it queued.
    pub fn feed<E: Engine>(engine: &mut E, input: E::Input<'_>, now: Instant) -> Vec<E::Action> {
        engine.handle(input, now);
        drain(engine)
    }

    /// Lets time pass to `now` once (whether or not a deadline is due, as a
    /// driver that wakes early would) and returns every action queued.
    pub fn timeout<E: Engine>(engine: &mut E, now: Instant) -> Vec<E::Action> {
        engine.handle_timeout(now);
        drain(engine)
    }

    /// Fires every deadline up to and including `until`, each at its own
    /// instant (as a real driver would), and returns the actions in order.
    /// Stops after `max_steps` deadlines so an engine that keeps re-arming
    /// at the same instant fails a test instead of hanging it.
    pub fn advance<E: Engine>(engine: &mut E, until: Instant, max_steps: usize) -> Vec<E::Action> {
        let mut out = drain(engine);
        for _ in 0..max_steps {
            match engine.poll_timeout() {
                Some(at) if at <= until => {
                    engine.handle_timeout(at);
                    out.extend(drain(engine));
                }
                _ => return out,
            }
        }
        panic!("engine kept re-arming its timer: {max_steps} deadlines before {until:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::Engine;
    use super::drive::{advance, drain};
    use std::collections::VecDeque;
    use std::time::{Duration, Instant};

    /// A periodic sender: the smallest engine that exercises the contract.
    struct Beacon {
        every: Duration,
        next: Option<Instant>,
        queue: VecDeque<u32>,
        sent: u32,
    }

    impl Engine for Beacon {
        type Input<'a> = &'a [u8];
        type Action = u32;
        fn handle(&mut self, input: &[u8], now: Instant) {
            if input == b"start" {
                self.next = Some(now);
            }
        }
        fn handle_timeout(&mut self, now: Instant) {
            if let Some(at) = self.next.filter(|at| now >= *at) {
                self.sent += 1;
                self.queue.push_back(self.sent);
                self.next = Some(at + self.every);
            }
        }
        fn poll_action(&mut self) -> Option<u32> {
            self.queue.pop_front()
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.next
        }
    }

    #[test]
    fn advance_fires_each_deadline_at_its_own_instant() {
        let t0 = Instant::now();
        let mut b = Beacon {
            every: Duration::from_secs(10),
            next: None,
            queue: VecDeque::new(),
            sent: 0,
        };
        assert!(advance(&mut b, t0 + Duration::from_secs(100), 100).is_empty());
        b.handle(b"start", t0);
        assert_eq!(
            advance(&mut b, t0 + Duration::from_secs(35), 100),
            vec![1, 2, 3, 4]
        );
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_secs(40)));
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    #[should_panic(expected = "kept re-arming")]
    fn advance_stops_an_engine_that_never_lets_time_pass() {
        let t0 = Instant::now();
        let mut b = Beacon {
            every: Duration::ZERO,
            next: Some(t0),
            queue: VecDeque::new(),
            sent: 0,
        };
        advance(&mut b, t0, 5);
    }
}
