//! The validated configuration, as the daemons consume it.
//!
//! Every value here has already passed the schema and the cross-section
//! checks, and every default has been filled in: a daemon never needs to
//! re-validate or guess. Durations are integer seconds (the unit is in each
//! field's doc) because that is what the protocols put on the wire.
//!
//! All types derive `Serialize` so the supervisor can print a slice or compare
//! two of them; compare with `PartialEq`, though, because secrets are redacted
//! in the serialized form.

mod dns;
mod firewall;
mod lan;
mod ntp;
mod wan;

pub use dns::{Dns, HostEntry, UpstreamSpec};
pub use firewall::{
    Firewall, HostSpec, Icmpv6Policy, InboundPolicy, Pinhole, PinholeProto, RateLimit, RatePeriod,
};
pub use lan::{Dhcpv6Mode, Lan, LanDhcpv6, LanIpv4, LanRa, RaMtu, RouterPreference};
pub use ntp::Ntp;
pub use wan::{
    Aftr, DEFAULT_CLOSED_PREFIXES, DSLITE_INTERFACE, Dhcpv6Start, IPOE_DEFAULT_MTU, Ipv4OverIpv6,
    MAPE_INTERFACE, MapRule, Mode, PPPOE_DEFAULT_MTU, Pppoe, RequestAddress, S46Mode, Wan,
    WanDhcpv6, closed_prefix_finding, default_closed_prefixes,
};

use std::net::IpAddr;
use std::path::PathBuf;

/// The whole router: one value per top-level table of the TOML file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Config {
    /// `[system]`: identity, logging and where state lives.
    pub system: System,
    /// `[wan]`: the upstream link and how addresses/prefixes are obtained.
    pub wan: Wan,
    /// `[[lan]]`: at least one; each LAN gets its own /64 from the delegated
    /// prefix, selected by `subnet_id`.
    pub lan: Vec<Lan>,
    /// `[dns]`: the forwarder.
    pub dns: Dns,
    /// `[firewall]`: policy turned into one nftables ruleset.
    pub firewall: Firewall,
    /// `[ntp]`: the NTP client.
    pub ntp: Ntp,
}

/// The config `[wan]` and one `[[lan]]` give, every default filled in
/// (a test keeps it equal to what the reader makes of that text). It is
/// the base of a daemon's config projection (`cpe_bus::Daemon::project`):
/// a field the daemon does not declare holds this value.
impl Default for Config {
    fn default() -> Self {
        Self {
            system: System::default(),
            wan: Wan::default(),
            lan: vec![Lan::default()],
            dns: Dns::default(),
            firewall: Firewall::default(),
            ntp: Ntp::default(),
        }
    }
}

/// `[system]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct System {
    /// The router's own host name (also answered by the DNS forwarder under
    /// `dns.local_domain`). Validated as a DNS name of at most 64 characters.
    pub hostname: String,
    /// Threshold for every daemon's log output.
    pub log_level: LogLevel,
    /// Persistent state (DUID, last delegated prefixes for RFC 9096, ULA
    /// prefix, DHCPv4 leases). Absolute path.
    pub state_dir: PathBuf,
    /// Volatile runtime files (control sockets, pid files). Absolute path.
    pub run_dir: PathBuf,
    /// crypt(3) SHA-512 hash of root's password for the serial console's
    /// login; `None` leaves the console without a login, as a board fresh
    /// from the bench has it.
    pub root_password_hash: Option<CryptHash>,
}

/// A crypt(3) SHA-512 hash (`$6$[rounds=N$]salt$hash`), checked for form
/// only: the console's `login` verifies passwords against it.
///
/// `Debug` and `Serialize` redact it, as the PPPoE password: a hash in a
/// log or a status answer can be attacked offline. `PartialEq` compares the
/// real text so a changed hash counts as a change on reload.
#[derive(Clone, PartialEq, Eq)]
pub struct CryptHash(String);

impl CryptHash {
    /// Wraps text already validated by the config reader.
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }

    /// The hash as written in the config (for `/etc/shadow`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CryptHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl serde::Serialize for CryptHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

/// The five levels of the `log` crate, so a daemon can map them one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Only failures.
    Error,
    /// Failures and suspicious conditions.
    Warn,
    /// State changes an operator wants in the log (the default).
    Info,
    /// Protocol decisions, per packet where cheap.
    Debug,
    /// Everything, including packet dumps.
    Trace,
}

impl LogLevel {
    /// The spelling used in the config file and by `log::LevelFilter`'s
    /// `FromStr`, so `level.as_str().parse::<log::LevelFilter>()` works.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// An address list entry that may be the router itself.
///
/// `"self"` cannot be resolved at load time: the router's LAN addresses come
/// from the delegated prefix and change with it. Consumers substitute the
/// current address of the LAN in question when they build a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AddrOrSelf {
    /// This router's address on the LAN being served (`"self"`).
    #[serde(rename = "self")]
    SelfAddr,
    /// A literal address. For `lan.ra.rdnss` and `lan.dhcpv6.dns` it is
    /// always IPv6 (validated); in `dns.hosts` it may be either family and
    /// IPv4 is never stored as an IPv4-mapped IPv6 address.
    Addr(IpAddr),
}

/// The defaults of the spec: `hostname = "cpe"`, `log_level = "info"`,
/// `/var/lib/cpe`, `/run/cpe`.
impl Default for System {
    fn default() -> Self {
        Self {
            hostname: "cpe".to_owned(),
            log_level: LogLevel::Info,
            state_dir: PathBuf::from("/var/lib/cpe"),
            run_dir: PathBuf::from("/run/cpe"),
            root_password_hash: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Config::default()` is what the reader makes of the smallest file, so
    /// a projection's "every other field at its default" means the defaults
    /// the file documents.
    #[test]
    fn the_default_config_is_the_smallest_file() {
        let loaded = crate::parse_str("[wan]\n[[lan]]\n", "t.toml").unwrap();
        assert_eq!(loaded.config, Config::default());
    }
}
