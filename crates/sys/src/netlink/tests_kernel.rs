//! Tests against the real kernel, each in its own network namespace.
//!
//! Setup uses `ip -n <ns>` (the tool engineers trust) and every check reads
//! back through our code, cross-checked against `ip -j` where it matters.
//! Needs root (CAP_NET_ADMIN) and the veth driver.

use super::*;
use crate::sysctl;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A named network namespace, deleted on drop.
pub(crate) struct TestNs {
    pub(crate) name: String,
}

impl TestNs {
    pub(crate) fn new() -> TestNs {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "cpe-nl-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = TestNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0");
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
        ns
    }

    pub(crate) fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "-n", &self.name];
        full.extend_from_slice(args);
        sh(&full)
    }

    fn sysctl(&self, key: &str, value: &str) {
        sh(&[
            "ip",
            "netns",
            "exec",
            &self.name,
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ]);
    }

    /// A veth pair `a`/`b` with fixed MACs.
    fn veth(&self, a: &str, b: &str) {
        self.ip(&[
            "link",
            "add",
            a,
            "address",
            "02:00:00:00:00:01",
            "type",
            "veth",
            "peer",
            "name",
            b,
            "address",
            "02:00:00:00:00:02",
        ]);
    }

    /// Runs `f` on a thread that has entered this namespace.
    pub(crate) fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = File::open(&path).expect("open netns");
            // SAFETY: setns on a valid namespace fd affects only this thread.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("namespace thread panicked")
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub(crate) fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("ip -j output")
}

#[test]
fn link_lookup_up_mtu_and_carrier_match_the_kernel() {
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    let ipj = json(&ns.ip(&["-j", "link", "show", "wan0"]));
    let kernel_index = ipj[0]["ifindex"].as_u64().unwrap() as u32;

    let (before, after, peer_up, all) = ns.run(|| {
        let mut nl = Netlink::open().unwrap();
        let before = nl.link_by_name("wan0").unwrap().unwrap();
        nl.set_link_up(before.index, true).unwrap();
        nl.set_link_mtu(before.index, 1454).unwrap();
        let after = nl.link_by_index(before.index).unwrap().unwrap();
        let peer = nl.link_by_name("isp0").unwrap().unwrap();
        nl.set_link_up(peer.index, true).unwrap();
        let peer_up = nl.link_by_name("wan0").unwrap().unwrap();
        (before, after, peer_up, nl.links().unwrap())
    });
    assert_eq!(before.index, kernel_index);
    assert_eq!(before.name, "wan0");
    assert_eq!(before.mac_text(), "02:00:00:00:00:01");
    assert_eq!(before.mtu, Some(1500));
    assert!(!before.flags.up());
    assert!(!before.has_carrier());

    assert!(after.flags.up());
    assert_eq!(after.mtu, Some(1454));
    // Peer still down: no carrier on our side.
    assert!(!after.has_carrier());
    assert_eq!(after.operstate, OperState::LowerLayerDown);

    assert!(peer_up.has_carrier());
    assert!(peer_up.flags.lower_up());
    // The kernel's own view agrees.
    let ipj = json(&ns.ip(&["-j", "link", "show", "wan0"]));
    assert_eq!(ipj[0]["mtu"], 1454);
    assert!(
        ipj[0]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "LOWER_UP")
    );

    let names: Vec<_> = all.iter().map(|l| l.name.as_str()).collect();
    assert!(names.contains(&"lo") && names.contains(&"wan0") && names.contains(&"isp0"));
}

#[test]
fn missing_link_is_none_and_bad_index_is_an_error_with_context() {
    let ns = TestNs::new();
    let (by_name, by_index, set_err) = ns.run(|| {
        let mut nl = Netlink::open().unwrap();
        (
            nl.link_by_name("nosuch0").unwrap(),
            nl.link_by_index(9999).unwrap(),
            nl.set_link_up(9999, true).unwrap_err(),
        )
    });
    assert!(by_name.is_none());
    assert!(by_index.is_none());
    assert_eq!(kernel_errno(&set_err), Some(libc::ENODEV));
    assert!(
        set_err.to_string().contains("set link #9999 up"),
        "{set_err}"
    );
}

