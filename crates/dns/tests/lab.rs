//! The forwarder in the namespace lab against real Unbound upstreams, probed
//! from a LAN host with kdig and small Python clients. Needs root and the
//! lab packages (tools/install-lab-deps), like every lab test.
//!
//! Addressing on top of the standard IPoE topology: the router's WAN has
//! 192.0.2.2/24 and 2001:db8:ffff::2/64 with routes to the ISP's DNS
//! loopbacks; br0 has 192.168.1.1/24 and 2001:db8:1:1::1/64; the LAN host has
//! .50 / ::50. The forwarder runs as `cpe-dns-lab` (this crate's standalone
//! entry point) bound to br0 only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use cpe_lab::peers::unbound::{BIG_TXT_STRINGS, TEST_A, TEST_AAAA};
use cpe_lab::plan::*;
use cpe_lab::{IpoeTopology, Lab, Netns, Process, TopologyOptions, Unbound, UnboundOptions};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const LAN_V4: &str = "192.168.1.1";
const LAN_V6: &str = "2001:db8:1:1::1";
const WAN_V4: &str = "192.0.2.2";
const WAN_V6: &str = "2001:db8:ffff::2";

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

struct DnsLab {
    topo: IpoeTopology,
    status: PathBuf,
    _lab: Lab,
}

/// Builds the topology and addresses; upstreams and forwarder are started
/// by the caller.
fn topology(name: &str) -> DnsLab {
    topology_with(name, &TopologyOptions::default())
}

fn topology_with(name: &str, opts: &TopologyOptions) -> DnsLab {
    let lab = Lab::new(name).unwrap();
    let topo = lab.ipoe(opts).unwrap();
    let r = &topo.router;
    r.add_address(WAN_IF, net("192.0.2.2/24")).unwrap();
    r.add_address(WAN_IF, net("2001:db8:ffff::2/64")).unwrap();
    r.replace_route(net("198.51.100.0/24"), Some(IpAddr::V4(ISP_ADDR_V4)), None)
        .unwrap();
    r.replace_route(net("2001:db8:53::/64"), Some(IpAddr::V6(ISP_ADDR)), None)
        .unwrap();
    r.add_address(BRIDGE_IF, net("192.168.1.1/24")).unwrap();
    r.add_address(BRIDGE_IF, net("2001:db8:1:1::1/64")).unwrap();
    topo.host
        .add_address(HOST_IF, net("192.168.1.50/24"))
        .unwrap();
    topo.host
        .add_address(HOST_IF, net("2001:db8:1:1::50/64"))
        .unwrap();
    // The ISP can reach the LAN through the router (a missing firewall).
    topo.isp
        .replace_route(
            net("192.168.1.0/24"),
            Some("192.0.2.2".parse().unwrap()),
            None,
        )
        .unwrap();
    if let Some(h2) = &topo.host2 {
        h2.add_address(HOST_IF, net("192.168.1.51/24")).unwrap();
    }
    let status = topo.router.unique_path("dns-status", "json");
    DnsLab {
        topo,
        status,
        _lab: lab,
    }
}

fn start_forwarder(l: &DnsLab, upstreams: &[&str]) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpe-dns-lab"));
    cmd.args([
        "--listen",
        "0.0.0.0:53%br0",
        "--listen",
        "[::]:53%br0",
        "--local-domain",
        "lan",
    ]);
    cmd.args(["--host", "router=self", "--host", "nas=192.168.1.10"]);
    cmd.args(["--log-level", "debug", "--status-file"])
        .arg(&l.status);
    for u in upstreams {
        cmd.args(["--upstream", u]);
    }
    let p = l.topo.router.spawn("cpe-dns", cmd).unwrap();
    l.topo
        .router
        .wait_for_udp_listen(None, 53, Duration::from_secs(5))
        .unwrap();
    l.topo
        .router
        .wait_for_tcp_listen(None, 53, Duration::from_secs(5))
        .unwrap();
    p
}

fn status(l: &DnsLab) -> serde_json::Value {
    // Written every 2 s; wait for a fresh one.
    let t0 = std::time::SystemTime::now();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(m) = std::fs::metadata(&l.status)
            && m.modified().unwrap() > t0
        {
            return serde_json::from_slice(&std::fs::read(&l.status).unwrap()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no status file {}", l.status.display());
}

fn kdig(ns: &Netns, args: &[&str]) -> cpe_lab::KdigReply {
    let mut r = ns
        .kdig(args)
        .unwrap_or_else(|e| panic!("kdig {args:?}: {e}"));
    r.pop().unwrap()
}

fn silent(ns: &Netns, args: &[&str]) -> bool {
    let mut argv = vec!["kdig", "+time=1", "+retry=0"];
    argv.extend_from_slice(args);
    let out = ns.exec_timeout(&argv, Duration::from_secs(5)).unwrap();
    !out.stdout.contains("->>HEADER<<-")
}

fn upstreams_ab(l: &DnsLab) -> (Unbound, Unbound) {
    (
        l.topo.start_unbound(&UnboundOptions::upstream_a()).unwrap(),
        l.topo.start_unbound(&UnboundOptions::upstream_b()).unwrap(),
    )
}

#[test]
fn answers_lan_over_udp_and_tcp_with_cache_local_names_and_tc() {
    let l = topology("dns_basic");
    let (_a, _b) = upstreams_ab(&l);
    let _dns = start_forwarder(&l, &["2001:db8:53::1", "2001:db8:53::2"]);
    let h = &l.topo.host;
    let at4 = format!("@{LAN_V4}");
    let at6 = format!("@{LAN_V6}");

    let r = kdig(h, &[&at4, "a.test", "A"]);
    assert_eq!(r.status, "NOERROR");
    assert_eq!(r.answer_data("A"), vec![TEST_A.to_string()]);
    let r = kdig(h, &[&at6, "+tcp", "a.test", "AAAA"]);
    assert_eq!(r.answer_data("AAAA"), vec![TEST_AAAA.to_string()]);
    // CNAME chain comes back whole, and from the cache the second time with a
    // TTL that does not exceed the zone's.
    let r = kdig(h, &[&at4, "cname.test", "A"]);
    assert_eq!(r.answer_data("CNAME"), vec!["a.test."]);
    assert_eq!(r.answer_data("A"), vec![TEST_A.to_string()]);
    std::thread::sleep(Duration::from_millis(1100));
    let r = kdig(h, &[&at4, "cname.test", "A"]);
    assert!(r.answers.iter().all(|x| x.ttl < 300), "{:?}", r.answers);
    let r = kdig(h, &[&at6, "nx.test", "A"]);
    assert_eq!(r.status, "NXDOMAIN");
    // Link-local clients are answered from the link-local address.
    let ll = format!("@{BRIDGE_LINK_LOCAL}%{HOST_IF}");
    let r = kdig(h, &[&ll, "a.test", "AAAA"]);
    assert_eq!(r.answer_data("AAAA"), vec![TEST_AAAA.to_string()]);
    // Local names: self is the address the query was sent to.
    let r = kdig(h, &[&at4, "router.lan", "A"]);
    assert_eq!(r.answer_data("A"), vec![LAN_V4]);
    let r = kdig(h, &[&at6, "router.lan", "AAAA"]);
    assert_eq!(r.answer_data("AAAA"), vec![LAN_V6]);
    let r = kdig(h, &[&at4, "-x", "192.168.1.10"]);
    assert_eq!(r.answer_data("PTR"), vec!["nas.lan."]);
    // big.test: upstream truncates over UDP, the forwarder fetches it over
    // TCP; a 1232-byte client gets TC, a TCP client the whole answer.
    let r = kdig(h, &[&at4, "+bufsize=1232", "+ignore", "big.test", "TXT"]);
    assert!(r.has_flag("tc"), "{r:?}");
    let r = kdig(h, &[&at4, "+tcp", "big.test", "TXT"]);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].data.matches('"').count(), 2 * BIG_TXT_STRINGS);
    let st = status(&l);
    assert!(
        st["counters"]["upstream_truncated"].as_u64().unwrap() >= 1,
        "{st}"
    );
    assert!(
        st["counters"]["answered_cache"].as_u64().unwrap() >= 2,
        "{st}"
    );
    assert_eq!(st["upstreams"][0]["health"], "up");
}

