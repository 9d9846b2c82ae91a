//! Kea DHCPv6 as the ISP's server: IA_NA and IA_PD pools, reservations by
//! DUID, rapid commit, DNS options, and reload through the control socket to
//! emulate an ISP renumbering. Kea DHCPv4 for the ISP's IPv4 (a pool on
//! the access link, router and DNS options).
//!
//! Kea 2.2 writes under /var unless told otherwise, so the lease file,
//! control socket, data directory, lock and pid files all point into the
//! lab's temp directory (`KEA_LOCKFILE_DIR`, `KEA_PIDFILE_DIR`). Kea does
//! not route what it delegates: see
//! [`crate::IpoeTopology::route_delegated_prefix`].

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::{Value, json};

use crate::error::{Context, LabError, Result};
use crate::netns::Netns;
use crate::parse::kea_leases::{KeaLease6, hex_bytes, parse_kea_leases6};
use crate::peers::write_file;
use crate::plan;
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

/// An IA_PD pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdPool {
    /// The pool (`2001:db8:1000::/40`).
    pub prefix: Ipv6Net,
    /// Length of each delegated prefix (e.g. 56, 60, 64).
    pub delegated_len: u8,
}

/// A fixed lease for one client, identified by DUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaReservation {
    /// The client's DUID.
    pub duid: Vec<u8>,
    /// Reserved delegated prefixes (may lie outside the pools).
    pub prefixes: Vec<Ipv6Net>,
    /// Reserved IA_NA addresses.
    pub addresses: Vec<Ipv6Addr>,
}

/// T1/T2 and lifetimes handed out, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimers {
    /// T1.
    pub renew: u32,
    /// T2.
    pub rebind: u32,
    /// Preferred lifetime.
    pub preferred: u32,
    /// Valid lifetime.
    pub valid: u32,
}

impl LeaseTimers {
    /// Renew every 2 s, Rebind at 5 s, lifetimes 60/90 s: lease changes
    /// within a lab test's seconds.
    pub const SHORT: LeaseTimers = LeaseTimers {
        renew: 2,
        rebind: 5,
        preferred: 60,
        valid: 90,
    };
}

/// Kea's configuration, reduced to what ISP emulation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaOptions {
    /// Interface to serve (`isp0`).
    pub interface: String,
    /// The link's subnet.
    pub subnet: Ipv6Net,
    /// Kea subnet id (keep it across reloads to keep leases attached).
    pub subnet_id: u32,
    /// IA_NA pool (first, last); `None` serves no addresses.
    pub na_pool: Option<(Ipv6Addr, Ipv6Addr)>,
    /// IA_PD pool; `None` delegates only reserved prefixes.
    pub pd_pool: Option<PdPool>,
    /// The pool's `excluded-prefix`/`excluded-prefix-len` (RFC 6603 Prefix
    /// Exclude): a prefix inside the pool's first delegated prefix; Kea
    /// excludes the same part of every prefix it delegates from the pool,
    /// to clients that ask for option 67.
    pub pd_excluded: Option<Ipv6Net>,
    /// Reservations by DUID.
    pub reservations: Vec<KeaReservation>,
    /// Answer a Solicit with Rapid Commit directly with a Reply.
    pub rapid_commit: bool,
    /// OPTION_DNS_SERVERS (23); empty omits it.
    pub dns_servers: Vec<Ipv6Addr>,
    /// OPTION_DOMAIN_LIST (24); empty omits it.
    pub domain_search: Vec<String>,
    /// OPTION_NTP_SERVER (56, RFC 5908), one server address suboption
    /// each; empty omits it. Kea 2.2 has no definition for option 56, so
    /// the config defines it (an empty option encapsulating suboption 1).
    pub ntp_servers: Vec<Ipv6Addr>,
    /// OPTION_AFTR_NAME (64, RFC 6334, Kea's `aftr-name`); `None` omits it.
    pub aftr_name: Option<String>,
    /// OPTION_S46_CONT_MAPE (94, RFC 7598): one S46 Rule with its Port
    /// Parameters, and a BR; `None` omits it.
    pub map_e: Option<KeaMapE>,
    /// Timers and lifetimes.
    pub timers: LeaseTimers,
}

