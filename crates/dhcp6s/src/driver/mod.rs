//! Process entry point: `cpe daemon dhcp6s`, started by the supervisor. It
//! reads the config and LAN facts from the state bus and runs one
//! [`lan::LanTask`] per LAN with `[lan.dhcpv6] mode = "stateless"`.

mod lan;
mod socket;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

use cpe_config::Dhcpv6Mode;
use log::{error, info, warn};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::config::ServerConfig;
use crate::store;
use lan::LanTask;

const USAGE: &str = "usage: cpe daemon dhcp6s   (started by `cpe run`; config from the state bus)";

/// Entry point used by the `cpe` binary for `cpe daemon dhcp6s [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    if let Some(a) = args.first() {
        eprintln!("unexpected argument {a:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    cpe_log::init("dhcp6s", log::LevelFilter::Info);
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
    let (mut bus, welcome, cfg) = cpe_bus::client::connect_configured("dhcp6s").await?;

    let lans: Vec<_> = cfg
        .lan
        .iter()
        .enumerate()
        .filter(|(_, l)| l.dhcpv6.mode == Dhcpv6Mode::Stateless)
        .collect();
    let Some((_, first)) = lans.first() else {
        info!("no LAN has a stateless DHCPv6 server configured; idle");
        bus.set_status(serde_json::json!({ "lans": [] }));
        while bus.next_state().await.is_some() {}
        return Ok(());
    };
    let duid = store::load_or_create_duid(&cfg.system.state_dir, &first.interface)
        .map_err(|e| format!("server DUID in {}: {e}", cfg.system.state_dir.display()))?;
    info!("server DUID {duid}");

    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let (state_tx, state_rx) = watch::channel(welcome.state);
    let (status_tx, mut status_rx) = mpsc::unbounded_channel();
    for (index, lan) in lans {
        let (config, problems) = ServerConfig::from_lan(&lan.dhcpv6);
        for p in problems {
            warn!("{}: {p}", lan.interface);
        }
        let task = LanTask {
            interface: lan.interface.clone(),
            lan_index: index,
            config,
            duid: duid.clone(),
            states: state_rx.clone(),
            status: status_tx.clone(),
            send_log: cpe_log::LogThrottle::new(3, lan::SEND_LOG_WINDOW),
        };
        tokio::task::spawn_local(task.run());
    }
    drop(status_tx);

    let mut statuses = BTreeMap::new();
    loop {
        tokio::select! {
            state = bus.next_state() => match state {
                Some(s) => { let _ = state_tx.send(s); }
                None => {
                    info!("supervisor gone; exiting");
                    return Ok(());
                }
            },
            Some((interface, json)) = status_rx.recv() => {
                statuses.insert(interface, json);
                bus.set_status(serde_json::json!({
                    "duid": duid.to_string(),
                    "lans": statuses.values().collect::<Vec<_>>(),
                }));
            }
            _ = term.recv() => { info!("SIGTERM; exiting"); return Ok(()); }
            _ = int.recv() => { info!("SIGINT; exiting"); return Ok(()); }
        }
    }
}
