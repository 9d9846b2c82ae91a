//! `cpectl diag`: active probes from the router itself, for the engineer
//! who must tell "the ISP is broken" from "the router is" with a customer
//! waiting: the ISP's router over IPv6 and the DHCPv4 gateway, a chosen
//! target, a DNS query through each upstream, the Path MTU on the WAN, and
//! the hosts the LANs' neighbour caches hold.
//!
//! The console runs the probes, not the supervisor: they block on the
//! network for up to a timeout each, and the supervisor's loop must never
//! wait on a peer. The console is a process of its own, so the probes run
//! in parallel threads here (the whole stays under about two timeouts) and
//! only the targets come from the supervisor's status report.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use cpe_bus::status::StatusReport;
use cpe_sys::netlink::{Family, Netlink};
use cpe_sys::socket::ping::{Pinger, is_too_big};
use cpe_wire::dns::{self, Message, Question};
use serde_json::{Value, json};

use crate::render::{WIDTH, wrap_words};

/// The smallest MTU of an IPv6 link (RFC 8200 5): where the search starts.
const IPV6_MIN_MTU: u32 = 1280;
/// At most this many Echoes in a Path MTU search: 1280..=9000 takes 15
/// (both ends, then 13 halvings).
const PMTU_MAX_TRIES: u32 = 16;

/// What the engineer asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--target ADDR`: pinged, and the Path MTU goes there if IPv6.
    pub target: Option<IpAddr>,
    /// `--timeout MS`: per probe (an Echo, a DNS query).
    pub timeout: Duration,
    /// `--name NAME`: what the DNS probe asks each upstream (type A).
    pub name: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: None,
            timeout: Duration::from_secs(1),
            name: "localhost".into(),
        }
    }
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It answered.
    Ok,
    /// It did not, or answered wrong.
    Fail,
    /// Nothing to probe (no gateway, no target).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `ping6`, `ping4`, `ping`, `dns`, `pmtu`.
    pub kind: &'static str,
    /// What was probed, as the engineer would type it.
    pub target: String,
    /// Ok, failed, skipped.
    pub outcome: Outcome,
    /// The evidence: round-trip time, rcode, size, or why not.
    pub detail: String,
    /// Round-trip time of a successful Echo or query.
    pub rtt: Option<Duration>,
    /// The Path MTU found (`pmtu` only).
    pub mtu: Option<u32>,
}

impl Probe {
    fn new(kind: &'static str, target: String, outcome: Outcome, detail: String) -> Probe {
        Probe {
            kind,
            target,
            outcome,
            detail,
            rtt: None,
            mtu: None,
        }
    }
}

/// A host in a LAN's neighbour cache: one link-layer address with every
/// IP address the router resolved to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// LAN interface.
    pub interface: String,
    /// MAC, `aa:bb:...`.
    pub mac: String,
    /// NUD state of its freshest entry.
    pub state: String,
    /// Its addresses, IPv6 first.
    pub addresses: Vec<IpAddr>,
}

/// The whole result.
#[derive(Debug, Clone)]
pub struct Diag {
    /// Every probe, in a fixed order.
    pub probes: Vec<Probe>,
    /// The LAN hosts; `Err` when the neighbour caches could not be read.
    pub hosts: Result<Vec<Host>, String>,
}

impl Diag {
    /// 0 every probe passed or had nothing to probe, 1 one failed.
    pub fn exit_code(&self) -> u8 {
        let failed = self.probes.iter().any(|p| p.outcome == Outcome::Fail);
        u8::from(failed || self.hosts.is_err())
    }
}

