//! Proves the lab against the real peers: topology and cleanup (also after a
//! panic and after a crashed run), ISP RAs learned by the router's kernel,
//! Kea prefix delegation and renumbering, Unbound's test zone with TC.
//!
//! Needs root and the packages of `tools/install-lab-deps`. Set
//! `CPE_LAB_LOG=debug` to see what the lab does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::{IpAddr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use cpe_lab::peers::unbound::{BIG_TXT_STRING_LEN, BIG_TXT_STRINGS, NXDOMAIN_NAME, TEST_AAAA};
use cpe_lab::plan::*;
use cpe_lab::{
    Dad, Dhclient, DhclientOptions, Family, KeaOptions, KeaReservation, Lab, PdPool, RadvdOptions,
    TopologyOptions, UnboundOptions, pid_alive,
};

fn init_log() {
    let level =
        std::env::var("CPE_LAB_LOG").map_or(log::LevelFilter::Warn, |w| cpe_log::parse_level(&w));
    cpe_log::init("lab-test", level);
}

/// Namespaces that currently exist, from `ip netns list`.
fn netns_list() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn sleep_cmd(secs: &str) -> Command {
    let mut c = Command::new("sleep");
    c.arg(secs);
    c
}

/// What a test must find gone after its lab is dropped.
struct Footprint {
    namespaces: Vec<String>,
    pids: Vec<u32>,
    dir: PathBuf,
}

impl Footprint {
    fn of(lab: &Lab) -> Footprint {
        Footprint {
            namespaces: lab.namespaces(),
            pids: lab.pids(),
            dir: lab.dir().to_path_buf(),
        }
    }

    fn assert_gone(&self) {
        let now = netns_list();
        for ns in &self.namespaces {
            assert!(!now.contains(ns), "namespace {ns} survived: {now:?}");
        }
        for &pid in &self.pids {
            assert!(!pid_alive(pid), "pid {pid} ({}) survived", comm(pid));
        }
    }
}

