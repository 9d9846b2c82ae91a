//! Unbound as the ISP's upstream DNS, authoritative for a `test.` zone.
//!
//! Unbound answers NXDOMAIN for `test.` (RFC 6761 default zone) unless
//! `local-zone: "test." nodefault`; with that, an `auth-zone` serves the
//! lab zone with real SOA-backed negative answers (so a forwarder's negative
//! cache has a TTL to honour). The zone holds:
//!
//! | name          | records                                                |
//! |---------------|--------------------------------------------------------|
//! | `a.test`      | AAAA [`TEST_AAAA`], A [`TEST_A`]                       |
//! | `cname.test`  | CNAME `a.test.`                                        |
//! | `big.test`    | TXT of six 250-character strings (> 1232 bytes: TC)    |
//! | `who.test`    | TXT with the instance label (which upstream answered)  |
//! | anything else | NXDOMAIN (e.g. `nx.test`)                              |
//!
//! UDP answers are capped at 1232 bytes (`max-udp-size`) whatever EDNS size
//! the client offers, so `big.test` always comes back truncated over UDP and
//! whole over TCP.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

use crate::error::{LabError, Result};
use crate::netns::Netns;
use crate::peers::write_file;
use crate::plan;
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

/// AAAA of `a.test`.
pub const TEST_AAAA: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 0xa);
/// A of `a.test`.
pub const TEST_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// Number of strings in the TXT of `big.test`.
pub const BIG_TXT_STRINGS: usize = 6;
/// Length of each string in the TXT of `big.test`.
pub const BIG_TXT_STRING_LEN: usize = 250;
/// A name that does not exist.
pub const NXDOMAIN_NAME: &str = "nx.test";

/// How one Unbound instance is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnboundOptions {
    /// Instance label: file names and the `who.test` TXT answer.
    pub label: String,
    /// Addresses to listen on (must exist in the namespace).
    pub listen: Vec<IpAddr>,
    /// Port (53).
    pub port: u16,
    /// TTL of the zone's records, seconds.
    pub ttl: u32,
    /// SOA minimum: TTL of negative answers, seconds.
    pub negative_ttl: u32,
    /// Extra zone-file lines (relative to `test.`), e.g. `"x IN AAAA ::1"`.
    pub extra_records: Vec<String>,
    /// Largest UDP answer, bytes.
    pub max_udp_size: u16,
}

impl UnboundOptions {
    /// Upstream A: [`plan::DNS_A`] and [`plan::DNS_A_V4`] on the ISP.
    pub fn upstream_a() -> Self {
        Self::new(
            "a",
            vec![IpAddr::V6(plan::DNS_A), IpAddr::V4(plan::DNS_A_V4)],
        )
    }

    /// Upstream B: [`plan::DNS_B`] and [`plan::DNS_B_V4`] on the ISP.
    pub fn upstream_b() -> Self {
        Self::new(
            "b",
            vec![IpAddr::V6(plan::DNS_B), IpAddr::V4(plan::DNS_B_V4)],
        )
    }

    /// An instance labelled `label` on `listen`, TTL 300 s, negative TTL 60 s.
    pub fn new(label: &str, listen: Vec<IpAddr>) -> Self {
        UnboundOptions {
            label: label.to_string(),
            listen,
            port: 53,
            ttl: 300,
            negative_ttl: 60,
            extra_records: Vec::new(),
            max_udp_size: 1232,
        }
    }

    /// The `test.` zone file.
    pub fn zone_text(&self) -> String {
        let big = format!("\"{}\"", "x".repeat(BIG_TXT_STRING_LEN));
        let big = vec![big; BIG_TXT_STRINGS].join(" ");
        let ns_addr = self
            .listen
            .iter()
            .find_map(|a| match a {
                IpAddr::V6(v6) => Some(*v6),
                IpAddr::V4(_) => None,
            })
            .unwrap_or(plan::DNS_A);
        let mut z = String::new();
        let _ = writeln!(z, "$ORIGIN test.");
        let _ = writeln!(z, "$TTL {}", self.ttl);
        let _ = writeln!(
            z,
            "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 {}",
            self.negative_ttl
        );
        let _ = writeln!(z, "@ IN NS ns.test.");
        let _ = writeln!(z, "ns IN AAAA {ns_addr}");
        let _ = writeln!(z, "a IN AAAA {TEST_AAAA}");
        let _ = writeln!(z, "a IN A {TEST_A}");
        let _ = writeln!(z, "cname IN CNAME a.test.");
        let _ = writeln!(z, "big IN TXT {big}");
        let _ = writeln!(z, "who IN TXT \"{}\"", self.label.replace('"', ""));
        for line in &self.extra_records {
            let _ = writeln!(z, "{line}");
        }
        z
    }

