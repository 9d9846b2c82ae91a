//! RFC 7084 WAA-5: the router asks the ISP's DHCPv6 server for the NTP
//! Server option (56), and its NTP client synchronises to the server it
//! names. The ISP is Kea 2.2 (option 56 with a server address suboption)
//! and chrony (`chronyd -x`, never touching the clock, `local stratum 8`).
//!
//! The realtime clock is not namespaced, so the router runs with
//! `[ntp] set_clock = false`: the client measures the offset (near zero,
//! chrony and the router read the same clock) without stepping the host's
//! clock.
//!
//! Before chrony, the config names a server that is a spoofer: for every
//! request it receives it sends a well-formed reply from another address,
//! one from another port, and one from the right socket with a wrong
//! origin timestamp. Each is counted and dropped; the client gives up on
//! that server after its burst and synchronises to the ISP's. (The
//! router's firewall is off for this: it would drop the first two itself.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

use std::net::{IpAddr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpe_lab::plan::{ISP_ADDR, ISP_ADDR_V4, ISP_IF};
use cpe_lab::router::{RouterUnderTest as Router, repo_file};
use cpe_lab::{
    Chrony, ChronyOptions, IspOptions, Kea4Options, KeaOptions, Lab, RadvdOptions, TopologyOptions,
    Udhcpc, UdhcpcOptions,
};
use ipnet::{IpNet, Ipv6Net};

/// The spoofer's address on the ISP link.
const SPOOFER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x7b);

