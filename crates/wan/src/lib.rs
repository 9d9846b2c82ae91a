//! The WAN daemon: brings the ISP link up and tells the rest of the router
//! what it learned.
//!
//! Run as `cpe daemon wan` by the supervisor (config from the state bus,
//! facts published as [`cpe_bus::Fact::Wan`]), or standalone with
//! `--interface` for labs and benchmarks (facts written to a JSON file).
//!
//! Modes are modules behind one dispatch ([`run_mode`]): [`ipoe`] today,
//! [`pppoe`] as a placeholder that reports itself as not built. The protocol
//! logic is sans-IO ([`tracker`], [`dhcpv4`]); the drivers only move bytes
//! and time.

mod args;
pub mod dhcpv4;
pub mod ipoe;
pub mod outlet;
pub mod ppp;
pub mod pppoe;
pub mod ra;
pub mod settings;
pub mod tracker;

use outlet::Outlet;
use settings::{WanMode, WanSettings};
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
    cpe_log::init("wan", cpe_log::parse_level(&parsed.log_level));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let (settings, mut outlet) = match parsed.standalone {
            Some(s) => (
                s.settings,
                Outlet::File {
                    path: s.status_file,
                    facts: None,
                    status: serde_json::Value::Null,
                },
            ),
            None => match supervised().await {
                Ok(v) => v,
                Err(e) => {
                    log::error!("{e}");
                    return ExitCode::FAILURE;
                }
            },
        };
        match run_mode(&settings, &mut outlet, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log::error!("wan on {}: {e}", settings.interface);
                ExitCode::FAILURE
            }
        }
    })
}

/// Connects to the supervisor and reads the config it hands over.
async fn supervised() -> Result<(WanSettings, Outlet), String> {
    let (bus, _welcome, config) = cpe_bus::client::connect_configured("wan").await?;
    Ok((WanSettings::from_config(&config), Outlet::Bus(bus)))
}

/// Runs the configured mode until shutdown or until the supervisor is gone.
pub async fn run_mode(
    settings: &WanSettings,
    outlet: &mut Outlet,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    match settings.mode {
        WanMode::Ipoe => ipoe::run(settings, outlet, shutdown).await,
        WanMode::Pppoe => {
            tokio::select! {
                _ = pppoe::run(&settings.interface, settings.mtu, outlet) => {}
                _ = shutdown => {}
            }
            Ok(())
        }
    }
}

/// SIGTERM or SIGINT. If the handlers cannot be installed the daemon runs
/// until the supervisor goes away.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}
