//! Links (`RTM_*LINK`): what the WAN daemon needs to know about its interface.

use super::consts::*;
use super::error::ParseError;
use super::wire::{RequestBuilder, attr_string, attr_u8, attr_u32, attributes, take, u32_at};
use std::fmt;

/// `IFF_*` interface flags as the kernel reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkFlags(pub u32);

impl LinkFlags {
    /// Administratively up (`ip link set up`).
    pub const UP: u32 = 0x1;
    /// Loopback device.
    pub const LOOPBACK: u32 = 0x8;
    /// Operationally up (RFC 2863 "up" and not dormant).
    pub const RUNNING: u32 = 0x40;
    /// The driver signals carrier (layer 1 up).
    pub const LOWER_UP: u32 = 0x1_0000;

    /// Whether the link is administratively up.
    pub fn up(self) -> bool {
        self.0 & Self::UP != 0
    }
    /// Whether the link is operationally running.
    pub fn running(self) -> bool {
        self.0 & Self::RUNNING != 0
    }
    /// Whether layer 1 is up.
    pub fn lower_up(self) -> bool {
        self.0 & Self::LOWER_UP != 0
    }
}

/// RFC 2863 operational state (`IFLA_OPERSTATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OperState {
    /// The driver does not report one (common on virtual links).
    #[default]
    Unknown,
    /// Hardware missing.
    NotPresent,
    /// Down.
    Down,
    /// A lower layer (e.g. the veth peer, the PHY) is down.
    LowerLayerDown,
    /// In test mode.
    Testing,
    /// Waiting for an external event (802.1X...).
    Dormant,
    /// Up.
    Up,
    /// A value newer than this code.
    Other(u8),
}

impl OperState {
    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            n => OperState::Other(n),
        }
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperState::Unknown => f.write_str("unknown"),
            OperState::NotPresent => f.write_str("notpresent"),
            OperState::Down => f.write_str("down"),
            OperState::LowerLayerDown => f.write_str("lowerlayerdown"),
            OperState::Testing => f.write_str("testing"),
            OperState::Dormant => f.write_str("dormant"),
            OperState::Up => f.write_str("up"),
            OperState::Other(n) => write!(f, "operstate-{n}"),
        }
    }
}

/// One network interface as reported by `RTM_NEWLINK`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    /// Interface index (stable while the link exists; names can be renamed).
    pub index: u32,
    /// Interface name; empty if the kernel did not send one (a partial
    /// notification).
    pub name: String,
    /// `IFF_*` flags.
    pub flags: LinkFlags,
    /// `ARPHRD_*` hardware type (1 = Ethernet, 512 = PPP, 772 = loopback).
    pub hw_type: u16,
    /// RFC 2863 operational state.
    pub operstate: OperState,
    /// `IFLA_CARRIER`, if sent; prefer [`Link::has_carrier`].
    pub carrier: Option<bool>,
    /// Hardware address (6 bytes on Ethernet; empty on PPP).
    pub mac: Vec<u8>,
    /// Link MTU.
    pub mtu: Option<u32>,
}

impl Link {
    /// Carrier as a router should read it: `IFLA_CARRIER` when present,
    /// otherwise the `LOWER_UP` flag (both come from the driver).
    pub fn has_carrier(&self) -> bool {
        self.carrier.unwrap_or(self.flags.lower_up())
    }

    /// The MAC as `aa:bb:cc:dd:ee:ff`, for logs and status.
    pub fn mac_text(&self) -> String {
        let mut s = String::with_capacity(self.mac.len() * 3);
        for (i, b) in self.mac.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// Parses the payload of an `RTM_NEWLINK`/`RTM_DELLINK` message.
pub fn parse_link(payload: &[u8]) -> Result<Link, ParseError> {
    take::<IFINFOMSG_LEN>(payload, 0, "ifinfomsg")?;
    let hw_type = super::wire::u16_at(payload, 2, "ifinfomsg")?;
    let index = u32_at(payload, 4, "ifinfomsg")?;
    let flags = LinkFlags(u32_at(payload, 8, "ifinfomsg")?);
    let mut link = Link {
        index,
        flags,
        hw_type,
        ..Link::default()
    };
    let attrs = payload.get(IFINFOMSG_LEN..).unwrap_or(&[]);
    for attr in attributes(attrs, "ifinfomsg attribute") {
        let (kind, data) = attr?;
        match kind {
            IFLA_IFNAME => link.name = attr_string(data),
            IFLA_ADDRESS => {
                if data.len() > 32 {
                    return Err(ParseError::BadAttribute {
                        what: "IFLA_ADDRESS",
                        len: data.len(),
                    });
                }
                link.mac = data.to_vec();
            }
            IFLA_MTU => link.mtu = Some(attr_u32(data, "IFLA_MTU")?),
            IFLA_OPERSTATE => link.operstate = OperState::from_u8(attr_u8(data, "IFLA_OPERSTATE")?),
            IFLA_CARRIER => link.carrier = Some(attr_u8(data, "IFLA_CARRIER")? != 0),
            _ => {}
        }
    }
    Ok(link)
}

fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut m = [0u8; IFINFOMSG_LEN];
    m[0] = AF_UNSPEC;
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&change.to_ne_bytes());
    m
}

