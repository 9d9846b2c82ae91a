//! The one way a daemon process runs: runtime, logging, outlet, signals,
//! status cadence and the per-LAN fan-out, written once.
//!
//! A daemon's `main` parses its command line into a [`Mode`] and hands the
//! runner its driver (an async function of a [`Context`]). The runner:
//! - installs the logger once, naming the daemon once per line (so driver
//!   messages never repeat the name);
//! - builds a single-threaded runtime (one core, a few MB of RAM: every
//!   daemon is one thread, its LAN tasks are local tasks);
//! - connects the one outlet: the supervisor's bus in [`Mode::Supervised`]
//!   (config, state snapshots, facts and status), or in
//!   [`Mode::Standalone`] (labs and benchmarks, no supervisor) an optional
//!   status file written atomically;
//! - publishes the status at one cadence: at once after a quiet spell, then
//!   at most every [`STATUS_EVERY`] (a status file is on flash, and a burst
//!   of per-LAN updates becomes one write);
//! - applies one signal policy (see [`Stop`]) and gives the driver
//!   [`SHUTDOWN_GRACE`] to say goodbye before the process exits anyway.
//!
//! The driver owns the protocol: it builds its engines, does their I/O and
//! watches [`StopRx`]; most daemons run one task per LAN interface through
//! [`Context::per_lan`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use cpe_bus::client::Bus;
use cpe_bus::state::Fact;
use cpe_bus::{Daemon, SharedState};
use log::{LevelFilter, error, info, warn};
use serde_json::{Map, Value};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long a stopping driver may take for its goodbye (RA sender: the final
/// RAs are MIN_DELAY_BETWEEN_RAS = 3 s apart) before the process exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Shortest time between two status publications.
pub const STATUS_EVERY: Duration = Duration::from_secs(1);

/// Why a daemon is asked to stop. One policy for every daemon:
///
/// | signal            | stop                | meaning                          |
/// |-------------------|---------------------|----------------------------------|
/// | SIGTERM, SIGINT   | [`Stop::Goodbye`]   | going away: say goodbye          |
/// | SIGUSR1           | [`Stop::Quiet`]     | restart: I am coming back        |
/// | supervisor gone   | [`Stop::Quiet`]     | orphaned: stop touching the box  |
/// | SIGHUP            | (none, logged)      | config comes from the supervisor |
///
/// What "goodbye" means is the daemon's: the RA sender sends final RAs with
/// router lifetime 0; the DHCPv4 server saves its leases on either stop.
/// The supervisor stops a daemon it restarts at once (its config slice
/// changed) with SIGUSR1, so a reload never cuts the household off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT: the daemon is going away for good.
    Goodbye,
    /// SIGUSR1, or the supervisor is gone: exit without telling the peers.
    Quiet,
}

/// How the process was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Started by `cpe run`: config and state from the bus named by `CPE_BUS`,
    /// status to the bus, log level from the config.
    Supervised,
    /// Started by hand (labs, benchmarks): no bus, no config.
    Standalone {
        /// Where the status JSON is written (atomically), if anywhere.
        status_file: Option<PathBuf>,
        /// Log level from the command line.
        log_level: LevelFilter,
    },
}

/// What a driver gets from the runner.
pub struct Context {
    config: Option<cpe_config::Config>,
    states: watch::Receiver<SharedState>,
    stop: StopRx,
    outlet: Outlet,
}

/// The runner's ends of a [`Context`]: where stops and snapshots go in.
struct Feeds {
    stop: watch::Sender<Option<Stop>>,
    states: watch::Sender<SharedState>,
}

impl Context {
    fn new(
        config: Option<cpe_config::Config>,
        state: SharedState,
        outlet: Outlet,
    ) -> (Context, Feeds) {
        let (stop, stop_rx) = watch::channel(None);
        let (states, states_rx) = watch::channel(state);
        let ctx = Context {
            config,
            states: states_rx,
            stop: StopRx(stop_rx),
            outlet,
        };
        (ctx, Feeds { stop, states })
    }

