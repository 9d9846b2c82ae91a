//! PPPoE discovery against a real access concentrator: rp-pppoe's
//! `pppoe-server` in an "ac" namespace, our WAN daemon in PPPoE mode in the
//! router namespace, one veth between them.
//!
//! The host kernel has no PPP (no /dev/ppp, `AF_PPPOX` gives EAFNOSUPPORT),
//! so no session can come up here; discovery can. What is proven:
//! - the daemon finds the AC, gets a session id from its PADS, and the
//!   console says exactly why no session comes up, naming the session, the
//!   AC and the errno; it sends PADT, and the AC frees the session;
//! - what the AC says when it refuses (AC-System-Error when it is full) is
//!   shown in its own words;
//! - a service the AC does not offer, or an AC name that does not match,
//!   is shown as the reason discovery does not proceed.
//!
//! Needs root, the `pppoe` package (tools/install-lab-deps) and a `cpe`
//! binary (`$CPE_BIN` or next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cpe_lab::router::{RouterUnderTest, cpe_bin};
use cpe_lab::{Check, Lab, Netns, Process, VethEnd, wait_for};
use serde_json::Value;

const AC_IF: &str = "ac0";
const AC_MAC: &str = "02:00:00:00:ac:01";
const WAN_IF: &str = "wan0";
const WAN_MAC: &str = "02:00:00:00:00:01";
const AC_NAME: &str = "lab-ac";
/// How the daemon names the AC on the console.
const AC_SHOWN: &str = "AC 'lab-ac' (02:00:00:00:ac:01)";

/// An AC namespace and a router namespace joined by a veth.
struct Wire {
    _lab: Lab,
    ac: Netns,
    router: Netns,
}

fn wire(name: &str) -> Wire {
    let lab = Lab::new(name).unwrap();
    let ac = lab.netns("ac").unwrap();
    let router = lab.netns("rtr").unwrap();
    lab.veth(
        VethEnd::new(&ac, AC_IF, AC_MAC),
        VethEnd::new(&router, WAN_IF, WAN_MAC),
    )
    .unwrap();
    ac.link_up(AC_IF).unwrap();
    Wire {
        _lab: lab,
        ac,
        router,
    }
}

