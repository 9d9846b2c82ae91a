//! `[firewall]`.

use std::net::Ipv6Addr;

/// `[firewall]`: one policy for IPv4 and IPv6 alike.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Firewall {
    /// Install the ruleset at all.
    pub enabled: bool,
    /// Verdict for unsolicited inbound traffic from the WAN (IPv4 and IPv6).
    pub wan_inbound: InboundPolicy,
    /// ICMPv6 policy.
    pub icmpv6: Icmpv6Policy,
    /// Rate limit for inbound Echo Requests from the WAN.
    pub echo_request_limit: RateLimit,
    /// Masquerade LAN IPv4 out of the WAN.
    pub ipv4_nat: bool,
    /// Clamp TCP MSS to the path MTU on the WAN (needed with PPPoE).
    pub mss_clamp: bool,
    /// Inbound IPv6 allowances.
    pub pinhole: Vec<Pinhole>,
}

/// Verdict for unsolicited inbound WAN traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InboundPolicy {
    /// Silently drop (the default).
    Drop,
    /// Answer with TCP RST / ICMP administratively prohibited.
    Reject,
    /// Let it in. Accepted with a warning: IPv6 LAN hosts are then reachable
    /// from the Internet.
    Accept,
}

/// ICMPv6 filtering policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Icmpv6Policy {
    /// RFC 4890's transit and local recommendations: Destination
    /// Unreachable, Packet Too Big, Time Exceeded and Parameter Problem always
    /// pass, so Path MTU Discovery keeps working.
    #[serde(rename = "rfc4890")]
    Rfc4890,
}

/// `N/unit`: at most `count` packets per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct RateLimit {
    /// Packets allowed per period (1..=1000000).
    pub count: u32,
    /// The period.
    pub per: RatePeriod,
}

/// Period of a [`RateLimit`]; the units nftables' `limit rate` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RatePeriod {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day.
    Day,
}

impl RatePeriod {
    /// Length of the period in seconds, for token-bucket arithmetic.
    pub fn seconds(self) -> u32 {
        match self {
            RatePeriod::Second => 1,
            RatePeriod::Minute => 60,
            RatePeriod::Hour => 3600,
            RatePeriod::Day => 86400,
        }
    }
}

/// One `[[firewall.pinhole]]`: inbound IPv6 to one port of one LAN host.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pinhole {
    /// Unique label, used in rule comments and counters.
    pub name: String,
    /// Transport protocol.
    pub proto: PinholeProto,
    /// Destination port, 1..=65535.
    pub port: u16,
    /// Which host.
    pub host: HostSpec,
}

/// Transport protocol of a pinhole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PinholeProto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// The destination host of a pinhole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum HostSpec {
    /// An interface identifier (`"::1234"`: the upper 64 bits are zero): the
    /// rule matches that IID under every LAN prefix, so it follows prefix
    /// changes.
    InterfaceId(u64),
    /// One fixed address (does not follow renumbering).
    Address(Ipv6Addr),
}

/// Firewall on, drop unsolicited inbound, RFC 4890 ICMPv6, 10 echo
/// requests per second, NAT44 and MSS clamping on, no pinholes.
impl Default for Firewall {
    fn default() -> Self {
        Self {
            enabled: true,
            wan_inbound: InboundPolicy::Drop,
            icmpv6: Icmpv6Policy::Rfc4890,
            echo_request_limit: RateLimit {
                count: 10,
                per: RatePeriod::Second,
            },
            ipv4_nat: true,
            mss_clamp: true,
            pinhole: Vec::new(),
        }
    }
}
