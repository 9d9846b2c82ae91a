//! Routes (`RTM_*ROUTE`): the default route the kernel learns from RAs,
//! static routes, and the `unreachable` route that keeps undelegated parts
//! of a delegated prefix from looping to the WAN (RFC 7084 WPD-5).

use super::addr::Scope;
use super::consts::*;
use super::error::ParseError;
use super::wire::{RequestBuilder, attr_ip, attr_u32, attributes, take, u32_at};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Route type (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteType(pub u8);

impl RouteType {
    /// A normal forwarding route.
    pub const UNICAST: RouteType = RouteType(1);
    /// Local address (table local).
    pub const LOCAL: RouteType = RouteType(2);
    /// Broadcast (IPv4, table local).
    pub const BROADCAST: RouteType = RouteType(3);
    /// Anycast (IPv6, table local).
    pub const ANYCAST: RouteType = RouteType(4);
    /// Multicast.
    pub const MULTICAST: RouteType = RouteType(5);
    /// Silently drop.
    pub const BLACKHOLE: RouteType = RouteType(6);
    /// Drop with ICMP destination unreachable (what RFC 7084 WPD-5 wants).
    pub const UNREACHABLE: RouteType = RouteType(7);
    /// Drop with ICMP administratively prohibited.
    pub const PROHIBIT: RouteType = RouteType(8);
}

impl fmt::Display for RouteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RouteType::UNICAST => f.write_str("unicast"),
            RouteType::LOCAL => f.write_str("local"),
            RouteType::BROADCAST => f.write_str("broadcast"),
            RouteType::ANYCAST => f.write_str("anycast"),
            RouteType::MULTICAST => f.write_str("multicast"),
            RouteType::BLACKHOLE => f.write_str("blackhole"),
            RouteType::UNREACHABLE => f.write_str("unreachable"),
            RouteType::PROHIBIT => f.write_str("prohibit"),
            RouteType(n) => write!(f, "type-{n}"),
        }
    }
}

/// Who installed a route (`RTPROT_*`): lets the WAN daemon tell the RA's
/// default route from a static one, and lets us remove only our own routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteProtocol(pub u8);

impl RouteProtocol {
    /// Unknown.
    pub const UNSPEC: RouteProtocol = RouteProtocol(0);
    /// ICMP redirect.
    pub const REDIRECT: RouteProtocol = RouteProtocol(1);
    /// The kernel (prefix routes of addresses).
    pub const KERNEL: RouteProtocol = RouteProtocol(2);
    /// Boot-time configuration (`ip route add` default).
    pub const BOOT: RouteProtocol = RouteProtocol(3);
    /// Static, by an administrator or daemon (what this router installs).
    pub const STATIC: RouteProtocol = RouteProtocol(4);
    /// Learned from a Router Advertisement.
    pub const RA: RouteProtocol = RouteProtocol(9);
    /// Installed by a DHCP client.
    pub const DHCP: RouteProtocol = RouteProtocol(16);
}

impl fmt::Display for RouteProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RouteProtocol::UNSPEC => f.write_str("unspec"),
            RouteProtocol::REDIRECT => f.write_str("redirect"),
            RouteProtocol::KERNEL => f.write_str("kernel"),
            RouteProtocol::BOOT => f.write_str("boot"),
            RouteProtocol::STATIC => f.write_str("static"),
            RouteProtocol::RA => f.write_str("ra"),
            RouteProtocol::DHCP => f.write_str("dhcp"),
            RouteProtocol(n) => write!(f, "proto-{n}"),
        }
    }
}

/// One route, as dumped or notified, and as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix (`::/0` or `0.0.0.0/0` for a default route).
    pub dst: IpNet,
    /// Next hop, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface index, if any.
    pub oif: Option<u32>,
    /// Route type.
    pub kind: RouteType,
    /// Who installed it.
    pub protocol: RouteProtocol,
    /// Scope.
    pub scope: Scope,
    /// Routing table (254 = main).
    pub table: u32,
    /// Metric (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// Preferred source address.
    pub pref_src: Option<IpAddr>,
    /// Seconds until the kernel removes it (RA-learned routes), if it expires.
    /// Ignored in requests.
    pub expires: Option<u32>,
}

impl Route {
    /// A unicast route in the main table, installed as `static`.
    pub fn unicast(dst: IpNet, gateway: Option<IpAddr>, oif: Option<u32>) -> Self {
        Route {
            dst,
            gateway,
            oif,
            kind: RouteType::UNICAST,
            protocol: RouteProtocol::STATIC,
            scope: if gateway.is_some() || dst.addr().is_ipv6() {
                Scope::UNIVERSE
            } else {
                Scope::LINK
            },
            table: u32::from(RT_TABLE_MAIN),
            metric: None,
            pref_src: None,
            expires: None,
        }
    }