impl Default for KeaOptions {
    /// The lab's ISP: NA pool `2001:db8:ffff::1000-1fff`, PD pool
    /// `2001:db8:1000::/40` delegating /56, rapid commit on, DNS A and B,
    /// search `example.test`, T1/T2 1000/2000 s, lifetimes 3000/4000 s.
    fn default() -> Self {
        KeaOptions {
            interface: plan::ISP_IF.to_string(),
            subnet: plan::ISP_LINK_PREFIX,
            subnet_id: 1,
            na_pool: Some((plan::NA_POOL_START, plan::NA_POOL_END)),
            pd_pool: Some(PdPool {
                prefix: plan::PD_POOL,
                delegated_len: 56,
            }),
            pd_excluded: None,
            reservations: Vec::new(),
            rapid_commit: true,
            dns_servers: vec![plan::DNS_A, plan::DNS_B],
            domain_search: vec!["example.test".to_string()],
            ntp_servers: Vec::new(),
            aftr_name: None,
            map_e: None,
            timers: LeaseTimers {
                renew: 1000,
                rebind: 2000,
                preferred: 3000,
                valid: 4000,
            },
        }
    }
}

/// A MAP-E Basic Mapping Rule and Border Relay as Kea sends them (Kea's
/// `s46-cont-mape`, `s46-rule`, `s46-portparams`, `s46-br`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaMapE {
    /// Rule IPv6 prefix.
    pub ipv6_prefix: Ipv6Net,
    /// Rule IPv4 prefix.
    pub ipv4_prefix: ipnet::Ipv4Net,
    /// EA-bits length.
    pub ea_bits: u8,
    /// PSID offset (option 93).
    pub psid_offset: u8,
    /// The Border Relay.
    pub br: Ipv6Addr,
}

/// Where Kea keeps its files in the lab directory.
#[derive(Debug, Clone)]
struct KeaPaths {
    config: PathBuf,
    socket: PathBuf,
    leases: PathBuf,
    dir: PathBuf,
}

/// The option space of RFC 5908's suboptions in the lab's Kea config.
const NTP_SUBOPTIONS: &str = "ntp-server-suboptions";

/// Builds Kea's JSON configuration for `opts`.
fn config_json(opts: &KeaOptions, paths: &KeaPaths) -> Value {
    let mut subnet = json!({
        "id": opts.subnet_id,
        "subnet": opts.subnet.to_string(),
        "interface": opts.interface,
        "rapid-commit": opts.rapid_commit,
    });
    if let Some((first, last)) = opts.na_pool {
        subnet["pools"] = json!([{ "pool": format!("{first}-{last}") }]);
    }
    if let Some(pd) = &opts.pd_pool {
        subnet["pd-pools"] = json!([{
            "prefix": pd.prefix.network().to_string(),
            "prefix-len": pd.prefix.prefix_len(),
            "delegated-len": pd.delegated_len,
        }]);
        if let Some(x) = opts.pd_excluded {
            subnet["pd-pools"][0]["excluded-prefix"] = json!(x.network().to_string());
            subnet["pd-pools"][0]["excluded-prefix-len"] = json!(x.prefix_len());
        }
    }
    let mut options = Vec::new();
    if !opts.dns_servers.is_empty() {
        let list: Vec<String> = opts.dns_servers.iter().map(ToString::to_string).collect();
        options.push(json!({ "name": "dns-servers", "data": list.join(", ") }));
    }
    if !opts.domain_search.is_empty() {
        options.push(json!({ "name": "domain-search", "data": opts.domain_search.join(", ") }));
    }
    if let Some(name) = &opts.aftr_name {
        options.push(json!({ "name": "aftr-name", "data": name }));
    }
    if let Some(m) = &opts.map_e {
        options.push(json!({ "name": "s46-cont-mape" }));
        options.push(json!({
            "space": "s46-cont-mape-options",
            "name": "s46-rule",
            "data": format!(
                "0, {}, {}, {}, {}",
                m.ea_bits,
                m.ipv4_prefix.prefix_len(),
                m.ipv4_prefix.network(),
                m.ipv6_prefix
            ),
        }));
        options.push(json!({
            "space": "s46-rule-options",
            "name": "s46-portparams",
            "data": format!("{}, 0/0", m.psid_offset),
        }));
        options.push(json!({
            "space": "s46-cont-mape-options",
            "name": "s46-br",
            "data": m.br.to_string(),
        }));
    }
    if !opts.ntp_servers.is_empty() {
        options.push(json!({ "name": "ntp-server" }));
        for a in &opts.ntp_servers {
            options.push(json!({
                "name": "ntp-server-address",
                "space": NTP_SUBOPTIONS,
                "data": a.to_string(),
            }));
        }
    }
    subnet["option-data"] = Value::Array(options);
    if !opts.reservations.is_empty() {
        subnet["reservations"] = opts
            .reservations
            .iter()
            .map(|r| {
                json!({
                    "duid": hex_bytes(&r.duid),
                    "prefixes": r.prefixes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "ip-addresses": r.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
                })
            })
            .collect();
    }
    let option_def = if opts.ntp_servers.is_empty() {
        json!([])
    } else {
        json!([
            { "name": "ntp-server", "code": 56, "space": "dhcp6", "type": "empty",
              "encapsulate": NTP_SUBOPTIONS },
            { "name": "ntp-server-address", "code": 1, "space": NTP_SUBOPTIONS,
              "type": "ipv6-address" },
        ])
    };
    json!({
        "Dhcp6": {
            "option-def": option_def,
            "interfaces-config": { "interfaces": [opts.interface] },
            "control-socket": { "socket-type": "unix", "socket-name": paths.socket },
            "lease-database": {
                "type": "memfile",
                "persist": true,
                "name": paths.leases,
                "lfc-interval": 0,
            },
            "data-directory": paths.dir,
            // A fixed DUID-EN: with LLT Kea makes a new server id on every
            // config-reload and then ignores Renews sent to the old one.
            "server-id": {
                "type": "EN",
                "enterprise-id": 32473,
                "identifier": "6370652d6c6162",
                "persist": false
            },
            "renew-timer": opts.timers.renew,
            "rebind-timer": opts.timers.rebind,
            "preferred-lifetime": opts.timers.preferred,
            "valid-lifetime": opts.timers.valid,
            "subnet6": [subnet],
            "loggers": [{
                "name": "kea-dhcp6",
                "output_options": [{ "output": "stdout" }],
                "severity": "INFO",
            }],
        }
    })
}

