//! chrony as the ISP's NTP server: `chronyd -x` (never touches the clock,
//! which a network namespace shares with the host) serving its own clock
//! at `local stratum N` to anyone (`allow all`), command port off, every
//! file in the lab directory.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use crate::error::{LabError, Result};
use crate::netns::Netns;
use crate::peers::write_file;
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

/// What chronyd serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronyOptions {
    /// Addresses to serve on (`bindaddress`); empty: every address.
    pub bind: Vec<IpAddr>,
    /// `local stratum`: the stratum chronyd claims for its own clock.
    pub local_stratum: u8,
}

impl ChronyOptions {
    /// chrony.conf text; `pid` is the pid file.
    pub fn to_config(&self, pid: &str) -> String {
        let mut c = String::new();
        for a in &self.bind {
            let _ = writeln!(c, "bindaddress {a}");
        }
        let _ = writeln!(c, "allow all");
        let _ = writeln!(c, "local stratum {}", self.local_stratum);
        let _ = writeln!(c, "cmdport 0");
        let _ = writeln!(c, "pidfile {pid}");
        c
    }
}

/// A running chronyd.
pub struct Chrony {
    /// The chronyd process.
    pub process: Process,
}

impl Chrony {
    /// Writes the config, starts `chronyd -d -x` in the namespace (as root:
    /// no privilege drop, so its files may live in the lab directory) and
    /// waits until it listens on UDP 123.
    pub fn start(netns: &Netns, opts: &ChronyOptions) -> Result<Chrony> {
        let files = netns.file_base("chronyd");
        let (conf, pid) = (files.path("conf"), files.path("pid"));
        write_file(&conf, &opts.to_config(&pid.display().to_string()))?;
        let mut cmd = Command::new("chronyd");
        cmd.args(["-d", "-x", "-u", "root", "-f"]).arg(&conf);
        let process = netns.spawn_with("chronyd", cmd, &files.spawn_options())?;
        wait_for_process(
            &process,
            "chronyd on UDP 123",
            Duration::from_secs(10),
            || {
                let bound = netns
                    .listening(crate::Transport::Udp)?
                    .iter()
                    .any(|s| s.port == 123);
                Ok(if bound && pid.exists() {
                    Check::Ready(())
                } else {
                    Check::NotYet(format!("port 123 bound: {bound}"))
                })
            },
        )
        .map_err(|e| LabError::new(format!("{}\n{}", e.message(), process.log_tail(20))))?;
        Ok(Chrony { process })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_serves_the_local_clock_to_anyone_without_a_command_port() {
        let o = ChronyOptions {
            bind: vec!["2001:db8:ffff::1".parse().unwrap()],
            local_stratum: 8,
        };
        let c = o.to_config("/tmp/x.pid");
        assert_eq!(
            c,
            "bindaddress 2001:db8:ffff::1\nallow all\nlocal stratum 8\ncmdport 0\npidfile /tmp/x.pid\n"
        );
    }
}
