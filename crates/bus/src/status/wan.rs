//! The WAN daemon's own status (`cpectl show wan`'s daemon part): what the
//! facts do not carry, for an engineer chasing a problem. IPoE fills the
//! link, RA, RDNSS and DHCPv4 parts; PPPoE fills `pppoe`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::WanState;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WanStatus {
    /// `ipoe` or `pppoe`.
    pub mode: String,
    /// The WAN interface.
    pub interface: String,
    /// IPoE: the state as in the facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<WanState>,
    /// Why, in words (PPPoE: only while the interface is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// IPoE: link, RA, RDNSS, DHCPv4 and counters (top-level fields on
    /// the wire).
    #[serde(flatten)]
    pub ipoe: Option<IpoeStatus>,
    /// PPPoE discovery and session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pppoe: Option<PppoeStatus>,
}

/// The IPoE part, flattened into [`WanStatus`] on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpoeStatus {
    /// The WAN link, once it exists.
    pub link: Option<LinkStatus>,
    /// The ISP's last Router Advertisement.
    pub last_ra: Option<LastRa>,
    /// DNS servers from RDNSS with their remaining lifetime.
    pub rdnss: Vec<RdnssStatus>,
    /// The DHCPv4 lease.
    pub ipv4: Option<Ipv4Status>,
    /// What the daemon counted.
    pub counters: IpoeCounters,
    /// The DHCPv4 client, when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcpv4: Option<Dhcp4ClientStatus>,
}

/// The WAN's DHCPv4 client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dhcp4ClientStatus {
    /// Client state (`selecting`, `bound`, ...).
    pub state: String,
    /// Leased address with prefix length.
    pub address: Option<String>,
    /// The server that gave it.
    pub server: Option<String>,
    /// Gateway.
    pub router: Option<String>,
    /// Seconds until the lease ends.
    pub lease_s: Option<u64>,
    /// Seconds until renewing (bound only).
    pub t1_s: Option<u64>,
    /// Seconds until rebinding.
    pub t2_s: Option<u64>,
    /// Malformed replies dropped.
    pub malformed: u64,
    /// Replies not for us, ignored.
    pub ignored: u64,
    /// DHCPNAKs received.
    pub naks: u64,
}

/// The WAN link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkStatus {
    /// Interface index.
    pub index: u32,
    /// Administratively up.
    pub admin_up: bool,
    /// Carrier.
    pub carrier: bool,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: Option<String>,
}

/// The ISP's last RA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LastRa {
    /// Its source (link-local).
    pub from: String,
    /// Seconds since it arrived.
    pub age_s: u64,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// Router lifetime, seconds.
    pub router_lifetime: u16,
    /// MTU option.
    pub mtu: Option<u32>,
}

/// One RDNSS server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RdnssStatus {
    /// The server.
    pub server: String,
    /// Seconds of lifetime left.
    pub lifetime_s: u64,
}

/// The DHCPv4 lease on the WAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipv4Status {
    /// Leased address.
    pub address: String,
    /// Gateway.
    pub router: Option<String>,
    /// DNS servers.
    pub dns: Vec<String>,
}

/// IPoE counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpoeCounters {
    /// RAs accepted.
    pub ra_accepted: u64,
    /// Packets dropped as invalid RAs.
    pub ra_rejected: u64,
    /// Router Solicitations sent.
    pub rs_sent: u64,
    /// Malformed netlink notifications dropped.
    pub netlink_malformed: u64,
}

/// PPPoE discovery and session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PppoeStatus {
    /// Discovery's `idle`, `discovery`, `request`, `session`, `holdoff`,
    /// `stopped`; once PPP runs, its `lcp`, `auth`, `network`, `terminate`.
    pub phase: String,
    /// Service-Name asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// AC-Name asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ac_name_wanted: Option<String>,
    /// The access concentrator chosen.
    pub ac: Option<AcStatus>,
    /// Session id, `0x0001`.
    pub session_id: Option<String>,
    /// The session that ended last.
    pub last_session_id: Option<String>,
    /// Discovery attempts.
    pub attempts: u64,
    /// The last failure, with the AC's own words.
    pub last_failure: Option<String>,
    /// Sent, by packet name.
    pub sent: BTreeMap<String, u64>,
    /// Accepted, by packet name.
    pub received: BTreeMap<String, u64>,
    /// Dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Frames the socket refused to send.
    pub send_errors: u64,
    /// The PPP unit while the kernel session exists (`ppp0`).
    pub unit: Option<String>,
    /// Our MRU, once LCP opened.
    pub mru: Option<u16>,
    /// The MTU on the unit (the peer's MRU, at most `wan.mtu`).
    pub mtu: Option<u32>,
    /// IPCP: `up <address> peer <address> dns <a>, <b>`, or its state and
    /// why it is not up.
    pub ipcp: Option<String>,
    /// IPV6CP: `up <link-local> peer <link-local>`, or why not.
    pub ipv6cp: Option<String>,
    /// The last authentication failure, with the server's text.
    pub auth_failure: Option<String>,
    /// Reconnect attempts since the daemon started.
    pub reconnects: u64,
    /// Seconds until the next reconnect attempt, when one is scheduled.
    pub next_attempt_s: Option<u64>,
}

/// An access concentrator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcStatus {
    /// AC-Name, printable.
    pub name: String,
    /// Its MAC.
    pub mac: String,
}
