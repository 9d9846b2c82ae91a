//! Where facts and status go: the supervisor's bus, or (standalone, for labs
//! and benchmarks) a JSON file.

use cpe_bus::client::Bus;
use cpe_bus::{Fact, WanFacts};
use std::path::PathBuf;

/// The destination of what the daemon reports.
pub enum Outlet {
    /// Supervised: publish on the state bus.
    Bus(Bus),
    /// Standalone: write `{"facts": ..., "status": ...}` to this file
    /// (atomically) on every status update. Facts are written with the
    /// status that follows them, so a reader never sees new facts beside a
    /// stale status.
    File {
        /// The status file.
        path: PathBuf,
        /// Last facts, kept so a status update rewrites both.
        facts: Option<WanFacts>,
        /// Last status.
        status: serde_json::Value,
    },
    /// Tests and tools that only look at return values.
    Discard,
}

impl Outlet {
    /// Publishes new facts (on the file outlet: with the next status).
    pub fn publish(&mut self, new: &WanFacts) {
        match self {
            Outlet::Bus(bus) => bus.publish(Fact::Wan(new.clone())),
            Outlet::File { facts, .. } => *facts = Some(new.clone()),
            Outlet::Discard => {}
        }
    }

    /// Replaces the daemon's status object.
    pub fn set_status(&mut self, value: serde_json::Value) {
        match self {
            Outlet::Bus(bus) => bus.set_status(value),
            Outlet::File { status, .. } => {
                *status = value;
                self.write_file();
            }
            Outlet::Discard => {}
        }
    }

    /// Waits until the supervisor goes away; never returns otherwise.
    pub async fn closed(&mut self) {
        match self {
            Outlet::Bus(bus) => while bus.next_state().await.is_some() {},
            _ => std::future::pending::<()>().await,
        }
    }

    fn write_file(&self) {
        if let Outlet::File {
            path,
            facts,
            status,
        } = self
        {
            let doc = serde_json::json!({ "facts": facts, "status": status });
            let text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            if let Err(e) = cpe_sys::persist::atomic_write(path, &text) {
                log::warn!("cannot write status file {}: {e}", path.display());
            }
        }
    }
}
