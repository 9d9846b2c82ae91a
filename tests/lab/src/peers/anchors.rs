//! Stand-ins for our own daemons, to measure against in the same run:
//! ISC `dhclient -6` and WIDE `dhcp6c` as DHCPv6 clients, dnsmasq as DNS
//! forwarder and stateless DHCPv6 server. (radvd on the LAN is
//! [`crate::RadvdOptions::lan`].)
//!
//! Each is configured so it touches nothing outside the lab: dhclient gets
//! `-sf -lf -pf` (its default script rewrites /etc/resolv.conf), dhcp6c gets
//! a private `/var/lib/dhcpv6` bind-mounted in its own mount namespace (its
//! DUID path is hard-coded), dnsmasq keeps leases and pid in the lab dir.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Context, Result};
use crate::netns::{Netns, SpawnOptions};
use crate::parse::dhclient_lease::{
    DhclientLease, DhclientLeaseFile, LeasedPrefix, encode_dhclient_string, parse_dhclient_leases,
};
use crate::peers::write_file;
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

/// What `dhclient -6` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dhcp6Request {
    /// IA_PD only (`-P`).
    Pd,
    /// IA_NA only (`-N`).
    Na,
    /// IA_NA and IA_PD (`-P -N`).
    NaPd,
    /// Information-Request (`-S`, stateless).
    Information,
}

/// How `dhclient -6` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhclientOptions {
    /// Label for file names.
    pub label: String,
    /// Interface (`wan0`).
    pub interface: String,
    /// What to request.
    pub request: Dhcp6Request,
    /// DUID to use (pre-seeded into the lease file); `None` lets dhclient
    /// generate a DUID-LLT.
    pub duid: Option<Vec<u8>>,
    /// Ask for rapid commit (`send dhcp6.rapid-commit;`).
    pub rapid_commit: bool,
}

impl DhclientOptions {
    /// IA_PD on `interface` with a chosen DUID, as a router's WAN client.
    pub fn pd(interface: &str, duid: Option<Vec<u8>>) -> Self {
        DhclientOptions {
            label: "dhclient".to_string(),
            interface: interface.to_string(),
            request: Dhcp6Request::Pd,
            duid,
            rapid_commit: false,
        }
    }
}

/// A running `dhclient -6` (foreground; it keeps renewing).
pub struct Dhclient {
    /// The client process.
    pub process: Process,
    lease_path: PathBuf,
}

impl Dhclient {
    /// Starts dhclient in `netns`.
    pub fn start(netns: &Netns, opts: &DhclientOptions) -> Result<Dhclient> {
        let files = netns.file_base(&opts.label);
        let (lease_path, conf, pid) = (files.path("leases"), files.path("conf"), files.path("pid"));
        let seed = match &opts.duid {
            Some(d) => format!("default-duid {};\n", encode_dhclient_string(d)),
            None => String::new(),
        };
        write_file(&lease_path, &seed)?;
        let conf_text = if opts.rapid_commit {
            "send dhcp6.rapid-commit;\n"
        } else {
            ""
        };
        write_file(&conf, conf_text)?;
        let mut cmd = Command::new("dhclient");
        cmd.args(["-6", "-d", "-v"]);
        match opts.request {
            Dhcp6Request::Pd => cmd.arg("-P"),
            Dhcp6Request::Na => cmd.arg("-N"),
            Dhcp6Request::NaPd => cmd.args(["-P", "-N"]),
            Dhcp6Request::Information => cmd.arg("-S"),
        };
        cmd.arg("-sf")
            .arg("/bin/true")
            .arg("-lf")
            .arg(&lease_path)
            .arg("-pf")
            .arg(&pid)
            .arg("-cf")
            .arg(&conf)
            .arg(&opts.interface);
        let process = netns.spawn_with(&opts.label, cmd, &files.spawn_options())?;
        Ok(Dhclient {
            process,
            lease_path,
        })
    }

    /// The lease file as dhclient wrote it so far.
    pub fn leases(&self) -> Result<DhclientLeaseFile> {
        let text = std::fs::read_to_string(&self.lease_path)
            .context(format!("reading {}", self.lease_path.display()))?;
        Ok(parse_dhclient_leases(&text))
    }

    /// Waits for a lease (the first `lease6` block dhclient writes).
    pub fn wait_for_lease(&self, timeout: Duration) -> Result<DhclientLease> {
        wait_for_process(&self.process, "a dhclient lease", timeout, || {
            Ok(match self.leases()?.current() {
                Some(l) => Check::Ready(l.clone()),
                None => Check::NotYet("no lease6 block yet".into()),
            })
        })
    }

