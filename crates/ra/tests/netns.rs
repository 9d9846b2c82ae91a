//! The daemon against real Linux hosts, in network namespaces: the host's
//! kernel is the SLAAC client, `rdisc6` the probe, radvd the rogue router.
//!
//! Needs root and `ip`; skipped (with a message) where namespaces cannot be
//! created. `rdisc6` and `radvd` parts are skipped when those are missing.

// Test helpers outside #[test] functions panic on setup failures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROUTER_MAC: &str = "02:00:5e:00:53:01";
const ROUTER_LL: &str = "fe80::5eff:fe00:5301";
const HOST_MAC: &str = "02:00:5e:00:53:99";
const HOST_LL: &str = "fe80::5eff:fe00:5399";

fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn")
}

fn ok(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn text(args: &[&str]) -> String {
    String::from_utf8_lossy(&run(args).stdout).into_owned()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn daemon_binary() -> PathBuf {
    // target/<profile>/deps/netns-<hash> -> target/<profile>/examples/ra_standalone
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/ra_standalone")
}

/// A router namespace and a host namespace joined by a veth pair.
struct Lab {
    router: String,
    host: String,
    dir: PathBuf,
    children: Vec<Child>,
}

impl Lab {
    fn new(name: &str) -> Option<Lab> {
        let id = format!("{name}-{}", std::process::id());
        let router = format!("rar-{id}");
        let host = format!("rah-{id}");
        if !run(&["ip", "netns", "add", &router]).status.success() {
            eprintln!("skipped: cannot create network namespaces (needs root)");
            return None;
        }
        ok(&["ip", "netns", "add", &host]);
        let dir = std::env::temp_dir().join(format!("ra-lab-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let lab = Lab {
            router,
            host,
            dir,
            children: Vec::new(),
        };
        for ns in [&lab.router, &lab.host] {
            ok(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
            ]);
            ok(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.accept_dad=0",
            ]);
        }
        ok(&[
            "ip",
            "netns",
            "exec",
            &lab.router,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.forwarding=1",
        ]);
        ok(&[
            "ip",
            "link",
            "add",
            "lan0",
            "netns",
            &lab.router,
            "address",
            ROUTER_MAC,
            "type",
            "veth",
            "peer",
            "name",
            "host0",
            "netns",
            &lab.host,
            "address",
            HOST_MAC,
        ]);
        ok(&["ip", "-n", &lab.router, "link", "set", "lan0", "up"]);
        ok(&["ip", "-n", &lab.host, "link", "set", "host0", "up"]);
        // The host must have its link-local before it listens to RAs.
        let ready = wait_for(Duration::from_secs(5), || {
            let a = text(&["ip", "-n", &lab.host, "-6", "addr", "show", "dev", "host0"]);
            let r = text(&["ip", "-n", &lab.router, "-6", "addr", "show", "dev", "lan0"]);
            a.contains(HOST_LL)
                && r.contains(ROUTER_LL)
                && !a.contains("tentative")
                && !r.contains("tentative")
        });
        assert!(ready.is_some(), "link-local addresses never appeared");
        Some(lab)
    }

    fn host(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", &self.host];
        full.extend_from_slice(args);
        text(&full)
    }

    fn start_daemon(&mut self, extra: &[&str]) -> usize {
        let state = self.dir.to_string_lossy().into_owned();
        let status = self.dir.join("status.json").to_string_lossy().into_owned();
        let mut args = vec!["--interface", "lan0", "--state-dir", &state];
        args.extend_from_slice(&["--status-file", &status, "--log-level", "debug"]);
        args.extend_from_slice(extra);
        self.spawn_daemon(&args, None)
    }

    /// Runs the daemon binary in the router namespace; `bus` makes it a
    /// supervised daemon talking to that socket.
    fn spawn_daemon(&mut self, args: &[&str], bus: Option<&std::path::Path>) -> usize {
        let mut cmd = Command::new("ip");
        if let Some(path) = bus {
            cmd.env("CPE_BUS", path);
        }
        let child = cmd
            .args(["netns", "exec", &self.router])
            .arg(daemon_binary())
            .args(args)
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.join("daemon.log")).unwrap(),
            ))
            .spawn()
            .expect("daemon binary (built by cargo test as an example)");
        self.children.push(child);
        self.children.len() - 1
    }

    fn stop(&mut self, which: usize) {
        self.signal(which, "-TERM");
    }

    fn signal(&mut self, which: usize, signal: &str) {
        let pid = self.children[which].id().to_string();
        ok(&["kill", signal, &pid]);
        let status = self.children[which].wait().unwrap();
        assert!(status.success(), "daemon exit {status:?}");
    }

    fn status(&self) -> serde_json::Value {
        std::fs::read(self.dir.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn host_has_default_via_us(&self) -> bool {
        self.host(&["ip", "-6", "route", "show", "default"])
            .contains(ROUTER_LL)
    }

    fn host_addr_line(&self, prefix: &str) -> Option<String> {
        let out = self.host(&["ip", "-6", "addr", "show", "dev", "host0"]);
        let lines: Vec<&str> = out.lines().collect();
        lines
            .windows(2)
            .find(|w| w[0].contains(prefix))
            .map(|w| format!("{} {}", w[0], w[1]))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = run(&["ip", "netns", "del", &self.router]);
        let _ = run(&["ip", "netns", "del", &self.host]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn linux_host_configures_from_our_ra_and_rogue_is_reported() {
    let Some(mut lab) = Lab::new("cfg") else {
        return;
    };
    ok(&[
        "ip",
        "-n",
        &lab.router,
        "addr",
        "add",
        "2001:db8:1:1::1/64",
        "dev",
        "lan0",
        "nodad",
    ]);
    let daemon = lab.start_daemon(&[
        "--prefix",
        "2001:db8:1:1::/64",
        "--rdnss",
        "self",
        "--dnssl",
        "lan",
        "--dnssl",
        "home.arpa",
        "--mtu",
        "1492",
        "--preference",
        "high",
    ]);
    let took = wait_for(Duration::from_secs(10), || {
        lab.host_has_default_via_us() && lab.host_addr_line("2001:db8:1:1:").is_some()
    });
    let log = std::fs::read_to_string(lab.dir.join("daemon.log")).unwrap_or_default();
    let took = took.unwrap_or_else(|| panic!("host never configured; daemon log:\n{log}"));
    eprintln!("host had a global address and default route {took:?} after start");
    let route = lab.host(&["ip", "-6", "route", "show", "default"]);
    assert!(route.contains("pref high"), "{route}");
    assert!(route.contains("mtu 1492"), "{route}");
    let addr = lab.host_addr_line("2001:db8:1:1:").unwrap();
    assert!(addr.contains("2001:db8:1:1:0:5eff:fe00:5399/64"), "{addr}");

    if have("rdisc6") {
        let out = lab.host(&["rdisc6", "-1", "host0"]);
        let field = |name: &str| -> String {
            out.lines()
                .find(|l| l.trim_start().starts_with(name))
                .map(|l| l.split_once(':').unwrap().1.trim().to_string())
                .unwrap_or_else(|| panic!("{name} missing in:\n{out}"))
        };
        assert_eq!(field("Stateful address conf."), "No");
        assert_eq!(field("Stateful other conf."), "Yes");
        assert_eq!(field("Router preference"), "high");
        assert!(field("Router lifetime").starts_with("1800 "));
        assert!(field("MTU").starts_with("1492 bytes"));
        assert_eq!(field("Prefix"), "2001:db8:1:1::/64");
        assert!(field("Valid time").starts_with("5400 "));
        assert!(field("Pref. time").starts_with("2700 "));
        assert_eq!(field("Recursive DNS server"), "2001:db8:1:1::1");
        assert!(field("DNS server lifetime").starts_with("1800 "));
        assert_eq!(field("DNS search list"), "lan home.arpa");
        assert!(out.contains(&format!("from {ROUTER_LL}")), "{out}");
    } else {
        eprintln!("rdisc6 missing: RA content checked through the kernel only");
    }

    if have("radvd") {
        let conf = lab.dir.join("rogue.conf");
        std::fs::write(
            &conf,
            "interface host0 {\n AdvSendAdvert on;\n MinRtrAdvInterval 3;\n MaxRtrAdvInterval 4;\n prefix 2001:db8:bad::/64 { };\n};\n",
        )
        .unwrap();
        let pid = lab.dir.join("rogue.pid");
        let rogue = Command::new("ip")
            .args([
                "netns", "exec", &lab.host, "radvd", "-n", "-m", "stderr", "-C",
            ])
            .arg(&conf)
            .arg("-p")
            .arg(&pid)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        lab.children.push(rogue);
        let seen = wait_for(Duration::from_secs(15), || {
            lab.status()["lans"][0]["rogue_routers"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        });
        assert!(seen.is_some(), "rogue radvd not reported: {}", lab.status());
        let rogue = &lab.status()["lans"][0]["rogue_routers"][0];
        assert_eq!(rogue["source"], HOST_LL);
        assert_eq!(rogue["link_layer_address"], HOST_MAC);
        let prefixes = rogue["prefixes"].to_string();
        assert!(prefixes.contains("2001:db8:bad::/64"), "{prefixes}");
        let log = std::fs::read_to_string(lab.dir.join("daemon.log")).unwrap();
        assert_eq!(
            log.matches("foreign router advertising").count(),
            1,
            "reported once:\n{log}"
        );
        assert!(log.contains(&format!(
            "foreign router advertising on this LAN: {HOST_LL}"
        )));
    } else {
        eprintln!("radvd missing: rogue detection checked by the engine tests only");
    }

    // SIGHUP is not a stop (signal policy in docs/architecture.md): the
    // daemon logs it and keeps advertising. (Before the shared runner it
    // had no handler and the default action killed it without final RAs.)
    let pid = lab.children[daemon].id().to_string();
    ok(&["kill", "-HUP", &pid]);
    let logged = wait_for(Duration::from_secs(3), || {
        std::fs::read_to_string(lab.dir.join("daemon.log"))
            .unwrap_or_default()
            .contains("SIGHUP ignored")
    });
    assert!(logged.is_some(), "SIGHUP not logged");
    assert!(
        lab.children[daemon].try_wait().unwrap().is_none(),
        "SIGHUP stopped the daemon"
    );

    // Orderly shutdown: router lifetime 0 removes us as the host's default router.
    lab.stop(daemon);
    let gone = wait_for(Duration::from_secs(3), || !lab.host_has_default_via_us());
    assert!(gone.is_some(), "default route survived the final RA");
    assert!(
        lab.host_addr_line("2001:db8:1:1:").is_some(),
        "addresses stay over a restart"
    );
}

#[test]
fn restart_with_a_new_prefix_deprecates_the_old_one_on_the_host() {
    let Some(mut lab) = Lab::new("renum") else {
        return;
    };
    let first = lab.start_daemon(&["--prefix", "2001:db8:1:1::/64"]);
    assert!(
        wait_for(Duration::from_secs(10), || lab
            .host_addr_line("2001:db8:1:1:")
            .is_some())
        .is_some()
    );
    // A restart (SIGUSR1) sends no final RA: the host keeps its default route.
    assert!(wait_for(Duration::from_secs(5), || lab.host_has_default_via_us()).is_some());
    lab.signal(first, "-USR1");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        lab.host_has_default_via_us(),
        "restart withdrew the default route"
    );
    let memory = std::fs::read_to_string(lab.dir.join("ra-prefixes-lan0.json")).unwrap();
    assert!(memory.contains("2001:db8:1:1::/64"), "{memory}");

    // The ISP gave a different prefix while the router was down.
    lab.start_daemon(&["--prefix", "2001:db8:2:1::/64"]);
    let took = wait_for(Duration::from_secs(10), || {
        lab.host_addr_line("2001:db8:2:1:").is_some()
            && lab
                .host_addr_line("2001:db8:1:1:")
                .is_some_and(|l| l.contains("preferred_lft 0sec"))
    });
    let old = lab.host_addr_line("2001:db8:1:1:");
    assert!(took.is_some(), "old address not deprecated: {old:?}");
    let old = old.unwrap();
    assert!(old.contains("deprecated"), "{old}");
    let new = lab.host_addr_line("2001:db8:2:1:").unwrap();
    assert!(
        !new.contains("deprecated") && new.contains("preferred_lft 2"),
        "{new}"
    );
    // The status file is refreshed every 2 s.
    let shown = wait_for(Duration::from_secs(5), || {
        let prefixes = lab.status()["lans"][0]["prefixes"].to_string();
        prefixes.contains(r#""deprecated":true"#) && prefixes.contains("2001:db8:2:1::/64")
    });
    assert!(shown.is_some(), "status: {}", lab.status());
}

/// A minimal stand-in for the supervisor's side of the socket, speaking the
/// real bus protocol (`cpe_bus::proto`): hello in, config and snapshots out,
/// status objects collected.
struct Supervisor {
    stream: std::os::unix::net::UnixStream,
    statuses: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl Supervisor {
    fn accept(listener: &std::os::unix::net::UnixListener, config: &str) -> Supervisor {
        use cpe_bus::proto::{FromSupervisor, ToSupervisor, decode_line, encode_line};
        use std::io::{BufRead, BufReader, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let hello: ToSupervisor = decode_line(line.trim_end().as_bytes()).unwrap();
        assert!(
            matches!(hello, ToSupervisor::Hello { ref daemon, .. } if daemon == "ra"),
            "{hello:?}"
        );
        let cfg = FromSupervisor::Config {
            file: "/etc/cpe/cpe.toml".into(),
            source: config.into(),
        };
        stream.write_all(&encode_line(&cfg)).unwrap();
        let statuses = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = statuses.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Ok(ToSupervisor::Status(v)) = decode_line(line.trim_end().as_bytes()) {
                    sink.lock().unwrap().push(v);
                }
                line.clear();
            }
        });
        Supervisor { stream, statuses }
    }

    fn send(&mut self, state: &cpe_bus::SharedState) {
        use std::io::Write;
        let msg = cpe_bus::proto::FromSupervisor::State(Box::new(state.clone()));
        self.stream
            .write_all(&cpe_bus::proto::encode_line(&msg))
            .unwrap();
    }

    fn last_status(&self) -> serde_json::Value {
        self.statuses
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

fn snapshot(prefix: &str, default_route: bool) -> cpe_bus::SharedState {
    use cpe_bus::{LanFacts, LanPrefix, MonoTime, PrefixOrigin, SharedState, WanState};
    let now = MonoTime::now();
    let net: ipnet::Ipv6Net = prefix.parse().unwrap();
    let wan = cpe_bus::WanFacts {
        state: WanState::Up,
        mtu: 1492,
        default_router_v6: default_route.then(|| "fe80::1".parse().unwrap()),
        ..Default::default()
    };
    let lan = vec![LanFacts {
        interface: "lan0".into(),
        subnet_id: 1,
        prefixes: vec![LanPrefix {
            prefix: net,
            router_address: net.hosts().next().unwrap(),
            preferred_until: now.after(Duration::from_secs(14400)),
            valid_until: now.after(Duration::from_secs(86400)),
            deprecated: false,
            origin: PrefixOrigin::Delegated,
        }],
    }];
    SharedState {
        generation: 1,
        wan,
        lan,
        ..Default::default()
    }
}

#[test]
fn supervised_renumbering_and_wan_loss_reach_the_host() {
    let Some(mut lab) = Lab::new("bus") else {
        return;
    };
    let sock = lab.dir.join("cpe.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let dir = lab.dir.to_string_lossy().into_owned();
    let config = format!(
        "[system]\nstate_dir = \"{dir}\"\nrun_dir = \"{dir}\"\nlog_level = \"debug\"\n[wan]\n[[lan]]\ninterface = \"lan0\"\n[lan.ra]\npreference = \"high\"\n"
    );
    let daemon = lab.spawn_daemon(&[], Some(&sock));
    let mut sup = Supervisor::accept(&listener, &config);
    sup.send(&snapshot("2001:db8:1:1::/64", true));
    let up = wait_for(Duration::from_secs(10), || {
        lab.host_has_default_via_us() && lab.host_addr_line("2001:db8:1:1:").is_some()
    });
    let log = || std::fs::read_to_string(lab.dir.join("daemon.log")).unwrap_or_default();
    assert!(up.is_some(), "host never configured:\n{}", log());
    let route = lab.host(&["ip", "-6", "route", "show", "default"]);
    assert!(
        route.contains("mtu 1492") && route.contains("pref high"),
        "{route}"
    );

    // The ISP renumbers: the supervisor's next snapshot has only the new /64.
    sup.send(&snapshot("2001:db8:2:1::/64", true));
    let renumbered = wait_for(Duration::from_secs(10), || {
        lab.host_addr_line("2001:db8:2:1:").is_some()
            && lab
                .host_addr_line("2001:db8:1:1:")
                .is_some_and(|l| l.contains("preferred_lft 0sec"))
    });
    let took = renumbered
        .unwrap_or_else(|| panic!("old: {:?}\n{}", lab.host_addr_line("2001:db8:1:1:"), log()));
    eprintln!("host followed the renumbering {took:?} after the snapshot");
    assert!(
        took <= Duration::from_secs(4),
        "one fast RA, not one MaxRtrAdvInterval: {took:?}"
    );
    let old = lab.host_addr_line("2001:db8:1:1:").unwrap();
    assert!(old.contains("deprecated"), "{old}");

    // WAN loses its default route: hosts must stop using us as default router.
    sup.send(&snapshot("2001:db8:2:1::/64", false));
    let dropped = wait_for(Duration::from_secs(5), || !lab.host_has_default_via_us());
    assert!(
        dropped.is_some(),
        "default route kept without upstream:\n{}",
        log()
    );
    assert!(
        lab.host_addr_line("2001:db8:2:1:").is_some(),
        "addresses stay"
    );

    let shown = wait_for(Duration::from_secs(5), || {
        let st = sup.last_status();
        let p = st["lans"][0]["prefixes"].to_string();
        st["lans"][0]["router_lifetime"] == 0
            && p.contains("2001:db8:1:1::/64")
            && p.contains(r#""deprecated":true"#)
    });
    assert!(shown.is_some(), "status on the bus: {}", sup.last_status());
    let memory = std::fs::read_to_string(lab.dir.join("ra-prefixes-lan0.json")).unwrap();
    assert!(
        memory.contains("2001:db8:1:1::/64") && memory.contains("2001:db8:2:1::/64"),
        "{memory}"
    );
    lab.stop(daemon);
}