/// Two queries from one socket back to back (what glibc does for A+AAAA):
/// both answered, fast.
#[test]
fn same_port_a_and_aaaa_are_both_answered() {
    let l = topology("dns_sameport");
    let (_a, _b) = upstreams_ab(&l);
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let script = r#"
import socket, struct, time, sys
def q(i, t):
    name = b''.join(bytes([len(p)]) + p for p in b'a.test'.split(b'.')) + b'\0'
    return struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + name + struct.pack('>HH', t, 1)
for fam, addr in ((socket.AF_INET, '192.168.1.1'), (socket.AF_INET6, '2001:db8:1:1::1')):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    t0 = time.time()
    s.sendto(q(0x1001, 1), (addr, 53))
    s.sendto(q(0x1002, 28), (addr, 53))
    got = {}
    while len(got) < 2:
        data = s.recv(2048)
        i, flags, qd, an = struct.unpack('>HHHH', data[:8])
        got[i] = an
    print(fam, sorted(got.items()), round((time.time() - t0) * 1000))
"#;
    for _ in 0..3 {
        let out = l.topo.host.exec_ok(&["python3", "-c", script]).unwrap();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", out.stdout);
        for line in lines {
            assert!(line.contains("[(4097, 1), (4098, 1)]"), "{line}");
            let ms: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(ms < 500, "{line}");
        }
    }
}

#[test]
fn upstream_killed_answers_keep_coming_from_b_within_one_second() {
    let l = topology("dns_failover");
    let (a, _b) = upstreams_ab(&l);
    let _dns = start_forwarder(&l, &["2001:db8:53::1", "2001:db8:53::2"]);
    let h = &l.topo.host;
    let at = format!("@{LAN_V4}");
    let r = kdig(h, &[&at, "who.test", "TXT"]);
    assert_eq!(r.answer_data("TXT"), vec!["\"a\""]);
    a.process.kill(libc::SIGKILL);
    a.process.wait_exit(Duration::from_secs(5)).unwrap();
    for i in 0..5 {
        // Different uncached names: each must be answered by B, fast.
        let name = format!("n{i}.who.test");
        let t0 = Instant::now();
        let r = kdig(h, &["+time=1", "+retry=0", &at, &name, "A"]);
        let took = t0.elapsed();
        assert_eq!(r.status, "NXDOMAIN", "{name}");
        assert!(took < Duration::from_secs(1), "{name} took {took:?}");
    }
    let st = status(&l);
    assert_eq!(st["upstreams"][0]["health"], "down", "{st}");
    assert_eq!(st["upstreams"][1]["health"], "up", "{st}");
}

/// A fake upstream that, for every query, first sends forged answers (wrong
/// source port, wrong ID, wrong question) and then the real one 100 ms later.
const SPOOFER: &str = r#"
import socket, struct, sys, time
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((addr, 53))
other = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
other.bind((addr, 5353))
def answer(query, qid, qname_end, ip):
    q = query[12:qname_end + 4]
    return struct.pack('>HHHHHH', qid, 0x8180, 1, 1, 0, 0) + q + b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 300, 4) + bytes(ip)
while True:
    query, peer = s.recvfrom(2048)
    qid = struct.unpack('>H', query[:2])[0]
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    end += 1
    other.sendto(answer(query, qid, end, [6, 6, 6, 1]), peer)
    s.sendto(answer(query, qid ^ 0x5a5a, end, [6, 6, 6, 2]), peer)
    wrong = bytearray(query)
    wrong[13] = ord('x') if wrong[13] != ord('x') else ord('y')
    s.sendto(answer(bytes(wrong), qid, end, [6, 6, 6, 3]), peer)
    time.sleep(0.1)
    s.sendto(answer(query, qid, end, [192, 0, 2, 99]), peer)
"#;