/// Runs every probe against the targets in `r`.
pub fn run(r: &StatusReport, opts: &Options) -> Diag {
    let wan = r.wan.interface.as_str();
    // Run elsewhere (another namespace, a host with the status socket
    // mounted), the probes would test the wrong network: say so instead.
    let Some(wan_index) = cpe_sys::socket::ifindex(wan) else {
        return Diag {
            probes: vec![Probe::new(
                "wan",
                if wan.is_empty() { "-" } else { wan }.to_owned(),
                Outcome::Fail,
                "no such interface here: run cpectl diag on the router itself".into(),
            )],
            hosts: Ok(Vec::new()),
        };
    };
    let scoped = |a: IpAddr| scope(a, wan_index);
    let isp6 = r.wan.default_router_v6;
    let gw4 = r.wan.default_router_v4;
    let upstreams = upstreams(r);
    let pmtu_to = match opts.target {
        Some(t @ IpAddr::V6(_)) => Some(t),
        _ => isp6,
    };
    let link_mtu = if r.wan.mtu >= IPV6_MIN_MTU {
        r.wan.mtu
    } else {
        1500
    };
    let show = |a: IpAddr| shown(a, wan);
    let probes = std::thread::scope(|s| {
        let mut handles = Vec::new();
        // The three Echoes: what to ping, or why there is nothing to.
        let echoes: [(&'static str, Option<IpAddr>, &str, &str); 3] = [
            (
                "ping6",
                isp6,
                "ISP router",
                "no IPv6 default router (no RA from the ISP yet)",
            ),
            ("ping4", gw4, "gateway", "no IPv4 gateway (no DHCPv4 lease)"),
            ("ping", opts.target, "target", "no --target given"),
        ];
        for (seq, (kind, addr, label, why_not)) in (1u16..).zip(echoes) {
            handles.push(s.spawn(move || match addr {
                Some(a) => echo(kind, scoped(a), show(a), opts.timeout, seq),
                None => Probe::new(kind, label.into(), Outcome::Skip, why_not.into()),
            }));
        }
        for (i, u) in upstreams.iter().enumerate() {
            let seq = i as u16;
            handles.push(s.spawn(move || dns_probe(scoped(*u), show(*u), opts, seq)));
        }
        if upstreams.is_empty() {
            handles.push(s.spawn(|| {
                Probe::new(
                    "dns",
                    "upstreams".into(),
                    Outcome::Fail,
                    "no upstream DNS server known".into(),
                )
            }));
        }
        handles.push(s.spawn(move || match pmtu_to {
            Some(a) => path_mtu(scoped(a), show(a), link_mtu, opts.timeout),
            None => Probe::new(
                "pmtu",
                "-".into(),
                Outcome::Skip,
                "no IPv6 router or --target to probe".into(),
            ),
        }));
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Probe::new("probe", "-".into(), Outcome::Fail, "crashed".into())
                })
            })
            .collect()
    });
    let lans: Vec<&str> = r.lan.iter().map(|l| l.interface.as_str()).collect();
    Diag {
        probes,
        hosts: hosts(&lans),
    }
}

