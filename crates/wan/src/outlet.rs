//! Where facts and status go: the runner's one outlet
//! ([`cpe_daemon::runner::Outlet`]), shaped the way the WAN daemon has always
//! reported. Supervised, facts are published on the state bus and the
//! status is the daemon's status; standalone (labs and benchmarks) the
//! runner's status file holds `{"facts": ..., "status": ...}`.

use cpe_bus::status::wan::WanStatus;
use cpe_bus::{Fact, WanFacts};
use cpe_daemon::runner::{self, StopRx};

/// The destination of what the daemon reports.
pub struct Outlet {
    out: runner::Outlet,
    stop: StopRx,
    /// Standalone: facts are kept here and written with the status that
    /// follows them, so a reader never sees new facts beside a stale status.
    standalone: Option<Option<WanFacts>>,
    /// The softwire task's status ([`crate::s46`]: DS-Lite or MAP-E),
    /// merged into every status written.
    s46: crate::dslite::driver::StatusSlot,
}

impl Outlet {
    /// Reports through `out`; `standalone` when no supervisor runs.
    pub fn new(out: runner::Outlet, stop: StopRx, standalone: bool) -> Outlet {
        Outlet {
            out,
            stop,
            standalone: standalone.then_some(None),
            s46: crate::dslite::driver::StatusSlot::default(),
        }
    }

    /// Where the softwire task keeps its status; merged into every status
    /// this outlet writes (that task also writes the field itself).
    pub fn s46_slot(&self) -> crate::dslite::driver::StatusSlot {
        self.s46.clone()
    }

    /// Publishes new facts (standalone: with the next status).
    pub fn publish(&mut self, new: &WanFacts) {
        match &mut self.standalone {
            None => self.out.publish(Fact::Wan(Box::new(new.clone()))),
            Some(facts) => *facts = Some(new.clone()),
        }
    }

    /// Replaces the daemon's status object.
    pub fn set_status(&mut self, status: &WanStatus) {
        let merged;
        let status = match self.s46.borrow().as_ref() {
            Some(s) => {
                merged = WanStatus {
                    ipv4_over_ipv6: Some(s.clone()),
                    ..status.clone()
                };
                &merged
            }
            None => status,
        };
        match &self.standalone {
            None => self.out.set_status(status),
            Some(facts) => self
                .out
                .set_status(&serde_json::json!({ "facts": facts, "status": status })),
        }
    }

    /// Waits until the daemon must stop (the runner's signal policy, or the
    /// supervisor gone).
    pub async fn closed(&mut self) {
        self.stop.requested().await;
    }
}