#[test]
fn spoofed_replies_are_ignored() {
    let l = topology("dns_spoof");
    l.topo
        .isp
        .add_address("lo", net("2001:db8:53::9/128"))
        .unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", SPOOFER, "2001:db8:53::9"]);
    let _fake = l.topo.isp.spawn("spoofer", cmd).unwrap();
    l.topo
        .isp
        .wait_for_udp_listen(None, 53, Duration::from_secs(5))
        .unwrap();
    let _dns = start_forwarder(&l, &["2001:db8:53::9"]);
    let at = format!("@{LAN_V4}");
    for name in ["bank.example", "mail.example"] {
        let r = kdig(&l.topo.host, &[&at, name, "A"]);
        assert_eq!(r.answer_data("A"), vec!["192.0.2.99"], "{name}: {r:?}");
    }
    let st = status(&l);
    let drops = &st["counters"]["drops"];
    assert_eq!(drops["wrong_id"].as_u64(), Some(2), "{st}");
    assert_eq!(drops["wrong_question"].as_u64(), Some(2), "{st}");
    // The wrong-port forgeries never reach us: the upstream socket is
    // connected, so the kernel drops them.
    assert_eq!(drops.get("wrong_source"), None, "{st}");
}

#[test]
fn nothing_answers_from_the_wan_side() {
    let l = topology("dns_wan");
    let (_a, _b) = upstreams_ab(&l);
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let isp = &l.topo.isp;
    for at in [WAN_V4, WAN_V6, LAN_V4] {
        assert!(
            silent(isp, &[&format!("@{at}"), "a.test", "A"]),
            "answered from the ISP at {at}"
        );
        assert!(
            silent(isp, &[&format!("@{at}"), "+tcp", "a.test", "A"]),
            "answered over TCP from the ISP at {at}"
        );
    }
    // The LAN still works.
    assert_eq!(
        kdig(&l.topo.host, &[&format!("@{LAN_V4}"), "a.test", "A"]).status,
        "NOERROR"
    );
}

/// The supervised mode: config and upstreams come over the bus from a
/// stand-in supervisor (a Unix socket speaking the bus protocol), the
/// sockets follow `listen = ["lan"]`, `auto` upstreams follow the shared
/// state, and the status object comes back on the bus.
#[test]
fn supervised_mode_follows_the_bus() {
    use cpe_bus::proto::{FromSupervisor, ToSupervisor, decode_line, encode_line};
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    let l = topology("dns_bus");
    let (_a, _b) = upstreams_ab(&l);
    let dir = l.topo.router.lab_dir().display().to_string();
    let config = format!(
        "[system]\nstate_dir = \"{dir}\"\nrun_dir = \"{dir}\"\n[wan]\ninterface = \"wan0\"\n\
         [[lan]]\ninterface = \"br0\"\nsubnet_id = 1\n[lan.ipv4]\naddress = \"192.168.1.1/24\"\n\
         [dns]\nupstream = [\"auto\"]\nhosts = [ {{ name = \"nas\", addresses = [\"192.168.1.10\"] }} ]\n"
    );
    cpe_config::parse_str(&config, "router.toml").unwrap();
    let sock_path = l.topo.router.unique_path("cpe", "sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpe-dns-lab"));
    cmd.env("CPE_BUS", &sock_path);
    let _dns = l.topo.router.spawn("cpe-dns-bus", cmd).unwrap();
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(
        matches!(decode_line::<ToSupervisor>(line.trim_end().as_bytes()).unwrap(), ToSupervisor::Hello { daemon, .. } if daemon == "dns")
    );
    let state = |ups: Vec<IpAddr>| cpe_bus::SharedState {
        generation: 1,
        upstream_dns: ups,
        ..Default::default()
    };
    writer
        .write_all(&encode_line(&FromSupervisor::Config {
            file: "router.toml".into(),
            source: config,
        }))
        .unwrap();
    writer
        .write_all(&encode_line(&FromSupervisor::State(Box::new(state(vec![
            IpAddr::V6(DNS_A),
        ])))))
        .unwrap();
    l.topo
        .router
        .wait_for_udp_listen(None, 53, Duration::from_secs(5))
        .unwrap();

    let h = &l.topo.host;
    let at = format!("@{LAN_V4}");
    assert_eq!(
        kdig(h, &[&at, "who.test", "TXT"]).answer_data("TXT"),
        vec!["\"a\""]
    );
    assert_eq!(
        kdig(h, &[&at, "nas.lan", "A"]).answer_data("A"),
        vec!["192.168.1.10"]
    );
    assert_eq!(
        kdig(h, &[&at, "cpe.lan", "A"]).answer_data("A"),
        vec![LAN_V4],
        "system.hostname is self"
    );
    // The WAN learned another resolver: new questions go there, the cache stays.
    writer
        .write_all(&encode_line(&FromSupervisor::State(Box::new(state(vec![
            IpAddr::V6(DNS_B),
        ])))))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        kdig(h, &[&at, "who.test", "TXT"]).answer_data("TXT"),
        vec!["\"a\""],
        "cached"
    );
    assert_eq!(kdig(h, &[&at, "n1.who.test", "TXT"]).status, "NXDOMAIN");
    // Status objects arrive on the bus; the newest names upstream B.
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut last = None;
    while Instant::now() < deadline {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Ok(ToSupervisor::Status(v)) = decode_line::<ToSupervisor>(line.trim_end().as_bytes())
        {
            let done = v["upstreams"][0]["address"] == "[2001:db8:53::2]:53"
                && v["counters"]["answered_cache"].as_u64() >= Some(1);
            last = Some(v);
            if done {
                break;
            }
        }
    }
    let v = last.expect("no status on the bus");
    assert_eq!(v["upstreams"][0]["address"], "[2001:db8:53::2]:53", "{v}");
    assert!(v["counters"]["answered_cache"].as_u64() >= Some(1), "{v}");
    // Nothing listens on the WAN.
    assert!(silent(&l.topo.isp, &[&format!("@{WAN_V4}"), "a.test", "A"]));
}