    /// Waits for a lease with a delegated prefix and returns it.
    pub fn wait_for_prefix(&self, timeout: Duration) -> Result<LeasedPrefix> {
        wait_for_process(&self.process, "a delegated prefix", timeout, || {
            let file = self.leases()?;
            Ok(match file.current().and_then(|l| l.prefixes.first()) {
                Some(p) => Check::Ready(p.clone()),
                None => Check::NotYet(format!("{} leases, no prefix", file.leases.len())),
            })
        })
    }

    /// The lease file.
    pub fn lease_path(&self) -> &Path {
        &self.lease_path
    }
}

/// How WIDE `dhcp6c` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcp6cOptions {
    /// Label for file names.
    pub label: String,
    /// Upstream interface (`wan0`).
    pub wan: String,
    /// Interface to number from the delegated prefix (`br0`), if any.
    pub lan: Option<String>,
    /// SLA id of the LAN /64.
    pub sla_id: u32,
    /// SLA length: delegated length + sla_len = 64.
    pub sla_len: u8,
    /// Send Rapid Commit.
    pub rapid_commit: bool,
}

impl Dhcp6cOptions {
    /// IA_PD on `wan0`, numbering `br0` out of a /56, rapid commit on.
    pub fn router() -> Self {
        Dhcp6cOptions {
            label: "dhcp6c".to_string(),
            wan: crate::plan::WAN_IF.to_string(),
            lan: Some(crate::plan::BRIDGE_IF.to_string()),
            sla_id: 0,
            sla_len: 8,
            rapid_commit: true,
        }
    }

    /// dhcp6c.conf text.
    pub fn to_config(&self) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "interface {} {{", self.wan);
        let _ = writeln!(c, "  send ia-pd 0;");
        if self.rapid_commit {
            let _ = writeln!(c, "  send rapid-commit;");
        }
        let _ = writeln!(c, "  request domain-name-servers;");
        let _ = writeln!(c, "  request domain-name;");
        let _ = writeln!(c, "}};");
        let _ = writeln!(c, "id-assoc pd 0 {{");
        if let Some(lan) = &self.lan {
            let _ = writeln!(c, "  prefix-interface {lan} {{");
            let _ = writeln!(c, "    sla-id {};", self.sla_id);
            let _ = writeln!(c, "    sla-len {};", self.sla_len);
            let _ = writeln!(c, "  }};");
        }
        let _ = writeln!(c, "}};");
        c
    }
}

/// A running `dhcp6c`. Only one per namespace (it binds control port 5546).
/// On SIGTERM it sends a Release and retries for ~10 s: use
/// [`Process::stop_within`] with a long grace to let the Release out.
pub struct Dhcp6c {
    /// The client process.
    pub process: Process,
    /// Its private `/var/lib/dhcpv6` (holds `dhcp6c_duid`).
    pub state_dir: PathBuf,
}

impl Dhcp6c {
    /// Starts dhcp6c in the foreground with a private DUID directory.
    pub fn start(netns: &Netns, opts: &Dhcp6cOptions) -> Result<Dhcp6c> {
        let files = netns.file_base(&opts.label);
        let (conf, pid, state_dir) = (files.path("conf"), files.path("pid"), files.path("state"));
        std::fs::create_dir_all(&state_dir).context(format!("creating {}", state_dir.display()))?;
        write_file(&conf, &opts.to_config())?;
        let mut cmd = Command::new("dhcp6c");
        cmd.arg("-f")
            .arg("-D")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(&pid)
            .arg(&opts.wan);
        let spawn = SpawnOptions {
            bind_mounts: vec![(state_dir.clone(), PathBuf::from("/var/lib/dhcpv6"))],
            ..files.spawn_options()
        };
        let process = netns.spawn_with(&opts.label, cmd, &spawn)?;
        Ok(Dhcp6c { process, state_dir })
    }
}

/// How dnsmasq runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsmasqOptions {
    /// Label for file names.
    pub label: String,
    /// Addresses to answer DNS on (`bind-interfaces`); empty with `port` 0
    /// for DHCP-only.
    pub listen: Vec<IpAddr>,
    /// DNS port (0 disables DNS).
    pub port: u16,
    /// Upstream servers.
    pub upstreams: Vec<IpAddr>,
    /// Cache entries.
    pub cache_size: u32,
    /// Serve stateless DHCPv6 on this interface (`dhcp-range=::,constructor:IF,static`).
    pub dhcpv6_stateless_on: Option<String>,
    /// Also send RAs on that interface (`enable-ra`).
    pub router_advertisements: bool,
    /// Extra config lines.
    pub extra: Vec<String>,
}

