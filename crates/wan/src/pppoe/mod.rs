//! PPPoE mode: discovery over a link-layer socket, the session in the
//! kernel, PPP negotiated over the kernel's channel.
//!
//! [`dialer::Dialer`] is the sans-IO engine of the whole connection
//! (discovery, PPP session, reconnects); this module is its thin driver: it
//! finds the WAN link and brings it up, opens the `AF_PACKET` socket for
//! ethertype 0x8863, feeds received packets, PPP control frames, carrier
//! changes and timer expiries to the engine and carries out what it asks:
//! send, persist the session, set up or close the kernel session
//! ([`cpe_sys::ppp::PppSession`]: `AF_PPPOX` socket, `/dev/ppp` channel,
//! `pppN` unit), and configure `pppN` over rtnetlink.
//!
//! On `pppN`: MRU and MTU from LCP; IPv4 from IPCP as our address /32 with
//! the peer's address as the point-to-point peer, and a default route via
//! `pppN` when `wan.ipv4`; IPv6 as fe80::IID/64 from IPV6CP's interface
//! identifier, with a default route via the peer's link-local address. The
//! kernel adds no link-local address of its own on a PPP device (addrconf
//! does not configure `ARPHRD_PPP`), and PPP devices are `IFF_NOARP`, so no
//! DAD runs: the identifiers were already negotiated to differ. Facts and
//! the `pppoe` status object are published after every step, so the
//! console always says which phase the connection is in and why it is not
//! further.
//!
//! On a kernel without PPP the session cannot be attached: the daemon says
//! exactly that, with the session id, the AC and the errno of the call that
//! failed, and sends PADT so the access concentrator frees the session.

mod dialer;
#[cfg(test)]
mod dialer_tests;
pub mod discovery;
mod saved;
mod status;

use crate::config::WanSettings;
use crate::ipoe::STATUS_REFRESH;
use crate::outlet::Outlet;
use cpe_daemon::Engine;
use cpe_log::{LogThrottle, suppressed_note};
use cpe_sys::netlink::{Address, Event, Group, Monitor, Netlink, Route, kernel_errno};
use cpe_sys::packet::PacketSocket;
use cpe_sys::ppp::{PppSession, SetupError};
use cpe_wire::pppoe::ETHERTYPE_DISCOVERY;
use dialer::{DialAction, DialInput, Dialer, DialerConfig};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::io;
use std::time::{Duration, Instant};
use tokio::time::sleep_until;

/// How long the loop pauses after a failed receive on a socket.
const RX_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How long to wait before looking again for a WAN interface that does not
/// exist yet.
const LINK_POLL: Duration = Duration::from_secs(1);

/// Largest PPP control frame read; longer ones are dropped by the kernel
/// (`EOVERFLOW`) and counted.
const PPP_BUF: usize = 4096;

