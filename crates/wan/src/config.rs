//! The slice of configuration the WAN daemon runs with.

use crate::ppp::auth::Credentials;
use cpe_config::{Config, Mode};
use std::path::PathBuf;

/// WAN settings, from the config file (supervised) or the command line
/// (standalone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WanSettings {
    /// The WAN interface.
    pub interface: String,
    /// Access mode.
    pub mode: WanMode,
    /// MTU to set on the link.
    pub mtu: u32,
    /// Run the DHCPv4 client (IPoE).
    pub ipv4: bool,
    /// Where the DHCPv4 lease is persisted.
    pub state_dir: PathBuf,
    /// PPPoE parameters (used in PPPoE mode). The password is inside
    /// [`Credentials`], whose `Debug` is redacted.
    pub pppoe: PppoeSettings,
}

/// What PPPoE discovery needs from `[wan.pppoe]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PppoeSettings {
    /// Service-Name to request; empty = any.
    pub service: String,
    /// Only this AC's offers are taken; empty = the first acceptable one.
    pub ac_name: String,
    /// Seconds to wait before discovering again after the AC refused or
    /// ended a session.
    pub reconnect_min: u32,
    /// Ceiling of the reconnect backoff, seconds.
    pub reconnect_max: u32,
    /// Seconds between LCP Echo-Requests (0: none).
    pub lcp_echo_interval: u32,
    /// Unanswered echoes that end the session.
    pub lcp_echo_failure: u32,
    /// PAP/CHAP user name and password.
    pub credentials: Credentials,
}

impl Default for PppoeSettings {
    fn default() -> Self {
        let d = cpe_config::Pppoe::default();
        PppoeSettings {
            service: d.service,
            ac_name: d.ac_name,
            reconnect_min: d.reconnect_min,
            reconnect_max: d.reconnect_max,
            lcp_echo_interval: d.lcp_echo_interval,
            lcp_echo_failure: d.lcp_echo_failure,
            credentials: Credentials::new(&d.username, &d.password),
        }
    }
}

/// Access mode; one module per mode (`ipoe`, `pppoe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WanMode {
    /// Native IPv6 over Ethernet (RA + DHCPv6, DHCPv4).
    Ipoe,
    /// PPPoE session.
    Pppoe,
}

impl WanMode {
    /// The word used in config, facts and status.
    pub fn as_str(self) -> &'static str {
        match self {
            WanMode::Ipoe => "ipoe",
            WanMode::Pppoe => "pppoe",
        }
    }
}

impl WanSettings {
    /// Takes what the WAN needs from a validated config.
    pub fn from_config(c: &Config) -> WanSettings {
        WanSettings {
            interface: c.wan.interface.clone(),
            mode: match c.wan.mode {
                Mode::Ipoe => WanMode::Ipoe,
                Mode::Pppoe => WanMode::Pppoe,
            },
            mtu: c.wan.mtu,
            ipv4: c.wan.ipv4,
            state_dir: c.system.state_dir.clone(),
            pppoe: c
                .wan
                .pppoe
                .as_ref()
                .map(|p| PppoeSettings {
                    service: p.service.clone(),
                    ac_name: p.ac_name.clone(),
                    reconnect_min: p.reconnect_min,
                    reconnect_max: p.reconnect_max,
                    lcp_echo_interval: p.lcp_echo_interval,
                    lcp_echo_failure: p.lcp_echo_failure,
                    credentials: Credentials::new(&p.username, &p.password),
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_the_config() {
        let src = "[system]\nstate_dir = \"/tmp/x\"\n[wan]\ninterface = \"eth1\"\nmtu = 1454\nipv4 = false\n[[lan]]\n";
        let loaded = cpe_config::parse_str(src, "t.toml").unwrap();
        let s = WanSettings::from_config(&loaded.config);
        assert_eq!(s.interface, "eth1");
        assert_eq!(s.mode, WanMode::Ipoe);
        assert_eq!(s.mtu, 1454);
        assert!(!s.ipv4);
        assert_eq!(s.state_dir, PathBuf::from("/tmp/x"));
        assert_eq!(s.pppoe, PppoeSettings::default());
    }

    #[test]
    fn pppoe_settings_follow_the_config_without_the_password() {
        let src = "[wan]\ninterface = \"eth1\"\nmode = \"pppoe\"\n[wan.pppoe]\nusername = \"u\"\n\
                   password = \"hunter2\"\nservice = \"flets\"\nac_name = \"bras\"\nreconnect_min = 7\n[[lan]]\n";
        let loaded = cpe_config::parse_str(src, "t.toml").unwrap();
        let s = WanSettings::from_config(&loaded.config);
        assert_eq!(s.mode, WanMode::Pppoe);
        assert_eq!(
            s.pppoe,
            PppoeSettings {
                service: "flets".into(),
                ac_name: "bras".into(),
                reconnect_min: 7,
                credentials: Credentials::new("u", "hunter2"),
                ..PppoeSettings::default()
            }
        );
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