#[test]
fn addresses_add_replace_delete_with_lifetimes_and_flags() {
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    ns.ip(&["link", "set", "wan0", "up"]);
    ns.ip(&["link", "set", "isp0", "up"]);
    let (dump1, dump2, dump3, dup) = ns.run(|| {
        let mut nl = Netlink::open().unwrap();
        let idx = nl.link_by_name("wan0").unwrap().unwrap().index;
        let mut a = Address::new(idx, "2001:db8:0:1::1/64".parse().unwrap());
        a.flags = AddrFlags(AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE);
        a.lifetimes = Some(Lifetimes {
            preferred: 600,
            valid: 1200,
        });
        nl.add_address(&a).unwrap();
        let dup = nl.add_address(&a).unwrap_err();
        let mut v4 = Address::new(idx, "192.0.2.10/24".parse().unwrap());
        v4.lifetimes = Some(Lifetimes::FOREVER);
        nl.add_address(&v4).unwrap();
        let dump1 = nl.addresses(Family::Any).unwrap();
        a.lifetimes = Some(Lifetimes {
            preferred: 0,
            valid: 300,
        });
        nl.replace_address(&a).unwrap();
        let dump2 = nl.addresses(Family::V6).unwrap();
        nl.del_address(&a).unwrap();
        nl.del_address(&v4).unwrap();
        let dump3 = nl.addresses(Family::Any).unwrap();
        (dump1, dump2, dump3, dup)
    });
    assert_eq!(kernel_errno(&dup), Some(libc::EEXIST));

    let find = |d: &[Address], s: &str| d.iter().find(|a| a.net.to_string() == s).cloned();
    let g = find(&dump1, "2001:db8:0:1::1/64").expect("v6 added");
    assert!(
        g.flags.has(AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE),
        "{}",
        g.flags
    );
    assert!(!g.flags.tentative());
    assert_eq!(g.scope, Scope::UNIVERSE);
    let lt = g.lifetimes.unwrap();
    assert!(
        (598..=600).contains(&lt.preferred) && (1198..=1200).contains(&lt.valid),
        "{lt:?}"
    );
    let v4 = find(&dump1, "192.0.2.10/24").expect("v4 added");
    assert_eq!(v4.lifetimes.unwrap().valid, u32::MAX);
    assert!(v4.flags.has(AddrFlags::PERMANENT));
    // Link-local from the fixed MAC, scope link.
    let ll = find(&dump1, "fe80::ff:fe00:1/64").expect("link-local");
    assert_eq!(ll.scope, Scope::LINK);

    let g2 = find(&dump2, "2001:db8:0:1::1/64").unwrap();
    assert!(
        g2.flags.deprecated(),
        "preferred 0 deprecates: {}",
        g2.flags
    );
    assert!(dump2.iter().all(|a| a.net.addr().is_ipv6()));

    assert!(find(&dump3, "2001:db8:0:1::1/64").is_none());
    assert!(find(&dump3, "192.0.2.10/24").is_none());
    let shown = ns.ip(&["-j", "addr", "show", "dev", "wan0"]);
    assert!(
        !shown.contains("2001:db8:0:1::1") && !shown.contains("192.0.2.10"),
        "{shown}"
    );
}

#[test]
fn tentative_address_is_reported_while_dad_runs() {
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    ns.sysctl("net.ipv6.conf.wan0.accept_dad", "1");
    ns.sysctl("net.ipv6.conf.wan0.dad_transmits", "1");
    ns.ip(&["link", "set", "isp0", "up"]);
    ns.ip(&["link", "set", "wan0", "up"]);
    ns.ip(&["addr", "add", "2001:db8::5/64", "dev", "wan0"]);
    let dump = ns.run(|| Netlink::open().unwrap().addresses(Family::V6).unwrap());
    let a = dump
        .iter()
        .find(|a| a.net.addr() == "2001:db8::5".parse::<IpAddr>().unwrap())
        .unwrap();
    assert!(a.flags.tentative(), "{}", a.flags);
}