pub(crate) fn dump_request() -> RequestBuilder {
    RequestBuilder::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP).fixed(&ifinfomsg(0, 0, 0))
}

pub(crate) fn get_by_name_request(name: &str) -> RequestBuilder {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0);
    RequestBuilder::new(RTM_GETLINK, NLM_F_REQUEST)
        .fixed(&ifinfomsg(0, 0, 0))
        .attr(IFLA_IFNAME, &bytes)
}

pub(crate) fn get_by_index_request(index: u32) -> RequestBuilder {
    RequestBuilder::new(RTM_GETLINK, NLM_F_REQUEST).fixed(&ifinfomsg(index, 0, 0))
}

pub(crate) fn set_up_request(index: u32, up: bool) -> RequestBuilder {
    let flags = if up { LinkFlags::UP } else { 0 };
    RequestBuilder::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK).fixed(&ifinfomsg(
        index,
        flags,
        LinkFlags::UP,
    ))
}

pub(crate) fn set_mtu_request(index: u32, mtu: u32) -> RequestBuilder {
    RequestBuilder::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK)
        .fixed(&ifinfomsg(index, 0, 0))
        .attr_u32(IFLA_MTU, mtu)
}

/// An ip6tnl tunnel carrying IPv4 in IPv6 (RFC 2473 encapsulation, `mode
/// ipip6`): DS-Lite's softwire from the B4 to the AFTR (RFC 6333 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip6Tunnel {
    /// Interface name (at most 15 bytes).
    pub name: String,
    /// The underlying WAN interface's index: packets leave through it.
    pub link: u32,
    /// Our end: the WAN's IPv6 address.
    pub local: std::net::Ipv6Addr,
    /// The far end (the AFTR).
    pub remote: std::net::Ipv6Addr,
    /// Tunnel MTU in bytes (WAN MTU - 40).
    pub mtu: u32,
}

/// One attribute (header, payload, padding to 4) as bytes, for nesting.
fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let len = (NLA_HDRLEN + payload.len()) as u16;
    let mut out = Vec::with_capacity(super::wire::align4(usize::from(len)));
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

/// RTM_NEWLINK creating `t` (fails with EEXIST if the name is taken): kind
/// "ip6tnl", proto IPIP, hop limit 64, and no Encapsulation Limit
/// destination option (RFC 2473 4.1.1 makes it optional; AFTRs commonly
/// drop packets that carry it, and it costs 8 bytes of every packet).
pub(crate) fn new_ip6tnl_request(t: &Ip6Tunnel) -> RequestBuilder {
    let mut data = Vec::new();
    data.extend(nla(IFLA_IPTUN_LINK, &t.link.to_ne_bytes()));
    data.extend(nla(IFLA_IPTUN_LOCAL, &t.local.octets()));
    data.extend(nla(IFLA_IPTUN_REMOTE, &t.remote.octets()));
    data.extend(nla(IFLA_IPTUN_TTL, &[64]));
    data.extend(nla(IFLA_IPTUN_ENCAP_LIMIT, &[0]));
    data.extend(nla(
        IFLA_IPTUN_FLAGS,
        &IP6_TNL_F_IGN_ENCAP_LIMIT.to_ne_bytes(),
    ));
    data.extend(nla(IFLA_IPTUN_PROTO, &[IPPROTO_IPIP]));
    let mut info = nla(IFLA_INFO_KIND, b"ip6tnl");
    info.extend(nla(IFLA_INFO_DATA, &data));
    let mut name = t.name.as_bytes().to_vec();
    name.push(0);
    RequestBuilder::new(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    )
    .fixed(&ifinfomsg(0, 0, 0))
    .attr(IFLA_IFNAME, &name)
    .attr_u32(IFLA_MTU, t.mtu)
    .attr(IFLA_LINKINFO, &info)
}

/// RTM_DELLINK of the link with index `index`.
pub(crate) fn del_request(index: u32) -> RequestBuilder {
    RequestBuilder::new(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK).fixed(&ifinfomsg(index, 0, 0))
}