/// `pppoe-server` offering service "internet" with at most `slots`
/// sessions. `pppd` is the program it starts per session: Debian's real
/// pppd (which exits at once on this kernel: no PPP), or a stand-in.
fn start_ac(ns: &Netns, slots: u32, pppd: Option<&Path>) -> Process {
    let mut cmd = Command::new("pppoe-server");
    cmd.args(["-F", "-I", AC_IF, "-C", AC_NAME, "-S", "internet"])
        .args(["-N", &slots.to_string(), "-L", "10.0.0.1", "-R", "10.0.0.2"]);
    if let Some(p) = pppd {
        cmd.arg("-q").arg(p);
    }
    let ac = ns.spawn("pppoe-server", cmd).unwrap();
    // Ready once its discovery socket (ethertype 8863) exists; a PADI sent
    // earlier would wait for our 2 s retransmission and skew the timings.
    wait_for("pppoe-server's socket", Duration::from_secs(5), || {
        let sockets = ns.exec(&["cat", "/proc/net/packet"])?.stdout;
        Ok(
            if sockets
                .lines()
                .any(|l| l.split_whitespace().nth(3) == Some("8863"))
            {
                Check::Ready(())
            } else {
                Check::NotYet(sockets)
            },
        )
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", ac.log_tail(10)));
    ac
}

/// A stand-in for the AC's per-session pppd, which cannot run on a kernel
/// without PPP (the real one exits at once, and pppoe-server then frees the
/// slot by itself): it holds the session slot until pppoe-server ends the
/// session (SIGTERM on PADT) and notes both events in `<dir>/pppd.log` (a
/// session ended within a millisecond may end before the first note).
fn session_holder(dir: &Path) -> (PathBuf, PathBuf) {
    let script = dir.join("pppd-holder");
    let log = dir.join("pppd.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"start $$\" >> {log}\n\
             trap 'echo \"sigterm $$\" >> {log}; exit 0' TERM\nsleep 30 & wait\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// The standalone daemon's state directory (one per lab: a session left
/// there is the next daemon's to clear).
fn state_dir(ns: &Netns) -> PathBuf {
    ns.lab_dir().join("wan-state")
}

/// `cpe daemon wan --pppoe` standalone, status to `<label>.json`.
fn start_wan(ns: &Netns, label: &str, extra: &[&str]) -> (Process, PathBuf) {
    let status = ns.unique_path(label, "json");
    let mut cmd = Command::new(cpe_bin().unwrap());
    cmd.args(["daemon", "wan", "--interface", WAN_IF, "--pppoe"])
        .arg("--status-file")
        .arg(&status)
        .arg("--state-dir")
        .arg(state_dir(ns))
        .args(["--log-level", "debug"])
        .args(extra);
    (ns.spawn(label, cmd).unwrap(), status)
}

fn read_status(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Waits until the facts' reason satisfies `pred`; returns the document.
fn wait_reason(
    path: &Path,
    daemon: &Process,
    ac: &Process,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> Value {
    let r = wait_for(what, Duration::from_secs(15), || {
        Ok(match read_status(path) {
            Some(doc) if pred(doc["facts"]["reason"].as_str().unwrap_or_default()) => {
                Check::Ready(doc)
            }
            Some(doc) => Check::NotYet(doc["facts"]["reason"].to_string()),
            None => Check::NotYet("no status file yet".into()),
        })
    });
    r.unwrap_or_else(|e| {
        panic!(
            "{e}\ndaemon log:\n{}\npppoe-server log:\n{}",
            daemon.log_tail(30),
            ac.log_tail(30)
        )
    })
}

/// What the console must say after PADS on this kernel: without PPP the
/// `AF_PPPOX` socket (or `/dev/ppp`) does not open, and the daemon says
/// which with the errno. `None` on a kernel with PPP, where the session
/// goes on to LCP: that is the QEMU system test's ground, not this one's.
fn expected_cause() -> Option<&'static str> {
    // SAFETY: socket(2) with constant arguments; the descriptor is closed
    // right away.
    let fd = unsafe { libc::socket(libc::AF_PPPOX, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Some("the kernel has no PPP support (socket(AF_PPPOX): EAFNOSUPPORT)");
    }
    // SAFETY: fd was just opened by us.
    unsafe { libc::close(fd) };
    if !Path::new("/dev/ppp").exists() {
        return Some("the kernel has no PPP support (open(/dev/ppp): ENOENT)");
    }
    None
}

const SUPERVISED: &str = r#"
[wan]
interface = "wan0"
mode = "pppoe"
ipv4 = false

[wan.pppoe]
username = "user@example.jp"
password = "lab-secret"
service = "internet"
ac_name = "lab-ac"

[wan.dhcpv6]
enabled = false

[[lan]]
interface = "br0"
subnet_id = 1

[lan.ra]
enabled = false

[lan.dhcpv6]
mode = "off"

[dns]
enabled = false

[firewall]
enabled = false
"#;

#[test]
fn pppoe_discovery_gets_a_session_and_the_console_says_why_it_cannot_come_up() {
    let Some(cause) = expected_cause() else {
        eprintln!("this kernel has PPP: the session would go on to LCP; skipped");
        return;
    };
    let w = wire("pppoe_session");
    let ac = start_ac(&w.ac, 4, None);
    let started = Instant::now();
    let router = RouterUnderTest::start(&w.router, SUPERVISED).unwrap();
    let want = format!("PPPoE session 0x0001 with {AC_SHOWN}: {cause}");
    let status = router
        .wait_status("the WAN reason after PADS", Duration::from_secs(15), |s| {
            (s["wan"]["reason"] == want.as_str()).then(|| s.clone())
        })
        .unwrap_or_else(|e| panic!("{e}\npppoe-server log:\n{}", ac.log_tail(30)));
    eprintln!(
        "start of `cpe run` to the reason after PADS on the console: {} ms",
        started.elapsed().as_millis()
    );
    // Facts reach the supervisor at once; the daemon's status object follows
    // at the runner's status cadence (at most one per second), so wait until
    // it shows the PADT that followed the PADS.
    let status = router
        .wait_status("the PPPoE status after PADT", Duration::from_secs(5), |s| {
            (s["wan"]["reason"] == want.as_str()
                && s["daemon_status"]["wan"]["pppoe"]["sent"]["PADT"] == 1)
                .then(|| s.clone())
        })
        .unwrap_or_else(|e| panic!("{e}\nlast status: {status:#}"));
    assert_eq!(status["wan"]["state"], "down");
    assert_eq!(status["wan"]["mode"], "pppoe");
    let p = &status["daemon_status"]["wan"]["pppoe"];
    assert_eq!(p["phase"], "stopped");
    assert_eq!(p["ac"]["name"], AC_NAME);
    assert_eq!(p["ac"]["mac"], AC_MAC);
    assert_eq!(p["last_session_id"], "0x0001");
    assert_eq!(p["service"], "internet");
    assert_eq!(p["sent"]["PADT"], 1);
    assert_eq!(p["received"]["PADS"], 1);
    // The engineer's screen.
    let out = router.cpectl(&["show", "wan"]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The reason is wrapped at 80 columns: compare words.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&format!("why: {want}")), "{text}");
    assert!(
        text.contains("pppoe stopped  AC 'lab-ac' 02:00:00:00:ac:01  session 0x0001 (ended)"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() <= 80), "{text}");
    assert!(!text.contains("lab-secret"));
    // Here the AC's real pppd exits at once (no PPP in this kernel either),
    // so the AC may free the session before our PADT arrives; that our PADT
    // frees it is proven with a session holder in
    // `pppoe_padt_frees_the_session_on_the_ac`.
}

#[test]
fn pppoe_padt_frees_the_session_on_the_ac() {
    let w = wire("pppoe_padt");
    let (holder, _) = session_holder(w.ac.lab_dir());
    // One slot: a second session is only possible if the first was freed.
    let ac = start_ac(&w.ac, 1, Some(&holder));
    for round in 1..=2 {
        let (wan, status) = start_wan(&w.router, &format!("wan{round}"), &[]);
        let doc = wait_reason(&status, &wan, &ac, "a session, then PADT", |r| {
            r.starts_with(&format!("PPPoE session 0x0001 with {AC_SHOWN}: "))
        });
        assert_eq!(doc["status"]["pppoe"]["sent"]["PADT"], 1, "round {round}");
        wan.stop();
    }
    // Round 2 got the only slot: the AC had freed round 1's session on our
    // PADT (the holder would otherwise keep the slot for 30 s and round 2
    // would read AC-System-Error). The AC logged both PADTs.
    let padts = ac
        .log_text()
        .matches("PADT: Generic-Error: PPPoE session 0x0001")
        .count();
    assert_eq!(padts, 2, "{}", ac.log_tail(20));
}

#[test]
fn pppoe_a_full_ac_refuses_in_its_own_words() {
    let w = wire("pppoe_full");
    let (holder, _) = session_holder(w.ac.lab_dir());
    let ac = start_ac(&w.ac, 1, Some(&holder));
    // rp-pppoe's own client takes the only slot first (user-mode session:
    // no kernel PPP needed) and holds it while its stdin stays open.
    w.router.link_up(WAN_IF).unwrap();
    let mut client = Command::new("sh");
    client.args(["-c", &format!("sleep 30 | pppoe -I {WAN_IF} -U")]);
    let _client = w.router.spawn("rp-pppoe-client", client).unwrap();
    let holder_log = w.ac.lab_dir().join("pppd.log");
    cpe_lab::wait_until("the client's session", Duration::from_secs(5), || {
        std::fs::read_to_string(&holder_log).is_ok_and(|l| l.contains("start"))
    })
    .unwrap();
    let (wan, status) = start_wan(&w.router, "wan", &[]);
    let doc = wait_reason(&status, &wan, &ac, "the AC's refusal", |r| {
        r.contains("AC-System-Error")
    });
    let reason = doc["facts"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "{AC_SHOWN} refused PADR with AC-System-Error: 'RP-PPPoE: Server: No client slots available'"
        )),
        "{reason}"
    );
    assert_eq!(doc["facts"]["state"], "connecting");
    // The other host's PADO/PADS on the same wire were not taken for ours.
    assert_eq!(doc["status"]["pppoe"]["sent"].get("PADT"), None);
}

#[test]
fn pppoe_a_service_the_ac_does_not_offer_is_shown() {
    let w = wire("pppoe_service");
    let ac = start_ac(&w.ac, 4, None);
    let (wan, status) = start_wan(&w.router, "wan", &["--pppoe-service", "video"]);
    // rp-pppoe stays silent on a PADI for a service it does not offer.
    let doc = wait_reason(&status, &wan, &ac, "no PADO", |r| r.contains("no PADO"));
    assert_eq!(
        doc["facts"]["reason"],
        "PPPoE discovery: no PADO for service 'video' after 1 PADI (waited 2 s)"
    );
    assert_eq!(doc["facts"]["state"], "connecting");
    assert_eq!(doc["status"]["pppoe"]["phase"], "discovery");
}

#[test]
fn pppoe_an_ac_name_that_does_not_match_is_shown() {
    let w = wire("pppoe_acname");
    let ac = start_ac(&w.ac, 4, None);
    let (wan, status) = start_wan(&w.router, "wan", &["--pppoe-ac-name", "other-ac"]);
    let doc = wait_reason(&status, &wan, &ac, "the ignored PADO", |r| {
        r.contains("ignored PADO")
    });
    assert_eq!(
        doc["facts"]["reason"],
        format!("PPPoE discovery: ignored PADO from {AC_SHOWN}: ac_name is 'other-ac'")
    );
    assert!(doc["status"]["pppoe"]["dropped"]["unselected_ac"].as_u64() >= Some(1));
    assert_eq!(doc["status"]["pppoe"]["sent"].get("PADR"), None);
}

#[test]
fn pppoe_a_vanished_interface_ends_the_daemon_with_the_reason() {
    let w = wire("pppoe_gone");
    let ac = start_ac(&w.ac, 4, None);
    let (wan, status) = start_wan(&w.router, "wan", &[]);
    wait_reason(&status, &wan, &ac, "a session", |r| {
        r.starts_with("PPPoE session")
    });
    // Its socket is bound to the index that goes away: the daemon exits so
    // that a new one (the supervisor restarts it) waits for the interface.
    w.router.ip(&["link", "del", WAN_IF]).unwrap();
    let exit = wan.wait_exit(Duration::from_secs(5)).unwrap();
    assert!(!exit.success(), "{}", wan.log_tail(10));
    assert!(
        wan.log_text().contains("wan0 disappeared"),
        "{}",
        wan.log_tail(10)
    );
    let doc = read_status(&status).unwrap();
    assert_eq!(doc["facts"]["reason"], "wan0 disappeared");
    assert_eq!(doc["facts"]["state"], "down");
}

#[test]
fn pppoe_a_stale_session_from_before_a_restart_is_cleared_first() {
    let w = wire("pppoe_stale");
    let (holder, holder_log) = session_holder(w.ac.lab_dir());
    let ac = start_ac(&w.ac, 1, Some(&holder));
    // A session on the AC whose client died without PADT (as after a power
    // cut): rp-pppoe's client takes the only slot, then is killed.
    w.router.link_up(WAN_IF).unwrap();
    let mut client = Command::new("sh");
    client.args(["-c", &format!("sleep 30 | pppoe -I {WAN_IF}")]);
    let client = w.router.spawn("rp-pppoe-client", client).unwrap();
    cpe_lab::wait_until("the client's session", Duration::from_secs(5), || {
        std::fs::read_to_string(&holder_log).is_ok_and(|l| l.contains("start"))
    })
    .unwrap();
    client.kill_group(libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !std::fs::read_to_string(&holder_log)
            .unwrap()
            .contains("sigterm"),
        "the AC still holds the dead client's session"
    );
    // What our daemon would have saved for that session.
    let dir = state_dir(&w.router);
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("wan-pppoe-session.json");
    std::fs::write(
        &saved,
        r#"{"interface":"wan0","session_id":1,"ac_mac":[2,0,0,0,172,1]}"#,
    )
    .unwrap();
    // PADT for it first, then discovery finds the slot free.
    let (wan, status) = start_wan(&w.router, "wan", &[]);
    let doc = wait_reason(&status, &wan, &ac, "a session after clearing", |r| {
        r.starts_with(&format!("PPPoE session 0x0001 with {AC_SHOWN}: "))
    });
    assert_eq!(doc["status"]["pppoe"]["sent"]["PADT"], 2, "stale + ours");
    assert!(
        wan.log_text()
            .contains("PADT for session 0x0001 with 02:00:00:00:ac:01")
    );
    assert!(
        std::fs::read_to_string(&holder_log)
            .unwrap()
            .contains("sigterm")
    );
    assert!(!saved.exists(), "no session left to clear");
}

/// The demo's `config/pppoe-dualstack.toml`, as shipped (only the system
/// directories moved into the lab): every daemon starts, and the WAN runs
/// discovery to a session with the AC; on this kernel it then says why the
/// session goes no further. The rest (LCP to DHCPv6-PD) is the QEMU system
/// test's.
#[test]
fn pppoe_the_demo_config_runs_up_to_a_session() {
    let Some(cause) = expected_cause() else {
        eprintln!("this kernel has PPP: the session would go on to LCP; skipped");
        return;
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/pppoe-dualstack.toml");
    let demo = std::fs::read_to_string(&path).unwrap();
    let w = wire("pppoe_demo");
    // The demo's LAN is br0, which the image's init creates on a device;
    // without it the DNS forwarder cannot bind and is never "running".
    w.router
        .ip(&["link", "add", "br0", "type", "bridge"])
        .unwrap();
    w.router.ip(&["link", "set", "br0", "up"]).unwrap();
    let ac = start_ac(&w.ac, 4, None);
    let router = RouterUnderTest::start(&w.router, &demo).unwrap();
    let want = format!("PPPoE session 0x0001 with {AC_SHOWN}: {cause}");
    let status = router
        .wait_status("the WAN reason after PADS", Duration::from_secs(15), |s| {
            (s["wan"]["reason"] == want.as_str()).then(|| s.clone())
        })
        .unwrap_or_else(|e| panic!("{e}\npppoe-server log:\n{}", ac.log_tail(30)));
    assert_eq!(status["wan"]["mode"], "pppoe");
    let out = router.cpectl(&["show", "wan"]).unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret"));
    // The firewall filters, clamps and NATs on the PPP units, and the
    // kernel took that ruleset.
    let fw = router
        .wait_status("the firewall's first apply", Duration::from_secs(10), |s| {
            let f = &s["daemon_status"]["firewall"];
            (f["applies"]["full_applies"].as_u64() >= Some(1)).then(|| f.clone())
        })
        .unwrap();
    assert_eq!(fw["policy"]["wan"], "ppp*");
    assert_eq!(fw["applies"]["apply_failures"], 0, "{fw:#}");
}