/// Runs PPPoE until shutdown or until the supervisor goes away. Sends PADT
/// for an established session on the way out.
pub async fn run(
    settings: &WanSettings,
    outlet: &mut Outlet,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    let ifname = settings.interface.clone();
    let mut nl = Netlink::open()?;
    let mut monitor = Monitor::open_groups(&[Group::Link])?;
    let link = loop {
        if let Some(link) = nl.link_by_name(&ifname)? {
            break link;
        }
        let why = format!("{ifname} does not exist");
        outlet.publish(&status::facts(settings, None, &why, false));
        outlet.set_status(&status::waiting(settings, &why));
        tokio::select! {
            _ = tokio::time::sleep(LINK_POLL) => {}
            _ = outlet.closed() => return Ok(()),
            _ = &mut shutdown => return Ok(()),
        }
    };
    nl.set_link_up(link.index, true)?;
    let socket = PacketSocket::open(link.index, ETHERTYPE_DISCOVERY).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot open the PPPoE discovery socket on {ifname}: {e}"),
        )
    })?;
    let seed = u64::from_be_bytes(host_uniq()?.try_into().unwrap_or([0; 8]));
    let config = DialerConfig::new(settings, host_uniq()?, seed);
    let mut d = Driver {
        engine: Dialer::new(config),
        socket,
        nl,
        ppp: None,
        configured: Configured::default(),
        carrier: link.has_carrier(),
        index: link.index,
        send_errors: 0,
        interface: ifname.clone(),
        state_dir: settings.state_dir.clone(),
        wan_ipv4: settings.ipv4,
        stale: saved::load(&settings.state_dir).filter(|s| s.interface == ifname),
    };
    log::info!(
        "pppoe: discovery on {ifname} (service '{}', ac_name '{}')",
        settings.pppoe.service,
        settings.pppoe.ac_name
    );
    if d.carrier {
        d.start();
    }
    let mut buf = vec![0u8; 1600];
    let mut pbuf = vec![0u8; PPP_BUF];
    // A receive error that repeats (the interface in a bad state) must
    // neither flood the console nor spin the loop: a few lines per minute,
    // the rest counted, and a short pause before the next read.
    let mut rx_errors = LogThrottle::new(3, Duration::from_secs(60));
    let mut next_status = Instant::now();
    let mut shown = String::new();
    loop {
        let acted = d.perform();
        let now = Instant::now();
        // An input can change the reason without any action (an AC's
        // refusal, a timeout): compare, so the console is never stale.
        let reason = status::reason(&d.engine, d.carrier, &ifname);
        if acted || reason != shown || now >= next_status {
            outlet.publish(&status::facts(
                settings,
                Some(&d.engine),
                &reason,
                d.carrier,
            ));
            outlet.set_status(&status::render(settings, &d.engine, d.send_errors, now));
            shown = reason;
            next_status = now + STATUS_REFRESH;
        }
        let deadline = d
            .engine
            .poll_timeout()
            .map_or(next_status, |t| t.min(next_status));
        tokio::select! {
            r = d.socket.recv(&mut buf) => match r {
                Ok(rx) if rx.kind.is_for_us() => {
                    let packet = buf.get(..rx.len).unwrap_or(&[]);
                    d.engine.handle(DialInput::Discovery { src: rx.src, packet }, Instant::now());
                }
                Ok(_) => {}
                Err(e) => {
                    let now = Instant::now();
                    if let Some(n) = rx_errors.check(now) {
                        log::warn!("pppoe: receive on {ifname}: {e}{}", suppressed_note(n));
                    }
                    tokio::time::sleep(RX_ERROR_PAUSE).await;
                }
            },
            r = recv_ppp(d.ppp.as_ref(), &mut pbuf) => match r {
                Ok(0) => d.channel_closed("the kernel closed the PPP channel"),
                Ok(n) => {
                    let frame = pbuf.get(..n).unwrap_or(&[]);
                    d.engine.handle(DialInput::Ppp(frame), Instant::now());
                }
                Err(e) => {
                    // One oversized or refused frame; the session goes on.
                    if let Some(n) = rx_errors.check(Instant::now()) {
                        log::warn!("ppp: read: {e}{}", suppressed_note(n));
                    }
                    tokio::time::sleep(RX_ERROR_PAUSE).await;
                }
            },
            ev = monitor.next() => match ev? {
                Event::NewLink(l) if l.index == d.index => {
                    d.carrier_changed(l.has_carrier(), &ifname);
                }
                Event::DelLink(l) if l.index == d.index => {
                    // The socket is bound to an index that is gone; a new
                    // process (the supervisor restarts us) waits for the
                    // interface to come back and binds afresh.
                    d.engine.handle(DialInput::LinkDown, Instant::now());
                    d.perform();
                    outlet.publish(&status::facts(settings, Some(&d.engine), &format!("{ifname} disappeared"), false));
                    outlet.set_status(&status::render(settings, &d.engine, d.send_errors, Instant::now()));
                    return Err(io::Error::other(format!("{ifname} disappeared")));
                }
                _ => {}
            },
            _ = sleep_until(deadline.into()) => d.engine.handle_timeout(Instant::now()),
            _ = outlet.closed() => {
                log::info!("supervisor gone; ending the PPPoE session if any");
                d.engine.handle(DialInput::Stop, Instant::now());
                d.perform();
                return Ok(());
            }
            _ = &mut shutdown => {
                log::info!("shutting down; ending the PPPoE session if any");
                d.engine.handle(DialInput::Stop, Instant::now());
                d.perform();
                outlet.set_status(&status::render(settings, &d.engine, d.send_errors, Instant::now()));
                return Ok(());
            }
        }
    }
}

/// The next PPP control frame, or never while no kernel session exists.
async fn recv_ppp(ppp: Option<&PppSession>, buf: &mut [u8]) -> io::Result<usize> {
    match ppp {
        Some(p) => p.recv(buf).await.map(|(_, n)| n),
        None => std::future::pending().await,
    }
}

/// What the driver put on `pppN`, to take it off again.
#[derive(Debug, Default)]
struct Configured {
    v4: Option<(Address, Option<Route>)>,
    v6: Option<(Address, Route)>,
}

struct Driver {
    engine: Dialer,
    socket: PacketSocket,
    nl: Netlink,
    /// The kernel session while one exists.
    ppp: Option<PppSession>,
    configured: Configured,
    carrier: bool,
    index: u32,
    send_errors: u64,
    interface: String,
    state_dir: std::path::PathBuf,
    /// `wan.ipv4`: the IPv4 default route goes via `pppN`.
    wan_ipv4: bool,
    /// A session left from before a restart, cleared (PADT) at the first
    /// start with carrier: without carrier the PADT could not go out.
    stale: Option<saved::SavedSession>,
}

