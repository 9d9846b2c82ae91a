//! Process entry point: `cpe daemon dhcp6s`, started by the supervisor. It
//! takes the config and LAN facts from the runner and runs one
//! [`lan::LanTask`] per LAN with `[lan.dhcpv6] mode = "stateless"`. It holds
//! no bindings, so every stop is the same: close the sockets and exit.

mod lan;
mod socket;

use std::ffi::OsString;
use std::process::ExitCode;

use cpe_config::Dhcpv6Mode;
use cpe_daemon::runner::{self, Context};
use log::{info, warn};

use crate::config::ServerConfig;
use crate::store;
use lan::LanTask;

/// Entry point used by the `cpe` binary for `cpe daemon dhcp6s` (no
/// arguments: it runs only under the supervisor).
pub fn main(args: Vec<OsString>) -> ExitCode {
    runner::run_supervised(cpe_bus::Daemon::Dhcp6s, &args, run)
}

async fn run(ctx: Context) -> Result<(), String> {
    let cfg = ctx.supervised_config()?;
    let lans: Vec<_> = cfg
        .lan
        .iter()
        .enumerate()
        .filter(|(_, l)| l.dhcpv6.mode == Dhcpv6Mode::Stateless)
        .collect();
    let duid = match lans.first() {
        None => {
            info!("no LAN has a stateless DHCPv6 server configured; idle");
            None
        }
        Some(_) => {
            let duid = store::load_or_create_duid(&cfg.system.state_dir)
                .map_err(|e| format!("server DUID in {}: {e}", cfg.system.state_dir.display()))?;
            info!("server DUID {duid}");
            ctx.outlet().set_field("duid", duid.to_string().into());
            Some(duid)
        }
    };
    let specs = lans
        .into_iter()
        .filter_map(|(index, lan)| {
            let (config, problems) = ServerConfig::from_lan(&lan.dhcpv6);
            for p in problems {
                warn!("{}: {p}", lan.interface);
            }
            Some((lan.interface.clone(), (index, config, duid.clone()?)))
        })
        .collect();
    ctx.per_lan(specs, |lan, (lan_index, config, duid)| {
        LanTask {
            lan,
            lan_index,
            config,
            duid,
            send_log: cpe_log::LogThrottle::new(3, lan::SEND_LOG_WINDOW),
        }
        .run()
    })
    .await;
    Ok(())
}