/// Several queries written back to back on one LAN TCP connection (RFC 7766
/// pipelining), one of them a cache miss: all answered on that connection,
/// each with its own ID.
#[test]
fn tcp_pipelining_on_the_lan() {
    let l = topology("dns_tcp");
    let (_a, _b) = upstreams_ab(&l);
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let script = r#"
import socket, struct
def q(i, name, t):
    n = b''.join(bytes([len(p)]) + p for p in name.encode().split(b'.')) + b'\0'
    m = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + n + struct.pack('>HH', t, 1)
    return struct.pack('>H', len(m)) + m
s = socket.create_connection(('2001:db8:1:1::1', 53), timeout=3)
s.sendall(q(1, 'a.test', 1) + q(2, 'a.test', 28) + q(3, 'cname.test', 1) + q(4, 'nx.test', 1) + q(5, 'router.lan', 28))
buf = b''
got = {}
while len(got) < 5:
    data = s.recv(4096)
    if not data:
        break
    buf += data
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('>H', buf[:2])[0]:
        l = struct.unpack('>H', buf[:2])[0]
        m = buf[2:2 + l]
        buf = buf[2 + l:]
        i, flags, qd, an = struct.unpack('>HHHH', m[:8])
        got[i] = (flags & 0xf, an)
print(sorted(got.items()))
"#;
    let out = l.topo.host.exec_ok(&["python3", "-c", script]).unwrap();
    assert_eq!(
        out.stdout.trim(),
        "[(1, (0, 1)), (2, (0, 1)), (3, (0, 2)), (4, (3, 0)), (5, (0, 1))]",
        "{}",
        out.stderr
    );
}

/// Asks each name (type A) over UDP, one after the other, each from a fresh
/// socket with its own timeout, and prints `name rcode ms` (rcode -1 when
/// nothing came back). Timing in the client, so process start-up of the
/// probe does not count.
const TIMED_ASK: &str = r#"
import socket, struct, sys, time
server, timeout = sys.argv[1], float(sys.argv[2])
fam = socket.AF_INET6 if ':' in server else socket.AF_INET
for i, name in enumerate(sys.argv[3:]):
    qn = b''.join(bytes([len(p)]) + p for p in name.encode().split(b'.')) + b'\0'
    q = struct.pack('>HHHHHH', 0x4000 + i, 0x0100, 1, 0, 0, 0) + qn + struct.pack('>HH', 1, 1)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    t0 = time.monotonic()
    s.sendto(q, (server, 53))
    rc = -1
    try:
        while True:
            data = s.recv(4096)
            if struct.unpack('>H', data[:2])[0] == 0x4000 + i:
                rc = data[3] & 0xf
                break
    except socket.timeout:
        pass
    print(name, rc, round((time.monotonic() - t0) * 1000))
"#;

