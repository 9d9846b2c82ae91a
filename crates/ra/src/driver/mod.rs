//! Process entry point: `cpe daemon ra` (supervised: config and LAN prefixes
//! from the state bus) or `cpe daemon ra --interface IF ...` (standalone, for
//! labs and benchmarks where no supervisor runs). Both run the same
//! per-interface loop ([`lan::LanTask`]) around the sans-IO engine.

mod iface;
mod lan;
mod mapping;
mod socket;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use log::{error, info, warn};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::config::{DnsServer, MtuSetting, RaConfig};
use cpe_wire::nd::{DomainName, RouterPreference};
use lan::{LanTask, Upstream};

/// Longest wait for the final RAs at shutdown (MIN_DELAY_BETWEEN_RAS + slack).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const USAGE: &str =
    "usage: cpe daemon ra                    (started by `cpe run`, config from the bus)
       cpe daemon ra --interface IF [--interface IF2 ...] [options]
standalone options (labs and benchmarks; defaults as in [lan.ra]):
  --prefix P/64            advertise this /64 (repeatable)
  --rdnss ADDR|self        RDNSS entry (repeatable; default self)
  --dnssl NAME             DNSSL entry (repeatable; default lan)
  --managed                M=1            --no-other-config   O=0
  --preference low|medium|high            --router-lifetime S
  --min-interval S         --max-interval S
  --mtu N|off              (default: none, there is no WAN to follow)
  --no-default-route       advertise router lifetime 0
  --state-dir DIR          where remembered prefixes live (default /var/lib/cpe)
  --status-file PATH       write the status JSON there every 2 s
  --log-level LEVEL
signals: SIGTERM/SIGINT send final RAs (router lifetime 0) and exit;
         SIGUSR1 exits at once without them (restart by the supervisor).";

/// Standalone-mode settings.
#[derive(Debug)]
struct Standalone {
    interfaces: Vec<String>,
    config: RaConfig,
    default_route: bool,
    state_dir: PathBuf,
    status_file: Option<PathBuf>,
    log_level: String,
}

fn parse_args(args: Vec<OsString>) -> Result<Option<Standalone>, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut s = Standalone {
        interfaces: Vec::new(),
        config: RaConfig {
            mtu: MtuSetting::Off,
            ..RaConfig::default()
        },
        default_route: true,
        state_dir: PathBuf::from("/var/lib/cpe"),
        status_file: None,
        log_level: "info".into(),
    };
    let mut rdnss = Vec::new();
    let mut dnssl = Vec::new();
    let secs =
        |v: String| -> Result<u64, String> { v.parse().map_err(|_| format!("bad number {v:?}")) };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("interface") => s.interfaces.push(val(&mut p)?),
            Long("prefix") => {
                let v = val(&mut p)?;
                let net: ipnet::Ipv6Net = v.parse().map_err(|_| format!("bad prefix {v:?}"))?;
                if net.prefix_len() != 64 {
                    return Err(format!("{v}: only /64 prefixes can be used for SLAAC"));
                }
                s.config.static_prefixes.push(net.trunc());
            }
            Long("rdnss") => {
                let v = val(&mut p)?;
                rdnss.push(if v == "self" {
                    DnsServer::SelfAddress
                } else {
                    DnsServer::Address(v.parse().map_err(|_| format!("bad IPv6 address {v:?}"))?)
                });
            }
            Long("dnssl") => {
                let v = val(&mut p)?;
                dnssl.push(DomainName::parse(&v).map_err(|e| format!("{v:?}: {e}"))?);
            }
            Long("managed") => s.config.managed = true,
            Long("no-other-config") => s.config.other_config = false,
            Long("preference") => {
                s.config.preference = match val(&mut p)?.as_str() {
                    "low" => RouterPreference::Low,
                    "medium" => RouterPreference::Medium,
                    "high" => RouterPreference::High,
                    other => return Err(format!("bad preference {other:?}")),
                }
            }
            Long("router-lifetime") => {
                s.config.router_lifetime =
                    u16::try_from(secs(val(&mut p)?)?).map_err(|_| "router lifetime too large")?
            }
            Long("min-interval") => {
                s.config.min_interval = Duration::from_secs(secs(val(&mut p)?)?)
            }
            Long("max-interval") => {
                s.config.max_interval = Duration::from_secs(secs(val(&mut p)?)?)
            }
            Long("mtu") => {
                let v = val(&mut p)?;
                s.config.mtu = if v == "off" {
                    MtuSetting::Off
                } else {
                    MtuSetting::Fixed(v.parse().map_err(|_| format!("bad MTU {v:?}"))?)
                };
            }
            Long("no-default-route") => s.default_route = false,
            Long("state-dir") => s.state_dir = val(&mut p)?.into(),
            Long("status-file") => s.status_file = Some(val(&mut p)?.into()),
            Long("log-level") => s.log_level = val(&mut p)?,
            Long("help") | Short('h') => return Err(USAGE.to_string()),
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    if !rdnss.is_empty() {
        s.config.rdnss = rdnss;
    }
    if !dnssl.is_empty() {
        s.config.dnssl = dnssl;
    }
    Ok((!s.interfaces.is_empty()).then_some(s))
}

fn val(p: &mut lexopt::Parser) -> Result<String, String> {
    p.value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "argument is not UTF-8".to_string())
}