impl DnsmasqOptions {
    /// A caching forwarder on `listen` towards `upstreams`.
    pub fn forwarder(listen: Vec<IpAddr>, upstreams: Vec<IpAddr>) -> Self {
        DnsmasqOptions {
            label: "dnsmasq".to_string(),
            listen,
            port: 53,
            upstreams,
            cache_size: 1000,
            dhcpv6_stateless_on: None,
            router_advertisements: false,
            extra: Vec::new(),
        }
    }

    /// dnsmasq.conf text.
    pub fn to_config(&self, lease_path: &Path) -> String {
        let mut c = String::new();
        for l in [
            "no-resolv",
            "no-hosts",
            "bind-interfaces",
            "user=root",
            "group=root",
        ] {
            let _ = writeln!(c, "{l}");
        }
        let _ = writeln!(c, "port={}", self.port);
        let _ = writeln!(c, "cache-size={}", self.cache_size);
        for a in &self.listen {
            let _ = writeln!(c, "listen-address={}", a.to_canonical());
        }
        for u in &self.upstreams {
            let _ = writeln!(c, "server={}", u.to_canonical());
        }
        let _ = writeln!(c, "dhcp-leasefile={}", lease_path.display());
        if let Some(ifname) = &self.dhcpv6_stateless_on {
            let _ = writeln!(c, "interface={ifname}");
            let _ = writeln!(c, "dhcp-range=::,constructor:{ifname},static");
            if self.router_advertisements {
                let _ = writeln!(c, "enable-ra");
            }
        }
        for l in &self.extra {
            let _ = writeln!(c, "{l}");
        }
        c
    }
}

/// A running dnsmasq (foreground, `-k`).
pub struct Dnsmasq {
    /// The dnsmasq process.
    pub process: Process,
}

impl Dnsmasq {
    /// Writes the config, checks it (`--test`), starts dnsmasq and, if it
    /// serves DNS, waits until every listen address is bound.
    pub fn start(netns: &Netns, opts: &DnsmasqOptions) -> Result<Dnsmasq> {
        let files = netns.file_base(&opts.label);
        let (conf, leases, pid) = (files.path("conf"), files.path("leases"), files.path("pid"));
        write_file(&conf, &opts.to_config(&leases))?;
        let conf_arg = format!("--conf-file={}", conf.display());
        netns.exec_ok(&["dnsmasq", "--test", &conf_arg])?;
        let mut cmd = Command::new("dnsmasq");
        cmd.args(["-k", "--log-facility=-", &conf_arg])
            .arg(format!("--pid-file={}", pid.display()));
        let process = netns.spawn_with(&opts.label, cmd, &files.spawn_options())?;
        if opts.port != 0 {
            for addr in &opts.listen {
                wait_for_process(&process, "dnsmasq to bind", Duration::from_secs(5), || {
                    let hit = netns.listening(crate::Transport::Udp)?.iter().any(|s| {
                        s.port == opts.port && s.local.to_canonical() == addr.to_canonical()
                    });
                    Ok(if hit {
                        Check::Ready(())
                    } else {
                        Check::NotYet(format!("{addr} not bound"))
                    })
                })?;
            }
        }
        Ok(Dnsmasq { process })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcp6c_config_delegates_to_the_lan() {
        let c = Dhcp6cOptions::router().to_config();
        assert!(c.contains("interface wan0 {\n  send ia-pd 0;\n  send rapid-commit;"));
        assert!(c.contains("prefix-interface br0 {\n    sla-id 0;\n    sla-len 8;"));
    }

    #[test]
    fn dnsmasq_config_forwards_and_serves_stateless() {
        let mut o = DnsmasqOptions::forwarder(
            vec!["2001:db8:1000::1".parse().unwrap()],
            vec![IpAddr::V6(crate::plan::DNS_A)],
        );
        o.dhcpv6_stateless_on = Some("br0".into());
        let c = o.to_config(Path::new("/l/leases"));
        assert!(c.contains("listen-address=2001:db8:1000::1\n"));
        assert!(c.contains("server=2001:db8:53::1\n"));
        assert!(c.contains("dhcp-range=::,constructor:br0,static\n"));
        assert!(c.contains("dhcp-leasefile=/l/leases\n"));
        assert!(c.contains("no-resolv\n"));
    }
}