/// A running Kea DHCPv6 server.
pub struct KeaDhcp6 {
    /// The server process.
    pub process: Process,
    paths: KeaPaths,
}

impl KeaDhcp6 {
    /// Writes the config, checks it with `kea-dhcp6 -t` inside the
    /// namespace, starts the server and waits until it listens on UDP 547.
    pub fn start(netns: &Netns, opts: &KeaOptions) -> Result<KeaDhcp6> {
        let (process, paths) =
            start_kea(netns, "kea-dhcp6", 547, |paths| write_config(opts, paths))?;
        Ok(KeaDhcp6 { process, paths })
    }

    /// Rewrites the configuration and makes Kea load it through its control
    /// socket (`config-reload`), e.g. a new PD pool to emulate the ISP
    /// renumbering. Existing leases stay in the lease file.
    pub fn reload(&self, opts: &KeaOptions) -> Result<()> {
        write_config(opts, &self.paths)?;
        let reply = self.command(&json!({ "command": "config-reload" }))?;
        let reply = match &reply {
            Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        if reply.get("result").and_then(Value::as_i64) == Some(0) {
            log::info!("Kea reloaded {}", self.paths.config.display());
            Ok(())
        } else {
            Err(LabError::new(format!("Kea config-reload failed: {reply}")))
        }
    }

    /// Sends one command over the control socket and returns the JSON reply.
    pub fn command(&self, command: &Value) -> Result<Value> {
        let shown = self.paths.socket.display().to_string();
        let mut s =
            UnixStream::connect(&self.paths.socket).context(format!("connecting to {shown}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .context("setting a read timeout")?;
        s.write_all(command.to_string().as_bytes())
            .context(format!("writing to {shown}"))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .context(format!("reading from {shown}"))?;
        serde_json::from_slice(&buf).map_err(|e| {
            LabError::new(format!(
                "Kea sent bad JSON ({e}): {}",
                String::from_utf8_lossy(&buf)
            ))
        })
    }

    /// Every row of Kea's lease file so far (later rows update earlier).
    pub fn leases(&self) -> Result<Vec<KeaLease6>> {
        match std::fs::read_to_string(&self.paths.leases) {
            Ok(text) => Ok(parse_kea_leases6(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(LabError::io(
                format!("reading {}", self.paths.leases.display()),
                e,
            )),
        }
    }

    /// The configuration file Kea runs with.
    pub fn config_path(&self) -> &Path {
        &self.paths.config
    }

    /// The control socket.
    pub fn socket_path(&self) -> &Path {
        &self.paths.socket
    }

    /// The memfile lease database.
    pub fn lease_path(&self) -> &Path {
        &self.paths.leases
    }
}

/// Writes a Kea server's config (`write`) into its own lab directory,
/// checks it with `BIN -t` inside the namespace, starts the server and waits
/// until it listens on UDP `port` and its control socket exists. Start it
/// only once its interface has carrier and addresses: Kea opens no socket
/// on an interface that is not ready and never retries.
fn start_kea(
    netns: &Netns,
    bin: &str,
    port: u16,
    write: impl FnOnce(&KeaPaths) -> Result<()>,
) -> Result<(Process, KeaPaths)> {
    let files = netns.file_base(bin);
    let dir = files.path("d");
    std::fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
    let paths = KeaPaths {
        config: dir.join(format!("{bin}.json")),
        socket: dir.join("control.sock"),
        leases: dir.join("leases.csv"),
        dir: dir.clone(),
    };
    write(&paths)?;
    let dir_s = dir.display().to_string();
    let config_s = paths.config.display().to_string();
    let check = netns.exec(&[
        "env",
        &format!("KEA_LOCKFILE_DIR={dir_s}"),
        &format!("KEA_PIDFILE_DIR={dir_s}"),
        bin,
        "-t",
        &config_s,
    ])?;
    if !check.success() {
        return Err(LabError::new(format!(
            "{bin} rejected {config_s}:\n{}{}",
            check.stdout, check.stderr
        )));
    }
    let mut cmd = Command::new(bin);
    cmd.arg("-c")
        .arg(&paths.config)
        .env("KEA_LOCKFILE_DIR", &dir)
        .env("KEA_PIDFILE_DIR", &dir);
    let process = netns.spawn_with(bin, cmd, &files.spawn_options())?;
    let what = format!("{bin} to listen on UDP {port}");
    wait_for_process(&process, &what, Duration::from_secs(10), || {
        let bound = netns
            .listening(crate::Transport::Udp)?
            .iter()
            .any(|s| s.port == port);
        Ok(if bound && paths.socket.exists() {
            Check::Ready(())
        } else {
            Check::NotYet(format!("port {port} bound: {bound}"))
        })
    })?;
    Ok((process, paths))
}

/// Kea DHCPv4's configuration for the lab ISP's IPv4 access link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kea4Options {
    /// Interface to serve (`isp0`).
    pub interface: String,
    /// The link's subnet (`192.0.2.0/24`).
    pub subnet: Ipv4Net,
    /// Address pool (first, last).
    pub pool: (Ipv4Addr, Ipv4Addr),
    /// Option 3 (routers).
    pub router: Ipv4Addr,
    /// Option 6 (DNS servers); empty omits it.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 42 (NTP servers, Kea's `ntp-servers`); empty omits it.
    pub ntp_servers: Vec<Ipv4Addr>,
    /// Lease time in seconds (T1 and T2 are half and 7/8 of it).
    pub valid_lifetime: u32,
}

impl Default for Kea4Options {
    /// The lab ISP: `192.0.2.100-199` on `isp0`, router `192.0.2.1`, DNS A
    /// and B over IPv4, one-hour leases.
    fn default() -> Self {
        Kea4Options {
            interface: plan::ISP_IF.to_string(),
            subnet: plan::ISP_LINK_PREFIX_V4,
            pool: (plan::V4_POOL_START, plan::V4_POOL_END),
            router: plan::ISP_ADDR_V4,
            dns_servers: vec![plan::DNS_A_V4, plan::DNS_B_V4],
            ntp_servers: Vec::new(),
            valid_lifetime: 3600,
        }
    }
}

/// Builds Kea DHCPv4's JSON configuration. Raw sockets (Kea's default for
/// DHCPv4) so that it answers clients that have no address yet.
fn config4_json(opts: &Kea4Options, paths: &KeaPaths) -> Value {
    let mut options = vec![json!({ "name": "routers", "data": opts.router.to_string() })];
    if !opts.dns_servers.is_empty() {
        let list: Vec<String> = opts.dns_servers.iter().map(ToString::to_string).collect();
        options.push(json!({ "name": "domain-name-servers", "data": list.join(", ") }));
    }
    if !opts.ntp_servers.is_empty() {
        let list: Vec<String> = opts.ntp_servers.iter().map(ToString::to_string).collect();
        options.push(json!({ "name": "ntp-servers", "data": list.join(", ") }));
    }
    let lifetime = opts.valid_lifetime;
    json!({
        "Dhcp4": {
            "interfaces-config": {
                "interfaces": [opts.interface],
                "dhcp-socket-type": "raw",
            },
            "control-socket": { "socket-type": "unix", "socket-name": paths.socket },
            "lease-database": {
                "type": "memfile",
                "persist": true,
                "name": paths.leases,
                "lfc-interval": 0,
            },
            "valid-lifetime": lifetime,
            "renew-timer": lifetime / 2,
            "rebind-timer": lifetime / 8 * 7,
            "subnet4": [{
                "id": 1,
                "subnet": opts.subnet.to_string(),
                "interface": opts.interface,
                "pools": [{ "pool": format!("{} - {}", opts.pool.0, opts.pool.1) }],
                "option-data": options,
            }],
            "loggers": [{
                "name": "kea-dhcp4",
                "output_options": [{ "output": "stdout" }],
                "severity": "INFO",
            }],
        }
    })
}

/// A running Kea DHCPv4 server (the ISP's IPv4 for the WAN's DHCPv4
/// client).
pub struct KeaDhcp4 {
    /// The server process.
    pub process: Process,
    paths: KeaPaths,
}

impl KeaDhcp4 {
    /// Writes the config, checks it with `kea-dhcp4 -t` inside the
    /// namespace, starts the server and waits until it listens on UDP 67.
    pub fn start(netns: &Netns, opts: &Kea4Options) -> Result<KeaDhcp4> {
        let (process, paths) = start_kea(netns, "kea-dhcp4", 67, |paths| {
            let text = serde_json::to_string_pretty(&config4_json(opts, paths))
                .map_err(|e| LabError::new(format!("encoding Kea config: {e}")))?;
            write_file(&paths.config, &text)
        })?;
        Ok(KeaDhcp4 { process, paths })
    }

    /// The memfile lease database (CSV, one row per lease change).
    pub fn lease_text(&self) -> String {
        std::fs::read_to_string(&self.paths.leases).unwrap_or_default()
    }
}

fn write_config(opts: &KeaOptions, paths: &KeaPaths) -> Result<()> {
    let text = serde_json::to_string_pretty(&config_json(opts, paths))
        .map_err(|e| LabError::new(format!("encoding Kea config: {e}")))?;
    write_file(&paths.config, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_carries_pools_options_and_reservations() {
        let paths = KeaPaths {
            config: "/l/kea.json".into(),
            socket: "/l/s".into(),
            leases: "/l/leases.csv".into(),
            dir: "/l".into(),
        };
        let opts = KeaOptions {
            rapid_commit: false,
            reservations: vec![KeaReservation {
                duid: plan::wan_duid_ll(),
                prefixes: vec!["2001:db8:1000:ff00::/56".parse().unwrap()],
                addresses: vec![],
            }],
            ..KeaOptions::default()
        };
        let c = config_json(&opts, &paths);
        let s = &c["Dhcp6"]["subnet6"][0];
        assert_eq!(s["subnet"], "2001:db8:ffff::/64");
        assert_eq!(s["rapid-commit"], false);
        assert_eq!(
            s["pools"][0]["pool"],
            "2001:db8:ffff::1000-2001:db8:ffff::1fff"
        );
        assert_eq!(s["pd-pools"][0]["prefix"], "2001:db8:1000::");
        assert_eq!(s["pd-pools"][0]["prefix-len"], 40);
        assert_eq!(s["pd-pools"][0]["delegated-len"], 56);
        assert_eq!(
            s["option-data"][0]["data"],
            "2001:db8:53::1, 2001:db8:53::2"
        );
        assert_eq!(
            s["reservations"][0]["duid"],
            "00:03:00:01:02:00:00:00:02:01"
        );
        assert_eq!(c["Dhcp6"]["lease-database"]["name"], "/l/leases.csv");
        assert_eq!(c["Dhcp6"]["control-socket"]["socket-name"], "/l/s");
    }
}
