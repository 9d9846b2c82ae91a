//! Addresses (`RTM_*ADDR`): what is configured on an interface, with DAD
//! state and lifetimes, and the requests to add or remove one.

use super::consts::*;
use super::error::ParseError;
use super::wire::{RequestBuilder, attr_ip, attr_string, attr_u32, attributes, take, u32_at};
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// `IFA_F_*` address flags (the full 32-bit set from `IFA_FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    /// IPv6 privacy (temporary) address; on IPv4 the same bit means secondary.
    pub const TEMPORARY: u32 = 0x01;
    /// Skip duplicate address detection (addresses we own by construction,
    /// e.g. the router's LAN address derived from its own delegation).
    pub const NODAD: u32 = 0x02;
    /// Optimistic DAD (RFC 4429).
    pub const OPTIMISTIC: u32 = 0x04;
    /// DAD found a duplicate; the address is unusable.
    pub const DADFAILED: u32 = 0x08;
    /// Preferred lifetime ran out: still valid, not used for new connections.
    pub const DEPRECATED: u32 = 0x20;
    /// DAD still running: the address cannot be used as a source yet.
    pub const TENTATIVE: u32 = 0x40;
    /// Configured without lifetimes (static).
    pub const PERMANENT: u32 = 0x80;
    /// Don't install the on-link prefix route for this address.
    pub const NOPREFIXROUTE: u32 = 0x200;

    /// Whether all of `bits` are set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
    /// DAD still running.
    pub fn tentative(self) -> bool {
        self.has(Self::TENTATIVE)
    }
    /// Preferred lifetime expired.
    pub fn deprecated(self) -> bool {
        self.has(Self::DEPRECATED)
    }
    /// DAD failed.
    pub fn dad_failed(self) -> bool {
        self.has(Self::DADFAILED)
    }
}

impl fmt::Display for AddrFlags {
    /// The `ip addr` spelling, space separated, so logs read like the tool
    /// engineers already know.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(u32, &str); 8] = [
            (AddrFlags::TEMPORARY, "temporary"),
            (AddrFlags::NODAD, "nodad"),
            (AddrFlags::OPTIMISTIC, "optimistic"),
            (AddrFlags::DADFAILED, "dadfailed"),
            (AddrFlags::DEPRECATED, "deprecated"),
            (AddrFlags::TENTATIVE, "tentative"),
            (AddrFlags::PERMANENT, "permanent"),
            (AddrFlags::NOPREFIXROUTE, "noprefixroute"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Address scope (`RT_SCOPE_*`), shared with routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scope(pub u8);

impl Scope {
    /// Global (the default).
    pub const UNIVERSE: Scope = Scope(0);
    /// Site-local (deprecated in IPv6).
    pub const SITE: Scope = Scope(200);
    /// Link-local.
    pub const LINK: Scope = Scope(253);
    /// Host (loopback).
    pub const HOST: Scope = Scope(254);
    /// Nowhere.
    pub const NOWHERE: Scope = Scope(255);
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scope::UNIVERSE => f.write_str("global"),
            Scope::SITE => f.write_str("site"),
            Scope::LINK => f.write_str("link"),
            Scope::HOST => f.write_str("host"),
            Scope::NOWHERE => f.write_str("nowhere"),
            Scope(n) => write!(f, "{n}"),
        }
    }
}

/// Preferred and valid lifetimes in seconds; `u32::MAX` means forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Seconds until the address is deprecated.
    pub preferred: u32,
    /// Seconds until the address is removed.
    pub valid: u32,
}

impl Lifetimes {
    /// Forever (`0xffffffff`), as for static addresses.
    pub const FOREVER: Lifetimes = Lifetimes {
        preferred: u32::MAX,
        valid: u32::MAX,
    };
}

/// One interface address, as dumped or notified, and as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Interface index.
    pub index: u32,
    /// The address with its prefix length (host bits kept).
    pub net: IpNet,
    /// The peer of a point-to-point address (PPP), if it differs.
    pub peer: Option<IpAddr>,
    /// Scope.
    pub scope: Scope,
    /// `IFA_F_*` flags.
    pub flags: AddrFlags,
    /// IPv4 label (`eth0:1`), if any.
    pub label: Option<String>,
    /// Remaining lifetimes; `None` when the kernel sent no `IFA_CACHEINFO`
    /// (or, in a request, to leave them permanent).
    pub lifetimes: Option<Lifetimes>,
}

