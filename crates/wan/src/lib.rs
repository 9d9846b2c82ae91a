//! The WAN daemon: brings the ISP link up and tells the rest of the router
//! what it learned.
//!
//! Run as `cpe daemon wan` by the supervisor (config from the state bus,
//! facts published as [`cpe_bus::Fact::Wan`]), or standalone with
//! `--interface` for labs and benchmarks (facts written to a JSON file),
//! both on the shared runner ([`cpe_daemon::runner`]: logging, the one
//! outlet, signals).
//!
//! Modes are modules behind one dispatch ([`run_mode`]): [`ipoe`], and
//! [`pppoe`] (discovery, the kernel's PPP session, [`ppp`] on its channel).
//! The protocol logic is sans-IO ([`engine`], the WAN tracker, [`dhcpv4`]'s
//! client, [`pppoe::discovery`] and the PPP engines, all on the one engine contract
//! [`cpe_daemon::Engine`]); the drivers only move bytes and time.
//! [`config`] holds the settings.

mod args;
pub mod config;
pub mod counters;
pub mod dhcpv4;
pub mod dslite;
pub mod engine;
pub mod ipoe;
pub mod map_e;
pub mod outlet;
pub mod ppp;
pub mod pppoe;
pub mod ra;
pub mod s46;
mod softwire;
mod state_file;

use config::{WanMode, WanSettings};
use cpe_daemon::runner::{self, Context, Mode};
use outlet::Outlet;
use std::ffi::OsString;
use std::process::ExitCode;

/// Entry point of `cpe daemon wan [ARGS]` (ARGS after the daemon name).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let parsed = match args::parse(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cpe daemon wan: {e}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match parsed.standalone {
        Some(s) => {
            let mode = Mode::Standalone {
                status_file: Some(s.status_file),
                log_level: cpe_log::parse_level(&parsed.log_level),
            };
            runner::run(cpe_bus::Daemon::Wan, mode, move |ctx| {
                drive(ctx, Some(s.settings))
            })
        }
        None => runner::run(cpe_bus::Daemon::Wan, Mode::Supervised, |ctx| {
            drive(ctx, None)
        }),
    }
}

/// The daemon under the runner: `settings` from the command line
/// (standalone), else from the supervisor's config.
async fn drive(ctx: Context, settings: Option<WanSettings>) -> Result<(), String> {
    let standalone = settings.is_some();
    let settings = match settings {
        Some(s) => s,
        None => WanSettings::from_config(ctx.config().ok_or("no config from the supervisor")?),
    };
    let mut outlet = Outlet::new(ctx.outlet(), ctx.stop(), standalone);
    let mut stop = ctx.stop();
    let shutdown = async move {
        stop.requested().await;
    };
    // DS-Lite and MAP-E run beside the mode's loop, fed by the shared
    // state (they need the DHCPv6 client's facts); supervised only. Both
    // tunnels left from an earlier run are removed first; then the one the
    // config (or in `auto` DHCPv6) asks for runs.
    let slot = outlet.s46_slot();
    let softwire = async {
        match ctx.config().filter(|_| !standalone) {
            Some(cfg) => {
                let publish = || {
                    let runner_outlet = ctx.outlet();
                    let field = slot.clone();
                    move || {
                        if let Ok(v) = serde_json::to_value(&*field.borrow()) {
                            runner_outlet.set_field("ipv4_over_ipv6", v);
                        }
                    }
                };
                s46::run(
                    cfg.wan.ipv4_over_ipv6.clone(),
                    settings.interface.clone(),
                    cfg.wan.mtu,
                    ctx.states(),
                    slot.clone(),
                    publish(),
                )
                .await;
                std::future::pending::<()>().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = run_mode(&settings, &mut outlet, shutdown) => {
            r.map_err(|e| format!("on {}: {e}", settings.interface))
        }
        () = softwire => Ok(()),
    }
}

/// Runs the configured mode until `shutdown` resolves.
pub async fn run_mode(
    settings: &WanSettings,
    outlet: &mut Outlet,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    match settings.mode {
        WanMode::Ipoe => ipoe::run(settings, outlet, shutdown).await,
        WanMode::Pppoe => pppoe::run(settings, outlet, shutdown).await,
    }
}