    /// The config handed over by the supervisor, projected on what this
    /// daemon declares it reads ([`Daemon::reads`]: every other field is at
    /// its default); `None` in standalone mode.
    pub fn config(&self) -> Option<&cpe_config::Config> {
        self.config.as_ref()
    }

    /// The config, for daemons that only run supervised.
    pub fn supervised_config(&self) -> Result<&cpe_config::Config, String> {
        self.config
            .as_ref()
            .ok_or_else(|| "runs only under the supervisor (`cpe run`)".to_string())
    }

    /// State snapshots from the supervisor: the newest is always readable,
    /// `changed()` wakes on each new one (never in standalone mode).
    pub fn states(&self) -> watch::Receiver<SharedState> {
        self.states.clone()
    }

    /// Becomes set when the daemon must stop.
    pub fn stop(&self) -> StopRx {
        self.stop.clone()
    }

    /// Where facts and status go.
    pub fn outlet(&self) -> Outlet {
        self.outlet.clone()
    }

    /// Runs `task` once per LAN interface in `lans` (one local task each,
    /// each with its own [`Lan`] handle), and returns once a stop was
    /// requested and every task has returned.
    ///
    /// The status becomes `{"lans": [one object per LAN, by interface]}`
    /// plus the fields set with [`Outlet::set_field`]. A daemon with no LAN
    /// to serve publishes `"lans": []` at once; otherwise the first status
    /// goes out with the first LAN's entry (readers index `lans[0]`). The LAN
    /// set comes from the config, and a config change restarts the daemon
    /// (the supervisor compares each daemon's slice), so it is fixed for
    /// the life of the process.
    pub async fn per_lan<T, F, Fut>(&self, lans: Vec<(String, T)>, task: F)
    where
        F: Fn(Lan, T) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let idle = lans.is_empty();
        self.outlet.with(|o| {
            o.lans.get_or_insert_with(BTreeMap::new);
            o.dirty |= idle;
        });
        self.outlet.notify.notify_one();
        let mut tasks = JoinSet::new();
        for (interface, spec) in lans {
            let lan = Lan {
                interface,
                states: self.states(),
                stop: self.stop(),
                outlet: self.outlet(),
            };
            // Boxed: one task type for every LAN task of every daemon.
            let task: Pin<Box<dyn Future<Output = ()>>> = Box::pin(task(lan, spec));
            tasks.spawn_local(task);
        }
        self.stop().requested().await;
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                warn!("a LAN task failed: {e}");
            }
        }
    }
}

/// One LAN task's view of the runner.
pub struct Lan {
    /// The LAN interface.
    pub interface: String,
    /// State snapshots (see [`Context::states`]).
    pub states: watch::Receiver<SharedState>,
    /// Set when the task must stop.
    pub stop: StopRx,
    outlet: Outlet,
}

impl Lan {
    /// Replaces this LAN's entry in the daemon's status (the daemon's
    /// per-LAN struct of `cpe_bus::status`).
    pub fn set_status<T: serde::Serialize>(&self, status: &T) {
        self.outlet
            .set_lan_status(&self.interface, to_json_value(status));
    }

    /// Publishes a fact for the shared state (see [`Outlet::publish`]).
    pub fn publish(&self, fact: Fact) {
        self.outlet.publish(fact);
    }
}

/// A status struct as JSON. Our status types are plain data whose
/// serialisation cannot fail; `null` stands in if one ever did.
fn to_json_value<T: serde::Serialize>(status: &T) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

/// The stop request, as a watch any task can hold.
#[derive(Clone)]
pub struct StopRx(watch::Receiver<Option<Stop>>);

impl StopRx {
    /// The stop requested so far, if any.
    pub fn get(&self) -> Option<Stop> {
        *self.0.borrow()
    }

    /// Waits until a stop is requested (at once if it already was), so it
    /// can sit in every `select!` of a loop. Cancel-safe.
    pub async fn requested(&mut self) -> Stop {
        loop {
            if let Some(s) = *self.0.borrow_and_update() {
                return s;
            }
            if self.0.changed().await.is_err() {
                // The runner is gone: the process is ending anyway.
                return std::future::pending().await;
            }
        }
    }
}

