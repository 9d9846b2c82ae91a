//! `[wan]` and its sub-tables.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;

use ipnet::{Ipv4Net, Ipv6Net};

/// `[wan]`: the upstream link.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Wan {
    /// The Ethernet interface facing the access network (the PPPoE session
    /// runs on it in PPPoE mode).
    pub interface: String,
    /// How the router reaches the ISP.
    pub mode: Mode,
    /// Link MTU in bytes (1280..=9000). When unset it is 1500 in IPoE mode and
    /// 1492 in PPPoE mode (RFC 2516: 8 bytes of PPPoE/PPP header); in PPPoE
    /// mode the LCP MRU follows it.
    pub mtu: u32,
    /// Run IPv4 on the WAN too: a DHCPv4 client in IPoE mode, IPCP in PPPoE.
    pub ipv4: bool,
    /// PPPoE session parameters; `Some` whenever `[wan.pppoe]` is present,
    /// and always `Some` in PPPoE mode.
    pub pppoe: Option<Pppoe>,
    /// The DHCPv6 client on the WAN (over the PPP link in PPPoE mode).
    pub dhcpv6: WanDhcpv6,
    /// Carrier "closed network" ranges: a delegation inside one reaches the
    /// carrier's own services, not the Internet (NTT NGN without an IPv6
    /// ISP contract). Only the console and the log read it, so a change
    /// restarts nothing. Default [`DEFAULT_CLOSED_PREFIXES`]; empty: off.
    pub closed_prefixes: Vec<ipnet::Ipv6Net>,
    /// IPv4 carried inside IPv6 (DS-Lite, MAP-E) on an IPv6-only access.
    pub ipv4_over_ipv6: Ipv4OverIpv6,
}

/// NTT NGN (FLET'S) closed-network ranges, the default of
/// `wan.closed_prefixes`.
pub const DEFAULT_CLOSED_PREFIXES: [&str; 5] = [
    "2001:c90::/32",
    "2001:d70::/30",
    "2001:a000::/21",
    "2404:1a8::/32",
    "2408::/22",
];

/// What a delegation inside a closed range means, for the log and the
/// console alike; `None` when `prefix` is in none of `closed`.
pub fn closed_prefix_finding(closed: &[ipnet::Ipv6Net], prefix: ipnet::Ipv6Net) -> Option<String> {
    let range = closed.iter().find(|r| r.contains(&prefix))?;
    let whose = if default_closed_prefixes().contains(range) {
        "an NTT NGN closed-network range"
    } else {
        "a closed-network range (wan.closed_prefixes)"
    };
    Some(format!(
        "delegated {prefix} is inside {range}, {whose}: LAN clients numbered from it reach \
         the carrier's own services but not the Internet through this ISP's closed network"
    ))
}

/// [`DEFAULT_CLOSED_PREFIXES`] as prefixes.
pub fn default_closed_prefixes() -> Vec<ipnet::Ipv6Net> {
    DEFAULT_CLOSED_PREFIXES
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// `[wan.ipv4_over_ipv6]`: how IPv4 reaches the Internet when the access
/// network is IPv6-only (RFC 6333 DS-Lite, RFC 7597 MAP-E).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Ipv4OverIpv6 {
    /// Which mechanism runs.
    pub mode: S46Mode,
    /// The DS-Lite AFTR written in the config; `None` = take it from DHCPv6
    /// option 64 (RFC 6334).
    pub aftr: Option<Aftr>,
    /// A MAP-E Basic Mapping Rule written in the config; `None` = take it
    /// from DHCPv6 (RFC 7598 option 94).
    pub map_rule: Option<MapRule>,
}

/// The DS-Lite softwire's interface: one fixed name, so the firewall can
/// name it in its rules from the config alone, before the tunnel exists.
pub const DSLITE_INTERFACE: &str = "dslite0";

/// The MAP-E tunnel's interface, fixed for the same reason.
pub const MAPE_INTERFACE: &str = "map0";