#[test]
fn topology_up_and_down_leaves_nothing_behind() {
    init_log();
    let lab = Lab::new("teardown").unwrap();
    let t = Instant::now();
    let topo = lab
        .ipoe(&TopologyOptions {
            second_host: true,
            ..TopologyOptions::default()
        })
        .unwrap();
    let built_ms = t.elapsed().as_millis();

    // The builder's sysctls and links, as the kernel sees them.
    assert_eq!(
        topo.router
            .sysctl_get("net.ipv6.conf.all.forwarding")
            .unwrap(),
        "1"
    );
    assert_eq!(
        topo.router
            .sysctl_get("net.ipv6.conf.wan0.accept_ra")
            .unwrap(),
        "2"
    );
    assert_eq!(
        topo.router
            .sysctl_get("net.ipv6.conf.lan0.disable_ipv6")
            .unwrap(),
        "1"
    );
    assert_eq!(
        topo.router
            .sysctl_get("net.ipv6.conf.lan1.disable_ipv6")
            .unwrap(),
        "1"
    );
    assert_eq!(
        topo.host
            .sysctl_get("net.ipv6.conf.eth0.accept_dad")
            .unwrap(),
        "0"
    );
    assert_eq!(
        topo.router.link_local(WAN_IF).unwrap(),
        Some(WAN_LINK_LOCAL)
    );
    let host2 = topo.host2.as_ref().unwrap();
    host2
        .wait_for_address(HOST_IF, Duration::from_secs(2), |a| {
            a.addr() == IpAddr::V6(HOST2_LINK_LOCAL)
        })
        .unwrap();
    // No global address on the router: that is its daemons' job.
    for ifname in [WAN_IF, BRIDGE_IF] {
        let globals: Vec<_> = topo
            .router
            .addresses(ifname)
            .unwrap()
            .into_iter()
            .filter(|a| a.scope == "global")
            .collect();
        assert!(globals.is_empty(), "{ifname}: {globals:?}");
    }
    // The LAN is one layer-2 segment through br0: host reaches host2 and br0.
    for target in [HOST2_LINK_LOCAL, BRIDGE_LINK_LOCAL] {
        let dst = format!("{target}%{HOST_IF}");
        topo.host.exec_ok(&["ping", "-c1", "-W2", &dst]).unwrap();
    }
    // Errors name the command and carry its stderr.
    let err = topo
        .isp
        .exec_ok(&["ip", "link", "show", "nosuch0"])
        .unwrap_err();
    assert!(err.message().contains("ip link show nosuch0"), "{err}");
    assert!(err.message().contains("does not exist"), "{err}");
    // Rust code can run inside a namespace.
    let inet6 = topo
        .router
        .run(|| std::fs::read_to_string("/proc/thread-self/net/if_inet6").unwrap())
        .unwrap();
    assert!(inet6.contains("wan0") && !inet6.contains("isp0"), "{inet6}");

    // Spawned processes are the programs themselves, inside the namespace.
    let sleeper = topo.host.spawn("sleeper", sleep_cmd("300")).unwrap();
    let radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    assert_eq!(comm(sleeper.pid()), "sleep");
    assert_eq!(comm(radvd.process.pid()), "radvd");
    let ns_ino = std::fs::metadata(format!("/run/netns/{}", topo.host.name()))
        .unwrap()
        .ino();
    let proc_ino = std::fs::metadata(format!("/proc/{}/ns/net", sleeper.pid()))
        .unwrap()
        .ino();
    assert_eq!(ns_ino, proc_ino);
    // radvd forks a privilege-separation helper: it is in the namespace too
    // and must die with radvd although the lab never saw its PID.
    cpe_lab::wait_until("radvd's helper", Duration::from_secs(3), || {
        lab.pids().len() >= 3
    })
    .unwrap();
    let footprint = Footprint::of(&lab);
    assert!(footprint.pids.contains(&sleeper.pid()));
    assert_eq!(footprint.namespaces.len(), 4);

    // One-shot processes: exit status and output are there to read.
    let mut echo = Command::new("sh");
    // /sys is the namespace's own (as with `ip netns exec`).
    echo.args(["-c", "cat /sys/class/net/eth0/address; exit 3"]);
    let once = topo.host.spawn("once", echo).unwrap();
    let status = once.wait_exit(Duration::from_secs(5)).unwrap();
    assert_eq!(status.code(), Some(3));
    assert_eq!(once.log_text(), format!("{HOST_MAC}\n"));
    assert!(!once.is_running());
    // Signals reach the process itself.
    let victim = topo.host.spawn("victim", sleep_cmd("300")).unwrap();
    assert!(victim.kill(libc::SIGUSR1));
    let status = victim.wait_exit(Duration::from_secs(5)).unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGUSR1)
    );
    assert!(!victim.kill(libc::SIGTERM), "signalled a reaped PID");

    // A process handle stops its process when dropped.
    let short = topo.host.spawn("short", sleep_cmd("300")).unwrap();
    let short_pid = short.pid();
    drop(short);
    assert!(!pid_alive(short_pid));

    let t = Instant::now();
    drop(lab);
    let teardown_ms = t.elapsed().as_millis();
    footprint.assert_gone();
    assert!(!footprint.dir.exists(), "temp dir survived");
    assert!(!sleeper.is_running() && !radvd.process.is_running());
    eprintln!("topology built in {built_ms} ms, torn down in {teardown_ms} ms");
}

#[test]
fn cleanup_also_after_a_panic() {
    init_log();
    let mut seen: Option<Footprint> = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let lab = Lab::new("panic").unwrap();
        let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
        let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
        let _sleeper = topo.router.spawn("sleeper", sleep_cmd("300")).unwrap();
        cpe_lab::wait_until("radvd's helper", Duration::from_secs(3), || {
            lab.pids().len() >= 3
        })
        .unwrap();
        seen = Some(Footprint::of(&lab));
        panic!("deliberate failure inside a lab test");
    }));
    assert!(result.is_err());
    let footprint = seen.unwrap();
    assert!(footprint.pids.len() >= 3);
    footprint.assert_gone();
    // A failed test keeps its logs for the post-mortem, marked so that the
    // sweeper leaves them alone.
    assert!(footprint.dir.join("KEEP").exists());
    assert!(footprint.dir.join("isp-radvd.log").exists());
    std::fs::remove_dir_all(&footprint.dir).unwrap();
}

