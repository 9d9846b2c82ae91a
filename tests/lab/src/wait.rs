//! Polling with a deadline.
//!
//! Everything in the lab is asynchronous (DAD, RAs, servers binding their
//! sockets), and a fixed `sleep` is either flaky or slow. These helpers poll
//! every 25 ms and fail with a sentence naming what was awaited and the last
//! state seen, so a timeout explains itself.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::process::Process;

/// Poll period of every wait helper.
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Outcome of one poll.
#[derive(Debug)]
pub enum Check<T> {
    /// The condition holds; waiting ends with this value.
    Ready(T),
    /// Not yet; the text describes the current state for the timeout message.
    NotYet(String),
}

/// Polls `probe` until it is ready, fails, or `timeout` passes. A probe
/// error ends the wait at once (something is broken, not slow).
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Check<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        match probe()? {
            Check::Ready(v) => {
                log::debug!("{what}: ready after {} ms", start.elapsed().as_millis());
                return Ok(v);
            }
            Check::NotYet(state) => {
                if start.elapsed() >= timeout {
                    return Err(LabError::new(format!(
                        "timed out after {} ms waiting for {what}; last seen: {state}",
                        timeout.as_millis()
                    )));
                }
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Polls a boolean condition.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Result<()> {
    wait_for(what, timeout, || {
        Ok(if cond() {
            Check::Ready(())
        } else {
            Check::NotYet("condition false".to_string())
        })
    })
}

/// Waits for a file to exist.
pub fn wait_for_file(path: &Path, timeout: Duration) -> Result<()> {
    wait_until(&format!("file {}", path.display()), timeout, || {
        path.exists()
    })
}

/// Like [`wait_for`], but fails at once, with the process's log tail, if
/// `process` exits: a server that died at start-up must not be reported as
/// a mere timeout.
pub fn wait_for_process<T>(
    process: &Process,
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Check<T>>,
) -> Result<T> {
    let mut died = false;
    let result = wait_for(what, timeout, || {
        let check = probe()?;
        if matches!(check, Check::NotYet(_)) {
            // Its error already carries the log tail.
            process.ensure_running().inspect_err(|_| died = true)?;
        }
        Ok(check)
    });
    result.map_err(|e| {
        if died {
            e
        } else {
            LabError::new(format!(
                "{e}\n--- log tail of {} (pid {}) ---\n{}",
                process.label(),
                process.pid(),
                process.log_tail(20)
            ))
        }
    })
}

/// Polls a probe that returns `Some` once ready (no state description).
pub fn wait_for_some<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    wait_for(what, timeout, || {
        Ok(match probe() {
            Some(v) => Check::Ready(v),
            None => Check::NotYet("not yet".to_string()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn succeeds_when_the_condition_turns_true() {
        let mut n = 0;
        let v = wait_for("counter", Duration::from_secs(1), || {
            n += 1;
            Ok(if n >= 3 {
                Check::Ready(n)
            } else {
                Check::NotYet(format!("n={n}"))
            })
        })
        .unwrap();
        assert_eq!(v, 3);
    }

    #[test]
    fn timeout_names_what_and_last_state() {
        let start = Instant::now();
        let err = wait_for::<()>("the moon", Duration::from_millis(60), || {
            Ok(Check::NotYet("still cheese".into()))
        })
        .unwrap_err();
        assert!(start.elapsed() < Duration::from_millis(500));
        assert!(err.message().contains("the moon"), "{err}");
        assert!(err.message().contains("still cheese"), "{err}");
    }

    #[test]
    fn probe_errors_end_the_wait() {
        let err = wait_for::<()>("x", Duration::from_secs(5), || Err(LabError::new("broken")))
            .unwrap_err();
        assert_eq!(err.message(), "broken");
        assert_eq!(
            wait_for_some("x", Duration::from_secs(1), || Some(7)).unwrap(),
            7
        );
        let missing = Path::new("/nonexistent/cpe-lab-test");
        assert!(wait_for_file(missing, Duration::from_millis(30)).is_err());
    }
}
