//! radvd: the ISP's IPoE Router Advertisements on `isp0` (M=1, O=1 like
//! NTT FLET'S), or an RA-sender anchor on the router's LAN to compare our
//! own sender against.

use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::process::Command;
use std::time::Duration;

use ipnet::Ipv6Net;

use crate::error::{LabError, Result};
use crate::netns::Netns;
use crate::peers::write_file;
use crate::plan;
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

/// One advertised prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaPrefixOptions {
    /// The /64 to announce.
    pub prefix: Ipv6Net,
    /// A flag: hosts may autoconfigure (SLAAC).
    pub autonomous: bool,
    /// L flag.
    pub on_link: bool,
    /// Valid lifetime, seconds.
    pub valid_lifetime: u32,
    /// Preferred lifetime, seconds.
    pub preferred_lifetime: u32,
}

impl RaPrefixOptions {
    /// On-link, autonomous, 86400/14400 s (radvd's defaults).
    pub fn slaac(prefix: Ipv6Net) -> Self {
        RaPrefixOptions {
            prefix,
            autonomous: true,
            on_link: true,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
        }
    }
}

/// What radvd announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadvdOptions {
    /// Interface to advertise on.
    pub interface: String,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other: bool,
    /// Router lifetime in seconds (0: not a default router).
    pub router_lifetime: u16,
    /// MinRtrAdvInterval, seconds (radvd needs >= 3).
    pub min_interval: u32,
    /// MaxRtrAdvInterval, seconds (radvd needs >= 4).
    pub max_interval: u32,
    /// Prefix information options.
    pub prefixes: Vec<RaPrefixOptions>,
    /// RDNSS addresses; empty omits the option.
    pub rdnss: Vec<Ipv6Addr>,
    /// DNSSL domains; empty omits the option.
    pub dnssl: Vec<String>,
    /// MTU option, if any.
    pub mtu: Option<u32>,
}

impl RadvdOptions {
    /// The ISP's IPoE RA on `isp0`: M=1, O=1, router lifetime 1800 s, the
    /// WAN link prefix for SLAAC, RAs every 3-10 s.
    pub fn isp() -> Self {
        RadvdOptions {
            interface: plan::ISP_IF.to_string(),
            managed: true,
            other: true,
            router_lifetime: 1800,
            min_interval: 3,
            max_interval: 10,
            prefixes: vec![RaPrefixOptions::slaac(plan::ISP_LINK_PREFIX)],
            rdnss: Vec::new(),
            dnssl: Vec::new(),
            mtu: None,
        }
    }

    /// A LAN RA on `br0` for `prefix`, like a home router's: M=0, O=1
    /// (stateless DHCPv6 for extras), RDNSS pointing at the router.
    pub fn lan(prefix: Ipv6Net, rdnss: Vec<Ipv6Addr>) -> Self {
        RadvdOptions {
            interface: plan::BRIDGE_IF.to_string(),
            managed: false,
            other: true,
            router_lifetime: 1800,
            min_interval: 3,
            max_interval: 10,
            prefixes: vec![RaPrefixOptions::slaac(prefix)],
            rdnss,
            dnssl: Vec::new(),
            mtu: None,
        }
    }

    /// A LAN host advertising itself as a router on its `eth0` (connection
    /// sharing, a second home router): the rogue the RA sender reports.
    pub fn rogue_host(prefix: Ipv6Net) -> Self {
        RadvdOptions {
            interface: plan::HOST_IF.to_string(),
            ..RadvdOptions::lan(prefix, Vec::new())
        }
    }

