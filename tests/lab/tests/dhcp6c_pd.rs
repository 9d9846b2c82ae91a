//! The DHCPv6 prefix-delegation client inside the whole product (`cpe run`
//! with `config/default.toml`) against the emulated ISP: Kea 2.2 with IA_PD
//! and radvd sending M=1/O=1 RAs. Every assertion is on what a field
//! engineer sees (`cpectl status --json`), on the router's kernel state, or
//! on Kea's own record (lease file, statistics, log).
//!
//! Needs root, the lab packages and the `cpe` binary (`cargo build -p cpe`;
//! found through `$CPE_BIN` or next to this test executable). Kea's timers
//! are shortened per test so Renew and Rebind happen within seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::{IpAddr, Ipv6Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    IpoeTopology, KeaDhcp6, KeaOptions, Lab, LeaseTimers, PdPool, Process, Radvd, RadvdOptions,
    TopologyOptions, plan, wait_until,
};
use ipnet::Ipv6Net;
use serde_json::{Value, json};

/// Long enough for bring-up on a loaded 2-core machine, far below a test's
/// budget.
const BRING_UP: Duration = Duration::from_secs(15);

/// The ISP (radvd + Kea) and our router running `config/default.toml`.
struct Setup {
    topo: IpoeTopology,
    _radvd: Radvd,
    kea: KeaDhcp6,
    router: Router,
    // Dropped last: stops everything it started.
    _lab: Lab,
}

fn setup(hint: &str, kea: &KeaOptions) -> Setup {
    let lab = Lab::new(hint).unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let kea = topo.start_kea_dhcp6(kea).unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    Setup {
        topo,
        _radvd: radvd,
        kea,
        router,
        _lab: lab,
    }
}

/// Kea with the lab defaults but the given timers (seconds).
fn kea_with_timers(renew: u32, rebind: u32, preferred: u32, valid: u32) -> KeaOptions {
    KeaOptions {
        timers: LeaseTimers {
            renew,
            rebind,
            preferred,
            valid,
        },
        ..KeaOptions::default()
    }
}

fn prefix_of(v: &Value) -> Ipv6Net {
    v["prefix"].as_str().unwrap().parse().unwrap()
}

/// The delegated prefixes in a status document.
fn delegated(status: &Value) -> Vec<Ipv6Net> {
    status["wan"]["delegated_prefixes"]
        .as_array()
        .map(|a| a.iter().map(prefix_of).collect())
        .unwrap_or_default()
}

/// Waits for `wan.dhcpv6.state == state` with at least one delegated prefix
/// and returns the first prefix.
fn wait_bound(router: &Router, timeout: Duration) -> Ipv6Net {
    router
        .wait_status("a delegated prefix, DHCPv6 bound", timeout, |s| {
            (s["wan"]["dhcpv6"]["state"] == "bound")
                .then(|| delegated(s).first().copied())
                .flatten()
        })
        .unwrap()
}

/// The /64 number `subnet_id` of `delegated`.
fn lan_subnet(delegated: Ipv6Net, subnet_id: u16) -> Ipv6Net {
    let base = u128::from(delegated.network());
    let subnet = base | (u128::from(subnet_id) << 64);
    Ipv6Net::new(Ipv6Addr::from(subnet), 64).unwrap()
}

/// `lan[0].prefixes`, as (prefix, entry).
fn lan_prefixes(status: &Value) -> Vec<(Ipv6Net, Value)> {
    status["lan"][0]["prefixes"]
        .as_array()
        .map(|a| a.iter().map(|p| (prefix_of(p), p.clone())).collect())
        .unwrap_or_default()
}

/// Destinations of `ip -6 route show type unreachable` in the router.
fn unreachable_routes(topo: &IpoeTopology) -> Vec<Ipv6Net> {
    let out = topo
        .router
        .exec_ok(&["ip", "-6", "route", "show", "type", "unreachable"])
        .unwrap();
    out.stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            // "unreachable 2001:db8:1000::/56 dev lo proto static metric 1024 ..."
            let first = words.next()?;
            let dst = if first == "unreachable" {
                words.next()?
            } else {
                first
            };
            dst.parse().ok()
        })
        .collect()
}

