//! The field engineer's console against a broken ISP (issue 14's table):
//! `cpe run` with `config/default.toml` in the lab, the ISP broken one way
//! at a time, and what `cpectl why` and `cpectl status` (the text an
//! engineer reads on the serial console) say, each within a stated time.
//!
//! Timers are scaled down (short lease and router lifetimes, fast RAs) so
//! each scenario runs in well under a minute.
//!
//! Needs root, the lab packages and the `cpe` binary (`cargo build -p cpe`;
//! found through `$CPE_BIN` or next to this test executable).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::time::{Duration, Instant};

use cpe_lab::router::{RouterLab, RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Check, Chrony, ChronyOptions, IspOptions, Kea4Options, KeaOptions, Lab, LeaseTimers, Radvd,
    RadvdOptions, TopologyOptions, plan, wait_for, wait_until,
};
use ipnet::Ipv6Net;

/// Bring-up of the standard ISP (RA, DHCPv6, delegation).
const BRING_UP: Duration = Duration::from_secs(20);

fn setup(hint: &str, isp: IspOptions) -> RouterLab {
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    RouterLab::start(hint, &isp, &source).unwrap()
}

/// The standard lab ISP without its DNS servers (what most scenarios
/// need; Unbound only slows the start).
fn without_dns() -> IspOptions {
    IspOptions {
        dns: vec![],
        ..IspOptions::default()
    }
}

/// `cpectl ARGS` as text (any exit code: `why` exits 1 or 2 on a fault).
fn console(router: &Router, args: &[&str]) -> String {
    let out = router.cpectl(args).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
    }
    text
}

/// Waits until `cpectl ARGS` shows every one of `needles` (words joined,
/// so a wrapped line still matches); returns the text and how long it
/// took. A timeout shows the last screen and the supervisor's log.
fn wait_screen(router: &Router, args: &[&str], needles: &[&str], within: Duration) -> String {
    let start = Instant::now();
    let mut last = String::new();
    let found = wait_for(
        &format!("`cpectl {}` shows {needles:?}", args.join(" ")),
        within,
        || {
            last = console(router, args);
            let joined = last.split_whitespace().collect::<Vec<_>>().join(" ");
            Ok(if needles.iter().all(|n| joined.contains(n)) {
                Check::Ready(last.clone())
            } else {
                Check::NotYet("not yet".into())
            })
        },
    );
    match found {
        Ok(text) => {
            eprintln!(
                "`cpectl {}` after {:.1} s:\n{text}",
                args.join(" "),
                start.elapsed().as_secs_f64()
            );
            text
        }
        Err(e) => panic!(
            "{e}\nlast screen:\n{last}\nsupervisor log:\n{}",
            router.supervisor.log_tail(60)
        ),
    }
}

/// Waits for a delegated prefix on the WAN (the healthy starting point).
fn wait_delegation(router: &Router) {
    router
        .wait_status("a delegated prefix", BRING_UP, |s| {
            s["wan"]["delegated_prefixes"]
                .as_array()
                .filter(|a| !a.is_empty())
                .map(|_| ())
        })
        .unwrap();
}

