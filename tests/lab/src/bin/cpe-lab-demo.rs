//! The namespace-lab demo: the router (`cpe run` with a config, by default
//! `config/default.toml`) between an emulated ISP (radvd IPoE RAs, Kea
//! DHCPv6 with prefix delegation, two Unbound resolvers) and a LAN host
//! whose Linux kernel is the SLAAC client. Prints each stage as it
//! completes, the LAN host's view and `cpectl status`.
//!
//! `cpe-lab-demo [--config FILE] [--keep]`; needs root. `--keep` leaves the
//! lab running until Ctrl-C and prints how to get into its namespaces.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cpe_lab::router::{RouterUnderTest, repo_file};
use cpe_lab::{IspOptions, Lab, TopologyOptions, plan};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    // Ctrl-C must end in an orderly teardown of the lab, never kill the
    // process mid-way: block the signals in every thread (before any
    // exists) and let one thread turn them into a flag.
    watch_interrupts();
    let mut config = repo_file("config/default.toml");
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => match args.next() {
                Some(f) => config = PathBuf::from(f),
                None => return usage(),
            },
            "--keep" => keep = true,
            _ => return usage(),
        }
    }
    match run(&config, keep) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: cpe-lab-demo [--config FILE] [--keep]");
    ExitCode::from(2)
}

fn stage(t0: Instant, text: &str) {
    println!("[{:>6.2} s] {text}", t0.elapsed().as_secs_f64());
}

fn run(config: &std::path::Path, keep: bool) -> Result<(), String> {
    let source = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let t0 = Instant::now();
    let lab = Lab::new("demo").map_err(|e| e.to_string())?;
    let topo = lab
        .ipoe(&TopologyOptions::default())
        .map_err(|e| e.to_string())?;
    stage(t0, "lab up: namespaces isp, rtr (wan0, br0), host");
    let _isp = topo
        .start_isp(&IspOptions::default())
        .map_err(|e| e.to_string())?;
    stage(
        t0,
        "ISP ready: radvd (RA M=1 O=1), Kea DHCPv6 (PD pool 2001:db8:1000::/40), Unbound A and B",
    );
    let router = RouterUnderTest::start(&topo.router, &source).map_err(|e| e.to_string())?;
    stage(
        t0,
        &format!("router started: cpe run --config {}", config.display()),
    );
    let wait = Duration::from_secs(20);
    let wan = router
        .wait_status("WAN up", wait, |s| {
            (s["wan"]["state"] == "up")
                .then(|| s["wan"]["reason"].as_str().unwrap_or("").to_string())
        })
        .map_err(|e| e.to_string())?;
    stage(t0, &format!("WAN up: {wan}"));
    let prefix = router
        .wait_status("prefix delegated", wait, |s| {
            let p = &s["wan"]["delegated_prefixes"][0];
            p["prefix"].as_str().map(|x| {
                format!(
                    "{x} (preferred {} s, valid {} s)",
                    p["preferred_lft"], p["valid_lft"]
                )
            })
        })
        .map_err(|e| e.to_string())?;
    stage(t0, &format!("prefix delegated: {prefix}"));
    let host_addr = topo
        .host
        .wait_for_global_v6(plan::HOST_IF, wait)
        .map_err(|e| e.to_string())?;
    stage(
        t0,
        &format!("LAN host formed {} by SLAAC from our RA", host_addr.net),
    );
    let route = topo
        .host
        .wait_for_default_route_v6(wait)
        .map_err(|e| e.to_string())?;
    stage(
        t0,
        &format!(
            "LAN host default route: via {} dev {} (proto {})",
            route.gateway.map(|g| g.to_string()).unwrap_or_default(),
            route.dev.as_deref().unwrap_or("?"),
            route.protocol.as_deref().unwrap_or("?")
        ),
    );
    let status = router.status().unwrap_or_default();
    let resolver = status["lan"][0]["prefixes"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["origin"] == "ula"))
        .and_then(|p| p["router_address"].as_str())
        .unwrap_or("")
        .to_string();
    if !resolver.is_empty() {
        match topo.host.kdig(&[&format!("@{resolver}"), "a.test", "AAAA"]) {
            Ok(replies) => {
                for r in replies {
                    let answers: Vec<String> = r
                        .answers
                        .iter()
                        .map(|a| format!("{} {} {}", a.name, a.rtype, a.data))
                        .collect();
                    stage(
                        t0,
                        &format!(
                            "LAN host asked the router ({resolver}) for a.test AAAA: {} {}",
                            r.status,
                            answers.join(", ")
                        ),
                    );
                }
            }
            Err(e) => stage(t0, &format!("DNS query through the router failed: {e}")),
        }
    }
    let host_view = topo
        .host
        .exec(&["ip", "-6", "addr", "show", "dev", plan::HOST_IF])
        .map(|o| o.stdout)
        .unwrap_or_default();
    println!(
        "\n--- LAN host: ip -6 addr show dev {}\n{host_view}",
        plan::HOST_IF
    );
    let out = router.cpectl(&["status"]).map_err(|e| e.to_string())?;
    println!(
        "--- router: cpectl status\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    if keep {
        println!(
            "lab kept running; enter it with `ip netns exec {} bash` (router), `{}` (host); Ctrl-C ends it",
            topo.router.name(),
            topo.host.name()
        );
        wait_for_interrupt();
    }
    Ok(())
}

fn watch_interrupts() {
    // SAFETY: plain signal-mask calls on a zeroed sigset_t we own.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: sigwait on the set blocked above.
        unsafe { libc::sigwait(&set, &mut sig) };
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("interrupted: tearing the lab down");
    });
}

fn wait_for_interrupt() {
    while !INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}
