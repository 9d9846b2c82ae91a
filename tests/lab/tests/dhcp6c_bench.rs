//! Time to a delegated prefix: our DHCPv6 client against WIDE `dhcp6c` and
//! ISC `dhclient -6 -P`, side by side in one lab, interleaved, against the
//! same Kea. Run by `tools/bench-pd` (it builds release binaries and passes
//! the options); the table goes to `docs/bench-pd.md`.
//!
//! Every run starts one client with the ISP ready (radvd sending M=1/O=1
//! RAs, Kea answering, `wan0` up with its link-local) and stops when its
//! prefix is published:
//! - **ours, product**: `cpe run` with `config/default.toml` (WAN daemon
//!   learns the RA, DHCPv6 client starts on M/O, supervisor merges the fact)
//!   until the supervisor logs `delegated prefixes now [..]`;
//! - **ours, client alone**: `cpe daemon dhcp6c` standalone until it logs
//!   `bound: prefixes ..`;
//! - **WIDE dhcp6c**: until its prefix address appears on `br0`;
//! - **dhclient**: until its lease file holds the prefix.
//!
//! Each with and without Rapid Commit (Kea allows it; the client decides).
//! Our times come from the log lines' millisecond timestamps; the anchors'
//! from polling every 5 ms. Our client starts every run without a saved
//! lease, so it takes the Solicit path like the others.
//!
//! Options (environment): `BENCH_PD_RUNS` (default 20), `BENCH_PD_CSV`
//! (write every run there).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpe_lab::router::{cpe_bin, relocate_system_dirs, repo_file};
use cpe_lab::{
    Dhclient, DhclientOptions, Dhcp6c, Dhcp6cOptions, IpoeTopology, KeaOptions, Lab, Process,
    RadvdOptions, TopologyOptions, plan,
};

/// Longest a run may take before it counts as failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(15);
/// Poll interval for the anchors' lease file / address.
const POLL: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OursProduct,
    OursClient,
    Wide,
    Dhclient,
}

#[derive(Debug, Clone, Copy)]
struct Variant {
    name: &'static str,
    kind: Kind,
    rapid_commit: bool,
}

const VARIANTS: [Variant; 8] = [
    Variant {
        name: "ours, product (cpe run), rapid commit",
        kind: Kind::OursProduct,
        rapid_commit: true,
    },
    Variant {
        name: "ours, client alone, rapid commit",
        kind: Kind::OursClient,
        rapid_commit: true,
    },
    Variant {
        name: "WIDE dhcp6c, rapid commit",
        kind: Kind::Wide,
        rapid_commit: true,
    },
    Variant {
        name: "dhclient -6 -P, rapid commit",
        kind: Kind::Dhclient,
        rapid_commit: true,
    },
    Variant {
        name: "ours, product (cpe run), no rapid commit",
        kind: Kind::OursProduct,
        rapid_commit: false,
    },
    Variant {
        name: "ours, client alone, no rapid commit",
        kind: Kind::OursClient,
        rapid_commit: false,
    },
    Variant {
        name: "WIDE dhcp6c, no rapid commit",
        kind: Kind::Wide,
        rapid_commit: false,
    },
    Variant {
        name: "dhclient -6 -P, no rapid commit",
        kind: Kind::Dhclient,
        rapid_commit: false,
    },
];

struct Bench {
    topo: IpoeTopology,
    product_source_rc: String,
    product_source_norc: String,
    product_dir: PathBuf,
    client_dir: PathBuf,
}

/// Milliseconds since the Unix epoch of a log line's leading
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (our logger's format).
fn log_line_time(line: &str) -> Option<SystemTime> {
    let ts = line.get(..24)?;
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if ts.as_bytes().get(23) != Some(&b'Z') {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date: count from March
    // so the leap day is the last day of the counted year.
    let (yy, mm) = if mo <= 2 { (y - 1, mo + 12) } else { (y, mo) };
    let days = 365 * yy + yy / 4 - yy / 100 + yy / 400 + (153 * (mm - 3) + 2) / 5 + d - 719_469;
    let millis = ((days * 86_400 + h * 3600 + mi * 60 + s) * 1000) + ms;
    Some(UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).ok()?))
}