impl Ipv4OverIpv6 {
    /// The softwire interfaces this config may bring up: `dslite0` for
    /// `dslite`, `map0` for `map-e`, either for `auto` (which one runs
    /// follows DHCPv6: `cpe_bus::s46::choose`), none for `off`.
    pub fn softwires(&self) -> &'static [&'static str] {
        match self.mode {
            S46Mode::DsLite => &[DSLITE_INTERFACE],
            S46Mode::MapE => &[MAPE_INTERFACE],
            S46Mode::Auto => &[DSLITE_INTERFACE, MAPE_INTERFACE],
            S46Mode::Off => &[],
        }
    }
}

/// `wan.ipv4_over_ipv6.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum S46Mode {
    /// No tunnel: IPv4 only if the WAN itself has it (`"off"`).
    #[default]
    #[serde(rename = "off")]
    Off,
    /// Whatever the ISP's DHCPv6 offers: a MAP-E rule (option 94) first,
    /// else an AFTR (option 64) (`"auto"`).
    #[serde(rename = "auto")]
    Auto,
    /// DS-Lite B4 toward the AFTR (`"dslite"`).
    #[serde(rename = "dslite")]
    DsLite,
    /// MAP-E CE (`"map-e"`).
    #[serde(rename = "map-e")]
    MapE,
}

impl S46Mode {
    /// The word written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            S46Mode::Off => "off",
            S46Mode::Auto => "auto",
            S46Mode::DsLite => "dslite",
            S46Mode::MapE => "map-e",
        }
    }
}

/// The DS-Lite AFTR: a name resolved through the WAN's DNS, or an address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Aftr {
    /// A fully qualified domain name, lower case, without the trailing dot.
    Name(String),
    /// A unicast IPv6 address.
    Address(Ipv6Addr),
}

impl fmt::Display for Aftr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aftr::Name(name) => f.write_str(name),
            Aftr::Address(addr) => addr.fmt(f),
        }
    }
}

/// A MAP-E Basic Mapping Rule (RFC 7597 section 5) with its Border Relay.
/// Its arithmetic was checked at load by `cpe_wire::map_e::Rule::new`:
/// `32 - ipv4_prefix.prefix_len()` IPv4 suffix bits plus the PSID length
/// make `ea_bits`, the PSID fits in the 16 port bits after `psid_offset`,
/// and `ipv6_prefix` + EA bits fit in 64.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MapRule {
    /// Rule IPv6 prefix: the delegated prefix must lie inside it.
    pub ipv6_prefix: Ipv6Net,
    /// Rule IPv4 prefix: the shared IPv4 addresses come from it.
    pub ipv4_prefix: Ipv4Net,
    /// Embedded-address bits: IPv4 suffix and PSID taken from the
    /// delegated prefix after the rule IPv6 prefix (0..=48).
    pub ea_bits: u8,
    /// Port bits before the PSID (RFC 7597 5.1: default 6, so the
    /// well-known ports 0..1023 are in no port set).
    pub psid_offset: u8,
    /// The Border Relay the tunnel goes to.
    pub br: Ipv6Addr,
}

impl MapRule {
    /// PSID length in bits: EA bits minus the IPv4 suffix bits.
    pub fn psid_len(&self) -> u8 {
        self.ea_bits - (32 - self.ipv4_prefix.prefix_len())
    }
}

/// Access mode of the WAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Native IPv6 over the carrier's Ethernet: RA + DHCPv6 (+ DHCPv4).
    Ipoe,
    /// A PPPoE session: LCP, authentication, IPCP/IPV6CP, then DHCPv6-PD over
    /// the PPP link.
    Pppoe,
}

/// `[wan.pppoe]`.
///
/// `Debug` and `Serialize` redact the password so that printing a config
/// (logs, `cpectl config`) never leaks it; `PartialEq` compares the real
/// value so a password change still counts as a change on reload.
#[derive(Clone, PartialEq, serde::Serialize)]
pub struct Pppoe {
    /// PAP/CHAP user name.
    pub username: String,
    /// PAP/CHAP secret, already read from `password_file` when that was used
    /// (trailing line break removed).
    #[serde(serialize_with = "redact")]
    pub password: String,
    /// Where the password came from, if from a file; kept so a reload can
    /// tell the file is the source of truth.
    pub password_file: Option<PathBuf>,
    /// PPPoE Service-Name to request; empty = any service.
    pub service: String,
    /// Accept offers only from this access concentrator; empty = the first
    /// PADO wins.
    pub ac_name: String,
    /// Seconds between LCP Echo-Requests; 0 disables echoes.
    pub lcp_echo_interval: u32,
    /// Unanswered echoes after which the session is declared dead.
    pub lcp_echo_failure: u32,
    /// Seconds before the first reconnect attempt; the wait doubles after
    /// each failure.
    pub reconnect_min: u32,
    /// Upper bound of the reconnect backoff, seconds.
    pub reconnect_max: u32,
}

