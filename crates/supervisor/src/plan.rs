//! Which daemons a config needs, and which part of the config each one reads.
//!
//! A reload must not disturb a daemon whose settings did not change (the WAN
//! session must survive an edit of the DNS cache size), so each daemon is
//! given a *slice* ([`Daemon::config_slice`]): the canonical JSON of exactly
//! the config it reads. Two configs are compared slice by slice.

use cpe_bus::registry::Daemon;
use cpe_config::Config;

/// One daemon the config asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSpec {
    /// The daemon.
    pub name: Daemon,
    /// Canonical JSON of the config this daemon depends on
    /// ([`Daemon::config_slice`]).
    pub slice: String,
}

/// The daemons `config` needs, in start order, each with its config slice.
pub fn plan(config: &Config) -> Vec<DaemonSpec> {
    Daemon::ALL
        .into_iter()
        .filter_map(|name| {
            name.config_slice(config).map(|slice| DaemonSpec {
                name,
                slice: slice.to_string(),
            })
        })
        .collect()
}

/// What a reload has to do to go from one plan to another.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanChange {
    /// Daemons the new config adds.
    pub start: Vec<Daemon>,
    /// Daemons the new config no longer has.
    pub stop: Vec<Daemon>,
    /// Daemons whose slice changed.
    pub restart: Vec<Daemon>,
}

impl PlanChange {
    /// Every daemon touched, for the reload report.
    pub fn touched(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .start
            .iter()
            .chain(&self.stop)
            .chain(&self.restart)
            .map(|d| d.name().to_string())
            .collect();
        v.sort();
        v
    }
}

/// Compares two plans.
pub fn diff(old: &[DaemonSpec], new: &[DaemonSpec]) -> PlanChange {
    let mut change = PlanChange::default();
    for n in new {
        match old.iter().find(|o| o.name == n.name) {
            None => change.start.push(n.name),
            Some(o) if o.slice != n.slice => change.restart.push(n.name),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            change.stop.push(o.name);
        }
    }
    change
}
