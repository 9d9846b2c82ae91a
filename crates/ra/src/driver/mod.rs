//! Process entry point: `cpe daemon ra` (supervised: config and LAN prefixes
//! from the state bus) or `cpe daemon ra --interface IF ...` (standalone, for
//! labs and benchmarks where no supervisor runs). Both run the same
//! per-interface loop ([`lan::LanTask`]) around the sans-IO engine.

mod iface;
mod lan;
mod mapping;
mod socket;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cpe_daemon::args::value as val;
use cpe_daemon::runner::{self, Context, Mode};
use log::info;

use crate::config::{DnsServer, MtuSetting, RaConfig};
use cpe_wire::nd::{DomainName, RouterPreference};
use lan::{LanTask, Upstream};

const USAGE: &str =
    "usage: cpe daemon ra                    (started by `cpe run`, config from the bus)
       cpe daemon ra --interface IF [--interface IF2 ...] [options]
standalone options (labs and benchmarks; defaults as in [lan.ra]):
  --prefix P/64            advertise this /64 (repeatable)
  --rdnss ADDR|self        RDNSS entry (repeatable; default self)
  --dnssl NAME             DNSSL entry (repeatable; default lan)
  --managed                M=1            --no-other-config   O=0
  --preference low|medium|high            --router-lifetime S
  --min-interval S         --max-interval S
  --mtu N|off              (default: none, there is no WAN to follow)
  --no-default-route       advertise router lifetime 0
  --state-dir DIR          where remembered prefixes live (default /var/lib/cpe)
  --status-file PATH       write the status JSON there (every 2 s, atomically)
  --log-level LEVEL
signals: SIGTERM/SIGINT send final RAs (router lifetime 0) and exit;
         SIGUSR1 exits at once without them (restart by the supervisor);
         SIGHUP is logged and ignored (docs/architecture.md, signal policy).";

/// Standalone-mode settings.
#[derive(Debug)]
struct Standalone {
    interfaces: Vec<String>,
    config: RaConfig,
    default_route: bool,
    state_dir: PathBuf,
    status_file: Option<PathBuf>,
    log_level: String,
}

fn parse_args(args: Vec<OsString>) -> Result<Option<Standalone>, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut s = Standalone {
        interfaces: Vec::new(),
        config: RaConfig {
            mtu: MtuSetting::Off,
            ..RaConfig::default()
        },
        default_route: true,
        state_dir: PathBuf::from("/var/lib/cpe"),
        status_file: None,
        log_level: "info".into(),
    };
    let mut rdnss = Vec::new();
    let mut dnssl = Vec::new();
    let secs =
        |v: String| -> Result<u64, String> { v.parse().map_err(|_| format!("bad number {v:?}")) };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("interface") => s.interfaces.push(val(&mut p)?),
            Long("prefix") => {
                let v = val(&mut p)?;
                let net: ipnet::Ipv6Net = v.parse().map_err(|_| format!("bad prefix {v:?}"))?;
                if net.prefix_len() != 64 {
                    return Err(format!("{v}: only /64 prefixes can be used for SLAAC"));
                }
                s.config.static_prefixes.push(net.trunc());
            }
            Long("rdnss") => {
                let v = val(&mut p)?;
                rdnss.push(if v == "self" {
                    DnsServer::SelfAddress
                } else {
                    DnsServer::Address(v.parse().map_err(|_| format!("bad IPv6 address {v:?}"))?)
                });
            }
            Long("dnssl") => {
                let v = val(&mut p)?;
                dnssl.push(DomainName::parse(&v).map_err(|e| format!("{v:?}: {e}"))?);
            }
            Long("managed") => s.config.managed = true,
            Long("no-other-config") => s.config.other_config = false,
            Long("preference") => {
                s.config.preference = match val(&mut p)?.as_str() {
                    "low" => RouterPreference::Low,
                    "medium" => RouterPreference::Medium,
                    "high" => RouterPreference::High,
                    other => return Err(format!("bad preference {other:?}")),
                }
            }
            Long("router-lifetime") => {
                s.config.router_lifetime =
                    u16::try_from(secs(val(&mut p)?)?).map_err(|_| "router lifetime too large")?
            }
            Long("min-interval") => {
                s.config.min_interval = Duration::from_secs(secs(val(&mut p)?)?)
            }
            Long("max-interval") => {
                s.config.max_interval = Duration::from_secs(secs(val(&mut p)?)?)
            }
            Long("mtu") => {
                let v = val(&mut p)?;
                s.config.mtu = if v == "off" {
                    MtuSetting::Off
                } else {
                    MtuSetting::Fixed(v.parse().map_err(|_| format!("bad MTU {v:?}"))?)
                };
            }
            Long("no-default-route") => s.default_route = false,
            Long("state-dir") => s.state_dir = val(&mut p)?.into(),
            Long("status-file") => s.status_file = Some(val(&mut p)?.into()),
            Long("log-level") => s.log_level = val(&mut p)?,
            Long("help") | Short('h') => return Err(USAGE.to_string()),
            other => return Err(format!("{}\n{USAGE}", other.unexpected())),
        }
    }
    if !rdnss.is_empty() {
        s.config.rdnss = rdnss;
    }
    if !dnssl.is_empty() {
        s.config.dnssl = dnssl;
    }
    Ok((!s.interfaces.is_empty()).then_some(s))
}

