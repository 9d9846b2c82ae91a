//! busybox `udhcpc`: the DHCPv4 client probe on LAN hosts (and a stand-in
//! WAN client), to test our DHCPv4 server against a client we did not
//! write.
//!
//! Its event script is generated into the lab directory: it records the
//! lease in a file the test reads, and only touches the interface when
//! asked to (`configure`), so a probe can watch offers without changing
//! the host.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Context, Result};
use crate::netns::Netns;
use crate::parse::udhcpc_env::{Dhcp4Lease, parse_udhcpc_env};
use crate::peers::write_file;
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

/// How udhcpc runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdhcpcOptions {
    /// Label for file names.
    pub label: String,
    /// Interface (`eth0`).
    pub interface: String,
    /// Apply the lease: address, prefix and default route on the interface.
    pub configure: bool,
    /// Exit once a lease is obtained (`-q`), instead of staying to renew.
    pub exit_after_lease: bool,
    /// More arguments, e.g. `-x hostname:NAME` (option 12) or `-R`
    /// (release the lease when stopped).
    pub extra_args: Vec<String>,
}

impl UdhcpcOptions {
    /// A LAN host's client on `eth0` that applies its lease and stays.
    pub fn host() -> Self {
        UdhcpcOptions {
            label: "udhcpc".to_string(),
            interface: crate::plan::HOST_IF.to_string(),
            configure: true,
            exit_after_lease: false,
            extra_args: Vec::new(),
        }
    }

    /// The event script.
    fn script(&self, lease: &Path) -> String {
        let lease = lease.display();
        let mut s = String::from("#!/bin/sh\n# udhcpc event script written by the lab.\n");
        let _ = writeln!(s, "case \"$1\" in");
        let _ = writeln!(s, "  bound|renew)");
        let _ = writeln!(
            s,
            "    {{ env; echo \"event=$1\"; }} > '{lease}.tmp' && mv '{lease}.tmp' '{lease}'"
        );
        if self.configure {
            let _ = writeln!(s, "    ip -4 addr flush dev \"$interface\"");
            let _ = writeln!(
                s,
                "    ip addr add \"$ip/${{mask:-24}}\" dev \"$interface\""
            );
            let _ = writeln!(
                s,
                "    for r in $router; do ip route replace default via \"$r\" dev \"$interface\"; break; done"
            );
        }
        let _ = writeln!(s, "    ;;");
        if self.configure {
            let _ = writeln!(s, "  deconfig) ip -4 addr flush dev \"$interface\" ;;");
        }
        let _ = writeln!(s, "esac");
        let _ = writeln!(s, "exit 0");
        s
    }
}

/// A running udhcpc.
pub struct Udhcpc {
    /// The client process.
    pub process: Process,
    lease_path: PathBuf,
}

impl Udhcpc {
    /// Writes the event script and starts udhcpc in the foreground
    /// (Discover every second, 5 tries per round).
    pub fn start(netns: &Netns, opts: &UdhcpcOptions) -> Result<Udhcpc> {
        let files = netns.file_base(&opts.label);
        let (script, lease_path, pid) = (files.path("sh"), files.path("lease"), files.path("pid"));
        write_file(&script, &opts.script(&lease_path))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .context(format!("chmod {}", script.display()))?;
        let mut cmd = Command::new("udhcpc");
        cmd.args(["-f", "-t", "5", "-T", "1", "-A", "1", "-i", &opts.interface])
            .arg("-s")
            .arg(&script)
            .arg("-p")
            .arg(&pid);
        if opts.exit_after_lease {
            cmd.arg("-q");
        }
        cmd.args(&opts.extra_args);
        let process = netns.spawn_with(&opts.label, cmd, &files.spawn_options())?;
        Ok(Udhcpc {
            process,
            lease_path,
        })
    }

    /// The last lease the script recorded, if any.
    pub fn lease(&self) -> Option<Dhcp4Lease> {
        let text = std::fs::read_to_string(&self.lease_path).ok()?;
        Some(parse_udhcpc_env(&text))
    }

    /// Waits for a lease with an address. (With `exit_after_lease` the
    /// script records the lease before udhcpc exits, so that is no failure.)
    pub fn wait_for_lease(&self, timeout: Duration) -> Result<Dhcp4Lease> {
        wait_for_process(&self.process, "a DHCPv4 lease", timeout, || {
            Ok(match self.lease() {
                Some(l) if l.ip.is_some() => Check::Ready(l),
                _ => Check::NotYet("no lease recorded".into()),
            })
        })
    }

    /// Where the script records the lease.
    pub fn lease_path(&self) -> &Path {
        &self.lease_path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_records_and_optionally_configures() {
        let mut o = UdhcpcOptions::host();
        let s = o.script(Path::new("/l/h.lease"));
        assert!(s.contains("> '/l/h.lease.tmp' && mv '/l/h.lease.tmp' '/l/h.lease'"));
        assert!(s.contains("ip addr add \"$ip/${mask:-24}\" dev \"$interface\""));
        o.configure = false;
        assert!(!o.script(Path::new("/l/h.lease")).contains("ip addr add"));
    }
}
