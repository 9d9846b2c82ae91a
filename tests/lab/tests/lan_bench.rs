//! LAN services reacting to a new delegated prefix: our product against
//! radvd + dnsmasq as an integrator would wire them, interleaved in one lab
//! against the same ISP. Also the resident memory of both LAN stacks. Run by
//! `tools/bench-lan`; the table goes to `docs/bench-lan.md`.
//!
//! Every run measures from "the router knows the prefix" (t0) to "the LAN
//! host has a usable global address in the delegated /64, a default route
//! via the router, and an RDNSS" (t1):
//! - **ours**: `cpe run` with `config/default.toml`; t0 is the supervisor's
//!   `delegated prefixes now [..]` log line (millisecond timestamp). The RA
//!   sender, DHCPv6/DHCPv4 servers and DNS forwarder already run, numbered
//!   with the ULA only, when the prefix arrives.
//! - **radvd started**: dnsmasq (DNS on the LAN ULA address, stateless
//!   DHCPv6, DHCPv4) runs before t0; at t0 the "script" adds `<prefix>::1/64`
//!   to `br0` and starts radvd announcing the /64 and the ULA /64 with RDNSS
//!   = the ULA address.
//! - **radvd reloaded**: as above, but radvd already runs before t0
//!   announcing the ULA only; at t0 the script adds the address, rewrites
//!   radvd.conf and sends SIGHUP (the usual dhcp6c hook).
//!
//! Address and default route are polled on the host every 5 ms (`ip -j`),
//! and also timed from the host kernel's own events (`ip -ts monitor`),
//! which the poll's forks cannot delay.
//! The kernel does not keep RDNSS, so "has RDNSS" means: the host received
//! an RA carrying the new /64 *and* an RDNSS option (tcpdump on the host's
//! `eth0`), and a DNS query to that RDNSS address answers (kdig from the
//! host, after t1). t1 is the latest of the three.
//!
//! Options (environment): `BENCH_LAN_RUNS` (default 20), `BENCH_LAN_CSV`
//! (write every run there).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpe_lab::router::{RouterUnderTest as Router, cpe_bin, relocate_system_dirs, repo_file};
use cpe_lab::{
    Dnsmasq, DnsmasqOptions, Family, IpoeTopology, IspOptions, KeaOptions, Lab, Netns, Process,
    RaPrefixOptions, Radvd, RadvdOptions, TopologyOptions, plan,
};
use ipnet::{IpNet, Ipv6Net};

/// Longest a run may take before it counts as failed (radvd's
/// MaxRtrAdvInterval is 10 s: a missed first RA must still fit).
const RUN_TIMEOUT: Duration = Duration::from_secs(20);
/// Poll interval for the host's addresses and routes.
const POLL: Duration = Duration::from_millis(5);
/// The stand-ins' LAN ULA /64 and their DNS address in it.
const STANDIN_ULA: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0xfd00, 0xdb8, 1, 1, 0, 0, 0, 0), 64);
const STANDIN_DNS: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xdb8, 1, 1, 0, 0, 0, 1);
/// The stand-ins' "delegated" /64 (inside Kea's pool, never delegated to
/// anyone during the bench because Kea keeps giving ours the same /56).
const STANDIN_PREFIX: Ipv6Net =
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0x10ff, 1, 0, 0, 0, 0), 64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    RadvdStarted,
    RadvdReloaded,
}

const KINDS: [Kind; 3] = [Kind::Ours, Kind::RadvdStarted, Kind::RadvdReloaded];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours (cpe run: ra, dhcp6s, dhcp4s, dns)",
            Kind::RadvdStarted => "radvd started at t0 + dnsmasq",
            Kind::RadvdReloaded => "radvd reloaded (SIGHUP) at t0 + dnsmasq",
        }
    }
}

/// Seconds since 1970-01-01T00:00:00Z of a proleptic Gregorian UTC time.
fn unix_secs(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    // Days counted from March so the leap day ends the counted year.
    let (yy, mm) = if mo <= 2 { (y - 1, mo + 12) } else { (y, mo) };
    let days = 365 * yy + yy / 4 - yy / 100 + yy / 400 + (153 * (mm - 3) + 2) / 5 + d - 719_469;
    days * 86_400 + h * 3600 + mi * 60 + s
}

/// `YYYY-MM-DDTHH:MM:SS` at the start of `ts` as (seconds since the epoch,
/// the rest of `ts`).
fn parse_civil(ts: &str) -> Option<(i64, &str)> {
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    Some((unix_secs(y, mo, d, h, mi, s), ts.get(19..)?))
}