/// The daemon's one outlet: facts to the supervisor, status to the
/// supervisor or to a file. Cheap to clone; all clones share one status.
#[derive(Clone)]
pub struct Outlet {
    inner: Rc<RefCell<OutletInner>>,
    notify: Rc<Notify>,
}

struct OutletInner {
    bus: Option<Bus>,
    file: Option<PathBuf>,
    fields: Map<String, Value>,
    lans: Option<BTreeMap<String, Value>>,
    dirty: bool,
    last: Option<Instant>,
}

impl Outlet {
    fn new(bus: Option<Bus>, file: Option<PathBuf>) -> Outlet {
        Outlet {
            inner: Rc::new(RefCell::new(OutletInner {
                bus,
                file,
                fields: Map::new(),
                lans: None,
                dirty: false,
                last: None,
            })),
            notify: Rc::new(Notify::new()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut OutletInner) -> R) -> R {
        f(&mut self.inner.borrow_mut())
    }

    /// Publishes a fact to the supervisor (dropped in standalone mode,
    /// where no one owns the shared state).
    pub fn publish(&self, fact: Fact) {
        self.with(|o| {
            if let Some(bus) = &o.bus {
                bus.publish(fact);
            }
        });
    }

    /// Replaces the whole status object (daemons without per-LAN tasks:
    /// their struct of `cpe_bus::status`). Non-object values are wrapped
    /// as `{"status": value}`.
    pub fn set_status<T: serde::Serialize>(&self, status: &T) {
        let fields = match to_json_value(status) {
            Value::Object(m) => m,
            other => Map::from_iter([("status".to_string(), other)]),
        };
        self.with(|o| {
            o.fields = fields;
            o.dirty = true;
        });
        self.notify.notify_one();
    }

    /// Sets one top-level field of the status (next to `"lans"`).
    pub fn set_field(&self, key: &str, value: Value) {
        self.with(|o| {
            o.fields.insert(key.to_string(), value);
            o.dirty = true;
        });
        self.notify.notify_one();
    }

    fn set_lan_status(&self, interface: &str, status: Value) {
        self.with(|o| {
            o.lans
                .get_or_insert_with(BTreeMap::new)
                .insert(interface.to_string(), status);
            o.dirty = true;
        });
        self.notify.notify_one();
    }

    /// When the pending status is due; `None` when nothing is pending.
    fn due(&self) -> Option<Instant> {
        self.with(|o| {
            o.dirty
                .then(|| o.last.map_or_else(Instant::now, |t| t + STATUS_EVERY))
        })
    }

    /// Publishes the status now if anything changed since the last time.
    fn flush(&self) {
        self.with(|o| {
            if !o.dirty {
                return;
            }
            o.dirty = false;
            o.last = Some(Instant::now());
            let mut status = o.fields.clone();
            if let Some(lans) = &o.lans {
                status.insert(
                    "lans".into(),
                    Value::Array(lans.values().cloned().collect()),
                );
            }
            let status = Value::Object(status);
            if let Some(bus) = &o.bus {
                bus.set_status(status);
            } else if let Some(path) = &o.file
                && let Ok(text) = serde_json::to_vec_pretty(&status)
                && let Err(e) = cpe_sys::persist::atomic_write(path, &text)
            {
                warn!("cannot write {}: {e}", path.display());
            }
        });
    }
}

/// The signals of the policy, installed before anything else can fail.
struct Signals {
    term: Signal,
    int: Signal,
    usr1: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> Result<Signals, String> {
        let on = |kind: SignalKind| signal(kind).map_err(|e| format!("signal handler: {e}"));
        Ok(Signals {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            usr1: on(SignalKind::user_defined1())?,
            hup: on(SignalKind::hangup())?,
        })
    }