/// The time of the first line of `path` containing `needle`, polling until
/// `timeout`.
fn wait_log_line(path: &Path, needle: &str, timeout: Duration) -> Option<SystemTime> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Some(line) = text.lines().find(|l| l.contains(needle))
        {
            return log_line_time(line);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Polls `probe` every [`POLL`]; the wall-clock time it first held.
fn wait_poll(timeout: Duration, mut probe: impl FnMut() -> bool) -> Option<SystemTime> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if probe() {
            return Some(SystemTime::now());
        }
        std::thread::sleep(POLL);
    }
    None
}

fn since(t0: SystemTime, t: Option<SystemTime>) -> Option<Duration> {
    t.and_then(|t| t.duration_since(t0).ok())
}

/// What one successful run measured.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// When the client was started.
    t0: SystemTime,
    /// Start to prefix published.
    total: Duration,
    /// Ours only: start to the DHCPv6 engine starting (`idle -> soliciting`
    /// in its log): process start-up, and for the product the supervisor,
    /// the WAN daemon and its RA. The random initial delay comes after.
    engine_started: Option<Duration>,
}

fn ours_outcome(t0: SystemTime, end: Option<SystemTime>, p: &Process) -> Result<Outcome, String> {
    let total = since(t0, end).ok_or_else(|| p.log_tail(30))?;
    let started = p
        .log_text()
        .lines()
        .find(|l| l.contains("dhcp6c: idle -> soliciting"))
        .and_then(log_line_time);
    Ok(Outcome {
        t0,
        total,
        engine_started: since(t0, started),
    })
}

fn anchor_outcome(t0: SystemTime, end: Option<SystemTime>, p: &Process) -> Result<Outcome, String> {
    let total = since(t0, end).ok_or_else(|| p.log_tail(30))?;
    Ok(Outcome {
        t0,
        total,
        engine_started: None,
    })
}

impl Bench {
    fn new(lab: &Lab) -> Bench {
        let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
        let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
        assert!(source.contains("[wan.dhcpv6]\n"));
        let norc = source.replacen("[wan.dhcpv6]\n", "[wan.dhcpv6]\nrapid_commit = false\n", 1);
        let product_dir = lab.dir().join("bench-router");
        let client_dir = lab.dir().join("bench-client");
        std::fs::create_dir_all(&product_dir).unwrap();
        std::fs::create_dir_all(&client_dir).unwrap();
        Bench {
            product_source_rc: relocate_system_dirs(&source, &product_dir),
            product_source_norc: relocate_system_dirs(&norc, &product_dir),
            topo,
            product_dir,
            client_dir,
        }
    }

    /// Removes global addresses a previous client left on `br0` (WIDE
    /// numbers it; a SIGKILLed client does not clean up).
    fn clean_lan(&self) {
        let _ = self.topo.router.ip(&[
            "-6",
            "addr",
            "flush",
            "dev",
            plan::BRIDGE_IF,
            "scope",
            "global",
        ]);
    }

    /// One run: what it measured, or the client's log tail if no prefix
    /// came.
    fn run(&self, v: Variant) -> Result<Outcome, String> {
        self.clean_lan();
        match v.kind {
            Kind::OursProduct => self.run_product(v.rapid_commit),
            Kind::OursClient => self.run_client(v.rapid_commit),
            Kind::Wide => self.run_wide(v.rapid_commit),
            Kind::Dhclient => self.run_dhclient(v.rapid_commit),
        }
    }