/// DNS upstreams: those the DNS forwarder uses, else those the WAN learned.
fn upstreams(r: &StatusReport) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = r
        .daemon_status
        .get(cpe_bus::Daemon::Dns.name())
        .and_then(|d| d.get("upstreams"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|u| u.get("address")?.as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    for a in &r.upstream_dns {
        if !out.contains(a) {
            out.push(*a);
        }
    }
    out
}

/// The socket address of `a`, a link-local one scoped to the WAN.
fn scope(a: IpAddr, wan_index: u32) -> SocketAddr {
    match a {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => {
            SocketAddr::V6(SocketAddrV6::new(v6, 0, 0, wan_index))
        }
        other => SocketAddr::new(other, 0),
    }
}

/// `a` as the engineer types it: `fe80::1%wan0` for a link-local one.
fn shown(a: IpAddr, wan: &str) -> String {
    match a {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => format!("{v6}%{wan}"),
        other => other.to_string(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// One Echo of the minimum IPv6 MTU (or 84 bytes for IPv4, like ping).
fn echo(kind: &'static str, to: SocketAddr, shown: String, timeout: Duration, seq: u16) -> Probe {
    let size = if to.is_ipv6() { 1280 } else { 84 };
    let result = Pinger::open(to.is_ipv6()).and_then(|p| p.ping(to, seq, size, timeout));
    match result {
        Ok(Some(rtt)) => Probe {
            rtt: Some(rtt),
            ..Probe::new(kind, shown, Outcome::Ok, format!("reply in {}", ms(rtt)))
        },
        Ok(None) => Probe::new(
            kind,
            shown,
            Outcome::Fail,
            format!(
                "no reply in {}",
                crate::render::duration(timeout.as_secs().max(1))
            ),
        ),
        Err(e) => Probe::new(kind, shown, Outcome::Fail, e.to_string()),
    }
}

/// One query (`opts.name`, type A, RD) to `to` port 53: passes when a
/// reply with our ID says NOERROR or NXDOMAIN (the server resolves);
/// SERVFAIL, REFUSED and silence fail.
fn dns_probe(to: SocketAddr, shown: String, opts: &Options, seq: u16) -> Probe {
    let fail = |detail: String| Probe::new("dns", shown.clone(), Outcome::Fail, detail);
    let Ok(qname) = cpe_wire::name::Name::from_dotted(&opts.name) else {
        return fail(format!("{:?} is not a domain name", opts.name));
    };
    let id = (std::process::id() as u16) ^ seq.wrapping_mul(0x9e37);
    let query = Message {
        id,
        flags: dns::FLAG_RD,
        question: Some(Question {
            name: qname,
            qtype: dns::Rtype::A,
            qclass: dns::CLASS_IN,
        }),
        answers: vec![],
        authority: vec![],
        additional: vec![],
    };
    let Ok(bytes) = query.to_bytes() else {
        return fail("cannot encode the query".into());
    };
    let mut to = to;
    to.set_port(53);
    let bind: SocketAddr = if to.is_ipv6() {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        ([0, 0, 0, 0], 0).into()
    };
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let sock = match UdpSocket::bind(bind).and_then(|s| s.connect(to).map(|()| s)) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    if let Err(e) = sock.send(&bytes) {
        return fail(socket_error(&e));
    }
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            return fail(format!(
                "no answer in {}",
                crate::render::duration(opts.timeout.as_secs().max(1))
            ));
        }
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return fail(socket_error(&e)),
        };
        // A reply to someone else's query (or garbage) is not ours.
        let Ok(reply) = Message::decode(buf.get(..n).unwrap_or(&[])) else {
            continue;
        };
        if reply.id != id || reply.flags & dns::FLAG_QR == 0 {
            continue;
        }
        let rtt = start.elapsed();
        let rcode = reply.rcode();
        let n = reply.answers.len();
        let detail = format!(
            "{rcode} {} A: {n} answer{}, {}",
            opts.name,
            if n == 1 { "" } else { "s" },
            ms(rtt)
        );
        let ok = matches!(rcode, dns::Rcode::NoError | dns::Rcode::NxDomain);
        return Probe {
            rtt: Some(rtt),
            ..Probe::new(
                "dns",
                shown,
                if ok { Outcome::Ok } else { Outcome::Fail },
                detail,
            )
        };
    }
}

/// A socket error in the engineer's words: a refused query means the
/// host answered with ICMP port unreachable (no DNS server runs there).
fn socket_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "refused (nothing listens on port 53)".into(),
        _ => e.to_string(),
    }
}

/// What a Path MTU search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmtuResult {
    /// The largest size that came back, if any did.
    pub largest: Option<u32>,
    /// The smallest size known to fail, above `largest`.
    pub smallest_failed: Option<u32>,
    /// Echoes sent.
    pub tries: u32,
}

/// The largest packet size in `lo..=hi` that `passes`, with at most
/// `max_tries` calls: `hi` first (most paths carry the whole link MTU),
/// then `lo`, then a binary search between them. `passes` returns `None`
/// on an error that ends the search.
pub fn pmtu_search(
    lo: u32,
    hi: u32,
    max_tries: u32,
    mut passes: impl FnMut(u32) -> Option<bool>,
) -> PmtuResult {
    let mut r = PmtuResult {
        largest: None,
        smallest_failed: None,
        tries: 0,
    };
    let mut attempt = |size: u32, r: &mut PmtuResult| -> Option<bool> {
        if r.tries >= max_tries {
            return None;
        }
        r.tries += 1;
        let ok = passes(size)?;
        if ok {
            r.largest = Some(size);
        } else {
            r.smallest_failed = Some(size);
        }
        Some(ok)
    };
    if hi <= lo || attempt(hi, &mut r) != Some(false) {
        if hi <= lo {
            let _ = attempt(lo, &mut r);
        }
        return r;
    }
    if attempt(lo, &mut r) != Some(true) {
        return r;
    }
    let (mut good, mut bad) = (lo, hi);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        match attempt(mid, &mut r) {
            Some(true) => good = mid,
            Some(false) => bad = mid,
            None => break,
        }
    }
    r
}