fn redact<S: serde::Serializer>(_password: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("<redacted>")
}

impl fmt::Debug for Pppoe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pppoe")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("password_file", &self.password_file)
            .field("service", &self.service)
            .field("ac_name", &self.ac_name)
            .field("lcp_echo_interval", &self.lcp_echo_interval)
            .field("lcp_echo_failure", &self.lcp_echo_failure)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .finish()
    }
}

/// `[wan.dhcpv6]`: the DHCPv6 client.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WanDhcpv6 {
    /// Run the client at all.
    pub enabled: bool,
    /// Ask for a delegated prefix (IA_PD) to number the LANs from.
    pub request_prefix: bool,
    /// Prefix length put in the IA_PD hint (48..=64). The server may delegate
    /// another length; LANs whose `subnet_id` does not fit then stay without
    /// a global prefix and the supervisor reports it.
    pub prefix_hint: u8,
    /// Whether to ask for a WAN address (IA_NA).
    pub request_address: RequestAddress,
    /// Offer Rapid Commit (two-message exchange).
    pub rapid_commit: bool,
    /// When the client starts on an IPoE WAN.
    pub start: Dhcpv6Start,
}

/// When the DHCPv6 client starts asking on an IPoE WAN (on PPPoE it always
/// starts once the session is up: DHCPv6-PD runs over the PPP link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dhcpv6Start {
    /// Once the ISP's Router Advertisement has M or O set (`"ra"`): the
    /// access network says DHCPv6 is there (RFC 4861 semantics).
    Ra,
    /// As soon as the WAN link has carrier (`"always"`): for ISPs whose RAs
    /// do not set M/O but still delegate prefixes.
    Always,
}

/// When to include IA_NA in the DHCPv6 Solicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestAddress {
    /// Only when the WAN RA has the M flag set (`"auto"`).
    Auto,
    /// Always (`true`).
    Always,
    /// Never (`false`): the WAN address comes from SLAAC or the PD.
    Never,
}

/// Default MTU of an Ethernet (IPoE) WAN.
pub const IPOE_DEFAULT_MTU: u32 = 1500;
/// Default MTU of a PPPoE WAN: 1500 minus the 6-byte PPPoE and 2-byte PPP
/// headers (RFC 2516).
pub const PPPOE_DEFAULT_MTU: u32 = 1492;

/// IPoE on `wan0` with IPv4 and the default DHCPv6 client.
impl Default for Wan {
    fn default() -> Self {
        Self {
            interface: "wan0".to_owned(),
            mode: Mode::Ipoe,
            mtu: IPOE_DEFAULT_MTU,
            ipv4: true,
            pppoe: None,
            dhcpv6: WanDhcpv6::default(),
            closed_prefixes: default_closed_prefixes(),
            ipv4_over_ipv6: Ipv4OverIpv6::default(),
        }
    }
}

/// Empty credentials and the spec's timers (echo every 10 s, 3 misses,
/// reconnect backoff 5..300 s). Credentials have no default in a file.
impl Default for Pppoe {
    fn default() -> Self {
        Self {
            username: String::new(),
            password: String::new(),
            password_file: None,
            service: String::new(),
            ac_name: String::new(),
            lcp_echo_interval: 10,
            lcp_echo_failure: 3,
            reconnect_min: 5,
            reconnect_max: 300,
        }
    }
}

/// Client on, IA_PD with a /56 hint, IA_NA when RA says M=1, Rapid Commit.
impl Default for WanDhcpv6 {
    fn default() -> Self {
        Self {
            enabled: true,
            request_prefix: true,
            prefix_hint: 56,
            request_address: RequestAddress::Auto,
            rapid_commit: true,
            start: Dhcpv6Start::Ra,
        }
    }
}
