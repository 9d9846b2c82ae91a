//! The IA_NA address on the WAN interface (RFC 7084 W-1 and WAA-6).
//!
//! Some ISPs route the delegated prefix to the router's IA_NA address, so a
//! leased address that is not on `wan0` black-holes the LAN. Each leased
//! address goes on the WAN as a /128 with the lease's remaining lifetimes
//! (the kernel deprecates and removes it on its own if we stop renewing),
//! DAD enabled, and is refreshed on every update of the lease. After an
//! address is added its DAD outcome is polled; a duplicate is removed and
//! reported so the engine declines it (RFC 8415 18.2.8). The kernel marks
//! only permanent addresses `dadfailed`; one with lifetimes, like ours, is
//! deleted when DAD fails, so an address that vanishes while tentative
//! counts as a failure too.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_sys::netlink::{Address, Family, Lifetimes, Netlink, kernel_errno};
use ipnet::{IpNet, Ipv6Net};

use crate::lease::{LeasedAddress, secs_left};

/// How often a tentative address is looked at.
const DAD_POLL: Duration = Duration::from_millis(500);
/// How long DAD may take before we stop looking (the kernel's default is
/// about 1 s after a random delay of up to 1 s; slow links and several
/// DAD transmissions take longer).
const DAD_GIVE_UP: Duration = Duration::from_secs(15);

/// What DAD said about an installed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DadState {
    /// Still tentative (or not yet looked at).
    Pending,
    /// Usable.
    Done,
}

/// The addresses this client put on the WAN.
#[derive(Debug, Default)]
pub struct WanAddresses {
    installed: BTreeMap<Ipv6Addr, (DadState, Instant)>,
    next_check: Option<Instant>,
}

impl WanAddresses {
    /// Makes the WAN hold exactly `leased`: adds or refreshes each with its
    /// remaining lifetimes, removes what left the lease.
    pub fn sync(&mut self, interface: &str, leased: &[LeasedAddress], now: Instant) {
        let index = match interface_index(interface) {
            Ok(i) => i,
            Err(e) => return log::warn!("cannot put the IA_NA address on {interface}: {e}"),
        };
        let mut nl = match Netlink::open() {
            Ok(nl) => nl,
            Err(e) => return log::warn!("cannot put the IA_NA address on {interface}: {e}"),
        };
        for a in leased {
            let mut req = Address::new(index, host_net(a.address));
            req.lifetimes = Some(Lifetimes {
                preferred: secs_left(a.preferred_until, now),
                valid: secs_left(a.valid_until, now),
            });
            match nl.replace_address(&req) {
                Ok(()) => {
                    if let Entry::Vacant(e) = self.installed.entry(a.address) {
                        log::info!("{}/128 on {interface} (IA_NA), DAD running", a.address);
                        e.insert((DadState::Pending, now));
                        self.next_check = Some(now + DAD_POLL);
                    }
                }
                Err(e) => log::warn!("cannot put {}/128 on {interface}: {e}", a.address),
            }
        }
        let gone: Vec<Ipv6Addr> = self
            .installed
            .keys()
            .filter(|k| !leased.iter().any(|a| a.address == **k))
            .copied()
            .collect();
        for addr in gone {
            self.installed.remove(&addr);
            match nl.del_address(&Address::new(index, host_net(addr))) {
                Ok(()) => log::info!("{addr}/128 removed from {interface} (no longer leased)"),
                Err(e) if kernel_errno(&e) == Some(libc::EADDRNOTAVAIL) => {}
                Err(e) => log::warn!("cannot remove {addr}/128 from {interface}: {e}"),
            }
        }
    }

    /// When [`WanAddresses::check_dad`] wants to run.
    pub fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// Looks at addresses whose DAD is still running; returns those that
    /// failed (already removed from the interface).
    pub fn check_dad(&mut self, interface: &str, now: Instant) -> Vec<Ipv6Addr> {
        self.next_check = None;
        let pending: Vec<Ipv6Addr> = self
            .installed
            .iter()
            .filter(|(_, (s, _))| *s == DadState::Pending)
            .map(|(a, _)| *a)
            .collect();
        if pending.is_empty() {
            return Vec::new();
        }
        let (index, kernel) = match interface_index(interface)
            .and_then(|i| Ok((i, Netlink::open()?.addresses(Family::V6)?)))
        {
            Ok(v) => v,
            Err(e) => {
                log::warn!("cannot read addresses of {interface}: {e}");
                self.next_check = Some(now + DAD_POLL);
                return Vec::new();
            }
        };
        let mut failed = Vec::new();
        for addr in pending {
            let seen = kernel
                .iter()
                .find(|k| k.index == index && k.addr() == std::net::IpAddr::V6(addr));
            let Some(entry) = self.installed.get_mut(&addr) else {
                continue;
            };
            match seen {
                Some(k) if k.flags.dad_failed() => {
                    log::warn!(
                        "{addr} on {interface}: duplicate address detection failed (another node uses it); declining it"
                    );
                    failed.push(addr);
                }
                Some(k) if k.flags.tentative() && now.duration_since(entry.1) < DAD_GIVE_UP => {
                    self.next_check = Some(now + DAD_POLL);
                }
                Some(_) => {
                    if entry.0 == DadState::Pending {
                        log::info!("{addr} on {interface}: DAD done, address in use");
                    }
                    entry.0 = DadState::Done;
                }
                // An address with lifetimes that fails DAD is not kept
                // with IFA_F_DADFAILED (only permanent ones are): the
                // kernel deletes it. Vanishing while DAD runs is that.
                None => {
                    log::warn!(
                        "{addr} on {interface}: removed by the kernel during duplicate address detection (another node uses it); declining it"
                    );
                    failed.push(addr);
                }
            }
        }
        if !failed.is_empty()
            && let Ok(mut nl) = Netlink::open()
        {
            for addr in &failed {
                self.installed.remove(addr);
                if let Err(e) = nl.del_address(&Address::new(index, host_net(*addr))) {
                    log::warn!("cannot remove {addr}/128 from {interface}: {e}");
                }
            }
        }
        failed
    }

    /// Installed addresses and their DAD state, for the status.
    pub fn list(&self) -> impl Iterator<Item = (Ipv6Addr, DadState)> + '_ {
        self.installed.iter().map(|(a, (s, _))| (*a, *s))
    }
}

fn host_net(addr: Ipv6Addr) -> IpNet {
    IpNet::V6(Ipv6Net::new_assert(addr, 128))
}

fn interface_index(name: &str) -> std::io::Result<u32> {
    Netlink::open()?
        .link_by_name(name)?
        .map(|l| l.index)
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("no interface {name}"))
        })
}