    /// The next signal's name and the stop it asks for.
    async fn next(&mut self) -> (&'static str, Option<Stop>) {
        tokio::select! {
            _ = self.term.recv() => ("SIGTERM", Some(Stop::Goodbye)),
            _ = self.int.recv() => ("SIGINT", Some(Stop::Goodbye)),
            _ = self.usr1.recv() => ("SIGUSR1", Some(Stop::Quiet)),
            _ = self.hup.recv() => ("SIGHUP", None),
        }
    }
}

/// [`run`] for a daemon that takes no arguments and runs only under the
/// supervisor: anything on its command line is a usage error (exit 2).
pub fn run_supervised<F, Fut>(daemon: Daemon, args: &[OsString], driver: F) -> ExitCode
where
    F: FnOnce(Context) -> Fut + 'static,
    Fut: Future<Output = Result<(), String>> + 'static,
{
    if let Some(a) = args.first() {
        eprintln!(
            "unexpected argument {a:?}\nusage: cpe daemon {daemon}   (started by `cpe run`; config from the state bus)"
        );
        return ExitCode::from(2);
    }
    run(daemon, Mode::Supervised, driver)
}

/// A driver with its type erased.
type Driver = Box<dyn FnOnce(Context) -> Pin<Box<dyn Future<Output = Result<(), String>>>>>;

/// Runs a daemon: the whole of its `main` after argument parsing. The
/// daemon's name (from the registry) is its name on the bus and in every
/// log line.
///
/// Only this wrapper is generic: the runner itself, and the tokio task that
/// runs the driver, exist once in the binary whatever the number of
/// daemons (flash is counted in KB).
pub fn run<F, Fut>(daemon: Daemon, mode: Mode, driver: F) -> ExitCode
where
    F: FnOnce(Context) -> Fut + 'static,
    Fut: Future<Output = Result<(), String>> + 'static,
{
    run_erased(daemon, mode, Box::new(|ctx| Box::pin(driver(ctx))))
}

fn run_erased(daemon: Daemon, mode: Mode, driver: Driver) -> ExitCode {
    let level = match &mode {
        Mode::Supervised => LevelFilter::Info,
        Mode::Standalone { log_level, .. } => *log_level,
    };
    cpe_log::init(daemon.name(), level);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, serve(daemon, mode, driver)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The next snapshot from the bus; never resolves without one.
async fn next_state(bus: &mut Option<Bus>) -> Option<SharedState> {
    match bus {
        Some(b) => b.next_state().await,
        None => std::future::pending().await,
    }
}

async fn serve(daemon: Daemon, mode: Mode, driver: Driver) -> Result<(), String> {
    let mut signals = Signals::install()?;
    let (mut bus, config, state, file) = match mode {
        Mode::Supervised => {
            let (bus, welcome, config) = cpe_bus::client::connect_configured(daemon).await?;
            (Some(bus), Some(config), welcome.state, None)
        }
        Mode::Standalone { status_file, .. } => (None, None, SharedState::default(), status_file),
    };
    let outlet = Outlet::new(bus.clone(), file);
    let (ctx, feeds) = Context::new(config, state, outlet.clone());
    let mut driver = tokio::task::spawn_local(driver(ctx));
    let mut give_up: Option<Instant> = None;
    let result = loop {
        let due = outlet.due();
        tokio::select! {
            done = &mut driver => break done.unwrap_or_else(|e| Err(format!("driver failed: {e}"))),
            state = next_state(&mut bus), if give_up.is_none() => match state {
                Some(s) => { feeds.states.send_replace(s); }
                None => {
                    info!("supervisor gone; stopping without goodbye");
                    let _ = feeds.stop.send(Some(Stop::Quiet));
                    give_up = Some(Instant::now() + SHUTDOWN_GRACE);
                }
            },
            (signame, stop) = signals.next() => match stop {
                _ if give_up.is_some() => info!("{signame} while stopping; still stopping"),
                Some(stop) => {
                    match stop {
                        Stop::Goodbye => info!("{signame}; stopping"),
                        Stop::Quiet => info!("{signame}; stopping quietly (restart)"),
                    }
                    let _ = feeds.stop.send(Some(stop));
                    give_up = Some(Instant::now() + SHUTDOWN_GRACE);
                }
                None => info!(
                    "{signame} ignored: the config comes from the supervisor (SIGHUP to `cpe run` reloads it)"
                ),
            },
            () = outlet.notify.notified() => {}
            () = sleep_until_some(due) => outlet.flush(),
            () = sleep_until_some(give_up) => {
                warn!("not stopped within {SHUTDOWN_GRACE:?}; exiting anyway");
                break Ok(());
            }
        }
    };
    outlet.flush();
    result
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a runtime with a paused clock, as the runner's loop does.
    fn local<F: Future<Output = ()>>(f: F) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        tokio::task::LocalSet::new().block_on(&rt, f);
    }

    fn read(path: &std::path::Path) -> Value {
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn status_is_published_at_once_then_at_most_every_second() {
        let dir = std::env::temp_dir().join(format!("cpe-runner-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("status.json");
        let _ = std::fs::remove_file(&path);
        local(async {
            let outlet = Outlet::new(None, Some(path.clone()));
            assert_eq!(outlet.due(), None, "nothing pending yet");
            outlet.set_lan_status("lan1", serde_json::json!({"n": 1}));
            let first = outlet.due().unwrap_or_else(|| panic!("pending"));
            assert!(first <= Instant::now(), "first status goes out at once");
            outlet.flush();
            assert_eq!(read(&path)["lans"][0]["n"], 1);
            outlet.set_lan_status("lan0", serde_json::json!({"n": 0}));
            outlet.set_field("duid", "00:03".into());
            let next = outlet.due().unwrap_or_else(|| panic!("pending"));
            assert!(next >= Instant::now() + STATUS_EVERY - Duration::from_millis(1));
            outlet.flush();
            let st = read(&path);
            assert_eq!(st["lans"][0]["n"], 0, "LANs in interface order");
            assert_eq!(st["lans"][1]["n"], 1);
            assert_eq!(st["duid"], "00:03");
            assert_eq!(outlet.due(), None, "published: nothing pending");
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stop_is_seen_by_every_holder_and_stays_set() {
        local(async {
            let (tx, rx) = watch::channel(None);
            let mut a = StopRx(rx);
            let mut b = a.clone();
            assert_eq!(a.get(), None);
            let _ = tx.send(Some(Stop::Quiet));
            assert_eq!(a.requested().await, Stop::Quiet);
            assert_eq!(
                a.requested().await,
                Stop::Quiet,
                "stays set for every loop turn"
            );
            assert_eq!(b.requested().await, Stop::Quiet);
        });
    }

    /// Readers index `lans[0]` once a status exists (the lab's rogue-RA
    /// test did, and panicked on an early `"lans": []`).
    #[test]
    fn an_empty_lan_list_is_published_only_by_an_idle_daemon() {
        for (lans, published) in [(vec![], true), (vec![("lan0".to_string(), ())], false)] {
            local(async move {
                let outlet = Outlet::new(None, None);
                let (ctx, feeds) = Context::new(None, SharedState::default(), outlet.clone());
                let _ = feeds.stop.send(Some(Stop::Goodbye));
                ctx.per_lan(lans, |_lan, ()| async {}).await;
                assert_eq!(outlet.due().is_some(), published);
            });
        }
    }

    #[test]
    fn per_lan_runs_one_task_per_lan_until_stopped() {
        local(async {
            let outlet = Outlet::new(None, None);
            let (ctx, feeds) = Context::new(None, SharedState::default(), outlet.clone());
            let lans = vec![("lan0".to_string(), 10), ("lan1".to_string(), 20)];
            let run = ctx.per_lan(lans, |mut lan: Lan, n: u32| async move {
                lan.set_status(&serde_json::json!({ "n": n, "stop": null }));
                let stop = lan.stop.requested().await;
                lan.set_status(&serde_json::json!({ "n": n, "stop": format!("{stop:?}") }));
            });
            let stopper = async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let lans = outlet.with(|o| o.lans.clone()).unwrap_or_default();
                assert_eq!(lans.len(), 2, "both tasks running");
                let _ = feeds.stop.send(Some(Stop::Goodbye));
            };
            tokio::join!(run, stopper);
            let lans = outlet.with(|o| o.lans.clone()).unwrap_or_default();
            assert_eq!(lans["lan0"]["stop"], "Goodbye");
            assert_eq!(lans["lan1"]["n"], 20);
        });
    }
}
