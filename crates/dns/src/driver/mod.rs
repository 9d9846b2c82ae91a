//! Process entry point: `cpe daemon dns` (supervised, config and upstreams
//! from the state bus) or `cpe daemon dns --listen ... --upstream ...`
//! (standalone, used by the lab tests and the benchmark, where no supervisor
//! runs). Both feed the same engine through the same I/O loop.

mod io;
pub mod setup;
mod sockets;

pub use io::ListenSpec;

use crate::engine::{Event, Forwarder, Options};
use std::cell::RefCell;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How often the status object for `cpectl show dns` is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// Command-line options.
#[derive(Debug, Default)]
struct Args {
    listen: Vec<ListenSpec>,
    upstreams: Vec<SocketAddr>,
    opts: Options,
    status_file: Option<std::path::PathBuf>,
    log_level: Option<String>,
}

const USAGE: &str =
    "usage: cpe daemon dns                  (started by `cpe run`, config from the bus)
       cpe daemon dns --listen ADDR[%DEV] [--listen ...] --upstream ADDR[:PORT] [...]
                      [--cache-size N] [--local-domain D] [--host NAME=ADDR|self]
                      [--status-file PATH] [--log-level LEVEL]
  standalone mode for labs and benchmarks: ADDR is IP:PORT (e.g. 192.168.1.1:53,
  [::]:53%br0); %DEV binds the sockets to that interface.";

fn parse_args(args: Vec<OsString>) -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut a = Args::default();
    let mut hosts: Vec<(String, Vec<crate::local::HostAddr>)> = Vec::new();
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("listen") => a.listen.push(setup::parse_listen(&val(&mut p)?)?),
            Long("upstream") => a.upstreams.push(setup::parse_upstream(&val(&mut p)?)?),
            Long("cache-size") => {
                a.opts.cache_size = val(&mut p)?
                    .parse()
                    .map_err(|_| "--cache-size wants a number")?
            }
            Long("local-domain") => a.opts.local.domain = val(&mut p)?,
            Long("host") => {
                let v = val(&mut p)?;
                let (name, addr) = v.split_once('=').ok_or("--host wants NAME=ADDR")?;
                let addr = if addr == "self" {
                    crate::local::HostAddr::SelfAddr
                } else {
                    crate::local::HostAddr::Addr(
                        addr.parse().map_err(|_| format!("bad address {addr:?}"))?,
                    )
                };
                match hosts.iter_mut().find(|(n, _)| n == name) {
                    Some((_, list)) => list.push(addr),
                    None => hosts.push((name.to_string(), vec![addr])),
                }
            }
            Long("status-file") => a.status_file = Some(val(&mut p)?.into()),
            Long("log-level") => a.log_level = Some(val(&mut p)?),
            Long("help") | Short('h') => return Err(USAGE.to_string()),
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    a.opts.local.hosts = hosts;
    Ok(a)
}

fn val(p: &mut lexopt::Parser) -> Result<String, String> {
    p.value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "argument is not UTF-8".to_string())
}

/// Entry point used by the `cpe` binary for `cpe daemon dns [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    cpe_log::init(
        "dns",
        cpe_log::parse_level(args.log_level.as_deref().unwrap_or("info")),
    );
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("dns: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = if args.listen.is_empty() {
        local.block_on(&rt, run_supervised())
    } else {
        local.block_on(&rt, run_standalone(args))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("dns: {e}");
            ExitCode::FAILURE
        }
    }
}

fn seed() -> std::io::Result<[u8; 32]> {
    let mut s = [0u8; 32];
    cpe_sys::random::fill(&mut s)?;
    Ok(s)
}

/// Where state updates come from: nowhere (standalone) or the bus.
enum Control {
    Standalone,
    Bus(Box<(cpe_bus::client::Bus, setup::BusConfig)>),
}

async fn run_standalone(args: Args) -> Result<(), String> {
    let mut opts = args.opts;
    opts.lan_ifaces = Vec::new(); // sockets are bound to the listed addresses/devices
    let listen = args.listen;
    run(
        opts,
        listen,
        args.upstreams,
        Vec::new(),
        Control::Standalone,
        args.status_file,
    )
    .await
}

