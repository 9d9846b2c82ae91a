//! Performs what the MAP-E engine asks over rtnetlink: the MAP IPv6
//! address on the WAN, the `map0` tunnel to the BR, its IPv4 address and
//! the IPv4 default route. Runs beside the WAN mode's loop in the WAN
//! daemon, fed by the supervisor's shared state, like DS-Lite's driver.

use std::net::Ipv4Addr;
use std::time::Instant;

use cpe_bus::SharedState;
use cpe_bus::map_e::ranges_text;
use cpe_bus::status::wan::S46Status;
use cpe_config::{Ipv4OverIpv6, S46Mode};
use cpe_daemon::Engine as _;
use cpe_sys::netlink::{AddrFlags, Address, Ip6Tunnel, Netlink, Route, kernel_errno};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use tokio::sync::watch;

use super::{Action, Input, MapE, Phase, TUNNEL, Tunnel, View};
use crate::dslite::driver::{StatusSlot, sleep_until};

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
fn remove(nl: &mut Netlink, wan: &str, t: Option<&Tunnel>) -> Result<(), String> {
    if let Some(link) = nl.link_by_name(TUNNEL).map_err(|e| e.to_string())? {
        nl.del_link(link.index).map_err(|e| e.to_string())?;
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
    let link = nl
        .link_by_name(wan)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no interface {wan}"))?;
    nl.add_address(&map_address(link.index, t)?)
        .map_err(|e| format!("MAP IPv6 address {} on {wan}: {e}", t.local))?;
    nl.create_ip6_tunnel(&Ip6Tunnel {
        name: TUNNEL.to_owned(),
        link: link.index,
        local: t.local,
        remote: t.remote,
        mtu: t.mtu,
    })
    .map_err(|e| e.to_string())?;
    let tunnel = nl
        .link_by_name(TUNNEL)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{TUNNEL} vanished after creation"))?;
    let net = Ipv4Net::new(t.ipv4, 32).map_err(|e| e.to_string())?;
    nl.add_address(&Address::new(tunnel.index, IpNet::V4(net)))
        .map_err(|e| e.to_string())?;
    nl.set_link_up(tunnel.index, true)
        .map_err(|e| e.to_string())?;
    let default = IpNet::V4(Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).map_err(|e| e.to_string())?);
    nl.replace_route(&Route::unicast(default, None, Some(tunnel.index)))
        .map_err(|e| e.to_string())?;
    log::info!(
        "MAP-E: {TUNNEL} up, {} -> BR {}, IPv4 {}, mtu {}, IPv4 default route into it",
        t.local,
        t.remote,
        t.ipv4,
        t.mtu
    );
    Ok(())
}

/// Runs MAP-E for `cfg` until the task is dropped. In any other mode it
/// only removes a `map0` left from an earlier run.
pub async fn run(
    cfg: Ipv4OverIpv6,
    wan: String,
    wan_mtu: u32,
    mut states: watch::Receiver<SharedState>,
    slot: StatusSlot,
    mut changed: impl FnMut(),
) {
    let mut nl = match Netlink::open() {
        Ok(nl) => nl,
        Err(e) => {
            log::error!("MAP-E: netlink: {e}");
            return;
        }
    };
    if let Err(e) = remove(&mut nl, &wan, None) {
        log::warn!("MAP-E: removing a stale {TUNNEL}: {e}");
    }
    if cfg.mode != S46Mode::MapE {
        return;
    }
    let mut engine = MapE::new(cfg.map_rule.clone());
    let mut last_view = None;
    loop {
        let v = view(&states.borrow_and_update(), wan_mtu);
        if last_view.as_ref() != Some(&v) {
            last_view = Some(v.clone());
            engine.handle(Input::View(v), Instant::now());
        }
        while let Some(action) = engine.poll_action() {
            match action {
                Action::Create(t) => {
                    let mut r = create(&mut nl, &wan, &t);
                    if let Err(e) = &r {
                        log::error!("MAP-E: cannot create {TUNNEL}: {e}");
                        if let Err(e2) = remove(&mut nl, &wan, Some(&t)) {
                            r = Err(format!("{e}; then cleaning up: {e2}"));
                        }
                    }
                    engine.handle(Input::Created(r), Instant::now());
                }
                Action::Remove(t) => {
                    if let Err(e) = remove(&mut nl, &wan, Some(&t)) {
                        log::error!("MAP-E: cannot remove {TUNNEL}: {e}");
                    }
                }
            }
        }
        let now_status = status(&engine);
        if slot.borrow().as_ref() != Some(&now_status) {
            if let Some(why) = &now_status.reason {
                log::warn!("{why}");
            }
            *slot.borrow_mut() = Some(now_status);
            changed();
        }
        let deadline = engine.poll_timeout();
        tokio::select! {
            r = states.changed() => if r.is_err() { return },
            () = sleep_until(deadline) => engine.handle_timeout(Instant::now()),
        }
    }
}
