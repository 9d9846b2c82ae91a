//! Forwarding throughput through a router namespace (ignored by default;
//! `tools/bench-fw` runs it in release mode and prints the table of
//! docs/measurements.md): a LAN namespace sends to a WAN namespace across
//! `rtr` with (a) no firewall (the `inet cpe` table deleted: no hooks, no
//! conntrack), (b) the default ruleset as the daemon installs it (NAT44,
//! MSS clamp, BCP 38 sets, conntrack). Per run and mode, over IPv6 and
//! IPv4: one TCP stream (bulk, 64 KiB writes) and one UDP stream of
//! 64-byte payloads sent as fast as one thread can, counted at the
//! receiver. Modes alternate within each run so machine load hits both
//! alike; medians over the runs. Needs root.
//!
//! The load generator is plain std sockets (iperf3's method: one stream,
//! receiver-side counts), so the bench needs nothing but the kernel.

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used)]

use cpe_firewall::{LanSide, Policy, Snapshot, compile};
use cpe_sys::netlink::nftables::{Batch, Nftables, TableFamily};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

mod common;
use common::{Ns, router_path};

/// One measurement's length.
const SECONDS: Duration = Duration::from_secs(2);
const WAN6: &str = "2001:db8:ffff::1";
const WAN4: &str = "192.0.2.1";

/// Bulk TCP from `lan` to `to` for [`SECONDS`]: bits per second received.
fn tcp(lan: &Ns, wan: &Ns, to: IpAddr) -> f64 {
    let listener = wan.run(move || TcpListener::bind(SocketAddr::new(to, 5201)).unwrap());
    let server = wan.spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let (mut bytes, t) = (0u64, Instant::now());
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes += n as u64,
            }
        }
        bytes as f64 * 8.0 / t.elapsed().as_secs_f64()
    });
    lan.run(move || {
        let mut s = TcpStream::connect(SocketAddr::new(to, 5201)).unwrap();
        let buf = vec![0x5au8; 1 << 16];
        let t = Instant::now();
        while t.elapsed() < SECONDS {
            s.write_all(&buf).unwrap();
        }
    });
    server.join().unwrap()
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// 64-byte UDP payloads from `lan` to `to` for [`SECONDS`]: datagrams per
/// second received, and the sender thread's CPU microseconds per datagram
/// received. Over veth the whole path (send, the router's forwarding and
/// firewall, the receiver's queueing) runs in the sender's context, so the
/// CPU per datagram is the path's cost, much less disturbed by other load
/// on the machine than the rate.
fn udp64(lan: &Ns, wan: &Ns, to: IpAddr) -> (f64, f64) {
    let sock = wan.run(move || UdpSocket::bind(SocketAddr::new(to, 5201)).unwrap());
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let server = wan.spawn(move || {
        let mut buf = [0u8; 256];
        let mut n = 0u64;
        while sock.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    });
    let sent_for = lan.run(move || {
        let any: SocketAddr = if to.is_ipv4() {
            "0.0.0.0:0".parse().unwrap()
        } else {
            "[::]:0".parse().unwrap()
        };
        let s = UdpSocket::bind(any).unwrap();
        s.connect(SocketAddr::new(to, 5201)).unwrap();
        let payload = [0x5au8; 64];
        let (t, cpu) = (Instant::now(), thread_cpu());
        while t.elapsed() < SECONDS {
            for _ in 0..64 {
                // ENOBUFS under overload is a drop, as on a real link.
                let _ = s.send(&payload);
            }
        }
        (t.elapsed(), thread_cpu() - cpu)
    });
    let (wall, cpu) = sent_for;
    let received = server.join().unwrap() as f64;
    (
        received / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / received.max(1.0),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: run explicitly (tools/bench-fw)"]
fn forwarding_throughput_without_and_with_the_ruleset() {
    let runs: usize = std::env::var("BENCH_FW_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/default.toml"
    ))
    .unwrap();
    let mut policy = Policy::from_config(&cpe_config::parse_str(&text, "d.toml").unwrap().config);
    policy.wan = "wan0".into();
    policy.lan = vec![LanSide {
        interface: "br0".into(),
        ipv4: Some("192.168.1.0/24".parse().unwrap()),
    }];
    let ruleset = compile(
        &policy,
        &Snapshot {
            current: vec!["2001:db8:1:1::/64".parse().unwrap()],
            deprecated: Vec::new(),
            map_e: None,
        },
    );
    let (lan, rtr, wan) = router_path();
    let (wan6, wan4): (IpAddr, IpAddr) = (WAN6.parse().unwrap(), WAN4.parse().unwrap());
    // The path works before anything is measured.
    lan.exec(&["ping", "-c", "1", "-W", "2", WAN6]);
    lan.exec(&["ping", "-c", "1", "-W", "2", WAN4]);

    let modes = ["no firewall", "cpe ruleset"];
    // results[mode][metric] = per-run values
    let mut results = vec![vec![Vec::new(); 6]; modes.len()];
    for run in 0..runs {
        for (m, mode) in modes.iter().enumerate() {
            let batch = ruleset.batch();
            rtr.run(move || {
                let mut nl = Nftables::open().unwrap();
                if m == 0 {
                    let mut b = Batch::new();
                    b.add_table(TableFamily::Inet, "cpe");
                    b.delete_table(TableFamily::Inet, "cpe");
                    nl.commit(&b).unwrap();
                } else {
                    nl.commit(&batch).unwrap();
                }
            });
            let (u6, u4) = (udp64(&lan, &wan, wan6), udp64(&lan, &wan, wan4));
            let figures = [
                tcp(&lan, &wan, wan6) / 1e6,
                tcp(&lan, &wan, wan4) / 1e6,
                u6.0,
                u4.0,
                u6.1,
                u4.1,
            ];
            eprintln!(
                "run {run} {mode:12} tcp6 {:5.0} tcp4 {:5.0} Mbit/s  udp64 {:6.0} {:6.0} pps  {:5.2} {:5.2} us/datagram",
                figures[0], figures[1], figures[2], figures[3], figures[4], figures[5]
            );
            for (k, f) in figures.into_iter().enumerate() {
                results[m][k].push(f);
            }
        }
    }
    println!(
        "\n| mode | TCP IPv6 Mbit/s | TCP IPv4 Mbit/s | UDP 64 B IPv6 pps | UDP 64 B IPv4 pps | UDP IPv6 CPU us/datagram | UDP IPv4 CPU us/datagram |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let base: Vec<f64> = results[0].iter().cloned().map(median).collect();
    for (m, mode) in modes.iter().enumerate() {
        let cells: Vec<String> = results[m]
            .iter()
            .cloned()
            .map(median)
            .enumerate()
            .map(|(k, v)| {
                let digits = if k >= 4 { 2 } else { 0 };
                if m == 0 {
                    format!("{v:.digits$}")
                } else {
                    format!("{v:.digits$} ({:+.1} %)", (v / base[k] - 1.0) * 100.0)
                }
            })
            .collect();
        println!("| {mode} | {} |", cells.join(" | "));
    }
    println!("\nmedians of {runs} runs of {} s each", SECONDS.as_secs());
}
