//! Performs what the DS-Lite engine asks: DNS lookups and the tunnel over
//! rtnetlink. Runs beside the WAN mode's loop in the WAN daemon, fed by the
//! supervisor's shared state.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use cpe_bus::SharedState;
use cpe_bus::status::wan::S46Status;
use cpe_config::{Ipv4OverIpv6, S46Mode};
use cpe_daemon::Engine as _;
use cpe_sys::netlink::{Address, Ip6Tunnel, Netlink, Route};
use ipnet::{IpNet, Ipv4Net};
use tokio::sync::watch;

use super::{Action, B4_ADDRESS, B4_PREFIX_LEN, DsLite, Input, Phase, Softwire, TUNNEL, View};

/// Where the driver reports its status (the WAN outlet merges it into the
/// daemon's status object).
pub type StatusSlot = std::rc::Rc<std::cell::RefCell<Option<S46Status>>>;

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
fn remove(nl: &mut Netlink) -> Result<(), String> {
    if let Some(link) = nl.link_by_name(TUNNEL).map_err(|e| e.to_string())? {
        nl.del_link(link.index).map_err(|e| e.to_string())?;
        log::info!("DS-Lite: removed {TUNNEL}");
    }
    Ok(())
}

/// (Re)creates the softwire: the ip6tnl link over the WAN, 192.0.0.2/29,
/// up, and the IPv4 default route into it (replacing any other).
fn create(nl: &mut Netlink, wan: &str, sw: &Softwire) -> Result<(), String> {
    remove(nl)?;
    let link = nl
        .link_by_name(wan)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no interface {wan}"))?;
    nl.create_ip6_tunnel(&Ip6Tunnel {
        name: TUNNEL.to_owned(),
        link: link.index,
        local: sw.local,
        remote: sw.remote,
        mtu: sw.mtu,
    })
    .map_err(|e| e.to_string())?;
    let tunnel = nl
        .link_by_name(TUNNEL)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{TUNNEL} vanished after creation"))?;
    let net = Ipv4Net::new(B4_ADDRESS, B4_PREFIX_LEN).map_err(|e| e.to_string())?;
    nl.add_address(&Address::new(tunnel.index, IpNet::V4(net)))
        .map_err(|e| e.to_string())?;
    nl.set_link_up(tunnel.index, true)
        .map_err(|e| e.to_string())?;
    let default = IpNet::V4(Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).map_err(|e| e.to_string())?);
    nl.replace_route(&Route::unicast(default, None, Some(tunnel.index)))
        .map_err(|e| e.to_string())?;
    log::info!(
        "DS-Lite: {TUNNEL} up, {} -> AFTR {}, mtu {}, IPv4 default route into it",
        sw.local,
        sw.remote,
        sw.mtu
    );
    Ok(())
}

/// Runs the softwire for `cfg` until the task is dropped. With mode `off`
/// or `map-e` ([`crate::map_e`]) it only removes a tunnel left from an
/// earlier run.
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
            log::error!("DS-Lite: netlink: {e}");
            return;
        }
    };
    if let Err(e) = remove(&mut nl) {
        log::warn!("DS-Lite: removing a stale {TUNNEL}: {e}");
    }
    match cfg.mode {
        S46Mode::Off | S46Mode::MapE => return,
        S46Mode::Auto | S46Mode::DsLite => {}
    }
    let mut engine = DsLite::new(cfg.aftr.clone());
    let mut last_view = None;
    let mut xid: u16 = (std::process::id() & 0xffff) as u16;
    loop {
        let v = view(&states.borrow_and_update(), wan_mtu);
        if last_view.as_ref() != Some(&v) {
            last_view = Some(v.clone());
            engine.handle(Input::View(v), Instant::now());
        }
        while let Some(action) = engine.poll_action() {
            let input = match action {
                Action::Resolve { name, servers } => {
                    xid = xid.wrapping_add(1);
                    let r = super::resolve::lookup(&name, &servers, xid).await;
                    match &r {
                        Ok(a) => log::info!("DS-Lite: AFTR {name} is {a}"),
                        Err(e) => log::warn!("DS-Lite: AFTR {name} does not resolve: {e}"),
                    }
                    Some(Input::Resolved(r))
                }
                Action::Create(sw) => {
                    let r = create(&mut nl, &wan, &sw);
                    if let Err(e) = &r {
                        log::error!("DS-Lite: cannot create {TUNNEL}: {e}");
                    }
                    Some(Input::Created(r))
                }
                Action::Remove => {
                    if let Err(e) = remove(&mut nl) {
                        log::error!("DS-Lite: cannot remove {TUNNEL}: {e}");
                    }
                    None
                }
            };
            if let Some(input) = input {
                engine.handle(input, Instant::now());
            }
        }
        let now_status = status(cfg.mode, &engine);
        if slot.borrow().as_ref() != Some(&now_status) {
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

/// Waits until `at`, or forever without a deadline.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}
