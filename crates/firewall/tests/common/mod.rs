//! Throwaway network namespaces for the kernel tests of this crate.

#![allow(dead_code)] // each test file uses part of it

use std::fs::File;
use std::process::Command;

/// A named network namespace with loopback up and DAD off, deleted on drop.
pub struct Ns(pub String);

impl Ns {
    /// Creates `cpe-fw-<tag>-<pid>-<n>` (`n` counts per process, so tests
    /// running in parallel threads never share a namespace).
    pub fn new(tag: &str) -> Ns {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("cpe-fw-{tag}-{}-{n}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        let ns = Ns(name);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"]);
        ns
    }

    /// Runs a command inside the namespace; panics unless it succeeds.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", &self.0];
        full.extend_from_slice(args);
        sh(&full)
    }

    /// `nft ARGS` inside the namespace (the test oracle).
    pub fn nft(&self, args: &[&str]) -> String {
        let mut full = vec!["nft"];
        full.extend_from_slice(args);
        self.exec(&full)
    }

    /// Runs `f` on a thread that has entered this namespace.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn(f).join().unwrap()
    }

    /// Starts `f` on a thread that has entered this namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.0);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap();
            cpe_sys::process::enter_netns(&file).unwrap();
            f()
        })
    }
}

/// A veth pair `a:an -- b:bn`, both ends up.
pub fn veth(a: &Ns, an: &str, b: &Ns, bn: &str) {
    sh(&[
        "ip", "link", "add", an, "netns", &a.0, "type", "veth", "peer", "name", bn, "netns", &b.0,
    ]);
    a.exec(&["ip", "link", "set", an, "up"]);
    b.exec(&["ip", "link", "set", bn, "up"]);
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Runs a command; panics with its stderr unless it succeeds.
pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `lan:eth0 -- rtr:br0`, `rtr:wan0 -- wan:isp0`, IPv6 and IPv4, routes
/// both ways (the WAN side routes the LAN's IPv4 subnet too, so that the
/// no-firewall mode of the throughput bench works without NAT), forwarding
/// on in `rtr`.
pub fn router_path() -> (Ns, Ns, Ns) {
    let (lan, rtr, wan) = (Ns::new("lan"), Ns::new("rtr"), Ns::new("wan"));
    veth(&lan, "eth0", &rtr, "br0");
    veth(&rtr, "wan0", &wan, "isp0");
    let addrs: [(&Ns, &str, &str); 6] = [
        (&lan, "eth0", "2001:db8:1:1::2/64"),
        (&rtr, "br0", "2001:db8:1:1::1/64"),
        (&rtr, "wan0", "2001:db8:ffff::2/64"),
        (&wan, "isp0", "2001:db8:ffff::1/64"),
        (&lan, "eth0", "192.168.1.100/24"),
        (&rtr, "br0", "192.168.1.1/24"),
    ];
    for (ns, dev, a) in addrs {
        ns.exec(&["ip", "addr", "add", a, "dev", dev, "nodad"]);
    }
    rtr.exec(&["ip", "addr", "add", "192.0.2.2/24", "dev", "wan0"]);
    wan.exec(&["ip", "addr", "add", "192.0.2.1/24", "dev", "isp0"]);
    lan.exec(&["ip", "route", "add", "default", "via", "2001:db8:1:1::1"]);
    lan.exec(&["ip", "route", "add", "default", "via", "192.168.1.1"]);
    rtr.exec(&["ip", "route", "add", "default", "via", "2001:db8:ffff::1"]);
    rtr.exec(&["ip", "route", "add", "default", "via", "192.0.2.1"]);
    wan.exec(&[
        "ip",
        "route",
        "add",
        "2001:db8:1::/48",
        "via",
        "2001:db8:ffff::2",
    ]);
    wan.exec(&["ip", "route", "add", "192.168.1.0/24", "via", "192.0.2.2"]);
    rtr.exec(&["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    rtr.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    (lan, rtr, wan)
}