    /// radvd.conf text.
    pub fn to_config(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        let mut c = String::new();
        let _ = writeln!(c, "interface {} {{", self.interface);
        let _ = writeln!(c, "  AdvSendAdvert on;");
        let _ = writeln!(c, "  AdvManagedFlag {};", on(self.managed));
        let _ = writeln!(c, "  AdvOtherConfigFlag {};", on(self.other));
        let _ = writeln!(c, "  AdvDefaultLifetime {};", self.router_lifetime);
        let _ = writeln!(c, "  MinRtrAdvInterval {};", self.min_interval);
        let _ = writeln!(c, "  MaxRtrAdvInterval {};", self.max_interval);
        if let Some(mtu) = self.mtu {
            let _ = writeln!(c, "  AdvLinkMTU {mtu};");
        }
        for p in &self.prefixes {
            let _ = writeln!(c, "  prefix {} {{", p.prefix);
            let _ = writeln!(c, "    AdvOnLink {};", on(p.on_link));
            let _ = writeln!(c, "    AdvAutonomous {};", on(p.autonomous));
            let _ = writeln!(c, "    AdvValidLifetime {};", p.valid_lifetime);
            let _ = writeln!(c, "    AdvPreferredLifetime {};", p.preferred_lifetime);
            let _ = writeln!(c, "  }};");
        }
        if !self.rdnss.is_empty() {
            let list: Vec<String> = self.rdnss.iter().map(ToString::to_string).collect();
            let _ = writeln!(c, "  RDNSS {} {{ }};", list.join(" "));
        }
        if !self.dnssl.is_empty() {
            let _ = writeln!(c, "  DNSSL {} {{ }};", self.dnssl.join(" "));
        }
        c.push_str("};\n");
        c
    }
}

/// A running radvd.
pub struct Radvd {
    /// The radvd process (it forks a helper; stopping signals both).
    pub process: Process,
}

impl Radvd {
    /// Writes the config, checks it (`radvd -c`), starts radvd in the
    /// foreground and waits until it wrote its pid file (it has opened its
    /// socket and sent its first RA by then).
    pub fn start(netns: &Netns, opts: &RadvdOptions) -> Result<Radvd> {
        let files = netns.file_base("radvd");
        let (conf, pid) = (files.path("conf"), files.path("pid"));
        write_file(&conf, &opts.to_config())?;
        let conf_s = conf.display().to_string();
        let pid_s = pid.display().to_string();
        let check = netns.exec(&["radvd", "-c", "-C", &conf_s, "-p", &pid_s])?;
        if !check.success() {
            return Err(LabError::new(format!(
                "radvd rejected {conf_s}:\n{}{}",
                check.stdout, check.stderr
            )));
        }
        let mut cmd = Command::new("radvd");
        cmd.args(["-n", "-m", "stderr", "-d", "1", "-C", &conf_s, "-p", &pid_s]);
        let process = netns.spawn_with("radvd", cmd, &files.spawn_options())?;
        wait_for_process(&process, "radvd pid file", Duration::from_secs(5), || {
            Ok(if pid.exists() {
                Check::Ready(())
            } else {
                Check::NotYet("no pid file".into())
            })
        })?;
        Ok(Radvd { process })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isp_config_has_flags_and_prefix() {
        let mut o = RadvdOptions::isp();
        o.rdnss = vec![plan::DNS_A, plan::DNS_B];
        o.dnssl = vec!["example.test".into()];
        o.mtu = Some(1500);
        let c = o.to_config();
        assert!(c.starts_with("interface isp0 {"));
        assert!(c.contains("AdvManagedFlag on;"));
        assert!(c.contains("AdvOtherConfigFlag on;"));
        assert!(c.contains("AdvDefaultLifetime 1800;"));
        assert!(c.contains("prefix 2001:db8:ffff::/64 {"));
        assert!(c.contains("RDNSS 2001:db8:53::1 2001:db8:53::2 { };"));
        assert!(c.contains("DNSSL example.test { };"));
        assert!(c.contains("AdvLinkMTU 1500;"));
        let lan = RadvdOptions::lan("2001:db8:1000::/64".parse().unwrap(), vec![]);
        assert!(lan.to_config().contains("AdvManagedFlag off;"));
    }
}