/// Milliseconds since the Unix epoch of a log line's leading
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (our logger's format).
fn log_line_time(line: &str) -> Option<SystemTime> {
    let (secs, rest) = parse_civil(line)?;
    let ms: i64 = rest.strip_prefix('.')?.get(..3)?.parse().ok()?;
    if rest.as_bytes().get(4) != Some(&b'Z') {
        return None;
    }
    let millis = secs * 1000 + ms;
    Some(UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).ok()?))
}

/// The time of an `ip -ts monitor` line (`[YYYY-MM-DDTHH:MM:SS.uuuuuu] ...`,
/// local time; the monitor runs with `TZ=UTC`) and the event text.
fn monitor_line(line: &str) -> Option<(SystemTime, &str)> {
    let (secs, rest) = parse_civil(line.strip_prefix('[')?)?;
    let (frac, event) = rest.strip_prefix('.')?.split_once(']')?;
    let micros: u64 = frac.parse().ok()?;
    let at =
        UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?) + Duration::from_micros(micros);
    Some((at, event.trim()))
}

/// The host kernel's address and default-route events (`ip -ts monitor`),
/// in order.
#[derive(Debug, Clone, PartialEq)]
enum HostEvent {
    /// A non-tentative global address appeared.
    Address(SystemTime, Ipv6Addr),
    /// A default route via this router appeared.
    Route(SystemTime, Ipv6Addr),
}

fn parse_monitor(text: &str) -> Vec<HostEvent> {
    let mut out = Vec::new();
    for (at, event) in text.lines().filter_map(monitor_line) {
        if event.starts_with("Deleted") || event.contains("tentative") {
            continue;
        }
        let word_after = |key: &str| {
            event
                .split_once(key)
                .and_then(|(_, rest)| rest.split_whitespace().next())
        };
        if let Some(v6) = word_after("inet6 ").and_then(|a| a.parse::<Ipv6Net>().ok()) {
            out.push(HostEvent::Address(at, v6.addr()));
        } else if event.starts_with("default via ")
            && let Some(gw) = word_after("default via ").and_then(|g| g.parse().ok())
        {
            out.push(HostEvent::Route(at, gw));
        }
    }
    out
}