/// (name, rcode or -1, milliseconds) for each name, asked in turn.
fn timed_ask(ns: &Netns, timeout_s: f64, names: &[String]) -> Vec<(String, i32, u64)> {
    let t = timeout_s.to_string();
    let mut argv = vec!["python3", "-c", TIMED_ASK, LAN_V4, t.as_str()];
    argv.extend(names.iter().map(String::as_str));
    let out = ns.exec_ok(&argv).unwrap();
    out.stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// Asks a new name (`TAG<i>.who.test`, type A) every 100 ms, each with a
/// 1 s timeout, until one is answered (NOERROR or NXDOMAIN) or `limit`
/// seconds pass; prints the milliseconds from the first question, or -1.
const UNTIL_ANSWERED: &str = r#"
import socket, struct, sys, time
server, tag, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < limit:
    qn = b''.join(bytes([len(p)]) + p for p in (tag + str(i) + '.who.test').encode().split(b'.')) + b'\0'
    q = struct.pack('>HHHHHH', 0x5000 + i, 0x0100, 1, 0, 0, 0) + qn + struct.pack('>HH', 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(q, (server, 53))
    try:
        data = s.recv(4096)
        if data[3] & 0xf in (0, 3):
            print(round((time.monotonic() - t0) * 1000))
            sys.exit(0)
    except socket.timeout:
        pass
    i += 1
    time.sleep(0.1)
print(-1)
"#;

/// Milliseconds until a question through the forwarder is answered, asked
/// from inside the host namespace (process start-up not counted).
fn time_to_answer(ns: &Netns, tag: &str, limit_s: u64) -> i64 {
    let limit = limit_s.to_string();
    let out = ns
        .exec_ok(&["python3", "-c", UNTIL_ANSWERED, LAN_V4, tag, &limit])
        .unwrap();
    out.stdout.trim().parse().unwrap()
}

fn names(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}{i}.who.test")).collect()
}

/// Issue 9 item 3: with its only upstream killed (ICMP port unreachable) or
/// frozen (SIGSTOP, no ICMP), the forwarder answers SERVFAIL in well under
/// a second instead of after its 4 s deadline, and uses the upstream again
/// within two seconds of its return.
/// What "fast" means here, measured by a client through the whole stack
/// on a loaded 2-core CI machine: well below the 4 s query deadline. The
/// engine's own bound (one short try: 200 ms here) is checked exactly in
/// virtual time by `tests/engine.rs::frozen_upstream_fails_fast_once_marked_down`;
/// a 500 ms bound here failed once at 638 ms under a load average of 20.
const FAIL_FAST_MS: u64 = 1500;

#[test]
fn dead_or_frozen_upstream_fails_fast_and_recovers_quickly() {
    let l = topology("dns_dead");
    let a = l.topo.start_unbound(&UnboundOptions::upstream_a()).unwrap();
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let h = &l.topo.host;
    assert_eq!(timed_ask(h, 2.0, &names("warm", 3))[2].1, 3);

    // Killed: the ICMP port unreachable is used at once.
    a.process.kill(libc::SIGKILL);
    a.process.wait_exit(Duration::from_secs(5)).unwrap();
    let killed = timed_ask(h, 5.0, &names("k", 6));
    eprintln!("killed: {killed:?}");
    for (name, rc, ms) in &killed {
        assert_eq!(*rc, 2, "{name}: SERVFAIL expected");
        assert!(*ms < FAIL_FAST_MS, "{name}: SERVFAIL after {ms} ms");
    }
    assert_eq!(status(&l)["upstreams"][0]["health"], "down");
    let a = l.topo.start_unbound(&UnboundOptions::upstream_a()).unwrap();
    let back = time_to_answer(h, "r", 10);
    eprintln!("restarted: answered after {back} ms");
    assert!(
        (0..2000).contains(&back),
        "restarted: answered after {back} ms"
    );

    // Frozen: no ICMP; the first question marks it down by timeouts, the
    // following ones fail after one short try.
    a.process.kill(libc::SIGSTOP);
    let first = timed_ask(h, 5.0, &names("f", 1));
    eprintln!("frozen, first: {first:?}");
    assert_eq!(first[0].1, 2, "{first:?}");
    assert!(first[0].2 < 4000, "{first:?}");
    assert_eq!(status(&l)["upstreams"][0]["health"], "down");
    let frozen = timed_ask(h, 5.0, &names("g", 6));
    eprintln!("frozen: {frozen:?}");
    for (name, rc, ms) in &frozen {
        assert_eq!(*rc, 2, "{name}: SERVFAIL expected");
        assert!(*ms < FAIL_FAST_MS, "{name}: SERVFAIL after {ms} ms");
    }
    a.process.kill(libc::SIGCONT);
    let back = time_to_answer(h, "c", 10);
    eprintln!("thawed: answered after {back} ms");
    assert!(
        (0..2000).contains(&back),
        "thawed: answered after {back} ms"
    );
    let st = status(&l);
    assert_eq!(st["upstreams"][0]["health"], "up", "{st}");
    assert!(
        st["counters"]["all_down_queries"].as_u64().unwrap() >= 10,
        "{st}"
    );
    assert!(
        st["counters"]["drops"]["upstreams_down"].as_u64().unwrap() >= 10,
        "{st}"
    );
}

/// A slowloris from one LAN host: opens N TCP connections to the forwarder,
/// sends only a length prefix on each, touches READY, and watches for 6 s
/// how long each lives until the server closes it; writes a JSON summary to
/// OUT. Arguments: N OUT READY.
const SLOWLORIS: &str = r#"
import json, select, socket, sys, threading, time
n, out, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.monotonic()
alive, opened_at, lifetimes, refused = [], {}, [], 0
lock, done = threading.Lock(), threading.Event()
# Closes are watched by a thread of their own: a connect that waits out a
# SYN retransmit (the listener's queue was full for a moment) must not delay
# noticing the closes of the connections opened before it.
def watch():
    while not done.is_set():
        with lock:
            socks = list(alive)
        r = select.select(socks, [], [], 0.01)[0] if socks else time.sleep(0.01) or []
        for s in r:
            try:
                d = s.recv(100)
            except OSError:
                d = b''
            if not d:
                with lock:
                    lifetimes.append(time.monotonic() - opened_at[s])
                    alive.remove(s)
watcher = threading.Thread(target=watch)
watcher.start()
for i in range(n):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(('192.168.1.1', 53))
        s.sendall(b'\x00\x20')
        with lock:
            opened_at[s] = time.monotonic()
            alive.append(s)
    except OSError:
        refused += 1
opened_by = time.monotonic() - t0
open(ready, 'w').close()
while time.monotonic() - t0 < opened_by + 6:
    with lock:
        if not alive:
            break
    time.sleep(0.05)
done.set()
watcher.join()
json.dump({'opened': n - refused, 'refused': refused, 'opened_by': opened_by,
           'closed_within_1s': sum(1 for c in lifetimes if c < 1.0),
           'closed': len(lifetimes), 'open_at_end': len(alive),
           'longest': max(lifetimes, default=0)}, open(out, 'w'))
"#;

/// One query over TCP (a.test A) with the time to the answer measured in
/// the client; prints `rcode ms`, or `-1 ms` if the connection was refused,
/// closed or timed out.
const TCP_ASK: &str = r#"
import socket, struct, time
t0 = time.monotonic()
qn = b'\x01a\x04test\x00'
m = struct.pack('>HHHHHH', 0x77, 0x0100, 1, 0, 0, 0) + qn + struct.pack('>HH', 1, 1)
rc = -1
try:
    s = socket.create_connection(('192.168.1.1', 53), timeout=3)
    s.sendall(struct.pack('>H', len(m)) + m)
    buf = b''
    while len(buf) < 6:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    if len(buf) >= 6:
        rc = buf[5] & 0xf
except OSError:
    pass
print(rc, round((time.monotonic() - t0) * 1000))
"#;

/// Two LAN hosts (the second at .51), upstreams A and B, the forwarder
/// asking A. Returns the lab and what must stay alive with it.
fn two_host_lab(name: &str) -> (DnsLab, [Unbound; 2], Process) {
    let l = topology_with(
        name,
        &TopologyOptions {
            second_host: true,
            ..TopologyOptions::default()
        },
    );
    let (a, b) = upstreams_ab(&l);
    let dns = start_forwarder(&l, &["2001:db8:53::1"]);
    (l, [a, b], dns)
}

/// Runs a Python `script` with `args` in the first LAN host and waits until
/// it has created the file `ready` (its last argument).
fn spawn_until_ready(l: &DnsLab, label: &str, script: &str, args: &[&std::ffi::OsStr]) -> Process {
    let ready = args.last().map(PathBuf::from).unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script]).args(args);
    let p = l.topo.host.spawn(label, cmd).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "{label} never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    p
}