/// The screen the faults are measured against: the whole ISP (RA, Kea
/// with NTP servers, DHCPv4, Unbound A and B, chrony) and nothing wrong.
/// It fits one 24 x 80 serial console and has no WARN block; `why` says
/// healthy and exits 0.
#[test]
fn the_healthy_screen_fits_24_by_80_without_warnings() {
    let lab = Lab::new("cf_healthy").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _chrony = Chrony::start(
        &topo.isp,
        &ChronyOptions {
            bind: vec![std::net::IpAddr::V6(plan::ISP_ADDR)],
            local_stratum: 8,
        },
    )
    .unwrap();
    let _isp = topo
        .start_isp(&IspOptions {
            kea: Some(KeaOptions {
                ntp_servers: vec![plan::ISP_ADDR],
                ..KeaOptions::default()
            }),
            kea4: Some(Kea4Options::default()),
            ..IspOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let router = Router::start(&topo.router, &source).unwrap();
    let text = wait_screen(
        &router,
        &["status"],
        &["prefix 2001:db8:", "time synced to", " ago", "up"],
        Duration::from_secs(30),
    );
    let lines = text.lines().count();
    assert!(lines <= 24, "{lines} lines:\n{text}");
    assert!(!text.contains("WARN"), "{text}");
    let out = router.cpectl(&["why"]).unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("healthy: WAN wan0 up"));
}

#[test]
fn isp_ra_with_m0_o0_is_named_as_dhcpv6s_own_reason() {
    let s = setup(
        "cf_m0o0",
        IspOptions {
            radvd: Some(RadvdOptions {
                managed: false,
                other: false,
                ..RadvdOptions::isp()
            }),
            ..without_dns()
        },
    );
    // Within 15 s of the router's start: the WAN is up by SLAAC, DHCPv6
    // says why it does not run, and `why` explains the missing prefix.
    let status = wait_screen(
        &s.router,
        &["status"],
        &[
            "dhcpv6 idle: ISP RA has M=0 O=0; wan.dhcpv6.start = \"ra\"",
            "M=0 O=0 lifetime 30m00s",
        ],
        Duration::from_secs(15),
    );
    assert!(status.contains("prefix -"), "{status}");
    wait_screen(
        &s.router,
        &["why"],
        &[
            "no IPv6 on LAN br0: no prefix delegated: DHCPv6 idle: ISP RA has M=0 O=0",
            "(the ISP does not offer DHCPv6 on this link)",
        ],
        Duration::from_secs(5),
    );
    // The log gives DHCPv6's reason, not the WAN's, once it has lasted a
    // status interval (10 s).
    let logged = wait_until(
        "dhcp6c's reason in the log",
        Duration::from_secs(12),
        || {
            s.router.supervisor.log_text().lines().any(|l| {
                l.contains("dhcp6c: not started: ISP RA has M=0 O=0; wan.dhcpv6.start = \"ra\"")
            })
        },
    );
    assert!(logged.is_ok(), "{}", s.router.supervisor.log_text());
    let _ = (&s.isp, &s.topo);
}

#[test]
fn kea_without_a_pd_pool_refuses_the_prefix_with_its_status_code() {
    let s = setup(
        "cf_nopd",
        IspOptions {
            kea: Some(KeaOptions {
                pd_pool: None,
                ..KeaOptions::default()
            }),
            ..without_dns()
        },
    );
    // Kea leases the address (M=1) and answers IA_PD with NoPrefixAvail.
    let status = wait_screen(
        &s.router,
        &["status"],
        &["IA_PD refused: NoPrefixAvail (code 6, server 00:02:00:00:"],
        Duration::from_secs(15),
    );
    assert!(status.contains("prefix -"), "{status}");
    wait_screen(
        &s.router,
        &["why"],
        &[
            "no prefix delegated: DHCPv6",
            "IA_PD refused: NoPrefixAvail (code 6",
        ],
        Duration::from_secs(5),
    );
    let log = s.router.supervisor.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("refuses IA_PD: NoPrefixAvail (6)")),
        "the server's status code must be logged:\n{log}"
    );
    let _ = (&s.isp, &s.topo);
}

#[test]
fn a_dhcpv6_server_gone_after_bind_shows_renew_and_rebind_unanswered() {
    let s = setup(
        "cf_keagone",
        IspOptions {
            kea: Some(KeaOptions {
                timers: LeaseTimers {
                    renew: 3,
                    rebind: 6,
                    preferred: 40,
                    valid: 60,
                },
                ..KeaOptions::default()
            }),
            ..without_dns()
        },
    );
    wait_delegation(&s.router);
    let kea = s.isp.kea.as_ref().unwrap();
    kea.process.kill(libc::SIGKILL);
    // T1 3 s, T2 6 s, then Rebind every 10 s then 20 s: two Rebinds
    // unanswered within 20 s of the kill, while the prefix (valid 60 s)
    // is still held.
    wait_screen(
        &s.router,
        &["why"],
        &[
            "dhcpv6: DHCPv6 server not answering: rebinding",
            "Rebind, 0 replies; last reply",
        ],
        Duration::from_secs(25),
    );
    wait_screen(
        &s.router,
        &["status"],
        &["dhcpv6 rebinding", "Rebind, 0 replies; last reply"],
        Duration::from_secs(5),
    );
    let _ = &s.topo;
}