#[test]
fn new_lab_sweeps_what_a_crashed_run_left() {
    init_log();
    // A PID that no longer exists stands for a test binary that was killed.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let stale = format!("cl{dead_pid}-0-isp");
    assert!(
        Command::new("ip")
            .args(["netns", "add", &stale])
            .status()
            .unwrap()
            .success()
    );
    let mut orphan = Command::new("ip")
        .args(["netns", "exec", &stale, "sleep", "300"])
        .spawn()
        .unwrap();
    let stale_dir = std::env::temp_dir()
        .join("cpe-lab")
        .join(format!("cl{dead_pid}-0-crashed"));
    std::fs::create_dir_all(&stale_dir).unwrap();
    // Logs a failed run kept: swept after a day, not before.
    let root = std::env::temp_dir().join("cpe-lab");
    let kept_fresh = root.join(format!("cl{dead_pid}-1-failed_today"));
    let kept_old = root.join(format!("cl{dead_pid}-2-failed_last_week"));
    for dir in [&kept_fresh, &kept_old] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("KEEP"), b"").unwrap();
    }
    let week_ago = std::time::SystemTime::now() - Duration::from_secs(7 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(kept_old.join("KEEP"))
        .unwrap()
        .set_modified(week_ago)
        .unwrap();
    cpe_lab::wait_until(
        "orphan inside the stale namespace",
        Duration::from_secs(5),
        || comm(orphan.id()) == "sleep",
    )
    .unwrap();

    let lab = Lab::new("sweeper").unwrap();
    assert!(!netns_list().contains(&stale), "stale namespace not swept");
    assert!(
        !pid_alive(orphan.id()),
        "process in the stale namespace not killed"
    );
    assert!(!stale_dir.exists(), "stale temp dir not swept");
    assert!(!kept_old.exists(), "week-old kept dir not swept");
    assert!(kept_fresh.exists(), "fresh kept dir swept");
    std::fs::remove_dir_all(&kept_fresh).unwrap();
    orphan.wait().unwrap();
    // The live lab's own objects are untouched by a second sweep.
    let ns = lab.netns("x").unwrap();
    cpe_lab::sweep_stale();
    assert!(netns_list().contains(&ns.name().to_string()));
}

#[test]
fn isp_radvd_gives_the_router_slaac_and_a_default_route() {
    init_log();
    let lab = Lab::new("radvd").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let t = Instant::now();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let route = topo
        .router
        .wait_for_default_route_v6(Duration::from_secs(5))
        .unwrap();
    let addr = topo
        .router
        .wait_for_global_v6(WAN_IF, Duration::from_secs(5))
        .unwrap();
    let learned_ms = t.elapsed().as_millis();
    assert_eq!(route.gateway, Some(IpAddr::V6(ISP_LINK_LOCAL)));
    assert_eq!(route.dev.as_deref(), Some(WAN_IF));
    assert_eq!(route.protocol.as_deref(), Some("ra"));
    assert_eq!(addr.addr(), IpAddr::V6(WAN_SLAAC_ADDR));
    assert!(addr.dynamic);

    let capture = topo.router.capture(WAN_IF, &["icmp6"]).unwrap();
    let ra = topo.router.rdisc6(WAN_IF).unwrap();
    let wire = capture.stop_and_decode().unwrap();
    assert!(wire.contains("router solicitation"), "{wire}");
    assert!(
        wire.contains("router advertisement") && wire.contains("Flags [managed, other stateful]"),
        "{wire}"
    );
    assert!(capture.pcap_path().exists());
    assert!(ra.managed, "M flag: {ra:?}");
    assert!(ra.other, "O flag: {ra:?}");
    assert_eq!(ra.router_lifetime, 1800);
    assert_eq!(ra.from, Some(ISP_LINK_LOCAL));
    assert_eq!(ra.prefixes.len(), 1);
    assert_eq!(ra.prefixes[0].prefix, ISP_LINK_PREFIX);
    assert!(ra.prefixes[0].autonomous && ra.prefixes[0].on_link);
    // The ISP's RA stays on the WAN link: LAN hosts learn nothing from it.
    assert!(
        topo.host
            .routes(Family::V6)
            .unwrap()
            .iter()
            .all(|r| !r.is_default())
    );
    eprintln!("radvd start -> router has SLAAC + default route: {learned_ms} ms");
}