/// Issue 9 item 4: one LAN host opens 200 TCP connections that send only a
/// length prefix. Beyond its share they are closed at once, the rest within
/// the message deadline, and a second host's TCP query meanwhile is
/// answered at once; the refusals are counted.
#[test]
fn one_lan_host_cannot_take_every_tcp_slot() {
    let (l, _upstreams, _dns) = two_host_lab("dns_slowloris");
    let h2 = l.topo.host2.as_ref().unwrap();
    // Warm the cache so the timing below is the forwarder's alone.
    let warm = h2.exec_ok(&["python3", "-c", TCP_ASK]).unwrap();
    assert!(warm.stdout.starts_with("0 "), "{}", warm.stdout);

    let ready = l.topo.router.unique_path("slowloris", "ready");
    let result = l.topo.router.unique_path("slowloris", "json");
    let attacker = spawn_until_ready(
        &l,
        "slowloris",
        SLOWLORIS,
        &["200".as_ref(), result.as_os_str(), ready.as_os_str()],
    );
    let victim = h2.exec_ok(&["python3", "-c", TCP_ASK]).unwrap();
    eprintln!("second host while under attack: {}", victim.stdout.trim());
    let f: Vec<i64> = victim
        .stdout
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(f[0], 0, "second host's TCP query: {}", victim.stdout);
    assert!(f[1] < 500, "second host answered after {} ms", f[1]);

    attacker.wait_exit(Duration::from_secs(20)).unwrap();
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    eprintln!("slowloris: {r}");
    let opened = r["opened"].as_u64().unwrap();
    assert!(opened >= 150, "{r}");
    assert!(
        r["closed_within_1s"].as_u64().unwrap() >= opened - 16,
        "beyond the per-client share, closed at once: {r}"
    );
    assert_eq!(r["open_at_end"], 0, "{r}");
    assert!(r["longest"].as_f64().unwrap() < 3.5, "{r}");
    let st = status(&l);
    eprintln!("status: {st}");
    let drops = &st["counters"]["drops"];
    assert!(
        drops["tcp_per_client_full"].as_u64().unwrap() >= opened - 16,
        "{st}"
    );
    assert!(
        st["tcp_stalled"].as_u64().unwrap() + drops["tcp_no_message"].as_u64().unwrap_or(0) >= 1,
        "{st}"
    );
    assert_eq!(st["tcp_clients"], 0, "{st}");
}

/// Packets counted by the nft rules with comment `tag` in `table` (inet).
fn nft_counter(ns: &Netns, table: &str, tag: &str) -> u64 {
    let out = ns
        .exec_ok(&["nft", "list", "table", "inet", table])
        .unwrap();
    let quoted = format!("\"{tag}\"");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&quoted))
        .unwrap_or_else(|| panic!("{tag} in {}", out.stdout));
    let after = line.split("packets ").nth(1).unwrap();
    after.split(' ').next().unwrap().parse().unwrap()
}

/// Installs nft `rules` (a whole table) in `ns`.
fn nft_load(ns: &Netns, rules: &str) {
    let path = ns.unique_path("rules", "nft");
    std::fs::write(&path, rules).unwrap();
    ns.exec_ok(&["nft", "-f", path.to_str().unwrap()]).unwrap();
}

/// Packets the ISP namespace counted under the `dnscount` nft table:
/// (UDP datagrams to port 53, TCP SYNs to port 53).
fn upstream_packets(isp: &Netns) -> (u64, u64) {
    (
        nft_counter(isp, "dnscount", "udp53"),
        nft_counter(isp, "dnscount", "syn53"),
    )
}

/// Issue 17 item 1: the upstream truncates `big.test` over UDP (a TXT
/// answer over 1232 bytes) and resets every TCP connection to port 53. Each
/// client question costs at most one UDP query and one TCP attempt (none
/// while TCP backs off) and gets SERVFAIL; before, one question became
/// tens of thousands of each.
#[test]
fn truncating_upstream_that_resets_tcp_gets_a_few_packets_per_question() {
    let l = topology("dns_storm");
    let (_a, _b) = upstreams_ab(&l);
    let isp = &l.topo.isp;
    let rules = "table inet dnscount {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 53 counter comment \"udp53\"
    tcp dport 53 tcp flags syn counter comment \"syn53\"
    tcp dport 53 reject with tcp reset
  }
}
";
    nft_load(isp, rules);
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let h = &l.topo.host;
    let at = format!("@{LAN_V4}");
    let questions = 5;
    for i in 0..questions {
        let r = kdig(
            h,
            &["+ignore", "+retry=0", "+time=5", &at, "big.test", "TXT"],
        );
        assert_eq!(r.status, "SERVFAIL", "question {i}: {r:?}");
    }
    let (udp, syn) = upstream_packets(isp);
    eprintln!("{questions} questions: {udp} UDP queries, {syn} TCP SYNs upstream");
    assert!(udp <= questions, "{udp} UDP queries");
    assert!((1..=3).contains(&syn), "{syn} TCP SYNs");
    let st = status(&l);
    eprintln!("status: {st}");
    assert_eq!(st["upstreams"][0]["health"], "up", "{st}");
    assert!(
        st["upstreams"][0]["tcp_failures"].as_u64() >= Some(1),
        "{st}"
    );
    assert!(
        st["counters"]["upstream_tcp_skipped"].as_u64() >= Some(1),
        "{st}"
    );
    // Other names still work over UDP.
    assert_eq!(kdig(h, &[&at, "a.test", "A"]).status, "NOERROR");
}

/// A LAN client that pipelines N queries for `big.test` TXT (whole answers
/// of ~1.6 KB over TCP) with a tiny receive buffer, touches READY and then
/// never reads, holding the connection for 15 s.
const NON_READER: &str = r#"
import socket, struct, sys, time
n, ready = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(('192.168.1.1', 53))
qn = b'\x03big\x04test\x00'
try:
    for i in range(n):
        m = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + qn + struct.pack('>HH', 16, 1)
        s.sendall(struct.pack('>H', len(m)) + m)
except OSError:
    pass
open(ready, 'w').close()
time.sleep(15)
"#;

/// Router-side TCP connections on port 53 from `peer` (any state but
/// LISTEN), from `ss` in the router's namespace.
fn tcp_conns_from(l: &DnsLab, peer: &str) -> usize {
    let out = l
        .topo
        .router
        .exec_ok(&["ss", "-Htn", "state", "all", "sport", "=", ":53"])
        .unwrap();
    out.stdout
        .lines()
        .filter(|x| x.contains(peer) && !x.contains("LISTEN"))
        .count()
}