#[test]
fn routes_unreachable_gateway_and_errors() {
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    ns.ip(&["link", "set", "wan0", "up"]);
    ns.ip(&["link", "set", "isp0", "up"]);
    ns.ip(&["addr", "add", "192.0.2.10/24", "dev", "wan0"]);
    let (dump, dup, v4) = ns.run(|| {
        let mut nl = Netlink::open().unwrap();
        let idx = nl.link_by_name("wan0").unwrap().unwrap().index;
        let unreach = Route::unreachable("2001:db8:1::/56".parse().unwrap());
        nl.add_route(&unreach).unwrap();
        let dup = nl.add_route(&unreach).unwrap_err();
        nl.replace_route(&unreach).unwrap();
        let mut via = Route::unicast(
            "2001:db8:2::/48".parse().unwrap(),
            Some("fe80::1".parse().unwrap()),
            Some(idx),
        );
        via.metric = Some(512);
        nl.add_route(&via).unwrap();
        let default4 = Route::unicast(
            "0.0.0.0/0".parse().unwrap(),
            Some("192.0.2.1".parse().unwrap()),
            Some(idx),
        );
        nl.add_route(&default4).unwrap();
        let dump = nl.routes(Family::V6).unwrap();
        let v4 = nl.routes(Family::V4).unwrap();
        nl.del_route(&unreach).unwrap();
        (dump, dup, v4)
    });
    assert_eq!(kernel_errno(&dup), Some(libc::EEXIST));
    assert!(
        dup.to_string()
            .contains("add route 2001:db8:1::/56 unreachable"),
        "{dup}"
    );

    let u = dump
        .iter()
        .find(|r| r.dst.to_string() == "2001:db8:1::/56")
        .expect("unreachable route");
    assert_eq!(u.kind, RouteType::UNREACHABLE);
    assert_eq!(u.protocol, RouteProtocol::STATIC);
    assert_eq!(u.table, 254);
    let v = dump
        .iter()
        .find(|r| r.dst.to_string() == "2001:db8:2::/48")
        .unwrap();
    assert_eq!(v.gateway, Some("fe80::1".parse().unwrap()));
    assert_eq!(v.metric, Some(512));
    assert_eq!(v.kind, RouteType::UNICAST);
    let d4 = v4
        .iter()
        .find(|r| r.is_default() && r.table == 254)
        .expect("v4 default");
    assert_eq!(d4.gateway, Some("192.0.2.1".parse().unwrap()));
    // Kernel prefix route of the v4 address.
    assert!(v4.iter().any(|r| r.dst.to_string() == "192.0.2.0/24"
        && r.protocol == RouteProtocol::KERNEL
        && r.scope == Scope::LINK));
    // Deleted route is gone as iproute2 sees it.
    let shown = ns.ip(&["-6", "route", "show", "type", "unreachable"]);
    assert!(!shown.contains("2001:db8:1::/56"), "{shown}");
}

/// Waits (at most 3 s) for an event matching `pred`; returns every event seen.
async fn wait_for(mon: &mut Monitor, pred: impl Fn(&Event) -> bool) -> (bool, Vec<Event>) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut seen = Vec::new();
    while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, mon.next()).await {
        let hit = pred(&e);
        seen.push(e);
        if hit {
            return (true, seen);
        }
    }
    (false, seen)
}

#[test]
fn monitor_reports_link_address_and_route_changes() {
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    ns.ip(&["link", "set", "isp0", "up"]);
    let (steps, malformed) = ns.run(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut mon = Monitor::open().unwrap();
            let mut nl = Netlink::open().unwrap();
            let idx = nl.link_by_name("wan0").unwrap().unwrap().index;
            let mut steps = Vec::new();

            nl.set_link_up(idx, true).unwrap();
            steps.push(
                wait_for(&mut mon, |e| {
                    matches!(e, Event::NewLink(l) if l.index == idx && l.flags.up() && l.has_carrier())
                })
                .await,
            );
            // IPv6 announces an address from its DAD worker, even with
            // NODAD, so the event may come a moment after the ack.
            let mut a = Address::new(idx, "2001:db8::7/64".parse().unwrap());
            a.flags = AddrFlags(AddrFlags::NODAD);
            nl.add_address(&a).unwrap();
            steps.push(
                wait_for(&mut mon, |e| {
                    matches!(e, Event::NewAddress(x) if x.net == a.net && x.index == idx)
                })
                .await,
            );
            let unreachable = Route::unreachable("2001:db8:9::/56".parse().unwrap());
            nl.add_route(&unreachable).unwrap();
            steps.push(
                wait_for(&mut mon, |e| {
                    matches!(e, Event::NewRoute(r) if r.kind == RouteType::UNREACHABLE && r.dst == unreachable.dst)
                })
                .await,
            );
            nl.del_address(&a).unwrap();
            steps.push(
                wait_for(&mut mon, |e| matches!(e, Event::DelAddress(x) if x.net == a.net)).await,
            );
            nl.set_link_up(idx, false).unwrap();
            steps.push(
                wait_for(&mut mon, |e| {
                    matches!(e, Event::NewLink(l) if l.index == idx && !l.flags.up())
                })
                .await,
            );
            // try_next takes what is already queued without waiting, and
            // says so when nothing is.
            let r = Route::unreachable("2001:db8:a::/56".parse().unwrap());
            nl.add_route(&r).unwrap();
            let mut queued = Vec::new();
            for _ in 0..100 {
                match mon.try_next().unwrap() {
                    Some(e) => queued.push(e),
                    None if queued.iter().any(|e| matches!(e, Event::NewRoute(x) if x.dst == r.dst)) => break,
                    None => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                }
            }
            let seen = queued
                .iter()
                .any(|e| matches!(e, Event::NewRoute(x) if x.dst == r.dst));
            steps.push((seen, queued));
            assert!(mon.try_next().unwrap().is_none());
            (steps, mon.malformed())
        })
    });
    assert_eq!(malformed, 0);
    for (i, (hit, seen)) in steps.iter().enumerate() {
        assert!(hit, "step {i}: expected event not seen; got {seen:#?}");
    }
}