/// The Path MTU towards `to` on the WAN: Echoes of 1280..=`link_mtu` bytes
/// that nothing fragments. The first reply times the path; later sizes wait
/// four round trips (at least 20 ms, at most `timeout`), so the lost ones
/// cost little and the whole stays within about two timeouts.
fn path_mtu(to: SocketAddr, shown: String, link_mtu: u32, timeout: Duration) -> Probe {
    let p = match Pinger::open(to.is_ipv6()) {
        Ok(p) => p,
        Err(e) => return Probe::new("pmtu", shown, Outcome::Fail, e.to_string()),
    };
    let mut wait = timeout;
    let mut seq = 100u16;
    let mut error = None;
    let r = pmtu_search(IPV6_MIN_MTU, link_mtu, PMTU_MAX_TRIES, |size| {
        seq = seq.wrapping_add(1);
        match p.ping(to, seq, size as usize, wait) {
            Ok(Some(rtt)) => {
                wait = (rtt * 4).clamp(Duration::from_millis(20), timeout);
                Some(true)
            }
            Ok(None) => Some(false),
            Err(e) if is_too_big(&e) => Some(false),
            Err(e) => {
                error = Some(e.to_string());
                None
            }
        }
    });
    let tries = format!("{} {}", r.tries, if r.tries == 1 { "try" } else { "tries" });
    match (r.largest, r.smallest_failed, error) {
        (_, _, Some(e)) => Probe::new("pmtu", shown, Outcome::Fail, e),
        (Some(m), failed, None) => {
            let exact = failed.is_none_or(|f| f == m + 1);
            let detail = if exact {
                format!("{m} bytes ({tries})")
            } else {
                format!("at least {m} bytes ({tries}, search cut short)")
            };
            Probe {
                mtu: Some(m),
                ..Probe::new("pmtu", shown, Outcome::Ok, detail)
            }
        }
        (None, _, None) => Probe::new(
            "pmtu",
            shown,
            Outcome::Fail,
            format!("not even {IPV6_MIN_MTU} bytes came back ({tries})"),
        ),
    }
}

/// The live entries of the LANs' neighbour caches, one host per MAC.
fn hosts(lans: &[&str]) -> Result<Vec<Host>, String> {
    let mut nl = Netlink::open().map_err(|e| e.to_string())?;
    let all = nl.neighbours(Family::Any).map_err(|e| e.to_string())?;
    let mut out: Vec<Host> = Vec::new();
    for lan in lans {
        let Some(index) = cpe_sys::socket::ifindex(lan) else {
            continue;
        };
        for n in all.iter().filter(|n| n.index == index && n.state.is_live()) {
            let Some(mac) = n.lladdr.as_deref().filter(|m| !m.is_empty()) else {
                continue;
            };
            let mac = mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            match out.iter_mut().find(|h| h.interface == *lan && h.mac == mac) {
                Some(h) => h.addresses.push(n.address),
                None => out.push(Host {
                    interface: (*lan).to_owned(),
                    mac,
                    state: n.state.to_string(),
                    addresses: vec![n.address],
                }),
            }
        }
    }
    for h in &mut out {
        h.addresses.sort_by_key(|a| (a.is_ipv4(), *a));
    }
    Ok(out)
}

/// The report for the console, 80 columns.
pub fn render(d: &Diag) -> String {
    let mut out = String::new();
    for p in &d.probes {
        let word = match p.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        };
        let head = format!("{word:<5} {:<5} {:<26}", p.kind, p.target);
        let line = format!("{head} {}", p.detail);
        if line.len() <= WIDTH {
            let _ = writeln!(out, "{}", line.trim_end());
        } else {
            let _ = writeln!(out, "{}", head.trim_end());
            for l in wrap_words(&p.detail, WIDTH - 12) {
                let _ = writeln!(out, "            {l}");
            }
        }
    }
    match &d.hosts {
        Err(e) => {
            let _ = writeln!(out, "FAIL  lan   neighbour caches: {e}");
        }
        Ok(hosts) if hosts.is_empty() => {
            let _ = writeln!(out, "LAN hosts: none in the neighbour caches");
        }
        Ok(hosts) => {
            let _ = writeln!(out, "LAN hosts (neighbour caches):");
            for h in hosts {
                let head = format!("  {:<6} {} {:<10}", h.interface, h.mac, h.state);
                let addrs: Vec<String> = h.addresses.iter().map(ToString::to_string).collect();
                let lines = wrap_words(&addrs.join(" "), WIDTH - head.len() - 1);
                for (i, l) in lines.iter().enumerate() {
                    let lead = if i == 0 {
                        head.clone()
                    } else {
                        " ".repeat(head.len())
                    };
                    let _ = writeln!(out, "{lead} {l}");
                }
            }
        }
    }
    out
}