#[test]
fn slaac_with_dad_on_waits_for_dad() {
    init_log();
    let lab = Lab::new("dad").unwrap();
    let topo = lab
        .ipoe(&TopologyOptions {
            dad: Dad::On,
            ..TopologyOptions::default()
        })
        .unwrap();
    assert_eq!(
        topo.router
            .sysctl_get("net.ipv6.conf.wan0.accept_dad")
            .unwrap(),
        "1"
    );
    let t = Instant::now();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let tentative = topo
        .router
        .wait_for_address(WAN_IF, Duration::from_secs(5), |a| a.scope == "global")
        .unwrap();
    let usable = topo
        .router
        .wait_for_global_v6(WAN_IF, Duration::from_secs(10))
        .unwrap();
    let usable_ms = t.elapsed().as_millis();
    assert_eq!(usable.addr(), IpAddr::V6(WAN_SLAAC_ADDR));
    // With DAD on, the kernel shows the address tentative first (DAD takes
    // about a second per address).
    assert!(tentative.tentative, "{tentative:?}");
    assert!(
        usable_ms >= 500,
        "DAD finished in {usable_ms} ms: was it on?"
    );
    eprintln!("radvd start -> usable SLAAC with DAD: {usable_ms} ms");
}

/// A DUID-LL for a made-up client MAC.
fn client_duid(last: u8) -> Vec<u8> {
    duid_ll([0x02, 0, 0, 0, 0x0c, last])
}

#[test]
fn kea_delegates_prefixes_and_renumbers_on_reload() {
    init_log();
    let lab = Lab::new("kea_pd").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let reserved: ipnet::Ipv6Net = "2001:db8:3000:ab00::/56".parse().unwrap();
    let opts = KeaOptions {
        reservations: vec![KeaReservation {
            duid: client_duid(3),
            prefixes: vec![reserved],
            addresses: vec![],
        }],
        ..KeaOptions::default()
    };
    let kea = topo.start_kea_dhcp6(&opts).unwrap();

    let t = Instant::now();
    let first = Dhclient::start(
        &topo.router,
        &DhclientOptions::pd(WAN_IF, Some(client_duid(1))),
    )
    .unwrap();
    let lease = first.wait_for_lease(Duration::from_secs(10)).unwrap();
    let pd_ms = t.elapsed().as_millis();
    assert_eq!(lease.interface, WAN_IF);
    assert_eq!(lease.prefixes.len(), 1, "{lease:?}");
    let p1 = lease.prefixes[0].prefix;
    assert_eq!(p1.prefix_len(), 56);
    assert!(PD_POOL.contains(&p1), "{p1} not in {PD_POOL}");
    assert_eq!(lease.prefixes[0].valid, Some(4000));
    assert_eq!(lease.dns_servers, vec![DNS_A, DNS_B]);
    assert_eq!(lease.domain_search, vec!["example.test"]);
    // dhclient used the DUID the lab seeded, and Kea recorded it.
    assert_eq!(first.leases().unwrap().default_duid, Some(client_duid(1)));
    let rows = kea.leases().unwrap();
    assert!(
        rows.iter()
            .any(|r| r.is_pd && r.prefix == p1 && r.duid == client_duid(1)),
        "{rows:?}"
    );
    // The lab routes the delegated prefix to the router, as a BNG would.
    topo.route_delegated_prefix(p1).unwrap();
    let route = topo
        .isp
        .wait_for_route(Family::V6, Duration::from_secs(1), |r| {
            r.dst == Some(p1.into())
        })
        .unwrap();
    assert_eq!(route.gateway, Some(IpAddr::V6(WAN_LINK_LOCAL)));
    first.process.stop();

    // The ISP renumbers: new pool, new delegated length.
    let renumbered = KeaOptions {
        pd_pool: Some(PdPool {
            prefix: PD_POOL_RENUMBERED,
            delegated_len: 60,
        }),
        ..opts.clone()
    };
    kea.reload(&renumbered).unwrap();
    let second = Dhclient::start(
        &topo.router,
        &DhclientOptions::pd(WAN_IF, Some(client_duid(2))),
    )
    .unwrap();
    let p2 = second
        .wait_for_prefix(Duration::from_secs(10))
        .unwrap()
        .prefix;
    assert_eq!(p2.prefix_len(), 60);
    assert!(
        PD_POOL_RENUMBERED.contains(&p2),
        "{p2} not in {PD_POOL_RENUMBERED}"
    );
    second.process.stop();

    // A reservation by DUID survives the reload and wins over the pool.
    let third = Dhclient::start(
        &topo.router,
        &DhclientOptions::pd(WAN_IF, Some(client_duid(3))),
    )
    .unwrap();
    assert_eq!(
        third
            .wait_for_prefix(Duration::from_secs(10))
            .unwrap()
            .prefix,
        reserved
    );
    third.process.stop();

    // With rapid commit asked for, Kea answers the Solicit with a Reply.
    let mut fast = DhclientOptions::pd(WAN_IF, Some(client_duid(4)));
    fast.rapid_commit = true;
    let fourth = Dhclient::start(&topo.router, &fast).unwrap();
    fourth.wait_for_prefix(Duration::from_secs(10)).unwrap();
    let log = fourth.process.log_text();
    assert!(log.contains("RCV: Reply"), "{log}");
    assert!(!log.contains("RCV: Advertise"), "{log}");
    assert!(kea.process.is_running());
    eprintln!("dhclient start -> delegated prefix in lease file: {pd_ms} ms");
}

