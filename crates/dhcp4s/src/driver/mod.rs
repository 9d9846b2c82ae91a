//! Process entry point: `cpe daemon dhcp4s`, started by the supervisor. It
//! takes the config from the runner and runs one [`lan::LanTask`] per LAN
//! with `[lan.ipv4] dhcp = true`. Either stop (SIGTERM, SIGUSR1, supervisor
//! gone) saves the leases: they are not a goodbye to the hosts but the
//! memory that gives every host its address back after the restart.

mod address;
mod lan;
mod socket;

use std::ffi::OsString;
use std::process::ExitCode;

use cpe_daemon::runner::{self, Context};
use log::info;

use crate::config::PoolConfig;
use lan::LanTask;

/// Entry point used by the `cpe` binary for `cpe daemon dhcp4s` (no
/// arguments: it runs only under the supervisor).
pub fn main(args: Vec<OsString>) -> ExitCode {
    runner::run_supervised(cpe_bus::Daemon::Dhcp4s, &args, run)
}

async fn run(ctx: Context) -> Result<(), String> {
    let cfg = ctx.supervised_config()?;
    let lans: Vec<_> = cfg
        .lan
        .iter()
        .filter_map(|lan| {
            let v4 = lan.ipv4.as_ref().filter(|v| v.dhcp)?;
            let lease_file = cfg
                .system
                .state_dir
                .join("dhcp4s")
                .join(format!("leases-{}", lan.interface));
            let pool = PoolConfig::from_lan(v4, &cfg.dns.local_domain);
            Some((lan.interface.clone(), (pool, lease_file)))
        })
        .collect();
    if lans.is_empty() {
        info!("no LAN has a DHCPv4 server configured; idle");
    }
    ctx.per_lan(lans, |lan, (config, lease_file)| {
        LanTask {
            lan,
            config,
            lease_file,
            log: cpe_log::LogThrottle::new(3, lan::LOG_WINDOW),
        }
        .run()
    })
    .await;
    Ok(())
}