    /// unbound.conf text, given where the zone and pid files live.
    pub fn to_config(&self, zone_path: &str, pid_path: &str, dir: &str) -> String {
        let mut c = String::from("server:\n");
        for a in &self.listen {
            let _ = writeln!(c, "  interface: {}", a.to_canonical());
        }
        let lines = [
            format!("port: {}", self.port),
            "do-daemonize: no".into(),
            "use-syslog: no".into(),
            "logfile: \"\"".into(),
            "verbosity: 1".into(),
            "chroot: \"\"".into(),
            "username: \"\"".into(),
            format!("directory: \"{dir}\""),
            format!("pidfile: \"{pid_path}\""),
            "num-threads: 1".into(),
            "module-config: \"iterator\"".into(),
            format!("max-udp-size: {}", self.max_udp_size),
            "access-control: ::/0 allow".into(),
            "access-control: 0.0.0.0/0 allow".into(),
            "local-zone: \"test.\" nodefault".into(),
        ];
        for l in lines {
            let _ = writeln!(c, "  {l}");
        }
        let _ = writeln!(c, "auth-zone:");
        let _ = writeln!(c, "  name: \"test.\"");
        let _ = writeln!(c, "  zonefile: \"{zone_path}\"");
        let _ = writeln!(c, "  for-downstream: yes");
        let _ = writeln!(c, "  for-upstream: yes");
        let _ = writeln!(c, "remote-control:");
        let _ = writeln!(c, "  control-enable: no");
        c
    }
}

/// A running Unbound.
pub struct Unbound {
    /// The server process.
    pub process: Process,
    /// Addresses it listens on.
    pub listen: Vec<IpAddr>,
    /// Port it listens on.
    pub port: u16,
}

impl Unbound {
    /// Writes zone and config, checks them (`unbound-checkconf`), starts
    /// Unbound and waits until every listen address is bound on UDP and TCP.
    pub fn start(netns: &Netns, opts: &UnboundOptions) -> Result<Unbound> {
        if opts.listen.is_empty() {
            return Err(LabError::new("Unbound needs at least one listen address"));
        }
        let stem = format!("unbound-{}", opts.label);
        let files = netns.file_base(&stem);
        let (conf, zone, pid) = (files.path("conf"), files.path("zone"), files.path("pid"));
        let dir = netns.lab_dir().display().to_string();
        let (conf_s, zone_s, pid_s) = (
            conf.display().to_string(),
            zone.display().to_string(),
            pid.display().to_string(),
        );
        write_file(&zone, &opts.zone_text())?;
        write_file(&conf, &opts.to_config(&zone_s, &pid_s, &dir))?;
        let check = netns.exec(&["unbound-checkconf", &conf_s])?;
        if !check.success() {
            return Err(LabError::new(format!(
                "unbound-checkconf rejected {conf_s}:\n{}{}",
                check.stdout, check.stderr
            )));
        }
        let mut cmd = Command::new("unbound");
        cmd.args(["-d", "-c", &conf_s]);
        let process = netns.spawn_with(&stem, cmd, &files.spawn_options())?;
        let what = format!("Unbound {} on UDP and TCP port {}", opts.label, opts.port);
        wait_for_process(&process, &what, Duration::from_secs(10), || {
            let udp = netns.listening(crate::Transport::Udp)?;
            let tcp = netns.listening(crate::Transport::Tcp)?;
            let bound = |socks: &[crate::parse::proc_net::SocketEntry], addr: &IpAddr| {
                socks
                    .iter()
                    .any(|s| s.port == opts.port && s.local.to_canonical() == addr.to_canonical())
            };
            let missing: Vec<String> = opts
                .listen
                .iter()
                .filter(|a| !bound(&udp, a) || !bound(&tcp, a))
                .map(|a| a.to_canonical().to_string())
                .collect();
            Ok(if missing.is_empty() {
                Check::Ready(())
            } else {
                Check::NotYet(format!("not yet bound: {}", missing.join(", ")))
            })
        })?;
        Ok(Unbound {
            process,
            listen: opts.listen.clone(),
            port: opts.port,
        })
    }

    /// `@addr` argument for kdig/dig for the first listen address.
    pub fn at(&self) -> String {
        format!(
            "@{}",
            self.listen
                .first()
                .map_or(IpAddr::V6(plan::DNS_A), |a| a.to_canonical())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_holds_the_documented_names() {
        let z = UnboundOptions::upstream_b().zone_text();
        assert!(z.contains("a IN AAAA 2001:db8:53::a"));
        assert!(z.contains("cname IN CNAME a.test."));
        assert!(z.contains("who IN TXT \"b\""));
        assert!(z.contains("ns IN AAAA 2001:db8:53::2"));
        let big = z.lines().find(|l| l.starts_with("big ")).unwrap();
        assert_eq!(big.matches('"').count(), 2 * BIG_TXT_STRINGS);
        // Six strings of 250 bytes plus length octets exceed 1232 on the wire.
        const { assert!(BIG_TXT_STRINGS * (BIG_TXT_STRING_LEN + 1) > 1232) };
    }

    #[test]
    fn config_has_the_test_zone_trap_and_udp_cap() {
        let c = UnboundOptions::upstream_a().to_config("/z", "/p", "/d");
        assert!(c.contains("interface: 2001:db8:53::1"));
        assert!(c.contains("interface: 198.51.100.1"));
        assert!(c.contains("local-zone: \"test.\" nodefault"));
        assert!(c.contains("max-udp-size: 1232"));
        assert!(c.contains("zonefile: \"/z\""));
    }
}