/// Entry point used by the `cpe` binary for `cpe daemon ra [ARGS]`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    match parse_args(args) {
        Ok(Some(s)) => {
            let mode = Mode::Standalone {
                status_file: s.status_file.clone(),
                log_level: cpe_log::parse_level(&s.log_level),
            };
            runner::run(cpe_bus::Daemon::Ra, mode, |ctx| run_standalone(ctx, s))
        }
        Ok(None) => runner::run(cpe_bus::Daemon::Ra, Mode::Supervised, run_supervised),
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

async fn run_standalone(ctx: Context, s: Standalone) -> Result<(), String> {
    let specs = s
        .interfaces
        .iter()
        .map(|i| (i.clone(), s.config.clone()))
        .collect();
    let upstream = Upstream::Fixed {
        default_route: s.default_route,
        wan_mtu: None,
    };
    serve(&ctx, specs, s.state_dir, Duration::ZERO, upstream).await;
    Ok(())
}

async fn run_supervised(ctx: Context) -> Result<(), String> {
    let cfg = ctx.supervised_config()?;
    let specs: Vec<(String, RaConfig)> = cfg
        .lan
        .iter()
        .filter(|l| l.ra.enabled)
        .map(|l| (l.interface.clone(), mapping::ra_config(&l.ra)))
        .collect();
    let state_dir = cfg.system.state_dir.clone();
    serve(&ctx, specs, state_dir, first_ra_hold(cfg), Upstream::Bus).await;
    Ok(())
}

/// A delegation is on its way whenever the client asks for one: hold the
/// first RA for it (see lan::FIRST_RA_HOLD).
fn first_ra_hold(cfg: &cpe_config::Config) -> Duration {
    if cfg.wan.dhcpv6.enabled && cfg.wan.dhcpv6.request_prefix {
        lan::FIRST_RA_HOLD
    } else {
        Duration::ZERO
    }
}

/// One [`LanTask`] per interface until stopped: SIGTERM/SIGINT make every
/// LAN send its final RAs (router lifetime 0) first; SIGUSR1 (a restart by
/// the supervisor: the next instance advertises at once) and a lost
/// supervisor stop without them, so hosts keep their default route.
async fn serve(
    ctx: &Context,
    specs: Vec<(String, RaConfig)>,
    state_dir: PathBuf,
    first_ra_hold: Duration,
    upstream: Upstream,
) {
    if specs.is_empty() {
        info!("no LAN has RAs enabled");
    }
    ctx.per_lan(specs, |lan, config| {
        LanTask {
            lan,
            config,
            state_dir: state_dir.clone(),
            first_ra_hold,
            upstream: upstream.clone(),
            // Jitter only has to differ between routers.
            seed: cpe_sys::random::seed_or_clock(),
        }
        .run()
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RA sender's view of the config (`Daemon::project`) holds the
    /// `[wan.dhcpv6]` fields the first-RA hold follows: without them in
    /// its declaration it would hold the first RA for a delegation the
    /// client never asks for, and a reload would not restart it.
    #[test]
    fn the_first_ra_hold_comes_from_the_ra_view() {
        for dhcpv6 in [
            "request_prefix = false",
            "enabled = false",
            "request_prefix = true",
        ] {
            let src = format!("[wan]\n[wan.dhcpv6]\n{dhcpv6}\n[[lan]]\n");
            let config = cpe_config::parse_str(&src, "t.toml").unwrap().config;
            let view = cpe_bus::Daemon::Ra.project(&config);
            assert_eq!(first_ra_hold(&view), first_ra_hold(&config), "{dhcpv6}");
        }
    }
}