/// Issue 9 item 4, slow reader: a client that asks for large answers and
/// never reads them fills the socket buffers and its answer queue; the
/// connection is dropped and its socket released within seconds (the
/// writer used to wait for ever, holding the socket), while another host's
/// query is answered meanwhile.
#[test]
fn tcp_client_that_never_reads_is_released() {
    let (l, _upstreams, _dns) = two_host_lab("dns_nonreader");
    let h2 = l.topo.host2.as_ref().unwrap();
    let at = format!("@{LAN_V4}");
    // Cache the big answer so every pipelined query is answered at once.
    let r = kdig(h2, &[&at, "+tcp", "big.test", "TXT"]);
    assert_eq!(r.answers.len(), 1);
    let ready = l.topo.router.unique_path("nonreader", "ready");
    let _reader = spawn_until_ready(
        &l,
        "nonreader",
        NON_READER,
        &["300".as_ref(), ready.as_os_str()],
    );
    let sent = Instant::now();
    let victim = h2.exec_ok(&["python3", "-c", TCP_ASK]).unwrap();
    assert!(victim.stdout.starts_with("0 "), "{}", victim.stdout);
    let mut released = None;
    while sent.elapsed() < Duration::from_secs(12) {
        if tcp_conns_from(&l, "192.168.1.50") == 0 {
            released = Some(sent.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let st = status(&l);
    eprintln!("released after {released:?}; status: {st}");
    assert!(st["tcp_overflows"].as_u64().unwrap() >= 1, "{st}");
    assert_eq!(st["tcp_clients"], 0, "its slot is free: {st}");
    let released = released.expect("the non-reading client's socket is still held");
    assert!(released < Duration::from_secs(9), "{released:?}");
}

/// Issue 17 items 3 and 5 against Unbound: `+cdflag` reaches the upstream
/// with CD set (counted by an nft rule on the DNS header's CD bit in the
/// ISP namespace), Unbound's AA (it is authoritative for `test.`) is not
/// passed on, and a 4096-byte EDNS client gets `big.test` (about 1.6 KB)
/// truncated at 1232 bytes over UDP. Each assertion failed before the fix.
#[test]
fn dnssec_bits_aa_and_udp_size_against_unbound() {
    let l = topology("dns_bits");
    let (_a, _b) = upstreams_ab(&l);
    let isp = &l.topo.isp;
    // UDP payload byte 3 holds RA Z AD CD RCODE: CD is bit 3 of it, i.e.
    // bit 8 * (8 + 3) + 3 = 91 from the start of the UDP header.
    nft_load(
        isp,
        "table inet dnsbits {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 53 @th,91,1 1 counter comment \"cd53\"
  }
}
",
    );
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let h = &l.topo.host;
    let at = format!("@{LAN_V4}");
    // Unbound itself sets AA for its zone, so clearing it is observable.
    let direct = kdig(isp, &["@2001:db8:53::1", "a.test", "A"]);
    assert!(direct.has_flag("aa"), "{direct:?}");
    assert_eq!(nft_counter(isp, "dnsbits", "cd53"), 0);

    let r = kdig(h, &[&at, "+cdflag", "a.test", "A"]);
    assert_eq!(r.answer_data("A"), vec![TEST_A.to_string()], "{r:?}");
    assert!(r.has_flag("cd"), "{r:?}");
    assert!(!r.has_flag("aa"), "AA from upstream passed on: {r:?}");
    assert!(
        nft_counter(isp, "dnsbits", "cd53") >= 1,
        "CD query did not reach the upstream with CD"
    );
    // CD=0 is cached apart from CD=1, and AA stays clear from the cache.
    let r = kdig(h, &[&at, "a.test", "A"]);
    assert!(!r.has_flag("aa") && !r.has_flag("cd"), "{r:?}");
    let r = kdig(h, &[&at, "a.test", "A"]);
    assert!(!r.has_flag("aa"), "AA from the cache: {r:?}");

    // A client offering 4096 still gets at most 1232 bytes over UDP.
    let r = kdig(h, &[&at, "+bufsize=4096", "+ignore", "big.test", "TXT"]);
    assert!(r.has_flag("tc"), "{r:?}");
    let size = r.received_bytes.unwrap();
    assert!(size <= 1232, "{size} bytes over UDP");
    let r = kdig(h, &[&at, "+bufsize=4096", "+ignore", "big.test", "TXT"]);
    assert!(r.has_flag("tc") && r.received_bytes <= Some(1232), "{r:?}");
    let r = kdig(h, &[&at, "+tcp", "big.test", "TXT"]);
    assert_eq!(r.answers[0].data.matches('"').count(), 2 * BIG_TXT_STRINGS);
}

/// Runs `drill` (ldns, an independent DNS client) on `ns`; returns the
/// rcode and the SOA records of the authority section as
/// `(owner, ttl, rdata)`.
fn drill_soa(
    ns: &Netns,
    server: &str,
    name: &str,
    qtype: &str,
) -> (String, Vec<(String, u32, String)>) {
    let out = ns
        .exec_timeout(
            &["drill", &format!("@{server}"), name, qtype],
            Duration::from_secs(10),
        )
        .unwrap();
    let rcode = out
        .stdout
        .lines()
        .find_map(|l| l.split("rcode: ").nth(1))
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("drill gave no header: {out:?}"))
        .to_string();
    let authority = out
        .stdout
        .split(";; AUTHORITY SECTION:")
        .nth(1)
        .unwrap_or("")
        .split(";; ADDITIONAL SECTION:")
        .next()
        .unwrap_or("");
    let soa = authority
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [owner, ttl, "IN", "SOA", rest @ ..] => {
                    Some((owner.to_string(), ttl.parse().ok()?, rest.join(" ")))
                }
                _ => None,
            }
        })
        .collect();
    (rcode, soa)
}

/// RFC 2308: a negative answer for a name the router answers itself
/// (under the local domain, or in private reverse space) carries the
/// zone's SOA, whose TTL and MINIMUM say how long a resolver may keep the
/// answer. Read with `drill`. No upstream is needed: none of these leave
/// the router.
#[test]
fn local_negative_answers_carry_an_soa_that_drill_reads() {
    let l = topology("dns_soa");
    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let h = &l.topo.host;
    let lan_soa = (
        "lan.".to_string(),
        60,
        "lan. nobody.invalid. 1 3600 1200 604800 60".to_string(),
    );
    assert_eq!(
        drill_soa(h, LAN_V4, "ghost.lan", "A"),
        ("NXDOMAIN".to_string(), vec![lan_soa.clone()])
    );
    // NODATA: nas.lan has an A record only.
    assert_eq!(
        drill_soa(h, LAN_V6, "nas.lan", "AAAA"),
        ("NOERROR".to_string(), vec![lan_soa])
    );
    let (rcode, soa) = drill_soa(h, LAN_V4, "99.1.168.192.in-addr.arpa", "PTR");
    assert_eq!(rcode, "NXDOMAIN");
    assert_eq!(soa.len(), 1, "{soa:?}");
    assert_eq!(soa[0].0, "168.192.in-addr.arpa.");
}

