//! Process entry point: `cpe daemon dns` (supervised, config and upstreams
//! from the state bus) or `cpe daemon dns --listen ... --upstream ...`
//! (standalone, used by the lab tests and the benchmark, where no supervisor
//! runs). Both run on the shared runner ([`cpe_daemon::runner`]: logging,
//! bus or status file, signals) and feed the same engine through the same
//! I/O loop.

mod io;
pub mod setup;
mod sockets;

pub use io::ListenSpec;

use crate::config::ForwarderConfig;
use crate::engine::{Forwarder, Input};
use cpe_daemon::Engine as _;
use cpe_daemon::args::value as val;
use cpe_daemon::runner::{self, Context, Mode};
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
    opts: ForwarderConfig,
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

/// Entry point used by the `cpe` binary for `cpe daemon dns [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if args.listen.is_empty() {
        runner::run(cpe_bus::Daemon::Dns, Mode::Supervised, run_supervised)
    } else {
        let mode = Mode::Standalone {
            status_file: args.status_file.clone(),
            log_level: cpe_log::parse_level(args.log_level.as_deref().unwrap_or("info")),
        };
        runner::run(cpe_bus::Daemon::Dns, mode, move |ctx| {
            run_standalone(ctx, args)
        })
    }
}

fn seed() -> std::io::Result<[u8; 32]> {
    let mut s = [0u8; 32];
    cpe_sys::random::fill(&mut s)?;
    Ok(s)
}

async fn run_standalone(ctx: Context, args: Args) -> Result<(), String> {
    let mut opts = args.opts;
    opts.lan_ifaces = Vec::new(); // sockets are bound to the listed addresses/devices
    run(
        ctx,
        opts,
        args.listen,
        args.upstreams,
        Vec::new(),
        Vec::new(),
        None,
    )
    .await
}

async fn run_supervised(ctx: Context) -> Result<(), String> {
    let cfg = ctx.config().ok_or("no config from the supervisor")?;
    if !cfg.dns.enabled {
        log::info!("disabled in config");
        ctx.outlet()
            .set_status(&serde_json::json!({ "enabled": false }));
        ctx.stop().requested().await;
        return Ok(());
    }
    let bc = setup::BusConfig::from_config(cfg);
    let state = ctx.states().borrow().clone();
    let upstreams = bc.upstreams(&state);
    let mut opts = bc.options.clone();
    opts.lan_ifaces = bc.ifindexes();
    let listen = bc.listen_specs();
    let lan_addrs = bc.lan_addrs(&state);
    let names = setup::BusConfig::lease_names(&state);
    run(ctx, opts, listen, upstreams, lan_addrs, names, Some(bc)).await
}

/// The forwarder's loop. `bus` holds what the supervised forwarder needs to
/// follow state snapshots (upstreams, LAN addresses); standalone it is
/// `None` and nothing changes after start.
async fn run(
    ctx: Context,
    opts: ForwarderConfig,
    listen: Vec<ListenSpec>,
    upstreams: Vec<SocketAddr>,
    lan_addrs: Vec<(u32, std::net::IpAddr)>,
    lease_names: Vec<(String, std::net::Ipv4Addr)>,
    bus: Option<setup::BusConfig>,
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
        c.handle(Input::UpstreamsChanged(&upstreams), now);
        c.handle(Input::LanAddrsChanged(&lan_addrs), now);
        c.handle(Input::LeaseNamesChanged(&lease_names), now);
    }
    io::Io::start_udp(&core);
    let timer_changed = core.borrow().timer_changed.clone();
    let mut status_tick = tokio::time::interval(STATUS_EVERY);
    let outlet = ctx.outlet();
    let mut states = ctx.states();
    let mut stop = ctx.stop();
    loop {
        let sleep_to = core
            .borrow()
            .fw
            .poll_timeout()
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
                c.handle_timeout(Instant::now());
                c.flush();
            }
            _ = timer_changed.notified() => {}
            changed = states.changed(), if bus.is_some() => {
                if changed.is_err() {
                    break;
                }
                let state = states.borrow_and_update().clone();
                if let Some(bc) = &bus {
                    let ups = bc.upstreams(&state);
                    let addrs = bc.lan_addrs(&state);
                    let names = setup::BusConfig::lease_names(&state);
                    let now = Instant::now();
                    let mut c = core.borrow_mut();
                    c.handle(Input::UpstreamsChanged(&ups), now);
                    c.handle(Input::LanAddrsChanged(&addrs), now);
                    c.handle(Input::LeaseNamesChanged(&names), now);
                    c.flush();
                }
            }
            _ = status_tick.tick() => {
                let mut c = core.borrow_mut();
                let mut st = c.fw.status(Instant::now());
                st.udp_send_errors = c.io.send_errors;
                st.tcp_overflows = c.io.tcp_overflows;
                st.tcp_stalled = c.io.tcp_stalled;
                outlet.set_status(&st);
            }
            _ = stop.requested() => break,
        }
    }
    Ok(())
}