#[test]
fn unbound_serves_the_test_zone_with_tc_over_udp() {
    init_log();
    let lab = Lab::new("unbound").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let a = topo.start_unbound(&UnboundOptions::upstream_a()).unwrap();
    let b = topo.start_unbound(&UnboundOptions::upstream_b()).unwrap();
    // The router reaches the ISP's DNS over its RA-learned default route.
    topo.router
        .wait_for_global_v6(WAN_IF, Duration::from_secs(5))
        .unwrap();
    topo.router
        .wait_for_default_route_v6(Duration::from_secs(5))
        .unwrap();
    let at_a = a.at();
    assert_eq!(at_a, format!("@{DNS_A}"));

    let r = topo
        .router
        .kdig(&[at_a.as_str(), "a.test", "AAAA"])
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, "NOERROR");
    assert!(r[0].has_flag("aa"));
    let aaaa: Vec<Ipv6Addr> = r[0]
        .answer_data("AAAA")
        .iter()
        .map(|d| d.parse().unwrap())
        .collect();
    assert_eq!(aaaa, vec![TEST_AAAA]);

    let r = topo
        .router
        .kdig(&[at_a.as_str(), "cname.test", "AAAA"])
        .unwrap();
    assert_eq!(r[0].answer_data("CNAME"), vec!["a.test."]);
    assert_eq!(r[0].answer_data("AAAA"), vec![TEST_AAAA.to_string()]);

    let r = topo
        .router
        .kdig(&[at_a.as_str(), NXDOMAIN_NAME, "AAAA"])
        .unwrap();
    assert_eq!(r[0].status, "NXDOMAIN");
    assert_eq!(r[0].authority[0].rtype, "SOA");
    assert_eq!(r[0].authority[0].ttl, 60);

    // Over UDP the big TXT is truncated even when the client offers 4096.
    let r = topo
        .router
        .kdig(&[at_a.as_str(), "+ignore", "+bufsize=4096", "big.test", "TXT"])
        .unwrap();
    assert!(r[0].has_flag("tc"), "{:?}", r[0]);
    assert!(r[0].answers.is_empty());
    assert_eq!(r[0].transport.as_deref(), Some("UDP"));
    // Over TCP it comes back whole.
    let r = topo
        .router
        .kdig(&[at_a.as_str(), "+tcp", "big.test", "TXT"])
        .unwrap();
    assert!(!r[0].has_flag("tc"));
    assert_eq!(r[0].transport.as_deref(), Some("TCP"));
    let txt = r[0].answer_data("TXT");
    assert_eq!(txt.len(), 1);
    assert_eq!(txt[0].matches('"').count(), 2 * BIG_TXT_STRINGS);
    assert_eq!(
        txt[0].matches('x').count(),
        BIG_TXT_STRINGS * BIG_TXT_STRING_LEN
    );
    assert!(r[0].received_bytes.unwrap() > 1232);

    // Two instances side by side, told apart by who.test; IPv4 works too.
    for (at, label) in [
        (format!("@{DNS_A}"), "\"a\""),
        (format!("@{DNS_B}"), "\"b\""),
        (format!("@{DNS_B_V4}"), "\"b\""),
    ] {
        let ns = if at.contains('.') {
            &topo.isp
        } else {
            &topo.router
        };
        let r = ns.kdig(&[at.as_str(), "who.test", "TXT"]).unwrap();
        assert_eq!(r[0].answer_data("TXT"), vec![label], "{at}");
    }
    assert!(a.process.is_running() && b.process.is_running());

    // A peer that dies at start-up fails with its own words, at once.
    let t = Instant::now();
    let bad = UnboundOptions::new("bad", vec![IpAddr::V6("2001:db8:dead::1".parse().unwrap())]);
    let err = topo
        .start_unbound(&bad)
        .err()
        .expect("unbound on a foreign address started");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(err.message().contains("exited"), "{err}");
    assert!(err.message().contains("can't bind"), "{err}");
}

