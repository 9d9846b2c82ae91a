//! Command line of `cpe daemon wan`.

use crate::config::{PppoeSettings, WanMode, WanSettings};
use cpe_config::{IPOE_DEFAULT_MTU, PPPOE_DEFAULT_MTU};
use std::ffi::OsString;
use std::path::PathBuf;

pub const USAGE: &str =
    "usage: cpe daemon wan                    (started by `cpe run`, config from the bus)
       cpe daemon wan --interface IF [options]   (standalone, for labs)
standalone options:
  --mtu N              link MTU to set (default 1500, 1492 with --pppoe)
  --no-ipv4            do not run the DHCPv4 client
  --pppoe              PPPoE mode (no credentials: for discovery labs)
  --pppoe-service NAME PPPoE Service-Name to request (default: any)
  --pppoe-ac-name NAME take offers only from this access concentrator
  --pppoe-restart SECS wait before discovering again after a refusal or
                       PADT (default 5)
  --state-dir DIR      where the DHCPv4 lease is kept (default /var/lib/cpe)
  --status-file PATH   facts and status as JSON, rewritten on every change
                       (default /run/cpe/wan.json)
  --log-level LEVEL    error|warn|info|debug|trace (default info)";

/// Standalone settings.
pub struct Standalone {
    pub settings: WanSettings,
    pub status_file: PathBuf,
}

/// What the command line asked for.
pub struct Parsed {
    pub standalone: Option<Standalone>,
    pub log_level: String,
}

pub fn parse(args: Vec<OsString>) -> Result<Parsed, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut interface = None;
    let mut settings = WanSettings {
        interface: String::new(),
        mode: WanMode::Ipoe,
        mtu: IPOE_DEFAULT_MTU,
        ipv4: true,
        state_dir: PathBuf::from("/var/lib/cpe"),
        pppoe: PppoeSettings::default(),
    };
    let mut status_file = PathBuf::from("/run/cpe/wan.json");
    let mut log_level = "info".to_string();
    let mut standalone_only = false;
    let mut mtu_given = false;
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        let value = cpe_daemon::args::value;
        match arg {
            Long("interface") => interface = Some(value(&mut p)?),
            Long("mtu") => {
                let v = value(&mut p)?;
                settings.mtu = v
                    .parse()
                    .ok()
                    .filter(|m| (1280..=9000).contains(m))
                    .ok_or(format!("bad MTU {v:?} (1280..9000)"))?;
                mtu_given = true;
                standalone_only = true;
            }
            Long("no-ipv4") => {
                settings.ipv4 = false;
                standalone_only = true;
            }
            Long("pppoe") => {
                settings.mode = WanMode::Pppoe;
                standalone_only = true;
            }
            Long("pppoe-service") => {
                settings.pppoe.service = value(&mut p)?;
                standalone_only = true;
            }
            Long("pppoe-ac-name") => {
                settings.pppoe.ac_name = value(&mut p)?;
                standalone_only = true;
            }
            Long("pppoe-restart") => {
                let v = value(&mut p)?;
                settings.pppoe.reconnect_min = v
                    .parse()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .ok_or(format!("bad --pppoe-restart {v:?} (1..3600 seconds)"))?;
                standalone_only = true;
            }
            Long("state-dir") => {
                settings.state_dir = value(&mut p)?.into();
                standalone_only = true;
            }
            Long("status-file") => {
                status_file = value(&mut p)?.into();
                standalone_only = true;
            }
            Long("log-level") => log_level = value(&mut p)?,
            Long("help") | Short('h') => return Err("help requested".into()),
            other => return Err(other.unexpected().to_string()),
        }
    }
    // As in the config file: PPPoE's 8 octets of headers come off 1500.
    if settings.mode == WanMode::Pppoe && !mtu_given {
        settings.mtu = PPPOE_DEFAULT_MTU;
    }
    let standalone = match interface {
        Some(i) => {
            settings.interface = i;
            Some(Standalone {
                settings,
                status_file,
            })
        }
        None if standalone_only => return Err("standalone options need --interface".into()),
        None => None,
    };
    Ok(Parsed {
        standalone,
        log_level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standalone(args: &[&str]) -> WanSettings {
        let parsed = parse(args.iter().map(OsString::from).collect()).unwrap();
        parsed.standalone.unwrap().settings
    }

    #[test]
    fn pppoe_flags_and_its_default_mtu() {
        let s = standalone(&[
            "--interface",
            "wan0",
            "--pppoe",
            "--pppoe-service",
            "flets",
            "--pppoe-ac-name",
            "bras",
            "--pppoe-restart",
            "2",
        ]);
        assert_eq!(s.mode, WanMode::Pppoe);
        assert_eq!(s.mtu, PPPOE_DEFAULT_MTU);
        assert_eq!(
            s.pppoe,
            PppoeSettings {
                service: "flets".into(),
                ac_name: "bras".into(),
                reconnect_min: 2,
                ..PppoeSettings::default()
            }
        );
        assert_eq!(standalone(&["--interface", "wan0"]).mtu, IPOE_DEFAULT_MTU);
        let given = standalone(&["--pppoe", "--mtu", "1454", "--interface", "wan0"]);
        assert_eq!(given.mtu, 1454);
        assert!(parse(vec!["--pppoe-restart".into(), "0".into()]).is_err());
    }
}