/// The same as a JSON document (`--json`).
pub fn to_json(d: &Diag) -> Value {
    let probes: Vec<Value> = d
        .probes
        .iter()
        .map(|p| {
            json!({
                "probe": p.kind,
                "target": p.target,
                "result": match p.outcome {
                    Outcome::Ok => "ok",
                    Outcome::Fail => "fail",
                    Outcome::Skip => "skip",
                },
                "detail": p.detail,
                "rtt_ms": p.rtt.map(|r| r.as_secs_f64() * 1000.0),
                "mtu": p.mtu,
            })
        })
        .collect();
    let hosts = match &d.hosts {
        Ok(h) => json!(
            h.iter()
                .map(|h| json!({
                    "interface": h.interface,
                    "mac": h.mac,
                    "state": h.state,
                    "addresses": h.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>()
        ),
        Err(e) => json!({ "error": e }),
    };
    json!({ "probes": probes, "lan_hosts": hosts })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path that carries `mtu` bytes and loses bigger packets.
    fn path(mtu: u32) -> impl FnMut(u32) -> Option<bool> {
        move |size| Some(size <= mtu)
    }

    #[test]
    fn pmtu_search_finds_the_exact_size_within_its_tries() {
        // The whole link: one try.
        let r = pmtu_search(1280, 1500, 14, path(1500));
        assert_eq!((r.largest, r.tries), (Some(1500), 1));
        for mtu in [1280, 1281, 1400, 1454, 1492, 1499] {
            let r = pmtu_search(1280, 1500, 14, path(mtu));
            assert_eq!(r.largest, Some(mtu), "{mtu}");
            assert_eq!(r.smallest_failed, Some(mtu + 1), "{mtu}");
            assert!(r.tries <= 10, "{mtu}: {r:?}");
        }
        // Jumbo link, 1500-byte path: 15 tries at most.
        let r = pmtu_search(1280, 9000, PMTU_MAX_TRIES, path(1500));
        assert_eq!((r.largest, r.smallest_failed), (Some(1500), Some(1501)));
        assert!(r.tries <= 15);
        // Nothing comes back: two tries, nothing found.
        let r = pmtu_search(1280, 1500, 14, |_| Some(false));
        assert_eq!((r.largest, r.tries), (None, 2));
        // Tries run out: a lower bound, not an exact answer.
        let r = pmtu_search(1280, 9000, 4, path(1454));
        assert_eq!(r.tries, 4);
        assert!(r.largest.is_some_and(|m| m <= 1454));
        assert!(
            r.smallest_failed
                .is_some_and(|f| f > r.largest.unwrap_or(0) + 1)
        );
        // An error ends it.
        let r = pmtu_search(1280, 1500, 14, |_| None);
        assert_eq!((r.largest, r.tries), (None, 1));
    }

    fn sample() -> Diag {
        Diag {
            probes: vec![
                Probe {
                    rtt: Some(Duration::from_micros(120)),
                    ..Probe::new(
                        "ping6",
                        "fe80::aaaa:bbbb:cccc:dddd%wan0".into(),
                        Outcome::Ok,
                        "reply in 0.1 ms".into(),
                    )
                },
                Probe::new(
                    "dns",
                    "2001:db8:53::2".into(),
                    Outcome::Fail,
                    "no answer in 1s".into(),
                ),
                Probe::new(
                    "ping4",
                    "gateway".into(),
                    Outcome::Skip,
                    "no IPv4 gateway (no DHCPv4 lease)".into(),
                ),
            ],
            hosts: Ok(vec![Host {
                interface: "br0".into(),
                mac: "02:00:00:00:03:01".into(),
                state: "reachable".into(),
                addresses: (1..6)
                    .map(|i| format!("2001:db8:1000:1:ff:fe00:301:{i}").parse().unwrap())
                    .collect(),
            }]),
        }
    }

    #[test]
    fn report_fits_80_columns_and_a_failure_sets_exit_1() {
        let d = sample();
        let text = render(&d);
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "too wide ({}): {line}", line.len());
        }
        assert!(text.contains("FAIL  dns   2001:db8:53::2"), "{text}");
        assert!(
            text.contains("  br0    02:00:00:00:03:01 reachable "),
            "{text}"
        );
        assert_eq!(d.exit_code(), 1);
        let mut ok = d.clone();
        ok.probes.remove(1);
        assert_eq!(ok.exit_code(), 0, "a skipped probe is not a failure");
        let j = to_json(&d);
        assert_eq!(j["probes"][1]["result"], "fail");
        assert_eq!(j["lan_hosts"][0]["addresses"].as_array().unwrap().len(), 5);
    }
}