    fn run_product(&self, rapid_commit: bool) -> Result<Outcome, String> {
        // Start from the Solicit path every time: no lease to resume.
        let _ = std::fs::remove_file(self.product_dir.join("state/dhcp6c/lease.json"));
        let config = self.product_dir.join("config.toml");
        let source = if rapid_commit {
            &self.product_source_rc
        } else {
            &self.product_source_norc
        };
        std::fs::write(&config, source).unwrap();
        let mut cmd = Command::new(cpe_bin().unwrap());
        cmd.arg("run").arg("--config").arg(&config);
        let t0 = SystemTime::now();
        let p = self.topo.router.spawn("bench-cpe", cmd).unwrap();
        let t = wait_log_line(p.log_path(), "delegated prefixes now [2001:", RUN_TIMEOUT);
        let r = ours_outcome(t0, t, &p);
        p.stop();
        r
    }

    fn run_client(&self, rapid_commit: bool) -> Result<Outcome, String> {
        let _ = std::fs::remove_file(self.client_dir.join("dhcp6c/lease.json"));
        let mut cmd = Command::new(cpe_bin().unwrap());
        cmd.args([
            "daemon",
            "dhcp6c",
            "--interface",
            plan::WAN_IF,
            "--state-dir",
        ])
        .arg(&self.client_dir);
        if !rapid_commit {
            cmd.arg("--no-rapid-commit");
        }
        let t0 = SystemTime::now();
        let p = self.topo.router.spawn("bench-dhcp6c", cmd).unwrap();
        let t = wait_log_line(p.log_path(), "bound: prefixes ", RUN_TIMEOUT);
        let r = ours_outcome(t0, t, &p);
        p.stop();
        r
    }

    fn run_wide(&self, rapid_commit: bool) -> Result<Outcome, String> {
        let opts = Dhcp6cOptions {
            label: "bench-wide".into(),
            rapid_commit,
            ..Dhcp6cOptions::router()
        };
        let t0 = SystemTime::now();
        let c = Dhcp6c::start(&self.topo.router, &opts).unwrap();
        let t = wait_poll(RUN_TIMEOUT, || {
            self.topo
                .router
                .addresses(plan::BRIDGE_IF)
                .unwrap_or_default()
                .iter()
                .any(|a| a.v6().is_some_and(|a| plan::PD_POOL.contains(&a)))
        });
        let r = anchor_outcome(t0, t, &c.process);
        // SIGKILL: on SIGTERM it would retry a Release for ~10 s.
        stop_hard(&c.process);
        r
    }

    fn run_dhclient(&self, rapid_commit: bool) -> Result<Outcome, String> {
        let opts = DhclientOptions {
            label: "bench-dhclient".into(),
            rapid_commit,
            ..DhclientOptions::pd(plan::WAN_IF, Some(plan::wan_duid_ll()))
        };
        let t0 = SystemTime::now();
        let c = Dhclient::start(&self.topo.router, &opts).unwrap();
        let t = wait_poll(RUN_TIMEOUT, || {
            c.leases()
                .ok()
                .is_some_and(|f| f.current().is_some_and(|l| !l.prefixes.is_empty()))
        });
        let r = anchor_outcome(t0, t, &c.process);
        stop_hard(&c.process);
        r
    }
}

