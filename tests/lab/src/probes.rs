//! Independent probes run inside a namespace: `rdisc6` for Router
//! Advertisements, `kdig` for DNS, `tcpdump` for whatever went over a link.
//! They are other people's decoders, so they catch wire-format mistakes our
//! own codec tests would share.

use std::time::Duration;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::command::run_argv;
use crate::error::{LabError, Result};
use crate::netns::Netns;
use crate::parse::kdig::{KdigReply, parse_kdig};
use crate::parse::rdisc6::{RaInfo, parse_rdisc6};
use crate::process::Process;
use crate::wait::{Check, wait_for_process};

impl Netns {
    /// Sends a Router Solicitation on `ifname` with `rdisc6` and returns the
    /// first Router Advertisement received (rdisc6 retries 3 times, 1 s
    /// apart). Fails if no router answered.
    pub fn rdisc6(&self, ifname: &str) -> Result<RaInfo> {
        let out = self.exec_timeout(&["rdisc6", "-n", "-1", ifname], Duration::from_secs(8))?;
        parse_rdisc6(&out.stdout).into_iter().next().ok_or_else(|| {
            LabError::new(format!(
                "{}: no Router Advertisement ({}): {}{}",
                self.describe(&["rdisc6", "-1", ifname]),
                out.status,
                out.stdout.trim_end(),
                out.stderr.trim_end()
            ))
        })
    }

    /// Listens passively on `ifname` for unsolicited RAs for up to `wait`
    /// (`rdisc6 -d`: no solicitation sent), e.g. to catch the final RA with
    /// router lifetime 0 that a stopping RA sender must send.
    pub fn rdisc6_passive(&self, ifname: &str, wait: Duration) -> Result<Vec<RaInfo>> {
        let ms = wait.as_millis().max(1).to_string();
        let out = self.exec_timeout(
            &["rdisc6", "-d", "-1", "-r", "1", "-w", &ms, ifname],
            wait + Duration::from_secs(3),
        )?;
        Ok(parse_rdisc6(&out.stdout))
    }

    /// Runs `kdig` with `args` (e.g. `["@2001:db8:53::1", "a.test", "AAAA"]`)
    /// and parses every reply it printed. A short timeout (`+time=2
    /// +retry=1`) is added so a dead server fails fast; fails if kdig got
    /// no reply at all.
    pub fn kdig<S: AsRef<str>>(&self, args: &[S]) -> Result<Vec<KdigReply>> {
        let mut argv: Vec<&str> = vec!["kdig", "+time=2", "+retry=1"];
        argv.extend(args.iter().map(AsRef::as_ref));
        let out = self.exec_timeout(&argv, Duration::from_secs(10))?;
        let replies = parse_kdig(&out.stdout);
        if replies.is_empty() {
            return Err(LabError::new(format!(
                "{}: no DNS reply ({}): {}{}",
                self.describe(&argv),
                out.status,
                out.stdout.trim_end(),
                out.stderr.trim_end()
            )));
        }
        Ok(replies)
    }

    /// Starts `tcpdump` on `ifname` writing a pcap into the lab directory
    /// (kept with the logs when a test fails), with an optional BPF filter
    /// (e.g. `["udp", "port", "547"]`). Returns once tcpdump is capturing,
    /// so no early packet is missed.
    pub fn capture<S: AsRef<str>>(&self, ifname: &str, filter: &[S]) -> Result<Capture> {
        let files = self.file_base(&format!("tcpdump-{ifname}"));
        let pcap = files.path("pcap");
        let mut cmd = Command::new("tcpdump");
        // Immediate mode: packets reach the file as they arrive, not when a
        // capture block fills, so stopping right after traffic loses none.
        cmd.args([
            "-i",
            ifname,
            "--immediate-mode",
            "-U",
            "-n",
            "-Z",
            "root",
            "-w",
        ])
        .arg(&pcap)
        .args(filter.iter().map(AsRef::as_ref));
        let process = self.spawn_with("tcpdump", cmd, &files.spawn_options())?;
        wait_for_process(
            &process,
            "tcpdump to listen",
            Duration::from_secs(5),
            || {
                Ok(if process.log_text().contains("listening on") {
                    Check::Ready(())
                } else {
                    Check::NotYet("not listening yet".into())
                })
            },
        )?;
        Ok(Capture { process, pcap })
    }
}

/// A running packet capture.
pub struct Capture {
    /// The tcpdump process.
    pub process: Process,
    pcap: PathBuf,
}

impl Capture {
    /// The pcap file (open it in Wireshark after a failed test).
    pub fn pcap_path(&self) -> &Path {
        &self.pcap
    }

    /// Stops the capture and returns tcpdump's verbose decoding of it, one
    /// packet per paragraph, for assertions on what went over the wire.
    pub fn stop_and_decode(&self) -> Result<String> {
        // Packets just received may still be on their way from the socket
        // to the file: stop once the file stopped growing for 100 ms.
        let size = || std::fs::metadata(&self.pcap).map_or(0, |m| m.len());
        let (mut last, mut stable_since) = (size(), std::time::Instant::now());
        let deadline = stable_since + Duration::from_secs(1);
        while stable_since.elapsed() < Duration::from_millis(100)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
            let now = size();
            if now != last {
                (last, stable_since) = (now, std::time::Instant::now());
            }
        }
        self.process.stop();
        let pcap = self.pcap.display().to_string();
        let out = run_argv(
            &["tcpdump", "-r", &pcap, "-n", "-vv"],
            Duration::from_secs(10),
        )?
        .ok()?;
        Ok(out.stdout)
    }
}
