//! The supervisor: `cpe run --config FILE`.
//!
//! It is the root of the router's userland. It validates the config, starts
//! one child process per daemon (all of them this same binary), restarts the
//! ones that die, owns the shared state (WAN facts in, LAN facts out), serves
//! the engineer's console, and applies config reloads without disturbing
//! daemons whose settings did not change. See `docs/architecture.md`.

pub mod children;
pub mod core;
pub mod derive;
pub mod lan_addr;
pub mod login;
pub mod plan;
mod server;
pub mod timeline;
pub mod ula;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use cpe_bus::proto::{FromSupervisor, Request, encode_line};
use cpe_bus::{Daemon, Fact};
use cpe_config::Config;
use cpe_daemon::Engine as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

use self::core::Core;

/// Everything that can happen to the supervisor; the main loop handles them
/// one at a time, which is what keeps the shared state consistent.
#[derive(Debug)]
pub enum Event {
    /// A child process ended.
    ChildExited {
        /// The daemon.
        name: Daemon,
        /// Its pid.
        pid: u32,
        /// How it ended.
        status: ExitStatus,
    },
    /// A daemon connected and said hello.
    DaemonHello {
        /// Connection id.
        conn: u64,
        /// The name it gave.
        daemon: String,
        /// The pid it gave.
        pid: u32,
        /// Where to write messages for it.
        out: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// A daemon connection closed.
    DaemonGone {
        /// Connection id.
        conn: u64,
    },
    /// A daemon published a fact.
    Publish {
        /// Connection id.
        conn: u64,
        /// The fact.
        fact: Fact,
    },
    /// A daemon replaced its status object.
    DaemonStatus {
        /// Connection id.
        conn: u64,
        /// The status.
        value: serde_json::Value,
    },
    /// The console asked something.
    Console {
        /// What.
        request: Request,
        /// Where the answer goes.
        reply: oneshot::Sender<FromSupervisor>,
    },
}

/// Default config location on the device.
pub const DEFAULT_CONFIG: &str = "/etc/cpe/config.toml";

/// How long an orderly stop may take in total before children are killed.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(4000);

const RUN_USAGE: &str = "usage: cpe run [--config FILE] [--login-shadow FILE]";

/// Entry point of `cpe run`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let mut config_path = PathBuf::from(DEFAULT_CONFIG);
    let mut login_shadow = None;
    let mut parser = lexopt::Parser::from_args(args);
    loop {
        match parser.next() {
            Ok(Some(lexopt::Arg::Long("config")) | Some(lexopt::Arg::Short('c'))) => {
                match parser.value() {
                    Ok(v) => config_path = PathBuf::from(v),
                    Err(e) => return usage(&e.to_string()),
                }
            }
            Ok(Some(lexopt::Arg::Long("login-shadow"))) => match parser.value() {
                Ok(v) => login_shadow = Some(PathBuf::from(v)),
                Err(e) => return usage(&e.to_string()),
            },
            Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => {
                println!(
                    "{RUN_USAGE}\n\nRuns the supervisor in the foreground, logging to stderr.\n\
                     --login-shadow FILE: keep FILE (the image's /etc/shadow) in step with\n\
                     [system] root_password_hash, at start and at every reload."
                );
                return ExitCode::SUCCESS;
            }
            Ok(None) => break,
            Ok(Some(other)) => return usage(&format!("unexpected {}", other.unexpected())),
            Err(e) => return usage(&e.to_string()),
        }
    }
    let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
    let (loaded, source) = match cpe_config::load_file_with_source(&config_path) {
        Ok(l) => l,
        Err(diags) => {
            for d in &diags.0 {
                eprintln!("{d}");
            }
            eprintln!("cpe run: refusing to start with an invalid config");
            return ExitCode::FAILURE;
        }
    };
    cpe_log::init(
        "supervisor",
        cpe_log::parse_level(loaded.config.system.log_level.as_str()),
    );
    for w in &loaded.warnings {
        log::warn!("{w}");
    }
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
    match rt.block_on(run(config_path, login_shadow, loaded.config, source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("cpe run: {msg}\n{RUN_USAGE}");
    ExitCode::from(2)
}

struct Conn {
    daemon: Daemon,
    out: mpsc::UnboundedSender<Vec<u8>>,
}

/// The driver around [`core::Core`]: child processes, the bus connections,
/// the LAN addresses, the config file and the clock.
struct Supervisor {
    core: Core,
    config_path: PathBuf,
    /// The console's shadow file, kept in step with the config.
    login_shadow: Option<PathBuf>,
    conns: HashMap<u64, Conn>,
    lan_addrs: lan_addr::LanAddresses,
    started: Instant,
    exe: PathBuf,
    bus_path: PathBuf,
    events: mpsc::UnboundedSender<Event>,
    /// Where the answer to a console reload goes, while it is handled.
    reload_reply: Option<oneshot::Sender<FromSupervisor>>,
}

async fn run(
    config_path: PathBuf,
    login_shadow: Option<PathBuf>,
    config: Config,
    source: String,
) -> std::io::Result<()> {
    let run_dir = config.system.run_dir.clone();
    let bus_path = run_dir.join(cpe_bus::SOCKET_NAME);
    let listener = server::bind(&bus_path)?;
    let exe = std::env::current_exe()?;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    tokio::spawn(server::accept_loop(listener, events_tx.clone()));
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let mut core = Core::new(config.clone(), source);
    load_ula(&mut core, &config);
    apply_login(login_shadow.as_deref(), &config);
    let mut sup = Supervisor {
        core,
        config_path,
        login_shadow,
        conns: HashMap::new(),
        lan_addrs: lan_addr::LanAddresses::default(),
        started: Instant::now(),
        exe,
        bus_path: bus_path.clone(),
        events: events_tx,
        reload_reply: None,
    };
    log::info!(
        "supervisor started with {} (pid {}), socket {}",
        sup.config_path.display(),
        std::process::id(),
        bus_path.display()
    );
    sup.feed(core::Input::Start);

    loop {
        let wake = sup
            .core
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            ev = events_rx.recv() => match ev {
                Some(ev) => sup.handle(ev),
                None => break,
            },
            _ = hup.recv() => {
                log::info!("SIGHUP: reloading {}", sup.config_path.display());
                sup.reload();
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = tokio::time::sleep_until(wake.into()) => {
                sup.set_wall_clock();
                sup.core.handle_timeout(Instant::now());
                sup.perform();
            }
        }
    }
    sup.shutdown(&mut events_rx).await;
    let _ = std::fs::remove_file(&bus_path);
    log::info!("supervisor stopped");
    Ok(())
}

/// Loads (or creates) the persisted ULA when `config` is the first to ask
/// for one; a file on flash, so it is the driver's.
fn load_ula(engine: &mut Core, config: &Config) {
    // A LAN with its own configured /48 needs no generated one.
    if engine.ula().is_none() && config.lan.iter().any(|l| l.ula && l.ula_prefix.is_none()) {
        match ula::load_or_create(&config.system.state_dir) {
            Ok(p) => engine.handle(core::Input::Ula(p), Instant::now()),
            Err(e) => log::error!(
                "cannot load or persist the ULA prefix in {}: {e}; LANs get no ULA",
                config.system.state_dir.display()
            ),
        }
    }
}

/// Rewrites the console's shadow file (if the supervisor keeps one) for
/// `config`, logging what the console now does when that changed. A
/// failure leaves the previous login in force and says so.
fn apply_login(shadow: Option<&std::path::Path>, config: &Config) {
    let Some(path) = shadow else { return };
    match login::write_shadow(path, config) {
        Ok(true) => log::info!("{} ({} rewritten)", login::summary(config), path.display()),
        Ok(false) => {}
        Err(e) => log::error!(
            "cannot write {}: {e}; the console keeps its previous login",
            path.display()
        ),
    }
}

impl Supervisor {
    /// Anchors the core's event stamps to the wall clock as it is now (NTP
    /// may have stepped it since the last input).
    fn set_wall_clock(&mut self) {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.core.set_wall_clock(Instant::now(), unix_ms);
    }

    /// Feeds the core one input now and performs what it asks.
    fn feed(&mut self, input: core::Input) {
        self.set_wall_clock();
        self.core.handle(input, Instant::now());
        self.perform();
    }

    /// Performs every queued action (some feed the core back).
    fn perform(&mut self) {
        while let Some(action) = self.core.poll_action() {
            match action {
                core::Action::Spawn(daemon) => {
                    let input = match children::spawn(
                        daemon,
                        &self.exe,
                        &self.config_path,
                        &self.bus_path,
                        self.events.clone(),
                    ) {
                        Ok(pid) => core::Input::Spawned { daemon, pid },
                        Err(e) => core::Input::SpawnFailed {
                            daemon,
                            error: e.to_string(),
                        },
                    };
                    self.core.handle(input, Instant::now());
                }
                core::Action::Signal { pid, signal, .. } => children::signal(pid, signal),
                core::Action::ApplyAddresses(wanted) => {
                    self.lan_addrs.apply(&wanted);
                    let failed = self.lan_addrs.has_errors();
                    self.core
                        .handle(core::Input::AddressErrors(failed), Instant::now());
                }
                core::Action::PushState(state) => {
                    let line = encode_line(&FromSupervisor::State(state));
                    for c in self.conns.values() {
                        let _ = c.out.send(line.clone());
                    }
                }
                core::Action::Reloaded(outcome) => {
                    if let Some(reply) = self.reload_reply.take() {
                        let _ = reply.send(FromSupervisor::Reload(outcome));
                    }
                }
            }
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::ChildExited { name, pid, status } => self.feed(core::Input::Exited {
                daemon: name,
                pid,
                status,
            }),
            Event::DaemonHello {
                conn,
                daemon,
                pid,
                out,
            } => self.hello(conn, &daemon, pid, out),
            Event::DaemonGone { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    log::debug!("daemon {} disconnected", c.daemon);
                }
            }
            Event::Publish { conn, fact } => {
                if let Some(c) = self.conns.get(&conn) {
                    let daemon = c.daemon;
                    self.feed(core::Input::Publish { daemon, fact });
                }
            }
            Event::DaemonStatus { conn, value } => {
                if let Some(c) = self.conns.get(&conn) {
                    let daemon = c.daemon;
                    self.feed(core::Input::Status { daemon, value });
                }
            }
            Event::Console { request, reply } => match request {
                Request::Status => {
                    let now = Instant::now();
                    let report = self.core.report(
                        now,
                        now - self.started,
                        &self.config_path.display().to_string(),
                    );
                    let _ = reply.send(FromSupervisor::Status(Box::new(report)));
                }
                Request::Log(query) => {
                    let events = self.core.log(&query, Instant::now());
                    let _ = reply.send(FromSupervisor::Log(events));
                }
                Request::Reload => {
                    log::info!("reload requested from the console");
                    self.reload_reply = Some(reply);
                    self.reload();
                }
            },
        }
    }

    fn hello(&mut self, conn: u64, daemon: &str, pid: u32, out: mpsc::UnboundedSender<Vec<u8>>) {
        let Some((name, expected)) = self.core.child(daemon) else {
            log::warn!("connection claims to be unknown daemon {daemon:?} (pid {pid}); refused");
            let _ = out.send(encode_line(&FromSupervisor::Error {
                message: format!("no daemon {daemon:?} in the running config"),
            }));
            return;
        };
        if expected != Some(pid) {
            log::warn!("daemon {daemon} connected from pid {pid}, expected {expected:?}");
        }
        let _ = out.send(encode_line(&FromSupervisor::Config {
            file: self.config_path.display().to_string(),
            source: self.core.source().to_string(),
        }));
        let _ = out.send(encode_line(&FromSupervisor::State(Box::new(
            self.core.state().clone(),
        ))));
        self.conns.insert(conn, Conn { daemon: name, out });
    }

    /// Re-reads the config file and hands it to the core. Runs inside the
    /// main loop, which is safe because reading the file never blocks: a
    /// FIFO, device or directory put in its place is refused at once (see
    /// `cpe_config::read_file_bytes`), and the text validated is the text
    /// kept, so the daemons get exactly what was checked.
    fn reload(&mut self) {
        let loaded = match cpe_config::load_file_with_source(&self.config_path) {
            Ok((loaded, source)) => Ok(Box::new(core::Loaded {
                warnings: loaded.warnings.iter().map(|d| d.to_string()).collect(),
                config: loaded.config,
                source,
            })),
            Err(diags) => Err(diags.0.iter().map(|d| d.to_string()).collect()),
        };
        if let Ok(l) = &loaded {
            cpe_log::set_level(cpe_log::parse_level(l.config.system.log_level.as_str()));
            load_ula(&mut self.core, &l.config);
            apply_login(self.login_shadow.as_deref(), &l.config);
        }
        self.feed(core::Input::Reload(loaded));
    }

    async fn shutdown(&mut self, events: &mut mpsc::UnboundedReceiver<Event>) {
        self.feed(core::Input::Shutdown);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut killed = false;
        while self.core.any_running() {
            let wait_until = if killed {
                deadline + Duration::from_millis(500)
            } else {
                deadline
            };
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(Event::ChildExited { name, pid, status }) => {
                        self.feed(core::Input::Exited { daemon: name, pid, status });
                    }
                    Some(Event::Console { reply, .. }) => {
                        let _ = reply.send(FromSupervisor::Error { message: "shutting down".into() });
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = tokio::time::sleep_until(wait_until.into()) => {
                    if killed {
                        break;
                    }
                    self.feed(core::Input::KillAll);
                    killed = true;
                }
            }
        }
    }
}
