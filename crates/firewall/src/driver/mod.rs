//! Process entry point: `cpe daemon firewall`, started by the supervisor
//! before the LAN services, on the shared runner ([`cpe_daemon::runner`]:
//! runtime, logging, bus, signals). Takes the config and state from it, runs
//! the [`Engine`], commits its batches over nfnetlink, switches forwarding
//! on when the engine says so, and reports status with the kernel's drop
//! counters every [`STATUS_EVERY`].
//!
//! On exit (any stop of the runner's signal policy) the ruleset stays
//! installed: a crashed or stopped firewall daemon must not open the router.

use crate::config::{MapSnat, Policy, Snapshot};
use crate::engine::{Action, Engine, Input};
use crate::model::TABLE;
use cpe_daemon::Engine as _;
use cpe_daemon::runner::{self, Context, Mode, Outlet};
use cpe_sys::netlink::nftables::{Nftables, TableFamily};
use cpe_sys::sysctl::{self, SysctlKey};
use log::{error, info};
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How often counters are re-read and the status pushed.
pub const STATUS_EVERY: Duration = Duration::from_secs(10);

const USAGE: &str =
    "usage: cpe daemon firewall   (started by `cpe run`; config from the state bus)";

/// Entry point used by the `cpe` binary for `cpe daemon firewall [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    if let Some(a) = args.first() {
        eprintln!("unexpected argument {a:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    runner::run(cpe_bus::Daemon::Firewall, Mode::Supervised, run)
}

/// Turns IPv6 (all + default, so later interfaces such as a PPP unit
/// inherit it) and IPv4 forwarding on.
fn enable_forwarding() -> Result<(), String> {
    let keys = [
        SysctlKey::ipv6_conf("all", "forwarding"),
        SysctlKey::ipv6_conf("default", "forwarding"),
        Ok(SysctlKey::ipv4_forward()),
    ];
    for key in keys {
        let key = key.map_err(|e| e.to_string())?;
        sysctl::ensure(&key, "1").map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs the engine's queued actions against the kernel.
fn drain(engine: &mut Engine, nl: &mut Result<Nftables, String>) {
    while let Some(action) = engine.poll_action() {
        match action {
            Action::Commit { kind, batch } => {
                let started = Instant::now();
                let result = match nl {
                    Ok(nl) => nl.commit(&batch).map_err(|e| e.to_string()),
                    Err(e) => Err(format!("cannot open the nf_tables netlink socket: {e}")),
                };
                let took = started.elapsed();
                match &result {
                    Ok(()) => info!(
                        "ruleset {kind:?} apply committed: {} messages in {} us",
                        batch.len(),
                        took.as_micros()
                    ),
                    Err(e) => error!("ruleset {kind:?} apply failed: {e}"),
                }
                engine.handle(Input::Committed(result.map(|()| took)), Instant::now());
            }
            Action::EnableForwarding => {
                let result = enable_forwarding();
                match &result {
                    Ok(()) => info!("first ruleset in place: IPv6 and IPv4 forwarding on"),
                    Err(e) => error!("cannot switch forwarding on: {e}"),
                }
                engine.handle(Input::ForwardingSet(result), Instant::now());
            }
        }
    }
}

fn publish(outlet: &Outlet, engine: &Engine, nl: &mut Result<Nftables, String>) {
    let counters = match nl {
        Ok(nl) if engine.installed().is_some() => nl
            .counters(TableFamily::Inet, TABLE)
            .map_err(|e| e.to_string()),
        Ok(_) => Err("no ruleset installed".to_string()),
        Err(e) => Err(e.clone()),
    };
    let st = crate::status::status(
        engine,
        counters.as_ref().map_err(String::as_str),
        Instant::now(),
    );
    outlet.set_status(&st);
}

async fn run(ctx: Context) -> Result<(), String> {
    let cfg = ctx
        .config()
        .ok_or("the firewall runs only under the supervisor")?;
    let outlet = ctx.outlet();
    let mut states = ctx.states();
    let mut stop = ctx.stop();
    let policy = Policy::from_config(cfg);
    // MAP-E: the SNAT follows the mapping the state gives (the rule in the
    // config, else DHCPv6's) while MAP-E is what runs (`auto` may switch).
    let s46 = policy.map_e().map(|_| cfg.wan.ipv4_over_ipv6.clone());
    let snapshot = |s: &cpe_bus::SharedState| {
        let mut snap = Snapshot::from_state(s);
        if let Some(s46) = &s46 {
            snap.map_e = MapSnat::from_state(s46, s);
        }
        snap
    };
    info!(
        "policy: wan {} lan {:?}, {} pinholes",
        policy.wan,
        policy.lan.iter().map(|l| &l.interface).collect::<Vec<_>>(),
        policy.firewall.pinhole.len()
    );
    let mut nl = Nftables::open().map_err(|e| e.to_string());
    if let Err(e) = &nl {
        error!("cannot open the nf_tables netlink socket: {e}; forwarding stays off");
    }
    let mut engine = Engine::new(policy);
    let first = snapshot(&states.borrow_and_update());
    engine.handle(Input::State(first), Instant::now());
    drain(&mut engine, &mut nl);
    publish(&outlet, &engine, &mut nl);
    loop {
        let next_status = Instant::now() + STATUS_EVERY;
        let wake = engine
            .poll_timeout()
            .map_or(next_status, |t| t.min(next_status));
        tokio::select! {
            changed = states.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let snap = snapshot(&states.borrow_and_update());
                engine.handle(Input::State(snap), Instant::now());
            }
            () = tokio::time::sleep_until(wake.into()) => {
                if nl.is_err() {
                    nl = Nftables::open().map_err(|e| e.to_string());
                }
                engine.handle_timeout(Instant::now());
            }
            _ = stop.requested() => {
                info!("the ruleset stays installed");
                return Ok(());
            }
        }
        drain(&mut engine, &mut nl);
        publish(&outlet, &engine, &mut nl);
    }
}
