//! Process entry point: `cpe daemon dhcp4s`, started by the supervisor. It
//! reads the config from the state bus and runs one [`lan::LanTask`] per
//! LAN with `[lan.ipv4] dhcp = true`.

mod address;
mod lan;
mod socket;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

use log::{error, info};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::config::PoolConfig;
use lan::LanTask;

const USAGE: &str = "usage: cpe daemon dhcp4s   (started by `cpe run`; config from the state bus)";

/// Entry point used by the `cpe` binary for `cpe daemon dhcp4s [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    if let Some(a) = args.first() {
        eprintln!("unexpected argument {a:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    cpe_log::init("dhcp4s", log::LevelFilter::Info);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let (mut bus, _welcome, cfg) = cpe_bus::client::connect_configured("dhcp4s").await?;

    let (status_tx, mut status_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for lan in &cfg.lan {
        let Some(v4) = lan.ipv4.as_ref().filter(|v| v.dhcp) else {
            continue;
        };
        let task = LanTask {
            interface: lan.interface.clone(),
            config: PoolConfig::from_lan(v4, &cfg.dns.local_domain),
            lease_file: cfg
                .system
                .state_dir
                .join("dhcp4s")
                .join(format!("leases-{}", lan.interface)),
            status: status_tx.clone(),
            stop: stop_rx.clone(),
            log: cpe_log::LogThrottle::new(3, lan::LOG_WINDOW),
        };
        tasks.spawn_local(task.run());
    }
    drop(status_tx);
    if tasks.is_empty() {
        info!("no LAN has a DHCPv4 server configured; idle");
    }
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut statuses = BTreeMap::new();
    let stop = loop {
        tokio::select! {
            state = bus.next_state() => if state.is_none() {
                break "supervisor gone";
            },
            Some((interface, json)) = status_rx.recv() => {
                statuses.insert(interface, json);
                bus.set_status(serde_json::json!({
                    "lans": statuses.values().collect::<Vec<_>>(),
                }));
            }
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
        }
    };
    info!("{stop}; saving leases and exiting");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}