impl Driver {
    /// Carries out every queued action; true if anything happened that the
    /// status should show.
    fn perform(&mut self) -> bool {
        let mut changed = false;
        while let Some(action) = self.engine.poll_action() {
            changed = true;
            match action {
                DialAction::SendDiscovery { dst, packet } => {
                    if let Err(e) = self.socket.send_to(&dst, &packet) {
                        // The engine's retransmission covers a lost send.
                        self.send_errors += 1;
                        log::warn!("pppoe: send to {}: {e}", discovery::mac_text(&dst));
                    }
                }
                DialAction::Save(session) => {
                    self.save(session.map(|(session_id, ac_mac)| saved::SavedSession {
                        interface: self.interface.clone(),
                        session_id,
                        ac_mac,
                    }))
                }
                DialAction::Attach(session) => self.attach(&session),
                DialAction::SendPpp(frame) => {
                    if let Some(Err(e)) = self.ppp.as_ref().map(|p| p.send(&frame.0)) {
                        // LCP and the NCPs retransmit; count and go on.
                        self.send_errors += 1;
                        log::warn!("ppp: send {frame:?}: {e}");
                    }
                }
                DialAction::LinkUp { mru, mtu } => self.link_up(mru, mtu),
                DialAction::Ipv4Up(p) => self.ipv4_up(&p),
                DialAction::Ipv4Down => self.ipv4_down(),
                DialAction::Ipv6Up(p) => self.ipv6_up(&p),
                DialAction::Ipv6Down => self.ipv6_down(),
                DialAction::Detach => {
                    self.configured = Configured::default();
                    if let Some(p) = self.ppp.take() {
                        log::info!("pppoe: closing {}", p.name());
                    }
                }
            }
        }
        changed
    }

    /// Sets up the kernel session and tells the engine how it went.
    fn attach(&mut self, session: &discovery::Session) {
        let now = Instant::now();
        match PppSession::open(session.id, session.ac.mac, &self.interface) {
            Ok(p) => {
                let unit = p.name().to_owned();
                self.ppp = Some(p);
                self.engine.handle(DialInput::Attached { unit: &unit }, now);
            }
            Err(e) => {
                let (cause, retry) = setup_failure(&e);
                log::warn!("pppoe: {cause}");
                self.engine.handle(
                    DialInput::AttachFailed {
                        cause: &cause,
                        retry,
                    },
                    now,
                );
            }
        }
    }

    fn channel_closed(&mut self, why: &str) {
        // The kernel closes the channel when it sees the AC's PADT, which
        // our discovery socket received too: read that first, so the
        // console shows the AC's words rather than just "closed".
        let mut buf = [0u8; 1600];
        while let Ok(Some(rx)) = self.socket.try_recv(&mut buf) {
            if rx.kind.is_for_us() {
                let packet = buf.get(..rx.len).unwrap_or(&[]);
                self.engine.handle(
                    DialInput::Discovery {
                        src: rx.src,
                        packet,
                    },
                    Instant::now(),
                );
            }
        }
        self.engine
            .handle(DialInput::ChannelClosed(why), Instant::now());
        self.perform();
        // Whatever the engine made of it, a closed channel is no session.
        self.ppp = None;
    }

    fn unit_index(&mut self) -> Option<u32> {
        let name = self.ppp.as_ref()?.name().to_owned();
        match self.nl.link_by_name(&name) {
            Ok(Some(l)) => Some(l.index),
            Ok(None) => {
                log::error!("ppp: {name} is not in the kernel's link list");
                None
            }
            Err(e) => {
                log::error!("ppp: looking up {name}: {e}");
                None
            }
        }
    }

    fn link_up(&mut self, mru: u16, mtu: u32) {
        let Some(index) = self.unit_index() else {
            return;
        };
        let name = self
            .ppp
            .as_ref()
            .map(|p| p.name().to_owned())
            .unwrap_or_default();
        if let Some(Err(e)) = self.ppp.as_ref().map(|p| p.set_mru(mru)) {
            log::error!("ppp: ioctl(PPPIOCSMRU {mru}) on {name}: {e}");
        }
        if let Err(e) = self.nl.set_link_mtu(index, mtu) {
            log::error!("ppp: MTU {mtu} on {name}: {e}");
        }
        if let Err(e) = self.nl.set_link_up(index, true) {
            log::error!("ppp: bringing {name} up: {e}");
        }
    }