/// Entry point used by the `cpe` binary for `cpe daemon ra [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let standalone = match parse_args(args) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let level = standalone.as_ref().map_or("info", |s| s.log_level.as_str());
    cpe_log::init("ra", cpe_log::parse_level(level));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("ra: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = match standalone {
        Some(s) => local.block_on(&rt, run_standalone(s)),
        None => local.block_on(&rt, run_supervised()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("ra: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where status objects go.
enum StatusSink {
    Bus(cpe_bus::client::Bus),
    File(Option<PathBuf>),
}

impl StatusSink {
    fn publish(&self, lans: &BTreeMap<String, serde_json::Value>) {
        let json = serde_json::json!({ "lans": lans.values().collect::<Vec<_>>() });
        match self {
            StatusSink::Bus(bus) => bus.set_status(json),
            StatusSink::File(Some(path)) => {
                if let Ok(text) = serde_json::to_vec_pretty(&json)
                    && let Err(e) = cpe_sys::persist::atomic_write(path, &text)
                {
                    warn!("ra: cannot write {}: {e}", path.display());
                }
            }
            StatusSink::File(None) => {}
        }
    }

    async fn next_state(&mut self) -> Option<cpe_bus::SharedState> {
        match self {
            StatusSink::Bus(bus) => bus.next_state().await,
            StatusSink::File(_) => std::future::pending().await,
        }
    }
}

async fn run_standalone(s: Standalone) -> Result<(), String> {
    let specs = s
        .interfaces
        .iter()
        .map(|i| (i.clone(), s.config.clone()))
        .collect();
    let upstream = Upstream::Fixed {
        default_route: s.default_route,
        wan_mtu: None,
    };
    serve(
        specs,
        s.state_dir,
        Duration::ZERO,
        upstream,
        StatusSink::File(s.status_file),
        None,
    )
    .await
}

async fn run_supervised() -> Result<(), String> {
    let (bus, welcome, cfg) = cpe_bus::client::connect_configured("ra").await?;
    let specs: Vec<(String, RaConfig)> = cfg
        .lan
        .iter()
        .filter(|l| l.ra.enabled)
        .map(|l| (l.interface.clone(), mapping::ra_config(&l.ra)))
        .collect();
    let (state_tx, state_rx) = watch::channel(welcome.state);
    // A delegation is on its way whenever the client asks for one: hold the
    // first RA for it (see lan::FIRST_RA_HOLD).
    let first_ra_hold = if cfg.wan.dhcpv6.enabled && cfg.wan.dhcpv6.request_prefix {
        lan::FIRST_RA_HOLD
    } else {
        Duration::ZERO
    };
    serve(
        specs,
        cfg.system.state_dir.clone(),
        first_ra_hold,
        Upstream::Bus(state_rx),
        StatusSink::Bus(bus),
        Some(state_tx),
    )
    .await
}

async fn serve(
    specs: Vec<(String, RaConfig)>,
    state_dir: PathBuf,
    first_ra_hold: Duration,
    upstream: Upstream,
    mut sink: StatusSink,
    state_tx: Option<watch::Sender<cpe_bus::SharedState>>,
) -> Result<(), String> {
    if specs.is_empty() {
        info!("ra: no LAN has RAs enabled");
    }
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut usr1 = signal(SignalKind::user_defined1()).map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (status_tx, mut status_rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    for (interface, config) in specs {
        let task = LanTask {
            interface,
            config,
            state_dir: state_dir.clone(),
            first_ra_hold,
            upstream: upstream.clone(),
            stop: stop_rx.clone(),
            status: status_tx.clone(),
            // Jitter only has to differ between routers.
            seed: cpe_sys::random::seed_or_clock(),
        };
        tasks.spawn_local(task.run());
    }
    drop(status_tx);
    let mut lans = BTreeMap::new();
    let mut stopping: Option<tokio::time::Instant> = None;
    let mut status_open = true;
    let mut tasks_left = !tasks.is_empty();
    loop {
        let give_up = stopping.map_or_else(
            || tokio::time::Instant::now() + Duration::from_secs(86400),
            |t| t + SHUTDOWN_GRACE,
        );
        tokio::select! {
            state = sink.next_state(), if stopping.is_none() => match (state, &state_tx) {
                (Some(s), Some(tx)) => { let _ = tx.send(s); }
                _ => {
                    info!("ra: supervisor gone, exiting");
                    return Ok(());
                }
            },
            st = status_rx.recv(), if status_open => {
                if let Some((interface, json)) = st {
                    lans.insert(interface, json);
                    sink.publish(&lans);
                } else {
                    status_open = false;
                }
            }
            _ = term.recv(), if stopping.is_none() => {
                info!("ra: SIGTERM, sending final RAs");
                stopping = Some(tokio::time::Instant::now());
                let _ = stop_tx.send(true);
            }
            _ = usr1.recv(), if stopping.is_none() => {
                // A restart (config reload): the next instance advertises at
                // once, so no final RA that would make hosts drop their
                // default route for a moment.
                info!("ra: SIGUSR1, exiting without final RAs (restart)");
                return Ok(());
            }
            _ = int.recv(), if stopping.is_none() => {
                info!("ra: SIGINT, sending final RAs");
                stopping = Some(tokio::time::Instant::now());
                let _ = stop_tx.send(true);
            }
            done = tasks.join_next(), if tasks_left => {
                if done.is_none() {
                    tasks_left = false;
                }
            }
            _ = tokio::time::sleep_until(give_up), if stopping.is_some() => {
                warn!("ra: final RAs not all sent within {SHUTDOWN_GRACE:?}");
                break;
            }
        }
        if stopping.is_some() && !tasks_left {
            break;
        }
    }
    Ok(())
}