/// One Kea statistic (`statistic-get`), 0 when Kea has not counted any yet.
fn kea_stat(kea: &KeaDhcp6, name: &str) -> i64 {
    let reply = kea
        .command(&json!({ "command": "statistic-get", "arguments": { "name": name } }))
        .unwrap();
    let reply = match &reply {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    assert_eq!(reply["result"], 0, "statistic-get {name}: {reply}");
    // {"arguments": {"pkt6-renew-received": [[3, "2024-..."], ...]}}
    reply["arguments"][name][0][0].as_i64().unwrap_or(0)
}

/// Kea's PD rows for `prefix`.
fn kea_pd_rows(kea: &KeaDhcp6, prefix: Ipv6Net) -> Vec<cpe_lab::KeaLease6> {
    kea.leases()
        .unwrap()
        .into_iter()
        .filter(|l| l.is_pd && l.prefix == prefix)
        .collect()
}

/// Lines of `log` that contain `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

/// The `dhcp6c` daemon's entry in `daemons[]`.
fn dhcp6c_daemon(status: &Value) -> Value {
    Router::daemon(status, "dhcp6c")
        .cloned()
        .unwrap_or_else(|| panic!("no dhcp6c daemon in {status}"))
}

/// Starts Kea again on the lease file and config `kea` used (an ISP server
/// coming back after an outage keeps its leases).
fn restart_kea(topo: &IpoeTopology, kea: &KeaDhcp6) -> Process {
    let dir = kea.config_path().parent().unwrap().to_path_buf();
    let mut cmd = Command::new("kea-dhcp6");
    cmd.arg("-c")
        .arg(kea.config_path())
        .env("KEA_LOCKFILE_DIR", &dir)
        .env("KEA_PIDFILE_DIR", &dir);
    let p = topo.isp.spawn("kea-dhcp6-again", cmd).unwrap();
    let listening = wait_until("Kea back on UDP 547", Duration::from_secs(10), || {
        topo.isp
            .listening(cpe_lab::Transport::Udp)
            .map(|s| s.iter().any(|s| s.port == 547))
            .unwrap_or(false)
            && kea.socket_path().exists()
    });
    assert!(
        listening.is_ok(),
        "Kea did not come back:\n{}",
        p.log_tail(30)
    );
    p
}

#[test]
fn prefix_is_delegated_published_numbered_on_the_lan_and_routed_unreachable() {
    let s = setup("pd_bind", &KeaOptions::default());
    let started = Instant::now();
    let prefix = wait_bound(&s.router, BRING_UP);
    eprintln!(
        "prefix {prefix} {} ms after cpe run",
        started.elapsed().as_millis()
    );

    // From Kea's pool, with the length we hinted (default.toml: 56).
    assert!(
        plan::PD_POOL.contains(&prefix),
        "{prefix} not from {}",
        plan::PD_POOL
    );
    assert_eq!(prefix.prefix_len(), 56);
    // Kea agrees: a PD lease for exactly this prefix, to the DUID-UUID
    // the router created in its state directory (RFC 6355, type 4).
    let rows = kea_pd_rows(&s.kea, prefix);
    assert!(!rows.is_empty(), "Kea has no lease for {prefix}");
    let ours = std::fs::read_to_string(s.router.state_dir.join("dhcp6c/duid")).unwrap();
    let ours = cpe_lab::parse::kea_leases::parse_hex_bytes(ours.trim()).unwrap();
    assert_eq!(rows[0].duid, ours);
    assert_eq!(&ours[..2], &[0, 4], "DUID-UUID");

    let first = s.router.status().unwrap();
    let wan = &first["wan"];
    assert_eq!(wan["state"], "up", "{wan}");
    assert_eq!(wan["dhcpv6"]["state"], "bound");
    assert!(wan["dhcpv6"]["server_duid"].is_string(), "{wan}");
    let p0 = &wan["delegated_prefixes"][0];
    let (pref0, valid0) = (
        p0["preferred_lft"].as_u64().unwrap(),
        p0["valid_lft"].as_u64().unwrap(),
    );
    // Kea hands out 3000/4000 s; a few seconds may have passed.
    assert!((2990..=3000).contains(&pref0), "{p0}");
    assert!((3990..=4000).contains(&valid0), "{p0}");
    assert!(
        (990..=1000).contains(&wan["dhcpv6"]["t1_s"].as_u64().unwrap()),
        "{wan}"
    );

    // Option 23 servers are upstream DNS.
    let dns: Vec<IpAddr> = wan["dns_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().parse().unwrap())
        .collect();
    for want in [plan::DNS_A, plan::DNS_B] {
        assert!(dns.contains(&IpAddr::V6(want)), "{want} not in {dns:?}");
    }

    // The LAN gets /64 number subnet_id (1) of it, current and not deprecated.
    let lan64 = lan_subnet(prefix, 1);
    let lan = lan_prefixes(&first);
    let entry = lan
        .iter()
        .find(|(p, _)| *p == lan64)
        .unwrap_or_else(|| panic!("{lan64} not on the LAN: {}", first["lan"]));
    assert_eq!(entry.1["deprecated"], false, "{}", entry.1);
    assert_eq!(entry.1["origin"], "delegated", "{}", entry.1);

    // RFC 7084 WPD-5: the delegated prefix is unreachable unless more specific.
    let routes = unreachable_routes(&s.topo);
    assert!(routes.contains(&prefix), "no unreachable route: {routes:?}");
    // WPD-5 (a): the ISP routes the delegation to us, and a packet to a /64
    // of it that no LAN uses is answered with Destination Unreachable
    // instead of going back to the WAN.
    s.topo.route_delegated_prefix(prefix).unwrap();
    let unused = Ipv6Addr::from(u128::from(lan_subnet(prefix, 2).addr()) | 1).to_string();
    let ping = s
        .topo
        .isp
        .exec_timeout(
            &["ping", "-6", "-c", "1", "-W", "2", &unused],
            Duration::from_secs(6),
        )
        .unwrap();
    assert!(
        ping.stdout.contains("Destination unreachable"),
        "no ICMPv6 Destination Unreachable for {unused}: {ping:?}"
    );

    // Lifetimes count down in the console.
    std::thread::sleep(Duration::from_millis(2100));
    let later = s.router.status().unwrap();
    let p1 = &later["wan"]["delegated_prefixes"][0];
    assert_eq!(prefix_of(p1), prefix);
    let (pref1, valid1) = (
        p1["preferred_lft"].as_u64().unwrap(),
        p1["valid_lft"].as_u64().unwrap(),
    );
    assert!(
        pref1 < pref0 && pref0 - pref1 <= 4,
        "preferred {pref0} -> {pref1}"
    );
    assert!(
        valid1 < valid0 && valid0 - valid1 <= 4,
        "valid {valid0} -> {valid1}"
    );
}

#[test]
fn renew_at_t1_extends_the_lease_at_kea_and_keeps_the_prefix() {
    let s = setup("pd_renew", &kea_with_timers(2, 30, 60, 90));
    let prefix = wait_bound(&s.router, BRING_UP);
    let rows_before = kea_pd_rows(&s.kea, prefix);
    let expire_before = rows_before.iter().map(|l| l.expire).max().unwrap();
    let renews_before = kea_stat(&s.kea, "pkt6-renew-received");

    // T1 = 2 s: a Renew, answered by Kea, extends the lease past its old end.
    let renewed = wait_until(
        "a Renew extending the lease",
        Duration::from_secs(10),
        || {
            kea_stat(&s.kea, "pkt6-renew-received") > renews_before
                && kea_pd_rows(&s.kea, prefix)
                    .iter()
                    .any(|l| l.expire > expire_before)
        },
    );
    assert!(
        renewed.is_ok(),
        "no Renew extended the lease at Kea; rows: {:?}\n{}",
        kea_pd_rows(&s.kea, prefix),
        s.router.supervisor.log_tail(40)
    );
    // Back to bound, same prefix, T1 counting again from the Reply.
    let st = s
        .router
        .wait_status("bound after Renew", Duration::from_secs(5), |st| {
            (st["wan"]["dhcpv6"]["state"] == "bound").then(|| st.clone())
        })
        .unwrap();
    assert_eq!(delegated(&st), vec![prefix]);

    // The client's own account: Renew -> Reply, same prefix.
    let log = s.router.supervisor.log_text();
    assert!(
        !lines_with(&log, "bound -> renewing").is_empty(),
        "no Renew in the log:\n{log}"
    );
    assert!(
        !lines_with(&log, "renewing -> bound").is_empty(),
        "no Reply to the Renew in the log:\n{log}"
    );
    let renewed_lines = lines_with(&log, "renewed: prefixes ");
    assert!(!renewed_lines.is_empty(), "{log}");
    assert!(
        renewed_lines
            .iter()
            .all(|l| l.contains(&format!("prefixes {prefix} "))),
        "{renewed_lines:?}"
    );
    // No Rebind was needed while Kea answered.
    assert_eq!(kea_stat(&s.kea, "pkt6-rebind-received"), 0);
}

#[test]
fn kea_outage_renew_fails_rebind_at_t2_and_the_lease_is_kept_when_kea_returns() {
    let s = setup("pd_rebind", &kea_with_timers(2, 4, 60, 90));
    let prefix = wait_bound(&s.router, BRING_UP);
    let t_bound = Instant::now();
    s.kea.process.stop();

    // Renew at T1 goes unanswered; Rebind at T2.
    s.router
        .wait_status("rebinding after T2", Duration::from_secs(10), |st| {
            (st["wan"]["dhcpv6"]["state"] == "rebinding").then_some(())
        })
        .unwrap();
    let t_rebinding = t_bound.elapsed();
    eprintln!("rebinding {} ms after bound", t_rebinding.as_millis());
    // While Kea is away, the prefix stays published (valid 90 s).
    let st = s.router.status().unwrap();
    assert_eq!(delegated(&st), vec![prefix], "{st}");
    let log = s.router.supervisor.log_text();
    assert!(!lines_with(&log, "bound -> renewing").is_empty(), "{log}");
    assert!(
        !lines_with(&log, "renewing -> rebinding").is_empty(),
        "{log}"
    );

    // Kea back, same lease file: the next Rebind retransmission (RFC 8415
    // REB_TIMEOUT 10 s, then doubling) gets the lease confirmed.
    let kea2 = restart_kea(&s.topo, &s.kea);
    let st = s
        .router
        .wait_status(
            "bound again after Kea returned",
            Duration::from_secs(25),
            |st| (st["wan"]["dhcpv6"]["state"] == "bound").then(|| st.clone()),
        )
        .unwrap();
    assert_eq!(delegated(&st), vec![prefix], "{st}");
    assert!(
        st["wan"]["dhcpv6"]["previous_prefixes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{st}"
    );
    // The new Kea saw a Rebind (not a Solicit) and still has the same prefix.
    assert!(kea_stat(&s.kea, "pkt6-rebind-received") >= 1);
    assert_eq!(kea_stat(&s.kea, "pkt6-solicit-received"), 0);
    assert!(
        kea_pd_rows(&s.kea, prefix)
            .iter()
            .any(|l| l.valid_lifetime == 90),
        "{:?}",
        s.kea.leases()
    );
    let log = s.router.supervisor.log_text();
    assert!(!lines_with(&log, "rebinding -> bound").is_empty(), "{log}");
    assert!(!lines_with(&log, "rebound: prefixes").is_empty(), "{log}");
    drop(kea2);
}

#[test]
fn kea_renumbering_is_one_change_with_the_new_prefix_and_the_old_deprecated() {
    // Kea's lab config does not persist its server DUID (DUID-LLT), so
    // `config-reload` gives Kea a new one and it silently drops our Renew
    // (it names the old server): the change arrives with the Rebind at T2,
    // as it would after an ISP replaced its server. T2 is kept short.
    let timers = LeaseTimers::SHORT;
    let opts = KeaOptions {
        timers,
        ..KeaOptions::default()
    };
    let s = setup("pd_renumber", &opts);
    let old = wait_bound(&s.router, BRING_UP);
    assert!(plan::PD_POOL.contains(&old));

    // The ISP moves the subnet to another pool (same subnet id, leases kept).
    let renumbered = KeaOptions {
        pd_pool: Some(PdPool {
            prefix: plan::PD_POOL_RENUMBERED,
            delegated_len: 56,
        }),
        ..opts
    };
    s.kea.reload(&renumbered).unwrap();
    let st = s
        .router
        .wait_status(
            "a prefix from the new pool",
            Duration::from_secs(15),
            |st| {
                delegated(st)
                    .iter()
                    .any(|p| plan::PD_POOL_RENUMBERED.contains(p))
                    .then(|| st.clone())
            },
        )
        .unwrap();
    let new = delegated(&st)[0];
    assert_eq!(delegated(&st), vec![new], "{st}");
    assert_eq!(new.prefix_len(), 56);

    // The same snapshot carries the old prefix as phasing out ...
    let previous: Vec<Ipv6Net> = st["wan"]["dhcpv6"]["previous_prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(prefix_of)
        .collect();
    assert_eq!(previous, vec![old], "{st}");
    // ... and the LAN has the new /64 and the old one deprecated.
    let lan = lan_prefixes(&st);
    let find = |p: Ipv6Net| {
        lan.iter()
            .find(|(q, _)| *q == p)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{p} not on the LAN: {}", st["lan"]))
    };
    let new64 = find(lan_subnet(new, 1));
    let old64 = find(lan_subnet(old, 1));
    assert_eq!(new64["deprecated"], false, "{new64}");
    assert_eq!(old64["deprecated"], true, "{old64}");
    assert_eq!(old64["preferred_lft"], 0, "{old64}");
    // Current delegations come first.
    let new_at = lan.iter().position(|(p, _)| *p == lan_subnet(new, 1));
    let old_at = lan.iter().position(|(p, _)| *p == lan_subnet(old, 1));
    assert!(new_at < old_at, "{}", st["lan"]);

    // One state change: the supervisor never saw a moment without a prefix.
    let log = s.router.supervisor.log_text();
    let changes = lines_with(&log, "delegated prefixes now [");
    assert_eq!(
        changes.len(),
        2,
        "expected bind + renumbering only:\n{changes:#?}"
    );
    assert!(
        changes[0].contains(&format!("now [{old}], phasing out []")),
        "{changes:#?}"
    );
    assert!(
        changes[1].contains(&format!("now [{new}], phasing out [{old}]")),
        "{changes:#?}"
    );

    // Routes follow: the new prefix is unreachable-routed.
    let ok = wait_until(
        "unreachable route for the new prefix",
        Duration::from_secs(3),
        || unreachable_routes(&s.topo).contains(&new),
    );
    assert!(ok.is_ok(), "{:?}", unreachable_routes(&s.topo));
}

#[test]
fn dhcp6c_killed_sends_no_release_and_gets_the_same_prefix_back() {
    let s = setup("pd_restart", &KeaOptions::default());
    let prefix = wait_bound(&s.router, BRING_UP);
    let status = s.router.status().unwrap();
    let victim = dhcp6c_daemon(&status);
    let old_pid = victim["pid"].as_u64().unwrap();
    let rebinds_before = kea_stat(&s.kea, "pkt6-rebind-received");

    unsafe { libc::kill(old_pid as i32, libc::SIGKILL) };
    let st = s
        .router
        .wait_status(
            "dhcp6c restarted and bound again",
            Duration::from_secs(10),
            |st| {
                let d = dhcp6c_daemon(st);
                let pid = d["pid"].as_u64()?;
                (pid != old_pid
                    && d["state"] == "running"
                    && st["wan"]["dhcpv6"]["state"] == "bound"
                    && kea_stat(&s.kea, "pkt6-rebind-received") > rebinds_before)
                    .then(|| st.clone())
            },
        )
        .unwrap();
    assert_eq!(dhcp6c_daemon(&st)["restarts"], 1, "{st}");
    // The same prefix, verified with the server by a Rebind (RFC 8415
    // 18.2.12), never a Release (RFC 9096 WPD-9).
    assert_eq!(delegated(&st), vec![prefix], "{st}");
    assert_eq!(kea_stat(&s.kea, "pkt6-release-received"), 0);
    assert!(
        kea_pd_rows(&s.kea, prefix)
            .iter()
            .all(|l| l.valid_lifetime > 0),
        "Kea freed the prefix: {:?}",
        kea_pd_rows(&s.kea, prefix)
    );
    let kea_log = s.kea.process.log_text();
    assert!(
        !kea_log.contains("RELEASE"),
        "Kea logged a Release:\n{kea_log}"
    );
    let log = s.router.supervisor.log_text();
    assert!(
        !lines_with(&log, "resuming the lease saved before restart").is_empty(),
        "{log}"
    );
    // The LAN never lost its /64 (the change log shows one prefix, never none).
    let changes = lines_with(&log, "delegated prefixes now [");
    assert!(
        changes
            .iter()
            .all(|l| l.contains(&format!("now [{prefix}]"))),
        "{changes:#?}"
    );
    // Still unreachable-routed after the restart.
    assert!(unreachable_routes(&s.topo).contains(&prefix));

    // An orderly stop (SIGTERM) keeps the lease as well.
    let pid = dhcp6c_daemon(&st)["pid"].as_u64().unwrap();
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let st = s
        .router
        .wait_status("dhcp6c back after SIGTERM", Duration::from_secs(10), |st| {
            let d = dhcp6c_daemon(st);
            (d["pid"].as_u64()? != pid
                && d["state"] == "running"
                && st["wan"]["dhcpv6"]["state"] == "bound")
                .then(|| st.clone())
        })
        .unwrap();
    assert_eq!(delegated(&st), vec![prefix], "{st}");
    assert_eq!(kea_stat(&s.kea, "pkt6-release-received"), 0);
}

#[test]
fn config_reload_restarting_dhcp6c_sends_no_release_and_keeps_the_prefix() {
    let s = setup("pd_reload", &KeaOptions::default());
    let prefix = wait_bound(&s.router, BRING_UP);
    let status = s.router.status().unwrap();
    let old_pid = dhcp6c_daemon(&status)["pid"].as_u64().unwrap();

    // An edit of the DHCPv6 client's own slice: the supervisor restarts it.
    let good = std::fs::read_to_string(&s.router.config).unwrap();
    let edited = good.replacen("[wan.dhcpv6]\n", "[wan.dhcpv6]\nrapid_commit = false\n", 1);
    assert_ne!(good, edited);
    std::fs::write(&s.router.config, &edited).unwrap();
    let out = s.router.cpectl(&["reload"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st = s
        .router
        .wait_status(
            "dhcp6c restarted by the reload and bound again",
            Duration::from_secs(10),
            |st| {
                let d = dhcp6c_daemon(st);
                (st["config_generation"] == 2
                    && d["pid"].as_u64()? != old_pid
                    && d["state"] == "running"
                    && st["wan"]["dhcpv6"]["state"] == "bound"
                    && kea_stat(&s.kea, "pkt6-rebind-received") >= 1)
                    .then(|| st.clone())
            },
        )
        .unwrap();
    // RFC 9096 WPD-9: a reload is not a teardown.
    assert_eq!(kea_stat(&s.kea, "pkt6-release-received"), 0);
    assert_eq!(delegated(&st), vec![prefix], "{st}");
    assert!(
        kea_pd_rows(&s.kea, prefix)
            .iter()
            .all(|l| l.valid_lifetime > 0),
        "{:?}",
        kea_pd_rows(&s.kea, prefix)
    );
    let log = s.router.supervisor.log_text();
    assert!(
        !lines_with(&log, "rapid commit false").is_empty(),
        "the new instance did not take the edited config:\n{log}"
    );
}

/// RFC 7084 WAA-7 and WAA-9: an ISP that numbers the WAN neither by SLAAC
/// (its RA has no prefix) nor by DHCPv6 (no IA_NA pool) but delegates a
/// prefix. The router has no global address on `wan0`, yet its own traffic
/// to the Internet works: it is sourced from the router's address in the
/// delegated prefix, held on the LAN (weak host model), and the answer
/// comes back.
#[test]
fn without_a_global_wan_address_the_router_sources_from_its_delegated_prefix() {
    let lab = Lab::new("pd_nowan").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _radvd = topo
        .start_radvd_isp(&RadvdOptions {
            prefixes: Vec::new(),
            ..RadvdOptions::isp()
        })
        .unwrap();
    let _kea = topo
        .start_kea_dhcp6(&KeaOptions {
            na_pool: None,
            ..KeaOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let prefix = wait_bound(&router, BRING_UP);
    topo.route_delegated_prefix(prefix).unwrap();

    let global = topo
        .router
        .exec_ok(&["ip", "-6", "addr", "show", "dev", "wan0", "scope", "global"])
        .unwrap();
    assert!(
        global.stdout.trim().is_empty(),
        "wan0 has a global address: {}",
        global.stdout
    );
    let own = Ipv6Addr::from(u128::from(lan_subnet(prefix, 1).addr()) | 1);
    let isp = plan::ISP_ADDR.to_string();
    let route = topo
        .router
        .exec_ok(&["ip", "-6", "route", "get", &isp])
        .unwrap();
    assert!(
        route.stdout.contains(&format!("src {own}")),
        "not sourced from {own}: {}",
        route.stdout
    );
    let ping = topo
        .router
        .exec_timeout(
            &["ping", "-6", "-c", "1", "-W", "2", &isp],
            Duration::from_secs(6),
        )
        .unwrap();
    assert!(ping.success(), "no answer from {isp}: {ping:?}");
}
