//! Process entry point: `cpe daemon ntp`, started by the supervisor when
//! `[ntp] enabled`. One loop: the request socket, the engine's deadline,
//! state snapshots (the WAN's NTP servers) and the stop request.
//!
//! Each request goes out of a new UDP socket bound to port 0, so the kernel
//! picks a fresh random source port every time (RFC 5905 section 9.1 and
//! the data-minimisation advice of RFC 9109): a blind spoofer must guess the
//! port as well as the 64-bit transmit timestamp. The socket is not
//! connected, so replies from anywhere reach the engine, which counts what
//! it drops (a connected socket would hide a spoofing attempt).

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cpe_bus::SharedState;
use cpe_daemon::Engine as _;
use cpe_daemon::runner::{self, Context, Outlet};
use log::{error, info, warn};
use tokio::net::UdpSocket;

use crate::config::ClientConfig;
use crate::engine::{Action, Engine, Input};

/// How often the status is refreshed when nothing happens (the age of the
/// last sync moves).
const STATUS_TICK: Duration = Duration::from_secs(10);

/// Entry point used by the `cpe` binary for `cpe daemon ntp` (no
/// arguments: it runs only under the supervisor).
pub fn main(args: Vec<OsString>) -> ExitCode {
    runner::run_supervised(cpe_bus::Daemon::Ntp, &args, run)
}

/// The WAN's NTP servers in a snapshot: DHCPv6 option 56 first (RFC 7084
/// WAA-5 makes them the primary time reference), then DHCPv4 option 42.
fn wan_servers(state: &SharedState) -> Vec<IpAddr> {
    state
        .dhcp6
        .ntp_servers
        .iter()
        .map(|a| IpAddr::V6(*a).to_canonical())
        .chain(state.wan.ntp_servers.iter().map(|a| a.to_canonical()))
        .collect()
}

/// What the loop logs when it changes, so a line appears once per change.
#[derive(Default, PartialEq)]
struct Shown {
    synced: bool,
    reason: Option<String>,
}

struct Driver {
    engine: Engine,
    socket: Option<UdpSocket>,
    outlet: Outlet,
    shown: Shown,
}

impl Driver {
    async fn perform(&mut self) {
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::Send { to, packet } => {
                    let result = send(&packet, to).await;
                    match result {
                        Ok(socket) => self.socket = Some(socket),
                        Err(e) => {
                            self.socket = None;
                            self.engine.handle(Input::SendFailed(e), Instant::now());
                        }
                    }
                }
                Action::StepClock { offset_ns } => {
                    let result = cpe_sys::clock::step(offset_ns).map_err(|e| e.to_string());
                    match &result {
                        Ok(()) => info!("clock stepped by {:+.3} s", offset_ns as f64 / 1e9),
                        Err(e) => error!(
                            "cannot step the clock by {:+.3} s: {e}",
                            offset_ns as f64 / 1e9
                        ),
                    }
                    self.engine.handle(Input::Stepped(result), Instant::now());
                }
            }
        }
        self.publish();
    }

    fn publish(&mut self) {
        let now = Instant::now();
        let st = self.engine.status(now);
        let shown = Shown {
            synced: st.synced,
            reason: st.reason.clone(),
        };
        if shown != self.shown {
            match (&st.reason, st.synced) {
                (None, true) => info!(
                    "synchronised to {} (stratum {}), offset {:+.3} ms, delay {:.3} ms",
                    st.server.map(|a| a.to_string()).unwrap_or_default(),
                    st.stratum.unwrap_or_default(),
                    st.offset_ns.unwrap_or_default() as f64 / 1e6,
                    st.delay_ns.unwrap_or_default() as f64 / 1e6,
                ),
                (Some(r), true) => warn!("synchronised, but: {r}"),
                // The start, not a problem: no warning for it.
                (Some(r), false)
                    if self.engine.counters().sent == 0 || r.starts_with("waiting") =>
                {
                    info!("not synchronised yet: {r}")
                }
                (Some(r), false) => warn!("not synchronised: {r}"),
                (None, false) => {}
            }
            self.shown = shown;
        }
        self.outlet.set_status(&self.engine.status_report(now));
    }
}

/// Sends `packet` to `to` from a new socket on a kernel-chosen port.
async fn send(packet: &[u8], to: SocketAddr) -> Result<UdpSocket, String> {
    let local: SocketAddr = match to {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("socket: {e}"))?;
    socket
        .send_to(packet, to)
        .await
        .map_err(|e| format!("send to {to}: {e}"))?;
    Ok(socket)
}

async fn recv(socket: &Option<UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn run(ctx: Context) -> Result<(), String> {
    let cfg = ctx.supervised_config()?;
    let client = ClientConfig::from_config(&cfg.ntp);
    info!(
        "servers {:?}, {} the WAN's; clock {}",
        client
            .servers
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        if client.use_wan { "then" } else { "not" },
        if client.set_clock {
            "set on first sync and beyond 128 ms"
        } else {
            "not set ([ntp] set_clock = false): offset shown only"
        }
    );
    let mut states = ctx.states();
    let mut stop = ctx.stop();
    let mut driver = Driver {
        engine: Engine::new(client, cpe_sys::random::seed_or_clock(), Instant::now()),
        socket: None,
        outlet: ctx.outlet(),
        shown: Shown::default(),
    };
    let first = wan_servers(&states.borrow_and_update());
    driver
        .engine
        .handle(Input::WanServers(first), Instant::now());
    driver.perform().await;
    let mut buf = vec![0u8; 2048];
    loop {
        let tick = Instant::now() + STATUS_TICK;
        tokio::select! {
            got = recv(&driver.socket, &mut buf) => match got {
                Ok((len, from)) => {
                    let wall = cpe_sys::clock::now_ntp();
                    let data = buf.get(..len).unwrap_or_default();
                    driver.engine.handle(Input::Reply { from, data, wall }, Instant::now());
                }
                Err(e) => {
                    // ICMP port unreachable and the like: the reply will
                    // not come; the engine times the request out.
                    warn!("receive: {e}");
                    driver.socket = None;
                }
            },
            () = sleep_until(driver.engine.poll_timeout()) => {
                driver.engine.handle_timeout(Instant::now());
            }
            () = tokio::time::sleep_until(tick.into()) => {}
            changed = states.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let servers = wan_servers(&states.borrow_and_update());
                driver.engine.handle(Input::WanServers(servers), Instant::now());
            }
            _ = stop.requested() => return Ok(()),
        }
        driver.perform().await;
    }
}
