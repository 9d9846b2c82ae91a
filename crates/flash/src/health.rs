//! What "this boot is good" means, so the boot counter can be reset.

use cpe_bus::status::StatusReport;

/// Seconds every daemon must have been running: a crash loop restarts a
/// daemon within a few seconds (backoff from 1 s), so one that lived this
/// long came up.
pub const STABLE_S: u64 = 10;

/// `Ok` when the supervisor's report shows a healthy router: at least one
/// daemon supervised, every daemon `running` and up for [`STABLE_S`]
/// seconds, none in backoff or stopped. The WAN need not be up: an ISP
/// outage must not roll back a good image. Otherwise the reason, in words.
pub fn healthy(report: &StatusReport) -> Result<(), String> {
    if report.daemons.is_empty() {
        return Err("the supervisor runs no daemon".into());
    }
    for d in &report.daemons {
        if d.state != "running" {
            return Err(format!("daemon {} is {}", d.name, d.state));
        }
        let up = d.uptime_s.unwrap_or(0);
        if up < STABLE_S {
            return Err(format!("daemon {} up for {up}s only", d.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpe_bus::status::DaemonReport;

    fn d(name: &str, state: &str, up: Option<u64>) -> DaemonReport {
        DaemonReport {
            name: name.into(),
            pid: Some(7),
            state: state.into(),
            restarts: 0,
            uptime_s: up,
            last_exit: None,
        }
    }

    #[test]
    fn healthy_only_when_every_daemon_runs_and_lasted() {
        let mut r = StatusReport::default();
        assert!(healthy(&r).is_err());
        r.daemons = vec![d("wan", "running", Some(30)), d("ra", "running", Some(12))];
        assert_eq!(healthy(&r), Ok(()));
        r.daemons.push(d("dns", "backoff", None));
        assert_eq!(healthy(&r), Err("daemon dns is backoff".into()));
        r.daemons.pop();
        r.daemons.push(d("dns", "running", Some(3)));
        assert_eq!(healthy(&r), Err("daemon dns up for 3s only".into()));
    }
}
