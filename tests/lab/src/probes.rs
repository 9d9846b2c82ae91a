//! Independent probes run inside a namespace: `rdisc6` for Router
//! Advertisements and `kdig` for DNS. They are other people's decoders, so
//! they catch wire-format mistakes our own codec tests would share.

use std::time::Duration;

use crate::error::{LabError, Result};
use crate::netns::Netns;
use crate::parse::kdig::{KdigReply, parse_kdig};
use crate::parse::rdisc6::{RaInfo, parse_rdisc6};

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
}