/// Wall-clock times of the Solicits in a pcap (`tcpdump -tt`: epoch
/// seconds with microseconds first on each line).
fn solicit_times(pcap: &Path) -> Vec<SystemTime> {
    let out = Command::new("tcpdump")
        .args(["-r"])
        .arg(pcap)
        .args(["-n", "-tt"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("dhcp6 solicit"))
        .filter_map(|l| {
            let secs: f64 = l.split_whitespace().next()?.parse().ok()?;
            Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
        })
        .collect()
}

fn stop_hard(p: &Process) {
    p.kill(libc::SIGKILL);
    let _ = p.wait_exit(Duration::from_secs(3));
}

#[derive(Debug, Default, Clone)]
struct Stats {
    samples: Vec<Duration>,
    failures: Vec<String>,
    /// Start to the client's first Solicit on the wire.
    to_solicit: Vec<Duration>,
    /// First Solicit on the wire to the prefix published.
    after_solicit: Vec<Duration>,
    /// Ours: start to the engine running ([`Outcome::engine_started`]).
    engine_started: Vec<Duration>,
    /// Ours: engine running to its first Solicit (the random delay).
    initial_delay: Vec<Duration>,
}

/// Median of a list (mean of the middle two for an even count).
fn median_of(samples: &[Duration]) -> Option<Duration> {
    Stats {
        samples: samples.to_vec(),
        ..Stats::default()
    }
    .median()
}

impl Stats {
    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort();
        s
    }

    /// Nearest-rank percentile.
    fn percentile(&self, p: f64) -> Option<Duration> {
        let s = self.sorted();
        if s.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
        s.get(rank - 1).copied()
    }

    fn median(&self) -> Option<Duration> {
        let s = self.sorted();
        let n = s.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => s.get(n / 2).copied(),
            _ => Some((s[n / 2 - 1] + s[n / 2]) / 2),
        }
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.3}", d.as_secs_f64()))
        .unwrap_or_else(|| "-".into())
}

fn ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".into(),
    }
}

fn table(stats: &[Stats]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| client | runs | median s | p95 s | min s | max s | failed |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|");
    for (v, s) in VARIANTS.iter().zip(stats) {
        let sorted = s.sorted();
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            v.name,
            s.samples.len(),
            secs(s.median()),
            secs(s.percentile(95.0)),
            secs(sorted.first().copied()),
            secs(sorted.last().copied()),
            s.failures.len(),
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "| where the time goes (medians) | start -> engine running s | engine running -> first Solicit s | start -> first Solicit s | first Solicit -> published s | p95 first Solicit -> published s |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|");
    for (v, s) in VARIANTS.iter().zip(stats) {
        let p95_after = Stats {
            samples: s.after_solicit.clone(),
            ..Stats::default()
        }
        .percentile(95.0);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} |",
            v.name,
            secs(median_of(&s.engine_started)),
            secs(median_of(&s.initial_delay)),
            secs(median_of(&s.to_solicit)),
            secs(median_of(&s.after_solicit)),
            secs(p95_after),
        );
    }
    let by = |kind: Kind, rc: bool| {
        VARIANTS
            .iter()
            .position(|v| v.kind == kind && v.rapid_commit == rc)
            .and_then(|i| stats.get(i))
            .and_then(Stats::median)
    };
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "| median ratio (lower is faster for ours) | vs WIDE dhcp6c | vs dhclient |"
    );
    let _ = writeln!(t, "|---|---|---|");
    for (label, kind) in [
        ("ours, product", Kind::OursProduct),
        ("ours, client alone", Kind::OursClient),
    ] {
        for rc in [true, false] {
            let _ = writeln!(
                t,
                "| {label}, {} | {} | {} |",
                if rc {
                    "rapid commit"
                } else {
                    "no rapid commit"
                },
                ratio(by(kind, rc), by(Kind::Wide, rc)),
                ratio(by(kind, rc), by(Kind::Dhclient, rc)),
            );
        }
    }
    t
}