/// Now as an NTP timestamp (seconds since 1900, 32-bit fraction).
fn ntp_now() -> u64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    ((d.as_secs() + 2_208_988_800) << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// For every request on `listen` (until `done`), three forged replies:
/// from `other_addr` (another address), from `other_port` (the spoofer's
/// address, another port) and from `listen` with the origin timestamp
/// changed. Returns how many requests it saw.
fn spoof(
    listen: UdpSocket,
    other_addr: UdpSocket,
    other_port: UdpSocket,
    done: Arc<AtomicBool>,
) -> u32 {
    let mut seen = 0;
    let mut buf = [0u8; 512];
    listen
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while !done.load(Ordering::Relaxed) {
        let Ok((len, client)) = listen.recv_from(&mut buf) else {
            continue;
        };
        if len < 48 {
            continue;
        }
        seen += 1;
        // A server reply (LI 0, VN 4, mode 4, stratum 2) to this request:
        // origin = the request's transmit timestamp, receive = transmit =
        // now as chrony would say it (the forgery is otherwise perfect).
        let now = ntp_now();
        let mut reply = [0u8; 48];
        reply[0] = 0x24;
        reply[1] = 2;
        reply[24..32].copy_from_slice(&buf[40..48]);
        reply[32..40].copy_from_slice(&now.to_be_bytes());
        reply[40..48].copy_from_slice(&now.to_be_bytes());
        other_addr.send_to(&reply, client).unwrap();
        other_port.send_to(&reply, client).unwrap();
        reply[31] ^= 1;
        listen.send_to(&reply, client).unwrap();
    }
    seen
}

/// The NTP client's status once it says `synced` (45 s at most: the WAN
/// comes up, then a burst of four requests 2 s apart per server).
fn synced(router: &Router, what: &str) -> serde_json::Value {
    router
        .wait_status(what, Duration::from_secs(45), |s| {
            let n = &s["daemon_status"]["ntp"];
            (n["synced"] == true).then(|| n.clone())
        })
        .unwrap()
}

#[test]
fn the_router_syncs_to_the_isp_ntp_server_from_option_56_and_drops_forged_replies() {
    let lab = Lab::new("ntp").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    topo.isp
        .add_address(ISP_IF, IpNet::V6(Ipv6Net::new(SPOOFER, 64).unwrap()))
        .unwrap();
    let _radvd = topo.start_radvd_isp(&RadvdOptions::isp()).unwrap();
    let chrony = Chrony::start(
        &topo.isp,
        &ChronyOptions {
            bind: vec![IpAddr::V6(ISP_ADDR)],
            local_stratum: 8,
        },
    )
    .unwrap();
    let _kea = topo
        .start_kea_dhcp6(&KeaOptions {
            ntp_servers: vec![ISP_ADDR],
            ..KeaOptions::default()
        })
        .unwrap();
    // The spoofer's sockets, opened in the ISP namespace.
    let (listen, other_addr, other_port) = topo
        .isp
        .run(|| {
            (
                UdpSocket::bind(SocketAddr::new(SPOOFER.into(), 123)).unwrap(),
                UdpSocket::bind(SocketAddr::new(ISP_ADDR.into(), 0)).unwrap(),
                UdpSocket::bind(SocketAddr::new(SPOOFER.into(), 0)).unwrap(),
            )
        })
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let spoofer = std::thread::spawn(move || spoof(listen, other_addr, other_port, stop));

    // The firewall would drop the forgeries from another address or port
    // itself (they match no conntrack entry of the request); the client's
    // own checks must hold without it (a user may turn it off), so it is
    // off here.
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let mut source = source.replacen("[firewall]", "[firewall]\nenabled = false", 1);
    source.push_str(&format!(
        "\n[ntp]\nservers = [\"{SPOOFER}\"]\nset_clock = false\n"
    ));
    let started = Instant::now();
    let router = Router::start(&topo.router, &source).unwrap();

    let ntp = synced(&router, "the NTP client synchronised to the ISP's server");
    let took = started.elapsed();
    eprintln!("synchronised after {took:?}: {ntp:#}");
    assert_eq!(ntp["server"], ISP_ADDR.to_string(), "{ntp}");
    assert_eq!(ntp["servers"][0], SPOOFER.to_string(), "{ntp}");
    assert_eq!(
        ntp["servers"][1],
        ISP_ADDR.to_string(),
        "option 56 reached the client: {ntp}"
    );
    let stratum = ntp["stratum"].as_u64().unwrap();
    assert!(
        (8..=9).contains(&stratum),
        "chrony's local stratum 8 (as served): {ntp}"
    );
    let offset = ntp["offset_ms"].as_f64().unwrap();
    assert!(
        offset.abs() < 50.0,
        "one clock on both sides: offset {offset} ms: {ntp}"
    );
    assert!(ntp["delay_ms"].as_f64().unwrap() < 50.0, "{ntp}");
    assert_eq!(ntp["set_clock"], false);
    assert_eq!(ntp["counters"]["steps"], 0, "{ntp}");

    // Every forged reply was counted and none was believed.
    let counters = &ntp["counters"];
    let wrong_source = counters["drops"]["wrong_source"].as_u64().unwrap_or(0);
    let bogus_origin = counters["drops"]["bogus_origin"].as_u64().unwrap_or(0);
    assert!(bogus_origin >= 1, "{ntp}");
    assert_eq!(wrong_source, 2 * bogus_origin, "two per request: {ntp}");
    done.store(true, Ordering::Relaxed);
    let seen = spoofer.join().unwrap();
    assert_eq!(
        u64::from(seen),
        bogus_origin,
        "each request the spoofer saw gave three drops, and only those"
    );
    let log = router.supervisor.log_tail(400);
    assert!(
        log.contains(&format!("not synchronised: no reply from {SPOOFER} for ")),
        "the spoofer's silence (as far as the client can tell) is logged:\n{log}"
    );
    assert!(
        log.contains(&format!("synchronised to {ISP_ADDR} (stratum {stratum})")),
        "the sync is logged:\n{log}"
    );
    drop(chrony);
}

/// The IPv4 twin: an ISP that names its NTP server only in DHCPv4 option
/// 42 (Kea's `ntp-servers`); the WAN's DHCPv4 client asks for it and the
/// NTP client synchronises to chrony over IPv4. A LAN host's udhcpc that
/// asks for option 42 gets that server from dhcp4s (RFC 7084 WAA-5: the
/// router passes the ISP's NTP servers on).
#[test]
fn over_ipv4_the_router_syncs_to_the_ntp_server_from_dhcpv4_option_42() {
    let lab = Lab::new("ntp4").unwrap();
    let topo = lab.ipoe(&TopologyOptions::default()).unwrap();
    let _chrony = Chrony::start(
        &topo.isp,
        &ChronyOptions {
            bind: vec![IpAddr::V4(ISP_ADDR_V4)],
            local_stratum: 8,
        },
    )
    .unwrap();
    let _isp = topo
        .start_isp(&IspOptions {
            kea4: Some(Kea4Options {
                ntp_servers: vec![ISP_ADDR_V4],
                ..Kea4Options::default()
            }),
            dns: Vec::new(),
            ..IspOptions::default()
        })
        .unwrap();
    let source = std::fs::read_to_string(repo_file("config/default.toml")).unwrap();
    let started = Instant::now();
    let router = Router::start(&topo.router, &source).unwrap();
    let ntp = synced(&router, "the NTP client synchronised over IPv4");
    eprintln!("synchronised after {:?}: {ntp:#}", started.elapsed());
    assert_eq!(ntp["server"], ISP_ADDR_V4.to_string(), "{ntp}");
    assert_eq!(ntp["stratum"], 8, "{ntp}");
    assert!(ntp["offset_ms"].as_f64().unwrap().abs() < 50.0, "{ntp}");
    assert_eq!(ntp["set_clock"], false, "the lab's default [ntp]: {ntp}");
    let client = Udhcpc::start(
        &topo.host,
        &UdhcpcOptions {
            label: "udhcpc-ntp".to_string(),
            configure: false,
            exit_after_lease: true,
            extra_args: vec!["-O".to_string(), "ntpsrv".to_string()],
            ..UdhcpcOptions::host()
        },
    )
    .unwrap();
    let lease = client.wait_for_lease(Duration::from_secs(15)).unwrap();
    assert_eq!(lease.ntp, [ISP_ADDR_V4], "option 42 on the LAN: {lease:?}");
}
