//! The supervisor in the namespace lab: `cpe run` with `config/default.toml`
//! in the router namespace against the emulated ISP (radvd + Kea), driven
//! with `cpectl` exactly as a field engineer would.
//!
//! Needs root, the lab packages and the `cpe` binary (`cargo build -p cpe`;
//! found through `$CPE_BIN` or next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::path::Path;
use std::time::{Duration, Instant};

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    IpoeTopology, KeaDhcp6, KeaOptions, Lab, Radvd, RadvdOptions, TopologyOptions, wait_until,
};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn daemon<'a>(status: &'a Value, name: &str) -> &'a Value {
    Router::daemon(status, name).unwrap_or_else(|| panic!("no daemon {name} in {status}"))
}

fn pid_alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The emulated ISP: IPoE RAs (M=1, O=1) and Kea with prefix delegation.
struct Isp {
    _radvd: Radvd,
    _kea: KeaDhcp6,
}

fn lab_with_isp(hint: &str) -> (Lab, IpoeTopology, Isp) {
    let lab = Lab::new(hint).unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let isp = Isp {
        _radvd: topo.start_radvd_isp(&RadvdOptions::isp()).unwrap(),
        _kea: topo.start_kea_dhcp6(&KeaOptions::default()).unwrap(),
    };
    (lab, topo, isp)
}

#[test]
fn status_json_lists_daemons_and_a_killed_child_is_restarted() {
    let (_lab, topo, _isp) = lab_with_isp("sup_restart");
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();

    let status = router.status().unwrap();
    for field in [
        "version",
        "hostname",
        "config_file",
        "uptime_s",
        "wan",
        "lan",
        "daemon_status",
    ] {
        assert!(
            status.get(field).is_some(),
            "status lacks {field}: {status}"
        );
    }
    let names: Vec<&str> = status["daemons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for expected in ["wan", "dhcp6c", "ra", "dns"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(status["config_generation"], 1);

    // SIGKILL one child: it must be back within 2 s with restarts = 1.
    let victim = daemon(&status, "dns");
    let old_pid = victim["pid"].as_u64().unwrap();
    assert_eq!(victim["restarts"], 0);
    let killed_at = Instant::now();
    unsafe { libc::kill(old_pid as i32, libc::SIGKILL) };
    let new_pid = router
        .wait_status("dns restarted", WAIT, |s| {
            let d = daemon(s, "dns");
            let pid = d["pid"].as_u64()?;
            (pid != old_pid && d["state"] == "running").then_some(pid)
        })
        .unwrap();
    let took = killed_at.elapsed();
    assert!(took < Duration::from_secs(2), "restart took {took:?}");
    let status = router.status().unwrap();
    let d = daemon(&status, "dns");
    assert_eq!(d["restarts"], 1, "{d}");
    assert_eq!(d["last_exit"], "signal 9", "{d}");
    assert!(pid_alive(new_pid));
    // Nobody else was touched.
    for other in ["wan", "dhcp6c", "ra"] {
        assert_eq!(daemon(&status, other)["restarts"], 0);
    }
    assert!(
        router
            .supervisor
            .log_text()
            .contains("restarted daemon dns")
    );

    // The delegated prefix reaches the LAN: the router's ::1 of the
    // subnet_id /64 and of the ULA /64 are on br0.
    let lan_addrs = router
        .wait_status("a delegated /64 on the LAN", Duration::from_secs(15), |s| {
            let prefixes = s["lan"][0]["prefixes"].as_array()?;
            prefixes
                .iter()
                .any(|p| p["origin"] == "delegated")
                .then(|| {
                    prefixes
                        .iter()
                        .map(|p| p["router_address"].as_str().unwrap_or("").to_string())
                        .collect::<Vec<_>>()
                })
        })
        .unwrap();
    let shown = topo
        .router
        .exec_ok(&["ip", "-6", "addr", "show", "dev", "br0"])
        .unwrap()
        .stdout;
    for a in &lan_addrs {
        assert!(
            shown.contains(&format!("{a}/64")),
            "{a} not on br0:\n{shown}"
        );
    }

    // The human view fits a serial console.
    let out = router.cpectl(&["status"]).unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().all(|l| l.len() <= 80),
        "wider than 80 columns:\n{text}"
    );
    assert!(!text.contains('\x1b'), "colour without a TTY:\n{text}");
}

