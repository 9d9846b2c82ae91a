//! Performs what the DS-Lite engine asks: DNS lookups and the tunnel over
//! rtnetlink. The loop that runs it beside the WAN mode's loop, fed by the
//! supervisor's shared state, is [`crate::s46`]'s, shared with MAP-E.

use std::net::{IpAddr, Ipv6Addr};

use cpe_bus::SharedState;
use cpe_bus::status::wan::S46Status;
use cpe_config::S46Mode;
use cpe_sys::netlink::{Ip6Tunnel, Netlink};
use ipnet::Ipv4Net;

use super::{Action, B4_ADDRESS, B4_PREFIX_LEN, DsLite, Input, Phase, Softwire, TUNNEL, View};

pub use crate::softwire::StatusSlot;
use crate::softwire::{remove_link, tunnel_up, wan_index};

/// The engine's view of the shared state: our WAN address (an IA_NA
/// address, else a global SLAAC address on the WAN; never link-local or
/// ULA), the ISP's IPv6 DNS servers, the AFTR name of DHCPv6.
pub fn view(s: &SharedState, mtu: u32) -> View {
    let usable = |a: &Ipv6Addr| {
        !a.is_unspecified()
            && !a.is_loopback()
            && !a.is_multicast()
            && !a.is_unicast_link_local()
            && !a.is_unique_local()
    };
    let na = s.dhcp6.addresses.iter().map(|a| a.address).find(usable);
    let slaac = s.wan.addresses.iter().find_map(|n| match n.addr() {
        IpAddr::V6(a) if usable(&a) => Some(a),
        _ => None,
    });
    View {
        local: na.or(slaac),
        dns: s
            .upstream_dns
            .iter()
            .filter_map(|a| match a {
                IpAddr::V6(a) => Some(*a),
                IpAddr::V4(_) => None,
            })
            .collect(),
        aftr_name: s.dhcp6.aftr_name.clone(),
        mtu: if s.wan.mtu == 0 { mtu } else { s.wan.mtu },
    }
}

/// The status object of the engine.
pub fn status(mode: S46Mode, e: &DsLite) -> S46Status {
    let (aftr, source) = e.aftr().map_or((None, None), |(n, s)| (Some(n), Some(s)));
    let reason = match e.phase() {
        Phase::WaitingAddress => Some("no global IPv6 address on the WAN yet".to_owned()),
        Phase::NoAftr => Some(
            "no AFTR: none in the config and the DHCPv6 server sent no AFTR-Name (option 64)"
                .to_owned(),
        ),
        Phase::NoDns => Some("no IPv6 DNS server to resolve the AFTR name".to_owned()),
        Phase::ResolveFailed(why) => Some(format!("AFTR name does not resolve: {why}")),
        Phase::Failed(why) => Some(format!("tunnel not created: {why}")),
        Phase::Resolving | Phase::Creating | Phase::Up => None,
    };
    let sw = e.installed();
    S46Status {
        mode: mode.as_str().to_owned(),
        state: e.phase().word().to_owned(),
        reason,
        aftr,
        aftr_source: source.map(str::to_owned),
        aftr_address: e.aftr_address().map(|a| a.to_string()),
        tunnel: TUNNEL.to_owned(),
        local: sw.map(|s| s.local.to_string()),
        mtu: sw.map(|s| s.mtu),
        ipv4: sw.map(|_| format!("{B4_ADDRESS}/{B4_PREFIX_LEN}")),
        ..S46Status::default()
    }
}

/// Deletes the tunnel if it exists.
pub(crate) fn remove(nl: &mut Netlink) -> Result<(), String> {
    if remove_link(nl, TUNNEL)? {
        log::info!("DS-Lite: removed {TUNNEL}");
    }
    Ok(())
}

/// (Re)creates the softwire: the ip6tnl link over the WAN, 192.0.0.2/29,
/// up, and the IPv4 default route into it (replacing any other).
fn create(nl: &mut Netlink, wan: &str, sw: &Softwire) -> Result<(), String> {
    remove(nl)?;
    let link = wan_index(nl, wan)?;
    let tunnel = Ip6Tunnel {
        name: TUNNEL.to_owned(),
        link,
        local: sw.local,
        remote: sw.remote,
        mtu: sw.mtu,
    };
    let net = Ipv4Net::new(B4_ADDRESS, B4_PREFIX_LEN).map_err(|e| e.to_string())?;
    tunnel_up(nl, &tunnel, net)?;
    log::info!(
        "DS-Lite: {TUNNEL} up, {} -> AFTR {}, mtu {}, IPv4 default route into it",
        sw.local,
        sw.remote,
        sw.mtu
    );
    Ok(())
}

/// Performs `action` (the [`crate::s46`] loop calls it); what to feed
/// back to the engine, if anything. `xid` numbers the DNS queries.
pub(crate) async fn perform(
    nl: &mut Netlink,
    wan: &str,
    action: Action,
    xid: &mut u16,
) -> Option<Input> {
    match action {
        Action::Resolve { name, servers } => {
            *xid = xid.wrapping_add(1);
            let r = super::resolve::lookup(&name, &servers, *xid).await;
            match &r {
                Ok(a) => log::info!("DS-Lite: AFTR {name} is {a}"),
                Err(e) => log::warn!("DS-Lite: AFTR {name} does not resolve: {e}"),
            }
            Some(Input::Resolved(r))
        }
        Action::Create(sw) => {
            let r = create(nl, wan, &sw);
            if let Err(e) = &r {
                log::error!("DS-Lite: cannot create {TUNNEL}: {e}");
            }
            Some(Input::Created(r))
        }
        Action::Remove => {
            if let Err(e) = remove(nl) {
                log::error!("DS-Lite: cannot remove {TUNNEL}: {e}");
            }
            None
        }
    }
}
