//! A daemon that only takes part in the process model and the state bus.
//!
//! Used for daemons whose protocol engine is not in the product yet: it
//! connects, reports honestly that it does nothing, follows state snapshots
//! and exits when the supervisor goes away, so supervision, restarts and
//! reload can be exercised end to end before every daemon exists.

use std::process::ExitCode;

/// Runs the stand-in for daemon `name`.
pub fn main(name: &'static str) -> ExitCode {
    cpe_log::init(name, log::LevelFilter::Info);
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
        let (mut bus, welcome, _config) = match cpe_bus::client::connect_configured(name).await {
            Ok(v) => v,
            Err(e) => {
                log::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        bus.set_status(serde_json::json!({
            "implemented": false,
            "note": "protocol engine not in this build yet",
            "state_generation": welcome.state.generation,
        }));
        while let Some(state) = bus.next_state().await {
            log::debug!("state generation {}", state.generation);
            bus.set_status(serde_json::json!({
                "implemented": false,
                "note": "protocol engine not in this build yet",
                "state_generation": state.generation,
            }));
        }
        log::info!("supervisor gone; exiting");
        ExitCode::SUCCESS
    })
}