/// The first line of `path` containing `needle` and its time, polling until
/// `timeout`.
fn wait_log_line(path: &Path, needle: &str, timeout: Duration) -> Option<(SystemTime, String)> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Some(line) = text.lines().find(|l| l.contains(needle))
        {
            return Some((log_line_time(line)?, line.to_string()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// When the host first had each piece, as polled.
#[derive(Debug, Default, Clone)]
struct HostSeen {
    /// A non-tentative address in Kea's pool, and which.
    address: Option<(SystemTime, Ipv6Addr)>,
    /// A default route via the router's `br0` link-local.
    route: Option<SystemTime>,
}

/// Polls the host until it has both an address in the delegated pool and a
/// default route via the router, `stop` is set, or [`RUN_TIMEOUT`].
fn poll_host(host: &Netns, stop: &AtomicBool) -> HostSeen {
    let mut seen = HostSeen::default();
    let start = Instant::now();
    while start.elapsed() < RUN_TIMEOUT && !stop.load(Ordering::Relaxed) {
        // Both queries every round, even once one is answered: a round's
        // length (two `ip` processes) must not depend on the variant, or the
        // one whose route was there before t0 (radvd reloaded) is sampled
        // twice as often.
        let addresses = host.addresses(plan::HOST_IF).unwrap_or_default();
        let addresses_at = SystemTime::now();
        let routes = host.routes(Family::V6).unwrap_or_default();
        let routes_at = SystemTime::now();
        if seen.address.is_none() {
            let found = addresses
                .into_iter()
                .filter(|a| !a.tentative && !a.dadfailed)
                .find_map(|a| a.v6().filter(|v6| plan::PD_POOL.contains(v6)));
            if let Some(a) = found {
                seen.address = Some((addresses_at, a));
            }
        }
        if seen.route.is_none() {
            let has = routes
                .iter()
                .any(|r| r.is_default() && r.gateway == Some(IpAddr::V6(plan::BRIDGE_LINK_LOCAL)));
            if has {
                seen.route = Some(routes_at);
            }
        }
        if seen.address.is_some() && seen.route.is_some() {
            break;
        }
        std::thread::sleep(POLL);
    }
    seen
}

/// One successful run.
#[derive(Debug, Clone)]
struct Outcome {
    /// When the run began (the host's kernel events count from here).
    started: SystemTime,
    t0: SystemTime,
    /// The /64 the host had to get an address in.
    prefix: Ipv6Net,
    seen: HostSeen,
    /// Where the host's DNS queries go (the RDNSS the router announces).
    dns: Ipv6Addr,
    /// RSS and PSS in KiB of the LAN-service processes, after t1 and one
    /// DNS query.
    memory: Memory,
}

#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss_kib: u64,
    pss_kib: u64,
    processes: usize,
}

/// `VmRSS` of `/proc/<pid>/status` and `Pss` of `smaps_rollup`, in KiB.
fn memory_of(pids: &[u32]) -> Memory {
    let field = |path: String, key: &str| -> u64 {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    let mut m = Memory::default();
    for pid in pids {
        m.rss_kib += field(format!("/proc/{pid}/status"), "VmRSS:");
        m.pss_kib += field(format!("/proc/{pid}/smaps_rollup"), "Pss:");
        m.processes += 1;
    }
    m
}

/// `pid` and its direct children (radvd's privilege-separation helper).
fn with_children(pid: u32) -> Vec<u32> {
    let mut v = vec![pid];
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"));
    v.extend(
        children
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|s| s.parse::<u32>().ok()),
    );
    v
}

struct Bench {
    topo: IpoeTopology,
    product_source: String,
    product_dir: PathBuf,
}

impl Bench {
    fn new(lab: &Lab) -> Bench {
        let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
        let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
        let product_dir = lab.dir().join("bench-router");
        std::fs::create_dir_all(&product_dir).unwrap();
        Bench {
            product_source: relocate_system_dirs(&source, &product_dir),
            topo,
            product_dir,
        }
    }

    /// Back to "nothing on the LAN": no global address on `br0` or the host,
    /// no RA-learned routes on the host, no firewall left by our product.
    fn clean(&self) {
        let r = &self.topo.router;
        let h = &self.topo.host;
        let _ = r.ip(&[
            "-6",
            "addr",
            "flush",
            "dev",
            plan::BRIDGE_IF,
            "scope",
            "global",
        ]);
        let _ = r.ip(&["-4", "addr", "flush", "dev", plan::BRIDGE_IF]);
        let _ = r.exec(&["nft", "flush", "ruleset"]);
        let _ = h.ip(&[
            "-6",
            "addr",
            "flush",
            "dev",
            plan::HOST_IF,
            "scope",
            "global",
        ]);
        let _ = h.ip(&["-6", "route", "flush", "dev", plan::HOST_IF, "proto", "ra"]);
    }

    fn run(&self, kind: Kind) -> Result<Outcome, String> {
        self.clean();
        match kind {
            Kind::Ours => self.run_ours(),
            Kind::RadvdStarted | Kind::RadvdReloaded => self.run_standin(kind),
        }
    }

    fn run_ours(&self) -> Result<Outcome, String> {
        let _ = std::fs::remove_file(self.product_dir.join("state/dhcp6c/lease.json"));
        let config = self.product_dir.join("config.toml");
        std::fs::write(&config, &self.product_source).unwrap();
        let mut cmd = Command::new(cpe_bin().unwrap());
        cmd.arg("run").arg("--config").arg(&config);
        let stop = AtomicBool::new(false);
        let started = SystemTime::now();
        std::thread::scope(|s| {
            let poller = s.spawn(|| poll_host(&self.topo.host, &stop));
            let p = self.topo.router.spawn("bench-cpe", cmd).unwrap();
            let delegated =
                wait_log_line(p.log_path(), "delegated prefixes now [2001:", RUN_TIMEOUT);
            let seen = poller.join().unwrap();
            let result = (|| {
                let (t0, line) = delegated.ok_or("no delegated prefix")?;
                let status = self.status(&p).ok_or("no status")?;
                let prefix = lan_prefix(&status, "delegated")
                    .ok_or_else(|| format!("no delegated /64 in status ({line})"))?;
                let dns = lan_router_address(&status, "ula").ok_or("no ULA in status")?;
                self.check_dns(dns)?;
                let pids: Vec<u32> = Router::pids(&status)
                    .into_iter()
                    .filter(|(n, _)| ["ra", "dhcp6s", "dhcp4s", "dns"].contains(&n.as_str()))
                    .filter_map(|(_, pid)| u32::try_from(pid).ok())
                    .collect();
                if pids.len() != 4 {
                    return Err(format!("expected 4 LAN daemons, got {pids:?}"));
                }
                Ok(Outcome {
                    started,
                    t0,
                    prefix,
                    seen,
                    dns,
                    memory: memory_of(&pids),
                })
            })();
            stop.store(true, Ordering::Relaxed);
            let r = result.map_err(|e: String| format!("{e}\n{}", p.log_tail(30)));
            p.stop();
            r
        })
    }

    /// `cpectl status --json` of the product started by [`Self::run_ours`].
    fn status(&self, p: &Process) -> Option<serde_json::Value> {
        let socket = self.product_dir.join("run/cpe.sock");
        for _ in 0..200 {
            let out = Command::new(cpe_bin().ok()?)
                .args(["ctl", "--socket"])
                .arg(&socket)
                .args(["status", "--json"])
                .output()
                .ok();
            if let Some(out) = out.filter(|o| o.status.success())
                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
                && lan_prefix(&v, "delegated").is_some()
                && lan_router_address(&v, "ula").is_some()
            {
                return Some(v);
            }
            if !p.is_running() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    fn run_standin(&self, kind: Kind) -> Result<Outcome, String> {
        let started = SystemTime::now();
        let r = &self.topo.router;
        r.add_address(plan::BRIDGE_IF, IpNet::V6(net_with_host(STANDIN_ULA, 1)))
            .map_err(|e| e.to_string())?;
        r.add_address(plan::BRIDGE_IF, "192.168.1.1/24".parse().unwrap())
            .map_err(|e| e.to_string())?;
        let dnsmasq = Dnsmasq::start(r, &dnsmasq_options()).map_err(|e| e.to_string())?;
        let ula_only = radvd_options(&[STANDIN_ULA]);
        let both = radvd_options(&[STANDIN_PREFIX, STANDIN_ULA]);
        let mut radvd = None;
        if kind == Kind::RadvdReloaded {
            radvd = Some(Radvd::start(r, &ula_only).map_err(|e| e.to_string())?);
            // Let the host take the ULA RA, as it has ours before t0.
            let _ = self
                .topo
                .host
                .wait_for_default_route_v6(Duration::from_secs(5));
        }
        let stop = AtomicBool::new(false);
        let (t0, seen, radvd) = std::thread::scope(|s| {
            let poller = s.spawn(|| poll_host(&self.topo.host, &stop));
            // Give the poller its first round before t0 (it sees nothing yet).
            std::thread::sleep(Duration::from_millis(10));
            let t0 = SystemTime::now();
            let started = r
                .add_address(plan::BRIDGE_IF, IpNet::V6(net_with_host(STANDIN_PREFIX, 1)))
                .map_err(|e| e.to_string())
                .and_then(|()| match radvd.take() {
                    Some(running) => {
                        reload_radvd(&running, &both)?;
                        Ok(running)
                    }
                    None => Radvd::start(r, &both).map_err(|e| e.to_string()),
                });
            if started.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            (t0, poller.join().unwrap(), started)
        });
        let radvd = radvd?;
        self.check_dns(STANDIN_DNS)
            .map_err(|e| format!("{e}\n{}", dnsmasq.process.log_tail(20)))?;
        let mut pids = with_children(radvd.process.pid());
        pids.push(dnsmasq.process.pid());
        let memory = memory_of(&pids);
        radvd.process.stop();
        dnsmasq.process.stop();
        Ok(Outcome {
            started,
            t0,
            prefix: STANDIN_PREFIX,
            seen,
            dns: STANDIN_DNS,
            memory,
        })
    }

    /// A DNS query from the host to the announced RDNSS address is
    /// answered by the ISP's zone through the router's forwarder.
    fn check_dns(&self, server: Ipv6Addr) -> Result<(), String> {
        let replies = self
            .topo
            .host
            .kdig(&[
                &format!("@{server}"),
                "a.test",
                "AAAA",
                "+timeout=2",
                "+retry=1",
            ])
            .map_err(|e| e.to_string())?;
        let ok = replies
            .iter()
            .any(|r| r.status == "NOERROR" && r.answers.iter().any(|a| a.data == "2001:db8:53::a"));
        if ok {
            Ok(())
        } else {
            Err(format!("DNS at {server} did not answer: {replies:?}"))
        }
    }
}

fn net_with_host(prefix: Ipv6Net, host: u128) -> Ipv6Net {
    let a = Ipv6Addr::from(u128::from(prefix.network()) | host);
    Ipv6Net::new(a, 64).unwrap()
}

/// dnsmasq as the stand-in for our `dns`, `dhcp6s` and `dhcp4s`: caching
/// forwarder on the LAN ULA address towards the ISP's resolver, stateless
/// DHCPv6 and a DHCPv4 pool on `br0`, the same pool as `default.toml`.
fn dnsmasq_options() -> DnsmasqOptions {
    let mut o =
        DnsmasqOptions::forwarder(vec![IpAddr::V6(STANDIN_DNS)], vec![IpAddr::V6(plan::DNS_A)]);
    o.label = "bench-dnsmasq".into();
    o.dhcpv6_stateless_on = Some(plan::BRIDGE_IF.into());
    o.extra = vec!["dhcp-range=192.168.1.100,192.168.1.199,12h".into()];
    o
}

/// radvd as the stand-in for our `ra`: M=0, O=1, RDNSS the LAN ULA address.
fn radvd_options(prefixes: &[Ipv6Net]) -> RadvdOptions {
    let mut o = RadvdOptions::lan(STANDIN_ULA, vec![STANDIN_DNS]);
    o.prefixes = prefixes
        .iter()
        .copied()
        .map(RaPrefixOptions::slaac)
        .collect();
    o
}

/// Rewrites the config a running radvd was started with (its `-C` argument)
/// and sends SIGHUP, as a prefix-change hook does.
fn reload_radvd(radvd: &Radvd, opts: &RadvdOptions) -> Result<(), String> {
    let pid = radvd.process.pid();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|e| e.to_string())?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let conf = args
        .iter()
        .position(|a| a == "-C")
        .and_then(|i| args.get(i + 1))
        .ok_or("radvd has no -C")?;
    std::fs::write(conf, opts.to_config()).map_err(|e| e.to_string())?;
    if radvd.process.kill(libc::SIGHUP) {
        Ok(())
    } else {
        Err("SIGHUP to radvd failed".into())
    }
}

fn lan_entries<'a>(
    status: &'a serde_json::Value,
    origin: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    status["lan"][0]["prefixes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["origin"] == origin && p["deprecated"] != true)
}

fn lan_prefix(status: &serde_json::Value, origin: &str) -> Option<Ipv6Net> {
    lan_entries(status, origin).find_map(|p| p["prefix"].as_str()?.parse().ok())
}

fn lan_router_address(status: &serde_json::Value, origin: &str) -> Option<Ipv6Addr> {
    lan_entries(status, origin).find_map(|p| p["router_address"].as_str()?.parse().ok())
}

/// One Router Advertisement the host received, from `tcpdump -tt -vv`.
#[derive(Debug, Clone, PartialEq)]
struct SeenRa {
    at: SystemTime,
    prefixes: Vec<Ipv6Net>,
    rdnss: Vec<Ipv6Addr>,
}

/// Splits `tcpdump -n -tt -vv` text into packets (a line starting with the
/// epoch timestamp begins one) and keeps the Router Advertisements.
fn parse_ras(text: &str) -> Vec<SeenRa> {
    let mut out: Vec<SeenRa> = Vec::new();
    let mut current: Option<SeenRa> = None;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        let starts_packet = !line.starts_with(char::is_whitespace)
            && first.contains('.')
            && first.parse::<f64>().is_ok();
        if starts_packet {
            out.extend(current.take());
            if line.contains("router advertisement") {
                let secs: f64 = first.parse().unwrap_or(0.0);
                current = Some(SeenRa {
                    at: UNIX_EPOCH + Duration::from_secs_f64(secs),
                    prefixes: Vec::new(),
                    rdnss: Vec::new(),
                });
            }
            continue;
        }
        let Some(ra) = current.as_mut() else { continue };
        let l = line.trim();
        if l.starts_with("prefix info option") {
            // "prefix info option (3), length 32 (4): 2001:db8::/64, Flags [..] .."
            if let Some(p) = l
                .split_once("): ")
                .and_then(|(_, rest)| rest.split([',', ' ']).next())
                .and_then(|p| p.parse().ok())
            {
                ra.prefixes.push(p);
            }
        } else if l.starts_with("rdnss option") {
            // "rdnss option (25), length 24 (3):  lifetime 1800s, addr: fd00::1"
            if let Some((_, addrs)) = l.split_once("addr: ") {
                ra.rdnss.extend(
                    addrs
                        .split([' ', ','])
                        .filter_map(|a| a.parse::<Ipv6Addr>().ok()),
                );
            }
        }
    }
    out.extend(current);
    out
}

fn decode_pcap(pcap: &Path) -> String {
    let out = Command::new("tcpdump")
        .arg("-r")
        .arg(pcap)
        .args(["-n", "-tt", "-vv"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What one run measured, split at the first RA with the new /64.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// t0 to t1.
    total: Duration,
    /// t0 to the first RA with the new /64 (and the RDNSS) at the host.
    to_ra: Duration,
    /// t0 to t1 from the host kernel's own events (`ip -ts monitor`)
    /// instead of the poll; `None` if the monitor missed one.
    kernel: Option<Duration>,
}

/// Times a run from its outcome and the host's RAs; `Err` says what was
/// missing.
fn timing(o: &Outcome, ras: &[SeenRa], events: &[HostEvent]) -> Result<Timing, String> {
    // Our t0 is a log timestamp cut to the millisecond.
    let from = o.t0;
    let ra = ras
        .iter()
        .filter(|r| r.at + Duration::from_millis(1) >= from)
        .find(|r| r.prefixes.contains(&o.prefix) && r.rdnss.contains(&o.dns))
        .ok_or_else(|| format!("no RA with {} and RDNSS {}", o.prefix, o.dns))?;
    let (addr_at, addr) = o.seen.address.ok_or("host got no address")?;
    if !o.prefix.contains(&addr) {
        return Err(format!("host address {addr} not in {}", o.prefix));
    }
    let route_at = o.seen.route.ok_or("host got no default route")?;
    let t1 = addr_at.max(route_at).max(ra.at);
    let event_addr = events.iter().find_map(|e| match e {
        HostEvent::Address(at, a) if *at >= o.started && o.prefix.contains(a) => Some(*at),
        _ => None,
    });
    let event_route = events.iter().find_map(|e| match e {
        HostEvent::Route(at, gw) if *at >= o.started && *gw == plan::BRIDGE_LINK_LOCAL => Some(*at),
        _ => None,
    });
    let kernel = match (event_addr, event_route) {
        (Some(a), Some(r)) => Some(a.max(r).max(ra.at).duration_since(from).unwrap_or_default()),
        _ => None,
    };
    Ok(Timing {
        total: t1.duration_since(from).unwrap_or_default(),
        to_ra: ra.at.duration_since(from).unwrap_or_default(),
        kernel,
    })
}

fn sorted(v: &[Duration]) -> Vec<Duration> {
    let mut s = v.to_vec();
    s.sort();
    s
}

/// Median (mean of the middle two for an even count).
fn median(v: &[Duration]) -> Option<Duration> {
    let s = sorted(v);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => s.get(n / 2).copied(),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2),
    }
}

/// Nearest-rank percentile.
fn percentile(v: &[Duration], p: f64) -> Option<Duration> {
    let s = sorted(v);
    if s.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s.get(rank - 1).copied()
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "-".into())
}

fn median_u64(v: &[u64]) -> Option<u64> {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied()
}

#[derive(Debug, Default, Clone)]
struct Stats {
    total: Vec<Duration>,
    kernel: Vec<Duration>,
    to_ra: Vec<Duration>,
    rss: Vec<u64>,
    pss: Vec<u64>,
    processes: usize,
    failures: Vec<String>,
}

fn table(stats: &[Stats]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| LAN side | runs | median ms | p95 ms | min ms | max ms | median t0 -> RA at host ms | median ms, host kernel events | failed |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|");
    for (k, s) in KINDS.iter().zip(stats) {
        let so = sorted(&s.total);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            k.name(),
            s.total.len(),
            ms(median(&s.total)),
            ms(percentile(&s.total, 95.0)),
            ms(so.first().copied()),
            ms(so.last().copied()),
            ms(median(&s.to_ra)),
            ms(median(&s.kernel)),
            s.failures.len()
        );
    }
    let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".into(),
    };
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "| median ratio ours / theirs (below 1: ours faster) | polled | host kernel events |"
    );
    let _ = writeln!(t, "|---|---|---|");
    for (k, s) in KINDS.iter().zip(stats).skip(1) {
        let polled = ratio(median(&stats[0].total), median(&s.total));
        let kernel = ratio(median(&stats[0].kernel), median(&s.kernel));
        let _ = writeln!(t, "| vs {} | {polled} | {kernel} |", k.name());
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "| resident memory after bring-up (median of runs) | processes | RSS KiB | PSS KiB |"
    );
    let _ = writeln!(t, "|---|---|---|---|");
    for (k, s) in KINDS.iter().zip(stats) {
        let f = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} |",
            k.name(),
            s.processes,
            f(median_u64(&s.rss)),
            f(median_u64(&s.pss))
        );
    }
    t
}