    /// An `unreachable` route for `dst` in the main table (RFC 7084 WPD-5:
    /// the parts of a delegated prefix not assigned to a LAN).
    pub fn unreachable(dst: IpNet) -> Self {
        Route {
            kind: RouteType::UNREACHABLE,
            scope: Scope::UNIVERSE,
            ..Route::unicast(dst, None, None)
        }
    }

    /// Whether this is a default route (`/0`).
    pub fn is_default(&self) -> bool {
        self.dst.prefix_len() == 0
    }
}

fn unspecified(family: u8) -> Result<IpAddr, ParseError> {
    match family {
        AF_INET => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        other => Err(ParseError::UnknownFamily(other)),
    }
}

/// Parses the payload of an `RTM_NEWROUTE`/`RTM_DELROUTE` message.
pub fn parse_route(payload: &[u8]) -> Result<Route, ParseError> {
    let head = take::<RTMSG_LEN>(payload, 0, "rtmsg")?;
    let [
        family,
        dst_len,
        _src_len,
        _tos,
        table8,
        protocol,
        scope,
        kind,
        ..,
    ] = head;
    let mut dst = unspecified(family)?;
    let mut route = Route {
        dst: IpNet::from(dst),
        gateway: None,
        oif: None,
        kind: RouteType(kind),
        protocol: RouteProtocol(protocol),
        scope: Scope(scope),
        table: u32::from(table8),
        metric: None,
        pref_src: None,
        expires: None,
    };
    let attrs = payload.get(RTMSG_LEN..).unwrap_or(&[]);
    for attr in attributes(attrs, "rtmsg attribute") {
        let (akind, data) = attr?;
        match akind {
            RTA_DST => dst = attr_ip(data, family, "RTA_DST")?,
            RTA_GATEWAY => route.gateway = Some(attr_ip(data, family, "RTA_GATEWAY")?),
            RTA_PREFSRC => route.pref_src = Some(attr_ip(data, family, "RTA_PREFSRC")?),
            RTA_OIF => route.oif = Some(attr_u32(data, "RTA_OIF")?),
            RTA_PRIORITY => route.metric = Some(attr_u32(data, "RTA_PRIORITY")?),
            RTA_TABLE => route.table = attr_u32(data, "RTA_TABLE")?,
            RTA_CACHEINFO => {
                if data.len() != RTA_CACHEINFO_LEN {
                    return Err(ParseError::BadAttribute {
                        what: "RTA_CACHEINFO",
                        len: data.len(),
                    });
                }
                // rta_expires is signed clock ticks; 0 means "does not expire".
                let ticks = u32_at(data, 8, "RTA_CACHEINFO")? as i32;
                if ticks > 0 {
                    route.expires = Some((ticks as u32).div_ceil(USER_HZ));
                }
            }
            _ => {}
        }
    }
    route.dst = match dst {
        IpAddr::V4(a) => Ipv4Net::new(a, dst_len).map(IpNet::V4),
        IpAddr::V6(a) => Ipv6Net::new(a, dst_len).map(IpNet::V6),
    }
    .map_err(|_| ParseError::BadPrefixLen(dst_len))?;
    Ok(route)
}

fn rtmsg(r: &Route, family: u8) -> [u8; RTMSG_LEN] {
    let table8 = u8::try_from(r.table).unwrap_or(0);
    let mut m = [0u8; RTMSG_LEN];
    m[0] = family;
    m[1] = r.dst.prefix_len();
    m[4] = table8;
    m[5] = r.protocol.0;
    m[6] = r.scope.0;
    m[7] = r.kind.0;
    m
}

pub(crate) fn dump_request(family: u8) -> RequestBuilder {
    let mut m = [0u8; RTMSG_LEN];
    m[0] = family;
    RequestBuilder::new(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP).fixed(&m)
}

/// `RTM_NEWROUTE` (with `nl_flags` deciding create/replace) or `RTM_DELROUTE`.
pub(crate) fn change_request(kind: u16, nl_flags: u16, r: &Route) -> RequestBuilder {
    let family = match r.dst {
        IpNet::V4(_) => AF_INET,
        IpNet::V6(_) => AF_INET6,
    };
    let mut b =
        RequestBuilder::new(kind, NLM_F_REQUEST | NLM_F_ACK | nl_flags).fixed(&rtmsg(r, family));
    // The kernel wants the network address, not an address with host bits.
    b = b.attr_ip(RTA_DST, r.dst.network());
    if r.table > 255 {
        b = b.attr_u32(RTA_TABLE, r.table);
    }
    if let Some(gw) = r.gateway {
        b = b.attr_ip(RTA_GATEWAY, gw);
    }
    if let Some(oif) = r.oif {
        b = b.attr_u32(RTA_OIF, oif);
    }
    if let Some(metric) = r.metric {
        b = b.attr_u32(RTA_PRIORITY, metric);
    }
    if let Some(src) = r.pref_src {
        b = b.attr_ip(RTA_PREFSRC, src);
    }
    b
}
