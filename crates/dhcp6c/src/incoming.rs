//! Reading what a server offers for our IAs, with the RFC's discard rules.

use std::net::Ipv6Addr;

use cpe_wire::dhcpv6::{DhcpOption, Message, Status};
use ipnet::Ipv6Net;

use crate::lease::IaUpdate;

/// The server's answer for one of our IAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IaAnswer<K> {
    /// Bindings (possibly none) with lifetimes and T1/T2.
    Leases(IaUpdate<K>),
    /// The server has no binding for this IA (Renew/Rebind: send Request).
    NoBinding,
    /// NoPrefixAvail, NoAddrsAvail or another failure for this IA.
    Failed,
}

impl<K> IaAnswer<K> {
    /// The bindings with a non-zero valid lifetime.
    pub(crate) fn live(&self) -> impl Iterator<Item = &(K, u32, u32)> {
        let leases = match self {
            Self::Leases(u) => u.leases.as_slice(),
            _ => &[],
        };
        leases.iter().filter(|l| l.2 != 0)
    }
}

fn ia_status(options: &[DhcpOption]) -> Status {
    options
        .iter()
        .find_map(|o| match o {
            DhcpOption::StatusCode(s) => Some(s.status),
            _ => None,
        })
        .unwrap_or(Status::Success)
}

fn answer<K>(status: Status, t1: u32, t2: u32, leases: Vec<(K, u32, u32)>) -> Option<IaAnswer<K>> {
    // 21.4 / 21.21: T1 > T2 (both non-zero) discards the whole IA.
    if t1 != 0 && t2 != 0 && t1 > t2 {
        return None;
    }
    Some(match status {
        Status::Success => IaAnswer::Leases(IaUpdate { leases, t1, t2 }),
        Status::NoBinding => IaAnswer::NoBinding,
        _ => IaAnswer::Failed,
    })
}

/// Our IA_PD in `msg` (first one with our IAID), or `None` if absent or
/// discarded. IA Prefixes with preferred > valid lifetime, a zero prefix
/// length or a failure status are skipped (21.22).
pub(crate) fn prefix_answer(msg: &Message, iaid: u32) -> Option<IaAnswer<Ipv6Net>> {
    let ia = msg.ia_pds().find(|ia| ia.iaid == iaid)?;
    let leases = ia
        .prefixes()
        .filter(|p| p.preferred <= p.valid && p.prefix_len != 0)
        .filter(|p| ia_status(&p.options) == Status::Success)
        .filter_map(|p| {
            let net = Ipv6Net::new(p.prefix, p.prefix_len).ok()?.trunc();
            Some((net, p.preferred, p.valid))
        })
        .collect();
    answer(ia_status(&ia.options), ia.t1, ia.t2, leases)
}

/// The prefixes excluded (RFC 6603) from the IA Prefixes of our IA_PD in
/// `msg` that [`prefix_answer`] takes as live leases, and the reasons of the
/// Prefix Exclude options that cannot apply to their IA Prefix (ignored,
/// counted).
pub(crate) fn prefix_exclusions(msg: &Message, iaid: u32) -> (Vec<Ipv6Net>, Vec<&'static str>) {
    let (mut excluded, mut bad) = (Vec::new(), Vec::new());
    let Some(ia) = msg.ia_pds().find(|ia| ia.iaid == iaid) else {
        return (excluded, bad);
    };
    let live = ia
        .prefixes()
        .filter(|p| p.preferred <= p.valid && p.prefix_len != 0 && p.valid != 0)
        .filter(|p| ia_status(&p.options) == Status::Success);
    for p in live {
        for x in p.excluded() {
            match x.map(|(addr, len)| Ipv6Net::new(addr, len)) {
                Ok(Ok(net)) if !excluded.contains(&net) => excluded.push(net),
                Ok(_) => {}
                Err(e) => bad.push(e.reason()),
            }
        }
    }
    (excluded, bad)
}

/// Our IA_NA in `msg`, with the same rules as [`prefix_answer`].
pub(crate) fn address_answer(msg: &Message, iaid: u32) -> Option<IaAnswer<Ipv6Addr>> {
    let ia = msg.ia_nas().find(|ia| ia.iaid == iaid)?;
    let leases = ia
        .addresses()
        .filter(|a| a.preferred <= a.valid)
        .filter(|a| ia_status(&a.options) == Status::Success)
        .map(|a| (a.addr, a.preferred, a.valid))
        .collect();
    answer(ia_status(&ia.options), ia.t1, ia.t2, leases)
}
