//! Performs what the MAP-E engine asks over rtnetlink: the MAP IPv6
//! address on the WAN, the `map0` tunnel to the BR, its IPv4 address and
//! the IPv4 default route. Run by [`crate::s46`]'s loop beside the WAN
//! mode's loop, fed by the supervisor's shared state, like DS-Lite's.

use cpe_bus::SharedState;
use cpe_bus::map_e::ranges_text;
use cpe_bus::status::wan::S46Status;
use cpe_config::S46Mode;
use cpe_sys::netlink::{AddrFlags, Address, Ip6Tunnel, Netlink, kernel_errno};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{Action, Input, MapE, Phase, TUNNEL, Tunnel, View};
use crate::softwire::{remove_link, tunnel_up, wan_index};

/// Port ranges `cpectl show wan` lists before "..." and the count.
const RANGES_SHOWN: usize = 3;

/// The engine's view of the shared state.
pub fn view(s: &SharedState, mtu: u32) -> View {
    View {
        delegated: s
            .dhcp6
            .delegated_prefixes
            .iter()
            .map(|p| p.prefix)
            .collect(),
        offer: s.dhcp6.map_e.clone(),
        mtu: if s.wan.mtu == 0 { mtu } else { s.wan.mtu },
    }
}

/// The status object of the engine: the mapping whenever one is in force
/// (so the console shows address and ports even while the tunnel fails),
/// the reason whenever it is not up.
pub fn status(e: &MapE) -> S46Status {
    let reason = match e.phase() {
        Phase::NotMapped(why) => Some(why.to_string()),
        Phase::Failed(why) => Some(format!("MAP-E: tunnel not created: {why}")),
        Phase::Creating | Phase::Up => None,
    };
    let f = e.in_force();
    let m = f.map(|f| f.mapping);
    let t = e.installed();
    S46Status {
        mode: S46Mode::MapE.as_str().to_owned(),
        state: e.phase().word().to_owned(),
        reason,
        tunnel: TUNNEL.to_owned(),
        local: t.map(|t| t.local.to_string()),
        mtu: t.map(|t| t.mtu),
        ipv4: t.map(|t| format!("{}/32", t.ipv4)),
        br: f.map(|f| f.br.to_string()),
        rule_source: f.map(|f| f.source.to_owned()),
        rule_prefix: f.map(|f| f.rule_prefix.to_string()),
        delegated: f.map(|f| f.delegated.to_string()),
        map_ipv4: m.map(|m| m.ipv4.to_string()),
        map_ipv6: m.map(|m| m.ipv6.to_string()),
        psid: m.map(|m| m.psid),
        psid_len: m.map(|m| m.psid_len),
        psid_offset: m.map(|m| m.psid_offset),
        port_ranges: m.map(|m| ranges_text(&m, RANGES_SHOWN)),
        ..S46Status::default()
    }
}

fn map_address(wan: u32, t: &Tunnel) -> Result<Address, String> {
    let net = Ipv6Net::new(t.local, 128).map_err(|e| e.to_string())?;
    let mut a = Address::new(wan, IpNet::V6(net));
    // Ours by construction (the ISP routes the delegated prefix to us);
    // DAD would only hold the tunnel's source address back.
    a.flags = AddrFlags(AddrFlags::NODAD);
    Ok(a)
}

/// Deletes the tunnel link if it exists and, given one, its MAP IPv6
/// address on the WAN.
pub(crate) fn remove(nl: &mut Netlink, wan: &str, t: Option<&Tunnel>) -> Result<(), String> {
    if remove_link(nl, TUNNEL)? {
        log::info!("MAP-E: removed {TUNNEL}");
    }
    if let Some(t) = t
        && let Some(link) = nl.link_by_name(wan).map_err(|e| e.to_string())?
    {
        match nl.del_address(&map_address(link.index, t)?) {
            Ok(()) => log::info!("MAP-E: removed {} from {wan}", t.local),
            // Not there (never added, or gone with the link's addresses).
            Err(e) if kernel_errno(&e) == Some(libc::EADDRNOTAVAIL) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Creates the tunnel (see [`Action::Create`]).
fn create(nl: &mut Netlink, wan: &str, t: &Tunnel) -> Result<(), String> {
    remove(nl, wan, Some(t))?;
    let link = wan_index(nl, wan)?;
    nl.add_address(&map_address(link, t)?)
        .map_err(|e| format!("MAP IPv6 address {} on {wan}: {e}", t.local))?;
    let tunnel = Ip6Tunnel {
        name: TUNNEL.to_owned(),
        link,
        local: t.local,
        remote: t.remote,
        mtu: t.mtu,
    };
    let net = Ipv4Net::new(t.ipv4, 32).map_err(|e| e.to_string())?;
    tunnel_up(nl, &tunnel, net)?;
    log::info!(
        "MAP-E: {TUNNEL} up, {} -> BR {}, IPv4 {}, mtu {}, IPv4 default route into it",
        t.local,
        t.remote,
        t.ipv4,
        t.mtu
    );
    Ok(())
}

/// Performs `action` (the [`crate::s46`] loop calls it); what to feed
/// back to the engine, if anything.
pub(crate) fn perform(nl: &mut Netlink, wan: &str, action: Action) -> Option<Input> {
    match action {
        Action::Create(t) => {
            let mut r = create(nl, wan, &t);
            if let Err(e) = &r {
                log::error!("MAP-E: cannot create {TUNNEL}: {e}");
                if let Err(e2) = remove(nl, wan, Some(&t)) {
                    r = Err(format!("{e}; then cleaning up: {e2}"));
                }
            }
            Some(Input::Created(r))
        }
        Action::Remove(t) => {
            if let Err(e) = remove(nl, wan, Some(&t)) {
                log::error!("MAP-E: cannot remove {TUNNEL}: {e}");
            }
            None
        }
    }
}