#[test]
fn broken_reload_is_refused_and_a_valid_one_touches_only_its_daemon() {
    let (_lab, topo, _isp) = lab_with_isp("sup_reload");
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let before = Router::pids(&router.status().unwrap());
    let good = std::fs::read_to_string(&router.config).unwrap();

    // A file with an unknown key, a bad address and a /48 PIO.
    let broken = good
        .replacen("[[lan]]", "[[lan]]\nbogus_key = 1", 1)
        .replacen("[lan.ra]", "[lan.ra]\nprefixes = [\"2001:db8:77::/48\"]", 1)
        .replacen("upstream = [\"auto\"]", "upstream = [\"2001:db8::zz\"]", 1);
    std::fs::write(&router.config, &broken).unwrap();
    let out = router.cpectl(&["reload"]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "reload of a broken file must fail:\n{stderr}"
    );
    let cfg = router.config.display().to_string();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&cfg)).collect();
    assert_eq!(
        errors.len(),
        3,
        "expected three FILE:LINE:COL errors:\n{stderr}"
    );
    assert!(stderr.contains("bogus_key"), "{stderr}");
    assert!(stderr.contains("/64"), "{stderr}");
    assert!(stderr.contains("reload refused"), "{stderr}");

    // SIGHUP with the same broken file: refused too, logged.
    router.supervisor.kill(libc::SIGHUP);
    wait_until("refusal logged twice", Duration::from_secs(5), || {
        router
            .supervisor
            .log_text()
            .matches("still running the previous config")
            .count()
            >= 2
    })
    .unwrap();
    let status = router.status().unwrap();
    assert_eq!(
        status["config_generation"], 1,
        "broken config must not apply"
    );
    assert_eq!(Router::pids(&status), before, "no daemon may be touched");
    assert!(before.iter().all(|(_, p)| pid_alive(*p)));

    // A valid edit of the DNS slice restarts the forwarder only.
    let edited = good.replacen("[dns]", "[dns]\ncache_size = 500", 1);
    std::fs::write(&router.config, &edited).unwrap();
    let out = router.cpectl(&["reload"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dns"));
    let after = router
        .wait_status("dns back after reload", WAIT, |s| {
            let d = daemon(s, "dns");
            (d["state"] == "running" && s["config_generation"] == 2).then(|| Router::pids(s))
        })
        .unwrap();
    for ((name, old), (_, new)) in before.iter().zip(&after) {
        if name == "dns" {
            assert_ne!(old, new, "dns must have been restarted");
        } else {
            assert_eq!(old, new, "{name} must not have been restarted");
        }
    }
    assert_eq!(daemon(&router.status().unwrap(), "dns")["restarts"], 0);
}

#[test]
fn sigterm_stops_every_daemon_within_five_seconds() {
    let (_lab, topo, _isp) = lab_with_isp("sup_stop");
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let pids = Router::pids(&router.status().unwrap());
    let t0 = Instant::now();
    router.supervisor.kill(libc::SIGTERM);
    let status = router.supervisor.wait_exit(Duration::from_secs(5)).unwrap();
    assert!(status.success(), "supervisor exit: {status:?}");
    let left = Duration::from_secs(5).saturating_sub(t0.elapsed());
    wait_until("children gone", left, || {
        pids.iter().all(|(_, p)| !pid_alive(*p))
    })
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(!router.socket.exists(), "socket left behind");
}

/// `cpe ctl --config FILE ARGS` in the router's namespace (the console
/// finding the socket from the config file, as an engineer types it); the
/// lab's 10 s exec timeout turns a frozen supervisor into a failure.
fn cpectl_with_config(router: &Router, ns: &cpe_lab::Netns, args: &[&str]) -> cpe_lab::CmdOutput {
    let bin = cpe_lab::router::cpe_bin().unwrap().display().to_string();
    let config = router.config.display().to_string();
    let mut argv = vec![bin.as_str(), "ctl", "--config", config.as_str()];
    argv.extend_from_slice(args);
    ns.exec(&argv).unwrap()
}

#[test]
fn a_broken_or_fifo_config_still_leaves_status_and_reload_working() {
    // No ISP needed: this is about the console and the config file.
    let lab = Lab::new("sup_broken").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let good = std::fs::read_to_string(&router.config).unwrap();
    let cfg = router.config.display().to_string();

    // The screen never calls a daemon without an engine `running`.
    let status = router.status().unwrap();
    let stand_in = status["daemon_status"]["firewall"]["implemented"] == false;
    let out = router.cpectl(&["status"]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The daemon table's row (the screen also has a firewall status line).
    let firewall = text
        .lines()
        .skip_while(|l| !l.starts_with("DAEMON"))
        .find(|l| l.starts_with("firewall "))
        .unwrap_or_else(|| panic!("no firewall row:\n{text}"));
    assert_eq!(firewall.contains(" not active "), stand_in, "{text}");
    assert_eq!(firewall.contains(" running "), !stand_in, "{text}");

    // No ISP: `cpectl why` says the WAN is down with its reason, exit 2.
    let out = router.cpectl(&["why"]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.starts_with("DOWN     wan: WAN "), "{text}");
    let out = router.cpectl(&["why", "--json"]).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    let wan = &findings[0];
    assert_eq!(wan["severity"], "down", "{findings}");
    assert_eq!(wan["subject"], "wan", "{findings}");
    let reason = router.status().unwrap()["wan"]["reason"].clone();
    let reason = reason.as_str().unwrap_or_default();
    assert!(
        !reason.is_empty() && wan["text"].as_str().unwrap().contains(reason),
        "the WAN's reason {reason:?} not in {findings}"
    );

    // Broken after start: an unknown key and a bad address. The console
    // still finds the socket through the file's run_dir.
    let broken = good
        .replacen("[[lan]]", "[[lan]]\nbogus_key = 1", 1)
        .replacen("upstream = [\"auto\"]", "upstream = [\"2001:db8::zz\"]", 1);
    std::fs::write(&router.config, &broken).unwrap();
    let out = cpectl_with_config(&router, &topo.router, &["status", "--json"]);
    let stderr = &out.stderr;
    assert!(out.status.success(), "status with a broken file:\n{stderr}");
    let status: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(status["config_generation"], 1);
    assert!(
        stderr.contains(&format!("{cfg} has 2 errors")),
        "no note on the broken file:\n{stderr}"
    );
    let out = cpectl_with_config(&router, &topo.router, &["reload"]);
    let stderr = out.stderr.clone();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{cfg}:")) && l.contains(": error: "))
        .collect();
    assert_eq!(
        errors.len(),
        2,
        "expected two FILE:LINE:COL errors:\n{stderr}"
    );
    assert!(stderr.contains("bogus_key"), "{stderr}");
    assert!(stderr.contains("reload refused"), "{stderr}");

    // A FIFO in place of the file: no run_dir to read, so the console needs
    // --socket; the supervisor refuses the reload at once and keeps
    // answering (a blocking open would freeze its loop for good).
    std::fs::remove_file(&router.config).unwrap();
    topo.router.exec_ok(&["mkfifo", "-m", "600", &cfg]).unwrap();
    let t0 = Instant::now();
    let out = router.cpectl(&["reload"]).unwrap();
    let took = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{cfg}: error: not a regular file (fifo)")),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(2), "reload took {took:?}");
    router.supervisor.kill(libc::SIGHUP);
    wait_until("SIGHUP refusal logged", Duration::from_secs(5), || {
        router
            .supervisor
            .log_text()
            .matches("not a regular file (fifo)")
            .count()
            >= 2
    })
    .unwrap();
    let t0 = Instant::now();
    let status = router.status().expect("status after a FIFO reload");
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert_eq!(status["config_generation"], 1);
    let out = cpectl_with_config(&router, &topo.router, &["status"]);
    let stderr = out.stderr.clone();
    assert!(
        stderr.contains("not a regular file (fifo)"),
        "the note names the FIFO:\n{stderr}"
    );

    // The file back, edited: the reload applies.
    std::fs::remove_file(&router.config).unwrap();
    std::fs::write(
        &router.config,
        good.replacen("[dns]", "[dns]\ncache_size = 500", 1),
    )
    .unwrap();
    let out = cpectl_with_config(&router, &topo.router, &["reload"]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(router.status().unwrap()["config_generation"], 2);
}