/// The stand-in router used as a benchmark baseline: dhcp6c takes a prefix
/// from Kea and numbers br0, radvd announces it on the LAN, dnsmasq forwards
/// the LAN's DNS to Unbound. Proves the anchors (and dhcp6c's private
/// DUID directory) work end to end.
#[test]
fn anchors_make_a_working_stand_in_router() {
    use cpe_lab::{Dhcp6c, Dhcp6cOptions, Dnsmasq, DnsmasqOptions};
    init_log();
    let host_duid = std::path::Path::new("/var/lib/dhcpv6/dhcp6c_duid");
    let host_duid_before = std::fs::read(host_duid).ok();
    let lab = Lab::new("anchors").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let t = Instant::now();
    let isp = topo.start_isp(&cpe_lab::IspOptions::default()).unwrap();
    let isp_ms = t.elapsed().as_millis();
    let kea = isp.kea.as_ref().unwrap();
    assert_eq!(isp.dns.len(), 2);

    let t = Instant::now();
    let dhcp6c = Dhcp6c::start(&topo.router, &Dhcp6cOptions::router()).unwrap();
    let lan_addr = topo
        .router
        .wait_for_global_v6(BRIDGE_IF, Duration::from_secs(10))
        .unwrap();
    let pd_ms = t.elapsed().as_millis();
    let IpAddr::V6(lan_v6) = lan_addr.addr() else {
        panic!("{lan_addr:?}")
    };
    assert!(PD_POOL.contains(&lan_v6), "{lan_v6} not from {PD_POOL}");
    let delegated = kea
        .leases()
        .unwrap()
        .into_iter()
        .find(|l| l.is_pd)
        .unwrap()
        .prefix;
    assert!(delegated.contains(&lan_v6));
    topo.route_delegated_prefix(delegated).unwrap();
    // dhcp6c kept its DUID in the lab, not in the host's /var/lib/dhcpv6.
    assert!(dhcp6c.state_dir.join("dhcp6c_duid").exists());
    assert_eq!(std::fs::read(host_duid).ok(), host_duid_before);

    let lan64 = ipnet::Ipv6Net::new(lan_v6, 64).unwrap().trunc();
    let _lan_ra =
        cpe_lab::Radvd::start(&topo.router, &RadvdOptions::lan(lan64, vec![lan_v6])).unwrap();
    let _dnsmasq = Dnsmasq::start(
        &topo.router,
        &DnsmasqOptions::forwarder(vec![IpAddr::V6(lan_v6)], vec![IpAddr::V6(DNS_A)]),
    )
    .unwrap();
    let host_addr = topo
        .host
        .wait_for_global_v6(HOST_IF, Duration::from_secs(5))
        .unwrap();
    assert!(
        matches!(host_addr.addr(), IpAddr::V6(a) if lan64.contains(&a)),
        "{host_addr:?} not in {lan64}"
    );
    topo.host
        .wait_for_default_route_v6(Duration::from_secs(5))
        .unwrap();
    let ra = topo.host.rdisc6(HOST_IF).unwrap();
    assert!(!ra.managed && ra.other);
    assert_eq!(ra.rdnss, vec![lan_v6]);

    let at = format!("@{lan_v6}");
    let r = topo.host.kdig(&[at.as_str(), "a.test", "AAAA"]).unwrap();
    assert_eq!(r[0].status, "NOERROR");
    assert_eq!(r[0].answer_data("AAAA"), vec![TEST_AAAA.to_string()]);
    // And end to end through the router's forwarding, host to ISP.
    let r = topo
        .host
        .kdig(&[format!("@{DNS_A}").as_str(), "who.test", "TXT"])
        .unwrap();
    assert_eq!(r[0].answer_data("TXT"), vec!["\"a\""]);
    eprintln!("standard ISP (radvd, Kea, 2x Unbound) ready in {isp_ms} ms");
    eprintln!("dhcp6c start -> br0 numbered from the delegated prefix: {pd_ms} ms");
}