#[test]
#[ignore = "benchmark: run with tools/bench-pd"]
fn bench_pd_time_to_prefix() {
    let runs: usize = std::env::var("BENCH_PD_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let lab = Lab::new("bench_pd").unwrap();
    let bench = Bench::new(&lab);
    let _radvd = bench.topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let _kea = bench.topo.start_kea_dhcp6(&KeaOptions::default()).unwrap();

    // Every Solicit on the WAN, to split each run at its first Solicit.
    let capture = bench
        .topo
        .router
        .capture(plan::WAN_IF, &["udp", "dst", "port", "547"])
        .unwrap();

    let mut stats = vec![Stats::default(); VARIANTS.len()];
    let mut done: Vec<(usize, usize, Outcome)> = Vec::new();
    let mut csv =
        String::from("round,client,rapid_commit,seconds,to_first_solicit,to_engine_started\n");
    for round in 0..runs {
        // Rotate the order so no client always follows the same one.
        for k in 0..VARIANTS.len() {
            let i = (k + round) % VARIANTS.len();
            let v = VARIANTS[i];
            match bench.run(v) {
                Ok(o) => {
                    stats[i].samples.push(o.total);
                    done.push((round, i, o));
                }
                Err(log) => {
                    eprintln!("round {round}: {} got no prefix:\n{log}", v.name);
                    stats[i].failures.push(log);
                }
            }
            // Let the stopped client's socket and Kea settle.
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("round {}/{runs} done", round + 1);
    }
    std::thread::sleep(Duration::from_millis(200));
    capture.process.stop();
    let solicits = solicit_times(capture.pcap_path());
    for (round, i, o) in &done {
        let (t0, d) = (&o.t0, &o.total);
        // Our end times are log timestamps cut to the millisecond: a Reply
        // within the same millisecond as the Solicit can log "before" it.
        let end = *t0 + *d + Duration::from_millis(1);
        let first = solicits.iter().find(|t| **t >= *t0 && **t <= end);
        let to_first = first.and_then(|t| t.duration_since(*t0).ok());
        if let Some(to_first) = to_first {
            stats[*i].to_solicit.push(to_first);
            stats[*i].after_solicit.push(d.saturating_sub(to_first));
            if let Some(started) = o.engine_started {
                stats[*i].engine_started.push(started);
                stats[*i]
                    .initial_delay
                    .push(to_first.saturating_sub(started));
            }
        }
        let v = VARIANTS[*i];
        let _ = writeln!(
            csv,
            "{},{:?},{},{:.4},{},{}",
            round,
            v.kind,
            v.rapid_commit,
            d.as_secs_f64(),
            to_first
                .map(|t| format!("{:.4}", t.as_secs_f64()))
                .unwrap_or_default(),
            o.engine_started
                .map(|t| format!("{:.4}", t.as_secs_f64()))
                .unwrap_or_default()
        );
    }
    let t = table(&stats);
    println!("\n{t}");
    if let Some(path) = std::env::var_os("BENCH_PD_CSV") {
        std::fs::write(path, &csv).unwrap();
    }
    for (v, s) in VARIANTS.iter().zip(&stats) {
        assert!(
            s.failures.len() * 10 <= runs,
            "{}: {} of {runs} runs got no prefix",
            v.name,
            s.failures.len()
        );
    }
}

#[test]
fn log_timestamps_parse_to_unix_time() {
    let t = log_line_time("2026-11-24T00:13:02.964Z info  supervisor: x").unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap(),
        Duration::from_millis(1_795_479_182_964)
    );
    let leap = log_line_time("2000-02-29T00:00:00.000Z").unwrap();
    assert_eq!(
        leap.duration_since(UNIX_EPOCH).unwrap(),
        Duration::from_secs(951_782_400)
    );
    let epoch = log_line_time("1970-01-01T00:00:00.001Z").unwrap();
    assert_eq!(epoch, UNIX_EPOCH + Duration::from_millis(1));
    assert_eq!(log_line_time("2026-11-24 00:13:02.964 INFO"), None);
    assert_eq!(log_line_time("short"), None);
}

#[test]
fn percentiles_are_nearest_rank() {
    let s = Stats {
        samples: (1..=20).rev().map(Duration::from_millis).collect(),
        ..Stats::default()
    };
    assert_eq!(s.median(), Some(Duration::from_micros(10_500)));
    assert_eq!(s.percentile(95.0), Some(Duration::from_millis(19)));
    assert_eq!(s.percentile(100.0), Some(Duration::from_millis(20)));
    assert_eq!(Stats::default().median(), None);
}