async fn run_supervised() -> Result<(), String> {
    let (bus, welcome, cfg) = cpe_bus::client::connect_configured("dns").await?;
    if !cfg.dns.enabled {
        log::info!("dns: disabled in config");
        bus.set_status(serde_json::json!({ "enabled": false }));
        let mut bus = bus;
        while bus.next_state().await.is_some() {}
        return Ok(());
    }
    let bc = setup::BusConfig::from_config(&cfg);
    let upstreams = bc.upstreams(&welcome.state);
    let mut opts = bc.options.clone();
    opts.lan_ifaces = bc.ifindexes();
    let listen = bc.listen_specs();
    let lan_addrs = bc.lan_addrs(&welcome.state);
    let control = Control::Bus(Box::new((bus, bc)));
    run(opts, listen, upstreams, lan_addrs, control, None).await
}

async fn run(
    opts: Options,
    listen: Vec<ListenSpec>,
    upstreams: Vec<SocketAddr>,
    lan_addrs: Vec<(u32, std::net::IpAddr)>,
    mut control: Control,
    status_file: Option<std::path::PathBuf>,
) -> Result<(), String> {
    sockets::raise_fd_limit();
    let seed = seed().map_err(|e| format!("no randomness from the kernel: {e}"))?;
    let fw = Forwarder::new(opts, seed, Instant::now());
    let (io, mut rx, failed) = io::Io::bind(&listen);
    if failed.len() == listen.len() {
        return Err("no listening socket could be opened".into());
    }
    let core = Rc::new(RefCell::new(io::Core::new(fw, io)));
    {
        let mut c = core.borrow_mut();
        let now = Instant::now();
        c.handle(Event::UpstreamsChanged(&upstreams), now);
        c.handle(Event::LanAddrsChanged(&lan_addrs), now);
    }
    io::Io::start_udp(&core);
    let timer_changed = core.borrow().timer_changed.clone();
    let mut status_tick = tokio::time::interval(STATUS_EVERY);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    loop {
        let sleep_to = core
            .borrow()
            .timer
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            input = rx.recv() => {
                let Some(input) = input else { break };
                let mut c = core.borrow_mut();
                c.input(input, Instant::now());
                // Drain what is already queued before sleeping again.
                for _ in 0..64 {
                    match rx.try_recv() {
                        Ok(input) => c.input(input, Instant::now()),
                        Err(_) => break,
                    }
                }
                c.flush();
            }
            _ = tokio::time::sleep_until(sleep_to) => {
                let mut c = core.borrow_mut();
                c.timer = None;
                c.handle(Event::Timer, Instant::now());
                c.flush();
            }
            _ = timer_changed.notified() => {}
            state = next_state(&mut control) => {
                let Some(state) = state else {
                    log::info!("dns: supervisor gone, exiting");
                    break;
                };
                if let Control::Bus(b) = &control {
                    let bc = &b.1;
                    let ups = bc.upstreams(&state);
                    let addrs = bc.lan_addrs(&state);
                    let now = Instant::now();
                    let mut c = core.borrow_mut();
                    c.handle(Event::UpstreamsChanged(&ups), now);
                    c.handle(Event::LanAddrsChanged(&addrs), now);
                    c.flush();
                }
            }
            _ = status_tick.tick() => {
                let json = {
                    let mut c = core.borrow_mut();
                    let st = c.fw.status(Instant::now());
                    let mut json = serde_json::to_value(&st).unwrap_or_default();
                    if let Some(obj) = json.as_object_mut() {
                        obj.insert("udp_send_errors".into(), c.io.send_errors.into());
                        obj.insert("tcp_overflows".into(), c.io.tcp_overflows.into());
                        obj.insert("tcp_stalled".into(), c.io.tcp_stalled.into());
                    }
                    json
                };
                match &control {
                    Control::Bus(b) => b.0.set_status(json),
                    Control::Standalone => {
                        if let Some(path) = &status_file
                            && let Ok(text) = serde_json::to_vec_pretty(&json)
                            && let Err(e) = cpe_sys::persist::atomic_write(path, &text)
                        {
                            log::warn!("dns: cannot write {}: {e}", path.display());
                        }
                    }
                }
            }
            _ = term.recv() => {
                log::info!("dns: SIGTERM, exiting");
                break;
            }
        }
    }
    Ok(())
}

async fn next_state(control: &mut Control) -> Option<cpe_bus::SharedState> {
    match control {
        Control::Bus(b) => b.0.next_state().await,
        Control::Standalone => std::future::pending().await,
    }
}