/// Opens tap `name` in the calling thread's namespace as a guest NIC would
/// (what QEMU does), signals `ready`, then reads frames until an ICMPv6
/// message of `icmp_type` arrives or `timeout` passes.
fn guest_nic_sees_icmpv6(
    name: &str,
    icmp_type: u8,
    timeout: Duration,
    ready: std::sync::mpsc::Sender<()>,
) -> bool {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let mut tun = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .unwrap();
    // SAFETY: ifreq is plain data; all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads a valid ifreq from a live descriptor.
    let rc = unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETIFF, &mut req) };
    assert_eq!(
        rc,
        0,
        "TUNSETIFF {name}: {}",
        std::io::Error::last_os_error()
    );
    ready.send(()).unwrap();
    let deadline = Instant::now() + timeout;
    let mut frame = [0u8; 2048];
    while Instant::now() < deadline {
        let mut pfd = libc::pollfd {
            fd: tun.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        let n = tun.read(&mut frame).unwrap();
        // Ethernet (14) + IPv6 (40): ethertype 0x86dd, next header 58.
        if n > 54 && frame[12..14] == [0x86, 0xdd] && frame[20] == 58 && frame[54] == icmp_type {
            return true;
        }
    }
    false
}

#[test]
fn guest_router_mode_patches_the_taps_through() {
    use cpe_lab::TopologyOptions;
    init_log();
    let lab = Lab::new("guest").unwrap();
    let topo = lab
        .ipoe(&TopologyOptions {
            guest_router: true,
            ..TopologyOptions::default()
        })
        .unwrap();
    // The namespace is wiring only: no IPv6 of its own on the WAN/LAN side.
    for ifname in [WAN_IF, BRIDGE_IF, WAN_BRIDGE_IF] {
        let addrs = topo.router.addresses(ifname).unwrap();
        assert!(
            addrs.iter().all(|a| a.v6().is_none()),
            "{ifname}: {addrs:?}"
        );
    }
    let links = topo.router.ip(&["-j", "link", "show"]).unwrap().stdout;
    let links: serde_json::Value = serde_json::from_str(&links).unwrap();
    let master = |ifname: &str| {
        links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["ifname"] == ifname)
            .and_then(|l| l["master"].as_str().map(str::to_string))
    };
    assert_eq!(master(GUEST_WAN_TAP).as_deref(), Some(WAN_BRIDGE_IF));
    assert_eq!(master(WAN_IF).as_deref(), Some(WAN_BRIDGE_IF));
    assert_eq!(master(GUEST_LAN_TAP).as_deref(), Some(BRIDGE_IF));

    // A guest on the WAN tap hears the ISP's radvd (its first RA goes out
    // at start-up); a guest on the LAN tap hears the LAN host.
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let wan = s.spawn(|| {
            topo.router
                .run(|| guest_nic_sees_icmpv6(GUEST_WAN_TAP, 134, Duration::from_secs(8), tx))
                .unwrap()
        });
        rx.recv().unwrap();
        let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
        assert!(wan.join().unwrap(), "no RA from the ISP on {GUEST_WAN_TAP}");

        let (tx, rx) = std::sync::mpsc::channel();
        let lan = s.spawn(|| {
            topo.router
                .run(|| guest_nic_sees_icmpv6(GUEST_LAN_TAP, 128, Duration::from_secs(5), tx))
                .unwrap()
        });
        rx.recv().unwrap();
        let dst = format!("ff02::1%{HOST_IF}");
        let _ = topo.host.exec(&["ping", "-c2", "-i0.2", "-W1", &dst]);
        assert!(
            lan.join().unwrap(),
            "no echo request from the host on {GUEST_LAN_TAP}"
        );
    });
}