#[test]
#[ignore = "benchmark: run with tools/bench-lan"]
fn bench_lan_prefix_to_host_ready() {
    let runs: usize = std::env::var("BENCH_LAN_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let lab = Lab::new("bench_lan").unwrap();
    let bench = Bench::new(&lab);
    let _isp = bench
        .topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions::default()),
            ..IspOptions::default()
        })
        .unwrap();
    let capture = bench
        .topo
        .host
        .capture(plan::HOST_IF, &["icmp6", "and", "ip6[40]", "==", "134"])
        .unwrap();
    // The host kernel's address and route events, time-stamped as they
    // happen: the poll above forks two `ip` processes per round, which queue
    // behind whatever else the CPU does at t0.
    let mut monitor = Command::new("ip");
    monitor
        .env("TZ", "UTC")
        .args(["-ts", "-6", "monitor", "address", "route"]);
    let monitor = bench.topo.host.spawn("ip-monitor", monitor).unwrap();

    let mut done: Vec<(usize, Kind, Outcome)> = Vec::new();
    let mut stats = vec![Stats::default(); KINDS.len()];
    for round in 0..runs {
        for k in 0..KINDS.len() {
            let i = (k + round) % KINDS.len();
            let kind = KINDS[i];
            match bench.run(kind) {
                Ok(o) => done.push((round, kind, o)),
                Err(e) => {
                    eprintln!("round {round}: {} failed:\n{e}", kind.name());
                    stats[i].failures.push(e);
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("round {}/{runs} done", round + 1);
    }
    std::thread::sleep(Duration::from_millis(300));
    capture.process.stop();
    monitor.stop();
    let ras = parse_ras(&decode_pcap(capture.pcap_path()));
    let events = parse_monitor(&monitor.log_text());

    let mut csv = String::from("round,kind,total_s,to_ra_s,rss_kib,pss_kib,kernel_s\n");
    for (round, kind, o) in &done {
        let i = KINDS.iter().position(|k| k == kind).unwrap();
        let s = &mut stats[i];
        match timing(o, &ras, &events) {
            Ok(tm) => {
                s.total.push(tm.total);
                s.kernel.extend(tm.kernel);
                s.to_ra.push(tm.to_ra);
                s.rss.push(o.memory.rss_kib);
                s.pss.push(o.memory.pss_kib);
                s.processes = o.memory.processes;
                let _ = writeln!(
                    csv,
                    "{round},{kind:?},{:.4},{:.4},{},{},{}",
                    tm.total.as_secs_f64(),
                    tm.to_ra.as_secs_f64(),
                    o.memory.rss_kib,
                    o.memory.pss_kib,
                    tm.kernel
                        .map(|k| format!("{:.4}", k.as_secs_f64()))
                        .unwrap_or_default()
                );
            }
            Err(e) => {
                eprintln!("round {round}: {}: {e}", kind.name());
                s.failures.push(e);
            }
        }
    }
    println!("\n{}", table(&stats));
    if let Some(path) = std::env::var_os("BENCH_LAN_CSV") {
        std::fs::write(path, &csv).unwrap();
    }
    for (k, s) in KINDS.iter().zip(&stats) {
        assert!(
            s.failures.len() * 10 <= runs,
            "{}: {} of {runs} runs failed",
            k.name(),
            s.failures.len()
        );
    }
}

#[test]
fn tcpdump_router_advertisements_parse() {
    let text = "\
1795479182.964123 IP6 (flowlabel 0x1, hlim 255, next-header ICMPv6 (58) payload length: 88) fe80::ff:fe00:202 > ff02::1: [icmp6 sum ok] ICMP6, router advertisement, length 88
\thop limit 64, Flags [other stateful], pref medium, router lifetime 1800s, reachable time 0ms, retrans timer 0ms
\t  prefix info option (3), length 32 (4): 2001:db8:1000:1::/64, Flags [onlink, auto], valid time 86400s, pref. time 14400s
\t  rdnss option (25), length 24 (3):  lifetime 1800s, addr: fd00:db8:1:1::1
1795479183.000001 IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 16
1795479184.5 IP6 fe80::ff:fe00:202 > ff02::1: ICMP6, router advertisement, length 56
\t  prefix info option (3), length 32 (4): fd00:db8:1:1::/64, Flags [onlink, auto]
";
    let ras = parse_ras(text);
    assert_eq!(ras.len(), 2, "{ras:?}");
    assert_eq!(
        ras[0].at,
        UNIX_EPOCH + Duration::from_secs_f64(1_795_479_182.964_123)
    );
    assert_eq!(
        ras[0].prefixes,
        vec!["2001:db8:1000:1::/64".parse().unwrap()]
    );
    assert_eq!(
        ras[0].rdnss,
        vec!["fd00:db8:1:1::1".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(ras[1].prefixes, vec![STANDIN_ULA]);
    assert!(ras[1].rdnss.is_empty());
}

#[test]
fn run_timing_needs_address_route_and_rdnss_ra() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1000);
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let addr: Ipv6Addr = "2001:db8:10ff:1::5".parse().unwrap();
    let o = Outcome {
        started: t0 - Duration::from_millis(100),
        t0,
        prefix: STANDIN_PREFIX,
        seen: HostSeen {
            address: Some((at(30), addr)),
            route: Some(at(10)),
        },
        dns: STANDIN_DNS,
        memory: Memory::default(),
    };
    let ra = |ms, rdnss: Vec<Ipv6Addr>| SeenRa {
        at: at(ms),
        prefixes: vec![STANDIN_PREFIX],
        rdnss,
    };
    // An RA before t0 or without the RDNSS does not count.
    let ras = vec![
        SeenRa {
            at: t0 - Duration::from_secs(1),
            ..ra(0, vec![STANDIN_DNS])
        },
        ra(5, vec![]),
        ra(40, vec![STANDIN_DNS]),
    ];
    let tm = timing(&o, &ras, &[]).unwrap();
    assert_eq!(tm.to_ra, Duration::from_millis(40));
    assert_eq!(tm.total, Duration::from_millis(40));
    assert_eq!(tm.kernel, None);
    // Kernel events: the first ones after the run began, in the /64 and
    // via the router, count; the RA still bounds t1 from below.
    let events = vec![
        HostEvent::Route(t0 - Duration::from_secs(1), plan::BRIDGE_LINK_LOCAL),
        HostEvent::Address(at(41), "2001:db8:1000:1::5".parse().unwrap()),
        HostEvent::Address(at(42), addr),
        HostEvent::Route(at(43), "fe80::99".parse().unwrap()),
        HostEvent::Route(at(44), plan::BRIDGE_LINK_LOCAL),
    ];
    let tm = timing(&o, &ras, &events).unwrap();
    assert_eq!(tm.kernel, Some(Duration::from_millis(44)));
    let tm = timing(&o, &ras, &events[..4]).unwrap();
    assert_eq!(tm.kernel, None);
    let tm = timing(&o, &ras[2..], &[]).unwrap();
    assert_eq!(tm.total, Duration::from_millis(40));
    assert!(timing(&o, &ras[..2], &[]).is_err());
    let wrong = Outcome {
        prefix: "2001:db8:1000:1::/64".parse().unwrap(),
        ..o.clone()
    };
    assert!(timing(&wrong, &ras, &[]).is_err());
    let no_route = Outcome {
        seen: HostSeen {
            route: None,
            ..o.seen.clone()
        },
        ..o
    };
    assert!(timing(&no_route, &ras, &[]).is_err());
}

#[test]
fn log_timestamps_parse_to_unix_time() {
    let t = log_line_time("2026-11-24T00:13:02.964Z info  supervisor: x").unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap(),
        Duration::from_millis(1_795_479_182_964)
    );
    assert_eq!(log_line_time("short"), None);
}

#[test]
fn ip_monitor_events_parse() {
    let text = "\
[2026-12-02T22:20:00.000100] Deleted 2: eth0    inet6 2001:db8:10ff:1:0:ff:fe00:301/64 scope global dynamic
[2026-12-02T22:20:01.250000] 2: eth0    inet6 2001:db8:10ff:1:0:ff:fe00:301/64 scope global tentative dynamic mngtmpaddr
[2026-12-02T22:20:01.500000] 2: eth0    inet6 2001:db8:10ff:1:0:ff:fe00:301/64 scope global dynamic mngtmpaddr
       valid_lft 86400sec preferred_lft 14400sec
[2026-12-02T22:20:01.600000] default via fe80::ff:fe00:202 dev eth0 proto ra metric 1024 expires 1799sec hoplimit 64 pref medium
[2026-12-02T22:20:01.700000] Deleted default via fe80::ff:fe00:202 dev eth0 proto ra metric 1024
[2026-12-02T22:20:01.800000] 2001:db8:10ff:1::/64 dev eth0 proto kernel metric 256 expires 86400sec pref medium
";
    let base = UNIX_EPOCH + Duration::from_secs(unix_secs(2026, 12, 2, 22, 20, 1) as u64);
    assert_eq!(
        parse_monitor(text),
        vec![
            HostEvent::Address(
                base + Duration::from_millis(500),
                "2001:db8:10ff:1:0:ff:fe00:301".parse().unwrap()
            ),
            HostEvent::Route(
                base + Duration::from_millis(600),
                "fe80::ff:fe00:202".parse().unwrap()
            ),
        ]
    );
}