    fn ipv4_up(&mut self, p: &crate::ppp::ipcp::Ipv4Params) {
        let Some(index) = self.unit_index() else {
            return;
        };
        self.ipv4_down();
        let mut a = Address::new(index, IpNet::V4(Ipv4Net::from(p.local)));
        a.peer = p.peer.map(Into::into);
        if let Err(e) = self.nl.replace_address(&a) {
            log::error!("ppp: IPv4 address {}: {e}", p.local);
            return;
        }
        let route = self
            .wan_ipv4
            .then(|| Route::unicast(IpNet::V4(Ipv4Net::default()), None, Some(index)));
        if let Some(r) = &route
            && let Err(e) = self.nl.replace_route(r)
        {
            log::error!("ppp: IPv4 default route: {e}");
        }
        log::info!(
            "ppp: IPv4 {} peer {} dns {:?}",
            p.local,
            p.peer.map_or("-".into(), |a| a.to_string()),
            p.dns
        );
        self.configured.v4 = Some((a, route));
    }

    fn ipv4_down(&mut self) {
        if let Some((a, route)) = self.configured.v4.take() {
            if let Some(r) = route {
                self.del_route(&r);
            }
            self.del_address(&a);
        }
    }

    fn ipv6_up(&mut self, p: &crate::ppp::ipv6cp::Ipv6Params) {
        let Some(index) = self.unit_index() else {
            return;
        };
        self.ipv6_down();
        let ll = p.link_local();
        let Ok(net) = Ipv6Net::new(ll, 64) else {
            return;
        };
        let a = Address::new(index, IpNet::V6(net));
        if let Err(e) = self.nl.replace_address(&a) {
            log::error!("ppp: IPv6 link-local {ll}: {e}");
            return;
        }
        let route = Route::unicast(
            IpNet::V6(Ipv6Net::default()),
            p.peer_link_local().map(Into::into),
            Some(index),
        );
        if let Err(e) = self.nl.replace_route(&route) {
            log::error!("ppp: IPv6 default route: {e}");
        }
        log::info!(
            "ppp: IPv6 {ll} peer {}",
            p.peer_link_local().map_or("-".into(), |a| a.to_string())
        );
        self.configured.v6 = Some((a, route));
    }

    fn ipv6_down(&mut self) {
        if let Some((a, route)) = self.configured.v6.take() {
            self.del_route(&route);
            self.del_address(&a);
        }
    }

    fn del_route(&mut self, r: &Route) {
        if let Err(e) = self.nl.del_route(r)
            && !matches!(kernel_errno(&e), Some(libc::ESRCH | libc::ENODEV))
        {
            log::warn!("ppp: removing route {}: {e}", r.dst);
        }
    }

    fn del_address(&mut self, a: &Address) {
        if let Err(e) = self.nl.del_address(a)
            && !matches!(kernel_errno(&e), Some(libc::EADDRNOTAVAIL | libc::ENODEV))
        {
            log::warn!("ppp: removing address {}: {e}", a.net);
        }
    }

    /// Records (or forgets) the live session; a failure only costs the
    /// stale-session PADT after a crash, so it is logged, not fatal.
    fn save(&self, session: Option<saved::SavedSession>) {
        if let Err(e) = saved::save(&self.state_dir, session.as_ref()) {
            log::warn!(
                "pppoe: cannot update {} in {}: {e}",
                saved::FILE_NAME,
                self.state_dir.display()
            );
        }
    }

    /// Starts discovery, after PADT for a session left from before a
    /// restart if there is one.
    fn start(&mut self) {
        let now = Instant::now();
        if let Some(stale) = self.stale.take() {
            self.engine.clear_stale(stale.session_id, stale.ac_mac, now);
            self.perform();
            self.save(None);
        }
        self.engine.handle(DialInput::Start, now);
    }

    fn carrier_changed(&mut self, carrier: bool, ifname: &str) {
        if carrier == self.carrier {
            return;
        }
        self.carrier = carrier;
        if carrier {
            log::info!("pppoe: carrier on {ifname}; discovering");
            self.start();
        } else {
            log::warn!("pppoe: no carrier on {ifname}");
            self.engine.handle(DialInput::LinkDown, Instant::now());
        }
    }
}

/// Why the kernel session could not be set up, and whether trying again
/// can help: a kernel without PPP (no `AF_PPPOX` family, no `/dev/ppp`)
/// cannot grow it at runtime.
fn setup_failure(e: &SetupError) -> (String, bool) {
    let no_ppp = matches!(
        (e.step, e.errno()),
        (
            "socket(AF_PPPOX)",
            Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)
        ) | (
            "open(/dev/ppp)",
            Some(libc::ENOENT | libc::ENODEV | libc::ENXIO)
        )
    );
    if no_ppp {
        (format!("the kernel has no PPP support ({e})"), false)
    } else {
        (
            format!("cannot set up the kernel's PPP session ({e})"),
            true,
        )
    }
}

/// Eight random octets from the kernel: Host-Uniq only has to be
/// unpredictable enough that another host's answers are not taken for ours.
fn host_uniq() -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; 8];
    cpe_sys::random::fill(&mut b)?;
    Ok(b)
}