#[test]
fn isp_ras_that_stop_are_warned_of_before_the_router_lifetime_ends() {
    let s = setup(
        "cf_rastop",
        IspOptions {
            radvd: Some(RadvdOptions {
                router_lifetime: 40,
                min_interval: 3,
                max_interval: 4,
                ..RadvdOptions::isp()
            }),
            ..without_dns()
        },
    );
    wait_delegation(&s.router);
    // Two RAs from the same router: the interval is known.
    s.router
        .wait_status("the ISP's RA interval", BRING_UP, |st| {
            st["daemon_status"]["wan"]["last_ra"]["interval_s"].as_u64()
        })
        .unwrap();
    // SIGKILL: on SIGTERM radvd would send a final RA with lifetime 0.
    let radvd = s.isp.radvd.as_ref().unwrap();
    radvd.process.kill(libc::SIGKILL);
    // Three intervals of at most 4 s, plus a status refresh: 20 s,
    // against a router lifetime of 40 s.
    let status = wait_screen(
        &s.router,
        &["status"],
        &["WARN wan: no RA from the ISP router fe80::ff:fe00:101 for"],
        Duration::from_secs(20),
    );
    assert!(status.contains("UP"), "the WAN is still up: {status}");
    wait_screen(
        &s.router,
        &["why"],
        &[
            "no RA from the ISP router fe80::ff:fe00:101",
            "router lifetime 40s",
        ],
        Duration::from_secs(5),
    );
}