/// Starts Unbound in `ns` with `config` (written under `stem`); returns
/// once it listens on UDP port 53 at `addr`.
fn start_unbound_with(ns: &Netns, stem: &str, config: &str, addr: IpAddr) -> Process {
    let conf = ns.unique_path(stem, "conf");
    std::fs::write(&conf, config).unwrap();
    let check = ns
        .exec(&["unbound-checkconf", &conf.display().to_string()])
        .unwrap();
    assert!(check.success(), "{}{}", check.stdout, check.stderr);
    let mut cmd = Command::new("unbound");
    cmd.arg("-d").arg("-c").arg(&conf);
    let p = ns.spawn(stem, cmd).unwrap();
    ns.wait_for_udp_listen(Some(addr), 53, Duration::from_secs(10))
        .unwrap();
    p
}

/// unbound.conf lines every lab instance shares.
fn unbound_common(addr: IpAddr, dir: &str, modules: &str) -> String {
    format!(
        "server:\n  interface: {addr}\n  port: 53\n  do-daemonize: no\n  use-syslog: no\n  \
         logfile: \"\"\n  verbosity: 1\n  chroot: \"\"\n  username: \"\"\n  directory: \"{dir}\"\n  \
         pidfile: \"\"\n  num-threads: 1\n  module-config: \"{modules}\"\n  \
         access-control: ::/0 allow\n  access-control: 0.0.0.0/0 allow\n"
    )
}

/// Issue 17 item 3 against a validating resolver: Unbound on the ISP side
/// validates `signed.`, a zone the test signs with ldns-signzone and serves
/// from a second, authoritative Unbound; the validator trusts the zone's
/// key. One record was altered after signing, so it is bogus. Through the
/// forwarder: the bogus name is SERVFAIL, with CD the client gets the
/// bogus data (the forwarder passes CD upstream); the good name comes back
/// with AD for a DO query and for an AD query without DO (RFC 6840 5.7).
#[test]
fn validating_unbound_sees_cd_and_gives_ad() {
    let l = topology("dns_dnssec");
    let isp = &l.topo.isp;
    let dir = isp.lab_dir().join("signed-zone");
    std::fs::create_dir_all(&dir).unwrap();
    let run = |argv: &[&str]| {
        let out = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{argv:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    std::fs::write(
        dir.join("signed.zone"),
        format!(
            "$ORIGIN signed.\n$TTL 300\n@ IN SOA ns.signed. hostmaster.signed. 1 3600 600 86400 60\n\
             @ IN NS ns.signed.\nns IN AAAA {DNS_B}\ngood IN A 192.0.2.10\nbad IN A 192.0.2.66\n"
        ),
    )
    .unwrap();
    let key = run(&["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "signed"]);
    let key = key.trim();
    run(&["ldns-signzone", "signed.zone", key]);
    // Alter the bogus record after signing: its RRSIG no longer matches.
    let signed = std::fs::read_to_string(dir.join("signed.zone.signed")).unwrap();
    assert!(signed.contains("192.0.2.66"), "{signed}");
    std::fs::write(
        dir.join("signed.zone.signed"),
        signed.replace("192.0.2.66", "192.0.2.99"),
    )
    .unwrap();
    let d = dir.display().to_string();
    let auth = format!(
        "{}auth-zone:\n  name: \"signed.\"\n  zonefile: \"{d}/signed.zone.signed\"\n  \
         for-downstream: yes\n  for-upstream: no\nremote-control:\n  control-enable: no\n",
        unbound_common(IpAddr::V6(DNS_B), &d, "iterator")
    );
    let _auth = start_unbound_with(isp, "unbound-auth", &auth, IpAddr::V6(DNS_B));
    let validator = format!(
        "{}  trust-anchor-file: \"{d}/{key}.key\"\n  val-log-level: 2\n  \
         do-not-query-localhost: no\nstub-zone:\n  name: \"signed.\"\n  stub-addr: {DNS_B}\n\
         remote-control:\n  control-enable: no\n",
        unbound_common(IpAddr::V6(DNS_A), &d, "validator iterator")
    );
    let _validator = start_unbound_with(isp, "unbound-validator", &validator, IpAddr::V6(DNS_A));
    // The validator itself: good is secure, bad is bogus.
    let direct = kdig(isp, &["@2001:db8:53::1", "+dnssec", "good.signed", "A"]);
    assert!(
        direct.has_flag("ad"),
        "the validator does not validate: {direct:?}"
    );
    assert_eq!(
        kdig(isp, &["@2001:db8:53::1", "bad.signed", "A"]).status,
        "SERVFAIL"
    );

    let _dns = start_forwarder(&l, &["2001:db8:53::1"]);
    let h = &l.topo.host;
    let at = format!("@{LAN_V4}");
    let r = kdig(h, &[&at, "bad.signed", "A"]);
    assert_eq!(r.status, "SERVFAIL", "{r:?}");
    let r = kdig(h, &[&at, "+cdflag", "bad.signed", "A"]);
    assert_eq!(r.status, "NOERROR", "{r:?}");
    assert_eq!(r.answer_data("A"), vec!["192.0.2.99"], "{r:?}");
    assert!(r.has_flag("cd"), "{r:?}");
    let r = kdig(h, &[&at, "+dnssec", "good.signed", "A"]);
    assert_eq!(r.answer_data("A"), vec!["192.0.2.10"], "{r:?}");
    assert!(r.has_flag("ad"), "DO query: {r:?}");
    let r = kdig(h, &[&at, "+adflag", "+nodnssec", "good.signed", "A"]);
    assert!(r.has_flag("ad"), "AD query without DO: {r:?}");
    let r = kdig(h, &[&at, "+noadflag", "+nodnssec", "good.signed", "A"]);
    assert!(!r.has_flag("ad"), "neither DO nor AD asked: {r:?}");
}
