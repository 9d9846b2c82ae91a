//! The router's IPv4 address on the LAN, added at start if missing.
//!
//! The server identifier, router and DNS options all name this address, so
//! it must be on the interface before the first OFFER. The supervisor may
//! add it too; adding is idempotent (an existing address is left alone) and
//! we never remove it.

use std::io;

use cpe_sys::netlink::{Address, Family, Netlink, kernel_errno};
use ipnet::{IpNet, Ipv4Net};

/// Outcome of [`ensure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// It was there already.
    Present,
    /// We added it.
    Added,
}

/// Makes sure `net` is on `interface`.
pub fn ensure(interface: &str, net: Ipv4Net) -> io::Result<Ensured> {
    let mut nl = Netlink::open()?;
    let link = nl.link_by_name(interface)?.ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("no interface {interface}"))
    })?;
    let present = nl
        .addresses(Family::V4)?
        .iter()
        .any(|a| a.index == link.index && a.net == IpNet::V4(net));
    if present {
        return Ok(Ensured::Present);
    }
    match nl.add_address(&Address::new(link.index, IpNet::V4(net))) {
        Ok(()) => Ok(Ensured::Added),
        Err(e) if kernel_errno(&e) == Some(libc::EEXIST) => Ok(Ensured::Present),
        Err(e) => Err(e),
    }
}