#[test]
fn dead_upstream_dns_servers_are_down_on_the_status_screen() {
    // No Unbound: the resolvers Kea announces do not answer.
    let s = setup("cf_dnsdead", without_dns());
    wait_delegation(&s.router);
    let status = s.router.status().unwrap();
    let ula_router = status["lan"][0]["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["origin"] == "ula")
        .map(|p| p["router_address"].as_str().unwrap().to_owned())
        .unwrap();
    // A LAN host asks; the forwarder tries each upstream and fails.
    let start = Instant::now();
    let mut last = String::new();
    let ok = wait_for("both upstreams DOWN", Duration::from_secs(30), || {
        let _ = s
            .topo
            .host
            .kdig(&[&format!("@{ula_router}"), "a.test", "AAAA"]);
        last = console(&s.router, &["status"]);
        let joined = last.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(
            if joined.contains(&format!("{} DOWN (", plan::DNS_A))
                && joined.contains(&format!("{} DOWN (", plan::DNS_B))
            {
                Check::Ready(())
            } else {
                Check::NotYet("not yet".into())
            },
        )
    });
    assert!(ok.is_ok(), "{ok:?}\n{last}");
    eprintln!(
        "`cpectl status` after {:.1} s:\n{last}",
        start.elapsed().as_secs_f64()
    );
    assert!(
        last.contains("WARN  dns: every upstream DNS server is down"),
        "{last}"
    );
    wait_screen(
        &s.router,
        &["why"],
        &[
            "dns: every upstream DNS server is down",
            "clients get SERVFAIL",
        ],
        Duration::from_secs(5),
    );
}

#[test]
fn a_rogue_router_on_the_lan_is_on_the_status_screen() {
    let s = setup("cf_rogue", without_dns());
    wait_delegation(&s.router);
    let rogue_prefix: Ipv6Net = "2001:db8:bad::/64".parse().unwrap();
    let _rogue = Radvd::start(&s.topo.host, &RadvdOptions::rogue_host(rogue_prefix)).unwrap();
    // radvd's first RA goes out at once; the status refreshes within
    // seconds.
    let needle = format!(
        "WARN lan br0: another router advertises on br0: {}",
        plan::HOST_LINK_LOCAL
    );
    wait_screen(
        &s.router,
        &["status"],
        &[&needle, "prefixes 2001:db8:bad::/64"],
        Duration::from_secs(15),
    );
    wait_screen(
        &s.router,
        &["why"],
        &[&format!(
            "another router advertises on br0: {}",
            plan::HOST_LINK_LOCAL
        )],
        Duration::from_secs(5),
    );
    let _ = &s.isp;
}

#[test]
fn a_refused_reload_is_on_the_status_screen_until_one_applies() {
    let s = setup("cf_reload", without_dns());
    wait_delegation(&s.router);
    let good = std::fs::read_to_string(&s.router.config).unwrap();
    let broken = good.replacen("[[lan]]", "[[lan]]\nbogus_key = 1", 1);
    std::fs::write(&s.router.config, &broken).unwrap();
    let out = s.router.cpectl(&["reload"]).unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let cfg = s.router.config.display().to_string();
    // At once: the supervisor answers from its own state.
    let needle = format!("WARN config: running config differs from {cfg}: reload refused");
    wait_screen(
        &s.router,
        &["status"],
        &[&needle, "bogus_key"],
        Duration::from_secs(2),
    );
    wait_screen(
        &s.router,
        &["why"],
        &[&format!("config: running config differs from {cfg}")],
        Duration::from_secs(2),
    );
    // A reload that applies (a DHCPv6 change: dhcp6c restarts) clears it.
    let edited = good.replacen("prefix_hint = 56", "prefix_hint = 60", 1);
    assert_ne!(edited, good);
    std::fs::write(&s.router.config, &edited).unwrap();
    let out = s.router.cpectl(&["reload"]).unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = console(&s.router, &["status"]);
    assert!(!text.contains("WARN  config"), "{text}");
    // The restarted client resumes its lease and says it starts once
    // more; the refused reload started nothing.
    wait_until(
        "dhcp6c restarted and bound",
        Duration::from_secs(10),
        || {
            s.router
                .supervisor
                .log_text()
                .contains("rebinding -> bound")
        },
    )
    .unwrap();
    let log = s.router.supervisor.log_text();
    assert_eq!(
        log.matches("dhcp6c: WAN wan0 ready (RA M=1 O=1); starting")
            .count(),
        2,
        "{log}"
    );
    let _ = (&s.isp, &s.topo);
}

#[test]
fn no_dhcpv6_server_shows_solicits_unanswered_and_logs_them_within_a_status_interval() {
    let s = setup(
        "cf_nokea",
        IspOptions {
            kea: None,
            ..without_dns()
        },
    );
    // Solicits at about 1, 2, 4, 8 s (RFC 8415 SOL_TIMEOUT doubling):
    // logged within a status interval (10 s) of the third, long before
    // anything expires.
    let logged = wait_until(
        "unanswered Solicits logged",
        Duration::from_secs(15),
        || {
            let log = s.router.supervisor.log_text();
            log.lines()
                .any(|l| l.contains("dhcp6c: no reply to") && l.contains("Solicit in"))
        },
    );
    assert!(logged.is_ok(), "{}", s.router.supervisor.log_tail(30));
    for l in s.router.supervisor.log_text().lines() {
        if l.contains("dhcp6c: no reply to") {
            eprintln!("{l}");
        }
    }
    let text = wait_screen(
        &s.router,
        &["status"],
        &["dhcpv6 soliciting", "Solicit, 0 replies", "prefix -"],
        Duration::from_secs(2),
    );
    let sent: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("dhcpv6 soliciting "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Solicit count:\n{text}"));
    assert!(sent >= 3, "{text}");
    wait_screen(
        &s.router,
        &["why"],
        &[
            "no IPv6 on LAN br0: no prefix delegated: DHCPv6 soliciting",
            "Solicit, 0 replies; ISP RA seen",
            "with M=1 O=1",
        ],
        Duration::from_secs(2),
    );
    let _ = (&s.isp, &s.topo);
}

#[test]
fn kea_refusing_the_prefix_on_renew_is_named_with_its_status_code() {
    let kea = KeaOptions {
        timers: LeaseTimers {
            renew: 3,
            rebind: 30,
            preferred: 40,
            valid: 60,
        },
        ..KeaOptions::default()
    };
    let s = setup(
        "cf_renewref",
        IspOptions {
            kea: Some(kea.clone()),
            ..without_dns()
        },
    );
    wait_delegation(&s.router);
    // The ISP's pool goes away under a bound client: its Renew (T1 3 s)
    // is answered without the prefix.
    s.isp
        .kea
        .as_ref()
        .unwrap()
        .reload(&KeaOptions {
            pd_pool: None,
            ..kea
        })
        .unwrap();
    // Seen on the status screen and in why within two Renews, while the
    // old prefix runs out; logged once.
    wait_screen(
        &s.router,
        &["status"],
        &[
            "why6: IA_PD refused: NoPrefixAvail (code 6, server 00:02:00:00:",
            "prefix 2001:db8:1000::/56",
        ],
        Duration::from_secs(10),
    );
    wait_screen(
        &s.router,
        &["why"],
        &[
            "dhcpv6: DHCPv6 server no longer delegates",
            "IA_PD refused: NoPrefixAvail (code 6",
        ],
        Duration::from_secs(2),
    );
    std::thread::sleep(Duration::from_secs(4));
    let log = s.router.supervisor.log_text();
    assert_eq!(
        log.matches("refuses IA_PD: NoPrefixAvail (6)").count(),
        1,
        "{log}"
    );
    let _ = &s.topo;
}