/// The DHCPv4 probe against a real server: dnsmasq serving the LAN, busybox
/// udhcpc on the host applying the lease.
#[test]
fn udhcpc_takes_a_dhcpv4_lease_from_a_real_server() {
    use cpe_lab::{Dnsmasq, DnsmasqOptions, Udhcpc, UdhcpcOptions};
    use std::net::Ipv4Addr;
    init_log();
    let lab = Lab::new("udhcpc").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let gw = Ipv4Addr::new(192, 168, 1, 1);
    topo.router
        .add_address(BRIDGE_IF, "192.168.1.1/24".parse().unwrap())
        .unwrap();
    let mut dhcp = DnsmasqOptions::forwarder(vec![], vec![]);
    dhcp.port = 0;
    dhcp.extra = vec![
        format!("interface={BRIDGE_IF}"),
        "dhcp-range=192.168.1.100,192.168.1.150,255.255.255.0,1h".into(),
        "dhcp-option=option:dns-server,192.168.1.1".into(),
        "domain=lan".into(),
        // dnsmasq pings an address before offering it (~3 s) unless told not to.
        "no-ping".into(),
    ];
    let _server = Dnsmasq::start(&topo.router, &dhcp).unwrap();

    let t = Instant::now();
    let client = Udhcpc::start(&topo.host, &UdhcpcOptions::host()).unwrap();
    let lease = client.wait_for_lease(Duration::from_secs(10)).unwrap();
    let lease_ms = t.elapsed().as_millis();
    let ip = lease.ip.unwrap();
    assert!(
        (100..=150).contains(&ip.octets()[3]) && ip.octets()[..3] == [192, 168, 1],
        "{lease:?}"
    );
    assert_eq!(lease.event, "bound");
    assert_eq!(lease.prefix_len, Some(24));
    assert_eq!(lease.routers, vec![gw]);
    assert_eq!(lease.dns, vec![gw]);
    assert_eq!(lease.domain.as_deref(), Some("lan"));
    assert_eq!(lease.lease_secs, Some(3600));
    assert_eq!(lease.server_id, Some(gw));
    // The script applied it: address, default route, the gateway answers.
    topo.host
        .wait_for_address(HOST_IF, Duration::from_secs(2), |a| {
            a.addr() == IpAddr::V4(ip)
        })
        .unwrap();
    let route = topo
        .host
        .wait_for_route(Family::V4, Duration::from_secs(2), |r| r.is_default())
        .unwrap();
    assert_eq!(route.gateway, Some(IpAddr::V4(gw)));
    topo.host
        .exec_ok(&["ping", "-c1", "-W2", "192.168.1.1"])
        .unwrap();
    eprintln!("udhcpc start -> DHCPv4 lease applied: {lease_ms} ms");
}

/// Child half of `a_killed_test_binary_takes_its_servers_along`: does
/// nothing in a normal run; re-executed with `CPE_LAB_CRASH_REPORT` it builds
/// a lab, reports what it started, and waits to be killed.
#[test]
fn crash_child() {
    let Some(report) = std::env::var_os("CPE_LAB_CRASH_REPORT") else {
        return;
    };
    let lab = Lab::new("crash_child").unwrap();
    let ns = lab.netns("x").unwrap();
    let sleeper = ns.spawn("sleeper", sleep_cmd("300")).unwrap();
    let tmp = PathBuf::from(&report).with_extension("tmp");
    std::fs::write(&tmp, format!("{} {}", sleeper.pid(), ns.name())).unwrap();
    std::fs::rename(&tmp, &report).unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_test_binary_takes_its_servers_along() {
    init_log();
    let report = std::env::temp_dir().join(format!("cpe-lab-crash-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("CPE_LAB_CRASH_REPORT", &report)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    cpe_lab::wait_for_file(&report, Duration::from_secs(15)).unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::remove_file(&report).unwrap();
    let (pid, ns) = text.split_once(' ').unwrap();
    let pid: u32 = pid.parse().unwrap();
    assert!(pid_alive(pid));

    // SIGKILL: no destructor runs in the child.
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel kills its servers (PR_SET_PDEATHSIG)...
    cpe_lab::wait_until("the orphaned server to die", Duration::from_secs(3), || {
        !pid_alive(pid)
    })
    .unwrap();
    // ...and the next lab sweeps the namespace it left (a lab of another
    // test binary running now may have swept it already).
    let _next = Lab::new("after_crash").unwrap();
    assert!(
        !netns_list().contains(&ns.to_string()),
        "namespace {ns} not swept"
    );
}