impl Address {
    /// A request for `net` on interface `index`: global scope, no flags,
    /// permanent. Adjust fields before passing to `add_address`.
    pub fn new(index: u32, net: IpNet) -> Self {
        Address {
            index,
            net,
            peer: None,
            scope: Scope::UNIVERSE,
            flags: AddrFlags::default(),
            label: None,
            lifetimes: None,
        }
    }

    /// The address itself.
    pub fn addr(&self) -> IpAddr {
        self.net.addr()
    }
}

/// Parses the payload of an `RTM_NEWADDR`/`RTM_DELADDR` message.
pub fn parse_address(payload: &[u8]) -> Result<Address, ParseError> {
    let head = take::<IFADDRMSG_LEN>(payload, 0, "ifaddrmsg")?;
    let [family, prefix_len, flags8, scope, ..] = head;
    if family != AF_INET && family != AF_INET6 {
        return Err(ParseError::UnknownFamily(family));
    }
    let index = u32_at(payload, 4, "ifaddrmsg")?;
    let mut local = None;
    let mut address = None;
    let mut flags = AddrFlags(u32::from(flags8));
    let mut label = None;
    let mut lifetimes = None;
    let attrs = payload.get(IFADDRMSG_LEN..).unwrap_or(&[]);
    for attr in attributes(attrs, "ifaddrmsg attribute") {
        let (kind, data) = attr?;
        match kind {
            IFA_ADDRESS => address = Some(attr_ip(data, family, "IFA_ADDRESS")?),
            IFA_LOCAL => local = Some(attr_ip(data, family, "IFA_LOCAL")?),
            IFA_LABEL => label = Some(attr_string(data)),
            IFA_FLAGS => flags = AddrFlags(attr_u32(data, "IFA_FLAGS")?),
            IFA_CACHEINFO => {
                if data.len() != IFA_CACHEINFO_LEN {
                    return Err(ParseError::BadAttribute {
                        what: "IFA_CACHEINFO",
                        len: data.len(),
                    });
                }
                lifetimes = Some(Lifetimes {
                    preferred: u32_at(data, 0, "IFA_CACHEINFO")?,
                    valid: u32_at(data, 4, "IFA_CACHEINFO")?,
                });
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
    // point-to-point links and equal to IFA_LOCAL (or alone) otherwise.
    let (own, peer) = match (local, address) {
        (Some(l), Some(a)) if l != a => (l, Some(a)),
        (Some(l), _) => (l, None),
        (None, Some(a)) => (a, None),
        (None, None) => return Err(ParseError::Missing("IFA_ADDRESS")),
    };
    let net = IpNet::new(own, prefix_len).map_err(|_| ParseError::BadPrefixLen(prefix_len))?;
    Ok(Address {
        index,
        net,
        peer,
        scope: Scope(scope),
        flags,
        label,
        lifetimes,
    })
}

fn family_of(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

fn ifaddrmsg(family: u8, prefix_len: u8, flags: u8, scope: u8, index: u32) -> [u8; IFADDRMSG_LEN] {
    let i = index.to_ne_bytes();
    [family, prefix_len, flags, scope, i[0], i[1], i[2], i[3]]
}

pub(crate) fn dump_request(family: u8) -> RequestBuilder {
    RequestBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP)
        .fixed(&ifaddrmsg(family, 0, 0, 0, 0))
}

/// `RTM_NEWADDR` (with `nl_flags` deciding create/replace) or `RTM_DELADDR`.
pub(crate) fn change_request(kind: u16, nl_flags: u16, a: &Address) -> RequestBuilder {
    let addr = a.net.addr();
    let mut b = RequestBuilder::new(kind, NLM_F_REQUEST | NLM_F_ACK | nl_flags)
        .fixed(&ifaddrmsg(
            family_of(addr),
            a.net.prefix_len(),
            (a.flags.0 & 0xff) as u8,
            a.scope.0,
            a.index,
        ))
        .attr_ip(IFA_LOCAL, addr)
        .attr_ip(IFA_ADDRESS, a.peer.unwrap_or(addr));
    if kind == RTM_NEWADDR {
        b = b.attr_u32(IFA_FLAGS, a.flags.0);
        if let Some(l) = a.lifetimes {
            let mut ci = [0u8; IFA_CACHEINFO_LEN];
            ci[0..4].copy_from_slice(&l.preferred.to_ne_bytes());
            ci[4..8].copy_from_slice(&l.valid.to_ne_bytes());
            b = b.attr(IFA_CACHEINFO, &ci);
        }
        if let (Some(label), IpAddr::V4(_)) = (&a.label, addr) {
            let mut bytes = label.as_bytes().to_vec();
            bytes.push(0);
            b = b.attr(IFA_LABEL, &bytes);
        }
    }
    b
}