#[test]
fn sysctl_writes_in_the_thread_namespace_and_names_the_key_on_error() {
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    let (changed, again, err) = ns.run(|| {
        let key = sysctl::SysctlKey::ipv6_conf("wan0", "accept_ra").unwrap();
        let changed = sysctl::ensure(&key, "2").unwrap();
        let again = sysctl::ensure(&key, "2").unwrap();
        let missing = sysctl::SysctlKey::ipv6_conf("nosuch0", "accept_ra").unwrap();
        (changed, again, sysctl::write(&missing, "2").unwrap_err())
    });
    assert!(changed);
    assert!(!again);
    let seen = sh(&[
        "ip",
        "netns",
        "exec",
        &ns.name,
        "sysctl",
        "-n",
        "net.ipv6.conf.wan0.accept_ra",
    ]);
    assert_eq!(seen.trim(), "2");
    assert!(
        err.to_string()
            .starts_with("sysctl net.ipv6.conf.nosuch0.accept_ra=2:"),
        "{err}"
    );
    assert!(sysctl::SysctlKey::ipv6_conf("../x", "y").is_err());
    assert_eq!(
        sysctl::SysctlKey::ipv4_conf("eth0.10", "forwarding")
            .unwrap()
            .to_string(),
        "net/ipv4/conf/eth0.10/forwarding"
    );
}

/// Writes raw kernel dump datagrams into `$CPE_NETLINK_CAPTURE_DIR` (for the
/// fuzz corpus). Does nothing when the variable is unset.
#[test]
fn capture_kernel_dumps_for_the_fuzz_corpus() {
    let Some(dir) = std::env::var_os("CPE_NETLINK_CAPTURE_DIR") else {
        return;
    };
    let ns = TestNs::new();
    ns.veth("wan0", "isp0");
    ns.ip(&["link", "set", "wan0", "up"]);
    ns.ip(&["link", "set", "isp0", "up"]);
    ns.ip(&["addr", "add", "192.0.2.10/24", "dev", "wan0"]);
    ns.ip(&[
        "addr",
        "add",
        "2001:db8::10/64",
        "dev",
        "wan0",
        "valid_lft",
        "300",
        "preferred_lft",
        "100",
    ]);
    ns.ip(&["route", "add", "unreachable", "2001:db8:1::/56"]);
    ns.ip(&[
        "-6", "route", "add", "default", "via", "fe80::1", "dev", "wan0", "expires", "1800",
    ]);
    ns.ip(&["route", "add", "default", "via", "192.0.2.1"]);
    let dumps = ns.run(|| {
        let fd = socket::open_socket(false).unwrap();
        let reqs = [
            ("link", link::dump_request()),
            ("addr", addr::dump_request(consts::AF_UNSPEC)),
            ("route6", route::dump_request(consts::AF_INET6)),
            ("route4", route::dump_request(consts::AF_INET)),
        ];
        let mut out = Vec::new();
        for (name, req) in reqs {
            let bytes = req.finish(1);
            // SAFETY: valid buffer; unconnected netlink send goes to the kernel.
            let n = unsafe { libc::send(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
            assert!(n > 0);
            let mut i = 0;
            loop {
                let mut buf = vec![0u8; socket::RECV_BUF];
                let n = socket::recv_from_kernel(&fd, &mut buf).unwrap().unwrap();
                buf.truncate(n);
                let done = parse_datagram(&buf)
                    .iter()
                    .any(|m| matches!(m, Ok((_, Message::Done))));
                out.push((format!("{name}-{i}"), buf));
                i += 1;
                if done {
                    break;
                }
            }
        }
        out
    });
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in dumps {
        assert!(parse_datagram(&bytes).iter().all(|m| m.is_ok()), "{name}");
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}
